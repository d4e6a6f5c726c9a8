package tsa_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"github.com/tawthiq/tawthiq/internal/timestamp"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tawthiq/tawthiq/internal/auditlog"
	"github.com/tawthiq/tawthiq/internal/errkind"
	"github.com/tawthiq/tawthiq/internal/issuance"
	"github.com/tawthiq/tawthiq/internal/store"
	"github.com/tawthiq/tawthiq/internal/tsa"
)

// TestAuditCheckpointTimestamps_L21_2 has the TSA stamp the audit log's checkpoints
// in a real SQLite store: the token is stored with its checkpoint, openssl accepts
// it for the note's digest, a refusing clock leaves an unstamped but signed
// checkpoint, and Verify checks every token against the TSA certificate.
func TestAuditCheckpointTimestamps_L21_2(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	_, key, err := ed25519.GenerateKey(rand.Reader)
	must(t, err)
	l, err := auditlog.New(f.db, key, "tawthiq/Test-CSP/audit", f.clk, f.svc)
	must(t, err)
	n := 0
	appendEntry := func() {
		t.Helper()
		f.clk.Advance(time.Second)
		must(t, f.db.Append(ctx, auditlog.NewEntry(f.clk.Now(), "usr_1", auditlog.ActionLogin, fmt.Sprint(n), nil)))
		n++
	}

	appendEntry()
	cp, err := l.Checkpoint(ctx)
	must(t, err)
	if cp.Timestamp == nil {
		t.Fatal("the checkpoint was not time-stamped")
	}
	stored, err := f.db.Checkpoints(ctx)
	must(t, err)
	if len(stored) != 1 || !bytes.Equal(stored[0].Timestamp, cp.Timestamp) {
		t.Fatalf("stored checkpoints %+v do not carry the token", stored)
	}
	digest := sha256.Sum256(stored[0].Signed)
	tok, err := timestamp.CheckToken(stored[0].Timestamp, f.tsa.Cert)
	must(t, err)
	if !bytes.Equal(tok.Imprint, digest[:]) || !tok.GenTime.Equal(cp.Time) || tok.Signer != f.tsa.Cert {
		t.Fatalf("token %+v for checkpoint at %s", tok, cp.Time)
	}

	// The independent judge: openssl, on the bare token, for the note's digest.
	dir := t.TempDir()
	tokPath := filepath.Join(dir, "token.tsr")
	must(t, os.WriteFile(tokPath, stored[0].Timestamp, 0o600))
	root := writePEM(t, dir, "root.pem", f.root.Cert.Raw)
	tsaPEM := writePEM(t, dir, "tsa.pem", f.tsa.Cert.Raw)
	if out := mustOpenSSL(t, "ts", "-verify", "-digest", hex.EncodeToString(digest[:]), "-in", tokPath, "-token_in",
		"-CAfile", root, "-untrusted", tsaPEM); !strings.Contains(out, "Verification: OK") {
		t.Fatalf("openssl ts -verify:\n%s", out)
	}
	other := sha256.Sum256([]byte("another note"))
	if out, err := openssl(t, "ts", "-verify", "-digest", hex.EncodeToString(other[:]), "-in", tokPath, "-token_in",
		"-CAfile", root, "-untrusted", tsaPEM); err == nil {
		t.Fatalf("openssl accepted the token for another digest:\n%s", out)
	}

	// The clock loses synchronisation: the checkpoint is signed and stored all the same,
	// without a token, and the refusal is reported.
	f.sync.v.Store(tsa.Fixed{Known: false})
	appendEntry()
	cp2, err := l.Checkpoint(ctx)
	if !auditlog.Unstamped(err) || !errkind.Is(err, errkind.Unavailable) || cp2 == nil || cp2.Timestamp != nil {
		t.Fatalf("checkpoint with a refusing TSA: %+v, %v", cp2, err)
	}
	if latest, err := f.db.LatestCheckpoint(ctx); err != nil || latest.Size != cp2.Size || latest.Timestamp != nil {
		t.Fatalf("latest checkpoint %+v, %v", latest, err)
	}
	// Run keeps going and reports the refusal through onErr.
	appendEntry()
	runCtx, cancel := context.WithCancel(ctx)
	errs := make(chan error, 16)
	done := make(chan struct{})
	go func() {
		defer close(done)
		l.Run(runCtx, 5*time.Millisecond, func(err error) {
			select {
			case errs <- err:
			default:
			}
		})
	}()
	select {
	case err := <-errs:
		if !auditlog.Unstamped(err) {
			t.Errorf("Run reported %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Error("Run reported no refusal")
	}
	cancel()
	<-done
	latest, err := f.db.LatestCheckpoint(ctx)
	must(t, err)
	if latest.Size <= cp2.Size || latest.Timestamp != nil {
		t.Fatalf("Run stored %+v", latest)
	}

	// Synchronised again: the next checkpoint is stamped.
	f.sync.v.Store(tsa.Fixed{Offset: time.Millisecond, Known: true})
	appendEntry()
	cp3, err := l.Checkpoint(ctx)
	must(t, err)
	if cp3.Timestamp == nil {
		t.Fatal("no token once the clock is synchronised again")
	}

	rep, err := auditlog.Verify(ctx, f.db, l.VerifierKey(), f.tsa.Cert)
	must(t, err)
	if !rep.OK() || rep.Checkpoints != 4 || rep.Stamped != 2 || rep.StampsUnanchored || len(rep.Stamps) != 2 {
		t.Fatalf("report %+v", rep)
	}
	for i, want := range []*auditlog.Checkpoint{cp, cp3} {
		if s := rep.Stamps[i]; s.Size != want.Size || !s.Time.Equal(want.Time) || !s.GenTime.Equal(want.Time) {
			t.Errorf("stamp %d: %+v, want size %d at %s", i, s, want.Size, want.Time)
		}
	}
	// Without the TSA certificate the tokens are checked against the one they carry.
	rep, err = auditlog.Verify(ctx, f.db, l.VerifierKey())
	must(t, err)
	if !rep.OK() || rep.Stamped != 2 || !rep.StampsUnanchored {
		t.Fatalf("report without a TSA certificate %+v", rep)
	}
	// Another TSA's certificate: every token is named as a problem.
	otherTSA := caNode(t, issuance.CASpec{Name: "tsa2", CommonName: "Another TSA", Role: issuance.RoleTSA, Parent: "root",
		Validity: 365 * 24 * time.Hour}, &f.root, time.Now())
	rep, err = auditlog.Verify(ctx, f.db, l.VerifierKey(), otherTSA.Cert)
	must(t, err)
	if rep.OK() || rep.Stamped != 0 || len(rep.Problems) != 2 ||
		!strings.Contains(rep.Problems[0].String(), fmt.Sprintf("checkpoint at size %d: time-stamp token", cp.Size)) {
		t.Fatalf("report against another TSA %+v", rep)
	}
	// Both TSA certificates (one renewed, say): each token finds its own.
	rep, err = auditlog.Verify(ctx, f.db, l.VerifierKey(), otherTSA.Cert, f.tsa.Cert)
	must(t, err)
	if !rep.OK() || rep.Stamped != 2 {
		t.Fatalf("report with both TSA certificates %+v", rep)
	}

	// A token moved to another checkpoint (the database refuses the change; a
	// rogue administrator is simulated by the store's reader): its imprint no longer matches.
	all, err := f.db.Checkpoints(ctx)
	must(t, err)
	all[0].Timestamp = cp3.Timestamp
	rep, err = auditlog.Verify(ctx, swapped{f.db, all}, l.VerifierKey(), f.tsa.Cert)
	must(t, err)
	if rep.OK() || rep.Stamped != 1 || len(rep.Problems) != 1 ||
		rep.Problems[0].String() != fmt.Sprintf("checkpoint at size %d: time-stamp token: its message imprint is not SHA-256 of the signed checkpoint", cp.Size) {
		t.Fatalf("report with a moved token %+v", rep)
	}
	// A damaged token.
	all[0].Timestamp = bytes.Clone(cp.Timestamp)
	all[0].Timestamp[len(all[0].Timestamp)-3] ^= 1
	rep, err = auditlog.Verify(ctx, swapped{f.db, all}, l.VerifierKey(), f.tsa.Cert)
	must(t, err)
	if rep.OK() || !strings.Contains(rep.Problems[0].String(), fmt.Sprintf("checkpoint at size %d: time-stamp token", cp.Size)) {
		t.Fatalf("report with a damaged token %+v", rep)
	}
}

// swapped serves the given checkpoints in place of the stored ones.
type swapped struct {
	*store.DB
	cps []auditlog.Checkpoint
}

func (s swapped) Checkpoints(context.Context) ([]auditlog.Checkpoint, error) { return s.cps, nil }

// TestStampDigestRefusal_L21_1: StampDigest returns no token when the TSA refuses.
func TestStampDigestRefusal_L21_1(t *testing.T) {
	f := newFixture(t)
	f.sync.v.Store(tsa.Fixed{Offset: 5 * time.Second, Known: true})
	tok, err := f.svc.StampDigest(t.Context(), sha256.Sum256([]byte("x")))
	if tok != nil || !errkind.Is(err, errkind.Unavailable) || !strings.Contains(err.Error(), "accuracy") {
		t.Fatalf("StampDigest with a drifting clock: %x, %v", tok, err)
	}
	n, err := f.db.CountTimestamps(t.Context())
	if err != nil || n != 0 {
		t.Fatalf("%d tokens recorded (%v)", n, err)
	}
}
