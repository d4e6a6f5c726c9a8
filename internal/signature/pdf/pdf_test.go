package pdf_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tawthiq/tawthiq/internal/signature/pdf"
	"github.com/tawthiq/tawthiq/internal/signature/pdf/pdftest"
	"github.com/tawthiq/tawthiq/internal/testpki"
)

// fakeDER is a DER SEQUENCE standing in for a CMS signature.
var fakeDER = []byte{0x30, 0x03, 0x02, 0x01, 0x07}

// qpdfCheck fails t unless qpdf --check finds the file well formed.
func qpdfCheck(t *testing.T, b []byte) {
	t.Helper()
	qpdf := testpki.NeedTool(t, "qpdf", "qpdf")
	p := filepath.Join(t.TempDir(), "f.pdf")
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(qpdf, "--check", p).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "No syntax or stream encoding errors") || strings.Contains(string(out), "WARNING") {
		t.Fatalf("qpdf --check: %v\n%s", err, out)
	}
}

func open(t *testing.T, b []byte) *pdf.File {
	t.Helper()
	f, err := pdf.Open(b)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func sign(t *testing.T, b []byte, s pdf.SigField) []byte {
	t.Helper()
	p, err := open(t, b).PrepareSignature(s)
	if err != nil {
		t.Fatal(err)
	}
	out, err := p.Embed(fakeDER)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

var when = time.Date(2026, 3, 2, 10, 30, 0, 0, time.UTC)

// TestIncrementalUpdate: each update keeps the original bytes, is well formed
// for qpdf, keeps the input's cross-reference style, and reads back with the
// byte range, /M, reason and the DSS as written.
func TestIncrementalUpdate(t *testing.T) {
	for _, xrefStream := range []bool{false, true} {
		t.Run(map[bool]string{false: "xref-table", true: "xref-stream"}[xrefStream], func(t *testing.T) {
			orig := pdftest.Document("contrat", 0, xrefStream)
			qpdfCheck(t, orig)
			signed := sign(t, orig, pdf.SigField{SubFilter: pdf.SubFilterCAdES, Time: when, Reason: "J'approuve (L-9)", Location: "الرباط", Reserve: 64})
			if !bytes.HasPrefix(signed, orig) {
				t.Fatal("the original bytes were rewritten")
			}
			qpdfCheck(t, signed)
			f := open(t, signed)
			if f.XRefStream() != xrefStream {
				t.Fatalf("the update's xref style is stream=%v, want %v", f.XRefStream(), xrefStream)
			}
			if got := strings.Count(string(signed[len(orig):]), "/Type/XRef"); got != map[bool]int{false: 0, true: 1}[xrefStream] {
				t.Fatalf("%d xref streams in the update", got)
			}
			sigs, err := f.Signatures()
			if err != nil || len(sigs) != 1 {
				t.Fatalf("signatures %v, %v", sigs, err)
			}
			s := sigs[0]
			if err := f.CheckByteRange(s); err != nil {
				t.Fatal(err)
			}
			if !f.Covers(s) || f.Revision(s) != 2 || !s.Time.Equal(when) || s.Reason != "J'approuve (L-9)" || s.Location != "الرباط" ||
				s.SubFilter != pdf.SubFilterCAdES || s.Field != "Signature1" || !bytes.Equal(pdf.DER(s.Contents), fakeDER) {
				t.Fatalf("read back %+v", s)
			}
			want := append(bytes.Clone(signed[:s.ByteRange[1]]), signed[s.ByteRange[2]:]...)
			if !bytes.Equal(f.SignedBytes(s), want) {
				t.Fatal("signed bytes are not the file minus the /Contents string")
			}

			// B-LT then a second signer: both earlier ranges stay intact.
			withDSS, err := f.AddDSS(pdf.DSS{Certs: [][]byte{[]byte("cert")}, CRLs: [][]byte{[]byte("crl")}})
			if err != nil {
				t.Fatal(err)
			}
			qpdfCheck(t, withDSS)
			again, err := open(t, withDSS).AddDSS(pdf.DSS{Certs: [][]byte{[]byte("cert"), []byte("cert2")}, OCSPs: [][]byte{[]byte("ocsp")}})
			if err != nil {
				t.Fatal(err)
			}
			second := sign(t, again, pdf.SigField{SubFilter: pdf.SubFilterCAdES, Time: when, Reserve: 64})
			qpdfCheck(t, second)
			f = open(t, second)
			dss, err := f.DSS()
			if err != nil || len(dss.Certs) != 2 || len(dss.CRLs) != 1 || len(dss.OCSPs) != 1 {
				t.Fatalf("DSS %q, %v; want the two certificates once each, one CRL, one OCSP response", dss, err)
			}
			sigs, _ = f.Signatures()
			if len(sigs) != 2 || sigs[1].Field != "Signature2" || f.Covers(sigs[0]) || !f.Covers(sigs[1]) {
				t.Fatalf("signatures %+v", sigs)
			}
			for _, s := range sigs {
				if err := f.CheckByteRange(s); err != nil {
					t.Fatal(err)
				}
			}
			if got := f.Revisions(); len(got) != 5 {
				t.Fatalf("revisions %v, want 5", got)
			}
		})
	}
}

// TestChangesAfter: after a signature, a DSS and a second signature are
// allowed changes; a new page content and a new annotation are not.
func TestChangesAfter(t *testing.T) {
	for _, xrefStream := range []bool{false, true} {
		orig := pdftest.Document("contrat", 0, xrefStream)
		first := sign(t, orig, pdf.SigField{SubFilter: pdf.SubFilterCAdES, Time: when, Reserve: 64})
		withDSS, err := open(t, first).AddDSS(pdf.DSS{Certs: [][]byte{[]byte("c")}})
		if err != nil {
			t.Fatal(err)
		}
		second := sign(t, withDSS, pdf.SigField{DocTimeStamp: true, SubFilter: pdf.SubFilterRFC3161, Reserve: 64})
		f := open(t, second)
		changes, err := f.ChangesAfter(int64(len(first)))
		if err != nil {
			t.Fatal(err)
		}
		kinds := map[string]bool{}
		for _, c := range changes {
			if !c.Allowed {
				t.Fatalf("stream=%v: %+v not allowed", xrefStream, c)
			}
			kinds[c.Kind] = true
		}
		for _, k := range []string{"dss", "document-time-stamp", "signature-field", "catalog", "page"} {
			if !kinds[k] {
				t.Fatalf("stream=%v: no %s change among %+v", xrefStream, k, changes)
			}
		}

		u := f.NewUpdate()
		u.Set(4, pdf.Stream("", []byte("BT /F1 14 Tf 72 770 Td (contrat: 90 000 dirhams) Tj ET")))
		u.Add([]byte("<</Type/Annot/Subtype/Text/Rect[0 0 10 10]/Contents(note)>>"))
		tampered, _, err := u.Bytes()
		if err != nil {
			t.Fatal(err)
		}
		qpdfCheck(t, tampered)
		changes, err = open(t, tampered).ChangesAfter(int64(len(first)))
		if err != nil {
			t.Fatal(err)
		}
		bad := map[string]bool{}
		for _, c := range changes {
			if !c.Allowed {
				bad[c.Kind] = true
			}
		}
		if !bad["page-content"] || !bad["annotation"] || len(bad) != 2 {
			t.Fatalf("stream=%v: disallowed kinds %v, want page-content and annotation: %+v", xrefStream, bad, changes)
		}
	}
}
