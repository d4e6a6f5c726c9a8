package main

import (
	"strings"
	"testing"
)

// TestRevokeTokensCLI: an admin revokes every token of a user; they stop working at
// once, and a token issued afterwards works.
func TestRevokeTokensCLI(t *testing.T) {
	srv := startServer(t)
	w := &revocationWalk{t: t, srv: srv, dir: t.TempDir(), tokens: map[string]string{"admin": srv.adminToken}}
	out := w.must("admin", "user", "add", "--name", "Omar Officer", "--role", "ra-officer", "--id-number", "OF333333")
	id := field(t, out, "user")
	w.tokens["omar"] = field(t, out, "token")
	w.tokens["omar2"] = strings.TrimSpace(w.must("admin", "user", "token", id, "--ttl", "1h"))
	for _, who := range []string{"omar", "omar2"} {
		w.must(who, "login")
	}
	if _, err := w.run("omar", "user", "revoke-tokens", id); err == nil || !strings.Contains(err.Error(), "admin") {
		t.Errorf("an officer revoked tokens, or the refusal does not name the role: %v", err)
	}
	if out := w.must("admin", "user", "revoke-tokens", id); !strings.Contains(out, "revoked 2 token(s) of "+id) {
		t.Errorf("revoke-tokens:\n%s", out)
	}
	for _, who := range []string{"omar", "omar2"} {
		if _, err := w.run(who, "login"); err == nil || !strings.Contains(err.Error(), "revoked") {
			t.Errorf("%s: login with a revoked token: %v", who, err)
		}
	}
	w.must("admin", "login")
	w.tokens["omar3"] = strings.TrimSpace(w.must("admin", "user", "token", id))
	w.must("omar3", "login")
	if _, err := w.run("admin", "user", "revoke-tokens", "usr_nobody"); err == nil {
		t.Error("revoke-tokens of an unknown user succeeded")
	}
}
