package render

import (
	"reflect"
	"strings"
	"testing"
	"unicode"

	"golang.org/x/image/font/sfnt"
	"golang.org/x/text/unicode/norm"
)

// TestFormsTable checks the hand-written table against Unicode's own decompositions:
// every presentation form the shaper can emit must be a compatibility form of the
// letter it stands for.
func TestFormsTable(t *testing.T) {
	for base, f := range arabicForms {
		n := map[joining]int{joinNone: 1, joinRight: 2, joinDual: 4}[f.join]
		for i := range n {
			form := f.isolated + rune(i)
			if got := norm.NFKC.String(string(form)); got != string(base) {
				t.Errorf("U+%04X form %d is U+%04X, which NFKC maps to %q, not %q", base, i, form, got, string(base))
			}
		}
	}
	for alef, lig := range lamAlef {
		for _, form := range []rune{lig, lig + 1} {
			if got, want := norm.NFKC.String(string(form)), string([]rune{lam, alef}); got != want {
				t.Errorf("ligature U+%04X maps to %q, want %q", form, got, want)
			}
		}
	}
}

func TestShapeArabic(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		// meem initial, hah medial, meem medial, dal final
		{"محمد", "\uFEE3\uFEA4\uFEE4\uFEAA"},
		// alef isolated, lam initial, waw final, theh initial, yeh medial, qaf medial, teh marbuta final
		{"الوثيقة", "\uFE8D\uFEDF\uFEEE\uFE9B\uFEF4\uFED8\uFE94"},
		// lam-alef isolated; kaf initial + lam-alef final
		{"لا", "\uFEFB"},
		{"كلا", "\uFEDB\uFEFC"},
		// hamza never joins; the letters around it do not join across it
		{"جزء", "\uFE9F\uFEB0\uFE80"},
		// a haraka is transparent: beh still joins the following teh
		{"بَت", "\uFE91\u064E\uFE96"},
		// Latin, digits and punctuation pass through; words are shaped apart
		{"L-417-3 من 3", "L-417-3 \uFEE3\uFEE6 3"},
		{"Amina", "Amina"},
	} {
		if got := shapeArabic(c.in); got != c.want {
			t.Errorf("shapeArabic(%q) = %+q, want %+q", c.in, got, c.want)
		}
	}
}

func TestShapeRoundTrip(t *testing.T) {
	for _, s := range stringsOf(&textAR) {
		shaped := shapeArabic(s)
		for _, r := range shaped {
			if _, ok := arabicForms[r]; ok {
				t.Errorf("%q: letter %q left unshaped", s, r)
			}
		}
		if got := norm.NFKC.String(shaped); got != norm.NFKC.String(s) {
			t.Errorf("NFKC(shape(%q)) = %q", s, got)
		}
	}
}

// TestFontCoverage checks, with a TrueType parser other than fpdf's, that the embedded
// font has a glyph for every rune the pages can draw.
func TestFontCoverage(t *testing.T) {
	f, err := sfnt.Parse(fontTTF)
	if err != nil {
		t.Fatal(err)
	}
	var buf sfnt.Buffer
	need := map[rune]bool{'•': true, '—': true, '·': true, '/': true}
	for r := rune(0x20); r < 0x7F; r++ {
		need[r] = true
	}
	for _, f := range arabicForms {
		for i := range 4 {
			if f.join == joinDual || (f.join == joinRight && i < 2) || i == 0 {
				need[f.isolated+rune(i)] = true
			}
		}
	}
	for _, lig := range lamAlef {
		need[lig], need[lig+1] = true, true
	}
	for _, lang := range Languages() {
		for _, s := range stringsOf(catalog[lang]) {
			for _, r := range shapeArabic(s) {
				need[r] = true
			}
		}
	}
	for r := range need {
		if unicode.Is(unicode.Cf, r) || r == '\n' {
			continue // format characters are never drawn
		}
		if gi, err := f.GlyphIndex(&buf, r); err != nil || gi == 0 {
			t.Errorf("the font has no glyph for %q (U+%04X)", r, r)
		}
	}
}

// stringsOf returns every string of a language's table, so that shaping and the font
// are checked on what the pages actually say.
func stringsOf(tx *texts) []string {
	var out []string
	var walk func(v reflect.Value)
	walk = func(v reflect.Value) {
		switch v.Kind() {
		case reflect.String:
			out = append(out, strings.ReplaceAll(v.String(), "%", ""))
		case reflect.Struct:
			for i := 0; i < v.NumField(); i++ {
				walk(v.Field(i))
			}
		case reflect.Map:
			for it := v.MapRange(); it.Next(); {
				walk(it.Value())
			}
		}
	}
	walk(reflect.ValueOf(*tx))
	return out
}
