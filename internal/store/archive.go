package store

import (
	"context"
	"database/sql"

	"github.com/tawthiq/tawthiq/internal/archive"
	"github.com/tawthiq/tawthiq/internal/auditlog"
	"github.com/tawthiq/tawthiq/internal/errkind"
	"github.com/tawthiq/tawthiq/internal/law"
)

var _ archive.Store = (*DB)(nil)

// PutArchiveItem stores an item and the audit entry that records its hash in one
// transaction; the row keeps that entry's position so its proof is found directly.
func (db *DB) PutArchiveItem(ctx context.Context, it archive.Item, e auditlog.Entry) (archive.Item, error) {
	const what = "archive the item"
	err := db.write(ctx, what, []auditlog.Entry{e}, func(tx *txn) error {
		// e is appended right after this change, at the next position of the log:
		// the writes before it in the batch have appended theirs already.
		var next int64
		if err := tx.QueryRowContext(ctx, "SELECT COALESCE(MAX(seq), -1) + 1 FROM audit_entries").Scan(&next); err != nil {
			return mapErr(err, law.LInternal, what)
		}
		it.AuditSeq = next
		_, err := tx.ExecContext(ctx, db.Rebind(`INSERT INTO archive_items (sha256, kind, name, media_type, size, content,
			token, audit_seq, created_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`),
			it.SHA256, it.Kind, it.Name, it.MediaType, it.Size, nonNil(it.Content), it.Timestamp, it.AuditSeq, ms(it.CreatedAt))
		return mapErr(err, law.L417_1, what)
	})
	if err != nil {
		return archive.Item{}, err
	}
	return it, nil
}

const archiveCols = `sha256, kind, name, media_type, size, content, token, audit_seq, created_ms`

func scanArchiveItem(sc interface{ Scan(...any) error }) (archive.Item, error) {
	var it archive.Item
	var created int64
	err := sc.Scan(&it.SHA256, &it.Kind, &it.Name, &it.MediaType, &it.Size, &it.Content, &it.Timestamp, &it.AuditSeq, &created)
	it.CreatedAt = fromMS(created)
	return it, err
}

// ArchiveItem returns the item stored under the hexadecimal SHA-256 h.
func (db *DB) ArchiveItem(ctx context.Context, h string) (archive.Item, error) {
	it, err := scanArchiveItem(db.r.QueryRowContext(ctx, db.Rebind("SELECT "+archiveCols+" FROM archive_items WHERE sha256 = ?"), h))
	if err == sql.ErrNoRows {
		return archive.Item{}, errkind.New(errkind.NotFound, law.L417_1, "no archived item %s", h)
	}
	return it, mapErr(err, law.LInternal, "read the archived item")
}

// ArchiveItems lists up to limit items whose hash is after after, in hash order.
func (db *DB) ArchiveItems(ctx context.Context, after string, limit int) ([]archive.Item, error) {
	rows, err := db.r.QueryContext(ctx, db.Rebind("SELECT "+archiveCols+" FROM archive_items WHERE sha256 > ? ORDER BY sha256 LIMIT ?"), after, limit)
	if err != nil {
		return nil, mapErr(err, law.LInternal, "list archived items")
	}
	defer rows.Close()
	var out []archive.Item
	for rows.Next() {
		it, err := scanArchiveItem(rows)
		if err != nil {
			return nil, mapErr(err, law.LInternal, "list archived items")
		}
		out = append(out, it)
	}
	return out, mapErr(rows.Err(), law.LInternal, "list archived items")
}
