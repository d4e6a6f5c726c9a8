package store

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"github.com/tawthiq/tawthiq/internal/auditlog"
	"github.com/tawthiq/tawthiq/internal/ca"
	"github.com/tawthiq/tawthiq/internal/errkind"
	"github.com/tawthiq/tawthiq/internal/law"
	"github.com/tawthiq/tawthiq/internal/notify"
)

var (
	_ notify.Store         = (*DB)(nil)
	_ notify.DeliveryStore = (*DB)(nil)
)

const noticeColumns = `id, dedup_key, application_id, serial, kind, channel, recipient, language, subject, body,
	state, attempts, next_attempt_ms, lease_until_ms, lease_holder, message_id, last_error, created_ms, sent_ms`

// errAlreadyQueued undoes an enqueue whose dedup key exists, with its audit entry.
var errAlreadyQueued = errkind.New(errkind.Conflict, law.L21_3_5, "the notice is already queued")

// EnqueueNotice records n with its audit entry unless its dedup key is already
// recorded; it reports whether n was recorded. Nothing is doubled (L-21-3-5).
func (db *DB) EnqueueNotice(ctx context.Context, n notify.Notice, e auditlog.Entry) (bool, error) {
	q := db.Rebind(`INSERT INTO notices (` + noticeColumns + `)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (dedup_key) DO NOTHING`)
	err := db.write(ctx, "queue the notice", []auditlog.Entry{e}, func(tx *txn) error {
		res, err := tx.ExecContext(ctx, q, n.ID, n.DedupKey, n.ApplicationID, n.Serial, string(n.Kind),
			string(n.Channel), n.Recipient, n.Language, n.Subject, n.Body, string(n.State), n.Attempts,
			ms(n.NextAttempt), optMS(n.LeaseUntil), n.LeaseHolder, n.MessageID, n.LastError,
			ms(n.CreatedAt), optMS(n.SentAt))
		if err != nil {
			return mapErr(err, law.L21_3_5, "queue the notice")
		}
		if k, err := res.RowsAffected(); err != nil || k == 0 {
			if err != nil {
				return err
			}
			return errAlreadyQueued
		}
		return nil
	})
	if errors.Is(err, errAlreadyQueued) {
		return false, nil
	}
	return err == nil, err
}

// certColumnsForNotice is what a notice needs of a certificate and its application.
const certColumnsForNotice = `c.serial, c.ca, c.application_id, c.subject, c.not_after_ms,
	a.submitted_by, a.consent_email, a.contact_email, a.language`

// ExpiringCertificates returns issued, unrevoked certificates with after < not_after
// <= until and no expiry notice yet, soonest expiry first (L-21-3-5).
func (db *DB) ExpiringCertificates(ctx context.Context, after, until time.Time, limit int) ([]notify.Certificate, error) {
	q := db.Rebind(`SELECT ` + certColumnsForNotice + `
		FROM certificates c JOIN applications a ON a.id = c.application_id
		WHERE c.status = ? AND c.not_after_ms > ? AND c.not_after_ms <= ?
		AND NOT EXISTS (SELECT 1 FROM revocations r WHERE r.serial = c.serial)
		AND NOT EXISTS (SELECT 1 FROM notices n WHERE n.dedup_key = CAST(? AS TEXT) || c.serial)
		ORDER BY c.not_after_ms, c.serial LIMIT ?`)
	rows, err := db.r.QueryContext(ctx, q, string(ca.StatusIssued), ms(after), ms(until),
		notify.DedupKey(notify.KindExpiry, ""), limit)
	if err != nil {
		return nil, mapErr(err, law.LInternal, "read expiring certificates")
	}
	defer rows.Close()
	var out []notify.Certificate
	for rows.Next() {
		var c notify.Certificate
		var notAfter int64
		if err := rows.Scan(&c.Serial, &c.CA, &c.ApplicationID, &c.Subject, &notAfter,
			&c.HolderID, &c.ConsentEmail, &c.ContactEmail, &c.Language); err != nil {
			return nil, mapErr(err, law.LInternal, "read expiring certificates")
		}
		c.NotAfter = fromMS(notAfter)
		out = append(out, c)
	}
	return out, mapErr(rows.Err(), law.LInternal, "read expiring certificates")
}

// RevokedCertificates returns revoked certificates with no revocation notice yet,
// oldest revocation first (L-21-3-7).
func (db *DB) RevokedCertificates(ctx context.Context, limit int) ([]notify.Certificate, error) {
	q := db.Rebind(`SELECT ` + certColumnsForNotice + `, r.ground, r.revoked_ms, r.order_ref
		FROM revocations r JOIN certificates c ON c.serial = r.serial
		JOIN applications a ON a.id = c.application_id
		WHERE NOT EXISTS (SELECT 1 FROM notices n WHERE n.dedup_key = CAST(? AS TEXT) || r.serial)
		ORDER BY r.revoked_ms, r.serial LIMIT ?`)
	rows, err := db.r.QueryContext(ctx, q, notify.DedupKey(notify.KindRevocation, ""), limit)
	if err != nil {
		return nil, mapErr(err, law.LInternal, "read revoked certificates")
	}
	defer rows.Close()
	var out []notify.Certificate
	for rows.Next() {
		var c notify.Certificate
		var notAfter, revoked int64
		var ground string
		if err := rows.Scan(&c.Serial, &c.CA, &c.ApplicationID, &c.Subject, &notAfter,
			&c.HolderID, &c.ConsentEmail, &c.ContactEmail, &c.Language, &ground, &revoked, &c.OrderRef); err != nil {
			return nil, mapErr(err, law.LInternal, "read revoked certificates")
		}
		c.NotAfter, c.RevokedAt, c.Ground = fromMS(notAfter), fromMS(revoked), law.Ground(ground)
		out = append(out, c)
	}
	return out, mapErr(rows.Err(), law.LInternal, "read revoked certificates")
}

// HolderNotices returns the notices of the applications holderID submitted, newest first.
func (db *DB) HolderNotices(ctx context.Context, holderID string, limit int) ([]notify.Notice, error) {
	q := db.Rebind(`SELECT ` + prefixed("n.", noticeColumns) + `
		FROM notices n JOIN applications a ON a.id = n.application_id
		WHERE a.submitted_by = ? ORDER BY n.created_ms DESC, n.id LIMIT ?`)
	return db.notices(ctx, db.r, q, "read the holder's notices", holderID, limit)
}

// ClaimNotices claims due e-mail notices for holder until leaseUntil: queued ones due
// at now, and sending ones whose claim lapsed (their process died mid-send). Each
// claim is a conditional update, so two nodes never hold the same notice; while
// claimed, next_attempt_ms is the lease's end, so a lapsed claim is simply due again.
func (db *DB) ClaimNotices(ctx context.Context, holder string, now, leaseUntil time.Time, limit int) ([]notify.Notice, error) {
	if holder == "" || !leaseUntil.After(now) || limit <= 0 {
		return nil, errkind.New(errkind.Invalid, law.LInternal, "a claim needs a holder, a lease and a limit")
	}
	due := db.Rebind(`SELECT id FROM notices WHERE state IN (?, ?) AND next_attempt_ms <= ?
		ORDER BY next_attempt_ms, id LIMIT ?` + db.skipLocked())
	claim := db.Rebind(`UPDATE notices SET state = ?, attempts = attempts + 1, next_attempt_ms = ?,
		lease_until_ms = ?, lease_holder = ? WHERE id = ? AND state IN (?, ?) AND next_attempt_ms <= ?`)
	read := db.Rebind(`SELECT ` + noticeColumns + ` FROM notices WHERE id = ?`)
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
				return mapErr(err, law.L21_3_5, "claim notices")
			}
			if k, err := res.RowsAffected(); err != nil || k == 0 {
				if err != nil {
					return err
				}
				continue // another node claimed it first
			}
			ns, err := db.notices(ctx, tx, read, "claim notices", id)
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

// MarkNoticeSent records a claimed notice as sent (L-21-3-5); Conflict if holder's claim was lost.
func (db *DB) MarkNoticeSent(ctx context.Context, id, holder string, at time.Time, e auditlog.Entry) error {
	q := db.Rebind(`UPDATE notices SET state = ?, sent_ms = ?, lease_until_ms = NULL, last_error = ''
		WHERE id = ? AND state = ? AND lease_holder = ?`)
	return db.write(ctx, "record the notice as sent", []auditlog.Entry{e}, func(tx *txn) error {
		res, err := tx.ExecContext(ctx, q, string(notify.StateSent), ms(at), id, string(notify.StateSending), holder)
		return claimed(res, err, id, "record the notice as sent")
	})
}

// MarkNoticeFailed puts a claimed notice back in the queue, due at next; Conflict if the claim was lost.
func (db *DB) MarkNoticeFailed(ctx context.Context, id, holder string, next time.Time, reason string, e auditlog.Entry) error {
	q := db.Rebind(`UPDATE notices SET state = ?, next_attempt_ms = ?, lease_until_ms = NULL, last_error = ?
		WHERE id = ? AND state = ? AND lease_holder = ?`)
	return db.write(ctx, "record the failed attempt", []auditlog.Entry{e}, func(tx *txn) error {
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

// Notice returns one notice by ID.
func (db *DB) Notice(ctx context.Context, id string) (*notify.Notice, error) {
	ns, err := db.notices(ctx, db.r, db.Rebind(`SELECT `+noticeColumns+` FROM notices WHERE id = ?`), "read the notice", id)
	if err != nil {
		return nil, err
	}
	if len(ns) == 0 {
		return nil, notFound("no notice %q", id)
	}
	return &ns[0], nil
}

// Notices returns every notice in order of creation (operators and tests).
func (db *DB) Notices(ctx context.Context) ([]notify.Notice, error) {
	return db.notices(ctx, db.r, `SELECT `+noticeColumns+` FROM notices ORDER BY created_ms, id`, "read notices")
}

func (db *DB) notices(ctx context.Context, qr queryer, q, what string, args ...any) ([]notify.Notice, error) {
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
		if err := rows.Scan(&n.ID, &n.DedupKey, &n.ApplicationID, &n.Serial, &kind, &channel, &n.Recipient,
			&n.Language, &n.Subject, &n.Body, &state, &n.Attempts, &next, &lease, &n.LeaseHolder, &n.MessageID,
			&n.LastError, &created, &sent); err != nil {
			return nil, mapErr(err, law.LInternal, what)
		}
		n.Kind, n.Channel, n.State = notify.Kind(kind), notify.Channel(channel), notify.State(state)
		n.NextAttempt, n.LeaseUntil, n.CreatedAt, n.SentAt = fromMS(next), fromOptMS(lease), fromMS(created), fromOptMS(sent)
		out = append(out, n)
	}
	return out, mapErr(rows.Err(), law.LInternal, what)
}

// prefixed qualifies each column of a comma-separated list with p.
func prefixed(p, cols string) string {
	parts := strings.Split(cols, ",")
	for i, c := range parts {
		parts[i] = p + strings.TrimSpace(c)
	}
	return strings.Join(parts, ", ")
}
