package validation_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"

	"github.com/tawthiq/tawthiq/internal/issuance"
	"github.com/tawthiq/tawthiq/internal/keys"
	"github.com/tawthiq/tawthiq/internal/signature"
	"github.com/tawthiq/tawthiq/internal/signature/cms"
	"github.com/tawthiq/tawthiq/internal/signature/pdf"
	"github.com/tawthiq/tawthiq/internal/signature/pdf/pdftest"
	"github.com/tawthiq/tawthiq/internal/testpki"
	"github.com/tawthiq/tawthiq/internal/validation"
)

// twoStampers answers the content time-stamp (asked first) from content and
// the signature time-stamp from sig: two clocks, to order the two at will.
type twoStampers struct {
	content, sig signature.Stamper
	calls        int
}

func (s *twoStampers) StampDigest(ctx context.Context, d [32]byte) ([]byte, error) {
	s.calls++
	if s.calls == 1 {
		return s.content.StampDigest(ctx, d)
	}
	return s.sig.StampDigest(ctx, d)
}

// signWithContentTS signs document at level with a content time-stamp from
// content, and a signature time-stamp from f's TSA when level is B-T.
func (f *fixture) signWithContentTS(t testing.TB, level signature.Level, content signature.Stamper) []byte {
	t.Helper()
	sig, err := signature.SignCAdES(t.Context(), document, f.signer, f.chain, signature.Options{Detached: true, Level: level,
		Stamper: &twoStampers{content: content, sig: f.tsa}, ContentTimeStamp: true, Now: func() time.Time { return f.now }})
	if err != nil {
		t.Fatal(err)
	}
	return sig
}

// TestContentTimeStamp_L425: a signed content-time-stamp (EN 319 122-1 §5.2.8)
// proves the signature was made after its genTime. With the signer's
// certificate revoked before it, the revoked key made the signature:
// TOTAL-FAILED/REVOKED, where a signature time-stamp alone leaves
// REVOKED_NO_POE. A content time-stamp later than the signature's is
// TIMESTAMP_ORDER_FAILURE; one from an untrusted TSA proves nothing.
func TestContentTimeStamp_L425(t *testing.T) {
	f := newFixture(t)
	other := newFixture(t)
	holder := f.chain[0]
	genTime := f.now.Add(1500 * time.Millisecond) // the signature time-stamp's
	early := f.now.Add(-10 * time.Minute)
	acc := time.Second                                                  // the TSAs' stated accuracy: a content time-stamp proves "after genTime - acc"
	withCTS := f.signWithContentTS(t, signature.BT, f.tsa)              // both at genTime
	earlyCTS := f.signWithContentTS(t, signature.BT, f.tsaAt(t, early)) // content stamped 10 min before
	lateCTS := f.signWithContentTS(t, signature.BT, f.tsaAt(t, f.now.Add(time.Hour)))
	untrustedCTS := f.signWithContentTS(t, signature.BT, other.tsa)
	bbCTS := f.signWithContentTS(t, signature.BB, f.tsa)
	later := f.now.Add(2 * time.Hour)
	for _, tc := range []struct {
		name        string
		sig         []byte
		status      validation.StatusSource
		ind         validation.Indication
		sub         validation.SubIndication
		signedAfter time.Time // zero: no usable content time-stamp
	}{
		{"untouched", withCTS, status{}, validation.TotalPassed, "", genTime.Add(-acc)},
		{"B-B with a content time-stamp: dated after, not before", bbCTS, status{}, validation.TotalPassed, "", genTime.Add(-acc)},
		{"revoked before the content time-stamp", withCTS, revokedAt(holder, f.now.Add(-time.Minute)), validation.TotalFailed, validation.Revoked, genTime.Add(-acc)},
		{"B-B revoked before the content time-stamp", bbCTS, revokedAt(holder, f.now.Add(-time.Minute)), validation.TotalFailed, validation.Revoked, genTime.Add(-acc)},
		// Revoked in the second before genTime-acc could be after the signing: no proof either way.
		{"revoked within the content time-stamp's accuracy", withCTS, revokedAt(holder, f.now), validation.Indeterminate, validation.RevokedNoPOE, genTime.Add(-acc)},
		{"revoked between the content and signature time-stamps", earlyCTS, revokedAt(holder, f.now.Add(-5*time.Minute)),
			validation.Indeterminate, validation.RevokedNoPOE, early.Add(-acc)},
		{"revoked after the signature time-stamp", earlyCTS, revokedAt(holder, f.now.Add(time.Hour)), validation.TotalPassed, "", early.Add(-acc)},
		{"content stamped after the signature", lateCTS, status{}, validation.Indeterminate, validation.TimestampOrderFailure, f.now.Add(time.Hour - acc)},
		{"content time-stamp from an untrusted TSA", untrustedCTS, revokedAt(holder, f.now.Add(-time.Minute)),
			validation.Indeterminate, validation.RevokedNoPOE, time.Time{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := validation.Validate(t.Context(), tc.sig, document, validation.Options{Roots: []*x509.Certificate{f.h.Root.Cert},
				Status: tc.status, Now: later})
			if r.Indication != tc.ind || r.SubIndication != tc.sub {
				t.Fatalf("got %s/%s (%s), want %s/%s", r.Indication, r.SubIndication, r.Reason, tc.ind, tc.sub)
			}
			if !r.SignedAfter.Equal(tc.signedAfter) || len(r.ContentTimeStamps) != 1 {
				t.Fatalf("signed after %s with %d content time-stamps, want %s and 1", r.SignedAfter, len(r.ContentTimeStamps), tc.signedAfter)
			}
			if tc.signedAfter.IsZero() && !strings.Contains(strings.Join(r.Warnings, "\n"), "content-time-stamp 1 ignored") {
				t.Fatalf("no warning for the ignored content time-stamp: %q", r.Warnings)
			}
		})
	}

	// The signer's claim follows the content time-stamp (it was signed after it), to the second.
	r := validation.Validate(t.Context(), withCTS, document, validation.Options{Roots: []*x509.Certificate{f.h.Root.Cert}, Status: status{}, Now: later})
	if r.ClaimedTime == nil || r.ClaimedTime.Before(genTime.Truncate(time.Second)) || len(r.Warnings) != 0 {
		t.Fatalf("claimed signing time %v, content time-stamp at %s, warnings %q", r.ClaimedTime, genTime, r.Warnings)
	}

	// Independent judges: openssl cms accepts the signature with its signed
	// content-time-stamp, and openssl ts finds the token stamps the document.
	openssl := testpki.NeedTool(t, "openssl", "openssl")
	dir := t.TempDir()
	root := testpki.WriteCerts(t, dir, "root.pem", f.h.Root.Cert)
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	sigPath, data := write("sig.p7s", withCTS), write("data", document)
	if out, err := exec.Command(openssl, "cms", "-verify", "-binary", "-inform", "DER", "-in", sigPath, "-content", data,
		"-CAfile", root, "-purpose", "any", "-cades", "-attime", fmt.Sprint(later.Unix()), "-out", filepath.Join(dir, "out")).CombinedOutput(); err != nil {
		t.Fatalf("openssl cms refuses a signature with a content-time-stamp: %v\n%s", err, out)
	}
	sd, err := signature.Parse(withCTS)
	if err != nil {
		t.Fatal(err)
	}
	tok := write("cts.tsr", sd.Signers[0].ContentTimeStamps[0])
	tsaChain := testpki.WriteCerts(t, dir, "tsa.pem", f.h.TSA.Cert)
	verify := func(data string) error {
		return exec.Command(openssl, "ts", "-verify", "-token_in", "-in", tok, "-data", data, "-CAfile", root,
			"-untrusted", tsaChain, "-attime", fmt.Sprint(later.Unix())).Run()
	}
	if err := verify(data); err != nil {
		t.Fatalf("openssl ts -verify: the content time-stamp does not stamp the document: %v", err)
	}
	if err := verify(write("other", []byte("another document"))); err == nil {
		t.Fatal("openssl ts -verify accepts the content time-stamp for another document")
	}
}

// TestPAdESContentTimeStamp_L425: the same proof in a PDF signature, read by
// pdfsig as a valid signature.
func TestPAdESContentTimeStamp_L425(t *testing.T) {
	f := newFixture(t)
	signed, err := signature.SignPAdES(t.Context(), pdftest.Document("Contrat", 0, false), f.signer, f.chain,
		signature.PAdESOptions{Level: signature.BT, Stamper: f.tsa, ContentTimeStamp: true, Now: func() time.Time { return f.now }})
	if err != nil {
		t.Fatal(err)
	}
	opts := validation.Options{Roots: []*x509.Certificate{f.h.Root.Cert}, Now: f.now.Add(time.Hour)}
	for _, tc := range []struct {
		name   string
		status validation.StatusSource
		ind    validation.Indication
		sub    validation.SubIndication
	}{
		{"untouched", status{}, validation.TotalPassed, ""},
		{"revoked before the content time-stamp", revokedAt(f.chain[0], f.now.Add(-time.Minute)), validation.TotalFailed, validation.Revoked},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts.Status = tc.status
			r := validation.ValidatePAdES(t.Context(), signed, opts)
			if len(r.Signatures) != 1 {
				t.Fatalf("%d signatures", len(r.Signatures))
			}
			s := r.Signatures[0].Report
			if s.Indication != tc.ind || s.SubIndication != tc.sub || len(s.ContentTimeStamps) != 1 || s.SignedAfter.IsZero() {
				t.Fatalf("got %s/%s (%s), %d content time-stamps, signed after %s; want %s/%s", s.Indication, s.SubIndication, s.Reason,
					len(s.ContentTimeStamps), s.SignedAfter, tc.ind, tc.sub)
			}
		})
	}
	// A B-B dated by a document time-stamp (tawthiq extend) earlier than its
	// content time-stamp: the two contradict, whatever the status says.
	bb, err := signature.SignPAdES(t.Context(), pdftest.Document("Contrat", 0, false), f.signer, f.chain,
		signature.PAdESOptions{Level: signature.BB, Stamper: f.tsaAt(t, f.now.Add(time.Hour)), ContentTimeStamp: true, Now: func() time.Time { return f.now }})
	if err != nil {
		t.Fatal(err)
	}
	bt, err := signature.ExtendPAdES(t.Context(), bb, signature.BT, signature.ExtendOptions{Stamper: f.tsa})
	if err != nil {
		t.Fatal(err)
	}
	opts.Status = revokedAt(f.chain[0], f.now.Add(30*time.Minute))
	r := validation.ValidatePAdES(t.Context(), bt, opts)
	if s := r.Signatures[0].Report; s.Indication != validation.Indeterminate || s.SubIndication != validation.TimestampOrderFailure {
		t.Fatalf("content time-stamp after the document time-stamp: %s/%s (%s)", s.Indication, s.SubIndication, s.Reason)
	}

	pdfsig := testpki.NeedTool(t, "pdfsig", "poppler-utils")
	dir := t.TempDir()
	path := filepath.Join(dir, "signed.pdf")
	if err := os.WriteFile(path, signed, 0o600); err != nil {
		t.Fatal(err)
	}
	nss := testpki.NSSDB(t, dir, testpki.WriteCerts(t, dir, "root.pem", f.h.Root.Cert))
	out, _ := exec.Command(pdfsig, "-nssdir", nss, path).CombinedOutput()
	if !strings.Contains(string(out), "Signature is Valid") {
		t.Fatalf("pdfsig does not find the signature with a content time-stamp valid:\n%s", out)
	}
}

// TestLTGathersContentTSA_L417_3: signing at B-LT, and extending to it, add
// the status data of the content time-stamp's TSA too, here one certified by
// the seal CA, whose CRL nothing else in the file needs.
func TestLTGathersContentTSA_L417_3(t *testing.T) {
	f := newFixture(t)
	k, err := keys.GenerateThrowaway(keys.ECDSAP256)
	if err != nil {
		t.Fatal(err)
	}
	tmpl, err := issuance.CATemplate(f.h.CSP, issuance.CASpec{Name: "tsa-seal", CommonName: "Tawthiq Demo TSU under the seal CA",
		Role: issuance.RoleTSA, Parent: "seal", Validity: 365 * 24 * time.Hour, Serial: testpki.Serial(t), NotBefore: f.h.Now.Add(-time.Hour), PublicKey: k.Public()})
	if err != nil {
		t.Fatal(err)
	}
	sealTSA := testTSA{cert: testpki.Certify(t, tmpl, f.h.Seal, k.Public()).Cert, key: k}
	src := &testpki.RevocationSource{H: f.h, At: f.now.Add(2 * time.Second)}
	cas := []*x509.Certificate{f.h.Root.Cert, f.h.Seal.Cert}
	bySealCA := func(crls [][]byte) bool {
		for _, d := range crls {
			if crl, err := x509.ParseRevocationList(d); err == nil && bytes.Equal(crl.RawIssuer, f.h.Seal.Cert.RawSubject) {
				return true
			}
		}
		return false
	}
	opts := validation.Options{Roots: []*x509.Certificate{f.h.Root.Cert}, Now: f.now.Add(time.Hour)}

	bb := f.signWithContentTS(t, signature.BB, sealTSA.at(t, f.now))
	extended, err := signature.ExtendCAdES(t.Context(), bb, document, signature.BLT, signature.ExtendOptions{Stamper: f.tsa, Revocation: src, CACerts: cas})
	if err != nil {
		t.Fatal(err)
	}
	signed, err := signature.SignCAdES(t.Context(), document, f.signer, f.chain, signature.Options{Detached: true, Level: signature.BLT,
		Stamper: &twoStampers{content: sealTSA.at(t, f.now), sig: f.tsa}, ContentTimeStamp: true, Revocation: src, CACerts: cas,
		Now: func() time.Time { return f.now }})
	if err != nil {
		t.Fatal(err)
	}
	for name, sig := range map[string][]byte{"extended": extended, "signed": signed} {
		sd, err := signature.Parse(sig)
		if err != nil {
			t.Fatal(err)
		}
		if !bySealCA(sd.CRLs) {
			t.Fatalf("%s CAdES B-LT: no CRL of the seal CA, the content time-stamp's TSA's issuer (%d CRLs)", name, len(sd.CRLs))
		}
		r := validation.Validate(t.Context(), sig, document, opts)
		if r.Indication != validation.TotalPassed || r.Level != "B-LT" || len(r.ContentTimeStamps) != 1 || !r.ContentTimeStamps[0].Trusted {
			t.Fatalf("%s, offline: %s/%s level %s, content time-stamps %+v", name, r.Indication, r.SubIndication, r.Level, r.ContentTimeStamps)
		}
	}

	doc, err := signature.SignPAdES(t.Context(), pdftest.Document("Contrat", 0, false), f.signer, f.chain, signature.PAdESOptions{Level: signature.BLT,
		Stamper: &twoStampers{content: sealTSA.at(t, f.now), sig: f.tsa}, ContentTimeStamp: true, Revocation: src, CACerts: cas,
		Now: func() time.Time { return f.now }})
	if err != nil {
		t.Fatal(err)
	}
	pf, err := pdf.Open(doc)
	if err != nil {
		t.Fatal(err)
	}
	dss, err := pf.DSS()
	if err != nil || !bySealCA(dss.CRLs) {
		t.Fatalf("PAdES B-LT: no CRL of the seal CA in the DSS (%d CRLs, %v)", len(dss.CRLs), err)
	}
}

// craftCAdES assembles, outside SignCAdES and its refusals, a detached CAdES
// B-B by f's holder over document, with content-type, message-digest,
// signing-certificate-v2 and the extra signed attributes: what another
// signer's software could make.
func craftCAdES(t testing.TB, f *fixture, extra ...[]byte) []byte {
	t.Helper()
	algID, h, _, err := issuance.SignatureAlgorithmFor(f.signer.Public())
	if err != nil {
		t.Fatal(err)
	}
	d := h.New()
	d.Write(document)
	var ct, md, scv2 cryptobyte.Builder
	ct.AddASN1ObjectIdentifier(cms.OIDData)
	md.AddASN1OctetString(d.Sum(nil))
	cms.AddSigningCertificateV2(&scv2, f.chain[0])
	attrs := [][]byte{attribute(t, cms.OIDContentType, ct.BytesOrPanic()), attribute(t, cms.OIDMessageDigest, md.BytesOrPanic()), scv2.BytesOrPanic()}
	set, err := cms.Set(append(attrs, extra...))
	if err != nil {
		t.Fatal(err)
	}
	sig, err := issuance.SignDigestOf(f.signer, h, set)
	if err != nil {
		t.Fatal(err)
	}
	explicit0 := cbasn1.Tag(0).ContextSpecific().Constructed()
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // ContentInfo
		b.AddASN1ObjectIdentifier(cms.OIDSignedData)
		b.AddASN1(explicit0, func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // SignedData
				b.AddASN1Int64(1)
				b.AddASN1(cbasn1.SET, func(b *cryptobyte.Builder) { cms.AddDigestAlgorithm(b, h) })
				b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { b.AddASN1ObjectIdentifier(cms.OIDData) })
				b.AddASN1(explicit0, func(b *cryptobyte.Builder) { // [0] IMPLICIT certificates
					for _, c := range f.chain {
						b.AddBytes(c.Raw)
					}
				})
				b.AddASN1(cbasn1.SET, func(b *cryptobyte.Builder) {
					b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // SignerInfo
						b.AddASN1Int64(1)
						cms.AddIssuerAndSerial(b, f.chain[0])
						cms.AddDigestAlgorithm(b, h)
						b.AddASN1(explicit0, func(b *cryptobyte.Builder) { b.AddBytes(cms.Contents(set)) })
						b.AddBytes(algID)
						b.AddASN1OctetString(sig)
					})
				})
			})
		})
	})
	return b.BytesOrPanic()
}

func attribute(t testing.TB, oid asn1.ObjectIdentifier, value []byte) []byte {
	t.Helper()
	a, err := cms.Attribute(oid, value)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// contentTSAttr is a content-time-stamp attribute over document made at genTime by f's TSA.
func contentTSAttr(t testing.TB, f *fixture, genTime time.Time) []byte {
	t.Helper()
	tok, err := f.tsaAt(t, genTime).StampDigest(t.Context(), sha256.Sum256(document))
	if err != nil {
		t.Fatal(err)
	}
	return attribute(t, cms.OIDContentTimeStamp, tok)
}

// TestContentTimeStampForeign_L25: signatures another signer's software could
// make. Made by an expired certificate with a content time-stamp after its
// expiry: INDETERMINATE/EXPIRED (EN 319 102-1 §5.3.4 step 5), where the same
// signature stamped before the expiry stays OUT_OF_BOUNDS_NO_POE. Two
// content-time-stamp attributes (several TSAs, EN 319 122-1 §5.2.8) are read,
// the latest bounding the signing.
func TestContentTimeStampForeign_L25(t *testing.T) {
	f := newFixture(t)
	holder := f.chain[0]
	expired := holder.NotAfter.Add(48 * time.Hour)
	if f.h.TSA.Cert.NotAfter.Before(expired) {
		t.Fatal("the fixture's TSA expires before its holder: this test needs it valid after")
	}
	after, before := holder.NotAfter.Add(24*time.Hour), holder.NotAfter.Add(-24*time.Hour)
	opts := validation.Options{Roots: []*x509.Certificate{f.h.Root.Cert}, Status: status{}, Now: expired}
	for _, tc := range []struct {
		name string
		sig  []byte
		now  time.Time
		ind  validation.Indication
		sub  validation.SubIndication
		n    int
		from time.Time
	}{
		{"content stamped after the certificate expired", craftCAdES(t, f, contentTSAttr(t, f, after)), expired,
			validation.Indeterminate, validation.Expired, 1, after},
		{"content stamped before the certificate expired", craftCAdES(t, f, contentTSAttr(t, f, before)), expired,
			validation.Indeterminate, validation.OutOfBoundsNoPOE, 1, before},
		{"no content time-stamp", craftCAdES(t, f), expired, validation.Indeterminate, validation.OutOfBoundsNoPOE, 0, time.Time{}},
		{"two content-time-stamp attributes", craftCAdES(t, f, contentTSAttr(t, f, f.now), contentTSAttr(t, f, f.now.Add(time.Minute))), f.now.Add(time.Hour),
			validation.TotalPassed, "", 2, f.now.Add(time.Minute)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts.Now = tc.now
			r := validation.Validate(t.Context(), tc.sig, document, opts)
			if r.Indication != tc.ind || r.SubIndication != tc.sub {
				t.Fatalf("got %s/%s (%s), want %s/%s", r.Indication, r.SubIndication, r.Reason, tc.ind, tc.sub)
			}
			if want := tc.from.Add(-time.Second); len(r.ContentTimeStamps) != tc.n || (tc.n > 0 && !r.SignedAfter.Equal(want)) {
				t.Fatalf("%d content time-stamps, signed after %s; want %d, %s", len(r.ContentTimeStamps), r.SignedAfter, tc.n, want)
			}
		})
	}
}
