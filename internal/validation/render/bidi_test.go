package render

import (
	"strings"
	"testing"

	"golang.org/x/text/unicode/bidi"
)

// visual lays s out as one line of a paragraph of the given base level.
func visual(s string, base int) string {
	rs := []rune(s)
	return visualLine(rs, resolveLevels(rs, base), base)
}

func TestVisualOrder(t *testing.T) {
	for _, c := range []struct {
		name string
		in   string
		base int
		want string
	}{
		{"Latin stays", "Signature 1 of 3", 0, "Signature 1 of 3"},
		{"Arabic reversed", "من صحة", 1, "ةحص نم"},
		{"rule ID inside Arabic keeps its order", "الفصل L-417-3 هنا", 1, "انه L-417-3 لصفلا"},
		{"isolated date inside Arabic", "في " + isolate("2026-03-14 09:26:53 UTC") + " ثابت", 1, "تباث 2026-03-14 09:26:53 UTC يف"},
		{"label and isolated Latin value", "الاسم: " + isolate("Amina El Idrissi"), 1, "Amina El Idrissi :مسالا"},
		{"Arabic name isolated in French", "Nom: " + isolate("محمد العلوي") + " (MA)", 0, "Nom: يولعلا دمحم (MA)"},
		{"brackets mirror in right-to-left runs", "قرينة (موثوق)", 1, "(قوثوم) ةنيرق"},
		{"Latin in brackets inside Arabic", "النتيجة (ETSI EN 319 102-1)", 1, "(ETSI EN 319 102-1) ةجيتنلا"},
		{"digits after Arabic read right to left", "التوقيع 1 من 3", 1, "3 نم 1 عيقوتلا"},
		{"unmatched PDI is a neutral", "ab\u2069cd", 0, "abcd"},
	} {
		if got := visual(c.in, c.base); got != c.want {
			t.Errorf("%s: visual(%q) = %q, want %q", c.name, c.in, got, c.want)
		}
	}
}

// TestLevelsAgreeWithXText compares the levels resolved here with the runs that
// golang.org/x/text/unicode/bidi computes for the same right-to-left paragraphs
// (every sentence of the Arabic table, with values substituted): both must put each
// rune on the same side.
func TestLevelsAgreeWithXText(t *testing.T) {
	r := strings.NewReplacer("%[1]s", "2026-03-14 (CN=TSA 1)", "%[2]s", "L-425", "%[3]s", "DOC 425", "%[1]d", "1", "%[2]d", "3")
	for _, s := range stringsOf(&textAR) {
		s = r.Replace(s)
		rs := []rune(s)
		mine := resolveLevels(rs, 1)
		var p bidi.Paragraph
		if _, err := p.SetString(s, bidi.DefaultDirection(bidi.RightToLeft)); err != nil {
			t.Fatal(err)
		}
		o, err := p.Order()
		if err != nil {
			t.Fatal(err)
		}
		for i := range o.NumRuns() {
			run := o.Run(i)
			from, to := run.Pos()
			for k := from; k <= to; k++ {
				if rtl := mine[k]%2 == 1; rtl != (run.Direction() == bidi.RightToLeft) {
					t.Errorf("%q: rune %d (%q) at level %d, x/text says %v", s, k, rs[k], mine[k], run.Direction())
				}
			}
		}
	}
}
