package signature

import (
	"crypto"
	"encoding/asn1"
	"errors"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"

	"github.com/tawthiq/tawthiq/internal/signature/cms"
)

// hashIndex writes the ATSHashIndexV3 (EN 319 122-1 §5.5.2) of the given
// CertificateChoices, RevocationInfoChoices and attrType||value strings, in order.
func hashIndex(h crypto.Hash, certs, revs, attrValues [][]byte) ([]byte, error) {
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		cms.AddDigestAlgorithm(b, h) // Annex D makes hashIndAlgorithm mandatory
		for _, list := range [][][]byte{certs, revs, attrValues} {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				for _, e := range list {
					b.AddASN1OctetString(digest(h, e))
				}
			})
		}
	})
	return b.Bytes()
}

func digest(h crypto.Hash, parts ...[]byte) []byte {
	d := h.New()
	for _, p := range parts {
		d.Write(p)
	}
	return d.Sum(nil)
}

// ArchiveTimeStampInput returns the bytes an archive-time-stamp-v3 of si
// stamps (EN 319 122-1 §5.5.3) under its token's hash h: eContentType, the
// hash of signed (the eContent or the detached document), si's fields up to
// its signature, and index, the token's ATSHashIndexV3. It fails when index
// does not hold (§5.5.2): another hash algorithm, or an entry naming nothing
// the signature carries.
func ArchiveTimeStampInput(sd *SignedData, si *SignerInfo, index []byte, h crypto.Hash, signed []byte) ([]byte, error) {
	if h == 0 || !h.Available() {
		return nil, errors.New("archive time-stamp: unsupported hash")
	}
	if err := checkHashIndex(index, h, sd, si); err != nil {
		return nil, err
	}
	var out []byte
	out = append(out, sd.ContentTypeDER...)
	out = append(out, digest(h, signed)...)
	out = append(out, si.ArchiveFields...)
	return append(out, index...), nil
}

// checkHashIndex checks every hash of index names an element sd or si carries.
func checkHashIndex(index []byte, h crypto.Hash, sd *SignedData, si *SignerInfo) error {
	in := cryptobyte.String(index)
	var seq, alg cryptobyte.String
	if len(index) == 0 || !in.ReadASN1(&seq, cbasn1.SEQUENCE) || !in.Empty() {
		return errors.New("ats-hash-index-v3 missing or malformed")
	}
	if !seq.ReadASN1(&alg, cbasn1.SEQUENCE) || hashOf(alg) != h {
		return errors.New("ats-hash-index-v3: hashIndAlgorithm is not the time-stamp's hash")
	}
	for _, carried := range [][][]byte{sd.CertificateChoices, sd.RevocationChoices, si.UnsignedAttrValues} {
		var list cryptobyte.String
		if !seq.ReadASN1(&list, cbasn1.SEQUENCE) {
			return errors.New("ats-hash-index-v3: malformed")
		}
		hashes := make([][]byte, len(carried))
		for i, e := range carried {
			hashes[i] = digest(h, e)
		}
		for !list.Empty() {
			var v cryptobyte.String
			if !list.ReadASN1(&v, cbasn1.OCTET_STRING) {
				return errors.New("ats-hash-index-v3: malformed entry")
			}
			if !containsDER(hashes, v) {
				return errors.New("ats-hash-index-v3 names an element the signature no longer carries")
			}
		}
	}
	if !seq.Empty() {
		return errors.New("ats-hash-index-v3: trailing data")
	}
	return nil
}

// signedContent is what message-digest covers: the eContent or, detached, content.
func signedContent(sd *SignedData, content []byte) []byte {
	if sd.Detached {
		return content
	}
	return sd.Content
}

// attributeValues returns attrType || AttributeValue, as encoded, for each value of one Attribute.
func attributeValues(attr []byte) ([][]byte, error) {
	in := cryptobyte.String(attr)
	var a, typ, values cryptobyte.String
	if !in.ReadASN1(&a, cbasn1.SEQUENCE) || !a.ReadASN1Element(&typ, cbasn1.OBJECT_IDENTIFIER) || !a.ReadASN1(&values, cbasn1.SET) {
		return nil, errors.New("malformed Attribute")
	}
	var out [][]byte
	for !values.Empty() {
		var v cryptobyte.String
		if !values.ReadAnyASN1Element(&v, nil) {
			return nil, errors.New("malformed AttributeValue")
		}
		out = append(out, append(append([]byte{}, typ...), v...))
	}
	return out, nil
}

func oidDER(oid asn1.ObjectIdentifier) ([]byte, error) {
	var b cryptobyte.Builder
	b.AddASN1ObjectIdentifier(oid)
	return b.Bytes()
}
