// Package insurance keeps the CSP's own professional liability insurance (L-21-3-6):
// its policies, a warning to the operators before the cover lapses, and the check
// that refuses issuance while no policy covers the CSP.
package insurance

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
)

// WarningDays is how long before the cover lapses the operators are warned (L-21-3-6).
const WarningDays = law.InsuranceWarningDays

// Audit actions.
const (
	ActionRecord auditlog.Action = "insurance.record"
)

// KindLapse is the notice that warns the operators of a lapsing cover.
const KindLapse notify.Kind = "insurance-lapse"

// OperatorsRecipient is the account every administrator reads lapse warnings in.
const OperatorsRecipient = "role:admin"

// Policy is one professional liability insurance policy of the CSP (L-21-3-6).
type Policy struct {
	ID         string
	Insurer    string
	Number     string // the policy number
	CoverMAD   int64  // the cover, in dirhams
	ValidFrom  time.Time
	ValidUntil time.Time // the first instant not covered
	RecordedBy string
	RecordedAt time.Time
}

// Covers reports whether p covers the instant t.
func (p Policy) Covers(t time.Time) bool { return !t.Before(p.ValidFrom) && t.Before(p.ValidUntil) }

// Store is what the insurance service needs from the database.
type Store interface {
	// AddInsurancePolicy records a policy with its audit entry; a policy number is
	// recorded once per insurer (errkind.Conflict).
	AddInsurancePolicy(ctx context.Context, p Policy, e auditlog.Entry) error
	// InsurancePolicies returns every policy, by start of validity.
	InsurancePolicies(ctx context.Context) ([]Policy, error)
	// EnqueueDutyNotice records n with its audit entry unless its dedup key exists;
	// it reports whether n was recorded.
	EnqueueDutyNotice(ctx context.Context, n notify.Notice, e auditlog.Entry) (bool, error)
}

// Service records policies, warns before they lapse and checks cover at issuance.
type Service struct {
	st      Store
	clk     clock.Clock
	require bool
}

// New returns the service; with require false, CheckCover lets issuance proceed
// uninsured (a test bench only: the demo records a policy instead).
func New(st Store, clk clock.Clock, require bool) *Service {
	return &Service{st: st, clk: clk, require: require}
}

// Add records a policy of the CSP (L-21-3-6).
func (s *Service) Add(ctx context.Context, actor string, p Policy) (*Policy, error) {
	p.Insurer, p.Number = strings.TrimSpace(p.Insurer), strings.TrimSpace(p.Number)
	switch {
	case p.Insurer == "" || p.Number == "":
		return nil, errkind.New(errkind.Invalid, law.L21_3_6, "a policy needs its insurer and its number")
	case p.CoverMAD <= 0:
		return nil, errkind.New(errkind.Invalid, law.L21_3_6, "a policy needs a cover amount in %s above zero", law.LimitCurrency)
	case p.ValidFrom.IsZero() || !p.ValidUntil.After(p.ValidFrom):
		return nil, errkind.New(errkind.Invalid, law.L21_3_6, "a policy's validity must end after it starts")
	}
	p.ID = "ins_" + randomHex(12)
	p.ValidFrom, p.ValidUntil = law.Timestamp(p.ValidFrom), law.Timestamp(p.ValidUntil)
	p.RecordedBy, p.RecordedAt = actor, law.Timestamp(s.clk.Now())
	e := auditlog.NewEntry(p.RecordedAt, actor, ActionRecord, p.ID, map[string]any{
		"insurer": p.Insurer, "policy": p.Number, "cover_mad": p.CoverMAD,
		"valid_from_ms": p.ValidFrom.UnixMilli(), "valid_until_ms": p.ValidUntil.UnixMilli()})
	if err := s.st.AddInsurancePolicy(ctx, p, e); err != nil {
		return nil, err
	}
	return &p, nil
}

// Status is where the CSP's cover stands at a given time.
type Status struct {
	At       time.Time
	Covered  bool
	Current  *Policy   // a policy covering At, nil if none
	CoverEnd time.Time // end of the continuous cover from At; zero if uncovered
	// Warning is set, in plain words, when the cover ends within WarningDays or is missing.
	Warning  string
	Required bool // issuance refuses without cover
	Policies []Policy
}

// StatusAt returns the cover at t: the policies that cover it, chained while each
// next one starts before the previous ends.
func (s *Service) StatusAt(ctx context.Context, t time.Time) (*Status, error) {
	ps, err := s.st.InsurancePolicies(ctx)
	if err != nil {
		return nil, err
	}
	st := &Status{At: t, Required: s.require, Policies: ps}
	end, cur, ok := coverEnd(ps, t)
	if !ok {
		st.Warning = fmt.Sprintf("no professional liability insurance covers the CSP now (%s)", law.L21_3_6)
		return st, nil
	}
	st.Covered, st.Current, st.CoverEnd = true, cur, end
	if !t.AddDate(0, 0, WarningDays).Before(end) {
		st.Warning = fmt.Sprintf("the professional liability insurance lapses on %s, within %d days: renew it (%s)",
			end.Format(time.DateOnly), WarningDays, law.L21_3_6)
	}
	return st, nil
}

// coverEnd returns the end of the continuous cover from t and a policy covering t.
func coverEnd(ps []Policy, t time.Time) (time.Time, *Policy, bool) {
	var cur *Policy
	for i := range ps {
		if ps[i].Covers(t) && (cur == nil || ps[i].ValidUntil.After(cur.ValidUntil)) {
			cur = &ps[i]
		}
	}
	if cur == nil {
		return time.Time{}, nil, false
	}
	end := cur.ValidUntil
	for grown := true; grown; {
		grown = false
		for _, p := range ps {
			if !p.ValidFrom.After(end) && p.ValidUntil.After(end) {
				end, grown = p.ValidUntil, true
			}
		}
	}
	c := *cur
	return end, &c, true
}

// lastEnd returns the latest end of cover at or before t.
func lastEnd(ps []Policy, t time.Time) time.Time {
	var end time.Time
	for _, p := range ps {
		if !p.ValidUntil.After(t) && p.ValidUntil.After(end) {
			end = p.ValidUntil
		}
	}
	return end
}

// CheckCover refuses issuance at t while no policy covers the CSP (L-21-3-6).
func (s *Service) CheckCover(ctx context.Context, t time.Time) error {
	if !s.require {
		return nil
	}
	ps, err := s.st.InsurancePolicies(ctx)
	if err != nil {
		return err
	}
	if !slices.ContainsFunc(ps, func(p Policy) bool { return p.Covers(t) }) {
		return errkind.New(errkind.Conflict, law.L21_3_6,
			"no professional liability insurance of the CSP is valid at %s: issuance is refused until one is recorded",
			t.UTC().Format(time.RFC3339))
	}
	return nil
}

// Warn queues, once per lapse date, a warning to the operators when the cover ends
// within WarningDays or is missing (L-21-3-6); it reports whether it queued one.
func (s *Service) Warn(ctx context.Context) (bool, *Status, error) {
	now := law.Timestamp(s.clk.Now())
	st, err := s.StatusAt(ctx, now)
	if err != nil || st.Warning == "" {
		return false, st, err
	}
	// One warning per lapse: a renewal that moves the end date warns again when due.
	end := st.CoverEnd
	if !st.Covered {
		end = lastEnd(st.Policies, now) // the lapse that left the CSP uncovered; zero if never insured
	}
	key := string(KindLapse) + ":" + end.UTC().Format(time.RFC3339)
	id := randomHex(16)
	n := notify.Notice{ID: id, DedupKey: key, Kind: KindLapse, Channel: notify.ChannelAccount,
		Recipient: OperatorsRecipient, Language: "fr", Subject: "Assurance responsabilité civile professionnelle / professional liability insurance",
		Body: st.Warning, State: notify.StateHeld, NextAttempt: now, CreatedAt: now,
		MessageID: "<insurance-" + id + "@notices.tawthiq.invalid>"}
	e := auditlog.NewEntry(now, "system", auditlog.ActionNoticeQueue, key, map[string]any{
		"id": id, "kind": string(KindLapse), "rule": string(law.L21_3_6), "lapse": end.UTC().Format(time.RFC3339), "covered": st.Covered})
	ok, err := s.st.EnqueueDutyNotice(ctx, n, e)
	return ok, st, err
}

// Run checks the cover every interval until ctx ends, reporting each new warning to onWarn.
func (s *Service) Run(ctx context.Context, every time.Duration, onWarn func(string), onErr func(error)) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		queued, st, err := s.Warn(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			onErr(err)
		case queued:
			onWarn(st.Warning)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand does not fail on supported platforms
	return hex.EncodeToString(b)
}
