package client

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// The national authority's register (L-15, L-13, L-21-3-6, L-22): wire types and
// client methods. Certificates travel as base64 DER.

// CSPRequest registers a CSP, or gives the whole new record of one (admin).
type CSPRequest struct {
	Name           string `json:"name"`
	Country        string `json:"country"` // ISO 3166-1 alpha-2 of the seat
	IDKind         string `json:"id_kind"` // ice, rc or foreign
	IDNumber       string `json:"id_number"`
	Seat           string `json:"seat"`
	InformationURI string `json:"information_uri,omitempty"`
	AgreementID    string `json:"agreement_id,omitempty"` // a CSP established abroad (L-22)
}

// CSP is one version of a CSP's record.
type CSP struct {
	ID      string `json:"id"`
	Version int    `json:"version"`
	CSPRequest
	RecordedAt Timestamp `json:"recorded_at"`
}

// CSPList is the register's CSPs, current records only.
type CSPList struct {
	CSPs []CSP `json:"csps"`
}

// StatusRequest is a decision that changes a service's status.
type StatusRequest struct {
	Status   string    `json:"status"` // granted, suspended or withdrawn
	From     time.Time `json:"from"`
	Decision string    `json:"decision"`
	Note     string    `json:"note,omitempty"`
}

// StatusChange is one entry of a service's status history.
type StatusChange struct {
	Seq        int       `json:"seq"`
	Status     string    `json:"status"`
	From       Timestamp `json:"from"`
	Decision   string    `json:"decision"`
	Note       string    `json:"note,omitempty"`
	RecordedAt Timestamp `json:"recorded_at"`
}

// ServiceRequest adds a trust service with the decision that grants it.
type ServiceRequest struct {
	CSPID        string        `json:"csp_id"`
	Type         string        `json:"type"` // a TS 119 612 service type URI
	Name         string        `json:"name"`
	Qualifiers   []string      `json:"qualifiers,omitempty"` // esig, eseal (CA/QC)
	Certificates [][]byte      `json:"certificates"`         // DER, of one key
	Grant        StatusRequest `json:"grant"`
}

// TrustService is a service with its status history, oldest first.
type TrustService struct {
	ID           string         `json:"id"`
	CSPID        string         `json:"csp_id"`
	Type         string         `json:"type"`
	Name         string         `json:"name"`
	Qualifiers   []string       `json:"qualifiers,omitempty"`
	Certificates [][]byte       `json:"certificates"`
	RecordedAt   Timestamp      `json:"recorded_at"`
	Status       string         `json:"status,omitempty"` // the last recorded; absent in the yearly register
	History      []StatusChange `json:"history"`
}

// ServiceStatus is a service's status at a time.
type ServiceStatus struct {
	ServiceID string        `json:"service_id"`
	At        Timestamp     `json:"at"`
	Status    string        `json:"status"` // empty: not yet granted at that time
	Change    *StatusChange `json:"change,omitempty"`
}

// InsuranceRequest records a CSP's liability insurance (L-21-3-6).
type InsuranceRequest struct {
	CSPID      string    `json:"csp_id"`
	Insurer    string    `json:"insurer"`
	Policy     string    `json:"policy"`
	CoverMAD   int64     `json:"cover_mad"`
	ValidFrom  time.Time `json:"valid_from"`
	ValidUntil time.Time `json:"valid_until"`
}

// Insurance is a recorded policy.
type Insurance struct {
	ID string `json:"id"`
	InsuranceRequest
	RecordedAt Timestamp `json:"recorded_at"`
}

// Finding is one finding of an audit.
type Finding struct {
	Severity string `json:"severity"` // major, minor or observation
	Text     string `json:"text"`
}

// AuditRequest records an audit of a CSP or one of its services.
type AuditRequest struct {
	CSPID     string    `json:"csp_id"`
	ServiceID string    `json:"service_id,omitempty"`
	Kind      string    `json:"kind"` // approval, periodic or ad-hoc
	Auditor   string    `json:"auditor"`
	Date      time.Time `json:"date"`
	ReportRef string    `json:"report_ref"`
	Outcome   string    `json:"outcome"` // pass, pass-with-findings or fail
	Findings  []Finding `json:"findings,omitempty"`
}

// Audit is a recorded audit.
type Audit struct {
	ID string `json:"id"`
	AuditRequest
	RecordedAt Timestamp `json:"recorded_at"`
}

// SanctionRequest records a sanction.
type SanctionRequest struct {
	CSPID     string    `json:"csp_id"`
	ServiceID string    `json:"service_id,omitempty"`
	Kind      string    `json:"kind"` // warning, fine, suspension or withdrawal
	Decision  string    `json:"decision"`
	DecidedAt time.Time `json:"decided_at"`
	AmountMAD int64     `json:"amount_mad,omitempty"`
	Note      string    `json:"note,omitempty"`
}

// Sanction is a recorded sanction.
type Sanction struct {
	ID string `json:"id"`
	SanctionRequest
	RecordedAt Timestamp `json:"recorded_at"`
}

// CryptoRequest records a cryptography declaration or authorisation (L-13).
type CryptoRequest struct {
	CSPID      string     `json:"csp_id"`
	Kind       string     `json:"kind"`    // declaration or authorisation
	Purpose    string     `json:"purpose"` // authentication-integrity or confidentiality
	Means      string     `json:"means"`
	Reference  string     `json:"reference"`
	DecidedAt  time.Time  `json:"decided_at"`
	ValidUntil *time.Time `json:"valid_until,omitempty"`
}

// CryptoDeclaration is a recorded declaration or authorisation.
type CryptoDeclaration struct {
	ID string `json:"id"`
	CryptoRequest
	RecordedAt Timestamp `json:"recorded_at"`
}

// TrustedListPointer is a foreign trusted list an agreement recognises.
type TrustedListPointer struct {
	Location     string   `json:"location"`
	Territory    string   `json:"territory"`
	OperatorName string   `json:"operator_name,omitempty"`
	Certificates [][]byte `json:"certificates"` // DER of the certificates that may sign it
}

// AgreementRequest records a mutual-recognition agreement (L-22).
type AgreementRequest struct {
	Reference string               `json:"reference"`
	Kind      string               `json:"kind"` // bilateral or multilateral
	Title     string               `json:"title,omitempty"`
	SignedAt  time.Time            `json:"signed_at"`
	Countries []string             `json:"countries"`
	Lists     []TrustedListPointer `json:"lists,omitempty"`
}

// Agreement is a recorded agreement.
type Agreement struct {
	ID string `json:"id"`
	AgreementRequest
	RecordedAt Timestamp `json:"recorded_at"`
}

// AgreementList lists the agreements, oldest first.
type AgreementList struct {
	Agreements []Agreement `json:"agreements"`
}

// Dossier is a CSP with every version of its record and everything recorded about it.
type Dossier struct {
	CSP        CSP                 `json:"csp"`
	Versions   []CSP               `json:"versions,omitempty"`
	Services   []TrustService      `json:"services"`
	Insurances []Insurance         `json:"insurances"`
	Audits     []Audit             `json:"audits"`
	Sanctions  []Sanction          `json:"sanctions"`
	Crypto     []CryptoDeclaration `json:"crypto"`
}

// RegisteredCSP is a CSP's current record and its services.
type RegisteredCSP struct {
	CSP      CSP            `json:"csp"`
	Services []TrustService `json:"services"`
}

// Register is the register as it stands: what the trusted list is built from.
type Register struct {
	At         Timestamp       `json:"at"`
	CSPs       []RegisteredCSP `json:"csps"`
	Agreements []Agreement     `json:"agreements"`
}

// InsuranceWarning names a CSP with a granted service whose cover ends soon or has ended.
type InsuranceWarning struct {
	CSPID    string     `json:"csp_id"`
	CSPName  string     `json:"csp_name"`
	Kind     string     `json:"kind"` // lapsing or uninsured
	LapsesAt *Timestamp `json:"lapses_at,omitempty"`
}

// InsuranceWarnings lists the warnings, soonest first.
type InsuranceWarnings struct {
	NoticeDays int                `json:"notice_days"`
	Warnings   []InsuranceWarning `json:"warnings"`
}

// YearlyCSP is a CSP's dossier at the end of the year.
type YearlyCSP struct {
	Dossier
	StatusAtEnd map[string]string `json:"status_at_end"` // service ID -> status on 31 December
}

// RegisterChange is one change recorded during the year.
type RegisterChange struct {
	At        Timestamp `json:"at"`
	What      string    `json:"what"`
	CSPID     string    `json:"csp_id,omitempty"`
	ServiceID string    `json:"service_id,omitempty"`
	RecordID  string    `json:"record_id,omitempty"`
	Summary   string    `json:"summary"`
}

// YearlyRegister is the register published for a year (L-15): as it stood at the
// end of 31 December (UTC), with every change recorded during the year.
type YearlyRegister struct {
	Year        int              `json:"year"`
	AsOf        Timestamp        `json:"as_of"`
	GeneratedAt Timestamp        `json:"generated_at"`
	CSPs        []YearlyCSP      `json:"csps"`
	Agreements  []Agreement      `json:"agreements"`
	Changes     []RegisterChange `json:"changes"`
}

const authorityPath = "/api/v1/authority"

// RegisterCSP registers a CSP (admin).
func (c *Client) RegisterCSP(ctx context.Context, in CSPRequest) (*CSP, error) {
	var out CSP
	return &out, c.do(ctx, http.MethodPost, authorityPath+"/csps", in, &out)
}

// UpdateCSP records a new version of a CSP's record (admin).
func (c *Client) UpdateCSP(ctx context.Context, id string, in CSPRequest) (*CSP, error) {
	var out CSP
	return &out, c.do(ctx, http.MethodPut, authorityPath+"/csps/"+url.PathEscape(id), in, &out)
}

// CSPs lists the register's CSPs (admin, auditor).
func (c *Client) CSPs(ctx context.Context) ([]CSP, error) {
	var out CSPList
	return out.CSPs, c.do(ctx, http.MethodGet, authorityPath+"/csps", nil, &out)
}

// CSPDossier returns a CSP with everything recorded about it (admin, auditor).
func (c *Client) CSPDossier(ctx context.Context, id string) (*Dossier, error) {
	var out Dossier
	return &out, c.do(ctx, http.MethodGet, authorityPath+"/csps/"+url.PathEscape(id), nil, &out)
}

// AddTrustService adds a CSP's service with its granting decision (admin).
func (c *Client) AddTrustService(ctx context.Context, in ServiceRequest) (*TrustService, error) {
	var out TrustService
	return &out, c.do(ctx, http.MethodPost, authorityPath+"/services", in, &out)
}

// TrustService returns a service with its status history (admin, auditor).
func (c *Client) TrustService(ctx context.Context, id string) (*TrustService, error) {
	var out TrustService
	return &out, c.do(ctx, http.MethodGet, authorityPath+"/services/"+url.PathEscape(id), nil, &out)
}

// ChangeServiceStatus records a decision that changes a service's status (admin).
func (c *Client) ChangeServiceStatus(ctx context.Context, id string, in StatusRequest) (*TrustService, error) {
	var out TrustService
	return &out, c.do(ctx, http.MethodPost, authorityPath+"/services/"+url.PathEscape(id)+"/status", in, &out)
}

// ServiceStatusAt returns a service's status at a time; a zero at means now (admin, auditor).
func (c *Client) ServiceStatusAt(ctx context.Context, id string, at time.Time) (*ServiceStatus, error) {
	p := authorityPath + "/services/" + url.PathEscape(id) + "/status"
	if !at.IsZero() {
		p += "?" + url.Values{"at": {at.UTC().Format(time.RFC3339Nano)}}.Encode()
	}
	var out ServiceStatus
	return &out, c.do(ctx, http.MethodGet, p, nil, &out)
}

// RecordInsurance records a liability insurance policy (admin).
func (c *Client) RecordInsurance(ctx context.Context, in InsuranceRequest) (*Insurance, error) {
	var out Insurance
	return &out, c.do(ctx, http.MethodPost, authorityPath+"/insurances", in, &out)
}

// InsuranceWarnings lists the CSPs whose cover ends soon or has ended (admin, auditor).
func (c *Client) InsuranceWarnings(ctx context.Context) (*InsuranceWarnings, error) {
	var out InsuranceWarnings
	return &out, c.do(ctx, http.MethodGet, authorityPath+"/insurance-warnings", nil, &out)
}

// RecordAudit records an audit and its findings (admin).
func (c *Client) RecordAudit(ctx context.Context, in AuditRequest) (*Audit, error) {
	var out Audit
	return &out, c.do(ctx, http.MethodPost, authorityPath+"/audits", in, &out)
}

// RecordSanction records a sanction (admin).
func (c *Client) RecordSanction(ctx context.Context, in SanctionRequest) (*Sanction, error) {
	var out Sanction
	return &out, c.do(ctx, http.MethodPost, authorityPath+"/sanctions", in, &out)
}

// RecordCrypto records a cryptography declaration or authorisation (admin).
func (c *Client) RecordCrypto(ctx context.Context, in CryptoRequest) (*CryptoDeclaration, error) {
	var out CryptoDeclaration
	return &out, c.do(ctx, http.MethodPost, authorityPath+"/crypto-declarations", in, &out)
}

// RecordAgreement records a mutual-recognition agreement (admin).
func (c *Client) RecordAgreement(ctx context.Context, in AgreementRequest) (*Agreement, error) {
	var out Agreement
	return &out, c.do(ctx, http.MethodPost, authorityPath+"/agreements", in, &out)
}

// Agreements lists the recognition agreements (admin, auditor).
func (c *Client) Agreements(ctx context.Context) ([]Agreement, error) {
	var out AgreementList
	return out.Agreements, c.do(ctx, http.MethodGet, authorityPath+"/agreements", nil, &out)
}

// AuthorityRegister returns the register as it stands (admin, auditor).
func (c *Client) AuthorityRegister(ctx context.Context) (*Register, error) {
	var out Register
	return &out, c.do(ctx, http.MethodGet, authorityPath+"/register", nil, &out)
}

// ExportRegister returns the yearly register of year, as published JSON (admin, auditor);
// decode it into a YearlyRegister to read it.
func (c *Client) ExportRegister(ctx context.Context, year int) ([]byte, error) {
	return c.raw(ctx, authorityPath+"/register/"+strconv.Itoa(year))
}
