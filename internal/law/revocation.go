package law

import "time"

// Ground is a reason the law gives for revoking a certificate (L-21-3-7, L-21-1, L-23, L-25).
type Ground string

// The grounds of revocation, named after the law.
const (
	GroundHolderRequest      Ground = "holder-request"             // the holder revokes, at any hour (L-21-1)
	GroundFalseInformation   Ground = "false-information"          // issued on false or forged information (L-21-3-7 a)
	GroundInformationChanged Ground = "information-no-longer-true" // the certified information is no longer true (L-21-3-7 a)
	GroundKeyCompromise      Ground = "key-compromise"             // confidentiality of the creation data breached (L-21-3-7 a, L-25)
	GroundJudicialOrder      Ground = "judicial-order"             // a judicial authority's order (L-21-3-7 b)
	GroundCessation          Ground = "cessation"                  // the CSP ceases its activity (L-23)
	GroundCapacityChange     Ground = "capacity-change"            // the holder's capacity (title) changed (L-25)
	GroundCACompromise       Ground = "ca-compromise"              // the issuing CA's key is compromised (L-21-1)
)

// RFC 5280 CRLReason codes (section 5.3.1).
const (
	ReasonUnspecified          = 0
	ReasonKeyCompromise        = 1
	ReasonCACompromise         = 2
	ReasonAffiliationChanged   = 3
	ReasonSuperseded           = 4
	ReasonCessationOfOperation = 5
	ReasonPrivilegeWithdrawn   = 9
)

// GroundRule is a ground with the rule behind it and what relying parties see.
type GroundRule struct {
	Ground Ground
	Rule   ID
	Reason int // RFC 5280 CRLReason; unspecified is written as no reason code at all
	// NeedsReference: the revocation must carry the reference of the order that made it.
	NeedsReference bool
	// CompromisesKey: the key may never be certified again and every certificate of it is revoked (L-25).
	CompromisesKey bool
	Description    string
}

var grounds = []GroundRule{
	{GroundHolderRequest, L21_1, ReasonUnspecified, false, false, "the holder asked for revocation"},
	{GroundFalseInformation, L21_3_7, ReasonPrivilegeWithdrawn, false, false, "the certificate was issued on false or forged information"},
	{GroundInformationChanged, L21_3_7, ReasonAffiliationChanged, false, false, "the information in the certificate is no longer true"},
	{GroundKeyCompromise, L21_3_7, ReasonKeyCompromise, false, true, "the confidentiality of the signature creation data was breached"},
	{GroundJudicialOrder, L21_3_7, ReasonPrivilegeWithdrawn, true, false, "a judicial authority ordered it"},
	{GroundCessation, L23, ReasonCessationOfOperation, false, false, "the CSP ceases its activity"},
	{GroundCapacityChange, L25, ReasonAffiliationChanged, false, false, "the holder's certified capacity changed"},
	{GroundCACompromise, L21_1, ReasonCACompromise, false, false, "the issuing CA's key is compromised"},
}

// Grounds lists every ground of revocation.
func Grounds() []GroundRule { return append([]GroundRule(nil), grounds...) }

// LookupGround returns the rule of a ground.
func LookupGround(g Ground) (GroundRule, bool) {
	for _, r := range grounds {
		if r.Ground == g {
			return r, true
		}
	}
	return GroundRule{}, false
}

// Certificate status stays available after expiry (L-21-rev): CRL entries are never
// dropped, and OCSP answers for expired certificates.
const StatusAfterExpiry = true

// CRL timing: a CRL is valid for CRLValidity, reissued well before it lapses, and
// within CRLRevocationDelay of any revocation, so that revocation is "without delay" (L-21-1).
const (
	CRLValidity        = 24 * time.Hour
	CRLReissueEvery    = 6 * time.Hour
	CRLRevocationDelay = 5 * time.Second
)

// OCSP timing: pre-signed responses are valid for OCSPValidity and refreshed at half-life.
const (
	OCSPValidity     = 24 * time.Hour
	OCSPRefreshAfter = 12 * time.Hour
)
