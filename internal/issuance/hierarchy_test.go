package issuance_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/asn1"
	"math/big"
	"testing"
	"time"

	"github.com/tawthiq/tawthiq/internal/issuance"
	"github.com/tawthiq/tawthiq/internal/law"
)

// testCSP is the demo provider the tests certify under.
func testCSP() issuance.CSP {
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

// testNow is a fixed issuance time, so that tests do not depend on the clock.
var testNow = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)

// node is one certificate of the test hierarchy with its key.
type node struct {
	Cert *x509.Certificate
	DER  []byte
	Key  *ecdsa.PrivateKey
	// Lintable is the throwaway-signed copy that carries the signed TBS.
	Lintable []byte
}

// hierarchy is a throwaway CSP hierarchy: root, two issuing CAs, an OCSP responder and a TSA.
type hierarchy struct {
	CSP                              issuance.CSP
	Root, Signature, Seal, OCSP, TSA node
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
	b[0] |= 0x40 // at least 127 bits, never negative
	b[0] &= 0x7f
	return new(big.Int).SetBytes(b)
}

// issue prepares, signs and parses one certificate; a nil parent makes a self-signed root.
func issue(t testing.TB, tmpl *x509.Certificate, parent *node, pub crypto.PublicKey, selfKey *ecdsa.PrivateKey) node {
	t.Helper()
	var (
		tbs, lintable []byte
		err           error
		signer        crypto.Signer
	)
	if parent == nil {
		tbs, lintable, err = issuance.Prepare(tmpl, tmpl, pub, pub)
		signer = selfKey
	} else {
		tbs, lintable, err = issuance.Prepare(tmpl, parent.Cert, pub, parent.Key.Public())
		signer = parent.Key
	}
	if err != nil {
		t.Fatalf("Prepare: %v", err)
	}
	der, err := issuance.Sign(signer, tbs)
	if err != nil {
		t.Fatalf("Sign: %v", err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return node{Cert: c, DER: der, Lintable: lintable}
}

func caNode(t testing.TB, csp issuance.CSP, spec issuance.CASpec, parent *node) node {
	t.Helper()
	k := newKey(t)
	spec.PublicKey, spec.Serial, spec.NotBefore = k.Public(), newSerial(t), testNow.Add(-time.Hour)
	tmpl, err := issuance.CATemplate(csp, spec)
	if err != nil {
		t.Fatalf("CATemplate(%s): %v", spec.Name, err)
	}
	n := issue(t, tmpl, parent, k.Public(), k)
	n.Key = k
	return n
}

// newHierarchy builds the test PKI with in-memory P-256 keys.
func newHierarchy(t testing.TB) *hierarchy {
	t.Helper()
	h := &hierarchy{CSP: testCSP()}
	year := 365 * 24 * time.Hour
	h.Root = caNode(t, h.CSP, issuance.CASpec{Name: "root", CommonName: "Tawthiq Demo Root CA", Role: issuance.RoleRoot, Validity: 20 * year}, nil)
	h.Signature = caNode(t, h.CSP, issuance.CASpec{Name: "signature", CommonName: "Tawthiq Demo Qualified Signature CA", Role: issuance.RoleIssuing, Parent: "root", Validity: 10 * year}, &h.Root)
	h.Seal = caNode(t, h.CSP, issuance.CASpec{Name: "seal", CommonName: "Tawthiq Demo Qualified Seal CA", Role: issuance.RoleIssuing, Parent: "root", Validity: 10 * year}, &h.Root)
	h.OCSP = caNode(t, h.CSP, issuance.CASpec{Name: "ocsp-signature", CommonName: "Tawthiq Demo OCSP Responder", Role: issuance.RoleOCSP, Parent: "signature", Validity: 30 * 24 * time.Hour}, &h.Signature)
	h.TSA = caNode(t, h.CSP, issuance.CASpec{Name: "tsa", CommonName: "Tawthiq Demo Time-Stamping Unit", Role: issuance.RoleTSA, Parent: "root", Validity: 5 * year}, &h.Root)
	return h
}

// eeRequest is a natural person's request under the given profile.
func naturalRequest(t testing.TB, p issuance.Profile, pub crypto.PublicKey) issuance.Request {
	return issuance.Request{
		Profile: p,
		Subject: issuance.Subject{GivenName: "Amina", Surname: "El Idrissi", SerialNumber: "IDCMA-AB123456",
			Country: "MA", Email: "amina@example.ma"},
		PublicKey: pub, Serial: newSerial(t),
		NotBefore: testNow, NotAfter: testNow.Add(p.Validity),
	}
}

func sealRequest(t testing.TB, p issuance.Profile, pub crypto.PublicKey) issuance.Request {
	return issuance.Request{
		Profile: p,
		Subject: issuance.Subject{Organization: "Société Exemple SARL", OrganizationIdentifier: "NTRMA-654321",
			CommonName: "Société Exemple – cachet", Country: "MA"},
		PublicKey: pub, Serial: newSerial(t),
		NotBefore: testNow, NotAfter: testNow.Add(p.Validity),
	}
}

func profile(t testing.TB, name string) issuance.Profile {
	t.Helper()
	for _, p := range issuance.DefaultProfiles() {
		if p.Name == name {
			return p
		}
	}
	t.Fatalf("no profile %q", name)
	return issuance.Profile{}
}

// issueEE issues an end-entity certificate from the right CA of h.
func (h *hierarchy) issueEE(t testing.TB, req issuance.Request) node {
	t.Helper()
	ca := &h.Signature
	if req.Profile.CA == "seal" {
		ca = &h.Seal
	}
	tmpl, err := issuance.EndEntityTemplate(h.CSP, ca.Cert, req)
	if err != nil {
		t.Fatalf("EndEntityTemplate: %v", err)
	}
	return issue(t, tmpl, ca, req.PublicKey, nil)
}
