package law

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"fmt"
	"math/big"
)

// Content is one item a secured (qualified) certificate must carry (L-11).
type Content string

// The contents of a secured certificate, 53-05 art. 11 (a)-(i) and what 43-20 art. 9 adds.
const (
	ContentQualifiedStatement Content = "a: machine-readable statement that the certificate is qualified (QcCompliance)"
	ContentCSPIdentity        Content = "b: the CSP's identity, its State (C=MA) and its registration number (organizationIdentifier)"
	ContentHolderName         Content = "c: the holder's name, or a pseudonym marked as such"
	ContentCapacity           Content = "d: the holder's capacity (title), where relevant"
	ContentPublicKey          Content = "e: the verification data (public key)"
	ContentValidity           Content = "f: the start and end of validity"
	ContentSerial             Content = "g: a unique identity code (serial number)"
	ContentSignature          Content = "h: the CSP's signature"
	ContentLimits             Content = "i: limits of use, notably the maximum transaction value (QcLimitValue), where set"
	ContentStatusService      Content = "43-20: where the status service is (CRL distribution point and OCSP)"
	ContentCACertLocation     Content = "43-20: where the CSP certificate can be had free (caIssuers)"
	ContentQSCDFlag           Content = "43-20: a machine-readable flag when the key is in a qualified device (QcSSCD)"
	ContentPolicy             Content = "certificate policy and the PKI disclosure statement (QcPDS) for relying parties (L-21-3-4)"
	ContentQCType             Content = "the type of qualified certificate (QcType esign or eseal)"
)

// CertificateContents lists every content item of L-11, in the law's order.
func CertificateContents() []Content {
	return []Content{ContentQualifiedStatement, ContentCSPIdentity, ContentHolderName, ContentCapacity,
		ContentPublicKey, ContentValidity, ContentSerial, ContentSignature, ContentLimits,
		ContentStatusService, ContentCACertLocation, ContentQSCDFlag, ContentPolicy, ContentQCType}
}

// CSPCountry is the State of the CSP written into every certificate (L-11 b).
const CSPCountry = "MA"

// LimitCurrency is the ISO 4217 code of the transaction limit (L-11 i).
const LimitCurrency = "MAD"

// PDSLanguages are the languages of the PKI disclosure statement (L-21-3-4):
// Arabic and Amazigh are official, French and English serve relying parties abroad.
var PDSLanguages = []string{"ar", "fr", "en"}

// Key strength a reliable system accepts (L-21-1).
const (
	MinRSABits       = 2048
	MinECCurveBits   = 256
	MinSerialBits    = 64 // CA/B Forum BR 7.1 and ETSI EN 319 412: unpredictable serials
	MaxValidityYears = 3  // policy ceiling for end-entity certificates
)

// CheckPublicKey refuses keys too weak for a reliable system (L-21-1).
func CheckPublicKey(pub any) error {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		if k.N.BitLen() < MinRSABits {
			return fmt.Errorf("%s: RSA key of %d bits is below the %d-bit minimum", L21_1, k.N.BitLen(), MinRSABits)
		}
		if k.E < 65537 || k.E%2 == 0 {
			return fmt.Errorf("%s: RSA public exponent %d is not accepted (odd, at least 65537)", L21_1, k.E)
		}
		if k.N.Bit(0) == 0 || k.N.ProbablyPrime(0) {
			return fmt.Errorf("%s: RSA modulus is not a product of two primes", L21_1)
		}
		if new(big.Int).GCD(nil, nil, k.N, smallPrimesProduct).Cmp(big.NewInt(1)) != 0 {
			return fmt.Errorf("%s: RSA modulus has a small factor", L21_1)
		}
	case *ecdsa.PublicKey:
		if k.Curve.Params().BitSize < MinECCurveBits {
			return fmt.Errorf("%s: curve %s is below %d bits", L21_1, k.Curve.Params().Name, MinECCurveBits)
		}
	case ed25519.PublicKey:
	default:
		return fmt.Errorf("%s: public key type %T is not accepted", L21_1, pub)
	}
	return nil
}

// smallPrimesProduct is the product of the primes below 1000, for a cheap factor check.
var smallPrimesProduct = func() *big.Int {
	p := big.NewInt(1)
	for i := int64(3); i < 1000; i += 2 {
		if big.NewInt(i).ProbablyPrime(0) {
			p.Mul(p, big.NewInt(i))
		}
	}
	return p
}()
