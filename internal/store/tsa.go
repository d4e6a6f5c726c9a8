package store

import (
	"bytes"
	"cmp"
	"context"
	"database/sql"
	"errors"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tawthiq/tawthiq/internal/errkind"
	"github.com/tawthiq/tawthiq/internal/law"
	"github.com/tawthiq/tawthiq/internal/tsa"
)

var _ tsa.Store = (*DB)(nil)

const (
	insertTimestampCols = `INSERT INTO tsa_tokens (serial, gen_time_ms, hash_alg, message_imprint, policy, created_ms) VALUES `
	timestampRow        = `(?, ?, ?, ?, ?, ?)`
	// maxTimestampRows bounds one INSERT: 6 parameters a row stays far below both
	// databases' limits (SQLite 32766, PostgreSQL 65535).
	maxTimestampRows = 128
)

// maxTSALinger bounds how long a batch waits for writers that come in groups. It
// waits at most half the last commit's duration: lingering for p costs the waiting
// batch p and saves the group that joins it the whole next commit, T, a gain while
// p < T/2 (and one commit, one fsync, fewer).
const maxTSALinger = time.Millisecond

// tsaQueue gathers the records of concurrent tokens into one multi-row INSERT,
// handed to the group commit as a single write. At most one batch is in the
// committer at a time: the records that arrive meanwhile wait, and the first of
// them leads the next batch, so that the batch grows with the load and a lone
// token waits only for its own commit.
type tsaQueue struct {
	mu      sync.Mutex
	pending []*tsaWait
	leading bool // a batch is being written; its leader hands over when done
	batches atomic.Int64

	// While writers come in groups, a new leader lingers until the group the last
	// batch answered is back as well (expect records wait), for at most half the
	// last commit: that group then joins this commit instead of the next one.
	last       int           // size of the last batch
	expect     int           // records in flight when the last batch ended: its own and those waiting
	lastCommit time.Duration // how long the last batch took to write
	linger     tsa.Linger

	stmtMu sync.Mutex
	stmts  map[int]*sql.Stmt // the INSERT of n rows, prepared once on the write pool
}

type tsaWait struct {
	r    tsa.Record
	err  error
	done chan bool // true: lead the next batch; false: written (or failed, see err)
}

// RecordTimestamp stores the evidence of one token, durably, before it returns:
// concurrent tokens share one INSERT and one commit (and its fsync); the serial's
// primary key refuses a repeat, and a refused record fails alone.
func (db *DB) RecordTimestamp(ctx context.Context, r tsa.Record) error {
	q := &db.tsaq
	w := &tsaWait{r: r, done: make(chan bool, 1)}
	q.mu.Lock()
	q.pending = append(q.pending, w)
	q.linger.Arrived(len(q.pending))
	lead := !q.leading
	q.leading = true
	q.mu.Unlock()
	if !lead && !<-w.done {
		return w.err
	}
	// The leader is always the first of the queue: take it and whoever waits behind.
	q.mu.Lock()
	if want := min(q.expect, maxTimestampRows); q.last > 1 && len(q.pending) < want {
		q.linger.Wait(&q.mu, want, min(q.lastCommit/2, maxTSALinger))
	}
	n := min(len(q.pending), maxTimestampRows)
	q.last = n
	batch := make([]*tsaWait, n)
	copy(batch, q.pending)
	q.pending = append(q.pending[:0], q.pending[n:]...)
	q.mu.Unlock()

	q.batches.Add(1)
	// The batch belongs to all its tokens: the leader's cancelled request must not fail the others.
	began := time.Now()
	db.recordTimestamps(context.WithoutCancel(ctx), batch)

	q.mu.Lock()
	q.lastCommit = time.Since(began)
	q.expect = len(q.pending) + n
	var next *tsaWait
	if len(q.pending) > 0 {
		next = q.pending[0]
	} else {
		q.leading = false
	}
	q.mu.Unlock()
	if next != nil {
		next.done <- true
	}
	for _, o := range batch {
		if o != w {
			o.done <- false
		}
	}
	return w.err
}

// recordTimestamps writes a batch in one transaction and sets each record's error.
func (db *DB) recordTimestamps(ctx context.Context, batch []*tsaWait) {
	// Prepared outside the transaction: SQLite's write pool has one connection, and
	// the transaction holds it.
	st, err := db.timestampStmt(ctx, len(batch))
	if err == nil {
		err = db.write(ctx, "record time-stamp tokens", nil, func(tx *txn) error {
			return db.insertTimestamps(ctx, tx, st, batch)
		})
	}
	if err != nil {
		for _, w := range batch {
			if w.err == nil {
				w.err = err
			}
		}
	}
}

// insertTimestamps inserts the whole batch with one statement; if the database
// refuses it, each record alone, so that only the refused ones fail. It fails
// only when no record could be written.
func (db *DB) insertTimestamps(ctx context.Context, tx *txn, st *sql.Stmt, batch []*tsaWait) error {
	if len(batch) == 1 {
		err := db.execTimestamps(ctx, tx, st, batch)
		batch[0].err = mapErr(err, law.L21_2, "record time-stamp token "+batch[0].r.Serial)
		return batch[0].err
	}
	// PostgreSQL aborts the transaction on an error; SQLite undoes the statement alone.
	pg := db.dialect == Postgres
	savepoint := func(stmt string) error {
		if !pg {
			return nil
		}
		_, err := tx.ExecContext(ctx, stmt)
		return err
	}
	if err := savepoint("SAVEPOINT tsa_batch"); err != nil {
		return err
	}
	err := db.execTimestamps(ctx, tx, st, batch)
	if err != nil {
		if e := savepoint("ROLLBACK TO SAVEPOINT tsa_batch"); e != nil {
			return e
		}
	}
	if e := savepoint("RELEASE SAVEPOINT tsa_batch"); e != nil || err == nil {
		return e
	}
	// Rare: a refused record. Each alone, so that the others are kept.
	single := db.Rebind(insertTimestampCols + timestampRow)
	var first error
	for _, w := range batch {
		if err := savepoint("SAVEPOINT tsa_row"); err != nil {
			return err
		}
		r := &w.r
		_, err := tx.ExecContext(ctx, single, r.Serial, ms(r.GenTime), r.HashAlg, nonNil(r.Imprint), r.Policy, ms(r.CreatedAt))
		if w.err = mapErr(err, law.L21_2, "record time-stamp token "+r.Serial); w.err != nil {
			first = cmp.Or(first, w.err)
			if err := savepoint("ROLLBACK TO SAVEPOINT tsa_row"); err != nil {
				return err
			}
		}
		if err := savepoint("RELEASE SAVEPOINT tsa_row"); err != nil {
			return err
		}
	}
	for _, w := range batch {
		if w.err == nil {
			return nil // at least one is written: the transaction commits
		}
	}
	return first
}

// execTimestamps runs st, the prepared INSERT of len(rows) rows.
func (db *DB) execTimestamps(ctx context.Context, tx *txn, st *sql.Stmt, rows []*tsaWait) error {
	args := make([]any, 0, 6*len(rows))
	for _, w := range rows {
		r := &w.r
		args = append(args, r.Serial, ms(r.GenTime), r.HashAlg, nonNil(r.Imprint), r.Policy, ms(r.CreatedAt))
	}
	_, err := tx.StmtContext(ctx, st).ExecContext(ctx, args...)
	return err
}

// timestampStmt returns the INSERT of n rows, prepared on the write pool once;
// within a transaction it runs on the connection that already prepared it.
func (db *DB) timestampStmt(ctx context.Context, n int) (*sql.Stmt, error) {
	q := &db.tsaq
	q.stmtMu.Lock()
	defer q.stmtMu.Unlock()
	if st, ok := q.stmts[n]; ok {
		return st, nil
	}
	// n < 0: the INSERT of -n rows that skips serials already stored.
	var b strings.Builder
	b.WriteString(insertTimestampCols)
	for i := range max(n, -n) {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(timestampRow)
	}
	if n < 0 {
		b.WriteString(" ON CONFLICT (serial) DO NOTHING")
	}
	st, err := db.w.PrepareContext(ctx, db.Rebind(b.String()))
	if err != nil {
		return nil, err
	}
	if q.stmts == nil {
		q.stmts = map[int]*sql.Stmt{}
	}
	q.stmts[n] = st
	return st, nil
}

var _ tsa.BatchStore = (*DB)(nil)

// RecordTimestamps stores journaled records in one transaction. A record
// already stored (a replay) is skipped, provided it is the same evidence.
func (db *DB) RecordTimestamps(ctx context.Context, rs []tsa.Record) error {
	sizes := map[int]*sql.Stmt{}
	for i := 0; i < len(rs); i += maxTimestampRows {
		n := min(len(rs)-i, maxTimestampRows)
		if sizes[n] == nil {
			st, err := db.ignoreStmt(ctx, n)
			if err != nil {
				return mapErr(err, law.L21_2, "prepare time-stamp records")
			}
			sizes[n] = st
		}
	}
	var stored int64
	err := db.write(ctx, "record journaled time-stamp tokens", nil, func(tx *txn) error {
		stored = 0
		args := make([]any, 0, 6*maxTimestampRows)
		for i := 0; i < len(rs); i += maxTimestampRows {
			chunk := rs[i:min(len(rs), i+maxTimestampRows)]
			args = args[:0]
			for k := range chunk {
				r := &chunk[k]
				args = append(args, r.Serial, ms(r.GenTime), r.HashAlg, nonNil(r.Imprint), r.Policy, ms(r.CreatedAt))
			}
			res, err := tx.StmtContext(ctx, sizes[len(chunk)]).ExecContext(ctx, args...)
			if err != nil {
				return err
			}
			n, err := res.RowsAffected()
			if err != nil {
				return err
			}
			stored += n
			// A drain of thousands of rows would hold a core for milliseconds
			// while tokens wait on the other: yield between INSERTs.
			runtime.Gosched()
		}
		return nil
	})
	if err != nil {
		return mapErr(err, law.L21_2, "record time-stamp tokens")
	}
	if stored == int64(len(rs)) {
		return nil
	}
	// Some were there already: they must be the same tokens, not a serial reused.
	for _, r := range rs {
		got, err := db.TimestampRecord(ctx, r.Serial)
		if err != nil {
			return err
		}
		if !got.GenTime.Equal(r.GenTime) || got.HashAlg != r.HashAlg || !bytes.Equal(got.Imprint, r.Imprint) || got.Policy != r.Policy {
			return errkind.New(errkind.Conflict, law.L21_2, "time-stamp serial %s is recorded with other evidence", r.Serial)
		}
	}
	return nil
}

// ignoreStmt returns the INSERT of n rows that skips serials already stored.
func (db *DB) ignoreStmt(ctx context.Context, n int) (*sql.Stmt, error) {
	return db.timestampStmt(ctx, -n)
}

// TimestampRecord returns the record of the token with this serial.
func (db *DB) TimestampRecord(ctx context.Context, serial string) (tsa.Record, error) {
	var r tsa.Record
	var gen, created int64
	err := db.r.QueryRowContext(ctx, db.Rebind(`SELECT serial, gen_time_ms, hash_alg, message_imprint, policy, created_ms
		FROM tsa_tokens WHERE serial = ?`), serial).Scan(&r.Serial, &gen, &r.HashAlg, &r.Imprint, &r.Policy, &created)
	if err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return r, notFound("no time-stamp token %s", serial)
		}
		return r, mapErr(err, law.LInternal, "read time-stamp token")
	}
	r.GenTime, r.CreatedAt = fromMS(gen), fromMS(created)
	return r, nil
}

// CountTimestamps returns how many tokens are recorded.
func (db *DB) CountTimestamps(ctx context.Context) (int64, error) {
	var n int64
	err := db.r.QueryRowContext(ctx, "SELECT COUNT(*) FROM tsa_tokens").Scan(&n)
	return n, mapErr(err, law.LInternal, "count time-stamp tokens")
}
