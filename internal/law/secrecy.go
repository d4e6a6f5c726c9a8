package law

// ReadGround is why someone reads a holder's personal data: professional secrecy
// yields only on one of these (L-24), and each read is logged with its ground.
type ReadGround string

// The grounds on which a holder's personal data may be read (L-24). The first two
// are the CSP's own staff doing their work on the file, bound by the secrecy
// themselves; the others are the law's exceptions to it.
const (
	ReadHolderSelf              ReadGround = "holder-self"              // the holder reads his own file
	ReadRAOfficerFile           ReadGround = "ra-officer-file"          // an RA officer handling his file
	ReadAuditorReview           ReadGround = "auditor-review"           // the CSP's auditor checking the records (L-21-2)
	ReadUserAdministration      ReadGround = "user-administration"      // an administrator managing accounts
	ReadAuthorityAgent          ReadGround = "authority-agent"          // the national authority's agents (L-15, L-24)
	ReadAdministrativeAuthority ReadGround = "administrative-authority" // an administrative authority authorised by law
	ReadHolderConsent           ReadGround = "holder-consent"           // the holder consented to this disclosure
	ReadProsecutorOrder         ReadGround = "prosecutor-order"         // an order of the King's prosecutor
)

// ReadGroundRule is a ground with what it needs to be recorded.
type ReadGroundRule struct {
	Ground ReadGround
	// NeedsReference: the read records the document that allows it (mandate,
	// authorisation, consent, order), since the secrecy yields only to it.
	NeedsReference bool
	// External: the data leave the CSP's staff, an exception to the secrecy.
	External    bool
	Description string
}

var readGrounds = []ReadGroundRule{
	{ReadHolderSelf, false, false, "the holder himself"},
	{ReadRAOfficerFile, false, false, "an RA officer handling the holder's file"},
	{ReadAuditorReview, false, false, "the CSP's auditor reviewing the records"},
	{ReadUserAdministration, false, false, "an administrator managing user accounts"},
	{ReadAuthorityAgent, true, true, "an agent of the national authority, on his mandate"},
	{ReadAdministrativeAuthority, true, true, "an administrative authority authorised by law"},
	{ReadHolderConsent, true, true, "the holder's recorded consent"},
	{ReadProsecutorOrder, true, true, "an order of the King's prosecutor"},
}

// ReadGrounds lists every ground on which personal data may be read (L-24).
func ReadGrounds() []ReadGroundRule { return append([]ReadGroundRule(nil), readGrounds...) }

// LookupReadGround returns the rule of a ground of reading (L-24).
func LookupReadGround(g ReadGround) (ReadGroundRule, bool) {
	for _, r := range readGrounds {
		if r.Ground == g {
			return r, true
		}
	}
	return ReadGroundRule{}, false
}
