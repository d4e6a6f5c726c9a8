package app

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tawthiq/tawthiq/internal/api"
	"github.com/tawthiq/tawthiq/internal/validation"
)

// postValidate sends body, of Content-Type ctype, to POST /api/v1/validate and returns
// the status, the answer's headers and its body.
func postValidate(t *testing.T, e *testEnv, token, query, ctype string, body []byte) (int, http.Header, []byte) {
	t.Helper()
	return postFile(t, e.base+"/api/v1/validate"+query, token, ctype, body)
}

// postFile POSTs body to url with a bearer token (none if empty) and returns the
// status, the answer's headers and its body.
func postFile(t *testing.T, url, token, ctype string, body []byte) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", ctype)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, out
}

// parts is a multipart/form-data body with the given file parts.
func parts(t *testing.T, files ...[2]string) (string, []byte) {
	t.Helper()
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	for _, f := range files {
		w, err := mw.CreateFormFile(f[0], f[0]+".bin")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]byte(f[1])); err != nil {
			t.Fatal(err)
		}
	}
	if err := mw.Close(); err != nil {
		t.Fatal(err)
	}
	return mw.FormDataContentType(), b.Bytes()
}

// TestValidateAPI_L417_3: a relying party with an account sends a holder's signed PDF
// (PAdES B-LTA) and a detached CAdES signature with its document to POST
// /api/v1/validate, and gets the report `tawthiq verify` gives: TOTAL-PASSED, a
// qualified signature with a proven date, at B-LTA; the document changed by one
// character is HASH_FAILURE; the readable report comes in Arabic, right to left,
// as HTML the browser may style but not script, and as a PDF that poppler's
// pdftotext, an independent reader, reads; each validation is in the audit log.
// No token, an unknown report or language, a stray or empty part, a PDF sent with a
// document, no file and an oversize body are refused as problems.
func TestValidateAPI_L417_3(t *testing.T) {
	e := startEnv(t, t.TempDir(), "")
	ctx := context.Background()
	h := newHolderFiles(t, e, "AB888888", "Reconnaissance de dette : 12 000 MAD.\n")
	base := Sign{Key: h.uri, Cert: h.cert, TSA: TSAURL(e.base), Getenv: testGetenv}
	pades, detached := base, base
	pades.File, pades.Out, pades.Level = h.pdf, filepath.Join(h.dir, "lta.pdf"), "B-LTA"
	detached.File, detached.Out, detached.Level, detached.Detached = h.doc, filepath.Join(h.dir, "lt.p7s"), "B-LT", true
	for _, s := range []Sign{pades, detached} {
		if _, err := RunSign(ctx, s); err != nil {
			t.Fatalf("sign %s: %v", s.Out, err)
		}
	}
	tok, u := e.userToken(t, "Tribunal de commerce", "auditor", "TC000001")
	pdfBytes, sig, doc := readFile(t, pades.Out), readFile(t, detached.Out), readFile(t, h.doc)
	changedDoc := bytes.Replace(doc, []byte("12 000"), []byte("92 000"), 1)

	report := func(status int, hdr http.Header, out []byte) VerifyReport {
		t.Helper()
		if status != http.StatusOK || hdr.Get("Content-Type") != "application/json" {
			t.Fatalf("validate: %d %s\n%s", status, hdr.Get("Content-Type"), out)
		}
		var rep VerifyReport
		if err := json.Unmarshal(out, &rep); err != nil {
			t.Fatal(err)
		}
		if len(rep.Signatures) != 1 {
			t.Fatalf("%d signatures: %s", len(rep.Signatures), out)
		}
		return rep
	}
	rep := report(postValidate(t, e, tok, "", "application/pdf", pdfBytes))
	if r := rep.Signatures[0]; rep.Kind != "PAdES" || !rep.Passed() || !r.Qualified || r.ProvenBy != validation.ByTimeStamp || r.Level != "B-LTA" {
		t.Fatalf("the signed PDF: %s %s, signature %+v", rep.Kind, rep.Indication, r)
	}
	ct, body := parts(t, [2]string{"signature", string(sig)}, [2]string{"document", string(doc)})
	rep = report(postValidate(t, e, tok, "", ct, body))
	if r := rep.Signatures[0]; rep.Kind != "CAdES" || !rep.Passed() || !r.Qualified || r.Level != "B-LT" {
		t.Fatalf("the detached CAdES signature: %s, signature %+v", rep.Indication, r)
	}
	ct, body = parts(t, [2]string{"signature", string(sig)}, [2]string{"document", string(changedDoc)})
	rep = report(postValidate(t, e, tok, "", ct, body))
	if r := rep.Signatures[0]; r.Indication != validation.TotalFailed || r.SubIndication != validation.HashFailure {
		t.Fatalf("the changed document: %s/%s", r.Indication, r.SubIndication)
	}

	// The readable reports.
	status, hdr, page := postValidate(t, e, tok, "?report=html&lang=ar", "application/pdf", pdfBytes)
	if status != http.StatusOK || !strings.HasPrefix(hdr.Get("Content-Type"), "text/html") || !bytes.Contains(page, []byte(`dir="rtl"`)) ||
		!bytes.Contains(page, []byte("TOTAL-PASSED")) {
		t.Fatalf("HTML report in Arabic: %d %s\n%.300s", status, hdr.Get("Content-Type"), page)
	}
	if csp := hdr.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") || strings.Contains(csp, "script-src") {
		t.Errorf("HTML report served with Content-Security-Policy %q", csp)
	}
	status, hdr, page = postValidate(t, e, tok, "?report=pdf&lang=fr", "application/pdf", pdfBytes)
	if status != http.StatusOK || hdr.Get("Content-Type") != "application/pdf" {
		t.Fatalf("PDF report: %d %s", status, hdr.Get("Content-Type"))
	}
	reportPDF := filepath.Join(h.dir, "report.pdf")
	if err := os.WriteFile(reportPDF, page, 0o600); err != nil {
		t.Fatal(err)
	}
	txt, err := exec.Command(needTool(t, "pdftotext"), reportPDF, "-").Output()
	if err != nil || !bytes.Contains(txt, []byte("TOTAL-PASSED")) || !bytes.Contains(txt, []byte("Rapport de validation")) {
		t.Fatalf("pdftotext on the PDF report: %v\n%s", err, txt)
	}

	// Each validation is in the audit log, by its caller, with the file's SHA-256.
	entries, err := e.app.DB.AuditEntries(ctx, 0, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	var n int
	for _, en := range entries {
		if en.Action == ActionValidate && en.Actor == u.ID {
			n++
			if en.Subject != hexSum(string(pdfBytes)) && en.Subject != hexSum(string(sig)) {
				t.Errorf("audit entry for an unknown file: %+v", en)
			}
		}
	}
	if n != 5 {
		t.Errorf("%d %s audit entries by %s, want 5", n, ActionValidate, u.ID)
	}

	// Refusals, each a problem naming what is wrong.
	ctStray, stray := parts(t, [2]string{"signature", string(sig)}, [2]string{"evidence", "x"})
	ctPDFDoc, pdfDoc := parts(t, [2]string{"signature", string(pdfBytes)}, [2]string{"document", string(doc)})
	ctEmpty, emptyDoc := parts(t, [2]string{"signature", string(sig)}, [2]string{"document", ""})
	for _, tc := range []struct {
		name, token, query, ctype string
		body                      []byte
		status                    int
		want                      string
	}{
		{"no token", "", "", "application/pdf", pdfBytes, 401, ""},
		{"an unknown report", tok, "?report=xml", "application/pdf", pdfBytes, 400, "report must be json, html or pdf"},
		{"an unknown language", tok, "?report=html&lang=de", "application/pdf", pdfBytes, 400, "lang must be one of"},
		{"a stray part", tok, "", ctStray, stray, 400, `unknown part \"evidence\"`},
		{"no file", tok, "", "application/pdf", nil, 400, "no signed file"},
		{"a PDF with a document part", tok, "", ctPDFDoc, pdfDoc, 400, "carries its document"},
		{"an empty document part", tok, "", ctEmpty, emptyDoc, 400, "the document part is empty"},
		{"over the document limit", tok, "", "application/pdf", make([]byte, api.DefaultMaxDocumentBytes+1), 413, "over"},
	} {
		status, hdr, out := postValidate(t, e, tc.token, tc.query, tc.ctype, tc.body)
		if status != tc.status || hdr.Get("Content-Type") != "application/problem+json" || !strings.Contains(string(out), tc.want) {
			t.Errorf("%s: %d %s %s", tc.name, status, hdr.Get("Content-Type"), out)
		}
	}
}
