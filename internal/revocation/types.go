package revocation

import (
	"context"
	"time"

	"github.com/tawthiq/tawthiq/internal/auditlog"
	"github.com/tawthiq/tawthiq/internal/law"
)

// Revocation is the record of one revoked certificate (L-21-1, L-21-rev). Every time
// is UTC to the millisecond.
type Revocation struct {
	Serial         string // lower-case hex, as the CA records it
	CA             string
	Ground         law.Ground
	Reason         int       // RFC 5280 CRLReason, from the ground's rule
	RequestedAt    time.Time // when the request arrived
	RevokedAt      time.Time // the decision: the CRL's revocationDate
	InvalidityDate time.Time // key compromise: since when the key is unsafe; zero otherwise
	RequestedBy    string    // user ID, or RequestedBySecret
	Note           string
	OrderRef       string    // a judicial order's reference (L-21-3-7 b)
	CRLPublishedAt time.Time // first CRL that lists it; zero until then
	// OCSPPublishedAt is the first OCSP response that says revoked; zero until then.
	OCSPPublishedAt time.Time
}

// RequestedBySecret is RequestedBy when the holder used his revocation secret.
const RequestedBySecret = "revocation-secret"

// Role is the capacity in which someone asks for a revocation; the values are
// access.Role's.
type Role string

// Roles that may revoke.
const (
	RoleHolder  Role = "holder"
	RoleOfficer Role = "ra-officer"
	RoleAdmin   Role = "admin"
)

// Actor is whoever asks for a revocation, as the front end authenticated him.
type Actor struct {
	ID   string
	Role Role
}

// Request asks for the revocation of one certificate, or, for ca-compromise, of
// every certificate a CA issued.
type Request struct {
	Serial         string // the certificate; empty for ca-compromise
	CA             string // ca-compromise: the compromised CA
	Ground         law.Ground
	Note           string    // required of RA officers
	OrderRef       string    // required for a judicial order
	InvalidityDate time.Time // key compromise: optional, defaults to the request time
}

// Subject is what a revocation decision reads of a certificate.
type Subject struct {
	Serial      string
	CA          string
	Issued      bool   // the certificate was issued (not only reserved)
	SubmittedBy string // user ID that submitted the application: the holder
	SPKISHA256  []byte
	NotAfter    time.Time
	Revoked     bool
}

// Entry is a CRL entry as the CRL builder needs it.
type Entry struct {
	Serial         string
	RevokedAt      time.Time
	Reason         int
	InvalidityDate time.Time
}

// CRL is a signed, published CRL.
type CRL struct {
	CA         string
	Number     int64
	Name       string // what GET /crl/{Name}.crl serves: the CA's name, or "{ca}-{shard}"
	DER        []byte
	Entries    int
	ThisUpdate time.Time
	NextUpdate time.Time
}

// Store is what revocation needs from the database. Every write carries its audit entries.
type Store interface {
	// RevocationSubject returns what a decision needs of one certificate (errkind.NotFound if none).
	RevocationSubject(ctx context.Context, serial string) (*Subject, error)
	// Revoke records revocations in one transaction. A revoked certificate is refused
	// (errkind.Conflict, L-21-rev), as is one not issued. With compromisedKey set, the
	// key is recorded as compromised (L-25) in the same transaction, and the store
	// refuses (errkind.Conflict) if an issued, unrevoked certificate of that key is
	// missing from rs, so that none escapes.
	Revoke(ctx context.Context, rs []Revocation, compromisedKey []byte, entries []auditlog.Entry) error
	// Revocation returns one revocation (errkind.NotFound if the certificate is not revoked).
	Revocation(ctx context.Context, serial string) (*Revocation, error)
	// IssuedUnrevoked returns the issued, unrevoked serials of a CA (ca != "") or of a key.
	IssuedUnrevoked(ctx context.Context, ca string, spkiSHA256 []byte) ([]string, error)
	// RevocationSecretHash returns the SHA-256 of the revocation secret of the
	// certificate's application (errkind.NotFound if none).
	RevocationSecretHash(ctx context.Context, serial string) ([]byte, error)
	// CRLEntries returns every revocation of a CA decided at or before asOf,
	// whatever its certificate's expiry (L-21-rev), in serial order.
	CRLEntries(ctx context.Context, ca string, asOf time.Time) ([]Entry, error)
	// UnpublishedCAs returns the CAs with revocations no CRL lists yet.
	UnpublishedCAs(ctx context.Context) ([]string, error)
	// LastCRLNumber returns the highest CRL number of a CA, -1 if none.
	LastCRLNumber(ctx context.Context, ca string) (int64, error)
	// PutCRLs stores the CRLs of one publication and marks, in the same transaction,
	// the CA's revocations decided at or before asOf as published at publishedAt.
	PutCRLs(ctx context.Context, crls []CRL, asOf, publishedAt time.Time, entries []auditlog.Entry) error
	// LatestCRL returns the newest CRL published under name (errkind.NotFound if none).
	LatestCRL(ctx context.Context, name string) (*CRL, error)
	// TakeLease acquires or renews a named lease (false while another holder has it).
	TakeLease(ctx context.Context, name, holder string, ttl time.Duration) (bool, error)
}
