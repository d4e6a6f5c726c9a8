package validation_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/tawthiq/tawthiq/internal/clock"
	"github.com/tawthiq/tawthiq/internal/law"
	"github.com/tawthiq/tawthiq/internal/signature"
	"github.com/tawthiq/tawthiq/internal/signature/pdf/pdftest"
	"github.com/tawthiq/tawthiq/internal/testpki"
	"github.com/tawthiq/tawthiq/internal/trustlist"
	"github.com/tawthiq/tawthiq/internal/tsa"
	"github.com/tawthiq/tawthiq/internal/validation"
)

const day = 24 * time.Hour

// The list's timeline: services granted a month before testpki.Now; D, the
// signature CA's withdrawal, ten days after; the list issued the day after D
// and every signature validated the day after that.
var (
	grantedAt   = testpki.Now.Add(-30 * day)
	withdrawnAt = testpki.Now.Add(10 * day)
	issuedAt    = withdrawnAt.Add(day)
	validateAt  = issuedAt.Add(day)
)

const withdrawal = "DGSSI-2026-042: insurance lapsed (L-21-3-6)"

// listAuthority is a scheme operator's list-signing key and self-signed certificate.
type listAuthority struct {
	cert *x509.Certificate
	key  crypto.Signer
}

func newListAuthority(t testing.TB, cn, country string) listAuthority {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: testpki.Serial(t), Subject: pkix.Name{CommonName: cn, Country: []string{country}},
		NotBefore: testpki.Now.Add(-365 * day), NotAfter: testpki.Now.Add(5 * 365 * day),
		KeyUsage: x509.KeyUsageDigitalSignature, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, k.Public(), k)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return listAuthority{cert: c, key: k}
}

// sign builds l, signs it at its issue time and loads it back as the validator will.
func (a listAuthority) sign(t testing.TB, l *trustlist.List) []byte {
	t.Helper()
	unsigned, err := trustlist.Build(l)
	if err != nil {
		t.Fatal(err)
	}
	signed, err := trustlist.Sign(unsigned, a.key, a.cert, l.Scheme.IssueDateTime)
	if err != nil {
		t.Fatal(err)
	}
	return signed
}

func (a listAuthority) load(t testing.TB, l *trustlist.List) *trustlist.List {
	t.Helper()
	loaded, err := trustlist.Load(a.sign(t, l), []*x509.Certificate{a.cert}, validateAt)
	if err != nil {
		t.Fatal(err)
	}
	return loaded
}

func en(s string) trustlist.MultiLang { return trustlist.MultiLang{{Lang: "en", Value: s}} }

// schemeList is territory's list naming h's signature CA, seal CA and TSA as granted.
func schemeList(h *testpki.Hierarchy, territory string, pointers ...trustlist.Pointer) *trustlist.List {
	addr := trustlist.Address{Postal: []trustlist.PostalAddress{{Lang: "en", Street: "1 Avenue Example", Locality: "Rabat", CountryName: territory}},
		Electronic: en("https://tl.example/")}
	granted := func(typ, name string, c *x509.Certificate, additional ...string) trustlist.Service {
		return trustlist.Service{Type: typ, Name: en(name), Certificates: []*x509.Certificate{c}, Status: trustlist.StatusGranted,
			StatusStarting: grantedAt, Additional: additional, Decision: "DGSSI-2026-001: approval of " + name}
	}
	return &trustlist.List{
		Scheme: trustlist.SchemeInformation{SequenceNumber: 1, Type: trustlist.NationalTSLType(territory),
			OperatorName: en(territory + " authority"), OperatorAddress: addr, Name: en(territory + ": trusted list"),
			InformationURI: en("https://tl.example/info"), StatusDeterminationApproach: trustlist.NationalStatusDetermination(territory),
			CommunityRules: en(trustlist.NationalSchemeRules(territory)), Territory: territory,
			HistoricalInformationPeriod: trustlist.HistoryUnlimited, Pointers: pointers,
			IssueDateTime: issuedAt, NextUpdate: issuedAt.Add(180 * day)},
		Providers: []trustlist.Provider{{Name: en(h.CSP.Name), TradeName: en(h.CSP.OrganizationIdentifier), Address: addr,
			InformationURI: en(h.CSP.BaseURL), Services: []trustlist.Service{
				granted(trustlist.SvcTypeCAQC, "Qualified Signature CA", h.Signature.Cert, trustlist.ForeSignatures),
				granted(trustlist.SvcTypeCAQC, "Qualified Seal CA", h.Seal.Cert, trustlist.ForeSeals),
				granted(trustlist.SvcTypeTSAQTST, "Time-Stamping Unit", h.TSA.Cert),
			}}},
	}
}

// withdraw makes service i of l's first provider withdrawn at at, its grant kept in the history.
func withdraw(l *trustlist.List, i int, at time.Time) *trustlist.List {
	s := &l.Providers[0].Services[i]
	s.History = []trustlist.HistoryEntry{{Type: s.Type, Name: s.Name, Status: s.Status, StatusStarting: s.StatusStarting,
		Additional: s.Additional, Decision: s.Decision}}
	s.Status, s.StatusStarting, s.Decision = trustlist.StatusWithdrawn, at, withdrawal
	return l
}

// signingAt is f's holder signing at now, stamped by f's TSA with its clock at now + 1.5 s.
func (f *fixture) signingAt(t testing.TB, now time.Time) *fixture {
	t.Helper()
	g := *f
	g.now = now
	var err error
	g.tsa, err = tsa.New(tsa.Config{Signer: f.h.TSA.Signer, Cert: f.h.TSA.Cert, Policy: testPolicy, Accuracy: time.Second,
		Qualified: true, Clock: clock.NewFake(now.Add(1500 * time.Millisecond)),
		Sync: tsa.Fixed{Offset: time.Millisecond, Known: true}, Store: memStore{}})
	if err != nil {
		t.Fatal(err)
	}
	return &g
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// TestTrustedListWithdrawal_L20: the signature CA withdrawn at D; a signature
// proven before D is qualified, one proven after D is valid but not
// qualified and the report says why; a withdrawn TSA makes a time-stamp that
// still dates the signature but gives no certain date (L-417-3).
func TestTrustedListWithdrawal_L20(t *testing.T) {
	f := newFixture(t)
	after := f.signingAt(t, withdrawnAt.Add(day))
	ma := newListAuthority(t, "Demo Authority", "MA")
	withdrawn := trustlist.Lists{ma.load(t, withdraw(schemeList(f.h, "MA"), 0, withdrawnAt))}
	tsaWithdrawn := trustlist.Lists{ma.load(t, withdraw(schemeList(f.h, "MA"), 2, testpki.Now))}
	before := f.sign(t, true, signature.BT, nil)
	late := after.sign(t, true, signature.BT, nil)
	unstamped := f.sign(t, true, signature.BB, nil)
	lateGenTime := withdrawnAt.Add(day + 1500*time.Millisecond)

	tests := []struct {
		name      string
		sig       []byte
		lists     validation.TrustedLists
		qualified bool
		status    trustlist.Status
		why       []string // in QualifiedWhy, and in L-417-3's reason when not qualified
		tsQual    bool
		l4173     string // in L-417-3's reason
	}{
		{"time-stamped before D", before, withdrawn, true, trustlist.StatusGranted,
			[]string{"the trusted list of MA", "Qualified Signature CA", "granted on " + stamp(grantedAt), "DGSSI-2026-001"}, true, "certain date"},
		{"time-stamped after D", late, withdrawn, false, trustlist.StatusWithdrawn,
			[]string{"the trusted list of MA", `"Qualified Signature CA" of Tawthiq Demo CSP was withdrawn on ` + stamp(withdrawnAt), withdrawal,
				"a signature proven at " + stamp(lateGenTime) + " (signature-time-stamp), not before " + stamp(withdrawnAt) + ", is not qualified"}, true, "withdrawn on"},
		{"made before D, no time-stamp: proven only at validation", unstamped, withdrawn, false, trustlist.StatusWithdrawn,
			[]string{"withdrawn on " + stamp(withdrawnAt), "proven at " + stamp(validateAt) + " (validation-time)"}, false, "withdrawn on"},
		{"TSA withdrawn before genTime", before, tsaWithdrawn, true, trustlist.StatusGranted, []string{"granted on"}, false,
			"its time-stamp is not qualified (per the trusted list of MA, the service \"Time-Stamping Unit\" of Tawthiq Demo CSP was withdrawn on " + stamp(testpki.Now)},
		{"no lists: roots taken on trust", late, nil, true, "", []string{"no trusted list was consulted", "assumed, not checked"}, true, "certain date"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := validation.Validate(t.Context(), tc.sig, document, validation.Options{Roots: []*x509.Certificate{f.h.Root.Cert},
				Status: status{}, Now: validateAt, TrustedLists: tc.lists})
			js, _ := json.MarshalIndent(r, "", "  ")
			if r.Indication != validation.TotalPassed || r.Qualified != tc.qualified {
				t.Fatalf("%s, qualified=%v; want TOTAL-PASSED, qualified=%v\n%s", r.Indication, r.Qualified, tc.qualified, js)
			}
			l4173 := conclusion(r, law.L417_3)
			for _, w := range tc.why {
				if !strings.Contains(r.QualifiedWhy, w) || !tc.qualified && !strings.Contains(l4173.Why, w) {
					t.Errorf("%q not in the reasons:\n%s\n%s", w, r.QualifiedWhy, l4173.Why)
				}
			}
			if l4173.Holds != tc.qualified || !strings.Contains(l4173.Why, tc.l4173) {
				t.Errorf("L-417-3 holds=%v: %s", l4173.Holds, l4173.Why)
			}
			if c := conclusion(r, law.L20); c.Holds != tc.qualified || c.Why != r.QualifiedWhy {
				t.Errorf("L-20 holds=%v: %s", c.Holds, c.Why)
			}
			if tc.lists == nil {
				if r.TrustService != nil {
					t.Errorf("a trust service without lists: %+v", r.TrustService)
				}
			} else if s := r.TrustService; s == nil || !s.Listed || s.Approved != tc.qualified || trustlist.Status(s.Status) != tc.status ||
				s.List != "MA" || s.Rule != law.L20 || s.For != "electronic signatures" || !s.At.Equal(r.ProvenTime) {
				t.Errorf("trust service %+v", s)
			}
			if ts := r.TimeStamp; ts != nil && ts.Trusted && (ts.Qualified != tc.tsQual || ts.QualifiedWhy == "") {
				t.Errorf("time-stamp qualified=%v: %s", ts.Qualified, ts.QualifiedWhy)
			}
			if c := conclusion(r, law.L22); c.Why != "missing" {
				t.Errorf("an L-22 conclusion for a national CSP: %s", c.Why)
			}
		})
	}
}

// TestTrustedListNotListed_L20: a CA that chains to a configured root but is
// no service of the lists issues no qualified certificate, nor is its TSA qualified.
func TestTrustedListNotListed_L20(t *testing.T) {
	f, other := newFixture(t), newFixture(t)
	ma := newListAuthority(t, "Demo Authority", "MA")
	lists := trustlist.Lists{ma.load(t, schemeList(f.h, "MA"))}
	r := validation.Validate(t.Context(), other.sign(t, true, signature.BT, nil), document, validation.Options{
		Roots: []*x509.Certificate{f.h.Root.Cert, other.h.Root.Cert}, Status: status{}, Now: validateAt, TrustedLists: lists})
	if r.Indication != validation.TotalPassed || r.Qualified || r.TrustService == nil || r.TrustService.Listed ||
		!strings.Contains(r.QualifiedWhy, "is not the identity of any service in the trusted lists") {
		t.Fatalf("%s qualified=%v: %s (%+v)", r.Indication, r.Qualified, r.QualifiedWhy, r.TrustService)
	}
	if r.TimeStamp == nil || !r.TimeStamp.Trusted || r.TimeStamp.Qualified || !strings.Contains(r.TimeStamp.QualifiedWhy, "not a qualified trust service") {
		t.Errorf("time-stamp %+v", r.TimeStamp)
	}
	if c := conclusion(r, law.L417_3); c.Holds || !strings.Contains(c.Why, "no approved CSP issued it") {
		t.Errorf("L-417-3 holds=%v: %s", c.Holds, c.Why)
	}
}

// TestForeignTrustedList_L22: a CSP of a foreign list (same format, another
// authority) counts as qualified when the list was loaded through our list's
// pointer, which exists only under a recognition agreement; without one the
// foreign list does not load and the signature is not qualified.
func TestForeignTrustedList_L22(t *testing.T) {
	const agreement = "MA-TN mutual recognition agreement of 2026-05-14"
	csp := testpki.CSP()
	csp.Name, csp.OrganizationIdentifier = "Foreign Demo CSP", "NTRTN-654321"
	home, abroad := newFixture(t), newFixture(t, testpki.WithCSP(csp))
	ma, tn := newListAuthority(t, "Demo Authority", "MA"), newListAuthority(t, "Foreign Authority", "TN")
	pointer := trustlist.Pointer{Location: "https://tl.example.tn/trustlist.xml", Territory: "TN", Type: trustlist.NationalTSLType("TN"),
		OperatorName: en("Foreign Authority"), Certificates: []*x509.Certificate{tn.cert}, Agreement: agreement}
	foreignXML := tn.sign(t, schemeList(abroad.h, "TN"))
	sig := abroad.sign(t, true, signature.BT, nil)

	ours := ma.load(t, schemeList(home.h, "MA", pointer))
	ptr, ok := ours.Pointer("TN")
	if !ok {
		t.Fatal("no pointer to TN")
	}
	foreign, err := trustlist.LoadForeign(foreignXML, ptr, validateAt)
	if err != nil {
		t.Fatalf("LoadForeign under the agreement: %v", err)
	}
	lists := trustlist.Lists{ours, foreign}
	// The foreign CSP's root is nowhere in our configuration: its listed CAs are the anchors.
	roots := append([]*x509.Certificate{home.h.Root.Cert}, validation.ListedCertificates(lists)...)
	r := validation.Validate(t.Context(), sig, document, validation.Options{Roots: roots, Status: status{}, Now: validateAt, TrustedLists: lists})
	js, _ := json.MarshalIndent(r, "", "  ")
	if r.Indication != validation.TotalPassed || !r.Qualified || !strings.Contains(r.QualifiedWhy, "per the trusted list of TN") ||
		!strings.Contains(r.QualifiedWhy, "recognised under "+agreement) {
		t.Fatalf("%s qualified=%v: %s\n%s", r.Indication, r.Qualified, r.QualifiedWhy, js)
	}
	if s := r.TrustService; s == nil || s.Rule != law.L22 || s.Agreement != agreement || s.List != "TN" || s.Provider != "Foreign Demo CSP" {
		t.Errorf("trust service %+v", s)
	}
	if c := conclusion(r, law.L22); !c.Holds || !strings.Contains(c.Why, agreement) || !strings.Contains(c.Why, "same legal value") {
		t.Errorf("L-22 holds=%v: %s", c.Holds, c.Why)
	}
	if c := conclusion(r, law.L417_3); !c.Holds || !strings.Contains(c.Why, "certain date") {
		t.Errorf("L-417-3 holds=%v: %s", c.Holds, c.Why)
	}
	if ts := r.TimeStamp; ts == nil || !ts.Qualified || ts.TrustService == nil || ts.TrustService.Rule != law.L22 {
		t.Errorf("time-stamp %+v", ts)
	}

	// No agreement: our list carries no pointer to TN, and a pointer made up without one is refused.
	alone := ma.load(t, schemeList(home.h, "MA"))
	if _, ok := alone.Pointer("TN"); ok {
		t.Fatal("a pointer to TN without an agreement")
	}
	noAgreement := pointer
	noAgreement.Agreement = ""
	if l, err := trustlist.LoadForeign(foreignXML, noAgreement, validateAt); err == nil {
		t.Fatalf("LoadForeign without an agreement loaded %q", l.Scheme.Territory)
	}
	lists = trustlist.Lists{alone}
	r = validation.Validate(t.Context(), sig, document, validation.Options{Roots: append(validation.ListedCertificates(lists), abroad.h.Root.Cert),
		Status: status{}, Now: validateAt, TrustedLists: lists})
	if r.Indication != validation.TotalPassed || r.Qualified || r.TrustService == nil || r.TrustService.Listed {
		t.Fatalf("%s qualified=%v: %s", r.Indication, r.Qualified, r.QualifiedWhy)
	}
	if c := conclusion(r, law.L22); c.Why != "missing" {
		t.Errorf("an L-22 conclusion without a foreign list: %s", c.Why)
	}
	// Nor does it chain, when the anchors come from the lists alone.
	r = validation.Validate(t.Context(), sig, document, validation.Options{Roots: validation.ListedCertificates(lists),
		Status: status{}, Now: validateAt, TrustedLists: lists})
	if r.Indication != validation.Indeterminate || r.SubIndication != validation.NoCertificateChainFound || r.Qualified {
		t.Errorf("%s/%s qualified=%v", r.Indication, r.SubIndication, r.Qualified)
	}
}

// TestTrustedListPAdES: ValidatePAdES passes the lists to each signature.
func TestTrustedListPAdES(t *testing.T) {
	f := newFixture(t)
	after := f.signingAt(t, withdrawnAt.Add(day))
	ma := newListAuthority(t, "Demo Authority", "MA")
	lists := trustlist.Lists{ma.load(t, withdraw(schemeList(f.h, "MA"), 0, withdrawnAt))}
	doc := pdftest.Document("Contrat de vente", 0, true)
	for _, tc := range []struct {
		name      string
		fx        *fixture
		qualified bool
	}{{"signed before D", f, true}, {"signed after D", after, false}} {
		t.Run(tc.name, func(t *testing.T) {
			r := validation.ValidatePAdES(t.Context(), tc.fx.signPDF(t, doc, signature.BT), validation.Options{
				Roots: []*x509.Certificate{f.h.Root.Cert}, Status: status{}, Now: validateAt, TrustedLists: lists})
			if r.Indication != validation.TotalPassed || len(r.Signatures) != 1 {
				t.Fatalf("%s: %s", r.Indication, r.Reason)
			}
			s := r.Signatures[0].Report
			if s.Qualified != tc.qualified || s.TrustService == nil || s.TrustService.Approved != tc.qualified {
				t.Errorf("qualified=%v: %s", s.Qualified, s.QualifiedWhy)
			}
		})
	}
}
