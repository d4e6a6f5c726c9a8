package store

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/tawthiq/tawthiq/internal/auditlog"
	"github.com/tawthiq/tawthiq/internal/errkind"
	"github.com/tawthiq/tawthiq/internal/law"
	"github.com/tawthiq/tawthiq/internal/notify"
)

// noticeOutbox is a table of notices a notify.Deliverer drains. The holders'
// notices and the duty notices are queued, claimed and settled alike; they differ
// only in the table, the columns that say what a notice is about, and the rule.
type noticeOutbox struct {
	db      *DB
	table   string
	columns string // id, dedup_key, the keys, then the columns every outbox has
	rule    law.ID // cited when a notice cannot be queued or claimed
	// keys returns where the key columns, between dedup_key and kind, are scanned.
	keys func(n *notify.Notice) []any
}

// noticesOutbox is the table of the notices to certificate holders.
func (db *DB) noticesOutbox() noticeOutbox {
	return noticeOutbox{db: db, table: "notices", columns: noticeColumns, rule: law.L21_3_5,
		keys: func(n *notify.Notice) []any { return []any{&n.ApplicationID, &n.Serial} }}
}

// dutyNoticesOutbox is the table of the duty notices; their ref is scanned into Serial.
func (db *DB) dutyNoticesOutbox() noticeOutbox {
	return noticeOutbox{db: db, table: "duty_notices", columns: dutyNoticeColumns, rule: law.L24,
		keys: func(n *notify.Notice) []any { return []any{&n.Serial} }}
}

// errAlreadyRecorded undoes an insert whose key exists, with its audit entries.
var errAlreadyRecorded = errkind.New(errkind.Conflict, law.LInternal, "already recorded")

// insertOnce runs q, an INSERT ... ON CONFLICT DO NOTHING, with its audit entries
// and reports whether it inserted a row; when it did not, the entries are undone too.
func (db *DB) insertOnce(ctx context.Context, what string, rule law.ID, entries []auditlog.Entry, q string, args ...any) (bool, error) {
	err := db.write(ctx, what, entries, func(tx *txn) error {
		res, err := tx.ExecContext(ctx, q, args...)
		if err != nil {
			return mapErr(err, rule, what)
		}
		if k, err := res.RowsAffected(); err != nil || k == 0 {
			if err != nil {
				return err
			}
			return errAlreadyRecorded
		}
		return nil
	})
	if errors.Is(err, errAlreadyRecorded) {
		return false, nil
	}
	return err == nil, err
}

// enqueue records n, with keys as its key columns, and its audit entry unless its
// dedup key is already recorded; it reports whether n was recorded.
func (o noticeOutbox) enqueue(ctx context.Context, n notify.Notice, e auditlog.Entry, keys ...any) (bool, error) {
	args := append([]any{n.ID, n.DedupKey}, keys...)
	args = append(args, string(n.Kind), string(n.Channel), n.Recipient, n.Language, n.Subject, n.Body,
		string(n.State), n.Attempts, ms(n.NextAttempt), optMS(n.LeaseUntil), n.LeaseHolder, n.MessageID,
		n.LastError, ms(n.CreatedAt), optMS(n.SentAt))
	q := o.db.Rebind(`INSERT INTO ` + o.table + ` (` + o.columns + `) VALUES (` + placeholders(len(args)) + `)
		ON CONFLICT (dedup_key) DO NOTHING`)
	return o.db.insertOnce(ctx, "queue the notice", o.rule, []auditlog.Entry{e}, q, args...)
}

// claim claims due e-mail notices for holder until leaseUntil: queued ones due at
// now, and sending ones whose claim lapsed (their process died mid-send). Each
// claim is a conditional update, so two nodes never hold the same notice; while
// claimed, next_attempt_ms is the lease's end, so a lapsed claim is simply due again.
func (o noticeOutbox) claim(ctx context.Context, holder string, now, leaseUntil time.Time, limit int) ([]notify.Notice, error) {
	db := o.db
	if holder == "" || !leaseUntil.After(now) || limit <= 0 {
		return nil, errkind.New(errkind.Invalid, law.LInternal, "a claim needs a holder, a lease and a limit")
	}
	due := db.Rebind(`SELECT id FROM ` + o.table + ` WHERE state IN (?, ?) AND next_attempt_ms <= ?
		ORDER BY next_attempt_ms, id LIMIT ?` + db.skipLocked())
	claim := db.Rebind(`UPDATE ` + o.table + ` SET state = ?, attempts = attempts + 1, next_attempt_ms = ?,
		lease_until_ms = ?, lease_holder = ? WHERE id = ? AND state IN (?, ?) AND next_attempt_ms <= ?`)
	read := db.Rebind(`SELECT ` + o.columns + ` FROM ` + o.table + ` WHERE id = ?`)
	var out []notify.Notice
	err := db.write(ctx, "claim notices", nil, func(tx *txn) error {
		out = out[:0]
		rows, err := tx.QueryContext(ctx, due, string(notify.StateQueued), string(notify.StateSending), ms(now), limit)
		if err != nil {
			return mapErr(err, law.LInternal, "claim notices")
		}
		var ids []string
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return mapErr(err, law.LInternal, "claim notices")
			}
			ids = append(ids, id)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return mapErr(err, law.LInternal, "claim notices")
		}
		for _, id := range ids {
			res, err := tx.ExecContext(ctx, claim, string(notify.StateSending), ms(leaseUntil), ms(leaseUntil),
				holder, id, string(notify.StateQueued), string(notify.StateSending), ms(now))
			if err != nil {
				return mapErr(err, o.rule, "claim notices")
			}
			if k, err := res.RowsAffected(); err != nil || k == 0 {
				if err != nil {
					return err
				}
				continue // another node claimed it first
			}
			ns, err := o.notices(ctx, tx, read, "claim notices", id)
			if err != nil {
				return err
			}
			out = append(out, ns...)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// skipLocked lets PostgreSQL claimers pass over rows another node is claiming.
func (db *DB) skipLocked() string {
	if db.dialect == Postgres {
		return " FOR UPDATE SKIP LOCKED"
	}
	return ""
}

// markSent records a claimed notice as sent; Conflict if holder's claim was lost.
func (o noticeOutbox) markSent(ctx context.Context, id, holder string, at time.Time, e auditlog.Entry) error {
	q := o.db.Rebind(`UPDATE ` + o.table + ` SET state = ?, sent_ms = ?, lease_until_ms = NULL, last_error = ''
		WHERE id = ? AND state = ? AND lease_holder = ?`)
	return o.db.write(ctx, "record the notice as sent", []auditlog.Entry{e}, func(tx *txn) error {
		res, err := tx.ExecContext(ctx, q, string(notify.StateSent), ms(at), id, string(notify.StateSending), holder)
		return claimed(res, err, id, "record the notice as sent")
	})
}

// markFailed puts a claimed notice back in the queue, due at next; Conflict if the claim was lost.
func (o noticeOutbox) markFailed(ctx context.Context, id, holder string, next time.Time, reason string, e auditlog.Entry) error {
	q := o.db.Rebind(`UPDATE ` + o.table + ` SET state = ?, next_attempt_ms = ?, lease_until_ms = NULL, last_error = ?
		WHERE id = ? AND state = ? AND lease_holder = ?`)
	return o.db.write(ctx, "record the failed attempt", []auditlog.Entry{e}, func(tx *txn) error {
		res, err := tx.ExecContext(ctx, q, string(notify.StateQueued), ms(next), reason, id,
			string(notify.StateSending), holder)
		return claimed(res, err, id, "record the failed attempt")
	})
}

// claimed checks that an update made under a claim found the notice still claimed.
func claimed(res sql.Result, err error, id, what string) error {
	if err != nil {
		return mapErr(err, law.L21_3_5, what)
	}
	k, err := res.RowsAffected()
	if err != nil {
		return mapErr(err, law.LInternal, what)
	}
	if k == 0 {
		return errkind.New(errkind.Conflict, law.L21_3_5, "%s: notice %s is no longer claimed by this deliverer", what, id)
	}
	return nil
}

// notices runs q, which selects o.columns, on qr.
func (o noticeOutbox) notices(ctx context.Context, qr queryer, q, what string, args ...any) ([]notify.Notice, error) {
	rows, err := qr.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, mapErr(err, law.LInternal, what)
	}
	defer rows.Close()
	var out []notify.Notice
	for rows.Next() {
		var n notify.Notice
		var kind, channel, state string
		var next, created int64
		var lease, sent sql.NullInt64
		dest := append([]any{&n.ID, &n.DedupKey}, o.keys(&n)...)
		dest = append(dest, &kind, &channel, &n.Recipient, &n.Language, &n.Subject, &n.Body, &state, &n.Attempts,
			&next, &lease, &n.LeaseHolder, &n.MessageID, &n.LastError, &created, &sent)
		if err := rows.Scan(dest...); err != nil {
			return nil, mapErr(err, law.LInternal, what)
		}
		n.Kind, n.Channel, n.State = notify.Kind(kind), notify.Channel(channel), notify.State(state)
		n.NextAttempt, n.LeaseUntil, n.CreatedAt, n.SentAt = fromMS(next), fromOptMS(lease), fromMS(created), fromOptMS(sent)
		out = append(out, n)
	}
	return out, mapErr(rows.Err(), law.LInternal, what)
}
