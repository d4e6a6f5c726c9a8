package signature

import (
	"bytes"
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"time"

	"github.com/tawthiq/tawthiq/internal/errkind"
	"github.com/tawthiq/tawthiq/internal/law"
	"github.com/tawthiq/tawthiq/internal/signature/cms"
	"github.com/tawthiq/tawthiq/internal/timestamp"
)

// maxPath bounds issuer chasing: tawthiq's paths have three certificates.
const maxPath = 8

// ltv is the validation data a B-LT SignedData carries, as elements ready to encode.
type ltv struct {
	certs [][]byte // Certificate DER
	revs  [][]byte // RevocationInfoChoice DER: CertificateList or other [1] OCSP
}

// gatherLTV collects through opts.Revocation the revocation data of every
// certificate of the signer's path and of the TSA's of each token, the
// signature time-stamp first (EN 319 122-1 §5.5.1), and refuses when it shows
// one revoked at the proven time at (L-25) or gives no current answer. Issuers
// are looked for in chain, opts.CACerts and the tokens; a certificate whose
// issuer is not among them is not covered, except the signer's own, which must be.
func gatherLTV(ctx context.Context, opts Options, chain []*x509.Certificate, tokens [][]byte, at time.Time) (ltv, error) {
	pool := append(append([]*x509.Certificate{}, chain...), opts.CACerts...)
	stamps := make([]*timestamp.Token, 0, len(tokens))
	for _, tok := range tokens {
		t, err := timestamp.CheckToken(tok)
		if err != nil {
			return ltv{}, errkind.Wrap(errkind.Internal, err, "re-reading a time-stamp of the signature")
		}
		stamps = append(stamps, t)
		pool = append(pool, certsOf(t.Certs)...)
	}
	signerPath := path(chain[0], pool)
	if len(signerPath) < 2 {
		return ltv{}, errkind.New(errkind.Invalid, law.L25, "B-LT needs the issuer of the signer's certificate in the chain")
	}
	type job struct {
		path []*x509.Certificate
		at   time.Time
		rule law.ID
	}
	jobs := []job{{signerPath, at, law.L25}}
	var seen [][]byte // TSA certificates already covered: one TSA often stamps both
	for _, t := range stamps {
		if !containsDER(seen, t.Signer.Raw) {
			seen = append(seen, t.Signer.Raw)
			jobs = append(jobs, job{path(t.Signer, pool), t.GenTime, law.L417_3})
		}
	}
	var out ltv
	for _, j := range jobs {
		for i, c := range j.path {
			out.addCert(c.Raw)
			if i+1 == len(j.path) {
				break
			}
			if err := out.addStatus(ctx, opts.Revocation, c, j.path[i+1], j.at, j.rule); err != nil {
				return ltv{}, err
			}
		}
	}
	return out, nil
}

// fetchStatus asks src for c's revocation data and refuses it unless it shows c not revoked at at.
func fetchStatus(ctx context.Context, src RevocationSource, c, issuer *x509.Certificate, at time.Time, rule law.ID) (crls, ocsps [][]byte, err error) {
	crls, ocsps, err = src.Revocation(ctx, c, issuer)
	if errkind.Is(err, errkind.Invalid) {
		return nil, nil, err // the source refuses this certificate: not an outage to retry
	} else if err != nil {
		return nil, nil, errkind.Wrap(errkind.Unavailable, err, "the revocation data of %s could not be gathered", c.Subject.CommonName)
	}
	if err := judgeStatus(c, StatusAnswers(c, issuer, crls, ocsps), at, rule); err != nil {
		return nil, nil, err
	}
	return crls, ocsps, nil
}

// addStatus fetches, judges and keeps the revocation data of c.
func (l *ltv) addStatus(ctx context.Context, src RevocationSource, c, issuer *x509.Certificate, at time.Time, rule law.ID) error {
	crls, ocsps, err := fetchStatus(ctx, src, c, issuer, at, rule)
	if err != nil {
		return err
	}
	for _, d := range crls {
		l.addRev(d)
	}
	for _, d := range ocsps {
		ri, err := cms.OCSPRevocationInfo(d)
		if err != nil {
			return errkind.Wrap(errkind.Internal, err, "encoding an OCSP response")
		}
		l.addRev(ri)
	}
	return nil
}

func (l *ltv) addCert(d []byte) {
	if !containsDER(l.certs, d) {
		l.certs = append(l.certs, d)
	}
}

func (l *ltv) addRev(d []byte) {
	if !containsDER(l.revs, d) {
		l.revs = append(l.revs, d)
	}
}

// path follows issuers from c through pool up to a self-signed certificate or
// one whose issuer is not there; it is c first.
func path(c *x509.Certificate, pool []*x509.Certificate) []*x509.Certificate {
	out := []*x509.Certificate{c}
	for len(out) < maxPath && !selfSigned(c) {
		next := issuerIn(c, pool)
		if next == nil {
			break
		}
		out, c = append(out, next), next
	}
	return out
}

func selfSigned(c *x509.Certificate) bool {
	return bytes.Equal(c.RawIssuer, c.RawSubject) && c.CheckSignatureFrom(c) == nil
}

func issuerIn(c *x509.Certificate, pool []*x509.Certificate) *x509.Certificate {
	for _, p := range pool {
		if bytes.Equal(c.RawIssuer, p.RawSubject) && c.CheckSignatureFrom(p) == nil {
			return p
		}
	}
	return nil
}

// archiveTimeStamp gets an archive-time-stamp-v3 (EN 319 122-1 §5.5.3) over the
// signature as it will be assembled, its hash index in the token, and returns
// the attribute. fields are the SignerInfo's fields up to its signature.
func archiveTimeStamp(ctx context.Context, s Stamper, content, fields []byte, certs, revs, unsigned [][]byte) ([]byte, error) {
	var values [][]byte
	for _, a := range unsigned {
		v, err := attributeValues(a)
		if err != nil {
			return nil, errkind.Wrap(errkind.Internal, err, "indexing the unsigned attributes")
		}
		values = append(values, v...)
	}
	index, err := hashIndex(crypto.SHA256, certs, revs, values)
	if err != nil {
		return nil, errkind.Wrap(errkind.Internal, err, "encoding ats-hash-index-v3")
	}
	ct, err := oidDER(cms.OIDData)
	if err != nil {
		return nil, errkind.Wrap(errkind.Internal, err, "encoding eContentType")
	}
	contentHash := sha256.Sum256(content)
	return stampArchive(ctx, s, append(append(append(ct, contentHash[:]...), fields...), index...), index)
}

// stampArchive gets a token over SHA-256 of input, the archive time-stamp
// input whose hash index is index, and returns the archive-time-stamp-v3
// attribute with ats-hash-index-v3 in the token's unsigned attributes.
func stampArchive(ctx context.Context, s Stamper, input, index []byte) ([]byte, error) {
	imprint := sha256.Sum256(input)
	token, err := s.StampDigest(ctx, imprint)
	if err != nil {
		e := errkind.Wrap(errkind.Unavailable, err, "the time-stamping authority did not stamp the archive time-stamp")
		e.Rule = errkind.As(err).Rule
		return nil, e
	}
	if _, err := checkToken(token, imprint[:]); err != nil {
		return nil, errkind.Wrap(errkind.Unavailable, err, "the time-stamping authority returned an unusable archive token")
	}
	indexAttr, err := cms.Attribute(cms.OIDATSHashIndexV3, index)
	if err != nil {
		return nil, errkind.Wrap(errkind.Internal, err, "encoding ats-hash-index-v3")
	}
	if token, err = cms.WithUnsignedAttribute(token, indexAttr); err != nil {
		return nil, errkind.Wrap(errkind.Unavailable, err, "adding ats-hash-index-v3 to the archive token")
	}
	attr, err := cms.Attribute(cms.OIDArchiveTimeStampV3, token)
	if err != nil {
		return nil, errkind.Wrap(errkind.Internal, err, "encoding archive-time-stamp-v3")
	}
	return attr, nil
}
