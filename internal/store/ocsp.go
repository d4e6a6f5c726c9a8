package store

import (
	"context"
	"database/sql"
	"time"

	"github.com/tawthiq/tawthiq/internal/auditlog"
	"github.com/tawthiq/tawthiq/internal/law"
	"github.com/tawthiq/tawthiq/internal/ocsp"
)

var (
	_ ocsp.Store  = (*DB)(nil)
	_ ocsp.Leases = (*DB)(nil)
)

// OCSPResponsesSince calls fn with every stored response whose thisUpdate is at or
// after since, in thisUpdate order. fn must not keep r; its byte slices are its own.
func (db *DB) OCSPResponsesSince(ctx context.Context, since time.Time, fn func(r *ocsp.Response) error) error {
	q := db.Rebind(`SELECT serial, ca, status, der, der_sha256, this_update_ms, next_update_ms
		FROM ocsp_responses WHERE this_update_ms >= ? ORDER BY this_update_ms`)
	rows, err := db.r.QueryContext(ctx, q, ms(since))
	if err != nil {
		return mapErr(err, law.LInternal, "read OCSP responses")
	}
	defer rows.Close()
	for rows.Next() {
		var r ocsp.Response
		var status string
		var this, next int64
		if err := rows.Scan(&r.Serial, &r.CA, &status, &r.DER, &r.DERSHA256, &this, &next); err != nil {
			return mapErr(err, law.LInternal, "read OCSP responses")
		}
		r.Status, r.ThisUpdate, r.NextUpdate = ocsp.Status(status), fromMS(this), fromMS(next)
		if err := fn(&r); err != nil {
			return err
		}
	}
	return mapErr(rows.Err(), law.LInternal, "read OCSP responses")
}

// OCSPStatuses returns the status of each serial the database knows.
func (db *DB) OCSPStatuses(ctx context.Context, serials []string) ([]ocsp.CertStatus, error) {
	var out []ocsp.CertStatus
	err := inLists(serials, func(list string, args []any) error {
		q := db.Rebind(`SELECT c.serial, c.ca, c.status, r.reason, r.revoked_ms, r.ocsp_published_ms FROM certificates c
			LEFT JOIN revocations r ON r.serial = c.serial WHERE c.serial IN (` + list + ")")
		rows, err := db.r.QueryContext(ctx, q, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var st ocsp.CertStatus
			var status string
			var reason, revoked, published sql.NullInt64
			if err := rows.Scan(&st.Serial, &st.CA, &status, &reason, &revoked, &published); err != nil {
				return err
			}
			st.Issued, st.Revoked = status == "issued", revoked.Valid
			st.Reason, st.RevokedAt, st.Published = int(reason.Int64), fromOptMS(revoked), published.Valid
			out = append(out, st)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, mapErr(err, law.LInternal, "read certificate statuses")
	}
	return out, nil
}

// UnsignedCertificates returns up to limit issued certificates, issued at or after
// since, without a stored OCSP response.
func (db *DB) UnsignedCertificates(ctx context.Context, since time.Time, limit int) ([]string, error) {
	q := db.Rebind(`SELECT c.serial FROM certificates c WHERE c.status = 'issued' AND c.issued_ms >= ?
		AND NOT EXISTS (SELECT 1 FROM ocsp_responses o WHERE o.serial = c.serial) ORDER BY c.issued_ms, c.serial LIMIT ?`)
	return db.serials(ctx, "read certificates without OCSP responses", q, ms(since), limit)
}

// StaleOCSPResponses returns up to limit serials whose response's thisUpdate is before t, oldest first.
func (db *DB) StaleOCSPResponses(ctx context.Context, before time.Time, limit int) ([]string, error) {
	q := db.Rebind("SELECT serial FROM ocsp_responses WHERE this_update_ms < ? ORDER BY this_update_ms, serial LIMIT ?")
	return db.serials(ctx, "read stale OCSP responses", q, ms(before), limit)
}

// UnpublishedOCSPRevocations returns up to limit revoked serials no OCSP response shows yet.
func (db *DB) UnpublishedOCSPRevocations(ctx context.Context, limit int) ([]string, error) {
	q := db.Rebind("SELECT serial FROM revocations WHERE ocsp_published_ms IS NULL ORDER BY revoked_ms, serial LIMIT ?")
	return db.serials(ctx, "read unpublished revocations", q, limit)
}

func (db *DB) serials(ctx context.Context, what, q string, args ...any) ([]string, error) {
	rows, err := db.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, mapErr(err, law.LInternal, what)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, mapErr(err, law.LInternal, what)
		}
		out = append(out, s)
	}
	return out, mapErr(rows.Err(), law.LInternal, what)
}

// PutOCSPResponses stores responses, a newer one replacing an older, and records for
// each revoked one, once, the revocation's first OCSP publication at its thisUpdate
// (L-21-rev), with entries in the same transaction. The database refuses a good
// response for a revoked certificate.
func (db *DB) PutOCSPResponses(ctx context.Context, rs []ocsp.Response, entries []auditlog.Entry) error {
	put := db.Rebind(`INSERT INTO ocsp_responses (serial, ca, status, der, der_sha256, this_update_ms, next_update_ms)
		VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (serial) DO UPDATE SET ca = excluded.ca, status = excluded.status, der = excluded.der,
			der_sha256 = excluded.der_sha256, this_update_ms = excluded.this_update_ms, next_update_ms = excluded.next_update_ms
		WHERE ocsp_responses.this_update_ms <= excluded.this_update_ms`)
	publish := db.Rebind("UPDATE revocations SET ocsp_published_ms = ? WHERE serial = ? AND ocsp_published_ms IS NULL")
	return db.write(ctx, "store OCSP responses", entries, func(tx *txn) error {
		for _, r := range rs {
			if _, err := tx.ExecContext(ctx, put, r.Serial, r.CA, string(r.Status), nonNil(r.DER), nonNil(r.DERSHA256),
				ms(r.ThisUpdate), ms(r.NextUpdate)); err != nil {
				return mapErr(err, law.L21Rev, "store the OCSP response of "+r.Serial)
			}
			if r.Status != ocsp.Revoked {
				continue
			}
			if _, err := tx.ExecContext(ctx, publish, ms(r.ThisUpdate), r.Serial); err != nil {
				return mapErr(err, law.L21Rev, "record the OCSP publication of "+r.Serial)
			}
		}
		return nil
	})
}
