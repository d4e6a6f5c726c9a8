package issuance_test

import (
	"crypto/rand"
	"crypto/x509"
	"encoding/asn1"
	"reflect"
	"testing"
	"time"

	"github.com/tawthiq/tawthiq/internal/issuance"
	"github.com/tawthiq/tawthiq/internal/law"
	"github.com/tawthiq/tawthiq/internal/testpki"
)

func sampleStatements() []issuance.QCStatements {
	pds := []issuance.PDSLocation{{URL: "https://a.example/ar", Language: "ar"}, {URL: "https://a.example/fr", Language: "fr"}, {URL: "https://a.example/en", Language: "en"}}
	return []issuance.QCStatements{
		{Compliance: true},
		{Compliance: true, SSCD: true, Types: []asn1.ObjectIdentifier{issuance.OIDQcTypeESign}, PDS: pds,
			Limit: &issuance.MonetaryValue{Currency: law.LimitCurrency, Amount: 10000}, RetentionYears: law.RetentionYears,
			SemanticsID: issuance.OIDSemanticsNatural},
		{Compliance: true, Types: []asn1.ObjectIdentifier{issuance.OIDQcTypeESeal}, PDS: pds[2:],
			Limit: &issuance.MonetaryValue{CurrencyNumeric: 504, Amount: 5, Exponent: 3}, SemanticsID: issuance.OIDSemanticsLegal},
	}
}

// TestParseQCStatementsRoundTrip_L11 checks the parser reads back what the encoder wrote.
func TestParseQCStatementsRoundTrip_L11(t *testing.T) {
	for i, q := range sampleStatements() {
		der, err := q.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		got, err := issuance.ParseQCStatements(der)
		if err != nil {
			t.Fatalf("%d: %v", i, err)
		}
		if !reflect.DeepEqual(got, q) {
			t.Errorf("%d: round trip\n got %+v\nwant %+v", i, got, q)
		}
	}
}

// TestParseQCStatementsRefuses_L11 checks malformed input is refused, never half-read.
func TestParseQCStatementsRefuses_L11(t *testing.T) {
	good, _ := sampleStatements()[1].Marshal()
	twice, _ := asn1.Marshal([]struct{ ID asn1.ObjectIdentifier }{{issuance.OIDQcCompliance}, {issuance.OIDQcCompliance}})
	compliant, _ := asn1.Marshal([]struct {
		ID   asn1.ObjectIdentifier
		Info int
	}{{issuance.OIDQcCompliance, 1}})
	unknown, _ := asn1.Marshal([]struct {
		ID   asn1.ObjectIdentifier
		Info string
	}{{asn1.ObjectIdentifier{1, 2, 3}, "x"}})
	for name, in := range map[string][]byte{
		"empty":                nil,
		"trailing":             append(append([]byte{}, good...), 0),
		"truncated":            good[:len(good)-1],
		"twice":                twice,
		"compliance with info": compliant,
		"not a sequence":       {0x04, 0x00},
	} {
		if _, err := issuance.ParseQCStatements(in); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	q, err := issuance.ParseQCStatements(unknown)
	if err != nil || len(q.Others) != 1 {
		t.Errorf("an unknown statement is kept aside: %+v %v", q, err)
	}
}

func FuzzParseQCStatements(f *testing.F) {
	for _, q := range sampleStatements() {
		der, _ := q.Marshal()
		f.Add(der)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		q, err := issuance.ParseQCStatements(in)
		if err != nil {
			return
		}
		// What parses must re-encode and parse to the same value.
		der, err := q.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		q2, err := issuance.ParseQCStatements(der)
		if err != nil {
			t.Fatalf("re-encoded statements do not parse: %v", err)
		}
		q.Others, q2.Others = nil, nil // unknown statements are not re-encoded
		if !reflect.DeepEqual(q, q2) {
			t.Fatalf("round trip differs: %+v vs %+v", q, q2)
		}
	})
}

// TestDefaultProfiles_L11 checks the default profiles are lawful.
func TestDefaultProfiles_L11(t *testing.T) {
	ps := issuance.DefaultProfiles()
	if len(ps) != 3 {
		t.Fatalf("%d profiles", len(ps))
	}
	for _, p := range ps {
		if err := issuance.CheckProfile(p); err != nil {
			t.Error(err)
		}
		if p.Validity > time.Duration(law.MaxValidityYears)*365*24*time.Hour {
			t.Errorf("%s: validity %v", p.Name, p.Validity)
		}
	}
}

// TestCATemplateRefuses_L11 checks bad ceremony specs are refused.
func TestCATemplateRefuses_L11(t *testing.T) {
	k := testpki.Key(t)
	ok := issuance.CASpec{Name: "x", CommonName: "X", Role: issuance.RoleIssuing, Parent: "root", Validity: time.Hour,
		Serial: testpki.Serial(t), NotBefore: testpki.Now, PublicKey: k.Public()}
	for name, mod := range map[string]func(s *issuance.CASpec){
		"unknown role":  func(s *issuance.CASpec) { s.Role = "boss" },
		"no parent":     func(s *issuance.CASpec) { s.Parent = "" },
		"slash in name": func(s *issuance.CASpec) { s.Name = "../x" },
		"no validity":   func(s *issuance.CASpec) { s.Validity = 0 },
		"no key":        func(s *issuance.CASpec) { s.PublicKey = nil },
		"no serial":     func(s *issuance.CASpec) { s.Serial = nil },
	} {
		s := ok
		mod(&s)
		if _, err := issuance.CATemplate(testpki.CSP(), s); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := issuance.CATemplate(testpki.CSP(), ok); err != nil {
		t.Fatal(err)
	}
}

func BenchmarkPrepare(b *testing.B) {
	h := testpki.New(b)
	r := h.NaturalRequest(b, testpki.Profile(b, "natural-qualified"), testpki.Key(b).Public())
	tmpl, err := issuance.EndEntityTemplate(h.CSP, h.Signature.Cert, r)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, _, err := issuance.Prepare(tmpl, h.Signature.Cert, r.PublicKey, h.Signature.Signer.Public()); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSign(b *testing.B) {
	h := testpki.New(b)
	r := h.NaturalRequest(b, testpki.Profile(b, "natural-qualified"), testpki.Key(b).Public())
	tmpl, _ := issuance.EndEntityTemplate(h.CSP, h.Signature.Cert, r)
	tbs, _, err := issuance.Prepare(tmpl, h.Signature.Cert, r.PublicKey, h.Signature.Signer.Public())
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := issuance.Sign(h.Signature.Signer, tbs); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCreateCertificate is the bare stdlib cost of the same template, for the ratio.
func BenchmarkCreateCertificate(b *testing.B) {
	h := testpki.New(b)
	r := h.NaturalRequest(b, testpki.Profile(b, "natural-qualified"), testpki.Key(b).Public())
	tmpl, _ := issuance.EndEntityTemplate(h.CSP, h.Signature.Cert, r)
	for b.Loop() {
		if _, err := x509.CreateCertificate(rand.Reader, tmpl, h.Signature.Cert, r.PublicKey, h.Signature.Signer); err != nil {
			b.Fatal(err)
		}
	}
}
