package render

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode"

	"golang.org/x/text/unicode/norm"

	"github.com/tawthiq/tawthiq/internal/testpki"
)

// writePDF renders d in lang to a file and checks that qpdf finds it well formed.
func writePDF(t *testing.T, d Document, lang string) string {
	t.Helper()
	qpdf := testpki.NeedTool(t, "qpdf", "qpdf")
	var b bytes.Buffer
	if err := PDF(&b, d, lang); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "report-"+lang+".pdf")
	if err := os.WriteFile(path, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(qpdf, "--check", path).CombinedOutput(); err != nil {
		t.Fatalf("qpdf --check %s: %v\n%s", lang, err, out)
	}
	return path
}

// pdfText is poppler's reading of the PDF, in reading order.
func pdfText(t *testing.T, path string) string {
	t.Helper()
	pdftotext := testpki.NeedTool(t, "pdftotext", "poppler-utils")
	out, err := exec.Command(pdftotext, "-enc", "UTF-8", path, "-").Output()
	if err != nil {
		t.Fatalf("pdftotext: %v", err)
	}
	return string(out)
}

func TestPDFLatin(t *testing.T) {
	d := sampleDocument()
	phrases := map[string][]string{
		"en": {"This signature is a qualified electronic signature, presumed reliable (DOC 417-3).",
			"Its date, 2026-03-14 09:26:53 UTC, is proven by a time-stamp",
			"This signature is NOT valid: the document was changed after it was signed",
			"could be neither confirmed nor rejected: the signer's certificate has been revoked",
			"HASH_FAILURE — the document was changed", "REVOKED_NO_POE", "TOTAL-PASSED", "INDETERMINATE",
			"Given name: Amina", "Surname: El Idrissi", "Legal conclusions"},
		"fr": {"Cette signature est une signature électronique qualifiée, présumée fiable (DOC art. 417-3).",
			"Cette signature n'est PAS valide : le document a été modifié après sa signature",
			"n'a pu être ni confirmée ni rejetée", "HASH_FAILURE", "REVOKED_NO_POE",
			"Prénom: Amina", "Conclusions juridiques", "Émetteur"},
	}
	for lang, want := range phrases {
		text := collapse(pdfText(t, writePDF(t, d, lang)))
		for _, p := range append(want, d.SHA256, "L-417-2", "L-20", "L-417-3", "L-425", "IDCMA-BE123456") {
			if !strings.Contains(text, collapse(p)) {
				t.Errorf("%s: pdftotext does not find %q in:\n%s", lang, p, text)
			}
		}
		// The Arabic name of the third signer is drawn shaped even in a French or English page.
		if !strings.Contains(norm.NFKC.String(text), "محمد العلوي") {
			t.Errorf("%s: the Arabic signer name is missing", lang)
		}
	}
}

// TestPDFArabic checks what a reader of the Arabic PDF gets. pdftotext gives Arabic
// back in logical order (it reorders what it reads right to left, and marks the
// runs with U+202A..U+202C), and gives the glyphs' code points as the PDF maps
// them: presentation forms. So: no base letter may remain (every letter was shaped),
// the shaped words must appear as drawn, and after NFKC, which folds presentation
// forms back to letters, whole Arabic phrases must read in logical order, which
// they do only if the lines were drawn in visual order.
func TestPDFArabic(t *testing.T) {
	d := sampleDocument()
	raw := pdfText(t, writePDF(t, d, "ar"))
	clean := strings.Map(func(r rune) rune {
		if unicode.Is(unicode.Cf, r) { // pdftotext's embedding marks, our isolates
			return -1
		}
		return r
	}, raw)

	forms := 0
	for _, r := range clean {
		switch {
		case r >= 0x0621 && r <= 0x064A:
			t.Fatalf("base Arabic letter %q in pdftotext output: a letter was drawn unshaped", r)
		case r >= 0xFE70 && r <= 0xFEFC:
			forms++
		}
	}
	if forms < 500 {
		t.Errorf("only %d presentation forms in the Arabic PDF", forms)
	}
	for _, w := range []string{"التوقيع", "الوثيقة", "محمد العلوي", "لا"} {
		if shaped := shapeArabic(w); !strings.Contains(clean, shaped) {
			t.Errorf("shaped %q (%+q) not found", w, shaped)
		}
	}

	text := collapse(norm.NFKC.String(clean))
	for _, p := range []string{
		textAR.Title,
		// pdftotext takes the Arabic comma and the colon for left-to-right text and
		// moves them within the line, so phrases are checked between punctuation.
		"هذا التوقيع توقيع إلكتروني مؤهل", "يفترض فيه أنه موثوق به",
		"هذا التوقيع غير صحيح", "غيرت الوثيقة بعد توقيعها",
		"تعذر تأكيد هذا التوقيع أو رفضه",
		textAR.Conclusions, textAR.Signer,
		"الموقع", "مؤهل", "موثوق",
		// Latin and digits inside Arabic lines keep their own order.
		"L-417-3", "L-425", "2026-03-14 09:26:53 UTC", "IDCMA-BE123456", "HASH_FAILURE", "REVOKED_NO_POE",
		"CN=Tawthiq Issuing CA 1,O=Tawthiq,C=MA", d.SHA256,
	} {
		if !strings.Contains(text, collapse(p)) {
			t.Errorf("ar: pdftotext (NFKC) does not find %q", p)
		}
	}
	// Drawn in logical order, the title would come back reversed.
	reversed := []rune(textAR.Title)
	slices.Reverse(reversed)
	if strings.Contains(text, string(reversed)) {
		t.Errorf("ar: the title reads backwards")
	}
}

func TestPDFFontEmbedded(t *testing.T) {
	pdffonts := testpki.NeedTool(t, "pdffonts", "poppler-utils")
	out, err := exec.Command(pdffonts, writePDF(t, sampleDocument(), "ar")).Output()
	if err != nil {
		t.Fatal(err)
	}
	// Columns: name type encoding emb sub uni; the one font must be embedded with a ToUnicode map.
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != 3 || !strings.Contains(lines[2], "dejavu") {
		t.Fatalf("pdffonts:\n%s", out)
	}
	f := strings.Fields(lines[2])
	if emb, uni := f[len(f)-5], f[len(f)-3]; emb != "yes" || uni != "yes" {
		t.Errorf("font not embedded with a ToUnicode map:\n%s", out)
	}
}

func TestPDFReproducible(t *testing.T) {
	var a, b bytes.Buffer
	if err := PDF(&a, sampleDocument(), "fr"); err != nil {
		t.Fatal(err)
	}
	if err := PDF(&b, sampleDocument(), "fr"); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Error("two renderings of the same report differ")
	}
}
