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
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/tawthiq/tawthiq/internal/app"
)

// syncBuffer collects the server's start-up output while it serves.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// testServer is a CSP served in-process on a free port: what `tawthiq serve` runs.
type testServer struct {
	data, base, adminToken string
	out                    *syncBuffer
}

func startServer(t *testing.T) *testServer {
	t.Helper()
	t.Setenv(passEnv, "correct-horse-battery-staple")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &testServer{data: t.TempDir(), base: "http://" + ln.Addr().String(), out: &syncBuffer{}}
	ctx, cancel := context.WithCancel(context.Background())
	a, err := app.Open(ctx, app.Config{Data: s.data, Addr: ln.Addr().String(), BaseURL: s.base}, app.Options{Out: s.out})
	if err != nil {
		cancel()
		ln.Close()
		t.Fatalf("app.Open: %v", err)
	}
	s.adminToken = a.AdminToken
	done := make(chan error, 1)
	go func() { done <- a.ServeListener(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("ServeListener: %v", err)
		}
		a.Close()
	})
	// ServeListener prints its banner (with the admin token) before it serves.
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(s.out.String(), "admin token"); {
		if time.Now().After(deadline) {
			t.Fatalf("the server printed no admin token:\n%s", s.out.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	return s
}

// walk runs the README's commands and records each one as the README writes it.
type walk struct {
	t    *testing.T
	srv  *testServer
	dir  string            // the shell's working directory
	vars map[string]string // README word -> value ($HOLDER -> tw_..., tawthiq-data -> the data directory)
	ran  [][]string
}

func (w *walk) record(cmd ...string) { w.ran = append(w.ran, cmd) }

func (w *walk) expand(words []string) []string {
	out := make([]string, len(words))
	for i, s := range words {
		if v, ok := w.vars[s]; ok {
			s = v
		}
		out[i] = s
	}
	return out
}

// tawthiq runs `[TAWTHIQ_TOKEN=$who] ./tawthiq args...` in-process; who "" is the exported admin token.
func (w *walk) tawthiq(who string, args ...string) string {
	w.t.Helper()
	rec := []string{"./tawthiq"}
	tok := w.srv.adminToken
	if who != "" {
		rec = append([]string{"TAWTHIQ_TOKEN=" + who}, rec...)
		tok = w.vars[who]
	}
	w.record(append(rec, args...)...)
	w.t.Setenv("TAWTHIQ_TOKEN", tok)
	out, err := cli(append(w.expand(args), "--server", w.srv.base)...)
	if err != nil {
		w.t.Fatalf("%s: %v\n%s", strings.Join(append(rec, args...), " "), oneLine(err), out)
	}
	return out
}

// openssl runs the openssl binary in the walk's directory.
func (w *walk) openssl(stdin []byte, args ...string) string {
	w.t.Helper()
	w.record(append([]string{"openssl"}, args...)...)
	cmd := exec.Command("openssl", w.expand(args)...)
	cmd.Dir = w.dir
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		w.t.Fatalf("openssl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// curl is `curl -s $TAWTHIQ_SERVER/path`, done in Go.
func (w *walk) curl(path string) []byte {
	w.t.Helper()
	w.record("curl", "-s", "$TAWTHIQ_SERVER"+path)
	resp, err := http.Get(w.srv.base + path)
	if err != nil {
		w.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		w.t.Fatalf("GET %s: %d %v\n%s", path, resp.StatusCode, err, b)
	}
	return b
}

// awk is `awk '/re/ {print $n}'` on out: the n-th field of the first matching line.
func (w *walk) awk(out, re string, n int, file ...string) string {
	w.t.Helper()
	w.record(append([]string{"awk", fmt.Sprintf("/%s/ {print $%d}", re, n)}, file...)...)
	rx := regexp.MustCompile(re)
	for _, line := range strings.Split(out, "\n") {
		if f := strings.Fields(line); rx.MatchString(line) && len(f) >= n {
			return f[n-1]
		}
	}
	w.t.Fatalf("awk /%s/: no line with %d fields in:\n%s", re, n, out)
	return ""
}

func (w *walk) writeFile(name string, b []byte) {
	w.t.Helper()
	if err := os.WriteFile(filepath.Join(w.dir, name), b, 0o600); err != nil {
		w.t.Fatal(err)
	}
}

// TestReadmeWalkthrough runs README.md's "Walk-through (five minutes)" with the real
// CLI commands, in-process, against an in-process server, then checks that the
// README shows exactly the commands it ran.
func TestReadmeWalkthrough(t *testing.T) {
	if _, err := exec.LookPath("openssl"); err != nil {
		if os.Getenv("TAWTHIQ_REQUIRE_OPENSSL") == "1" {
			t.Fatal("TAWTHIQ_REQUIRE_OPENSSL=1 but no openssl binary in PATH")
		}
		t.Skip("the walk-through needs the openssl binary (apt-get install openssl); TAWTHIQ_REQUIRE_OPENSSL=1 makes this a failure")
	}
	const idExpiry = "2031-05-01" // the README's --id-expiry
	if exp, _ := time.Parse("2006-01-02", idExpiry); !exp.After(time.Now()) {
		t.Fatalf("the README's --id-expiry %s has passed: move it forward in README.md and here", idExpiry)
	}

	// 1. Build and start the CSP; keep the admin token.
	srv := startServer(t)
	w := &walk{t: t, srv: srv, dir: t.TempDir(), vars: map[string]string{"tawthiq-data": srv.data}}
	w.record("./tawthiq", "serve") // what startServer runs: app.Open, then ServeListener
	w.record("grep", "-q", "serving on", "serve.log")
	if !strings.Contains(srv.out.String(), "serving on") {
		t.Fatalf("serve printed no 'serving on':\n%s", srv.out.String())
	}
	if tok := w.awk(srv.out.String(), "admin token", 3, "serve.log"); tok != srv.adminToken {
		t.Fatalf("the README's awk takes %q from serve's output, not the admin token", tok)
	}

	// 2. Users, each with a token.
	for _, u := range []struct{ v, name, role, id string }{
		{"$OFFICER1", "Officer One", "ra-officer", "OF111111"},
		{"$OFFICER2", "Officer Two", "ra-officer", "OF222222"},
		{"$HOLDER", "Amina Alaoui", "holder", "AB123456"},
		{"$AUDITOR", "Aziz Auditor", "auditor", "AU333333"},
	} {
		out := w.tawthiq("", "user", "add", "--name", u.name, "--role", u.role, "--id-number", u.id)
		w.vars[u.v] = w.awk(out, "^token", 2)
		if !strings.HasPrefix(w.vars[u.v], "tw_") {
			t.Fatalf("user add printed no token:\n%s", out)
		}
	}

	// 3. Key, CSR, terms, application.
	w.openssl(nil, "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "amina.key")
	w.openssl(nil, "req", "-new", "-key", "amina.key", "-subj", "/CN=Amina Alaoui", "-out", "amina.csr")
	if out := w.tawthiq("$HOLDER", "terms"); !strings.HasPrefix(out, "version demo-1 ") {
		t.Fatalf("terms: %q", out)
	}
	w.record("echo", "scan-of-id-card")
	w.writeFile("id.pdf", []byte("scan-of-id-card\n"))
	w.vars["amina.csr"], w.vars["id.pdf"] = filepath.Join(w.dir, "amina.csr"), filepath.Join(w.dir, "id.pdf")
	out := w.tawthiq("$HOLDER", "apply", "--profile", "natural-qualified", "--csr", "amina.csr",
		"--given-name", "Amina", "--surname", "Alaoui", "--id-type", "national-id-card", "--id-number", "AB123456",
		"--id-issuer", "DGSN", "--id-expiry", idExpiry, "--id-method", "face-to-face", "--evidence", "id.pdf",
		"--email", "amina@example.ma", "--accept-terms", "demo-1", "--consent-directory", "--consent-email")
	w.vars["$APP"] = w.awk(out, "^application", 2)
	if !strings.HasPrefix(w.vars["$APP"], "app_") {
		t.Fatalf("apply: %q", out)
	}
	w.record("echo", "$APP")

	// 4. Two officers approve; the second issues.
	if out := w.tawthiq("$OFFICER1", "approve", "$APP"); !strings.Contains(out, "pending, 1 approval(s)") {
		t.Fatalf("first approval: %q", out)
	}
	out = w.tawthiq("$OFFICER2", "approve", "$APP")
	w.vars["$SERIAL"] = w.awk(out, "^issued certificate", 3)

	// 5. The certificate, checked by openssl.
	w.writeFile("amina.pem", []byte(w.tawthiq("$HOLDER", "cert", "get", "$SERIAL")))
	w.openssl(w.curl("/ca/root.crt"), "x509", "-inform", "DER", "-out", "root.pem")
	w.openssl(w.curl("/ca/signature.crt"), "x509", "-inform", "DER", "-out", "signature.pem")
	if out := w.openssl(nil, "verify", "-CAfile", "root.pem", "-untrusted", "signature.pem", "amina.pem"); strings.TrimSpace(out) != "amina.pem: OK" {
		t.Fatalf("openssl verify: %s", out)
	}
	text := w.openssl(nil, "x509", "-in", "amina.pem", "-noout", "-text")
	w.record("grep", "-A1", "qcStatements")
	if !regexp.MustCompile(`qcStatements.*\n.*\S`).MatchString(text) {
		t.Fatalf("no qcStatements in the certificate:\n%s", text)
	}

	// 6. The audit log.
	if cp := string(w.curl("/checkpoint")); !strings.HasPrefix(cp, "tawthiq/") || !strings.Contains(cp, "\n— ") {
		t.Fatalf("checkpoint: %q", cp)
	}
	if out := w.tawthiq("", "audit", "verify", "--data", "tawthiq-data"); !strings.HasPrefix(out, "ok: ") {
		t.Fatalf("audit verify: %q", out)
	}
	out = w.tawthiq("$AUDITOR", "audit", "entries")
	for _, action := range []string{"application.create", "application.approve", "certificate.issue"} {
		if !strings.Contains(out, " "+action+" ") {
			t.Errorf("audit entries lack %s:\n%s", action, out)
		}
	}
	if !strings.Contains(out, w.vars["$SERIAL"]) {
		t.Errorf("audit entries lack the serial %s:\n%s", w.vars["$SERIAL"], out)
	}
	w.record("kill", "$!") // the cleanup

	// The README shows exactly these commands.
	readme := readmeWalkthrough(t)
	key := func(c []string) string { return fmt.Sprintf("%q", c) }
	var ran, shown []string
	for _, c := range w.ran {
		ran = append(ran, key(c))
	}
	for _, c := range readme {
		shown = append(shown, key(c))
	}
	for _, s := range shown {
		if !slices.Contains(ran, s) {
			t.Errorf("README.md shows a command the test does not run: %s", s)
		}
	}
	for _, r := range ran {
		if !slices.Contains(shown, r) {
			t.Errorf("the test runs a command README.md does not show: %s", r)
		}
	}
}

// readmeWalkthrough returns the commands of README.md's walk-through, one per
// pipeline stage, as words; shell glue (go build, export, sleep, loops) is left out.
func readmeWalkthrough(t *testing.T) [][]string {
	t.Helper()
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	i := strings.Index(s, "## Walk-through")
	if i < 0 {
		t.Fatal("README.md has no walk-through")
	}
	s = s[i:]
	start := strings.Index(s, "```sh\n")
	end := strings.Index(s[start+6:], "```")
	if start < 0 || end < 0 {
		t.Fatal("README.md's walk-through has no sh block")
	}
	block := strings.ReplaceAll(s[start+6:start+6+end], "\\\n", " ")
	var cmds [][]string
	for _, line := range strings.Split(block, "\n") {
		for _, seg := range shellSegments(line) {
			for len(seg) > 0 && slices.Contains([]string{"until", "while", "do", "then"}, seg[0]) {
				seg = seg[1:]
			}
			// leading assignments count only when a command follows them
			j := 0
			for j < len(seg) && regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*=`).MatchString(seg[j]) {
				j++
			}
			if j == len(seg) || slices.Contains([]string{"go", "export", "sleep", "done"}, seg[0]) {
				continue
			}
			cmds = append(cmds, seg)
		}
	}
	if len(cmds) < 20 {
		t.Fatalf("read only %d commands from README.md's walk-through: %q", len(cmds), cmds)
	}
	return cmds
}

// shellSegments splits one shell line into the words of its simple commands: quotes
// are removed, comments and redirections dropped, and |, ;, &, $( and ) end a command.
func shellSegments(line string) [][]string {
	var segs [][]string
	var seg []string
	var cur strings.Builder
	inWord, quote := false, rune(0)
	flush := func() {
		if inWord {
			seg = append(seg, cur.String())
		}
		cur.Reset()
		inWord = false
	}
	brk := func() {
		flush()
		if len(seg) > 0 {
			segs = append(segs, seg)
		}
		seg = nil
	}
scan:
	for _, r := range line {
		switch {
		case quote != 0:
			if r == quote {
				quote = 0
			} else {
				cur.WriteRune(r)
			}
		case r == '\'' || r == '"':
			quote, inWord = r, true
		case r == ' ' || r == '\t':
			flush()
		case r == '#' && !inWord:
			break scan
		case r == '&' && strings.HasSuffix(cur.String(), ">"): // 2>&1
			cur.WriteRune(r)
		case r == '(' && strings.HasSuffix(cur.String(), "$"):
			v := strings.TrimSuffix(cur.String(), "$")
			cur.Reset()
			cur.WriteString(v)
			brk()
		case r == '|' || r == ';' || r == '&' || r == ')':
			brk()
		default:
			cur.WriteRune(r)
			inWord = true
		}
	}
	brk()
	// drop redirections: "> file", "2>&1", ">file"
	redir := regexp.MustCompile(`^[0-9]*>`)
	var res [][]string
	for _, sg := range segs {
		var kept []string
		for j := 0; j < len(sg); j++ {
			if redir.MatchString(sg[j]) {
				if redir.FindString(sg[j]) == sg[j] {
					j++ // the file name follows
				}
				continue
			}
			kept = append(kept, sg[j])
		}
		if len(kept) > 0 {
			res = append(res, kept)
		}
	}
	return res
}

func TestShellSegments(t *testing.T) {
	got := shellSegments(`X=$(TAWTHIQ_TOKEN=$H ./tawthiq a --n "A B" | awk '/^t/ {print $2}') > f 2>&1 &   # c`)
	want := [][]string{{"X="}, {"TAWTHIQ_TOKEN=$H", "./tawthiq", "a", "--n", "A B"}, {"awk", "/^t/ {print $2}"}}
	if fmt.Sprintf("%q", got) != fmt.Sprintf("%q", want) {
		t.Errorf("got %q\nwant %q", got, want)
	}
}

// TestCLIOneLineRefusal_L21_3_3: a refused apply reaches the user as one plain line
// that starts with the rule (main prints "tawthiq: " + oneLine(err)).
func TestCLIOneLineRefusal_L21_3_3(t *testing.T) {
	srv := startServer(t)
	dir := t.TempDir()
	t.Setenv("TAWTHIQ_TOKEN", srv.adminToken)
	out, err := cli("user", "add", "--name", "Amina Alaoui", "--role", "holder", "--id-number", "AB123456", "--server", srv.base)
	if err != nil {
		t.Fatalf("user add: %v\n%s", err, out)
	}
	tok := strings.TrimPrefix(out[strings.Index(out, "token "):], "token ")
	t.Setenv("TAWTHIQ_TOKEN", strings.TrimSpace(tok))

	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: "Amina Alaoui"}}, key)
	if err != nil {
		t.Fatal(err)
	}
	csr, evidence := filepath.Join(dir, "amina.csr"), filepath.Join(dir, "id.pdf")
	if err := os.WriteFile(csr, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(evidence, []byte("scan-of-id-card\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	expiry := time.Now().AddDate(5, 0, 0).Format("2006-01-02")
	out, err = cli("apply", "--csr", csr, "--given-name", "Amina", "--surname", "Alaoui", "--id-number", "AB123456",
		"--id-issuer", "DGSN", "--id-expiry", expiry, "--evidence", evidence, "--email", "amina@example.ma",
		"--server", srv.base) // no --accept-terms
	if err == nil {
		t.Fatalf("apply without --accept-terms was accepted:\n%s", out)
	}
	msg := oneLine(err)
	if !strings.HasPrefix(msg, "L-21-3-3: ") || strings.ContainsAny(msg, "\n\r") {
		t.Errorf("oneLine(err) = %q, want one line starting with \"L-21-3-3: \"", msg)
	}
	if out != "" {
		t.Errorf("a refused command printed %q besides its error", out)
	}
}

// TestHelp: `tawthiq --help` lists the commands, and every command's --help works
// (cobra panics here when a flag is defined twice, e.g. a local --server).
func TestHelp(t *testing.T) {
	out, err := cli("--help")
	if err != nil {
		t.Fatal(err)
	}
	var walkCmds func(c *cobra.Command, path []string)
	var paths [][]string
	walkCmds = func(c *cobra.Command, path []string) {
		for _, sub := range c.Commands() {
			p := append(slices.Clone(path), sub.Name())
			paths = append(paths, p)
			walkCmds(sub, p)
		}
	}
	walkCmds(root(), nil)
	for _, p := range paths {
		if len(p) == 1 && !strings.Contains(out, "\n  "+p[0]+" ") {
			t.Errorf("tawthiq --help does not list %s:\n%s", p[0], out)
		}
	}
	for _, name := range []string{"serve", "ceremony", "audit", "config", "user", "terms", "apply", "approve", "cert"} {
		if !slices.ContainsFunc(paths, func(p []string) bool { return len(p) == 1 && p[0] == name }) {
			t.Errorf("no %s command", name)
		}
	}
	for _, p := range paths {
		t.Run(strings.Join(p, "_"), func(t *testing.T) {
			var out string
			var err error
			func() {
				defer func() {
					if r := recover(); r != nil {
						t.Fatalf("tawthiq %s --help panicked: %v", strings.Join(p, " "), r)
					}
				}()
				out, err = cli(append(slices.Clone(p), "--help")...)
			}()
			if err != nil || !strings.Contains(out, "Usage:") {
				t.Fatalf("tawthiq %s --help: %v\n%s", strings.Join(p, " "), err, out)
			}
			if p[0] != "completion" && p[0] != "help" && !strings.Contains(out, "--server") {
				t.Errorf("tawthiq %s --help does not show the global --server:\n%s", strings.Join(p, " "), out)
			}
		})
	}
	out, err = cli("audit", "verify", "--help")
	if err != nil || !strings.Contains(out, "--data") || !strings.Contains(out, "--db") {
		t.Errorf("audit verify --help lacks --data/--db: %v\n%s", err, out)
	}
}
