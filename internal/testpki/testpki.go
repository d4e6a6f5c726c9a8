// Package testpki builds throwaway CSP hierarchies for tests: a root, the issuing
// CAs "signature" and "seal", a delegated OCSP responder for each, and a TSA, with
// in-memory keys, made through issuance.CATemplate, Prepare and Sign (the code path
// of the key ceremony). It is imported by tests only.
package testpki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/asn1"
	"encoding/pem"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tawthiq/tawthiq/internal/issuance"
	"github.com/tawthiq/tawthiq/internal/keys"
	"github.com/tawthiq/tawthiq/internal/law"
)

// Now is the default issuance time, fixed so that tests do not depend on the clock.
var Now = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)

const year = 365 * 24 * time.Hour

// CSP is the demo provider the tests certify under.
func CSP() issuance.CSP {
	return issuance.CSP{
		Name:                   "Tawthiq Demo CSP",
		OrganizationIdentifier: "NTRMA-123456",
		Country:                law.CSPCountry,
		BaseURL:                "http://127.0.0.1:8080",
		PolicyOID:              asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 61234, 1, 1},
		PDS: map[string]string{
			"ar": "https://pki.tawthiq.example/pds/ar.pdf",
			"fr": "https://pki.tawthiq.example/pds/fr.pdf",
			"en": "https://pki.tawthiq.example/pds/en.pdf",
		},
	}
}

// Node is one certificate of a hierarchy with its key.
type Node struct {
	Name string // the CA name ("root", "signature", "ocsp-seal", ...); "" for an end entity
	Cert *x509.Certificate
	DER  []byte
	// Lintable is the throwaway-signed copy that carries the signed TBS (issuance.Prepare).
	Lintable []byte
	// Signer is the certificate's key; nil for an end entity, whose key the caller holds.
	Signer crypto.Signer
}

// Hierarchy is a throwaway CSP hierarchy.
type Hierarchy struct {
	CSP issuance.CSP
	// Now is the issuance time: CA certificates are valid from an hour before it.
	Now                        time.Time
	Root, Signature, Seal, TSA *Node
	// OCSP holds the delegated responder of each issuing CA, by the CA's name
	// ("signature", "seal"); each is named "ocsp-" + that name.
	OCSP map[string]*Node
}

type config struct {
	csp issuance.CSP
	now time.Time
	alg keys.Algorithm
}

// Option changes how New builds a hierarchy.
type Option func(*config)

// WithAlgorithm makes every CA key of kind alg (keys.ECDSAP256 by default).
func WithAlgorithm(alg keys.Algorithm) Option { return func(c *config) { c.alg = alg } }

// WithNow sets the issuance time (Now by default).
func WithNow(now time.Time) Option { return func(c *config) { c.now = now } }

// WithCSP certifies under csp instead of CSP().
func WithCSP(csp issuance.CSP) Option { return func(c *config) { c.csp = csp } }

// New builds a hierarchy; it fails t on any error.
func New(t testing.TB, opts ...Option) *Hierarchy {
	t.Helper()
	c := config{csp: CSP(), now: Now, alg: keys.ECDSAP256}
	for _, o := range opts {
		o(&c)
	}
	specs := []issuance.CASpec{
		{Name: "root", CommonName: "Tawthiq Demo Root CA", Role: issuance.RoleRoot, Validity: 20 * year},
		{Name: "signature", CommonName: "Tawthiq Demo Qualified Signature CA", Role: issuance.RoleIssuing, Parent: "root", Validity: 10 * year},
		{Name: "seal", CommonName: "Tawthiq Demo Qualified Seal CA", Role: issuance.RoleIssuing, Parent: "root", Validity: 10 * year},
		{Name: "ocsp-signature", CommonName: "Tawthiq Demo OCSP Responder", Role: issuance.RoleOCSP, Parent: "signature", Validity: 30 * 24 * time.Hour},
		{Name: "ocsp-seal", CommonName: "Tawthiq Demo Seal OCSP Responder", Role: issuance.RoleOCSP, Parent: "seal", Validity: 30 * 24 * time.Hour},
		{Name: "tsa", CommonName: "Tawthiq Demo Time-Stamping Unit", Role: issuance.RoleTSA, Parent: "root", Validity: 5 * year},
	}
	signers := generate(t, c.alg, len(specs))
	nodes := map[string]*Node{}
	for i, spec := range specs {
		k := signers[i]
		spec.PublicKey, spec.Serial, spec.NotBefore = k.Public(), Serial(t), c.now.Add(-time.Hour)
		tmpl, err := issuance.CATemplate(c.csp, spec)
		if err != nil {
			t.Fatalf("testpki: CATemplate(%s): %v", spec.Name, err)
		}
		var n *Node
		if spec.Role == issuance.RoleRoot {
			n = SelfSign(t, tmpl, k)
		} else {
			n = Certify(t, tmpl, nodes[spec.Parent], k.Public())
		}
		n.Name, n.Signer = spec.Name, k
		nodes[spec.Name] = n
	}
	return &Hierarchy{CSP: c.csp, Now: c.now, Root: nodes["root"], Signature: nodes["signature"], Seal: nodes["seal"],
		TSA: nodes["tsa"], OCSP: map[string]*Node{"signature": nodes["ocsp-signature"], "seal": nodes["ocsp-seal"]}}
}

// generate makes n keys of kind alg concurrently (RSA keys are slow to make).
func generate(t testing.TB, alg keys.Algorithm, n int) []crypto.Signer {
	t.Helper()
	out, errs := make([]crypto.Signer, n), make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { out[i], errs[i] = keys.GenerateThrowaway(alg) })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatalf("testpki: %s key: %v", alg, err)
		}
	}
	return out
}

// Certify prepares, signs and parses one certificate for pub under parent the
// way the CA does: issuance.Prepare, then issuance.Sign with parent.Signer.
func Certify(t testing.TB, tmpl *x509.Certificate, parent *Node, pub crypto.PublicKey) *Node {
	t.Helper()
	return certify(t, tmpl, parent.Cert, pub, parent.Signer)
}

// SelfSign prepares, signs and parses a certificate that signer signs for its
// own key; the node's Signer is signer.
func SelfSign(t testing.TB, tmpl *x509.Certificate, signer crypto.Signer) *Node {
	t.Helper()
	n := certify(t, tmpl, tmpl, signer.Public(), signer)
	n.Signer = signer
	return n
}

func certify(t testing.TB, tmpl, parent *x509.Certificate, pub crypto.PublicKey, signer crypto.Signer) *Node {
	t.Helper()
	tbs, lintable, err := issuance.Prepare(tmpl, parent, pub, signer.Public())
	if err != nil {
		t.Fatalf("testpki: Prepare: %v", err)
	}
	der, err := issuance.Sign(signer, tbs)
	if err != nil {
		t.Fatalf("testpki: Sign: %v", err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatalf("testpki: %v", err)
	}
	return &Node{Cert: c, DER: der, Lintable: lintable}
}

// CA returns the hierarchy's certificate named name ("root", "signature", "seal",
// "tsa", "ocsp-signature", "ocsp-seal"), or fails t.
func (h *Hierarchy) CA(t testing.TB, name string) *Node {
	t.Helper()
	for _, n := range []*Node{h.Root, h.Signature, h.Seal, h.TSA, h.OCSP["signature"], h.OCSP["seal"]} {
		if n.Name == name {
			return n
		}
	}
	t.Fatalf("testpki: no CA %q", name)
	return nil
}

// Issue makes an end-entity certificate for req under ca through
// issuance.EndEntityTemplate, Prepare and Sign; a nil ca is the one the
// request's profile names, as the CA service picks it.
func (h *Hierarchy) Issue(t testing.TB, ca *Node, req issuance.Request) *Node {
	t.Helper()
	if ca == nil {
		ca = h.CA(t, req.Profile.CA)
	}
	tmpl, err := issuance.EndEntityTemplate(h.CSP, ca.Cert, req)
	if err != nil {
		t.Fatalf("testpki: EndEntityTemplate: %v", err)
	}
	return Certify(t, tmpl, ca, req.PublicKey)
}

// NaturalRequest is a natural person's request under profile p, valid from h.Now.
func (h *Hierarchy) NaturalRequest(t testing.TB, p issuance.Profile, pub crypto.PublicKey) issuance.Request {
	t.Helper()
	return issuance.Request{
		Profile: p,
		Subject: issuance.Subject{GivenName: "Amina", Surname: "El Idrissi", SerialNumber: "IDCMA-AB123456",
			Country: "MA", Email: "amina@example.ma"},
		PublicKey: pub, Serial: Serial(t),
		NotBefore: h.Now, NotAfter: h.Now.Add(p.Validity),
	}
}

// SealRequest is a legal person's request under profile p, valid from h.Now.
func (h *Hierarchy) SealRequest(t testing.TB, p issuance.Profile, pub crypto.PublicKey) issuance.Request {
	t.Helper()
	return issuance.Request{
		Profile: p,
		Subject: issuance.Subject{Organization: "Société Exemple SARL", OrganizationIdentifier: "NTRMA-654321",
			CommonName: "Société Exemple – cachet", Country: "MA"},
		PublicKey: pub, Serial: Serial(t),
		NotBefore: h.Now, NotAfter: h.Now.Add(p.Validity),
	}
}

// Profile returns the default profile named name, or fails t.
func Profile(t testing.TB, name string) issuance.Profile {
	t.Helper()
	for _, p := range issuance.DefaultProfiles() {
		if p.Name == name {
			return p
		}
	}
	t.Fatalf("testpki: no profile %q", name)
	return issuance.Profile{}
}

// Key returns a new P-256 key, the usual end-entity key of the tests.
func Key(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// Serial returns a random positive serial of 127 to 128 bits.
func Serial(t testing.TB) *big.Int {
	t.Helper()
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	b[0] = b[0]&0x3f | 0x40 // at least 127 bits, never negative
	return new(big.Int).SetBytes(b)
}

// WritePEM writes ders as PEM blocks of type typ ("CERTIFICATE", "X509 CRL", ...)
// to dir/name and returns the path.
func WritePEM(t testing.TB, dir, name, typ string, ders ...[]byte) string {
	t.Helper()
	var b []byte
	for _, d := range ders {
		b = append(b, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: d})...)
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// WriteCerts writes certificates as PEM to dir/name and returns the path.
func WriteCerts(t testing.TB, dir, name string, certs ...*x509.Certificate) string {
	t.Helper()
	ders := make([][]byte, len(certs))
	for i, c := range certs {
		ders[i] = c.Raw
	}
	return WritePEM(t, dir, name, "CERTIFICATE", ders...)
}

// OpenSSLPath returns the openssl binary, or skips t when it is not installed.
func OpenSSLPath(t testing.TB) string {
	t.Helper()
	p, err := exec.LookPath("openssl")
	if err != nil {
		t.Skip("openssl not installed: skipping the independent check (apt-get install openssl)")
	}
	return p
}

// RunOpenSSL runs openssl and returns its combined output whatever its exit status;
// it skips t when openssl is not installed.
func RunOpenSSL(t testing.TB, args ...string) (string, error) {
	t.Helper()
	out, err := exec.Command(OpenSSLPath(t), args...).CombinedOutput()
	return string(out), err
}

// OpenSSL runs openssl and fails t when it fails; it skips t when openssl is not installed.
func OpenSSL(t testing.TB, args ...string) string {
	t.Helper()
	out, err := RunOpenSSL(t, args...)
	if err != nil {
		t.Fatalf("openssl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}
