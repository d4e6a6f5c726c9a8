// Package render turns validation reports into pages a relying party can read: a
// self-contained HTML page and an A4 PDF, in Arabic (right to left), French or English.
// Each page starts with a plain-words summary (which presumption of DOC 417-3 applies,
// whether the date is opposable under DOC 425), then gives the details: the ETSI
// EN 319 102-1 indication and sub-indication with their meaning, the signer as
// certified (L-417-2), the proven and claimed times, the time-stamp, the chain, the
// warnings and each legal conclusion with its rule ID.
//
// The texts of the three languages live in one table per language (text.go). Free
// text that the validator writes (its reason, warnings, the why of each conclusion)
// is English and is shown as given, labelled as such in French and Arabic.
//
// Hand-written parts, and why: fpdf draws glyphs in the order it receives them and
// does no shaping (its RTL mode only reverses whole strings, which also reverses
// Latin runs and digits), and no module this project may use shapes Arabic for PDF.
// So shape.go maps Arabic letters to their contextual forms in Arabic Presentation
// Forms-B (isolated, initial, medial, final, and the lam-alef ligatures), and bidi.go
// resolves UAX #9 levels (isolates, weak and neutral types, implicit levels; no
// explicit embeddings, no bracket pairing) with the classes from
// golang.org/x/text/unicode/bidi, whose Paragraph API does not expose levels, then
// reorders each wrapped line for display. HTML needs none of this: browsers shape
// and reorder, and values are isolated with <bdi>.
//
// The PDF embeds DejaVu Sans (font/DejaVuSans.ttf, licence in font/LICENSE), which
// covers Latin, Arabic and all of Presentation Forms-B; fpdf subsets it to the
// glyphs used.
//
// This is a mechanism package: no database, no network.
package render
