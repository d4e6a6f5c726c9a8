// Package ca issues certificates in two phases (STYLE #6): prepare and lint the
// exact TBS, record it with its reserved serial and audit entry, then sign that TBS,
// verify the signature and store the certificate. A crash between any two steps
// leaves a reservation that Recover completes, so no certificate exists that the
// CSP does not know of (L-21-2).
package ca

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"time"

	"github.com/tawthiq/tawthiq/internal/auditlog"
	"github.com/tawthiq/tawthiq/internal/clock"
	"github.com/tawthiq/tawthiq/internal/errkind"
	"github.com/tawthiq/tawthiq/internal/issuance"
	"github.com/tawthiq/tawthiq/internal/law"
)

// Linter checks a throwaway-signed certificate before the real signature.
type Linter interface {
	Check(der []byte, req issuance.Request) error
}

// CoverCheck refuses issuance at a time the CSP's liability insurance does not cover (L-21-3-6).
type CoverCheck interface {
	CheckCover(ctx context.Context, at time.Time) error
}

// Issuer is one of the CSP's issuing CAs with its key.
type Issuer struct {
	Name   string
	Cert   *x509.Certificate
	Signer crypto.Signer
}

// Step names a point of the issuance sequence, for crash tests.
type Step string

// The steps of issuance, in order.
const (
	StepPrepared Step = "prepared" // linted, nothing recorded yet
	StepReserved Step = "reserved" // serial and TBS recorded, not yet signed
	StepSigned   Step = "signed"   // signed and verified, not yet stored
)

// Service issues end-entity certificates.
type Service struct {
	store    Store
	clock    clock.Clock
	linter   Linter
	csp      issuance.CSP
	issuers  map[string]Issuer
	profiles map[string]issuance.Profile
	cover    CoverCheck // nil: no insurance check (tests of the issuance mechanics)
	// AfterStep, when set, is called after each step; crash tests stop the process there.
	AfterStep func(Step)
}

// New returns the CA service.
func New(st Store, clk clock.Clock, lt Linter, csp issuance.CSP, issuers []Issuer, profiles []issuance.Profile) *Service {
	s := &Service{store: st, clock: clk, linter: lt, csp: csp, issuers: map[string]Issuer{}, profiles: map[string]issuance.Profile{}}
	for _, is := range issuers {
		s.issuers[is.Name] = is
	}
	for _, p := range profiles {
		s.profiles[p.Name] = p
	}
	return s
}

// RequireCover makes every issuance first ask c whether the CSP is insured (L-21-3-6).
func (s *Service) RequireCover(c CoverCheck) { s.cover = c }

// Profile returns the named profile.
func (s *Service) Profile(name string) (issuance.Profile, bool) {
	p, ok := s.profiles[name]
	return p, ok
}

// Profiles returns every profile this CA issues.
func (s *Service) Profiles() []issuance.Profile {
	out := make([]issuance.Profile, 0, len(s.profiles))
	for _, p := range s.profiles {
		out = append(out, p)
	}
	return out
}

// IssueRequest is an approved application, as the RA sends it.
type IssueRequest struct {
	ApplicationID string
	Actor         string // who caused the issuance (the last approving officer)
	Request       issuance.Request
}

// serialBytes gives 127 random bits: positive, and far above law.MinSerialBits.
const serialBytes = 16

// maxSerialAttempts bounds retries on a serial collision (which a sound RNG never makes).
const maxSerialAttempts = 3

// Issue prepares, lints, reserves, signs, verifies and stores one certificate.
func (s *Service) Issue(ctx context.Context, in IssueRequest) (*Certificate, error) {
	p, ok := s.profiles[in.Request.Profile.Name]
	if !ok {
		return nil, errkind.New(errkind.Invalid, law.L11, "unknown certificate profile %q", in.Request.Profile.Name)
	}
	is, ok := s.issuers[p.CA]
	if !ok {
		return nil, errkind.New(errkind.Unavailable, law.L21_1, "issuing CA %q is not loaded", p.CA)
	}
	req := in.Request
	req.Profile = p
	now := s.clock.Now()
	// L-21-3-6: no issuance starts, nothing is reserved, while the CSP is uninsured.
	if s.cover != nil {
		if err := s.cover.CheckCover(ctx, now); err != nil {
			return nil, err
		}
	}
	req.NotBefore = now.Truncate(time.Second)
	req.NotAfter = req.NotBefore.Add(p.Validity)
	if req.NotAfter.After(is.Cert.NotAfter) {
		req.NotAfter = is.Cert.NotAfter // never outlive the issuing CA
	}
	spki, err := x509.MarshalPKIXPublicKey(req.PublicKey)
	if err != nil {
		return nil, errkind.New(errkind.Invalid, law.L21_1, "the public key cannot be encoded: %v", err)
	}
	spkiHash := sha256.Sum256(spki)

	var c *Certificate
	for attempt := 0; ; attempt++ {
		serial, err := RandomSerial()
		if err != nil {
			return nil, err
		}
		req.Serial = serial
		tmpl, err := issuance.EndEntityTemplate(s.csp, is.Cert, req)
		if err != nil {
			return nil, err
		}
		tbs, lintable, err := issuance.Prepare(tmpl, is.Cert, req.PublicKey, is.Cert.PublicKey)
		if err != nil {
			return nil, errkind.Wrap(errkind.Internal, err, "preparing the certificate")
		}
		// A lint error stops issuance before anything is recorded (L-11).
		if err := s.linter.Check(lintable, req); err != nil {
			return nil, err
		}
		c = &Certificate{
			Serial: hex.EncodeToString(serial.Bytes()), CA: is.Name, ApplicationID: in.ApplicationID,
			Profile: p.Name, SPKISHA256: spkiHash[:], Subject: tmpl.Subject.String(),
			NotBefore: req.NotBefore, NotAfter: req.NotAfter, TBS: tbs, Status: StatusReserved,
			ReservedAt: law.Timestamp(now),
		}
		s.step(StepPrepared)
		e := auditlog.NewEntry(c.ReservedAt, in.Actor, auditlog.ActionCertificateReserve, c.Serial, map[string]string{
			"ca": c.CA, "application": c.ApplicationID, "profile": c.Profile, "tbs_sha256": sum(tbs)})
		err = s.store.Reserve(ctx, c, e)
		if err == nil {
			break
		}
		if !errkind.Is(err, errkind.Conflict) || attempt+1 >= maxSerialAttempts {
			return nil, err
		}
	}
	s.step(StepReserved)
	return s.complete(ctx, c, in.Actor)
}

// errKeyCompromised marks the refusal of a reservation whose key was declared compromised.
var errKeyCompromised = errors.New("public key declared compromised")

// complete signs a reserved TBS, verifies and stores the result; a reservation whose
// key was declared compromised is abandoned instead (L-25).
func (s *Service) complete(ctx context.Context, c *Certificate, actor string) (*Certificate, error) {
	is, ok := s.issuers[c.CA]
	if !ok {
		return nil, errkind.New(errkind.Unavailable, law.L21_1, "issuing CA %q is not loaded", c.CA)
	}
	// L-25: a key declared compromised after its reservation (a crash, a slow HSM) is never certified.
	compromised, err := s.store.KeyCompromised(ctx, c.SPKISHA256)
	if err != nil {
		return nil, err
	}
	if compromised {
		e := auditlog.NewEntry(s.clock.Now(), actor, auditlog.ActionCertificateAbandon, c.Serial, map[string]string{
			"ca": c.CA, "application": c.ApplicationID, "reason": "public key declared compromised", "rule": string(law.L25)})
		if err := s.store.Abandon(ctx, c.Serial, e); err != nil {
			return nil, err
		}
		return nil, &errkind.Error{Kind: errkind.Invalid, Rule: law.L25, Err: errKeyCompromised,
			Detail: "the public key was declared compromised: it may not be certified again"}
	}
	// Sign verifies the signature against the CA key before returning it (STYLE #8).
	der, err := issuance.Sign(is.Signer, c.TBS)
	if err != nil {
		return nil, errkind.Wrap(errkind.Unavailable, err, "signing with CA %q", c.CA)
	}
	s.step(StepSigned)
	issuedAt := law.Timestamp(s.clock.Now()) // L-21-1: UTC, milliseconds
	e := auditlog.NewEntry(issuedAt, actor, auditlog.ActionCertificateIssue, c.Serial, map[string]string{
		"ca": c.CA, "application": c.ApplicationID, "cert_sha256": sum(der)})
	if err := s.store.MarkIssued(ctx, c.Serial, der, issuedAt, e); err != nil {
		return nil, err
	}
	c.DER, c.IssuedAt, c.Status = der, issuedAt, StatusIssued
	return c, nil
}

// Recover completes every reservation left by a crash: the recorded TBS was linted
// and audited, so it is signed as it stands; one whose CA is gone, or whose key has
// since been declared compromised (L-25), is abandoned.
func (s *Service) Recover(ctx context.Context) (completed, abandoned int, err error) {
	rs, err := s.store.Reserved(ctx)
	if err != nil {
		return 0, 0, err
	}
	for i := range rs {
		c := &rs[i]
		if _, ok := s.issuers[c.CA]; !ok {
			e := auditlog.NewEntry(s.clock.Now(), "system", auditlog.ActionCertificateAbandon, c.Serial,
				map[string]string{"reason": "issuing CA not loaded"})
			if err := s.store.Abandon(ctx, c.Serial, e); err != nil {
				return completed, abandoned, err
			}
			abandoned++
			continue
		}
		if _, err := s.complete(ctx, c, "system"); errors.Is(err, errKeyCompromised) {
			abandoned++ // complete has abandoned it, with its audit entry (L-25)
			continue
		} else if err != nil {
			return completed, abandoned, fmt.Errorf("completing reserved serial %s: %w", c.Serial, err)
		}
		completed++
	}
	return completed, abandoned, nil
}

// Certificate returns a certificate record.
func (s *Service) Certificate(ctx context.Context, serial string) (*Certificate, error) {
	return s.store.Certificate(ctx, serial)
}

// IssuerCert returns a CA certificate by name.
func (s *Service) IssuerCert(name string) (*x509.Certificate, bool) {
	is, ok := s.issuers[name]
	return is.Cert, ok
}

func (s *Service) step(st Step) {
	if s.AfterStep != nil {
		s.AfterStep(st)
	}
}

// RandomSerial returns a positive serial of 126 random bits, far above law.MinSerialBits.
func RandomSerial() (*big.Int, error) {
	var b [serialBytes]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, errkind.Wrap(errkind.Unavailable, err, "reading random serial")
	}
	b[0] &= 0x7f // positive DER INTEGER
	b[0] |= 0x40 // fixed length, so the serial always carries 126 random bits
	return new(big.Int).SetBytes(b[:]), nil
}

func sum(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}
