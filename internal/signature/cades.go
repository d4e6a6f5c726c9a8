// Package signature creates advanced electronic signatures: CAdES (ETSI EN 319
// 122-1) baseline levels B-B, B-T, B-LT and B-LTA, detached or enveloping. It is mechanism
// only — no database, no network: the caller brings the holder's key (L-6, L-9),
// its certificate chain, the clock and, for B-T, a time-stamping authority.
// Every signature is verified before it is returned (STYLE #8).
package signature

import (
	"bytes"
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"fmt"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"

	"github.com/tawthiq/tawthiq/internal/errkind"
	"github.com/tawthiq/tawthiq/internal/issuance"
	"github.com/tawthiq/tawthiq/internal/law"
	"github.com/tawthiq/tawthiq/internal/signature/cms"
)

// Level is a CAdES baseline level (ETSI EN 319 122-1 §4.1).
type Level int

// Levels SignCAdES makes; the zero value is B-B.
const (
	BB   Level = iota // signed attributes only
	BT                // plus a signature time-stamp: a proven date (L-417-3, L-425)
	BLT               // plus the certificates and revocation data for validation without the network
	BLTA              // plus archive time-stamps that keep the evidence valid after algorithms weaken
)

func (l Level) String() string {
	switch l {
	case BB:
		return "B-B"
	case BT:
		return "B-T"
	case BLT:
		return "B-LT"
	case BLTA:
		return "B-LTA"
	}
	return fmt.Sprintf("Level(%d)", int(l))
}

// Stamper returns an RFC 3161 TimeStampToken (the DER ContentInfo, carrying the
// TSA's certificate) over a SHA-256 digest; *tsa.Service is one.
type Stamper interface {
	StampDigest(ctx context.Context, digest [32]byte) (token []byte, err error)
}

// Options says how to sign. The zero value makes a B-B enveloping signature at time.Now.
type Options struct {
	Detached bool // leave eContent out: the signed bytes travel apart
	Level    Level
	Stamper  Stamper          // required for B-T and above
	Now      func() time.Time // the signing time; nil is time.Now
	// Revocation gathers the revocation data B-LT and B-LTA carry.
	Revocation RevocationSource
	// CACerts are further CA certificates (the root, the TSA's issuers) in which
	// B-LT looks for issuers; each one a path uses is embedded with its status.
	CACerts []*x509.Certificate
	// OmitSigningTime leaves the signing-time attribute out, as PAdES requires
	// (EN 319 142-1 §5.2.1: the time goes in the signature dictionary's M).
	OmitSigningTime bool
	// ContentTimeStamp has Stamper stamp the content before it is signed, in a
	// signed content-time-stamp attribute (EN 319 122-1 §5.2.8): proof that
	// the signature was made after that time, at any level.
	ContentTimeStamp bool
}

// SignCAdES signs content with signer, whose certificate is chain[0]; chain[1:]
// are its issuers up to, not including, the root. It returns a CMS ContentInfo
// (DER) holding one SignedData with one SignerInfo, verified before it leaves.
func SignCAdES(ctx context.Context, content []byte, signer crypto.Signer, chain []*x509.Certificate, opts Options) ([]byte, error) {
	if signer == nil || len(chain) == 0 || chain[0] == nil {
		return nil, errkind.New(errkind.Invalid, law.L417_2, "a signature needs the signer's key and certificate")
	}
	cert := chain[0]
	if pk, ok := signer.Public().(interface{ Equal(crypto.PublicKey) bool }); !ok || !pk.Equal(cert.PublicKey) {
		return nil, errkind.New(errkind.Invalid, law.L417_2, "the key does not match the signer's certificate")
	}
	for _, c := range chain[1:] {
		if c == nil {
			return nil, errkind.New(errkind.Invalid, law.LInternal, "a nil certificate in the chain")
		}
	}
	if opts.Level < BB || opts.Level > BLTA {
		return nil, errkind.New(errkind.Invalid, law.LInternal, "unknown CAdES level %v", opts.Level)
	}
	if opts.Level >= BT && opts.Stamper == nil {
		return nil, errkind.New(errkind.Invalid, law.L417_3, "a %v signature needs a time-stamping authority", opts.Level)
	}
	if opts.ContentTimeStamp && opts.Stamper == nil {
		return nil, errkind.New(errkind.Invalid, law.L425, "a content time-stamp needs a time-stamping authority")
	}
	if opts.Level >= BLT && (opts.Revocation == nil || len(chain) < 2) {
		return nil, errkind.New(errkind.Invalid, law.L25, "a %v signature needs a revocation source and the signer's issuer", opts.Level)
	}
	now := time.Now
	if opts.Now != nil {
		now = opts.Now
	}
	signingTime := now().UTC().Truncate(time.Second) // UTCTime has no fractions (RFC 5652 §11.3)
	if err := usableAt(cert, signingTime); err != nil {
		return nil, err
	}
	if cert.KeyUsage != 0 && cert.KeyUsage&(x509.KeyUsageDigitalSignature|x509.KeyUsageContentCommitment) == 0 {
		return nil, errkind.New(errkind.Invalid, law.L6, "the signer's certificate is not for signatures (key usage)")
	}
	sigAlgID, sigHash, x509Alg, err := issuance.SignatureAlgorithmFor(signer.Public())
	if err != nil {
		return nil, err
	}
	digestHash := sigHash
	if digestHash == 0 {
		digestHash = crypto.SHA512 // Ed25519 signs the attributes themselves (RFC 8419 §3)
	}
	h := digestHash.New()
	h.Write(content)
	var contentTS []byte
	if opts.ContentTimeStamp {
		var stamped time.Time
		// EN 319 122-1 §5.2.8: the imprint is over the content the message-digest covers.
		if contentTS, stamped, err = stampWithin(ctx, opts.Stamper, content, cert, "content"); err != nil {
			return nil, err
		}
		// The claim follows the content's time-stamp: the signer signs after it (to the second, as UTCTime).
		if s := stamped.UTC().Truncate(time.Second); s.After(signingTime) {
			signingTime = s
		}
	}
	attrs, err := signedAttributes(cert, h.Sum(nil), signingTime, !opts.OmitSigningTime, contentTS)
	if err != nil {
		return nil, errkind.Wrap(errkind.Internal, err, "encoding the signed attributes")
	}
	// L-9: the signature covers exactly these bytes, whose digest binds the content.
	sig, err := issuance.SignDigestOf(signer, sigHash, attrs)
	if err != nil {
		return nil, errkind.Wrap(errkind.Unavailable, err, "the signer's key could not sign")
	}
	out, err := unsignedAndAssemble(ctx, content, chain, digestHash, cert, attrs, sigAlgID, sig, contentTS, opts)
	if err != nil {
		return nil, err
	}
	// STYLE #8: read back what leaves, as a relying party would, and check it.
	if err := checkProduced(out, content, cert, x509Alg, sigAlgID, opts); err != nil {
		return nil, errkind.Wrap(errkind.Internal, err, "the produced signature does not verify (L-6)")
	}
	return out, nil
}

// usableAt refuses a certificate outside its validity period at t (L-25).
func usableAt(c *x509.Certificate, t time.Time) error {
	if t.Before(c.NotBefore) {
		return errkind.New(errkind.Invalid, law.L25, "the signer's certificate is not valid before %s", c.NotBefore.UTC().Format(time.RFC3339))
	}
	if t.After(c.NotAfter) {
		return errkind.New(errkind.Invalid, law.L25, "the signer's certificate expired at %s: an expired key may not sign", c.NotAfter.UTC().Format(time.RFC3339))
	}
	return nil
}

// signedAttributes writes the SET OF the signer signs: content-type, signing-time,
// message-digest, signing-certificate-v2 and, when given, the content-time-stamp
// (ETSI EN 319 122-1 §5.2), DER-sorted.
func signedAttributes(cert *x509.Certificate, digest []byte, signingTime time.Time, withTime bool, contentTS []byte) ([]byte, error) {
	var ct, st, md, scv2 cryptobyte.Builder
	ct.AddASN1ObjectIdentifier(cms.OIDData)
	if y := signingTime.Year(); y >= 1950 && y < 2050 {
		st.AddASN1UTCTime(signingTime)
	} else {
		st.AddASN1GeneralizedTime(signingTime)
	}
	md.AddASN1OctetString(digest)
	cms.AddSigningCertificateV2(&scv2, cert)
	ctv, err1 := ct.Bytes()
	stv, err2 := st.Bytes()
	mdv, err3 := md.Bytes()
	scv2Attr, err4 := scv2.Bytes()
	for _, err := range []error{err1, err2, err3, err4} {
		if err != nil {
			return nil, err
		}
	}
	ctAttr, err := cms.Attribute(cms.OIDContentType, ctv)
	if err != nil {
		return nil, err
	}
	stAttr, err := cms.Attribute(cms.OIDSigningTime, stv)
	if err != nil {
		return nil, err
	}
	mdAttr, err := cms.Attribute(cms.OIDMessageDigest, mdv)
	if err != nil {
		return nil, err
	}
	attrs := [][]byte{ctAttr, mdAttr, scv2Attr}
	if withTime {
		attrs = append(attrs, stAttr)
	}
	if contentTS != nil {
		ctsAttr, err := cms.Attribute(cms.OIDContentTimeStamp, contentTS)
		if err != nil {
			return nil, err
		}
		attrs = append(attrs, ctsAttr)
	}
	return cms.Set(attrs)
}

// unsignedAndAssemble adds what the level asks after the signature value —
// signature time-stamp (B-T), validation data (B-LT), archive time-stamp
// (B-LTA) — and writes the ContentInfo.
func unsignedAndAssemble(ctx context.Context, content []byte, chain []*x509.Certificate, digestHash crypto.Hash,
	cert *x509.Certificate, attrs, sigAlgID, sig, contentTS []byte, opts Options) ([]byte, error) {
	var data ltv
	for _, c := range chain {
		data.addCert(c.Raw)
	}
	var unsigned [][]byte
	if opts.Level >= BT {
		attr, token, genTime, err := timeStampAttribute(ctx, opts.Stamper, sig, cert)
		if err != nil {
			return nil, err
		}
		unsigned = append(unsigned, attr)
		if opts.Level >= BLT {
			tokens := [][]byte{token}
			if contentTS != nil {
				tokens = append(tokens, contentTS)
			}
			got, err := gatherLTV(ctx, opts, chain, tokens, genTime)
			if err != nil {
				return nil, err
			}
			for _, d := range got.certs {
				data.addCert(d)
			}
			data.revs = got.revs
		}
	}
	cms.SortDER(data.certs) // the order the SET OF will have, which the hash index follows
	cms.SortDER(data.revs)
	fields, err := signerFields(cert, digestHash, attrs, sigAlgID, sig)
	if err != nil {
		return nil, errkind.Wrap(errkind.Internal, err, "encoding the SignerInfo")
	}
	if opts.Level == BLTA {
		attr, err := archiveTimeStamp(ctx, opts.Stamper, content, fields, data.certs, data.revs, unsigned)
		if err != nil {
			return nil, err
		}
		unsigned = append(unsigned, attr)
	}
	out, err := assemble(content, opts.Detached, data, digestHash, opts.Level == BLTA, fields, unsigned)
	if err != nil {
		return nil, errkind.Wrap(errkind.Internal, err, "assembling the CMS signature")
	}
	return out, nil
}

// timeStampAttribute gets a token over SHA-256 of the signature value, checks
// it, and returns the signature-time-stamp attribute (ETSI EN 319 122-1 §5.3),
// the token and its genTime.
func timeStampAttribute(ctx context.Context, s Stamper, sig []byte, cert *x509.Certificate) ([]byte, []byte, time.Time, error) {
	token, genTime, err := stampWithin(ctx, s, sig, cert, "signature")
	if err != nil {
		return nil, nil, time.Time{}, err
	}
	attr, err := cms.Attribute(cms.OIDSignatureTimeStampTok, token)
	if err != nil {
		return nil, nil, time.Time{}, errkind.Wrap(errkind.Internal, err, "encoding the signature time-stamp")
	}
	return attr, token, genTime, nil
}

// stampWithin has s stamp the SHA-256 of data (what names it in errors),
// checks the token, and refuses a genTime outside cert's life (L-25): the
// proven time, not only the claimed one, must fall within it.
func stampWithin(ctx context.Context, s Stamper, data []byte, cert *x509.Certificate, what string) ([]byte, time.Time, error) {
	digest := sha256.Sum256(data)
	token, err := s.StampDigest(ctx, digest)
	if err != nil {
		e := errkind.Wrap(errkind.Unavailable, err, "the time-stamping authority did not stamp the %s", what)
		e.Rule = errkind.As(err).Rule // e.g. L-21-1: the TSA's clock is not trustworthy now
		return nil, time.Time{}, e
	}
	genTime, err := checkToken(token, digest[:])
	if err != nil {
		return nil, time.Time{}, errkind.Wrap(errkind.Unavailable, err, "the time-stamping authority returned an unusable token for the %s", what)
	}
	if err := usableAt(cert, genTime); err != nil {
		return nil, time.Time{}, err
	}
	return token, genTime, nil
}

// signerFields writes the SignerInfo's fields up to its signature: what an
// archive time-stamp covers of it (EN 319 122-1 §5.5.3 step 3).
func signerFields(cert *x509.Certificate, digestHash crypto.Hash, attrs, sigAlgID, sig []byte) ([]byte, error) {
	var b cryptobyte.Builder
	b.AddASN1Int64(1) // sid is issuerAndSerialNumber
	cms.AddIssuerAndSerial(&b, cert)
	cms.AddDigestAlgorithm(&b, digestHash)
	b.AddASN1(cbasn1.Tag(0).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
		b.AddBytes(cms.Contents(attrs)) // [0] IMPLICIT: the signed SET OF, retagged
	})
	b.AddBytes(sigAlgID)
	b.AddASN1OctetString(sig)
	return b.Bytes()
}

// assemble writes ContentInfo { signedData, SignedData } (RFC 5652 §5.1).
// data's certificates and revocation data go in certificates and crls
// (EN 319 122-1 §5.5.1); SHA-256 joins digestAlgorithms when an archive
// time-stamp uses it (§5.5.3).
func assemble(content []byte, detached bool, data ltv, digestHash crypto.Hash, archived bool, fields []byte, unsigned [][]byte) ([]byte, error) {
	algs := [][]byte{digestAlgorithm(digestHash)}
	if archived && digestHash != crypto.SHA256 {
		algs = append(algs, digestAlgorithm(crypto.SHA256))
	}
	var v, encap cryptobyte.Builder
	// Version 1: id-data, issuerAndSerialNumber, no attribute certificates, no other formats.
	v.AddASN1Int64(1)
	encap.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // EncapsulatedContentInfo
		b.AddASN1ObjectIdentifier(cms.OIDData)
		if !detached {
			b.AddASN1(tagExplicit0, func(b *cryptobyte.Builder) {
				b.AddASN1OctetString(content)
			})
		}
	})
	version, err := v.Bytes()
	if err != nil {
		return nil, err
	}
	encapDER, err := encap.Bytes()
	if err != nil {
		return nil, err
	}
	return signedData(version, encapDER, algs, data.certs, data.revs, fields, unsigned)
}

// signedData writes the ContentInfo of a SignedData with one SignerInfo (RFC
// 5652 §5.1): version and encapContentInfo as encoded, fields the SignerInfo's
// up to its unsigned attributes, every SET in DER order.
func signedData(version, encap []byte, algs, certs, revs [][]byte, fields []byte, unsigned [][]byte) ([]byte, error) {
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // ContentInfo
		b.AddASN1ObjectIdentifier(cms.OIDSignedData)
		b.AddASN1(tagExplicit0, func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // SignedData
				b.AddBytes(version)
				addSet(b, cbasn1.SET, algs)
				b.AddBytes(encap)
				if len(certs) > 0 {
					addSet(b, tagExplicit0, certs)
				}
				if len(revs) > 0 {
					addSet(b, tagImplicit1, revs)
				}
				b.AddASN1(cbasn1.SET, func(b *cryptobyte.Builder) { // SignerInfos
					b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
						b.AddBytes(fields)
						if len(unsigned) > 0 {
							addSet(b, tagImplicit1, unsigned)
						}
					})
				})
			})
		})
	})
	return b.Bytes()
}

// addSet writes a SET OF (or an implicitly tagged one) in DER order.
func addSet(b *cryptobyte.Builder, tag cbasn1.Tag, elems [][]byte) {
	sorted := append([][]byte{}, elems...)
	cms.SortDER(sorted)
	b.AddASN1(tag, func(b *cryptobyte.Builder) {
		for _, e := range sorted {
			b.AddBytes(e)
		}
	})
}

func digestAlgorithm(h crypto.Hash) []byte {
	var b cryptobyte.Builder
	cms.AddDigestAlgorithm(&b, h)
	out, _ := b.Bytes() // h is one of cms.DigestOIDs; checkProduced catches the rest
	return out
}

func containsDER(s [][]byte, d []byte) bool {
	for _, e := range s {
		if bytes.Equal(e, d) {
			return true
		}
	}
	return false
}
