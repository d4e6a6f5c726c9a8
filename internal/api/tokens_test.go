package api

import (
	"context"
	"crypto/sha256"
	"errors"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tawthiq/tawthiq/client"
	"github.com/tawthiq/tawthiq/internal/access"
	"github.com/tawthiq/tawthiq/internal/auditlog"
	"github.com/tawthiq/tawthiq/internal/ca"
	"github.com/tawthiq/tawthiq/internal/clock"
	"github.com/tawthiq/tawthiq/internal/errkind"
	"github.com/tawthiq/tawthiq/internal/issuance"
	"github.com/tawthiq/tawthiq/internal/ra"
	"github.com/tawthiq/tawthiq/internal/store"
)

// realAccess is the API over the real access service on a fresh SQLite store.
type realAccess struct {
	h       http.Handler
	db      *store.DB
	clk     *clock.Fake
	svc     *access.Service
	admin   string // token
	officer *access.User
	offTok  string
}

func newRealAccess(t *testing.T, d Deps) *realAccess {
	t.Helper()
	ctx := context.Background()
	clk := clock.NewFake(t0)
	db, err := store.Open(ctx, filepath.Join(t.TempDir(), "t.db"), clk)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	e := &realAccess{db: db, clk: clk, svc: access.New(db, clk)}
	admin, err := e.svc.CreateUser(ctx, "system", access.User{Name: "Amina Admin", Role: access.RoleAdmin})
	if err != nil {
		t.Fatal(err)
	}
	if e.admin, err = e.svc.IssueToken(ctx, "system", admin.ID, 0); err != nil {
		t.Fatal(err)
	}
	if e.officer, err = e.svc.CreateUser(ctx, admin.ID, access.User{Name: "Omar Officer", Role: access.RoleRAOfficer, IDNumber: "OO1"}); err != nil {
		t.Fatal(err)
	}
	if e.offTok, err = e.svc.IssueToken(ctx, admin.ID, e.officer.ID, time.Hour); err != nil {
		t.Fatal(err)
	}
	d.Access, d.Clock = e.svc, clk
	e.h = New(d)
	return e
}

// entriesSince returns the audit entries appended since size.
func (e *realAccess) entriesSince(t *testing.T, size int64) []auditlog.Entry {
	t.Helper()
	n, err := e.db.AuditSize(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	es, err := e.db.AuditEntries(context.Background(), size, n)
	if err != nil {
		t.Fatal(err)
	}
	return es
}

func (e *realAccess) size(t *testing.T) int64 {
	t.Helper()
	n, err := e.db.AuditSize(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// tokenExpiry is the stored expiry of a token.
func (e *realAccess) tokenExpiry(t *testing.T, tok string) time.Time {
	t.Helper()
	h := sha256.Sum256([]byte(tok))
	got, _, err := e.db.TokenUser(context.Background(), h[:])
	if err != nil {
		t.Fatal(err)
	}
	return got.ExpiresAt
}

func TestIssueTokenDefaultTTL(t *testing.T) {
	e := newRealAccess(t, Deps{})
	path := "/api/v1/users/" + e.officer.ID + "/tokens"
	for _, tc := range []struct {
		name, body string
		want       time.Duration
	}{
		{"no body", "", DefaultTokenTTL},
		{"empty object", "{}", DefaultTokenTTL},
		{"zero", `{"ttl_seconds":0}`, DefaultTokenTTL},
		{"an hour", `{"ttl_seconds":3600}`, time.Hour},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ct := "application/json"
			if tc.body == "" {
				ct = ""
			}
			w := do(e.h, "POST", path, e.admin, ct, strings.NewReader(tc.body))
			if w.Code != http.StatusCreated {
				t.Fatalf("status %d: %s", w.Code, w.Body)
			}
			tok := decodeBody[client.Token](t, w.Body).Token
			if got := e.tokenExpiry(t, tok); !got.Equal(t0.Add(tc.want).Truncate(time.Millisecond)) {
				t.Errorf("expires %v, want %v", got, t0.Add(tc.want))
			}
			if w := do(e.h, "GET", "/api/v1/me", tok, "", nil); w.Code != http.StatusOK {
				t.Errorf("the new token: status %d", w.Code)
			}
		})
	}
	if DefaultTokenTTL != 90*24*time.Hour {
		t.Errorf("DefaultTokenTTL %v", DefaultTokenTTL)
	}
	for _, body := range []string{`{"ttl_seconds":-1}`, `{"ttl_seconds":315360001}`} {
		if w := do(e.h, "POST", path, e.admin, "application/json", strings.NewReader(body)); w.Code != http.StatusBadRequest {
			t.Errorf("%s: status %d, want 400", body, w.Code)
		}
	}
}

func TestRevokeTokensEndpoint(t *testing.T) {
	e := newRealAccess(t, Deps{})
	ctx := context.Background()
	second, err := e.svc.IssueToken(ctx, "system", e.officer.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	path := "/api/v1/users/" + e.officer.ID + "/tokens"
	if w := do(e.h, "DELETE", path, e.offTok, "", nil); w.Code != http.StatusForbidden {
		t.Fatalf("an officer revoking tokens: status %d, want 403", w.Code)
	}
	before := e.size(t)
	w := do(e.h, "DELETE", path, e.admin, "", nil)
	if w.Code != http.StatusOK {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	if got := decodeBody[client.TokenRevocation](t, w.Body); got.User != e.officer.ID || got.Revoked != 2 {
		t.Errorf("answer %+v", got)
	}
	es := e.entriesSince(t, before)
	if len(es) != 1 || es[0].Action != auditlog.ActionTokenRevoke || es[0].Subject != e.officer.ID || es[0].Actor == "" || es[0].Actor == e.officer.ID {
		t.Errorf("audit entries %+v, want one token.revoke by the admin", es)
	}
	for _, tok := range []string{e.offTok, second} {
		w := do(e.h, "GET", "/api/v1/me", tok, "", nil)
		if w.Code != http.StatusUnauthorized {
			t.Fatalf("a revoked token: status %d, want 401", w.Code)
		}
		if p := readProblem(t, w); !strings.Contains(p.Detail, "revoked") {
			t.Errorf("problem %+v", p)
		}
	}
	if w := do(e.h, "GET", "/api/v1/me", e.admin, "", nil); w.Code != http.StatusOK {
		t.Errorf("the admin's own token: status %d", w.Code)
	}
	if w := do(e.h, "DELETE", "/api/v1/users/usr_nobody/tokens", e.admin, "", nil); w.Code != http.StatusNotFound {
		t.Errorf("unknown user: status %d, want 404", w.Code)
	}
	// A token issued after the revocation works.
	w = do(e.h, "POST", path, e.admin, "", nil)
	if w.Code != http.StatusCreated {
		t.Fatalf("status %d", w.Code)
	}
	if w := do(e.h, "GET", "/api/v1/me", decodeBody[client.Token](t, w.Body).Token, "", nil); w.Code != http.StatusOK {
		t.Errorf("a new token after the revocation: status %d", w.Code)
	}
}

// approvingRA approves and issues app_9, an application full of personal data.
type approvingRA struct {
	RA
}

func personalApplication(st ra.Status) *ra.Application {
	return &ra.Application{ID: "app_9", SubmittedBy: "usr_holder", Status: st, Profile: "qualified-signature",
		Subject:      issuance.Subject{GivenName: "Amina", Surname: "Alaoui"},
		Identity:     ra.IDDocument{Number: "BE123456"},
		ContactEmail: "amina@example.ma", ContactPhone: "+212600000000",
		Approvals: []ra.Approval{{Officer: "usr_a", At: t0}, {Officer: "usr_b", At: t0}}}
}

var issuedCert = &ca.Certificate{Serial: "4a", CA: "signature", Subject: "CN=Amina Alaoui", Status: ca.StatusIssued, NotBefore: t0, NotAfter: t0.AddDate(2, 0, 0)}

func (approvingRA) Approve(_ context.Context, _ ra.Person, id, _ string) (*ra.Application, *ca.Certificate, error) {
	if id != "app_9" {
		return nil, nil, errkind.New(errkind.NotFound, "", "no application %q", id)
	}
	return personalApplication(ra.StatusIssued), issuedCert, nil
}

func (approvingRA) Application(_ context.Context, id string) (*ra.Application, error) {
	if id != "app_9" {
		return nil, errkind.New(errkind.NotFound, "", "no application %q", id)
	}
	return personalApplication(ra.StatusApproved), nil
}

func (approvingRA) IssueApproved(_ context.Context, _ string, _ *ra.Application) (*ca.Certificate, error) {
	return issuedCert, nil
}

// TestDecisionAnswersRecordTheRead_L24: the answers of approve and issue show the
// application again, so each records a personal-data read with the officer's ground.
func TestDecisionAnswersRecordTheRead_L24(t *testing.T) {
	e := newRealAccess(t, Deps{RA: approvingRA{}})
	for _, tc := range []struct{ name, path, body string }{
		{"approve", "/api/v1/applications/app_9/approvals", `{"note":"checked"}`},
		{"issue", "/api/v1/applications/app_9/issue", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := e.size(t)
			w := do(e.h, "POST", tc.path, e.offTok, "application/json", strings.NewReader(tc.body))
			if w.Code != http.StatusOK {
				t.Fatalf("status %d: %s", w.Code, w.Body)
			}
			if res := decodeBody[client.ApprovalResult](t, w.Body); res.Application.Identity.Number != "BE123456" || res.Certificate == nil {
				t.Fatalf("answer %+v", res)
			}
			es := e.entriesSince(t, before)
			if len(es) != 1 || es[0].Action != auditlog.ActionPersonalDataRead || es[0].Actor != e.officer.ID ||
				es[0].Subject != "app_9" || es[0].Ground != GroundRAOfficer {
				t.Errorf("audit entries %+v, want one personal-data.read of app_9 by the officer, ground %s", es, GroundRAOfficer)
			}
		})
	}
}

// failingReads cannot record reads of personal data.
type failingReads struct{ fakeAccess }

func (failingReads) RecordRead(context.Context, *access.User, string, string) error {
	return errors.New("disk full")
}

// TestDecisionWithoutReadRecord_L24: when the read cannot be recorded nothing
// personal is shown, and the answer says the decision stands.
func TestDecisionWithoutReadRecord_L24(t *testing.T) {
	h := New(Deps{Access: failingReads{}, RA: approvingRA{}})
	for _, tc := range []struct{ path, body, done string }{
		{"/api/v1/applications/app_9/approvals", `{}`, "the approval was recorded"},
		{"/api/v1/applications/app_9/issue", "", "the certificate was issued"},
	} {
		w := do(h, "POST", tc.path, tokenFor(access.RoleRAOfficer), "application/json", strings.NewReader(tc.body))
		if w.Code != http.StatusServiceUnavailable {
			t.Fatalf("%s: status %d, want 503", tc.path, w.Code)
		}
		p := readProblem(t, w)
		if !strings.HasPrefix(p.Detail, tc.done) || p.Rule != "L-24" {
			t.Errorf("%s: problem %+v", tc.path, p)
		}
		for _, personal := range []string{"BE123456", "amina@example.ma", "Alaoui", "+2126"} {
			if strings.Contains(w.Body.String(), personal) {
				t.Errorf("%s: the answer shows %q: %s", tc.path, personal, w.Body)
			}
		}
	}
}
