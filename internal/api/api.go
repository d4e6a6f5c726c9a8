// Package api is tawthiq's REST front end: routes with their roles in one table,
// bearer authentication, JSON decoding with limits, and the one place where an
// errkind.Error becomes an RFC 9457 problem (STYLE #4).
package api

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/tawthiq/tawthiq/internal/access"
	"github.com/tawthiq/tawthiq/internal/auditlog"
	"github.com/tawthiq/tawthiq/internal/ca"
	"github.com/tawthiq/tawthiq/internal/clock"
	"github.com/tawthiq/tawthiq/internal/directory"
	"github.com/tawthiq/tawthiq/internal/issuance"
	"github.com/tawthiq/tawthiq/internal/notify"
	"github.com/tawthiq/tawthiq/internal/ra"
	"github.com/tawthiq/tawthiq/internal/revocation"
)

// DefaultMaxBodyBytes bounds a request body when Deps.MaxBodyBytes is zero.
const DefaultMaxBodyBytes = 1 << 20

// Authenticator finds the user a bearer token belongs to.
type Authenticator interface {
	Authenticate(ctx context.Context, token string) (*access.User, error)
}

// Recorder writes the audit entries of logins and of reads of personal data (L-24).
type Recorder interface {
	Login(ctx context.Context, u *access.User, from string) error
	RecordRead(ctx context.Context, reader *access.User, subject, ground string) error
}

// UserAdmin manages users and their tokens.
type UserAdmin interface {
	CreateUser(ctx context.Context, actor string, u access.User) (*access.User, error)
	IssueToken(ctx context.Context, actor, userID string, ttl time.Duration) (string, error)
	RevokeTokens(ctx context.Context, actor, userID string) (int, error)
	Users(ctx context.Context) ([]access.User, error)
}

// Access is what the API needs of access control (satisfied by *access.Service).
type Access interface {
	Authenticator
	Recorder
	UserAdmin
}

// Registrar takes and decides applications.
type Registrar interface {
	Submit(ctx context.Context, by ra.Person, a ra.Application) (*ra.Application, error)
	Application(ctx context.Context, id string) (*ra.Application, error)
	Approve(ctx context.Context, officer ra.Person, id, note string) (*ra.Application, *ca.Certificate, error)
	IssueApproved(ctx context.Context, actor string, a *ra.Application) (*ca.Certificate, error)
	Reject(ctx context.Context, officer ra.Person, id, reason string) error
}

// TermsBook publishes and serves the subscriber terms (L-21-3-3).
type TermsBook interface {
	PublishTerms(ctx context.Context, actor, version, text string) (*ra.Terms, error)
	CurrentTerms(ctx context.Context) (*ra.Terms, error)
}

// RA is what the API needs of the registration authority (satisfied by *ra.Service).
type RA interface {
	Registrar
	TermsBook
}

// CA is what the API needs of the certification authority (satisfied by *ca.Service).
type CA interface {
	Certificate(ctx context.Context, serial string) (*ca.Certificate, error)
	Profiles() []issuance.Profile
}

// Checkpoints serves the latest signed head of the audit log (satisfied by *auditlog.Log).
type Checkpoints interface {
	Latest(ctx context.Context) (*auditlog.Checkpoint, error)
}

// AuditReader pages through the audit log (satisfied by an auditlog.Store).
type AuditReader interface {
	AuditSize(ctx context.Context) (int64, error)
	AuditEntries(ctx context.Context, from, to int64) ([]auditlog.Entry, error)
}

// AuditVerifier recomputes the audit log from its rows (L-21-2).
type AuditVerifier interface {
	Verify(ctx context.Context) (auditlog.Report, error)
}

// Revoker revokes certificates on the law's grounds and decides who may (L-21-1,
// L-21-3-7); the API only maps users to actors and errors to problems.
type Revoker interface {
	Revoke(ctx context.Context, by revocation.Actor, req revocation.Request) ([]revocation.Revocation, error)
	RevokeWithSecret(ctx context.Context, serial, secret string) ([]revocation.Revocation, error)
	Revocation(ctx context.Context, serial string) (*revocation.Revocation, error)
}

// CRLPublisher publishes a CA's CRLs at once, beside the schedule (L-21-rev).
type CRLPublisher interface {
	PublishCRL(ctx context.Context, ca string) ([]revocation.CRL, error)
}

// DirectorySearcher answers public directory searches, showing only consenting
// holders' certificates (L-21-2).
type DirectorySearcher interface {
	Search(ctx context.Context, by directory.Searcher, q directory.Query) ([]directory.Entry, error)
}

// NoticeLister lists a holder's notices (L-21-3-5, L-21-3-7).
type NoticeLister interface {
	Notices(ctx context.Context, holderID string) ([]notify.Notice, error)
}

// Compile-time checks that the services fit the API's interfaces (STYLE #2).
var (
	_ Access            = (*access.Service)(nil)
	_ RA                = (*ra.Service)(nil)
	_ CA                = (*ca.Service)(nil)
	_ Checkpoints       = (*auditlog.Log)(nil)
	_ AuditReader       = auditlog.Store(nil)
	_ Revoker           = (*revocation.Service)(nil)
	_ CRLPublisher      = (*revocation.Service)(nil)
	_ DirectorySearcher = (*directory.Service)(nil)
	_ NoticeLister      = (*notify.Service)(nil)
)

// Deps are the services behind the API. A nil service makes its endpoints answer
// 503, so a partly wired server fails closed.
type Deps struct {
	Access       Access
	RA           RA
	CA           CA
	Checkpoints  Checkpoints
	AuditEntries AuditReader
	Verifier     AuditVerifier
	Revocations  Revoker
	CRLs         CRLPublisher
	Directory    DirectorySearcher
	Notices      NoticeLister
	Authority    Authority      // the national authority's register (L-15)
	Insurance    InsuranceBook  // the CSP's liability insurance (L-21-3-6)
	Breaches     BreachBook     // security breaches (L-24, 43-20 art. 40)
	DataChanges  DataChangeDesk // holders' reports of changed data (L-25)
	Orders       Orders         // judicial orders and disclosures (L-21-3-7 b, L-24)
	Clock        clock.Clock
	Logger       *slog.Logger
	MaxBodyBytes int64 // 0: DefaultMaxBodyBytes
	// PublicRate and PublicBurst limit, per client address, the public endpoints whose
	// calls cost a durable write or guess a secret (the directory, revocation by secret).
	// 0: DefaultPublicRate and DefaultPublicBurst; a negative rate turns the limit off
	// (only behind a proxy that limits, since the limit keys on the peer address).
	PublicRate  float64 // requests per second
	PublicBurst int
	// CACerts returns the DER of a CA certificate by name ("root", "signature", "seal"...).
	CACerts func(name string) ([]byte, bool)
	// Seals applies organisations' seals; MaxDocumentBytes bounds a document
	// sent to be sealed (0: DefaultMaxDocumentBytes).
	Seals            Sealer
	MaxDocumentBytes int64
	// Extender extends signed files with the CSP's own TSA; MaxDocumentBytes bounds them too.
	Extender Extender
	// Validator validates signed files against the CSP's roots, records and trusted list;
	// MaxDocumentBytes bounds them too.
	Validator Validator
	// Contracts runs offers, orders and their acknowledgements (L-65-4, L-65-5, L-443).
	Contracts Contracts
	// Cessation runs the CSP's cessation of activity (L-23).
	Cessation CessationDesk
}

// New returns the HTTP handler of the API.
func New(d Deps) http.Handler {
	s := newServer(d)
	return s.handler(s.routes())
}

// server holds the dependencies; its only other state is the rate limiter.
type server struct {
	Deps
	limiter *limiter // nil: no limit
}

func newServer(d Deps) *server {
	if d.Clock == nil {
		d.Clock = clock.Real{}
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.MaxBodyBytes <= 0 {
		d.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if d.MaxDocumentBytes <= 0 {
		d.MaxDocumentBytes = DefaultMaxDocumentBytes
	}
	return &server{Deps: d, limiter: newLimiter(d.PublicRate, d.PublicBurst, maxLimitedClients)}
}
