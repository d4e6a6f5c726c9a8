// Package authority is the national authority's register (L-15): the CSPs it
// approves, their trust services with each service's status history and the
// decisions behind it, their insurance (L-21-3-6), audits and findings, sanctions,
// cryptography declarations and authorisations (L-13), and the mutual-recognition
// agreements under which foreign CSPs and trusted lists are recognised (L-22).
//
// Every record is append-only: a CSP's update is a new version, a service's status
// changes by a new entry in its history, and nothing is ever rewritten. Snapshot
// gives internal/trustlist what it turns into the TS 119 612 list; Export gives
// the yearly register the authority publishes (L-15).
//
// Status rules (L-15, L-20): a service enters the register granted, by a decision.
// Granted may become suspended or withdrawn; suspended may become granted again
// (the suspension is lifted) or withdrawn; withdrawn is final, except that a new
// decision may grant the service again. Each new status starts no earlier than the
// one in force, so the history never rewrites the past; a later decision may still
// take effect before the day it is recorded, which StatusAt honours.
package authority

import (
	"time"
)

// Status is a trust service's status in the register.
type Status string

// Statuses. Only granted means approved (L-20).
const (
	StatusGranted   Status = "granted"
	StatusSuspended Status = "suspended"
	StatusWithdrawn Status = "withdrawn"
)

// Approved reports whether a service in this status is approved (L-20).
func (s Status) Approved() bool { return s == StatusGranted }

// Service type identifiers of ETSI TS 119 612 (clause 5.5.1.1, Annex D).
const (
	TypeCAQC           = "http://uri.etsi.org/TrstSvc/Svctype/CA/QC"
	TypeTSAQTST        = "http://uri.etsi.org/TrstSvc/Svctype/TSA/QTST"
	TypeOCSPQC         = "http://uri.etsi.org/TrstSvc/Svctype/Certstatus/OCSP/QC"
	TypeCRLQC          = "http://uri.etsi.org/TrstSvc/Svctype/Certstatus/CRL/QC"
	TypeEDSQ           = "http://uri.etsi.org/TrstSvc/Svctype/EDS/Q"
	TypeQESValidationQ = "http://uri.etsi.org/TrstSvc/Svctype/QESValidation/Q"
	TypePSESQ          = "http://uri.etsi.org/TrstSvc/Svctype/PSES/Q"
)

// ServiceTypes lists the service types the register accepts.
func ServiceTypes() []string {
	return []string{TypeCAQC, TypeTSAQTST, TypeOCSPQC, TypeCRLQC, TypeEDSQ, TypeQESValidationQ, TypePSESQ}
}

// Qualifier is what a CA/QC's certificates are qualified for.
type Qualifier string

// Qualifiers; the trusted list writes them as ForeSignatures and ForeSeals.
const (
	QualifiesESig  Qualifier = "esig"
	QualifiesESeal Qualifier = "eseal"
)

// IDKind is the kind of a CSP's registration number.
type IDKind string

// Kinds of registration number (L-11 b): a Moroccan CSP gives its ICE or its trade
// register number; a CSP established abroad gives its home registration.
const (
	IDKindICE     IDKind = "ice"
	IDKindRC      IDKind = "rc"
	IDKindForeign IDKind = "foreign"
)

// HomeCountry is the register's own territory.
const HomeCountry = "MA"

// CSP is one version of a certification service provider's record. An update
// records a new version; every version is kept.
type CSP struct {
	ID             string    `json:"id"`
	Version        int       `json:"version"`
	Name           string    `json:"name"`
	Country        string    `json:"country"` // ISO 3166-1 alpha-2 of its seat
	IDKind         IDKind    `json:"id_kind"`
	IDNumber       string    `json:"id_number"`
	Seat           string    `json:"seat"` // postal address of its head office
	InformationURI string    `json:"information_uri,omitempty"`
	AgreementID    string    `json:"agreement_id,omitempty"` // for a CSP established abroad (L-22)
	RecordedAt     time.Time `json:"recorded_at"`
}

// StatusChange is one entry of a service's status history: Status is in force
// from From until the From of the next entry.
type StatusChange struct {
	Seq        int       `json:"seq"` // 1, 2, ... in the order recorded
	Status     Status    `json:"status"`
	From       time.Time `json:"from"`
	Decision   string    `json:"decision"` // the authority's decision reference
	Note       string    `json:"note,omitempty"`
	RecordedAt time.Time `json:"recorded_at"`
}

// TrustService is a CSP's trust service: its type, what it qualifies for, its
// digital identity and its status history, oldest first.
type TrustService struct {
	ID         string      `json:"id"`
	CSPID      string      `json:"csp_id"`
	Type       string      `json:"type"` // a TS 119 612 service type URI
	Name       string      `json:"name"`
	Qualifiers []Qualifier `json:"qualifiers,omitempty"` // CA/QC only
	// Certificates is the ServiceDigitalIdentity: DER certificates of one key.
	Certificates [][]byte       `json:"certificates"`
	RecordedAt   time.Time      `json:"recorded_at"`
	History      []StatusChange `json:"history"`
}

// Current returns the last status recorded (zero if none).
func (s TrustService) Current() StatusChange {
	if len(s.History) == 0 {
		return StatusChange{}
	}
	return s.History[len(s.History)-1]
}

// StatusAt returns the status change in force at t: the last one recorded whose
// From is not after t; zero (empty Status) when the service was not yet granted.
func (s TrustService) StatusAt(t time.Time) StatusChange {
	var in StatusChange
	for _, c := range s.History {
		if !c.From.After(t) {
			in = c
		}
	}
	return in
}

// Insurance is a professional liability insurance policy of a CSP (L-21-3-6).
type Insurance struct {
	ID         string    `json:"id"`
	CSPID      string    `json:"csp_id"`
	Insurer    string    `json:"insurer"`
	Policy     string    `json:"policy"`
	CoverMAD   int64     `json:"cover_mad"` // the cover, in dirhams
	ValidFrom  time.Time `json:"valid_from"`
	ValidUntil time.Time `json:"valid_until"` // exclusive
	RecordedAt time.Time `json:"recorded_at"`
}

// AuditKind is why an audit was made.
type AuditKind string

// Kinds of audit (L-15).
const (
	AuditApproval AuditKind = "approval" // before a service is granted
	AuditPeriodic AuditKind = "periodic"
	AuditAdHoc    AuditKind = "ad-hoc" // on a complaint, an incident or the authority's own motion
)

// Outcome is an audit's conclusion.
type Outcome string

// Outcomes; pass allows no major finding.
const (
	OutcomePass             Outcome = "pass"
	OutcomePassWithFindings Outcome = "pass-with-findings"
	OutcomeFail             Outcome = "fail"
)

// Severity grades a finding.
type Severity string

// Severities of a finding.
const (
	SeverityMajor       Severity = "major"
	SeverityMinor       Severity = "minor"
	SeverityObservation Severity = "observation"
)

// Finding is one finding of an audit.
type Finding struct {
	Severity Severity `json:"severity"`
	Text     string   `json:"text"`
}

// Audit is an audit of a CSP, or of one of its services, and its findings (L-15).
type Audit struct {
	ID         string    `json:"id"`
	CSPID      string    `json:"csp_id"`
	ServiceID  string    `json:"service_id,omitempty"`
	Kind       AuditKind `json:"kind"`
	Auditor    string    `json:"auditor"` // the body that audited
	Date       time.Time `json:"date"`    // when the audit ended
	ReportRef  string    `json:"report_ref"`
	Outcome    Outcome   `json:"outcome"`
	Findings   []Finding `json:"findings,omitempty"`
	RecordedAt time.Time `json:"recorded_at"`
}

// SanctionKind is what a sanction imposes.
type SanctionKind string

// Kinds of sanction. A suspension or withdrawal names the service; its effect on
// the register is the status change recorded under the same decision.
const (
	SanctionWarning    SanctionKind = "warning"
	SanctionFine       SanctionKind = "fine"
	SanctionSuspension SanctionKind = "suspension"
	SanctionWithdrawal SanctionKind = "withdrawal"
)

// Sanction is a sanction the authority imposed on a CSP (L-15).
type Sanction struct {
	ID         string       `json:"id"`
	CSPID      string       `json:"csp_id"`
	ServiceID  string       `json:"service_id,omitempty"`
	Kind       SanctionKind `json:"kind"`
	Decision   string       `json:"decision"`
	DecidedAt  time.Time    `json:"decided_at"`
	AmountMAD  int64        `json:"amount_mad,omitempty"` // fines only
	Note       string       `json:"note,omitempty"`
	RecordedAt time.Time    `json:"recorded_at"`
}

// CryptoKind is the regime a means of cryptography falls under (L-13).
type CryptoKind string

// Regimes of L-13: a prior declaration, or an authorisation.
const (
	CryptoDeclared   CryptoKind = "declaration"
	CryptoAuthorised CryptoKind = "authorisation"
)

// CryptoPurpose is what a means of cryptography does.
type CryptoPurpose string

// Purposes; only authentication and integrity may be merely declared (L-13).
const (
	PurposeAuthIntegrity   CryptoPurpose = "authentication-integrity"
	PurposeConfidentiality CryptoPurpose = "confidentiality"
)

// CryptoDeclaration is the declaration or authorisation of a means of
// cryptography a CSP runs (L-13).
type CryptoDeclaration struct {
	ID         string        `json:"id"`
	CSPID      string        `json:"csp_id"`
	Kind       CryptoKind    `json:"kind"`
	Purpose    CryptoPurpose `json:"purpose"`
	Means      string        `json:"means"`     // e.g. "ECDSA P-384 in a FIPS 140-3 level 3 HSM"
	Reference  string        `json:"reference"` // the declaration's receipt or the authorisation's number
	DecidedAt  time.Time     `json:"decided_at"`
	ValidUntil time.Time     `json:"valid_until,omitzero"` // an authorisation's end, if any
	RecordedAt time.Time     `json:"recorded_at"`
}

// AgreementKind says how many States an agreement binds.
type AgreementKind string

// Kinds of recognition agreement (L-22).
const (
	Bilateral    AgreementKind = "bilateral"
	Multilateral AgreementKind = "multilateral"
)

// TrustedListPointer is where a recognised foreign trusted list is, its territory,
// and the certificates that may sign it.
type TrustedListPointer struct {
	Location     string   `json:"location"` // TSLLocation, an http(s) URL
	Territory    string   `json:"territory"`
	OperatorName string   `json:"operator_name,omitempty"`
	Certificates [][]byte `json:"certificates"` // DER
}

// Agreement is a mutual-recognition agreement to which Morocco is party (L-22).
type Agreement struct {
	ID         string               `json:"id"`
	Reference  string               `json:"reference"`
	Kind       AgreementKind        `json:"kind"`
	Title      string               `json:"title,omitempty"`
	SignedAt   time.Time            `json:"signed_at"`
	Countries  []string             `json:"countries"` // the other parties, ISO 3166-1 alpha-2 (or EU)
	Lists      []TrustedListPointer `json:"lists,omitempty"`
	RecordedAt time.Time            `json:"recorded_at"`
}

// Covers reports whether the agreement binds country.
func (a Agreement) Covers(country string) bool {
	for _, c := range a.Countries {
		if c == country {
			return true
		}
	}
	return false
}

// Dossier is a CSP as the register knows it: its current record and everything
// recorded about it.
type Dossier struct {
	CSP        CSP                 `json:"csp"`
	Versions   []CSP               `json:"versions,omitempty"` // earlier versions, oldest first
	Services   []TrustService      `json:"services"`
	Insurances []Insurance         `json:"insurances"`
	Audits     []Audit             `json:"audits"`
	Sanctions  []Sanction          `json:"sanctions"`
	Crypto     []CryptoDeclaration `json:"crypto"`
}

// Register is everything the trusted list needs: the CSPs, each service with its
// full status history, and the agreements with the foreign lists they point to.
type Register struct {
	At         time.Time       `json:"at"`
	CSPs       []RegisteredCSP `json:"csps"`
	Agreements []Agreement     `json:"agreements"`
}

// RegisteredCSP is a CSP's current record and its services.
type RegisteredCSP struct {
	CSP      CSP            `json:"csp"`
	Services []TrustService `json:"services"`
}

// Records is every row of the register, as the store returns it.
type Records struct {
	CSPs       []CSP // every version, by ID then version
	Services   []TrustService
	Insurances []Insurance
	Audits     []Audit
	Sanctions  []Sanction
	Crypto     []CryptoDeclaration
	Agreements []Agreement
}

// WarningKind says what is wrong with a CSP's insurance.
type WarningKind string

// Kinds of insurance warning (L-21-3-6).
const (
	WarningLapsing   WarningKind = "lapsing"   // cover ends within InsuranceNoticeDays
	WarningUninsured WarningKind = "uninsured" // no cover in force now
)

// InsuranceWarning names a CSP with a granted service whose cover is about to
// end or has ended.
type InsuranceWarning struct {
	CSPID    string      `json:"csp_id"`
	CSPName  string      `json:"csp_name"`
	Kind     WarningKind `json:"kind"`
	LapsesAt time.Time   `json:"lapses_at,omitzero"` // when the continuous cover ends (ended, if uninsured)
}
