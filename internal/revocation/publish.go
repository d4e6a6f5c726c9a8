package revocation

import (
	"context"
	"log/slog"
	"sort"
	"time"

	"github.com/tawthiq/tawthiq/internal/auditlog"
	"github.com/tawthiq/tawthiq/internal/errkind"
	"github.com/tawthiq/tawthiq/internal/law"
)

// PublishCRL signs, verifies, lints and stores a new full CRL of a CA and, when the
// CSP partitions its CRLs, one CRL per shard, all listing every revocation decided
// so far, expired certificates included (L-21-rev). A lint error refuses publication.
func (s *Service) PublishCRL(ctx context.Context, ca string) ([]CRL, error) {
	// An operator's rebuild may race the scheduled publisher for the next CRL number:
	// the database refuses the loser (Conflict), which then builds with the number after.
	for attempt := 1; ; attempt++ {
		crls, err := s.publishOnce(ctx, ca)
		if err == nil || !errkind.Is(err, errkind.Conflict) || attempt == 3 {
			return crls, err
		}
	}
}

func (s *Service) publishOnce(ctx context.Context, ca string) ([]CRL, error) {
	if s.linter == nil {
		return nil, errkind.New(errkind.Unavailable, law.L21Rev, "no CRL linter: publication refused")
	}
	is, ok := s.issuers[ca]
	if !ok {
		return nil, errkind.New(errkind.NotFound, law.L21Rev, "no issuing CA %q", ca)
	}
	now := s.clock.Now()
	// Every decision up to now is listed: its revocationDate, written to the second
	// like thisUpdate, is never after thisUpdate (RFC 5280 §5.1.2.6).
	asOf := law.Timestamp(now)
	thisUpdate := now.UTC().Truncate(time.Second)
	entries, err := s.store.CRLEntries(ctx, ca, asOf)
	if err != nil {
		return nil, err
	}
	last, err := s.store.LastCRLNumber(ctx, ca)
	if err != nil {
		return nil, err
	}
	t := CRLTemplate{Issuer: is.Cert, Number: last + 1, ThisUpdate: thisUpdate, NextUpdate: thisUpdate.Add(law.CRLValidity)}
	parts := []struct {
		name, idp string
		entries   []Entry
	}{{name: ca, entries: entries}}
	if s.shards > 1 {
		split := make([][]Entry, s.shards)
		for _, e := range entries {
			n, err := shardOf(e.Serial, s.shards)
			if err != nil {
				return nil, err
			}
			split[n] = append(split[n], e)
		}
		for n, es := range split {
			name := ShardName(ca, n)
			parts = append(parts, struct {
				name, idp string
				entries   []Entry
			}{name, s.baseURL + "/crl/" + name + ".crl", es})
		}
	}
	crls := make([]CRL, 0, len(parts))
	audit := make([]auditlog.Entry, 0, len(parts))
	for i, p := range parts {
		t.Number, t.IDP = last+1+int64(i), p.idp
		der, err := BuildCRL(is.Signer, t, p.entries)
		if err != nil {
			return nil, err
		}
		if err := s.linter.RevocationList(der); err != nil {
			return nil, err
		}
		c := CRL{CA: ca, Number: t.Number, Name: p.name, DER: der, Entries: len(p.entries), ThisUpdate: t.ThisUpdate, NextUpdate: t.NextUpdate}
		crls = append(crls, c)
		audit = append(audit, auditlog.NewEntry(now, "system", auditlog.ActionCRLPublish, p.name, map[string]any{
			"ca": ca, "number": c.Number, "entries": c.Entries, "sha256": sum(der),
			"this_update": c.ThisUpdate.Format(time.RFC3339), "next_update": c.NextUpdate.Format(time.RFC3339)}))
	}
	publishedAt := law.Timestamp(s.clock.Now())
	if err := s.store.PutCRLs(ctx, crls, asOf, publishedAt, audit); err != nil {
		return nil, err
	}
	return crls, nil
}

// Latest returns the newest CRL served under name: a CA's name for its full CRL,
// or "{ca}-{n}" for a shard.
func (s *Service) Latest(ctx context.Context, name string) (*CRL, error) {
	return s.store.LatestCRL(ctx, name)
}

// LatestCRL is Latest in the shape the HTTP binding (api.CRLSource) reads.
func (s *Service) LatestCRL(ctx context.Context, name string) (der []byte, thisUpdate, nextUpdate time.Time, err error) {
	c, err := s.store.LatestCRL(ctx, name)
	if err != nil {
		return nil, time.Time{}, time.Time{}, err
	}
	return c.DER, c.ThisUpdate, c.NextUpdate, nil
}

// LeaseName is the lease the CRL publisher holds, so that one node publishes.
const LeaseName = "crl-publisher"

// Publisher keeps every CA's CRLs fresh: within law.CRLRevocationDelay of any
// revocation and every law.CRLReissueEvery, on the node that holds the lease.
type Publisher struct {
	svc    *Service
	holder string
	poll   time.Duration
	log    *slog.Logger
}

// NewPublisher returns a publisher that takes the lease as holder (a node ID).
func (s *Service) NewPublisher(holder string, log *slog.Logger) *Publisher {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Publisher{svc: s, holder: holder, poll: time.Second, log: log}
}

// leaseTTL outlives many polls and a large CRL build, so a live holder keeps the
// lease; a dead holder's lease lapses and another node takes over.
const leaseTTL = 30 * time.Second

// Run publishes until ctx ends: it polls every second for unpublished revocations
// (or is woken by a revocation on this node) and reissues on schedule.
func (p *Publisher) Run(ctx context.Context) error {
	t := time.NewTicker(p.poll)
	defer t.Stop()
	for {
		if _, err := p.RunOnce(ctx); err != nil && ctx.Err() == nil {
			p.log.Error("CRL publication failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		case <-p.svc.kick:
		}
	}
}

// RunOnce publishes, if this node holds the lease, the CRLs of every CA that has
// unpublished revocations, no CRL yet, or a CRL older than law.CRLReissueEvery.
// It returns the CAs published.
func (p *Publisher) RunOnce(ctx context.Context) ([]string, error) {
	if p.svc.hold.held() {
		return nil, nil // a bulk decision is under way: its end kicks the publisher
	}
	ok, err := p.svc.store.TakeLease(ctx, LeaseName, p.holder, leaseTTL)
	if err != nil || !ok {
		return nil, err
	}
	due := map[string]bool{}
	pending, err := p.svc.store.UnpublishedCAs(ctx)
	if err != nil {
		return nil, err
	}
	for _, ca := range pending {
		if _, ok := p.svc.issuers[ca]; ok {
			due[ca] = true
		}
	}
	now := p.svc.clock.Now()
	for ca := range p.svc.issuers {
		c, err := p.svc.store.LatestCRL(ctx, ca)
		switch {
		case errkind.Is(err, errkind.NotFound):
			due[ca] = true
		case err != nil:
			return nil, err
		case !now.Before(c.ThisUpdate.Add(law.CRLReissueEvery)):
			due[ca] = true
		}
	}
	var done []string
	for ca := range due {
		done = append(done, ca)
	}
	sort.Strings(done)
	for i, ca := range done {
		if _, err := p.svc.PublishCRL(ctx, ca); err != nil {
			return done[:i], err
		}
	}
	return done, nil
}
