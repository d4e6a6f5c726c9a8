package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"math/big"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tawthiq/tawthiq/client"
	"github.com/tawthiq/tawthiq/internal/access"
	"github.com/tawthiq/tawthiq/internal/api"
	"github.com/tawthiq/tawthiq/internal/authority"
	"github.com/tawthiq/tawthiq/internal/clock"
	"github.com/tawthiq/tawthiq/internal/store"
	"github.com/tawthiq/tawthiq/internal/testpki"
)

// registerServer serves the API over SQLite with the register wired, as app will
// wire it; it returns the base URL, an admin's and an auditor's token, and the clock.
func registerServer(t *testing.T, at time.Time) (base, admin, auditor string, clk *clock.Fake) {
	t.Helper()
	ctx := t.Context()
	clk = clock.NewFake(at)
	db, err := store.Open(ctx, filepath.Join(t.TempDir(), "tawthiq.db"), clk)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	acc := access.New(db, clk)
	token := func(name string, role access.Role) string {
		u, err := acc.CreateUser(ctx, "system", access.User{Name: name, Role: role, IDNumber: "ID-" + name})
		if err != nil {
			t.Fatal(err)
		}
		tok, err := acc.IssueToken(ctx, "system", u.ID, 0)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	srv := httptest.NewServer(api.New(api.Deps{Access: acc, Authority: authority.New(db, clk), Clock: clk}))
	t.Cleanup(srv.Close)
	return srv.URL, token("Authority Admin", access.RoleAdmin), token("Authority Auditor", access.RoleAuditor), clk
}

// TestAuthorityCLI_L15 keeps the register with the CLI as the authority would,
// from registration to the yearly export.
func TestAuthorityCLI_L15(t *testing.T) {
	base, admin, auditor, clk := registerServer(t, time.Date(2025, 3, 10, 9, 0, 0, 0, time.UTC))
	dir := t.TempDir()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Barid eSign CA", Country: []string{"MA"}},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().AddDate(5, 0, 0), BasicConstraintsValid: true, IsCA: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	caPEM := testpki.WritePEM(t, dir, "ca.pem", "CERTIFICATE", der)

	run := func(tok string, args ...string) (string, error) {
		t.Helper()
		t.Setenv("TAWTHIQ_TOKEN", tok)
		return cli(append(args, "--server", base)...)
	}
	must := func(tok string, args ...string) string {
		t.Helper()
		out, err := run(tok, args...)
		if err != nil {
			t.Fatalf("tawthiq %s: %v\n%s", strings.Join(args, " "), oneLine(err), out)
		}
		return out
	}

	out := must(admin, "authority", "csp", "add", "--name", "Barid eSign", "--id-number", "001234567000089",
		"--seat", "Avenue Annakhil, Rabat")
	cspID := field(t, out, "csp")
	out = must(admin, "authority", "service", "add", "--csp", cspID, "--type", "ca-qc", "--name", "Barid eSign qualified CA",
		"--qualifier", "esig,eseal", "--cert", caPEM, "--from", "2025-03-10", "--decision", "DGSSI/2025/001")
	svcID := field(t, out, "service")
	must(admin, "authority", "service", "status", svcID, "--set", "suspended", "--from", "2025-06-01", "--decision", "DGSSI/2025/050")
	// Withdrawn is final except by a new grant; a suspended service is not suspended again.
	if out, err := run(admin, "authority", "service", "status", svcID, "--set", "suspended", "--from", "2025-07-01",
		"--decision", "DGSSI/2025/060"); err == nil || !strings.Contains(oneLine(err), "L-15") {
		t.Fatalf("a second suspension: %v\n%s", err, out)
	}
	if out := must(auditor, "authority", "service", "status", svcID, "--at", "2025-05-01"); !strings.Contains(out, "status granted at 2025-05-01") {
		t.Fatalf("status at 1 May:\n%s", out)
	}
	must(admin, "authority", "insurance", "add", "--csp", cspID, "--insurer", "Wafa Assurance", "--policy", "RC-PRO-77",
		"--cover-mad", "5000000", "--from", "2025-01-01", "--until", "2026-01-01")
	must(admin, "authority", "audit", "add", "--csp", cspID, "--service", svcID, "--auditor", "LabCert", "--date", "2025-05-20",
		"--report", "LC-2025-14", "--outcome", "fail", "--finding", "major:CA key used outside the HSM")
	must(admin, "authority", "sanction", "add", "--csp", cspID, "--service", svcID, "--kind", "suspension",
		"--decision", "DGSSI/2025/050", "--date", "2025-06-01")
	must(admin, "authority", "crypto", "add", "--csp", cspID, "--means", "ECDSA P-384 in an HSM", "--reference", "DEC-2025-3",
		"--date", "2025-02-01")
	if _, err := run(admin, "authority", "crypto", "add", "--csp", cspID, "--purpose", "confidentiality", "--means", "AES-256",
		"--reference", "DEC-2025-4", "--date", "2025-02-01"); err == nil || !strings.Contains(oneLine(err), "L-13") {
		t.Fatalf("confidentiality merely declared: %v", err)
	}
	must(admin, "authority", "agreement", "add", "--reference", "MA-TN/2025/2", "--signed", "2025-04-01", "--country", "TN",
		"--list", "TN=https://tl.example.tn/tsl.xml", "--list-cert", "TN="+caPEM)
	if out := must(auditor, "authority", "csp", "list"); !strings.Contains(out, "Barid eSign") || !strings.Contains(out, cspID) {
		t.Fatalf("csp list:\n%s", out)
	}
	// An auditor reads the register but does not write it.
	if _, err := run(auditor, "authority", "csp", "add", "--name", "X", "--id-number", "001234567000089", "--seat", "Rabat"); err == nil ||
		!strings.Contains(oneLine(err), "admin") {
		t.Fatalf("an auditor wrote the register: %v", err)
	}

	if _, err := run(auditor, "authority", "export", "--year", "2025"); err == nil || !strings.Contains(oneLine(err), "L-15") {
		t.Fatalf("export of a year not ended: %v", err)
	}
	clk.Set(time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC))
	file := filepath.Join(dir, "register-2025.json")
	must(auditor, "authority", "export", "--year", "2025", "-o", file)
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var y client.YearlyRegister
	if err := json.Unmarshal(b, &y); err != nil {
		t.Fatal(err)
	}
	if y.Year != 2025 || len(y.CSPs) != 1 || y.CSPs[0].StatusAtEnd[svcID] != "suspended" || len(y.Agreements) != 1 ||
		len(y.CSPs[0].Audits) != 1 || len(y.Changes) != 9 {
		t.Fatalf("the register of 2025: %d CSPs, %d agreements, %d changes\n%s", len(y.CSPs), len(y.Agreements), len(y.Changes), b)
	}
}

// TestRegistrationFileImport_L15: a CSP's tawthiq writes its registration file
// from its data directory; the authority imports it, and its register then holds
// the CSP with its signature CA (esig), seal CA (eseal) and TSA, granted.
func TestRegistrationFileImport_L15(t *testing.T) {
	srv := startServer(t)
	file := filepath.Join(t.TempDir(), "registration.json")
	if out, err := cli("registration-file", "--data", srv.data, "--seat", "1 avenue Mohammed V, Rabat", "-o", file); err != nil {
		t.Fatalf("registration-file: %v\n%s", err, out)
	}
	var rf client.RegistrationFile
	b, err := os.ReadFile(file)
	if err != nil || json.Unmarshal(b, &rf) != nil {
		t.Fatalf("the registration file does not decode: %v", err)
	}
	base, admin, _, _ := registerServer(t, time.Now())
	t.Setenv("TAWTHIQ_TOKEN", admin)
	out, err := cli("authority", "csp", "import", file, "--decision", "DGSSI-2026-001", "--from", "2026-01-01", "--server", base)
	if err != nil {
		t.Fatalf("import: %v\n%s", err, out)
	}
	reg, err := client.New(base, admin, nil).AuthorityRegister(t.Context())
	if err != nil || len(reg.CSPs) != 1 {
		t.Fatalf("register after import: %v %+v", err, reg)
	}
	got := map[string]string{}
	for _, s := range reg.CSPs[0].Services {
		if len(s.History) != 1 || s.History[0].Status != "granted" || s.History[0].Decision != "DGSSI-2026-001" {
			t.Errorf("service %s: history %+v", s.Name, s.History)
		}
		got[s.Type+" "+strings.Join(s.Qualifiers, ",")] = s.Name
	}
	for _, want := range []string{"http://uri.etsi.org/TrstSvc/Svctype/CA/QC esig", "http://uri.etsi.org/TrstSvc/Svctype/CA/QC eseal", "http://uri.etsi.org/TrstSvc/Svctype/TSA/QTST "} {
		if got[want] == "" {
			t.Errorf("the register lacks %q: %v", want, got)
		}
	}
	if reg.CSPs[0].CSP.Name != rf.CSP.Name || rf.PolicyOID == "" || len(rf.PDS) == 0 {
		t.Errorf("identity or policy documents missing: %+v", rf)
	}
}
