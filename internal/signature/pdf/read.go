package pdf

import (
	"bytes"
	"errors"
	"fmt"
	"sort"
	"strconv"

	"github.com/pdfcpu/pdfcpu/pkg/api"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/types"
)

// errEncrypted: an encrypted PDF is neither signed nor validated here.
var errEncrypted = errors.New("pdf: encrypted documents are not supported")

// File is a parsed PDF: its bytes, its cross-reference chain and pdfcpu's
// view of the objects as of the last revision.
type File struct {
	data      []byte
	xref      *model.XRefTable
	startxref int64     // offset of the last cross-reference section
	stream    bool      // the last section is a cross-reference stream
	sections  []section // newest first
	revEnds   []int64   // the end of each revision (after %%EOF), ascending
}

// section is one cross-reference section of the Prev chain.
type section struct {
	offset int64
	stream bool
}

// maxSections bounds the Prev chain so that a loop cannot hang the reader.
const maxSections = 4096

// Open parses data. It never panics: a malformed file is an error.
func Open(data []byte) (f *File, err error) {
	defer func() {
		if r := recover(); r != nil { // pdfcpu is not hardened against every input
			f, err = nil, fmt.Errorf("pdf: malformed file (reader panic: %v)", r)
		}
	}()
	if !bytes.HasPrefix(bytes.TrimLeft(data[:min(len(data), 1024)], "\x00\t\r\n "), []byte("%PDF-")) {
		return nil, errors.New("pdf: no %PDF- header")
	}
	f = &File{data: data}
	if err := f.readChain(); err != nil {
		return nil, err
	}
	ctx, err := api.ReadContext(bytes.NewReader(data), readConfig())
	if err != nil {
		return nil, fmt.Errorf("pdf: %w", err)
	}
	if ctx.XRefTable.Encrypt != nil {
		return nil, errEncrypted
	}
	if ctx.XRefTable.Root == nil {
		return nil, errors.New("pdf: no document catalog")
	}
	f.xref = ctx.XRefTable
	return f, nil
}

// readConfig is a pdfcpu configuration built here rather than loaded from the
// user's configuration directory: reading must not touch the disk.
func readConfig() *model.Configuration {
	return &model.Configuration{
		Reader15:       true,
		ValidationMode: model.ValidationRelaxed,
		Eol:            types.EolLF,
		Offline:        true,
		Cmd:            model.VALIDATESIGNATURES,
		Limits:         model.DefaultResourceLimits(),
	}
}

// Bytes returns the file's bytes (not a copy).
func (f *File) Bytes() []byte { return f.data }

// XRefStream reports whether the last cross-reference section is a stream.
func (f *File) XRefStream() bool { return f.stream }

// Revisions returns the end offset of each revision, ascending; the last is
// normally len(Bytes()).
func (f *File) Revisions() []int64 { return f.revEnds }

// readChain walks startxref and the Prev chain, noting each section's kind
// and where its revision ends.
func (f *File) readChain() error {
	off, err := lastStartXRef(f.data)
	if err != nil {
		return err
	}
	f.startxref = off
	seen := map[int64]bool{}
	ends := map[int64]bool{}
	for len(f.sections) < maxSections {
		if off < 0 || off >= int64(len(f.data)) || seen[off] {
			return fmt.Errorf("pdf: cross-reference section at %d is out of the file or loops", off)
		}
		seen[off] = true
		trailer, isStream, err := sectionTrailer(f.data, off)
		if err != nil {
			return err
		}
		f.sections = append(f.sections, section{offset: off, stream: isStream})
		if end := revisionEnd(f.data, off); end > 0 {
			ends[end] = true
		}
		prev := trailer.Prev()
		if prev == nil {
			break
		}
		off = *prev
	}
	f.stream = f.sections[0].stream
	for e := range ends {
		f.revEnds = append(f.revEnds, e)
	}
	sort.Slice(f.revEnds, func(i, j int) bool { return f.revEnds[i] < f.revEnds[j] })
	return nil
}

// lastStartXRef reads the offset after the last "startxref" keyword.
func lastStartXRef(data []byte) (int64, error) {
	tail := data[max(0, len(data)-2048):]
	i := bytes.LastIndex(tail, []byte("startxref"))
	if i < 0 {
		return 0, errors.New("pdf: no startxref")
	}
	fields := bytes.Fields(tail[i+len("startxref"):])
	if len(fields) == 0 {
		return 0, errors.New("pdf: no offset after startxref")
	}
	n, err := strconv.ParseInt(string(fields[0]), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("pdf: startxref: %w", err)
	}
	return n, nil
}

// sectionTrailer returns the trailer dictionary of the section at off: the
// "trailer" dictionary after a classic table, the stream dictionary of an
// xref stream.
func sectionTrailer(data []byte, off int64) (types.Dict, bool, error) {
	rest := data[off:]
	if bytes.HasPrefix(rest, []byte("xref")) {
		i := bytes.Index(rest, []byte("trailer"))
		if i < 0 {
			return nil, false, fmt.Errorf("pdf: no trailer after the xref table at %d", off)
		}
		d, err := parseDictAt(rest[i+len("trailer"):])
		return d, false, err
	}
	_, _, after, ok := objectHeader(rest)
	if !ok {
		return nil, false, fmt.Errorf("pdf: no xref table or xref stream at %d", off)
	}
	d, err := parseDictAt(rest[after:])
	if err != nil {
		return nil, true, err
	}
	if t := d.Type(); t == nil || *t != "XRef" {
		return nil, true, fmt.Errorf("pdf: the object at %d is not an xref stream", off)
	}
	return d, true, nil
}

// parseDictAt parses the dictionary that starts b (after white space).
func parseDictAt(b []byte) (types.Dict, error) {
	b = bytes.TrimLeft(b, "\x00\t\n\f\r ")
	end := dictEnd(b)
	if end < 0 {
		return nil, errors.New("pdf: unterminated dictionary")
	}
	s := string(b[:end])
	o, err := model.ParseObject(&s)
	if err != nil {
		return nil, fmt.Errorf("pdf: %w", err)
	}
	d, ok := o.(types.Dict)
	if !ok {
		return nil, errors.New("pdf: not a dictionary")
	}
	return d, nil
}

// dictEnd returns the length of the balanced << ... >> that starts b, or -1.
// Strings are skipped so that a ">>" inside one does not end the dictionary.
func dictEnd(b []byte) int {
	if !bytes.HasPrefix(b, []byte("<<")) {
		return -1
	}
	depth := 0
	for i := 0; i < len(b); i++ {
		switch {
		case b[i] == '(':
			j := skipLiteral(b, i)
			if j < 0 {
				return -1
			}
			i = j
		case b[i] == '<' && i+1 < len(b) && b[i+1] == '<':
			depth++
			i++
		case b[i] == '>' && i+1 < len(b) && b[i+1] == '>':
			depth--
			i++
			if depth == 0 {
				return i + 1
			}
		}
	}
	return -1
}

// skipLiteral returns the index of the ')' closing the literal string at i.
func skipLiteral(b []byte, i int) int {
	depth := 0
	for ; i < len(b); i++ {
		switch b[i] {
		case '\\':
			i++
		case '(':
			depth++
		case ')':
			depth--
			if depth == 0 {
				return i
			}
		}
	}
	return -1
}

// objectHeader reads "N G obj" at the start of b.
func objectHeader(b []byte) (num, gen int, after int, ok bool) {
	fields := bytes.Fields(b[:min(len(b), 64)])
	if len(fields) < 3 || !bytes.HasPrefix(fields[2], []byte("obj")) {
		return 0, 0, 0, false
	}
	n, err1 := strconv.Atoi(string(fields[0]))
	g, err2 := strconv.Atoi(string(fields[1]))
	if err1 != nil || err2 != nil || n < 0 || g < 0 {
		return 0, 0, 0, false
	}
	i := bytes.Index(b, []byte("obj"))
	return n, g, i + len("obj"), true
}

// revisionEnd returns the offset just after the first %%EOF (and its end of
// line) after off, or -1.
func revisionEnd(data []byte, off int64) int64 {
	i := bytes.Index(data[off:], []byte("%%EOF"))
	if i < 0 {
		return -1
	}
	end := off + int64(i) + 5
	if end < int64(len(data)) && data[end] == '\r' {
		end++
	}
	if end < int64(len(data)) && data[end] == '\n' {
		end++
	}
	return end
}
