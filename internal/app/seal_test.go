package app

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tawthiq/tawthiq/client"
	"github.com/tawthiq/tawthiq/internal/config"
	"github.com/tawthiq/tawthiq/internal/keys"
	"github.com/tawthiq/tawthiq/internal/seal"
	"github.com/tawthiq/tawthiq/internal/testpki"
)

// TestServerSeal_L6: an organisation's seal key held by the server seals a PDF
// at B-LT on the request of a user the organisation named, and of nobody else;
// pdfsig trusts the result, our validator finds a qualified seal, and the audit
// log holds the document's hash.
func TestServerSeal_L6(t *testing.T) {
	data := t.TempDir()
	e := startEnv(t, data, "")
	ctx := context.Background()
	off1, _ := e.user(t, "Officer S1", "ra-officer", "OS000001")
	off2, _ := e.user(t, "Officer S2", "ra-officer", "OS000002")
	rep, repUser := e.user(t, "Acme SARL", "holder", "001525429000088")
	other, _ := e.user(t, "Someone else", "holder", "AC000002")

	reg := keys.NewRegistry(keys.Options{PassphraseEnv: config.DefaultPassphraseEnv, Getenv: testGetenv})
	t.Cleanup(func() { reg.Close() })
	key, err := reg.Generate(ctx, "file:"+filepath.Join(data, "seals", "acme.key"), keys.ECDSAP256)
	if err != nil {
		t.Fatal(err)
	}
	issueSeal(t, e, rep, "001525429000088", "Acme SARL", key, off1, off2, "acme-seal.pem")
	e.stop()

	// The operator configures the seal for the organisation's representative only.
	e = startEnvWith(t, config.Config{Data: data, Addr: strings.TrimPrefix(e.base, "http://"), Seals: []config.Seal{{Name: "acme", Key: "file:seals/acme.key",
		Certificate: "acme-seal.pem", Users: []string{repUser.ID}}}})
	dir := t.TempDir()
	pdf := filepath.Join(dir, "invoice.pdf")
	samplePDF(t, pdf)
	doc, err := os.ReadFile(pdf)
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := rep.Seal(ctx, "acme", doc, client.SealOptions{Level: "B-LT"})
	if err != nil {
		t.Fatalf("seal: %v", err)
	}
	if !bytes.HasPrefix(sealed, doc) {
		t.Fatal("the sealed PDF does not begin with the document as sent (L-9)")
	}
	for _, c := range []struct {
		who  *client.Client
		name string
	}{{other, "acme"}, {rep, "nosuch"}} {
		_, err := c.who.Seal(ctx, c.name, doc, client.SealOptions{})
		var p *client.Problem
		if !errors.As(err, &p) || p.Status != 403 || p.Rule != "L-6" {
			t.Errorf("seal %q by another user: %v, want 403 under L-6", c.name, err)
		}
	}

	// Malformed input is a clear problem.
	_, err = rep.Seal(ctx, "acme", []byte("%PDF-1.7 truncated"), client.SealOptions{})
	var p *client.Problem
	if !errors.As(err, &p) || p.Status != 400 {
		t.Errorf("a broken PDF: %v, want a 400 problem", err)
	}

	out := filepath.Join(dir, "invoice-sealed.pdf")
	if err := os.WriteFile(out, sealed, 0o600); err != nil {
		t.Fatal(err)
	}
	root := writePEM(t, dir, "root.pem", fetch(t, e.base+"/ca/root.crt"))
	pdfsigTrusts(t, out, root)
	v, err := RunVerify(ctx, Verify{Signature: out, Roots: []string{root}})
	if err != nil {
		t.Fatal(err)
	}
	// Offline, from the DSS alone: the B-LT seal carries its own status evidence.
	if !v.Passed() || !v.Signatures[0].Qualified || v.PDF.Level != "B-LT" {
		t.Fatalf("offline validation of the seal: %+v", v)
	}
	entries, err := e.app.DB.AuditEntries(ctx, 0, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, en := range entries {
		if en.Action == seal.ActionApply && en.Actor == repUser.ID && strings.Contains(string(en.Data), hexSum(string(doc))) {
			found = true
		}
	}
	if !found {
		t.Error("no seal.apply audit entry with the document's SHA-256")
	}
}

// pdfsigTrusts has poppler's pdfsig, with root in its NSS database, call every signature valid and trusted.
func pdfsigTrusts(t *testing.T, file, root string) {
	t.Helper()
	pdfsig := testpki.NeedTool(t, "pdfsig", "poppler-utils")
	out, err := exec.Command(pdfsig, "-nssdir", testpki.NSSDB(t, t.TempDir(), root), file).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "Signature is Valid") || !strings.Contains(string(out), "Certificate is Trusted") {
		t.Fatalf("pdfsig does not find the signature of %s valid and trusted: %v\n%s", file, err, out)
	}
}
