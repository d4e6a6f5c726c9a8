package evidence

import (
	"bytes"
	"crypto/rand"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/tawthiq/tawthiq/internal/auditlog"
)

// TestDecodeEntryAgreesWithAuditlog: the leaf reader here reads what
// auditlog.Entry.Encode writes, and refuses a leaf changed anywhere.
func TestDecodeEntryAgreesWithAuditlog(t *testing.T) {
	at := time.Date(2026, 11, 26, 10, 0, 0, 123e6, time.UTC)
	for _, e := range []auditlog.Entry{
		auditlog.NewEntry(at, "usr_1", "archive.put", "ab\"c\n", map[string]any{"sha256": "00", "name": "ع"}),
		auditlog.NewEntry(at, "", "log.checkpoint", "", nil),
	} {
		e.Seq = 42
		got, err := decodeEntry(e.Encode())
		if err != nil {
			t.Fatal(err)
		}
		if got.Seq != 42 || !got.Time.Equal(e.Time) || got.Actor != e.Actor || got.Action != string(e.Action) ||
			got.Subject != e.Subject || !bytes.Equal(got.Data, e.Data) || got.LeafHash() != e.LeafHash() {
			t.Fatalf("decoded %+v from %+v", got, e)
		}
	}
	e := auditlog.NewEntry(at, "usr_1", "archive.put", "x", map[string]string{"sha256": "00"})
	for _, bad := range [][]byte{[]byte("tawthiq-audit-v1\n042\n1\n\"\"\n\"\"\n\"\"\n\"\"\n\n"), append(e.Encode(), 'x'), e.Encode()[1:]} {
		if _, err := decodeEntry(bad); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
}

// TestCheckpointReaderAgreesWithAuditlog: openCheckpoint reads what
// auditlog.FormatCheckpoint writes, once the note's signature verifies.
func TestCheckpointReaderAgreesWithAuditlog(t *testing.T) {
	skey, vkey, err := note.GenerateKey(rand.Reader, "tawthiq/test/audit")
	if err != nil {
		t.Fatal(err)
	}
	s, _ := note.NewSigner(skey)
	root := tlog.RecordHash([]byte("x"))
	at := time.Date(2026, 11, 26, 10, 0, 0, 5e6, time.UTC)
	signed, err := note.Sign(&note.Note{Text: auditlog.FormatCheckpoint("tawthiq/test/audit", 7, root, at)}, s)
	if err != nil {
		t.Fatal(err)
	}
	h, err := openCheckpoint(signed, vkey)
	if err != nil || h.Size != 7 || h.Root != root || !h.Time.Equal(at) || h.Origin != "tawthiq/test/audit" {
		t.Fatalf("%+v, %v", h, err)
	}
	if _, err := openCheckpoint(bytes.Replace(signed, []byte("\n7\n"), []byte("\n8\n"), 1), vkey); err == nil {
		t.Fatal("a changed checkpoint verified")
	}
}
