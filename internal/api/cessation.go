package api

import (
	"context"
	"net/http"

	"github.com/tawthiq/tawthiq/client"
	"github.com/tawthiq/tawthiq/internal/access"
	"github.com/tawthiq/tawthiq/internal/cessation"
	"github.com/tawthiq/tawthiq/internal/errkind"
	"github.com/tawthiq/tawthiq/internal/law"
)

// CessationDesk runs the CSP's cessation of activity (L-23); the takeover archive's
// export and import run on the data directory, not through the API.
type CessationDesk interface {
	Plan(ctx context.Context, by string, req cessation.PlanRequest) (*cessation.Plan, error)
	Status(ctx context.Context) (*cessation.Status, error)
	Warn(ctx context.Context, by string) (int, error)
	RevokeBatch(ctx context.Context, by string, limit int) (cessation.Progress, error)
}

func (s *server) planCessation(w http.ResponseWriter, r *http.Request, u *access.User) error {
	var in client.CessationPlanRequest
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	if s.Cessation == nil {
		return notWired("cessation")
	}
	req := cessation.PlanRequest{Mode: law.CessationMode(in.Mode), End: in.End.Time, Note: in.Note}
	if in.Successor != nil {
		req.Successor = cessation.Successor{Name: in.Successor.Name, Identifier: in.Successor.Identifier}
	}
	if _, err := s.Cessation.Plan(r.Context(), u.ID, req); err != nil {
		return err
	}
	st, err := s.Cessation.Status(r.Context())
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/cessation")
	return writeJSON(w, http.StatusCreated, wireCessation(st))
}

func (s *server) cessationStatus(w http.ResponseWriter, r *http.Request, _ *access.User) error {
	if s.Cessation == nil {
		return notWired("cessation")
	}
	st, err := s.Cessation.Status(r.Context())
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, wireCessation(st))
}

func (s *server) warnHolders(w http.ResponseWriter, r *http.Request, u *access.User) error {
	if err := decodeJSON(r, &struct{}{}); err != nil {
		return err
	}
	if s.Cessation == nil {
		return notWired("cessation")
	}
	n, err := s.Cessation.Warn(r.Context(), u.ID)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, client.CessationWarning{Queued: n})
}

// revokeForCessation runs one bounded round, so that a client shows progress and an
// interrupted run resumes where it stopped (L-23).
func (s *server) revokeForCessation(w http.ResponseWriter, r *http.Request, u *access.User) error {
	var in client.CessationRevokeRequest
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	if in.Limit < 0 {
		return errkind.New(errkind.Invalid, law.L23, "limit must not be negative")
	}
	if s.Cessation == nil {
		return notWired("cessation")
	}
	pr, err := s.Cessation.RevokeBatch(r.Context(), u.ID, in.Limit)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, client.CessationProgress{Revoked: pr.Revoked, Remaining: pr.Remaining, Done: pr.Done, FinalCRLs: pr.FinalCRLs})
}

func wireCessation(st *cessation.Status) client.CessationStatus {
	p := st.Plan
	out := client.CessationStatus{Now: client.Timestamp{Time: st.Now}, HoldersWarned: st.Warned, Unrevoked: st.Unrevoked,
		Plan: client.CessationPlan{Mode: string(p.Mode), End: client.Timestamp{Time: p.End}, PlannedAt: client.Timestamp{Time: p.PlannedAt},
			PlannedBy: p.PlannedBy, Note: p.Note},
		Deadlines: make([]client.CessationDeadline, 0, len(st.Deadlines)), AuthorityNotice: make([]client.CessationNotice, 0, len(st.Notices))}
	if p.Successor != (cessation.Successor{}) {
		out.Plan.Successor = &client.CessationSuccessor{Name: p.Successor.Name, Identifier: p.Successor.Identifier}
	}
	for _, d := range st.Deadlines {
		out.Deadlines = append(out.Deadlines, client.CessationDeadline{Step: string(d.Step), Rule: string(d.Rule), Duty: d.Duty,
			Due: optTime(d.Due), DoneAt: optTime(d.DoneAt), Late: d.Late})
	}
	for _, n := range st.Notices {
		out.AuthorityNotice = append(out.AuthorityNotice, client.CessationNotice{Channel: n.Channel, Recipient: n.Recipient,
			Subject: n.Subject, Body: n.Body, CreatedAt: client.Timestamp{Time: n.CreatedAt}})
	}
	return out
}
