package client

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestProblemError(t *testing.T) {
	tests := []struct {
		name string
		p    Problem
		want string
	}{
		{"rule and detail", Problem{Status: 400, Title: "The request is invalid", Rule: "L-21-3-3",
			Detail: "the applicant must accept the subscriber terms before the contract"},
			"L-21-3-3: the applicant must accept the subscriber terms before the contract"},
		{"no rule", Problem{Status: 404, Title: "Not found", Detail: "no such resource"}, "Not found: no such resource"},
		{"title only", Problem{Status: 500, Title: "Internal error"}, "Internal error"},
		{"status only", Problem{Status: 502}, "HTTP 502"},
		{"one line", Problem{Status: 400, Rule: "L-11", Detail: "line one\nline two"}, "L-11: line one line two"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.p.Error(); got != tt.want {
				t.Errorf("Error() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestTimestamp(t *testing.T) {
	tests := []struct {
		in   time.Time
		want string
	}{
		{time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC), `"2025-01-02T03:04:05.000Z"`},
		{time.Date(2025, 1, 2, 3, 4, 5, 120e6, time.FixedZone("x", 3600)), `"2025-01-02T02:04:05.120Z"`},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			b, err := json.Marshal(Timestamp{tt.in})
			if err != nil || string(b) != tt.want {
				t.Fatalf("%s %v", b, err)
			}
			var back Timestamp
			if err := json.Unmarshal(b, &back); err != nil || !back.Equal(tt.in) {
				t.Errorf("round trip %v %v", back, err)
			}
		})
	}
}

// TestRequests checks each method's verb, path, body and the bearer token against a stub server.
func TestRequests(t *testing.T) {
	type seen struct{ method, path, query, auth, ctype, body string }
	var got seen
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got = seen{r.Method, r.URL.Path, r.URL.RawQuery, r.Header.Get("Authorization"), r.Header.Get("Content-Type"), string(b)}
		switch {
		case strings.HasSuffix(r.URL.Path, "/der"), strings.HasPrefix(r.URL.Path, "/ca/"):
			w.Header().Set("Content-Type", "application/pkix-cert")
			_, _ = w.Write([]byte{0x30, 0x00})
		case r.URL.Path == "/checkpoint":
			_, _ = w.Write([]byte("origin\n1\nroot\n"))
		case strings.HasSuffix(r.URL.Path, "/rejection"):
			w.WriteHeader(http.StatusNoContent)
		default:
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{}`))
		}
	}))
	defer srv.Close()
	c := New(srv.URL+"/", "tw_secret", srv.Client())
	ctx := context.Background()
	tests := []struct {
		name   string
		call   func() error
		method string
		path   string
		body   string // a substring of the body sent
	}{
		{"health", func() error { _, err := c.Health(ctx); return err }, "GET", "/healthz", ""},
		{"ca", func() error { _, err := c.CACertificate(ctx, "root"); return err }, "GET", "/ca/root.crt", ""},
		{"checkpoint", func() error { _, err := c.Checkpoint(ctx); return err }, "GET", "/checkpoint", ""},
		{"login", func() error { _, err := c.Login(ctx); return err }, "POST", "/api/v1/login", ""},
		{"me", func() error { _, err := c.Me(ctx); return err }, "GET", "/api/v1/me", ""},
		{"create user", func() error { _, err := c.CreateUser(ctx, CreateUser{Name: "N", Role: "holder"}); return err }, "POST", "/api/v1/users", `"role":"holder"`},
		{"token", func() error { _, err := c.IssueToken(ctx, "usr_1", time.Hour); return err }, "POST", "/api/v1/users/usr_1/tokens", `"ttl_seconds":3600`},
		{"token, default lifetime", func() error { _, err := c.IssueToken(ctx, "usr_1", 0); return err }, "POST", "/api/v1/users/usr_1/tokens", `{}`},
		{"revoke tokens", func() error { _, err := c.RevokeTokens(ctx, "usr 1"); return err }, "DELETE", "/api/v1/users/usr 1/tokens", ""},
		{"users", func() error { _, err := c.Users(ctx); return err }, "GET", "/api/v1/users", ""},
		{"terms", func() error { _, err := c.Terms(ctx); return err }, "GET", "/api/v1/terms", ""},
		{"publish terms", func() error { _, err := c.PublishTerms(ctx, PublishTerms{Version: "v1", Text: "t"}); return err }, "POST", "/api/v1/terms", `"version":"v1"`},
		{"profiles", func() error { _, err := c.Profiles(ctx); return err }, "GET", "/api/v1/profiles", ""},
		{"submit", func() error {
			_, err := c.SubmitApplication(ctx, ApplicationRequest{Profile: "p", Identity: Identity{Expiry: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}})
			return err
		}, "POST", "/api/v1/applications", `"expiry":"2030-01-01T00:00:00Z"`},
		{"application", func() error { _, err := c.Application(ctx, "app_1"); return err }, "GET", "/api/v1/applications/app_1", ""},
		{"approve", func() error { _, err := c.Approve(ctx, "app_1", "ok"); return err }, "POST", "/api/v1/applications/app_1/approvals", `"note":"ok"`},
		{"issue", func() error { _, err := c.Issue(ctx, "app_1"); return err }, "POST", "/api/v1/applications/app_1/issue", ""},
		{"reject", func() error { return c.Reject(ctx, "app_1", "forged") }, "POST", "/api/v1/applications/app_1/rejection", `"reason":"forged"`},
		{"certificate", func() error { _, err := c.Certificate(ctx, "4a"); return err }, "GET", "/api/v1/certificates/4a", ""},
		{"certificate der", func() error { _, err := c.CertificateDER(ctx, "4a"); return err }, "GET", "/api/v1/certificates/4a/der", ""},
		{"audit entries", func() error { _, err := c.AuditEntries(ctx, 5, 10); return err }, "GET", "/api/v1/audit/entries", ""},
		{"verify audit", func() error { _, err := c.VerifyAudit(ctx); return err }, "GET", "/api/v1/audit/verify", ""},
		{"grounds", func() error { _, err := c.Grounds(ctx); return err }, "GET", "/api/v1/grounds", ""},
		{"revoke", func() error {
			inv := time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)
			_, err := c.Revoke(ctx, "4a", RevocationRequest{Ground: "key-compromise", Note: "lost", InvalidityDate: &inv})
			return err
		}, "POST", "/api/v1/certificates/4a/revocation", `{"ground":"key-compromise","note":"lost","invalidity_date":"2025-03-01T10:00:00Z"}`},
		{"revoke with secret", func() error { _, err := c.RevokeWithSecret(ctx, "4a", "ABCD-EFGH"); return err },
			"POST", "/api/v1/revocations", `{"serial":"4a","secret":"ABCD-EFGH"}`},
		{"revocation", func() error { _, err := c.Revocation(ctx, "4a"); return err }, "GET", "/api/v1/certificates/4a/revocation", ""},
		{"directory", func() error { _, err := c.Directory(ctx, "email", "a+b@example.ma"); return err }, "GET", "/api/v1/directory", ""},
		{"notices", func() error { _, err := c.Notices(ctx); return err }, "GET", "/api/v1/notices", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.call(); err != nil {
				t.Fatal(err)
			}
			if got.method != tt.method || got.path != tt.path {
				t.Errorf("sent %s %s, want %s %s", got.method, got.path, tt.method, tt.path)
			}
			if got.auth != "Bearer tw_secret" {
				t.Errorf("Authorization %q", got.auth)
			}
			if !strings.Contains(got.body, tt.body) {
				t.Errorf("body %q lacks %q", got.body, tt.body)
			}
			if tt.name == "audit entries" && got.query != "from=5&to=10" {
				t.Errorf("query %q", got.query)
			}
			if tt.name == "directory" && got.query != "email=a%2Bb%40example.ma" {
				t.Errorf("query %q", got.query)
			}
			if got.body != "" && got.ctype != "application/json" {
				t.Errorf("Content-Type %q", got.ctype)
			}
		})
	}
}

func TestErrors(t *testing.T) {
	tests := []struct {
		name        string
		status      int
		contentType string
		body        string
		want        Problem
	}{
		{"problem", 400, "application/problem+json",
			`{"type":"https://tawthiq.ma/problems/invalid","title":"The request is invalid","status":400,"detail":"d","rule":"L-21-3-3","rule_text":"t"}`,
			Problem{Type: "https://tawthiq.ma/problems/invalid", Title: "The request is invalid", Status: 400, Detail: "d", Rule: "L-21-3-3", RuleText: "t"}},
		{"html from a proxy", 502, "text/html", `<html>bad gateway</html>`,
			Problem{Title: "Bad Gateway", Status: 502, Detail: "unexpected answer (text/html) from the server"}},
		{"garbled problem", 500, "application/problem+json", `{`,
			Problem{Title: "Internal Server Error", Status: 500, Detail: "unexpected answer (application/problem+json) from the server"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", tt.contentType)
				w.WriteHeader(tt.status)
				_, _ = w.Write([]byte(tt.body))
			}))
			defer srv.Close()
			_, err := New(srv.URL, "", nil).Me(context.Background())
			var p *Problem
			if !errors.As(err, &p) {
				t.Fatalf("error %T %v is not a *Problem", err, err)
			}
			if *p != tt.want {
				t.Errorf("got %+v, want %+v", *p, tt.want)
			}
		})
	}
}

func TestRevokeTokensCount(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodDelete || r.URL.EscapedPath() != "/api/v1/users/usr_1%2Fx/tokens" {
			http.Error(w, r.Method+" "+r.URL.EscapedPath(), http.StatusTeapot)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"user":"usr_1/x","revoked":3}`))
	}))
	defer srv.Close()
	n, err := New(srv.URL, "tw_secret", srv.Client()).RevokeTokens(context.Background(), "usr_1/x")
	if err != nil || n != 3 {
		t.Fatalf("RevokeTokens = %d, %v; want 3", n, err)
	}
}
