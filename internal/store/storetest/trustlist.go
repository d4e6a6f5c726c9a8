package storetest

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/tawthiq/tawthiq/internal/authority"
	"github.com/tawthiq/tawthiq/internal/errkind"
	"github.com/tawthiq/tawthiq/internal/law"
	"github.com/tawthiq/tawthiq/internal/store"
)

func trustListCases() []testCase {
	return []testCase{
		{"TestTrustLists_L15", testTrustLists},
		{"TestTrustListConcurrentPublishers_L15", testTrustListConcurrent},
		{"TestTrustListsKept_L21_2", testTrustListsKept},
	}
}

func publication(seq uint64, issued time.Time) authority.Publication {
	xml := []byte(fmt.Sprintf("<TrustServiceStatusList>%d</TrustServiceStatusList>", seq))
	sum := sha256.Sum256(xml)
	src := sha256.Sum256([]byte("register"))
	return authority.Publication{Seq: seq, IssuedAt: issued, NextUpdate: issued.Add(authority.ListValidity),
		SHA256: hex.EncodeToString(sum[:]), SourceSHA256: hex.EncodeToString(src[:]), XML: xml}
}

func recordList(t *testing.T, db *store.DB, p authority.Publication, at time.Time) error {
	return db.RecordTrustList(t.Context(), p, entry(at, authority.ActionListPublish, fmt.Sprint(p.Seq)))
}

func testTrustLists(t *testing.T, db *store.DB) {
	ctx := t.Context()
	at := now()
	_, err := db.LatestTrustList(ctx)
	wantKind(t, err, errkind.NotFound, "")
	p1 := publication(1, at)
	must(t, db.RecordTrustList(ctx, p1, entry(at, authority.ActionListPublish, "1")))
	got, err := db.LatestTrustList(ctx)
	must(t, err)
	equal(t, "latest", got, p1)
	p2 := publication(2, at.Add(time.Hour))
	must(t, db.RecordTrustList(ctx, p2, entry(at, authority.ActionListPublish, "2")))
	got, err = db.LatestTrustList(ctx)
	must(t, err)
	equal(t, "latest", got, p2)
	// A number is never used twice (L-15): the second publisher of 2 is told so.
	again := publication(2, at.Add(2*time.Hour))
	wantKind(t, db.RecordTrustList(ctx, again, entry(at, authority.ActionListPublish, "2")), errkind.Conflict, "")
	// The database itself refuses a gap and a list issued before the one it follows.
	wantKind(t, db.RecordTrustList(ctx, publication(4, at.Add(3*time.Hour)), entry(at, authority.ActionListPublish, "4")),
		errkind.Forbidden, law.L15)
	wantKind(t, db.RecordTrustList(ctx, publication(3, at.Add(-time.Hour)), entry(at, authority.ActionListPublish, "3")),
		errkind.Forbidden, law.L15)
	bad := publication(3, at.Add(3*time.Hour))
	bad.NextUpdate = bad.IssuedAt
	wantKind(t, db.RecordTrustList(ctx, bad, entry(at, authority.ActionListPublish, "3")), errkind.Invalid, "")
	got, err = db.LatestTrustList(ctx)
	must(t, err)
	equal(t, "latest after the refusals", got, p2)
	// Each publication is in the audit log, and nothing of the refused ones.
	entries, err := db.AuditEntries(ctx, 0, 100)
	must(t, err)
	n := 0
	for _, e := range entries {
		if e.Action == authority.ActionListPublish {
			n++
		}
	}
	if n != 2 {
		t.Fatalf("%d publication entries in the audit log, want 2", n)
	}
}

// testTrustListConcurrent: of publishers racing for one number, exactly one gets it.
func testTrustListConcurrent(t *testing.T, db *store.DB) {
	ctx := t.Context()
	at := now()
	must(t, db.RecordTrustList(ctx, publication(1, at), entry(at, authority.ActionListPublish, "1")))
	const n = 8
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			p := publication(2, at.Add(time.Duration(i+1)*time.Second))
			errs <- db.RecordTrustList(ctx, p, entry(at, authority.ActionListPublish, "2"))
		})
	}
	wg.Wait()
	close(errs)
	ok := 0
	for err := range errs {
		if err == nil {
			ok++
			continue
		}
		wantKind(t, err, errkind.Conflict, "")
	}
	if ok != 1 {
		t.Fatalf("%d publishers got number 2", ok)
	}
}

func testTrustListsKept(t *testing.T, db *store.DB) {
	at := now()
	// Past the retention period, a list may go; inside it, never (L-21-2).
	must(t, recordList(t, db, publication(1, old()), old()))
	must(t, recordList(t, db, publication(2, at), at))
	wantKind(t, exec(db, "UPDATE trustlists SET sha256 = source_sha256"), errkind.Forbidden, law.L21_2)
	wantKind(t, exec(db, "DELETE FROM trustlists WHERE seq = 2"), errkind.Forbidden, law.L21_2)
	if db.Dialect() == store.Postgres {
		wantKind(t, exec(db, "TRUNCATE trustlists"), errkind.Forbidden, law.L21_2)
	}
	must(t, exec(db, "DELETE FROM trustlists WHERE seq = 1"))
	got, err := db.LatestTrustList(t.Context())
	must(t, err)
	if got.Seq != 2 {
		t.Fatalf("latest is %d", got.Seq)
	}
}
