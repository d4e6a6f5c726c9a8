package law

// Security breaches (43-20 art. 40, cited under L-24): the CSP reports each breach at
// once to the authority, and to each person the breach can harm.

// BreachRecipients says who must be told of a breach: the authority always, a holder
// only when the breach can harm him (L-24, 43-20 art. 40).
func BreachRecipients(holderHarmed bool) (authority, holder bool) { return true, holderHarmed }

// Holders' duties (L-25; 53-05 art. 25-28, 43-20 art. 41-44).

// KeyMayBeCertified says whether a public key may be certified: never once a
// certificate of it was revoked, on whatever ground, nor once it was declared
// compromised (L-25: after revocation the key may not be certified again).
func KeyMayBeCertified(everRevoked, compromised bool) bool { return !everRevoked && !compromised }

// CertifiedField is an item of a holder's data that a certificate states (L-11), and
// whose change the holder reports (L-25).
type CertifiedField string

// The certified fields a holder reports a change of.
const (
	FieldName         CertifiedField = "name"              // L-11 c
	FieldPseudonym    CertifiedField = "pseudonym"         // L-11 c
	FieldTitle        CertifiedField = "title"             // L-11 d: the capacity
	FieldOrganization CertifiedField = "organization"      // L-11 d
	FieldEmail        CertifiedField = "email"             // L-11 and the S/MIME profile
	FieldIDDocument   CertifiedField = "identity-document" // L-21-3-1: the serialNumber identifier
	FieldCountry      CertifiedField = "country"
)

// CertifiedFields lists the fields a holder may report a change of.
func CertifiedFields() []CertifiedField {
	return []CertifiedField{FieldName, FieldPseudonym, FieldTitle, FieldOrganization, FieldEmail, FieldIDDocument, FieldCountry}
}

// ValidCertifiedField reports whether f is a certified field.
func ValidCertifiedField(f CertifiedField) bool {
	for _, g := range CertifiedFields() {
		if g == f {
			return true
		}
	}
	return false
}

// DataChangeGround is the ground on which a certificate whose certified data are no
// longer true is revoked (L-21-3-7 a).
const DataChangeGround = GroundInformationChanged

// InsuranceWarningDays is how long before the CSP's liability cover lapses the
// operators, and the authority for a registered CSP, are warned (L-21-3-6). The law
// sets no period: we take the holders' expiry notice (L-21-3-5), time to renew.
const InsuranceWarningDays = ExpiryNoticeDays
