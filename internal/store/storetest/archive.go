package storetest

import (
	"fmt"
	"sync"
	"testing"

	"github.com/tawthiq/tawthiq/internal/archive"
	"github.com/tawthiq/tawthiq/internal/auditlog"
	"github.com/tawthiq/tawthiq/internal/errkind"
	"github.com/tawthiq/tawthiq/internal/law"
	"github.com/tawthiq/tawthiq/internal/store"
)

func archiveCases() []testCase {
	return []testCase{
		{"TestArchiveItems_L417_1", testArchiveItems},
		{"TestArchiveItemsKept_L417_1", testArchiveItemsKept},
	}
}

func archiveItem(content string) (archive.Item, auditlog.Entry) {
	at := now()
	h := archive.Sum([]byte(content))
	it := archive.Item{SHA256: h, Kind: "document", Name: "a.txt", MediaType: "text/plain", Size: int64(len(content)),
		Content: []byte(content), CreatedAt: at}
	return it, auditlog.NewEntry(at, "usr_1", archive.ActionPut, h, map[string]any{"sha256": h, "kind": "document", "size": len(content)})
}

func testArchiveItems(t *testing.T, db *store.DB) {
	ctx := t.Context()
	must(t, db.Append(ctx, entry(now(), auditlog.ActionLogin, "someone")))
	it, e := archiveItem("contrat 1")
	got, err := db.PutArchiveItem(ctx, it, e)
	must(t, err)
	if got.AuditSeq != 1 {
		t.Fatalf("audit seq %d, want 1", got.AuditSeq)
	}
	back, err := db.ArchiveItem(ctx, it.SHA256)
	must(t, err)
	if string(back.Content) != "contrat 1" || back.AuditSeq != 1 || back.Size != it.Size || !back.CreatedAt.Equal(it.CreatedAt) || back.Name != "a.txt" {
		t.Fatalf("got %+v", back)
	}
	es, err := db.AuditEntries(ctx, 1, 2)
	must(t, err)
	if len(es) != 1 || es[0].Subject != it.SHA256 || es[0].Action != archive.ActionPut {
		t.Fatalf("entry at the item's seq: %+v", es)
	}
	// One hash, one item (L-417-1: content-addressed); the refused write leaves no entry.
	_, err = db.PutArchiveItem(ctx, it, e)
	wantKind(t, err, errkind.Conflict, "")
	size, err := db.AuditSize(ctx)
	must(t, err)
	if size != 2 {
		t.Fatalf("log size %d after a refused write, want 2", size)
	}
	_, err = db.ArchiveItem(ctx, archive.Sum([]byte("none")))
	wantKind(t, err, errkind.NotFound, "")

	// Concurrent items share commits, and each row names its own entry.
	var wg sync.WaitGroup
	for i := range 24 {
		wg.Go(func() {
			it, e := archiveItem(fmt.Sprintf("item %d", i))
			if _, err := db.PutArchiveItem(ctx, it, e); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	var all []archive.Item
	for after := ""; ; {
		items, err := db.ArchiveItems(ctx, after, 10)
		must(t, err)
		all = append(all, items...)
		if len(items) < 10 {
			break
		}
		after = items[len(items)-1].SHA256
	}
	if len(all) != 25 {
		t.Fatalf("%d items listed, want 25", len(all))
	}
	for _, it := range all {
		es, err := db.AuditEntries(ctx, it.AuditSeq, it.AuditSeq+1)
		must(t, err)
		if len(es) != 1 || es[0].Subject != it.SHA256 {
			t.Fatalf("item %s: entry %d is %+v", it.SHA256, it.AuditSeq, es)
		}
	}
}

func testArchiveItemsKept(t *testing.T, db *store.DB) {
	ctx := t.Context()
	it, e := archiveItem("contrat 2")
	_, err := db.PutArchiveItem(ctx, it, e)
	must(t, err)
	wantKind(t, exec(db, "UPDATE archive_items SET content = ?", []byte("contrat 3")), errkind.Forbidden, law.L21_2)
	wantKind(t, exec(db, "DELETE FROM archive_items"), errkind.Forbidden, law.L21_2)
	past, pe := archiveItem("contrat ancien")
	past.CreatedAt = old()
	_, err = db.PutArchiveItem(ctx, past, pe)
	must(t, err)
	must(t, exec(db, "DELETE FROM archive_items WHERE sha256 = ?", past.SHA256))
	if db.Dialect() == store.Postgres {
		wantKind(t, exec(db, "TRUNCATE archive_items"), errkind.Forbidden, law.L21_2)
	}
}
