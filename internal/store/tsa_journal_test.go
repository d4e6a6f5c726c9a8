package store

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/tawthiq/tawthiq/internal/clock"
	"github.com/tawthiq/tawthiq/internal/errkind"
	"github.com/tawthiq/tawthiq/internal/tsa"
)

// TestRecordTimestampsReplay_TSA: journaled records go in whole batches (more
// than one INSERT's rows); a replay of records already there is harmless; a
// serial recorded with other evidence is refused.
func TestRecordTimestampsReplay_TSA(t *testing.T) { onBothDatabases(t, testRecordTimestamps) }

func testRecordTimestamps(t *testing.T, db *DB) {
	ctx := context.Background()
	var rs []tsa.Record
	for i := range 300 {
		rs = append(rs, record(fmt.Sprintf("43%04x", i), i))
	}
	if err := db.RecordTimestamps(ctx, rs[:100]); err != nil {
		t.Fatal(err)
	}
	if err := db.RecordTimestamps(ctx, rs); err != nil { // a replay overlapping what is stored
		t.Fatalf("replay: %v", err)
	}
	if n, err := db.CountTimestamps(ctx); err != nil || n != 300 {
		t.Fatalf("%d records (%v), want 300", n, err)
	}
	got, err := db.TimestampRecord(ctx, rs[250].Serial)
	if err != nil || got.HashAlg != "sha256" || !got.GenTime.Equal(rs[250].GenTime) || string(got.Imprint) != string(rs[250].Imprint) {
		t.Fatalf("record: %+v %v", got, err)
	}
	other := rs[7]
	other.Imprint = []byte("another document's digest......!")
	if err := db.RecordTimestamps(ctx, []tsa.Record{other}); !errkind.Is(err, errkind.Conflict) {
		t.Fatalf("a serial with other evidence: %v", err)
	}
}

// BenchmarkRecordTimestamps is the TSA journal's drain on SQLite: transactions of
// 1,000 time-ordered records, as the drainer writes them under load.
func BenchmarkRecordTimestamps(b *testing.B) {
	db, err := Open(b.Context(), filepath.Join(b.TempDir(), "tawthiq.db"), clock.Real{})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	const batch = 1000
	rs := make([]tsa.Record, batch)
	var n uint64
	b.ResetTimer()
	for b.Loop() {
		for i := range rs {
			n++
			var s [16]byte
			binary.BigEndian.PutUint64(s[:], uint64(time.Now().UnixMilli())<<16)
			binary.BigEndian.PutUint64(s[8:], n)
			rs[i] = record(hex.EncodeToString(s[:]), i)
		}
		if err := db.RecordTimestamps(b.Context(), rs); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*batch), "ns/record")
}
