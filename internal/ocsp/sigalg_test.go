package ocsp

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"math/big"
	"testing"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"

	"github.com/tawthiq/tawthiq/internal/issuance"
	"github.com/tawthiq/tawthiq/internal/revocation"
	"github.com/tawthiq/tawthiq/internal/testpki"
)

// TestSignersAgree_L21_1: certificates, CRLs and OCSP responses signed by one key
// carry the same AlgorithmIdentifier, the one issuance.SignatureAlgorithmFor
// chooses, and each signature verifies with the signer's certificate.
func TestSignersAgree_L21_1(t *testing.T) {
	for _, tc := range []struct {
		name string
		key  func() (crypto.Signer, error)
		want x509.SignatureAlgorithm
	}{
		{"ECDSA P-256", func() (crypto.Signer, error) { return ecdsa.GenerateKey(elliptic.P256(), rand.Reader) }, x509.ECDSAWithSHA256},
		{"ECDSA P-384", func() (crypto.Signer, error) { return ecdsa.GenerateKey(elliptic.P384(), rand.Reader) }, x509.ECDSAWithSHA384},
		{"RSA 2048", func() (crypto.Signer, error) { return rsa.GenerateKey(rand.Reader, 2048) }, x509.SHA256WithRSA},
		{"RSA 3072", func() (crypto.Signer, error) { return rsa.GenerateKey(rand.Reader, 3072) }, x509.SHA256WithRSA},
		{"RSA 4096", func() (crypto.Signer, error) { return rsa.GenerateKey(rand.Reader, 4096) }, x509.SHA384WithRSA},
		{"Ed25519", func() (crypto.Signer, error) { _, k, err := ed25519.GenerateKey(rand.Reader); return k, err }, x509.PureEd25519},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			key, err := tc.key()
			if err != nil {
				t.Fatal(err)
			}
			algID, _, alg, err := issuance.SignatureAlgorithmFor(key.Public())
			if err != nil || alg != tc.want {
				t.Fatalf("SignatureAlgorithmFor: %v, %v; want %v", alg, err, tc.want)
			}
			now := time.Now().UTC().Truncate(time.Second)

			// Certificates: the CA's own and its OCSP responder's.
			ca := testpki.SelfSign(t, &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Test CA"},
				NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
				KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign, SubjectKeyId: []byte{1, 2, 3, 4}}, key)
			caCert := ca.Cert
			responder := testpki.Certify(t, &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "Test OCSP"},
				NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour), KeyUsage: x509.KeyUsageDigitalSignature,
				ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageOCSPSigning}}, ca, key.Public()).Cert
			checkSigned(t, "certificate", caCert.Raw, algID, caCert, tc.want)

			// A CRL.
			crl, err := revocation.BuildCRL(key, revocation.CRLTemplate{Issuer: caCert, Number: 1, ThisUpdate: now, NextUpdate: now.Add(time.Hour)}, nil)
			if err != nil {
				t.Fatal(err)
			}
			checkSigned(t, "CRL", crl, algID, caCert, tc.want)

			// An OCSP response, checked by sign itself and again here.
			is, err := newIssuer(Issuer{Name: "test", Cert: caCert, Responder: responder, Signer: key})
			if err != nil {
				t.Fatal(err)
			}
			sg := single{certID: is.certIDFor(sha256Alg, []byte{0x42}), status: Good, thisUpdate: now, nextUpdate: now.Add(time.Hour)}
			tbs, err := is.responseData(now, []single{sg}, nil)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := is.sign(tbs, verifySignature)
			if err != nil {
				t.Fatal(err)
			}
			checkSigned(t, "OCSP response", basicResponse(t, resp), algID, responder, tc.want)
		})
	}
}

// checkSigned reads SEQUENCE { tbs, AlgorithmIdentifier, BIT STRING } — a
// certificate, a CertificateList or a BasicOCSPResponse — and checks its algorithm
// and signature.
func checkSigned(t *testing.T, what string, der, wantAlgID []byte, by *x509.Certificate, want x509.SignatureAlgorithm) {
	t.Helper()
	in := cryptobyte.String(der)
	var body, tbs, algID cryptobyte.String
	var sig asn1.BitString
	if !in.ReadASN1(&body, cbasn1.SEQUENCE) || !body.ReadASN1Element(&tbs, cbasn1.SEQUENCE) ||
		!body.ReadASN1Element(&algID, cbasn1.SEQUENCE) || !body.ReadASN1BitString(&sig) {
		t.Fatalf("%s: malformed", what)
	}
	if string(algID) != string(wantAlgID) {
		t.Errorf("%s: AlgorithmIdentifier %x, want %x", what, []byte(algID), wantAlgID)
	}
	if err := by.CheckSignature(want, tbs, sig.Bytes); err != nil {
		t.Errorf("%s: %v", what, err)
	}
}

// basicResponse returns the BasicOCSPResponse inside an OCSPResponse.
func basicResponse(t *testing.T, der []byte) []byte {
	t.Helper()
	in := cryptobyte.String(der)
	var resp, bytes, basic cryptobyte.String
	var oid asn1.ObjectIdentifier
	if !in.ReadASN1(&resp, cbasn1.SEQUENCE) || !resp.SkipASN1(cbasn1.ENUM) ||
		!resp.ReadASN1(&bytes, cbasn1.Tag(0).Constructed().ContextSpecific()) ||
		!bytes.ReadASN1(&bytes, cbasn1.SEQUENCE) || !bytes.ReadASN1ObjectIdentifier(&oid) || !oid.Equal(oidBasic) ||
		!bytes.ReadASN1(&basic, cbasn1.OCTET_STRING) {
		t.Fatal("OCSP response: malformed")
	}
	return basic
}
