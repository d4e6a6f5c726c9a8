package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tawthiq/tawthiq/internal/clock"
	"github.com/tawthiq/tawthiq/internal/errkind"
	"github.com/tawthiq/tawthiq/internal/store/pgtest"
	"github.com/tawthiq/tawthiq/internal/tsa"
)

// TestTimestampBatch_L21_2: a batch is one INSERT; when the database refuses one of
// its records (a repeated serial, a bad value), that record alone fails and every
// other one is kept, on both databases.
func TestTimestampBatch_L21_2(t *testing.T) { onBothDatabases(t, testTimestampBatch) }

// onBothDatabases runs test on a fresh SQLite database and on a PostgreSQL server it starts.
func onBothDatabases(t *testing.T, test func(*testing.T, *DB)) {
	t.Run("sqlite", func(t *testing.T) {
		db, err := Open(t.Context(), filepath.Join(t.TempDir(), "tawthiq.db"), clock.Real{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		test(t, db)
	})
	t.Run("postgres", func(t *testing.T) {
		srv := pgtest.StartServer(t)
		db, err := Open(t.Context(), srv.DSN(t), clock.Real{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		test(t, db)
	})
}

func record(serial string, i int) tsa.Record {
	at := time.Now().UTC().Truncate(time.Millisecond)
	return tsa.Record{Serial: serial, GenTime: at, HashAlg: "sha256", Imprint: bytes.Repeat([]byte{byte(i)}, 32),
		Policy: "2.16.504.99.1.1.2", CreatedAt: at}
}

func testTimestampBatch(t *testing.T, db *DB) {
	ctx := context.Background()
	if err := db.RecordTimestamp(ctx, record("40aa", 0)); err != nil {
		t.Fatal(err)
	}
	var batch []*tsaWait
	for i := range 10 {
		r := record(fmt.Sprintf("42%04x", i), i)
		switch i {
		case 3:
			r.Serial = "40aa" // already recorded
		case 7:
			r.HashAlg = "sha1" // refused by the table's CHECK
		}
		batch = append(batch, &tsaWait{r: r})
	}
	db.recordTimestamps(ctx, batch)
	for i, w := range batch {
		switch i {
		case 3:
			if !errkind.Is(w.err, errkind.Conflict) {
				t.Errorf("repeated serial: %v", w.err)
			}
		case 7:
			if !errkind.Is(w.err, errkind.Invalid) {
				t.Errorf("bad hash: %v", w.err)
			}
		default:
			if w.err != nil {
				t.Errorf("record %d: %v", i, w.err)
			}
			if _, err := db.TimestampRecord(ctx, w.r.Serial); err != nil {
				t.Errorf("record %d not kept: %v", i, err)
			}
		}
	}
	// A batch of refused records only: each says why, nothing is written.
	bad := []*tsaWait{{r: record("40aa", 1)}, {r: record("40aa", 2)}}
	db.recordTimestamps(ctx, bad)
	for _, w := range bad {
		if !errkind.Is(w.err, errkind.Conflict) {
			t.Errorf("repeated serial in an all-refused batch: %v", w.err)
		}
	}
	// Many concurrent tokens, leaders handing over: all kept, none twice.
	var wg sync.WaitGroup
	errs := make(chan error, 400)
	for i := range 400 {
		wg.Go(func() { errs <- db.RecordTimestamp(ctx, record(fmt.Sprintf("43%04x", i), i)) })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	n, err := db.CountTimestamps(ctx)
	if err != nil || n != 1+8+400 {
		t.Fatalf("%d records (%v), want %d", n, err, 1+8+400)
	}
}

// BenchmarkRecordTimestamp records tokens from 1 and 16 concurrent writers on
// SQLite (synchronous=FULL): rows/commit is how well the batches form.
func BenchmarkRecordTimestamp(b *testing.B) {
	for _, writers := range []int{1, 16} {
		b.Run(fmt.Sprintf("writers=%d", writers), func(b *testing.B) {
			db, err := Open(b.Context(), filepath.Join(b.TempDir(), "tawthiq.db"), clock.Real{})
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			var next atomic.Int64
			b.SetParallelism(max(1, writers/runtime.GOMAXPROCS(0)))
			start := db.tsaq.batches.Load()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					i := next.Add(1)
					var s [16]byte
					binary.BigEndian.PutUint64(s[:], uint64(time.Now().UnixNano()))
					binary.BigEndian.PutUint64(s[8:], uint64(i))
					if err := db.RecordTimestamp(b.Context(), record(hex.EncodeToString(s[:]), int(i))); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.ReportMetric(float64(b.N)/float64(db.tsaq.batches.Load()-start), "rows/commit")
		})
	}
}
