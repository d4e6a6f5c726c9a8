package store_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/tawthiq/tawthiq/internal/clock"
	"github.com/tawthiq/tawthiq/internal/store"
	"github.com/tawthiq/tawthiq/internal/store/pgtest"
	"github.com/tawthiq/tawthiq/internal/store/storetest"
)

func openSQLite(t testing.TB) *store.DB {
	t.Helper()
	db, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "tawthiq.db"), clock.Real{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestSQLite(t *testing.T) {
	storetest.Run(t, func(t *testing.T) *store.DB { return openSQLite(t) })
}

func TestPostgres(t *testing.T) {
	srv := pgtest.StartServer(t)
	storetest.Run(t, func(t *testing.T) *store.DB {
		db, err := store.Open(context.Background(), srv.DSN(t), clock.Real{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	})
}

func TestOpen(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name, dsn, dialect string
		ok                 bool
	}{
		{"path", filepath.Join(dir, "a.db"), store.SQLite, true},
		{"sqlite prefix", "sqlite:" + filepath.Join(dir, "b.db"), store.SQLite, true},
		{"empty", "", "", false},
		{"query in path", filepath.Join(dir, "c.db?mode=ro"), "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			db, err := store.Open(context.Background(), tc.dsn, clock.Real{})
			if (err == nil) != tc.ok {
				t.Fatalf("Open(%q) error %v, want ok=%v", tc.dsn, err, tc.ok)
			}
			if err != nil {
				return
			}
			defer db.Close()
			if db.Dialect() != tc.dialect {
				t.Fatalf("dialect %q, want %q", db.Dialect(), tc.dialect)
			}
			// Opening again finds every migration applied.
			again, err := store.Open(context.Background(), tc.dsn, clock.Real{})
			if err != nil {
				t.Fatal(err)
			}
			again.Close()
		})
	}
}

func TestRebind(t *testing.T) {
	db := openSQLite(t)
	if got := db.Rebind("a = ? AND b = ?"); got != "a = ? AND b = ?" {
		t.Fatalf("sqlite rebind changed the query: %q", got)
	}
}

// TestSQLiteDurable checks the pragmas that make every acknowledged commit durable.
func TestSQLiteDurable(t *testing.T) {
	db := openSQLite(t)
	for _, tc := range []struct{ pragma, want string }{
		{"journal_mode", "wal"}, {"synchronous", "2"}, {"foreign_keys", "1"},
	} {
		var got string
		if err := db.SQL().QueryRow("PRAGMA " + tc.pragma).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != tc.want {
			t.Errorf("PRAGMA %s = %s, want %s", tc.pragma, got, tc.want)
		}
	}
}
