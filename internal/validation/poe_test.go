package validation_test

import (
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/tawthiq/tawthiq/internal/clock"
	"github.com/tawthiq/tawthiq/internal/issuance"
	"github.com/tawthiq/tawthiq/internal/keys"
	"github.com/tawthiq/tawthiq/internal/law"
	"github.com/tawthiq/tawthiq/internal/signature"
	"github.com/tawthiq/tawthiq/internal/signature/cms"
	"github.com/tawthiq/tawthiq/internal/signature/pdf/pdftest"
	"github.com/tawthiq/tawthiq/internal/testpki"
	"github.com/tawthiq/tawthiq/internal/tsa"
	"github.com/tawthiq/tawthiq/internal/validation"
)

// testTSA is a TSA certificate of a fixture's hierarchy and its key.
type testTSA struct {
	cert *x509.Certificate
	key  crypto.Signer
}

// newTSA certifies a TSA under f's root for validity from an hour before the hierarchy's Now.
func newTSA(t testing.TB, f *fixture, name string, validity time.Duration) testTSA {
	t.Helper()
	k, err := keys.GenerateThrowaway(keys.ECDSAP256)
	if err != nil {
		t.Fatal(err)
	}
	tmpl, err := issuance.CATemplate(f.h.CSP, issuance.CASpec{Name: name, CommonName: "Tawthiq Demo TSU " + name, Role: issuance.RoleTSA,
		Parent: "root", Validity: validity, Serial: testpki.Serial(t), NotBefore: f.h.Now.Add(-time.Hour), PublicKey: k.Public()})
	if err != nil {
		t.Fatal(err)
	}
	return testTSA{cert: testpki.Certify(t, tmpl, f.h.Root, k.Public()).Cert, key: k}
}

// at is the TSA's service with its clock standing at genTime.
func (a testTSA) at(t testing.TB, genTime time.Time) *tsa.Service {
	t.Helper()
	s, err := tsa.New(tsa.Config{Signer: a.key, Cert: a.cert, Policy: testPolicy, Accuracy: time.Second, Qualified: true,
		Clock: clock.NewFake(genTime), Sync: tsa.Fixed{Offset: time.Millisecond, Known: true}, Store: memStore{}})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// withSignatureTimeStamp appends to a CAdES signature a signature time-stamp from s.
func withSignatureTimeStamp(t testing.TB, sig []byte, s *tsa.Service) []byte {
	t.Helper()
	tok, err := s.StampDigest(t.Context(), sha256.Sum256(sigValue(t, sig)))
	if err != nil {
		t.Fatal(err)
	}
	out, err := cms.WithUnsignedAttribute(sig, attribute(t, cms.OIDSignatureTimeStampTok, tok))
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// poeFiles are a CAdES and a PAdES B-LTA, signed at f.now with stamper, each
// as made and as renewed once (ExtendCAdES, ExtendPAdES) at renewedAt by renewer.
type poeFiles struct {
	cades, cadesRenewed, pades, padesRenewed []byte
}

func makePOEFiles(t *testing.T, f *fixture, stamper, renewer signature.Stamper, renewedAt time.Time) poeFiles {
	t.Helper()
	ctx := t.Context()
	roots := []*x509.Certificate{f.h.Root.Cert}
	signedAt := func() time.Time { return f.now }
	src := &testpki.RevocationSource{H: f.h, At: f.now.Add(2 * time.Second), OCSP: true}
	var p poeFiles
	var err error
	if p.cades, err = signature.SignCAdES(ctx, document, f.signer, f.chain, signature.Options{Detached: true, Level: signature.BLTA,
		Stamper: stamper, Revocation: src, CACerts: roots, Now: signedAt}); err != nil {
		t.Fatal(err)
	}
	if p.pades, err = signature.SignPAdES(ctx, pdftest.Document("Contrat", 0, false), f.signer, f.chain, signature.PAdESOptions{Level: signature.BLTA,
		Stamper: stamper, Revocation: src, CACerts: roots, Now: signedAt}); err != nil {
		t.Fatal(err)
	}
	renew := signature.ExtendOptions{Stamper: renewer, CACerts: roots, Revocation: &testpki.RevocationSource{H: f.h, At: renewedAt}}
	if p.cadesRenewed, err = signature.ExtendCAdES(ctx, p.cades, document, signature.BLTA, renew); err != nil {
		t.Fatal(err)
	}
	if p.padesRenewed, err = signature.ExtendPAdES(ctx, p.pades, signature.BLTA, renew); err != nil {
		t.Fatal(err)
	}
	return p
}

// poeResult is what a CAdES or PAdES validation says of the signature and of
// the time-stamps over it, the latest last.
type poeResult struct {
	r      validation.Report
	pdf    *validation.PDFReport  // the document's report, for a PDF
	stamps []validation.TimeStamp // the signature time-stamp, then the archive or document time-stamps
	js     []byte
}

func validatePOE(t *testing.T, file []byte, pades bool, opts validation.Options) poeResult {
	t.Helper()
	if !pades {
		r := validation.Validate(t.Context(), file, document, opts)
		js, _ := json.MarshalIndent(r, "", " ")
		out := poeResult{r: r, js: js}
		if r.TimeStamp != nil {
			out.stamps = append(out.stamps, *r.TimeStamp)
		}
		out.stamps = append(out.stamps, r.ArchiveTimeStamps...)
		return out
	}
	p := validation.ValidatePAdES(t.Context(), file, opts)
	js, _ := json.MarshalIndent(p, "", " ")
	if len(p.Signatures) != 1 {
		t.Fatalf("%d signatures\n%s", len(p.Signatures), js)
	}
	out := poeResult{r: p.Signatures[0].Report, js: js, pdf: &p}
	if out.r.TimeStamp != nil {
		out.stamps = append(out.stamps, *out.r.TimeStamp)
	}
	for _, d := range p.DocTimeStamps {
		out.stamps = append(out.stamps, d.TimeStamp)
	}
	return out
}

// pathEnd is when a TSA certificate issued by the fixture's root stops chaining.
func (f *fixture) pathEnd(tsaCert *x509.Certificate) time.Time {
	if root := f.h.Root.Cert.NotAfter; root.Before(tsaCert.NotAfter) {
		return root.UTC()
	}
	return tsaCert.NotAfter.UTC()
}

// renewBefore checks the date by which the report says to renew, for the
// signature and, for a PDF, the document.
func (got poeResult) renewBefore(t *testing.T, want time.Time) {
	t.Helper()
	if !got.r.RenewBefore.Equal(want) || got.pdf != nil && !got.pdf.RenewBefore.Equal(want) {
		t.Errorf("renew before %s, want %s\n%s", got.r.RenewBefore, want, got.js)
	}
}

// poeWant is the expected outcome of one POE case.
type poeWant struct {
	ind      validation.Indication
	sub      validation.SubIndication
	provenBy validation.TimeSource
	ignored  string // what every time-stamp's Ignored says; "" when each must be usable
	warning  string // a warning that must be present, "" for none required
}

func (w poeWant) check(t *testing.T, got poeResult, signedAt, now time.Time) {
	t.Helper()
	r := got.r
	if r.Indication != w.ind || r.SubIndication != w.sub || r.ProvenBy != w.provenBy {
		t.Fatalf("%s/%s proven by %s, want %s/%s by %s\n%s", r.Indication, r.SubIndication, r.ProvenBy, w.ind, w.sub, w.provenBy, got.js)
	}
	if len(got.stamps) < 2 {
		t.Fatalf("%d time-stamps\n%s", len(got.stamps), got.js)
	}
	for i, s := range got.stamps {
		if w.ignored == "" && (!s.Trusted || s.Ignored != "") || w.ignored != "" && (s.Trusted || !strings.Contains(s.Ignored, w.ignored)) {
			t.Fatalf("time-stamp %d: trusted=%v ignored %q, want ignored %q\n%s", i, s.Trusted, s.Ignored, w.ignored, got.js)
		}
	}
	// EN 319 102-1 §5.6.3: the latest at the validation time, each earlier one at the next later one's genTime.
	latest := got.stamps[len(got.stamps)-1]
	if !latest.JudgedAt.Equal(now) || !strings.Contains(latest.JudgedWhy, "validation time") {
		t.Errorf("the latest time-stamp judged at %s (%s), want the validation time %s", latest.JudgedAt, latest.JudgedWhy, now)
	}
	if w.ignored == "" {
		for i := 0; i+1 < len(got.stamps); i++ {
			if next := got.stamps[i+1]; !got.stamps[i].JudgedAt.Equal(next.GenTime) {
				t.Errorf("time-stamp %d judged at %s, want the genTime %s of the one after it", i, got.stamps[i].JudgedAt, next.GenTime)
			}
		}
	}
	if stamped := signedAt.Add(1500 * time.Millisecond); w.provenBy == validation.ByTimeStamp && !r.ProvenTime.Equal(stamped) {
		t.Errorf("proven at %s, want the signature time-stamp's %s", r.ProvenTime, stamped)
	}
	if c := conclusion(r, law.L425); c.Holds != (w.provenBy == validation.ByTimeStamp && w.ind == validation.TotalPassed) {
		t.Errorf("L-425 holds=%v: %s", c.Holds, c.Why)
	}
	if w.warning != "" && !strings.Contains(strings.Join(r.Warnings, "\n"), w.warning) {
		t.Errorf("no warning %q\n%s", w.warning, got.js)
	}
	if !r.ProvenTime.After(signedAt) {
		t.Errorf("proven at %s, before the signing at %s", r.ProvenTime, signedAt)
	}
}

// TestTimeStampExpiryAndRenewal_L425: a B-LTA whose only archive (CAdES) or
// document (PAdES) time-stamp's TSA certificate has expired proves nothing
// (EN 319 102-1 §5.6.3: the latest time-stamp has only the validation time as
// proof of existence, and its TSA's path does not hold then; the signature
// time-stamp it covers falls with it). The signer's certificate has expired
// too, so with nothing proving the signature existed before, EN 319 102-1
// §5.6.2.4 gives INDETERMINATE/OUT_OF_BOUNDS_NO_POE. Renewed once before that
// expiry by a TSA whose certificate outlives the validation time, the same
// file is TOTAL-PASSED, its date still the signature time-stamp's (L-425).
func TestTimeStampExpiryAndRenewal_L425(t *testing.T) {
	f := newFixture(t)
	const year = 365 * 24 * time.Hour
	short, long := newTSA(t, f, "tsa-short", year), newTSA(t, f, "tsa-long", 10*year)
	renewedAt := f.now.Add(300 * 24 * time.Hour)
	files := makePOEFiles(t, f, short.at(t, f.now.Add(1500*time.Millisecond)), long.at(t, renewedAt), renewedAt)
	// Until the path of the latest time-stamp ends: its TSA's or the root's notAfter.
	shortEnd, longEnd := f.pathEnd(short.cert), f.pathEnd(long.cert)
	// A signature time-stamp added after the renewal, back-dated with the short TSA's key: no archive time-stamp indexes it.
	backDated := withSignatureTimeStamp(t, files.cadesRenewed, short.at(t, f.now.Add(time.Second)))
	now := f.now.Add(3 * year) // after the short TSA's and the signer's certificates expired
	if !now.After(short.cert.NotAfter) || !now.After(f.chain[0].NotAfter) || renewedAt.After(short.cert.NotAfter) {
		t.Fatal("the fixture's times are not in the order this test needs")
	}
	passed := poeWant{validation.TotalPassed, "", validation.ByTimeStamp, "", ""}
	lost := poeWant{validation.Indeterminate, validation.OutOfBoundsNoPOE, validation.ByValidationTime, "TSA certificate expired at", "ignored: its TSA certificate expired"}
	for _, tc := range []struct {
		name  string
		file  []byte
		pades bool
		now   time.Time
		want  poeWant
		renew time.Time // the report's renewBefore; zero when no time-stamp proves the date
	}{
		{"CAdES B-LTA, before the TSA expired", files.cades, false, renewedAt, passed, shortEnd},
		{"CAdES B-LTA, after the TSA expired", files.cades, false, now, lost, time.Time{}},
		{"CAdES B-LTA renewed before, after the TSA expired", files.cadesRenewed, false, now, passed, longEnd},
		{"CAdES B-LTA renewed, then an unindexed back-dated signature time-stamp", backDated, false, now,
			poeWant{validation.TotalPassed, "", validation.ByTimeStamp, "", "signature-time-stamp 2 ignored: its TSA certificate expired"}, longEnd},
		{"PAdES B-LTA, before the TSA expired", files.pades, true, renewedAt, passed, shortEnd},
		{"PAdES B-LTA, after the TSA expired", files.pades, true, now, lost, time.Time{}},
		{"PAdES B-LTA renewed before, after the TSA expired", files.padesRenewed, true, now, passed, longEnd},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := validatePOE(t, tc.file, tc.pades, validation.Options{Roots: []*x509.Certificate{f.h.Root.Cert}, Now: tc.now})
			tc.want.check(t, got, f.now, tc.now)
			got.renewBefore(t, tc.renew)
		})
	}
}

// TestTimeStampRevocationAndRenewal_L425: the TSA certificate of a B-LTA's
// time-stamps is revoked after their genTime but before the validation time.
// Nothing later proves they existed before the revocation, so they prove
// nothing (EN 319 102-1 §5.6.2.4: REVOKED_NO_POE for each time-stamp): the
// signature is judged at the validation time, its date only claimed (L-425),
// and with its signer's certificate revoked too, INDETERMINATE/REVOKED_NO_POE.
// Renewed by another TSA before the revocation, the same file passes with the
// signature time-stamp's date, the signer's later revocation only a warning.
func TestTimeStampRevocationAndRenewal_L425(t *testing.T) {
	f := newFixture(t)
	day := 24 * time.Hour
	renewedAt := f.now.Add(5 * day)
	second := newTSA(t, f, "tsa-second", 5*365*day)
	files := makePOEFiles(t, f, f.tsa, second.at(t, renewedAt), renewedAt)
	now := f.now.Add(30 * day)
	tsaRevoked := map[string]time.Time{f.h.TSA.Cert.SerialNumber.String(): f.now.Add(10 * day)}
	bothRevoked := map[string]time.Time{f.h.TSA.Cert.SerialNumber.String(): f.now.Add(10 * day), f.chain[0].SerialNumber.String(): f.now.Add(20 * day)}
	lostDate := poeWant{validation.TotalPassed, "", validation.ByValidationTime, "TSA certificate was revoked at", "ignored: its TSA certificate was revoked"}
	lost := poeWant{validation.Indeterminate, validation.RevokedNoPOE, validation.ByValidationTime, "TSA certificate was revoked at", ""}
	passed := poeWant{validation.TotalPassed, "", validation.ByTimeStamp, "", "revoked at"}
	for _, pades := range []bool{false, true} {
		made, renewed := files.cades, files.cadesRenewed
		if pades {
			made, renewed = files.pades, files.padesRenewed
		}
		for _, tc := range []struct {
			name    string
			file    []byte
			revoked map[string]time.Time
			want    poeWant
			renew   time.Time
		}{
			{"TSA revoked: the date is only claimed", made, tsaRevoked, lostDate, time.Time{}},
			{"TSA and signer revoked", made, bothRevoked, lost, time.Time{}},
			{"renewed before, TSA and signer revoked", renewed, bothRevoked, passed, f.pathEnd(second.cert)},
		} {
			t.Run(map[bool]string{false: "CAdES/", true: "PAdES/"}[pades]+tc.name, func(t *testing.T) {
				got := validatePOE(t, tc.file, pades, validation.Options{Roots: []*x509.Certificate{f.h.Root.Cert}, Now: now,
					Status: status{revoked: tc.revoked}})
				tc.want.check(t, got, f.now, now)
				got.renewBefore(t, tc.renew)
			})
		}
	}
}
