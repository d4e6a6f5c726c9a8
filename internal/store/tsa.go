package store

import (
	"context"
	"database/sql"
	"errors"

	"github.com/tawthiq/tawthiq/internal/law"
	"github.com/tawthiq/tawthiq/internal/tsa"
)

var _ tsa.Store = (*DB)(nil)

const insertTimestamp = `INSERT INTO tsa_tokens (serial, gen_time_ms, hash_alg, message_imprint, policy, created_ms)
	VALUES (?, ?, ?, ?, ?, ?)`

// RecordTimestamp stores the evidence of one token through the group commit, so
// concurrent tokens share one durable commit; the serial's primary key refuses a repeat.
func (db *DB) RecordTimestamp(ctx context.Context, r tsa.Record) error {
	q := db.Rebind(insertTimestamp)
	return db.write(ctx, "record a time-stamp token", nil, func(tx *txn) error {
		_, err := tx.ExecContext(ctx, q, r.Serial, ms(r.GenTime), r.HashAlg, nonNil(r.Imprint), r.Policy, ms(r.CreatedAt))
		return mapErr(err, law.L21_2, "record time-stamp token "+r.Serial)
	})
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
