package ocsp

import (
	"context"
	"time"

	"github.com/tawthiq/tawthiq/internal/law"
)

// Answer is what to send back: an OCSPResponse and how HTTP may cache it.
type Answer struct {
	DER []byte
	// MaxAge is how long a cache may keep the answer; zero: not at all.
	MaxAge time.Duration
	// ETag (quoted) and LastModified (the thisUpdate) are set for pre-signed answers.
	ETag         string
	LastModified time.Time
}

// Respond answers one DER OCSPRequest. It never fails: every problem is an OCSP
// error status (RFC 6960 §2.3), malformedRequest for a bad request, unauthorized for
// an issuer we do not answer for, tryLater when the slow path is saturated.
func (s *Service) Respond(ctx context.Context, der []byte) Answer {
	var req request
	if err := parseRequest(der, &req); err != nil {
		return Answer{DER: malformedDER}
	}
	if req.n == 1 && req.nonce == nil && req.certs[0].canonical {
		id := &req.certs[0]
		if is := s.findIssuer(id); is == nil {
			return Answer{DER: unauthorizedDER}
		} else if e := is.index.get(id.serial); e != nil {
			now := s.cfg.Clock.Now()
			if now.Before(e.nextUpdate) && !now.Before(e.thisUpdate.Add(-time.Minute)) {
				return Answer{DER: e.der[id.alg], MaxAge: s.maxAge(e, now), ETag: e.etag[id.alg], LastModified: e.thisUpdate}
			}
		}
	}
	return s.signNow(ctx, &req)
}

// maxAge stays below nextUpdate (RFC 5019 §6.2); a good answer is cached no longer
// than CacheFor, so that a revocation reaches relying parties soon (L-21-1).
func (s *Service) maxAge(e *entry, now time.Time) time.Duration {
	age := e.nextUpdate.Sub(now) - time.Minute
	if e.status != Revoked && age > s.cfg.CacheFor {
		age = s.cfg.CacheFor
	}
	if age < 0 {
		return 0
	}
	return age.Truncate(time.Second)
}

// signNow is the slow path: it reads the status from the database and signs a
// response that echoes the request's CertIDs and nonce. Its concurrency is bounded.
func (s *Service) signNow(ctx context.Context, req *request) Answer {
	is := s.findIssuer(&req.certs[0])
	if is == nil {
		return Answer{DER: unauthorizedDER}
	}
	// One response has one signer: every certificate must be of the same CA.
	for i := 1; i < req.n; i++ {
		if s.findIssuer(&req.certs[i]) != is {
			return Answer{DER: unauthorizedDER}
		}
	}
	t := time.NewTimer(slowPathMaxQueue)
	defer t.Stop()
	select {
	case s.signing <- struct{}{}:
		defer func() { <-s.signing }()
	case <-t.C:
		return Answer{DER: tryLaterDER}
	case <-ctx.Done():
		return Answer{DER: tryLaterDER}
	}
	serials := make([]string, req.n)
	for i := 0; i < req.n; i++ {
		serials[i] = serialHex(req.certs[i].serial)
	}
	statuses, err := s.cfg.Store.OCSPStatuses(ctx, serials)
	if err != nil {
		return Answer{DER: tryLaterDER}
	}
	byserial := make(map[string]*CertStatus, len(statuses))
	for i := range statuses {
		byserial[statuses[i].Serial] = &statuses[i]
	}
	now := s.cfg.Clock.Now().UTC().Truncate(time.Second)
	singles := make([]single, req.n)
	for i := range singles {
		singles[i] = single{certID: req.certs[i].raw, status: Unknown, thisUpdate: now, nextUpdate: now.Add(law.OCSPValidity)}
		st := byserial[serials[i]]
		if st == nil || st.CA != is.name || !st.Issued {
			// Never issued by this CA: unknown (RFC 6960 §2.2), with no nextUpdate, as
			// it may be issued later.
			singles[i].nextUpdate = time.Time{}
			continue
		}
		singles[i].status = Good
		if st.Revoked {
			singles[i].status, singles[i].revokedAt, singles[i].reason = Revoked, st.RevokedAt, st.Reason
		}
	}
	tbs, err := is.responseData(now, singles, req.nonce)
	if err != nil {
		return Answer{DER: internalDER}
	}
	// Not linted (Config.Linter): the lint parses with x/crypto/ocsp, which refuses a
	// response for several certificates, and at about 0.5 ms (ECDSA P-256) it would
	// double this path's cost; the same issuer and encoder make the pre-signed
	// responses, which are linted.
	der, err := is.sign(tbs, verifySignature)
	if err != nil {
		return Answer{DER: internalDER}
	}
	return Answer{DER: der}
}
