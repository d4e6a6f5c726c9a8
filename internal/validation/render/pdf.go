package render

import (
	_ "embed"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/go-pdf/fpdf"
	"golang.org/x/text/unicode/bidi"
)

// fontTTF is DejaVu Sans (see font/LICENSE): one face covers Latin, Arabic and the
// Arabic presentation forms the shaper produces.
//
//go:embed font/DejaVuSans.ttf
var fontTTF []byte

const (
	fontFamily = "dejavu"
	margin     = 18.0 // mm
	nbAlias    = "{nb}"
)

type rgb struct{ r, g, b int }

// The page's colours, by tone: a strong one for text and rules, a light one for fills.
var (
	colourInk   = rgb{26, 26, 26}
	colourMuted = rgb{90, 90, 90}
	colourHead  = rgb{20, 50, 100}
	toneStrong  = map[tone]rgb{toneGood: {27, 127, 59}, toneBad: {179, 38, 30}, toneUnknown: {178, 106, 0}}
	toneLight   = map[tone]rgb{toneGood: {234, 246, 238}, toneBad: {252, 236, 234}, toneUnknown: {255, 244, 224}}
)

// pdfPage draws paragraphs in the page's base direction on an fpdf document.
type pdfPage struct {
	f      *fpdf.Fpdf
	rtl    bool
	width  float64 // of the text area, mm
	widths map[rune]float64
	size   float64 // the font size the widths were measured at
}

// PDF writes d's reports as an A4 PDF in lang ("ar", "fr" or "en"), with the same
// content as HTML; Arabic pages are laid out right to left with shaped letters.
func PDF(w io.Writer, d Document, lang string) error {
	p, err := buildPage(d, lang)
	if err != nil {
		return err
	}
	f := fpdf.New("P", "mm", "A4", "")
	f.AliasNbPages(nbAlias) // before the font is added: fpdf then keeps the digits in the subset
	f.AddUTF8FontFromBytes(fontFamily, "", fontTTF)
	f.SetMargins(margin, margin, margin)
	f.SetAutoPageBreak(true, margin)
	f.SetTitle(p.Title, true)
	f.SetLang(p.Lang)
	f.SetCreator("tawthiq", false)
	// The page shows the report as of its validation time; so does its date, which keeps the output reproducible.
	if at := latestValidation(d); !at.IsZero() {
		f.SetCreationDate(at)
		f.SetModificationDate(at)
	}
	pw := &pdfPage{f: f, rtl: p.Dir == "rtl", widths: map[rune]float64{}}
	pageW, _ := f.GetPageSize()
	pw.width = pageW - 2*margin
	f.SetFooterFunc(func() {
		f.SetY(-margin + 4)
		pw.font(8, colourMuted)
		f.CellFormat(0, 5, fmt.Sprintf("%d / %s", f.PageNo(), nbAlias), "", 0, "C", false, 0, "")
	})
	f.AddPage()
	pw.draw(p)
	if err := f.Error(); err != nil {
		return fmt.Errorf("render: pdf: %w", err)
	}
	return f.Output(w)
}

func latestValidation(d Document) time.Time {
	var at time.Time
	for _, r := range d.Signatures {
		if r.ValidationAt.After(at) {
			at = r.ValidationAt
		}
	}
	return at
}

func (pw *pdfPage) draw(p *page) {
	pw.paragraph(p.Title, 17, 8, 0, colourHead)
	pw.f.Ln(2)
	pw.heading(p.Document)
	pw.fields(p.DocFields)
	if len(p.Notes) > 0 {
		pw.subheading(p.NotesTitle)
		for _, n := range p.Notes {
			pw.paragraph("• "+isolate(n), 10, 5, 3, colourInk)
		}
	}
	if p.NoSignatures != "" {
		pw.paragraph(p.NoSignatures, 10, 5, 0, colourInk)
	}
	for _, s := range p.Signatures {
		pw.f.Ln(3)
		pw.heading(s.Heading)
		pw.box(s.Summary, s.Tone)
		for _, sec := range s.Sections {
			pw.subheading(sec.Title)
			if sec.Text != "" {
				pw.paragraph(sec.Text, 10, 5, 0, colourInk)
			}
			pw.fields(sec.Fields)
			for _, it := range sec.Items {
				if it.Head == "" {
					pw.paragraph("• "+isolate(it.Text), 9.5, 4.8, 3, colourInk)
					continue
				}
				pw.f.Ln(1)
				pw.paragraph(isolate(it.Head), 10, 5, 0, toneStrong[it.Tone])
				pw.paragraph(it.Text, 10, 5, 3, colourInk)
				if it.Detail != "" {
					pw.paragraph(it.Detail, 8.5, 4.3, 3, colourMuted)
				}
			}
		}
	}
	pw.f.Ln(4)
	pw.paragraph(p.Footer, 8.5, 4.3, 0, colourMuted)
}

func (pw *pdfPage) heading(s string) {
	pw.paragraph(s, 13.5, 7, 0, colourHead)
	y := pw.f.GetY()
	pw.f.SetDrawColor(colourHead.r, colourHead.g, colourHead.b)
	pw.f.SetLineWidth(0.3)
	pw.f.Line(margin, y, margin+pw.width, y)
	pw.f.Ln(1.5)
}

func (pw *pdfPage) subheading(s string) {
	pw.f.Ln(1.5)
	pw.paragraph(s, 11, 6, 0, colourHead)
}

func (pw *pdfPage) fields(fs []field) {
	for _, f := range fs {
		s := f.Label + ": " + isolate(f.Value)
		if f.Meaning != "" {
			s += " — " + f.Meaning
		}
		pw.paragraph(s, 10, 5, 0, colourInk)
	}
}

// box draws the summary on a tinted background with a bar on the side where lines start.
func (pw *pdfPage) box(text string, t tone) {
	const size, lineH, pad, bar = 11, 5.6, 2.5, 1.4
	pw.font(size, colourInk)
	lines := pw.layout(text, pw.width-2*pad-bar)
	h := float64(len(lines))*lineH + 2*pad
	_, pageH := pw.f.GetPageSize()
	if y := pw.f.GetY(); y+h > pageH-margin && h < pageH-2*margin {
		pw.f.AddPage()
	}
	y := pw.f.GetY()
	light, strong := toneLight[t], toneStrong[t]
	pw.f.SetFillColor(light.r, light.g, light.b)
	pw.f.Rect(margin, y, pw.width, h, "F")
	pw.f.SetFillColor(strong.r, strong.g, strong.b)
	barX := margin
	if pw.rtl {
		barX = margin + pw.width - bar
	}
	pw.f.Rect(barX, y, bar, h, "F")
	pw.f.SetY(y + pad)
	pw.lines(lines, lineH, pad+bar, pad)
	pw.f.SetY(y + h + 1)
}

// paragraph shapes, wraps and draws text in the page's direction, indented from the
// side where lines start.
func (pw *pdfPage) paragraph(text string, size, lineH, indent float64, c rgb) {
	pw.font(size, c)
	pw.lines(pw.layout(text, pw.width-indent), lineH, indent, 0)
}

// lines draws laid-out lines, aligned on the side where lines start.
func (pw *pdfPage) lines(lines []string, lineH, start, end float64) {
	for _, l := range lines {
		if pw.rtl {
			pw.f.SetX(margin + end)
			pw.f.CellFormat(pw.width-start-end, lineH, l, "", 1, "R", false, 0, "")
		} else {
			pw.f.SetX(margin + start)
			pw.f.CellFormat(pw.width-start-end, lineH, l, "", 1, "L", false, 0, "")
		}
	}
}

func (pw *pdfPage) font(size float64, c rgb) {
	pw.f.SetFont(fontFamily, "", size)
	pw.f.SetTextColor(c.r, c.g, c.b)
	if size != pw.size {
		clear(pw.widths)
		pw.size = size
	}
}

// runeWidth is the advance of r at the current size; format characters draw nothing.
func (pw *pdfPage) runeWidth(r rune) float64 {
	if w, ok := pw.widths[r]; ok {
		return w
	}
	var w float64
	switch p, _ := bidi.LookupRune(r); p.Class() {
	case bidi.BN, bidi.LRI, bidi.RLI, bidi.FSI, bidi.PDI, bidi.LRE, bidi.RLE, bidi.LRO, bidi.RLO, bidi.PDF:
	default:
		w = pw.f.GetStringWidth(string(r))
	}
	pw.widths[r] = w
	return w
}

// layout turns a paragraph into lines in visual order: shape (logical order), resolve
// bidi levels on the whole paragraph, break at spaces to fit width (a word longer than
// a line is cut), then reorder each line (UAX #9 L1-L2: levels come from the
// paragraph, reordering is per line).
func (pw *pdfPage) layout(text string, width float64) []string {
	base := 0
	if pw.rtl {
		base = 1
	}
	width -= pw.f.GetCellMargin() // fpdf pads the aligned side of a cell
	rs := []rune(shapeArabic(text))
	levels := resolveLevels(rs, base)
	var out []string
	emit := func(a, b int) {
		out = append(out, strings.Trim(visualLine(rs[a:b], levels[a:b], base), " "))
	}
	start, space := 0, -1
	var w float64
	for i := 0; i < len(rs); i++ {
		r := rs[i]
		if r == '\n' {
			emit(start, i)
			start, space, w = i+1, -1, 0
			continue
		}
		rw := pw.runeWidth(r)
		if r == ' ' {
			space = i
		} else if w+rw > width && i > start {
			if space > start {
				emit(start, space)
				start = space + 1
			} else {
				emit(start, i)
				start = i
			}
			space, w = -1, 0
			for _, x := range rs[start:i] {
				w += pw.runeWidth(x)
			}
		}
		w += rw
	}
	if start < len(rs) || len(out) == 0 {
		emit(start, len(rs))
	}
	return out
}
