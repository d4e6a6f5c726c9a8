package signature

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/asn1"
	"time"

	"golang.org/x/crypto/ocsp"

	"github.com/tawthiq/tawthiq/internal/errkind"
	"github.com/tawthiq/tawthiq/internal/law"
)

// CRL extensions whose scope this package does not judge (RFC 5280 §5.2.4, §5.2.5).
var (
	oidDeltaCRLIndicator        = asn1.ObjectIdentifier{2, 5, 29, 27}
	oidIssuingDistributionPoint = asn1.ObjectIdentifier{2, 5, 29, 28}
)

// RevocationSource gives, for cert issued by issuer, the revocation data a
// relying party needs later without the network (B-LT, EN 319 122-1 §5.5):
// DER CRLs and/or DER OCSP responses. The app fetches them; tests serve them.
type RevocationSource interface {
	Revocation(ctx context.Context, cert, issuer *x509.Certificate) (crls, ocsps [][]byte, err error)
}

// ValidationData is the material for long-term validation: certificates, CRLs
// and OCSP responses, each DER. CAdES carries it in the SignedData, PAdES in
// the document security store (DSS).
type ValidationData struct {
	Certs, CRLs, OCSPs [][]byte
}

// StatusAnswer is what one authentic CRL or OCSP response says of one certificate.
type StatusAnswer struct {
	Revoked    bool
	RevokedAt  time.Time // when Revoked
	ThisUpdate time.Time // the status is known correct at this time
	NextUpdate time.Time // zero when the issuer gives none
	OCSP       bool      // from an OCSP response, else from a CRL
}

// IssuedSince reports whether the answer was given at or after at, to the
// second: CRL and OCSP times are whole seconds (RFC 5280 §5.1.2.4, RFC 6960
// §4.2.2.1), so an answer of at's second, after a time-stamp of it, counts.
func (a StatusAnswer) IssuedSince(at time.Time) bool {
	return !a.ThisUpdate.Before(at.Truncate(time.Second))
}

// CurrentAt reports whether the answer speaks for time at: issued at or after
// it, or still within its validity period then. This is EN 319 102-1 §5.2.5's
// freshness rule when the policy sets no maximum age (issued after at minus
// nextUpdate-thisUpdate): the validator's rule in every format, and the
// signing check's. A revocation in the interval before at that a current CRL
// does not list yet is the rule's known risk, so what tawthiq adds to a file
// when extending is issued since at (IssuedSince), stronger than it demands.
func (a StatusAnswer) CurrentAt(at time.Time) bool {
	return a.IssuedSince(at) || (!a.NextUpdate.IsZero() && !at.After(a.NextUpdate) && !a.ThisUpdate.After(at))
}

// StatusAnswers returns what the given CRLs and OCSP responses say of cert.
// Data counts only if signed by issuer (or, for OCSP, by a responder issuer
// delegated with id-kp-OCSPSigning) and covering cert; the rest is skipped.
func StatusAnswers(cert, issuer *x509.Certificate, crls, ocsps [][]byte) []StatusAnswer {
	if cert == nil || issuer == nil || !bytes.Equal(cert.RawIssuer, issuer.RawSubject) {
		return nil
	}
	var out []StatusAnswer
	for _, d := range crls {
		if a, ok := crlAnswer(cert, issuer, d); ok {
			out = append(out, a)
		}
	}
	for _, d := range ocsps {
		if a, ok := ocspAnswer(cert, issuer, d); ok {
			out = append(out, a)
		}
	}
	return out
}

// crlAnswer reads a full CRL of issuer; partitioned CRLs (issuingDistributionPoint)
// and delta CRLs are skipped: their scope is not judged here.
func crlAnswer(cert, issuer *x509.Certificate, der []byte) (StatusAnswer, bool) {
	crl, err := x509.ParseRevocationList(der)
	if err != nil || !bytes.Equal(crl.RawIssuer, issuer.RawSubject) || crl.CheckSignatureFrom(issuer) != nil {
		return StatusAnswer{}, false
	}
	for _, e := range crl.Extensions {
		if e.Id.Equal(oidIssuingDistributionPoint) || e.Id.Equal(oidDeltaCRLIndicator) {
			return StatusAnswer{}, false
		}
	}
	a := StatusAnswer{ThisUpdate: crl.ThisUpdate, NextUpdate: crl.NextUpdate}
	for _, e := range crl.RevokedCertificateEntries {
		if e.SerialNumber != nil && e.SerialNumber.Cmp(cert.SerialNumber) == 0 {
			a.Revoked, a.RevokedAt = true, e.RevocationTime
		}
	}
	return a, true
}

// ocspAnswer reads an OCSP response about cert signed by issuer or its delegated responder (RFC 6960 §4.2.2.2).
func ocspAnswer(cert, issuer *x509.Certificate, der []byte) (StatusAnswer, bool) {
	r, err := ocsp.ParseResponseForCert(der, cert, issuer)
	if err != nil || r.Status == ocsp.Unknown || r.SerialNumber == nil || r.SerialNumber.Cmp(cert.SerialNumber) != 0 {
		return StatusAnswer{}, false
	}
	if d := r.Certificate; d != nil {
		// ParseResponseForCert checked the issuer signed it; the delegation also needs the EKU (RFC 6960 §4.2.2.2).
		if !bytes.Equal(d.RawIssuer, issuer.RawSubject) || !hasEKU(d, x509.ExtKeyUsageOCSPSigning) ||
			r.ProducedAt.Before(d.NotBefore) || r.ProducedAt.After(d.NotAfter) {
			return StatusAnswer{}, false
		}
	}
	a := StatusAnswer{ThisUpdate: r.ThisUpdate, NextUpdate: r.NextUpdate, OCSP: true}
	if r.Status == ocsp.Revoked {
		a.Revoked, a.RevokedAt = true, r.RevokedAt
	}
	return a, true
}

func hasEKU(c *x509.Certificate, want x509.ExtKeyUsage) bool {
	for _, u := range c.ExtKeyUsage {
		if u == want {
			return true
		}
	}
	return false
}

// CheckNotRevoked refuses to sign at time at when the revocation data src gives
// shows a certificate of chain revoked (L-25: a revoked key may not sign) or
// gives no current answer for it. chain is the signer's certificate then its
// issuers; each certificate is checked against the next, so the last is not
// checked (pass the root last to have the top CA checked too).
func CheckNotRevoked(ctx context.Context, chain []*x509.Certificate, src RevocationSource, at time.Time) error {
	if src == nil {
		return errkind.New(errkind.Unavailable, law.L25, "no revocation source: the signer's certificate status is unknown")
	}
	for i := 0; i+1 < len(chain); i++ {
		crls, ocsps, err := src.Revocation(ctx, chain[i], chain[i+1])
		if err != nil {
			return errkind.Wrap(errkind.Unavailable, err, "the revocation status of %s could not be fetched", chain[i].Subject.CommonName)
		}
		if err := judgeStatus(chain[i], StatusAnswers(chain[i], chain[i+1], crls, ocsps), at, law.L25); err != nil {
			return err
		}
	}
	return nil
}

// judgeStatus refuses a certificate that answers show revoked at or before at,
// or that no answer current at at covers.
func judgeStatus(c *x509.Certificate, answers []StatusAnswer, at time.Time, rule law.ID) error {
	current := false
	for _, a := range answers {
		if a.Revoked && !a.RevokedAt.After(at) {
			return errkind.New(errkind.Invalid, rule, "the certificate of %s (serial %x) was revoked at %s: a revoked key may not sign",
				c.Subject.CommonName, c.SerialNumber, a.RevokedAt.UTC().Format(time.RFC3339))
		}
		current = current || a.CurrentAt(at)
	}
	if !current {
		return errkind.New(errkind.Unavailable, rule, "no authentic, current CRL or OCSP response for %s (serial %x)",
			c.Subject.CommonName, c.SerialNumber)
	}
	return nil
}
