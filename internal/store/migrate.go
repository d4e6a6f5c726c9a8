package store

import (
	"bytes"
	"context"
	"database/sql"
	"embed"
	"io/fs"
	"path"
	"sort"
	"strings"
	"text/template"

	"github.com/tawthiq/tawthiq/internal/errkind"
	"github.com/tawthiq/tawthiq/internal/law"
)

//go:embed migrations
var migrations embed.FS

// migrationLock is the PostgreSQL advisory lock key that keeps two nodes from migrating at once.
const migrationLock = 0x7461777468697100 // "tawthiq\0"

// schemaData is what the migration templates may use: the rules come from the law package,
// so the retention period is written once (L-21-2).
type schemaData struct {
	RetentionYears int
	Retained       []string // tables whose rows may not be deleted inside the retention period
	Immutable      []string // tables whose rows are never updated
}

func newSchemaData() schemaData {
	return schemaData{
		RetentionYears: law.RetentionYears,
		Retained: []string{"applications", "approvals", "certificates", "audit_entries", "audit_hashes",
			"checkpoints", "terms", "users", "authorities", "compromised_keys"},
		Immutable: []string{"audit_entries", "audit_hashes", "approvals", "terms", "checkpoints",
			"authorities", "compromised_keys"},
	}
}

// migrate applies, in name order, each embedded migration of the dialect not yet
// recorded in schema_migrations, each in its own transaction.
func (db *DB) migrate(ctx context.Context) error {
	dir := path.Join("migrations", db.dialect)
	names, err := fs.Glob(migrations, dir+"/*.sql")
	if err != nil {
		return errkind.Wrap(errkind.Internal, err, "list migrations")
	}
	sort.Strings(names)
	if err := db.inMigrationTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
			version TEXT PRIMARY KEY, applied_ms BIGINT NOT NULL)`)
		return err
	}); err != nil {
		return errkind.Wrap(errkind.Unavailable, err, "create schema_migrations")
	}
	for _, name := range names {
		if err := db.applyMigration(ctx, name); err != nil {
			return errkind.Wrap(errkind.Unavailable, err, "migration %s", path.Base(name))
		}
	}
	return nil
}

func (db *DB) applyMigration(ctx context.Context, name string) error {
	text, err := renderMigration(name)
	if err != nil {
		return err
	}
	version := strings.TrimSuffix(path.Base(name), ".sql")
	return db.inMigrationTx(ctx, func(tx *sql.Tx) error {
		var n int
		q := db.Rebind("SELECT count(*) FROM schema_migrations WHERE version = ?")
		if err := tx.QueryRowContext(ctx, q, version).Scan(&n); err != nil || n > 0 {
			return err
		}
		if _, err := tx.ExecContext(ctx, text); err != nil {
			return err
		}
		q = db.Rebind("INSERT INTO schema_migrations (version, applied_ms) VALUES (?, ?)")
		_, err := tx.ExecContext(ctx, q, version, ms(db.clk.Now()))
		return err
	})
}

// inMigrationTx runs fn in a transaction that, in PostgreSQL, holds the migration lock.
func (db *DB) inMigrationTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if db.dialect == Postgres {
		if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock($1)", int64(migrationLock)); err != nil {
			return err
		}
	}
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit()
}

func renderMigration(name string) (string, error) {
	raw, err := migrations.ReadFile(name)
	if err != nil {
		return "", err
	}
	t, err := template.New(path.Base(name)).Option("missingkey=error").Parse(string(raw))
	if err != nil {
		return "", err
	}
	var b bytes.Buffer
	if err := t.Execute(&b, newSchemaData()); err != nil {
		return "", err
	}
	return b.String(), nil
}
