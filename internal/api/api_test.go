package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/tawthiq/tawthiq/client"
	"github.com/tawthiq/tawthiq/internal/access"
	"github.com/tawthiq/tawthiq/internal/errkind"
	"github.com/tawthiq/tawthiq/internal/law"
)

// fakeAccess answers only Authenticate: the real access.Service needs a database,
// which the lead's end-to-end tests in internal/app provide. Any other method
// panics (nil embedded interface), so these tests prove no handler got that far.
type fakeAccess struct {
	Access
}

var testUsers = map[string]*access.User{
	"tw_admin":   {ID: "usr_admin", Name: "Amina Admin", Role: access.RoleAdmin, IDNumber: "AA1", Email: "a@example.ma"},
	"tw_officer": {ID: "usr_officer", Name: "Omar Officer", Role: access.RoleRAOfficer, IDNumber: "OO1"},
	"tw_auditor": {ID: "usr_auditor", Name: "Aicha Auditor", Role: access.RoleAuditor, IDNumber: "AU1"},
	"tw_holder":  {ID: "usr_holder", Name: "Hassan Holder", Role: access.RoleHolder, IDNumber: "HH1"},
}

func (fakeAccess) Authenticate(_ context.Context, token string) (*access.User, error) {
	if u, ok := testUsers[token]; ok {
		c := *u
		return &c, nil
	}
	return nil, errkind.New(errkind.Unauthorized, "", "no valid bearer token")
}

func tokenFor(r access.Role) string {
	for tok, u := range testUsers {
		if u.Role == r {
			return tok
		}
	}
	panic("no test user with role " + string(r))
}

func testHandler(t *testing.T, d Deps) (http.Handler, *bytes.Buffer) {
	t.Helper()
	var logs bytes.Buffer
	d.Access = fakeAccess{}
	d.Logger = slog.New(slog.NewJSONHandler(&logs, nil))
	return New(d), &logs
}

func do(h http.Handler, method, path, token, contentType string, body io.Reader) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, path, body)
	if token != "" {
		r.Header.Set("Authorization", "Bearer "+token)
	}
	if contentType != "" {
		r.Header.Set("Content-Type", contentType)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func readProblem(t *testing.T, w *httptest.ResponseRecorder) client.Problem {
	t.Helper()
	if ct := w.Header().Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("Content-Type %q, want application/problem+json (body %s)", ct, w.Body)
	}
	var p client.Problem
	if err := json.Unmarshal(w.Body.Bytes(), &p); err != nil {
		t.Fatalf("problem body: %v", err)
	}
	if p.Status != w.Code {
		t.Errorf("problem status %d, HTTP status %d", p.Status, w.Code)
	}
	return p
}

func TestProblemMapping(t *testing.T) {
	const secret = "dial tcp 10.0.0.5:5432: password authentication failed for user tawthiq"
	tests := []struct {
		kind   errkind.Kind
		status int
	}{
		{errkind.Invalid, 400},
		{errkind.NotFound, 404},
		{errkind.Conflict, 409},
		{errkind.Unauthorized, 401},
		{errkind.Forbidden, 403},
		{errkind.Unavailable, 503},
		{errkind.TooLarge, 413},
		{errkind.Internal, 500},
	}
	for _, tt := range tests {
		t.Run(tt.kind.String(), func(t *testing.T) {
			err := &errkind.Error{Kind: tt.kind, Rule: law.L21_3_3, Detail: "the applicant must accept the terms", Err: errors.New(secret)}
			s := newServer(Deps{Logger: slog.New(slog.DiscardHandler)})
			r := httptest.NewRequest("GET", "/api/v1/x", nil)
			w := httptest.NewRecorder()
			s.writeProblem(w, r, err)
			if w.Code != tt.status {
				t.Fatalf("status %d, want %d", w.Code, tt.status)
			}
			p := readProblem(t, w)
			if p.Type != ProblemTypeBase+tt.kind.String() || p.Title == "" || p.Instance != "/api/v1/x" {
				t.Errorf("type %q title %q instance %q", p.Type, p.Title, p.Instance)
			}
			if strings.Contains(w.Body.String(), "10.0.0.5") {
				t.Errorf("the cause leaked: %s", w.Body)
			}
			if tt.kind == errkind.Internal {
				if strings.Contains(p.Detail, "applicant") || p.Rule != "" {
					t.Errorf("internal error shows more than a generic line: %+v", p)
				}
				return
			}
			if p.Rule != "L-21-3-3" || p.RuleText != law.Describe(law.L21_3_3).Duty || p.RuleText == "" {
				t.Errorf("rule %q rule_text %q", p.Rule, p.RuleText)
			}
			if p.Detail != "the applicant must accept the terms" {
				t.Errorf("detail %q", p.Detail)
			}
			if got := w.Header().Get("WWW-Authenticate"); (tt.status == 401) != (got != "") {
				t.Errorf("WWW-Authenticate %q on status %d", got, tt.status)
			}
		})
	}
	t.Run("plain error is internal", func(t *testing.T) {
		p := problem(errors.New(secret), "/x")
		if p.Status != 500 || strings.Contains(p.Detail, "password") {
			t.Errorf("%+v", p)
		}
	})
	t.Run("unknown kind is internal", func(t *testing.T) {
		p := problem(&errkind.Error{Kind: errkind.Kind(99), Detail: "x"}, "/x")
		if p.Status != 500 || p.Detail == "x" {
			t.Errorf("%+v", p)
		}
	})
}

// pathFor fills a pattern's wildcards so the request matches the route.
func pathFor(pattern string) string {
	return regexp.MustCompile(`\{[^}]+\}`).ReplaceAllStringFunc(pattern, func(w string) string {
		if w == "{name}" {
			return "root.crt"
		}
		return "abc123"
	})
}

func TestRoutesDeclareAccess(t *testing.T) {
	seen := map[string]bool{}
	for _, rt := range newServer(Deps{}).routes() {
		key := rt.Method + " " + rt.Pattern
		t.Run(key, func(t *testing.T) {
			if seen[key] {
				t.Fatal("route declared twice")
			}
			seen[key] = true
			if rt.Public == (len(rt.Roles) > 0) {
				t.Fatalf("a route is either public or has roles: public=%v roles=%v", rt.Public, rt.Roles)
			}
			for _, r := range rt.Roles {
				if !access.ValidRole(r) {
					t.Errorf("unknown role %q", r)
				}
			}
			// The one public write: the holder's revocation by secret, without an account (L-21-1).
			if rt.Public && rt.Method != http.MethodGet && key != "POST /api/v1/revocations" {
				t.Errorf("public routes only read")
			}
			if rt.Handle == nil {
				t.Error("no handler")
			}
		})
	}
}

func TestAuthentication(t *testing.T) {
	h, _ := testHandler(t, Deps{})
	for _, rt := range newServer(Deps{}).routes() {
		if rt.Public {
			continue
		}
		path := pathFor(rt.Pattern)
		t.Run(rt.Method+" "+rt.Pattern, func(t *testing.T) {
			for _, tc := range []struct{ name, header string }{
				{"missing", ""},
				{"unknown token", "Bearer tw_nobody"},
				{"wrong scheme", "Basic dXNlcjpwYXNz"},
				{"empty bearer", "Bearer "},
			} {
				r := httptest.NewRequest(rt.Method, path, strings.NewReader("{}"))
				r.Header.Set("Content-Type", "application/json")
				if tc.header != "" {
					r.Header.Set("Authorization", tc.header)
				}
				w := httptest.NewRecorder()
				h.ServeHTTP(w, r)
				if w.Code != http.StatusUnauthorized {
					t.Fatalf("%s: status %d, want 401", tc.name, w.Code)
				}
				if !strings.HasPrefix(w.Header().Get("WWW-Authenticate"), "Bearer ") {
					t.Errorf("%s: WWW-Authenticate %q", tc.name, w.Header().Get("WWW-Authenticate"))
				}
				if p := readProblem(t, w); p.Rule == "" || p.RuleText == "" {
					t.Errorf("%s: 401 names no rule: %+v", tc.name, p)
				}
			}
		})
	}
}

func TestAuthorization(t *testing.T) {
	h, _ := testHandler(t, Deps{})
	for _, rt := range newServer(Deps{}).routes() {
		if rt.Public {
			continue
		}
		for _, role := range []access.Role{access.RoleAdmin, access.RoleRAOfficer, access.RoleAuditor, access.RoleHolder} {
			if slices.Contains(rt.Roles, role) {
				continue
			}
			t.Run(rt.Method+" "+rt.Pattern+" as "+string(role), func(t *testing.T) {
				w := do(h, rt.Method, pathFor(rt.Pattern), tokenFor(role), "application/json", strings.NewReader("{}"))
				if w.Code != http.StatusForbidden {
					t.Fatalf("status %d, want 403", w.Code)
				}
				p := readProblem(t, w)
				if !strings.Contains(p.Detail, string(rt.Roles[0])) {
					t.Errorf("403 does not name the role needed: %q", p.Detail)
				}
				if p.Rule == "" {
					t.Error("403 names no rule")
				}
			})
		}
	}
}

// bigApplication is a JSON application of at least n bytes.
func bigApplication(n int) string {
	return `{"profile":"` + strings.Repeat("a", n) + `"}`
}

func TestRequestBodies(t *testing.T) {
	h, _ := testHandler(t, Deps{MaxBodyBytes: 4096})
	holder, admin, officer := tokenFor(access.RoleHolder), tokenFor(access.RoleAdmin), tokenFor(access.RoleRAOfficer)
	tests := []struct {
		name        string
		path, token string
		contentType string
		body        string
		status      int
		detail      string // a substring the detail must hold
	}{
		{"too large", "/api/v1/applications", holder, "application/json", bigApplication(5000), 413, "4096"},
		{"unknown field", "/api/v1/applications", holder, "application/json", `{"profile":"x","is_admin":true}`, 400, `"is_admin"`},
		{"unknown nested field", "/api/v1/applications", holder, "application/json", `{"identity":{"numero":"1"}}`, 400, `"numero"`},
		{"response-only field", "/api/v1/applications", holder, "application/json", `{"status":"issued"}`, 400, `"status"`},
		{"wrong type", "/api/v1/applications", holder, "application/json", `{"limit_mad":"lots"}`, 400, "limit_mad"},
		{"bad time", "/api/v1/applications", holder, "application/json", `{"terms_accepted_at":"yesterday"}`, 400, "RFC 3339"},
		{"bad hex", "/api/v1/applications", holder, "application/json", `{"identity":{"evidence_sha256":"zz"}}`, 400, "identity.evidence_sha256"},
		{"identifier from applicant", "/api/v1/applications", holder, "application/json", `{"subject":{"serial_number":"IDCMA-X"}}`, 400, "serial_number"},
		{"not JSON", "/api/v1/applications", holder, "application/json", `{"profile":`, 400, "JSON"},
		{"two objects", "/api/v1/terms", admin, "application/json", `{"version":"1","text":"t"}{}`, 400, "single"},
		{"empty", "/api/v1/users", admin, "application/json", ``, 400, "empty"},
		{"form content type", "/api/v1/users", admin, "application/x-www-form-urlencoded", `name=x`, 400, "application/json"},
		{"no content type", "/api/v1/applications/a1/rejection", officer, "", `{"reason":"x"}`, 400, "application/json"},
		{"too large token request", "/api/v1/users/u1/tokens", admin, "application/json", `{"ttl_seconds":` + strings.Repeat("1", 5000) + `}`, 413, ""},
		{"negative ttl", "/api/v1/users/u1/tokens", admin, "application/json", `{"ttl_seconds":-1}`, 400, "ttl_seconds"},
		{"revocation unknown field", "/api/v1/certificates/4a/revocation", holder, "application/json", `{"ground":"holder-request","reason":1}`, 400, `"reason"`},
		{"revocation bad time", "/api/v1/certificates/4a/revocation", holder, "application/json", `{"ground":"key-compromise","invalidity_date":"yesterday"}`, 400, "RFC 3339"},
		{"revocation wrong type", "/api/v1/certificates/4a/revocation", officer, "application/json", `{"ground":["judicial-order"]}`, 400, "ground"},
		{"revocation form", "/api/v1/certificates/4a/revocation", holder, "application/x-www-form-urlencoded", `ground=holder-request`, 400, "application/json"},
		{"revocation too large", "/api/v1/certificates/4a/revocation", officer, "application/json", `{"note":"` + strings.Repeat("n", 5000) + `"}`, 413, "4096"},
		{"secret unknown field", "/api/v1/revocations", "", "application/json", `{"serial":"4a","secret":"x","ground":"key-compromise"}`, 400, `"ground"`},
		{"secret two objects", "/api/v1/revocations", "", "application/json", `{"serial":"4a","secret":"x"}{}`, 400, "single"},
		{"secret empty", "/api/v1/revocations", "", "application/json", ``, 400, "empty"},
		{"secret no content type", "/api/v1/revocations", "", "", `{"serial":"4a","secret":"x"}`, 400, "application/json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := do(h, "POST", tt.path, tt.token, tt.contentType, strings.NewReader(tt.body))
			if w.Code != tt.status {
				t.Fatalf("status %d, want %d: %s", w.Code, tt.status, w.Body)
			}
			if p := readProblem(t, w); !strings.Contains(p.Detail, tt.detail) {
				t.Errorf("detail %q does not mention %q", p.Detail, tt.detail)
			}
		})
	}
}

func TestPublicAndHeaders(t *testing.T) {
	der := []byte{0x30, 0x03, 0x02, 0x01, 0x01}
	h, logs := testHandler(t, Deps{CACerts: func(name string) ([]byte, bool) {
		if name == "root" {
			return der, true
		}
		return nil, false
	}})
	tests := []struct {
		name, method, path, token string
		status                    int
		contentType               string
		header, value             string
	}{
		{"health", "GET", "/healthz", "", 200, "application/json", "X-Content-Type-Options", "nosniff"},
		{"ca cert", "GET", "/ca/root.crt", "", 200, "application/pkix-cert", "Cache-Control", "public, max-age=86400"},
		{"ca cert head", "HEAD", "/ca/root.crt", "", 200, "application/pkix-cert", "", ""},
		{"unknown ca", "GET", "/ca/nope.crt", "", 404, "application/problem+json", "", ""},
		{"ca without .crt", "GET", "/ca/root", "", 404, "application/problem+json", "", ""},
		{"api no-store", "GET", "/api/v1/me", tokenFor(access.RoleHolder), 200, "application/json", "Cache-Control", "no-store"},
		{"unknown path", "GET", "/api/v1/nothing", "", 404, "application/problem+json", "Cache-Control", "no-store"},
		{"wrong method", "DELETE", "/api/v1/users", tokenFor(access.RoleAdmin), 400, "application/problem+json", "Allow", "GET, POST, HEAD"},
		{"profiles without a CA fails closed", "GET", "/api/v1/profiles", "", 503, "application/problem+json", "", ""},
		{"checkpoint without a log fails closed", "GET", "/checkpoint", "", 503, "application/problem+json", "", ""},
		{"audit entries without a reader", "GET", "/api/v1/audit/entries", tokenFor(access.RoleAuditor), 503, "application/problem+json", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := do(h, tt.method, tt.path, tt.token, "", nil)
			if w.Code != tt.status {
				t.Fatalf("status %d, want %d: %s", w.Code, tt.status, w.Body)
			}
			if got := w.Header().Get("Content-Type"); got != tt.contentType {
				t.Errorf("Content-Type %q, want %q", got, tt.contentType)
			}
			if tt.header != "" && w.Header().Get(tt.header) != tt.value {
				t.Errorf("%s %q, want %q", tt.header, w.Header().Get(tt.header), tt.value)
			}
			if w.Header().Get("X-Content-Type-Options") != "nosniff" {
				t.Error("no nosniff")
			}
		})
	}
	t.Run("ca cert body", func(t *testing.T) {
		if w := do(h, "GET", "/ca/root.crt", "", "", nil); !bytes.Equal(w.Body.Bytes(), der) {
			t.Errorf("body %x", w.Body.Bytes())
		}
	})
	t.Run("log holds no token or personal data", func(t *testing.T) {
		for _, s := range []string{"tw_holder", "tw_admin", "Hassan", "HH1", "a@example.ma"} {
			if strings.Contains(logs.String(), s) {
				t.Errorf("log holds %q:\n%s", s, logs)
			}
		}
		if !strings.Contains(logs.String(), `"route":"GET /api/v1/me"`) {
			t.Errorf("log lacks the route:\n%s", logs)
		}
	})
}

func TestAuditRange(t *testing.T) {
	tests := []struct {
		query    string
		size     int64
		from, to int64
		wantErr  bool
	}{
		{"", 10, 0, 10, false},
		{"from=3", 10, 3, 10, false},
		{"from=3&to=5", 10, 3, 5, false},
		{"from=20", 10, 10, 10, false},
		{"from=0", 5000, 0, auditPageMax, false},
		{"from=0&to=999999", 5000, 0, auditPageMax, false},
		{"from=-1", 10, 0, 0, true},
		{"from=x", 10, 0, 0, true},
		{"from=5&to=2", 10, 0, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			q, err := url.ParseQuery(tt.query)
			if err != nil {
				t.Fatal(err)
			}
			from, to, err := auditRange(q, tt.size)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err %v", err)
			}
			if err == nil && (from != tt.from || to != tt.to) {
				t.Errorf("got [%d,%d), want [%d,%d)", from, to, tt.from, tt.to)
			}
			if err != nil && !errkind.Is(err, errkind.Invalid) {
				t.Errorf("kind of %v", err)
			}
		})
	}
}

// The client is the other half of the wire format: its errors are the server's problems.
func TestClientSeesProblems(t *testing.T) {
	h, _ := testHandler(t, Deps{})
	srv := httptest.NewServer(h)
	defer srv.Close()
	ctx := context.Background()

	if hl, err := client.New(srv.URL, "", srv.Client()).Health(ctx); err != nil || hl.Status != "ok" {
		t.Fatalf("health: %v %v", hl, err)
	}
	u, err := client.New(srv.URL, "tw_officer", srv.Client()).Me(ctx)
	if err != nil || u.ID != "usr_officer" || u.Role != "ra-officer" {
		t.Fatalf("me: %+v %v", u, err)
	}
	_, err = client.New(srv.URL, "tw_wrong", srv.Client()).Me(ctx)
	var p *client.Problem
	if !errors.As(err, &p) || p.Status != 401 || p.Rule != "L-24" {
		t.Fatalf("bad token: %v", err)
	}
	if strings.Contains(err.Error(), "\n") || !strings.HasPrefix(err.Error(), "L-24: ") {
		t.Errorf("Error() = %q", err.Error())
	}
	_, err = client.New(srv.URL, "tw_holder", srv.Client()).Users(ctx)
	if !errors.As(err, &p) || p.Status != 403 || !strings.Contains(p.Detail, "admin or auditor") {
		t.Fatalf("holder lists users: %v", err)
	}
}
