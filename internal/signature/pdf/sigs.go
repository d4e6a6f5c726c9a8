package pdf

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/types"
)

// Signature is a signature dictionary found as the value of a signature field:
// a signature (/Type /Sig, or no /Type) or a document time-stamp.
type Signature struct {
	Field        string // the field's fully qualified name
	FieldObj     int    // the field's object number (the merged widget, usually)
	ObjNr        int    // the signature dictionary's object number; 0 when direct
	DocTimeStamp bool
	Filter       string
	SubFilter    string
	ByteRange    []int64
	Contents     []byte    // as stored, zero padding included
	Time         time.Time // /M, the claimed signing time; zero when absent or unreadable
	Reason       string
	Location     string
	Name         string
}

// Signatures returns every signed signature field of the document, in the
// order their byte ranges end (the order they were made).
func (f *File) Signatures() ([]Signature, error) {
	cat, err := f.catalog()
	if err != nil {
		return nil, err
	}
	form := f.dict(cat["AcroForm"])
	if form == nil {
		return nil, nil
	}
	var out []Signature
	seen := map[int]bool{}
	for _, fld := range f.array(form["Fields"]) {
		f.walkField(fld, "", "", 0, seen, &out)
	}
	sort.SliceStable(out, func(i, j int) bool { return rangeEnd(out[i].ByteRange) < rangeEnd(out[j].ByteRange) })
	return out, nil
}

func rangeEnd(br []int64) int64 {
	if len(br) != 4 {
		return 0
	}
	return br[2] + br[3]
}

// walkField visits a field and its kids; FT and T inherit (§12.7.3.1).
func (f *File) walkField(o types.Object, parent, ft string, depth int, seen map[int]bool, out *[]Signature) {
	if depth > maxDepth {
		return
	}
	ref, isRef := o.(types.IndirectRef)
	if isRef {
		if seen[ref.ObjectNumber.Value()] {
			return
		}
		seen[ref.ObjectNumber.Value()] = true
	}
	d := f.dict(o)
	if d == nil {
		return
	}
	name := parent
	if t := text(d["T"]); t != "" {
		if name != "" {
			name += "."
		}
		name += t
	}
	if n := d.NameEntry("FT"); n != nil {
		ft = *n
	}
	for _, kid := range f.array(d["Kids"]) {
		f.walkField(kid, name, ft, depth+1, seen, out)
	}
	if ft != "Sig" {
		return
	}
	v := d["V"]
	sd := f.dict(v)
	if sd == nil {
		return // an empty signature field
	}
	s := f.signature(sd)
	s.Field = name
	if isRef {
		s.FieldObj = ref.ObjectNumber.Value()
	}
	if r, ok := v.(types.IndirectRef); ok {
		s.ObjNr = r.ObjectNumber.Value()
	}
	*out = append(*out, s)
}

// signature reads the entries of a signature dictionary (§12.8.1 Table 252).
func (f *File) signature(d types.Dict) Signature {
	var s Signature
	if t := d.NameEntry("Type"); t != nil && *t == "DocTimeStamp" {
		s.DocTimeStamp = true
	}
	if n := d.NameEntry("Filter"); n != nil {
		s.Filter = *n
	}
	if n := d.NameEntry("SubFilter"); n != nil {
		s.SubFilter = *n
	}
	for _, o := range f.array(d["ByteRange"]) {
		switch n := f.resolve(o).(type) {
		case types.Integer:
			s.ByteRange = append(s.ByteRange, int64(n))
		default:
			s.ByteRange = append(s.ByteRange, -1) // caught by CheckByteRange
		}
	}
	s.Contents, _ = stringBytes(f.resolve(d["Contents"]))
	if m := text(f.resolve(d["M"])); m != "" {
		if t, ok := types.DateTime(m, true); ok {
			s.Time = t.UTC()
		}
	}
	s.Reason, s.Location, s.Name = text(f.resolve(d["Reason"])), text(f.resolve(d["Location"])), text(f.resolve(d["Name"]))
	return s
}

// CheckByteRange checks what a validator must before hashing (EN 319 142-1
// §5.1; ISO 32000-1 §12.8.1): four non-negative integers, the first range
// starting at 0, the gap exactly the hex /Contents string of this very
// signature dictionary, no overlap, nothing past the end of the file.
func (f *File) CheckByteRange(s Signature) error {
	br := s.ByteRange
	if len(br) != 4 {
		return fmt.Errorf("pdf: /ByteRange has %d numbers, not 4", len(br))
	}
	for _, n := range br {
		if n < 0 {
			return errors.New("pdf: /ByteRange holds a negative or non-integer value")
		}
	}
	size := int64(len(f.data))
	switch {
	case br[0] != 0:
		return errors.New("pdf: /ByteRange does not start at the beginning of the file")
	case br[1] < 2 || br[2] <= br[1]+1:
		return errors.New("pdf: /ByteRange ranges overlap or leave no gap for /Contents")
	case br[2] > size || br[3] > size-br[2]:
		return errors.New("pdf: /ByteRange reaches past the end of the file")
	}
	gap := f.data[br[1]:br[2]]
	if gap[0] != '<' || gap[len(gap)-1] != '>' {
		return errors.New("pdf: the /ByteRange gap is not a hex string")
	}
	der := make([]byte, (len(gap)-2)/2)
	if n, err := hex.Decode(der, gap[1:len(gap)-1]); err != nil || n != len(der) || len(gap)%2 != 0 {
		return errors.New("pdf: the /ByteRange gap is not exactly a hex string")
	}
	if !bytes.Equal(der, s.Contents) {
		return errors.New("pdf: the /ByteRange gap is not this signature's /Contents")
	}
	return f.gapInObject(s, br)
}

// gapInObject checks that the gap lies inside the signature dictionary's own
// object, so that a /Contents elsewhere cannot be swapped in.
func (f *File) gapInObject(s Signature, br []int64) error {
	if s.ObjNr == 0 {
		return errors.New("pdf: the signature dictionary is not an indirect object")
	}
	e, ok := f.xref.Find(s.ObjNr)
	if !ok || e.Offset == nil || e.Compressed {
		return errors.New("pdf: the signature dictionary is not an uncompressed object")
	}
	off := *e.Offset
	if off < 0 || off >= br[1] {
		return errors.New("pdf: the /ByteRange gap is not inside the signature dictionary")
	}
	end := bytes.Index(f.data[off:], []byte("endobj"))
	if end < 0 || off+int64(end) < br[2] {
		return errors.New("pdf: the /ByteRange gap is not inside the signature dictionary")
	}
	return nil
}

// SignedBytes returns the bytes s's byte range covers. Call CheckByteRange first.
func (f *File) SignedBytes(s Signature) []byte {
	br := s.ByteRange
	out := make([]byte, 0, br[1]+br[3])
	out = append(out, f.data[:br[1]]...)
	return append(out, f.data[br[2]:br[2]+br[3]]...)
}

// Covers reports whether s's byte range reaches the end of the file.
func (f *File) Covers(s Signature) bool { return rangeEnd(s.ByteRange) == int64(len(f.data)) }

// Revision returns the 1-based number of the revision s's byte range ends,
// or 0 when it ends elsewhere than at a revision's end.
func (f *File) Revision(s Signature) int {
	end := rangeEnd(s.ByteRange)
	for i, e := range f.revEnds {
		if e == end {
			return i + 1
		}
	}
	return 0
}

// DER returns the signature's /Contents without its zero padding: the single
// DER element it starts with (a CMS ContentInfo or a TimeStampToken).
func DER(contents []byte) []byte {
	if len(contents) < 2 || contents[0] != 0x30 {
		return contents
	}
	l, hdr := int(contents[1]), 2
	if l&0x80 != 0 {
		n := l & 0x7f
		if n == 0 || n > 4 || len(contents) < 2+n {
			return contents
		}
		l = 0
		for _, c := range contents[2 : 2+n] {
			l = l<<8 | int(c)
		}
		hdr += n
	}
	if l < 0 || hdr+l > len(contents) {
		return contents
	}
	return contents[:hdr+l]
}
