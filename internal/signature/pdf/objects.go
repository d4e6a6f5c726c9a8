package pdf

import (
	"errors"
	"fmt"

	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/types"
)

// maxDepth bounds walks of the page and field trees against reference loops.
const maxDepth = 64

// resolve dereferences o; an undefined reference is null (ISO 32000-1 §7.3.10).
func (f *File) resolve(o types.Object) types.Object {
	r, err := f.xref.Dereference(o)
	if err != nil {
		return nil
	}
	return r
}

// dict resolves o to a dictionary (the dictionary of a stream too), or nil.
func (f *File) dict(o types.Object) types.Dict {
	switch d := f.resolve(o).(type) {
	case types.Dict:
		return d
	case types.StreamDict:
		return d.Dict
	}
	return nil
}

func (f *File) array(o types.Object) types.Array {
	a, _ := f.resolve(o).(types.Array)
	return a
}

// catalog returns the document catalog.
func (f *File) catalog() (types.Dict, error) {
	d := f.dict(*f.xref.Root)
	if d == nil {
		return nil, errors.New("pdf: the catalog is not a dictionary")
	}
	return d, nil
}

// generation returns the generation number objNr has now.
func (f *File) generation(objNr int) int {
	if e, ok := f.xref.Find(objNr); ok && e.Generation != nil {
		return *e.Generation
	}
	return 0
}

// firstPage returns the first page's reference and dictionary.
func (f *File) firstPage() (types.IndirectRef, types.Dict, error) {
	cat, err := f.catalog()
	if err != nil {
		return types.IndirectRef{}, nil, err
	}
	node, _ := cat.Find("Pages")
	for depth := 0; depth < maxDepth; depth++ {
		ref, ok := node.(types.IndirectRef)
		if !ok {
			return types.IndirectRef{}, nil, errors.New("pdf: a page tree node is not an indirect object")
		}
		d := f.dict(ref)
		if d == nil {
			return types.IndirectRef{}, nil, errors.New("pdf: a page tree node is not a dictionary")
		}
		if t := d.Type(); t != nil && *t == "Page" {
			return ref, d, nil
		}
		kids := f.array(d["Kids"])
		if len(kids) == 0 {
			return types.IndirectRef{}, nil, errors.New("pdf: the document has no page")
		}
		node = kids[0]
	}
	return types.IndirectRef{}, nil, fmt.Errorf("pdf: the page tree is deeper than %d", maxDepth)
}

// streamData returns the decoded data of the stream o refers to.
func (f *File) streamData(o types.Object) ([]byte, error) {
	sd, _, err := f.xref.DereferenceStreamDict(o)
	if err != nil {
		return nil, err
	}
	if sd == nil {
		return nil, errors.New("pdf: not a stream")
	}
	if err := sd.DecodeWithLimit(f.xref.Conf.Limits.MaxDecodeBytes); err != nil {
		return nil, err
	}
	return sd.Content, nil
}

// text returns a string or hex string value as text (PDFDocEncoding or UTF-16), "" otherwise.
func text(o types.Object) string {
	switch s := o.(type) {
	case types.StringLiteral:
		t, err := types.StringLiteralToString(s)
		if err == nil {
			return t
		}
	case types.HexLiteral:
		t, err := types.HexLiteralToString(s)
		if err == nil {
			return t
		}
	}
	return ""
}

// stringBytes returns the bytes of a string object (literal or hex).
func stringBytes(o types.Object) ([]byte, bool) {
	switch s := o.(type) {
	case types.StringLiteral:
		b, err := types.Unescape(s.Value())
		return b, err == nil
	case types.HexLiteral:
		b, err := s.Bytes()
		return b, err == nil
	}
	return nil, false
}
