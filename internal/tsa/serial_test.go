package tsa

import (
	"bytes"
	"encoding/binary"
	"testing"
	"time"
)

// TestSerial: positive, 16 octets, minimal DER, 48 bits of milliseconds first and
// 78 random bits after, so that serials sort by time and never repeat.
func TestSerial(t *testing.T) {
	base := time.Date(2026, 11, 26, 4, 0, 0, 0, time.UTC)
	var prev [16]byte
	seen := map[[16]byte]bool{}
	for i := range 5000 {
		at := base.Add(time.Duration(i/4) * time.Millisecond)
		var s [16]byte
		if err := newSerial(&s, at); err != nil {
			t.Fatal(err)
		}
		if s[0]&0xc0 != 0x40 {
			t.Fatalf("serial %x: top bits not 01", s)
		}
		hi := binary.BigEndian.Uint64(s[:8])
		if ms := hi >> 14 & (1<<48 - 1); ms != uint64(at.UnixMilli()) {
			t.Fatalf("serial %x carries %d ms, want %d", s, ms, at.UnixMilli())
		}
		if i%4 == 0 && i > 0 && bytes.Compare(s[:], prev[:]) <= 0 {
			t.Fatalf("serial %x of a later millisecond sorts before %x", s, prev)
		}
		if seen[s] {
			t.Fatalf("serial %x twice", s)
		}
		seen[s] = true
		prev = s
	}
}
