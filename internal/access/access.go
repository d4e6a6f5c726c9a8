// Package access holds the CSP's users, their roles and their bearer tokens. Only
// a token's SHA-256 is stored; tokens are compared as hashes in constant time.
package access

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"strings"
	"time"

	"github.com/tawthiq/tawthiq/internal/auditlog"
	"github.com/tawthiq/tawthiq/internal/clock"
	"github.com/tawthiq/tawthiq/internal/errkind"
	"github.com/tawthiq/tawthiq/internal/law"
)

// TokenPrefix starts every tawthiq token, so that a leaked one is easy to find in logs.
const TokenPrefix = "tw_"

// Service manages users and tokens.
type Service struct {
	store Store
	clock clock.Clock
}

// New returns the access service.
func New(st Store, clk clock.Clock) *Service { return &Service{store: st, clock: clk} }

// ValidRole reports whether r is a known role.
func ValidRole(r Role) bool {
	switch r {
	case RoleAdmin, RoleRAOfficer, RoleAuditor, RoleHolder:
		return true
	}
	return false
}

// NewID returns a random identifier with the given prefix, e.g. "usr_3f2a...".
func NewID(prefix string) string {
	var b [12]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return prefix + hex.EncodeToString(b[:])
}

// CreateUser adds a user; actor is the admin's user ID (or "system" at set-up).
func (s *Service) CreateUser(ctx context.Context, actor string, u User) (*User, error) {
	u.Name = strings.TrimSpace(u.Name)
	if u.Name == "" {
		return nil, errkind.New(errkind.Invalid, law.L24, "a user needs a name")
	}
	if !ValidRole(u.Role) {
		return nil, errkind.New(errkind.Invalid, law.L24, "unknown role %q (admin, ra-officer, auditor, holder)", u.Role)
	}
	u.ID = NewID("usr_")
	u.CreatedAt = law.Timestamp(s.clock.Now())
	e := auditlog.NewEntry(u.CreatedAt, actor, auditlog.ActionUserCreate, u.ID, map[string]string{"role": string(u.Role)})
	if err := s.store.CreateUser(ctx, u, e); err != nil {
		return nil, err
	}
	return &u, nil
}

// IssueToken creates a bearer token for a user and returns it; it is never shown again.
func (s *Service) IssueToken(ctx context.Context, actor, userID string, ttl time.Duration) (string, error) {
	if _, err := s.store.User(ctx, userID); err != nil {
		return "", err
	}
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", errkind.Wrap(errkind.Internal, err, "generating a token")
	}
	tok := TokenPrefix + base64.RawURLEncoding.EncodeToString(b[:])
	now := law.Timestamp(s.clock.Now())
	t := Token{SHA256: hashToken(tok), UserID: userID, CreatedAt: now}
	if ttl > 0 {
		t.ExpiresAt = now.Add(ttl)
	}
	e := auditlog.NewEntry(now, actor, auditlog.ActionTokenCreate, userID, nil)
	if err := s.store.CreateToken(ctx, t, e); err != nil {
		return "", err
	}
	return tok, nil
}

// RevokeTokens revokes every token of a user at once (a lost device, a departure),
// recording who did it in the same transaction; it returns how many were revoked.
// Tokens issued afterwards work again.
func (s *Service) RevokeTokens(ctx context.Context, actor, userID string) (int, error) {
	if _, err := s.store.User(ctx, userID); err != nil {
		return 0, err
	}
	now := law.Timestamp(s.clock.Now())
	e := auditlog.NewEntry(now, actor, auditlog.ActionTokenRevoke, userID, nil)
	return s.store.RevokeTokens(ctx, userID, now, e)
}

// Authenticate returns the user a bearer token belongs to.
func (s *Service) Authenticate(ctx context.Context, token string) (*User, error) {
	if !strings.HasPrefix(token, TokenPrefix) || len(token) > 128 {
		return nil, errkind.New(errkind.Unauthorized, "", "no valid bearer token")
	}
	h := hashToken(token)
	t, u, err := s.store.TokenUser(ctx, h)
	if errkind.Is(err, errkind.NotFound) {
		return nil, errkind.New(errkind.Unauthorized, "", "no valid bearer token")
	}
	if err != nil {
		return nil, err
	}
	// The lookup was by hash; compare again in constant time so no path depends on the secret's bytes.
	if subtle.ConstantTimeCompare(t.SHA256, h) != 1 {
		return nil, errkind.New(errkind.Unauthorized, "", "no valid bearer token")
	}
	if !t.RevokedAt.IsZero() {
		return nil, errkind.New(errkind.Unauthorized, "", "the bearer token has been revoked")
	}
	if !t.ExpiresAt.IsZero() && !s.clock.Now().Before(t.ExpiresAt) {
		return nil, errkind.New(errkind.Unauthorized, "", "the bearer token has expired")
	}
	return u, nil
}

// Login records that a user opened a session (L-21-2: logins are in the audit log).
func (s *Service) Login(ctx context.Context, u *User, from string) error {
	return s.store.Append(ctx, auditlog.NewEntry(s.clock.Now(), u.ID, auditlog.ActionLogin, u.ID, map[string]string{"from": from}))
}

// RecordRead logs a read of personal data with its ground (L-24).
func (s *Service) RecordRead(ctx context.Context, reader *User, subject, ground string) error {
	if strings.TrimSpace(ground) == "" {
		return errkind.New(errkind.Invalid, law.L24, "a read of personal data needs its ground")
	}
	e := auditlog.NewEntry(s.clock.Now(), reader.ID, auditlog.ActionPersonalDataRead, subject, nil)
	e.Ground = ground
	return s.store.Append(ctx, e)
}

// Users lists every user.
func (s *Service) Users(ctx context.Context) ([]User, error) { return s.store.Users(ctx) }

func hashToken(tok string) []byte {
	h := sha256.Sum256([]byte(tok))
	return h[:]
}
