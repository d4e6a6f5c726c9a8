package ocsp_test

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"fmt"
	"net/http/httptest"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tawthiq/tawthiq/internal/api"
	"github.com/tawthiq/tawthiq/internal/auditlog"
	"github.com/tawthiq/tawthiq/internal/ca"
	"github.com/tawthiq/tawthiq/internal/clock"
	"github.com/tawthiq/tawthiq/internal/issuance"
	"github.com/tawthiq/tawthiq/internal/law"
	"github.com/tawthiq/tawthiq/internal/ocsp"
	"github.com/tawthiq/tawthiq/internal/ra"
	"github.com/tawthiq/tawthiq/internal/revocation"
	"github.com/tawthiq/tawthiq/internal/store"
	"github.com/tawthiq/tawthiq/internal/testpki"
)

// fixture is a real CSP hierarchy (root, signature CA, its delegated OCSP
// responder), a real SQLite store, the responder and an HTTP server over it.
type fixture struct {
	dir                  string
	db                   *store.DB
	clk                  *clock.Fake
	pki                  *testpki.Hierarchy
	root, signature, rsp *testpki.Node
	svc                  *ocsp.Service
	srv                  *httptest.Server
	apps                 atomic.Int64
}

type fixtureOpts struct {
	leases ocsp.Leases
	db     *store.DB // share a database (several nodes)
	fix    *fixture  // share the hierarchy
}

func newFixture(t testing.TB, o fixtureOpts) *fixture {
	t.Helper()
	now := time.Now().UTC()
	f := &fixture{dir: t.TempDir(), clk: clock.NewFake(now)}
	if o.fix != nil {
		f.pki = o.fix.pki
	} else {
		f.pki = testpki.New(t, testpki.WithNow(now))
	}
	f.root, f.signature, f.rsp = f.pki.Root, f.pki.Signature, f.pki.OCSP["signature"]
	if o.db != nil {
		f.db = o.db
	} else {
		db, err := store.Open(context.Background(), filepath.Join(f.dir, "tawthiq.db"), clock.Real{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		f.db = db
		terms := "conditions of use v1"
		h := sha256.Sum256([]byte(terms))
		must(t, db.PublishTerms(context.Background(), ra.Terms{Version: "v1", SHA256: h[:], Text: terms, PublishedAt: now},
			entry(now, auditlog.ActionTermsPublish, "v1")))
	}
	svc, err := ocsp.New(ocsp.Config{Store: f.db, Clock: f.clk, Leases: o.leases, Holder: fmt.Sprintf("node-%p", f),
		Issuers: []ocsp.Issuer{{Name: "signature", Cert: f.signature.Cert, Responder: f.rsp.Cert, Signer: f.rsp.Signer}}})
	if err != nil {
		t.Fatal(err)
	}
	f.svc = svc
	must(t, svc.Load(context.Background()))
	f.srv = httptest.NewServer(api.OCSPHandler(svc, 4096))
	t.Cleanup(f.srv.Close)
	f.writePEM(t, "root.pem", f.root.Cert.Raw)
	f.writePEM(t, "ca.pem", f.signature.Cert.Raw)
	f.writePEM(t, "responder.pem", f.rsp.Cert.Raw)
	return f
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func entry(at time.Time, action auditlog.Action, subject string) auditlog.Entry {
	return auditlog.NewEntry(at, "tester", action, subject, map[string]string{"subject": subject})
}

func (f *fixture) writePEM(t testing.TB, name string, der []byte) string {
	t.Helper()
	return testpki.WritePEM(t, f.dir, name, "CERTIFICATE", der)
}

// issue signs an end-entity certificate under the signature CA and records it the
// way the CA does: an approved application, a reserved serial, then issued.
func (f *fixture) issue(t testing.TB, notBefore, notAfter time.Time) *x509.Certificate {
	t.Helper()
	ctx := context.Background()
	now := f.clk.Now()
	serial := testpki.Serial(t)
	k := testpki.Key(t)
	tmpl := &x509.Certificate{SerialNumber: serial, Subject: pkix.Name{CommonName: "Amina Alaoui", Country: []string{"MA"}},
		NotBefore: notBefore, NotAfter: notAfter, KeyUsage: x509.KeyUsageDigitalSignature,
		OCSPServer: []string{f.srv.URL + "/ocsp"}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, f.signature.Cert, k.Public(), f.signature.Signer)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	id := fmt.Sprintf("app-%d-%x", f.apps.Add(1), serial.Bytes()[:4])
	spki := sha256.Sum256(c.RawSubjectPublicKeyInfo)
	a := &ra.Application{ID: id, Profile: "qualified-signature",
		Subject: issuance.Subject{GivenName: "Amina", Surname: "Alaoui", CommonName: "Amina Alaoui", SerialNumber: "IDCMA-" + id, Country: "MA"},
		Identity: ra.IDDocument{Type: law.IDCard, Number: "AB" + id, Issuer: "DGSN", Country: "MA",
			Expiry: now.AddDate(5, 0, 0), Method: law.FaceToFace, EvidenceSHA256: spki[:]},
		TermsVersion: "v1", TermsAcceptedAt: now, ContactEmail: id + "@example.ma", Language: "ar",
		CSR: []byte("csr-" + id), SPKISHA256: spki[:], KeyInQSCD: true, SubmittedBy: "officer-0",
		Status: ra.StatusPending, CreatedAt: now}
	must(t, f.db.CreateApplication(ctx, a, entry(now, auditlog.ActionApplicationCreate, id)))
	for i := range 2 {
		ap := ra.Approval{ApplicationID: id, Officer: fmt.Sprintf("officer-%d", i+1), At: now, Note: "ok"}
		must(t, approvalErr(f.db.AddApproval(ctx, ap, entry(now, auditlog.ActionApplicationApprove, id))))
	}
	hexSerial := hex.EncodeToString(serial.Bytes())
	rec := &ca.Certificate{Serial: hexSerial, CA: "signature", ApplicationID: id, Profile: "qualified-signature",
		SPKISHA256: spki[:], Subject: "CN=Amina Alaoui,C=MA", NotBefore: notBefore, NotAfter: notAfter,
		TBS: c.RawTBSCertificate, Status: ca.StatusReserved, ReservedAt: now}
	must(t, f.db.Reserve(ctx, rec, entry(now, auditlog.ActionCertificateReserve, hexSerial)))
	must(t, f.db.MarkIssued(ctx, hexSerial, der, now, entry(now, auditlog.ActionCertificateIssue, hexSerial)))
	return c
}

// revoke records a revocation the way the revocation service does.
func (f *fixture) revoke(t testing.TB, c *x509.Certificate, ground law.Ground, at time.Time) {
	t.Helper()
	rule, ok := law.LookupGround(ground)
	if !ok {
		t.Fatalf("no ground %s", ground)
	}
	serial := hex.EncodeToString(c.SerialNumber.Bytes())
	r := revocation.Revocation{Serial: serial, CA: "signature", Ground: ground, Reason: rule.Reason,
		RequestedAt: at, RevokedAt: at, RequestedBy: "holder", Note: "test", OrderRef: ""}
	must(t, f.db.Revoke(context.Background(), []revocation.Revocation{r}, nil, []auditlog.Entry{entry(at, "revocation.revoke", serial)}))
}

// approvalErr drops the resulting status of an approval.
func approvalErr(_ ra.Status, err error) error { return err }
