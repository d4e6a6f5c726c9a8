// Package validation validates CAdES signatures (ETSI EN 319 122-1 B-B to B-LTA)
// as ETSI EN 319 102-1 says, and states the legal conclusions a relying party
// or a court needs: signer identified (L-417-2), qualified signature and its
// presumption (L-20, L-417-3), proven or only claimed date (L-425).
//
// It is mechanism only: no database, no network. Trust anchors, the loaded
// trusted lists and revocation status come from the caller (Options); the
// time is injected (STYLE #9).
package validation

import (
	"bytes"
	"context"
	"crypto/sha256"
	_ "crypto/sha512" // SHA-384 and SHA-512 message digests
	"crypto/x509"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/tawthiq/tawthiq/internal/issuance"
	"github.com/tawthiq/tawthiq/internal/law"
	"github.com/tawthiq/tawthiq/internal/signature"
	"github.com/tawthiq/tawthiq/internal/timestamp"
)

// StatusSource tells the revocation status of cert, issued by issuer, as known
// at time at (the validation time). known is false when the source has no
// authoritative answer (no fresh CRL or OCSP response for it).
type StatusSource interface {
	RevocationStatus(cert, issuer *x509.Certificate, at time.Time) (revoked bool, revokedAt time.Time, known bool)
}

// Options is what the relying party brings.
type Options struct {
	// Roots are the trust anchors for path building: the configured roots and,
	// with TrustedLists, the listed services' certificates (ListedCertificates).
	// Chaining to one proves who signed, not that the CSP was approved.
	Roots []*x509.Certificate
	// TrustedLists decide approval (L-20, L-22): with them, a signature is
	// qualified only if a CA of its path was a granted CA/QC for the
	// certificate's QcType at the proven time, and a time-stamp only if its
	// TSA was a granted TSA/QTST at genTime. Nil: the configured Roots are
	// taken as approved CSPs, and the report says approval was not checked.
	TrustedLists TrustedLists
	// Status gives revocation status live. Nil means only the offline data
	// (the signature's crls, Extra) may answer; when neither does, a signature
	// cannot be TOTAL-PASSED (INDETERMINATE/TRY_LATER): the validator does not
	// fail open.
	Status StatusSource
	// Now is the validation time; zero means time.Now().
	Now time.Time
	// Extra is validation data carried beside the signature (a PDF's DSS):
	// certificates for path building, CRLs and OCSP responses for status. Like
	// the signature's own, a CRL or OCSP response counts only if its issuer (or
	// delegated responder) signed it and, to say "not revoked", only if current
	// at the proven time (signature.StatusAnswer.CurrentAt).
	Extra signature.ValidationData
}

// Validate validates the CAdES signature sig (a DER ContentInfo). content is
// the signed document for a detached signature, nil for an enveloping one. It
// never returns an error: every outcome, malformed input included, is a Report.
func Validate(ctx context.Context, sig []byte, content []byte, opts Options) Report {
	return validate(ctx, sig, content, opts, nil)
}

// validate is Validate with proofs of existence from outside the CMS: the
// trusted document time-stamps over a PDF signature's revision.
func validate(ctx context.Context, sig []byte, content []byte, opts Options, poe []TimeStamp) Report {
	v := newValidator(opts)
	v.run(ctx, sig, content, poe)
	v.conclude()
	return v.r
}

type validator struct {
	opts        Options
	r           Report
	roots, pool *x509.CertPool // trust anchors; certificates for path building
	crls, ocsps [][]byte       // offline revocation data: Extra, then the signature's
	docStamp    *TimeStamp     // the document time-stamp ProvenTime comes from, if it does
	sigStamps   []TimeStamp    // the usable signature time-stamps
}

// newValidator sets the validation time and the pools Roots and Extra give.
func newValidator(opts Options) *validator {
	now := opts.Now
	if now.IsZero() {
		now = time.Now()
	}
	v := &validator{opts: opts, r: Report{ValidationAt: now, ProvenTime: now, ProvenBy: ByValidationTime},
		roots: x509.NewCertPool(), pool: x509.NewCertPool()}
	for _, c := range opts.Roots {
		if c != nil {
			v.roots.AddCert(c)
		}
	}
	v.addCerts(opts.Extra.Certs)
	v.crls, v.ocsps = opts.Extra.CRLs, opts.Extra.OCSPs
	return v
}

// addCerts adds DER certificates to the path-building pool, skipping bad ones.
func (v *validator) addCerts(ders [][]byte) []*x509.Certificate {
	out := make([]*x509.Certificate, 0, len(ders))
	for _, d := range ders {
		if c, err := x509.ParseCertificate(d); err == nil {
			v.pool.AddCert(c)
			out = append(out, c)
		}
	}
	return out
}

// status combines the offline data (the signature's crls, Options.Extra) and
// the live source: a revocation either reports wins, the earliest first; a
// "not revoked" counts offline only from an answer current at at (CurrentAt).
func (v *validator) status(cert, issuer *x509.Certificate, at time.Time) (revoked bool, revokedAt time.Time, known bool) {
	note := func(r bool, t time.Time) {
		if r && (!revoked || t.Before(revokedAt)) {
			revoked, revokedAt = true, t
		}
	}
	for _, a := range signature.StatusAnswers(cert, issuer, v.crls, v.ocsps) {
		if a.Revoked || a.CurrentAt(at) {
			note(a.Revoked, a.RevokedAt)
			known = true
		}
	}
	if v.opts.Status != nil {
		r, t, k := v.opts.Status.RevocationStatus(cert, issuer, v.r.ValidationAt)
		if k {
			note(r, t)
			known = true
		}
	}
	return revoked, revokedAt, known
}

func (v *validator) fail(ind Indication, sub SubIndication, format string, args ...any) {
	v.r.Indication, v.r.SubIndication, v.r.Reason = ind, sub, fmt.Sprintf(format, args...)
}

func (v *validator) warn(format string, args ...any) {
	v.r.Warnings = append(v.r.Warnings, fmt.Sprintf(format, args...))
}

func (v *validator) run(ctx context.Context, der, content []byte, poe []TimeStamp) {
	if err := ctx.Err(); err != nil {
		v.fail(Indeterminate, TryLater, "validation cancelled: %v", err)
		return
	}
	sd, err := signature.Parse(der)
	if err != nil {
		v.fail(TotalFailed, FormatFailure, "not a CMS SignedData this validator reads: %v", err)
		return
	}
	v.r.Detached = sd.Detached
	if len(sd.Signers) != 1 {
		v.fail(TotalFailed, FormatFailure, "%d signers; this validator handles exactly one", len(sd.Signers))
		return
	}
	si := &sd.Signers[0]
	if si.SignedAttrs == nil || si.MessageDigest == nil || si.ContentType == nil {
		v.fail(TotalFailed, FormatFailure, "CAdES requires signed attributes with content-type and message-digest (EN 319 122-1 §5.2)")
		return
	}
	if !si.ContentType.Equal(sd.ContentType) {
		v.fail(TotalFailed, FormatFailure, "the content-type attribute %s differs from eContentType %s", si.ContentType, sd.ContentType)
		return
	}
	v.r.Level = level(sd, si)
	v.crls = append(append([][]byte{}, v.crls...), sd.CRLs...)
	v.ocsps = append(append([][]byte{}, v.ocsps...), sd.OCSPs...)
	if !si.SigningTime.IsZero() {
		t := si.SigningTime.UTC()
		v.r.ClaimedTime = &t
	}

	// EN 319 102-1 §5.2.3: identify the signing certificate among those carried.
	certs := v.addCerts(sd.Certificates)
	signer := signature.SignerCertificate(certs, si.SID)
	if signer == nil {
		v.fail(Indeterminate, NoSigningCertificateFound, "the signature does not carry the certificate its signer identifier names")
		return
	}
	v.r.Signer = identity(signer)

	// EN 319 102-1 §5.2.7: cryptographic verification; a failure here is final.
	signed := sd.Content
	switch {
	case sd.Detached && content == nil:
		v.fail(Indeterminate, SignedDataNotFound, "a detached signature: the signed document was not given")
		return
	case sd.Detached:
		signed = content
	case content != nil && !bytes.Equal(content, sd.Content):
		v.fail(TotalFailed, HashFailure, "the given document differs from the one the signature encloses")
		return
	}
	if !si.DigestAlgorithm.Available() {
		v.fail(TotalFailed, FormatFailure, "digest algorithm %v unavailable", si.DigestAlgorithm)
		return
	}
	h := si.DigestAlgorithm.New()
	h.Write(signed)
	if !bytes.Equal(h.Sum(nil), si.MessageDigest) {
		v.fail(TotalFailed, HashFailure, "the document's %v digest differs from the signed message-digest: the document was changed after signing", si.DigestAlgorithm)
		return
	}
	alg, _, ok := issuance.SignatureAlgorithmOf(si.SignatureAlgorithm)
	if !ok {
		v.fail(TotalFailed, FormatFailure, "unsupported signature algorithm")
		return
	}
	if err := signer.CheckSignature(alg, si.SignedAttrs, si.Signature); err != nil {
		v.fail(TotalFailed, SigCryptoFailure, "the signature value does not verify with the signer's public key: %v", err)
		return
	}
	// EN 319 122-1 §5.2.2.3: signing-certificate-v2 binds the certificate to the signature.
	if certHash := sha256.Sum256(signer.Raw); !bytes.Equal(si.SigningCertificateV2, certHash[:]) {
		v.fail(Indeterminate, NoSigningCertificateFound, "no signing-certificate-v2 attribute naming the signer's certificate by its SHA-256 hash")
		return
	}

	roots, pool := v.roots, v.pool

	// Best-signature-time (EN 319 102-1 §5.6.2.4): each time-stamp judged at its
	// own proof of existence, the latest first (§5.6.3), then the earliest usable.
	archives := v.archiveTimeStamps(sd, si, signed, poe)
	v.bestSignatureTime(si, archives, poe)
	v.proveByArchive()
	v.documentTimeStamps(poe)
	v.r.RenewBefore = v.renewBefore(poe)
	if !v.contentTimeStamps(si, signed, poe) {
		return
	}
	at := v.r.ProvenTime
	if c := v.r.ClaimedTime; c != nil && v.r.ProvenBy == ByTimeStamp && c.After(at) {
		v.warn("the claimed signing time %s is after the time-stamp's %s: the claim is wrong (L-425: only the proven date counts)", ts(*c), ts(at))
	}
	// A claim is a whole second of the signer's clock: a second's leeway.
	if c := v.r.ClaimedTime; c != nil && !v.r.SignedAfter.IsZero() && c.Add(time.Second).Before(v.r.SignedAfter) {
		v.warn("the claimed signing time %s is before the content-time-stamp's %s: the claim is wrong (L-425: only the proven date counts)", ts(*c), ts(v.r.SignedAfter))
	}

	// EN 319 102-1 §5.2.6 and §5.6.2.4: the signer's certificate at best-signature-time.
	if at.Before(signer.NotBefore) {
		v.fail(TotalFailed, NotYetValid, "the signer's certificate is valid only from %s, after the proven time %s", ts(signer.NotBefore), ts(at))
		return
	}
	if at.After(signer.NotAfter) {
		// Tell an unknown CA apart from an expired certificate: build the path within its validity.
		if _, err := signer.Verify(verifyOpts(roots, pool, signer.NotAfter)); err != nil {
			v.fail(Indeterminate, NoCertificateChainFound, "no certification path from the signer's certificate to a trusted root: %v", err)
			return
		}
		if v.r.SignedAfter.After(signer.NotAfter) {
			// §5.3.4 step 5: a content-time-stamp proves the signature was made after expiry.
			v.fail(Indeterminate, Expired, "the signer's certificate expired at %s, and a content-time-stamp proves the signature was made after %s",
				ts(signer.NotAfter), ts(v.r.SignedAfter))
			return
		}
		v.fail(Indeterminate, OutOfBoundsNoPOE, "the signer's certificate expired at %s, before the proven time %s, and nothing proves the signature existed before (%s)",
			ts(signer.NotAfter), ts(at), v.r.ProvenBy)
		return
	}
	chains, err := signer.Verify(verifyOpts(roots, pool, at))
	if err != nil {
		var inv x509.CertificateInvalidError
		var unk x509.UnknownAuthorityError
		switch {
		case errors.As(err, &unk):
			v.fail(Indeterminate, NoCertificateChainFound, "no certification path from the signer's certificate to a trusted root at %s: %v", ts(at), err)
		case errors.As(err, &inv) && inv.Reason == x509.Expired:
			v.fail(Indeterminate, OutOfBoundsNoPOE, "a CA certificate of the path is outside its validity at the proven time %s: %v", ts(at), err)
		default:
			v.fail(Indeterminate, CertificateChainGeneralFailure, "certification path: %v", err)
		}
		return
	}
	chain := chains[0]
	for _, c := range chain {
		v.r.Chain = append(v.r.Chain, issuance.SubjectName(c))
	}

	// Revocation (EN 319 102-1 §5.2.6 with §5.6.2.4 past signature validation).
	if !v.checkStatus(chain, at) {
		return
	}
	v.r.Indication, v.r.Reason = TotalPassed, "the signature is intact, its signer's certificate chains to a trusted root and was valid and not revoked at the proven time"
	v.qualified(signer, chain)
}

// checkStatus checks every certificate of chain but the anchor; it reports false after v.fail.
func (v *validator) checkStatus(chain []*x509.Certificate, at time.Time) bool {
	for i := 0; i+1 < len(chain); i++ {
		c, issuer := chain[i], chain[i+1]
		sub, who := RevokedNoPOE, "the signer's certificate"
		if i > 0 {
			sub, who = RevokedCANoPOE, "the CA certificate "+c.Subject.CommonName
		}
		revoked, revokedAt, known := v.status(c, issuer, at)
		switch {
		case !known && v.opts.Status == nil:
			v.fail(Indeterminate, TryLater, "no revocation status source, and no CRL or OCSP response current at the proven time %s (issued since, or its next update not yet due) carried or given: the status of %s is unknown",
				ts(at), who)
			return false
		case !known:
			v.fail(Indeterminate, TryLater, "the revocation status of %s is not known; retry with fresher revocation data", who)
			return false
		case !revoked:
		case revokedAt.After(at):
			// §5.6.2.4: a proof of existence before the revocation makes the signature good.
			v.warn("%s was revoked at %s, after the proven time %s (%s)", who, ts(revokedAt), ts(at), v.r.ProvenBy)
		case i == 0 && !v.r.SignedAfter.IsZero() && !revokedAt.Add(time.Second).After(v.r.SignedAfter):
			// §5.3.4: the signature includes a content-time-stamp later than the
			// revocation, so the revoked key made it. A revocation time is a whole
			// second: the revocation may fall anywhere in it.
			v.fail(TotalFailed, Revoked, "%s was revoked at %s, and a content-time-stamp proves the signature was made after %s",
				who, ts(revokedAt), ts(v.r.SignedAfter))
			return false
		default:
			// EN 319 102-1 §5.3.4 (REVOKED_NO_POE handling): TOTAL-FAILED/REVOKED
			// needs proof that the signature was made after the revocation, which
			// only a content-time-stamp later than the revocation gives (the
			// content existed, unsigned, then). A signature-time-stamp after the
			// revocation proves nothing about when the key signed, and the
			// signing-time attribute is only claimed: hence REVOKED_NO_POE.
			v.fail(Indeterminate, sub, "%s was revoked at %s, not after the proven time %s; nothing proves the signature existed before the revocation",
				who, ts(revokedAt), ts(at))
			return false
		}
	}
	return true
}

// bestSignatureTime sets ProvenTime to the earliest genTime of a signature
// time-stamp over the signature value that checkTimeStamp accepts, each judged
// at the genTime of a usable archive time-stamp (archives, from
// archiveTimeStamps) or document time-stamp (poe) that covers it; other tokens
// are ignored and reported.
func (v *validator) bestSignatureTime(si *signature.SignerInfo, archives []*timestamp.Token, poe []TimeStamp) {
	for i, tok := range si.TimeStampTokens {
		got, t := v.checkTimeStamp(tok, hashOf(si.Signature), archiveCovers(si, v.r.ArchiveTimeStamps, archives, tok, poe), kindSignature)
		if t == nil {
			v.warn("signature-time-stamp %d ignored: %s", i+1, got.Ignored)
			v.noteIgnored(got)
			continue
		}
		v.sigStamps = append(v.sigStamps, got)
		if v.r.ProvenBy == ByTimeStamp && !got.GenTime.Before(v.r.ProvenTime) {
			continue
		}
		v.r.ProvenTime, v.r.ProvenBy = got.GenTime, ByTimeStamp
		v.r.TimeStamp = &got
	}
}

// contentTimeStamps validates the signed content-time-stamps over signed, each
// judged at the earliest later time-stamp covering the signed attributes
// (signature, archive or document time-stamp), and sets SignedAfter, each
// genTime less its accuracy. A usable one later than a usable time-stamp that
// covers the signature, or than the validation time, breaks EN 319 102-1's
// ordering of time-stamps (TIMESTAMP_ORDER_FAILURE): it reports false after v.fail.
func (v *validator) contentTimeStamps(si *signature.SignerInfo, signed []byte, poe []TimeStamp) bool {
	covers := slices.Concat(v.sigStamps, v.r.ArchiveTimeStamps, poe)
	for i, tok := range si.ContentTimeStamps {
		got, t := v.checkTimeStamp(tok, hashOf(signed), covers, kindContent)
		v.r.ContentTimeStamps = append(v.r.ContentTimeStamps, got)
		if t == nil {
			v.warn("content-time-stamp %d ignored: %s", i+1, got.Ignored)
			continue
		}
		if got.earliest().After(v.r.SignedAfter) {
			v.r.SignedAfter = got.earliest()
		}
	}
	if v.r.SignedAfter.IsZero() {
		return true
	}
	for _, c := range covers {
		if c.usable() && v.r.SignedAfter.After(c.latest()) {
			v.fail(Indeterminate, TimestampOrderFailure, "a content-time-stamp proves the signature was made after %s, but the %s from %s proves it existed at %s: the time-stamps contradict each other",
				ts(v.r.SignedAfter), c.kind, c.TSA, ts(c.GenTime))
			return false
		}
	}
	if v.r.SignedAfter.After(v.r.ValidationAt) {
		v.fail(Indeterminate, TimestampOrderFailure, "a content-time-stamp proves the signature was made after %s, later than the validation time %s", ts(v.r.SignedAfter), ts(v.r.ValidationAt))
		return false
	}
	return true
}

// noteIgnored records an ignored token when no usable one was found yet.
func (v *validator) noteIgnored(got TimeStamp) {
	if v.r.ProvenBy == ByTimeStamp {
		return
	}
	v.r.TimeStamp = &got
}

func (v *validator) conclude() {
	passed := v.r.Indication == TotalPassed
	c := func(rule law.ID, holds bool, why string) {
		v.r.Conclusions = append(v.r.Conclusions, Conclusion{Rule: rule, Holds: holds, Why: why})
	}
	if passed {
		s := v.r.Signer
		c(law.L417_2, true, fmt.Sprintf("the signature is intact and bound by signing-certificate-v2 to the certificate of %s (%s), issued by %s and chaining to a trusted root",
			s.name(), s.Subject, s.Issuer))
	} else {
		c(law.L417_2, false, fmt.Sprintf("the signature does not validate (%s/%s): it identifies no one", v.r.Indication, v.r.SubIndication))
	}
	switch {
	case !passed:
		c(law.L20, false, "the signature does not validate")
	case v.r.Qualified:
		c(law.L20, true, v.r.QualifiedWhy)
	default:
		c(law.L20, false, v.r.QualifiedWhy)
	}
	if svc := v.r.TrustService; passed && svc != nil && svc.Agreement != "" {
		if svc.Approved {
			c(law.L22, true, fmt.Sprintf("the CSP %s is approved in the trusted list of %s, recognised under %s: its qualified certificate has the same legal value as one of a Moroccan approved CSP",
				svc.Provider, svc.List, svc.Agreement))
		} else {
			c(law.L22, false, fmt.Sprintf("the trusted list of %s is recognised under %s, but it does not show the CSP %s approved at the proven time: %s",
				svc.List, svc.Agreement, svc.Provider, svc.Reason))
		}
	}
	switch {
	case !passed:
		c(law.L417_3, false, "not a qualified (secured) signature: no presumption of reliability")
	case !v.r.Qualified:
		c(law.L417_3, false, "not a qualified (secured) signature, no presumption of reliability: "+v.r.QualifiedWhy)
	case v.r.TimeStamp != nil && v.r.ProvenBy == ByTimeStamp && v.r.TimeStamp.Qualified:
		c(law.L417_3, true, fmt.Sprintf("qualified signature: presumed reliable; with a qualified time-stamp of %s it has the force of a certified signature with a certain date (%s)",
			v.r.TimeStamp.TSA, ts(v.r.ProvenTime)))
	case v.r.ProvenBy == ByTimeStamp:
		c(law.L417_3, true, "qualified signature: presumed reliable; its time-stamp is not qualified ("+v.r.TimeStamp.QualifiedWhy+"), so it does not carry a certain date")
	case v.r.ProvenBy == ByDocumentTimeStamp:
		c(law.L417_3, true, fmt.Sprintf("qualified signature: presumed reliable; its date is proven by a document time-stamp of %s, not by a time-stamp of the signature itself, so this report does not grant it the force of a certified signature with a certain date",
			v.docStamp.TSA))
	case v.r.ProvenBy == ByArchiveTimeStamp:
		c(law.L417_3, true, "qualified signature: presumed reliable; its date is proven by an archive time-stamp, not by a time-stamp of the signature itself, so this report does not grant it the force of a certified signature with a certain date")
	default:
		c(law.L417_3, true, "qualified signature: presumed reliable; without a qualified time-stamp it does not have the force of a certified signature with a certain date")
	}
	claimed := "no signing-time attribute"
	if v.r.ClaimedTime != nil {
		claimed = "the signing-time attribute claims " + ts(*v.r.ClaimedTime)
	}
	switch {
	case passed && v.r.ProvenBy == ByTimeStamp:
		c(law.L425, true, fmt.Sprintf("the date %s is proven by a signature time-stamp from %s and is opposable to third parties (%s, not relied on)",
			ts(v.r.ProvenTime), v.r.TimeStamp.TSA, claimed))
	case passed && v.r.ProvenBy == ByDocumentTimeStamp:
		c(law.L425, true, fmt.Sprintf("a document time-stamp from %s over the signed revision proves the signature existed at %s; that date is opposable, the signing date being no later (%s, not relied on)",
			v.docStamp.TSA, ts(v.r.ProvenTime), claimed))
	case passed && v.r.ProvenBy == ByArchiveTimeStamp:
		c(law.L425, true, fmt.Sprintf("an archive time-stamp proves the signature existed at %s; that date is opposable, the signing date being no later (%s, not relied on)",
			ts(v.r.ProvenTime), claimed))
	case passed:
		why := "no trusted signature time-stamp"
		if v.r.TimeStamp != nil && v.r.TimeStamp.Ignored != "" {
			why = "the signature time-stamp was ignored: " + v.r.TimeStamp.Ignored
		}
		c(law.L425, false, fmt.Sprintf("%s; the signing date is only claimed (%s), proven only to be before the validation time %s", why, claimed, ts(v.r.ValidationAt)))
	default:
		c(law.L425, false, "the signature does not validate: it proves no date")
	}
}

func (s *Signer) name() string {
	switch {
	case s.GivenName != "" || s.Surname != "":
		return strings.TrimSpace(s.GivenName + " " + s.Surname)
	case s.Pseudonym != "":
		return "pseudonym " + s.Pseudonym
	case s.Organization != "":
		return s.Organization
	}
	return s.CommonName
}

func verifyOpts(roots, intermediates *x509.CertPool, at time.Time) x509.VerifyOptions {
	return x509.VerifyOptions{Roots: roots, Intermediates: intermediates, CurrentTime: at,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}
}

func ts(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func identity(c *x509.Certificate) *Signer {
	s := &Signer{Subject: issuance.SubjectName(c), Serial: fmt.Sprintf("%x", c.SerialNumber), Issuer: issuance.IssuerName(c),
		CommonName: c.Subject.CommonName, SerialNumber: c.Subject.SerialNumber,
		NotBefore: c.NotBefore.UTC(), NotAfter: c.NotAfter.UTC()}
	if len(c.Subject.Organization) > 0 {
		s.Organization = c.Subject.Organization[0]
	}
	if len(c.Subject.Country) > 0 {
		s.Country = c.Subject.Country[0]
	}
	for _, n := range c.Subject.Names {
		val, _ := n.Value.(string)
		switch {
		case n.Type.Equal(issuance.OIDAttrGivenName):
			s.GivenName = val
		case n.Type.Equal(issuance.OIDAttrSurname):
			s.Surname = val
		case n.Type.Equal(issuance.OIDAttrPseudonym):
			s.Pseudonym = val
		case n.Type.Equal(issuance.OIDAttrOrganizationIdentifier):
			s.OrganizationIdentifier = val
		}
	}
	return s
}
