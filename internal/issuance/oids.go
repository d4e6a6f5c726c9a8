package issuance

import "encoding/asn1"

// Object identifiers of the profiles. They are never modified: Go has no constant slices.
var (
	// OIDQCStatements is the RFC 3739 qcStatements extension.
	OIDQCStatements = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 1, 3}

	// ETSI EN 319 412-5 statements.
	OIDQcCompliance      = asn1.ObjectIdentifier{0, 4, 0, 1862, 1, 1}
	OIDQcLimitValue      = asn1.ObjectIdentifier{0, 4, 0, 1862, 1, 2}
	OIDQcRetentionPeriod = asn1.ObjectIdentifier{0, 4, 0, 1862, 1, 3}
	OIDQcSSCD            = asn1.ObjectIdentifier{0, 4, 0, 1862, 1, 4}
	OIDQcPDS             = asn1.ObjectIdentifier{0, 4, 0, 1862, 1, 5}
	OIDQcType            = asn1.ObjectIdentifier{0, 4, 0, 1862, 1, 6}
	OIDQcTypeESign       = asn1.ObjectIdentifier{0, 4, 0, 1862, 1, 6, 1}
	OIDQcTypeESeal       = asn1.ObjectIdentifier{0, 4, 0, 1862, 1, 6, 2}

	// RFC 3739 pkixQCSyntax-v2 and the EN 319 412-1 semantics identifiers it carries.
	OIDQCSyntaxV2       = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 11, 2}
	OIDSemanticsNatural = asn1.ObjectIdentifier{0, 4, 0, 194121, 1, 1}
	OIDSemanticsLegal   = asn1.ObjectIdentifier{0, 4, 0, 194121, 1, 2}

	// ETSI EN 319 411-2 certificate policies.
	OIDPolicyQCPNatural     = asn1.ObjectIdentifier{0, 4, 0, 194112, 1, 0}
	OIDPolicyQCPLegal       = asn1.ObjectIdentifier{0, 4, 0, 194112, 1, 1}
	OIDPolicyQCPNaturalQSCD = asn1.ObjectIdentifier{0, 4, 0, 194112, 1, 2}
	OIDPolicyQCPLegalQSCD   = asn1.ObjectIdentifier{0, 4, 0, 194112, 1, 3}
	OIDAnyPolicy            = asn1.ObjectIdentifier{2, 5, 29, 32, 0}

	// Extended key usages and extensions Go's x509 does not name.
	OIDEKUDocumentSigning = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 3, 36} // RFC 9336
	OIDEKUEmailProtection = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 3, 4}  // RFC 5280
	OIDEKUTimeStamping    = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 3, 8}
	OIDExtKeyUsage        = asn1.ObjectIdentifier{2, 5, 29, 37}
	OIDOCSPNoCheck        = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 48, 1, 5}

	// Subject attributes of EN 319 412-2 and -3 beyond pkix.Name's fields.
	OIDAttrCountry                = asn1.ObjectIdentifier{2, 5, 4, 6}
	OIDAttrCommonName             = asn1.ObjectIdentifier{2, 5, 4, 3}
	OIDAttrSurname                = asn1.ObjectIdentifier{2, 5, 4, 4}
	OIDAttrSerialNumber           = asn1.ObjectIdentifier{2, 5, 4, 5}
	OIDAttrOrganization           = asn1.ObjectIdentifier{2, 5, 4, 10}
	OIDAttrTitle                  = asn1.ObjectIdentifier{2, 5, 4, 12}
	OIDAttrGivenName              = asn1.ObjectIdentifier{2, 5, 4, 42}
	OIDAttrPseudonym              = asn1.ObjectIdentifier{2, 5, 4, 65}
	OIDAttrOrganizationIdentifier = asn1.ObjectIdentifier{2, 5, 4, 97}
)

// PolicyFor returns the EN 319 411-2 policy of a qualified certificate of this kind (L-11).
func PolicyFor(kind PersonKind, qscd bool) (asn1.ObjectIdentifier, bool) {
	switch {
	case kind == NaturalPerson && qscd:
		return OIDPolicyQCPNaturalQSCD, true
	case kind == NaturalPerson:
		return OIDPolicyQCPNatural, true
	case kind == LegalPerson && qscd:
		return OIDPolicyQCPLegalQSCD, true
	case kind == LegalPerson:
		return OIDPolicyQCPLegal, true
	}
	return nil, false
}
