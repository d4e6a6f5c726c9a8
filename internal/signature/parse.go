package signature

import (
	"bytes"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
	"github.com/tawthiq/tawthiq/internal/timestamp"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"

	"github.com/tawthiq/tawthiq/internal/signature/cms"
)

// SignedData is what Parse read from a CMS signature: the fields a CAdES
// validator needs, raw where they must be checked byte for byte.
type SignedData struct {
	ContentType  asn1.ObjectIdentifier // eContentType
	Content      []byte                // eContent; nil when Detached
	Detached     bool
	Certificates [][]byte // the certificates field, each a DER Certificate, unparsed
	// CRLs and OCSPs are the crls field's CertificateLists and RFC 5940 OCSPResponses (B-LT), DER.
	CRLs, OCSPs [][]byte
	Signers     []SignerInfo

	// ContentTypeDER is eContentType as encoded, the first input of an archive time-stamp.
	ContentTypeDER []byte
	// CertificateChoices and RevocationChoices are every element of the
	// certificates and crls fields as encoded: what ats-hash-index-v3 indexes.
	CertificateChoices, RevocationChoices [][]byte

	// The fields an extension keeps byte for byte: version, each digest
	// AlgorithmIdentifier, and the EncapsulatedContentInfo, as encoded.
	versionDER, encapDER []byte
	digestAlgDERs        [][]byte
}

// SignerInfo is one signer of a SignedData.
type SignerInfo struct {
	Version            int
	SID                []byte      // IssuerAndSerialNumber or [0] SubjectKeyIdentifier element
	DigestAlgorithm    crypto.Hash // of the content, for message-digest
	SignedAttrs        []byte      // the signed attributes as signed: a DER SET OF (RFC 5652 §5.4)
	SignatureAlgorithm []byte      // AlgorithmIdentifier element
	Signature          []byte

	// Signed attributes, each present at most once with one value.
	ContentType   asn1.ObjectIdentifier
	MessageDigest []byte
	SigningTime   time.Time // claimed, not proven (L-425); zero when absent
	// SigningCertificateV2 is the SHA-256 hash in the first ESSCertIDv2, nil when
	// the attribute is absent or names another hash.
	SigningCertificateV2 []byte

	// ContentTimeStamps are the content-time-stamp attribute's tokens
	// (ContentInfo DER), signed: the content existed at their genTime.
	ContentTimeStamps [][]byte
	// TimeStampTokens are the signature-time-stamp attributes' tokens (ContentInfo DER).
	TimeStampTokens [][]byte
	// ArchiveTimeStamps are the archive-time-stamp-v3 attributes (B-LTA), in order.
	ArchiveTimeStamps []ArchiveTimeStamp

	// ArchiveFields are version, sid, digestAlgorithm, signedAttrs,
	// signatureAlgorithm and signature as encoded, concatenated (EN 319 122-1 §5.5.3 step 3).
	ArchiveFields []byte
	// UnsignedAttrValues are attrType || AttributeValue, as encoded, for each
	// value of each unsigned attribute: what unsignedAttrValuesHashIndex hashes.
	UnsignedAttrValues [][]byte
	// UnsignedAttrs are the unsigned Attributes as encoded, in order.
	UnsignedAttrs [][]byte
}

// ArchiveTimeStamp is one archive-time-stamp-v3 attribute value.
type ArchiveTimeStamp struct {
	Token []byte // the TimeStampToken (ContentInfo DER)
	// HashIndex is the ATSHashIndexV3 the token's ats-hash-index-v3 unsigned
	// attribute holds, as encoded; nil when the token has none.
	HashIndex []byte
}

var (
	tagExplicit0 = cbasn1.Tag(0).Constructed().ContextSpecific()
	tagImplicit1 = cbasn1.Tag(1).Constructed().ContextSpecific()
	tagSKI       = cbasn1.Tag(0).ContextSpecific()
)

// Parse reads a DER ContentInfo holding a SignedData (RFC 5652). It checks the
// structure, never a signature. BER (indefinite lengths, constructed OCTET
// STRINGs) is refused.
func Parse(der []byte) (*SignedData, error) {
	in := cryptobyte.String(der)
	var ci, body, sd cryptobyte.String
	var ctype asn1.ObjectIdentifier
	if !in.ReadASN1(&ci, cbasn1.SEQUENCE) || !in.Empty() || !ci.ReadASN1ObjectIdentifier(&ctype) ||
		!ci.ReadASN1(&body, tagExplicit0) || !ci.Empty() || !body.ReadASN1(&sd, cbasn1.SEQUENCE) || !body.Empty() {
		return nil, errors.New("cms: not a DER ContentInfo")
	}
	if !ctype.Equal(cms.OIDSignedData) {
		return nil, fmt.Errorf("cms: content type %s is not signedData", ctype)
	}
	out := &SignedData{}
	var version int64
	var versionDER, digestAlgs, encapDER, eci, eExplicit cryptobyte.String
	var hasContent bool
	var ctDER cryptobyte.String
	if !sd.ReadASN1Element(&versionDER, cbasn1.INTEGER) || !sd.ReadASN1(&digestAlgs, cbasn1.SET) || !sd.ReadASN1Element(&encapDER, cbasn1.SEQUENCE) {
		return nil, errors.New("cms: malformed SignedData")
	}
	if v := versionDER; !v.ReadASN1Integer(&version) || !v.Empty() {
		return nil, errors.New("cms: malformed SignedData version")
	}
	if e := encapDER; !e.ReadASN1(&eci, cbasn1.SEQUENCE) || !e.Empty() ||
		!eci.ReadASN1Element(&ctDER, cbasn1.OBJECT_IDENTIFIER) || !eci.ReadOptionalASN1(&eExplicit, &hasContent, tagExplicit0) || !eci.Empty() {
		return nil, errors.New("cms: malformed SignedData")
	}
	out.versionDER, out.encapDER = versionDER, encapDER
	for !digestAlgs.Empty() {
		var a cryptobyte.String
		if !digestAlgs.ReadASN1Element(&a, cbasn1.SEQUENCE) {
			return nil, errors.New("cms: malformed digestAlgorithms")
		}
		out.digestAlgDERs = append(out.digestAlgDERs, a)
	}
	out.ContentTypeDER = ctDER
	if !ctDER.ReadASN1ObjectIdentifier(&out.ContentType) {
		return nil, errors.New("cms: malformed eContentType")
	}
	if version < 1 || version > 5 {
		return nil, fmt.Errorf("cms: SignedData version %d", version)
	}
	out.Detached = !hasContent
	if hasContent {
		var c cryptobyte.String
		if !eExplicit.ReadASN1(&c, cbasn1.OCTET_STRING) || !eExplicit.Empty() {
			return nil, errors.New("cms: eContent is not one DER OCTET STRING")
		}
		out.Content = []byte(c)
	}
	var certs cryptobyte.String
	var hasCerts bool
	if !sd.ReadOptionalASN1(&certs, &hasCerts, tagExplicit0) {
		return nil, errors.New("cms: malformed certificates")
	}
	for !certs.Empty() {
		var c cryptobyte.String
		var tag cbasn1.Tag
		if !certs.ReadAnyASN1Element(&c, &tag) {
			return nil, errors.New("cms: malformed certificate")
		}
		out.CertificateChoices = append(out.CertificateChoices, c)
		if tag == cbasn1.SEQUENCE { // other CertificateChoices are not certificates
			out.Certificates = append(out.Certificates, c)
		}
	}
	var crls cryptobyte.String
	var hasCRLs bool
	if !sd.ReadOptionalASN1(&crls, &hasCRLs, tagImplicit1) {
		return nil, errors.New("cms: malformed crls")
	}
	if err := out.readCRLs(crls); err != nil {
		return nil, err
	}
	var sis cryptobyte.String
	if !sd.ReadASN1(&sis, cbasn1.SET) || !sd.Empty() {
		return nil, errors.New("cms: malformed signerInfos")
	}
	for !sis.Empty() {
		var si cryptobyte.String
		if !sis.ReadASN1(&si, cbasn1.SEQUENCE) {
			return nil, errors.New("cms: malformed SignerInfo")
		}
		s, err := parseSignerInfo(si)
		if err != nil {
			return nil, err
		}
		out.Signers = append(out.Signers, s)
	}
	return out, nil
}

func parseSignerInfo(si cryptobyte.String) (SignerInfo, error) {
	var s SignerInfo
	var version int64
	var sid, digestAlg, sigAlg, sig, attrs, unsigned cryptobyte.String
	var tag cbasn1.Tag
	var hasAttrs, hasUnsigned bool
	if !si.ReadASN1Integer(&version) || !si.ReadAnyASN1Element(&sid, &tag) || (tag != cbasn1.SEQUENCE && tag != tagSKI) ||
		!si.ReadASN1(&digestAlg, cbasn1.SEQUENCE) ||
		!readOptionalElement(&si, &attrs, &hasAttrs, tagExplicit0) ||
		!si.ReadASN1Element(&sigAlg, cbasn1.SEQUENCE) || !si.ReadASN1(&sig, cbasn1.OCTET_STRING) ||
		!si.ReadOptionalASN1(&unsigned, &hasUnsigned, tagImplicit1) || !si.Empty() {
		return s, errors.New("cms: malformed SignerInfo")
	}
	if version != 1 && version != 3 {
		return s, fmt.Errorf("cms: SignerInfo version %d", version)
	}
	s.Version, s.SID, s.SignatureAlgorithm, s.Signature = int(version), sid, sigAlg, sig
	s.ArchiveFields = archiveFields(version, sid, digestAlg, attrs, sigAlg, sig)
	var h crypto.Hash
	if h = hashOf(digestAlg); h == 0 {
		return s, errors.New("cms: unsupported digest algorithm")
	}
	s.DigestAlgorithm = h
	if hasAttrs {
		// The [0] IMPLICIT tag is replaced by SET OF's for signing (RFC 5652 §5.4).
		s.SignedAttrs = bytes.Clone(attrs)
		s.SignedAttrs[0] = 0x31
		if err := s.readSignedAttrs(cms.Contents(s.SignedAttrs)); err != nil {
			return s, err
		}
	}
	if hasUnsigned {
		if err := s.readUnsignedAttrs(unsigned); err != nil {
			return s, err
		}
	}
	return s, nil
}

// readCRLs sorts the crls field's RevocationInfoChoices: CertificateLists,
// RFC 5940 OCSP responses, and other formats kept only for the hash index.
func (sd *SignedData) readCRLs(crls cryptobyte.String) error {
	for !crls.Empty() {
		var e cryptobyte.String
		var tag cbasn1.Tag
		if !crls.ReadAnyASN1Element(&e, &tag) {
			return errors.New("cms: malformed RevocationInfoChoice")
		}
		sd.RevocationChoices = append(sd.RevocationChoices, e)
		switch tag {
		case cbasn1.SEQUENCE:
			sd.CRLs = append(sd.CRLs, e)
		case tagImplicit1:
			other := cryptobyte.String(cms.Contents(e))
			var format asn1.ObjectIdentifier
			var resp cryptobyte.String
			if !other.ReadASN1ObjectIdentifier(&format) || !other.ReadAnyASN1Element(&resp, &tag) || !other.Empty() {
				return errors.New("cms: malformed OtherRevocationInfoFormat")
			}
			if format.Equal(cms.OIDRevInfoOCSP) && tag == cbasn1.SEQUENCE {
				sd.OCSPs = append(sd.OCSPs, resp)
			}
		}
	}
	return nil
}

// archiveFields re-encodes the SignerInfo fields an archive time-stamp covers,
// byte for byte as read: each element is written back with its own header.
func archiveFields(version int64, sid, digestAlg, attrs, sigAlg, sig []byte) []byte {
	var b cryptobyte.Builder
	b.AddASN1Int64(version)
	b.AddBytes(sid)
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { b.AddBytes(digestAlg) })
	b.AddBytes(attrs) // the [0] IMPLICIT element as encoded, not retagged
	b.AddBytes(sigAlg)
	b.AddASN1OctetString(sig)
	out, err := b.Bytes()
	if err != nil {
		return nil
	}
	return out
}

// tokenHashIndex returns the ATSHashIndexV3 a time-stamp token's ats-hash-index-v3
// unsigned attribute holds, nil when absent or malformed.
func tokenHashIndex(token []byte) []byte {
	in := cryptobyte.String(token)
	var ci, explicit, sd, sis, si, unsigned cryptobyte.String
	var has bool
	if !in.ReadASN1(&ci, cbasn1.SEQUENCE) || !ci.SkipASN1(cbasn1.OBJECT_IDENTIFIER) || !ci.ReadASN1(&explicit, tagExplicit0) ||
		!explicit.ReadASN1(&sd, cbasn1.SEQUENCE) {
		return nil
	}
	if !sd.SkipASN1(cbasn1.INTEGER) || !sd.SkipASN1(cbasn1.SET) || !sd.SkipASN1(cbasn1.SEQUENCE) ||
		!sd.SkipOptionalASN1(tagExplicit0) || !sd.SkipOptionalASN1(tagImplicit1) ||
		!sd.ReadASN1(&sis, cbasn1.SET) || !sis.ReadASN1(&si, cbasn1.SEQUENCE) {
		return nil
	}
	for !si.Empty() && !si.PeekASN1Tag(tagImplicit1) { // the fields before unsignedAttrs
		var e cryptobyte.String
		if !si.ReadAnyASN1Element(&e, nil) {
			return nil
		}
	}
	if !si.ReadOptionalASN1(&unsigned, &has, tagImplicit1) || !has {
		return nil
	}
	var index []byte
	for !unsigned.Empty() {
		var attr, values, v cryptobyte.String
		var typ asn1.ObjectIdentifier
		if !unsigned.ReadASN1(&attr, cbasn1.SEQUENCE) || !attr.ReadASN1ObjectIdentifier(&typ) || !attr.ReadASN1(&values, cbasn1.SET) {
			return nil
		}
		if typ.Equal(cms.OIDATSHashIndexV3) {
			if index != nil || !values.ReadASN1Element(&v, cbasn1.SEQUENCE) || !values.Empty() {
				return nil // exactly one attribute with one value (EN 319 122-1 §5.5.2)
			}
			index = v
		}
	}
	return index
}

func readOptionalElement(s *cryptobyte.String, out *cryptobyte.String, present *bool, tag cbasn1.Tag) bool {
	*present = s.PeekASN1Tag(tag)
	return !*present || s.ReadASN1Element(out, tag)
}

// hashOf reads a digest AlgorithmIdentifier's contents, parameters absent or NULL.
func hashOf(alg cryptobyte.String) crypto.Hash {
	var oid asn1.ObjectIdentifier
	if !alg.ReadASN1ObjectIdentifier(&oid) {
		return 0
	}
	if !alg.Empty() && !bytes.Equal(alg, []byte{0x05, 0x00}) {
		return 0
	}
	for h, o := range cms.DigestOIDs {
		if o.Equal(oid) {
			return h
		}
	}
	return 0
}

func (s *SignerInfo) readSignedAttrs(set cryptobyte.String) error {
	seen := map[string]bool{}
	for !set.Empty() {
		var attr, values, value cryptobyte.String
		var typ asn1.ObjectIdentifier
		if !set.ReadASN1(&attr, cbasn1.SEQUENCE) || !attr.ReadASN1ObjectIdentifier(&typ) ||
			!attr.ReadASN1(&values, cbasn1.SET) || !attr.Empty() {
			return errors.New("cms: malformed signed attribute")
		}
		key := typ.String()
		// Only the content-time-stamp may come more than once (one per TSA, EN 319 122-1 §5.2.8).
		if seen[key] && !typ.Equal(cms.OIDContentTimeStamp) {
			return fmt.Errorf("cms: signed attribute %s twice", key)
		}
		seen[key] = true
		one := func(tag cbasn1.Tag) bool { return values.ReadASN1Element(&value, tag) && values.Empty() }
		switch {
		case typ.Equal(cms.OIDContentType):
			if !one(cbasn1.OBJECT_IDENTIFIER) || !value.ReadASN1ObjectIdentifier(&s.ContentType) {
				return errors.New("cms: malformed content-type")
			}
		case typ.Equal(cms.OIDMessageDigest):
			var md cryptobyte.String
			if !one(cbasn1.OCTET_STRING) || !value.ReadASN1(&md, cbasn1.OCTET_STRING) {
				return errors.New("cms: malformed message-digest")
			}
			s.MessageDigest = md
		case typ.Equal(cms.OIDSigningTime):
			var t time.Time
			ok := values.PeekASN1Tag(cbasn1.UTCTime) && values.ReadASN1UTCTime(&t) ||
				values.PeekASN1Tag(cbasn1.GeneralizedTime) && values.ReadASN1GeneralizedTime(&t)
			if !ok || !values.Empty() {
				return errors.New("cms: malformed signing-time")
			}
			s.SigningTime = t
		case typ.Equal(cms.OIDContentTimeStamp):
			if values.Empty() {
				return errors.New("cms: empty content-time-stamp")
			}
			for !values.Empty() {
				var tok cryptobyte.String
				if !values.ReadASN1Element(&tok, cbasn1.SEQUENCE) {
					return errors.New("cms: malformed content-time-stamp")
				}
				s.ContentTimeStamps = append(s.ContentTimeStamps, tok)
			}
		case typ.Equal(cms.OIDSigningCertificateV2):
			var scv2, ids, id, alg, hash cryptobyte.String
			var hasAlg bool
			if !one(cbasn1.SEQUENCE) || !value.ReadASN1(&scv2, cbasn1.SEQUENCE) || !scv2.ReadASN1(&ids, cbasn1.SEQUENCE) ||
				!ids.ReadASN1(&id, cbasn1.SEQUENCE) || !id.ReadOptionalASN1(&alg, &hasAlg, cbasn1.SEQUENCE) ||
				!id.ReadASN1(&hash, cbasn1.OCTET_STRING) || !id.SkipOptionalASN1(cbasn1.SEQUENCE) || !id.Empty() {
				return errors.New("cms: malformed signing-certificate-v2")
			}
			if !hasAlg || hashOf(alg) == crypto.SHA256 {
				s.SigningCertificateV2 = hash
			}
		}
	}
	return nil
}

func (s *SignerInfo) readUnsignedAttrs(set cryptobyte.String) error {
	for !set.Empty() {
		var elem, attr, values, typeDER cryptobyte.String
		var typ asn1.ObjectIdentifier
		if !set.ReadASN1Element(&elem, cbasn1.SEQUENCE) {
			return errors.New("cms: malformed unsigned attribute")
		}
		s.UnsignedAttrs = append(s.UnsignedAttrs, bytes.Clone(elem))
		if !elem.ReadASN1(&attr, cbasn1.SEQUENCE) || !attr.ReadASN1Element(&typeDER, cbasn1.OBJECT_IDENTIFIER) ||
			!attr.ReadASN1(&values, cbasn1.SET) || !attr.Empty() {
			return errors.New("cms: malformed unsigned attribute")
		}
		if t := typeDER; !t.ReadASN1ObjectIdentifier(&typ) {
			return errors.New("cms: malformed unsigned attribute type")
		}
		for !values.Empty() {
			var v cryptobyte.String
			var tag cbasn1.Tag
			if !values.ReadAnyASN1Element(&v, &tag) {
				return errors.New("cms: malformed unsigned attribute value")
			}
			s.UnsignedAttrValues = append(s.UnsignedAttrValues, append(bytes.Clone(typeDER), v...))
			switch {
			case typ.Equal(cms.OIDSignatureTimeStampTok):
				if tag != cbasn1.SEQUENCE {
					return errors.New("cms: malformed signature-time-stamp")
				}
				s.TimeStampTokens = append(s.TimeStampTokens, v)
			case typ.Equal(cms.OIDArchiveTimeStampV3):
				if tag != cbasn1.SEQUENCE {
					return errors.New("cms: malformed archive-time-stamp-v3")
				}
				s.ArchiveTimeStamps = append(s.ArchiveTimeStamps, ArchiveTimeStamp{Token: v, HashIndex: tokenHashIndex(v)})
			}
		}
	}
	return nil
}

// checkToken checks an RFC 3161 token as a relying party does short of path
// building (message digest, signing-certificate-v2, signature) and that it stamps digest.
func checkToken(token, digest []byte) (time.Time, error) {
	t, err := timestamp.CheckToken(token)
	if err != nil {
		return time.Time{}, err
	}
	if len(t.Imprint) != sha256.Size || !bytes.Equal(t.Imprint, digest) {
		return time.Time{}, errors.New("the token does not stamp this signature")
	}
	return t.GenTime, nil
}

// checkProduced reads back a signature SignCAdES made and checks it against
// what it meant to sign: content, certificate, algorithm, and the token it got.
func checkProduced(der, content []byte, cert *x509.Certificate, alg x509.SignatureAlgorithm, sigAlgID []byte, opts Options) error {
	sd, err := Parse(der)
	if err != nil {
		return err
	}
	if len(sd.Signers) != 1 || !sd.ContentType.Equal(cms.OIDData) || sd.Detached != opts.Detached ||
		(!sd.Detached && !bytes.Equal(sd.Content, content)) {
		return errors.New("the SignedData is not the one built")
	}
	if !containsDER(sd.Certificates, cert.Raw) {
		return errors.New("the signer's certificate is missing")
	}
	si := &sd.Signers[0]
	h := si.DigestAlgorithm.New()
	h.Write(content)
	certHash := sha256.Sum256(cert.Raw)
	switch {
	case !si.ContentType.Equal(cms.OIDData):
		return errors.New("content-type attribute")
	case !bytes.Equal(si.MessageDigest, h.Sum(nil)):
		return errors.New("message-digest does not match the content")
	case !bytes.Equal(si.SigningCertificateV2, certHash[:]):
		return errors.New("signing-certificate-v2 does not name the signer's certificate")
	case si.SigningTime.IsZero() != opts.OmitSigningTime:
		return errors.New("signing-time present or missing against the options")
	case !bytes.Equal(si.SignatureAlgorithm, sigAlgID):
		return errors.New("signature algorithm")
	case opts.ContentTimeStamp != (len(si.ContentTimeStamps) == 1):
		return errors.New("content-time-stamp present or missing against the options")
	}
	if opts.ContentTimeStamp {
		digest := sha256.Sum256(content)
		if _, err := checkToken(si.ContentTimeStamps[0], digest[:]); err != nil {
			return fmt.Errorf("content-time-stamp: %w", err)
		}
	}
	if err := cert.CheckSignature(alg, si.SignedAttrs, si.Signature); err != nil {
		return err
	}
	if opts.Level >= BT {
		if len(si.TimeStampTokens) != 1 {
			return errors.New("signature-time-stamp missing")
		}
		digest := sha256.Sum256(si.Signature)
		if _, err := checkToken(si.TimeStampTokens[0], digest[:]); err != nil {
			return fmt.Errorf("signature-time-stamp: %w", err)
		}
	}
	if opts.Level >= BLT && len(sd.CRLs)+len(sd.OCSPs) == 0 {
		return errors.New("B-LT without revocation data")
	}
	if opts.Level == BLTA {
		return checkArchiveTimeStamps(sd, si, content)
	}
	return nil
}

// checkArchiveTimeStamps checks that there is an archive time-stamp and each
// stamps the input recomputed from sd as a relying party reads it.
func checkArchiveTimeStamps(sd *SignedData, si *SignerInfo, content []byte) error {
	if len(si.ArchiveTimeStamps) == 0 {
		return errors.New("archive-time-stamp-v3 missing")
	}
	for _, ats := range si.ArchiveTimeStamps {
		t, err := timestamp.CheckToken(ats.Token)
		if err != nil {
			return fmt.Errorf("archive-time-stamp-v3: %w", err)
		}
		input, err := ArchiveTimeStampInput(sd, si, ats.HashIndex, t.HashAlg, signedContent(sd, content))
		if err != nil {
			return err
		}
		if !bytes.Equal(digest(t.HashAlg, input), t.Imprint) {
			return errors.New("archive-time-stamp-v3 does not stamp this signature")
		}
	}
	return nil
}
