package validation_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"encoding/asn1"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tawthiq/tawthiq/internal/clock"
	"github.com/tawthiq/tawthiq/internal/keys"
	"github.com/tawthiq/tawthiq/internal/law"
	"github.com/tawthiq/tawthiq/internal/signature"
	"github.com/tawthiq/tawthiq/internal/testpki"
	"github.com/tawthiq/tawthiq/internal/tsa"
	"github.com/tawthiq/tawthiq/internal/validation"
)

var testPolicy = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 61234, 1, 2}

var document = []byte("عقد بيع — contrat de vente de 20 000 dirhams, signé électroniquement (L-443)\n")

// memStore is a tsa.Store that forgets.
type memStore struct{}

func (memStore) RecordTimestamp(context.Context, tsa.Record) error { return nil }

// fixture is a hierarchy, a holder certified by its signature CA and a real TSA.
type fixture struct {
	h      *testpki.Hierarchy
	signer crypto.Signer
	chain  []*x509.Certificate
	now    time.Time // the signing time; the TSA's clock is 1.5 s later
	tsa    *tsa.Service
}

func newFixture(t testing.TB, opts ...testpki.Option) *fixture {
	t.Helper()
	h := testpki.New(t, opts...)
	k, err := keys.GenerateThrowaway(keys.ECDSAP256)
	if err != nil {
		t.Fatal(err)
	}
	holder := h.Issue(t, nil, h.NaturalRequest(t, testpki.Profile(t, "natural-qualified"), k.Public()))
	f := &fixture{h: h, signer: k, chain: []*x509.Certificate{holder.Cert, h.Signature.Cert}, now: h.Now.Add(time.Hour)}
	f.tsa, err = tsa.New(tsa.Config{Signer: h.TSA.Signer, Cert: h.TSA.Cert, Policy: testPolicy, Accuracy: time.Second,
		Qualified: true, Clock: clock.NewFake(f.now.Add(1500 * time.Millisecond)),
		Sync: tsa.Fixed{Offset: time.Millisecond, Known: true}, Store: memStore{}})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) sign(t testing.TB, detached bool, level signature.Level, stamper signature.Stamper) []byte {
	t.Helper()
	if stamper == nil {
		stamper = f.tsa
	}
	sig, err := signature.SignCAdES(context.Background(), document, f.signer, f.chain,
		signature.Options{Detached: detached, Level: level, Stamper: stamper, Now: func() time.Time { return f.now }})
	if err != nil {
		t.Fatal(err)
	}
	return sig
}

// status is a fake StatusSource: every certificate is known good unless listed.
type status struct {
	revoked map[string]time.Time // by serial
	unknown bool
}

func (s status) RevocationStatus(cert, _ *x509.Certificate, _ time.Time) (bool, time.Time, bool) {
	if s.unknown {
		return false, time.Time{}, false
	}
	at, ok := s.revoked[cert.SerialNumber.String()]
	return ok, at, true
}

func revokedAt(c *x509.Certificate, at time.Time) status {
	return status{revoked: map[string]time.Time{c.SerialNumber.String(): at}}
}

func conclusion(r validation.Report, id law.ID) validation.Conclusion {
	for _, c := range r.Conclusions {
		if c.Rule == id {
			return c
		}
	}
	return validation.Conclusion{Rule: id, Why: "missing"}
}

// TestCorpus: each case with the indication EN 319 102-1 gives it.
func TestCorpus(t *testing.T) {
	f := newFixture(t)
	other := newFixture(t) // a second CSP, absent from Roots
	old := newFixture(t, testpki.WithNow(testpki.Now.Add(-3*365*24*time.Hour)))
	roots := []*x509.Certificate{f.h.Root.Cert}
	good := status{}
	later := f.now.Add(2 * time.Hour) // the validation time

	bb := f.sign(t, false, signature.BB, nil)
	btDetached := f.sign(t, true, signature.BT, nil)
	btEnveloping := f.sign(t, false, signature.BT, nil)

	changedDoc := bytes.Clone(document)
	changedDoc[len(changedDoc)-2] ^= 0x01
	changedEnveloped := bytes.Clone(bb)
	i := bytes.Index(changedEnveloped, document)
	changedEnveloped[i+len(document)-2] ^= 0x01

	sd, err := signature.Parse(bb)
	if err != nil {
		t.Fatal(err)
	}
	badSig := bytes.Clone(bb)
	j := bytes.Index(badSig, sd.Signers[0].Signature)
	badSig[j+len(sd.Signers[0].Signature)-1] ^= 0x01

	// The same holder, stamped by the other CSP's TSA, which Roots do not trust.
	untrustedTSA := f.sign(t, true, signature.BT, other.tsa)

	holder := f.chain[0]
	type want struct {
		ind      validation.Indication
		sub      validation.SubIndication
		provenBy validation.TimeSource
		l425     bool
		l4173    bool
	}
	passedBT := want{validation.TotalPassed, "", validation.ByTimeStamp, true, true}
	passedBB := want{validation.TotalPassed, "", validation.ByValidationTime, false, true}
	tests := []struct {
		name    string
		sig     []byte
		content []byte
		roots   []*x509.Certificate
		status  validation.StatusSource
		now     time.Time
		want    want
	}{
		{"untouched B-B enveloping", bb, nil, roots, good, later, passedBB},
		{"untouched B-T detached", btDetached, document, roots, good, later, passedBT},
		{"untouched B-T enveloping", btEnveloping, nil, roots, good, later, passedBT},
		{"one byte of the detached document changed", btDetached, changedDoc, roots, good, later,
			want{validation.TotalFailed, validation.HashFailure, validation.ByValidationTime, false, false}},
		{"one byte of the enveloped document changed", changedEnveloped, nil, roots, good, later,
			want{validation.TotalFailed, validation.HashFailure, validation.ByValidationTime, false, false}},
		{"signature value altered", badSig, nil, roots, good, later,
			want{validation.TotalFailed, validation.SigCryptoFailure, validation.ByValidationTime, false, false}},
		{"unknown CA", other.sign(t, false, signature.BB, nil), nil, roots, good, later,
			want{validation.Indeterminate, validation.NoCertificateChainFound, validation.ByValidationTime, false, false}},
		{"revoked before the signing time (B-T)", btDetached, document, roots, revokedAt(holder, f.now.Add(-time.Minute)), later,
			want{validation.Indeterminate, validation.RevokedNoPOE, validation.ByTimeStamp, false, false}},
		{"revoked before the validation time (B-B)", bb, nil, roots, revokedAt(holder, f.now.Add(time.Hour)), later,
			want{validation.Indeterminate, validation.RevokedNoPOE, validation.ByValidationTime, false, false}},
		{"revoked after the time-stamp: POE before revocation", btDetached, document, roots, revokedAt(holder, f.now.Add(time.Hour)), later, passedBT},
		{"issuing CA revoked before the signing time", btDetached, document, roots, revokedAt(f.h.Signature.Cert, f.now.Add(-time.Minute)), later,
			want{validation.Indeterminate, validation.RevokedCANoPOE, validation.ByTimeStamp, false, false}},
		{"signed after expiry (B-B validated after NotAfter)", old.sign(t, false, signature.BB, nil), nil, []*x509.Certificate{old.h.Root.Cert}, good, testpki.Now,
			want{validation.Indeterminate, validation.OutOfBoundsNoPOE, validation.ByValidationTime, false, false}},
		{"B-T time-stamped before expiry, validated after", old.sign(t, true, signature.BT, nil), document, []*x509.Certificate{old.h.Root.Cert}, good, testpki.Now, passedBT},
		{"time-stamp from an untrusted TSA", untrustedTSA, document, roots, good, later, passedBB},
		{"status unknown", bb, nil, roots, status{unknown: true}, later,
			want{validation.Indeterminate, validation.TryLater, validation.ByValidationTime, false, false}},
		{"no status source", bb, nil, roots, nil, later,
			want{validation.Indeterminate, validation.TryLater, validation.ByValidationTime, false, false}},
		{"detached without its document", btDetached, nil, roots, good, later,
			want{validation.Indeterminate, validation.SignedDataNotFound, validation.ByValidationTime, false, false}},
		{"not a signature", []byte("%PDF-1.7"), nil, roots, good, later,
			want{validation.TotalFailed, validation.FormatFailure, validation.ByValidationTime, false, false}},
		{"no roots", bb, nil, nil, good, later,
			want{validation.Indeterminate, validation.NoCertificateChainFound, validation.ByValidationTime, false, false}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := validation.Validate(t.Context(), tc.sig, tc.content, validation.Options{Roots: tc.roots, Status: tc.status, Now: tc.now})
			js, _ := json.MarshalIndent(r, "", "  ")
			if r.Indication != tc.want.ind || r.SubIndication != tc.want.sub {
				t.Fatalf("got %s/%s, want %s/%s\n%s", r.Indication, r.SubIndication, tc.want.ind, tc.want.sub, js)
			}
			if r.ProvenBy != tc.want.provenBy {
				t.Errorf("proven by %s, want %s\n%s", r.ProvenBy, tc.want.provenBy, js)
			}
			if c := conclusion(r, law.L425); c.Holds != tc.want.l425 {
				t.Errorf("L-425 holds=%v (%s), want %v", c.Holds, c.Why, tc.want.l425)
			}
			if c := conclusion(r, law.L417_3); c.Holds != tc.want.l4173 {
				t.Errorf("L-417-3 holds=%v (%s), want %v", c.Holds, c.Why, tc.want.l4173)
			}
			if c := conclusion(r, law.L417_2); c.Holds != (tc.want.ind == validation.TotalPassed) {
				t.Errorf("L-417-2 holds=%v (%s)", c.Holds, c.Why)
			}
			if r.Qualified && r.Indication != validation.TotalPassed {
				t.Error("qualified without TOTAL-PASSED")
			}
		})
	}
}

// TestPassedReport: what a TOTAL-PASSED B-T report says, as JSON.
func TestPassedReport(t *testing.T) {
	f := newFixture(t)
	sig := f.sign(t, true, signature.BT, nil)
	r := validation.Validate(t.Context(), sig, document, validation.Options{Roots: []*x509.Certificate{f.h.Root.Cert},
		Status: status{}, Now: f.now.Add(time.Hour)})
	if r.Indication != validation.TotalPassed || r.Level != "B-T" || !r.Detached {
		t.Fatalf("%+v", r)
	}
	s := r.Signer
	if s == nil || s.GivenName != "Amina" || s.Surname != "El Idrissi" || s.SerialNumber != "IDCMA-AB123456" ||
		s.Serial != fmt.Sprintf("%x", f.chain[0].SerialNumber) {
		t.Errorf("signer %+v", s)
	}
	if !r.ProvenTime.Equal(f.now.Add(1500*time.Millisecond)) || r.ClaimedTime == nil || !r.ClaimedTime.Equal(f.now) {
		t.Errorf("proven %v claimed %v", r.ProvenTime, r.ClaimedTime)
	}
	if r.TimeStamp == nil || !r.TimeStamp.Trusted || !r.TimeStamp.Qualified || r.TimeStamp.Ignored != "" {
		t.Errorf("time-stamp %+v", r.TimeStamp)
	}
	if !r.Qualified || !strings.Contains(r.QualifiedWhy, "approved CSP per configured roots") {
		t.Errorf("qualified %v: %s", r.Qualified, r.QualifiedWhy)
	}
	if len(r.Chain) != 3 {
		t.Errorf("chain %v", r.Chain)
	}
	for _, id := range []law.ID{law.L417_2, law.L20, law.L417_3, law.L425} {
		if c := conclusion(r, id); !c.Holds {
			t.Errorf("%s does not hold: %s", id, c.Why)
		}
	}
	if c := conclusion(r, law.L417_3); !strings.Contains(c.Why, "certain date") {
		t.Errorf("L-417-3: %s", c.Why)
	}
	js, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(js, &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"indication", "reason", "signer", "provenTime", "provenBy", "claimedSigningTime", "timeStamp", "qualified", "qualifiedReason", "conclusions"} {
		if _, ok := m[k]; !ok {
			t.Errorf("JSON lacks %q: %s", k, js)
		}
	}
}

// TestUntrustedTSAReported: an untrusted TSA's token is ignored and the report says so.
func TestUntrustedTSAReported(t *testing.T) {
	f, other := newFixture(t), newFixture(t)
	sig := f.sign(t, false, signature.BT, other.tsa)
	now := f.now.Add(time.Hour)
	r := validation.Validate(t.Context(), sig, nil, validation.Options{Roots: []*x509.Certificate{f.h.Root.Cert}, Status: status{}, Now: now})
	if r.Indication != validation.TotalPassed || r.ProvenBy != validation.ByValidationTime || !r.ProvenTime.Equal(now) {
		t.Fatalf("%s/%s proven %v by %s", r.Indication, r.SubIndication, r.ProvenTime, r.ProvenBy)
	}
	if r.TimeStamp == nil || r.TimeStamp.Trusted || !strings.Contains(r.TimeStamp.Ignored, "trusted root") || len(r.Warnings) == 0 {
		t.Errorf("time-stamp %+v warnings %v", r.TimeStamp, r.Warnings)
	}
	if c := conclusion(r, law.L425); c.Holds || !strings.Contains(c.Why, "only claimed") {
		t.Errorf("L-425: %+v", c)
	}
}

// TestOpenSSLAgrees: openssl cms -verify, an independent judge, agrees with a
// TOTAL-PASSED and with a HASH_FAILURE.
func TestOpenSSLAgrees(t *testing.T) {
	openssl, err := exec.LookPath("openssl")
	if err != nil {
		if os.Getenv("TAWTHIQ_REQUIRE_OPENSSL") == "1" {
			t.Fatal("openssl not installed and TAWTHIQ_REQUIRE_OPENSSL=1")
		}
		t.Skip("openssl not installed: skipping the independent check (apt-get install openssl)")
	}
	f := newFixture(t)
	dir := t.TempDir()
	root := testpki.WriteCerts(t, dir, "root.pem", f.h.Root.Cert)
	sig := f.sign(t, true, signature.BT, nil)
	sigPath := filepath.Join(dir, "sig.p7s")
	if err := os.WriteFile(sigPath, sig, 0o600); err != nil {
		t.Fatal(err)
	}
	changed := bytes.Clone(document)
	changed[0] ^= 0x01
	opts := validation.Options{Roots: []*x509.Certificate{f.h.Root.Cert}, Status: status{}, Now: f.now.Add(time.Hour)}
	for _, tc := range []struct {
		name    string
		content []byte
		want    validation.Indication
		sub     validation.SubIndication
	}{
		{"untouched", document, validation.TotalPassed, ""},
		{"one byte changed", changed, validation.TotalFailed, validation.HashFailure},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := validation.Validate(t.Context(), sig, tc.content, opts)
			if r.Indication != tc.want || r.SubIndication != tc.sub {
				t.Fatalf("we say %s/%s (%s), want %s/%s", r.Indication, r.SubIndication, r.Reason, tc.want, tc.sub)
			}
			data := filepath.Join(dir, "data")
			if err := os.WriteFile(data, tc.content, 0o600); err != nil {
				t.Fatal(err)
			}
			out, err := exec.Command(openssl, "cms", "-verify", "-binary", "-inform", "DER", "-in", sigPath, "-content", data,
				"-CAfile", root, "-purpose", "any", "-cades", "-attime", fmt.Sprint(f.now.Add(time.Hour).Unix()),
				"-out", filepath.Join(dir, "out.bin")).CombinedOutput()
			opensslOK := err == nil && strings.Contains(string(out), "Verification successful")
			if opensslOK != (tc.want == validation.TotalPassed) {
				t.Fatalf("openssl disagrees (ok=%v, we say %s):\n%s", opensslOK, r.Indication, out)
			}
		})
	}
}

// TestPresumptions: which L-417-3 presumption applies: a seal is qualified too
// (QcType eseal); a time-stamp without the EN 319 422 statement proves the date
// (L-425) but gives no certain date under L-417-3.
func TestPresumptions(t *testing.T) {
	f := newFixture(t)
	plain, err := tsa.New(tsa.Config{Signer: f.h.TSA.Signer, Cert: f.h.TSA.Cert, Policy: testPolicy, Accuracy: time.Second,
		Clock: clock.NewFake(f.now.Add(time.Second)), Sync: tsa.Fixed{Offset: time.Millisecond, Known: true}, Store: memStore{}})
	if err != nil {
		t.Fatal(err)
	}
	k := testpki.Key(t)
	seal := f.h.Issue(t, nil, f.h.SealRequest(t, testpki.Profile(t, "legal-qualified-seal"), k.Public()))
	sealer := &fixture{h: f.h, signer: k, chain: []*x509.Certificate{seal.Cert, f.h.Seal.Cert}, now: f.now, tsa: f.tsa}
	opts := validation.Options{Roots: []*x509.Certificate{f.h.Root.Cert}, Status: status{}, Now: f.now.Add(time.Hour)}

	r := validation.Validate(t.Context(), f.sign(t, false, signature.BT, plain), nil, opts)
	if r.Indication != validation.TotalPassed || r.TimeStamp == nil || r.TimeStamp.Qualified {
		t.Fatalf("%s/%s time-stamp %+v", r.Indication, r.SubIndication, r.TimeStamp)
	}
	if c := conclusion(r, law.L417_3); !c.Holds || !strings.Contains(c.Why, "not qualified") {
		t.Errorf("L-417-3: %+v", c)
	}
	if c := conclusion(r, law.L425); !c.Holds {
		t.Errorf("L-425: %+v", c)
	}

	r = validation.Validate(t.Context(), sealer.sign(t, true, signature.BT, nil), document, opts)
	if r.Indication != validation.TotalPassed || !r.Qualified || !strings.Contains(r.QualifiedWhy, "eseal") {
		t.Fatalf("%s/%s qualified=%v %s", r.Indication, r.SubIndication, r.Qualified, r.QualifiedWhy)
	}
	if r.Signer.OrganizationIdentifier != "NTRMA-654321" || r.Signer.Organization != "Société Exemple SARL" {
		t.Errorf("signer %+v", r.Signer)
	}
	if c := conclusion(r, law.L417_2); !c.Holds || !strings.Contains(c.Why, "Société Exemple SARL") {
		t.Errorf("L-417-2: %+v", c)
	}
}
