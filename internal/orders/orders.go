// Package orders executes what the judicial authorities order of the CSP: a court's
// order to tell holders at once that their certificates are non-compliant and to
// revoke them (L-21-3-7 b), and the King's prosecutor's order to hand over the
// certificate creation data of named holders, who are then told without delay (L-24).
// It is apart from revocation because an order is a record of its own that drives
// several services (revocation, CRL, notices, the CSP's seal), and because a
// disclosure revokes nothing.
package orders

import (
	"context"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/tawthiq/tawthiq/internal/auditlog"
	"github.com/tawthiq/tawthiq/internal/clock"
	"github.com/tawthiq/tawthiq/internal/errkind"
	"github.com/tawthiq/tawthiq/internal/law"
	"github.com/tawthiq/tawthiq/internal/notify"
)

// DefaultBatch is how many certificates one revocation transaction takes.
const DefaultBatch = 500

// noticeWorkers is how many notices are written at once.
const noticeWorkers = 16

// maxScope bounds the items one order names, so a request stays a bounded write.
const maxScope = 1_000_000

// Service records and executes judicial orders and disclosures.
type Service struct {
	store  Store
	clock  clock.Clock
	revoke Revoker
	notify Notifier
	seal   Sealer // nil: disclosures are refused (no CSP seal)
	csp    string
	batch  int
}

// Config gives the services an order drives; Batch 0 is DefaultBatch.
type Config struct {
	Store  Store
	Clock  clock.Clock
	Revoke Revoker
	Notify Notifier
	Seal   Sealer
	CSP    string // the CSP's name, written in exports
	Batch  int
}

// New returns the orders service.
func New(c Config) *Service {
	if c.Batch <= 0 {
		c.Batch = DefaultBatch
	}
	return &Service{store: c.Store, clock: c.Clock, revoke: c.Revoke, notify: c.Notify, seal: c.Seal, csp: c.CSP, batch: c.Batch}
}

// clean trims, drops empty items and duplicates, and sorts, so a scope is recorded once per item.
func clean(items []string) []string {
	out := make([]string, 0, len(items))
	for _, s := range items {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// RecordOrder records a judicial order, immutable, with its audit entry. Every
// holder and certificate it names must be known to the CSP.
func (s *Service) RecordOrder(ctx context.Context, actor string, o Order) (*Order, error) {
	o.Ref, o.Court, o.Note = strings.TrimSpace(o.Ref), strings.TrimSpace(o.Court), strings.TrimSpace(o.Note)
	o.Holders, o.Serials = clean(o.Holders), clean(o.Serials)
	for i, sn := range o.Serials {
		o.Serials[i] = strings.ToLower(sn)
	}
	switch {
	case o.Ref == "" || o.Court == "":
		return nil, errkind.New(errkind.Invalid, law.L21_3_7, "a judicial order needs its reference and its court")
	case o.Date.IsZero():
		return nil, errkind.New(errkind.Invalid, law.L21_3_7, "a judicial order needs its date")
	case o.Kind != KindRevoke && o.Kind != KindNotifyOnly:
		return nil, errkind.New(errkind.Invalid, law.L21_3_7, "kind must be %s or %s, not %q", KindRevoke, KindNotifyOnly, o.Kind)
	case len(o.Holders)+len(o.Serials) == 0:
		return nil, errkind.New(errkind.Invalid, law.L21_3_7, "a judicial order names holders or certificates")
	case len(o.Holders)+len(o.Serials) > maxScope:
		return nil, errkind.New(errkind.TooLarge, law.L21_3_7, "an order names at most %d holders and certificates", maxScope)
	}
	now := law.Timestamp(s.clock.Now())
	if o.Date.After(now) {
		return nil, errkind.New(errkind.Invalid, law.L21_3_7, "the order's date is in the future")
	}
	unknown, err := s.store.UnknownScope(ctx, o.Holders, o.Serials)
	if err != nil {
		return nil, err
	}
	if len(unknown) > 0 {
		return nil, errkind.New(errkind.Invalid, law.L21_3_7, "the order names %d holder(s) or certificate(s) the CSP does not know, first %q", len(unknown), unknown[0])
	}
	o.Date, o.RecordedBy, o.RecordedAt, o.Completion = law.Timestamp(o.Date), actor, now, nil
	e := auditlog.NewEntry(now, actor, ActionOrderRecord, o.Ref, map[string]any{"court": o.Court,
		"date": o.Date.Format(time.RFC3339), "kind": string(o.Kind), "holders": o.Holders, "serials": o.Serials})
	if err := s.store.PutOrder(ctx, o, e); err != nil {
		return nil, err
	}
	return &o, nil
}

// Order returns a recorded order.
func (s *Service) Order(ctx context.Context, ref string) (*Order, error) {
	return s.store.Order(ctx, ref)
}

// Execute carries out an order: for a revoke order, it revokes every certificate in
// scope not yet revoked, batch by batch, on the judicial ground with the order's
// reference on each; then it queues one notice per holder (L-21-3-7 b). The CRL
// publisher is held meanwhile and kicked at the end, so one CRL lists the whole
// order. Running it again after a crash finishes the rest and doubles nothing:
// revocations are final and each notice has its dedup key. progress may be nil.
func (s *Service) Execute(ctx context.Context, actor, ref string, progress func(Progress)) (*Completion, error) {
	if progress == nil {
		progress = func(Progress) {}
	}
	o, err := s.store.Order(ctx, ref)
	if err != nil {
		return nil, err
	}
	targets, err := s.store.OrderTargets(ctx, o.Ref)
	if err != nil {
		return nil, err
	}
	holders := map[string]Target{}
	serials := map[string][]string{}
	p := Progress{Stage: "revoking", Total: len(targets)}
	var todo []string
	for _, t := range targets {
		if _, ok := holders[t.HolderID]; !ok {
			holders[t.HolderID] = t
		}
		serials[t.HolderID] = append(serials[t.HolderID], t.Serial)
		switch {
		case t.Revoked && t.OrderRef == o.Ref:
			p.Revoked++
		case o.Kind == KindRevoke && t.Issued && !t.Revoked:
			todo = append(todo, t.Serial)
		}
	}
	p.Holders = len(holders)
	progress(p)
	if len(todo) > 0 {
		release := s.revoke.HoldPublication()
		defer release()
		for len(todo) > 0 {
			n := min(s.batch, len(todo))
			rs, err := s.revoke.RevokeForOrder(ctx, actor, o.Ref, "judicial order of "+o.Court, todo[:n])
			if err != nil {
				return nil, err
			}
			p.Revoked += len(rs)
			todo = todo[n:]
			progress(p)
		}
		release() // the whole order is decided: publish it now, before the notices
	}
	p.Stage = "notifying"
	names := slices.Sorted(func(yield func(string) bool) {
		for h := range holders {
			if !yield(h) {
				return
			}
		}
	})
	// Each notice is its own durable write; written side by side they share the
	// store's group commits, so thousands of holders are told within seconds.
	work := make(chan string)
	var (
		mu       sync.Mutex
		firstErr error
		wg       sync.WaitGroup
	)
	for range noticeWorkers {
		wg.Go(func() {
			for h := range work {
				t := holders[h]
				subject, body := orderText(t.Language, o, serials[h])
				_, err := s.notify.EnqueueHolder(ctx, notify.HolderNotice{Kind: notify.KindJudicialOrder,
					DedupKey: OrderNoticeKey(o.Ref, h), HolderID: h, ApplicationID: t.ApplicationID, Serial: t.Serial,
					ConsentEmail: t.ConsentEmail, ContactEmail: t.ContactEmail, Language: t.Language,
					Subject: subject, Body: body})
				mu.Lock()
				if err != nil && firstErr == nil {
					firstErr = err
				}
				if err == nil {
					p.Notified++
					if p.Notified%s.batch == 0 {
						progress(p)
					}
				}
				mu.Unlock()
			}
		})
	}
	for _, h := range names {
		mu.Lock()
		failed := firstErr != nil
		mu.Unlock()
		if failed {
			break
		}
		work <- h
	}
	close(work)
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	c := Completion{Certificates: p.Total, Revoked: p.Revoked, Holders: p.Holders, At: law.Timestamp(s.clock.Now())}
	e := auditlog.NewEntry(c.At, actor, ActionOrderComplete, o.Ref, map[string]int{
		"certificates": c.Certificates, "revoked": c.Revoked, "holders": c.Holders})
	if err := s.store.CompleteOrder(ctx, o.Ref, c, e); err != nil {
		return nil, err
	}
	p.Stage = "done"
	progress(p)
	return &c, nil
}

// OrderNoticeKey is the dedup key of an order's notice to a holder: one per order and holder.
func OrderNoticeKey(ref, holderID string) string {
	return string(notify.KindJudicialOrder) + ":" + ref + ":" + holderID
}
