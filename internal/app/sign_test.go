package app

import (
	"context"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-pdf/fpdf"

	"github.com/tawthiq/tawthiq/internal/errkind"
	"github.com/tawthiq/tawthiq/internal/keys"
	"github.com/tawthiq/tawthiq/internal/law"
	"github.com/tawthiq/tawthiq/internal/revocation"
	"github.com/tawthiq/tawthiq/internal/validation"
)

// holderKey makes the holder's own encrypted file key, as `tawthiq sign --key file:` reads it.
func holderKey(t *testing.T, dir string) (string, *keys.Registry) {
	t.Helper()
	reg := keys.NewRegistry(keys.Options{PassphraseEnv: "TAWTHIQ_KEY_PASSPHRASE", Getenv: testGetenv})
	t.Cleanup(func() { reg.Close() })
	uri := "file:" + filepath.Join(dir, "holder.key")
	if _, err := reg.Generate(context.Background(), uri, keys.ECDSAP256); err != nil {
		t.Fatal(err)
	}
	return uri, reg
}

// samplePDF writes a one-page PDF made by a PDF library we did not write.
// holderFiles is a holder whose key and certificate e issued, the CSP's root,
// and a text and a PDF to sign, all in one temporary directory.
type holderFiles struct {
	dir, uri, cert, root, doc, pdf string
	serial, holderID               string
}

func newHolderFiles(t *testing.T, e *testEnv, idNumber, text string) holderFiles {
	h := holderFiles{dir: t.TempDir()}
	var reg *keys.Registry
	h.uri, reg = holderKey(t, h.dir)
	signer, err := reg.Open(context.Background(), h.uri)
	if err != nil {
		t.Fatal(err)
	}
	var certPEM string
	h.serial, certPEM, h.holderID = issueFor(t, e, idNumber, newCSR(t, signer, "Holder"))
	h.cert = filepath.Join(h.dir, "holder.pem")
	if err := os.WriteFile(h.cert, []byte(certPEM), 0o600); err != nil {
		t.Fatal(err)
	}
	h.root = writePEM(t, h.dir, "root.pem", fetch(t, e.base+"/ca/root.crt"))
	h.doc = filepath.Join(h.dir, "contract.txt")
	if err := os.WriteFile(h.doc, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	h.pdf = filepath.Join(h.dir, "contract.pdf")
	samplePDF(t, h.pdf)
	return h
}

func samplePDF(t *testing.T, path string) {
	t.Helper()
	p := fpdf.New("P", "mm", "A4", "")
	p.AddPage()
	p.SetFont("Helvetica", "", 14)
	p.Cell(40, 10, "Contrat de vente - exemplaire signe")
	if err := p.OutputFileAndClose(path); err != nil {
		t.Fatal(err)
	}
}

// TestSignAndVerify_L417_3: a holder signs with his own key through `tawthiq sign`
// (CAdES B-LT and PAdES B-LTA, time-stamped by the CSP's TSA, status fetched from
// its OCSP responder); openssl cms and poppler's pdfsig accept the results, our
// validator concludes a qualified signature with a proven date; once the
// certificate is revoked, signing is refused (L-25).
func TestSignAndVerify_L417_3(t *testing.T) {
	e := startEnv(t, t.TempDir(), "")
	ctx := context.Background()
	h := newHolderFiles(t, e, "AB777777", "Je vends ma voiture pour 50 000 MAD.\n")
	dir, uri, certFile, root, doc, pdf, serial, holderID := h.dir, h.uri, h.cert, h.root, h.doc, h.pdf, h.serial, h.holderID

	base := Sign{Key: uri, Cert: certFile, TSA: TSAURL(e.base), Getenv: testGetenv}
	cades := base
	cades.File, cades.Out, cades.Level, cades.Detached = doc, filepath.Join(dir, "contract.p7s"), "B-LT", true
	cades.ContentTimeStamp = true // the TSA stamps the document too, before the signature
	if _, err := RunSign(ctx, cades); err != nil {
		t.Fatalf("sign CAdES: %v", err)
	}
	pades := base
	pades.File, pades.Out, pades.Level = pdf, filepath.Join(dir, "contract-signed.pdf"), "B-LTA"
	// As the README types it: a key path relative to the working directory.
	t.Chdir(dir)
	pades.Key = "file:" + filepath.Base(strings.TrimPrefix(uri, "file:"))
	if _, err := RunSign(ctx, pades); err != nil {
		t.Fatalf("sign PAdES: %v", err)
	}

	// Independent judges.
	openssl := needTool(t, "openssl")
	if out, err := exec.Command(openssl, "cms", "-verify", "-inform", "DER", "-in", cades.Out, "-binary",
		"-content", doc, "-CAfile", root, "-purpose", "any", "-out", os.DevNull).CombinedOutput(); err != nil {
		t.Fatalf("openssl cms -verify refuses our CAdES B-LT: %v\n%s", err, out)
	}
	pdfsigTrusts(t, pades.Out, root)

	// Our validator, offline with the CSP's root and records.
	cfg := Config{Data: e.data}
	for _, v := range []Verify{
		{Signature: cades.Out, Content: doc, Config: &cfg},
		{Signature: pades.Out, Config: &cfg},
	} {
		rep, err := RunVerify(ctx, v)
		if err != nil {
			t.Fatal(err)
		}
		if !rep.Passed() || len(rep.Signatures) != 1 || !rep.Signatures[0].Qualified || rep.Signatures[0].ProvenBy != validation.ByTimeStamp {
			t.Fatalf("%s: not a passed, qualified, time-stamped signature: %+v", v.Signature, rep)
		}
		// A PAdES signature is at its document's level (the DSS and document time-stamp raise it), not its CMS's B-T.
		if want := map[string]string{"CAdES": "B-LT", "PAdES": "B-LTA"}[rep.Kind]; rep.Signatures[0].Level != want || (rep.PDF != nil && rep.PDF.Level != want) {
			t.Errorf("%s: level %s, want %s", v.Signature, rep.Signatures[0].Level, want)
		}
		// Only the CAdES signature asked for a content time-stamp: it proves the signature came after it.
		r := rep.Signatures[0]
		withCTS := len(r.ContentTimeStamps) == 1 && r.ContentTimeStamps[0].Trusted && !r.SignedAfter.IsZero() && !r.SignedAfter.After(r.ProvenTime)
		if withCTS != (rep.Kind == "CAdES") || (rep.Kind == "PAdES" && len(r.ContentTimeStamps) != 0) {
			t.Errorf("%s: content time-stamps %+v, made after %s, proven time %s", v.Signature, r.ContentTimeStamps, r.SignedAfter, r.ProvenTime)
		}
	}

	// L-25: revoked, the certificate no longer signs.
	if _, err := e.app.Revoke.Revoke(ctx, revocation.Actor{ID: holderID, Role: revocation.RoleHolder},
		revocation.Request{Serial: serial, Ground: law.GroundKeyCompromise}); err != nil {
		t.Fatal(err)
	}
	waitPublished(t, e, serial)
	again := cades
	again.Out = filepath.Join(dir, "after-revocation.p7s")
	_, err := RunSign(ctx, again)
	if err == nil || errkind.As(err).Rule != law.L25 {
		t.Fatalf("signing with a revoked certificate: %v, want a refusal under %s", err, law.L25)
	}
	if _, statErr := os.Stat(again.Out); statErr == nil {
		t.Error("a refused signature left a file behind")
	}
}

// TestCLIKeyURI: a relative file: key is taken from the working directory, even one
// whose name a URI must escape, and keeps its query; other URIs pass unchanged.
func TestCLIKeyURI(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a#b%c d")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)
	got := cliKeyURI("file:keys/holder.key?pass-env=HOLDER_PASS")
	u, err := url.Parse(got)
	if err != nil || u.Scheme != "file" || u.Path != filepath.Join(dir, "keys", "holder.key") || u.RawQuery != "pass-env=HOLDER_PASS" {
		t.Fatalf("cliKeyURI = %q (%+v, %v)", got, u, err)
	}
	for _, same := range []string{"file:/etc/holder.key", "pkcs11:token=t;object=o"} {
		if got := cliKeyURI(same); got != same {
			t.Errorf("cliKeyURI(%q) = %q", same, got)
		}
	}
}
