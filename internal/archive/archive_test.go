package archive_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/asn1"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/tawthiq/tawthiq/internal/archive"
	"github.com/tawthiq/tawthiq/internal/auditlog"
	"github.com/tawthiq/tawthiq/internal/clock"
	"github.com/tawthiq/tawthiq/internal/store"
	"github.com/tawthiq/tawthiq/internal/testpki"
	"github.com/tawthiq/tawthiq/internal/tsa"
)

type memTSA struct{}

func (memTSA) RecordTimestamp(context.Context, tsa.Record) error { return nil }

type env struct {
	db   *store.DB
	log  *auditlog.Log
	arch *archive.Service
	tsa  []*x509.Certificate
}

func newEnv(t *testing.T) *env {
	t.Helper()
	h := testpki.New(t)
	clk := clock.NewFake(h.Now.Add(time.Hour))
	db, err := store.Open(t.Context(), filepath.Join(t.TempDir(), "tawthiq.db"), clk)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	ts, err := tsa.New(tsa.Config{Signer: h.TSA.Signer, Cert: h.TSA.Cert, Policy: asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 61234, 1, 2},
		Accuracy: time.Second, Clock: clk, Sync: tsa.Fixed{Offset: time.Millisecond, Known: true}, Store: memTSA{}})
	if err != nil {
		t.Fatal(err)
	}
	_, k, _ := ed25519.GenerateKey(rand.Reader)
	l, err := auditlog.New(db, k, "tawthiq/test/audit", clk, ts)
	if err != nil {
		t.Fatal(err)
	}
	return &env{db: db, log: l, arch: archive.New(db, clk, ts, l), tsa: []*x509.Certificate{h.TSA.Cert}}
}

// TestArchive_L417_1: items are stored once under their SHA-256, each with an
// audit entry holding the hash and a time-stamp; the proof leads to a signed
// checkpoint; Verify finds every item intact.
func TestArchive_L417_1(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	a, err := e.arch.Put(ctx, "usr_1", "document", []byte("contrat"), archive.Meta{Name: "contrat.txt", Ref: "ctr_1"})
	if err != nil {
		t.Fatal(err)
	}
	again, err := e.arch.Put(ctx, "usr_2", "document", []byte("contrat"), archive.Meta{})
	if err != nil || again.AuditSeq != a.AuditSeq || again.SHA256 != archive.Sum([]byte("contrat")) {
		t.Fatalf("the same bytes again: %+v, %v", again, err)
	}
	if a.Timestamp == nil {
		t.Fatal("no time-stamp")
	}
	b, err := e.arch.Put(ctx, "usr_1", "signature", []byte("sig"), archive.Meta{})
	if err != nil {
		t.Fatal(err)
	}
	p, err := e.arch.Proof(ctx, strings.ToUpper(a.SHA256))
	if err != nil {
		t.Fatal(err)
	}
	if p.Entry.Subject != a.SHA256 || p.Checkpoint.Size <= a.AuditSeq || p.Checkpoint.Timestamp == nil {
		t.Fatalf("proof %+v", p)
	}
	if err := tlog.CheckRecord(p.Proof, p.Checkpoint.Size, p.Checkpoint.Root, p.Entry.Seq, p.Entry.LeafHash()); err != nil {
		t.Fatal(err)
	}
	if _, err := e.arch.Proof(ctx, b.SHA256); err != nil {
		t.Fatal(err)
	}
	rep, err := archive.Verify(ctx, e.db, e.log.VerifierKey(), e.tsa...)
	if err != nil || !rep.OK() || rep.Items != 2 || rep.Included != 2 {
		t.Fatalf("verify: %+v, %v", rep, err)
	}
	if _, err := e.arch.Put(ctx, "usr_1", "document", nil, archive.Meta{}); err == nil {
		t.Fatal("an empty item was archived")
	}
}

// TestArchiveVerifyNamesChangedItem_L417_1: someone who bypasses the database's
// refusal and changes an item's bytes, or its audit entry, is named.
func TestArchiveVerifyNamesChangedItem_L417_1(t *testing.T) {
	for _, tc := range []struct{ name, sql, want string }{
		{"content", "UPDATE archive_items SET content = ? WHERE sha256 = ?", "changed"},
		{"entry", "UPDATE audit_entries SET data = ? WHERE subject = ?", "audit entry"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			ctx := t.Context()
			a, err := e.arch.Put(ctx, "usr_1", "document", []byte("contrat de vente"), archive.Meta{Name: "vente.txt"})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := e.arch.Put(ctx, "usr_1", "document", []byte("autre"), archive.Meta{}); err != nil {
				t.Fatal(err)
			}
			if _, err := e.log.Checkpoint(ctx); err != nil {
				t.Fatal(err)
			}
			for _, q := range []string{"DROP TRIGGER archive_items_immutable", "DROP TRIGGER audit_entries_immutable"} {
				if _, err := e.db.SQL().ExecContext(ctx, q); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := e.db.SQL().ExecContext(ctx, tc.sql, []byte("contrat de vente modifié"), a.SHA256); err != nil {
				t.Fatal(err)
			}
			rep, err := archive.Verify(ctx, e.db, e.log.VerifierKey(), e.tsa...)
			if err != nil {
				t.Fatal(err)
			}
			if rep.OK() || len(rep.Problems) != 1 || rep.Problems[0].SHA256 != a.SHA256 || !strings.Contains(rep.Problems[0].Reason, tc.want) {
				t.Fatalf("problems: %v", rep.Problems)
			}
			t.Log(rep.Problems[0])
		})
	}
}
