package auditlog

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/tlog"
)

// memHashes is an in-memory tlog hash storage, independent of the store.
type memHashes []tlog.Hash

func (m memHashes) ReadHashes(idx []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(idx))
	for i, x := range idx {
		if x < 0 || x >= int64(len(m)) {
			return nil, fmt.Errorf("hash %d not stored", x)
		}
		out[i] = m[x]
	}
	return out, nil
}

func (m *memHashes) add(t testing.TB, n int64, data []byte) {
	t.Helper()
	hs, err := tlog.StoredHashes(n, data, *m)
	if err != nil {
		t.Fatal(err)
	}
	*m = append(*m, hs...)
}

// TestFrontierRoot_L21_2 checks the incremental root Verify computes against
// x/mod's tlog.TreeHash for every size from 0 to 70 (all tree shapes up to 2^6+6).
func TestFrontierRoot_L21_2(t *testing.T) {
	var stored memHashes
	var f frontier
	for n := int64(0); n <= 70; n++ {
		t.Run(strconv.FormatInt(n, 10), func(t *testing.T) {
			want, err := tlog.TreeHash(n, stored)
			if err != nil {
				t.Fatal(err)
			}
			if got := f.root(); got != want {
				t.Fatalf("frontier root at size %d = %x, tlog.TreeHash = %x", n, got, want)
			}
			// The frontier keeps one node per set bit of n, largest first.
			if len(f.nodes) != strings.Count(strconv.FormatInt(n, 2), "1") {
				t.Fatalf("size %d: %d frontier nodes", n, len(f.nodes))
			}
			for i := 1; i < len(f.sizes); i++ {
				if f.sizes[i] >= f.sizes[i-1] {
					t.Fatalf("size %d: subtree sizes %v not strictly decreasing", n, f.sizes)
				}
			}
		})
		leaf := fmt.Appendf(nil, "leaf %d", n)
		stored.add(t, n, leaf)
		f.push(tlog.RecordHash(leaf))
	}
	if empty := (&frontier{}).root(); empty != tlog.Hash(sha256.Sum256(nil)) {
		t.Fatalf("empty root = %x, want SHA-256 of the empty string", empty)
	}
}

func TestFormatParseCheckpoint(t *testing.T) {
	root := tlog.Hash(sha256.Sum256([]byte("root")))
	at := time.Date(2025, 5, 14, 9, 30, 1, 234_567_890, time.UTC)
	tests := []struct {
		name   string
		origin string
		size   int64
		root   tlog.Hash
		at     time.Time
		want   string
	}{
		{"typical", "tawthiq/Demo-CSP/audit", 42, root, at,
			"tawthiq/Demo-CSP/audit\n42\n" + base64.StdEncoding.EncodeToString(root[:]) + "\ntime 2025-05-14T09:30:01.234Z\n"},
		{"empty log", "o", 0, tlog.Hash(sha256.Sum256(nil)), at,
			"o\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\ntime 2025-05-14T09:30:01.234Z\n"},
		{"time in another zone is written in UTC", "o", 1, root, at.In(time.FixedZone("+1", 3600)),
			"o\n1\n" + base64.StdEncoding.EncodeToString(root[:]) + "\ntime 2025-05-14T09:30:01.234Z\n"},
		{"largest size", "o", 1<<63 - 1, tlog.Hash{}, at,
			"o\n9223372036854775807\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\ntime 2025-05-14T09:30:01.234Z\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			text := FormatCheckpoint(tc.origin, tc.size, tc.root, tc.at)
			if text != tc.want {
				t.Fatalf("FormatCheckpoint =\n%q\nwant\n%q", text, tc.want)
			}
			origin, size, root, err := ParseCheckpoint(text)
			if err != nil {
				t.Fatalf("ParseCheckpoint: %v", err)
			}
			if origin != tc.origin || size != tc.size || root != tc.root {
				t.Fatalf("ParseCheckpoint = %q %d %x, want %q %d %x", origin, size, root, tc.origin, tc.size, tc.root)
			}
		})
	}
}

func TestParseCheckpointRefusals(t *testing.T) {
	r := base64.StdEncoding.EncodeToString(make([]byte, 32))
	tests := []struct {
		name    string
		text    string
		wantErr string
	}{
		{"empty", "", "checkpoint has 1 lines"},
		{"three lines", "o\n1\n" + r, "checkpoint has 3 lines"},
		{"size not a number", "o\nten\n" + r + "\n", `checkpoint size "ten"`},
		{"negative size", "o\n-1\n" + r + "\n", `checkpoint size "-1"`},
		{"size overflows", "o\n9223372036854775808\n" + r + "\n", "checkpoint size"},
		{"empty size", "o\n\n" + r + "\n", `checkpoint size ""`},
		{"root not base64", "o\n1\nnot*base64\n", `checkpoint root "not*base64"`},
		{"root too short", "o\n1\n" + base64.StdEncoding.EncodeToString(make([]byte, 31)) + "\n", "checkpoint root"},
		{"root too long", "o\n1\n" + base64.StdEncoding.EncodeToString(make([]byte, 33)) + "\n", "checkpoint root"},
		{"root missing", "o\n1\n\n", `checkpoint root ""`},
		{"lines swapped", "o\n" + r + "\n1\n", "checkpoint size"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, _, _, err := ParseCheckpoint(tc.text)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("ParseCheckpoint(%q) error = %v, want %q", tc.text, err, tc.wantErr)
			}
		})
	}
}

func FuzzParseCheckpoint(f *testing.F) {
	at := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	f.Add(FormatCheckpoint("tawthiq/x/audit", 7, tlog.Hash{1, 2, 3}, at))
	f.Add(FormatCheckpoint("o", 0, tlog.Hash(sha256.Sum256(nil)), at))
	f.Add("o\n-1\nAAAA\n")
	f.Add("o\n+5\n" + base64.StdEncoding.EncodeToString(make([]byte, 32)) + "\n")
	f.Add("\n\n\n\n")
	f.Fuzz(func(t *testing.T, text string) {
		origin, size, root, err := ParseCheckpoint(text)
		if err != nil {
			if origin != "" || size != 0 {
				t.Fatalf("refusal returned values %q %d", origin, size)
			}
			return
		}
		if size < 0 {
			t.Fatalf("accepted negative size %d", size)
		}
		if strings.Contains(origin, "\n") {
			t.Fatalf("origin %q spans lines", origin)
		}
		// What was read must survive a write and a second read unchanged.
		again := FormatCheckpoint(origin, size, root, at)
		o2, s2, r2, err := ParseCheckpoint(again)
		if err != nil || o2 != origin || s2 != size || r2 != root {
			t.Fatalf("round trip of %q: %q %d %x %v", again, o2, s2, r2, err)
		}
	})
}

func TestEncodeDistinguishes_L21_2(t *testing.T) {
	at := time.Date(2025, 5, 14, 9, 30, 0, 0, time.UTC)
	base := Entry{Seq: 3, Time: at, Actor: "usr_1", Action: ActionLogin, Subject: "usr_1", Ground: "", Data: []byte(`{"from":"x"}`)}
	mod := func(f func(e *Entry)) Entry { e := base; f(&e); return e }
	tests := []struct {
		name string
		a, b Entry
	}{
		{"seq", base, mod(func(e *Entry) { e.Seq = 4 })},
		{"time", base, mod(func(e *Entry) { e.Time = at.Add(time.Millisecond) })},
		{"actor", base, mod(func(e *Entry) { e.Actor = "usr_2" })},
		{"action", base, mod(func(e *Entry) { e.Action = ActionLoginFailed })},
		{"subject", base, mod(func(e *Entry) { e.Subject = "usr_2" })},
		{"ground", base, mod(func(e *Entry) { e.Ground = "audit" })},
		{"data", base, mod(func(e *Entry) { e.Data = []byte(`{"from":"y"}`) })},
		{"field boundary", mod(func(e *Entry) { e.Actor, e.Action = "ab", "" }), mod(func(e *Entry) { e.Actor, e.Action = "a", "b" })},
		{"newline in a field", mod(func(e *Entry) { e.Actor, e.Action = "a\n\"b\"", "" }), mod(func(e *Entry) { e.Actor, e.Action = "a", "b" })},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if bytes.Equal(tc.a.Encode(), tc.b.Encode()) || tc.a.LeafHash() == tc.b.LeafHash() {
				t.Fatalf("entries %+v and %+v encode alike", tc.a, tc.b)
			}
		})
	}
	t.Run("same instant in another zone encodes alike", func(t *testing.T) {
		other := mod(func(e *Entry) { e.Time = at.In(time.FixedZone("+1", 3600)) })
		if !bytes.Equal(base.Encode(), other.Encode()) {
			t.Fatal("the encoding depends on the time zone")
		}
	})
	t.Run("leaf hash is RFC 6962", func(t *testing.T) {
		want := sha256.Sum256(append([]byte{0}, base.Encode()...))
		if base.LeafHash() != tlog.Hash(want) {
			t.Fatal("LeafHash is not SHA-256(0x00 || encoding)")
		}
	})
}

func TestNewEntry(t *testing.T) {
	at := time.Date(2025, 5, 14, 10, 30, 0, 123_456_789, time.FixedZone("+1", 3600))
	e := NewEntry(at, "system", ActionCARegister, "root", map[string]string{"role": "root"})
	if e.Time != time.Date(2025, 5, 14, 9, 30, 0, 123_000_000, time.UTC) {
		t.Errorf("Time = %s, want UTC to the millisecond", e.Time)
	}
	if string(e.Data) != `{"role":"root"}` || e.Seq != 0 || e.Actor != "system" || e.Action != ActionCARegister || e.Subject != "root" {
		t.Errorf("NewEntry = %+v", e)
	}
	if NewEntry(at, "a", ActionLogin, "s", nil).Data != nil {
		t.Error("nil data gave non-nil Data")
	}
	defer func() {
		if recover() == nil {
			t.Error("unmarshalable data did not panic")
		}
	}()
	NewEntry(at, "a", ActionLogin, "s", make(chan int))
}

func TestHashesToStore(t *testing.T) {
	var stored memHashes
	for n := int64(0); n < 5; n++ {
		e := Entry{Seq: n, Actor: "a", Action: ActionLogin}
		hs, err := HashesToStore(n, e, stored)
		if err != nil {
			t.Fatal(err)
		}
		if hs[0] != e.LeafHash() {
			t.Fatalf("first stored hash of %d is not its leaf hash", n)
		}
		stored = append(stored, hs...)
	}
	if _, err := HashesToStore(5, Entry{Seq: 4}, stored); err == nil || !strings.Contains(err.Error(), "seq 4 appended at position 5") {
		t.Fatalf("HashesToStore with the wrong seq = %v", err)
	}
}
