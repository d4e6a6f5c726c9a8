package access_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tawthiq/tawthiq/internal/access"
	"github.com/tawthiq/tawthiq/internal/auditlog"
	"github.com/tawthiq/tawthiq/internal/clock"
	"github.com/tawthiq/tawthiq/internal/errkind"
	"github.com/tawthiq/tawthiq/internal/law"
	"github.com/tawthiq/tawthiq/internal/store"
)

var start = time.Date(2025, 5, 14, 9, 30, 0, 0, time.UTC)

type env struct {
	db   *store.DB
	path string
	clk  *clock.Fake
	svc  *access.Service
}

func newEnv(t *testing.T) *env {
	t.Helper()
	clk := clock.NewFake(start)
	path := filepath.Join(t.TempDir(), "t.db")
	db, err := store.Open(context.Background(), path, clk)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return &env{db: db, path: path, clk: clk, svc: access.New(db, clk)}
}

func (e *env) size(t *testing.T) int64 {
	t.Helper()
	n, err := e.db.AuditSize(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// lastEntry returns the newest audit entry after checking the log grew by exactly one from before.
func (e *env) lastEntry(t *testing.T, before int64) auditlog.Entry {
	t.Helper()
	after := e.size(t)
	if after != before+1 {
		t.Fatalf("audit log grew from %d to %d entries, want one entry", before, after)
	}
	es, err := e.db.AuditEntries(context.Background(), before, after)
	if err != nil || len(es) != 1 {
		t.Fatalf("AuditEntries = %v, %v", es, err)
	}
	return es[0]
}

func (e *env) user(t *testing.T, role access.Role) *access.User {
	t.Helper()
	u, err := e.svc.CreateUser(context.Background(), "system", access.User{Name: "User " + string(role), Role: role})
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestCreateUser_L21_2(t *testing.T) {
	tests := []struct {
		name    string
		user    access.User
		wantErr string
	}{
		{"admin", access.User{Name: "Amina Admin", Role: access.RoleAdmin}, ""},
		{"RA officer with ID number", access.User{Name: "Youssef Officer", Role: access.RoleRAOfficer, IDNumber: "AB123", Email: "y@csp.ma"}, ""},
		{"auditor", access.User{Name: "Audrey", Role: access.RoleAuditor}, ""},
		{"holder, name trimmed", access.User{Name: "  Hamid  ", Role: access.RoleHolder}, ""},
		{"empty name refused", access.User{Name: "", Role: access.RoleAdmin}, "a user needs a name"},
		{"blank name refused", access.User{Name: " \t\n", Role: access.RoleAdmin}, "a user needs a name"},
		{"unknown role refused", access.User{Name: "Root", Role: "superuser"}, `unknown role "superuser"`},
		{"empty role refused", access.User{Name: "Nobody"}, `unknown role ""`},
		{"role is case-sensitive", access.User{Name: "A", Role: "Admin"}, `unknown role "Admin"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			ctx := context.Background()
			before := e.size(t)
			u, err := e.svc.CreateUser(ctx, "usr_admin", tc.user)
			if tc.wantErr != "" {
				if !errkind.Is(err, errkind.Invalid) || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("CreateUser error = %v, want invalid %q", err, tc.wantErr)
				}
				if got := errkind.As(err).Rule; got != law.L24 {
					t.Errorf("refusal cites %q, want %s", got, law.L24)
				}
				if e.size(t) != before {
					t.Error("a refused user left an audit entry")
				}
				if us, _ := e.svc.Users(ctx); len(us) != 0 {
					t.Errorf("a refused user was stored: %+v", us)
				}
				return
			}
			if err != nil {
				t.Fatalf("CreateUser: %v", err)
			}
			if !strings.HasPrefix(u.ID, "usr_") || len(u.ID) != len("usr_")+24 {
				t.Errorf("ID = %q, want usr_ and 24 hex digits", u.ID)
			}
			if u.Name != strings.TrimSpace(tc.user.Name) || u.Role != tc.user.Role || !u.CreatedAt.Equal(start) {
				t.Errorf("CreateUser = %+v", u)
			}
			stored, err := e.db.User(ctx, u.ID)
			if err != nil {
				t.Fatal(err)
			}
			if *stored != *u {
				t.Errorf("stored user %+v, returned %+v", stored, u)
			}
			ent := e.lastEntry(t, before)
			if ent.Action != auditlog.ActionUserCreate || ent.Actor != "usr_admin" || ent.Subject != u.ID || !ent.Time.Equal(start) {
				t.Errorf("audit entry = %+v, want user.create by usr_admin of %s", ent, u.ID)
			}
			var data map[string]string
			if err := json.Unmarshal(ent.Data, &data); err != nil || data["role"] != string(tc.user.Role) {
				t.Errorf("audit entry data = %s, want the role", ent.Data)
			}
		})
	}
	t.Run("IDs are unique", func(t *testing.T) {
		e := newEnv(t)
		seen := map[string]bool{}
		for range 20 {
			u := e.user(t, access.RoleHolder)
			if seen[u.ID] {
				t.Fatalf("ID %s issued twice", u.ID)
			}
			seen[u.ID] = true
		}
		us, err := e.svc.Users(context.Background())
		if err != nil || len(us) != 20 {
			t.Fatalf("Users = %d users, %v; want 20", len(us), err)
		}
	})
}

func TestIssueToken_L21_1(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	u := e.user(t, access.RoleRAOfficer)
	before := e.size(t)
	tok, err := e.svc.IssueToken(ctx, "usr_admin", u.ID, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(tok, access.TokenPrefix) || len(tok) != len(access.TokenPrefix)+43 {
		t.Fatalf("token %q: want tw_ and 43 base64url characters (32 bytes)", tok)
	}
	ent := e.lastEntry(t, before)
	if ent.Action != auditlog.ActionTokenCreate || ent.Actor != "usr_admin" || ent.Subject != u.ID {
		t.Errorf("audit entry = %+v, want token.create of %s", ent, u.ID)
	}

	t.Run("only the SHA-256 is stored", func(t *testing.T) {
		rows, err := e.db.SQL().QueryContext(ctx, "SELECT sha256, user_id, created_ms, expires_ms FROM tokens")
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		want := sha256.Sum256([]byte(tok))
		n := 0
		for rows.Next() {
			var h []byte
			var userID string
			var created, expires int64
			if err := rows.Scan(&h, &userID, &created, &expires); err != nil {
				t.Fatal(err)
			}
			n++
			if !bytes.Equal(h, want[:]) || userID != u.ID {
				t.Errorf("tokens row = %x %s, want %x %s", h, userID, want, u.ID)
			}
			if created != start.UnixMilli() || expires != start.Add(time.Hour).UnixMilli() {
				t.Errorf("tokens row times = %d, %d", created, expires)
			}
			for _, col := range [][]byte{h, []byte(userID)} {
				if bytes.Contains(col, []byte(tok)) || bytes.Contains(col, []byte(tok[len(access.TokenPrefix):])) {
					t.Error("the token text is in the tokens table")
				}
			}
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		if n != 1 {
			t.Fatalf("%d token rows, want 1", n)
		}
	})

	t.Run("the token text is nowhere on disk", func(t *testing.T) {
		secret := []byte(tok[len(access.TokenPrefix):])
		for _, p := range []string{e.path, e.path + "-wal"} {
			b, err := os.ReadFile(p)
			if err != nil {
				if os.IsNotExist(err) {
					continue
				}
				t.Fatal(err)
			}
			if bytes.Contains(b, secret) {
				t.Errorf("%s contains the token text", filepath.Base(p))
			}
		}
	})

	t.Run("each token is new", func(t *testing.T) {
		tok2, err := e.svc.IssueToken(ctx, "usr_admin", u.ID, 0)
		if err != nil {
			t.Fatal(err)
		}
		if tok2 == tok {
			t.Fatal("the same token was issued twice")
		}
	})

	t.Run("unknown user refused", func(t *testing.T) {
		before := e.size(t)
		_, err := e.svc.IssueToken(ctx, "usr_admin", "usr_nobody", time.Hour)
		if !errkind.Is(err, errkind.NotFound) {
			t.Fatalf("IssueToken for an unknown user = %v, want not-found", err)
		}
		if e.size(t) != before {
			t.Error("a refused token left an audit entry")
		}
	})
}

func TestAuthenticate(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	officer := e.user(t, access.RoleRAOfficer)
	auditor := e.user(t, access.RoleAuditor)
	hourTok, err := e.svc.IssueToken(ctx, "system", officer.ID, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	foreverTok, err := e.svc.IssueToken(ctx, "system", auditor.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	flip := []byte(hourTok)
	flip[len(flip)-1] ^= 1

	tests := []struct {
		name    string
		advance time.Duration // from the issue time
		token   string
		want    *access.User
		wantMsg string // for refusals
	}{
		{"good token", 0, hourTok, officer, ""},
		{"token without expiry", 0, foreverTok, auditor, ""},
		{"one millisecond before expiry", time.Hour - time.Millisecond, hourTok, officer, ""},
		{"token without expiry years later", 10 * 365 * 24 * time.Hour, foreverTok, auditor, ""},
		{"expired at the hour", time.Hour, hourTok, nil, "expired"},
		{"expired later", 48 * time.Hour, hourTok, nil, "expired"},
		{"wrong token", 0, access.TokenPrefix + strings.Repeat("A", 43), nil, "no valid bearer token"},
		{"one bit changed", 0, string(flip), nil, "no valid bearer token"},
		{"without prefix", 0, strings.TrimPrefix(hourTok, access.TokenPrefix), nil, "no valid bearer token"},
		{"prefix in upper case", 0, "TW_" + strings.TrimPrefix(hourTok, access.TokenPrefix), nil, "no valid bearer token"},
		{"overlong", 0, hourTok + strings.Repeat("x", 129-len(hourTok)), nil, "no valid bearer token"},
		{"very long", 0, access.TokenPrefix + strings.Repeat("x", 1<<16), nil, "no valid bearer token"},
		{"empty", 0, "", nil, "no valid bearer token"},
		{"prefix only", 0, access.TokenPrefix, nil, "no valid bearer token"},
		{"with Bearer scheme", 0, "Bearer " + hourTok, nil, "no valid bearer token"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e.clk.Set(start.Add(tc.advance))
			got, err := e.svc.Authenticate(ctx, tc.token)
			if tc.want == nil {
				if !errkind.Is(err, errkind.Unauthorized) || !strings.Contains(err.Error(), tc.wantMsg) {
					t.Fatalf("Authenticate = %+v, %v; want unauthorized %q", got, err, tc.wantMsg)
				}
				if got != nil {
					t.Fatalf("a refused token gave user %+v", got)
				}
				return
			}
			if err != nil {
				t.Fatalf("Authenticate: %v", err)
			}
			if *got != *tc.want {
				t.Fatalf("Authenticate = %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestLogin_L21_2(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	u := e.user(t, access.RoleAdmin)
	e.clk.Advance(5 * time.Minute)
	before := e.size(t)
	if err := e.svc.Login(ctx, u, "192.0.2.7"); err != nil {
		t.Fatal(err)
	}
	ent := e.lastEntry(t, before)
	var data map[string]string
	if err := json.Unmarshal(ent.Data, &data); err != nil {
		t.Fatal(err)
	}
	if ent.Action != auditlog.ActionLogin || ent.Actor != u.ID || ent.Subject != u.ID ||
		!ent.Time.Equal(start.Add(5*time.Minute)) || data["from"] != "192.0.2.7" || ent.Ground != "" {
		t.Fatalf("login entry = %+v (data %v)", ent, data)
	}
}

func TestRecordRead_L24(t *testing.T) {
	tests := []struct {
		name    string
		subject string
		ground  string
	}{
		{"application review", "app_123", "review of the application before approval"},
		{"judicial order", "app_456", "order of the court of first instance, Rabat, file 12/2025"},
		{"non-ASCII ground", "app_789", "طلب المعني بالأمر"},
	}
	e := newEnv(t)
	ctx := context.Background()
	officer := e.user(t, access.RoleRAOfficer)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e.clk.Advance(time.Second)
			before := e.size(t)
			if err := e.svc.RecordRead(ctx, officer, tc.subject, tc.ground); err != nil {
				t.Fatal(err)
			}
			ent := e.lastEntry(t, before)
			if ent.Action != auditlog.ActionPersonalDataRead || ent.Actor != officer.ID ||
				ent.Subject != tc.subject || ent.Ground != tc.ground || !ent.Time.Equal(e.clk.Now()) {
				t.Fatalf("read entry = %+v, want personal-data.read of %s by %s on %q", ent, tc.subject, officer.ID, tc.ground)
			}
		})
	}
}

func TestRecordReadWithoutGround_L24(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	officer := e.user(t, access.RoleRAOfficer)
	for _, ground := range []string{"", "  \t"} {
		t.Run(strconv.Quote(ground), func(t *testing.T) {
			before := e.size(t)
			err := e.svc.RecordRead(ctx, officer, "app_1", ground)
			if !errkind.Is(err, errkind.Invalid) || errkind.As(err).Rule != law.L24 {
				t.Fatalf("RecordRead without ground = %v, want invalid under %s", err, law.L24)
			}
			if e.size(t) != before {
				t.Fatal("a read without ground was recorded")
			}
		})
	}
}

func TestValidRole(t *testing.T) {
	tests := []struct {
		r    access.Role
		want bool
	}{
		{access.RoleAdmin, true}, {access.RoleRAOfficer, true}, {access.RoleAuditor, true}, {access.RoleHolder, true},
		{"", false}, {"root", false}, {"ra_officer", false},
	}
	for _, tc := range tests {
		t.Run(string(tc.r), func(t *testing.T) {
			if got := access.ValidRole(tc.r); got != tc.want {
				t.Fatalf("ValidRole(%q) = %v, want %v", tc.r, got, tc.want)
			}
		})
	}
}

func TestNewID(t *testing.T) {
	a, b := access.NewID("app_"), access.NewID("app_")
	if a == b || !strings.HasPrefix(a, "app_") || len(a) != 28 {
		t.Fatalf("NewID = %q, %q", a, b)
	}
}

func TestRevokeTokens_L21_2(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	officer := e.user(t, access.RoleRAOfficer)
	auditor := e.user(t, access.RoleAuditor)
	tok1, err := e.svc.IssueToken(ctx, "usr_admin", officer.ID, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	tok2, err := e.svc.IssueToken(ctx, "usr_admin", officer.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	other, err := e.svc.IssueToken(ctx, "usr_admin", auditor.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	e.clk.Advance(time.Minute)
	before := e.size(t)
	n, err := e.svc.RevokeTokens(ctx, "usr_admin", officer.ID)
	if err != nil || n != 2 {
		t.Fatalf("RevokeTokens = %d, %v; want 2", n, err)
	}
	ent := e.lastEntry(t, before)
	if ent.Action != auditlog.ActionTokenRevoke || ent.Actor != "usr_admin" || ent.Subject != officer.ID || !ent.Time.Equal(start.Add(time.Minute)) {
		t.Errorf("audit entry = %+v, want token.revoke of %s by usr_admin", ent, officer.ID)
	}
	for _, tok := range []string{tok1, tok2} {
		if u, err := e.svc.Authenticate(ctx, tok); !errkind.Is(err, errkind.Unauthorized) || !strings.Contains(err.Error(), "revoked") || u != nil {
			t.Errorf("Authenticate(revoked) = %+v, %v; want unauthorized, revoked", u, err)
		}
	}
	if u, err := e.svc.Authenticate(ctx, other); err != nil || u.ID != auditor.ID {
		t.Errorf("another user's token: %+v, %v", u, err)
	}

	t.Run("a token issued afterwards works", func(t *testing.T) {
		tok, err := e.svc.IssueToken(ctx, "usr_admin", officer.ID, 0)
		if err != nil {
			t.Fatal(err)
		}
		if u, err := e.svc.Authenticate(ctx, tok); err != nil || u.ID != officer.ID {
			t.Fatalf("Authenticate = %+v, %v", u, err)
		}
	})

	t.Run("unknown user refused without an entry", func(t *testing.T) {
		before := e.size(t)
		if _, err := e.svc.RevokeTokens(ctx, "usr_admin", "usr_nobody"); !errkind.Is(err, errkind.NotFound) {
			t.Fatalf("RevokeTokens(unknown) = %v, want not-found", err)
		}
		if e.size(t) != before {
			t.Error("a refused revocation left an audit entry")
		}
	})
}
