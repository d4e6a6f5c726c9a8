// Package ra is the registration authority: it takes applications with their
// identity evidence, terms acceptance and consents, checks proof of possession and
// key strength, and sends an application to the CA once two distinct officers have
// approved it (L-21-3-1, L-21-3-2, L-21-3-3, L-21-2, L-25).
package ra

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base32"
	"encoding/hex"
	"encoding/pem"
	"strings"
	"time"

	"github.com/tawthiq/tawthiq/internal/auditlog"
	"github.com/tawthiq/tawthiq/internal/ca"
	"github.com/tawthiq/tawthiq/internal/clock"
	"github.com/tawthiq/tawthiq/internal/errkind"
	"github.com/tawthiq/tawthiq/internal/issuance"
	"github.com/tawthiq/tawthiq/internal/law"
)

// Issuer is the CA as the RA sees it.
type Issuer interface {
	Profile(name string) (issuance.Profile, bool)
	Issue(ctx context.Context, in ca.IssueRequest) (*ca.Certificate, error)
}

// Person is whoever acts on an application: the submitter or an officer.
type Person struct {
	ID       string // user ID
	IDNumber string // his own ID document number, to catch self-approval
	// OwnNameOnly is set for holders: they apply for themselves, never for another.
	OwnNameOnly bool
}

// Service is the registration authority.
type Service struct {
	store  Store
	issuer Issuer
	clock  clock.Clock
	newID  func() string
}

// New returns the RA; newID makes application IDs.
func New(st Store, is Issuer, clk clock.Clock, newID func() string) *Service {
	return &Service{store: st, issuer: is, clock: clk, newID: newID}
}

// Languages a holder may choose for notices and documents.
var languages = map[string]bool{"ar": true, "fr": true, "en": true}

// MaxCSRBytes bounds the CSR an application may carry.
const MaxCSRBytes = 64 << 10

// Submit validates and records an application. Nothing is stored when any check fails.
func (s *Service) Submit(ctx context.Context, by Person, a Application) (*Application, error) {
	now := s.clock.Now()
	p, ok := s.issuer.Profile(a.Profile)
	if !ok {
		return nil, errkind.New(errkind.Invalid, law.L11, "unknown certificate profile %q", a.Profile)
	}
	if err := checkIdentity(&a, p, now); err != nil {
		return nil, err
	}
	if by.OwnNameOnly && a.Identity.Number != by.IDNumber {
		return nil, errkind.New(errkind.Forbidden, law.L21_3_1, "a holder applies in his own name only: the identity document number differs from his account's")
	}
	csr, err := parseCSR(a.CSR)
	if err != nil {
		return nil, err
	}
	a.CSR = csr.Raw
	if err := law.CheckPublicKey(csr.PublicKey); err != nil {
		return nil, errkind.New(errkind.Invalid, law.L21_1, "%s", strings.TrimPrefix(err.Error(), string(law.L21_1)+": "))
	}
	spki := sha256.Sum256(csr.RawSubjectPublicKeyInfo)
	a.SPKISHA256 = spki[:]
	if p.RequireQSCD && !a.KeyInQSCD {
		return nil, errkind.New(errkind.Invalid, law.L9, "profile %q needs a key in a qualified signature creation device", p.Name)
	}
	if bad, err := s.store.KeyCompromised(ctx, a.SPKISHA256); err != nil {
		return nil, err
	} else if bad {
		return nil, errkind.New(errkind.Invalid, law.L25, "this public key was revoked for compromise and may never be certified again")
	}
	// L-25: after revocation, on whatever ground, the key may not be certified again.
	if revoked, err := s.store.KeyRevoked(ctx, a.SPKISHA256); err != nil {
		return nil, err
	} else if !law.KeyMayBeCertified(revoked, false) {
		return nil, errkind.New(errkind.Invalid, law.L25, "a certificate of this public key was revoked: the key may never be certified again")
	}
	uses, err := s.store.KeyUses(ctx, a.SPKISHA256)
	if err != nil {
		return nil, err
	}
	for _, u := range uses {
		if u.RevokedForCompromise {
			return nil, errkind.New(errkind.Invalid, law.L25, "this public key was revoked for compromise and may never be certified again")
		}
		if u.HolderIDNumber != a.Identity.Number {
			// L-6: the signature creation data is unique to one signer.
			return nil, errkind.New(errkind.Conflict, law.L6, "this public key is already certified to another holder")
		}
	}
	if err := s.checkTerms(ctx, &a, now); err != nil {
		return nil, err
	}
	if a.Language == "" {
		a.Language = "fr"
	}
	if !languages[a.Language] {
		return nil, errkind.New(errkind.Invalid, law.L21_3_3, "language %q is not offered (ar, fr, en)", a.Language)
	}
	if a.ConsentEmail && a.ContactEmail == "" {
		return nil, errkind.New(errkind.Invalid, law.L65_3, "consent to e-mail needs an e-mail address")
	}
	if a.LimitMAD < 0 {
		return nil, errkind.New(errkind.Invalid, law.L11, "the transaction limit cannot be negative")
	}
	a.ID = s.newID()
	a.SubmittedBy = by.ID
	a.Status = StatusPending
	a.CreatedAt = law.Timestamp(now)
	a.Approvals = nil
	secret, hash, err := NewRevocationSecret()
	if err != nil {
		return nil, err
	}
	a.RevocationSecret, a.RevocationSecretSHA256 = "", hash
	e := auditlog.NewEntry(a.CreatedAt, by.ID, auditlog.ActionApplicationCreate, a.ID, map[string]string{
		"profile": a.Profile, "spki_sha256": hex.EncodeToString(a.SPKISHA256), "terms": a.TermsVersion,
		"id_method": string(a.Identity.Method)})
	if err := s.store.CreateApplication(ctx, &a, e); err != nil {
		return nil, err
	}
	// Handed out once: only its hash is kept, so the holder can revoke without an account (L-21-1).
	a.RevocationSecret = secret
	return &a, nil
}

// revocationSecretBytes gives the holder's revocation secret 128 random bits.
const revocationSecretBytes = 16

// NewRevocationSecret returns a random revocation secret (base32, no padding) and its SHA-256.
func NewRevocationSecret() (secret string, sha []byte, err error) {
	b := make([]byte, revocationSecretBytes)
	if _, err := rand.Read(b); err != nil {
		return "", nil, errkind.Wrap(errkind.Unavailable, err, "reading a random revocation secret")
	}
	secret = base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b)
	h := RevocationSecretHash(secret)
	return secret, h, nil
}

// RevocationSecretHash is what is stored of a revocation secret: the SHA-256 of its
// text, upper-cased and without spaces or dashes, as a holder may copy it.
func RevocationSecretHash(secret string) []byte {
	norm := strings.ToUpper(strings.NewReplacer(" ", "", "-", "").Replace(strings.TrimSpace(secret)))
	h := sha256.Sum256([]byte(norm))
	return h[:]
}

// checkIdentity verifies the registration record and fills the ETSI identifiers (L-21-3-1).
func checkIdentity(a *Application, p issuance.Profile, now time.Time) error {
	id := &a.Identity
	if !law.ValidIDDocument(id.Type) {
		return errkind.New(errkind.Invalid, law.L21_3_1, "identity document type %q is not an accepted official document", id.Type)
	}
	if !law.ValidVettingMethod(id.Method) {
		return errkind.New(errkind.Invalid, law.L21_3_1, "verification method %q is not one Law 43-20 admits", id.Method)
	}
	if strings.TrimSpace(id.Number) == "" || strings.TrimSpace(id.Issuer) == "" {
		return errkind.New(errkind.Invalid, law.L21_3_1, "the identity document's number and issuer are required")
	}
	if id.Expiry.IsZero() || !id.Expiry.After(now) {
		return errkind.New(errkind.Invalid, law.L21_3_1, "the identity document has expired or has no expiry date")
	}
	if len(id.EvidenceSHA256) != sha256.Size {
		return errkind.New(errkind.Invalid, law.L21_3_1, "the SHA-256 of the identity evidence is required")
	}
	if id.Country == "" {
		id.Country = law.CSPCountry
	}
	ident, err := law.ETSIIdentifier(id.Type, id.Country, id.Number)
	if err != nil {
		return errkind.New(errkind.Invalid, law.L21_3_1, "%v", err)
	}
	legal := id.Type.ForLegalPerson()
	switch {
	case p.Kind == issuance.LegalPerson && !legal:
		return errkind.New(errkind.Invalid, law.L21_3_1, "a seal certificate needs the legal person's trade register or ICE number")
	case p.Kind == issuance.NaturalPerson && legal:
		return errkind.New(errkind.Invalid, law.L21_3_1, "a signature certificate needs a natural person's identity document")
	}
	// The identifiers come from the verified document, never from the applicant's say-so.
	if legal {
		a.Subject.OrganizationIdentifier = ident
		a.Subject.SerialNumber = ""
	} else {
		a.Subject.SerialNumber = ident
		a.Subject.OrganizationIdentifier = ""
	}
	if a.Subject.Country == "" {
		a.Subject.Country = id.Country
	}
	if a.Subject.Title != "" {
		if a.Capacity == nil || len(a.Capacity.ProofSHA256) != sha256.Size || a.Capacity.ProofKind == "" {
			return errkind.New(errkind.Invalid, law.L21_3_1, "a claimed capacity (title %q) needs its proof: kind and SHA-256", a.Subject.Title)
		}
		a.Capacity.Title = a.Subject.Title
	} else if a.Capacity != nil {
		return errkind.New(errkind.Invalid, law.L21_3_1, "a capacity proof was given but no title is claimed")
	}
	return nil
}

// checkTerms requires acceptance of a published version of the terms before any issuance (L-21-3-3).
func (s *Service) checkTerms(ctx context.Context, a *Application, now time.Time) error {
	if a.TermsVersion == "" || a.TermsAcceptedAt.IsZero() {
		return errkind.New(errkind.Invalid, law.L21_3_3, "the applicant must accept the subscriber terms before the contract")
	}
	t, err := s.store.Terms(ctx, a.TermsVersion)
	if errkind.Is(err, errkind.NotFound) {
		return errkind.New(errkind.Invalid, law.L21_3_3, "subscriber terms version %q was never published", a.TermsVersion)
	}
	if err != nil {
		return err
	}
	if a.TermsAcceptedAt.Before(t.PublishedAt) || a.TermsAcceptedAt.After(now.Add(time.Minute)) {
		return errkind.New(errkind.Invalid, law.L21_3_3, "the terms acceptance time is outside the terms' publication and now")
	}
	a.TermsAcceptedAt = law.Timestamp(a.TermsAcceptedAt)
	return nil
}

func parseCSR(b []byte) (*x509.CertificateRequest, error) {
	if len(b) == 0 {
		return nil, errkind.New(errkind.Invalid, law.L21_3_2, "a certificate signing request is required")
	}
	if len(b) > MaxCSRBytes {
		return nil, errkind.New(errkind.TooLarge, law.L21_3_2, "the certificate signing request is over %d bytes", MaxCSRBytes)
	}
	if blk, _ := pem.Decode(b); blk != nil {
		if blk.Type != "CERTIFICATE REQUEST" && blk.Type != "NEW CERTIFICATE REQUEST" {
			return nil, errkind.New(errkind.Invalid, law.L21_3_2, "PEM block %q is not a certificate request", blk.Type)
		}
		b = blk.Bytes
	}
	csr, err := x509.ParseCertificateRequest(b)
	if err != nil {
		return nil, errkind.New(errkind.Invalid, law.L21_3_2, "the certificate signing request is malformed: %v", err)
	}
	// Proof of possession: the applicant holds the private key (L-21-3-2, L-21-1).
	if err := csr.CheckSignature(); err != nil {
		return nil, errkind.New(errkind.Invalid, law.L21_3_2, "the certificate signing request's signature does not verify: the applicant has not shown he holds the private key")
	}
	return csr, nil
}

// Approve records an officer's approval; the second distinct approval sends the
// application to the CA and returns the issued certificate.
func (s *Service) Approve(ctx context.Context, officer Person, id, note string) (*Application, *ca.Certificate, error) {
	a, err := s.store.Application(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	if a.Status != StatusPending {
		return nil, nil, errkind.New(errkind.Conflict, law.L21_3_1, "application %s is %s, not pending", id, a.Status)
	}
	// Dual control: neither the applicant nor whoever entered the file may approve it (L-21-3-1).
	if officer.ID == a.SubmittedBy {
		return nil, nil, errkind.New(errkind.Forbidden, law.L21_3_1, "whoever submitted an application may not approve it")
	}
	if officer.IDNumber != "" && officer.IDNumber == a.Identity.Number {
		return nil, nil, errkind.New(errkind.Forbidden, law.L21_3_1, "an applicant may not approve his own application")
	}
	for _, ap := range a.Approvals {
		if ap.Officer == officer.ID {
			return nil, nil, errkind.New(errkind.Conflict, law.L21_3_1, "officer %s already approved this application: a second, distinct officer must approve", officer.ID)
		}
	}
	now := law.Timestamp(s.clock.Now())
	ap := Approval{ApplicationID: id, Officer: officer.ID, At: now, Note: note}
	e := auditlog.NewEntry(now, officer.ID, auditlog.ActionApplicationApprove, id, map[string]any{
		"approval": len(a.Approvals) + 1, "of": law.RequiredApprovals})
	status, err := s.store.AddApproval(ctx, ap, e)
	if err != nil {
		return nil, nil, err
	}
	a.Approvals = append(a.Approvals, ap)
	a.Status = status
	if status != StatusApproved {
		return a, nil, nil
	}
	c, err := s.IssueApproved(ctx, officer.ID, a)
	return a, c, err
}

// IssueApproved sends an approved application to the CA.
func (s *Service) IssueApproved(ctx context.Context, actor string, a *Application) (*ca.Certificate, error) {
	if a.Status != StatusApproved {
		return nil, errkind.New(errkind.Conflict, law.L21_3_1, "application %s is %s, not approved", a.ID, a.Status)
	}
	p, ok := s.issuer.Profile(a.Profile)
	if !ok {
		return nil, errkind.New(errkind.Invalid, law.L11, "unknown certificate profile %q", a.Profile)
	}
	csr, err := parseCSR(a.CSR)
	if err != nil {
		return nil, err
	}
	c, err := s.issuer.Issue(ctx, ca.IssueRequest{ApplicationID: a.ID, Actor: actor, Request: issuance.Request{
		Profile: p, Subject: a.Subject, PublicKey: csr.PublicKey, KeyInQSCD: a.KeyInQSCD, LimitMAD: a.LimitMAD}})
	if err != nil {
		return nil, err
	}
	a.Status, a.CertificateSerial = StatusIssued, c.Serial
	return c, nil
}

// Reject closes a pending application with a reason.
func (s *Service) Reject(ctx context.Context, officer Person, id, reason string) error {
	if strings.TrimSpace(reason) == "" {
		return errkind.New(errkind.Invalid, law.L21_3_1, "a rejection needs a reason")
	}
	e := auditlog.NewEntry(s.clock.Now(), officer.ID, auditlog.ActionApplicationReject, id, map[string]string{"reason": reason})
	return s.store.SetApplicationStatus(ctx, id, StatusPending, StatusRejected, e)
}

// Application returns an application; the caller records the read and its ground (L-24).
func (s *Service) Application(ctx context.Context, id string) (*Application, error) {
	return s.store.Application(ctx, id)
}

// PublishTerms records a new version of the subscriber terms (L-21-3-3).
func (s *Service) PublishTerms(ctx context.Context, actor, version, text string) (*Terms, error) {
	if strings.TrimSpace(version) == "" || strings.TrimSpace(text) == "" {
		return nil, errkind.New(errkind.Invalid, law.L21_3_3, "terms need a version and a text")
	}
	h := sha256.Sum256([]byte(text))
	t := Terms{Version: version, SHA256: h[:], Text: text, PublishedAt: law.Timestamp(s.clock.Now())}
	e := auditlog.NewEntry(t.PublishedAt, actor, auditlog.ActionTermsPublish, version, map[string]string{"sha256": hex.EncodeToString(h[:])})
	if err := s.store.PublishTerms(ctx, t, e); err != nil {
		return nil, err
	}
	return &t, nil
}

// CurrentTerms returns the latest published terms.
func (s *Service) CurrentTerms(ctx context.Context) (*Terms, error) { return s.store.CurrentTerms(ctx) }
