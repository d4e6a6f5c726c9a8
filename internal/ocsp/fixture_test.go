package ocsp_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"math/big"
	"net/http/httptest"
	"os"
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
)

// node is one certificate of the test hierarchy with its key.
type node struct {
	Cert *x509.Certificate
	Key  *ecdsa.PrivateKey
}

// fixture is a real CSP hierarchy (root, signature CA, its delegated OCSP
// responder), a real SQLite store, the responder and an HTTP server over it.
type fixture struct {
	dir                  string
	db                   *store.DB
	clk                  *clock.Fake
	root, signature, rsp node
	svc                  *ocsp.Service
	srv                  *httptest.Server
	apps                 atomic.Int64
}

func testCSP() issuance.CSP {
	return issuance.CSP{
		Name: "Tawthiq Demo CSP", OrganizationIdentifier: "NTRMA-123456", Country: law.CSPCountry,
		BaseURL:   "http://127.0.0.1:8080",
		PolicyOID: asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 61234, 1, 1},
		PDS: map[string]string{"ar": "https://pki.tawthiq.example/pds/ar.pdf",
			"fr": "https://pki.tawthiq.example/pds/fr.pdf", "en": "https://pki.tawthiq.example/pds/en.pdf"},
	}
}

func newKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func newSerial(t testing.TB) *big.Int {
	t.Helper()
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	b[0] = b[0]&0x3f | 0x40
	return new(big.Int).SetBytes(b)
}

// caNode makes a certificate of the CSP's hierarchy the way the ceremony does.
func caNode(t testing.TB, spec issuance.CASpec, parent *node, now time.Time) node {
	t.Helper()
	k := newKey(t)
	spec.PublicKey, spec.Serial, spec.NotBefore = k.Public(), newSerial(t), now.Add(-time.Hour)
	tmpl, err := issuance.CATemplate(testCSP(), spec)
	if err != nil {
		t.Fatalf("CATemplate(%s): %v", spec.Name, err)
	}
	var tbs []byte
	var signer crypto.Signer = k
	if parent == nil {
		tbs, _, err = issuance.Prepare(tmpl, tmpl, k.Public(), k.Public())
	} else {
		tbs, _, err = issuance.Prepare(tmpl, parent.Cert, k.Public(), parent.Key.Public())
		signer = parent.Key
	}
	if err != nil {
		t.Fatal(err)
	}
	der, err := issuance.Sign(signer, tbs)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return node{Cert: c, Key: k}
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
		f.root, f.signature, f.rsp = o.fix.root, o.fix.signature, o.fix.rsp
	} else {
		year := 365 * 24 * time.Hour
		f.root = caNode(t, issuance.CASpec{Name: "root", CommonName: "Tawthiq Demo Root CA", Role: issuance.RoleRoot, Validity: 20 * year}, nil, now)
		f.signature = caNode(t, issuance.CASpec{Name: "signature", CommonName: "Tawthiq Demo Qualified Signature CA",
			Role: issuance.RoleIssuing, Parent: "root", Validity: 10 * year}, &f.root, now)
		f.rsp = caNode(t, issuance.CASpec{Name: "ocsp-signature", CommonName: "Tawthiq Demo OCSP Responder",
			Role: issuance.RoleOCSP, Parent: "signature", Validity: 30 * 24 * time.Hour}, &f.signature, now)
	}
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
		Issuers: []ocsp.Issuer{{Name: "signature", Cert: f.signature.Cert, Responder: f.rsp.Cert, Signer: f.rsp.Key}}})
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
	p := filepath.Join(f.dir, name)
	must(t, os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600))
	return p
}

// issue signs an end-entity certificate under the signature CA and records it the
// way the CA does: an approved application, a reserved serial, then issued.
func (f *fixture) issue(t testing.TB, notBefore, notAfter time.Time) *x509.Certificate {
	t.Helper()
	ctx := context.Background()
	now := f.clk.Now()
	serial := newSerial(t)
	k := newKey(t)
	tmpl := &x509.Certificate{SerialNumber: serial, Subject: pkix.Name{CommonName: "Amina Alaoui", Country: []string{"MA"}},
		NotBefore: notBefore, NotAfter: notAfter, KeyUsage: x509.KeyUsageDigitalSignature,
		OCSPServer: []string{f.srv.URL + "/ocsp"}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, f.signature.Cert, k.Public(), f.signature.Key)
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
