package store

import (
	"context"
	"database/sql"
)

// txn is a write transaction that prepares each distinct statement once. A batch of
// group-committed writes repeats the same few statements, and in SQLite parsing
// them is half the committer's time; PostgreSQL's driver already caches statements.
type txn struct {
	*sql.Tx
	cache map[string]*sql.Stmt // nil: no caching
}

func (db *DB) newTxn(tx *sql.Tx) *txn {
	t := &txn{Tx: tx}
	if db.dialect == SQLite {
		t.cache = map[string]*sql.Stmt{}
	}
	return t
}

func (t *txn) stmt(ctx context.Context, q string) (*sql.Stmt, error) {
	if st, ok := t.cache[q]; ok {
		return st, nil
	}
	st, err := t.Tx.PrepareContext(ctx, q)
	if err != nil {
		return nil, err
	}
	t.cache[q] = st // closed with the transaction
	return st, nil
}

// ExecContext runs q, prepared once per transaction.
func (t *txn) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	if t.cache == nil {
		return t.Tx.ExecContext(ctx, q, args...)
	}
	st, err := t.stmt(ctx, q)
	if err != nil {
		return nil, err
	}
	return st.ExecContext(ctx, args...)
}

// QueryContext runs q, prepared once per transaction.
func (t *txn) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	if t.cache == nil {
		return t.Tx.QueryContext(ctx, q, args...)
	}
	st, err := t.stmt(ctx, q)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(ctx, args...)
}

// QueryRowContext runs q, prepared once per transaction.
func (t *txn) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	if t.cache == nil {
		return t.Tx.QueryRowContext(ctx, q, args...)
	}
	st, err := t.stmt(ctx, q)
	if err != nil {
		// Let Row carry the error: an unprepared query fails the same way when run.
		return t.Tx.QueryRowContext(ctx, q, args...)
	}
	return st.QueryRowContext(ctx, args...)
}
