package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tawthiq/tawthiq/client"
	"github.com/tawthiq/tawthiq/internal/signature"
	"github.com/tawthiq/tawthiq/internal/testpki"
)

// TestVerifyCLI_L417_3 signs a document with a certificate the CSP issued and has
// `tawthiq verify` judge it offline: passed and qualified, then a changed document
// fails, then, once the holder revoked the certificate, the signature no longer passes.
func TestVerifyCLI_L417_3(t *testing.T) {
	srv := startServer(t)
	ctx := context.Background()
	admin := client.New(srv.base, srv.adminToken, nil)
	tokenFor := func(name, role, id string) *client.Client {
		u, err := admin.CreateUser(ctx, client.CreateUser{Name: name, Role: role, IDNumber: id})
		if err != nil {
			t.Fatal(err)
		}
		tok, err := admin.IssueToken(ctx, u.ID, 0)
		if err != nil {
			t.Fatal(err)
		}
		return client.New(srv.base, tok.Token, nil)
	}
	off1, off2 := tokenFor("O1", "ra-officer", "OF000001"), tokenFor("O2", "ra-officer", "OF000002")
	holder := tokenFor("Amina", "holder", "AB123456")
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	csr, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: "Amina"}}, key)
	if err != nil {
		t.Fatal(err)
	}
	terms, err := holder.Terms(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ev := sha256.Sum256([]byte("id scan"))
	a, err := holder.SubmitApplication(ctx, client.ApplicationRequest{Profile: "natural-qualified",
		Subject:      client.Subject{GivenName: "Amina", Surname: "Alaoui"},
		Identity:     client.Identity{Type: "national-id-card", Number: "AB123456", Issuer: "DGSN", Expiry: time.Now().AddDate(3, 0, 0), Method: "face-to-face", EvidenceSHA256: hex.EncodeToString(ev[:])},
		TermsVersion: terms.Version, TermsAcceptedAt: time.Now().UTC(), Language: "fr",
		CSR: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: csr}))})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := off1.Approve(ctx, a.ID, ""); err != nil {
		t.Fatal(err)
	}
	res, err := off2.Approve(ctx, a.ID, "")
	if err != nil || res.Certificate == nil {
		t.Fatalf("issuance: %v", err)
	}
	blk, _ := pem.Decode([]byte(res.Certificate.PEM))
	ee, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	caDER, err := holder.CACertificate(ctx, "signature")
	if err != nil {
		t.Fatal(err)
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}

	dir := t.TempDir()
	doc := filepath.Join(dir, "contract.txt")
	sigFile := filepath.Join(dir, "contract.p7s")
	if err := os.WriteFile(doc, []byte("Contrat de vente, 9 999 MAD"), 0o600); err != nil {
		t.Fatal(err)
	}
	sig, err := signature.SignCAdES(ctx, []byte("Contrat de vente, 9 999 MAD"), key, []*x509.Certificate{ee, ca}, signature.Options{Detached: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(sigFile, sig, 0o600); err != nil {
		t.Fatal(err)
	}
	verify := func() (string, error) {
		return cli("verify", sigFile, "--content", doc, "--local", "--data", srv.data)
	}
	out, err := verify()
	if err != nil || !strings.HasPrefix(out, "CAdES TOTAL-PASSED") {
		t.Fatalf("verify of a good signature: %v\n%s", err, out)
	}
	// The readable reports: an Arabic page right to left, a French PDF poppler reads.
	html, pdf := filepath.Join(dir, "report.html"), filepath.Join(dir, "report.pdf")
	if _, err := cli("verify", sigFile, "--content", doc, "--local", "--data", srv.data, "--report", html, "--lang", "ar"); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(html); err != nil || !strings.Contains(string(b), `dir="rtl"`) || !strings.Contains(string(b), "L-417-3") {
		t.Errorf("the Arabic HTML report is not right to left or lacks its conclusions: %v", err)
	}
	if _, err := cli("verify", sigFile, "--content", doc, "--local", "--data", srv.data, "--report", pdf, "--lang", "fr"); err != nil {
		t.Fatal(err)
	}
	pdftotext := testpki.NeedTool(t, "pdftotext", "poppler-utils")
	if txt, err := exec.Command(pdftotext, pdf, "-").Output(); err != nil || !strings.Contains(string(txt), "TOTAL-PASSED") || !strings.Contains(string(txt), "L-417-3") {
		t.Errorf("pdftotext does not read the indication and the rule in the French PDF report: %v\n%s", err, txt)
	}
	if strings.Contains(out, "renew before") {
		t.Errorf("no time-stamp proves this signature's date, yet verify says to renew it:\n%s", out)
	}
	if !strings.Contains(out, "yes L-417-3") || !strings.Contains(out, "no  L-425") {
		t.Errorf("the conclusions should grant the presumption (L-417-3) but no proven date (L-425, no time-stamp):\n%s", out)
	}
	// Without --local the CSP's root is not trusted and nothing is known of its status.
	if out, err := cli("verify", sigFile, "--content", doc); err == nil || strings.HasPrefix(out, "CAdES TOTAL-PASSED") {
		t.Errorf("a signature passed with no trust anchor:\n%s", out)
	}
	if err := os.WriteFile(doc, []byte("Contrat de vente, 99 999 MAD"), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := verify(); err == nil || !strings.Contains(out, "HASH_FAILURE") {
		t.Errorf("a changed document was not refused with HASH_FAILURE: %v\n%s", err, out)
	}
	if err := os.WriteFile(doc, []byte("Contrat de vente, 9 999 MAD"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := holder.Revoke(ctx, res.Certificate.Serial, client.RevocationRequest{Ground: "key-compromise"}); err != nil {
		t.Fatal(err)
	}
	if out, err := verify(); err == nil || !strings.Contains(out, "REVOKED") {
		t.Errorf("a signature by a revoked certificate, with no proof it was made before, still passes: %v\n%s", err, out)
	}
}
