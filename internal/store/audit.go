package store

import (
	"context"
	"fmt"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/tawthiq/tawthiq/internal/auditlog"
	"github.com/tawthiq/tawthiq/internal/errkind"
	"github.com/tawthiq/tawthiq/internal/law"
)

// lockHead reads the log size; in PostgreSQL it locks the head row until commit, so
// appenders are serialised (SQLite already holds its write lock from BEGIN IMMEDIATE).
func (db *DB) lockHead(ctx context.Context, tx *txn) (int64, error) {
	var size int64
	err := tx.QueryRowContext(ctx, "SELECT size FROM audit_head WHERE id = 1"+db.forUpdate()).Scan(&size)
	return size, err
}

// appendEntries stores each entry at the next position with its tlog hashes; commitBatch moves the head.
func (db *DB) appendEntries(ctx context.Context, tx *txn, size int64, entries []auditlog.Entry) (int64, error) {
	if len(entries) == 0 {
		return size, nil
	}
	insEntry := db.Rebind(`INSERT INTO audit_entries (seq, created_ms, actor, action, subject, ground, data)
		VALUES (?, ?, ?, ?, ?, ?, ?)`)
	insHash := db.Rebind("INSERT INTO audit_hashes (idx, hash, created_ms) VALUES (?, ?, ?)")
	reader := hashReader{ctx: ctx, db: db, q: tx}
	for _, e := range entries {
		e.Seq = size
		hashes, err := auditlog.HashesToStore(size, e, reader)
		if err != nil {
			return size, err
		}
		if _, err := tx.ExecContext(ctx, insEntry, e.Seq, ms(e.Time), e.Actor, string(e.Action),
			e.Subject, e.Ground, []byte(e.Data)); err != nil {
			return size, err
		}
		first := tlog.StoredHashIndex(0, size)
		for i, h := range hashes {
			if _, err := tx.ExecContext(ctx, insHash, first+int64(i), h[:], ms(e.Time)); err != nil {
				return size, err
			}
		}
		size++
	}
	return size, nil
}

// hashReader is a tlog.HashReader over audit_hashes, reading through q (a transaction
// when appending, so that it sees the hashes written earlier in it).
type hashReader struct {
	ctx context.Context
	db  *DB
	q   queryer
}

func (r hashReader) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	found := make(map[int64]tlog.Hash, len(indexes))
	err := inLists(indexes, func(list string, args []any) error { return r.readChunk(list, args, found) })
	if err != nil {
		return nil, err
	}
	out := make([]tlog.Hash, len(indexes))
	for i, x := range indexes {
		h, ok := found[x]
		if !ok {
			return nil, fmt.Errorf("audit hash %d is missing", x)
		}
		out[i] = h
	}
	return out, nil
}

func (r hashReader) readChunk(list string, args []any, found map[int64]tlog.Hash) error {
	q := r.db.Rebind("SELECT idx, hash FROM audit_hashes WHERE idx IN (" + list + ")")
	rows, err := r.q.QueryContext(r.ctx, q, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var idx int64
		var b []byte
		if err := rows.Scan(&idx, &b); err != nil {
			return err
		}
		if len(b) != tlog.HashSize {
			return fmt.Errorf("audit hash %d has %d bytes", idx, len(b))
		}
		found[idx] = tlog.Hash(b)
	}
	return rows.Err()
}

// AuditSize returns the number of entries in the log.
func (db *DB) AuditSize(ctx context.Context) (int64, error) {
	var size int64
	err := db.r.QueryRowContext(ctx, "SELECT size FROM audit_head WHERE id = 1").Scan(&size)
	return size, mapErr(err, law.LInternal, "read the audit log size")
}

// AuditEntries returns the entries with from <= Seq < to, in order.
func (db *DB) AuditEntries(ctx context.Context, from, to int64) ([]auditlog.Entry, error) {
	q := db.Rebind(`SELECT seq, created_ms, actor, action, subject, ground, data FROM audit_entries
		WHERE seq >= ? AND seq < ? ORDER BY seq`)
	rows, err := db.r.QueryContext(ctx, q, from, to)
	if err != nil {
		return nil, mapErr(err, law.LInternal, "read audit entries")
	}
	defer rows.Close()
	var out []auditlog.Entry
	for rows.Next() {
		var e auditlog.Entry
		var at int64
		var action string
		var data []byte
		if err := rows.Scan(&e.Seq, &at, &e.Actor, &action, &e.Subject, &e.Ground, &data); err != nil {
			return nil, mapErr(err, law.LInternal, "read audit entries")
		}
		e.Time, e.Action = fromMS(at), auditlog.Action(action)
		if len(data) > 0 {
			e.Data = data
		}
		out = append(out, e)
	}
	return out, mapErr(rows.Err(), law.LInternal, "read audit entries")
}

// ReadHashes implements tlog.HashReader over the stored hashes.
func (db *DB) ReadHashes(ctx context.Context, indexes []int64) ([]tlog.Hash, error) {
	h, err := hashReader{ctx: ctx, db: db, q: db.r}.ReadHashes(indexes)
	return h, mapErr(err, law.LInternal, "read audit hashes")
}

// Append adds entries that record no other change.
func (db *DB) Append(ctx context.Context, e ...auditlog.Entry) error {
	return db.write(ctx, "append to the audit log", e, nil)
}

// PutCheckpoint stores a signed checkpoint after checking that its root is the
// stored tree's hash at that size, so a checkpoint never vouches for another tree.
func (db *DB) PutCheckpoint(ctx context.Context, c auditlog.Checkpoint) error {
	return db.write(ctx, "store a checkpoint", nil, func(tx *txn) error {
		var size int64
		if err := tx.QueryRowContext(ctx, "SELECT size FROM audit_head WHERE id = 1").Scan(&size); err != nil {
			return err
		}
		if c.Size < 0 || c.Size > size {
			return errkind.New(errkind.Invalid, law.L21_2, "checkpoint of size %d for a log of %d entries", c.Size, size)
		}
		root, err := tlog.TreeHash(c.Size, hashReader{ctx: ctx, db: db, q: tx})
		if err != nil {
			return err
		}
		if root != c.Root {
			return errkind.New(errkind.Invalid, law.L21_2, "checkpoint root does not match the stored log at size %d", c.Size)
		}
		// The token goes in with the row: checkpoints are never updated (L-21-2).
		var token any // NULL when not time-stamped
		if len(c.Timestamp) > 0 {
			token = c.Timestamp
		}
		q := db.Rebind("INSERT INTO checkpoints (size, root, created_ms, signed, timestamp_token) VALUES (?, ?, ?, ?, ?)")
		_, err = tx.ExecContext(ctx, q, c.Size, c.Root[:], ms(c.Time), c.Signed, token)
		return err
	})
}

// LatestCheckpoint returns the checkpoint of the largest size (errkind.NotFound if none).
func (db *DB) LatestCheckpoint(ctx context.Context) (*auditlog.Checkpoint, error) {
	cs, err := db.checkpoints(ctx, "ORDER BY size DESC LIMIT 1")
	if err != nil {
		return nil, err
	}
	if len(cs) == 0 {
		return nil, notFound("no checkpoint yet")
	}
	return &cs[0], nil
}

// Checkpoints returns every checkpoint, smallest first.
func (db *DB) Checkpoints(ctx context.Context) ([]auditlog.Checkpoint, error) {
	return db.checkpoints(ctx, "ORDER BY size")
}

func (db *DB) checkpoints(ctx context.Context, order string) ([]auditlog.Checkpoint, error) {
	rows, err := db.r.QueryContext(ctx, "SELECT size, root, created_ms, signed, timestamp_token FROM checkpoints "+order)
	if err != nil {
		return nil, mapErr(err, law.LInternal, "read checkpoints")
	}
	defer rows.Close()
	var out []auditlog.Checkpoint
	for rows.Next() {
		var c auditlog.Checkpoint
		var root, token []byte
		var at int64
		if err := rows.Scan(&c.Size, &root, &at, &c.Signed, &token); err != nil {
			return nil, mapErr(err, law.LInternal, "read checkpoints")
		}
		if len(root) != tlog.HashSize {
			return nil, errkind.New(errkind.Internal, "", "checkpoint %d has a malformed root", c.Size)
		}
		c.Root, c.Time = tlog.Hash(root), fromMS(at)
		if len(token) > 0 {
			c.Timestamp = token
		}
		out = append(out, c)
	}
	return out, mapErr(rows.Err(), law.LInternal, "read checkpoints")
}
