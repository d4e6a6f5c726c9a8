package access

import (
	"context"
	"time"

	"github.com/tawthiq/tawthiq/internal/auditlog"
)

// Role is what a user may do.
type Role string

// The roles of a CSP's users.
const (
	RoleAdmin     Role = "admin"
	RoleRAOfficer Role = "ra-officer"
	RoleAuditor   Role = "auditor"
	RoleHolder    Role = "holder"
)

// User is a person with access to the CSP.
type User struct {
	ID        string
	Name      string
	Role      Role
	IDNumber  string // the person's own ID document number: an officer may not approve himself
	Email     string
	CreatedAt time.Time
}

// Token is a bearer credential; only its SHA-256 is stored.
type Token struct {
	SHA256    []byte
	UserID    string
	CreatedAt time.Time
	ExpiresAt time.Time // zero: no expiry
	RevokedAt time.Time // zero: not revoked
}

// Store is what access control needs from the database.
type Store interface {
	CreateUser(ctx context.Context, u User, e auditlog.Entry) error
	User(ctx context.Context, id string) (*User, error)
	Users(ctx context.Context) ([]User, error)
	CreateToken(ctx context.Context, t Token, e auditlog.Entry) error
	// TokenUser returns the token with this hash and its user (errkind.NotFound if none).
	TokenUser(ctx context.Context, sha256 []byte) (*Token, *User, error)
	// RevokeTokens revokes every token of the user not yet revoked, with e in the
	// same transaction, and returns how many it revoked.
	RevokeTokens(ctx context.Context, userID string, at time.Time, e auditlog.Entry) (int, error)
	// Append adds entries that record no other change (logins, reads of personal data).
	Append(ctx context.Context, e ...auditlog.Entry) error
}
