package ra

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"testing"

	"github.com/tawthiq/tawthiq/internal/errkind"
	"github.com/tawthiq/tawthiq/internal/law"
)

func testCSR(t testing.TB) []byte {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: "x"}}, k)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// TestParseCSR_L21_3_2: proof of possession is checked, and every refusal names the rule.
func TestParseCSR_L21_3_2(t *testing.T) {
	good := testCSR(t)
	bad := append([]byte(nil), good...)
	bad[len(bad)-2] ^= 0x55
	cases := []struct {
		name string
		in   []byte
		ok   bool
		kind errkind.Kind
	}{
		{"DER", good, true, 0},
		{"PEM", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: good}), true, 0},
		{"empty", nil, false, errkind.Invalid},
		{"garbage", []byte("not a CSR"), false, errkind.Invalid},
		{"wrong PEM type", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: good}), false, errkind.Invalid},
		{"bad signature", bad, false, errkind.Invalid},
		{"too large", make([]byte, MaxCSRBytes+1), false, errkind.TooLarge},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			csr, err := parseCSR(c.in)
			if c.ok {
				if err != nil || csr == nil {
					t.Fatalf("refused a good CSR: %v", err)
				}
				return
			}
			e := errkind.As(err)
			if err == nil || e.Kind != c.kind || e.Rule != law.L21_3_2 {
				t.Fatalf("got %v, want kind %s under %s", err, c.kind, law.L21_3_2)
			}
		})
	}
}

// FuzzParseCSR: an applicant's CSR is untrusted input; parsing never panics, and a
// CSR that is accepted always carries a valid proof of possession.
func FuzzParseCSR(f *testing.F) {
	good := testCSR(f)
	f.Add(good)
	f.Add(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: good}))
	f.Add([]byte{0x30, 0x03, 0x02, 0x01, 0x00})
	f.Fuzz(func(t *testing.T, b []byte) {
		csr, err := parseCSR(b)
		if err != nil {
			if errkind.As(err).Rule != law.L21_3_2 {
				t.Fatalf("refusal without its rule: %v", err)
			}
			return
		}
		if csr.CheckSignature() != nil {
			t.Fatal("accepted a CSR whose signature does not verify")
		}
	})
}
