package render

import (
	"bytes"
	"strings"
	"testing"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

func renderHTML(t *testing.T, d Document, lang string) (string, *html.Node) {
	t.Helper()
	var b bytes.Buffer
	if err := HTML(&b, d, lang); err != nil {
		t.Fatal(err)
	}
	doc, err := html.Parse(strings.NewReader(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	return b.String(), doc
}

func walk(n *html.Node, fn func(*html.Node)) {
	fn(n)
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		walk(c, fn)
	}
}

func attr(n *html.Node, key string) (string, bool) {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val, true
		}
	}
	return "", false
}

// textOf is the page's text as a reader sees it, isolates removed and spaces collapsed.
func textOf(n *html.Node) string {
	var b strings.Builder
	walk(n, func(n *html.Node) {
		if n.Type == html.TextNode && (n.Parent == nil || n.Parent.DataAtom != atom.Style) {
			b.WriteString(n.Data)
			b.WriteByte(' ')
		}
	})
	return collapse(strings.NewReplacer(string(fsi), "", string(pdi), "").Replace(b.String()))
}

// collapse turns every run of white space, no-break spaces included, into one space.
func collapse(s string) string { return strings.Join(strings.Fields(s), " ") }

func TestHTML(t *testing.T) {
	d := sampleDocument()
	phrases := map[string][]string{
		"en": {"This signature is a qualified electronic signature, presumed reliable (DOC 417-3).",
			"Renew before (tawthiq extend)", "2031-03-14",
			"it has the force of a certified signature with a certain date",
			"This signature is NOT valid: the document was changed after it was signed",
			"could be neither confirmed nor rejected: the signer's certificate has been revoked"},
		"fr": {"Cette signature est une signature électronique qualifiée, présumée fiable (DOC art. 417-3).",
			"À renouveler avant le",
			"Cette signature n'est PAS valide : le document a été modifié après sa signature",
			"n'a pu être ni confirmée ni rejetée"},
		"ar": {"هذا التوقيع توقيع إلكتروني مؤهل، يفترض فيه أنه موثوق به (الفصل 417-3 من ق.ل.ع).",
			"يجب التجديد قبل",
			"هذا التوقيع غير صحيح: غيرت الوثيقة بعد توقيعها",
			"تعذر تأكيد هذا التوقيع أو رفضه"},
	}
	for _, lang := range Languages() {
		raw, doc := renderHTML(t, d, lang)
		var root *html.Node
		scripts, external := 0, 0
		walk(doc, func(n *html.Node) {
			if n.Type != html.ElementNode {
				return
			}
			switch n.DataAtom {
			case atom.Html:
				root = n
			case atom.Script, atom.Link, atom.Img, atom.Iframe, atom.Object:
				scripts++
			}
			for _, k := range []string{"src", "href", "action"} {
				if _, ok := attr(n, k); ok {
					external++
				}
			}
		})
		if root == nil {
			t.Fatalf("%s: no <html>", lang)
		}
		if got, _ := attr(root, "lang"); got != lang {
			t.Errorf("%s: <html lang=%q>", lang, got)
		}
		wantDir := map[string]string{"ar": "rtl", "fr": "ltr", "en": "ltr"}[lang]
		if got, _ := attr(root, "dir"); got != wantDir {
			t.Errorf("%s: <html dir=%q>, want %q", lang, got, wantDir)
		}
		// The subject name carries a <script>: it must come out as text, never as an element.
		if scripts != 0 || external != 0 {
			t.Errorf("%s: %d script/link/img elements and %d external references", lang, scripts, external)
		}
		if strings.Contains(raw, "<script>alert") {
			t.Errorf("%s: the subject name reached the page unescaped", lang)
		}
		text := textOf(doc)
		if !strings.Contains(text, xssName) {
			t.Errorf("%s: the signer's name %q is not shown as text", lang, xssName)
		}
		for _, r := range d.Signatures {
			for _, c := range r.Conclusions {
				if !strings.Contains(text, string(c.Rule)) {
					t.Errorf("%s: conclusion rule %s not shown", lang, c.Rule)
				}
			}
			if r.SubIndication != "" && !strings.Contains(text, collapse(string(r.SubIndication)+" — "+catalog[lang].SubIndication[r.SubIndication])) {
				t.Errorf("%s: %s not shown with its meaning", lang, r.SubIndication)
			}
		}
		// The document time-stamp reads in the page's language, with its field, time and TSA.
		docTS := map[string]string{"en": "Document time-stamp", "fr": "Horodatage du document", "ar": "ختم زمني للوثيقة"}[lang]
		for _, p := range append(phrases[lang], d.Notes[0], "محمد العلوي", "2026-03-14 09:26:53 UTC", docTS, "DocTimeStamp7", "2026-04-02 08:00:05 UTC", "CN=Tawthiq TSA") {
			if !strings.Contains(text, collapse(p)) {
				t.Errorf("%s: page lacks %q", lang, p)
			}
		}
	}
}

func TestHTMLNoSignatures(t *testing.T) {
	_, doc := renderHTML(t, Document{Name: "empty.pdf", Kind: "PAdES"}, "en")
	if text := textOf(doc); !strings.Contains(text, textEN.NoSignatures) {
		t.Errorf("page for an unsigned document lacks %q: %s", textEN.NoSignatures, text)
	}
}
