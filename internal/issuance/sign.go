package issuance

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/asn1"
	"fmt"
	"sync"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"

	"github.com/tawthiq/tawthiq/internal/errkind"
	"github.com/tawthiq/tawthiq/internal/law"
)

// throwawayRSABits is the size of the key that signs only the lintable copy of an
// RSA-issued certificate; the TBS does not depend on it.
const throwawayRSABits = 2048

// Prepare makes the TBSCertificate the CA will sign and a lintable certificate
// carrying exactly that TBS, signed by a throwaway key of parentPub's algorithm
// (STYLE #6: sign exactly the linted TBS). For a self-signed root pass
// parent == template (or parent == nil) and parentPub == pub.
func Prepare(template, parent *x509.Certificate, pub, parentPub crypto.PublicKey) (tbs []byte, lintable []byte, err error) {
	if template == nil {
		return nil, nil, errkind.New(errkind.Invalid, law.L11, "no certificate template")
	}
	if parent == nil {
		parent = template
	}
	alg, err := sigAlgFor(parentPub)
	if err != nil {
		return nil, nil, err
	}
	throwaway, err := throwawayKey(parentPub)
	if err != nil {
		return nil, nil, err
	}
	// Shallow copies: the caller's template and parent stay untouched.
	tmpl := *template
	tmpl.SignatureAlgorithm = alg.x509 // fixed by the real CA key, never by the throwaway's size
	par := *parent
	if parent == template {
		par = tmpl
	}
	par.PublicKey = throwaway.Public() // CreateCertificate checks that the signer matches the parent
	der, err := x509.CreateCertificate(rand.Reader, &tmpl, &par, pub, throwaway)
	if err != nil {
		return nil, nil, errkind.Wrap(errkind.Invalid, err, "the certificate template cannot be encoded")
	}
	tbs, err = tbsOf(der)
	if err != nil {
		return nil, nil, err
	}
	return tbs, der, nil
}

// Sign signs tbs with the CA's signer, assembles the certificate and verifies
// its signature with the signer's public key before returning it (STYLE #8).
func Sign(signer crypto.Signer, tbs []byte) (der []byte, err error) {
	if signer == nil {
		return nil, errkind.New(errkind.Invalid, law.L21_1, "no signer")
	}
	algID, alg, err := tbsSignatureAlgorithm(tbs)
	if err != nil {
		return nil, err
	}
	sig, err := SignDigestOf(signer, alg.hash, tbs)
	if err != nil {
		return nil, errkind.Wrap(errkind.Unavailable, err, "the CA key could not sign")
	}
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddBytes(tbs)
		b.AddBytes(algID) // the same AlgorithmIdentifier bytes as inside the TBS (RFC 5280 §4.1.1.2)
		b.AddASN1BitString(sig)
	})
	der, err = b.Bytes()
	if err != nil {
		return nil, errkind.Wrap(errkind.Internal, err, "assembling the certificate")
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, errkind.Wrap(errkind.Internal, err, "the signed certificate does not parse")
	}
	check := &x509.Certificate{PublicKey: signer.Public()}
	if err := check.CheckSignature(cert.SignatureAlgorithm, cert.RawTBSCertificate, cert.Signature); err != nil {
		return nil, errkind.Wrap(errkind.Internal, err, "the certificate signature does not verify with the signer's public key (L-21-1)")
	}
	return der, nil
}

// sigAlg is one signature algorithm the CSP signs with.
type sigAlg struct {
	x509       x509.SignatureAlgorithm
	oid        asn1.ObjectIdentifier
	hash       crypto.Hash // 0: the key signs the message itself (Ed25519)
	nullParams bool        // RSA's AlgorithmIdentifier carries NULL parameters (RFC 4055 §5)
}

// sigAlgs are the algorithms Sign accepts in a TBS; SignatureAlgorithmFor picks among them.
var sigAlgs = [...]sigAlg{
	{x509.ECDSAWithSHA256, asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 2}, crypto.SHA256, false},
	{x509.ECDSAWithSHA384, asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 3}, crypto.SHA384, false},
	{x509.ECDSAWithSHA512, asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 4}, crypto.SHA512, false},
	{x509.SHA256WithRSA, asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 11}, crypto.SHA256, true},
	{x509.SHA384WithRSA, asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 12}, crypto.SHA384, true},
	{x509.SHA512WithRSA, asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 13}, crypto.SHA512, true},
	{x509.PureEd25519, asn1.ObjectIdentifier{1, 3, 101, 112}, 0, false},
}

// SignatureAlgorithmFor is how a key signs whatever the CSP signs with it —
// certificates, CRLs, OCSP responses: the DER AlgorithmIdentifier to write, the
// digest to pass to SignDigestOf and x509's name for the algorithm.
func SignatureAlgorithmFor(pub crypto.PublicKey) (algID []byte, hash crypto.Hash, alg x509.SignatureAlgorithm, err error) {
	a, err := sigAlgFor(pub)
	if err != nil {
		return nil, 0, 0, err
	}
	return a.algID(), a.hash, a.x509, nil
}

// SignDigestOf signs msg with signer under hash, as SignatureAlgorithmFor gave it:
// ECDSA and RSA (PKCS #1 v1.5) sign msg's digest, Ed25519 (hash 0) msg itself.
func SignDigestOf(signer crypto.Signer, hash crypto.Hash, msg []byte) ([]byte, error) {
	digest := msg
	if hash != 0 {
		if !hash.Available() {
			return nil, fmt.Errorf("hash %v is not linked in", hash)
		}
		h := hash.New()
		h.Write(msg)
		digest = h.Sum(nil)
	}
	return signer.Sign(rand.Reader, digest, hash)
}

// sigAlgFor is Go's own choice for a key (as x509.CreateCertificate makes it), made explicit.
func sigAlgFor(pub crypto.PublicKey) (*sigAlg, error) {
	var alg x509.SignatureAlgorithm
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		switch k.Curve {
		case elliptic.P256():
			alg = x509.ECDSAWithSHA256
		case elliptic.P384():
			alg = x509.ECDSAWithSHA384
		case elliptic.P521():
			alg = x509.ECDSAWithSHA512
		}
	case *rsa.PublicKey:
		alg = x509.SHA256WithRSA
		if k.N.BitLen() > 3072 {
			alg = x509.SHA384WithRSA
		}
	case ed25519.PublicKey:
		alg = x509.PureEd25519
	}
	for i := range sigAlgs {
		if alg != x509.UnknownSignatureAlgorithm && sigAlgs[i].x509 == alg {
			return &sigAlgs[i], nil
		}
	}
	return nil, errkind.New(errkind.Invalid, law.L21_1, "unsupported signing key type %T", pub)
}

// SignatureAlgorithmOf reads a DER AlgorithmIdentifier of a signature (a certificate's,
// a CMS SignerInfo's) as x509's algorithm and the digest it signs; ok is false for
// an algorithm the CSP does not sign with.
func SignatureAlgorithmOf(algID []byte) (alg x509.SignatureAlgorithm, hash crypto.Hash, ok bool) {
	a := sigAlgOf(algID)
	if a == nil {
		return 0, 0, false
	}
	return a.x509, a.hash, true
}

func sigAlgOf(algID []byte) *sigAlg {
	in := cryptobyte.String(algID)
	var oid asn1.ObjectIdentifier
	var inner cryptobyte.String
	if !in.ReadASN1(&inner, cbasn1.SEQUENCE) || !in.Empty() || !inner.ReadASN1ObjectIdentifier(&oid) {
		return nil
	}
	params := []byte(inner)
	isNull := bytes.Equal(params, []byte{0x05, 0x00})
	for i := range sigAlgs {
		a := &sigAlgs[i]
		if a.oid.Equal(oid) && (a.nullParams && isNull || !a.nullParams && len(params) == 0) {
			return a
		}
	}
	return nil
}

// algID is the DER AlgorithmIdentifier of a.
func (a *sigAlg) algID() []byte {
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1ObjectIdentifier(a.oid)
		if a.nullParams {
			b.AddASN1NULL()
		}
	})
	return b.BytesOrPanic()
}

// throwaways keeps one throwaway key per kind of CA key: an RSA key costs tens of
// milliseconds to make, and these keys only ever sign lintable copies in memory.
var throwaways sync.Map // string -> crypto.Signer

func throwawayKey(pub crypto.PublicKey) (crypto.Signer, error) {
	kind, err := keyKind(pub)
	if err != nil {
		return nil, err
	}
	if k, ok := throwaways.Load(kind); ok {
		return k.(crypto.Signer), nil
	}
	k, err := newThrowaway(pub)
	if err != nil {
		return nil, err
	}
	actual, _ := throwaways.LoadOrStore(kind, k)
	return actual.(crypto.Signer), nil
}

func keyKind(pub crypto.PublicKey) (string, error) {
	switch p := pub.(type) {
	case *ecdsa.PublicKey:
		return "ecdsa-" + p.Curve.Params().Name, nil
	case *rsa.PublicKey:
		return "rsa", nil
	case ed25519.PublicKey:
		return "ed25519", nil
	}
	return "", errkind.New(errkind.Invalid, law.L21_1, "unsupported CA key type %T", pub)
}

func newThrowaway(pub crypto.PublicKey) (crypto.Signer, error) {
	var (
		k   crypto.Signer
		err error
	)
	switch p := pub.(type) {
	case *ecdsa.PublicKey:
		k, err = ecdsa.GenerateKey(p.Curve, rand.Reader)
	case *rsa.PublicKey:
		k, err = rsa.GenerateKey(rand.Reader, throwawayRSABits)
	case ed25519.PublicKey:
		_, k, err = ed25519.GenerateKey(rand.Reader)
	default:
		return nil, errkind.New(errkind.Invalid, law.L21_1, "unsupported CA key type %T", pub)
	}
	if err != nil {
		return nil, errkind.Wrap(errkind.Internal, err, "generating the throwaway key")
	}
	return k, nil
}

// tbsOf returns the TBSCertificate element of a DER certificate.
func tbsOf(der []byte) ([]byte, error) {
	in := cryptobyte.String(der)
	var cert cryptobyte.String
	var tbs cryptobyte.String
	if !in.ReadASN1(&cert, cbasn1.SEQUENCE) || !cert.ReadASN1Element(&tbs, cbasn1.SEQUENCE) {
		return nil, errkind.New(errkind.Internal, law.LInternal, "malformed certificate")
	}
	return tbs, nil
}

// tbsSignatureAlgorithm reads the signature AlgorithmIdentifier of a TBSCertificate.
func tbsSignatureAlgorithm(tbs []byte) (raw []byte, alg *sigAlg, err error) {
	in := cryptobyte.String(tbs)
	var body, algID cryptobyte.String
	var serial cryptobyte.String
	if !in.ReadASN1(&body, cbasn1.SEQUENCE) || !in.Empty() ||
		!body.SkipOptionalASN1(cbasn1.Tag(0).Constructed().ContextSpecific()) ||
		!body.ReadASN1(&serial, cbasn1.INTEGER) ||
		!body.ReadASN1Element(&algID, cbasn1.SEQUENCE) {
		return nil, nil, errkind.New(errkind.Invalid, law.L21_1, "malformed TBSCertificate")
	}
	if a := sigAlgOf(algID); a != nil {
		return algID, a, nil
	}
	return nil, nil, errkind.New(errkind.Invalid, law.L21_1, "unsupported signature algorithm %x", []byte(algID))
}
