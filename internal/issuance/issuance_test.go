package issuance_test

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	zx509 "github.com/zmap/zcrypto/x509"

	"github.com/tawthiq/tawthiq/internal/errkind"
	"github.com/tawthiq/tawthiq/internal/issuance"
	"github.com/tawthiq/tawthiq/internal/law"
	"github.com/tawthiq/tawthiq/internal/lint"
	"github.com/tawthiq/tawthiq/internal/testpki"
)

// eeCase is one end-entity variant with what the linter must expect of it.
type eeCase struct {
	name   string
	req    func(t testing.TB) issuance.Request
	expect lint.Expectation
}

func eeCases(h *testpki.Hierarchy) []eeCase {
	pol := h.CSP.PolicyOID
	return []eeCase{
		{"natural", func(t testing.TB) issuance.Request {
			return h.NaturalRequest(t, testpki.Profile(t, "natural-qualified"), testpki.Key(t).Public())
		}, lint.Expectation{Qualified: true, PolicyOID: pol}},
		{"natural-qscd-limit-title", func(t testing.TB) issuance.Request {
			r := h.NaturalRequest(t, testpki.Profile(t, "natural-qualified-qscd"), testpki.Key(t).Public())
			r.KeyInQSCD, r.LimitMAD, r.Subject.Title = true, 50000, "Directrice générale"
			return r
		}, lint.Expectation{Qualified: true, KeyInQSCD: true, LimitMAD: 50000, Capacity: "Directrice générale", PolicyOID: pol}},
		{"natural-pseudonym", func(t testing.TB) issuance.Request {
			r := h.NaturalRequest(t, testpki.Profile(t, "natural-qualified"), testpki.Key(t).Public())
			r.Subject.GivenName, r.Subject.Surname, r.Subject.Pseudonym, r.Subject.Email = "", "", "Atlas-7", ""
			return r
		}, lint.Expectation{Qualified: true, PolicyOID: pol}},
		{"seal", func(t testing.TB) issuance.Request {
			return h.SealRequest(t, testpki.Profile(t, "legal-qualified-seal"), testpki.Key(t).Public())
		}, lint.Expectation{Qualified: true, PolicyOID: pol}},
		{"seal-qscd-limit", func(t testing.TB) issuance.Request {
			r := h.SealRequest(t, testpki.Profile(t, "legal-qualified-seal"), testpki.Key(t).Public())
			r.KeyInQSCD, r.LimitMAD = true, 1000000
			return r
		}, lint.Expectation{Qualified: true, KeyInQSCD: true, LimitMAD: 1000000, PolicyOID: pol}},
	}
}

// TestZlintClean_L11 has zlint (all lints, ETSI included) and the national lints
// report no warning, error or fatal on every certificate of the hierarchy, on
// the throwaway-signed lintable copy and on the really signed certificate.
func TestZlintClean_L11(t *testing.T) {
	h := testpki.New(t)
	l, err := lint.New()
	if err != nil {
		t.Fatal(err)
	}
	for name, n := range map[string]*testpki.Node{"root": h.Root, "signature-ca": h.Signature, "seal-ca": h.Seal, "ocsp": h.OCSP["signature"], "ocsp-seal": h.OCSP["seal"], "tsa": h.TSA} {
		for _, der := range [][]byte{n.Lintable, n.DER} {
			if err := l.Certificate(der, lint.Expectation{}); err != nil {
				t.Errorf("%s: %v", name, err)
			}
		}
	}
	for _, c := range eeCases(h) {
		t.Run(c.name, func(t *testing.T) {
			ee := h.Issue(t, nil, c.req(t))
			for _, der := range [][]byte{ee.Lintable, ee.DER} {
				if err := l.Certificate(der, c.expect); err != nil {
					t.Errorf("%v", err)
				}
			}
			applied := 0
			for _, f := range l.Findings(ee.DER, c.expect) {
				if f.Source == lint.SourceNational && f.Status == "pass" {
					applied++
				}
				if f.Source == "ETSI_ESI" && f.Status == "pass" {
					applied++
				}
			}
			if applied < 10 {
				t.Errorf("only %d ETSI and national lints passed; they must apply to a qualified certificate", applied)
			}
		})
	}
}

// TestOpenSSLVerify_L11 has OpenSSL, an independent client, accept every chain.
func TestOpenSSLVerify_L11(t *testing.T) {
	openssl := testpki.OpenSSLPath(t)
	h := testpki.New(t)
	dir := t.TempDir()
	root := testpki.WritePEM(t, dir, "root.pem", "CERTIFICATE", h.Root.DER)
	sigCA := testpki.WritePEM(t, dir, "signature-ca.pem", "CERTIFICATE", h.Signature.DER)
	sealCA := testpki.WritePEM(t, dir, "seal-ca.pem", "CERTIFICATE", h.Seal.DER)
	at := strconv.FormatInt(h.Now.Add(time.Hour).Unix(), 10)
	check := func(name string, args ...string) {
		t.Helper()
		args = append([]string{"verify", "-x509_strict", "-attime", at, "-CAfile", root}, args...)
		out, err := exec.Command(openssl, args...).CombinedOutput()
		if err != nil || !bytes.Contains(out, []byte(": OK")) {
			t.Errorf("%s: openssl %s: %v\n%s", name, strings.Join(args, " "), err, out)
		}
	}
	for _, c := range eeCases(h) {
		ee := h.Issue(t, nil, c.req(t))
		ca := sigCA
		if ee.Cert.Issuer.CommonName == h.Seal.Cert.Subject.CommonName {
			ca = sealCA
		}
		check(c.name, "-untrusted", ca, testpki.WritePEM(t, dir, "ee-"+c.name+".pem", "CERTIFICATE", ee.DER))
	}
	check("signature-ca", sigCA)
	check("ocsp", "-untrusted", sigCA, "-purpose", "ocsphelper", testpki.WritePEM(t, dir, "ocsp.pem", "CERTIFICATE", h.OCSP["signature"].DER))
	check("tsa", "-purpose", "timestampsign", testpki.WritePEM(t, dir, "tsa.pem", "CERTIFICATE", h.TSA.DER))
}

// TestOpenSSLReadsQCStatements_L11 has OpenSSL's ASN.1 parser find the QC
// statements, and zcrypto's x509 parser recognise the extension.
func TestOpenSSLReadsQCStatements_L11(t *testing.T) {
	openssl := testpki.OpenSSLPath(t)
	h := testpki.New(t)
	r := h.NaturalRequest(t, testpki.Profile(t, "natural-qualified-qscd"), testpki.Key(t).Public())
	r.KeyInQSCD, r.LimitMAD = true, 50000
	ee := h.Issue(t, nil, r)
	path := filepath.Join(t.TempDir(), "ee.der")
	if err := os.WriteFile(path, ee.DER, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(openssl, "asn1parse", "-inform", "DER", "-in", path).CombinedOutput()
	if err != nil {
		t.Fatalf("asn1parse: %v\n%s", err, out)
	}
	// The OCTET STRING right after the qcStatements OID holds the extension value.
	m := regexp.MustCompile(`(?m):qcStatements\s*\n\s*(\d+):d=\d+\s+hl=\d+\s+l=\s*\d+\s+prim: OCTET STRING`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("openssl asn1parse shows no qcStatements extension:\n%s", out)
	}
	inner, err := exec.Command(openssl, "asn1parse", "-inform", "DER", "-in", path, "-strparse", string(m[1])).CombinedOutput()
	if err != nil {
		t.Fatalf("asn1parse -strparse: %v\n%s", err, inner)
	}
	for _, want := range []string{"0.4.0.1862.1.1", "0.4.0.1862.1.4", "0.4.0.1862.1.6.1", "0.4.0.1862.1.5",
		"0.4.0.1862.1.2", ":MAD", ":C350" /* 50000 */, "0.4.0.1862.1.3", "0.4.0.194121.1.1",
		":https://pki.tawthiq.example/pds/ar.pdf", ":ar", ":fr", ":en"} {
		if !bytes.Contains(inner, []byte(want)) {
			t.Errorf("openssl does not show %q in the QC statements:\n%s", want, inner)
		}
	}
	text, err := exec.Command(openssl, "x509", "-inform", "DER", "-in", path, "-noout", "-text").CombinedOutput()
	if err != nil {
		t.Fatalf("x509 -text: %v\n%s", err, text)
	}
	for _, want := range []string{"Non Repudiation", "1.3.6.1.5.5.7.3.36", "0.4.0.194112.1.2", "1.3.6.1.4.1.61234.1.1",
		"http://127.0.0.1:8080/crl/signature.crl", "OCSP - URI:http://127.0.0.1:8080/ocsp",
		"CA Issuers - URI:http://127.0.0.1:8080/ca/signature.crt", "email:amina@example.ma"} {
		if !bytes.Contains(text, []byte(want)) {
			t.Errorf("openssl x509 -text does not show %q", want)
		}
	}

	zc, err := zx509.ParseCertificate(ee.DER)
	if err != nil {
		t.Fatal(err)
	}
	if zc.QCStatements == nil || zc.QCStatements.ParsedStatements == nil {
		t.Fatal("zcrypto did not recognise the QCStatements extension")
	}
	ps := zc.QCStatements.ParsedStatements
	if len(ps.ETSICompliance) != 1 || !ps.ETSICompliance[0] || len(ps.SSCD) != 1 || len(ps.Types) != 1 ||
		len(ps.Limit) != 1 || ps.Limit[0].Currency != "MAD" || ps.Limit[0].Amount != 50000 ||
		len(ps.PDSLocations) != 1 || len(ps.PDSLocations[0].Locations) != 3 ||
		len(ps.RetentionPeriod) != 1 || ps.RetentionPeriod[0] != law.RetentionYears {
		t.Errorf("zcrypto reads unexpected statements: %+v", ps)
	}
}

// TestSubjectStringTypes_L11 checks C and serialNumber are PrintableString and names UTF8String.
func TestSubjectStringTypes_L11(t *testing.T) {
	h := testpki.New(t)
	r := h.NaturalRequest(t, testpki.Profile(t, "natural-qualified"), testpki.Key(t).Public())
	r.Subject.Title = "Notaire"
	ee := h.Issue(t, nil, r)
	var rdns []attributeSET
	if _, err := asn1.Unmarshal(ee.Cert.RawSubject, &rdns); err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for _, rdn := range rdns {
		for _, a := range rdn {
			want := asn1.TagUTF8String
			if a.Type.Equal(issuance.OIDAttrCountry) || a.Type.Equal(issuance.OIDAttrSerialNumber) {
				want = asn1.TagPrintableString
			}
			if a.Value.Tag != want {
				t.Errorf("attribute %s has tag %d, want %d", a.Type, a.Value.Tag, want)
			}
			seen[a.Type.String()] = a.Value.Tag
		}
	}
	for _, oid := range []asn1.ObjectIdentifier{issuance.OIDAttrCountry, issuance.OIDAttrGivenName, issuance.OIDAttrSurname,
		issuance.OIDAttrSerialNumber, issuance.OIDAttrTitle, issuance.OIDAttrCommonName} {
		if _, ok := seen[oid.String()]; !ok {
			t.Errorf("subject lacks %s", oid)
		}
	}
	if !bytes.Equal(ee.Cert.AuthorityKeyId, h.Signature.Cert.SubjectKeyId) || len(ee.Cert.SubjectKeyId) != 20 {
		t.Errorf("AKI/SKI wrong: aki %x ski %x", ee.Cert.AuthorityKeyId, ee.Cert.SubjectKeyId)
	}
	if want, _ := issuance.SubjectKeyID(r.PublicKey); !bytes.Equal(ee.Cert.SubjectKeyId, want) {
		t.Error("SKI is not the RFC 7093 method 1 identifier")
	}
}

type attribute struct {
	Type  asn1.ObjectIdentifier
	Value asn1.RawValue
}

// attributeSET is a SET OF (encoding/asn1 reads a slice type named ...SET as a SET).
type attributeSET []attribute

// TestEndEntityTemplateRefuses_L11 checks each invalid request is refused with the rule it breaks.
func TestEndEntityTemplateRefuses_L11(t *testing.T) {
	h := testpki.New(t)
	base := func() issuance.Request {
		return h.NaturalRequest(t, testpki.Profile(t, "natural-qualified"), testpki.Key(t).Public())
	}
	seal := func() issuance.Request {
		return h.SealRequest(t, testpki.Profile(t, "legal-qualified-seal"), testpki.Key(t).Public())
	}
	cases := []struct {
		name string
		mod  func() issuance.Request
		csp  func(c *issuance.CSP)
		rule law.ID
		want string
	}{
		{"no name nor pseudonym", func() issuance.Request { r := base(); r.Subject.GivenName, r.Subject.Surname = "", ""; return r }, nil, law.L11, "pseudonym"},
		{"name and pseudonym", func() issuance.Request { r := base(); r.Subject.Pseudonym = "X"; return r }, nil, law.L11, "not both"},
		{"surname only", func() issuance.Request { r := base(); r.Subject.GivenName = ""; return r }, nil, law.L11, "given name"},
		{"missing serialNumber", func() issuance.Request { r := base(); r.Subject.SerialNumber = ""; return r }, nil, law.L11, "serialNumber"},
		{"bad serialNumber", func() issuance.Request { r := base(); r.Subject.SerialNumber = "AB123456"; return r }, nil, law.L11, "EN 319 412-1"},
		{"country of 3 letters", func() issuance.Request { r := base(); r.Subject.Country = "MAR"; return r }, nil, law.L11, "two-letter"},
		{"unknown kind", func() issuance.Request { r := base(); r.Profile.Kind = "robot"; return r }, nil, law.L11, "unknown kind"},
		{"legal without organizationIdentifier", func() issuance.Request { r := seal(); r.Subject.OrganizationIdentifier = ""; return r }, nil, law.L11, "organizationIdentifier"},
		{"legal without organization", func() issuance.Request { r := seal(); r.Subject.Organization = ""; return r }, nil, law.L11, "organizationName"},
		{"legal with a pseudonym", func() issuance.Request { r := seal(); r.Subject.Pseudonym = "X"; return r }, nil, law.L11, "legal person"},
		{"QSCD required", func() issuance.Request {
			return h.NaturalRequest(t, testpki.Profile(t, "natural-qualified-qscd"), testpki.Key(t).Public())
		}, nil, law.L11, "QSCD"},
		{"not qualified", func() issuance.Request { r := base(); r.Profile.Qualified = false; return r }, nil, law.L11, "not qualified"},
		{"negative limit", func() issuance.Request { r := base(); r.LimitMAD = -1; return r }, nil, law.L11, "negative"},
		{"too long", func() issuance.Request { r := base(); r.NotAfter = r.NotBefore.AddDate(4, 0, 0); return r }, nil, law.L11, "longer"},
		{"short serial", func() issuance.Request { r := base(); r.Serial.SetInt64(42); return r }, nil, law.L11, "serial"},
		{"bad e-mail", func() issuance.Request { r := base(); r.Subject.Email = "Amina <a@b.ma>"; return r }, nil, law.L11, "e-mail"},
		{"control character", func() issuance.Request { r := base(); r.Subject.Surname = "El\nIdrissi"; return r }, nil, law.L11, "control"},
		{"no public key", func() issuance.Request { r := base(); r.PublicKey = nil; return r }, nil, law.L21_1, "not accepted"},
		{"PDS over http", base, func(c *issuance.CSP) { c.PDS["fr"] = "http://x.example/pds" }, law.L21_3_4, "https"},
		{"PDS missing ar", base, func(c *issuance.CSP) { delete(c.PDS, "ar") }, law.L21_3_4, "\"ar\""},
		{"CSP without organizationIdentifier", base, func(c *issuance.CSP) { c.OrganizationIdentifier = "" }, law.L11, "organizationIdentifier"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			csp := testpki.CSP()
			if c.csp != nil {
				c.csp(&csp)
			}
			_, err := issuance.EndEntityTemplate(csp, h.Signature.Cert, c.mod())
			var e *errkind.Error
			if !errors.As(err, &e) || e.Kind != errkind.Invalid || e.Rule != c.rule || !strings.Contains(e.Detail, c.want) {
				t.Fatalf("got %v; want an invalid error under %s mentioning %q", err, c.rule, c.want)
			}
		})
	}
}

// TestPrepareSign_L21_1 checks the signed TBS is the prepared one byte for byte
// and that a signature by the wrong key is refused.
func TestPrepareSign_L21_1(t *testing.T) {
	h := testpki.New(t)
	r := h.NaturalRequest(t, testpki.Profile(t, "natural-qualified"), testpki.Key(t).Public())
	tmpl, err := issuance.EndEntityTemplate(h.CSP, h.Signature.Cert, r)
	if err != nil {
		t.Fatal(err)
	}
	tbs, lintable, err := issuance.Prepare(tmpl, h.Signature.Cert, r.PublicKey, h.Signature.Signer.Public())
	if err != nil {
		t.Fatal(err)
	}
	lc, err := x509.ParseCertificate(lintable)
	if err != nil || !bytes.Equal(lc.RawTBSCertificate, tbs) {
		t.Fatalf("the lintable certificate does not carry the prepared TBS (%v)", err)
	}
	der, err := issuance.Sign(h.Signature.Signer, tbs)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(c.RawTBSCertificate, tbs) {
		t.Fatal("signed TBS differs from the prepared TBS")
	}
	if err := c.CheckSignatureFrom(h.Signature.Cert); err != nil {
		t.Fatalf("signature does not verify under the CA: %v", err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(h.Root.Cert)
	inter := x509.NewCertPool()
	inter.AddCert(h.Signature.Cert)
	if _, err := c.Verify(x509.VerifyOptions{Roots: pool, Intermediates: inter, CurrentTime: h.Now.Add(time.Hour),
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
		t.Errorf("Go's verifier refuses the chain: %v", err)
	}
	// A signer whose key is not the one it claims (a misbehaving HSM) is caught by Sign itself.
	if _, err := issuance.Sign(mismatchedSigner{pub: h.Signature.Signer.Public(), key: testpki.Key(t)}, tbs); err == nil {
		t.Fatal("Sign returned a certificate whose signature does not verify with the signer's public key")
	}
	// A wrong CA key gives a certificate that verifies with that key only, never under the CA.
	other, err := issuance.Sign(testpki.Key(t), tbs)
	if err != nil {
		t.Fatal(err)
	}
	oc, _ := x509.ParseCertificate(other)
	if err := oc.CheckSignatureFrom(h.Signature.Cert); err == nil {
		t.Fatal("a certificate signed by the wrong key verifies under the CA")
	}
}

// mismatchedSigner signs with key but claims pub.
type mismatchedSigner struct {
	pub crypto.PublicKey
	key crypto.Signer
}

func (m mismatchedSigner) Public() crypto.PublicKey { return m.pub }

func (m mismatchedSigner) Sign(r io.Reader, d []byte, o crypto.SignerOpts) ([]byte, error) {
	return m.key.Sign(r, d, o)
}
