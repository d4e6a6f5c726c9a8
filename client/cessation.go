package client

import (
	"context"
	"net/http"
)

// CessationSuccessor is the CSP that takes the certificates over (L-23).
type CessationSuccessor struct {
	Name       string `json:"name"`
	Identifier string `json:"identifier"` // its trade-register / ICE number
}

// CessationPlanRequest records the CSP's intended end of activity (L-23).
type CessationPlanRequest struct {
	Mode      string              `json:"mode"` // takeover, revoke-all or judicial-liquidation
	End       Timestamp           `json:"end"`
	Successor *CessationSuccessor `json:"successor,omitempty"` // takeover only
	Note      string              `json:"note,omitempty"`
}

// CessationPlan is the recorded plan; a CSP has at most one, never changed.
type CessationPlan struct {
	Mode      string              `json:"mode"`
	End       Timestamp           `json:"end"`
	Successor *CessationSuccessor `json:"successor,omitempty"`
	PlannedAt Timestamp           `json:"planned_at"`
	PlannedBy string              `json:"planned_by"`
	Note      string              `json:"note,omitempty"`
}

// CessationDeadline is one duty of the plan: when it is due, when it was done, and
// whether it is late (done after its due date, or not done and past it).
type CessationDeadline struct {
	Step   string     `json:"step"`
	Rule   string     `json:"rule"`
	Duty   string     `json:"duty"`
	Due    *Timestamp `json:"due,omitempty"` // absent: runs from a step not yet done
	DoneAt *Timestamp `json:"done_at,omitempty"`
	Late   bool       `json:"late"`
}

// CessationNotice is the notice to the authority, as queued.
type CessationNotice struct {
	Channel   string    `json:"channel"` // email, or account: held for the operator to hand over
	Recipient string    `json:"recipient"`
	Subject   string    `json:"subject"`
	Body      string    `json:"body"`
	CreatedAt Timestamp `json:"created_at"`
}

// CessationStatus is the plan with each deadline, judged now.
type CessationStatus struct {
	Plan            CessationPlan       `json:"plan"`
	Now             Timestamp           `json:"now"`
	Deadlines       []CessationDeadline `json:"deadlines"`
	AuthorityNotice []CessationNotice   `json:"authority_notice"`
	HoldersWarned   int                 `json:"holders_warned"`
	Unrevoked       int                 `json:"unrevoked"` // issued certificates not revoked yet
}

// CessationWarning is what warning the holders did.
type CessationWarning struct {
	Queued int `json:"queued"` // notices queued by this call (a holder is warned once)
}

// CessationRevokeRequest asks for one round of the mass revocation.
type CessationRevokeRequest struct {
	Limit int `json:"limit,omitempty"` // at most this many certificates (0: the server's batch)
}

// CessationProgress is what one round revoked and what remains.
type CessationProgress struct {
	Revoked   int      `json:"revoked"`
	Remaining int      `json:"remaining"`
	Done      bool     `json:"done"`
	FinalCRLs []string `json:"final_crls,omitempty"` // published by the round that left nothing
}

// PlanCessation records the cessation plan and queues the authority's notice (L-23).
func (c *Client) PlanCessation(ctx context.Context, in CessationPlanRequest) (*CessationStatus, error) {
	var out CessationStatus
	return &out, c.do(ctx, http.MethodPost, "/api/v1/cessation/plan", in, &out)
}

// CessationStatus returns each deadline of the plan: due, done and late.
func (c *Client) CessationStatus(ctx context.Context) (*CessationStatus, error) {
	var out CessationStatus
	return &out, c.do(ctx, http.MethodGet, "/api/v1/cessation", nil, &out)
}

// WarnHolders queues one warning per holder of an unrevoked certificate.
func (c *Client) WarnHolders(ctx context.Context) (*CessationWarning, error) {
	var out CessationWarning
	return &out, c.do(ctx, http.MethodPost, "/api/v1/cessation/warnings", struct{}{}, &out)
}

// RevokeForCessation runs one round of the mass revocation; call it until Done.
func (c *Client) RevokeForCessation(ctx context.Context, limit int) (*CessationProgress, error) {
	var out CessationProgress
	return &out, c.do(ctx, http.MethodPost, "/api/v1/cessation/revocations", CessationRevokeRequest{Limit: limit}, &out)
}
