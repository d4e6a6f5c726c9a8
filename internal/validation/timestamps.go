package validation

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"fmt"
	"slices"
	"time"

	"github.com/tawthiq/tawthiq/internal/issuance"
	"github.com/tawthiq/tawthiq/internal/signature"
	"github.com/tawthiq/tawthiq/internal/timestamp"
)

// ValidateTimeStamp validates an RFC 3161 token over data (a PDF document
// time-stamp, an archive time-stamp's input, any stamped bytes): the imprint is
// data's hash under the token's algorithm, the token's signature verifies, the
// TSA certificate has the timeStamping EKU and chains to opts.Roots at genTime
// (opts.Extra.Certs and the token's certificates as intermediates) and, since
// nothing else proves the token existed before, its path is still valid and
// not revoked at the validation time per the status available (EN 319 102-1
// §5.6.3). Ignored says why when it is unusable.
func ValidateTimeStamp(ctx context.Context, token, data []byte, opts Options) TimeStamp {
	return validateTimeStamp(ctx, token, data, opts, nil, "")
}

// validateTimeStamp is ValidateTimeStamp with covers, the judged time-stamps
// over data's bytes and more, and the kind of token it is for the report's words.
func validateTimeStamp(ctx context.Context, token, data []byte, opts Options, covers []TimeStamp, kind string) TimeStamp {
	if err := ctx.Err(); err != nil {
		return TimeStamp{Ignored: "validation cancelled: " + err.Error(), kind: kind}
	}
	v := newValidator(opts)
	got, _ := v.checkTimeStamp(token, hashOf(data), covers, kind)
	return got
}

// The kinds of time-stamps, as the report names a proof of existence.
const (
	kindContent   = "content time-stamp"
	kindSignature = "signature time-stamp"
	kindArchive   = "archive time-stamp"
	kindDocument  = "document time-stamp"
)

// defaultAccuracy bounds the genTime of a token that states no accuracy (RFC
// 3161 leaves it to other means) when a verdict rests on the order of two times.
const defaultAccuracy = time.Second

// earliest and latest bound when the token's data existed, by its accuracy.
func (t TimeStamp) earliest() time.Time { return t.GenTime.Add(-t.accuracy) }
func (t TimeStamp) latest() time.Time   { return t.GenTime.Add(t.accuracy) }

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

// usable: the time-stamp proves its data existed at its genTime.
func (t TimeStamp) usable() bool { return t.Trusted && t.Ignored == "" }

// checkTimeStamp validates one token whose imprint must be want(token hash),
// its TSA's path judged at its proof of existence (judgeTime over covers, the
// judged time-stamps that cover the token); it returns what the report says
// of it and, when usable, the parsed token.
func (v *validator) checkTimeStamp(token []byte, want imprinter, covers []TimeStamp, kind string) (TimeStamp, *timestamp.Token) {
	t, err := timestamp.CheckToken(token)
	return v.checkParsed(token, t, err, want, covers, kind)
}

// checkParsed is checkTimeStamp for a token timestamp.CheckToken has read (t, err).
func (v *validator) checkParsed(token []byte, t *timestamp.Token, err error, want imprinter, covers []TimeStamp, kind string) (TimeStamp, *timestamp.Token) {
	if err != nil {
		return TimeStamp{Ignored: err.Error(), kind: kind}, nil
	}
	out := TimeStamp{GenTime: t.GenTime.UTC(), TSA: issuance.SubjectName(t.Signer), kind: kind, accuracy: defaultAccuracy}
	if t.HasAccuracy {
		out.accuracy = t.Accuracy
	}
	if t.HashAlg == 0 || !t.HashAlg.Available() {
		out.Ignored = "its message imprint uses a hash this validator does not accept"
		return out, nil
	}
	if !bytes.Equal(t.Imprint, want(t.HashAlg)) {
		out.Ignored = "its message imprint is not the hash of the stamped data"
		return out, nil
	}
	o := verifyOpts(v.roots, v.intermediates(t.Certs), t.GenTime)
	o.KeyUsages = []x509.ExtKeyUsage{x509.ExtKeyUsageTimeStamping}
	chains, err := t.Signer.Verify(o)
	if err != nil {
		out.Ignored = "the TSA does not chain to a trusted root at its genTime: " + err.Error()
		return out, nil
	}
	at, why, covered := v.judgeTime(t.GenTime, covers)
	out.JudgedAt, out.JudgedWhy, out.uncovered = at.UTC(), why, !covered
	if at.After(t.GenTime) {
		// EN 319 102-1 §5.6.2.4: the path must still hold when a proof of existence covers the token.
		o.CurrentTime = at
		judged, err := t.Signer.Verify(o)
		if err != nil {
			out.Ignored = expiredWhy(chains[0], at, why, err)
			return out, nil
		}
		chains = judged
	}
	if why := v.tsaRevoked(chains[0], at, why); why != "" {
		out.Ignored = why
		return out, nil
	}
	out.Trusted = true
	out.ValidUntil = pathEnd(chains[0])
	out.Qualified, out.QualifiedWhy, out.TrustService = v.qualifiedTSA(token, t.Signer, t.GenTime)
	return out, t
}

// judgeTime is when the TSA's path of a token made at genTime is judged (EN
// 319 102-1 §5.6.2.4, §5.6.3): the earliest genTime, not before its own, of a
// usable time-stamp in covers; with none, the validation time, the only proof
// that the token existed. why says which, in the report's words.
func (v *validator) judgeTime(genTime time.Time, covers []TimeStamp) (at time.Time, why string, covered bool) {
	var poe *TimeStamp
	for i := range covers {
		c := &covers[i]
		if c.usable() && !c.GenTime.Before(genTime) && (poe == nil || c.GenTime.Before(poe.GenTime)) {
			poe = c
		}
	}
	if poe == nil {
		return maxTime(genTime, v.r.ValidationAt), "no later usable time-stamp covers it: only the validation time " +
			ts(v.r.ValidationAt) + " proves it existed", false
	}
	return poe.GenTime, fmt.Sprintf("the %s from %s generated at %s covers it and proves it existed then", poe.kind, poe.TSA, ts(poe.GenTime)), true
}

// pathEnd is the earliest notAfter on a TSA's path: past it, the path no longer
// holds at the validation time.
func pathEnd(chain []*x509.Certificate) time.Time {
	end := chain[0].NotAfter
	for _, c := range chain[1:] {
		if c.NotAfter.Before(end) {
			end = c.NotAfter
		}
	}
	return end.UTC()
}

// renewBefore is when the time-stamps a signature's proven time rests on stop
// proving it: the earliest end of a usable time-stamp nothing later covers,
// among its signature and archive time-stamps and the document time-stamps poe.
func (v *validator) renewBefore(poe []TimeStamp) time.Time {
	if v.r.ProvenBy == ByValidationTime {
		return time.Time{}
	}
	var all []TimeStamp
	if v.r.TimeStamp != nil {
		all = append(all, *v.r.TimeStamp)
	}
	all = append(append(all, v.r.ArchiveTimeStamps...), poe...)
	var end time.Time
	for _, t := range all {
		if t.usable() && t.uncovered && (end.IsZero() || t.ValidUntil.Before(end)) {
			end = t.ValidUntil
		}
	}
	return end
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// expiredWhy says why a TSA's path, valid at genTime as chain, fails at at:
// a certificate of it expired before the token's proof of existence.
func expiredWhy(chain []*x509.Certificate, at time.Time, poe string, err error) string {
	for i, c := range chain {
		if at.After(c.NotAfter) {
			who := "its TSA certificate"
			if i > 0 {
				who = "the CA certificate " + c.Subject.CommonName + " of its TSA's path"
			}
			return fmt.Sprintf("%s expired at %s and nothing proves the time-stamp existed before (%s)", who, ts(c.NotAfter), poe)
		}
	}
	return fmt.Sprintf("the TSA's path does not hold at %s (%s): %v", ts(at), poe, err)
}

// tsaRevoked says why a TSA path with a certificate revoked at or before at,
// the token's proof of existence, cannot date anything (EN 319 102-1 §5.6.2.4);
// "" when no status says so: an unknown status does not set a token aside.
func (v *validator) tsaRevoked(chain []*x509.Certificate, at time.Time, poe string) string {
	for i := 0; i+1 < len(chain); i++ {
		revoked, revokedAt, known := v.status(chain[i], chain[i+1], at)
		if known && revoked && !revokedAt.After(at) {
			who := "its TSA certificate"
			if i > 0 {
				who = "the CA certificate " + chain[i].Subject.CommonName + " of its TSA's path"
			}
			return fmt.Sprintf("%s was revoked at %s and nothing proves the time-stamp existed before (%s)", who, ts(revokedAt), poe)
		}
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

// archiveTimeStamps validates each archive-time-stamp-v3 over the input EN
// 319 122-1 §5.5.3 defines, the latest first: each is judged at the genTime of
// a later usable one that indexes it, or of poe, the document time-stamps over
// the signature (EN 319 102-1 §5.6.3). It reports them in the signature's
// order and returns the usable ones' tokens, nil for the others.
func (v *validator) archiveTimeStamps(sd *signature.SignedData, si *signature.SignerInfo, signed []byte, poe []TimeStamp) []*timestamp.Token {
	n := len(si.ArchiveTimeStamps)
	if n == 0 {
		return nil
	}
	got, toks := make([]TimeStamp, n), make([]*timestamp.Token, n)
	tokens := make([][]byte, n)
	for i, ats := range si.ArchiveTimeStamps {
		tokens[i] = ats.Token
	}
	order, parsed, errs := latestFirst(tokens)
	for _, i := range order {
		ats := si.ArchiveTimeStamps[i]
		var inputErr error
		got[i], toks[i] = v.checkParsed(ats.Token, parsed[i], errs[i], func(h crypto.Hash) []byte {
			in, err := signature.ArchiveTimeStampInput(sd, si, ats.HashIndex, h, signed)
			if err != nil {
				inputErr = err
				return nil
			}
			return hashOf(in)(h)
		}, archiveCovers(si, got, toks, ats.Token, poe), kindArchive)
		if inputErr != nil {
			got[i].Trusted, got[i].Qualified, got[i].Ignored, toks[i] = false, false, inputErr.Error(), nil
		}
	}
	for i, t := range toks {
		if t == nil {
			v.warn("archive-time-stamp %d ignored: %s", i+1, got[i].Ignored)
		}
	}
	v.r.ArchiveTimeStamps = got
	return toks
}

// latestFirst reads each token once (timestamp.CheckToken) and orders them by
// genTime, the latest first, so that each is judged after those that may
// cover it; one that does not read comes last.
func latestFirst(tokens [][]byte) (order []int, parsed []*timestamp.Token, errs []error) {
	gen := make([]time.Time, len(tokens))
	order, parsed, errs = make([]int, len(tokens)), make([]*timestamp.Token, len(tokens)), make([]error, len(tokens))
	for i, tok := range tokens {
		order[i] = i
		if parsed[i], errs[i] = timestamp.CheckToken(tok); errs[i] == nil {
			gen[i] = parsed[i].GenTime
		}
	}
	slices.SortStableFunc(order, func(a, b int) int { return gen[b].Compare(gen[a]) })
	return order, parsed, errs
}

// archiveCovers is poe plus the usable archive time-stamps (got, with toks
// non-nil) whose ats-hash-index-v3 lists the unsigned attribute value that
// carries token (EN 319 122-1 §5.5.2): those prove the token existed.
func archiveCovers(si *signature.SignerInfo, got []TimeStamp, toks []*timestamp.Token, token []byte, poe []TimeStamp) []TimeStamp {
	out := slices.Clone(poe)
	var value []byte
	for _, a := range si.UnsignedAttrValues {
		if len(a) > len(token) && bytes.HasSuffix(a, token) { // attrType || the token
			value = a
		}
	}
	for j, t := range toks {
		if t != nil && value != nil && bytes.Contains(si.ArchiveTimeStamps[j].HashIndex, hashOf(value)(t.HashAlg)) {
			out = append(out, got[j])
		}
	}
	return out
}

// proveByArchive makes the earliest usable archive time-stamp the proven time
// when no signature time-stamp proves an earlier one: it is a proof of
// existence of the signature at its genTime (EN 319 102-1 §5.6.2.4).
func (v *validator) proveByArchive() {
	for _, a := range v.r.ArchiveTimeStamps {
		if a.usable() && (v.r.ProvenBy == ByValidationTime || a.GenTime.Before(v.r.ProvenTime)) {
			v.r.ProvenTime, v.r.ProvenBy = a.GenTime, ByArchiveTimeStamp
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
		if !t.usable() {
			continue
		}
		if v.r.ProvenBy == ByValidationTime || t.GenTime.Before(v.r.ProvenTime) {
			v.r.ProvenTime, v.r.ProvenBy, v.docStamp = t.GenTime, ByDocumentTimeStamp, t
		}
	}
}
