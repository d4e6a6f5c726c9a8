package evidence

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"fmt"
)

// ZIP record signatures and sizes (APPNOTE 6.3.x §4.3).
const (
	sigLocal      = 0x04034b50
	sigCentral    = 0x02014b50
	sigEnd        = 0x06054b50
	sigDescriptor = 0x08074b50
	localLen      = 30
	centralLen    = 46
	endLen        = 22
)

// checkLayout checks the bytes archive/zip does not read or compare: each local
// header must repeat its central directory entry, entries must follow each
// other without gaps, and the fields nobody reads (comments, disk numbers,
// attributes) must be those this package writes. The manifest's digests
// cover the entries' contents; this covers the container around them, so that
// no byte of a bundle changes unseen.
func checkLayout(b []byte, files []*zip.File) []Problem {
	bad := func(entry, format string, args ...any) []Problem {
		return []Problem{{Entry: entry, Reason: "container metadata changed: " + fmt.Sprintf(format, args...)}}
	}
	if len(b) < endLen {
		return bad("(container)", "too short")
	}
	end := b[len(b)-endLen:]
	le := binary.LittleEndian
	if le.Uint32(end) != sigEnd || le.Uint16(end[4:]) != 0 || le.Uint16(end[6:]) != 0 || le.Uint16(end[20:]) != 0 ||
		int(le.Uint16(end[8:])) != len(files) || int(le.Uint16(end[10:])) != len(files) {
		return bad("(container)", "the end of central directory record is not the one written (a comment, disks, or another entry count)")
	}
	cdSize, cdOff := int(le.Uint32(end[12:])), int(le.Uint32(end[16:]))
	if cdOff+cdSize != len(b)-endLen {
		return bad("(container)", "the central directory does not end where the end record begins")
	}
	off, cd := 0, cdOff
	for _, f := range files {
		// The central directory entry.
		if cd+centralLen > len(b) || le.Uint32(b[cd:]) != sigCentral {
			return bad(f.Name, "its central directory entry is damaged")
		}
		c := b[cd : cd+centralLen]
		nameLen, extraLen, commentLen := int(le.Uint16(c[28:])), int(le.Uint16(c[30:])), int(le.Uint16(c[32:]))
		made, needed, flags := le.Uint16(c[4:]), le.Uint16(c[6:]), le.Uint16(c[8:])
		if made>>8 != 0 || (made != 20 && made != 45) || (needed != 20 && needed != 45) || flags&^0x8 != 0 ||
			commentLen != 0 || le.Uint16(c[34:]) != 0 || le.Uint16(c[36:]) != 0 || le.Uint32(c[38:]) != 0 ||
			int(le.Uint32(c[42:])) != off {
			return bad(f.Name, "its central directory entry has fields this package never writes")
		}
		cdHead := c[6:16] // version needed, flags, method, time, date
		cdNameExtra := b[cd+centralLen : cd+centralLen+nameLen+extraLen]
		cd += centralLen + nameLen + extraLen + commentLen

		// The local header, which must repeat it.
		if off+localLen > len(b) || le.Uint32(b[off:]) != sigLocal {
			return bad(f.Name, "its local header is damaged")
		}
		l := b[off : off+localLen]
		lName, lExtra := int(le.Uint16(l[26:])), int(le.Uint16(l[28:]))
		if !bytes.Equal(l[4:14], cdHead) || lName != nameLen || lExtra != extraLen ||
			!bytes.Equal(b[off+localLen:min(len(b), off+localLen+lName+lExtra)], cdNameExtra) {
			return bad(f.Name, "its local header differs from its central directory entry")
		}
		sizes := l[14:26] // CRC-32, compressed and uncompressed sizes
		off += localLen + lName + lExtra + int(f.CompressedSize64)
		if flags&0x8 != 0 {
			if !bytes.Equal(sizes, make([]byte, 12)) || off+16 > len(b) || le.Uint32(b[off:]) != sigDescriptor ||
				!bytes.Equal(b[off+4:off+16], c[16:28]) {
				return bad(f.Name, "its data descriptor differs from its central directory entry")
			}
			off += 16
		} else if !bytes.Equal(sizes, c[16:28]) {
			return bad(f.Name, "its local header's checksum or sizes differ from its central directory entry")
		}
	}
	if off != cdOff || cd != cdOff+cdSize {
		return bad("(container)", "bytes between the entries and the central directory")
	}
	return nil
}
