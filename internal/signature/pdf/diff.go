package pdf

import (
	"bytes"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/types"
)

// Change is an object that revisions after a signature added, replaced or freed.
type Change struct {
	Object int    `json:"object"`
	Action string `json:"action"` // "added", "changed" or "deleted"
	// Kind says what the object is: signature, document-time-stamp,
	// signature-field, dss, acroform, catalog, page, page-content, annotation,
	// form-field, metadata, xref-stream, object-stream or other.
	Kind string `json:"kind"`
	// Allowed: PAdES long-term validation permits it after a signature (a DSS,
	// a document time-stamp, a further signature and its field and widget).
	Allowed bool   `json:"allowed"`
	Detail  string `json:"detail,omitempty"`
}

// Disallowed returns, sorted and once each, the kinds of the changes PAdES does not allow.
func Disallowed(changes []Change) []string {
	var kinds []string
	for _, c := range changes {
		if !c.Allowed && !slices.Contains(kinds, c.Kind) {
			kinds = append(kinds, c.Kind)
		}
	}
	sort.Strings(kinds)
	return kinds
}

// ChangesAfter compares the revision ending at end with the whole file and
// returns every object that differs, each judged allowed or not.
func (f *File) ChangesAfter(end int64) ([]Change, error) {
	if end <= 0 || end > int64(len(f.data)) {
		return nil, fmt.Errorf("pdf: no revision ends at %d", end)
	}
	if end == int64(len(f.data)) {
		return nil, nil
	}
	old, err := Open(f.data[:end])
	if err != nil {
		return nil, fmt.Errorf("pdf: the signed revision: %w", err)
	}
	d := &differ{old: old, cur: f, sigObjs: map[int]string{}, dssObjs: map[int]bool{}, contents: map[int]bool{}}
	d.collect()
	nums := make([]int, 0, len(f.xref.Table))
	for n := range f.xref.Table {
		if n > 0 {
			nums = append(nums, n)
		}
	}
	sort.Ints(nums)
	var out []Change
	for _, n := range nums {
		if c, ok := d.compare(n); ok {
			out = append(out, c)
		}
	}
	return out, nil
}

// differ holds what the comparison needs to know about both revisions.
type differ struct {
	old, cur *File
	sigObjs  map[int]string // new signature dictionaries and fields -> kind
	dssObjs  map[int]bool   // the DSS dictionary and everything it lists
	contents map[int]bool   // page content streams, old and new
}

func (d *differ) collect() {
	oldSigs, _ := d.old.Signatures()
	known := map[int]bool{}
	for _, s := range oldSigs {
		known[s.FieldObj], known[s.ObjNr] = true, true
	}
	sigs, _ := d.cur.Signatures()
	for _, s := range sigs {
		if known[s.FieldObj] {
			continue
		}
		kind := "signature"
		if s.DocTimeStamp {
			kind = "document-time-stamp"
		}
		d.sigObjs[s.FieldObj], d.sigObjs[s.ObjNr] = "signature-field", kind
	}
	delete(d.sigObjs, 0)
	if cat, err := d.cur.catalog(); err == nil {
		d.markDSS(cat["DSS"], 0)
	}
	for _, f := range []*File{d.old, d.cur} {
		f.eachPage(func(page types.Dict) {
			c := page["Contents"]
			for _, o := range append(f.array(c), c) {
				if r, ok := o.(types.IndirectRef); ok {
					d.contents[r.ObjectNumber.Value()] = true
				}
			}
		})
	}
}

// markDSS marks the DSS and every object it reaches (arrays, VRI, streams).
func (d *differ) markDSS(o types.Object, depth int) {
	if depth > maxDepth {
		return
	}
	if r, ok := o.(types.IndirectRef); ok {
		if d.dssObjs[r.ObjectNumber.Value()] {
			return
		}
		d.dssObjs[r.ObjectNumber.Value()] = true
	}
	switch v := d.cur.resolve(o).(type) {
	case types.Dict:
		for _, e := range v {
			d.markDSS(e, depth+1)
		}
	case types.Array:
		for _, e := range v {
			d.markDSS(e, depth+1)
		}
	}
}

// eachPage calls fn for every page, depth-first, loops cut.
func (f *File) eachPage(fn func(types.Dict)) {
	cat, err := f.catalog()
	if err != nil {
		return
	}
	seen := map[int]bool{}
	var walk func(o types.Object, depth int)
	walk = func(o types.Object, depth int) {
		r, ok := o.(types.IndirectRef)
		if !ok || depth > maxDepth || seen[r.ObjectNumber.Value()] {
			return
		}
		seen[r.ObjectNumber.Value()] = true
		node := f.dict(r)
		if t := node.Type(); node != nil && t != nil && *t == "Page" {
			fn(node)
			return
		}
		for _, kid := range f.array(node["Kids"]) {
			walk(kid, depth+1)
		}
	}
	walk(cat["Pages"], 0)
}

// compare returns the change to object n, if any.
func (d *differ) compare(n int) (Change, bool) {
	ne, _ := d.cur.xref.Find(n)
	oe, inOld := d.old.xref.Find(n)
	inOld = inOld && !oe.Free
	ref := types.IndirectRef{ObjectNumber: types.Integer(n)}
	switch {
	case ne.Free && !inOld:
		return Change{}, false
	case ne.Free:
		return Change{Object: n, Action: "deleted", Kind: d.kind(n, d.old.resolve(ref))}, true
	case !inOld:
		return d.added(n, d.cur.resolve(ref)), true
	case sameLocation(oe, ne):
		return Change{}, false
	}
	before, after := d.old.resolve(ref), d.cur.resolve(ref)
	if equal(d.old, before, d.cur, after) {
		return Change{}, false // rewritten identically
	}
	c := Change{Object: n, Action: "changed", Kind: d.kind(n, after)}
	c.Allowed, c.Detail = d.changeAllowed(c.Kind, before, after)
	return c, true
}

// sameLocation: the entry still points at the bytes the signed revision had.
func sameLocation(a, b *model.XRefTableEntry) bool {
	if a.Compressed || b.Compressed {
		return a.Compressed && b.Compressed && a.ObjectStream != nil && b.ObjectStream != nil &&
			*a.ObjectStream == *b.ObjectStream && a.ObjectStreamInd != nil && b.ObjectStreamInd != nil && *a.ObjectStreamInd == *b.ObjectStreamInd
	}
	return a.Offset != nil && b.Offset != nil && *a.Offset == *b.Offset
}

func (d *differ) added(n int, o types.Object) Change {
	c := Change{Object: n, Action: "added", Kind: d.kind(n, o)}
	switch c.Kind {
	case "signature", "document-time-stamp", "signature-field", "dss", "xref-stream", "object-stream":
		c.Allowed = true
	case "acroform":
		c.Allowed, c.Detail = d.fieldsAllowed(nil, d.cur.dict(o)["Fields"])
	}
	return c
}

// kind names what object n is.
func (d *differ) kind(n int, o types.Object) string {
	if k, ok := d.sigObjs[n]; ok {
		return k
	}
	if d.dssObjs[n] {
		return "dss"
	}
	if d.contents[n] {
		return "page-content"
	}
	if d.cur.xref.Info != nil && d.cur.xref.Info.ObjectNumber.Value() == n {
		return "metadata"
	}
	if d.cur.isXRefStream(n) {
		return "xref-stream"
	}
	if d.cur.xref.Root.ObjectNumber.Value() == n {
		return "catalog"
	}
	if cat, err := d.cur.catalog(); err == nil {
		if r, ok := cat["AcroForm"].(types.IndirectRef); ok && r.ObjectNumber.Value() == n {
			return "acroform"
		}
	}
	var dict types.Dict
	switch v := o.(type) {
	case types.Dict:
		dict = v
	case types.StreamDict:
		dict = v.Dict
	}
	typ := ""
	if t := dict.Type(); dict != nil && t != nil {
		typ = *t
	}
	switch {
	case typ == "XRef":
		return "xref-stream"
	case typ == "ObjStm":
		return "object-stream"
	case typ == "Page" || typ == "Pages":
		return "page"
	case typ == "Annot" || (dict != nil && dict["Subtype"] != nil && dict["Rect"] != nil):
		return "annotation"
	case dict != nil && dict["FT"] != nil:
		return "form-field"
	case typ == "Metadata":
		return "metadata"
	}
	return "other"
}

// changeAllowed judges a replaced object: the catalog may gain a DSS or an
// AcroForm, the form and a page may only gain signature fields and widgets.
func (d *differ) changeAllowed(kind string, before, after types.Object) (bool, string) {
	b, a := d.old.dict(before), d.cur.dict(after)
	if b == nil || a == nil {
		return false, "the object changed type"
	}
	keys := changedKeys(d.old, b, d.cur, a)
	detail := "changed entries: " + strings.Join(keys, ", ")
	var may map[string]bool
	switch kind {
	case "catalog":
		may = map[string]bool{"DSS": true, "AcroForm": true, "Extensions": true}
	case "acroform":
		may = map[string]bool{"Fields": true, "SigFlags": true}
	case "page":
		may = map[string]bool{"Annots": true}
	case "dss":
		return true, detail
	default:
		return false, detail
	}
	for _, k := range keys {
		if !may[k] {
			return false, detail
		}
	}
	switch kind {
	case "catalog":
		if !sameObject(d.old, b["AcroForm"], d.cur, a["AcroForm"]) && d.cur.dict(a["AcroForm"]) != nil {
			if _, ok := a["AcroForm"].(types.IndirectRef); !ok { // a direct form is judged here
				ok, why := d.fieldsAllowed(d.old.array(d.old.dict(b["AcroForm"])["Fields"]), d.cur.dict(a["AcroForm"])["Fields"])
				return ok, detail + "; " + why
			}
		}
	case "acroform":
		ok, why := d.fieldsAllowed(d.old.array(b["Fields"]), a["Fields"])
		return ok, detail + "; " + why
	case "page":
		ok, why := d.fieldsAllowed(d.old.array(b["Annots"]), a["Annots"])
		return ok, detail + "; " + why
	}
	return true, detail
}

// fieldsAllowed: the new array keeps every old entry and adds only new
// signature fields (which are also their widgets).
func (d *differ) fieldsAllowed(before types.Array, after types.Object) (bool, string) {
	now := d.cur.array(after)
	kept := map[string]bool{}
	for _, o := range now {
		kept[o.PDFString()] = true
	}
	for _, o := range before {
		if !kept[o.PDFString()] {
			return false, "an entry was removed"
		}
	}
	old := map[string]bool{}
	for _, o := range before {
		old[o.PDFString()] = true
	}
	for _, o := range now {
		if old[o.PDFString()] {
			continue
		}
		r, ok := o.(types.IndirectRef)
		if !ok || d.sigObjs[r.ObjectNumber.Value()] != "signature-field" {
			return false, "an entry other than a new signature field was added"
		}
	}
	return true, "only signature fields were added"
}

// changedKeys lists the keys whose values differ, sorted.
func changedKeys(fb *File, b types.Dict, fa *File, a types.Dict) []string {
	var keys []string
	for k, v := range a {
		if w, ok := b[k]; !ok || !sameObject(fb, w, fa, v) {
			keys = append(keys, k)
		}
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	return keys
}

// sameObject compares two values; references compare by number.
func sameObject(fb *File, b types.Object, fa *File, a types.Object) bool {
	return equal(fb, b, fa, a)
}

// equal compares objects by their serialisation, streams by dictionary and raw data.
func equal(fb *File, b types.Object, fa *File, a types.Object) bool {
	if b == nil || a == nil {
		return b == nil && a == nil
	}
	sb, okb := b.(types.StreamDict)
	sa, oka := a.(types.StreamDict)
	if okb || oka {
		return okb && oka && sb.Dict.PDFString() == sa.Dict.PDFString() && bytes.Equal(rawOf(fb, sb), rawOf(fa, sa))
	}
	return b.PDFString() == a.PDFString()
}

// rawOf returns a stream's encoded bytes, read from the file when pdfcpu left them unloaded.
func rawOf(f *File, sd types.StreamDict) []byte {
	if sd.Raw != nil {
		return sd.Raw
	}
	n, _ := sd.Length()
	if n == nil || sd.StreamOffset < 0 || sd.StreamOffset+*n > int64(len(f.data)) || *n < 0 {
		return nil
	}
	return f.data[sd.StreamOffset : sd.StreamOffset+*n]
}

// isXRefStream reports whether object n is one of the chain's xref streams
// (pdfcpu does not keep them as objects).
func (f *File) isXRefStream(n int) bool {
	e, ok := f.xref.Find(n)
	if !ok || e.Offset == nil || e.Compressed {
		return false
	}
	for _, s := range f.sections {
		if s.stream && s.offset == *e.Offset {
			return true
		}
	}
	return false
}
