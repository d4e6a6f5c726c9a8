// Package store implements every service's Store interface over SQL: SQLite (the
// embedded default) and PostgreSQL, with the same migrations and the same conformance
// suite. The database itself refuses what must never happen (L-21-2): a serial used
// twice, a certificate without its registration record, a change to the audit log,
// a deletion inside the retention period.
package store

import (
	"context"
	"database/sql"
	"strconv"
	"strings"
	"sync"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
	_ "modernc.org/sqlite"             // registers the "sqlite" database/sql driver

	"github.com/tawthiq/tawthiq/internal/access"
	"github.com/tawthiq/tawthiq/internal/auditlog"
	"github.com/tawthiq/tawthiq/internal/ca"
	"github.com/tawthiq/tawthiq/internal/clock"
	"github.com/tawthiq/tawthiq/internal/errkind"
	"github.com/tawthiq/tawthiq/internal/ra"
)

var (
	_ ra.Store       = (*DB)(nil)
	_ ca.Store       = (*DB)(nil)
	_ auditlog.Store = (*DB)(nil)
	_ access.Store   = (*DB)(nil)
)

// Dialect names.
const (
	SQLite   = "sqlite"
	Postgres = "postgres"
)

// sqliteParams make every acknowledged commit durable (synchronous=FULL) and take the
// write lock at BEGIN, so that two writers never deadlock upgrading a read lock.
const sqliteParams = "_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)&_pragma=journal_mode(WAL)" +
	"&_pragma=synchronous(FULL)&_txlock=immediate"

// DB is the SQL store of every service.
type DB struct {
	w       *sql.DB // writes (and, for PostgreSQL, reads)
	r       *sql.DB // reads; for SQLite a separate pool so readers never queue behind the writer
	dialect string
	clk     clock.Clock

	writes    chan *writeReq // to the committer, the only writer
	closed    chan struct{}
	loopDone  chan struct{}
	closeOnce sync.Once

	tsaq tsaQueue // time-stamp records waiting for their batch (tsa.go)
}

// Open connects to dsn (postgres://..., postgresql://..., or an SQLite file path,
// optionally prefixed "sqlite:") and applies the migrations.
func Open(ctx context.Context, dsn string, clk clock.Clock) (*DB, error) {
	db, err := connect(dsn, clk)
	if err != nil {
		return nil, err
	}
	if err := db.migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	db.writes, db.closed, db.loopDone = make(chan *writeReq), make(chan struct{}), make(chan struct{})
	go db.commitLoop()
	return db, nil
}

func connect(dsn string, clk clock.Clock) (*DB, error) {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		p, err := sql.Open("pgx", dsn)
		if err != nil {
			return nil, errkind.Wrap(errkind.Unavailable, err, "open the PostgreSQL database")
		}
		return &DB{w: p, r: p, dialect: Postgres, clk: clk}, nil
	}
	path := strings.TrimPrefix(strings.TrimPrefix(dsn, "sqlite://"), "sqlite:")
	if path == "" || strings.ContainsRune(path, '?') {
		return nil, errkind.New(errkind.Invalid, "", "SQLite database path %q is not usable", path)
	}
	w, err := sql.Open("sqlite", path+"?"+sqliteParams)
	if err != nil {
		return nil, errkind.Wrap(errkind.Unavailable, err, "open the SQLite database")
	}
	// SQLite has one writer: one connection queues writers in Go instead of busy-waiting.
	w.SetMaxOpenConns(1)
	r, err := sql.Open("sqlite", path+"?"+sqliteParams)
	if err != nil {
		w.Close()
		return nil, errkind.Wrap(errkind.Unavailable, err, "open the SQLite database")
	}
	return &DB{w: w, r: r, dialect: SQLite, clk: clk}, nil
}

// Close releases the connections.
func (db *DB) Close() error {
	if db.closed != nil {
		db.closeOnce.Do(func() {
			close(db.closed)
			<-db.loopDone
		})
	}
	err := db.w.Close()
	if db.r != db.w {
		if e := db.r.Close(); err == nil {
			err = e
		}
	}
	return err
}

// Dialect returns "sqlite" or "postgres".
func (db *DB) Dialect() string { return db.dialect }

// SQL returns the write pool. Test-only: tests use it to tamper with rows directly
// and prove that the database refuses; services never touch it.
func (db *DB) SQL() *sql.DB { return db.w }

// Rebind turns the ? placeholders of q into $1, $2... for PostgreSQL, so that each
// operation has one query text. Our queries never contain a literal '?'.
func (db *DB) Rebind(q string) string {
	if db.dialect != Postgres {
		return q
	}
	var b strings.Builder
	n := 0
	for _, c := range q {
		if c == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteRune(c)
	}
	return b.String()
}

// forUpdate locks the selected rows in PostgreSQL; SQLite is already single-writer.
func (db *DB) forUpdate() string {
	if db.dialect == Postgres {
		return " FOR UPDATE"
	}
	return ""
}

// queryer is what both *sql.DB and *sql.Tx offer.
type queryer interface {
	ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row
}

// ms is how times are stored: milliseconds since the epoch, UTC (L-21-1).
func ms(t time.Time) int64 { return t.UnixMilli() }

// optMS stores a zero time as NULL.
func optMS(t time.Time) sql.NullInt64 {
	if t.IsZero() {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: t.UnixMilli(), Valid: true}
}

func fromMS(v int64) time.Time { return time.UnixMilli(v).UTC() }

func fromOptMS(v sql.NullInt64) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return fromMS(v.Int64)
}

func notFound(what string, args ...any) error {
	return errkind.New(errkind.NotFound, "", what, args...)
}

// placeholders returns "?, ?, ?" for n arguments.
func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}
