// Package pdftest writes small, well-formed PDFs for tests: one page of text,
// optionally padded to a given size, with either a classic cross-reference
// table (PDF 1.4 style) or a cross-reference stream and an object stream
// (PDF 1.5 style), so that both reader paths are exercised.
package pdftest

import (
	"bytes"
	"encoding/binary"
	"fmt"
)

// Document returns a one-page PDF showing text. pad adds that many bytes of
// comment lines to the page's content stream. With xrefStream the catalog,
// page tree, page and font live in an object stream indexed by an xref stream.
func Document(text string, pad int, xrefStream bool) []byte {
	content := pageContent(text, pad)
	objs := map[int]string{
		1: "<</Type/Catalog/Pages 2 0 R>>",
		2: "<</Type/Pages/Kids[3 0 R]/Count 1>>",
		3: "<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]/Resources<</Font<</F1 5 0 R>>>>/Contents 4 0 R>>",
		5: "<</Type/Font/Subtype/Type1/BaseFont/Helvetica>>",
	}
	if xrefStream {
		return withXRefStream(objs, content)
	}
	return withXRefTable(objs, content)
}

func pageContent(text string, pad int) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "BT /F1 14 Tf 72 770 Td (%s) Tj ET\n", text)
	line := bytes.Repeat([]byte{'x'}, 126)
	for b.Len() < pad {
		b.WriteString("% ")
		b.Write(line)
		b.WriteByte('\n')
	}
	return b.Bytes()
}

func stream(dict string, data []byte) string {
	return fmt.Sprintf("<<%s/Length %d>>\nstream\n%s\nendstream", dict, len(data), data)
}

const header = "%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"

const fileID = "<7461777468697120746573742066696c><7461777468697120746573742066696c>"

func withXRefTable(objs map[int]string, content []byte) []byte {
	objs[4] = stream("", content)
	var b bytes.Buffer
	b.WriteString(header)
	offsets := make([]int, 6)
	for n := 1; n <= 5; n++ {
		offsets[n] = b.Len()
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", n, objs[n])
	}
	xref := b.Len()
	b.WriteString("xref\n0 6\n0000000000 65535 f\r\n")
	for n := 1; n <= 5; n++ {
		fmt.Fprintf(&b, "%010d 00000 n\r\n", offsets[n])
	}
	fmt.Fprintf(&b, "trailer\n<</Size 6/Root 1 0 R/ID[%s]>>\nstartxref\n%d\n%%%%EOF\n", fileID, xref)
	return b.Bytes()
}

// withXRefStream puts objects 1, 2, 3 and 5 in object stream 6 and indexes
// everything with xref stream 7 (ISO 32000-1 §7.5.7, §7.5.8).
func withXRefStream(objs map[int]string, content []byte) []byte {
	var head, body bytes.Buffer
	inStream := []int{1, 2, 3, 5}
	for _, n := range inStream {
		fmt.Fprintf(&head, "%d %d ", n, body.Len())
		body.WriteString(objs[n])
		body.WriteByte('\n')
	}
	objStm := append(head.Bytes(), body.Bytes()...)
	var b bytes.Buffer
	b.WriteString(header)
	off4 := b.Len()
	fmt.Fprintf(&b, "4 0 obj\n%s\nendobj\n", stream("", content))
	off6 := b.Len()
	fmt.Fprintf(&b, "6 0 obj\n%s\nendobj\n", stream(fmt.Sprintf("/Type/ObjStm/N %d/First %d", len(inStream), head.Len()), objStm))
	off7 := b.Len()
	var x bytes.Buffer
	entry := func(typ byte, f2 uint32, f3 uint16) {
		x.WriteByte(typ)
		x.Write(binary.BigEndian.AppendUint32(nil, f2))
		x.Write(binary.BigEndian.AppendUint16(nil, f3))
	}
	entry(0, 0, 65535)
	index := map[int]uint16{1: 0, 2: 1, 3: 2, 5: 3}
	for n := 1; n <= 7; n++ {
		switch n {
		case 4:
			entry(1, uint32(off4), 0)
		case 6:
			entry(1, uint32(off6), 0)
		case 7:
			entry(1, uint32(off7), 0)
		default:
			entry(2, 6, index[n])
		}
	}
	fmt.Fprintf(&b, "7 0 obj\n%s\nendobj\nstartxref\n%d\n%%%%EOF\n",
		stream(fmt.Sprintf("/Type/XRef/Size 8/W[1 4 2]/Root 1 0 R/ID[%s]", fileID), x.Bytes()), off7)
	return b.Bytes()
}
