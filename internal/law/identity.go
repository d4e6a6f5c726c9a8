package law

import "fmt"

// IDDocumentType is the kind of official document that proved a holder's identity (L-21-3-1).
type IDDocumentType string

// The official documents an RA accepts.
const (
	IDCard        IDDocumentType = "national-id-card" // CNIE
	Passport      IDDocumentType = "passport"
	ResidenceCard IDDocumentType = "residence-card"
	TradeRegister IDDocumentType = "trade-register" // RC, for legal persons
	EnterpriseICE IDDocumentType = "ice"            // Identifiant Commun de l'Entreprise
)

// SerialNumberPrefix gives the ETSI EN 319 412-1 semantics identifier prefix
// (5.1.3 and 5.1.4) that starts the subject serialNumber or organizationIdentifier.
func (t IDDocumentType) SerialNumberPrefix() (string, bool) {
	switch t {
	case IDCard, ResidenceCard:
		return "IDC", true
	case Passport:
		return "PAS", true
	case TradeRegister, EnterpriseICE:
		return "NTR", true
	}
	return "", false
}

// ForLegalPerson says whether the document identifies a legal person.
func (t IDDocumentType) ForLegalPerson() bool { return t == TradeRegister || t == EnterpriseICE }

// ETSIIdentifier builds the EN 319 412-1 identifier "IDCMA-AB123456" from type, country and number.
func ETSIIdentifier(t IDDocumentType, country, number string) (string, error) {
	p, ok := t.SerialNumberPrefix()
	if !ok {
		return "", fmt.Errorf("%s: unknown identity document type %q", L21_3_1, t)
	}
	// EN 319 412-1 5.1.3: the country is two upper-case letters; issuance refuses anything else.
	if len(country) != 2 || !isUpperAlpha(country[0]) || !isUpperAlpha(country[1]) {
		return "", fmt.Errorf("%s: country %q is not an ISO 3166 two-letter code", L21_3_1, country)
	}
	return p + country + "-" + number, nil
}

func isUpperAlpha(c byte) bool { return 'A' <= c && c <= 'Z' }

// VettingMethod is how the identity was verified; 43-20 art. 33 admits these.
type VettingMethod string

// The verification methods Law 43-20 admits (L-21-3-1).
const (
	FaceToFace        VettingMethod = "face-to-face"
	RemoteNationalEID VettingMethod = "remote-national-eid"
	QualifiedCert     VettingMethod = "qualified-certificate"
	EquivalentAssured VettingMethod = "equivalent"
)

// IDDocumentTypes lists the accepted documents.
func IDDocumentTypes() []IDDocumentType {
	return []IDDocumentType{IDCard, Passport, ResidenceCard, TradeRegister, EnterpriseICE}
}

// VettingMethods lists the accepted verification methods.
func VettingMethods() []VettingMethod {
	return []VettingMethod{FaceToFace, RemoteNationalEID, QualifiedCert, EquivalentAssured}
}

// ValidIDDocument reports whether t is an accepted official document (L-21-3-1).
func ValidIDDocument(t IDDocumentType) bool {
	for _, x := range IDDocumentTypes() {
		if x == t {
			return true
		}
	}
	return false
}

// ValidVettingMethod reports whether m is a method 43-20 admits (L-21-3-1).
func ValidVettingMethod(m VettingMethod) bool {
	for _, x := range VettingMethods() {
		if x == m {
			return true
		}
	}
	return false
}
