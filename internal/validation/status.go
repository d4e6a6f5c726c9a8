package validation

import (
	"crypto/x509"
	"time"

	"github.com/tawthiq/tawthiq/internal/signature"
)

// EmbeddedStatus answers revocation status from First, the caller's source, and
// then from CRLs and OCSPs, status data carried with what is validated: a PDF's
// DSS (EN 319 142-1 §5.4: gathered at signing for validation without the
// network) or an evidence bundle. Data counts only when authentic
// (signature.StatusAnswers) and issued by the validation time; of the
// revocations it shows, the earliest wins.
type EmbeddedStatus struct {
	First       StatusSource // may be nil
	CRLs, OCSPs [][]byte
}

// RevocationStatus implements StatusSource.
func (s EmbeddedStatus) RevocationStatus(cert, issuer *x509.Certificate, at time.Time) (bool, time.Time, bool) {
	if s.First != nil {
		if revoked, revokedAt, known := s.First.RevocationStatus(cert, issuer, at); known {
			return revoked, revokedAt, true
		}
	}
	known, revoked, revokedAt := false, false, time.Time{}
	for _, a := range signature.StatusAnswers(cert, issuer, s.CRLs, s.OCSPs) {
		if a.ThisUpdate.After(at) {
			continue
		}
		known = true
		if a.Revoked && (!revoked || a.RevokedAt.Before(revokedAt)) {
			revoked, revokedAt = true, a.RevokedAt
		}
	}
	return revoked, revokedAt, known
}
