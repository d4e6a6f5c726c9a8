package signature

import (
	"bytes"
	"context"
	"crypto/x509"
	"time"

	"golang.org/x/crypto/cryptobyte"

	"github.com/tawthiq/tawthiq/internal/errkind"
	"github.com/tawthiq/tawthiq/internal/issuance"
	"github.com/tawthiq/tawthiq/internal/law"
	"github.com/tawthiq/tawthiq/internal/signature/cms"
	"github.com/tawthiq/tawthiq/internal/timestamp"
)

// ExtendOptions says how ExtendCAdES and ExtendPAdES raise the level of a
// signature that already exists (augmentation, EN 319 122-1 and 142-1).
type ExtendOptions struct {
	Stamper    Stamper          // B-T and B-LTA: the TSA of the time-stamps added
	Revocation RevocationSource // B-LT and B-LTA: the status data added
	// CACerts are further CA certificates (the root, the TSA's issuers) that
	// complete the paths the file does not carry whole.
	CACerts []*x509.Certificate
	// Issuers fetches an issuer that neither the file nor CACerts holds; nil fetches none.
	Issuers IssuerSource
}

// IssuerSource finds cert's issuer (the app follows the AIA caIssuers URL).
type IssuerSource interface {
	Issuer(ctx context.Context, cert *x509.Certificate) (*x509.Certificate, error)
}

// checkTarget refuses an unknown level and one below the file's: extending
// only appends, it never takes evidence out (L-9).
func checkTarget(target, current Level) error {
	if target < BB || target > BLTA {
		return errkind.New(errkind.Invalid, law.LInternal, "unknown level %v", target)
	}
	if target < current {
		return errkind.New(errkind.Invalid, law.L9, "the signature is already %v: extending only appends, so it cannot become %v", current, target)
	}
	return nil
}

func needStamper(opts ExtendOptions, target Level) error {
	if opts.Stamper == nil {
		return errkind.New(errkind.Invalid, law.L417_3, "raising a signature to %v needs a time-stamping authority", target)
	}
	return nil
}

func needRevocation(opts ExtendOptions, target Level) error {
	if opts.Revocation == nil {
		return errkind.New(errkind.Invalid, law.L25, "raising a signature to %v needs a revocation source", target)
	}
	return nil
}

var errNoSignature = errkind.New(errkind.Invalid, law.L417_2, "the file holds no signature to extend")

// pathOf is path with opts.Issuers asked for an issuer pool lacks; what it
// fetches joins pool and is kept only if it signed the certificate.
func (o ExtendOptions) pathOf(ctx context.Context, c *x509.Certificate, pool *[]*x509.Certificate) []*x509.Certificate {
	out := []*x509.Certificate{c}
	for len(out) < maxPath && !selfSigned(c) {
		next := issuerIn(c, *pool)
		if next == nil && o.Issuers != nil {
			if got, err := o.Issuers.Issuer(ctx, c); err == nil && got != nil &&
				bytes.Equal(c.RawIssuer, got.RawSubject) && c.CheckSignatureFrom(got) == nil {
				next = got
				*pool = append(*pool, got)
			}
		}
		if next == nil {
			break
		}
		out, c = append(out, next), next
	}
	return out
}

// gatherPath adds to add p's certificates and, for each but the last, the
// status data src gives, judged at at (judgeStatus), unless have or add
// already holds an authentic answer issued at or after at that shows it not
// revoked then: a renewal fetches only what the file lacks.
func gatherPath(ctx context.Context, add *ValidationData, have ValidationData, src RevocationSource, p []*x509.Certificate, at time.Time, rule law.ID) error {
	for i, c := range p {
		if !containsDER(have.Certs, c.Raw) {
			add.Certs = appendNew(add.Certs, c.Raw)
		}
		if i+1 == len(p) {
			break
		}
		issuer := p[i+1]
		if freshAnswer(c, issuer, have, at) || freshAnswer(c, issuer, *add, at) {
			continue
		}
		crls, ocsps, err := fetchStatus(ctx, src, c, issuer, at, rule)
		if err != nil {
			return err
		}
		for _, d := range crls {
			if !containsDER(have.CRLs, d) {
				add.CRLs = appendNew(add.CRLs, d)
			}
		}
		for _, d := range ocsps {
			if !containsDER(have.OCSPs, d) {
				add.OCSPs = appendNew(add.OCSPs, d)
			}
		}
	}
	return nil
}

// freshAnswer: d holds an answer for c issued at or after at, and none shows
// it revoked by then: stronger than what the validator asks (CurrentAt), so
// that what tawthiq adds proves the status at at without the nextUpdate rule.
func freshAnswer(c, issuer *x509.Certificate, d ValidationData, at time.Time) bool {
	fresh := false
	for _, a := range StatusAnswers(c, issuer, d.CRLs, d.OCSPs) {
		if a.Revoked && !a.RevokedAt.After(at) {
			return false
		}
		fresh = fresh || a.IssuedSince(at)
	}
	return fresh
}

// certsOf parses DER certificates, skipping what does not parse.
func certsOf(ders [][]byte) []*x509.Certificate {
	out := make([]*x509.Certificate, 0, len(ders))
	for _, d := range ders {
		if c, err := x509.ParseCertificate(d); err == nil {
			out = append(out, c)
		}
	}
	return out
}

// SignerCertificate returns the certificate a SignerIdentifier names (RFC 5652 §5.3), nil if none.
func SignerCertificate(certs []*x509.Certificate, sid []byte) *x509.Certificate {
	for _, c := range certs {
		if len(sid) > 0 && sid[0] == 0x80 { // [0] SubjectKeyIdentifier
			if len(c.SubjectKeyId) > 0 && bytes.Equal(cms.Contents(sid), c.SubjectKeyId) {
				return c
			}
			continue
		}
		var b cryptobyte.Builder
		cms.AddIssuerAndSerial(&b, c)
		if ias, err := b.Bytes(); err == nil && bytes.Equal(ias, sid) {
			return c
		}
	}
	return nil
}

// checkIntact checks, before anything is added, that the signature still
// binds signed (L-6: any later change is detectable) and returns its signer's
// certificate.
func checkIntact(sd *SignedData, si *SignerInfo, signed []byte) (*x509.Certificate, error) {
	if si.SignedAttrs == nil || si.MessageDigest == nil {
		return nil, errkind.New(errkind.Invalid, law.L417_2, "the signature has no signed attributes (EN 319 122-1 §5.2): not a CAdES signature")
	}
	cert := SignerCertificate(certsOf(sd.Certificates), si.SID)
	if cert == nil {
		return nil, errkind.New(errkind.Invalid, law.L417_2, "the signature does not carry its signer's certificate")
	}
	if !si.DigestAlgorithm.Available() {
		return nil, errkind.New(errkind.Invalid, law.LInternal, "digest algorithm %v unavailable", si.DigestAlgorithm)
	}
	h := si.DigestAlgorithm.New()
	h.Write(signed)
	if !bytes.Equal(h.Sum(nil), si.MessageDigest) {
		return nil, errkind.New(errkind.Invalid, law.L6, "the document differs from the one signed: it was changed after signing, and is not extended")
	}
	alg, _, ok := issuance.SignatureAlgorithmOf(si.SignatureAlgorithm)
	if !ok {
		return nil, errkind.New(errkind.Invalid, law.LInternal, "unsupported signature algorithm")
	}
	if err := cert.CheckSignature(alg, si.SignedAttrs, si.Signature); err != nil {
		return nil, errkind.New(errkind.Invalid, law.L6, "the signature value does not verify: the signature was changed, and is not extended")
	}
	return cert, nil
}

// stampTimes reads the time-stamp tokens a file carries: each must verify
// (timestamp.CheckToken); a token that does not is refused rather than
// given validation data.
func stampTimes(tokens [][]byte) ([]*timestamp.Token, error) {
	out := make([]*timestamp.Token, 0, len(tokens))
	for _, tok := range tokens {
		t, err := timestamp.CheckToken(tok)
		if err != nil {
			e := errkind.Wrap(errkind.Invalid, err, "a time-stamp of the file does not verify")
			e.Rule = law.L417_3
			return nil, e
		}
		out = append(out, t)
	}
	return out, nil
}

// earliest is the earliest genTime of ts; zero when ts is empty.
func earliest(ts []*timestamp.Token) time.Time {
	var at time.Time
	for _, t := range ts {
		if at.IsZero() || t.GenTime.Before(at) {
			at = t.GenTime
		}
	}
	return at
}

// gatherStamps adds the validation data of the signer's path (unless signer
// is nil), judged at signedAt, its proven time, and of every TSA's path, each
// judged at its token's genTime (EN 319 122-1 §5.5.1, EN 319 142-1 §5.4.2).
func gatherStamps(ctx context.Context, opts ExtendOptions, add *ValidationData, have ValidationData, pool []*x509.Certificate,
	signer *x509.Certificate, signedAt time.Time, stamps []*timestamp.Token) error {
	pool = append(append([]*x509.Certificate{}, pool...), opts.CACerts...)
	for _, t := range stamps {
		pool = append(pool, certsOf(t.Certs)...)
	}
	if signer != nil {
		signerPath := opts.pathOf(ctx, signer, &pool)
		if len(signerPath) < 2 {
			return errkind.New(errkind.Invalid, law.L25, "B-LT needs the issuer of %s: give it (or the CA certificates) with the file", signer.Subject.CommonName)
		}
		if signedAt.IsZero() {
			return errkind.New(errkind.Invalid, law.L425, "B-LT needs a time-stamp proving when %s signed", signer.Subject.CommonName)
		}
		if err := gatherPath(ctx, add, have, opts.Revocation, signerPath, signedAt, law.L25); err != nil {
			return err
		}
	}
	for _, t := range stamps {
		if err := gatherPath(ctx, add, have, opts.Revocation, opts.pathOf(ctx, t.Signer, &pool), t.GenTime, law.L417_3); err != nil {
			return err
		}
	}
	return nil
}
