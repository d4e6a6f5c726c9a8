package tsa

import (
	"bytes"
	"crypto"
	"encoding/asn1"
	"errors"
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

	// Templates of the hot path, so that a token is a few copies into one buffer.
	attrs    []byte // the signed attributes' SET OF, message digest zeroed
	mdOff    int    // where the message digest goes in attrs
	sdHead   []byte // SignedData's version and digestAlgorithms
	siHead   []byte // SignerInfo's version, sid and digestAlgorithm
	oidSD    []byte // OBJECT IDENTIFIER element id-signedData
	oidTST   []byte // OBJECT IDENTIFIER element id-ct-TSTInfo
	tstFixed int    // octets of TSTInfo's contents that every token shares
}

// granted is PKIStatusInfo { status granted }.
var granted = []byte{0x30, 0x03, 0x02, 0x01, StatusGranted}

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
	// The SET OF is sorted by encoding (X.690 §11.6); the three attributes differ
	// before the digest's octets, so a zero digest sorts as every real one will.
	zero := make([]byte, f.digest.Size())
	mdAttr := build(func(b *cryptobyte.Builder) {
		cms.AddAttribute(b, cms.OIDMessageDigest, func(b *cryptobyte.Builder) { b.AddASN1OctetString(zero) })
	})
	f.sdHead = build(func(b *cryptobyte.Builder) {
		b.AddASN1Int64(3) // eContentType is not id-data (RFC 5652 §5.1)
		b.AddASN1(cbasn1.SET, func(b *cryptobyte.Builder) { b.AddBytes(f.digestAlg) })
	})
	f.siHead = build(func(b *cryptobyte.Builder) {
		b.AddASN1Int64(1) // sid is issuerAndSerialNumber
		b.AddBytes(f.sid)
		b.AddBytes(f.digestAlg)
	})
	f.oidSD = build(func(b *cryptobyte.Builder) { b.AddASN1ObjectIdentifier(cms.OIDSignedData) })
	f.oidTST = tstInfoOID
	if err != nil {
		return nil, err
	}
	if f.attrs, err = cms.Set([][]byte{f.ctAttr, mdAttr, f.scv2Attr}); err != nil {
		return nil, err
	}
	at := bytes.Index(f.attrs, mdAttr)
	if at < 0 || bytes.LastIndex(f.attrs, mdAttr) != at {
		return nil, errors.New("tsa: the message-digest attribute is not where it was put")
	}
	f.mdOff = at + len(mdAttr) - len(zero)
	f.tstFixed = len(tstVersion) + len(f.policy) + len(f.accuracy) + len(f.tsaName) + len(f.extensions)
	return f, nil
}

// tstVersion is TSTInfo's version v1.
var tstVersion = []byte{0x02, 0x01, 0x01}

// derLenSize is the size of a DER length octets for n octets of contents.
func derLenSize(n int) int {
	switch {
	case n < 0x80:
		return 1
	case n < 0x100:
		return 2
	case n < 0x10000:
		return 3
	case n < 0x1000000:
		return 4
	}
	return 5
}

// elemSize is the size of a DER element with n octets of contents.
func elemSize(n int) int { return 1 + derLenSize(n) + n }

// appendHeader writes a DER tag and the definite, minimal length n (X.690 §10.1).
func appendHeader(dst []byte, tag byte, n int) []byte {
	dst = append(dst, tag)
	switch l := derLenSize(n); l {
	case 1:
		return append(dst, byte(n))
	default:
		dst = append(dst, 0x80|byte(l-1))
		for i := l - 2; i >= 0; i-- {
			dst = append(dst, byte(n>>(8*i)))
		}
		return dst
	}
}

// appendTSTInfo writes TSTInfo (RFC 3161 §2.4.2): v1, policy, the request's
// imprint, serial, genTime, accuracy, the request's nonce, tsa name, extensions.
func (f *fixed) appendTSTInfo(dst []byte, req *request, serial []byte, genTime time.Time) []byte {
	var gt [24]byte
	gtime := appendGeneralizedTime(gt[:0], genTime)
	n := f.tstFixed + len(req.imprint) + elemSize(len(serial)) + len(gtime)
	if req.nonce != nil {
		n += elemSize(len(req.nonce))
	}
	dst = appendHeader(dst, 0x30, n)
	dst = append(dst, tstVersion...)
	dst = append(dst, f.policy...)
	dst = append(dst, req.imprint...)
	dst = appendHeader(dst, 0x02, len(serial))
	dst = append(dst, serial...)
	dst = append(dst, gtime...)
	dst = append(dst, f.accuracy...)
	if req.nonce != nil {
		dst = appendHeader(dst, 0x02, len(req.nonce))
		dst = append(dst, req.nonce...)
	}
	dst = append(dst, f.tsaName...)
	return append(dst, f.extensions...)
}

// appendSignedAttrs writes the signed attributes as the SET OF that is signed (RFC
// 5652 §5.4): content-type, message-digest, signing-certificate-v2 (RFC 5816), sorted.
func (f *fixed) appendSignedAttrs(dst, digest []byte) []byte {
	at := len(dst)
	dst = append(dst, f.attrs...)
	copy(dst[at+f.mdOff:], digest)
	return dst
}

// tokenSize is the size of the TimeStampResp that appendToken writes.
func (f *fixed) tokenSize(tstInfo, attrs, sig []byte, certReq bool) int {
	eci := elemSize(len(f.oidTST) + elemSize(elemSize(len(tstInfo))))
	si := elemSize(len(f.siHead) + len(attrs) + len(f.sigAlg) + elemSize(len(sig)))
	sd := len(f.sdHead) + eci + elemSize(si)
	if certReq {
		sd += len(f.certs)
	}
	ci := len(f.oidSD) + elemSize(elemSize(sd))
	return elemSize(len(granted) + elemSize(ci))
}

// appendToken writes the TimeStampResp carrying the ContentInfo of the SignedData
// around tstInfo; attrs is the signed SET OF, sent as [0] IMPLICIT.
func (f *fixed) appendToken(dst, tstInfo, attrs, sig []byte, certReq bool) []byte {
	eciC := len(f.oidTST) + elemSize(elemSize(len(tstInfo)))
	siC := len(f.siHead) + len(attrs) + len(f.sigAlg) + elemSize(len(sig))
	sdC := len(f.sdHead) + elemSize(eciC) + elemSize(elemSize(siC))
	if certReq {
		sdC += len(f.certs)
	}
	ciC := len(f.oidSD) + elemSize(elemSize(sdC))
	dst = appendHeader(dst, 0x30, len(granted)+elemSize(ciC)) // TimeStampResp
	dst = append(dst, granted...)
	dst = appendHeader(dst, 0x30, ciC) // ContentInfo
	dst = append(dst, f.oidSD...)
	dst = appendHeader(dst, 0xa0, elemSize(sdC))
	dst = appendHeader(dst, 0x30, sdC) // SignedData
	dst = append(dst, f.sdHead...)
	dst = appendHeader(dst, 0x30, eciC) // EncapsulatedContentInfo
	dst = append(dst, f.oidTST...)
	dst = appendHeader(dst, 0xa0, elemSize(len(tstInfo)))
	dst = appendHeader(dst, 0x04, len(tstInfo))
	dst = append(dst, tstInfo...)
	if certReq {
		dst = append(dst, f.certs...)
	}
	dst = appendHeader(dst, 0x31, elemSize(siC)) // SignerInfos
	dst = appendHeader(dst, 0x30, siC)
	dst = append(dst, f.siHead...)
	at := len(dst)
	dst = append(dst, attrs...)
	dst[at] = 0xa0 // [0] IMPLICIT: the signed SET OF with its tag replaced
	dst = append(dst, f.sigAlg...)
	dst = appendHeader(dst, 0x04, len(sig))
	return append(dst, sig...)
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
	t = t.UTC()
	year, month, day := t.Date()
	hour, minute, sec := t.Clock()
	if year < 0 || year > 9999 {
		year = 0 // unreachable for a running clock; keeps the encoding 4 digits
	}
	var s [19]byte
	d2 := func(at, v int) { s[at], s[at+1] = byte('0'+v/10), byte('0'+v%10) }
	d2(0, year/100)
	d2(2, year%100)
	d2(4, int(month))
	d2(6, day)
	d2(8, hour)
	d2(10, minute)
	d2(12, sec)
	n := 14
	if ms := t.Nanosecond() / int(time.Millisecond); ms != 0 {
		s[14], s[15], s[16], s[17] = '.', byte('0'+ms/100), byte('0'+ms/10%10), byte('0'+ms%10)
		n = 18
		for s[n-1] == '0' {
			n--
		}
	}
	s[n] = 'Z'
	n++
	dst = append(dst, 0x18, byte(n))
	return append(dst, s[:n]...)
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
