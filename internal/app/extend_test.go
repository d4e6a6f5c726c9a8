package app

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tawthiq/tawthiq/internal/errkind"
	"github.com/tawthiq/tawthiq/internal/law"
	"github.com/tawthiq/tawthiq/internal/validation"
)

// TestExtendAndRenew_L417_3: a holder's B-B signatures, PAdES and detached
// CAdES, are raised through `tawthiq extend` to B-LTA with the CSP's TSA and
// the status its OCSP responder and CRLs give (issuers fetched through AIA),
// then renewed; each output keeps the input as a prefix (PAdES), pdfsig and
// openssl cms accept it, and our validator passes it at B-LTA with every
// document or archive time-stamp listed. Extending to a lower level, or onto
// an existing file, is refused.
func TestExtendAndRenew_L417_3(t *testing.T) {
	e := startEnv(t, t.TempDir(), "")
	ctx := context.Background()
	h := newHolderFiles(t, e, "AB888888", "Je loue mon local pour 12 000 MAD par an.\n")
	dir, uri, certFile, root, doc, pdf := h.dir, h.uri, h.cert, h.root, h.doc, h.pdf
	base := Sign{Key: uri, Cert: certFile, Level: "B-B", Getenv: testGetenv}
	pades, cades := base, base
	pades.File, pades.Out = pdf, filepath.Join(dir, "bb.pdf")
	cades.File, cades.Out, cades.Detached = doc, filepath.Join(dir, "bb.p7s"), true
	for _, s := range []Sign{pades, cades} {
		if _, err := RunSign(ctx, s); err != nil {
			t.Fatalf("sign %s: %v", s.File, err)
		}
	}

	cfg := Config{Data: e.data}
	tsa := TSAURL(e.base)
	for _, tc := range []struct {
		in, out, content string
		stamps           int
	}{
		{pades.Out, filepath.Join(dir, "lta.pdf"), "", 2}, // B-T's document time-stamp, then B-LTA's
		{filepath.Join(dir, "lta.pdf"), filepath.Join(dir, "renewed.pdf"), "", 3},
		{cades.Out, filepath.Join(dir, "lta.p7s"), doc, 1},
		{filepath.Join(dir, "lta.p7s"), filepath.Join(dir, "renewed.p7s"), doc, 2},
	} {
		r, err := RunExtend(ctx, Extend{File: tc.in, Content: tc.content, Out: tc.out, TSA: tsa})
		if err != nil {
			t.Fatalf("extend %s: %v", tc.in, err)
		}
		if r.Level != "B-LTA" {
			t.Fatalf("extend %s: level %s", tc.in, r.Level)
		}
		rep, err := RunVerify(ctx, Verify{Signature: tc.out, Content: tc.content, Config: &cfg})
		if err != nil {
			t.Fatal(err)
		}
		if !rep.Passed() || len(rep.Signatures) != 1 {
			t.Fatalf("%s: not passed: %+v", tc.out, rep)
		}
		in, _ := os.ReadFile(tc.in)
		out, _ := os.ReadFile(tc.out)
		if rep.PDF != nil {
			if rep.PDF.Level != "B-LTA" || len(rep.PDF.DocTimeStamps) != tc.stamps || !bytes.HasPrefix(out, in) {
				t.Fatalf("%s: level %s, %d document time-stamps, prefix kept %v", tc.out, rep.PDF.Level, len(rep.PDF.DocTimeStamps), bytes.HasPrefix(out, in))
			}
			if rep.Signatures[0].ProvenBy != validation.ByDocumentTimeStamp {
				t.Fatalf("%s: proven by %s", tc.out, rep.Signatures[0].ProvenBy)
			}
			pdfsigTrusts(t, tc.out, root)
			continue
		}
		if rep.Signatures[0].Level != "B-LTA" || len(rep.Signatures[0].ArchiveTimeStamps) != tc.stamps || rep.Signatures[0].ProvenBy != validation.ByTimeStamp {
			t.Fatalf("%s: level %s, %d archive time-stamps, proven by %s", tc.out, rep.Signatures[0].Level, len(rep.Signatures[0].ArchiveTimeStamps), rep.Signatures[0].ProvenBy)
		}
		openssl := needTool(t, "openssl")
		if o, err := exec.Command(openssl, "cms", "-verify", "-inform", "DER", "-in", tc.out, "-binary",
			"-content", doc, "-CAfile", root, "-purpose", "any", "-out", os.DevNull).CombinedOutput(); err != nil {
			t.Fatalf("openssl cms -verify refuses %s: %v\n%s", tc.out, err, o)
		}
	}

	if _, err := RunExtend(ctx, Extend{File: filepath.Join(dir, "renewed.pdf"), Out: filepath.Join(dir, "lower.pdf"), Level: "B-T", TSA: tsa}); errkind.As(err).Rule != law.L9 {
		t.Fatalf("B-LTA to B-T: %v, want a refusal under %s", err, law.L9)
	}
	if _, err := os.Stat(filepath.Join(dir, "lower.pdf")); err == nil {
		t.Error("a refused extension left a file behind")
	}
	before, _ := os.ReadFile(filepath.Join(dir, "lta.pdf"))
	if _, err := RunExtend(ctx, Extend{File: pades.Out, Out: filepath.Join(dir, "lta.pdf"), TSA: tsa}); err == nil || !strings.Contains(err.Error(), "not overwritten") {
		t.Fatalf("extending onto an existing file: %v", err)
	}
	if after, _ := os.ReadFile(filepath.Join(dir, "lta.pdf")); !bytes.Equal(before, after) {
		t.Fatal("an existing file was overwritten")
	}
}
