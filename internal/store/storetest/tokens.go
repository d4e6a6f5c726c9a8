package storetest

import (
	"crypto/sha256"
	"testing"
	"time"

	"github.com/tawthiq/tawthiq/internal/access"
	"github.com/tawthiq/tawthiq/internal/auditlog"
	"github.com/tawthiq/tawthiq/internal/errkind"
	"github.com/tawthiq/tawthiq/internal/law"
	"github.com/tawthiq/tawthiq/internal/store"
)

func tokenCases() []testCase {
	return []testCase{
		{"TestRevokeTokens_L21_2", testRevokeTokens},
	}
}

// testRevokeTokens: every token of one user is revoked at once, with its entry, and
// a token row changes only that once.
func testRevokeTokens(t *testing.T, db *store.DB) {
	ctx := t.Context()
	at := now()
	for _, id := range []string{"u1", "u2"} {
		must(t, db.CreateUser(ctx, access.User{ID: id, Name: id, Role: access.RoleRAOfficer, CreatedAt: at}, entry(at, auditlog.ActionUserCreate, id)))
	}
	hash := func(s string) []byte { h := sha256.Sum256([]byte(s)); return h[:] }
	toks := []access.Token{
		{SHA256: hash("a"), UserID: "u1", CreatedAt: at},
		{SHA256: hash("b"), UserID: "u1", CreatedAt: at, ExpiresAt: at.Add(time.Hour)},
		{SHA256: hash("c"), UserID: "u2", CreatedAt: at},
	}
	for _, tok := range toks {
		must(t, db.CreateToken(ctx, tok, entry(at, auditlog.ActionTokenCreate, tok.UserID)))
	}
	size, err := db.AuditSize(ctx)
	must(t, err)
	revokedAt := at.Add(time.Minute)
	n, err := db.RevokeTokens(ctx, "u1", revokedAt, entry(revokedAt, auditlog.ActionTokenRevoke, "u1"))
	must(t, err)
	equal(t, "tokens revoked", n, 2)
	after, err := db.AuditSize(ctx)
	must(t, err)
	equal(t, "audit entries added", after-size, int64(1))
	for _, tok := range toks {
		got, _, err := db.TokenUser(ctx, tok.SHA256)
		must(t, err)
		want := tok
		if tok.UserID == "u1" {
			want.RevokedAt = revokedAt
		}
		equal(t, "token "+tok.UserID, *got, want)
	}

	// A second revocation revokes nothing more and keeps the first time.
	later := revokedAt.Add(time.Minute)
	n, err = db.RevokeTokens(ctx, "u1", later, entry(later, auditlog.ActionTokenRevoke, "u1"))
	must(t, err)
	equal(t, "tokens revoked again", n, 0)
	got, _, err := db.TokenUser(ctx, toks[0].SHA256)
	must(t, err)
	equal(t, "first revocation time", got.RevokedAt, revokedAt)

	// The database itself keeps a revoked token revoked, and a token's other columns fixed.
	wantKind(t, exec(db, "UPDATE tokens SET revoked_ms = NULL WHERE user_id = 'u1'"), errkind.Forbidden, law.L21_2)
	wantKind(t, exec(db, "UPDATE tokens SET revoked_ms = ? WHERE user_id = 'u1'", later.UnixMilli()), errkind.Forbidden, law.L21_2)
	wantKind(t, exec(db, "UPDATE tokens SET user_id = 'u1' WHERE user_id = 'u2'"), errkind.Forbidden, law.L21_2)
	wantKind(t, exec(db, "UPDATE tokens SET created_ms = created_ms + 1, revoked_ms = ? WHERE user_id = 'u2'", later.UnixMilli()), errkind.Forbidden, law.L21_2)
}
