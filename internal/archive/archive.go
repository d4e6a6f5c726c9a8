// Package archive keeps documents and messages content-addressed: each item is
// stored once under its SHA-256 with an audit-log entry whose data holds that
// hash, so the item is included in the Merkle log and its signed, time-stamped
// checkpoints (L-417-1, L-21-2), and optionally with an RFC 3161 time-stamp of
// the hash. The database keeps every item at least law.RetentionYears and
// refuses any change to it. Verify rechecks every item offline.
package archive

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/tawthiq/tawthiq/internal/auditlog"
	"github.com/tawthiq/tawthiq/internal/clock"
	"github.com/tawthiq/tawthiq/internal/errkind"
	"github.com/tawthiq/tawthiq/internal/evidence"
	"github.com/tawthiq/tawthiq/internal/law"
)

// ActionPut is the audit action of every item archived.
const ActionPut auditlog.Action = "archive.put"

// MaxItemBytes bounds one item: a contract with its annexes, not a video.
const MaxItemBytes = 64 << 20

// Item is one archived item. Content is nil when listed without it.
type Item struct {
	SHA256    string // hexadecimal: the item's address
	Kind      string // what it is: document, signature, message, receipt...
	Name      string // its file name as received; informative
	MediaType string
	Size      int64
	Content   []byte
	Timestamp []byte // RFC 3161 token over the SHA-256; nil when no TSA stamped it
	AuditSeq  int64  // the archive.put entry that recorded it
	CreatedAt time.Time
}

// Meta is what the caller says of an item.
type Meta struct {
	Name      string
	MediaType string
	Ref       string // what it belongs to, e.g. a contract ID; recorded in the audit entry
}

// entryData is the audit entry's data: the hash that puts the item in the log.
type entryData struct {
	SHA256 string `json:"sha256"`
	Kind   string `json:"kind"`
	Size   int64  `json:"size"`
	Name   string `json:"name,omitempty"`
	Ref    string `json:"ref,omitempty"`
}

// Store is what the archive needs from the database.
type Store interface {
	// PutArchiveItem stores it and e in one transaction and returns it with
	// AuditSeq set; errkind.Conflict when the hash is already stored.
	PutArchiveItem(ctx context.Context, it Item, e auditlog.Entry) (Item, error)
	ArchiveItem(ctx context.Context, sha256 string) (Item, error) // errkind.NotFound
	// ArchiveItems lists items with SHA256 > after, in hash order, with content.
	ArchiveItems(ctx context.Context, after string, limit int) ([]Item, error)
	AuditEntries(ctx context.Context, from, to int64) ([]auditlog.Entry, error)
	ReadHashes(ctx context.Context, indexes []int64) ([]tlog.Hash, error)
	LatestCheckpoint(ctx context.Context) (*auditlog.Checkpoint, error)
}

// Stamper time-stamps a SHA-256 digest: the CSP's TSA.
type Stamper interface {
	StampDigest(ctx context.Context, digest [32]byte) ([]byte, error)
}

// Checkpointer signs a checkpoint of the log now: *auditlog.Log.
type Checkpointer interface {
	Checkpoint(ctx context.Context) (*auditlog.Checkpoint, error)
}

// Service archives items.
type Service struct {
	st      Store
	clk     clock.Clock
	stamper Stamper      // nil: items are not time-stamped
	log     Checkpointer // signs a checkpoint when a proof needs one
}

// New returns the archive. stamper may be nil; pass a nil interface, not a nil pointer.
func New(st Store, clk clock.Clock, stamper Stamper, log Checkpointer) *Service {
	return &Service{st: st, clk: clk, stamper: stamper, log: log}
}

// Sum returns the hexadecimal SHA-256 of b, an item's address.
func Sum(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// Put archives content and returns its item; the same bytes archived again
// return the item stored first (the archive keeps one copy, one entry).
func (s *Service) Put(ctx context.Context, actor, kind string, content []byte, meta Meta) (Item, error) {
	if len(content) == 0 || len(content) > MaxItemBytes {
		return Item{}, errkind.New(errkind.Invalid, law.L417_1, "an archived item has 1 to %d bytes, not %d", MaxItemBytes, len(content))
	}
	if kind == "" || len(kind) > 64 || strings.ContainsAny(kind, " \n\t") {
		return Item{}, errkind.New(errkind.Invalid, law.L417_1, "archive kind %q: a short word", kind)
	}
	sum := sha256.Sum256(content)
	h := hex.EncodeToString(sum[:])
	if it, err := s.st.ArchiveItem(ctx, h); err == nil {
		return it, nil
	} else if !errkind.Is(err, errkind.NotFound) {
		return Item{}, err
	}
	now := law.Timestamp(s.clk.Now())
	it := Item{SHA256: h, Kind: kind, Name: meta.Name, MediaType: meta.MediaType, Size: int64(len(content)), Content: content, CreatedAt: now}
	if s.stamper != nil {
		tok, err := s.stamper.StampDigest(ctx, sum)
		if err != nil {
			// L-417-1 asks integrity; the log's stamped checkpoint dates the item anyway.
			return Item{}, errkind.Wrap(errkind.Unavailable, err, "time-stamping the archived item")
		}
		it.Timestamp = tok
	}
	e := auditlog.NewEntry(now, actor, ActionPut, h, entryData{SHA256: h, Kind: kind, Size: it.Size, Name: meta.Name, Ref: meta.Ref})
	stored, err := s.st.PutArchiveItem(ctx, it, e)
	if errkind.Is(err, errkind.Conflict) {
		return s.st.ArchiveItem(ctx, h) // archived meanwhile by another request
	}
	return stored, err
}

// Get returns the item stored under the hexadecimal SHA-256 h.
func (s *Service) Get(ctx context.Context, h string) (Item, error) {
	return s.st.ArchiveItem(ctx, strings.ToLower(h))
}

// Proof is an item's audit entry with its inclusion proof in a signed checkpoint.
type Proof struct {
	Entry      auditlog.Entry
	Proof      tlog.RecordProof
	Checkpoint auditlog.Checkpoint
}

// Record returns the proof as an evidence bundle takes it.
func (p Proof) Record() evidence.ArchiveRecord {
	return evidence.ArchiveRecord{Entry: p.Entry.Encode(), Proof: p.Proof}
}

// Proof returns the item's audit entry and its inclusion proof in the latest
// checkpoint, signing a new checkpoint first when none covers the entry yet.
func (s *Service) Proof(ctx context.Context, h string) (Proof, error) {
	it, err := s.Get(ctx, h)
	if err != nil {
		return Proof{}, err
	}
	cp, err := s.st.LatestCheckpoint(ctx)
	switch {
	case err != nil && !errkind.Is(err, errkind.NotFound):
		return Proof{}, err
	case err != nil || cp.Size <= it.AuditSeq:
		if s.log == nil {
			return Proof{}, errkind.New(errkind.Unavailable, law.L417_1, "no signed checkpoint covers the item yet")
		}
		// A checkpoint stored without its time-stamp still proves inclusion.
		if cp, err = s.log.Checkpoint(ctx); err != nil && !auditlog.Unstamped(err) {
			return Proof{}, err
		}
	}
	return ProofIn(ctx, s.st, it, *cp)
}

// ProofIn proves the item's entry in the given checkpoint.
func ProofIn(ctx context.Context, st Store, it Item, cp auditlog.Checkpoint) (Proof, error) {
	if cp.Size <= it.AuditSeq {
		return Proof{}, errkind.New(errkind.Unavailable, law.L417_1, "the checkpoint of %d entries does not cover entry %d yet", cp.Size, it.AuditSeq)
	}
	es, err := st.AuditEntries(ctx, it.AuditSeq, it.AuditSeq+1)
	if err != nil {
		return Proof{}, err
	}
	if len(es) != 1 {
		return Proof{}, errkind.New(errkind.Internal, law.L21_2, "audit entry %d is missing", it.AuditSeq)
	}
	p, err := tlog.ProveRecord(cp.Size, it.AuditSeq, hashReader{ctx, st})
	if err != nil {
		return Proof{}, errkind.Wrap(errkind.Internal, err, "proving audit entry %d", it.AuditSeq)
	}
	return Proof{Entry: es[0], Proof: p, Checkpoint: cp}, nil
}

type hashReader struct {
	ctx context.Context
	st  Store
}

func (r hashReader) ReadHashes(idx []int64) ([]tlog.Hash, error) { return r.st.ReadHashes(r.ctx, idx) }

// entryFor checks that e records exactly item it.
func entryFor(e auditlog.Entry, it Item) error {
	if e.Action != ActionPut || e.Subject != it.SHA256 {
		return fmt.Errorf("its audit entry %d is %s of %q, not the archiving of this item", e.Seq, e.Action, e.Subject)
	}
	var d entryData
	if err := json.Unmarshal(e.Data, &d); err != nil || d.SHA256 != it.SHA256 || d.Size != it.Size || d.Kind != it.Kind {
		return fmt.Errorf("its audit entry %d records another hash, size or kind", e.Seq)
	}
	return nil
}
