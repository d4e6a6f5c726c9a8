package ca_test

import (
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tawthiq/tawthiq/internal/auditlog"
	"github.com/tawthiq/tawthiq/internal/ca"
	"github.com/tawthiq/tawthiq/internal/clock"
	"github.com/tawthiq/tawthiq/internal/errkind"
	"github.com/tawthiq/tawthiq/internal/issuance"
	"github.com/tawthiq/tawthiq/internal/law"
	"github.com/tawthiq/tawthiq/internal/lint"
	"github.com/tawthiq/tawthiq/internal/ra"
	"github.com/tawthiq/tawthiq/internal/store"
	"github.com/tawthiq/tawthiq/internal/testpki"
)

var _ ca.Store = (*store.DB)(nil)

// realLinter adapts the real zlint-backed linter to ca.Linter, as app does.
type realLinter struct {
	l      *lint.Linter
	policy asn1.ObjectIdentifier
}

func (x realLinter) Check(der []byte, req issuance.Request) error {
	return x.l.Certificate(der, lint.Expectation{Qualified: req.Profile.Qualified, KeyInQSCD: req.KeyInQSCD,
		LimitMAD: req.LimitMAD, Capacity: req.Subject.Title, PolicyOID: x.policy})
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

type env struct {
	db  *store.DB
	clk *clock.Fake
	svc *ca.Service
	n   int
}

func newEnv(t *testing.T) *env {
	t.Helper()
	ctx := context.Background()
	now := time.Now().UTC()
	db, err := store.Open(ctx, filepath.Join(t.TempDir(), "tawthiq.db"), clock.Real{})
	must(t, err)
	t.Cleanup(func() { db.Close() })
	terms := "conditions of use v1"
	h := sha256.Sum256([]byte(terms))
	must(t, db.PublishTerms(ctx, ra.Terms{Version: "v1", SHA256: h[:], Text: terms, PublishedAt: now},
		entry(now, auditlog.ActionTermsPublish, "v1")))

	pki := testpki.New(t, testpki.WithNow(now))
	l, err := lint.New()
	must(t, err)
	clk := clock.NewFake(now)
	svc := ca.New(db, clk, realLinter{l, pki.CSP.PolicyOID}, pki.CSP,
		[]ca.Issuer{{Name: "signature", Cert: pki.Signature.Cert, Signer: pki.Signature.Signer}}, issuance.DefaultProfiles())
	return &env{db: db, clk: clk, svc: svc}
}

func entry(at time.Time, action auditlog.Action, subject string) auditlog.Entry {
	return auditlog.NewEntry(at, "tester", action, subject, map[string]string{"subject": subject})
}

// approved records an approved application for key and returns the CA's request for it.
func (e *env) approved(t *testing.T, key crypto.PublicKey) (ca.IssueRequest, []byte) {
	t.Helper()
	ctx := context.Background()
	now := e.clk.Now()
	e.n++
	id := fmt.Sprintf("app-%d", e.n)
	spki, err := x509.MarshalPKIXPublicKey(key)
	must(t, err)
	sum := sha256.Sum256(spki)
	subj := issuance.Subject{GivenName: "Amina", Surname: "Alaoui", SerialNumber: "IDCMA-AB12345" + fmt.Sprint(e.n), Country: "MA"}
	a := &ra.Application{ID: id, Profile: "natural-qualified", Subject: subj,
		Identity: ra.IDDocument{Type: law.IDCard, Number: "AB12345" + fmt.Sprint(e.n), Issuer: "DGSN", Country: "MA",
			Expiry: now.AddDate(5, 0, 0), Method: law.FaceToFace, EvidenceSHA256: sum[:]},
		TermsVersion: "v1", TermsAcceptedAt: now, ContactEmail: id + "@example.ma", Language: "ar",
		CSR: []byte("csr-" + id), SPKISHA256: sum[:], SubmittedBy: "officer-0", Status: ra.StatusPending, CreatedAt: now}
	must(t, e.db.CreateApplication(ctx, a, entry(now, auditlog.ActionApplicationCreate, id)))
	for i := range 2 {
		ap := ra.Approval{ApplicationID: id, Officer: fmt.Sprintf("officer-%d", i+1), At: now, Note: "ok"}
		must(t, approvalErr(e.db.AddApproval(ctx, ap, entry(now, auditlog.ActionApplicationApprove, id))))
	}
	p, _ := e.svc.Profile("natural-qualified")
	return ca.IssueRequest{ApplicationID: id, Actor: "officer-2",
		Request: issuance.Request{Profile: p, Subject: subj, PublicKey: key}}, sum[:]
}

// crash is the panic that stands for a crash in crash tests.
type crash struct{}

// issueUntilReserved makes Issue stop, as a crash would, once the serial is reserved.
func issueUntilReserved(t *testing.T, svc *ca.Service, in ca.IssueRequest) {
	t.Helper()
	svc.AfterStep = func(s ca.Step) {
		if s == ca.StepReserved {
			panic(crash{})
		}
	}
	defer func() {
		svc.AfterStep = nil
		if r := recover(); r != (crash{}) {
			t.Fatalf("Issue did not stop after the reservation: %v", r)
		}
	}()
	_, _ = svc.Issue(context.Background(), in)
}

func TestRecoverAbandonsCompromisedKey_L25(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)

	// A normal issuance: linted by the real linter, signed, stored.
	in, _ := e.approved(t, testpki.Key(t).Public())
	c, err := e.svc.Issue(ctx, in)
	must(t, err)
	if got, err := e.svc.Certificate(ctx, c.Serial); err != nil || got.Status != ca.StatusIssued || len(got.DER) == 0 {
		t.Fatalf("issued certificate = %+v, %v", got, err)
	}

	// Two crashes after reservation; one key is then declared compromised.
	bad, spkiBad := e.approved(t, testpki.Key(t).Public())
	issueUntilReserved(t, e.svc, bad)
	ok, _ := e.approved(t, testpki.Key(t).Public())
	issueUntilReserved(t, e.svc, ok)
	rs, err := e.db.Reserved(ctx)
	must(t, err)
	if len(rs) != 2 {
		t.Fatalf("%d reservations, want 2", len(rs))
	}
	serialOf := map[string]string{}
	for _, r := range rs {
		serialOf[r.ApplicationID] = r.Serial
	}
	must(t, e.db.MarkKeyCompromised(ctx, spkiBad, "holder reported theft", e.clk.Now(),
		entry(e.clk.Now(), "key.compromise", "key")))

	completed, abandoned, err := e.svc.Recover(ctx)
	must(t, err)
	if completed != 1 || abandoned != 1 {
		t.Fatalf("Recover: completed %d, abandoned %d; want 1 and 1", completed, abandoned)
	}
	got, err := e.svc.Certificate(ctx, serialOf[bad.ApplicationID])
	must(t, err)
	if got.Status != ca.StatusAbandoned || len(got.DER) != 0 {
		t.Fatalf("compromised key's reservation: status %s, %d bytes of DER; want abandoned, none", got.Status, len(got.DER))
	}
	if !abandonEntry(t, e.db, got.Serial) {
		t.Fatalf("no %s audit entry naming %s for serial %s", auditlog.ActionCertificateAbandon, law.L25, got.Serial)
	}
	got, err = e.svc.Certificate(ctx, serialOf[ok.ApplicationID])
	must(t, err)
	if got.Status != ca.StatusIssued || len(got.DER) == 0 {
		t.Fatalf("sound key's reservation: status %s; want issued", got.Status)
	}
	if rs, err := e.db.Reserved(ctx); err != nil || len(rs) != 0 {
		t.Fatalf("reservations left: %d, %v", len(rs), err)
	}
}

func TestIssueRefusesKeyCompromisedAfterReservation_L25(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	in, spki := e.approved(t, testpki.Key(t).Public())
	// The key is declared compromised between the reservation and the signature.
	e.svc.AfterStep = func(s ca.Step) {
		if s == ca.StepReserved {
			must(t, e.db.MarkKeyCompromised(ctx, spki, "holder reported theft", e.clk.Now(), entry(e.clk.Now(), "key.compromise", "key")))
		}
	}
	c, err := e.svc.Issue(ctx, in)
	if err == nil {
		t.Fatalf("issued %s for a compromised key", c.Serial)
	}
	if ke := errkind.As(err); ke == nil || ke.Kind != errkind.Invalid || ke.Rule != law.L25 {
		t.Fatalf("err = %v, want Invalid L-25", err)
	}
	if rs, err := e.db.Reserved(ctx); err != nil || len(rs) != 0 {
		t.Fatalf("reservations left: %d, %v", len(rs), err)
	}
}

// abandonEntry reports whether the audit log abandons serial under L-25.
func abandonEntry(t *testing.T, db *store.DB, serial string) bool {
	t.Helper()
	ctx := context.Background()
	size, err := db.AuditSize(ctx)
	must(t, err)
	es, err := db.AuditEntries(ctx, 0, size)
	must(t, err)
	for _, en := range es {
		if en.Action == auditlog.ActionCertificateAbandon && en.Subject == serial && strings.Contains(string(en.Data), string(law.L25)) {
			return true
		}
	}
	return false
}

// approvalErr drops the resulting status of an approval.
func approvalErr(_ ra.Status, err error) error { return err }
