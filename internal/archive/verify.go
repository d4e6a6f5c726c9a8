package archive

import (
	"bytes"
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"fmt"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/tawthiq/tawthiq/internal/auditlog"
	"github.com/tawthiq/tawthiq/internal/errkind"
	"github.com/tawthiq/tawthiq/internal/law"
	"github.com/tawthiq/tawthiq/internal/timestamp"
)

// Problem is one archived item that fails a check.
type Problem struct {
	SHA256 string // the item's address; "" for the archive as a whole
	Name   string
	Reason string
}

func (p Problem) String() string {
	if p.SHA256 == "" {
		return p.Reason
	}
	if p.Name != "" {
		return fmt.Sprintf("item %s (%s): %s", p.SHA256, p.Name, p.Reason)
	}
	return fmt.Sprintf("item %s: %s", p.SHA256, p.Reason)
}

// Report is the outcome of Verify.
type Report struct {
	Items      int   // items checked
	Included   int   // items whose entry the signed checkpoint includes
	Pending    int   // items archived after the latest checkpoint: checked, not yet provable
	Checkpoint int64 // the size of the signed checkpoint the proofs lead to
	Problems   []Problem
}

// OK reports whether every item is intact.
func (r Report) OK() bool { return len(r.Problems) == 0 }

// verifyBatch is how many items Verify reads at once.
const verifyBatch = 32

// Verify rechecks every archived item (L-417-1): its bytes against its address,
// its audit entry against the item, and that entry's inclusion in the latest
// checkpoint, whose signature vkey checks and whose time-stamp, if any, one of
// tsaCerts signed. It names each item that fails.
func Verify(ctx context.Context, st Store, vkey string, tsaCerts ...*x509.Certificate) (Report, error) {
	var rep Report
	if vkey == "" {
		return rep, errkind.New(errkind.Invalid, law.L21_2, "the checkpoint verifier key is required")
	}
	v, err := note.NewVerifier(vkey)
	if err != nil {
		return rep, errkind.Wrap(errkind.Invalid, err, "checkpoint verifier key")
	}
	var size int64
	var root tlog.Hash
	cp, err := st.LatestCheckpoint(ctx)
	switch {
	case errkind.Is(err, errkind.NotFound):
	case err != nil:
		return rep, err
	default:
		n, err := note.Open(cp.Signed, note.VerifierList(v))
		if err != nil {
			rep.Problems = append(rep.Problems, Problem{Reason: fmt.Sprintf("the latest checkpoint's signature does not verify: %v", err)})
			break
		}
		if _, size, root, err = auditlog.ParseCheckpoint(n.Text); err != nil {
			rep.Problems = append(rep.Problems, Problem{Reason: "the latest checkpoint cannot be read: " + err.Error()})
			size = 0
		}
		if cp.Timestamp != nil {
			if err := stamps(cp.Timestamp, cp.Signed, tsaCerts); err != nil {
				rep.Problems = append(rep.Problems, Problem{Reason: "the latest checkpoint's time-stamp: " + err.Error()})
			}
		}
	}
	rep.Checkpoint = size
	after := ""
	for {
		items, err := st.ArchiveItems(ctx, after, verifyBatch)
		if err != nil {
			return rep, err
		}
		for _, it := range items {
			rep.Items++
			if p := checkItem(ctx, st, it, size, root, tsaCerts); p != "" {
				rep.Problems = append(rep.Problems, Problem{SHA256: it.SHA256, Name: it.Name, Reason: p})
			} else if it.AuditSeq < size {
				rep.Included++
			} else {
				rep.Pending++
			}
		}
		if len(items) < verifyBatch {
			return rep, nil
		}
		after = items[len(items)-1].SHA256
	}
}

// checkItem returns why the item fails, or "".
func checkItem(ctx context.Context, st Store, it Item, size int64, root tlog.Hash, tsaCerts []*x509.Certificate) string {
	if Sum(it.Content) != it.SHA256 || int64(len(it.Content)) != it.Size {
		return "changed: its stored bytes no longer have the SHA-256 they were archived under"
	}
	es, err := st.AuditEntries(ctx, it.AuditSeq, it.AuditSeq+1)
	if err != nil || len(es) != 1 {
		return fmt.Sprintf("its audit entry %d is missing", it.AuditSeq)
	}
	if err := entryFor(es[0], it); err != nil {
		return err.Error()
	}
	if it.Timestamp != nil {
		sum := sha256.Sum256(it.Content)
		if err := stampsDigest(it.Timestamp, sum[:], tsaCerts); err != nil {
			return "its time-stamp: " + err.Error()
		}
	}
	if it.AuditSeq >= size {
		return ""
	}
	p, err := tlog.ProveRecord(size, it.AuditSeq, hashReader{ctx, st})
	if err != nil {
		return fmt.Sprintf("no inclusion proof of entry %d: %v", it.AuditSeq, err)
	}
	if err := tlog.CheckRecord(p, size, root, it.AuditSeq, es[0].LeafHash()); err != nil {
		return fmt.Sprintf("its audit entry %d is not the one the signed checkpoint includes: the entry or the log was changed", it.AuditSeq)
	}
	return ""
}

func stamps(token, signed []byte, tsaCerts []*x509.Certificate) error {
	sum := sha256.Sum256(signed)
	return stampsDigest(token, sum[:], tsaCerts)
}

// stampsDigest checks that token is a valid time-stamp of the SHA-256 digest.
func stampsDigest(token, digest []byte, tsaCerts []*x509.Certificate) error {
	tok, err := timestamp.CheckToken(token, tsaCerts...)
	if err != nil {
		return err
	}
	if tok.HashAlg != crypto.SHA256 || !bytes.Equal(tok.Imprint, digest) {
		return fmt.Errorf("it does not stamp this SHA-256")
	}
	return nil
}
