package client

import (
	"context"
	"net/http"
	"net/url"
)

// InsurancePolicyRequest records one of the CSP's own liability insurance policies (L-21-3-6).
type InsurancePolicyRequest struct {
	Insurer    string    `json:"insurer"`
	Number     string    `json:"policy_number"`
	CoverMAD   int64     `json:"cover_mad"`
	ValidFrom  Timestamp `json:"valid_from"`
	ValidUntil Timestamp `json:"valid_until"` // the first instant not covered
}

// InsurancePolicy is a recorded policy of the CSP.
type InsurancePolicy struct {
	ID         string    `json:"id"`
	Insurer    string    `json:"insurer"`
	Number     string    `json:"policy_number"`
	CoverMAD   int64     `json:"cover_mad"`
	ValidFrom  Timestamp `json:"valid_from"`
	ValidUntil Timestamp `json:"valid_until"`
	RecordedBy string    `json:"recorded_by"`
	RecordedAt Timestamp `json:"recorded_at"`
}

// InsuranceStatus is where the CSP's cover stands now.
type InsuranceStatus struct {
	At          Timestamp         `json:"at"`
	Covered     bool              `json:"covered"`
	Required    bool              `json:"required"` // issuance refuses without cover
	Current     *InsurancePolicy  `json:"current,omitempty"`
	CoverEnd    *Timestamp        `json:"cover_end,omitempty"` // end of the continuous cover
	WarningDays int               `json:"warning_days"`
	Warning     string            `json:"warning,omitempty"`
	Policies    []InsurancePolicy `json:"policies"`
}

// BreachHolder is a holder a breach touches, with the harm assessment.
type BreachHolder struct {
	HolderID   string `json:"holder_id"`
	Harm       bool   `json:"harm"`
	Assessment string `json:"assessment"`
}

// BreachRequest records a security breach (43-20 art. 40, L-24).
type BreachRequest struct {
	Kind         string         `json:"kind"` // key-compromise, data-leak, service-outage, other
	Description  string         `json:"description"`
	DetectedAt   Timestamp      `json:"detected_at"`
	CAs          []string       `json:"cas,omitempty"`
	Certificates []string       `json:"certificates,omitempty"`
	Holders      []BreachHolder `json:"holders,omitempty"`
}

// Breach is a recorded incident.
type Breach struct {
	ID           string         `json:"id"`
	Kind         string         `json:"kind"`
	Description  string         `json:"description"`
	DetectedAt   Timestamp      `json:"detected_at"`
	RecordedAt   Timestamp      `json:"recorded_at"`
	RecordedBy   string         `json:"recorded_by"`
	CAs          []string       `json:"cas"`
	Certificates []string       `json:"certificates"`
	Holders      []BreachHolder `json:"holders"`
	Notices      []DutyNotice   `json:"notices,omitempty"`
}

// BreachOutcome is what recording or resuming a breach did.
type BreachOutcome struct {
	Breach          Breach       `json:"breach"`
	AuthorityQueued bool         `json:"authority_queued"`
	HolderNotices   int          `json:"holder_notices"`
	Revoked         []Revocation `json:"revoked"`
}

// BreachList lists incidents, newest first.
type BreachList struct {
	Breaches []Breach `json:"breaches"`
}

// DutyNotice is a notice to the authority, a holder or the operators.
type DutyNotice struct {
	ID        string     `json:"id"`
	Kind      string     `json:"kind"` // breach-authority, breach-holder, insurance-lapse
	Ref       string     `json:"ref"`  // the breach it is about
	Channel   string     `json:"channel"`
	Recipient string     `json:"recipient"`
	Subject   string     `json:"subject"`
	Body      string     `json:"body"`
	State     string     `json:"state"`
	CreatedAt Timestamp  `json:"created_at"`
	SentAt    *Timestamp `json:"sent_at,omitempty"`
}

// DutyNoticeList lists notices, newest first.
type DutyNoticeList struct {
	Notices []DutyNotice `json:"notices"`
}

// DataChangeRequest is a holder's report that his certified data changed (L-25).
type DataChangeRequest struct {
	Field          string `json:"field"` // name, pseudonym, title, organization, email, identity-document, country
	NewValue       string `json:"new_value"`
	EvidenceSHA256 string `json:"evidence_sha256"` // hex
}

// DataChange is a report and, once reviewed, its decision.
type DataChange struct {
	ID             string     `json:"id"`
	Serial         string     `json:"serial"`
	HolderID       string     `json:"holder_id"`
	Field          string     `json:"field"`
	NewValue       string     `json:"new_value"`
	EvidenceSHA256 string     `json:"evidence_sha256"`
	ReportedAt     Timestamp  `json:"reported_at"`
	Status         string     `json:"status"` // pending, revoked, closed
	DecidedBy      string     `json:"decided_by,omitempty"`
	DecidedAt      *Timestamp `json:"decided_at,omitempty"`
	Note           string     `json:"note,omitempty"`
}

// DataChangeList lists reports, oldest first.
type DataChangeList struct {
	DataChanges []DataChange `json:"data_changes"`
}

// DataChangeReview is an RA officer's decision: still_true false revokes the certificate.
type DataChangeReview struct {
	StillTrue bool   `json:"still_true"`
	Note      string `json:"note"`
}

// DataChangeDecision is a decided report with the revocations it made.
type DataChangeDecision struct {
	DataChange DataChange   `json:"data_change"`
	Revoked    []Revocation `json:"revoked"`
}

// AddInsurancePolicy records a policy of the CSP (admin).
func (c *Client) AddInsurancePolicy(ctx context.Context, in InsurancePolicyRequest) (*InsurancePolicy, error) {
	var out InsurancePolicy
	return &out, c.do(ctx, http.MethodPost, "/api/v1/insurance/policies", in, &out)
}

// InsuranceStatus returns the CSP's cover now, with any warning.
func (c *Client) InsuranceStatus(ctx context.Context) (*InsuranceStatus, error) {
	var out InsuranceStatus
	return &out, c.do(ctx, http.MethodGet, "/api/v1/insurance", nil, &out)
}

// RecordBreach records a security breach and does what follows from it.
func (c *Client) RecordBreach(ctx context.Context, in BreachRequest) (*BreachOutcome, error) {
	var out BreachOutcome
	return &out, c.do(ctx, http.MethodPost, "/api/v1/breaches", in, &out)
}

// ResumeBreach finishes the notices and revocations of a recorded breach.
func (c *Client) ResumeBreach(ctx context.Context, id string) (*BreachOutcome, error) {
	var out BreachOutcome
	return &out, c.do(ctx, http.MethodPost, "/api/v1/breaches/"+url.PathEscape(id)+"/resume", struct{}{}, &out)
}

// Breaches lists the latest breaches.
func (c *Client) Breaches(ctx context.Context) ([]Breach, error) {
	var out BreachList
	return out.Breaches, c.do(ctx, http.MethodGet, "/api/v1/breaches", nil, &out)
}

// Breach returns one breach with its notices.
func (c *Client) Breach(ctx context.Context, id string) (*Breach, error) {
	var out Breach
	return &out, c.do(ctx, http.MethodGet, "/api/v1/breaches/"+url.PathEscape(id), nil, &out)
}

// BreachNotices lists the breach notices held for the calling holder.
func (c *Client) BreachNotices(ctx context.Context) ([]DutyNotice, error) {
	var out DutyNoticeList
	return out.Notices, c.do(ctx, http.MethodGet, "/api/v1/breach-notices", nil, &out)
}

// ReportDataChange reports that the certified data of one's certificate changed.
func (c *Client) ReportDataChange(ctx context.Context, serial string, in DataChangeRequest) (*DataChange, error) {
	var out DataChange
	return &out, c.do(ctx, http.MethodPost, "/api/v1/certificates/"+url.PathEscape(serial)+"/data-change", in, &out)
}

// DataChanges lists the reports in a status ("" for all), oldest first.
func (c *Client) DataChanges(ctx context.Context, status string) ([]DataChange, error) {
	var out DataChangeList
	p := "/api/v1/data-changes"
	if status != "" {
		p += "?status=" + url.QueryEscape(status)
	}
	return out.DataChanges, c.do(ctx, http.MethodGet, p, nil, &out)
}

// ReviewDataChange records an RA officer's decision on a report.
func (c *Client) ReviewDataChange(ctx context.Context, id string, in DataChangeReview) (*DataChangeDecision, error) {
	var out DataChangeDecision
	return &out, c.do(ctx, http.MethodPost, "/api/v1/data-changes/"+url.PathEscape(id)+"/review", in, &out)
}
