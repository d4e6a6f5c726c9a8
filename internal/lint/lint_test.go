package lint

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"math/big"
	"strings"
	"testing"
	"time"

	zx509 "github.com/zmap/zcrypto/x509"
	"github.com/zmap/zlint/v3"
	zl "github.com/zmap/zlint/v3/lint"

	"github.com/tawthiq/tawthiq/internal/errkind"
	"github.com/tawthiq/tawthiq/internal/issuance"
	"github.com/tawthiq/tawthiq/internal/law"
)

var testNow = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)

func testCSP() issuance.CSP {
	return issuance.CSP{
		Name: "Tawthiq Demo CSP", OrganizationIdentifier: "NTRMA-123456", Country: "MA",
		BaseURL: "http://127.0.0.1:8080", PolicyOID: asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 61234, 1, 1},
		PDS: map[string]string{"ar": "https://pki.example/ar", "fr": "https://pki.example/fr", "en": "https://pki.example/en"},
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

func serial() *big.Int {
	return new(big.Int).Lsh(big.NewInt(0x5a5a5a5a), 100)
}

// issuingCA returns a signed root-issued "signature" CA and its key.
func issuingCA(t testing.TB) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	csp := testCSP()
	rk, ik := newKey(t), newKey(t)
	rt, err := issuance.CATemplate(csp, issuance.CASpec{Name: "root", CommonName: "Root", Role: issuance.RoleRoot,
		Validity: 10 * 365 * 24 * time.Hour, Serial: serial(), NotBefore: testNow.Add(-time.Hour), PublicKey: rk.Public()})
	if err != nil {
		t.Fatal(err)
	}
	tbs, _, err := issuance.Prepare(rt, rt, rk.Public(), rk.Public())
	if err != nil {
		t.Fatal(err)
	}
	rder, err := issuance.Sign(rk, tbs)
	if err != nil {
		t.Fatal(err)
	}
	root, _ := x509.ParseCertificate(rder)
	it, err := issuance.CATemplate(csp, issuance.CASpec{Name: "signature", CommonName: "Signature CA", Role: issuance.RoleIssuing,
		Parent: "root", Validity: 5 * 365 * 24 * time.Hour, Serial: serial(), NotBefore: testNow.Add(-time.Hour), PublicKey: ik.Public()})
	if err != nil {
		t.Fatal(err)
	}
	tbs, _, err = issuance.Prepare(it, root, ik.Public(), rk.Public())
	if err != nil {
		t.Fatal(err)
	}
	ider, err := issuance.Sign(rk, tbs)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(ider)
	return ca, ik
}

// qualifiedRequest is a natural person's QSCD request with a limit and a capacity.
func qualifiedRequest(t testing.TB) (issuance.Request, Expectation) {
	p := issuance.DefaultProfiles()[1] // natural-qualified-qscd
	r := issuance.Request{
		Profile: p,
		Subject: issuance.Subject{GivenName: "Youssef", Surname: "Benali", SerialNumber: "IDCMA-BE998877",
			Title: "Gérant", Country: "MA"},
		PublicKey: newKey(t).Public(), Serial: serial(), NotBefore: testNow, NotAfter: testNow.Add(p.Validity),
		KeyInQSCD: true, LimitMAD: 20000,
	}
	return r, Expectation{Qualified: true, KeyInQSCD: true, LimitMAD: 20000, Capacity: "Gérant", PolicyOID: testCSP().PolicyOID}
}

// modifyQC rewrites the template's QCStatements extension.
func modifyQC(t *testing.T, tmpl *x509.Certificate, f func(q *issuance.QCStatements)) {
	t.Helper()
	for i, e := range tmpl.ExtraExtensions {
		if e.Id.Equal(issuance.OIDQCStatements) {
			q, err := issuance.ParseQCStatements(e.Value)
			if err != nil {
				t.Fatal(err)
			}
			f(&q)
			der, err := q.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			tmpl.ExtraExtensions[i].Value = der
			return
		}
	}
	t.Fatal("no QCStatements in template")
}

func rawName(t *testing.T, n pkix.Name) []byte {
	t.Helper()
	der, err := asn1.Marshal(n.ToRDNSequence())
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// TestNationalLints_L11 removes or spoils each L-11 content in turn and expects
// exactly the lint that guards it to name the fault.
func TestNationalLints_L11(t *testing.T) {
	l, err := New()
	if err != nil {
		t.Fatal(err)
	}
	ca, caKey := issuingCA(t)
	cases := []struct {
		lint   string
		tmpl   func(t *testing.T, tmpl *x509.Certificate, parent *x509.Certificate)
		expect func(e *Expectation)
		patch  func(der []byte) []byte
	}{
		{"n_ma_l11_qc_compliance", func(t *testing.T, c, _ *x509.Certificate) {
			modifyQC(t, c, func(q *issuance.QCStatements) { q.Compliance = false })
		}, nil, nil},
		{"n_ma_l11_csp_identity", func(t *testing.T, _, p *x509.Certificate) {
			p.RawSubject = rawName(t, pkix.Name{Country: []string{"MA"}, Organization: []string{"Tawthiq Demo CSP"}, CommonName: "Signature CA"})
		}, nil, nil},
		{"n_ma_l11_holder_name", func(t *testing.T, c, _ *x509.Certificate) {
			c.RawSubject = rawName(t, pkix.Name{Country: []string{"MA"}, CommonName: "Youssef Benali", SerialNumber: "IDCMA-BE998877"})
		}, nil, nil},
		{"n_ma_l11_capacity", nil, func(e *Expectation) { e.Capacity = "Président" }, nil},
		{"n_ma_l11_public_key", func(t *testing.T, c, _ *x509.Certificate) {
			k, err := ecdsa.GenerateKey(elliptic.P224(), rand.Reader)
			if err != nil {
				t.Fatal(err)
			}
			c.PublicKey = k.Public()
		}, nil, nil},
		{"n_ma_l11_validity", func(t *testing.T, c, _ *x509.Certificate) { c.NotAfter = c.NotBefore.AddDate(4, 0, 0) }, nil, nil},
		{"n_ma_l11_serial", func(t *testing.T, c, _ *x509.Certificate) { c.SerialNumber = big.NewInt(4242) }, nil, nil},
		{"n_ma_l11_signature", nil, nil, func(der []byte) []byte {
			// ecdsa-with-SHA256 becomes ecdsa-with-SHA224, an algorithm the CSP does not use.
			return bytes.ReplaceAll(der, []byte{0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02}, []byte{0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x01})
		}},
		{"n_ma_l11_qc_limit_mad", func(t *testing.T, c, _ *x509.Certificate) {
			modifyQC(t, c, func(q *issuance.QCStatements) { q.Limit.Currency = "EUR" })
		}, nil, nil},
		{"n_ma_l11_qc_limit_mad", func(t *testing.T, c, _ *x509.Certificate) {
			modifyQC(t, c, func(q *issuance.QCStatements) { q.Limit = nil })
		}, nil, nil},
		{"n_ma_l11_crl_distribution_point", func(t *testing.T, c, _ *x509.Certificate) { c.CRLDistributionPoints = nil }, nil, nil},
		{"n_ma_l11_aia_ocsp", func(t *testing.T, c, _ *x509.Certificate) { c.OCSPServer = nil }, nil, nil},
		{"n_ma_l11_aia_ca_issuers", func(t *testing.T, c, _ *x509.Certificate) { c.IssuingCertificateURL = nil }, nil, nil},
		{"n_ma_l11_qc_sscd", func(t *testing.T, c, _ *x509.Certificate) {
			modifyQC(t, c, func(q *issuance.QCStatements) { q.SSCD = false })
		}, nil, nil},
		{"n_ma_l11_qc_pds", func(t *testing.T, c, _ *x509.Certificate) {
			modifyQC(t, c, func(q *issuance.QCStatements) { q.PDS = q.PDS[1:] }) // drops "ar"
		}, nil, nil},
		{"n_ma_l11_policy", func(t *testing.T, c, _ *x509.Certificate) {
			c.Policies, c.PolicyIdentifiers = c.Policies[1:], c.PolicyIdentifiers[1:]
		}, nil, nil},
		{"n_ma_l11_policy", func(t *testing.T, c, _ *x509.Certificate) {
			c.Policies, c.PolicyIdentifiers = c.Policies[:1], c.PolicyIdentifiers[:1]
		}, nil, nil},
		{"n_ma_l11_qc_type", func(t *testing.T, c, _ *x509.Certificate) {
			modifyQC(t, c, func(q *issuance.QCStatements) { q.Types = []asn1.ObjectIdentifier{issuance.OIDQcTypeESeal} })
		}, nil, nil},
	}
	seen := map[string]bool{}
	for _, c := range cases {
		t.Run(c.lint, func(t *testing.T) {
			req, expect := qualifiedRequest(t)
			tmpl, err := issuance.EndEntityTemplate(testCSP(), ca, req)
			if err != nil {
				t.Fatal(err)
			}
			parent := *ca
			if c.tmpl != nil {
				c.tmpl(t, tmpl, &parent)
			}
			if c.expect != nil {
				c.expect(&expect)
			}
			_, der, err := issuance.Prepare(tmpl, &parent, tmpl.PublicKey, caKey.Public())
			if err != nil {
				t.Fatal(err)
			}
			if c.patch != nil {
				der = c.patch(der)
			}
			err = l.Certificate(der, expect)
			var e *errkind.Error
			if !errors.As(err, &e) || e.Kind != errkind.Invalid || e.Rule != law.L11 || !strings.Contains(e.Detail, c.lint+" (error") {
				t.Fatalf("want %s to fail under %s; got %v", c.lint, law.L11, err)
			}
			seen[c.lint] = true
		})
	}
	for _, n := range nationalLints() {
		if !seen[n.name] {
			t.Errorf("national lint %s has no failing case", n.name)
		}
	}
}

// TestNationalLintsCoverContents_L11 checks every L-11 content item has a lint,
// except those the CSP's own signing process supplies by construction.
func TestNationalLintsCoverContents_L11(t *testing.T) {
	covered := map[law.Content]bool{}
	for _, n := range nationalLints() {
		if !strings.HasPrefix(n.name, "n_ma_l11_") {
			t.Errorf("lint %s does not carry its rule in its name", n.name)
		}
		covered[n.content] = true
	}
	for _, c := range law.CertificateContents() {
		if !covered[c] {
			t.Errorf("no national lint for %q", c)
		}
	}
}

// TestZlintFindingsFail_L21_1 checks a zlint warning alone refuses the certificate, under L-21-1.
func TestZlintFindingsFail_L21_1(t *testing.T) {
	l, err := New()
	if err != nil {
		t.Fatal(err)
	}
	ca, caKey := issuingCA(t)
	req, expect := qualifiedRequest(t)
	tmpl, err := issuance.EndEntityTemplate(testCSP(), ca, req)
	if err != nil {
		t.Fatal(err)
	}
	_, der, err := issuance.Prepare(tmpl, ca, req.PublicKey, caKey.Public())
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Certificate(der, expect); err != nil {
		t.Fatalf("the unmodified certificate fails: %v", err)
	}
	tmpl.KeyUsage |= x509.KeyUsageDigitalSignature // type B: EN 319 412-2 allows it, but prefers A
	_, der, err = issuance.Prepare(tmpl, ca, req.PublicKey, caKey.Public())
	if err != nil {
		t.Fatal(err)
	}
	err = l.Certificate(der, expect)
	var e *errkind.Error
	if !errors.As(err, &e) || e.Rule != law.L21_1 || !strings.Contains(e.Detail, "w_etsi_natural_person_key_usage_preferred_values (warn") {
		t.Fatalf("want the ETSI key usage warning under L-21-1; got %v", err)
	}
	if f := l.Findings([]byte("junk"), expect); len(f) != 1 || f[0].Status != "fatal" {
		t.Errorf("junk gives %+v", f)
	}
	if err := l.Certificate([]byte("junk"), expect); !errkind.Is(err, errkind.Invalid) {
		t.Errorf("junk gives %v", err)
	}
}

// TestRegistryHasETSI checks the registry is zlint's full one, ETSI lints included.
func TestRegistryHasETSI(t *testing.T) {
	l, err := New()
	if err != nil {
		t.Fatal(err)
	}
	names := strings.Join(l.registry.Names(), " ")
	for _, want := range []string{"e_qcstatem_qccompliance_valid", "w_etsi_natural_person_key_usage_preferred_values", "e_sub_cert_aia_missing", "e_ext_san_missing"} {
		if !strings.Contains(names, want) {
			t.Errorf("registry lacks %s", want)
		}
	}
	// One acknowledged lint, and it must exist: a stale acknowledgement would hide nothing but mislead.
	ack := l.Acknowledged()
	if len(ack) != 1 || ack["e_exactly_one_smime_policy"] == "" || !strings.Contains(names, "e_exactly_one_smime_policy") {
		t.Errorf("acknowledged lints: %v", ack)
	}
}

func BenchmarkLintEndEntity(b *testing.B) {
	l, err := New()
	if err != nil {
		b.Fatal(err)
	}
	ca, caKey := issuingCA(b)
	req, expect := qualifiedRequest(b)
	tmpl, err := issuance.EndEntityTemplate(testCSP(), ca, req)
	if err != nil {
		b.Fatal(err)
	}
	_, der, err := issuance.Prepare(tmpl, ca, req.PublicKey, caKey.Public())
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if err := l.Certificate(der, expect); err != nil {
			b.Fatal(err)
		}
	}
}

// TestRunnerMatchesZlint: our lint loop gives, lint for lint, the result zlint's own
// LintCertificateEx gives (the skipped lints aside), on a good and a faulty certificate.
func TestRunnerMatchesZlint(t *testing.T) {
	l, err := New()
	if err != nil {
		t.Fatal(err)
	}
	ca, caKey := issuingCA(t)
	req, expect := qualifiedRequest(t)
	for _, name := range []string{"good", "no policies"} {
		t.Run(name, func(t *testing.T) {
			tmpl, err := issuance.EndEntityTemplate(testCSP(), ca, req)
			if err != nil {
				t.Fatal(err)
			}
			if name == "no policies" {
				tmpl.Policies, tmpl.PolicyIdentifiers = nil, nil
			}
			_, der, err := issuance.Prepare(tmpl, ca, req.PublicKey, caKey.Public())
			if err != nil {
				t.Fatal(err)
			}
			ours := map[string]string{}
			for _, f := range l.Findings(der, expect) {
				if f.Source != SourceNational {
					ours[f.Name] = f.Status
				}
			}
			c, err := zx509.ParseCertificate(der)
			if err != nil {
				t.Fatal(err)
			}
			theirs := zlint.LintCertificateEx(c, zl.GlobalRegistry())
			compared := 0
			for n, r := range theirs.Results {
				if _, skipped := l.Skipped()[n]; skipped {
					continue
				}
				if ours[n] != r.Status.String() {
					t.Errorf("%s: ours %q, zlint %q", n, ours[n], r.Status)
				}
				compared++
			}
			if compared != len(ours) {
				t.Errorf("compared %d lints, we ran %d", compared, len(ours))
			}
		})
	}
}
