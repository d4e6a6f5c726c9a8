// Package breach records security breaches and does what 43-20 art. 40 asks of the
// CSP (L-24): it tells the authority at once and each holder the breach can harm,
// through a durable outbox that never sends a notice twice, and, when a key was
// compromised, revokes what that key certified (L-21-3-7 a, L-25, L-21-1).
package breach

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/tawthiq/tawthiq/internal/auditlog"
	"github.com/tawthiq/tawthiq/internal/clock"
	"github.com/tawthiq/tawthiq/internal/errkind"
	"github.com/tawthiq/tawthiq/internal/law"
	"github.com/tawthiq/tawthiq/internal/notify"
	"github.com/tawthiq/tawthiq/internal/revocation"
)

// Kind is what happened.
type Kind string

// Kinds of breach.
const (
	KindKeyCompromise Kind = "key-compromise"
	KindDataLeak      Kind = "data-leak"
	KindServiceOutage Kind = "service-outage"
	KindOther         Kind = "other"
)

// ValidKind reports whether k is a kind of breach.
func ValidKind(k Kind) bool {
	return k == KindKeyCompromise || k == KindDataLeak || k == KindServiceOutage || k == KindOther
}

// Notice kinds of the outbox.
const (
	KindAuthorityNotice notify.Kind = "breach-authority"
	KindHolderNotice    notify.Kind = "breach-holder"
)

// ActionRecord is the audit action of a recorded breach.
const ActionRecord auditlog.Action = "breach.record"

// AuthorityAccount is the recipient of the authority's notice when no address is
// configured: it is held, and listed with the incident, until one is.
const AuthorityAccount = "authority"

// Holder is one holder the breach touches, with the CSP's assessment of its harm.
type Holder struct {
	HolderID   string // the holder's user ID
	Harm       bool   // the breach can harm him: he is told (43-20 art. 40)
	Assessment string // why, in plain words
}

// Incident is the record of one security breach.
type Incident struct {
	ID           string
	Kind         Kind
	Description  string
	DetectedAt   time.Time
	RecordedAt   time.Time
	RecordedBy   string
	CAs          []string // issuing CAs touched; for key-compromise, CAs whose key is compromised
	Certificates []string // certificates touched; for key-compromise, those whose key is compromised
	Holders      []Holder
}

// Outcome is what recording (or resuming) an incident did.
type Outcome struct {
	Incident        Incident
	AuthorityQueued bool // false on a resume that found it already queued
	HolderNotices   int  // notices queued now
	Revoked         []revocation.Revocation
}

// Actor is who records an incident; Role is access.Role's value.
type Actor struct {
	ID   string
	Role string
}

// Store is what the breach service needs from the database.
type Store interface {
	// CreateBreach records an incident with its audit entry; a certificate or holder
	// it names must exist (errkind.Invalid or NotFound otherwise).
	CreateBreach(ctx context.Context, in Incident, e auditlog.Entry) error
	Breach(ctx context.Context, id string) (*Incident, error)
	// Breaches returns the latest incidents, newest first.
	Breaches(ctx context.Context, limit int) ([]Incident, error)
	// EnqueueDutyNotice records n unless its dedup key exists; it reports whether it did.
	EnqueueDutyNotice(ctx context.Context, n notify.Notice, e auditlog.Entry) (bool, error)
	// DutyNotices returns the notices about ref (an incident ID), oldest first.
	DutyNotices(ctx context.Context, ref string) ([]notify.Notice, error)
	// DutyNoticesTo returns the notices held for or sent to recipient, newest first.
	DutyNoticesTo(ctx context.Context, recipient string, limit int) ([]notify.Notice, error)
}

// Revoker revokes on the law's grounds and decides who may (revocation.Service).
type Revoker interface {
	Revoke(ctx context.Context, by revocation.Actor, req revocation.Request) ([]revocation.Revocation, error)
}

// Config tunes the service.
type Config struct {
	// AuthorityEmail is where the authority takes breach reports; empty: held for it.
	AuthorityEmail string
	CSPName        string
}

// Service records breaches and does what follows from them.
type Service struct {
	st  Store
	rev Revoker
	clk clock.Clock
	cfg Config
}

// New returns the breach service.
func New(st Store, rev Revoker, clk clock.Clock, cfg Config) *Service {
	return &Service{st: st, rev: rev, clk: clk, cfg: cfg}
}

// maxListed bounds a listing.
const maxListed = 200

// Record records an incident, tells the authority and each harmed holder, and, for a
// key compromise, revokes what the key certified. Every step is idempotent: after a
// failure, Resume finishes the work without doubling a notice or a revocation.
func (s *Service) Record(ctx context.Context, by Actor, in Incident) (*Outcome, error) {
	now := law.Timestamp(s.clk.Now())
	if err := s.check(by, &in, now); err != nil {
		return nil, err
	}
	in.ID = "brc_" + randomHex(12)
	in.RecordedAt, in.RecordedBy = now, by.ID
	e := auditlog.NewEntry(now, by.ID, ActionRecord, in.ID, record(in))
	if err := s.st.CreateBreach(ctx, in, e); err != nil {
		return nil, err
	}
	return s.follow(ctx, by, in)
}

// Resume redoes the notices and revocations of a recorded incident (after a crash,
// or a CA compromise too large for one request): done work is skipped.
func (s *Service) Resume(ctx context.Context, by Actor, id string) (*Outcome, error) {
	in, err := s.st.Breach(ctx, id)
	if err != nil {
		return nil, err
	}
	if err := mayRevoke(by, *in); err != nil {
		return nil, err
	}
	return s.follow(ctx, by, *in)
}

// Incident returns one incident.
func (s *Service) Incident(ctx context.Context, id string) (*Incident, error) {
	return s.st.Breach(ctx, id)
}

// Incidents lists the latest incidents, newest first.
func (s *Service) Incidents(ctx context.Context) ([]Incident, error) {
	return s.st.Breaches(ctx, maxListed)
}

// Notices lists the notices an incident caused.
func (s *Service) Notices(ctx context.Context, id string) ([]notify.Notice, error) {
	if _, err := s.st.Breach(ctx, id); err != nil {
		return nil, err
	}
	return s.st.DutyNotices(ctx, id)
}

// HolderNotices lists the breach notices held for a holder, newest first.
func (s *Service) HolderNotices(ctx context.Context, holderID string) ([]notify.Notice, error) {
	if holderID == "" {
		return nil, errkind.New(errkind.Unauthorized, "", "notices are listed to their holder")
	}
	ns, err := s.st.DutyNoticesTo(ctx, holderID, maxListed)
	if err != nil {
		return nil, err
	}
	out := ns[:0]
	for _, n := range ns {
		if n.Kind == KindHolderNotice {
			out = append(out, n)
		}
	}
	return out, nil
}

func (s *Service) check(by Actor, in *Incident, now time.Time) error {
	in.Description = strings.TrimSpace(in.Description)
	switch {
	case !ValidKind(in.Kind):
		return errkind.New(errkind.Invalid, law.L24, "breach kind %q is not one of key-compromise, data-leak, service-outage, other", in.Kind)
	case in.Description == "":
		return errkind.New(errkind.Invalid, law.L24, "a breach needs a description")
	case in.DetectedAt.IsZero() || in.DetectedAt.After(now.Add(time.Minute)):
		return errkind.New(errkind.Invalid, law.L24, "a breach needs the time it was detected, not in the future")
	}
	in.DetectedAt = law.Timestamp(in.DetectedAt)
	for i, c := range in.Certificates {
		in.Certificates[i] = strings.ToLower(strings.NewReplacer(":", "", " ", "").Replace(strings.TrimSpace(c)))
	}
	in.Certificates = uniq(in.Certificates)
	in.CAs = uniq(in.CAs)
	seen := map[string]bool{}
	for i := range in.Holders {
		h := &in.Holders[i]
		h.HolderID, h.Assessment = strings.TrimSpace(h.HolderID), strings.TrimSpace(h.Assessment)
		if h.HolderID == "" || seen[h.HolderID] {
			return errkind.New(errkind.Invalid, law.L24, "each affected holder is named once, by his user ID")
		}
		if h.Assessment == "" {
			return errkind.New(errkind.Invalid, law.L24, "holder %s needs a harm assessment", h.HolderID)
		}
		seen[h.HolderID] = true
	}
	if in.Kind == KindKeyCompromise && len(in.CAs) == 0 && len(in.Certificates) == 0 {
		return errkind.New(errkind.Invalid, law.L25, "a key compromise names the CAs or certificates whose key is compromised")
	}
	return mayRevoke(by, *in)
}

// mayRevoke checks, before anything is recorded, that the recorder may make the
// revocations the incident calls for: CA compromise is an administrator's, a holder
// key's compromise an RA officer's (the revocation service's own division).
func mayRevoke(by Actor, in Incident) error {
	if in.Kind != KindKeyCompromise {
		return nil
	}
	if len(in.CAs) > 0 && by.Role != string(revocation.RoleAdmin) {
		return errkind.New(errkind.Forbidden, law.L21_1, "only an administrator declares a CA key compromised: record the CA part of this breach as one")
	}
	if len(in.Certificates) > 0 && by.Role != string(revocation.RoleOfficer) {
		return errkind.New(errkind.Forbidden, law.L21_3_7, "an RA officer revokes holders' certificates for key compromise: record that part of this breach as one")
	}
	return nil
}

// follow queues the notices and makes the revocations of an incident, skipping done work.
func (s *Service) follow(ctx context.Context, by Actor, in Incident) (*Outcome, error) {
	out := &Outcome{Incident: in}
	var err error
	// L-24 (43-20 art. 40): the authority is told at once, whatever the harm.
	if out.AuthorityQueued, err = s.enqueue(ctx, in, KindAuthorityNotice, ""); err != nil {
		return out, err
	}
	for _, h := range in.Holders {
		if _, tell := law.BreachRecipients(h.Harm); !tell {
			continue
		}
		ok, err := s.enqueue(ctx, in, KindHolderNotice, h.HolderID)
		if err != nil {
			return out, err
		}
		if ok {
			out.HolderNotices++
		}
	}
	if in.Kind != KindKeyCompromise {
		return out, nil
	}
	note := "security breach " + in.ID
	for _, name := range in.CAs {
		// Every certificate the CA issued; revocation works in chunks and a resume takes up the rest.
		rs, err := s.rev.Revoke(ctx, revocation.Actor{ID: by.ID, Role: revocation.RoleAdmin},
			revocation.Request{CA: name, Ground: law.GroundCACompromise, Note: note})
		out.Revoked = append(out.Revoked, rs...)
		if err != nil {
			return out, err
		}
	}
	for _, serial := range in.Certificates {
		rs, err := s.rev.Revoke(ctx, revocation.Actor{ID: by.ID, Role: revocation.RoleOfficer},
			revocation.Request{Serial: serial, Ground: law.GroundKeyCompromise, Note: note, InvalidityDate: in.DetectedAt})
		if e := errkind.As(err); err != nil && e.Kind == errkind.Conflict && e.Rule == law.L21Rev {
			continue // already revoked: a revocation is final, and a resume meets the ones it made
		}
		if err != nil {
			return out, err
		}
		out.Revoked = append(out.Revoked, rs...)
	}
	return out, nil
}

// enqueue queues one notice of an incident, once.
func (s *Service) enqueue(ctx context.Context, in Incident, k notify.Kind, holderID string) (bool, error) {
	now := law.Timestamp(s.clk.Now())
	id := randomHex(16)
	n := notify.Notice{ID: id, Kind: k, Serial: in.ID, Language: "fr", NextAttempt: now, CreatedAt: now,
		MessageID: "<breach-" + id + "@notices.tawthiq.invalid>"}
	switch k {
	case KindAuthorityNotice:
		n.DedupKey = string(k) + ":" + in.ID
		n.Subject, n.Body = authorityText(s.cfg.CSPName, in)
		if s.cfg.AuthorityEmail != "" {
			n.Channel, n.Recipient, n.State = notify.ChannelEmail, s.cfg.AuthorityEmail, notify.StateQueued
		} else {
			n.Channel, n.Recipient, n.State = notify.ChannelAccount, AuthorityAccount, notify.StateHeld
		}
	default:
		n.DedupKey = string(k) + ":" + in.ID + ":" + holderID
		n.Subject, n.Body = holderText(s.cfg.CSPName, in, holderID)
		n.Channel, n.Recipient, n.State = notify.ChannelAccount, holderID, notify.StateHeld
	}
	e := auditlog.NewEntry(now, "system", auditlog.ActionNoticeQueue, n.DedupKey, map[string]string{
		"id": id, "kind": string(k), "breach": in.ID, "channel": string(n.Channel), "rule": string(law.L24)})
	return s.st.EnqueueDutyNotice(ctx, n, e)
}

func authorityText(csp string, in Incident) (string, string) {
	subj := fmt.Sprintf("Violation de sécurité / security breach %s (%s)", in.ID, csp)
	var b strings.Builder
	fmt.Fprintf(&b, "Le prestataire %s signale une violation de sécurité (loi 43-20, art. 40).\n", csp)
	fmt.Fprintf(&b, "The CSP %s reports a security breach (Law 43-20, art. 40).\n\n", csp)
	fmt.Fprintf(&b, "Incident: %s\nKind: %s\nDetected: %s\nRecorded: %s\n", in.ID, in.Kind,
		in.DetectedAt.UTC().Format(time.RFC3339Nano), in.RecordedAt.UTC().Format(time.RFC3339Nano))
	fmt.Fprintf(&b, "CAs: %s\nCertificates: %d\nHolders affected: %d, harmed: %d\n\n%s\n",
		strings.Join(in.CAs, ", "), len(in.Certificates), len(in.Holders), harmed(in), in.Description)
	return subj, b.String()
}

func holderText(csp string, in Incident, holderID string) (string, string) {
	var assessment string
	for _, h := range in.Holders {
		if h.HolderID == holderID {
			assessment = h.Assessment
		}
	}
	subj := "Violation de sécurité vous concernant / a security breach that concerns you"
	body := fmt.Sprintf("%s vous informe d'une violation de sécurité détectée le %s (loi 43-20, art. 40).\n"+
		"%s informs you of a security breach detected on %s (Law 43-20, art. 40).\n\n%s\n\n%s\n\nRéférence / reference: %s\n",
		csp, in.DetectedAt.UTC().Format(time.DateOnly), csp, in.DetectedAt.UTC().Format(time.DateOnly),
		in.Description, assessment, in.ID)
	return subj, body
}

func harmed(in Incident) int {
	n := 0
	for _, h := range in.Holders {
		if h.Harm {
			n++
		}
	}
	return n
}

// record is what the audit log keeps of an incident: no holder's personal data (L-24).
func record(in Incident) map[string]any {
	hs := make([]string, 0, len(in.Holders))
	for _, h := range in.Holders {
		hs = append(hs, fmt.Sprintf("%s harm=%t", h.HolderID, h.Harm))
	}
	return map[string]any{"kind": string(in.Kind), "detected_ms": in.DetectedAt.UnixMilli(),
		"cas": in.CAs, "certificates": in.Certificates, "holders": hs, "description": in.Description}
}

func uniq(ss []string) []string {
	out := make([]string, 0, len(ss))
	for _, s := range ss {
		if s = strings.TrimSpace(s); s != "" && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand does not fail on supported platforms
	return hex.EncodeToString(b)
}
