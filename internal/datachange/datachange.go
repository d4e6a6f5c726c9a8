// Package datachange takes a holder's report that his certified data changed (L-25)
// and queues it for an RA officer, who decides: if the certificate no longer states
// the truth it is revoked on the ground "information no longer true" (L-21-3-7 a);
// otherwise the report is closed.
package datachange

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"time"

	"github.com/tawthiq/tawthiq/internal/auditlog"
	"github.com/tawthiq/tawthiq/internal/clock"
	"github.com/tawthiq/tawthiq/internal/errkind"
	"github.com/tawthiq/tawthiq/internal/law"
	"github.com/tawthiq/tawthiq/internal/revocation"
)

// Status is where a report stands.
type Status string

// Report states: pending -> revoked | closed, once.
const (
	StatusPending Status = "pending"
	StatusRevoked Status = "revoked" // the certified data were no longer true
	StatusClosed  Status = "closed"  // the certificate still states the truth
)

// Audit actions.
const (
	ActionReport auditlog.Action = "datachange.report"
	ActionReview auditlog.Action = "datachange.review"
)

// MaxValueBytes bounds a reported value.
const MaxValueBytes = 1024

// Report is a holder's report of a change of his certified data (L-25).
type Report struct {
	ID             string
	Serial         string
	HolderID       string
	Field          law.CertifiedField
	NewValue       string
	EvidenceSHA256 []byte
	ReportedAt     time.Time
	Status         Status
	DecidedBy      string
	DecidedAt      time.Time
	Note           string
}

// Store is what the service needs from the database.
type Store interface {
	// RevocationSubject returns the certificate's holder and state (errkind.NotFound if none).
	RevocationSubject(ctx context.Context, serial string) (*revocation.Subject, error)
	CreateDataChange(ctx context.Context, r Report, e auditlog.Entry) error
	DataChange(ctx context.Context, id string) (*Report, error)
	// DataChanges returns reports in a status ("" for all), oldest first.
	DataChanges(ctx context.Context, status Status, limit int) ([]Report, error)
	// DecideDataChange moves a pending report to revoked or closed (errkind.Conflict if not pending).
	DecideDataChange(ctx context.Context, r Report, e auditlog.Entry) error
}

// Revoker revokes a certificate on a ground (revocation.Service).
type Revoker interface {
	Revoke(ctx context.Context, by revocation.Actor, req revocation.Request) ([]revocation.Revocation, error)
}

// Service takes and decides reports.
type Service struct {
	st  Store
	rev Revoker
	clk clock.Clock
}

// New returns the service.
func New(st Store, rev Revoker, clk clock.Clock) *Service {
	return &Service{st: st, rev: rev, clk: clk}
}

// maxListed bounds a listing.
const maxListed = 500

// Report records the holder's report about his own certificate and queues it for review.
func (s *Service) Report(ctx context.Context, holderID, serial string, field law.CertifiedField, newValue string, evidence []byte) (*Report, error) {
	newValue = strings.TrimSpace(newValue)
	switch {
	case !law.ValidCertifiedField(field):
		return nil, errkind.New(errkind.Invalid, law.L25, "field %q is not a certified field", field)
	case newValue == "" || len(newValue) > MaxValueBytes:
		return nil, errkind.New(errkind.Invalid, law.L25, "the new value is required, at most %d bytes", MaxValueBytes)
	case len(evidence) != sha256.Size:
		return nil, errkind.New(errkind.Invalid, law.L25, "the SHA-256 of the evidence of the change is required")
	}
	sub, err := s.st.RevocationSubject(ctx, serial)
	if err != nil {
		return nil, err
	}
	if holderID == "" || sub.SubmittedBy != holderID {
		// Same answer as an unknown serial: a holder learns nothing of others' certificates.
		return nil, errkind.New(errkind.NotFound, law.L25, "no certificate %q of yours", serial)
	}
	if !sub.Issued {
		return nil, errkind.New(errkind.Conflict, law.L25, "certificate %s was never issued", serial)
	}
	if sub.Revoked {
		return nil, errkind.New(errkind.Conflict, law.L21Rev, "certificate %s is already revoked", serial)
	}
	r := Report{ID: "dch_" + randomHex(12), Serial: sub.Serial, HolderID: holderID, Field: field, NewValue: newValue,
		EvidenceSHA256: evidence, ReportedAt: law.Timestamp(s.clk.Now()), Status: StatusPending}
	// The audit log keeps the field and the evidence hash, not the new value (L-24).
	e := auditlog.NewEntry(r.ReportedAt, holderID, ActionReport, r.ID, map[string]string{
		"serial": r.Serial, "field": string(field), "evidence_sha256": hex.EncodeToString(evidence)})
	if err := s.st.CreateDataChange(ctx, r, e); err != nil {
		return nil, err
	}
	return &r, nil
}

// Review records an RA officer's decision. stillTrue false revokes the certificate on
// the ground "information no longer true" (L-21-3-7 a) before the report is closed as
// revoked; a retry after a failure finds the revocation made and only records the decision.
func (s *Service) Review(ctx context.Context, officerID, id string, stillTrue bool, note string) (*Report, []revocation.Revocation, error) {
	note = strings.TrimSpace(note)
	if note == "" {
		return nil, nil, errkind.New(errkind.Invalid, law.L21_3_7, "a review needs a note")
	}
	r, err := s.st.DataChange(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	if r.Status != StatusPending {
		return nil, nil, errkind.New(errkind.Conflict, law.L25, "report %s is already %s", id, r.Status)
	}
	if officerID == r.HolderID {
		return nil, nil, errkind.New(errkind.Forbidden, law.L21_3_7, "a holder may not review his own report")
	}
	var rs []revocation.Revocation
	r.Status = StatusClosed
	if !stillTrue {
		r.Status = StatusRevoked
		rs, err = s.rev.Revoke(ctx, revocation.Actor{ID: officerID, Role: revocation.RoleOfficer},
			revocation.Request{Serial: r.Serial, Ground: law.DataChangeGround, Note: "data change " + r.ID + ": " + note})
		if e := errkind.As(err); err != nil && !(e.Kind == errkind.Conflict && e.Rule == law.L21Rev) {
			return nil, nil, err
		}
	}
	r.DecidedBy, r.DecidedAt, r.Note = officerID, law.Timestamp(s.clk.Now()), note
	e := auditlog.NewEntry(r.DecidedAt, officerID, ActionReview, r.ID, map[string]string{
		"serial": r.Serial, "status": string(r.Status), "note": note})
	if err := s.st.DecideDataChange(ctx, *r, e); err != nil {
		return nil, nil, err
	}
	return r, rs, nil
}

// Get returns one report.
func (s *Service) Get(ctx context.Context, id string) (*Report, error) {
	return s.st.DataChange(ctx, id)
}

// Queue returns the reports in a status ("" for all), oldest first.
func (s *Service) Queue(ctx context.Context, status Status) ([]Report, error) {
	switch status {
	case "", StatusPending, StatusRevoked, StatusClosed:
	default:
		return nil, errkind.New(errkind.Invalid, law.L25, "unknown status %q", status)
	}
	return s.st.DataChanges(ctx, status, maxListed)
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand does not fail on supported platforms
	return hex.EncodeToString(b)
}
