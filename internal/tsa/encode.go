package tsa

import (
	"crypto"
	"encoding/asn1"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"

	"github.com/tawthiq/tawthiq/internal/signature/cms"
	"github.com/tawthiq/tawthiq/internal/timestamp"
)

// PKIStatus values (RFC 3161 §2.4.2).
const (
	StatusGranted   = timestamp.StatusGranted
	StatusRejection = timestamp.StatusRejection
)

var (
	oidQCStatements = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 1, 3}
	// OIDQualifiedTimestamp is esi4-qtstStatement-1 (ETSI EN 319 422 §9.1): the token is
	// a qualified electronic time-stamp (L-417-3, L-425).
	OIDQualifiedTimestamp = asn1.ObjectIdentifier{0, 4, 0, 19422, 1, 1}
	// oidDigest are the message-imprint algorithms a request may name: the CMS ones.
	oidDigest = cms.DigestOIDs
)

// fixed are the parts of every token that depend only on the TSA's configuration,
// encoded once at start.
type fixed struct {
	policy     []byte // OBJECT IDENTIFIER element
	accuracy   []byte // Accuracy element
	tsaName    []byte // [0] GeneralName (directoryName) element
	extensions []byte // [1] Extensions element, or nil
	digestAlg  []byte // AlgorithmIdentifier of the CMS digest
	sigAlg     []byte // AlgorithmIdentifier of the signature
	sid        []byte // IssuerAndSerialNumber element
	certs      []byte // [0] IMPLICIT CertificateSet element (certReq)
	ctAttr     []byte // content-type Attribute element
	scv2Attr   []byte // signing-certificate-v2 Attribute element
	digest     crypto.Hash
}

func newFixed(c *Config, sigAlgID []byte, sigHash crypto.Hash) (*fixed, error) {
	f := &fixed{sigAlg: sigAlgID, digest: sigHash}
	if f.digest == 0 {
		f.digest = crypto.SHA512 // Ed25519 signs the attributes themselves (RFC 8419 §3)
	}
	var err error
	build := func(fn func(b *cryptobyte.Builder)) []byte {
		if err != nil {
			return nil
		}
		var b cryptobyte.Builder
		fn(&b)
		var out []byte
		out, err = b.Bytes()
		return out
	}
	f.policy = build(func(b *cryptobyte.Builder) { b.AddASN1ObjectIdentifier(c.Policy) })
	f.accuracy = build(func(b *cryptobyte.Builder) { addAccuracy(b, c.Accuracy) })
	f.tsaName = build(func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.Tag(0).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.Tag(4).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) { b.AddBytes(c.Cert.RawSubject) })
		})
	})
	if c.Qualified {
		f.extensions = build(func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.Tag(1).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
				b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // Extension, non-critical
					b.AddASN1ObjectIdentifier(oidQCStatements)
					b.AddASN1(cbasn1.OCTET_STRING, func(b *cryptobyte.Builder) {
						b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // QCStatements
							b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { b.AddASN1ObjectIdentifier(OIDQualifiedTimestamp) })
						})
					})
				})
			})
		})
	}
	f.digestAlg = build(func(b *cryptobyte.Builder) { cms.AddDigestAlgorithm(b, f.digest) })
	f.sid = build(func(b *cryptobyte.Builder) { cms.AddIssuerAndSerial(b, c.Cert) })
	f.scv2Attr = build(func(b *cryptobyte.Builder) { cms.AddSigningCertificateV2(b, c.Cert) })
	tstInfoOID := build(func(b *cryptobyte.Builder) { b.AddASN1ObjectIdentifier(cms.OIDTSTInfo) })
	if err != nil {
		return nil, err
	}
	if f.ctAttr, err = cms.Attribute(cms.OIDContentType, tstInfoOID); err != nil {
		return nil, err
	}
	ders := [][]byte{c.Cert.Raw}
	for _, ch := range c.Chain {
		ders = append(ders, ch.Raw)
	}
	certSet, err := cms.Set(ders)
	if err != nil {
		return nil, err
	}
	f.certs = build(func(b *cryptobyte.Builder) { // [0] IMPLICIT: the SET OF, retagged
		b.AddASN1(cbasn1.Tag(0).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) { b.AddBytes(cms.Contents(certSet)) })
	})
	return f, err
}

// addAccuracy writes Accuracy (RFC 3161 §2.4.2): seconds, then millis and micros in 1..999.
func addAccuracy(b *cryptobyte.Builder, d time.Duration) {
	secs := int64(d / time.Second)
	millis := int64(d % time.Second / time.Millisecond)
	micros := int64(d % time.Millisecond / time.Microsecond)
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		if secs > 0 {
			b.AddASN1Int64(secs)
		}
		if millis > 0 {
			b.AddASN1Int64WithTag(millis, cbasn1.Tag(0).ContextSpecific())
		}
		if micros > 0 {
			b.AddASN1Int64WithTag(micros, cbasn1.Tag(1).ContextSpecific())
		}
	})
}

// appendGeneralizedTime writes t as a DER GeneralizedTime with its milliseconds
// (L-21-1): "YYYYMMDDHHMMSS[.fff]Z", the fraction without trailing zeros (X.690 §11.7).
func appendGeneralizedTime(dst []byte, t time.Time) []byte {
	var buf [24]byte
	s := t.UTC().AppendFormat(buf[:0], "20060102150405.000")
	for s[len(s)-1] == '0' {
		s = s[:len(s)-1]
	}
	if s[len(s)-1] == '.' {
		s = s[:len(s)-1]
	}
	s = append(s, 'Z')
	dst = append(dst, 0x18, byte(len(s)))
	return append(dst, s...)
}

// tstInfo writes TSTInfo (RFC 3161 §2.4.2).
func (f *fixed) tstInfo(req *request, serial []byte, genTime time.Time) ([]byte, error) {
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1Int64(1)
		b.AddBytes(f.policy)
		b.AddBytes(req.imprint)
		b.AddASN1(cbasn1.INTEGER, func(b *cryptobyte.Builder) { b.AddBytes(serial) })
		var gt [26]byte
		b.AddBytes(appendGeneralizedTime(gt[:0], genTime))
		b.AddBytes(f.accuracy)
		if req.nonce != nil {
			b.AddASN1(cbasn1.INTEGER, func(b *cryptobyte.Builder) { b.AddBytes(req.nonce) })
		}
		b.AddBytes(f.tsaName)
		if f.extensions != nil {
			b.AddBytes(f.extensions)
		}
	})
	return b.Bytes()
}

// signedAttrs writes the signed attributes as the SET OF that is signed (RFC 5652
// §5.4): content-type, message-digest, signing-certificate-v2 (RFC 5816), sorted.
func (f *fixed) signedAttrs(digest []byte) ([]byte, error) {
	var md cryptobyte.Builder
	cms.AddAttribute(&md, cms.OIDMessageDigest, func(b *cryptobyte.Builder) { b.AddASN1OctetString(digest) })
	mdAttr, err := md.Bytes()
	if err != nil {
		return nil, err
	}
	return cms.Set([][]byte{f.ctAttr, mdAttr, f.scv2Attr})
}

// token writes the ContentInfo of the SignedData around tstInfo.
func (f *fixed) token(tstInfo, attrs, sig []byte, certReq bool) ([]byte, error) {
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // TimeStampResp
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { b.AddASN1Int64(StatusGranted) })
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // ContentInfo
			b.AddASN1ObjectIdentifier(cms.OIDSignedData)
			b.AddASN1(cbasn1.Tag(0).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
				b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // SignedData
					b.AddASN1Int64(3) // eContentType is not id-data (RFC 5652 §5.1)
					b.AddASN1(cbasn1.SET, func(b *cryptobyte.Builder) { b.AddBytes(f.digestAlg) })
					b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // EncapsulatedContentInfo
						b.AddASN1ObjectIdentifier(cms.OIDTSTInfo)
						b.AddASN1(cbasn1.Tag(0).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
							b.AddASN1OctetString(tstInfo)
						})
					})
					if certReq {
						b.AddBytes(f.certs)
					}
					b.AddASN1(cbasn1.SET, func(b *cryptobyte.Builder) { // SignerInfos
						b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
							b.AddASN1Int64(1) // sid is issuerAndSerialNumber
							b.AddBytes(f.sid)
							b.AddBytes(f.digestAlg)
							// [0] IMPLICIT: the signed SET OF with its tag replaced.
							b.AddASN1(cbasn1.Tag(0).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
								b.AddBytes(cms.Contents(attrs))
							})
							b.AddBytes(f.sigAlg)
							b.AddASN1OctetString(sig)
						})
					})
				})
			})
		})
	})
	return b.Bytes()
}

// refusal writes a TimeStampResp without a token: rejection, a reason and the failure bit.
func refusal(f *failure) []byte {
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // PKIStatusInfo
			b.AddASN1Int64(StatusRejection)
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // PKIFreeText
				b.AddASN1(cbasn1.UTF8String, func(b *cryptobyte.Builder) { b.AddBytes([]byte(f.reason)) })
			})
			// A named BIT STRING in DER has no trailing zero bits (X.690 §11.2.2).
			n := f.bit/8 + 1
			bits := make([]byte, 1+n)
			bits[0] = byte(7 - f.bit%8)
			bits[1+f.bit/8] = 0x80 >> (f.bit % 8)
			b.AddASN1(cbasn1.BIT_STRING, func(b *cryptobyte.Builder) { b.AddBytes(bits) })
		})
	})
	return b.BytesOrPanic()
}
