package notify

import (
	"context"
	"time"

	"github.com/tawthiq/tawthiq/internal/auditlog"
	"github.com/tawthiq/tawthiq/internal/clock"
	"github.com/tawthiq/tawthiq/internal/errkind"
	"github.com/tawthiq/tawthiq/internal/law"
)

// Sender hands one notice to its transport (SMTP, webhook). It returns only once the
// transport has accepted the message; an error means it may be tried again.
type Sender interface {
	Send(ctx context.Context, n Notice) error
}

// DeliveryStore is what delivery needs from the database.
type DeliveryStore interface {
	// ClaimNotices claims up to limit e-mail notices due at now (queued and due, or
	// sending under a lapsed claim) for holder until leaseUntil, counting an attempt
	// for each. A notice is claimed by one holder at a time, across nodes.
	ClaimNotices(ctx context.Context, holder string, now, leaseUntil time.Time, limit int) ([]Notice, error)
	// MarkNoticeSent records a claimed notice as sent, with its audit entry; it fails
	// with errkind.Conflict if holder's claim was lost.
	MarkNoticeSent(ctx context.Context, id, holder string, at time.Time, e auditlog.Entry) error
	// MarkNoticeFailed puts a claimed notice back in the queue, due at next.
	MarkNoticeFailed(ctx context.Context, id, holder string, next time.Time, reason string, e auditlog.Entry) error
}

// DelivererConfig tunes delivery; zero values are safe.
type DelivererConfig struct {
	Holder     string        // names this deliverer in claims; a random suffix is always added
	Batch      int           // notices claimed at once (default 20)
	Lease      time.Duration // how long a claim lasts before another node may retry it (default 5 minutes)
	Every      time.Duration // how often Run looks for due notices (default 30 seconds)
	MinBackoff time.Duration // wait after the first failure (default 1 minute)
	MaxBackoff time.Duration // longest wait between attempts (default 6 hours); notices are never given up
}

func (c DelivererConfig) withDefaults() DelivererConfig {
	if c.Holder == "" {
		c.Holder = "deliverer"
	}
	c.Holder += "/" + randomID()[:16] // each process's claims are its own
	if c.Batch <= 0 {
		c.Batch = 20
	}
	if c.Lease <= 0 {
		c.Lease = 5 * time.Minute
	}
	if c.Every <= 0 {
		c.Every = 30 * time.Second
	}
	if c.MinBackoff <= 0 {
		c.MinBackoff = time.Minute
	}
	if c.MaxBackoff < c.MinBackoff {
		c.MaxBackoff = max(6*time.Hour, c.MinBackoff)
	}
	return c
}

// Deliverer sends due e-mail notices. Several deliverers, on one node or several,
// may run at once: each notice is claimed by one of them, and a claim whose process
// died lapses after its lease and is retried. A notice sent just before a crash, and
// not yet recorded, is sent again with the same Message-ID, so that the receiver drops it.
type Deliverer struct {
	st  DeliveryStore
	snd Sender
	clk clock.Clock
	cfg DelivererConfig
	// AfterSend, if set, is called after each accepted send and before it is recorded (tests).
	AfterSend func(Notice)
}

// NewDeliverer returns a deliverer of st's notices through snd.
func NewDeliverer(st DeliveryStore, snd Sender, clk clock.Clock, cfg DelivererConfig) *Deliverer {
	return &Deliverer{st: st, snd: snd, clk: clk, cfg: cfg.withDefaults()}
}

// Holder returns the name this deliverer claims notices under.
func (d *Deliverer) Holder() string { return d.cfg.Holder }

// DeliverDue claims and sends batches of due notices until none is left; it returns
// how many were sent, and the first error of the store (a failed send is not an
// error: it is recorded and retried later).
func (d *Deliverer) DeliverDue(ctx context.Context) (int, error) {
	sent := 0
	for {
		now := d.clk.Now()
		leaseUntil := now.Add(d.cfg.Lease)
		batch, err := d.st.ClaimNotices(ctx, d.cfg.Holder, now, leaseUntil, d.cfg.Batch)
		if err != nil {
			return sent, err
		}
		for i, n := range batch {
			if err := ctx.Err(); err != nil {
				return sent, err
			}
			if !d.clk.Now().Before(leaseUntil) {
				// The claim on the rest has lapsed: another deliverer may hold them now.
				batch = batch[:i]
				break
			}
			ok, err := d.deliver(ctx, n)
			if err != nil {
				return sent, err
			}
			if ok {
				sent++
			}
		}
		if len(batch) < d.cfg.Batch {
			return sent, nil
		}
	}
}

// deliver sends one claimed notice and records the outcome.
func (d *Deliverer) deliver(ctx context.Context, n Notice) (bool, error) {
	// The send must end while the claim holds, or another deliverer may send it too.
	sendCtx, cancel := context.WithTimeout(ctx, n.LeaseUntil.Sub(d.clk.Now()))
	err := d.snd.Send(sendCtx, n)
	cancel()
	now := law.Timestamp(d.clk.Now())
	if err != nil {
		next := now.Add(d.backoff(n.Attempts))
		reason := err.Error()
		if len(reason) > 500 {
			reason = reason[:500]
		}
		e := auditlog.NewEntry(now, "system", auditlog.ActionNoticeRetry, n.DedupKey, retryRecord{
			ID: n.ID, Attempts: n.Attempts, Next: next,
		})
		return false, lostClaim(d.st.MarkNoticeFailed(ctx, n.ID, d.cfg.Holder, next, reason, e))
	}
	if d.AfterSend != nil {
		d.AfterSend(n)
	}
	// L-21-3-5: recorded as sent.
	e := auditlog.NewEntry(now, "system", auditlog.ActionNoticeSend, n.DedupKey, sendRecord{
		ID: n.ID, MessageID: n.MessageID, Attempts: n.Attempts,
	})
	if err := lostClaim(d.st.MarkNoticeSent(ctx, n.ID, d.cfg.Holder, now, e)); err != nil {
		return false, err
	}
	return true, nil
}

// lostClaim ignores a Conflict: the claim lapsed and another deliverer holds the
// notice now; it will record it (and the Message-ID makes our send a duplicate the
// receiver drops).
func lostClaim(err error) error {
	if errkind.Is(err, errkind.Conflict) {
		return nil
	}
	return err
}

type sendRecord struct {
	ID        string `json:"id"`
	MessageID string `json:"message_id"`
	Attempts  int    `json:"attempts"`
}

type retryRecord struct {
	ID       string    `json:"id"`
	Attempts int       `json:"attempts"`
	Next     time.Time `json:"next"`
}

// backoff is the wait after the attempts-th failure: doubling from MinBackoff, capped.
func (d *Deliverer) backoff(attempts int) time.Duration {
	b := d.cfg.MinBackoff
	for i := 1; i < attempts && b < d.cfg.MaxBackoff; i++ {
		b *= 2
	}
	return min(b, d.cfg.MaxBackoff)
}

// Run delivers due notices every Every until ctx ends; store errors go to onErr (may be nil).
func (d *Deliverer) Run(ctx context.Context, onErr func(error)) error {
	t := time.NewTicker(d.cfg.Every)
	defer t.Stop()
	for {
		if _, err := d.DeliverDue(ctx); err != nil && onErr != nil && ctx.Err() == nil {
			onErr(err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}
