package main

import (
	"context"
	"io"
	"strings"
	"testing"

	"github.com/tawthiq/tawthiq/internal/app"
	"github.com/tawthiq/tawthiq/internal/archive"
)

// TestArchiveVerifyNamesChangedItem_L417_1: `tawthiq archive verify` passes an
// intact archive and names the item whose stored bytes a rogue administrator changed.
func TestArchiveVerifyNamesChangedItem_L417_1(t *testing.T) {
	t.Setenv(passEnv, "correct-horse-battery-staple")
	data := t.TempDir()
	ctx := context.Background()
	a, err := app.Open(ctx, app.Config{Data: data}, app.Options{Out: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	it, err := a.Archive.Put(ctx, "system", "document", []byte("contrat de bail"), archive.Meta{Name: "bail.txt"})
	if err != nil {
		a.Close()
		t.Fatal(err)
	}
	if _, err := a.Archive.Proof(ctx, it.SHA256); err != nil {
		a.Close()
		t.Fatal(err)
	}
	out, err := cli("archive", "verify", "--data", data)
	if err != nil || !strings.HasPrefix(out, "ok: 1 items intact, 1 included") {
		a.Close()
		t.Fatalf("intact archive: %v\n%s", err, out)
	}
	db := a.DB.SQL()
	if _, err := db.Exec(`UPDATE archive_items SET content = x'00'`); err == nil {
		t.Fatal("the database let an archived item be changed")
	}
	for _, q := range []string{`DROP TRIGGER archive_items_immutable`, `UPDATE archive_items SET content = CAST('contrat de bal' AS BLOB)`} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	a.Close()
	out, err = cli("archive", "verify", "--data", data)
	if err == nil || !strings.Contains(out, it.SHA256) || !strings.Contains(out, "bail.txt") || !strings.Contains(out, "changed") {
		t.Fatalf("a changed item: %v\n%s", err, out)
	}
	// Without evidence_seal, a bundle cannot be made, and the command says why.
	if _, err := cli("bundle", "--data", data, "--file", "x.pdf", "-o", "x.asice"); err == nil {
		t.Fatal("bundle without its input or seal succeeded")
	}
}
