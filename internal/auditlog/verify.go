package auditlog

import (
	"bytes"
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"fmt"
	"github.com/tawthiq/tawthiq/internal/timestamp"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// Problem is one inconsistency found in the stored log.
type Problem struct {
	Seq    int64  // the entry concerned, or -1 for the log as a whole
	Reason string // in plain words
}

func (p Problem) String() string {
	if p.Seq < 0 {
		return p.Reason
	}
	return fmt.Sprintf("entry %d: %s", p.Seq, p.Reason)
}

// Report is the result of Verify.
type Report struct {
	Entries     int64
	Checkpoints int
	Stamped     int     // checkpoints whose time-stamp token verified
	Stamps      []Stamp // one per verified token, smallest checkpoint first
	// StampsUnanchored is set when tokens were checked against the certificate they
	// carry because no TSA certificate was given: intact, but not shown to be ours.
	StampsUnanchored bool
	Root             tlog.Hash
	Problems         []Problem
}

// Stamp puts a checkpoint's own time beside the time its TSA token states.
type Stamp struct {
	Size    int64
	Time    time.Time // the checkpoint's time, as stored
	GenTime time.Time // the token's genTime (RFC 3161), from the TSA's clock
	Serial  []byte    // the token's serial number (INTEGER contents)
}

// OK reports whether the log is intact.
func (r Report) OK() bool { return len(r.Problems) == 0 }

// batch is how many entries Verify reads at once.
const batch = 4096

// Verify recomputes the log from the stored entries alone and compares it with
// the stored hashes and with every signed checkpoint (L-21-2). It names each
// entry whose row was changed, removed or moved. vkey is the checkpoint verifier
// key; an empty vkey skips signature checks (but not root checks).
//
// Each checkpoint's time-stamp token, when it has one, must stamp SHA-256 of the
// signed note and be signed by one of tsaCerts (the TSA certificates, current and
// past) within its validity; with no tsaCerts, by the certificate it carries.
func Verify(ctx context.Context, st Store, vkey string, tsaCerts ...*x509.Certificate) (Report, error) {
	var rep Report
	var verifier note.Verifiers
	if vkey != "" {
		v, err := note.NewVerifier(vkey)
		if err != nil {
			return rep, fmt.Errorf("checkpoint verifier key: %w", err)
		}
		verifier = note.VerifierList(v)
	}
	size, err := st.AuditSize(ctx)
	if err != nil {
		return rep, err
	}
	cps, err := st.Checkpoints(ctx)
	if err != nil {
		return rep, err
	}
	rep.Entries, rep.Checkpoints = size, len(cps)
	bySize := make(map[int64][]Checkpoint)
	for _, cp := range cps {
		if cp.Timestamp != nil {
			if s, err := checkStamp(cp, tsaCerts); err != nil {
				rep.Problems = append(rep.Problems, Problem{-1, fmt.Sprintf("checkpoint at size %d: time-stamp token: %v", cp.Size, err)})
			} else {
				rep.Stamped++
				rep.Stamps = append(rep.Stamps, s)
				rep.StampsUnanchored = len(tsaCerts) == 0
			}
		}
		if verifier != nil {
			n, err := note.Open(cp.Signed, verifier)
			if err != nil {
				rep.Problems = append(rep.Problems, Problem{-1, fmt.Sprintf("checkpoint at size %d: signature does not verify: %v", cp.Size, err)})
				continue
			}
			_, s, root, err := ParseCheckpoint(n.Text)
			if err != nil || s != cp.Size || root != cp.Root {
				rep.Problems = append(rep.Problems, Problem{-1, fmt.Sprintf("checkpoint at size %d: stored size or root differs from its signed text", cp.Size)})
			}
			if err == nil {
				// The signed text is the evidence; the stored columns are only a copy of it.
				cp.Size, cp.Root = s, root
			}
		}
		if cp.Size > size {
			rep.Problems = append(rep.Problems, Problem{-1, fmt.Sprintf("checkpoint at size %d is ahead of the log (%d entries): entries were removed", cp.Size, size)})
		}
		bySize[cp.Size] = append(bySize[cp.Size], cp)
	}

	var f frontier
	lastGood := int64(0) // size of the last checkpoint that matched
	for from := int64(0); from < size; from += batch {
		to := min(from+batch, size)
		entries, err := st.AuditEntries(ctx, from, to)
		if err != nil {
			return rep, err
		}
		idx := make([]int64, 0, to-from)
		for i := from; i < to; i++ {
			idx = append(idx, tlog.StoredHashIndex(0, i))
		}
		stored, err := st.ReadHashes(ctx, idx)
		if err != nil {
			return rep, err
		}
		want := from
		for _, e := range entries {
			for want < e.Seq && want < to {
				rep.Problems = append(rep.Problems, Problem{want, "removed: no row holds this entry"})
				f.push(stored[want-from]) // keep the tree shape so later entries are still checked
				want++
			}
			if e.Seq != want {
				rep.Problems = append(rep.Problems, Problem{e.Seq, fmt.Sprintf("out of order: found at position %d", want)})
				continue
			}
			h := e.LeafHash()
			if h != stored[want-from] {
				rep.Problems = append(rep.Problems, Problem{e.Seq, fmt.Sprintf("changed: its row (%s %s by %s) no longer matches the hash recorded when it was appended", e.Action, e.Subject, e.Actor)})
			}
			f.push(h)
			want++
			for _, cp := range bySize[want] {
				if f.root() != cp.Root {
					rep.Problems = append(rep.Problems, Problem{-1, fmt.Sprintf("entries %d to %d differ from the signed checkpoint at size %d", lastGood, want-1, want)})
				} else {
					lastGood = want
				}
			}
		}
		for ; want < to; want++ {
			rep.Problems = append(rep.Problems, Problem{want, "removed: no row holds this entry"})
			f.push(stored[want-from])
		}
	}
	rep.Root = f.root()
	return rep, nil
}

// checkStamp checks that cp's token stamps the checkpoint's signed note.
func checkStamp(cp Checkpoint, tsaCerts []*x509.Certificate) (Stamp, error) {
	tok, err := timestamp.CheckToken(cp.Timestamp, tsaCerts...)
	if err != nil {
		return Stamp{}, err
	}
	sum := sha256.Sum256(cp.Signed)
	if tok.HashAlg != crypto.SHA256 || !bytes.Equal(tok.Imprint, sum[:]) {
		return Stamp{}, errors.New("its message imprint is not SHA-256 of the signed checkpoint")
	}
	if tok.GenTime.Before(tok.Signer.NotBefore) || tok.GenTime.After(tok.Signer.NotAfter) {
		return Stamp{}, fmt.Errorf("its time %s is outside the validity of the TSA certificate", tok.GenTime.Format(time.RFC3339))
	}
	return Stamp{Size: cp.Size, Time: cp.Time, GenTime: tok.GenTime, Serial: tok.Serial}, nil
}

// frontier computes RFC 6962 tree heads incrementally, keeping one hash per level.
type frontier struct {
	nodes []tlog.Hash // complete subtrees, largest first
	sizes []int64
}

func (f *frontier) push(h tlog.Hash) {
	f.nodes = append(f.nodes, h)
	f.sizes = append(f.sizes, 1)
	for n := len(f.nodes); n >= 2 && f.sizes[n-1] == f.sizes[n-2]; n = len(f.nodes) {
		f.nodes[n-2] = tlog.NodeHash(f.nodes[n-2], f.nodes[n-1])
		f.sizes[n-2] *= 2
		f.nodes, f.sizes = f.nodes[:n-1], f.sizes[:n-1]
	}
}

func (f *frontier) root() tlog.Hash {
	if len(f.nodes) == 0 {
		return tlog.Hash(sha256.Sum256(nil)) // RFC 6962 2.1: the empty tree
	}
	h := f.nodes[len(f.nodes)-1]
	for i := len(f.nodes) - 2; i >= 0; i-- {
		h = tlog.NodeHash(f.nodes[i], h)
	}
	return h
}
