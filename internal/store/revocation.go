package store

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/tawthiq/tawthiq/internal/auditlog"
	"github.com/tawthiq/tawthiq/internal/errkind"
	"github.com/tawthiq/tawthiq/internal/law"
	"github.com/tawthiq/tawthiq/internal/revocation"
)

var _ revocation.Store = (*DB)(nil)

// RevocationSubject returns what a revocation decision reads of one certificate.
func (db *DB) RevocationSubject(ctx context.Context, serial string) (*revocation.Subject, error) {
	q := db.Rebind(`SELECT c.serial, c.ca, c.status, a.submitted_by, c.spki_sha256, c.not_after_ms,
		EXISTS (SELECT 1 FROM revocations r WHERE r.serial = c.serial)
		FROM certificates c JOIN applications a ON a.id = c.application_id WHERE c.serial = ?`)
	var s revocation.Subject
	var status string
	var notAfter int64
	err := db.r.QueryRowContext(ctx, q, serial).Scan(&s.Serial, &s.CA, &status, &s.SubmittedBy, &s.SPKISHA256, &notAfter, &s.Revoked)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("no certificate %q", serial)
	}
	if err != nil {
		return nil, mapErr(err, law.LInternal, "read the certificate")
	}
	s.Issued, s.NotAfter = status == "issued", fromMS(notAfter)
	return &s, nil
}

// Revoke records revocations, and a compromised key, in one transaction (L-21-1, L-25).
func (db *DB) Revoke(ctx context.Context, rs []revocation.Revocation, compromisedKey []byte, entries []auditlog.Entry) error {
	if len(rs) == 0 {
		return errkind.New(errkind.Invalid, law.L21_3_7, "nothing to revoke")
	}
	exists := db.Rebind("SELECT count(*) FROM revocations WHERE serial = ?")
	ins := db.Rebind(`INSERT INTO revocations (serial, ca, ground, reason, requested_ms, revoked_ms, invalidity_ms,
		requested_by, note, order_ref, created_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
	key := db.Rebind(`INSERT INTO compromised_keys (spki_sha256, reason, created_ms) VALUES (?, ?, ?)
		ON CONFLICT (spki_sha256) DO NOTHING`)
	left := db.Rebind(`SELECT count(*) FROM certificates c WHERE c.spki_sha256 = ? AND c.status = 'issued'
		AND NOT EXISTS (SELECT 1 FROM revocations r WHERE r.serial = c.serial)`)
	return db.write(ctx, "record the revocation", entries, func(tx *txn) error {
		for _, r := range rs {
			var n int
			if err := tx.QueryRowContext(ctx, exists, r.Serial).Scan(&n); err != nil {
				return mapErr(err, law.LInternal, "read the revocation")
			}
			if n > 0 {
				return errkind.New(errkind.Conflict, law.L21Rev, "certificate %s is already revoked: a revocation is final", r.Serial)
			}
			_, err := tx.ExecContext(ctx, ins, r.Serial, r.CA, string(r.Ground), r.Reason, ms(r.RequestedAt),
				ms(r.RevokedAt), optMS(r.InvalidityDate), r.RequestedBy, r.Note, r.OrderRef, ms(r.RevokedAt))
			if err != nil {
				return mapErr(err, law.L21_3_7, "record the revocation")
			}
		}
		if len(compromisedKey) == 0 {
			return nil
		}
		if _, err := tx.ExecContext(ctx, key, compromisedKey, string(law.GroundKeyCompromise), ms(rs[0].RevokedAt)); err != nil {
			return mapErr(err, law.L25, "record the compromised key")
		}
		var n int
		if err := tx.QueryRowContext(ctx, left, compromisedKey).Scan(&n); err != nil {
			return mapErr(err, law.LInternal, "read the key's certificates")
		}
		if n > 0 {
			return errkind.New(errkind.Conflict, law.L25, "%d other certificate(s) of the compromised key appeared meanwhile: retry", n)
		}
		return nil
	})
}

const revocationColumns = `serial, ca, ground, reason, requested_ms, revoked_ms, invalidity_ms, requested_by, note,
	order_ref, crl_published_ms, ocsp_published_ms`

// Revocation returns the revocation of one certificate.
func (db *DB) Revocation(ctx context.Context, serial string) (*revocation.Revocation, error) {
	q := db.Rebind("SELECT " + revocationColumns + " FROM revocations WHERE serial = ?")
	var r revocation.Revocation
	var ground string
	var requested, revoked int64
	var invalidity, crl, ocsp sql.NullInt64
	err := db.r.QueryRowContext(ctx, q, serial).Scan(&r.Serial, &r.CA, &ground, &r.Reason, &requested, &revoked,
		&invalidity, &r.RequestedBy, &r.Note, &r.OrderRef, &crl, &ocsp)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("certificate %q is not revoked", serial)
	}
	if err != nil {
		return nil, mapErr(err, law.LInternal, "read the revocation")
	}
	r.Ground, r.RequestedAt, r.RevokedAt = law.Ground(ground), fromMS(requested), fromMS(revoked)
	r.InvalidityDate, r.CRLPublishedAt, r.OCSPPublishedAt = fromOptMS(invalidity), fromOptMS(crl), fromOptMS(ocsp)
	return &r, nil
}

// IssuedUnrevoked returns the issued, unrevoked serials of a CA, or of a key when ca is empty.
func (db *DB) IssuedUnrevoked(ctx context.Context, ca string, spkiSHA256 []byte) ([]string, error) {
	where, arg := "c.ca = ?", any(ca)
	if ca == "" {
		where, arg = "c.spki_sha256 = ?", any(nonNil(spkiSHA256))
	}
	q := db.Rebind(`SELECT c.serial FROM certificates c WHERE ` + where + ` AND c.status = 'issued'
		AND NOT EXISTS (SELECT 1 FROM revocations r WHERE r.serial = c.serial) ORDER BY c.serial`)
	rows, err := db.r.QueryContext(ctx, q, arg)
	if err != nil {
		return nil, mapErr(err, law.LInternal, "read issued certificates")
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, mapErr(err, law.LInternal, "read issued certificates")
		}
		out = append(out, s)
	}
	return out, mapErr(rows.Err(), law.LInternal, "read issued certificates")
}

// RevocationSecretHash returns the SHA-256 of the revocation secret of a certificate's application.
func (db *DB) RevocationSecretHash(ctx context.Context, serial string) ([]byte, error) {
	q := db.Rebind(`SELECT s.sha256 FROM certificates c JOIN revocation_secrets s ON s.application_id = c.application_id
		WHERE c.serial = ?`)
	var h []byte
	err := db.r.QueryRowContext(ctx, q, serial).Scan(&h)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("no revocation secret for %q", serial)
	}
	return h, mapErr(err, law.LInternal, "read the revocation secret")
}

// CRLEntries returns every revocation of a CA decided at or before asOf, expired
// certificates included (L-21-rev), in serial order.
func (db *DB) CRLEntries(ctx context.Context, ca string, asOf time.Time) ([]revocation.Entry, error) {
	q := db.Rebind(`SELECT serial, revoked_ms, reason, invalidity_ms FROM revocations
		WHERE ca = ? AND revoked_ms <= ? ORDER BY serial`)
	rows, err := db.r.QueryContext(ctx, q, ca, ms(asOf))
	if err != nil {
		return nil, mapErr(err, law.LInternal, "read CRL entries")
	}
	defer rows.Close()
	var out []revocation.Entry
	for rows.Next() {
		var e revocation.Entry
		var revoked int64
		var invalidity sql.NullInt64
		if err := rows.Scan(&e.Serial, &revoked, &e.Reason, &invalidity); err != nil {
			return nil, mapErr(err, law.LInternal, "read CRL entries")
		}
		e.RevokedAt, e.InvalidityDate = fromMS(revoked), fromOptMS(invalidity)
		out = append(out, e)
	}
	return out, mapErr(rows.Err(), law.LInternal, "read CRL entries")
}

// UnpublishedCAs returns the CAs with revocations that no CRL lists yet.
func (db *DB) UnpublishedCAs(ctx context.Context) ([]string, error) {
	rows, err := db.r.QueryContext(ctx, "SELECT DISTINCT ca FROM revocations WHERE crl_published_ms IS NULL ORDER BY ca")
	if err != nil {
		return nil, mapErr(err, law.LInternal, "read unpublished revocations")
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, mapErr(err, law.LInternal, "read unpublished revocations")
		}
		out = append(out, s)
	}
	return out, mapErr(rows.Err(), law.LInternal, "read unpublished revocations")
}

// LastCRLNumber returns the highest CRL number of a CA, -1 if it has none.
func (db *DB) LastCRLNumber(ctx context.Context, ca string) (int64, error) {
	var n sql.NullInt64
	err := db.r.QueryRowContext(ctx, db.Rebind("SELECT max(number) FROM crls WHERE ca = ?"), ca).Scan(&n)
	if err != nil {
		return 0, mapErr(err, law.LInternal, "read the CRL number")
	}
	if !n.Valid {
		return -1, nil
	}
	return n.Int64, nil
}

// PutCRLs stores the CRLs of one publication of a CA and marks its revocations
// decided at or before asOf, not yet published, as published at publishedAt (L-21-rev).
// A CRL number used twice is refused (errkind.Conflict).
func (db *DB) PutCRLs(ctx context.Context, crls []revocation.CRL, asOf, publishedAt time.Time, entries []auditlog.Entry) error {
	if len(crls) == 0 {
		return errkind.New(errkind.Invalid, law.L21Rev, "no CRL to store")
	}
	ins := db.Rebind(`INSERT INTO crls (ca, number, name, der, entries, this_update_ms, next_update_ms, created_ms)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`)
	mark := db.Rebind(`UPDATE revocations SET crl_published_ms = ?
		WHERE ca = ? AND crl_published_ms IS NULL AND revoked_ms <= ?`)
	last := db.Rebind("SELECT max(number) FROM crls WHERE ca = ?")
	return db.write(ctx, "publish the CRL", entries, func(tx *txn) error {
		ca := crls[0].CA
		var top sql.NullInt64
		if err := tx.QueryRowContext(ctx, last, ca).Scan(&top); err != nil {
			return mapErr(err, law.LInternal, "read the CRL number")
		}
		for _, c := range crls {
			if c.CA != ca {
				return errkind.New(errkind.Invalid, law.L21Rev, "one publication covers one CA")
			}
			// RFC 5280 §5.2.3: CRL numbers only increase.
			if top.Valid && c.Number <= top.Int64 {
				return errkind.New(errkind.Conflict, law.L21Rev, "CRL number %d of %s is not above %d", c.Number, ca, top.Int64)
			}
			if _, err := tx.ExecContext(ctx, ins, c.CA, c.Number, c.Name, c.DER, c.Entries, ms(c.ThisUpdate),
				ms(c.NextUpdate), ms(publishedAt)); err != nil {
				return mapErr(err, law.L21Rev, "store the CRL")
			}
		}
		_, err := tx.ExecContext(ctx, mark, ms(publishedAt), ca, ms(asOf))
		return mapErr(err, law.L21Rev, "mark revocations published")
	})
}

// LatestCRL returns the newest CRL published under name.
func (db *DB) LatestCRL(ctx context.Context, name string) (*revocation.CRL, error) {
	q := db.Rebind(`SELECT ca, number, name, der, entries, this_update_ms, next_update_ms FROM crls
		WHERE name = ? ORDER BY number DESC LIMIT 1`)
	var c revocation.CRL
	var this, next int64
	err := db.r.QueryRowContext(ctx, q, name).Scan(&c.CA, &c.Number, &c.Name, &c.DER, &c.Entries, &this, &next)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("no CRL %q", name)
	}
	if err != nil {
		return nil, mapErr(err, law.LInternal, "read the CRL")
	}
	c.ThisUpdate, c.NextUpdate = fromMS(this), fromMS(next)
	return &c, nil
}
