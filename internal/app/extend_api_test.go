package app

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tawthiq/tawthiq/client"
	"github.com/tawthiq/tawthiq/internal/api"
	"github.com/tawthiq/tawthiq/internal/keys"
	"github.com/tawthiq/tawthiq/internal/signature"
	"github.com/tawthiq/tawthiq/internal/signature/pdf/pdftest"
	"github.com/tawthiq/tawthiq/internal/testpki"
	"github.com/tawthiq/tawthiq/internal/validation"
)

// postExtend sends body to POST /api/v1/extend and returns the status, the
// Content-Type and the answer (a problem is decoded into p).
func postExtend(t *testing.T, e *testEnv, token, query string, body []byte) (status int, ctype string, out []byte, p client.Problem) {
	t.Helper()
	status, hdr, out := postFile(t, e.base+"/api/v1/extend"+query, token, "application/octet-stream", body)
	ctype = hdr.Get("Content-Type")
	if ctype == "application/problem+json" {
		if err := json.Unmarshal(out, &p); err != nil {
			t.Fatalf("problem: %v: %s", err, out)
		}
	}
	return status, ctype, out, p
}

// TestExtendAPI_L417_3: a relying party sends a holder's B-B signatures, PAdES
// and enveloping CAdES, to POST /api/v1/extend and gets them back at B-LTA,
// time-stamped by the CSP's own TSA with its own status data; pdfsig and
// openssl cms -cades accept them, our validator passes them at B-LTA from the
// embedded evidence alone, a second call renews the PDF, and the audit log
// holds each extension. Missing tokens, lower levels, unsigned, changed,
// detached, garbage and oversize bodies are refused as problems.
func TestExtendAPI_L417_3(t *testing.T) {
	e := startEnv(t, t.TempDir(), "")
	ctx := context.Background()
	h := newHolderFiles(t, e, "AB999999", "Bail commercial, loyer 9 000 MAD par mois.\n")
	base := Sign{Key: h.uri, Cert: h.cert, Level: "B-B", Getenv: testGetenv}
	pades, cades, detached := base, base, base
	pades.File, pades.Out = h.pdf, filepath.Join(h.dir, "bb.pdf")
	cades.File, cades.Out = h.doc, filepath.Join(h.dir, "bb.p7m")
	detached.File, detached.Out, detached.Detached = h.doc, filepath.Join(h.dir, "bb.p7s"), true
	for _, s := range []Sign{pades, cades, detached} {
		if _, err := RunSign(ctx, s); err != nil {
			t.Fatalf("sign %s: %v", s.Out, err)
		}
	}
	tok, u := e.userToken(t, "Archives du Royaume", "auditor", "AR000001")
	write := func(name string, b []byte) string {
		p := filepath.Join(h.dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	verify := func(v Verify) VerifyReport {
		t.Helper()
		file := v.Signature
		rep, err := RunVerify(ctx, v)
		if err != nil {
			t.Fatal(err)
		}
		if !rep.Passed() || rep.Indication != validation.TotalPassed || len(rep.Signatures) != 1 {
			t.Fatalf("%s: not TOTAL-PASSED: %+v", file, rep)
		}
		return rep
	}
	var sums []string // SHA-256 of every input and output, for the audit log

	// PAdES B-B to B-LTA: the input is a prefix, pdfsig trusts it, two document time-stamps.
	bbPDF := readFile(t, pades.Out)
	status, ctype, ltaPDF, p := postExtend(t, e, tok, "?level=B-LTA", bbPDF)
	if status != http.StatusOK || ctype != "application/pdf" {
		t.Fatalf("extend the PDF: %d %s %+v", status, ctype, p)
	}
	if !bytes.HasPrefix(ltaPDF, bbPDF) {
		t.Fatal("the extended PDF does not begin with the PDF as sent (L-9)")
	}
	ltaFile := write("lta.pdf", ltaPDF)
	pdfsigTrusts(t, ltaFile, h.root)
	// Only the root as anchor: the status evidence must be in the PDF's DSS.
	if rep := verify(Verify{Signature: ltaFile, Roots: []string{h.root}}); rep.PDF == nil || rep.PDF.Level != "B-LTA" || len(rep.PDF.DocTimeStamps) != 2 {
		t.Fatalf("extended PDF: %+v", rep.PDF)
	}
	sums = append(sums, hexSum(string(bbPDF)), hexSum(string(ltaPDF)))

	// Renewal: the B-LTA PDF sent again gains one more document time-stamp.
	status, _, renewed, p := postExtend(t, e, tok, "", ltaPDF)
	if status != http.StatusOK || !bytes.HasPrefix(renewed, ltaPDF) {
		t.Fatalf("renew the PDF: %d %+v, prefix kept %v", status, p, bytes.HasPrefix(renewed, ltaPDF))
	}
	renewedFile := write("renewed.pdf", renewed)
	pdfsigTrusts(t, renewedFile, h.root)
	if rep := verify(Verify{Signature: renewedFile, Roots: []string{h.root}}); rep.PDF.Level != "B-LTA" || len(rep.PDF.DocTimeStamps) != 3 {
		t.Fatalf("renewed PDF: level %s, %d document time-stamps", rep.PDF.Level, len(rep.PDF.DocTimeStamps))
	}
	sums = append(sums, hexSum(string(renewed)))

	// Enveloping CAdES B-B to B-LTA (format found from the body): openssl checks it as CAdES.
	bbCMS := readFile(t, cades.Out)
	status, ctype, ltaCMS, p := postExtend(t, e, tok, "?level=B-LTA", bbCMS)
	if status != http.StatusOK || ctype != "application/pkcs7-signature" {
		t.Fatalf("extend the CMS: %d %s %+v", status, ctype, p)
	}
	cmsFile := write("lta.p7m", ltaCMS)
	content := filepath.Join(h.dir, "content.txt")
	if o, err := exec.Command(needTool(t, "openssl"), "cms", "-verify", "-cades", "-inform", "DER", "-in", cmsFile, "-binary",
		"-CAfile", h.root, "-purpose", "any", "-out", content).CombinedOutput(); err != nil {
		t.Fatalf("openssl cms -verify -cades refuses the extended CMS: %v\n%s", err, o)
	}
	if !bytes.Equal(readFile(t, content), readFile(t, h.doc)) {
		t.Fatal("the extended CMS no longer carries the signed document")
	}
	// With the CSP's records, as for `tawthiq extend`: offline, status must be current at the proven time.
	if rep := verify(Verify{Signature: cmsFile, Config: &Config{Data: e.data}}); rep.Signatures[0].Level != "B-LTA" || len(rep.Signatures[0].ArchiveTimeStamps) != 1 {
		t.Fatalf("extended CMS: level %s, %d archive time-stamps", rep.Signatures[0].Level, len(rep.Signatures[0].ArchiveTimeStamps))
	}
	sums = append(sums, hexSum(string(bbCMS)), hexSum(string(ltaCMS)))

	entries, err := e.app.DB.AuditEntries(ctx, 0, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	var recorded string
	for _, en := range entries {
		if en.Action == ActionExtend && en.Actor == u.ID && strings.Contains(string(en.Data), `"level":"B-LTA"`) {
			recorded += string(en.Data)
		}
	}
	for _, s := range sums {
		if !strings.Contains(recorded, s) {
			t.Errorf("no %s audit entry by %s with SHA-256 %s", ActionExtend, u.ID, s)
		}
	}

	// Refusals, each a problem; nothing is extended.
	changed := bytes.Clone(bbCMS)
	i := bytes.Index(changed, []byte("9 000 MAD"))
	if i < 0 {
		t.Fatal("the enveloping CMS does not hold the document")
	}
	changed[i] = '8'
	// Signed under another CSP: the server asks no one else for status (it would follow URLs the file names).
	foreignPDF := foreignSignedPDF(t)
	for _, tc := range []struct {
		name, token, query string
		body               []byte
		status             int
		want               string // in the problem's rule or detail
	}{
		{"no token", "", "", bbPDF, 401, "Bearer"},
		{"lower than the file's", tok, "?level=B-T", ltaPDF, 400, "L-9"},
		{"an unsigned PDF", tok, "", readFile(t, h.pdf), 400, "L-417-2"},
		{"a CMS changed after signing", tok, "", changed, 400, "changed after signing"},
		// Over the JSON limit yet within the document one: read, then refused for what it is.
		{"garbage", tok, "", bytes.Repeat([]byte("not a signature "), 2<<20/16), 400, "L-417-2"},
		{"a detached CMS", tok, "", readFile(t, detached.Out), 400, "tawthiq extend FILE --content"},
		{"another CSP's signer at B-LT", tok, "?level=B-LT", foreignPDF, 400, "not a certificate of this CSP"},
		{"over the document limit", tok, "", make([]byte, api.DefaultMaxDocumentBytes+1), 413, "bytes"},
	} {
		status, ctype, _, p := postExtend(t, e, tc.token, tc.query, tc.body)
		if status != tc.status || ctype != "application/problem+json" || !strings.Contains(p.Rule+" "+p.Detail, tc.want) {
			t.Errorf("%s: %d %s %+v, want %d naming %q", tc.name, status, ctype, p, tc.status, tc.want)
		}
	}
}

// foreignSignedPDF is a B-B PAdES whose signer another hierarchy certified.
func foreignSignedPDF(t *testing.T) []byte {
	t.Helper()
	h := testpki.New(t, testpki.WithNow(time.Now().Add(-time.Hour)))
	k, err := keys.GenerateThrowaway(keys.ECDSAP256)
	if err != nil {
		t.Fatal(err)
	}
	holder := h.Issue(t, nil, h.NaturalRequest(t, testpki.Profile(t, "natural-qualified"), k.Public()))
	out, err := signature.SignPAdES(t.Context(), pdftest.Document("Contrat", 0, false), k,
		[]*x509.Certificate{holder.Cert, h.Signature.Cert}, signature.PAdESOptions{Level: signature.BB})
	if err != nil {
		t.Fatal(err)
	}
	return out
}
