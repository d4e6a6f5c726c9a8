package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"time"

	"github.com/tawthiq/tawthiq/internal/auditlog"
	"github.com/tawthiq/tawthiq/internal/errkind"
	"github.com/tawthiq/tawthiq/internal/law"
	"github.com/tawthiq/tawthiq/internal/ra"
)

// CreateApplication records an application in status pending with its audit entry.
// Its terms version must have been published (L-21-3-3).
func (db *DB) CreateApplication(ctx context.Context, a *ra.Application, e auditlog.Entry) error {
	subject, identity, capacity, err := applicationJSON(a)
	if err != nil {
		return err
	}
	status := a.Status
	if status == "" {
		status = ra.StatusPending
	}
	if status != ra.StatusPending {
		return errkind.New(errkind.Invalid, law.L21_2, "an application is created pending, not %s", status)
	}
	q := db.Rebind(`INSERT INTO applications (id, profile, subject, identity, capacity, id_number, terms_version,
		terms_accepted_ms, consent_directory, consent_email, contact_email, contact_phone, language, csr,
		spki_sha256, key_in_qscd, limit_mad, submitted_by, status, created_ms)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
	secret := db.Rebind("INSERT INTO revocation_secrets (application_id, sha256, created_ms) VALUES (?, ?, ?)")
	return db.write(ctx, "record the application", []auditlog.Entry{e}, func(tx *txn) error {
		_, err := tx.ExecContext(ctx, q, a.ID, a.Profile, subject, identity, capacity, a.Identity.Number,
			a.TermsVersion, ms(a.TermsAcceptedAt), a.ConsentDirectory, a.ConsentEmail, a.ContactEmail,
			a.ContactPhone, a.Language, nonNil(a.CSR), nonNil(a.SPKISHA256), a.KeyInQSCD, a.LimitMAD,
			a.SubmittedBy, string(status), ms(a.CreatedAt))
		if err != nil || len(a.RevocationSecretSHA256) == 0 {
			return mapErr(err, law.L21_3_3, "record the application")
		}
		// The hash of the holder's revocation secret, with the application or not at all (L-21-1).
		_, err = tx.ExecContext(ctx, secret, a.ID, a.RevocationSecretSHA256, ms(a.CreatedAt))
		return mapErr(err, law.L21_1, "record the revocation secret")
	})
}

func applicationJSON(a *ra.Application) (subject, identity string, capacity sql.NullString, err error) {
	s, err := json.Marshal(a.Subject)
	if err != nil {
		return "", "", capacity, errkind.Wrap(errkind.Invalid, err, "application subject")
	}
	i, err := json.Marshal(a.Identity)
	if err != nil {
		return "", "", capacity, errkind.Wrap(errkind.Invalid, err, "application identity")
	}
	if a.Capacity != nil {
		c, err := json.Marshal(a.Capacity)
		if err != nil {
			return "", "", capacity, errkind.Wrap(errkind.Invalid, err, "application capacity")
		}
		capacity = sql.NullString{String: string(c), Valid: true}
	}
	return string(s), string(i), capacity, nil
}

// Application returns an application with its approvals, oldest first.
func (db *DB) Application(ctx context.Context, id string) (*ra.Application, error) {
	q := db.Rebind(`SELECT id, profile, subject, identity, capacity, terms_version, terms_accepted_ms,
		consent_directory, consent_email, contact_email, contact_phone, language, csr, spki_sha256,
		key_in_qscd, limit_mad, submitted_by, status, created_ms, certificate_serial
		FROM applications WHERE id = ?`)
	a, err := scanApplication(db.r.QueryRowContext(ctx, q, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("no application %q", id)
	}
	if err != nil {
		return nil, mapErr(err, law.LInternal, "read the application")
	}
	if a.Approvals, err = db.approvals(ctx, id); err != nil {
		return nil, err
	}
	return a, nil
}

func scanApplication(row *sql.Row) (*ra.Application, error) {
	var a ra.Application
	var subject, identity, status string
	var capacity, serial sql.NullString
	var accepted, created int64
	err := row.Scan(&a.ID, &a.Profile, &subject, &identity, &capacity, &a.TermsVersion, &accepted,
		&a.ConsentDirectory, &a.ConsentEmail, &a.ContactEmail, &a.ContactPhone, &a.Language, &a.CSR,
		&a.SPKISHA256, &a.KeyInQSCD, &a.LimitMAD, &a.SubmittedBy, &status, &created, &serial)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(subject), &a.Subject); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(identity), &a.Identity); err != nil {
		return nil, err
	}
	if capacity.Valid {
		a.Capacity = new(ra.Capacity)
		if err := json.Unmarshal([]byte(capacity.String), a.Capacity); err != nil {
			return nil, err
		}
	}
	a.TermsAcceptedAt, a.CreatedAt = fromMS(accepted), fromMS(created)
	a.Status, a.CertificateSerial = ra.Status(status), serial.String
	return &a, nil
}

func (db *DB) approvals(ctx context.Context, id string) ([]ra.Approval, error) {
	q := db.Rebind(`SELECT application_id, officer, created_ms, note FROM approvals
		WHERE application_id = ? ORDER BY created_ms, officer`)
	rows, err := db.r.QueryContext(ctx, q, id)
	if err != nil {
		return nil, mapErr(err, law.LInternal, "read approvals")
	}
	defer rows.Close()
	var out []ra.Approval
	for rows.Next() {
		var ap ra.Approval
		var at int64
		if err := rows.Scan(&ap.ApplicationID, &ap.Officer, &at, &ap.Note); err != nil {
			return nil, mapErr(err, law.LInternal, "read approvals")
		}
		ap.At = fromMS(at)
		out = append(out, ap)
	}
	return out, mapErr(rows.Err(), law.LInternal, "read approvals")
}

// AddApproval records an approval of a pending application; once law.RequiredApprovals
// distinct officers approved, counted inside the transaction, the application moves to
// approved. It returns the application's resulting status.
func (db *DB) AddApproval(ctx context.Context, ap ra.Approval, e auditlog.Entry) (ra.Status, error) {
	q := db.Rebind("INSERT INTO approvals (application_id, officer, created_ms, note) VALUES (?, ?, ?, ?)")
	count := db.Rebind("SELECT COUNT(DISTINCT officer) FROM approvals WHERE application_id = ?")
	status := ra.StatusPending
	err := db.write(ctx, "record the approval", []auditlog.Entry{e}, func(tx *txn) error {
		cur, err := db.statusOf(ctx, tx, ap.ApplicationID)
		if err != nil {
			return err
		}
		if cur != ra.StatusPending {
			return errkind.New(errkind.Conflict, law.L21_3_1, "application %q is %s, not pending", ap.ApplicationID, cur)
		}
		if _, err := tx.ExecContext(ctx, q, ap.ApplicationID, ap.Officer, ms(ap.At), ap.Note); err != nil {
			return mapErr(err, law.L21_3_1, "record the approval")
		}
		var n int
		if err := tx.QueryRowContext(ctx, count, ap.ApplicationID).Scan(&n); err != nil {
			return mapErr(err, law.LInternal, "count the approvals")
		}
		if n < law.RequiredApprovals {
			status = ra.StatusPending
			return nil
		}
		status = ra.StatusApproved
		return db.moveApplication(ctx, tx, ap.ApplicationID, ra.StatusPending, ra.StatusApproved)
	})
	if err != nil {
		return "", err
	}
	return status, nil
}

// SetApplicationStatus moves an application from one status to another. The move to
// issued is made by MarkIssued, in the transaction that stores the certificate.
func (db *DB) SetApplicationStatus(ctx context.Context, id string, from, to ra.Status, e auditlog.Entry) error {
	if to == ra.StatusIssued {
		return errkind.New(errkind.Invalid, law.L21_2, "an application becomes issued only when its certificate is stored")
	}
	return db.write(ctx, "change the application status", []auditlog.Entry{e}, func(tx *txn) error {
		return db.moveApplication(ctx, tx, id, from, to)
	})
}

func (db *DB) moveApplication(ctx context.Context, tx *txn, id string, from, to ra.Status) error {
	q := db.Rebind("UPDATE applications SET status = ? WHERE id = ? AND status = ?")
	res, err := tx.ExecContext(ctx, q, string(to), id, string(from))
	if err != nil {
		return mapErr(err, law.L21_2, "change the application status")
	}
	return db.expectOne(ctx, tx, res, id, from)
}

// expectOne explains an update that matched no row: no such application, or another status.
func (db *DB) expectOne(ctx context.Context, tx *txn, res sql.Result, id string, from ra.Status) error {
	n, err := res.RowsAffected()
	if err != nil || n == 1 {
		return err
	}
	cur, err := db.statusOf(ctx, tx, id)
	if err != nil {
		return err
	}
	return errkind.New(errkind.Conflict, "", "application %q is %s, not %s", id, cur, from)
}

func (db *DB) statusOf(ctx context.Context, q queryer, id string) (ra.Status, error) {
	var s string
	err := q.QueryRowContext(ctx, db.Rebind("SELECT status FROM applications WHERE id = ?"), id).Scan(&s)
	if errors.Is(err, sql.ErrNoRows) {
		return "", notFound("no application %q", id)
	}
	return ra.Status(s), mapErr(err, law.LInternal, "read the application status")
}

// KeyUses returns the certificates (reserved or issued, not abandoned) for a public key,
// with the ID number of each holder.
func (db *DB) KeyUses(ctx context.Context, spkiSHA256 []byte) ([]ra.KeyUse, error) {
	q := db.Rebind(`SELECT c.serial, a.id_number,
		EXISTS (SELECT 1 FROM compromised_keys k WHERE k.spki_sha256 = c.spki_sha256)
		FROM certificates c JOIN applications a ON a.id = c.application_id
		WHERE c.spki_sha256 = ? AND c.status <> 'abandoned' ORDER BY c.created_ms, c.serial`)
	rows, err := db.r.QueryContext(ctx, q, nonNil(spkiSHA256))
	if err != nil {
		return nil, mapErr(err, law.LInternal, "read key uses")
	}
	defer rows.Close()
	var out []ra.KeyUse
	for rows.Next() {
		var u ra.KeyUse
		if err := rows.Scan(&u.Serial, &u.HolderIDNumber, &u.RevokedForCompromise); err != nil {
			return nil, mapErr(err, law.LInternal, "read key uses")
		}
		out = append(out, u)
	}
	return out, mapErr(rows.Err(), law.LInternal, "read key uses")
}

// KeyCompromised reports whether a key was ever declared compromised (L-25).
func (db *DB) KeyCompromised(ctx context.Context, spkiSHA256 []byte) (bool, error) {
	var n int
	q := db.Rebind("SELECT count(*) FROM compromised_keys WHERE spki_sha256 = ?")
	err := db.r.QueryRowContext(ctx, q, nonNil(spkiSHA256)).Scan(&n)
	return n > 0, mapErr(err, law.LInternal, "read compromised keys")
}

// MarkKeyCompromised records that a key is compromised, for good (L-25): the row is
// never changed nor deleted inside the retention period. A second declaration keeps
// the first row and is still logged.
func (db *DB) MarkKeyCompromised(ctx context.Context, spkiSHA256 []byte, reason string, at time.Time, e auditlog.Entry) error {
	if len(spkiSHA256) == 0 {
		return errkind.New(errkind.Invalid, law.L25, "no key hash")
	}
	q := db.Rebind(`INSERT INTO compromised_keys (spki_sha256, reason, created_ms) VALUES (?, ?, ?)
		ON CONFLICT (spki_sha256) DO NOTHING`)
	return db.write(ctx, "record the compromised key", []auditlog.Entry{e}, func(tx *txn) error {
		_, err := tx.ExecContext(ctx, q, spkiSHA256, reason, ms(at))
		return mapErr(err, law.L25, "record the compromised key")
	})
}

// PublishTerms records a version of the subscriber terms (L-21-3-3); a version is published once.
func (db *DB) PublishTerms(ctx context.Context, t ra.Terms, e auditlog.Entry) error {
	q := db.Rebind("INSERT INTO terms (version, sha256, text, created_ms) VALUES (?, ?, ?, ?)")
	return db.write(ctx, "publish the terms", []auditlog.Entry{e}, func(tx *txn) error {
		_, err := tx.ExecContext(ctx, q, t.Version, nonNil(t.SHA256), t.Text, ms(t.PublishedAt))
		return mapErr(err, law.L21_3_3, "publish the terms")
	})
}

// Terms returns one version of the terms.
func (db *DB) Terms(ctx context.Context, version string) (*ra.Terms, error) {
	q := db.Rebind("SELECT version, sha256, text, created_ms FROM terms WHERE version = ?")
	t, err := scanTerms(db.r.QueryRowContext(ctx, q, version))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("no terms version %q", version)
	}
	return t, mapErr(err, law.LInternal, "read the terms")
}

// CurrentTerms returns the latest published terms.
func (db *DB) CurrentTerms(ctx context.Context) (*ra.Terms, error) {
	q := "SELECT version, sha256, text, created_ms FROM terms ORDER BY created_ms DESC, version DESC LIMIT 1"
	t, err := scanTerms(db.r.QueryRowContext(ctx, q))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("no terms published yet")
	}
	return t, mapErr(err, law.LInternal, "read the terms")
}

func scanTerms(row *sql.Row) (*ra.Terms, error) {
	var t ra.Terms
	var at int64
	if err := row.Scan(&t.Version, &t.SHA256, &t.Text, &at); err != nil {
		return nil, err
	}
	t.PublishedAt = fromMS(at)
	return &t, nil
}

// nonNil stores an absent byte string as empty, not NULL, in NOT NULL columns.
func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}
