package validation

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"time"

	"github.com/tawthiq/tawthiq/internal/signature"
	"github.com/tawthiq/tawthiq/internal/timestamp"
)

// ValidateTimeStamp validates an RFC 3161 token over data (a PDF document
// time-stamp, an archive time-stamp's input, any stamped bytes): the imprint is
// data's hash under the token's algorithm, the token's signature verifies, the
// TSA certificate has the timeStamping EKU, chains to opts.Roots at genTime
// (opts.Extra.Certs and the token's certificates as intermediates) and was not
// revoked at genTime per the status available. Ignored says why when it is unusable.
func ValidateTimeStamp(ctx context.Context, token, data []byte, opts Options) TimeStamp {
	if err := ctx.Err(); err != nil {
		return TimeStamp{Ignored: "validation cancelled: " + err.Error()}
	}
	v := newValidator(opts)
	got, _ := v.checkTimeStamp(token, hashOf(data))
	return got
}

// imprinter gives the imprint a token must carry, under the token's hash.
type imprinter func(crypto.Hash) []byte

// hashOf is the imprinter of fixed bytes.
func hashOf(data []byte) imprinter {
	return func(h crypto.Hash) []byte {
		d := h.New()
		d.Write(data)
		return d.Sum(nil)
	}
}

// checkTimeStamp validates one token whose imprint must be want(token hash);
// it returns what the report says of it and, when usable, the parsed token.
func (v *validator) checkTimeStamp(token []byte, want imprinter) (TimeStamp, *timestamp.Token) {
	t, err := timestamp.CheckToken(token)
	if err != nil {
		return TimeStamp{Ignored: err.Error()}, nil
	}
	out := TimeStamp{GenTime: t.GenTime.UTC(), TSA: t.Signer.Subject.String()}
	if t.HashAlg == 0 || !t.HashAlg.Available() {
		out.Ignored = "its message imprint uses a hash this validator does not accept"
		return out, nil
	}
	if !bytes.Equal(t.Imprint, want(t.HashAlg)) {
		out.Ignored = "its message imprint is not the hash of the stamped data"
		return out, nil
	}
	inter := v.intermediates(t.Certs)
	o := verifyOpts(v.roots, inter, t.GenTime)
	o.KeyUsages = []x509.ExtKeyUsage{x509.ExtKeyUsageTimeStamping}
	chains, err := t.Signer.Verify(o)
	if err != nil {
		out.Ignored = "the TSA does not chain to a trusted root at its genTime: " + err.Error()
		return out, nil
	}
	if why := v.tsaRevoked(chains[0], t.GenTime); why != "" {
		out.Ignored = why
		return out, nil
	}
	out.Trusted = true
	out.Qualified, out.QualifiedWhy, out.TrustService = v.qualifiedTSA(token, t.Signer, t.GenTime)
	return out, t
}

// tsaRevoked says why a TSA certificate revoked at or before genTime cannot
// date anything (EN 319 102-1 §5.4); "" when no status says so.
func (v *validator) tsaRevoked(chain []*x509.Certificate, genTime time.Time) string {
	if len(chain) < 2 {
		return ""
	}
	revoked, at, known := v.status(chain[0], chain[1], genTime)
	if known && revoked && !at.After(genTime) {
		return "the TSA certificate was revoked at " + ts(at) + ", not after its genTime " + ts(genTime)
	}
	return ""
}

// intermediates is the path-building pool plus extra DER certificates.
func (v *validator) intermediates(extra [][]byte) *x509.CertPool {
	if len(extra) == 0 {
		return v.pool
	}
	p := v.pool.Clone()
	for _, d := range extra {
		if c, err := x509.ParseCertificate(d); err == nil {
			p.AddCert(c)
		}
	}
	return p
}

// level names the CAdES baseline level whose structures sd carries (EN 319 122-1 §4.1).
func level(sd *signature.SignedData, si *signature.SignerInfo) string {
	switch {
	case len(si.TimeStampTokens) == 0:
		return "B-B"
	case len(sd.CRLs)+len(sd.OCSPs) == 0:
		return "B-T"
	case len(si.ArchiveTimeStamps) == 0:
		return "B-LT"
	}
	return "B-LTA"
}

// archiveTimeStamps validates each archive-time-stamp-v3 over the input
// EN 319 122-1 §5.5.3 defines and reports it; a valid one is a proof of
// existence of the signature at its genTime (EN 319 102-1 §5.6.2.4), which
// becomes the proven time when no signature time-stamp proves an earlier one.
func (v *validator) archiveTimeStamps(sd *signature.SignedData, si *signature.SignerInfo, signed []byte) {
	for i, ats := range si.ArchiveTimeStamps {
		var inputErr error
		got, t := v.checkTimeStamp(ats.Token, func(h crypto.Hash) []byte {
			in, err := signature.ArchiveTimeStampInput(sd, si, ats.HashIndex, h, signed)
			if err != nil {
				inputErr = err
				return nil
			}
			return hashOf(in)(h)
		})
		if inputErr != nil {
			got.Trusted, got.Qualified, got.Ignored, t = false, false, inputErr.Error(), nil
		}
		v.r.ArchiveTimeStamps = append(v.r.ArchiveTimeStamps, got)
		if t == nil {
			v.warn("archive-time-stamp %d ignored: %s", i+1, got.Ignored)
			continue
		}
		if v.r.ProvenBy == ByValidationTime || got.GenTime.Before(v.r.ProvenTime) {
			v.r.ProvenTime, v.r.ProvenBy = got.GenTime, ByArchiveTimeStamp
		}
	}
}

// documentTimeStamps takes poe, the document time-stamps over a PDF
// signature's revision: a trusted one proves the signature existed at its
// genTime (EN 319 102-1 §5.6.2.4), and the earliest becomes the proven time
// when nothing in the signature proves an earlier one.
func (v *validator) documentTimeStamps(poe []TimeStamp) {
	for i := range poe {
		t := &poe[i]
		if !t.Trusted || t.Ignored != "" {
			continue
		}
		if v.r.ProvenBy == ByValidationTime || t.GenTime.Before(v.r.ProvenTime) {
			v.r.ProvenTime, v.r.ProvenBy, v.docStamp = t.GenTime, ByDocumentTimeStamp, t
		}
	}
}
