package ocsp

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"time"

	xocsp "golang.org/x/crypto/ocsp"

	"github.com/tawthiq/tawthiq/internal/auditlog"
	"github.com/tawthiq/tawthiq/internal/errkind"
	"github.com/tawthiq/tawthiq/internal/law"
)

// Load fills the index with every stored response; call it before serving.
func (s *Service) Load(ctx context.Context) error {
	return s.syncIndex(ctx)
}

// Run polls the database every PollInterval until ctx ends: every node refreshes its
// index; the node holding the lease also signs. Errors go to onError and the loop goes on.
func (s *Service) Run(ctx context.Context, onError func(error)) {
	t := time.NewTicker(s.cfg.PollInterval)
	defer t.Stop()
	for {
		if err := s.Tick(ctx); err != nil && ctx.Err() == nil && onError != nil {
			onError(err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Tick runs one round: publish revocations, sign newly issued certificates, refresh
// old responses (if this node holds the lease), then bring the index up to date.
func (s *Service) Tick(ctx context.Context) error {
	var errs []error
	lead, err := s.holdLease(ctx)
	if err != nil {
		errs = append(errs, err)
	}
	if lead {
		errs = append(errs, s.publishRevocations(ctx), s.signUnsigned(ctx), s.refresh(ctx))
	}
	errs = append(errs, s.syncIndex(ctx))
	return errors.Join(errs...)
}

func (s *Service) holdLease(ctx context.Context) (bool, error) {
	if s.cfg.Leases == nil {
		return true, nil
	}
	ok, err := s.cfg.Leases.TakeLease(ctx, leaseName, s.cfg.Holder, 10*s.cfg.PollInterval+5*time.Second)
	s.mu.Lock()
	if ok && !s.leaseHeldLast {
		s.lastSweep = time.Time{} // a new leader looks again at every certificate
	}
	s.leaseHeldLast = ok
	s.mu.Unlock()
	return ok, err
}

// syncIndex reads the responses stored since the last round, by any node.
func (s *Service) syncIndex(ctx context.Context) error {
	s.mu.Lock()
	since := s.cursor
	s.mu.Unlock()
	if !since.IsZero() {
		since = since.Add(-pollOverlap)
	}
	newest := since
	err := s.cfg.Store.OCSPResponsesSince(ctx, since, func(r *Response) error {
		s.learn(r)
		if r.ThisUpdate.After(newest) {
			newest = r.ThisUpdate
		}
		return nil
	})
	s.mu.Lock()
	if newest.After(s.cursor) {
		s.cursor = newest
	}
	s.mu.Unlock()
	return err
}

// publishRevocations signs, at once, the first revoked response of each new revocation.
func (s *Service) publishRevocations(ctx context.Context) error {
	serials, err := s.cfg.Store.UnpublishedOCSPRevocations(ctx, s.cfg.BatchSize)
	if err != nil || len(serials) == 0 {
		return err
	}
	return s.presign(ctx, serials)
}

// signUnsigned signs the first responses of newly issued certificates. The first round
// after taking the lease, and one every sweepEvery, look at every certificate; the
// others at the recently issued only.
func (s *Service) signUnsigned(ctx context.Context) error {
	now := s.cfg.Clock.Now()
	s.mu.Lock()
	since, sweep := s.issuedCursor, s.lastSweep.IsZero() || now.Sub(s.lastSweep) >= sweepEvery || now.Before(s.lastSweep)
	if sweep {
		since = time.Time{}
	}
	s.mu.Unlock()
	for {
		serials, err := s.cfg.Store.UnsignedCertificates(ctx, since, s.cfg.BatchSize)
		if err != nil {
			return err
		}
		if len(serials) > 0 {
			if err := s.presign(ctx, serials); err != nil {
				return err
			}
		}
		if len(serials) < s.cfg.BatchSize {
			break
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	s.mu.Lock()
	s.issuedCursor = now.Add(-issuedOverlap)
	if sweep {
		s.lastSweep = now
	}
	s.mu.Unlock()
	return nil
}

// refresh re-signs responses older than law.OCSPRefreshAfter, a batch per round.
func (s *Service) refresh(ctx context.Context) error {
	serials, err := s.cfg.Store.StaleOCSPResponses(ctx, s.cfg.Clock.Now().Add(-law.OCSPRefreshAfter), s.cfg.BatchSize)
	if err != nil || len(serials) == 0 {
		return err
	}
	return s.presign(ctx, serials)
}

// presign signs, checks and stores the responses of serials, then indexes them. The
// first revoked response of a revocation records its publication, with an audit
// entry (L-21-rev).
func (s *Service) presign(ctx context.Context, serials []string) error {
	statuses, err := s.cfg.Store.OCSPStatuses(ctx, serials)
	if err != nil {
		return err
	}
	now := s.cfg.Clock.Now().UTC().Truncate(time.Second)
	out := make([]Response, 0, len(statuses))
	var entries []auditlog.Entry
	var refused []error
	for i := range statuses {
		st := &statuses[i]
		is := s.byName[st.CA]
		if is == nil || !st.Issued {
			continue // a CA another responder answers for
		}
		r, parsed, err := is.presign(st, now)
		if err != nil {
			return err
		}
		if err := s.lint(r.Serial, parsed); err != nil {
			// Never stored nor served, nor its publication recorded: the others go on.
			refused = append(refused, err)
			continue
		}
		out = append(out, r)
		if st.Revoked && !st.Published {
			entries = append(entries, auditlog.NewEntry(now, "ocsp", ActionPublish, st.Serial, map[string]string{
				"ca": st.CA, "revoked": st.RevokedAt.UTC().Format(time.RFC3339Nano), "published": now.Format(time.RFC3339),
			}))
		}
	}
	if len(out) == 0 {
		return errors.Join(refused...)
	}
	if err := s.cfg.Store.PutOCSPResponses(ctx, out, entries); err != nil {
		return errors.Join(append(refused, err)...)
	}
	for i := range out {
		s.learn(&out[i])
	}
	return errors.Join(refused...)
}

// lint runs the configured linter over both of a certificate's pre-signed responses,
// as the independent parser already read them.
func (s *Service) lint(serial string, parsed [numAlgs]*xocsp.Response) error {
	if s.cfg.Linter == nil {
		return nil
	}
	for _, r := range parsed {
		if err := s.cfg.Linter.OCSPResponseParsed(r); err != nil {
			return fmt.Errorf("the OCSP response of %s refused by lint: %w", serial, err)
		}
	}
	return nil
}

// presign makes one certificate's two pre-signed responses and checks each with an
// independent parser before it is stored (STYLE #8).
func (is *issuer) presign(st *CertStatus, now time.Time) (Response, [numAlgs]*xocsp.Response, error) {
	var parsed [numAlgs]*xocsp.Response
	serial, ok := serialBytes(st.Serial)
	if !ok {
		return Response{}, parsed, errkind.New(errkind.Internal, law.LInternal, "serial %q is not hex", st.Serial)
	}
	r := Response{Serial: st.Serial, CA: st.CA, Status: Good, ThisUpdate: now, NextUpdate: now.Add(law.OCSPValidity)}
	sg := single{status: Good, thisUpdate: r.ThisUpdate, nextUpdate: r.NextUpdate}
	if st.Revoked {
		r.Status, sg.status, sg.revokedAt, sg.reason = Revoked, Revoked, st.RevokedAt, st.Reason
	}
	for alg := hashAlg(0); alg < numAlgs; alg++ {
		sg.certID = is.certIDFor(alg, serial)
		tbs, err := is.responseData(now, []single{sg}, nil)
		if err != nil {
			return Response{}, parsed, err
		}
		der, err := is.sign(tbs, checkedByParser)
		if err != nil {
			return Response{}, parsed, err
		}
		if parsed[alg], err = check(der, st, &sg, alg); err != nil {
			return Response{}, parsed, errkind.Wrap(errkind.Internal, err, "the OCSP response of %s does not check out", st.Serial)
		}
		if alg == sha1Alg {
			r.DER = der
		} else {
			r.DERSHA256 = der
		}
	}
	return r, parsed, nil
}

// check parses der with x/crypto/ocsp, which also checks the signature against the
// included responder certificate, and compares what it reads with what was meant.
func check(der []byte, st *CertStatus, sg *single, alg hashAlg) (*xocsp.Response, error) {
	resp, err := xocsp.ParseResponse(der, nil)
	if err != nil {
		return nil, err
	}
	wantStatus := xocsp.Good
	if sg.status == Revoked {
		wantStatus = xocsp.Revoked
	}
	switch {
	case serialHex(resp.SerialNumber.Bytes()) != st.Serial:
		return nil, fmt.Errorf("serial %x", resp.SerialNumber)
	case resp.Status != wantStatus:
		return nil, fmt.Errorf("status %d", resp.Status)
	case !resp.ThisUpdate.Equal(sg.thisUpdate) || !resp.NextUpdate.Equal(sg.nextUpdate):
		return nil, fmt.Errorf("validity %s..%s", resp.ThisUpdate, resp.NextUpdate)
	case resp.IssuerHash != [numAlgs]crypto.Hash{crypto.SHA1, crypto.SHA256}[alg]:
		return nil, fmt.Errorf("CertID hash %v", resp.IssuerHash)
	case sg.status == Revoked && !resp.RevokedAt.Equal(sg.revokedAt.UTC().Truncate(time.Second)):
		return nil, fmt.Errorf("revocation time %s", resp.RevokedAt)
	case sg.status == Revoked && resp.RevocationReason != sg.reason:
		return nil, fmt.Errorf("reason %d", resp.RevocationReason)
	}
	return resp, nil
}
