package store

import (
	"context"
	"strings"
	"time"

	"github.com/tawthiq/tawthiq/internal/auditlog"
	"github.com/tawthiq/tawthiq/internal/ca"
	"github.com/tawthiq/tawthiq/internal/law"
	"github.com/tawthiq/tawthiq/internal/notify"
)

var (
	_ notify.Store         = (*DB)(nil)
	_ notify.DeliveryStore = (*DB)(nil)
)

const noticeColumns = `id, dedup_key, application_id, serial, kind, channel, recipient, language, subject, body,
	state, attempts, next_attempt_ms, lease_until_ms, lease_holder, message_id, last_error, created_ms, sent_ms`

// EnqueueNotice records n with its audit entry unless its dedup key is already
// recorded; it reports whether n was recorded. Nothing is doubled (L-21-3-5).
func (db *DB) EnqueueNotice(ctx context.Context, n notify.Notice, e auditlog.Entry) (bool, error) {
	return db.noticesOutbox().enqueue(ctx, n, e, n.ApplicationID, n.Serial)
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
	return db.noticesOutbox().notices(ctx, db.r, q, "read the holder's notices", holderID, limit)
}

// ClaimNotices claims due e-mail notices for holder until leaseUntil, one node at a time.
func (db *DB) ClaimNotices(ctx context.Context, holder string, now, leaseUntil time.Time, limit int) ([]notify.Notice, error) {
	return db.noticesOutbox().claim(ctx, holder, now, leaseUntil, limit)
}

// MarkNoticeSent records a claimed notice as sent (L-21-3-5); Conflict if holder's claim was lost.
func (db *DB) MarkNoticeSent(ctx context.Context, id, holder string, at time.Time, e auditlog.Entry) error {
	return db.noticesOutbox().markSent(ctx, id, holder, at, e)
}

// MarkNoticeFailed puts a claimed notice back in the queue, due at next; Conflict if the claim was lost.
func (db *DB) MarkNoticeFailed(ctx context.Context, id, holder string, next time.Time, reason string, e auditlog.Entry) error {
	return db.noticesOutbox().markFailed(ctx, id, holder, next, reason, e)
}

// Notice returns one notice by ID.
func (db *DB) Notice(ctx context.Context, id string) (*notify.Notice, error) {
	ns, err := db.noticesOutbox().notices(ctx, db.r, db.Rebind(`SELECT `+noticeColumns+` FROM notices WHERE id = ?`), "read the notice", id)
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
	return db.noticesOutbox().notices(ctx, db.r, `SELECT `+noticeColumns+` FROM notices ORDER BY created_ms, id`, "read notices")
}

// prefixed qualifies each column of a comma-separated list with p.
func prefixed(p, cols string) string {
	parts := strings.Split(cols, ",")
	for i, c := range parts {
		parts[i] = p + strings.TrimSpace(c)
	}
	return strings.Join(parts, ", ")
}
