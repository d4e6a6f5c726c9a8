package trustlist

import (
	"crypto/rand"
	"crypto/x509"
	"strings"
	"testing"
	"time"

	"github.com/tawthiq/tawthiq/internal/errkind"
	"github.com/tawthiq/tawthiq/internal/law"
	"github.com/tawthiq/tawthiq/internal/testpki"
)

// TestWithdrawnService_L20: a CA withdrawn at D was approved for signatures made
// before D and not after; the decision comes from the signed list's history.
func TestWithdrawnService_L20(t *testing.T) {
	h := testpki.New(t)
	a := newAuthority(t, "Demo Authority", "MA", "p256")
	l := sampleList(h, "MA")
	withdrawSignatureCA(l)
	loaded, err := Load(buildAndSign(t, l, a), []*x509.Certificate{a.cert}, loadAt)
	if err != nil {
		t.Fatal(err)
	}
	sigCA := h.Signature.Cert
	tests := []struct {
		name   string
		cert   *x509.Certificate
		use    Use
		at     time.Time
		status Status
		ok     bool
		reason string // in the Qualification's reason
	}{
		{"before the grant", sigCA, ForESignatures, grantedAt.Add(-time.Second), "", false, "was first listed on " + formatTime(grantedAt)},
		{"at the grant", sigCA, ForESignatures, grantedAt, StatusGranted, true, "was granted on " + formatTime(grantedAt)},
		{"signed before D", sigCA, ForESignatures, withdrawnAt.Add(-time.Second), StatusGranted, true, "DGSSI-2026-001"},
		{"signed at D", sigCA, ForESignatures, withdrawnAt, StatusWithdrawn, false,
			"was withdrawn on " + formatTime(withdrawnAt) + " (decision DGSSI-2026-042: insurance lapsed (L-21-3-6))"},
		{"signed after D", sigCA, ForESignatures, withdrawnAt.Add(24 * time.Hour), StatusWithdrawn, false, "was withdrawn on " + formatTime(withdrawnAt)},
		{"signature CA for seals", sigCA, ForESeals, testpki.Now, StatusGranted, false, "not listed as issuing qualified certificates for electronic seals"},
		{"seal CA for seals", h.Seal.Cert, ForESeals, withdrawnAt.Add(time.Hour), StatusGranted, true, "in force for electronic seals"},
		{"TSA for time-stamps", h.TSA.Cert, ForTimestamps, testpki.Now, StatusGranted, true, "qualified time-stamps"},
		{"TSA for signatures", h.TSA.Cert, ForESignatures, testpki.Now, StatusGranted, false, "listed as " + SvcTypeTSAQTST},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st, info, found := loaded.ServiceStatusAt(tc.cert, tc.at)
			if !found || st != tc.status || info.Status != tc.status {
				t.Fatalf("ServiceStatusAt = %q, %v; want %q", st, found, tc.status)
			}
			q := loaded.QualifiedAt(tc.cert, tc.use, tc.at)
			if q.Qualified != tc.ok || !q.Listed || q.Rule != law.L20 || !strings.Contains(q.Reason, tc.reason) {
				t.Fatalf("QualifiedAt = %v (%s): %q; want %v with %q", q.Qualified, q.Rule, q.Reason, tc.ok, tc.reason)
			}
		})
	}
	_, info, _ := loaded.ServiceStatusAt(sigCA, testpki.Now)
	if !info.Since.Equal(grantedAt) || !info.Until.Equal(withdrawnAt) || info.Provider != h.CSP.Name || info.Territory != "MA" {
		t.Fatalf("granted period %v..%v of %q in %q, want %v..%v", info.Since, info.Until, info.Provider, info.Territory, grantedAt, withdrawnAt)
	}
}

func TestServiceIdentity_L20(t *testing.T) {
	h := testpki.New(t)
	l := sampleList(h, "MA")
	// The signature CA certified again over the same key and subject is the same service.
	tmpl := *h.Signature.Cert
	tmpl.SerialNumber = testpki.Serial(t)
	der, err := x509.CreateCertificate(rand.Reader, &tmpl, h.Root.Cert, h.Signature.Cert.PublicKey, h.Root.Signer)
	if err != nil {
		t.Fatal(err)
	}
	renewed, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	if st, _, ok := l.ServiceStatusAt(renewed, testpki.Now); !ok || st != StatusGranted {
		t.Fatalf("a certificate of the same subject and key: %q, %v", st, ok)
	}
	// Another CA, and an end entity, are no listed service.
	other := testpki.New(t)
	ee := h.Issue(t, nil, h.NaturalRequest(t, testpki.Profile(t, "natural-qualified"), testpki.Key(t).Public()))
	for _, c := range []*x509.Certificate{other.Signature.Cert, ee.Cert, nil} {
		if _, _, ok := l.ServiceStatusAt(c, testpki.Now); ok {
			t.Fatalf("%v is not a listed service", c)
		}
		if q := l.QualifiedAt(c, ForESignatures, testpki.Now); q.Qualified || q.Listed || q.Rule != law.L20 || q.Reason == "" {
			t.Fatalf("QualifiedAt = %+v", q)
		}
	}
}

// TestForeignList_L22: a foreign list (same format, another authority) is loaded
// only through a pointer of our list, which exists only under an agreement, and
// its services then count as qualified under that agreement.
func TestForeignList_L22(t *testing.T) {
	ma := newAuthority(t, "Demo Authority", "MA", "p256")
	tn := newAuthority(t, "Foreign Authority", "TN", "p256")
	rogue := newAuthority(t, "Rogue Authority", "TN", "p256")
	home, abroad := testpki.New(t), testpki.New(t)
	const agreement = "MA-TN mutual recognition agreement of 2026-05-14"
	national := sampleList(home, "MA", Pointer{
		Location: "https://tl.example.tn/trustlist.xml", Territory: "TN", Type: NationalTSLType("TN"),
		OperatorName: en("Foreign Authority"), Certificates: []*x509.Certificate{tn.cert}, Agreement: agreement,
	})
	ours, err := Load(buildAndSign(t, national, ma), []*x509.Certificate{ma.cert}, loadAt)
	if err != nil {
		t.Fatal(err)
	}
	foreignXML := buildAndSign(t, sampleList(abroad, "TN"), tn)

	ptr, ok := ours.Pointer("TN")
	if !ok || ptr.Agreement != agreement || len(ptr.Certificates) != 1 || !ptr.Certificates[0].Equal(tn.cert) {
		t.Fatalf("pointer to TN: %+v, %v", ptr, ok)
	}
	foreign, err := LoadForeign(foreignXML, ptr, loadAt)
	if err != nil {
		t.Fatalf("LoadForeign through the agreement's pointer: %v", err)
	}
	lists := Lists{ours, foreign}
	q := lists.QualifiedAt(abroad.Signature.Cert, ForESignatures, testpki.Now)
	if !q.Qualified || q.Rule != law.L22 || !strings.Contains(q.Reason, agreement) || q.Service.Territory != "TN" {
		t.Fatalf("foreign CA: %+v", q)
	}
	if q := lists.QualifiedAt(home.Signature.Cert, ForESignatures, testpki.Now); !q.Qualified || q.Rule != law.L20 {
		t.Fatalf("national CA: %+v", q)
	}
	if q := (Lists{ours}).QualifiedAt(abroad.Signature.Cert, ForESignatures, testpki.Now); q.Qualified || q.Listed {
		t.Fatalf("a foreign CA without its list: %+v", q)
	}
	if _, ok := ours.Pointer("DZ"); ok {
		t.Fatal("a pointer without an agreement")
	}

	dzXML := buildAndSign(t, sampleList(abroad, "DZ"), tn)
	rogueXML := buildAndSign(t, sampleList(abroad, "TN"), rogue)
	noAgreement := ptr
	noAgreement.Agreement = ""
	tests := []struct {
		name string
		xml  []byte
		ptr  Pointer
		kind errkind.Kind
	}{
		{"no agreement on record", foreignXML, noAgreement, errkind.Forbidden},
		{"signed by someone else", rogueXML, ptr, errkind.Invalid},
		{"another territory's list", dzXML, ptr, errkind.Invalid},
		{"pointer without certificate", foreignXML, Pointer{Territory: "TN", Agreement: agreement}, errkind.Invalid},
		{"wrong list type", foreignXML, func() Pointer { p := ptr; p.Type = TSLTypeEUGeneric; return p }(), errkind.Invalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := LoadForeign(tc.xml, tc.ptr, loadAt)
			if e := errkind.As(err); err == nil || e.Kind != tc.kind || e.Rule != law.L22 {
				t.Fatalf("LoadForeign: %v, want %v under L-22", err, tc.kind)
			}
		})
	}
	// Nor does a foreign list pass for ours.
	if _, err := Load(foreignXML, []*x509.Certificate{ma.cert}, loadAt); err == nil {
		t.Fatal("the foreign list loaded as the national one")
	}
}

// TestUnknownCriticalExtension: a service qualified by a critical extension we
// do not apply (EU lists' Qualifications) is never found qualified.
func TestUnknownCriticalExtension(t *testing.T) {
	h := testpki.New(t)
	a := newAuthority(t, "Demo Authority", "MA", "p256")
	unsigned, err := Build(sampleList(h, "MA"))
	if err != nil {
		t.Fatal(err)
	}
	ext := `<Extension Critical="true"><ecc:Qualifications xmlns:ecc="http://uri.etsi.org/TrstSvc/SvcInfoExt/eSigDir-1999-93-EC-TrustedList/#"/></Extension>` +
		`<Extension Critical="false"><Other/></Extension></ServiceInformationExtensions>`
	unsigned = []byte(strings.Replace(string(unsigned), "</ServiceInformationExtensions>", ext, 1))
	signed, err := Sign(unsigned, a.signer, a.cert, issuedAt)
	if err != nil {
		t.Fatal(err)
	}
	l, err := Load(signed, []*x509.Certificate{a.cert}, loadAt)
	if err != nil {
		t.Fatal(err)
	}
	if got := l.Providers[0].Services[0].UnknownCritical; len(got) != 1 || got[0] != "Qualifications" {
		t.Fatalf("UnknownCritical = %q", got)
	}
	if q := l.QualifiedAt(h.Signature.Cert, ForESignatures, testpki.Now); q.Qualified || !strings.Contains(q.Reason, "Qualifications") {
		t.Fatalf("%+v", q)
	}
	if q := l.QualifiedAt(h.Seal.Cert, ForESeals, testpki.Now); !q.Qualified {
		t.Fatalf("the other services stay qualified: %+v", q)
	}
}

// TestStatusTie: a history entry starting when the current status starts does not hide it.
func TestStatusTie(t *testing.T) {
	h := testpki.New(t)
	l := sampleList(h, "MA")
	withdrawSignatureCA(l)
	l.Providers[0].Services[0].History[0].StatusStarting = withdrawnAt
	if st, _, _ := l.ServiceStatusAt(h.Signature.Cert, withdrawnAt); st != StatusWithdrawn {
		t.Fatalf("status at the tie = %q, want the current one", st)
	}
}
