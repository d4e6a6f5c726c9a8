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
	algo, err := signatureAlgorithm(parentPub)
	if err != nil {
		return nil, nil, err
	}
	throwaway, err := throwawayKey(parentPub)
	if err != nil {
		return nil, nil, err
	}
	// Shallow copies: the caller's template and parent stay untouched.
	tmpl := *template
	tmpl.SignatureAlgorithm = algo // fixed by the real CA key, never by the throwaway's size
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
	algID, algo, err := tbsSignatureAlgorithm(tbs)
	if err != nil {
		return nil, err
	}
	h, err := hashFor(algo)
	if err != nil {
		return nil, err
	}
	digest := tbs
	if h != 0 {
		hh := h.New()
		hh.Write(tbs)
		digest = hh.Sum(nil)
	}
	sig, err := signer.Sign(rand.Reader, digest, h)
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
	if !bytes.Equal(cert.RawTBSCertificate, tbs) {
		return nil, errkind.New(errkind.Internal, law.L21_1, "the signed certificate's TBS differs from the prepared one")
	}
	check := &x509.Certificate{PublicKey: signer.Public()}
	if err := check.CheckSignature(cert.SignatureAlgorithm, cert.RawTBSCertificate, cert.Signature); err != nil {
		return nil, errkind.Wrap(errkind.Internal, err, "the certificate signature does not verify with the signer's public key (L-21-1)")
	}
	return der, nil
}

// signatureAlgorithm is Go's own choice for a key, made explicit.
func signatureAlgorithm(pub crypto.PublicKey) (x509.SignatureAlgorithm, error) {
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		switch k.Curve {
		case elliptic.P256():
			return x509.ECDSAWithSHA256, nil
		case elliptic.P384():
			return x509.ECDSAWithSHA384, nil
		case elliptic.P521():
			return x509.ECDSAWithSHA512, nil
		}
	case *rsa.PublicKey:
		if k.N.BitLen() > 3072 {
			return x509.SHA384WithRSA, nil
		}
		return x509.SHA256WithRSA, nil
	case ed25519.PublicKey:
		return x509.PureEd25519, nil
	}
	return 0, errkind.New(errkind.Invalid, law.L21_1, "unsupported CA key type %T", pub)
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

// Signature algorithm identifiers Sign accepts.
var (
	oidECDSAWithSHA256 = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 2}
	oidECDSAWithSHA384 = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 3}
	oidECDSAWithSHA512 = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 4}
	oidSHA256WithRSA   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 11}
	oidSHA384WithRSA   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 12}
	oidSHA512WithRSA   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 13}
	oidEd25519         = asn1.ObjectIdentifier{1, 3, 101, 112}
)

// tbsSignatureAlgorithm reads the signature AlgorithmIdentifier of a TBSCertificate.
func tbsSignatureAlgorithm(tbs []byte) (raw []byte, algo x509.SignatureAlgorithm, err error) {
	in := cryptobyte.String(tbs)
	var body, algID cryptobyte.String
	var serial cryptobyte.String
	if !in.ReadASN1(&body, cbasn1.SEQUENCE) || !in.Empty() ||
		!body.SkipOptionalASN1(cbasn1.Tag(0).Constructed().ContextSpecific()) ||
		!body.ReadASN1(&serial, cbasn1.INTEGER) ||
		!body.ReadASN1Element(&algID, cbasn1.SEQUENCE) {
		return nil, 0, errkind.New(errkind.Invalid, law.L21_1, "malformed TBSCertificate")
	}
	alg := algID
	var oid asn1.ObjectIdentifier
	var inner cryptobyte.String
	if !alg.ReadASN1(&inner, cbasn1.SEQUENCE) || !inner.ReadASN1ObjectIdentifier(&oid) {
		return nil, 0, errkind.New(errkind.Invalid, law.L21_1, "malformed signature algorithm")
	}
	params := []byte(inner)
	isNull := bytes.Equal(params, []byte{0x05, 0x00})
	switch {
	case oid.Equal(oidECDSAWithSHA256) && len(params) == 0:
		return algID, x509.ECDSAWithSHA256, nil
	case oid.Equal(oidECDSAWithSHA384) && len(params) == 0:
		return algID, x509.ECDSAWithSHA384, nil
	case oid.Equal(oidECDSAWithSHA512) && len(params) == 0:
		return algID, x509.ECDSAWithSHA512, nil
	case oid.Equal(oidSHA256WithRSA) && isNull:
		return algID, x509.SHA256WithRSA, nil
	case oid.Equal(oidSHA384WithRSA) && isNull:
		return algID, x509.SHA384WithRSA, nil
	case oid.Equal(oidSHA512WithRSA) && isNull:
		return algID, x509.SHA512WithRSA, nil
	case oid.Equal(oidEd25519) && len(params) == 0:
		return algID, x509.PureEd25519, nil
	}
	return nil, 0, errkind.New(errkind.Invalid, law.L21_1, "unsupported signature algorithm %s", oid)
}

func hashFor(algo x509.SignatureAlgorithm) (crypto.Hash, error) {
	switch algo {
	case x509.ECDSAWithSHA256, x509.SHA256WithRSA:
		return crypto.SHA256, nil
	case x509.ECDSAWithSHA384, x509.SHA384WithRSA:
		return crypto.SHA384, nil
	case x509.ECDSAWithSHA512, x509.SHA512WithRSA:
		return crypto.SHA512, nil
	case x509.PureEd25519:
		return 0, nil
	}
	return 0, errkind.New(errkind.Invalid, law.L21_1, "unsupported signature algorithm %v", algo)
}
