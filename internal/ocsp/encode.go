package ocsp

import (
	"crypto"
	"crypto/x509"
	"encoding/asn1"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"

	"github.com/tawthiq/tawthiq/internal/errkind"
	"github.com/tawthiq/tawthiq/internal/issuance"
	"github.com/tawthiq/tawthiq/internal/law"
)

// OCSPResponseStatus values (RFC 6960 §4.2.1).
const (
	statusSuccessful       = 0
	statusMalformedRequest = 1
	statusInternalError    = 2
	statusTryLater         = 3
	statusUnauthorized     = 6
)

// Unsigned answers (RFC 6960 §2.3): OCSPResponse { responseStatus } alone.
var (
	malformedDER    = []byte{0x30, 0x03, 0x0a, 0x01, statusMalformedRequest}
	internalDER     = []byte{0x30, 0x03, 0x0a, 0x01, statusInternalError}
	tryLaterDER     = []byte{0x30, 0x03, 0x0a, 0x01, statusTryLater}
	unauthorizedDER = []byte{0x30, 0x03, 0x0a, 0x01, statusUnauthorized}
)

var (
	oidBasic = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 48, 1, 1} // id-pkix-ocsp-basic
)

// single is one SingleResponse to write.
type single struct {
	certID     []byte // the whole CertID
	status     Status
	revokedAt  time.Time
	reason     int // RFC 5280 CRLReason; unspecified (0) is written as no reason at all
	thisUpdate time.Time
	nextUpdate time.Time
}

// signingAlg is how a responder key signs: the AlgorithmIdentifier we write, the
// digest it signs and the x509 name used to verify the result.
type signingAlg struct {
	algID []byte
	hash  crypto.Hash
	x509  x509.SignatureAlgorithm
}

// signingAlgFor is the choice certificates and CRLs make too (issuance.SignatureAlgorithmFor).
func signingAlgFor(pub crypto.PublicKey) (signingAlg, error) {
	algID, hash, alg, err := issuance.SignatureAlgorithmFor(pub)
	if err != nil {
		return signingAlg{}, err
	}
	return signingAlg{algID: algID, hash: hash, x509: alg}, nil
}

// certIDFor writes the CertID of serial (INTEGER contents) under is, hashed with alg.
func (is *issuer) certIDFor(alg hashAlg, serial []byte) []byte {
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddBytes(algIDs[alg])
		b.AddASN1OctetString(is.nameHash[alg])
		b.AddASN1OctetString(is.keyHash[alg])
		b.AddASN1(cbasn1.INTEGER, func(b *cryptobyte.Builder) { b.AddBytes(serial) })
	})
	return b.BytesOrPanic()
}

// responseData writes ResponseData (RFC 6960 §4.2.1): v1 (omitted), responderID by
// key hash, producedAt, the responses and, if the request had one, its nonce echoed.
func (is *issuer) responseData(producedAt time.Time, singles []single, nonce []byte) ([]byte, error) {
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.Tag(2).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) { // byKey
			b.AddASN1OctetString(is.responderKeyHash)
		})
		b.AddASN1GeneralizedTime(producedAt.UTC())
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			for i := range singles {
				addSingle(b, &singles[i])
			}
		})
		if nonce != nil {
			b.AddASN1(cbasn1.Tag(1).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
				b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { b.AddBytes(nonce) })
			})
		}
	})
	der, err := b.Bytes()
	if err != nil {
		return nil, errkind.Wrap(errkind.Internal, err, "encoding the OCSP response data")
	}
	return der, nil
}

func addSingle(b *cryptobyte.Builder, s *single) {
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddBytes(s.certID)
		switch s.status {
		case Good:
			b.AddASN1(cbasn1.Tag(0).ContextSpecific(), func(*cryptobyte.Builder) {}) // [0] IMPLICIT NULL
		case Revoked:
			b.AddASN1(cbasn1.Tag(1).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
				// GeneralizedTime has whole seconds here, as in CRLs; the database keeps
				// the millisecond (L-21-1).
				b.AddASN1GeneralizedTime(s.revokedAt.UTC().Truncate(time.Second))
				if s.reason != law.ReasonUnspecified {
					b.AddASN1(cbasn1.Tag(0).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
						b.AddASN1Enum(int64(s.reason))
					})
				}
			})
		default:
			b.AddASN1(cbasn1.Tag(2).ContextSpecific(), func(*cryptobyte.Builder) {}) // [2] IMPLICIT NULL
		}
		b.AddASN1GeneralizedTime(s.thisUpdate.UTC())
		if !s.nextUpdate.IsZero() {
			b.AddASN1(cbasn1.Tag(0).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
				b.AddASN1GeneralizedTime(s.nextUpdate.UTC())
			})
		}
	})
}

// selfCheck says who verifies a signature sign makes (STYLE #8).
type selfCheck bool

const (
	// verifySignature: sign checks it with the responder certificate (signNow).
	verifySignature selfCheck = true
	// checkedByParser: the caller parses the response with x/crypto/ocsp, which
	// checks the signature against the included responder certificate (presign).
	checkedByParser selfCheck = false
)

// sign signs ResponseData with the delegated responder's key, checks the signature
// with the responder certificate's public key unless the caller's parser does, and
// wraps the BasicOCSPResponse, responder certificate included, in an OCSPResponse.
func (is *issuer) sign(tbs []byte, sc selfCheck) ([]byte, error) {
	sig, err := issuance.SignDigestOf(is.signer, is.alg.hash, tbs)
	if err != nil {
		return nil, errkind.Wrap(errkind.Unavailable, err, "the OCSP responder key could not sign")
	}
	if sc == verifySignature {
		if err := is.responder.CheckSignature(is.alg.x509, tbs, sig); err != nil {
			return nil, errkind.Wrap(errkind.Internal, err, "the OCSP response signature does not verify (L-21-1)")
		}
	}
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1Enum(statusSuccessful)
		b.AddASN1(cbasn1.Tag(0).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				b.AddASN1ObjectIdentifier(oidBasic)
				b.AddASN1(cbasn1.OCTET_STRING, func(b *cryptobyte.Builder) {
					b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
						b.AddBytes(tbs)
						b.AddBytes(is.alg.algID)
						b.AddASN1BitString(sig)
						b.AddASN1(cbasn1.Tag(0).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
							b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { b.AddBytes(is.responder.Raw) })
						})
					})
				})
			})
		})
	})
	der, err := b.Bytes()
	if err != nil {
		return nil, errkind.Wrap(errkind.Internal, err, "encoding the OCSP response")
	}
	return der, nil
}
