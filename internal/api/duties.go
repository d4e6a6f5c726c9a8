package api

import (
	"context"
	"encoding/hex"
	"net/http"
	"net/url"
	"time"

	"github.com/tawthiq/tawthiq/client"
	"github.com/tawthiq/tawthiq/internal/access"
	"github.com/tawthiq/tawthiq/internal/breach"
	"github.com/tawthiq/tawthiq/internal/datachange"
	"github.com/tawthiq/tawthiq/internal/insurance"
	"github.com/tawthiq/tawthiq/internal/law"
	"github.com/tawthiq/tawthiq/internal/notify"
	"github.com/tawthiq/tawthiq/internal/revocation"
)

// Grounds of the reads these endpoints record (L-24).
const (
	GroundBreachReview     = "breach-review"
	GroundDataChangeReview = "data-change-review"
)

// InsuranceBook records the CSP's liability insurance and says where its cover stands (L-21-3-6).
type InsuranceBook interface {
	Add(ctx context.Context, actor string, p insurance.Policy) (*insurance.Policy, error)
	StatusAt(ctx context.Context, t time.Time) (*insurance.Status, error)
}

// BreachBook records security breaches and their notices (L-24, 43-20 art. 40).
type BreachBook interface {
	Record(ctx context.Context, by breach.Actor, in breach.Incident) (*breach.Outcome, error)
	Resume(ctx context.Context, by breach.Actor, id string) (*breach.Outcome, error)
	Incident(ctx context.Context, id string) (*breach.Incident, error)
	Incidents(ctx context.Context) ([]breach.Incident, error)
	Notices(ctx context.Context, id string) ([]notify.Notice, error)
	HolderNotices(ctx context.Context, holderID string) ([]notify.Notice, error)
}

// DataChangeDesk takes holders' reports of changed data and the RA's decisions (L-25).
type DataChangeDesk interface {
	Report(ctx context.Context, holderID, serial string, field law.CertifiedField, newValue string, evidence []byte) (*datachange.Report, error)
	Review(ctx context.Context, officerID, id string, stillTrue bool, note string) (*datachange.Report, []revocation.Revocation, error)
	Queue(ctx context.Context, status datachange.Status) ([]datachange.Report, error)
}

var (
	_ InsuranceBook  = (*insurance.Service)(nil)
	_ BreachBook     = (*breach.Service)(nil)
	_ DataChangeDesk = (*datachange.Service)(nil)
)

func (s *server) addInsurancePolicy(w http.ResponseWriter, r *http.Request, u *access.User) error {
	var in client.InsurancePolicyRequest
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	if s.Insurance == nil {
		return notWired("insurance")
	}
	p, err := s.Insurance.Add(r.Context(), u.ID, insurance.Policy{Insurer: in.Insurer, Number: in.Number,
		CoverMAD: in.CoverMAD, ValidFrom: in.ValidFrom.Time, ValidUntil: in.ValidUntil.Time})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, wirePolicy(*p))
}

func (s *server) insuranceStatus(w http.ResponseWriter, r *http.Request, _ *access.User) error {
	if s.Insurance == nil {
		return notWired("insurance")
	}
	st, err := s.Insurance.StatusAt(r.Context(), s.Clock.Now())
	if err != nil {
		return err
	}
	out := client.InsuranceStatus{At: client.Timestamp{Time: st.At}, Covered: st.Covered, Required: st.Required,
		WarningDays: insurance.WarningDays, Warning: st.Warning, Policies: make([]client.InsurancePolicy, 0, len(st.Policies))}
	if st.Current != nil {
		p := wirePolicy(*st.Current)
		out.Current = &p
	}
	out.CoverEnd = optTime(st.CoverEnd)
	for _, p := range st.Policies {
		out.Policies = append(out.Policies, wirePolicy(p))
	}
	return writeJSON(w, http.StatusOK, out)
}

func wirePolicy(p insurance.Policy) client.InsurancePolicy {
	return client.InsurancePolicy{ID: p.ID, Insurer: p.Insurer, Number: p.Number, CoverMAD: p.CoverMAD,
		ValidFrom: client.Timestamp{Time: p.ValidFrom}, ValidUntil: client.Timestamp{Time: p.ValidUntil},
		RecordedBy: p.RecordedBy, RecordedAt: client.Timestamp{Time: p.RecordedAt}}
}

func (s *server) recordBreach(w http.ResponseWriter, r *http.Request, u *access.User) error {
	var in client.BreachRequest
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	if s.Breaches == nil {
		return notWired("breach reports")
	}
	inc := breach.Incident{Kind: breach.Kind(in.Kind), Description: in.Description, DetectedAt: in.DetectedAt.Time,
		CAs: in.CAs, Certificates: in.Certificates}
	for _, h := range in.Holders {
		inc.Holders = append(inc.Holders, breach.Holder{HolderID: h.HolderID, Harm: h.Harm, Assessment: h.Assessment})
	}
	out, err := s.Breaches.Record(r.Context(), breach.Actor{ID: u.ID, Role: string(u.Role)}, inc)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/breaches/"+url.PathEscape(out.Incident.ID))
	return writeJSON(w, http.StatusCreated, wireOutcome(out))
}

func (s *server) resumeBreach(w http.ResponseWriter, r *http.Request, u *access.User) error {
	if s.Breaches == nil {
		return notWired("breach reports")
	}
	out, err := s.Breaches.Resume(r.Context(), breach.Actor{ID: u.ID, Role: string(u.Role)}, r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, wireOutcome(out))
}

func (s *server) listBreaches(w http.ResponseWriter, r *http.Request, u *access.User) error {
	if s.Breaches == nil {
		return notWired("breach reports")
	}
	ins, err := s.Breaches.Incidents(r.Context())
	if err != nil {
		return err
	}
	if err := s.recordRead(r.Context(), u, "breaches", GroundBreachReview); err != nil {
		return err
	}
	out := client.BreachList{Breaches: make([]client.Breach, 0, len(ins))}
	for i := range ins {
		out.Breaches = append(out.Breaches, wireBreach(&ins[i], nil))
	}
	return writeJSON(w, http.StatusOK, out)
}

func (s *server) getBreach(w http.ResponseWriter, r *http.Request, u *access.User) error {
	if s.Breaches == nil {
		return notWired("breach reports")
	}
	in, err := s.Breaches.Incident(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	ns, err := s.Breaches.Notices(r.Context(), in.ID)
	if err != nil {
		return err
	}
	if err := s.recordRead(r.Context(), u, in.ID, GroundBreachReview); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, wireBreach(in, ns))
}

// breachNotices lists to a holder the breach notices held for him (43-20 art. 40).
func (s *server) breachNotices(w http.ResponseWriter, r *http.Request, u *access.User) error {
	if s.Breaches == nil {
		return notWired("breach reports")
	}
	ns, err := s.Breaches.HolderNotices(r.Context(), u.ID)
	if err != nil {
		return err
	}
	if err := s.recordRead(r.Context(), u, "breach-notices:"+u.ID, GroundHolderSelf); err != nil {
		return err
	}
	out := client.DutyNoticeList{Notices: make([]client.DutyNotice, 0, len(ns))}
	for i := range ns {
		out.Notices = append(out.Notices, wireDutyNotice(&ns[i]))
	}
	return writeJSON(w, http.StatusOK, out)
}

func wireOutcome(o *breach.Outcome) client.BreachOutcome {
	out := client.BreachOutcome{Breach: wireBreach(&o.Incident, nil), AuthorityQueued: o.AuthorityQueued,
		HolderNotices: o.HolderNotices, Revoked: make([]client.Revocation, 0, len(o.Revoked))}
	for i := range o.Revoked {
		out.Revoked = append(out.Revoked, wireRevocation(&o.Revoked[i]))
	}
	return out
}

func wireBreach(in *breach.Incident, ns []notify.Notice) client.Breach {
	out := client.Breach{ID: in.ID, Kind: string(in.Kind), Description: in.Description,
		DetectedAt: client.Timestamp{Time: in.DetectedAt}, RecordedAt: client.Timestamp{Time: in.RecordedAt},
		RecordedBy: in.RecordedBy, CAs: append([]string{}, in.CAs...), Certificates: append([]string{}, in.Certificates...),
		Holders: make([]client.BreachHolder, 0, len(in.Holders))}
	for _, h := range in.Holders {
		out.Holders = append(out.Holders, client.BreachHolder{HolderID: h.HolderID, Harm: h.Harm, Assessment: h.Assessment})
	}
	for i := range ns {
		out.Notices = append(out.Notices, wireDutyNotice(&ns[i]))
	}
	return out
}

func wireDutyNotice(n *notify.Notice) client.DutyNotice {
	return client.DutyNotice{ID: n.ID, Kind: string(n.Kind), Ref: n.Serial, Channel: string(n.Channel), Recipient: n.Recipient,
		Subject: n.Subject, Body: n.Body, State: string(n.State), CreatedAt: client.Timestamp{Time: n.CreatedAt}, SentAt: optTime(n.SentAt)}
}

// reportDataChange takes a holder's report about his own certificate (L-25).
func (s *server) reportDataChange(w http.ResponseWriter, r *http.Request, u *access.User) error {
	var in client.DataChangeRequest
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	ev, err := hexField("evidence_sha256", in.EvidenceSHA256)
	if err != nil {
		return err
	}
	if s.DataChanges == nil {
		return notWired("data change reports")
	}
	rep, err := s.DataChanges.Report(r.Context(), u.ID, normalSerial(r.PathValue("serial")), law.CertifiedField(in.Field), in.NewValue, ev)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, wireDataChange(rep))
}

// dataChanges is the RA's queue; it shows holders' new data, so the read is recorded (L-24).
func (s *server) dataChanges(w http.ResponseWriter, r *http.Request, u *access.User) error {
	if s.DataChanges == nil {
		return notWired("data change reports")
	}
	rs, err := s.DataChanges.Queue(r.Context(), datachange.Status(r.URL.Query().Get("status")))
	if err != nil {
		return err
	}
	if err := s.recordRead(r.Context(), u, "data-changes", GroundDataChangeReview); err != nil {
		return err
	}
	out := client.DataChangeList{DataChanges: make([]client.DataChange, 0, len(rs))}
	for i := range rs {
		out.DataChanges = append(out.DataChanges, wireDataChange(&rs[i]))
	}
	return writeJSON(w, http.StatusOK, out)
}

func (s *server) reviewDataChange(w http.ResponseWriter, r *http.Request, u *access.User) error {
	var in client.DataChangeReview
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	if s.DataChanges == nil {
		return notWired("data change reports")
	}
	rep, rs, err := s.DataChanges.Review(r.Context(), u.ID, r.PathValue("id"), in.StillTrue, in.Note)
	if err != nil {
		return err
	}
	out := client.DataChangeDecision{DataChange: wireDataChange(rep), Revoked: make([]client.Revocation, 0, len(rs))}
	for i := range rs {
		out.Revoked = append(out.Revoked, wireRevocation(&rs[i]))
	}
	return writeJSON(w, http.StatusOK, out)
}

func wireDataChange(r *datachange.Report) client.DataChange {
	return client.DataChange{ID: r.ID, Serial: r.Serial, HolderID: r.HolderID, Field: string(r.Field), NewValue: r.NewValue,
		EvidenceSHA256: hex.EncodeToString(r.EvidenceSHA256), ReportedAt: client.Timestamp{Time: r.ReportedAt},
		Status: string(r.Status), DecidedBy: r.DecidedBy, DecidedAt: optTime(r.DecidedAt), Note: r.Note}
}
