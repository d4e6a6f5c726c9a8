// Package cms holds the DER pieces of CMS (RFC 5652) and ESS (RFC 5035) that
// every SignedData tawthiq writes shares — CAdES signatures and RFC 3161 tokens:
// the OIDs, IssuerAndSerialNumber, the signing-certificate-v2 attribute and the
// DER ordering of a SET OF.
package cms

import (
	"bytes"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"slices"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// Object identifiers of RFC 5652, RFC 5035 and RFC 3161.
var (
	OIDData                  = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 1}
	OIDSignedData            = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 2}
	OIDContentType           = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 3}
	OIDMessageDigest         = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 4}
	OIDSigningTime           = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 5}
	OIDTSTInfo               = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 1, 4}
	OIDSigningCertificateV2  = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 2, 47}
	OIDSignatureTimeStampTok = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 2, 14} // id-aa-signatureTimeStampToken
	OIDContentTimeStamp      = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 2, 20} // id-aa-ets-contentTimestamp (EN 319 122-1 §5.2.8)
	// OIDRevInfoOCSP is id-ri-ocsp-response (RFC 5940 §4.1): an OCSPResponse in SignedData.crls.
	OIDRevInfoOCSP = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 16, 2}
	// OIDArchiveTimeStampV3 is id-aa-ets-archiveTimestampV3 (ETSI EN 319 122-1 §5.5.3).
	OIDArchiveTimeStampV3 = asn1.ObjectIdentifier{0, 4, 0, 1733, 2, 4}
	// OIDATSHashIndexV3 is id-aa-ATSHashIndex-v3 (ETSI EN 319 122-1 §5.5.2).
	OIDATSHashIndexV3 = asn1.ObjectIdentifier{0, 4, 0, 19122, 1, 5}
)

// OCSPRevocationInfo returns the RevocationInfoChoice other [1] carrying an
// OCSPResponse, as RFC 5940 §4.1 puts one in SignedData.crls.
func OCSPRevocationInfo(resp []byte) ([]byte, error) {
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.Tag(1).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
		b.AddASN1ObjectIdentifier(OIDRevInfoOCSP)
		b.AddBytes(resp)
	})
	return b.Bytes()
}

// WithUnsignedAttribute returns the ContentInfo holding a SignedData with one
// SignerInfo (an RFC 3161 token, say) with attr appended to its unsignedAttrs;
// every other byte is kept, so the signature still verifies.
func WithUnsignedAttribute(ci, attr []byte) ([]byte, error) {
	in := cryptobyte.String(ci)
	var body, explicit, sd, sis, si cryptobyte.String
	var ctype asn1.ObjectIdentifier
	if !in.ReadASN1(&body, cbasn1.SEQUENCE) || !in.Empty() || !body.ReadASN1ObjectIdentifier(&ctype) ||
		!body.ReadASN1(&explicit, cbasn1.Tag(0).Constructed().ContextSpecific()) || !body.Empty() ||
		!explicit.ReadASN1(&sd, cbasn1.SEQUENCE) || !explicit.Empty() {
		return nil, errors.New("cms: not a DER ContentInfo")
	}
	var head []byte // SignedData fields before signerInfos
	for !sd.PeekASN1Tag(cbasn1.SET) || len(head) == 0 || !isLast(sd) {
		var e cryptobyte.String
		if !sd.ReadAnyASN1Element(&e, nil) {
			return nil, errors.New("cms: malformed SignedData")
		}
		head = append(head, e...)
	}
	if !sd.ReadASN1(&sis, cbasn1.SET) || !sis.ReadASN1(&si, cbasn1.SEQUENCE) || !sis.Empty() {
		return nil, errors.New("cms: not exactly one SignerInfo")
	}
	var fields []byte
	var unsigned cryptobyte.String
	for !si.Empty() {
		var e cryptobyte.String
		var tag cbasn1.Tag
		if !si.ReadAnyASN1Element(&e, &tag) {
			return nil, errors.New("cms: malformed SignerInfo")
		}
		if tag == cbasn1.Tag(1).Constructed().ContextSpecific() && si.Empty() {
			unsigned = cryptobyte.String(Contents(e))
			break
		}
		fields = append(fields, e...)
	}
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1ObjectIdentifier(ctype)
		b.AddASN1(cbasn1.Tag(0).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				b.AddBytes(head)
				b.AddASN1(cbasn1.SET, func(b *cryptobyte.Builder) {
					b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
						b.AddBytes(fields)
						b.AddASN1(cbasn1.Tag(1).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
							b.AddBytes(unsigned) // existing attributes keep their order and encoding
							b.AddBytes(attr)
						})
					})
				})
			})
		})
	})
	return b.Bytes()
}

// isLast reports whether s holds exactly one more element.
func isLast(s cryptobyte.String) bool {
	var e cryptobyte.String
	return s.ReadAnyASN1Element(&e, nil) && s.Empty()
}

// DigestOIDs are the digest algorithms tawthiq writes, by crypto.Hash.
var DigestOIDs = map[crypto.Hash]asn1.ObjectIdentifier{
	crypto.SHA256: {2, 16, 840, 1, 101, 3, 4, 2, 1},
	crypto.SHA384: {2, 16, 840, 1, 101, 3, 4, 2, 2},
	crypto.SHA512: {2, 16, 840, 1, 101, 3, 4, 2, 3},
}

// AddDigestAlgorithm writes the AlgorithmIdentifier of h with absent parameters (RFC 5754 §2).
func AddDigestAlgorithm(b *cryptobyte.Builder, h crypto.Hash) {
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { b.AddASN1ObjectIdentifier(DigestOIDs[h]) })
}

// AddIssuerAndSerial writes the IssuerAndSerialNumber of c (RFC 5652 §10.2.4).
func AddIssuerAndSerial(b *cryptobyte.Builder, c *x509.Certificate) {
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddBytes(c.RawIssuer)
		b.AddASN1BigInt(c.SerialNumber)
	})
}

// AddSigningCertificateV2 writes the signing-certificate-v2 Attribute naming c
// alone (RFC 5035 §3): one ESSCertIDv2 with the SHA-256 default hash (so no
// hashAlgorithm) and its IssuerSerial.
func AddSigningCertificateV2(b *cryptobyte.Builder, c *x509.Certificate) {
	certHash := sha256.Sum256(c.Raw)
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1ObjectIdentifier(OIDSigningCertificateV2)
		b.AddASN1(cbasn1.SET, func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // SigningCertificateV2
				b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // certs
					b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // ESSCertIDv2
						b.AddASN1OctetString(certHash[:])
						b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // IssuerSerial
							b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // GeneralNames
								b.AddASN1(cbasn1.Tag(4).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) { b.AddBytes(c.RawIssuer) })
							})
							b.AddASN1BigInt(c.SerialNumber)
						})
					})
				})
			})
		})
	})
}

// Attribute returns the DER Attribute of type oid with one value, an already encoded element.
func Attribute(oid asn1.ObjectIdentifier, value []byte) ([]byte, error) {
	var b cryptobyte.Builder
	AddAttribute(&b, oid, func(b *cryptobyte.Builder) { b.AddBytes(value) })
	return b.Bytes()
}

// AddAttribute writes the Attribute of type oid with the one value that value writes.
func AddAttribute(b *cryptobyte.Builder, oid asn1.ObjectIdentifier, value cryptobyte.BuilderContinuation) {
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1ObjectIdentifier(oid)
		b.AddASN1(cbasn1.SET, value)
	})
}

// SortDER orders the elements of a SET OF by their encodings (X.690 §11.6).
func SortDER(s [][]byte) { slices.SortFunc(s, bytes.Compare) }

// Set returns the DER SET OF the given elements, sorted in place.
func Set(elems [][]byte) ([]byte, error) {
	SortDER(elems)
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SET, func(b *cryptobyte.Builder) {
		for _, e := range elems {
			b.AddBytes(e)
		}
	})
	return b.Bytes()
}

// Contents returns the contents of one DER element, or nil if der is not one:
// how a signed SET OF becomes the [0] IMPLICIT signedAttrs (RFC 5652 §5.4).
func Contents(der []byte) []byte {
	s := cryptobyte.String(der)
	var out cryptobyte.String
	var tag cbasn1.Tag
	if !s.ReadAnyASN1(&out, &tag) || !s.Empty() {
		return nil
	}
	return out
}
