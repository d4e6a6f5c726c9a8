package app

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/tawthiq/tawthiq/client"
	"github.com/tawthiq/tawthiq/internal/config"
	"github.com/tawthiq/tawthiq/internal/store/pgtest"
)

const testPassphrase = "correct-horse-battery-staple"

// testEnv is a running CSP with its admin client.
type testEnv struct {
	app   *App
	data  string
	base  string
	admin *client.Client
	stop  func()
}

func testGetenv(k string) string {
	if k == config.DefaultPassphraseEnv {
		return testPassphrase
	}
	return ""
}

// backends lists the databases every end-to-end test runs on.
func backends(t *testing.T) map[string]func(t *testing.T) string {
	return map[string]func(t *testing.T) string{
		"sqlite":   func(t *testing.T) string { return "" },
		"postgres": func(t *testing.T) string { return pgtest.Start(t) },
	}
}

// startEnv opens an App on a fresh data directory (dsn "" = SQLite) and serves it.
func startEnv(t testing.TB, data, dsn string) *testEnv {
	t.Helper()
	return startEnvWith(t, config.Config{Data: data, DB: dsn})
}

// startEnvWith serves an App opened with cfg on a free port.
func startEnvWith(t testing.TB, cfg config.Config) *testEnv {
	t.Helper()
	data := cfg.Data
	if cfg.Addr == "" {
		cfg.Addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", cfg.Addr) // a restart keeps the address its certificates name
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	cfg.Addr = addr
	ctx, cancel := context.WithCancel(context.Background())
	a, err := Open(ctx, cfg, Options{Getenv: testGetenv, Out: io.Discard})
	if err != nil {
		cancel()
		ln.Close()
		t.Fatalf("Open: %v", err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = a.ServeListener(ctx, ln)
	}()
	e := &testEnv{app: a, data: data, base: "http://" + addr}
	e.stop = func() {
		cancel()
		<-done
		a.Close()
	}
	t.Cleanup(e.stop)
	if a.AdminToken != "" {
		e.admin = client.New(e.base, a.AdminToken, nil)
	}
	return e
}

// user creates a user with a role and returns a client holding his token.
func (e *testEnv) user(t testing.TB, name, role, idNumber string) (*client.Client, *client.User) {
	t.Helper()
	tok, u := e.userToken(t, name, role, idNumber)
	return client.New(e.base, tok, nil), u
}

// userToken creates a user with a role and returns his bearer token.
func (e *testEnv) userToken(t testing.TB, name, role, idNumber string) (string, *client.User) {
	t.Helper()
	ctx := context.Background()
	u, err := e.admin.CreateUser(ctx, client.CreateUser{Name: name, Role: role, IDNumber: idNumber})
	if err != nil {
		t.Fatalf("create user %s: %v", name, err)
	}
	tok, err := e.admin.IssueToken(ctx, u.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	return tok.Token, u
}

// readFile returns a file's bytes, failing t if it cannot.
func readFile(t testing.TB, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// newCSR makes a key and a PEM CSR for it.
func newCSR(t testing.TB, key crypto.Signer, cn string) string {
	t.Helper()
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: cn}}, key)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}))
}

func p256(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func hexSum(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// application returns a complete, valid application for a natural person.
func application(t testing.TB, c *client.Client, idNumber, csr string) client.ApplicationRequest {
	t.Helper()
	terms, err := c.Terms(context.Background())
	if err != nil {
		t.Fatalf("terms: %v", err)
	}
	return client.ApplicationRequest{
		Profile: "natural-qualified",
		Subject: client.Subject{GivenName: "Amina", Surname: "Alaoui", Email: "amina@example.ma"},
		Identity: client.Identity{Type: "national-id-card", Number: idNumber, Issuer: "DGSN", Country: "MA",
			Expiry: time.Now().AddDate(5, 0, 0).UTC().Truncate(24 * time.Hour), Method: "face-to-face",
			EvidenceSHA256: hexSum("scan of " + idNumber)},
		TermsVersion: terms.Version, TermsAcceptedAt: time.Now().UTC(),
		ConsentDirectory: true, ConsentEmail: true, ContactEmail: "amina@example.ma", Language: "ar",
		CSR: csr,
	}
}

// writePEM writes DER as a PEM certificate file in dir.
func writePEM(t testing.TB, dir, name string, der []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// needTool finds an independent client, or skips (fails under make test) without it.
func needTool(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("TAWTHIQ_REQUIRE_OPENSSL") == "1" {
			t.Fatalf("%s is required (TAWTHIQ_REQUIRE_OPENSSL=1): %v", name, err)
		}
		t.Skipf("%s not installed: skipping the independent check", name)
	}
	return p
}

// issueSeal has an organisation's account apply for a qualified seal certificate
// for key, two officers approve it, and the chain is written to data/file.
func issueSeal(t *testing.T, e *testEnv, org *client.Client, ice, name string, key crypto.Signer, off1, off2 *client.Client, file string) {
	t.Helper()
	ctx := context.Background()
	req := application(t, org, ice, newCSR(t, key, name))
	req.Profile, req.Subject = "legal-qualified-seal", client.Subject{Organization: name, CommonName: name + " e-seal"}
	req.Identity.Type, req.Identity.Number = "ice", ice
	a, err := org.SubmitApplication(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := off1.Approve(ctx, a.ID, ""); err != nil {
		t.Fatal(err)
	}
	res, err := off2.Approve(ctx, a.ID, "")
	if err != nil || res.Certificate == nil {
		t.Fatalf("seal certificate: %v", err)
	}
	chain := res.Certificate.PEM + string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: fetch(t, e.base+"/ca/seal.crt")}))
	if err := os.WriteFile(filepath.Join(e.data, file), []byte(chain), 0o600); err != nil {
		t.Fatal(err)
	}
}
