package law

import "time"

// CessationMode is how a CSP that ceases its activity deals with its certificates (L-23).
type CessationMode string

// The ways of ceasing the law allows (L-23).
const (
	// CessationTakeover: a CSP of the same quality and security takes the certificates over.
	CessationTakeover CessationMode = "takeover"
	// CessationRevokeAll: failing a successor, the holders are warned and every certificate revoked.
	CessationRevokeAll CessationMode = "revoke-all"
	// CessationLiquidation: judicial liquidation; the authority is told at once, then as revoke-all.
	CessationLiquidation CessationMode = "judicial-liquidation"
)

// ValidCessationMode reports whether m is a mode the law knows (L-23).
func ValidCessationMode(m CessationMode) bool {
	return m == CessationTakeover || m == CessationRevokeAll || m == CessationLiquidation
}

// CessationRevocationMonths is the longest time between warning the holders and
// revoking their certificates, when no successor takes them over (L-23).
const CessationRevocationMonths = 2

// CessationAuthorityNoticeDue is the last moment the authority may be told of a
// cessation ending at end: at least CessationNoticeMonths before it (L-23; "at least"
// per 43-20 art. 37). A judicial liquidation is told at once: due when decided.
func CessationAuthorityNoticeDue(mode CessationMode, decided, end time.Time) time.Time {
	if mode == CessationLiquidation {
		return decided
	}
	return end.AddDate(0, -CessationNoticeMonths, 0)
}

// EarliestCessation is the first end date a voluntary cessation planned at now may
// have: the authority must be told at least two months ahead (L-23).
func EarliestCessation(now time.Time) time.Time {
	return now.AddDate(0, CessationNoticeMonths, 0)
}

// CessationRevocationDue is when every certificate must be revoked at the latest,
// once the holders were warned at warned (L-23).
func CessationRevocationDue(warned time.Time) time.Time {
	return warned.AddDate(0, CessationRevocationMonths, 0)
}
