package store

import (
	"context"
	"fmt"
	"time"

	"github.com/tawthiq/tawthiq/internal/auditlog"
	"github.com/tawthiq/tawthiq/internal/errkind"
	"github.com/tawthiq/tawthiq/internal/law"
)

// maxBatch bounds how many writes share one transaction.
const maxBatch = 256

// writeReq is one change with its audit entries, waiting for the committer.
type writeReq struct {
	ctx     context.Context
	what    string
	entries []auditlog.Entry
	change  func(tx *txn) error
	done    chan error
}

// write runs change and appends entries in one transaction, so a change is never
// stored without its audit entry nor an entry without its change (L-21-2). Concurrent
// writes are committed together (group commit): each durable commit costs an fsync,
// and sharing it is what lets issuance keep up with the CPU. Each write runs inside
// its own savepoint, so one refused write never undoes the others of its batch.
func (db *DB) write(ctx context.Context, what string, entries []auditlog.Entry, change func(tx *txn) error) error {
	req := &writeReq{ctx: ctx, what: what, entries: entries, change: change, done: make(chan error, 1)}
	select {
	case db.writes <- req:
	case <-ctx.Done():
		return errkind.Wrap(errkind.Unavailable, ctx.Err(), "%s: cancelled before it was written", what)
	case <-db.closed:
		return errkind.New(errkind.Unavailable, "", "%s: the store is closed", what)
	}
	return <-req.done // the committer always answers, even if ctx ends meanwhile
}

// commitLoop is the store's only writer: it takes every write waiting at that
// moment (the channel is unbuffered, so these are exactly the blocked writers) and
// commits them in one transaction.
func (db *DB) commitLoop() {
	defer close(db.loopDone)
	batch := make([]*writeReq, 0, maxBatch)
	busy := false // the last batch had company: writers are arriving together
	for {
		select {
		case <-db.closed:
			return
		case r := <-db.writes:
			batch = append(batch[:0], r)
			batch = db.gather(batch, busy)
			busy = len(batch) > 1
			db.commitBatch(batch)
		}
	}
}

// linger is how long a busy committer waits for more writers before committing: far
// less than the fsync it saves them, and never spent by a lone writer.
const linger = 300 * time.Microsecond

// gather adds every writer already waiting; when busy, it lingers a little for more.
func (db *DB) gather(batch []*writeReq, busy bool) []*writeReq {
	var deadline <-chan time.Time
	if busy {
		t := time.NewTimer(linger)
		defer t.Stop()
		deadline = t.C
	}
	for len(batch) < maxBatch {
		select {
		case r := <-db.writes:
			batch = append(batch, r)
			continue
		default:
		}
		if deadline == nil {
			return batch
		}
		select {
		case r := <-db.writes:
			batch = append(batch, r)
		case <-deadline:
			return batch
		}
	}
	return batch
}

// commitBatch writes a batch in one transaction and answers each request.
func (db *DB) commitBatch(batch []*writeReq) {
	errs := make([]error, len(batch))
	defer func() {
		if p := recover(); p != nil {
			for i := range errs {
				errs[i] = errkind.Wrap(errkind.Internal, fmt.Errorf("panic: %v", p), "%s", batch[i].what)
			}
		}
		for i, r := range batch {
			r.done <- errs[i]
		}
	}()
	failAll := func(err error) {
		for i, r := range batch {
			if errs[i] == nil {
				errs[i] = mapErr(err, law.LInternal, r.what)
			}
		}
	}
	// The transaction belongs to the batch, not to one caller: a caller's cancelled
	// context must not roll back the others' writes.
	ctx := context.Background()
	stx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		failAll(err)
		return
	}
	defer stx.Rollback()
	tx := db.newTxn(stx)
	size, err := db.lockHead(ctx, tx)
	if err != nil {
		failAll(err)
		return
	}
	start := size
	savepoints := len(batch) > 1
	written := 0
	for i, r := range batch {
		if err := r.ctx.Err(); err != nil {
			errs[i] = errkind.Wrap(errkind.Unavailable, err, "%s: cancelled before it was written", r.what)
			continue
		}
		if savepoints {
			if _, err := tx.ExecContext(ctx, "SAVEPOINT w"); err != nil {
				failAll(err)
				return
			}
		}
		next, err := db.apply(context.WithoutCancel(r.ctx), tx, size, r)
		if err != nil {
			errs[i] = err
			if !savepoints {
				return
			}
			// Undo this write only; the savepoint is then released to keep the stack flat.
			if _, err := tx.ExecContext(ctx, "ROLLBACK TO SAVEPOINT w"); err != nil {
				failAll(err)
				return
			}
		}
		if savepoints {
			if _, err := tx.ExecContext(ctx, "RELEASE SAVEPOINT w"); err != nil {
				failAll(err)
				return
			}
		}
		if err == nil {
			size = next
			written++
		}
	}
	if written == 0 {
		return
	}
	// The head moves once per batch, not once per write.
	if size != start {
		if _, err := tx.ExecContext(ctx, db.Rebind("UPDATE audit_head SET size = ? WHERE id = 1"), size); err != nil {
			failAll(err)
			return
		}
	}
	if err := tx.Commit(); err != nil {
		failAll(err)
	}
}

// apply makes one change and appends its entries, returning the new log size.
func (db *DB) apply(ctx context.Context, tx *txn, size int64, r *writeReq) (int64, error) {
	if r.change != nil {
		if err := r.change(tx); err != nil {
			return size, mapErr(err, law.LInternal, r.what)
		}
	}
	next, err := db.appendEntries(ctx, tx, size, r.entries)
	if err != nil {
		return size, mapErr(err, law.L21_2, r.what+": audit log")
	}
	return next, nil
}
