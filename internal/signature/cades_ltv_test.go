package signature_test

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tawthiq/tawthiq/internal/errkind"
	"github.com/tawthiq/tawthiq/internal/keys"
	"github.com/tawthiq/tawthiq/internal/law"
	"github.com/tawthiq/tawthiq/internal/signature"
	"github.com/tawthiq/tawthiq/internal/testpki"
)

func (f *fixture) ltOpts(detached bool, level signature.Level, src signature.RevocationSource) signature.Options {
	o := f.opts(detached, level)
	o.Revocation, o.CACerts = src, []*x509.Certificate{f.h.Root.Cert}
	return o
}

// TestLongTermLevels_L425: B-LT carries every certificate of the signer's and
// the TSA's paths with their CRLs and OCSP responses (RFC 5940); B-LTA adds an
// archive-time-stamp-v3 with its ats-hash-index-v3; openssl cms -verify
// accepts both, detached and enveloping.
func TestLongTermLevels_L425(t *testing.T) {
	f := newFixture(t, keys.ECDSAP256)
	for _, level := range []signature.Level{signature.BLT, signature.BLTA} {
		for _, detached := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s/detached=%v", level, detached), func(t *testing.T) {
				src := &testpki.RevocationSource{H: f.h, At: f.now.Add(2 * time.Second), OCSP: true}
				sig, err := signature.SignCAdES(t.Context(), document, f.signer, f.chain, f.ltOpts(detached, level, src))
				if err != nil {
					t.Fatal(err)
				}
				sd, err := signature.Parse(sig)
				if err != nil {
					t.Fatal(err)
				}
				// Signer and TSA by OCSP (delegated responder, root), the signature CA by the root's CRL.
				if len(sd.OCSPs) != 2 || len(sd.CRLs) != 1 || len(sd.RevocationChoices) != 3 {
					t.Errorf("%d OCSP responses, %d CRLs, %d choices", len(sd.OCSPs), len(sd.CRLs), len(sd.RevocationChoices))
				}
				for _, c := range []*x509.Certificate{f.chain[0], f.chain[1], f.h.Root.Cert, f.h.TSA.Cert} {
					if !containsCert(sd.Certificates, c) {
						t.Errorf("certificates lack %s", c.Subject.CommonName)
					}
				}
				si := sd.Signers[0]
				wantATS := 0
				if level == signature.BLTA {
					wantATS = 1
				}
				if len(si.TimeStampTokens) != 1 || len(si.ArchiveTimeStamps) != wantATS {
					t.Fatalf("%d signature time-stamps, %d archive time-stamps", len(si.TimeStampTokens), len(si.ArchiveTimeStamps))
				}
				if wantATS == 1 && len(si.ArchiveTimeStamps[0].HashIndex) == 0 {
					t.Error("the archive time-stamp has no ats-hash-index-v3")
				}
				var data string
				if detached {
					data = f.write(t, "data", document)
				}
				if out, err := f.cmsVerify(t, sig, data); err != nil || !strings.Contains(out, "Verification successful") {
					t.Fatalf("openssl cms -verify: %v\n%s", err, out)
				}
			})
		}
	}
}

// TestArchiveTimeStampInput: the archive time-stamp binds the content and
// every indexed element: a changed document or a dropped CRL breaks it.
func TestArchiveTimeStampInput(t *testing.T) {
	f := newFixture(t, keys.ECDSAP256)
	src := &testpki.RevocationSource{H: f.h, At: f.now.Add(2 * time.Second)}
	sig, err := signature.SignCAdES(t.Context(), document, f.signer, f.chain, f.ltOpts(true, signature.BLTA, src))
	if err != nil {
		t.Fatal(err)
	}
	sd, err := signature.Parse(sig)
	if err != nil {
		t.Fatal(err)
	}
	si := &sd.Signers[0]
	ats := si.ArchiveTimeStamps[0]
	good, err := signature.ArchiveTimeStampInput(sd, si, ats.HashIndex, crypto.SHA256, document)
	if err != nil || !bytes.HasPrefix(good, sd.ContentTypeDER) || !bytes.HasSuffix(good, ats.HashIndex) {
		t.Fatalf("input %x: %v", good, err)
	}
	other, err := signature.ArchiveTimeStampInput(sd, si, ats.HashIndex, crypto.SHA256, []byte("another document"))
	if err != nil || bytes.Equal(other, good) {
		t.Fatal("the input does not depend on the document")
	}
	sd.RevocationChoices = sd.RevocationChoices[:1]
	if _, err := signature.ArchiveTimeStampInput(sd, si, ats.HashIndex, crypto.SHA256, document); err == nil {
		t.Fatal("a dropped CRL went unnoticed")
	}
}

// TestLongTermRefusals_L25: B-LT refuses a signer revoked by the very data it
// would embed, and data it cannot authenticate; CheckNotRevoked says the same.
func TestLongTermRefusals_L25(t *testing.T) {
	f := newFixture(t, keys.ECDSAP256)
	other := newFixture(t, keys.ECDSAP256)
	at := f.now.Add(2 * time.Second)
	holder := f.chain[0].SerialNumber.String()
	for _, tc := range []struct {
		name string
		src  *testpki.RevocationSource
		kind errkind.Kind
		rule law.ID
	}{
		{"revoked (OCSP)", &testpki.RevocationSource{H: f.h, At: at, OCSP: true, Revoked: map[string]time.Time{holder: f.now.Add(-time.Hour)}}, errkind.Invalid, law.L25},
		{"revoked (CRL)", &testpki.RevocationSource{H: f.h, At: at, Revoked: map[string]time.Time{holder: f.now.Add(-time.Hour)}}, errkind.Invalid, law.L25},
		{"signature CA revoked", &testpki.RevocationSource{H: f.h, At: at, Revoked: map[string]time.Time{f.chain[1].SerialNumber.String(): f.now.Add(-time.Hour)}}, errkind.Invalid, law.L25},
		{"data signed by another CSP's keys under the same names", &testpki.RevocationSource{H: other.h, At: at}, errkind.Unavailable, law.L25},
		{"stale data", &testpki.RevocationSource{H: f.h, At: f.now.Add(-48 * time.Hour)}, errkind.Unavailable, law.L25},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := signature.SignCAdES(t.Context(), document, f.signer, f.chain, f.ltOpts(true, signature.BLT, tc.src))
			if e := errkind.As(err); e == nil || e.Kind != tc.kind || e.Rule != tc.rule {
				t.Fatalf("SignCAdES: %v (%+v)", err, e)
			}
			err = signature.CheckNotRevoked(t.Context(), append(f.chain, f.h.Root.Cert), tc.src, at)
			if e := errkind.As(err); e == nil || e.Kind != tc.kind || e.Rule != tc.rule {
				t.Fatalf("CheckNotRevoked: %v", err)
			}
		})
	}
	good := &testpki.RevocationSource{H: f.h, At: at, OCSP: true}
	if err := signature.CheckNotRevoked(t.Context(), append(f.chain, f.h.Root.Cert), good, at); err != nil {
		t.Fatalf("a good chain: %v", err)
	}
	if err := signature.CheckNotRevoked(t.Context(), f.chain, nil, at); errkind.As(err) == nil {
		t.Fatal("no source, no refusal")
	}
}

func containsCert(ders [][]byte, c *x509.Certificate) bool {
	for _, d := range ders {
		if bytes.Equal(d, c.Raw) {
			return true
		}
	}
	return false
}
