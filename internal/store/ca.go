package store

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/tawthiq/tawthiq/internal/auditlog"
	"github.com/tawthiq/tawthiq/internal/ca"
	"github.com/tawthiq/tawthiq/internal/errkind"
	"github.com/tawthiq/tawthiq/internal/law"
	"github.com/tawthiq/tawthiq/internal/ra"
)

const certColumns = `serial, ca, application_id, profile, spki_sha256, subject, not_before_ms, not_after_ms,
	tbs, der, status, created_ms, issued_ms`

// Reserve records a serial with its TBS before signing. The database refuses a serial
// used twice (Conflict) and one without its registration record (Invalid, L-21-2);
// the application must be approved (L-21-3-2: only approved data are certified).
func (db *DB) Reserve(ctx context.Context, c *ca.Certificate, e auditlog.Entry) error {
	q := db.Rebind(`INSERT INTO certificates (serial, ca, application_id, profile, spki_sha256, subject,
		not_before_ms, not_after_ms, tbs, status, created_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
	return db.write(ctx, "reserve the serial", []auditlog.Entry{e}, func(tx *txn) error {
		_, err := tx.ExecContext(ctx, q, c.Serial, c.CA, c.ApplicationID, c.Profile, nonNil(c.SPKISHA256),
			c.Subject, ms(c.NotBefore), ms(c.NotAfter), nonNil(c.TBS), string(ca.StatusReserved), ms(c.ReservedAt))
		if err != nil {
			return mapErr(err, law.L21_2, "reserve the serial")
		}
		status, err := db.statusOf(ctx, tx, c.ApplicationID)
		if err != nil {
			return err
		}
		if status != ra.StatusApproved {
			// Invalid, not Conflict: the CA retries a Conflict as a serial collision.
			return errkind.New(errkind.Invalid, law.L21_3_2, "application %q is %s, not approved", c.ApplicationID, status)
		}
		return nil
	})
}

// MarkIssued stores the signed certificate of a reserved serial and, in the same
// transaction, moves its application from approved to issued with this serial.
func (db *DB) MarkIssued(ctx context.Context, serial string, der []byte, issuedAt time.Time, e auditlog.Entry) error {
	if len(der) == 0 {
		return errkind.New(errkind.Invalid, law.L21_2, "no certificate to store for serial %s", serial)
	}
	cert := db.Rebind("UPDATE certificates SET status = ?, der = ?, issued_ms = ? WHERE serial = ? AND status = ?")
	app := db.Rebind(`UPDATE applications SET status = ?, certificate_serial = ?
		WHERE id = (SELECT application_id FROM certificates WHERE serial = ?) AND status = ?`)
	return db.write(ctx, "store the issued certificate", []auditlog.Entry{e}, func(tx *txn) error {
		res, err := tx.ExecContext(ctx, cert, string(ca.StatusIssued), der, ms(issuedAt), serial, string(ca.StatusReserved))
		if err != nil {
			return mapErr(err, law.L21_2, "store the issued certificate")
		}
		if err := db.expectReserved(ctx, tx, res, serial); err != nil {
			return err
		}
		res, err = tx.ExecContext(ctx, app, string(ra.StatusIssued), serial, serial, string(ra.StatusApproved))
		if err != nil {
			return mapErr(err, law.L21_2, "mark the application issued")
		}
		if n, err := res.RowsAffected(); err != nil || n != 1 {
			return errkind.New(errkind.Conflict, law.L21_3_2, "the application of serial %s is not approved", serial)
		}
		return nil
	})
}

// Abandon closes a reservation that will never be signed; the row stays.
func (db *DB) Abandon(ctx context.Context, serial string, e auditlog.Entry) error {
	q := db.Rebind("UPDATE certificates SET status = ? WHERE serial = ? AND status = ?")
	return db.write(ctx, "abandon the reservation", []auditlog.Entry{e}, func(tx *txn) error {
		res, err := tx.ExecContext(ctx, q, string(ca.StatusAbandoned), serial, string(ca.StatusReserved))
		if err != nil {
			return mapErr(err, law.L21_2, "abandon the reservation")
		}
		return db.expectReserved(ctx, tx, res, serial)
	})
}

// expectReserved explains an update that matched no row: no such serial, or not reserved.
func (db *DB) expectReserved(ctx context.Context, tx *txn, res sql.Result, serial string) error {
	n, err := res.RowsAffected()
	if err != nil || n == 1 {
		return err
	}
	c, err := db.certificate(ctx, tx, serial)
	if err != nil {
		return err
	}
	return errkind.New(errkind.Conflict, law.L21_2, "serial %s is %s, not reserved", serial, c.Status)
}

// Reserved returns the reservations not yet issued nor abandoned, oldest first.
func (db *DB) Reserved(ctx context.Context) ([]ca.Certificate, error) {
	q := db.Rebind("SELECT " + certColumns + " FROM certificates WHERE status = ? ORDER BY created_ms, serial")
	rows, err := db.r.QueryContext(ctx, q, string(ca.StatusReserved))
	if err != nil {
		return nil, mapErr(err, law.LInternal, "read reservations")
	}
	defer rows.Close()
	var out []ca.Certificate
	for rows.Next() {
		c, err := scanCertificate(rows)
		if err != nil {
			return nil, mapErr(err, law.LInternal, "read reservations")
		}
		out = append(out, *c)
	}
	return out, mapErr(rows.Err(), law.LInternal, "read reservations")
}

// Certificate returns the record of one serial.
func (db *DB) Certificate(ctx context.Context, serial string) (*ca.Certificate, error) {
	return db.certificate(ctx, db.r, serial)
}

func (db *DB) certificate(ctx context.Context, q queryer, serial string) (*ca.Certificate, error) {
	row := q.QueryRowContext(ctx, db.Rebind("SELECT "+certColumns+" FROM certificates WHERE serial = ?"), serial)
	c, err := scanCertificate(row)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("no certificate with serial %s", serial)
	}
	return c, mapErr(err, law.LInternal, "read the certificate")
}

// scanner is a *sql.Row or *sql.Rows.
type scanner interface{ Scan(dest ...any) error }

func scanCertificate(s scanner) (*ca.Certificate, error) {
	var c ca.Certificate
	var status string
	var notBefore, notAfter, reserved int64
	var issued sql.NullInt64
	err := s.Scan(&c.Serial, &c.CA, &c.ApplicationID, &c.Profile, &c.SPKISHA256, &c.Subject,
		&notBefore, &notAfter, &c.TBS, &c.DER, &status, &reserved, &issued)
	if err != nil {
		return nil, err
	}
	c.NotBefore, c.NotAfter, c.ReservedAt = fromMS(notBefore), fromMS(notAfter), fromMS(reserved)
	c.IssuedAt, c.Status = fromOptMS(issued), ca.Status(status)
	return &c, nil
}

// PutAuthority records a CA or delegated signer of this CSP; a name is recorded once.
func (db *DB) PutAuthority(ctx context.Context, a ca.Authority, e auditlog.Entry) error {
	q := db.Rebind("INSERT INTO authorities (name, role, parent, key_uri, der, created_ms) VALUES (?, ?, ?, ?, ?, ?)")
	return db.write(ctx, "record the authority", []auditlog.Entry{e}, func(tx *txn) error {
		_, err := tx.ExecContext(ctx, q, a.Name, a.Role, a.Parent, a.KeyURI, nonNil(a.DER), ms(a.CreatedAt))
		return mapErr(err, law.L21_2, "record the authority")
	})
}

// Authorities returns every authority, in order of creation.
func (db *DB) Authorities(ctx context.Context) ([]ca.Authority, error) {
	rows, err := db.r.QueryContext(ctx,
		"SELECT name, role, parent, key_uri, der, created_ms FROM authorities ORDER BY created_ms, name")
	if err != nil {
		return nil, mapErr(err, law.LInternal, "read authorities")
	}
	defer rows.Close()
	var out []ca.Authority
	for rows.Next() {
		var a ca.Authority
		var at int64
		if err := rows.Scan(&a.Name, &a.Role, &a.Parent, &a.KeyURI, &a.DER, &at); err != nil {
			return nil, mapErr(err, law.LInternal, "read authorities")
		}
		a.CreatedAt = fromMS(at)
		out = append(out, a)
	}
	return out, mapErr(rows.Err(), law.LInternal, "read authorities")
}
