// Package revocation revokes certificates on the law's grounds and publishes CRLs
// (L-21-1, L-21-3-7, L-21-rev, L-23, L-25). A revocation is effective at once: the
// request and decision times are recorded in UTC to the millisecond, the decision is
// the CRL's revocationDate, and the publication time is that of the first CRL that
// lists it. A revocation is final: the service and the database both refuse to
// revoke a certificate twice or to undo a revocation.
//
// CRLs are encoded by hand with cryptobyte (see BuildCRL): x509.CreateRevocationList
// is too slow and too heavy for the million-entry CRLs a national CSP must publish.
package revocation

import (
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"encoding/hex"
	"strings"
	"time"

	"github.com/tawthiq/tawthiq/internal/auditlog"
	"github.com/tawthiq/tawthiq/internal/clock"
	"github.com/tawthiq/tawthiq/internal/errkind"
	"github.com/tawthiq/tawthiq/internal/issuance"
	"github.com/tawthiq/tawthiq/internal/law"
	"github.com/tawthiq/tawthiq/internal/ra"
)

// Issuer is an issuing CA whose CRLs this service signs.
type Issuer struct {
	Name   string
	Cert   *x509.Certificate
	Signer crypto.Signer
}

// CRLLinter lints a signed CRL before publication; lint.Linter implements it.
type CRLLinter interface {
	RevocationList(der []byte) error
}

// Service revokes certificates and publishes CRLs.
type Service struct {
	store   Store
	clock   clock.Clock
	linter  CRLLinter
	baseURL string
	shards  int
	issuers map[string]Issuer
	kick    chan struct{}
	hold    holds // bulk decisions in progress on this node (see HoldPublication)
}

// New returns the revocation service. csp gives the base URL written in shard CRLs'
// issuing distribution points and the number of shards (CRLShards; 0 or 1 for none).
func New(st Store, clk clock.Clock, lt CRLLinter, csp issuance.CSP, issuers []Issuer) *Service {
	s := &Service{store: st, clock: clk, linter: lt, baseURL: strings.TrimRight(csp.BaseURL, "/"),
		shards: csp.CRLShards, issuers: map[string]Issuer{}, kick: make(chan struct{}, 1)}
	for _, is := range issuers {
		s.issuers[is.Name] = is
	}
	return s
}

// refuse is a refusal naming the rule behind it.
func refuse(k errkind.Kind, r law.ID, format string, args ...any) error {
	return errkind.New(k, r, format, args...)
}

// holderGrounds are the grounds a holder may give himself (L-21-1, L-25).
var holderGrounds = map[law.Ground]bool{
	law.GroundHolderRequest: true, law.GroundKeyCompromise: true, law.GroundCapacityChange: true,
}

// Revoke revokes the certificate of req (or, for ca-compromise, every certificate
// the CA issued) if by may do so on req's ground. It returns the revocations made,
// the requested certificate's first. Key compromise also marks the key compromised
// and revokes every other certificate of that key, in the same transaction (L-25).
func (s *Service) Revoke(ctx context.Context, by Actor, req Request) ([]Revocation, error) {
	requestedAt := law.Timestamp(s.clock.Now())
	rule, ok := law.LookupGround(req.Ground)
	if !ok {
		return nil, refuse(errkind.Invalid, law.L21_3_7, "%q is not a ground of revocation the law gives", req.Ground)
	}
	if rule.NeedsReference && strings.TrimSpace(req.OrderRef) == "" {
		return nil, refuse(errkind.Invalid, rule.Rule, "a revocation on ground %s needs the order's reference", rule.Ground)
	}
	if req.Ground == law.GroundCACompromise {
		if by.Role != RoleAdmin {
			return nil, refuse(errkind.Forbidden, law.L21_1, "only an administrator declares a CA key compromised")
		}
		return s.revokeCA(ctx, by, req, rule, requestedAt)
	}
	sub, err := s.store.RevocationSubject(ctx, req.Serial)
	if err != nil {
		return nil, err
	}
	switch by.Role {
	case RoleHolder:
		// The holder revokes his own certificate at any hour (L-21-1).
		if by.ID == "" || by.ID != sub.SubmittedBy {
			return nil, refuse(errkind.Forbidden, law.L21_1, "a holder revokes only his own certificates")
		}
		if !holderGrounds[req.Ground] {
			return nil, refuse(errkind.Forbidden, law.L21_3_7, "ground %s is decided by the CSP, not by the holder", req.Ground)
		}
	case RoleOfficer:
		if strings.TrimSpace(req.Note) == "" {
			return nil, refuse(errkind.Invalid, law.L21_3_7, "an RA officer's revocation needs a note")
		}
	case RoleAdmin:
		return nil, refuse(errkind.Forbidden, law.L21_3_7, "an administrator revokes for CA compromise only; RA officers revoke on the other grounds")
	default:
		return nil, refuse(errkind.Forbidden, law.L21_3_7, "role %q may not revoke", by.Role)
	}
	return s.revokeOne(ctx, by.ID, sub, req, rule, requestedAt)
}

// RevokeWithSecret is the holder's path without an account: the revocation secret
// handed to him at registration revokes his certificate at once (L-21-1). A wrong
// secret and an unknown serial get the same answer.
func (s *Service) RevokeWithSecret(ctx context.Context, serial, secret string) ([]Revocation, error) {
	requestedAt := law.Timestamp(s.clock.Now())
	denied := refuse(errkind.Unauthorized, law.L21_1, "the serial and revocation secret do not match")
	want, err := s.store.RevocationSecretHash(ctx, serial)
	if errkind.Is(err, errkind.NotFound) {
		return nil, denied
	}
	if err != nil {
		return nil, err
	}
	if !secretMatches(secret, want) {
		return nil, denied
	}
	sub, err := s.store.RevocationSubject(ctx, serial)
	if err != nil {
		return nil, err
	}
	rule, _ := law.LookupGround(law.GroundHolderRequest)
	return s.revokeOne(ctx, RequestedBySecret, sub, Request{Serial: serial, Ground: law.GroundHolderRequest}, rule, requestedAt)
}

// secretMatches says whether secret, as a holder typed it, is the one whose hash
// the RA stored when it handed the secret out.
func secretMatches(secret string, want []byte) bool {
	return subtle.ConstantTimeCompare(ra.RevocationSecretHash(secret), want) == 1
}

func (s *Service) revokeOne(ctx context.Context, actor string, sub *Subject, req Request, rule law.GroundRule, requestedAt time.Time) ([]Revocation, error) {
	if sub.Revoked {
		return nil, refuse(errkind.Conflict, law.L21Rev, "certificate %s is already revoked: a revocation is final", sub.Serial)
	}
	if !sub.Issued {
		return nil, refuse(errkind.Conflict, law.L21_3_7, "certificate %s was never issued", sub.Serial)
	}
	base := Revocation{CA: sub.CA, Ground: rule.Ground, Reason: rule.Reason, RequestedAt: requestedAt,
		RequestedBy: actor, Note: strings.TrimSpace(req.Note), OrderRef: strings.TrimSpace(req.OrderRef)}
	if rule.CompromisesKey {
		base.InvalidityDate = requestedAt
		if !req.InvalidityDate.IsZero() {
			if req.InvalidityDate.After(requestedAt) {
				return nil, refuse(errkind.Invalid, law.L21_1, "the invalidity date is in the future")
			}
			base.InvalidityDate = law.Timestamp(req.InvalidityDate)
		}
	}
	// The cascade is computed here and checked again inside the transaction (L-25).
	for attempt := 0; ; attempt++ {
		serials := []string{sub.Serial}
		var key []byte
		if rule.CompromisesKey {
			key = sub.SPKISHA256
			others, err := s.store.IssuedUnrevoked(ctx, "", key)
			if err != nil {
				return nil, err
			}
			for _, o := range others {
				if o != sub.Serial {
					serials = append(serials, o)
				}
			}
		}
		rs, entries := s.decide(base, serials, actor, sub.Serial)
		if len(key) > 0 {
			sub2 := make([]Revocation, 0, len(rs))
			for _, r := range rs {
				c, err := s.store.RevocationSubject(ctx, r.Serial)
				if err != nil {
					return nil, err
				}
				r.CA = c.CA
				sub2 = append(sub2, r)
			}
			rs = sub2
		}
		err := s.store.Revoke(ctx, rs, key, entries)
		if err == nil {
			s.Kick()
			return rs, nil
		}
		if !(len(key) > 0 && errkind.Is(err, errkind.Conflict) && errkind.As(err).Rule == law.L25 && attempt < 3) {
			return nil, err
		}
	}
}

// decide stamps the decision time on each revocation and makes its audit entry.
func (s *Service) decide(base Revocation, serials []string, actor, cause string) ([]Revocation, []auditlog.Entry) {
	revokedAt := law.Timestamp(s.clock.Now()) // the decision: effective at once (L-21-1)
	rs := make([]Revocation, 0, len(serials))
	entries := make([]auditlog.Entry, 0, len(serials))
	for _, serial := range serials {
		r := base
		r.Serial, r.RevokedAt = serial, revokedAt
		rs = append(rs, r)
		data := map[string]any{"ca": r.CA, "ground": string(r.Ground), "reason": r.Reason,
			"requested_ms": r.RequestedAt.UnixMilli(), "revoked_ms": r.RevokedAt.UnixMilli()}
		if r.Note != "" {
			data["note"] = r.Note
		}
		if r.OrderRef != "" {
			data["order_ref"] = r.OrderRef
		}
		if !r.InvalidityDate.IsZero() {
			data["invalidity_ms"] = r.InvalidityDate.UnixMilli()
		}
		if serial != cause {
			data["because_of"] = cause // same compromised key, or same CA
		}
		entries = append(entries, auditlog.NewEntry(revokedAt, actor, auditlog.ActionCertificateRevoke, serial, data))
	}
	return rs, entries
}

// caChunk bounds how many certificates one transaction of a CA compromise revokes.
const caChunk = 500

// revokeCA revokes every issued certificate of a compromised CA, chunk by chunk (L-21-1).
func (s *Service) revokeCA(ctx context.Context, by Actor, req Request, rule law.GroundRule, requestedAt time.Time) ([]Revocation, error) {
	if _, ok := s.issuers[req.CA]; !ok || req.CA == "" {
		return nil, refuse(errkind.NotFound, law.L21_1, "no issuing CA %q", req.CA)
	}
	if strings.TrimSpace(req.Note) == "" {
		return nil, refuse(errkind.Invalid, law.L21_1, "a CA compromise needs a note")
	}
	serials, err := s.store.IssuedUnrevoked(ctx, req.CA, nil)
	if err != nil {
		return nil, err
	}
	base := Revocation{CA: req.CA, Ground: rule.Ground, Reason: rule.Reason, RequestedAt: requestedAt,
		RequestedBy: by.ID, Note: strings.TrimSpace(req.Note), OrderRef: strings.TrimSpace(req.OrderRef)}
	var out []Revocation
	for len(serials) > 0 {
		n := min(caChunk, len(serials))
		rs, entries := s.decide(base, serials[:n], by.ID, "ca:"+req.CA)
		if err := s.store.Revoke(ctx, rs, nil, entries); err != nil {
			return out, err
		}
		out = append(out, rs...)
		serials = serials[n:]
	}
	s.Kick()
	return out, nil
}

// Revocation returns the revocation of a certificate (errkind.NotFound if it is not revoked).
func (s *Service) Revocation(ctx context.Context, serial string) (*Revocation, error) {
	return s.store.Revocation(ctx, serial)
}

// Kick asks the publisher for a new CRL now; it never blocks.
func (s *Service) Kick() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

func sum(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}
