package testpki_test

import (
	"crypto"
	"crypto/x509"
	"testing"
	"time"

	"github.com/tawthiq/tawthiq/internal/keys"
	"github.com/tawthiq/tawthiq/internal/testpki"
)

// TestNew builds a hierarchy of every key algorithm the CSP uses and has
// crypto/x509 accept each certificate's chain, keys and uses.
func TestNew(t *testing.T) {
	for _, alg := range keys.Algorithms() {
		t.Run(string(alg), func(t *testing.T) {
			t.Parallel()
			if alg == keys.RSA4096 && testing.Short() {
				t.Skip("RSA-4096 keys are slow to make")
			}
			h := testpki.New(t, testpki.WithAlgorithm(alg))
			roots, inter := x509.NewCertPool(), x509.NewCertPool()
			roots.AddCert(h.Root.Cert)
			inter.AddCert(h.Signature.Cert)
			inter.AddCert(h.Seal.Cert)
			at := h.Now.Add(time.Hour)
			verify := func(name string, n *testpki.Node, usage x509.ExtKeyUsage) {
				t.Helper()
				if _, err := n.Cert.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, CurrentTime: at,
					KeyUsages: []x509.ExtKeyUsage{usage}}); err != nil {
					t.Errorf("%s: %v", name, err)
				}
				if got, err := keys.PublicKeyAlgorithm(n.Cert.PublicKey); n.Name != "" && (err != nil || got != alg) {
					t.Errorf("%s: key %s, %v; want %s", name, got, err, alg)
				}
				if n.Signer != nil && !n.Signer.Public().(interface{ Equal(crypto.PublicKey) bool }).Equal(n.Cert.PublicKey) {
					t.Errorf("%s: the signer is not the certificate's key", name)
				}
			}
			for _, n := range []*testpki.Node{h.Root, h.Signature, h.Seal, h.OCSP["signature"], h.OCSP["seal"], h.TSA} {
				if got := h.CA(t, n.Name); got != n {
					t.Errorf("CA(%q) = %v", n.Name, got.Name)
				}
			}
			verify("signature", h.Signature, x509.ExtKeyUsageAny)
			verify("seal", h.Seal, x509.ExtKeyUsageAny)
			verify("ocsp-signature", h.OCSP["signature"], x509.ExtKeyUsageOCSPSigning)
			verify("ocsp-seal", h.OCSP["seal"], x509.ExtKeyUsageOCSPSigning)
			verify("tsa", h.TSA, x509.ExtKeyUsageTimeStamping)
			if err := h.OCSP["seal"].Cert.CheckSignatureFrom(h.Seal.Cert); err != nil {
				t.Errorf("seal responder: %v", err)
			}
			nat := h.NaturalRequest(t, testpki.Profile(t, "natural-qualified"), testpki.Key(t).Public())
			ee := h.Issue(t, nil, nat)
			verify("natural", ee, x509.ExtKeyUsageAny)
			if err := ee.Cert.CheckSignatureFrom(h.Signature.Cert); err != nil {
				t.Errorf("natural person's certificate not from the signature CA: %v", err)
			}
			seal := h.Issue(t, h.Seal, h.SealRequest(t, testpki.Profile(t, "legal-qualified-seal"), testpki.Key(t).Public()))
			verify("legal", seal, x509.ExtKeyUsageAny)
			if err := seal.Cert.CheckSignatureFrom(h.Seal.Cert); err != nil {
				t.Errorf("seal certificate not from the seal CA: %v", err)
			}
		})
	}
}

// TestOpenSSL has openssl accept the PEM files the helpers write.
func TestOpenSSL(t *testing.T) {
	h := testpki.New(t, testpki.WithNow(time.Now().UTC()))
	dir := t.TempDir()
	root := testpki.WriteCerts(t, dir, "root.pem", h.Root.Cert)
	chain := testpki.WriteCerts(t, dir, "chain.pem", h.Signature.Cert, h.Seal.Cert)
	ee := h.Issue(t, nil, h.NaturalRequest(t, testpki.Profile(t, "natural-qualified"), testpki.Key(t).Public()))
	leaf := testpki.WritePEM(t, dir, "leaf.pem", "CERTIFICATE", ee.DER)
	if out := testpki.OpenSSL(t, "verify", "-CAfile", root, "-untrusted", chain, leaf); out == "" {
		t.Fatal("openssl verify said nothing")
	}
	if out, err := testpki.RunOpenSSL(t, "verify", "-CAfile", chain, leaf); err == nil {
		t.Fatalf("openssl verified a chain without its root:\n%s", out)
	}
}
