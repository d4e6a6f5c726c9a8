// Package notify tells certificate holders what the law says they must be told: that
// their certificate expires, at least 60 days before (L-21-3-5), and that it was
// revoked and on which ground (L-21-3-7). Notices go through a durable outbox in the
// database: each is queued once per dedup key, delivered by e-mail only to holders who
// accepted e-mail (L-65-3), otherwise held for the holder's account, claimed with a
// lease by whichever node delivers it, retried with backoff, and recorded as sent.
package notify

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/mail"
	"time"

	"github.com/tawthiq/tawthiq/internal/auditlog"
	"github.com/tawthiq/tawthiq/internal/clock"
	"github.com/tawthiq/tawthiq/internal/errkind"
	"github.com/tawthiq/tawthiq/internal/law"
)

// Kind is what a notice is about.
type Kind string

// Kinds of notice.
const (
	KindExpiry     Kind = "expiry"     // L-21-3-5
	KindRevocation Kind = "revocation" // L-21-3-7
)

// Channel is how a notice reaches the holder.
type Channel string

// Channels.
const (
	ChannelEmail   Channel = "email"   // only with the holder's express acceptance (L-65-3)
	ChannelAccount Channel = "account" // held for the holder to read in his account
)

// State is where a notice stands.
type State string

// Notice states: an e-mail notice moves queued -> sending -> sent (back to queued
// when an attempt fails or its claim lapses); an account notice is held from the start.
const (
	StateQueued  State = "queued"
	StateSending State = "sending"
	StateSent    State = "sent"
	StateHeld    State = "held"
)

// Notice is one message to a holder, as recorded in the outbox.
type Notice struct {
	ID            string
	DedupKey      string // "expiry:<serial>", "revocation:<serial>": one notice per event
	ApplicationID string
	Serial        string
	Kind          Kind
	Channel       Channel
	Recipient     string // e-mail address; the holder's user ID for the account channel
	Language      string // ar, fr or en
	Subject       string
	Body          string
	State         State
	Attempts      int
	NextAttempt   time.Time
	LeaseUntil    time.Time // while sending: when the claim lapses
	LeaseHolder   string
	MessageID     string // stable per notice, so a receiver can drop a duplicate
	LastError     string
	CreatedAt     time.Time
	SentAt        time.Time
}

// DedupKey is the key that makes a notice of kind about serial unique.
func DedupKey(k Kind, serial string) string { return string(k) + ":" + serial }

// Certificate is what a notice needs to know of a certificate and its holder.
type Certificate struct {
	Serial        string
	CA            string
	ApplicationID string
	Subject       string // RFC 4514
	NotAfter      time.Time
	HolderID      string // the application's submitter: whose account holds the notice
	ConsentEmail  bool   // L-65-3
	ContactEmail  string
	Language      string
	// Set for a revocation only.
	Ground    law.Ground
	RevokedAt time.Time
	OrderRef  string // judicial order reference (L-21-3-7 b)
}

// Store is what the notice service needs from the database.
type Store interface {
	// EnqueueNotice records n with its audit entry unless a notice with its dedup
	// key exists; it reports whether n was recorded.
	EnqueueNotice(ctx context.Context, n Notice, e auditlog.Entry) (bool, error)
	// ExpiringCertificates returns up to limit issued, unrevoked certificates with
	// after < NotAfter <= until that have no expiry notice yet, soonest first.
	ExpiringCertificates(ctx context.Context, after, until time.Time, limit int) ([]Certificate, error)
	// RevokedCertificates returns up to limit revoked certificates that have no
	// revocation notice yet, oldest revocation first.
	RevokedCertificates(ctx context.Context, limit int) ([]Certificate, error)
	// HolderNotices returns the notices of the applications holderID submitted, newest first.
	HolderNotices(ctx context.Context, holderID string, limit int) ([]Notice, error)
	TakeLease(ctx context.Context, name, holder string, ttl time.Duration) (bool, error)
}

// Config tunes the notice service; zero values are safe.
type Config struct {
	// Node names this node in leases; a random name when empty.
	Node string
	// ScanEvery is how often the scanners run (default 10 minutes).
	ScanEvery time.Duration
	// ExpiryLead widens the 60-day window by the time a scan and a delivery may take,
	// so that a notice leaves at least 60 days before expiry (default 6 hours).
	ExpiryLead time.Duration
	// Batch bounds the certificates one scan query reads (default 500).
	Batch int
	// MessageDomain is the right-hand side of each Message-ID (default "notices.tawthiq.invalid").
	MessageDomain string
	// RenewURL, if set, is where the expiry notice sends the holder to renew or revoke.
	RenewURL string
}

func (c Config) withDefaults() Config {
	if c.Node == "" {
		c.Node = "node-" + randomID()[:12]
	}
	if c.ScanEvery <= 0 {
		c.ScanEvery = 10 * time.Minute
	}
	if c.ExpiryLead < 0 || c.ExpiryLead >= 24*time.Hour {
		c.ExpiryLead = 0
	}
	if c.ExpiryLead == 0 {
		c.ExpiryLead = 6 * time.Hour
	}
	if c.Batch <= 0 {
		c.Batch = 500
	}
	if c.MessageDomain == "" {
		c.MessageDomain = "notices.tawthiq.invalid"
	}
	return c
}

// Service queues notices and lists them to their holders.
type Service struct {
	st  Store
	clk clock.Clock
	cfg Config
}

// New returns the notice service.
func New(st Store, clk clock.Clock, cfg Config) *Service {
	return &Service{st: st, clk: clk, cfg: cfg.withDefaults()}
}

// ScanLease is the name of the lease that lets one node at a time run the scanners.
const ScanLease = "notify.scan"

// maxListed bounds the notices listed to a holder.
const maxListed = 200

// Enqueue records a notice of kind k about c, idempotently: a second call for the
// same event records nothing and reports false. The channel is e-mail only when the
// holder accepted e-mail and gave an address (L-65-3); otherwise the notice is held
// for his account.
func (s *Service) Enqueue(ctx context.Context, k Kind, c Certificate) (bool, error) {
	if c.Serial == "" || c.ApplicationID == "" || c.HolderID == "" {
		return false, errkind.New(errkind.Invalid, law.LInternal, "a notice needs a serial, an application and a holder")
	}
	lang := language(c.Language)
	now := law.Timestamp(s.clk.Now())
	subject, body, err := render(k, lang, c, s.cfg.RenewURL, now)
	if err != nil {
		return false, err
	}
	id := randomID()
	n := Notice{
		ID: id, DedupKey: DedupKey(k, c.Serial), ApplicationID: c.ApplicationID, Serial: c.Serial,
		Kind: k, Language: lang, Subject: subject, Body: body, NextAttempt: now, CreatedAt: now,
		MessageID: "<notice-" + id + "@" + s.cfg.MessageDomain + ">",
	}
	if addr, ok := emailOf(c); ok {
		n.Channel, n.Recipient, n.State = ChannelEmail, addr, StateQueued
	} else {
		n.Channel, n.Recipient, n.State = ChannelAccount, c.HolderID, StateHeld
	}
	e := auditlog.NewEntry(now, "system", auditlog.ActionNoticeQueue, n.DedupKey, queueRecord{
		ID: n.ID, Kind: k, Serial: c.Serial, Application: c.ApplicationID, Channel: n.Channel, Language: lang,
		MessageID: n.MessageID,
	})
	return s.st.EnqueueNotice(ctx, n, e)
}

// queueRecord is what the audit log keeps of a queued notice (no address: L-24).
type queueRecord struct {
	ID          string  `json:"id"`
	Kind        Kind    `json:"kind"`
	Serial      string  `json:"serial"`
	Application string  `json:"application"`
	Channel     Channel `json:"channel"`
	Language    string  `json:"language"`
	MessageID   string  `json:"message_id"`
}

// emailOf returns the address to e-mail, if the holder expressly accepted e-mail (L-65-3).
func emailOf(c Certificate) (string, bool) {
	if !c.ConsentEmail || c.ContactEmail == "" {
		return "", false
	}
	a, err := mail.ParseAddress(c.ContactEmail)
	if err != nil || a.Address != c.ContactEmail {
		return "", false
	}
	return a.Address, true
}

// ScanExpiring queues one expiry notice for every issued, unrevoked certificate that
// expires within law.ExpiryNoticeDays (L-21-3-5), widened by the configured lead; it
// returns how many it queued.
func (s *Service) ScanExpiring(ctx context.Context) (int, error) {
	now := s.clk.Now()
	until := now.Add(time.Duration(law.ExpiryNoticeDays)*24*time.Hour + s.cfg.ExpiryLead)
	return s.scan(ctx, KindExpiry, func() ([]Certificate, error) {
		return s.st.ExpiringCertificates(ctx, now, until, s.cfg.Batch)
	})
}

// ScanRevoked queues one revocation notice, stating the ground, for every revocation
// (L-21-3-7); it returns how many it queued.
func (s *Service) ScanRevoked(ctx context.Context) (int, error) {
	return s.scan(ctx, KindRevocation, func() ([]Certificate, error) {
		return s.st.RevokedCertificates(ctx, s.cfg.Batch)
	})
}

// scan queues notices for each batch next returns, until a batch comes back short.
func (s *Service) scan(ctx context.Context, k Kind, next func() ([]Certificate, error)) (int, error) {
	queued := 0
	for {
		batch, err := next()
		if err != nil {
			return queued, err
		}
		for _, c := range batch {
			ok, err := s.Enqueue(ctx, k, c)
			if err != nil {
				return queued, err
			}
			if ok {
				queued++
			}
		}
		if len(batch) < s.cfg.Batch {
			return queued, nil
		}
	}
}

// Notices lists the notices of the holder's certificates, newest first: those held
// for his account and those sent by e-mail.
func (s *Service) Notices(ctx context.Context, holderID string) ([]Notice, error) {
	if holderID == "" {
		return nil, errkind.New(errkind.Unauthorized, "", "notices are listed to their holder")
	}
	return s.st.HolderNotices(ctx, holderID, maxListed)
}

// Run runs both scanners every ScanEvery on the node that holds the scan lease, until
// ctx ends. A failed round is reported to onErr (may be nil) and retried next round.
func (s *Service) Run(ctx context.Context, onErr func(error)) error {
	t := time.NewTicker(s.cfg.ScanEvery)
	defer t.Stop()
	for {
		if err := s.ScanOnce(ctx); err != nil && onErr != nil && ctx.Err() == nil {
			onErr(err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

// ScanOnce runs both scanners if this node takes the scan lease.
func (s *Service) ScanOnce(ctx context.Context) error {
	ok, err := s.st.TakeLease(ctx, ScanLease, s.cfg.Node, 2*s.cfg.ScanEvery)
	if err != nil || !ok {
		return err
	}
	if _, err := s.ScanRevoked(ctx); err != nil {
		return err
	}
	_, err = s.ScanExpiring(ctx)
	return err
}

func randomID() string {
	b := make([]byte, 16)
	rand.Read(b) // never fails (crypto/rand, Go 1.24+)
	return hex.EncodeToString(b)
}
