package trustlist

import (
	"crypto/x509"
	"time"
)

// Names and URIs of ETSI TS 119 612 (v2.x, TSL version 6).
const (
	Namespace           = "http://uri.etsi.org/02231/v2#"
	NamespaceAdditional = "http://uri.etsi.org/02231/v2/additionaltypes#"
	TSLTag              = "http://uri.etsi.org/19612/TSLTag"
	VersionIdentifier   = 6
	MimeType            = "application/vnd.etsi.tsl+xml"
	// HistoryUnlimited is the HistoricalInformationPeriod that keeps every status change.
	HistoryUnlimited = 65535

	TSLTypeEUGeneric = "http://uri.etsi.org/TrstSvc/TrustedList/TSLType/EUgeneric"

	SvcTypeCAQC    = "http://uri.etsi.org/TrstSvc/Svctype/CA/QC"
	SvcTypeCAPKC   = "http://uri.etsi.org/TrstSvc/Svctype/CA/PKC"
	SvcTypeTSAQTST = "http://uri.etsi.org/TrstSvc/Svctype/TSA/QTST"
	SvcTypeOCSPQC  = "http://uri.etsi.org/TrstSvc/Svctype/Certstatus/OCSP/QC"
	SvcTypeCRLQC   = "http://uri.etsi.org/TrstSvc/Svctype/Certstatus/CRL/QC"

	// AdditionalServiceInformation URIs: what a CA/QC's certificates are qualified for.
	ForeSignatures           = "http://uri.etsi.org/TrstSvc/TrustedList/SvcInfoExt/ForeSignatures"
	ForeSeals                = "http://uri.etsi.org/TrstSvc/TrustedList/SvcInfoExt/ForeSeals"
	ForWebSiteAuthentication = "http://uri.etsi.org/TrstSvc/TrustedList/SvcInfoExt/ForWebSiteAuthentication"

	// NamespaceTawthiq holds what TS 119 612 has no element for: the recognition
	// agreement behind a pointer (L-22) and the authority's decision behind a status.
	NamespaceTawthiq = "https://github.com/tawthiq/tawthiq/ns/trustlist/1#"
	// DecisionURI marks the AdditionalServiceInformation whose InformationValue is
	// the authority's decision (reference and plain words) behind a status (L-15).
	DecisionURI = NamespaceTawthiq + "decision"
)

// NationalTSLType is the TSLType of a non-EU scheme's list for territory cc (TS 119 612 D.6).
func NationalTSLType(cc string) string {
	return "http://uri.etsi.org/TrstSvc/TrustedList/TSLType/" + cc + "list"
}

// NationalStatusDetermination is the StatusDeterminationApproach of a non-EU scheme (TS 119 612 D.6).
func NationalStatusDetermination(cc string) string {
	return "http://uri.etsi.org/TrstSvc/TrustedList/StatusDetn/" + cc + "determination"
}

// NationalSchemeRules is the SchemeTypeCommunityRules URI of a non-EU scheme (TS 119 612 D.6).
func NationalSchemeRules(cc string) string {
	return "http://uri.etsi.org/TrstSvc/TrustedList/schemerules/" + cc + "list"
}

// Status is a service's status URI (TS 119 612 clause 5.5.4, Annex D).
type Status string

// Statuses; the "legacy" ones appear in the history of lists made before 2016.
const (
	StatusGranted                   Status = "http://uri.etsi.org/TrstSvc/TrustedList/Svcstatus/granted"
	StatusWithdrawn                 Status = "http://uri.etsi.org/TrstSvc/TrustedList/Svcstatus/withdrawn"
	StatusRecognisedAtNationalLevel Status = "http://uri.etsi.org/TrstSvc/TrustedList/Svcstatus/recognisedatnationallevel"
	StatusDeprecatedAtNationalLevel Status = "http://uri.etsi.org/TrstSvc/TrustedList/Svcstatus/deprecatedatnationallevel"

	StatusUnderSupervision       Status = "http://uri.etsi.org/TrstSvc/TrustedList/Svcstatus/undersupervision"
	StatusSupervisionInCessation Status = "http://uri.etsi.org/TrstSvc/TrustedList/Svcstatus/supervisionincessation"
	StatusSupervisionCeased      Status = "http://uri.etsi.org/TrstSvc/TrustedList/Svcstatus/supervisionceased"
	StatusSupervisionRevoked     Status = "http://uri.etsi.org/TrstSvc/TrustedList/Svcstatus/supervisionrevoked"
	StatusAccredited             Status = "http://uri.etsi.org/TrstSvc/TrustedList/Svcstatus/accredited"
	StatusAccreditationCeased    Status = "http://uri.etsi.org/TrstSvc/TrustedList/Svcstatus/accreditationceased"
	StatusAccreditationRevoked   Status = "http://uri.etsi.org/TrstSvc/TrustedList/Svcstatus/accreditationrevoked"
)

// Approved reports whether a service in this status is approved (qualified): granted,
// or one of the pre-2016 statuses that meant the same (L-20).
func (s Status) Approved() bool {
	switch s {
	case StatusGranted, StatusUnderSupervision, StatusSupervisionInCessation, StatusAccredited:
		return true
	}
	return false
}

// Word is the last segment of the status URI ("granted", "withdrawn"), for reports.
func (s Status) Word() string {
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] == '/' {
			return string(s[i+1:])
		}
	}
	return string(s)
}

// Text is a string in one language (TS 119 612 clause 5.1.4: an "en" one is required).
type Text struct {
	Lang  string // ISO 639-1: "ar", "fr", "en"
	Value string
}

// MultiLang is a value in several languages, kept in the order given.
type MultiLang []Text

// Get returns the value in lang, else the English one, else the first.
func (m MultiLang) Get(lang string) string {
	for _, t := range m {
		if t.Lang == lang {
			return t.Value
		}
	}
	for _, t := range m {
		if t.Lang == "en" {
			return t.Value
		}
	}
	if len(m) > 0 {
		return m[0].Value
	}
	return ""
}

// PostalAddress is one language's postal address (TS 119 612 clause 5.3.5.1).
type PostalAddress struct {
	Lang            string
	Street          string
	Locality        string
	StateOrProvince string
	PostalCode      string
	CountryName     string
}

// Address is a postal and electronic address (TS 119 612 AddressType).
type Address struct {
	Postal     []PostalAddress
	Electronic MultiLang // URIs: mailto:, https:
}

// List is a TrustServiceStatusList: scheme information and the approved providers.
type List struct {
	Scheme    SchemeInformation
	Providers []Provider

	// Set by Load: who signed the list and when it says it was signed.
	SignedBy    *x509.Certificate
	SigningTime time.Time
	// Agreement is set by LoadForeign: the pointer through which a foreign list was accepted (L-22).
	Agreement *Pointer
}

// SchemeInformation is the list's header (TS 119 612 clause 5.3), in schema order.
type SchemeInformation struct {
	SequenceNumber              uint64 // TSLSequenceNumber, 1 and up, never reused
	Type                        string // TSLType URI
	OperatorName                MultiLang
	OperatorAddress             Address
	Name                        MultiLang // SchemeName, e.g. "MA:Trusted list of Morocco"
	InformationURI              MultiLang
	StatusDeterminationApproach string
	CommunityRules              MultiLang // SchemeTypeCommunityRules URIs
	Territory                   string    // SchemeTerritory, "MA"
	LegalNotice                 MultiLang // PolicyOrLegalNotice/TSLLegalNotice
	HistoricalInformationPeriod uint64    // days kept in the history; HistoryUnlimited
	Pointers                    []Pointer // PointersToOtherTSL: foreign lists under recognition agreements (L-22)
	IssueDateTime               time.Time
	// NextUpdate is when a fresher list is due; zero only in a closed list (scheme ended).
	NextUpdate         time.Time
	DistributionPoints []string
}

// Pointer is an OtherTSLPointer: where a foreign list is, whose territory it is and
// which certificates may sign it. Our list carries one only for a foreign scheme
// recognised under an agreement on record (L-22).
type Pointer struct {
	Location     string              // TSLLocation
	Certificates []*x509.Certificate // ServiceDigitalIdentities: the foreign authority's signing certificates
	Territory    string              // SchemeTerritory of the foreign list
	Type         string              // its TSLType
	OperatorName MultiLang           // its scheme operator
	// Agreement names the recognition agreement (reference, parties, date) the pointer rests on (L-22).
	Agreement string
}

// Provider is a TrustServiceProvider (TS 119 612 clause 5.4).
type Provider struct {
	Name           MultiLang
	TradeName      MultiLang // e.g. "NTRMA-123456" (trade register) and "ICE..." (L-11 b)
	Address        Address
	InformationURI MultiLang
	Services       []Service
}

// Service is a TSPService: the current status and the history (TS 119 612 clauses 5.5, 5.6).
type Service struct {
	Type string // ServiceTypeIdentifier, e.g. SvcTypeCAQC
	Name MultiLang
	// Certificates is the ServiceDigitalIdentity: one key, possibly several certificates for it.
	Certificates   []*x509.Certificate
	Status         Status
	StatusStarting time.Time
	// Additional lists AdditionalServiceInformation URIs: ForeSignatures, ForeSeals.
	Additional []string
	// Decision is the authority's decision behind the current status (L-15).
	Decision string
	// History holds the earlier statuses, each in force from its StatusStarting
	// until the next one; Build writes them most recent first.
	History []HistoryEntry
	// UnknownCritical names critical extensions this package does not apply; a
	// service carrying one is never found qualified (fail closed).
	UnknownCritical []string
}

// HistoryEntry is a ServiceHistoryInstance: an earlier status of the service.
type HistoryEntry struct {
	Type            string
	Name            MultiLang
	Status          Status
	StatusStarting  time.Time
	Additional      []string
	Decision        string
	UnknownCritical []string
}
