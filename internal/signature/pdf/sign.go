package pdf

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf16"

	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/types"
)

// SubFilters of PAdES baseline signatures and document time-stamps (EN 319 142-1 §5.3, §5.4).
const (
	SubFilterCAdES   = "ETSI.CAdES.detached"
	SubFilterRFC3161 = "ETSI.RFC3161"
)

// SigField describes the signature dictionary PrepareSignature adds.
type SigField struct {
	DocTimeStamp bool      // a /Type /DocTimeStamp dictionary (PAdES B-LTA) instead of /Type /Sig
	SubFilter    string    // SubFilterCAdES or SubFilterRFC3161
	Time         time.Time // the claimed signing time, /M; zero leaves it out
	Reason       string
	Location     string
	Name         string
	Reserve      int // bytes reserved in /Contents for the DER to come
}

// Prepared is a file whose new signature dictionary has a zeroed /Contents
// placeholder; ByteRange covers everything else.
type Prepared struct {
	pdf       []byte
	byteRange [4]int64
}

// ByteRange returns the signature's /ByteRange.
func (p *Prepared) ByteRange() [4]int64 { return p.byteRange }

// SignedBytes returns what the signature must cover: both ranges, concatenated.
func (p *Prepared) SignedBytes() []byte {
	br := p.byteRange
	out := make([]byte, 0, br[1]+br[3])
	out = append(out, p.pdf[br[0]:br[0]+br[1]]...)
	return append(out, p.pdf[br[2]:br[2]+br[3]]...)
}

// Embed writes der, hex-encoded and zero-padded, into the placeholder and
// returns the finished file. It fails when der does not fit.
func (p *Prepared) Embed(der []byte) ([]byte, error) {
	gap := p.pdf[p.byteRange[1]:p.byteRange[2]]
	if 2*len(der) > len(gap)-2 {
		return nil, fmt.Errorf("pdf: a %d-byte signature does not fit the %d bytes reserved", len(der), (len(gap)-2)/2)
	}
	out := bytes.Clone(p.pdf)
	hex.Encode(out[p.byteRange[1]+1:], der)
	return out, nil
}

// placeholder widths: ten digits hold any offset below 10 GB.
const byteRangeWidth = 3*10 + 3 + 1

// PrepareSignature appends an incremental update adding a signature field
// (an invisible widget on the first page, listed in AcroForm with SigFlags 3)
// whose value is a new signature dictionary with a /Contents placeholder.
func (f *File) PrepareSignature(s SigField) (*Prepared, error) {
	if s.Reserve <= 0 {
		return nil, errors.New("pdf: no room reserved for the signature")
	}
	u := f.NewUpdate()
	sigNr := u.Add(sigDict(s))
	fieldNr := u.Reserve()
	pageRef, _, err := f.firstPage()
	if err != nil {
		return nil, err
	}
	name, err := f.freeFieldName(s.DocTimeStamp)
	if err != nil {
		return nil, err
	}
	u.Set(fieldNr, fmt.Appendf(nil, "<</Type/Annot/Subtype/Widget/FT/Sig/T%s/V %d 0 R/P %s/Rect[0 0 0 0]/F 132>>",
		textString(name), sigNr, pageRef.PDFString()))
	if err := f.addField(u, fieldNr); err != nil {
		return nil, err
	}
	if err := f.addAnnot(u, pageRef, fieldNr); err != nil {
		return nil, err
	}
	out, offsets, err := u.Bytes()
	if err != nil {
		return nil, err
	}
	return fillByteRange(out, offsets[sigNr])
}

// sigDict is the signature dictionary with placeholders (ISO 32000-1 §12.8.1).
func sigDict(s SigField) []byte {
	var b bytes.Buffer
	typ := "Sig"
	if s.DocTimeStamp {
		typ = "DocTimeStamp"
	}
	fmt.Fprintf(&b, "<</Type/%s/Filter/Adobe.PPKLite/SubFilter/%s", typ, s.SubFilter)
	if !s.Time.IsZero() {
		b.WriteString("/M" + textString(Date(s.Time)))
	}
	for _, kv := range [][2]string{{"Reason", s.Reason}, {"Location", s.Location}, {"Name", s.Name}} {
		if kv[1] != "" {
			fmt.Fprintf(&b, "/%s%s", kv[0], textString(kv[1]))
		}
	}
	fmt.Fprintf(&b, "/ByteRange[%s]/Contents<%s>>>", strings.Repeat(" ", byteRangeWidth), strings.Repeat("0", 2*s.Reserve))
	return b.Bytes()
}

// Date formats t as a PDF date (ISO 32000-1 §7.9.4), in UTC.
func Date(t time.Time) string {
	return t.UTC().Format("D:20060102150405") + "+00'00'"
}

// fillByteRange finds the placeholders of the signature dictionary at off and
// writes the byte range around its /Contents string.
func fillByteRange(out []byte, off int64) (*Prepared, error) {
	obj := out[off:]
	br := bytes.Index(obj, []byte("/ByteRange["))
	ct := bytes.Index(obj, []byte("/Contents<"))
	if br < 0 || ct < 0 {
		return nil, errors.New("pdf: signature placeholders not found")
	}
	lt := off + int64(ct) + int64(len("/Contents"))
	gt := lt + int64(bytes.IndexByte(out[lt:], '>'))
	p := &Prepared{pdf: out, byteRange: [4]int64{0, lt, gt + 1, int64(len(out)) - gt - 1}}
	v := fmt.Sprintf("0 %d %d %d", p.byteRange[1], p.byteRange[2], p.byteRange[3])
	if len(v) > byteRangeWidth {
		return nil, errors.New("pdf: the file is too large to sign")
	}
	copy(out[off+int64(br)+int64(len("/ByteRange[")):], v)
	return p, nil
}

// freeFieldName returns a field name not yet used at the top of AcroForm.
func (f *File) freeFieldName(docTimeStamp bool) (string, error) {
	used := map[string]bool{}
	cat, err := f.catalog()
	if err != nil {
		return "", err
	}
	if form := f.dict(cat["AcroForm"]); form != nil {
		for _, fld := range f.array(form["Fields"]) {
			used[text(f.dict(fld)["T"])] = true
		}
	}
	prefix := "Signature"
	if docTimeStamp {
		prefix = "DocTimeStamp"
	}
	for i := 1; ; i++ {
		if n := fmt.Sprintf("%s%d", prefix, i); !used[n] {
			return n, nil
		}
	}
}

// addField lists field fieldNr in AcroForm and sets SigFlags to 3 (signatures
// exist, append only), rewriting whichever object holds the form.
func (f *File) addField(u *Update, fieldNr int) error {
	cat, err := f.catalog()
	if err != nil {
		return err
	}
	ref := types.IndirectRef{ObjectNumber: types.Integer(fieldNr)}
	formObj, hasForm := cat["AcroForm"]
	form := f.dict(formObj)
	if !hasForm || form == nil {
		form = types.Dict{"Fields": types.Array{ref}}
	} else {
		form = form.Clone().(types.Dict)
		fields, err := f.appendTo(u, form["Fields"], ref)
		if err != nil {
			return err
		}
		if fields != nil {
			form["Fields"] = fields
		}
	}
	form["SigFlags"] = types.Integer(3)
	if formRef, ok := formObj.(types.IndirectRef); ok && hasForm && f.dict(formRef) != nil {
		u.Set(formRef.ObjectNumber.Value(), []byte(form.PDFString()))
		return nil
	}
	cat = cat.Clone().(types.Dict)
	cat["AcroForm"] = types.IndirectRef{ObjectNumber: types.Integer(u.Add([]byte(form.PDFString())))}
	return f.setCatalog(u, cat)
}

// addAnnot lists the widget in the page's Annots.
func (f *File) addAnnot(u *Update, pageRef types.IndirectRef, widgetNr int) error {
	page := f.dict(pageRef).Clone().(types.Dict)
	ref := types.IndirectRef{ObjectNumber: types.Integer(widgetNr)}
	annots, err := f.appendTo(u, page["Annots"], ref)
	if err != nil {
		return err
	}
	if annots == nil {
		return nil // an indirect array, rewritten in place
	}
	page["Annots"] = annots
	u.Set(pageRef.ObjectNumber.Value(), []byte(page.PDFString()))
	return nil
}

// appendTo appends ref to the array o. A direct (or missing) array is returned
// for the caller to store; an indirect one is rewritten in u and nil returned.
func (f *File) appendTo(u *Update, o types.Object, ref types.IndirectRef) (types.Array, error) {
	arr := append(types.Array(nil), f.array(o)...)
	arr = append(arr, ref)
	if r, ok := o.(types.IndirectRef); ok && f.array(r) != nil {
		if r.ObjectNumber.Value() == u.f.xref.Root.ObjectNumber.Value() {
			return nil, errors.New("pdf: an array cannot be the catalog")
		}
		u.Set(r.ObjectNumber.Value(), []byte(arr.PDFString()))
		return nil, nil
	}
	return arr, nil
}

// setCatalog rewrites the catalog, merging with a rewrite already in u.
func (f *File) setCatalog(u *Update, cat types.Dict) error {
	n := f.xref.Root.ObjectNumber.Value()
	if prev, ok := u.objs[n]; ok && prev != nil {
		d, err := parseDictAt(prev)
		if err != nil {
			return err
		}
		for k, v := range cat {
			d[k] = v
		}
		cat = d
	}
	u.Set(n, []byte(cat.PDFString()))
	return nil
}

// textString writes s as a PDF text string (§7.9.2.2): an escaped literal when
// it is printable ASCII, else UTF-16BE with a byte order mark, in hex.
func textString(s string) string {
	ascii := true
	for _, r := range s {
		if r < 0x20 || r > 0x7e {
			ascii = false
		}
	}
	if ascii {
		r := strings.NewReplacer(`\`, `\\`, "(", `\(`, ")", `\)`)
		return "(" + r.Replace(s) + ")"
	}
	u := utf16.Encode([]rune(s))
	b := make([]byte, 2, 2+2*len(u))
	b[0], b[1] = 0xfe, 0xff
	for _, c := range u {
		b = append(b, byte(c>>8), byte(c))
	}
	return "<" + hex.EncodeToString(b) + ">"
}
