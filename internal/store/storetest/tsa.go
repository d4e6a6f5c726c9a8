package storetest

import (
	"bytes"
	"fmt"
	"sync"
	"testing"

	"github.com/tawthiq/tawthiq/internal/errkind"
	"github.com/tawthiq/tawthiq/internal/law"
	"github.com/tawthiq/tawthiq/internal/store"
	"github.com/tawthiq/tawthiq/internal/tsa"
)

func tsaCases() []testCase {
	return []testCase{
		{"TestTimestampRecords_L21_2", testTimestampRecords},
		{"TestTimestampRecordsKept_L21_2", testTimestampRecordsKept},
	}
}

func tsaRecord(serial string, imprint byte) tsa.Record {
	at := now()
	return tsa.Record{Serial: serial, GenTime: at, HashAlg: "sha256", Imprint: bytes.Repeat([]byte{imprint}, 32),
		Policy: "2.16.504.99.1.1.2", CreatedAt: at}
}

func testTimestampRecords(t *testing.T, db *store.DB) {
	ctx := t.Context()
	r := tsaRecord("40aa", 1)
	must(t, db.RecordTimestamp(ctx, r))
	got, err := db.TimestampRecord(ctx, "40aa")
	must(t, err)
	if got.Serial != r.Serial || !got.GenTime.Equal(r.GenTime) || got.HashAlg != r.HashAlg ||
		!bytes.Equal(got.Imprint, r.Imprint) || got.Policy != r.Policy || !got.CreatedAt.Equal(r.CreatedAt) {
		t.Fatalf("got %+v, want %+v", got, r)
	}
	// A serial is never used twice (L-21-2).
	wantKind(t, db.RecordTimestamp(ctx, tsaRecord("40aa", 2)), errkind.Conflict, "")
	bad := tsaRecord("40bb", 3)
	bad.HashAlg = "sha1"
	wantKind(t, db.RecordTimestamp(ctx, bad), errkind.Invalid, "")
	_, err = db.TimestampRecord(ctx, "40cc")
	wantKind(t, err, errkind.NotFound, "")

	// Concurrent tokens share commits and every one is kept.
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for i := range 64 {
		wg.Go(func() { errs <- db.RecordTimestamp(ctx, tsaRecord(fmt.Sprintf("41%04x", i), byte(i))) })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		must(t, err)
	}
	n, err := db.CountTimestamps(ctx)
	must(t, err)
	if n != 65 {
		t.Fatalf("%d tokens recorded, want 65", n)
	}
}

func testTimestampRecordsKept(t *testing.T, db *store.DB) {
	ctx := t.Context()
	must(t, db.RecordTimestamp(ctx, tsaRecord("40aa", 1)))
	wantKind(t, exec(db, "UPDATE tsa_tokens SET gen_time_ms = 0"), errkind.Forbidden, law.L21_2)
	wantKind(t, exec(db, "DELETE FROM tsa_tokens"), errkind.Forbidden, law.L21_2)
	past := tsaRecord("40dd", 4)
	past.CreatedAt, past.GenTime = old(), old()
	must(t, db.RecordTimestamp(ctx, past))
	must(t, exec(db, "DELETE FROM tsa_tokens WHERE serial = '40dd'"))
	if db.Dialect() == store.Postgres {
		wantKind(t, exec(db, "TRUNCATE tsa_tokens"), errkind.Forbidden, law.L21_2)
	}
}
