package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// cliIn is cli with standard input.
func cliIn(stdin io.Reader, args ...string) (string, error) {
	r := root()
	var out bytes.Buffer
	r.SetOut(&out)
	r.SetErr(&out)
	r.SetIn(stdin)
	r.SetArgs(args)
	err := r.ExecuteContext(context.Background())
	return out.String(), err
}

// revocationWalk drives the CLI as its users would, each with his own token.
type revocationWalk struct {
	t      *testing.T
	srv    *testServer
	dir    string
	tokens map[string]string // who -> token; "admin" is the server's
}

func (w *revocationWalk) run(who string, args ...string) (string, error) {
	w.t.Helper()
	w.t.Setenv("TAWTHIQ_TOKEN", w.tokens[who])
	return cli(append(args, "--server", w.srv.base)...)
}

func (w *revocationWalk) must(who string, args ...string) string {
	w.t.Helper()
	out, err := w.run(who, args...)
	if err != nil {
		w.t.Fatalf("%s: tawthiq %s: %v\n%s", who, strings.Join(args, " "), oneLine(err), out)
	}
	return out
}

// field returns the word after prefix at the start of a line of out.
func field(t *testing.T, out, prefix string) string {
	t.Helper()
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(prefix) + ` (\S+)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no %q line in:\n%s", prefix, out)
	}
	return m[1]
}

func (w *revocationWalk) addUser(who, name, role, idNumber string) {
	w.t.Helper()
	out := w.must("admin", "user", "add", "--name", name, "--role", role, "--id-number", idNumber)
	w.tokens[who] = field(w.t, out, "token")
}

// issue applies as the holder with a fresh key, and two officers approve; it
// returns the serial and the revocation secret shown at application.
func (w *revocationWalk) issue(holder, given, surname, idNumber, email string, consent bool) (serial, secret string) {
	w.t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		w.t.Fatal(err)
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: given + " " + surname}}, key)
	if err != nil {
		w.t.Fatal(err)
	}
	csr, evidence := filepath.Join(w.dir, holder+".csr"), filepath.Join(w.dir, "id.pdf")
	if err := os.WriteFile(csr, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}), 0o600); err != nil {
		w.t.Fatal(err)
	}
	if err := os.WriteFile(evidence, []byte("scan-of-id-card\n"), 0o600); err != nil {
		w.t.Fatal(err)
	}
	args := []string{"apply", "--profile", "natural-qualified", "--csr", csr, "--given-name", given, "--surname", surname,
		"--id-number", idNumber, "--id-issuer", "DGSN", "--id-expiry", time.Now().AddDate(5, 0, 0).Format("2006-01-02"),
		"--evidence", evidence, "--email", email, "--accept-terms", "demo-1", "--consent-email"}
	if consent {
		args = append(args, "--consent-directory")
	}
	out := w.must(holder, args...)
	app := field(w.t, out, "application")
	secret = field(w.t, out, "revocation secret")
	if !strings.Contains(out, "keep this secret") || !strings.Contains(out, "only this once") {
		w.t.Errorf("apply does not tell the holder to keep the secret:\n%s", out)
	}
	// Shown once: a later read of the application does not carry it.
	if again := w.must(holder, "application", app); strings.Contains(again, secret) || strings.Contains(again, "revocation_secret") {
		w.t.Errorf("the revocation secret is shown again:\n%s", again)
	}
	w.must("officer1", "approve", app, "--note", "ID checked face to face")
	out = w.must("officer2", "approve", app, "--note", "second check")
	return field(w.t, out, "issued certificate"), secret
}

// TestRevocationWalkthrough_L21_1 revokes through the CLI against an in-process
// server: the holder with his token and with his revocation secret (L-21-1), a
// second revocation refused as final (L-21-rev), mass revocation going on after
// refusals, and a directory that shows only consenting holders (L-21-2).
func TestRevocationWalkthrough_L21_1(t *testing.T) {
	srv := startServer(t)
	t.Setenv(secretEnv, "")
	w := &revocationWalk{t: t, srv: srv, dir: t.TempDir(), tokens: map[string]string{"admin": srv.adminToken}}
	w.addUser("officer1", "Officer One", "ra-officer", "OF111111")
	w.addUser("officer2", "Officer Two", "ra-officer", "OF222222")
	w.addUser("amina", "Amina Alaoui", "holder", "AB123456")
	w.addUser("karim", "Karim Bennani", "holder", "CD654321")

	if out := w.must("", "grounds"); !strings.Contains(out, "holder-request") || !strings.Contains(out, "L-21-1") ||
		!regexp.MustCompile(`judicial-order\s+L-21-3-7\s+privilegeWithdrawn \(9\)\s+--order-ref`).MatchString(out) {
		t.Errorf("grounds:\n%s", out)
	}

	serial1, _ := w.issue("amina", "Amina", "Alaoui", "AB123456", "amina@example.ma", true)
	serial2, secret2 := w.issue("amina", "Amina", "Alaoui", "AB123456", "amina@example.ma", true)
	serial3, _ := w.issue("karim", "Karim", "Bennani", "CD654321", "karim@example.ma", false)

	// The directory lists the consenting holder, and says nothing of the other (L-21-2).
	out := w.must("", "directory", "--email", "amina@example.ma")
	if !strings.Contains(out, serial1) || !strings.Contains(out, "valid") || !strings.Contains(out, "Amina") {
		t.Errorf("directory --email amina@example.ma:\n%s", out)
	}
	if out := w.must("", "directory", "--email", "amina@example.ma", "--pem"); !strings.Contains(out, "-----BEGIN CERTIFICATE-----") {
		t.Errorf("directory --pem:\n%s", out)
	}
	none := w.must("", "directory", "--email", "nobody@example.ma")
	for _, q := range [][]string{{"--email", "karim@example.ma"}, {"--serial", serial3}, {"--name", "Bennani"}} {
		if out := w.must("", append([]string{"directory"}, q...)...); out != none || strings.Contains(out, "Karim") {
			t.Errorf("directory %v shows a non-consenting holder, or answers unlike a missing one:\n%s\nvs\n%s", q, out, none)
		}
	}
	if _, err := w.run("", "directory", "--email", "a@example.ma", "--name", "Amina"); err == nil {
		t.Error("directory with two queries was accepted")
	}

	// The holder revokes his certificate, effective at once; a second revocation is refused.
	out = w.must("amina", "revoke", serial1, "--ground", "holder-request")
	if !regexp.MustCompile(`^revoked ` + serial1 + ` at \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z \(ground holder-request, L-21-1;`).MatchString(out) {
		t.Errorf("revoke: %q", out)
	}
	out, err := w.run("amina", "revoke", serial1, "--ground", "holder-request")
	if err == nil {
		t.Fatalf("a second revocation was accepted:\n%s", out)
	}
	if msg := oneLine(err); !strings.HasPrefix(msg, "L-21-rev: ") || strings.ContainsAny(err.Error(), "\r\n") {
		t.Errorf("second revocation: %q, want one line starting with \"L-21-rev: \"", msg)
	}
	if out != "" {
		t.Errorf("a refused revoke printed %q besides its error", out)
	}
	if out := w.must("amina", "revocation", serial1); !strings.Contains(out, `"ground": "holder-request"`) {
		t.Errorf("revocation record:\n%s", out)
	}
	// Another holder's certificate is not his to revoke.
	if _, err := w.run("karim", "revoke", serial2, "--ground", "holder-request"); err == nil || !strings.HasPrefix(oneLine(err), "L-") {
		t.Errorf("karim revoked amina's certificate: %v", err)
	}

	// With the secret, without an account: a wrong one is refused, the right one revokes.
	t.Setenv(secretEnv, "AAAAAAAAAAAAAAAAAAAAAAAAAA")
	if _, err := w.run("", "revoke-with-secret", serial2); err == nil || !strings.HasPrefix(oneLine(err), "L-21-1: ") {
		t.Errorf("wrong secret: %v", err)
	}
	t.Setenv(secretEnv, "")
	t.Setenv("TAWTHIQ_TOKEN", "")
	out, err = cliIn(strings.NewReader(strings.ToLower(secret2)+"\n"), "revoke-with-secret", serial2, "--server", srv.base)
	if err != nil {
		t.Fatalf("revoke-with-secret: %v\n%s", oneLine(err), out)
	}
	if !strings.HasPrefix(out, "revoked "+serial2+" at ") {
		t.Errorf("revoke-with-secret: %q", out)
	}
	if _, err := cliIn(strings.NewReader(""), "revoke-with-secret", serial2, "--server", srv.base); err == nil || !strings.Contains(err.Error(), secretEnv) {
		t.Errorf("no secret: %v", err)
	}

	// Mass revocation by an officer goes on after refusals and sums up.
	list := filepath.Join(w.dir, "serials.txt")
	if err := os.WriteFile(list, []byte("# to revoke\n"+serial1+"\n\nffff0000\n"+serial3+"  # the last\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err = w.run("officer1", "revoke", "--from-file", list, "--ground", "information-no-longer-true", "--note", "employer closed")
	if err == nil || !strings.Contains(err.Error(), "2 of 3") {
		t.Errorf("mass revocation error: %v", err)
	}
	for _, s := range []string{"not revoked " + serial1 + ": L-21-rev: ", "not revoked ffff0000: L-21-3-7: ", "revoked 1 of 3 certificates; 2 not revoked"} {
		if !strings.Contains(out, s) {
			t.Errorf("mass revocation output lacks %q:\n%s", s, out)
		}
	}
	if out := w.must("officer1", "revocation", serial3); !strings.Contains(out, `"note": "employer closed"`) {
		t.Errorf("serial3 not revoked by the list:\n%s", out)
	}

	// Revoked certificates stay in the directory, marked revoked.
	if out := w.must("", "directory", "--serial", serial1); !strings.Contains(out, "revoked") {
		t.Errorf("directory after revocation:\n%s", out)
	}
	if _, err := w.run("amina", "notices"); err != nil {
		t.Errorf("notices: %v", oneLine(err))
	}
}

// TestCRLPublishCLI_L21_rev: an admin republishes every CA's CRL from the CLI; the
// CRL numbers grow, and a holder may not do it.
func TestCRLPublishCLI_L21_rev(t *testing.T) {
	srv := startServer(t)
	base := srv.base
	t.Setenv("TAWTHIQ_TOKEN", srv.adminToken)
	first, err := cli("--server", base, "crl", "publish")
	if err != nil {
		t.Fatalf("crl publish: %v\n%s", err, first)
	}
	for _, ca := range []string{"signature.crl", "seal.crl"} {
		if !strings.Contains(first, ca) {
			t.Errorf("crl publish did not publish %s:\n%s", ca, first)
		}
	}
	second, err := cli("--server", base, "crl", "publish", "signature")
	if err != nil {
		t.Fatal(err)
	}
	n1, n2 := crlNumber(t, first, "signature.crl"), crlNumber(t, second, "signature.crl")
	if n2 <= n1 {
		t.Errorf("CRL number did not grow: %d then %d", n1, n2)
	}
	out, err := cli("--server", base, "user", "add", "--name", "H", "--role", "holder", "--id-number", "HH000001")
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("TAWTHIQ_TOKEN", field(t, out, "token"))
	if _, err := cli("--server", base, "crl", "publish", "signature"); err == nil || !strings.Contains(err.Error(), "admin") {
		t.Errorf("a holder published a CRL, or the refusal does not name the role: %v", err)
	}
}

func crlNumber(t *testing.T, out, name string) int {
	t.Helper()
	for _, l := range strings.Split(out, "\n") {
		var n int
		if f := strings.Fields(l); len(f) > 2 && f[0] == name {
			if _, err := fmt.Sscanf(f[2], "%d,", &n); err == nil {
				return n
			}
		}
	}
	t.Fatalf("no number for %s in:\n%s", name, out)
	return 0
}
