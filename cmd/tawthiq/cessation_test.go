package main

import (
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tawthiq/tawthiq/internal/app"
)

// TestCessationCLI_L23 drives the cessation as an operator would: a plan with one
// month's notice is refused naming L-23, a takeover plan is recorded and its status
// shows each deadline; the successor makes its CSR on its data directory, the
// ceding CSP exports the signed archive, the successor imports it against the
// ceding root and its own audit log still verifies.
func TestCessationCLI_L23(t *testing.T) {
	srv := startServer(t)
	t.Setenv("TAWTHIQ_TOKEN", srv.adminToken)
	dir := t.TempDir()
	succData := filepath.Join(dir, "successor")
	csrFile, archive, rootFile := filepath.Join(dir, "responder.csr"), filepath.Join(dir, "takeover.tar"), filepath.Join(dir, "root.pem")
	if out, err := cli("cessation", "csr", "--data", succData, "--out", csrFile); err != nil {
		t.Fatalf("cessation csr: %v\n%s", err, out)
	}
	cfg, err := app.LoadConfig("", os.Getenv)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Data = succData
	succID, err := successorID(t, cfg)
	if err != nil {
		t.Fatal(err)
	}
	soon := time.Now().UTC().AddDate(0, 1, 0).Format(time.DateOnly)
	out, err := cli("cessation", "plan", "--end", soon, "--mode", "takeover", "--successor", "Successor CSP", "--successor-id", succID, "--server", srv.base)
	if err == nil || !strings.Contains(oneLine(err), "L-23") || !strings.Contains(oneLine(err), "art. 23") {
		t.Fatalf("a plan with one month's notice: want a refusal naming L-23 and art. 23, got %v\n%s", err, out)
	}
	end := time.Now().UTC().AddDate(0, 3, 0).Format(time.DateOnly)
	out, err = cli("cessation", "plan", "--end", end, "--mode", "takeover", "--successor", "Successor CSP", "--successor-id", succID, "--server", srv.base)
	if err != nil {
		t.Fatalf("cessation plan: %v\n%s", err, out)
	}
	if !strings.Contains(out, "plan: takeover, end "+end) || !strings.Contains(out, "successor: Successor CSP ("+succID+")") {
		t.Errorf("plan output:\n%s", out)
	}
	out, err = cli("cessation", "status", "--server", srv.base)
	if err != nil {
		t.Fatalf("cessation status: %v\n%s", err, out)
	}
	for _, want := range []string{"STEP", "authority-notice  L-23", "takeover-export   L-23", "pending", "late: 0", "authority notice: account to authority"} {
		if !strings.Contains(out, want) {
			t.Errorf("status output lacks %q:\n%s", want, out)
		}
	}
	// A takeover warns no holder: the refusal names L-23.
	if _, err := cli("cessation", "warn", "--server", srv.base); err == nil || !strings.Contains(oneLine(err), "L-23") {
		t.Errorf("warn on a takeover: %v", err)
	}
	rootDER, err := fetchURL(srv.base + "/ca/root.crt")
	if err != nil {
		t.Fatal(err)
	}
	writePEMFile(t, rootFile, "CERTIFICATE", rootDER)
	if out, err := cli("cessation", "export", "--data", srv.data, "--successor-csr", csrFile, "--out", archive); err != nil {
		t.Fatalf("cessation export: %v\n%s", err, out)
	}
	out, err = cli("cessation", "status", "--server", srv.base)
	if err != nil || !strings.Contains(out, "late: 0") || strings.Contains(out, "pending") {
		t.Errorf("status after the export (every step done): %v\n%s", err, out)
	}
	out, err = cli("cessation", "import", archive, "--from-csp-root", rootFile, "--data", succData)
	if err != nil || !strings.Contains(out, "imported ") || !strings.Contains(out, "audit log: ok") {
		t.Fatalf("cessation import: %v\n%s", err, out)
	}
	if out, err := cli("audit", "verify", "--data", succData); err != nil || !strings.HasPrefix(out, "ok:") {
		t.Fatalf("audit verify on the successor: %v\n%s", err, out)
	}
}

// successorID is the organizationIdentifier the successor's ceremony recorded.
func successorID(t *testing.T, cfg app.Config) (string, error) {
	a, err := app.Open(t.Context(), cfg, app.Options{Out: io.Discard})
	if err != nil {
		return "", err
	}
	defer a.Close()
	return a.Ceremony.CSP.OrganizationIdentifier, nil
}

func fetchURL(url string) ([]byte, error) {
	resp, err := http.Get(url)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return io.ReadAll(resp.Body)
}

func writePEMFile(t *testing.T, path, typ string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}
