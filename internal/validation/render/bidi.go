package render

import (
	"golang.org/x/text/unicode/bidi"
)

// The isolates that wrap every value put into a sentence (names, dates, rule IDs), so
// that a Latin name inside Arabic text, or an Arabic name inside French text, keeps its
// own direction (UAX #9 isolates; <bdi> in HTML).
const (
	fsi = '\u2068' // first strong isolate
	pdi = '\u2069' // pop directional isolate
)

// isolate wraps a value in FSI ... PDI.
func isolate(s string) string {
	if s == "" {
		return s
	}
	return string(fsi) + s + string(pdi)
}

// bidiClasses looks up the UAX #9 class of each rune. Explicit embeddings and
// overrides (LRE, RLO, PDF...) count as BN, that is they are ignored: this package
// never produces them and a value carrying them is isolated anyway.
func bidiClasses(rs []rune) []bidi.Class {
	cls := make([]bidi.Class, len(rs))
	for i, r := range rs {
		p, _ := bidi.LookupRune(r)
		c := p.Class()
		switch c {
		case bidi.LRE, bidi.RLE, bidi.LRO, bidi.RLO, bidi.PDF:
			c = bidi.BN
		}
		cls[i] = c
	}
	return cls
}

func isIsolateInitiator(c bidi.Class) bool { return c == bidi.LRI || c == bidi.RLI || c == bidi.FSI }

// resolveLevels gives the embedding level of each rune of one paragraph whose base
// level is 0 (left to right) or 1 (right to left), applying UAX #9 rules X5a-X6a for
// isolates, W1-W7, N1-N2 and I1-I2. Not applied: explicit embeddings (see
// bidiClasses) and N0 (paired brackets take the direction around them instead).
func resolveLevels(rs []rune, base int) []int {
	cls := bidiClasses(rs)
	levels := make([]int, len(rs))
	// match[i] is the index of the PDI closing the isolate opened at i, or len(rs).
	match := make(map[int]int)
	var stack []int
	for i, c := range cls {
		switch {
		case isIsolateInitiator(c):
			stack = append(stack, i)
		case c == bidi.PDI && len(stack) > 0:
			match[stack[len(stack)-1]] = i
			stack = stack[:len(stack)-1]
		case c == bidi.PDI:
			cls[i] = bidi.ON // an unmatched PDI is an ordinary neutral
		}
	}
	for _, open := range stack {
		match[open] = len(rs)
	}
	resolveSequence(cls, levels, match, 0, len(rs), base)
	// X9: removed characters take the level of the rune before them.
	for i, c := range cls {
		if c == bidi.BN {
			if i > 0 {
				levels[i] = levels[i-1]
			} else {
				levels[i] = base
			}
		}
	}
	return levels
}

// resolveSequence resolves the isolating run sequence rs[from:to] at the given level;
// the contents of nested isolates are resolved recursively one level deeper.
func resolveSequence(cls []bidi.Class, levels []int, match map[int]int, from, to, level int) {
	var idx []int
	for i := from; i < to; i++ {
		if cls[i] == bidi.BN {
			continue
		}
		idx = append(idx, i)
		if !isIsolateInitiator(cls[i]) {
			continue
		}
		end := match[i]
		inner := level + 1 // RLI: the next odd level
		if cls[i] == bidi.LRI || (cls[i] == bidi.FSI && firstStrongIsLTR(cls, i+1, end, match)) {
			inner = level + 2 - level%2 // the next even level
		} else if level%2 == 1 {
			inner = level + 2
		}
		resolveSequence(cls, levels, match, i+1, end, inner)
		if end < to {
			idx = append(idx, end)
		}
		i = end
	}
	if len(idx) == 0 {
		return
	}
	t := make([]bidi.Class, len(idx))
	for k, i := range idx {
		t[k] = cls[i]
	}
	sos := bidi.L
	if level%2 == 1 {
		sos = bidi.R
	}
	resolveWeak(t, sos)
	resolveNeutral(t, sos, level)
	for k, i := range idx {
		levels[i] = implicitLevel(t[k], level)
	}
}

// firstStrongIsLTR reports whether the first strong rune in cls[from:to], skipping
// nested isolates, is left to right; with none, an FSI is left to right (UAX #9 P2-P3).
func firstStrongIsLTR(cls []bidi.Class, from, to int, match map[int]int) bool {
	for i := from; i < to; i++ {
		switch c := cls[i]; {
		case c == bidi.L:
			return true
		case c == bidi.R || c == bidi.AL:
			return false
		case isIsolateInitiator(c):
			i = match[i]
		}
	}
	return true
}

// resolveWeak applies W1-W7 to the classes of one isolating run sequence.
func resolveWeak(t []bidi.Class, sos bidi.Class) {
	for k, c := range t { // W1
		if c != bidi.NSM {
			continue
		}
		switch {
		case k == 0:
			t[k] = sos
		case isIsolateInitiator(t[k-1]) || t[k-1] == bidi.PDI:
			t[k] = bidi.ON
		default:
			t[k] = t[k-1]
		}
	}
	strong := sos
	for k, c := range t { // W2, W3
		switch c {
		case bidi.L, bidi.R:
			strong = c
		case bidi.AL:
			strong = c
			t[k] = bidi.R
		case bidi.EN:
			if strong == bidi.AL {
				t[k] = bidi.AN
			}
		}
	}
	for k := 1; k+1 < len(t); k++ { // W4
		switch {
		case t[k] == bidi.ES && t[k-1] == bidi.EN && t[k+1] == bidi.EN:
			t[k] = bidi.EN
		case t[k] == bidi.CS && t[k-1] == bidi.EN && t[k+1] == bidi.EN:
			t[k] = bidi.EN
		case t[k] == bidi.CS && t[k-1] == bidi.AN && t[k+1] == bidi.AN:
			t[k] = bidi.AN
		}
	}
	for k := 0; k < len(t); k++ { // W5
		if t[k] != bidi.ET {
			continue
		}
		end := k
		for end < len(t) && t[end] == bidi.ET {
			end++
		}
		if (k > 0 && t[k-1] == bidi.EN) || (end < len(t) && t[end] == bidi.EN) {
			for j := k; j < end; j++ {
				t[j] = bidi.EN
			}
		}
		k = end - 1
	}
	for k, c := range t { // W6
		if c == bidi.ES || c == bidi.ET || c == bidi.CS {
			t[k] = bidi.ON
		}
	}
	strong = sos
	for k, c := range t { // W7
		switch c {
		case bidi.L, bidi.R:
			strong = c
		case bidi.EN:
			if strong == bidi.L {
				t[k] = bidi.L
			}
		}
	}
}

func isNeutral(c bidi.Class) bool {
	switch c {
	case bidi.B, bidi.S, bidi.WS, bidi.ON, bidi.LRI, bidi.RLI, bidi.FSI, bidi.PDI:
		return true
	}
	return false
}

// strongDir is the direction a resolved class counts as for N1: numbers count as R.
func strongDir(c bidi.Class) bidi.Class {
	if c == bidi.L {
		return bidi.L
	}
	return bidi.R
}

// resolveNeutral applies N1-N2: a run of neutrals between two runes of the same
// direction takes it, otherwise the embedding direction.
func resolveNeutral(t []bidi.Class, sos bidi.Class, level int) {
	embedding := bidi.L
	if level%2 == 1 {
		embedding = bidi.R
	}
	for k := 0; k < len(t); k++ {
		if !isNeutral(t[k]) {
			continue
		}
		end := k
		for end < len(t) && isNeutral(t[end]) {
			end++
		}
		before, after := sos, sos // sos == eos: both are the sequence's own level here
		if k > 0 {
			before = strongDir(t[k-1])
		}
		if end < len(t) {
			after = strongDir(t[end])
		}
		dir := embedding
		if before == after {
			dir = before
		}
		for j := k; j < end; j++ {
			t[j] = dir
		}
		k = end - 1
	}
}

// implicitLevel applies I1-I2.
func implicitLevel(c bidi.Class, level int) int {
	if level%2 == 0 {
		switch c {
		case bidi.R:
			return level + 1
		case bidi.AN, bidi.EN:
			return level + 2
		}
		return level
	}
	if c == bidi.L || c == bidi.EN || c == bidi.AN {
		return level + 1
	}
	return level
}

// visualLine reorders one line, rs with the levels resolved for its paragraph, for
// display from left to right (UAX #9 L1, L2 and L4), and drops the invisible format
// characters (isolates, BN) that the font has no glyph for.
func visualLine(rs []rune, levels []int, base int) string {
	cls := bidiClasses(rs)
	lv := append([]int(nil), levels...)
	for i := len(rs) - 1; i >= 0; i-- { // L1: trailing white space and isolates go to the base level
		if c := cls[i]; c == bidi.WS || c == bidi.BN || isIsolateInitiator(c) || c == bidi.PDI {
			lv[i] = base
			continue
		}
		break
	}
	order := make([]int, len(rs))
	high, lowOdd := 0, 1<<30
	for i, l := range lv {
		order[i] = i
		high = max(high, l)
		if l%2 == 1 {
			lowOdd = min(lowOdd, l)
		}
	}
	for l := high; l >= lowOdd; l-- { // L2
		for i := 0; i < len(order); i++ {
			if lv[order[i]] < l {
				continue
			}
			j := i
			for j < len(order) && lv[order[j]] >= l {
				j++
			}
			for a, b := i, j-1; a < b; a, b = a+1, b-1 {
				order[a], order[b] = order[b], order[a]
			}
			i = j
		}
	}
	out := make([]rune, 0, len(rs))
	for _, i := range order {
		c := cls[i]
		if c == bidi.BN || isIsolateInitiator(c) || c == bidi.PDI {
			continue
		}
		r := rs[i]
		if lv[i]%2 == 1 { // L4: mirrored glyphs, such as brackets, in right-to-left runs
			if p, _ := bidi.LookupRune(r); p.IsBracket() {
				r = []rune(bidi.ReverseString(string(r)))[0]
			}
		}
		out = append(out, r)
	}
	return string(out)
}
