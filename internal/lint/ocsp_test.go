package lint

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"strings"
	"testing"
	"time"

	xocsp "golang.org/x/crypto/ocsp"

	"github.com/tawthiq/tawthiq/internal/errkind"
	"github.com/tawthiq/tawthiq/internal/law"
)

// ocspResponder returns a delegated responder certificate, issued by ca, and its key.
func ocspResponder(t testing.TB, ca *x509.Certificate, caKey crypto.Signer, curve elliptic.Curve, cn string) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	k, err := ecdsa.GenerateKey(curve, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(now.UnixNano()), Subject: pkix.Name{CommonName: cn, Country: []string{"MA"}},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageOCSPSigning},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, k.Public(), caKey)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c, k
}

func TestOCSPResponse_L21Rev(t *testing.T) {
	l, err := New()
	if err != nil {
		t.Fatal(err)
	}
	ca, caKey := issuingCA(t)
	resp, respKey := ocspResponder(t, ca, caKey, elliptic.P256(), "OCSP Responder")
	other, _ := ocspResponder(t, ca, caKey, elliptic.P256(), "Another Responder")
	// x/crypto sets producedAt to now, truncated to the minute.
	this := time.Now().UTC().Truncate(time.Minute).Add(-time.Minute)
	good := xocsp.Response{Status: xocsp.Good, SerialNumber: serial(), ThisUpdate: this,
		NextUpdate: this.Add(law.OCSPValidity), Certificate: resp}

	tests := []struct {
		name      string
		modify    func(tmpl *xocsp.Response, signerCert **x509.Certificate)
		tamper    func(der []byte) []byte
		wantInDet string // a substring of the refusal; empty: the response passes
	}{
		{name: "good", modify: func(*xocsp.Response, **x509.Certificate) {}},
		{name: "revoked", modify: func(r *xocsp.Response, _ **x509.Certificate) {
			r.Status, r.RevokedAt, r.RevocationReason = xocsp.Revoked, this.Add(-time.Hour), xocsp.KeyCompromise
		}},
		{name: "unknown without nextUpdate", modify: func(r *xocsp.Response, _ **x509.Certificate) {
			r.Status, r.NextUpdate = xocsp.Unknown, time.Time{}
		}},
		{name: "thisUpdate after producedAt", modify: func(r *xocsp.Response, _ **x509.Certificate) {
			r.ThisUpdate = this.Add(2 * time.Hour)
			r.NextUpdate = r.ThisUpdate.Add(time.Hour)
		}, wantInDet: "e_this_update_not_after_produced_at"},
		{name: "nextUpdate beyond law.OCSPValidity", modify: func(r *xocsp.Response, _ **x509.Certificate) {
			r.NextUpdate = r.ThisUpdate.Add(2 * law.OCSPValidity)
		}, wantInDet: "e_ma_ocsp_next_update_within_validity"},
		{name: "nextUpdate before thisUpdate", modify: func(r *xocsp.Response, _ **x509.Certificate) {
			r.NextUpdate = r.ThisUpdate.Add(-time.Minute)
		}, wantInDet: "e_ma_ocsp_next_update_within_validity"},
		{name: "good without nextUpdate", modify: func(r *xocsp.Response, _ **x509.Certificate) {
			r.NextUpdate = time.Time{}
		}, wantInDet: "e_ma_ocsp_next_update_within_validity"},
		{name: "signature algorithm does not match the P-256 key", modify: func(r *xocsp.Response, _ **x509.Certificate) {
			r.SignatureAlgorithm = x509.ECDSAWithSHA384
		}, wantInDet: "e_ocsp_ecdsa_signature_encoding_correct"},
		{name: "responderID names another responder", modify: func(_ *xocsp.Response, c **x509.Certificate) {
			*c = other
		}, wantInDet: "e_ma_ocsp_responder_id_matches_signer"},
		{name: "no responder certificate", modify: func(r *xocsp.Response, _ **x509.Certificate) {
			r.Certificate = nil
		}, wantInDet: "e_ma_ocsp_responder_id_matches_signer"},
		{name: "bad signature", modify: func(*xocsp.Response, **x509.Certificate) {}, tamper: func(der []byte) []byte {
			der[len(der)-len(resp.Raw)-10] ^= 0xff // in the signature, just before [0] SEQUENCE { certificate }
			return der
		}, wantInDet: "does not parse"},
		{name: "not successful", tamper: func([]byte) []byte {
			return append([]byte(nil), xocsp.InternalErrorErrorResponse...)
		}, wantInDet: "does not parse"},
		{name: "garbage", tamper: func([]byte) []byte { return []byte{0x30, 0x03, 0x0a, 0x01, 0x00} }, wantInDet: "does not parse"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tmpl, signerCert := good, resp
			if tc.modify != nil {
				tc.modify(&tmpl, &signerCert)
			}
			der, err := xocsp.CreateResponse(ca, signerCert, tmpl, respKey)
			if err != nil {
				t.Fatal(err)
			}
			if tc.tamper != nil {
				der = tc.tamper(der)
			}
			err = l.OCSPResponse(der)
			if tc.wantInDet == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("passed, want refusal naming %q", tc.wantInDet)
			}
			if e := errkind.As(err); e == nil || e.Kind != errkind.Invalid || !strings.Contains(err.Error(), tc.wantInDet) {
				t.Fatalf("err = %v, want an Invalid error naming %q", err, tc.wantInDet)
			}
		})
	}
}

// TestOCSPResponseFindingsRunZlint checks that zlint's OCSP response lints do run.
func TestOCSPResponseFindingsRunZlint(t *testing.T) {
	l, err := New()
	if err != nil {
		t.Fatal(err)
	}
	ca, caKey := issuingCA(t)
	resp, respKey := ocspResponder(t, ca, caKey, elliptic.P384(), "OCSP Responder")
	this := time.Now().UTC().Truncate(time.Minute).Add(-time.Minute)
	der, err := xocsp.CreateResponse(ca, resp, xocsp.Response{Status: xocsp.Good, SerialNumber: serial(),
		ThisUpdate: this, NextUpdate: this.Add(law.OCSPValidity), Certificate: resp}, respKey)
	if err != nil {
		t.Fatal(err)
	}
	fs, err := l.OCSPResponseFindings(der)
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]string{}
	for _, f := range fs {
		byName[f.Name] = f.Status
	}
	for name, want := range map[string]string{
		"e_this_update_not_after_produced_at":     "pass",
		"e_ocsp_ecdsa_signature_encoding_correct": "pass",
		"e_ocsp_rsa_signature_encoding_correct":   "NA",
		"e_ma_ocsp_responder_id_matches_signer":   "pass",
		"e_ma_ocsp_next_update_within_validity":   "pass",
	} {
		if byName[name] != want {
			t.Errorf("%s = %q, want %q (all: %v)", name, byName[name], want, byName)
		}
	}
}

// BenchmarkLintOCSPResponse measures the lint of one pre-signed response, to set
// beside its signature (BenchmarkSignOCSPResponse).
func BenchmarkLintOCSPResponse(b *testing.B) {
	l, err := New()
	if err != nil {
		b.Fatal(err)
	}
	ca, caKey := issuingCA(b)
	resp, respKey := ocspResponder(b, ca, caKey, elliptic.P256(), "OCSP Responder")
	this := time.Now().UTC().Truncate(time.Minute).Add(-time.Minute)
	der, err := xocsp.CreateResponse(ca, resp, xocsp.Response{Status: xocsp.Good, SerialNumber: serial(),
		ThisUpdate: this, NextUpdate: this.Add(law.OCSPValidity), Certificate: resp}, respKey)
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := l.OCSPResponse(der); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSignOCSPResponse(b *testing.B) {
	ca, caKey := issuingCA(b)
	resp, respKey := ocspResponder(b, ca, caKey, elliptic.P256(), "OCSP Responder")
	this := time.Now().UTC().Truncate(time.Minute).Add(-time.Minute)
	tmpl := xocsp.Response{Status: xocsp.Good, SerialNumber: serial(), ThisUpdate: this, NextUpdate: this.Add(law.OCSPValidity), Certificate: resp}
	for i := 0; i < b.N; i++ {
		if _, err := xocsp.CreateResponse(ca, resp, tmpl, respKey); err != nil {
			b.Fatal(err)
		}
	}
}
