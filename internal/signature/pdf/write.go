package pdf

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"sort"
)

// Update is an incremental update being built over a File (ISO 32000-1
// §7.5.6): new and replaced objects, then a cross-reference section whose Prev
// is the file's last one. The original bytes are never touched.
type Update struct {
	f    *File
	objs map[int][]byte // object number -> body, without "N G obj" and "endobj"
	next int            // the next unused object number
}

// NewUpdate starts an update over f.
func (f *File) NewUpdate() *Update {
	next := f.xref.MaxObjNr + 1
	if f.xref.Size != nil && *f.xref.Size > next {
		next = *f.xref.Size
	}
	return &Update{f: f, objs: map[int][]byte{}, next: next}
}

// Add adds a new object and returns its number.
func (u *Update) Add(body []byte) int {
	n := u.next
	u.next++
	u.objs[n] = body
	return n
}

// Reserve returns a new object number whose body is given later by Set.
func (u *Update) Reserve() int {
	n := u.next
	u.next++
	u.objs[n] = nil
	return n
}

// Set replaces object objNr (an existing or reserved one) with body.
func (u *Update) Set(objNr int, body []byte) { u.objs[objNr] = body }

// Stream returns the body of a stream object holding data unfiltered; extra
// is more dictionary entries, e.g. "/Type/EmbeddedFile".
func Stream(extra string, data []byte) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "<<%s/Length %d>>\nstream\n", extra, len(data))
	b.Write(data)
	b.WriteString("\nendstream")
	return b.Bytes()
}

// Bytes returns the original file with the update appended, and the offset of
// each object written.
func (u *Update) Bytes() ([]byte, map[int]int64, error) {
	nums := make([]int, 0, len(u.objs))
	for n, body := range u.objs {
		if body == nil {
			return nil, nil, fmt.Errorf("pdf: object %d was reserved but never set", n)
		}
		nums = append(nums, n)
	}
	sort.Ints(nums)
	var b bytes.Buffer
	b.Grow(len(u.f.data) + 4096)
	b.Write(u.f.data)
	if n := len(u.f.data); n == 0 || (u.f.data[n-1] != '\n' && u.f.data[n-1] != '\r') {
		b.WriteByte('\n') // the update starts on a line of its own
	}
	offsets := make(map[int]int64, len(nums)+1)
	for _, n := range nums {
		offsets[n] = int64(b.Len())
		fmt.Fprintf(&b, "%d %d obj\n", n, u.f.generation(n))
		b.Write(u.objs[n])
		b.WriteString("\nendobj\n")
	}
	trailer := u.trailerEntries()
	if u.f.stream {
		u.writeXRefStream(&b, nums, offsets, trailer)
	} else {
		u.writeXRefTable(&b, nums, offsets, trailer)
	}
	return b.Bytes(), offsets, nil
}

// trailerEntries are the entries every trailer of the file keeps (§7.5.6):
// Size, Root, Info and ID, then Prev.
func (u *Update) trailerEntries() string {
	x := u.f.xref
	size := u.next
	if x.Size != nil && *x.Size > size {
		size = *x.Size
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "/Size %d/Root %s", size, x.Root.PDFString())
	if x.Info != nil {
		fmt.Fprintf(&b, "/Info %s", x.Info.PDFString())
	}
	if len(x.ID) == 2 {
		b.WriteString("/ID" + x.ID.PDFString())
	} else {
		// PDF 2.0 requires an ID; derive a stable one from the original bytes.
		sum := sha256.Sum256(u.f.data)
		id := hex.EncodeToString(sum[:16])
		fmt.Fprintf(&b, "/ID[<%s><%s>]", id, id)
	}
	fmt.Fprintf(&b, "/Prev %d", u.f.startxref)
	return b.String()
}

// subsections groups sorted object numbers into runs of consecutive numbers.
func subsections(nums []int) [][]int {
	var out [][]int
	for i, n := range nums {
		if i == 0 || n != nums[i-1]+1 {
			out = append(out, nil)
		}
		out[len(out)-1] = append(out[len(out)-1], n)
	}
	return out
}

// writeXRefTable writes a classic cross-reference section and trailer (§7.5.4).
func (u *Update) writeXRefTable(b *bytes.Buffer, nums []int, offsets map[int]int64, trailer string) {
	start := b.Len()
	b.WriteString("xref\n")
	for _, run := range subsections(nums) {
		fmt.Fprintf(b, "%d %d\n", run[0], len(run))
		for _, n := range run {
			fmt.Fprintf(b, "%010d %05d n\r\n", offsets[n], u.f.generation(n))
		}
	}
	fmt.Fprintf(b, "trailer\n<<%s>>\nstartxref\n%d\n%%%%EOF\n", trailer, start)
}

// writeXRefStream writes a cross-reference stream (§7.5.8) that indexes
// itself too, unfiltered, with fields 1, 8 and 2 bytes wide.
func (u *Update) writeXRefStream(b *bytes.Buffer, nums []int, offsets map[int]int64, trailer string) {
	self := u.next
	start := int64(b.Len())
	offsets[self] = start
	all := append(append([]int(nil), nums...), self)
	var data, index bytes.Buffer
	for _, run := range subsections(all) {
		fmt.Fprintf(&index, "%d %d ", run[0], len(run))
		for _, n := range run {
			data.WriteByte(1)
			data.Write(binary.BigEndian.AppendUint64(nil, uint64(offsets[n])))
			data.Write(binary.BigEndian.AppendUint16(nil, uint16(u.f.generation(n))))
		}
	}
	// Size must count the stream's own number.
	trailer = replaceSize(trailer, self+1)
	fmt.Fprintf(b, "%d 0 obj\n", self)
	b.Write(Stream(fmt.Sprintf("/Type/XRef%s/W[1 8 2]/Index[%s]", trailer, bytes.TrimSpace(index.Bytes())), data.Bytes()))
	fmt.Fprintf(b, "\nendobj\nstartxref\n%d\n%%%%EOF\n", start)
}

// replaceSize raises the /Size entry of trailer entries to at least n.
func replaceSize(trailer string, n int) string {
	var size int
	var rest string
	if _, err := fmt.Sscanf(trailer, "/Size %d", &size); err != nil || size >= n {
		return trailer
	}
	i := bytes.IndexByte([]byte(trailer), '/')
	j := bytes.IndexByte([]byte(trailer[i+1:]), '/')
	rest = trailer[i+1+j:]
	return fmt.Sprintf("/Size %d%s", n, rest)
}
