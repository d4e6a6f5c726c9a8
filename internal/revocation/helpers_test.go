package revocation_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"os/exec"
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
	"github.com/tawthiq/tawthiq/internal/revocation"
	"github.com/tawthiq/tawthiq/internal/store"
)

func testCSP(shards int) issuance.CSP {
	return issuance.CSP{
		Name: "Tawthiq Demo CSP", OrganizationIdentifier: "NTRMA-123456", Country: law.CSPCountry,
		BaseURL: "http://127.0.0.1:8080", PolicyOID: asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 61234, 1, 1},
		PDS: map[string]string{"ar": "https://pki.tawthiq.example/pds/ar.pdf", "fr": "https://pki.tawthiq.example/pds/fr.pdf",
			"en": "https://pki.tawthiq.example/pds/en.pdf"},
		CRLShards: shards,
	}
}

var start = time.Date(2026, 11, 22, 10, 0, 0, 123_000_000, time.UTC)

func newKey(t testing.TB) *ecdsa.PrivateKey {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func randSerial(t testing.TB) *big.Int {
	s, err := ca.RandomSerial()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// caPair is a root and an issuing CA "signature" made with the issuance package.
type caPair struct {
	root, sig *x509.Certificate
	rootKey   *ecdsa.PrivateKey
	sigKey    *ecdsa.PrivateKey
}

func newCA(t testing.TB, csp issuance.CSP) *caPair {
	t.Helper()
	p := &caPair{rootKey: newKey(t), sigKey: newKey(t)}
	year := 365 * 24 * time.Hour
	mk := func(spec issuance.CASpec, pub crypto.PublicKey, parent *x509.Certificate, signer *ecdsa.PrivateKey) *x509.Certificate {
		spec.PublicKey, spec.Serial, spec.NotBefore = pub, randSerial(t), start.Add(-time.Hour)
		tmpl, err := issuance.CATemplate(csp, spec)
		if err != nil {
			t.Fatal(err)
		}
		if parent == nil {
			parent = tmpl
		}
		tbs, _, err := issuance.Prepare(tmpl, parent, pub, signer.Public())
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
		return c
	}
	p.root = mk(issuance.CASpec{Name: "root", CommonName: "Tawthiq Test Root CA", Role: issuance.RoleRoot, Validity: 20 * year}, p.rootKey.Public(), nil, p.rootKey)
	p.sig = mk(issuance.CASpec{Name: "signature", CommonName: "Tawthiq Test Signature CA", Role: issuance.RoleIssuing, Parent: "root", Validity: 10 * year}, p.sigKey.Public(), p.root, p.rootKey)
	return p
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
	ca  *caPair
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
	e.svc = revocation.New(db, clk, linter(t), e.csp, []revocation.Issuer{{Name: "signature", Cert: e.ca.sig, Signer: e.ca.sigKey}})
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
		key = newKey(t)
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
	tmpl, err := issuance.EndEntityTemplate(e.csp, e.ca.sig, req)
	must(t, err)
	tbs, _, err := issuance.Prepare(tmpl, e.ca.sig, key.Public(), e.ca.sigKey.Public())
	must(t, err)
	der, err := issuance.Sign(e.ca.sigKey, tbs)
	must(t, err)
	cert, err := x509.ParseCertificate(der)
	must(t, err)
	hexSerial := fmt.Sprintf("%x", serial)
	c := &ca.Certificate{Serial: hexSerial, CA: "signature", ApplicationID: id, Profile: p.Name, SPKISHA256: spki[:],
		Subject: cert.Subject.String(), NotBefore: cert.NotBefore, NotAfter: cert.NotAfter, TBS: tbs, Status: ca.StatusReserved, ReservedAt: now}
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

// openssl runs openssl, or skips when it is not installed.
func openssl(t testing.TB, args ...string) string {
	t.Helper()
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("openssl not installed: apt-get install openssl")
	}
	out, err := exec.Command("openssl", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("openssl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func writePEM(t testing.TB, dir, name, typ string, ders ...[]byte) string {
	t.Helper()
	var b []byte
	for _, d := range ders {
		b = append(b, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: d})...)
	}
	p := filepath.Join(dir, name)
	must(t, os.WriteFile(p, b, 0o600))
	return p
}

// runOpenSSL runs openssl and returns its output whatever its exit status.
func runOpenSSL(t testing.TB, args ...string) (string, error) {
	t.Helper()
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("openssl not installed: apt-get install openssl")
	}
	out, err := exec.Command("openssl", args...).CombinedOutput()
	return string(out), err
}

func contextWithCancel(t *testing.T) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(t.Context())
	t.Cleanup(cancel)
	return ctx, cancel
}

// approvalErr drops the resulting status of an approval.
func approvalErr(_ ra.Status, err error) error { return err }
