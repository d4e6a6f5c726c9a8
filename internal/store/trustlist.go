package store

import (
	"context"
	"database/sql"
	"errors"

	"github.com/tawthiq/tawthiq/internal/auditlog"
	"github.com/tawthiq/tawthiq/internal/authority"
	"github.com/tawthiq/tawthiq/internal/law"
)

var _ authority.ListStore = (*DB)(nil)

// RecordTrustList records a published trusted list with its audit entry (L-15).
// The sequence number is the primary key: a number already taken is a Conflict.
func (db *DB) RecordTrustList(ctx context.Context, p authority.Publication, e auditlog.Entry) error {
	const what = "record the trusted list"
	return db.write(ctx, what, []auditlog.Entry{e}, func(tx *txn) error {
		_, err := tx.ExecContext(ctx, db.Rebind(`INSERT INTO trustlists (seq, issued_ms, next_update_ms, sha256,
			source_sha256, xml, created_ms) VALUES (?, ?, ?, ?, ?, ?, ?)`),
			int64(p.Seq), ms(p.IssuedAt), ms(p.NextUpdate), p.SHA256, p.SourceSHA256, nonNil(p.XML), ms(e.Time))
		return mapErr(err, law.L15, what)
	})
}

// LatestTrustList returns the trusted list with the highest sequence number.
func (db *DB) LatestTrustList(ctx context.Context) (authority.Publication, error) {
	var p authority.Publication
	var seq, issued, next int64
	err := db.r.QueryRowContext(ctx, `SELECT seq, issued_ms, next_update_ms, sha256, source_sha256, xml
		FROM trustlists ORDER BY seq DESC LIMIT 1`).Scan(&seq, &issued, &next, &p.SHA256, &p.SourceSHA256, &p.XML)
	if errors.Is(err, sql.ErrNoRows) {
		return authority.Publication{}, notFound("no trusted list published yet")
	}
	if err != nil {
		return authority.Publication{}, mapErr(err, law.LInternal, "read the trusted list")
	}
	p.Seq, p.IssuedAt, p.NextUpdate = uint64(seq), fromMS(issued), fromMS(next)
	return p, nil
}
