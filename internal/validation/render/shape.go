package render

import "unicode"

// joining is an Arabic letter's joining type (Unicode ArabicShaping.txt).
type joining uint8

const (
	joinNone        joining = iota // U: joins neither side (hamza, and every non-Arabic rune)
	joinRight                      // R: joins only the letter before it (alef, dal, reh, waw...)
	joinDual                       // D: joins both sides
	joinCausing                    // C: tatweel and ZWJ make their neighbours join
	joinTransparent                // T: harakat and format marks are skipped when looking for neighbours
)

// arabicForm gives, for a letter of U+0621..U+064A, its isolated form in Arabic
// Presentation Forms-B; the final, initial and medial forms follow it in that order
// (two forms for R letters, four for D letters), as the Unicode block is laid out.
type arabicForm struct {
	isolated rune
	join     joining
}

// arabicForms covers the letters of Modern Standard Arabic, which are all that
// Presentation Forms-B encodes; other letters (Persian, Maghrebi extensions) are drawn
// unshaped. Alef maksura is R here: Forms-B has no initial or medial form for it.
var arabicForms = map[rune]arabicForm{
	0x0621: {0xFE80, joinNone}, 0x0622: {0xFE81, joinRight}, 0x0623: {0xFE83, joinRight},
	0x0624: {0xFE85, joinRight}, 0x0625: {0xFE87, joinRight}, 0x0626: {0xFE89, joinDual},
	0x0627: {0xFE8D, joinRight}, 0x0628: {0xFE8F, joinDual}, 0x0629: {0xFE93, joinRight},
	0x062A: {0xFE95, joinDual}, 0x062B: {0xFE99, joinDual}, 0x062C: {0xFE9D, joinDual},
	0x062D: {0xFEA1, joinDual}, 0x062E: {0xFEA5, joinDual}, 0x062F: {0xFEA9, joinRight},
	0x0630: {0xFEAB, joinRight}, 0x0631: {0xFEAD, joinRight}, 0x0632: {0xFEAF, joinRight},
	0x0633: {0xFEB1, joinDual}, 0x0634: {0xFEB5, joinDual}, 0x0635: {0xFEB9, joinDual},
	0x0636: {0xFEBD, joinDual}, 0x0637: {0xFEC1, joinDual}, 0x0638: {0xFEC5, joinDual},
	0x0639: {0xFEC9, joinDual}, 0x063A: {0xFECD, joinDual}, 0x0641: {0xFED1, joinDual},
	0x0642: {0xFED5, joinDual}, 0x0643: {0xFED9, joinDual}, 0x0644: {0xFEDD, joinDual},
	0x0645: {0xFEE1, joinDual}, 0x0646: {0xFEE5, joinDual}, 0x0647: {0xFEE9, joinDual},
	0x0648: {0xFEED, joinRight}, 0x0649: {0xFEEF, joinRight}, 0x064A: {0xFEF1, joinDual},
}

// lamAlef maps the alef that follows a lam to the isolated form of their mandatory
// ligature; the final form is the next code point.
var lamAlef = map[rune]rune{0x0622: 0xFEF5, 0x0623: 0xFEF7, 0x0625: 0xFEF9, 0x0627: 0xFEFB}

const (
	lam     = 0x0644
	tatweel = 0x0640
	zwj     = 0x200D
	zwnj    = 0x200C
)

func joiningOf(r rune) joining {
	if f, ok := arabicForms[r]; ok {
		return f.join
	}
	switch {
	case r == tatweel || r == zwj:
		return joinCausing
	case r == zwnj:
		return joinNone
	case unicode.In(r, unicode.Mn, unicode.Me, unicode.Cf):
		return joinTransparent
	}
	return joinNone
}

// shapeArabic replaces the Arabic letters of s, given in logical order, by their
// contextual presentation forms, and lam + alef by their ligature. PDF viewers draw
// glyphs as they come: without this step Arabic would be shown as isolated letters.
func shapeArabic(s string) string {
	in := []rune(s)
	hasArabic := false
	for _, r := range in {
		if _, ok := arabicForms[r]; ok {
			hasArabic = true
			break
		}
	}
	if !hasArabic {
		return s
	}
	// neighbour returns the joining type of the nearest non-transparent rune from i in step direction.
	neighbour := func(i, step int) joining {
		for j := i + step; j >= 0 && j < len(in); j += step {
			if jt := joiningOf(in[j]); jt != joinTransparent {
				return jt
			}
		}
		return joinNone
	}
	out := make([]rune, 0, len(in))
	for i := 0; i < len(in); i++ {
		r := in[i]
		f, ok := arabicForms[r]
		if !ok {
			out = append(out, r)
			continue
		}
		prev := neighbour(i, -1)
		joinsBefore := (prev == joinDual || prev == joinCausing) && f.join != joinNone
		if r == lam && i+1 < len(in) {
			if lig, ok := lamAlef[in[i+1]]; ok {
				if joinsBefore {
					lig++
				}
				out = append(out, lig)
				i++ // the alef is part of the ligature
				continue
			}
		}
		next := neighbour(i, +1)
		joinsAfter := f.join == joinDual && (next == joinDual || next == joinRight || next == joinCausing)
		switch {
		case joinsBefore && joinsAfter:
			out = append(out, f.isolated+3)
		case joinsAfter:
			out = append(out, f.isolated+2)
		case joinsBefore:
			out = append(out, f.isolated+1)
		default:
			out = append(out, f.isolated)
		}
	}
	return string(out)
}
