package revocation_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/sha256"
	"crypto/x509"
	"fmt"
	"math/big"
	"path/filepath"
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
	"github.com/tawthiq/tawthiq/internal/revocation"
	"github.com/tawthiq/tawthiq/internal/store"
	"github.com/tawthiq/tawthiq/internal/testpki"
)

// testCSP is the demo provider with its CRLs partitioned in shards.
func testCSP(shards int) issuance.CSP {
	csp := testpki.CSP()
	csp.CRLShards = shards
	return csp
}

var start = time.Date(2026, 11, 22, 10, 0, 0, 123_000_000, time.UTC)

func randSerial(t testing.TB) *big.Int {
	s, err := ca.RandomSerial()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// newCA builds the test hierarchy (root, issuing CA "signature", ...) under csp.
func newCA(t testing.TB, csp issuance.CSP) *testpki.Hierarchy {
	t.Helper()
	return testpki.New(t, testpki.WithCSP(csp), testpki.WithNow(start))
}

var linter = func() func(t testing.TB) *lint.Linter {
	var l *lint.Linter
	return func(t testing.TB) *lint.Linter {
		if l == nil {
			var err error
			if l, err = lint.New(); err != nil {
				t.Fatal(err)
			}
		}
		return l
	}
}()

// env is a real SQLite store, a fake clock, a CA and the service.
type env struct {
	db  *store.DB
	clk *clock.Fake
	ca  *testpki.Hierarchy
	csp issuance.CSP
	svc *revocation.Service
	n   int
}

func newEnv(t *testing.T, shards int) *env {
	t.Helper()
	clk := clock.NewFake(start)
	db, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "t.db"), clk)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	e := &env{db: db, clk: clk, csp: testCSP(shards)}
	e.ca = newCA(t, e.csp)
	e.svc = revocation.New(db, clk, linter(t), e.csp, []revocation.Issuer{{Name: "signature", Cert: e.ca.Signature.Cert, Signer: e.ca.Signature.Signer}})
	h := sha256.Sum256([]byte("terms"))
	must(t, db.PublishTerms(t.Context(), ra.Terms{Version: "v1", SHA256: h[:], Text: "terms", PublishedAt: start.Add(-time.Hour)},
		auditlog.NewEntry(start, "admin", auditlog.ActionTermsPublish, "v1", nil)))
	return e
}

// issued is one issued certificate with its holder's revocation secret.
type issued struct {
	Serial, Holder, Secret string
	Key                    *ecdsa.PrivateKey
	Cert                   *x509.Certificate
}

// issue records an application of holder and issues a real certificate through the
// store; key nil makes a new key; validity may be negative for an expired one.
func (e *env) issue(t *testing.T, holder string, key *ecdsa.PrivateKey, validity time.Duration) issued {
	t.Helper()
	ctx := t.Context()
	e.n++
	if key == nil {
		key = testpki.Key(t)
	}
	spkiDER, _ := x509.MarshalPKIXPublicKey(key.Public())
	spki := sha256.Sum256(spkiDER)
	secret, hash, err := ra.NewRevocationSecret()
	must(t, err)
	id := fmt.Sprintf("app-%d", e.n)
	now := law.Timestamp(e.clk.Now())
	a := &ra.Application{ID: id, Profile: "qualified-signature",
		Subject:      issuance.Subject{GivenName: "Amina", Surname: "Alaoui", SerialNumber: "IDCMA-AB" + id, Country: "MA"},
		Identity:     ra.IDDocument{Type: law.IDCard, Number: "AB1", Issuer: "DGSN", Country: "MA", Expiry: start.AddDate(5, 0, 0), Method: law.FaceToFace, EvidenceSHA256: spki[:]},
		TermsVersion: "v1", TermsAcceptedAt: now, Language: "fr", CSR: []byte("csr"), SPKISHA256: spki[:],
		SubmittedBy: holder, Status: ra.StatusPending, CreatedAt: now, RevocationSecretSHA256: hash}
	must(t, e.db.CreateApplication(ctx, a, auditlog.NewEntry(now, holder, auditlog.ActionApplicationCreate, id, nil)))
	for i := range 2 {
		must(t, approvalErr(e.db.AddApproval(ctx, ra.Approval{ApplicationID: id, Officer: fmt.Sprintf("officer-%d", i), At: now},
			auditlog.NewEntry(now, "officer", auditlog.ActionApplicationApprove, id, nil))))
	}
	p := issuance.DefaultProfiles()[0]
	for _, q := range issuance.DefaultProfiles() {
		if q.CA == "signature" {
			p = q
			break
		}
	}
	serial := randSerial(t)
	nb := now.Truncate(time.Second).Add(-time.Hour)
	if validity < 0 {
		nb = now.Add(2 * validity).Truncate(time.Second)
		validity = -validity
	}
	req := issuance.Request{Profile: p, Subject: a.Subject, PublicKey: key.Public(), Serial: serial, NotBefore: nb, NotAfter: nb.Add(validity), KeyInQSCD: true}
	n := e.ca.Issue(t, e.ca.Signature, req)
	cert, der := n.Cert, n.DER
	hexSerial := fmt.Sprintf("%x", serial)
	c := &ca.Certificate{Serial: hexSerial, CA: "signature", ApplicationID: id, Profile: p.Name, SPKISHA256: spki[:],
		Subject: cert.Subject.String(), NotBefore: cert.NotBefore, NotAfter: cert.NotAfter, TBS: cert.RawTBSCertificate, Status: ca.StatusReserved, ReservedAt: now}
	must(t, e.db.Reserve(ctx, c, auditlog.NewEntry(now, "officer", auditlog.ActionCertificateReserve, hexSerial, nil)))
	must(t, e.db.MarkIssued(ctx, hexSerial, der, now, auditlog.NewEntry(now, "officer", auditlog.ActionCertificateIssue, hexSerial, nil)))
	return issued{Serial: hexSerial, Holder: holder, Secret: secret, Key: key, Cert: cert}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func wantKind(t *testing.T, err error, k errkind.Kind, rule law.ID) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want %s (%s)", k, rule)
	}
	e := errkind.As(err)
	if e.Kind != k || (rule != "" && e.Rule != rule) {
		t.Fatalf("got %v (kind %s, rule %q), want kind %s rule %q", err, e.Kind, e.Rule, k, rule)
	}
}

func contextWithCancel(t *testing.T) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(t.Context())
	t.Cleanup(cancel)
	return ctx, cancel
}

// approvalErr drops the resulting status of an approval.
func approvalErr(_ ra.Status, err error) error { return err }
