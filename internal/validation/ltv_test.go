package validation_test

import (
	"bytes"
	"crypto/x509"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/tawthiq/tawthiq/internal/clock"
	"github.com/tawthiq/tawthiq/internal/signature"
	"github.com/tawthiq/tawthiq/internal/testpki"
	"github.com/tawthiq/tawthiq/internal/tsa"
	"github.com/tawthiq/tawthiq/internal/validation"
)

// signLT makes a B-LT or B-LTA signature whose revocation data was issued
// two seconds after signing, after the signature time-stamp.
func (f *fixture) signLT(t testing.TB, detached bool, level signature.Level) []byte {
	t.Helper()
	src := &testpki.RevocationSource{H: f.h, At: f.now.Add(2 * time.Second), OCSP: true}
	sig, err := signature.SignCAdES(t.Context(), document, f.signer, f.chain, signature.Options{Detached: detached, Level: level,
		Stamper: f.tsa, Revocation: src, CACerts: []*x509.Certificate{f.h.Root.Cert}, Now: func() time.Time { return f.now }})
	if err != nil {
		t.Fatal(err)
	}
	return sig
}

// stampLate adds to a B-B signature a signature time-stamp made at genTime by
// the hierarchy's TSA: what SignCAdES refuses to do after expiry (L-25).
func stampLate(t testing.TB, f *fixture, bb []byte, genTime time.Time) []byte {
	t.Helper()
	return withSignatureTimeStamp(t, bb, f.tsaAt(t, genTime))
}

// tsaAt is the hierarchy's TSA with its clock standing at genTime.
func (f *fixture) tsaAt(t testing.TB, genTime time.Time) *tsa.Service {
	t.Helper()
	s, err := tsa.New(tsa.Config{Signer: f.h.TSA.Signer, Cert: f.h.TSA.Cert, Policy: testPolicy, Accuracy: time.Second,
		Clock: clock.NewFake(genTime), Sync: tsa.Fixed{Offset: time.Millisecond, Known: true}, Store: memStore{}})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// flip returns b with one bit of the last byte of the first occurrence of part changed.
func flip(t testing.TB, b, part []byte) []byte {
	t.Helper()
	i := bytes.Index(b, part)
	if i < 0 {
		t.Fatal("part not found")
	}
	out := bytes.Clone(b)
	out[i+len(part)-1] ^= 0x01
	return out
}

// revocationData is what src says of cert, as Options.Extra (a PDF's DSS, say).
func revocationData(t testing.TB, src *testpki.RevocationSource, cert, issuer *x509.Certificate) signature.ValidationData {
	t.Helper()
	crls, ocsps, err := src.Revocation(t.Context(), cert, issuer)
	if err != nil {
		t.Fatal(err)
	}
	return signature.ValidationData{CRLs: crls, OCSPs: ocsps}
}

// crlsAt is the CRLs of f's signature CA and root issued at: the status of the
// holder and of the signature CA, as a PDF's DSS or Options.Extra carries it.
func crlsAt(t testing.TB, f *fixture, at time.Time) signature.ValidationData {
	t.Helper()
	src := &testpki.RevocationSource{H: f.h, At: at}
	d := revocationData(t, src, f.chain[0], f.chain[1])
	d.CRLs = append(d.CRLs, revocationData(t, src, f.chain[1], f.h.Root.Cert).CRLs...)
	return d
}

// TestLongTermCorpus: B-LT and B-LTA signatures and the past-signature cases,
// each with the EN 319 102-1 indication and sub-indication it must get.
func TestLongTermCorpus(t *testing.T) {
	f := newFixture(t)
	other := newFixture(t)
	old := newFixture(t, testpki.WithNow(testpki.Now.Add(-3*365*24*time.Hour)))
	roots := []*x509.Certificate{f.h.Root.Cert}
	later := f.now.Add(2 * time.Hour)
	holder := f.chain[0]

	bb := f.sign(t, false, signature.BB, nil)
	bt := f.sign(t, true, signature.BT, nil)
	blt := f.signLT(t, true, signature.BLT)
	bltEnveloping := f.signLT(t, false, signature.BLT)
	blta := f.signLT(t, true, signature.BLTA)
	bltaEnveloping := f.signLT(t, false, signature.BLTA)
	sd, err := signature.Parse(blta)
	if err != nil {
		t.Fatal(err)
	}
	changedDoc := flip(t, document, document)
	oldBB := old.sign(t, false, signature.BB, nil)
	afterExpiry := stampLate(t, old, oldBB, old.chain[0].NotAfter.Add(24*time.Hour))
	beforeExpiry := stampLate(t, old, oldBB, old.chain[0].NotAfter.Add(-24*time.Hour))
	genTime := f.now.Add(1500 * time.Millisecond)
	revokedLater := revocationData(t, &testpki.RevocationSource{H: f.h, At: f.now.Add(90 * time.Minute),
		Revoked: map[string]time.Time{holder.SerialNumber.String(): f.now.Add(time.Hour)}}, holder, f.chain[1])
	caGood := revocationData(t, &testpki.RevocationSource{H: f.h, At: f.now.Add(90 * time.Minute)}, f.chain[1], f.h.Root.Cert)
	revokedLater.CRLs = append(revokedLater.CRLs, caGood.CRLs...)
	revokedBefore := revocationData(t, &testpki.RevocationSource{H: f.h, At: f.now.Add(90 * time.Minute),
		Revoked: map[string]time.Time{holder.SerialNumber.String(): f.now.Add(-time.Minute)}}, holder, f.chain[1])
	revokedBefore.CRLs = append(revokedBefore.CRLs, caGood.CRLs...)
	// Issued 500 ms before the time-stamp, in its second: CRL times are whole seconds.
	sameSecond := revocationData(t, &testpki.RevocationSource{H: f.h, At: genTime.Truncate(time.Second)}, holder, f.chain[1])
	sameSecond.CRLs = append(sameSecond.CRLs, revocationData(t, &testpki.RevocationSource{H: f.h, At: genTime.Truncate(time.Second)}, f.chain[1], f.h.Root.Cert).CRLs...)
	forged := revocationData(t, &testpki.RevocationSource{H: other.h, At: f.now.Add(90 * time.Minute)}, holder, f.chain[1])
	forged.CRLs = append(forged.CRLs, caGood.CRLs...)

	type want struct {
		ind      validation.Indication
		sub      validation.SubIndication
		level    string
		provenBy validation.TimeSource
		warning  string // a warning that must be present, "" for none required
	}
	passed := func(level string) want {
		return want{validation.TotalPassed, "", level, validation.ByTimeStamp, ""}
	}
	tests := []struct {
		name    string
		sig     []byte
		content []byte
		roots   []*x509.Certificate
		status  validation.StatusSource
		extra   signature.ValidationData
		now     time.Time
		want    want
	}{
		{"untouched B-B", bb, nil, roots, status{}, signature.ValidationData{}, later,
			want{validation.TotalPassed, "", "B-B", validation.ByValidationTime, ""}},
		{"untouched B-T", bt, document, roots, status{}, signature.ValidationData{}, later, passed("B-T")},
		{"untouched B-LT detached", blt, document, roots, status{}, signature.ValidationData{}, later, passed("B-LT")},
		{"untouched B-LT enveloping", bltEnveloping, nil, roots, status{}, signature.ValidationData{}, later, passed("B-LT")},
		{"untouched B-LTA detached", blta, document, roots, status{}, signature.ValidationData{}, later, passed("B-LTA")},
		{"untouched B-LTA enveloping", bltaEnveloping, nil, roots, status{}, signature.ValidationData{}, later, passed("B-LTA")},
		{"B-LT offline (no status source): embedded data suffices", blt, document, roots, nil, signature.ValidationData{}, later, passed("B-LT")},
		// The TSA certificate (5 years) outlives the signer's (2): the archive time-stamp still proves the signature time-stamp.
		{"B-LTA offline, four years on", blta, document, roots, nil, signature.ValidationData{}, f.now.Add(4 * 365 * 24 * time.Hour), passed("B-LTA")},
		// EN 319 102-1 §5.6.3: ten years on, the TSA certificate has expired and no later archive time-stamp proves
		// the time-stamps existed before; nothing proves the signature existed before its signer's certificate expired.
		{"B-LTA offline, ten years on, not renewed", blta, document, roots, nil, signature.ValidationData{}, f.now.Add(10 * 365 * 24 * time.Hour),
			want{validation.Indeterminate, validation.OutOfBoundsNoPOE, "B-LTA", validation.ByValidationTime, "archive-time-stamp 1 ignored: its TSA certificate expired"}},
		{"B-B offline: status unknown", bb, nil, roots, nil, signature.ValidationData{}, later,
			want{validation.Indeterminate, validation.TryLater, "B-B", validation.ByValidationTime, ""}},
		{"B-T offline without data: status unknown", bt, document, roots, nil, signature.ValidationData{}, later,
			want{validation.Indeterminate, validation.TryLater, "B-T", validation.ByTimeStamp, ""}},
		{"B-LTA, one byte of the document changed", blta, changedDoc, roots, nil, signature.ValidationData{}, later,
			want{validation.TotalFailed, validation.HashFailure, "B-LTA", validation.ByValidationTime, ""}},
		{"B-LTA, one byte of the signature value changed", flip(t, bltaEnveloping, sigValue(t, bltaEnveloping)), nil, roots, nil, signature.ValidationData{}, later,
			want{validation.TotalFailed, validation.SigCryptoFailure, "B-LTA", validation.ByValidationTime, ""}},
		{"B-LTA, unknown CA", blta, document, []*x509.Certificate{other.h.Root.Cert}, nil, signature.ValidationData{}, later,
			want{validation.Indeterminate, validation.NoCertificateChainFound, "B-LTA", validation.ByValidationTime, ""}},
		{"B-T, status issued in the time-stamp's second (offline CRL in Extra)", bt, document, roots, nil, sameSecond, later, passed("B-T")},
		// EN 319 102-1 §5.2.5 freshness, the same for CAdES and PAdES: a CRL issued
		// before the time-stamp counts while its nextUpdate has not passed.
		{"B-T, CRLs issued before the signing, still current at the time-stamp (offline)", bt, document, roots, nil, crlsAt(t, f, f.now.Add(-6*time.Hour)), later, passed("B-T")},
		{"B-T, CRLs outdated at the time-stamp (offline)", bt, document, roots, nil, crlsAt(t, f, f.now.Add(-30*time.Hour)), later,
			want{validation.Indeterminate, validation.TryLater, "B-T", validation.ByTimeStamp, ""}},
		{"B-T, revoked after the time-stamp (offline CRL in Extra)", bt, document, roots, nil, revokedLater, later,
			want{validation.TotalPassed, "", "B-T", validation.ByTimeStamp, "revoked at"}},
		{"B-T, revoked before the signing time (offline CRL in Extra)", bt, document, roots, nil, revokedBefore, later,
			want{validation.Indeterminate, validation.RevokedNoPOE, "B-T", validation.ByTimeStamp, ""}},
		{"B-T, revoked before the signing time (live)", bt, document, roots, revokedAt(holder, genTime.Add(-time.Minute)), signature.ValidationData{}, later,
			want{validation.Indeterminate, validation.RevokedNoPOE, "B-T", validation.ByTimeStamp, ""}},
		{"B-T, status data forged under the CA's name", bt, document, roots, nil, forged, later,
			want{validation.Indeterminate, validation.TryLater, "B-T", validation.ByTimeStamp, ""}},
		{"time-stamped after expiry", afterExpiry, nil, []*x509.Certificate{old.h.Root.Cert}, status{}, signature.ValidationData{}, testpki.Now,
			want{validation.Indeterminate, validation.OutOfBoundsNoPOE, "B-T", validation.ByTimeStamp, ""}},
		{"time-stamped before expiry, validated after", beforeExpiry, nil, []*x509.Certificate{old.h.Root.Cert}, status{}, signature.ValidationData{}, testpki.Now,
			want{validation.TotalPassed, "", "B-T", validation.ByTimeStamp, ""}},
		{"time-stamp from an untrusted TSA: the time stays claimed", f.sign(t, true, signature.BT, other.tsa), document, roots, status{}, signature.ValidationData{}, later,
			want{validation.TotalPassed, "", "B-T", validation.ByValidationTime, "does not chain to a trusted root"}},
		{"B-LTA with an embedded CRL altered: the archive time-stamp no longer holds", flip(t, blta, sd.CRLs[0]), document, roots, status{}, signature.ValidationData{}, later,
			want{validation.TotalPassed, "", "B-LTA", validation.ByTimeStamp, "archive-time-stamp 1 ignored: ats-hash-index-v3 names an element"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := validation.Validate(t.Context(), tc.sig, tc.content, validation.Options{Roots: tc.roots, Status: tc.status, Extra: tc.extra, Now: tc.now})
			js, _ := json.MarshalIndent(r, "", "  ")
			if r.Indication != tc.want.ind || r.SubIndication != tc.want.sub {
				t.Fatalf("got %s/%s, want %s/%s\n%s", r.Indication, r.SubIndication, tc.want.ind, tc.want.sub, js)
			}
			if r.Level != tc.want.level || r.ProvenBy != tc.want.provenBy {
				t.Errorf("level %s proven by %s, want %s by %s\n%s", r.Level, r.ProvenBy, tc.want.level, tc.want.provenBy, js)
			}
			if tc.want.warning != "" && !strings.Contains(strings.Join(r.Warnings, "\n"), tc.want.warning) {
				t.Errorf("no warning %q\n%s", tc.want.warning, js)
			}
			if r.Level == "B-LTA" && r.Indication == validation.TotalPassed && tc.want.warning == "" {
				if len(r.ArchiveTimeStamps) != 1 || !r.ArchiveTimeStamps[0].Trusted || r.ArchiveTimeStamps[0].Ignored != "" {
					t.Errorf("archive time-stamps %+v", r.ArchiveTimeStamps)
				}
			}
		})
	}
}

// sigValue is the signature value of a signature's only signer.
func sigValue(t testing.TB, sig []byte) []byte {
	t.Helper()
	sd, err := signature.Parse(sig)
	if err != nil {
		t.Fatal(err)
	}
	return sd.Signers[0].Signature
}

// BenchmarkValidateCAdESBLT: a detached B-LT validated offline from its
// embedded certificates, CRL and OCSP responses (no live status source).
//
//	go test -run '^$' -bench ValidateCAdESBLT -benchmem ./internal/validation/
func BenchmarkValidateCAdESBLT(b *testing.B) {
	f := newFixture(b)
	sig := f.signLT(b, true, signature.BLT)
	opts := validation.Options{Roots: []*x509.Certificate{f.h.Root.Cert}, Now: f.now.Add(time.Hour)}
	for b.Loop() {
		if r := validation.Validate(b.Context(), sig, document, opts); r.Indication != validation.TotalPassed {
			b.Fatalf("%s/%s: %s", r.Indication, r.SubIndication, r.Reason)
		}
	}
}
