// Package cessation runs a CSP's cessation of activity as Law 53-05 art. 23 (43-20
// art. 37) requires (L-23): the authority is told at least two months before the end
// (at once on judicial liquidation); then either a successor CSP of the same quality
// takes the certificates over, or every holder is warned and every certificate is
// revoked, on the ground "cessation", within two months of the warning. Each step is
// recorded once, with its audit entry; Status shows each deadline, what is done and
// what is late, judged against the injected clock.
//
// Takeover (takeover.go) hands the successor a signed archive of every record: the
// CA certificates, the certificates with their registration records, the revocations,
// and the audit log with its latest signed, time-stamped checkpoint. The successor
// cannot sign as the ceding CA, so the ceding CA issues, at export time, a delegated
// OCSP responder certificate (RFC 6960 §4.2.2.2) for a key the successor generated
// (its CSR): relying parties who trust the ceding CA's root accept the successor's
// answers for the transferred certificates. The archive's manifest, which holds the
// SHA-256 of every other member, is signed with a detached CMS (CAdES B-B) signature
// by a short-lived "takeover export" certificate the ceding CA issues for a fresh key
// at export time: the audit key is Ed25519 and not certified by the root, and a CA key
// signs only certificates and CRLs, so a certified end-entity key is what lets the
// successor check the archive's origin with nothing but the ceding CSP's root.
package cessation

import (
	"context"
	"fmt"
	"net/mail"
	"strings"
	"sync"
	"time"

	"github.com/tawthiq/tawthiq/internal/auditlog"
	"github.com/tawthiq/tawthiq/internal/clock"
	"github.com/tawthiq/tawthiq/internal/errkind"
	"github.com/tawthiq/tawthiq/internal/law"
	"github.com/tawthiq/tawthiq/internal/revocation"
)

// Audit actions of the cessation steps (L-23).
const (
	ActionPlan            auditlog.Action = "cessation.plan"
	ActionAuthorityNotice auditlog.Action = "cessation.authority-notice"
	ActionHolderWarning   auditlog.Action = "cessation.holder-warning"
	ActionStep            auditlog.Action = "cessation.step"
	ActionExport          auditlog.Action = "cessation.export"
	ActionImport          auditlog.Action = "cessation.import"
)

// Step is one duty of the cessation plan.
type Step string

// The steps, in the order the law puts them (L-23).
const (
	StepAuthorityNotice Step = "authority-notice" // tell the authority, >= 2 months ahead (at once on liquidation)
	StepHoldersWarned   Step = "holders-warned"   // every holder warned (no successor)
	StepRevokeAll       Step = "revoke-all"       // every certificate revoked, <= 2 months after the warning
	StepTakeover        Step = "takeover-export"  // the records handed to the successor, before the end
)

// Successor is the CSP that takes the certificates over.
type Successor struct {
	Name       string `json:"name"`
	Identifier string `json:"identifier"` // its trade-register / ICE number
}

// Plan is the recorded cessation plan; a CSP has at most one.
type Plan struct {
	Mode      law.CessationMode
	End       time.Time // the intended end of activity
	Successor Successor // takeover only
	PlannedAt time.Time
	PlannedBy string
	Note      string
	// Done holds when each step was completed; a step is recorded once.
	Done map[Step]time.Time
}

// NoticeKind is who a cessation notice is addressed to.
type NoticeKind string

// Notice kinds.
const (
	NoticeAuthority NoticeKind = "authority"
	NoticeHolder    NoticeKind = "holder"
)

// Notice is an outbox entry of the cessation: to the authority, or to one holder.
type Notice struct {
	DedupKey  string // "authority", or "holder:<user ID>": one per addressee
	Kind      NoticeKind
	Channel   string // "email" (queued for delivery) or "account" (held for the holder's account)
	Recipient string // e-mail address or user ID
	Subject   string
	Body      string
	CreatedAt time.Time
}

// Holder is a holder of issued, unrevoked certificates, as the warning needs him.
type Holder struct {
	ID           string
	Serials      []string
	ConsentEmail bool // L-65-3
	Email        string
}

// Store is what the cessation service needs from the database.
type Store interface {
	// PutCessationPlan records the plan with its entries; errkind.Conflict if one exists.
	PutCessationPlan(ctx context.Context, p Plan, entries []auditlog.Entry) error
	// CessationPlan returns the plan (errkind.NotFound if none).
	CessationPlan(ctx context.Context) (*Plan, error)
	// MarkCessationStep records, once, that step was done at; a second call changes nothing.
	MarkCessationStep(ctx context.Context, step Step, at time.Time, e auditlog.Entry) error
	// EnqueueCessationNotice records n unless its dedup key exists; it reports whether n was recorded.
	EnqueueCessationNotice(ctx context.Context, n Notice, e auditlog.Entry) (bool, error)
	// CessationNotices lists the notices of a kind, oldest first.
	CessationNotices(ctx context.Context, k NoticeKind) ([]Notice, error)
	// CessationHolders returns up to limit holders with issued, unrevoked
	// certificates, by user ID after the given one, each with all such serials.
	CessationHolders(ctx context.Context, after string, limit int) ([]Holder, error)
	// CessationUnrevoked returns up to limit issued, unrevoked serials.
	CessationUnrevoked(ctx context.Context, limit int) ([]string, error)
	// CessationUnrevokedCount counts the issued, unrevoked certificates.
	CessationUnrevokedCount(ctx context.Context) (int, error)
}

// Revoker revokes one certificate (satisfied by *revocation.Service).
type Revoker interface {
	Revoke(ctx context.Context, by revocation.Actor, req revocation.Request) ([]revocation.Revocation, error)
}

// Config is what the service says in its notices; zero values are safe.
type Config struct {
	CSPName string
	// AuthorityEmail, when set, is where the authority's notice is e-mailed; otherwise
	// it is held in the outbox for the operator to hand over (and shown by Status).
	AuthorityEmail string
	Batch          int // holders or certificates per round (default 200)
	Workers        int // concurrent revocations (default 4)
}

// Service runs the cessation plan.
type Service struct {
	st  Store
	rev Revoker
	clk clock.Clock
	cfg Config
}

// New returns the cessation service.
func New(st Store, rev Revoker, clk clock.Clock, cfg Config) *Service {
	if cfg.Batch <= 0 {
		cfg.Batch = 200
	}
	if cfg.Workers <= 0 {
		cfg.Workers = 4
	}
	if cfg.CSPName == "" {
		cfg.CSPName = "the CSP"
	}
	return &Service{st: st, rev: rev, clk: clk, cfg: cfg}
}

// PlanRequest is what an administrator asks for.
type PlanRequest struct {
	Mode      law.CessationMode
	End       time.Time
	Successor Successor
	Note      string
}

// Plan records the cessation plan and, at once, queues the notice to the authority
// (L-23). A voluntary cessation whose end is less than two months away is refused;
// judicial liquidation is told at once whatever the date.
func (s *Service) Plan(ctx context.Context, by string, req PlanRequest) (*Plan, error) {
	now := law.Timestamp(s.clk.Now())
	if !law.ValidCessationMode(req.Mode) {
		return nil, errkind.New(errkind.Invalid, law.L23, "cessation mode %q is not one the law allows: takeover, revoke-all or judicial-liquidation", req.Mode)
	}
	if req.End.IsZero() {
		return nil, errkind.New(errkind.Invalid, law.L23, "a cessation plan needs its end date")
	}
	end := law.Timestamp(req.End)
	if req.Mode != law.CessationLiquidation && end.Before(law.EarliestCessation(now)) {
		return nil, errkind.New(errkind.Invalid, law.L23,
			"the authority must be told at least %d months before the cessation (%s): the end %s is before %s",
			law.CessationNoticeMonths, law.Describe(law.L23).Article, end.Format(time.DateOnly), law.EarliestCessation(now).Format(time.DateOnly))
	}
	if req.Mode == law.CessationLiquidation && end.Before(now) {
		end = now
	}
	succ := Successor{Name: strings.TrimSpace(req.Successor.Name), Identifier: strings.TrimSpace(req.Successor.Identifier)}
	if req.Mode == law.CessationTakeover && (succ.Name == "" || succ.Identifier == "") {
		return nil, errkind.New(errkind.Invalid, law.L23, "a takeover names its successor CSP and its identifier")
	}
	if req.Mode != law.CessationTakeover && (succ != Successor{}) {
		return nil, errkind.New(errkind.Invalid, law.L23, "only a takeover names a successor")
	}
	p := Plan{Mode: req.Mode, End: end, Successor: succ, PlannedAt: now, PlannedBy: by, Note: strings.TrimSpace(req.Note), Done: map[Step]time.Time{}}
	e := auditlog.NewEntry(now, by, ActionPlan, string(p.Mode), map[string]any{
		"end_ms": end.UnixMilli(), "successor": succ, "note": p.Note})
	if err := s.st.PutCessationPlan(ctx, p, []auditlog.Entry{e}); err != nil {
		return nil, err
	}
	if err := s.notifyAuthority(ctx, by, &p); err != nil {
		return &p, err
	}
	return s.st.CessationPlan(ctx)
}

// notifyAuthority queues the notice to the authority and records the step (L-23).
func (s *Service) notifyAuthority(ctx context.Context, by string, p *Plan) error {
	now := law.Timestamp(s.clk.Now())
	n := Notice{DedupKey: "authority", Kind: NoticeAuthority, Channel: "account", Recipient: "authority", CreatedAt: now}
	if s.cfg.AuthorityEmail != "" {
		n.Channel, n.Recipient = "email", s.cfg.AuthorityEmail
	}
	n.Subject = fmt.Sprintf("%s: cessation of activity on %s (Law 53-05 art. 23)", s.cfg.CSPName, p.End.Format(time.DateOnly))
	var b strings.Builder
	fmt.Fprintf(&b, "%s informs the national authority that it intends to cease its activity as a certification service provider on %s (UTC).\n\n",
		s.cfg.CSPName, p.End.Format(time.DateOnly))
	switch p.Mode {
	case law.CessationTakeover:
		fmt.Fprintf(&b, "Its certificates are taken over by %s (%s), a provider of the same quality and security.\n", p.Successor.Name, p.Successor.Identifier)
	case law.CessationRevokeAll:
		fmt.Fprintf(&b, "No successor takes its certificates over: every holder will be warned, and every certificate revoked no later than %d months after the warning.\n", law.CessationRevocationMonths)
	case law.CessationLiquidation:
		b.WriteString("The provider is in judicial liquidation: this notice is given without delay. Every holder will be warned and every certificate revoked.\n")
	}
	b.WriteString("\nLaw 53-05 art. 23 (Law 43-20 art. 37).\n")
	n.Body = b.String()
	e := auditlog.NewEntry(now, by, ActionAuthorityNotice, "authority", map[string]string{"channel": n.Channel, "mode": string(p.Mode)})
	if _, err := s.st.EnqueueCessationNotice(ctx, n, e); err != nil {
		return err
	}
	return s.mark(ctx, by, StepAuthorityNotice, now)
}

func (s *Service) mark(ctx context.Context, by string, step Step, at time.Time) error {
	return s.st.MarkCessationStep(ctx, step, at, auditlog.NewEntry(at, by, ActionStep, string(step), nil))
}

// plan returns the plan, or a refusal naming L-23 when there is none.
func (s *Service) plan(ctx context.Context) (*Plan, error) {
	p, err := s.st.CessationPlan(ctx)
	if errkind.Is(err, errkind.NotFound) {
		return nil, errkind.New(errkind.Conflict, law.L23, "no cessation plan: run `tawthiq cessation plan` first")
	}
	return p, err
}

// Warn queues one warning per holder of an issued, unrevoked certificate, naming
// his certificates and the revocation date, then records the step (L-23). It is
// resumable: a holder already warned is not warned twice.
func (s *Service) Warn(ctx context.Context, by string) (int, error) {
	p, err := s.plan(ctx)
	if err != nil {
		return 0, err
	}
	if p.Mode == law.CessationTakeover {
		return 0, errkind.New(errkind.Conflict, law.L23, "the certificates are taken over by %s: holders are not warned of a revocation", p.Successor.Name)
	}
	warnedAt := law.Timestamp(s.clk.Now())
	if at, ok := p.Done[StepHoldersWarned]; ok {
		warnedAt = at
	}
	due := law.CessationRevocationDue(warnedAt)
	queued, after := 0, ""
	for {
		hs, err := s.st.CessationHolders(ctx, after, s.cfg.Batch)
		if err != nil {
			return queued, err
		}
		for _, h := range hs {
			ok, err := s.warnOne(ctx, by, h, due)
			if err != nil {
				return queued, err
			}
			if ok {
				queued++
			}
			after = h.ID
		}
		if len(hs) < s.cfg.Batch {
			break
		}
	}
	if _, ok := p.Done[StepHoldersWarned]; !ok {
		if err := s.mark(ctx, by, StepHoldersWarned, warnedAt); err != nil {
			return queued, err
		}
	}
	return queued, nil
}

func (s *Service) warnOne(ctx context.Context, by string, h Holder, due time.Time) (bool, error) {
	now := law.Timestamp(s.clk.Now())
	n := Notice{DedupKey: "holder:" + h.ID, Kind: NoticeHolder, Channel: "account", Recipient: h.ID, CreatedAt: now}
	// E-mail only to a holder who expressly accepted it (L-65-3).
	if a, err := mail.ParseAddress(h.Email); h.ConsentEmail && err == nil && a.Address == h.Email {
		n.Channel, n.Recipient = "email", h.Email
	}
	n.Subject = fmt.Sprintf("%s ceases its activity: your certificates will be revoked by %s", s.cfg.CSPName, due.Format(time.DateOnly))
	n.Body = fmt.Sprintf("Dear holder,\n\n%s ceases its activity as a certification service provider. No successor takes its certificates over, so your certificates (%s) will be revoked, on the ground \"cessation of activity\", no later than %s (UTC).\n\nPlease obtain a certificate from another provider before that date.\n\nLaw 53-05 art. 23 (Law 43-20 art. 37).\n",
		s.cfg.CSPName, strings.Join(h.Serials, ", "), due.Format(time.DateOnly))
	// The audit entry names the certificates, never the address (L-24).
	e := auditlog.NewEntry(now, by, ActionHolderWarning, h.ID, map[string]any{"channel": n.Channel, "serials": h.Serials, "revoke_by_ms": due.UnixMilli()})
	return s.st.EnqueueCessationNotice(ctx, n, e)
}

// RevokeAll revokes every issued, unrevoked certificate on the ground "cessation"
// (L-23), in the RA's capacity, a batch at a time: an interrupted run is resumed by
// running it again. It refuses before the holders were warned.
func (s *Service) RevokeAll(ctx context.Context, by string) (int, error) {
	revoked, last := 0, -1
	for {
		pr, err := s.RevokeBatch(ctx, by, s.cfg.Batch)
		revoked += pr.Revoked
		if err != nil || pr.Remaining == 0 {
			return revoked, err
		}
		if pr.Remaining == last {
			// A round that left as many as before would repeat forever.
			return revoked, errkind.New(errkind.Internal, law.L23, "%d certificates could not be revoked", pr.Remaining)
		}
		last = pr.Remaining
	}
}

// Progress is what one round of RevokeBatch did and what is left.
type Progress struct {
	Revoked   int  // revoked by this round
	Remaining int  // issued certificates still unrevoked
	Done      bool // nothing remains: the step is recorded
	// FinalCRLs names the CRLs published once nothing remains (set by the caller
	// that publishes them: the "final CRL" lists every certificate).
	FinalCRLs []string
}

// RevokeBatch revokes up to limit issued, unrevoked certificates on the ground
// "cessation" (L-23) and counts what remains; when nothing does, it records the
// step. Called again and again it is RevokeAll with progress, resumable at any round.
func (s *Service) RevokeBatch(ctx context.Context, by string, limit int) (Progress, error) {
	p, err := s.plan(ctx)
	if err != nil {
		return Progress{}, err
	}
	if p.Mode == law.CessationTakeover {
		return Progress{}, errkind.New(errkind.Conflict, law.L23, "the certificates are taken over by %s: they are not revoked", p.Successor.Name)
	}
	if _, ok := p.Done[StepHoldersWarned]; !ok {
		return Progress{}, errkind.New(errkind.Conflict, law.L23, "the holders must be warned before their certificates are revoked")
	}
	if limit <= 0 || limit > s.cfg.Batch {
		limit = s.cfg.Batch
	}
	var pr Progress
	serials, err := s.st.CessationUnrevoked(ctx, limit)
	if err != nil {
		return pr, err
	}
	if len(serials) > 0 {
		actor := revocation.Actor{ID: by, Role: revocation.RoleOfficer}
		if pr.Revoked, err = s.revokeBatch(ctx, actor, serials); err != nil {
			return pr, err
		}
	}
	if pr.Remaining, err = s.st.CessationUnrevokedCount(ctx); err != nil || pr.Remaining > 0 {
		return pr, err
	}
	pr.Done = true
	if _, ok := p.Done[StepRevokeAll]; !ok {
		return pr, s.mark(ctx, by, StepRevokeAll, law.Timestamp(s.clk.Now()))
	}
	return pr, nil
}

// revokeBatch revokes serials with a few workers, so that their writes share commits.
func (s *Service) revokeBatch(ctx context.Context, actor revocation.Actor, serials []string) (int, error) {
	var mu sync.Mutex
	var first error
	n := 0
	work := make(chan string)
	var wg sync.WaitGroup
	for range s.cfg.Workers {
		wg.Go(func() {
			for serial := range work {
				_, err := s.rev.Revoke(ctx, actor, revocation.Request{Serial: serial, Ground: law.GroundCessation,
					Note: "cessation of activity (Law 53-05 art. 23)"})
				mu.Lock()
				switch {
				case err == nil:
					n++
				case errkind.Is(err, errkind.Conflict) && errkind.As(err).Rule == law.L21Rev:
					// revoked meanwhile, on another ground: nothing left to do
				case first == nil:
					first = err
				}
				mu.Unlock()
			}
		})
	}
	for _, serial := range serials {
		mu.Lock()
		stop := first != nil
		mu.Unlock()
		if stop {
			break
		}
		work <- serial
	}
	close(work)
	wg.Wait()
	return n, first
}

// MarkExported records that the takeover archive was handed to the successor.
func (s *Service) MarkExported(ctx context.Context, by string, at time.Time) error {
	p, err := s.plan(ctx)
	if err != nil {
		return err
	}
	if p.Mode != law.CessationTakeover {
		return errkind.New(errkind.Conflict, law.L23, "the plan is %s, not a takeover", p.Mode)
	}
	if _, ok := p.Done[StepTakeover]; ok {
		return nil
	}
	return s.mark(ctx, by, StepTakeover, at)
}

// Deadline is one duty of the plan as Status shows it.
type Deadline struct {
	Step   Step
	Rule   law.ID
	Duty   string
	Due    time.Time // zero: not yet known (it runs from an earlier step)
	DoneAt time.Time // zero: not done
	Late   bool      // done after Due, or not done and Due has passed
}

// Status is the plan with its deadlines, judged at Now.
type Status struct {
	Plan      Plan
	Now       time.Time
	Deadlines []Deadline
	Notices   []Notice // the authority's notice
	Warned    int      // holders' notices queued
	Unrevoked int      // issued certificates not revoked yet
}

// Status returns each deadline of the plan: due, done and late (L-23).
func (s *Service) Status(ctx context.Context) (*Status, error) {
	p, err := s.plan(ctx)
	if err != nil {
		return nil, err
	}
	now := s.clk.Now()
	st := &Status{Plan: *p, Now: now}
	add := func(step Step, duty string, due time.Time) {
		d := Deadline{Step: step, Rule: law.L23, Duty: duty, Due: due, DoneAt: p.Done[step]}
		switch {
		case due.IsZero():
		case !d.DoneAt.IsZero():
			d.Late = d.DoneAt.After(due)
		default:
			d.Late = now.After(due)
		}
		st.Deadlines = append(st.Deadlines, d)
	}
	noticeDuty := fmt.Sprintf("tell the authority at least %d months before the end", law.CessationNoticeMonths)
	if p.Mode == law.CessationLiquidation {
		noticeDuty = "tell the authority at once of the judicial liquidation"
	}
	add(StepAuthorityNotice, noticeDuty, law.CessationAuthorityNoticeDue(p.Mode, p.PlannedAt, p.End))
	if p.Mode == law.CessationTakeover {
		add(StepTakeover, "hand every record to "+p.Successor.Name+" before the end", p.End)
	} else {
		add(StepHoldersWarned, "warn every holder before the end", p.End)
		var due time.Time
		if w, ok := p.Done[StepHoldersWarned]; ok {
			due = law.CessationRevocationDue(w)
		}
		add(StepRevokeAll, fmt.Sprintf("revoke every certificate no later than %d months after the warning", law.CessationRevocationMonths), due)
	}
	if st.Notices, err = s.st.CessationNotices(ctx, NoticeAuthority); err != nil {
		return nil, err
	}
	hs, err := s.st.CessationNotices(ctx, NoticeHolder)
	if err != nil {
		return nil, err
	}
	st.Warned = len(hs)
	if st.Unrevoked, err = s.st.CessationUnrevokedCount(ctx); err != nil {
		return nil, err
	}
	return st, nil
}
