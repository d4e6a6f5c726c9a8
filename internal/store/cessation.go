package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"time"

	"github.com/tawthiq/tawthiq/internal/auditlog"
	"github.com/tawthiq/tawthiq/internal/ca"
	"github.com/tawthiq/tawthiq/internal/cessation"
	"github.com/tawthiq/tawthiq/internal/errkind"
	"github.com/tawthiq/tawthiq/internal/law"
	"github.com/tawthiq/tawthiq/internal/ocsp"
)

var (
	_ cessation.Store = (*DB)(nil)
	_ ocsp.Store      = Transferred{}
)

// PutCessationPlan records the plan; a second plan is refused (L-23).
func (db *DB) PutCessationPlan(ctx context.Context, p cessation.Plan, entries []auditlog.Entry) error {
	q := db.Rebind(`INSERT INTO cessation_plans (one, mode, end_ms, successor_name, successor_id, planned_by, note, created_ms)
		VALUES (1, ?, ?, ?, ?, ?, ?, ?)`)
	err := db.write(ctx, "record the cessation plan", entries, func(tx *txn) error {
		_, err := tx.ExecContext(ctx, q, string(p.Mode), ms(p.End), p.Successor.Name, p.Successor.Identifier, p.PlannedBy, p.Note, ms(p.PlannedAt))
		return mapErr(err, law.L23, "record the cessation plan")
	})
	if errkind.Is(err, errkind.Conflict) {
		return errkind.New(errkind.Conflict, law.L23, "a cessation plan is already recorded: a plan is never changed")
	}
	return err
}

// CessationPlan returns the plan with its steps done.
func (db *DB) CessationPlan(ctx context.Context) (*cessation.Plan, error) {
	var p cessation.Plan
	var mode string
	var end, created int64
	err := db.r.QueryRowContext(ctx, `SELECT mode, end_ms, successor_name, successor_id, planned_by, note, created_ms
		FROM cessation_plans WHERE one = 1`).Scan(&mode, &end, &p.Successor.Name, &p.Successor.Identifier, &p.PlannedBy, &p.Note, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("no cessation plan")
	}
	if err != nil {
		return nil, mapErr(err, law.LInternal, "read the cessation plan")
	}
	p.Mode, p.End, p.PlannedAt, p.Done = law.CessationMode(mode), fromMS(end), fromMS(created), map[cessation.Step]time.Time{}
	rows, err := db.r.QueryContext(ctx, `SELECT step, done_ms FROM cessation_steps`)
	if err != nil {
		return nil, mapErr(err, law.LInternal, "read the cessation steps")
	}
	defer rows.Close()
	for rows.Next() {
		var step string
		var done int64
		if err := rows.Scan(&step, &done); err != nil {
			return nil, mapErr(err, law.LInternal, "read the cessation steps")
		}
		p.Done[cessation.Step(step)] = fromMS(done)
	}
	return &p, mapErr(rows.Err(), law.LInternal, "read the cessation steps")
}

// MarkCessationStep records, once, when a step was done; the first time stands.
func (db *DB) MarkCessationStep(ctx context.Context, step cessation.Step, at time.Time, e auditlog.Entry) error {
	q := db.Rebind(`INSERT INTO cessation_steps (step, done_ms, created_ms) VALUES (?, ?, ?) ON CONFLICT (step) DO NOTHING`)
	return db.write(ctx, "record the cessation step", []auditlog.Entry{e}, func(tx *txn) error {
		_, err := tx.ExecContext(ctx, q, string(step), ms(at), ms(at))
		return mapErr(err, law.L23, "record the cessation step")
	})
}

// EnqueueCessationNotice records n unless its dedup key is recorded: one notice per addressee.
func (db *DB) EnqueueCessationNotice(ctx context.Context, n cessation.Notice, e auditlog.Entry) (bool, error) {
	q := db.Rebind(`INSERT INTO cessation_notices (dedup_key, kind, channel, recipient, subject, body, created_ms)
		VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (dedup_key) DO NOTHING`)
	return db.insertOnce(ctx, "queue the cessation notice", law.L23, []auditlog.Entry{e}, q,
		n.DedupKey, string(n.Kind), n.Channel, n.Recipient, n.Subject, n.Body, ms(n.CreatedAt))
}

// CessationNotices lists the notices of a kind, oldest first.
func (db *DB) CessationNotices(ctx context.Context, k cessation.NoticeKind) ([]cessation.Notice, error) {
	q := db.Rebind(`SELECT dedup_key, kind, channel, recipient, subject, body, created_ms FROM cessation_notices
		WHERE kind = ? ORDER BY created_ms, dedup_key`)
	rows, err := db.r.QueryContext(ctx, q, string(k))
	if err != nil {
		return nil, mapErr(err, law.LInternal, "read the cessation notices")
	}
	defer rows.Close()
	var out []cessation.Notice
	for rows.Next() {
		var n cessation.Notice
		var kind string
		var created int64
		if err := rows.Scan(&n.DedupKey, &kind, &n.Channel, &n.Recipient, &n.Subject, &n.Body, &created); err != nil {
			return nil, mapErr(err, law.LInternal, "read the cessation notices")
		}
		n.Kind, n.CreatedAt = cessation.NoticeKind(kind), fromMS(created)
		out = append(out, n)
	}
	return out, mapErr(rows.Err(), law.LInternal, "read the cessation notices")
}

// CessationHolders returns up to limit holders of issued, unrevoked certificates
// after the given user ID, each with his serials and his latest contact choice.
func (db *DB) CessationHolders(ctx context.Context, after string, limit int) ([]cessation.Holder, error) {
	q := db.Rebind(`SELECT a.submitted_by, c.serial, a.consent_email, a.contact_email
		FROM certificates c JOIN applications a ON a.id = c.application_id
		WHERE c.status = ? AND a.submitted_by > ? AND a.submitted_by IN (
			SELECT DISTINCT a2.submitted_by FROM certificates c2 JOIN applications a2 ON a2.id = c2.application_id
			WHERE c2.status = ? AND a2.submitted_by > ?
			AND NOT EXISTS (SELECT 1 FROM revocations r2 WHERE r2.serial = c2.serial)
			ORDER BY a2.submitted_by LIMIT ?)
		AND NOT EXISTS (SELECT 1 FROM revocations r WHERE r.serial = c.serial)
		ORDER BY a.submitted_by, a.created_ms, c.serial`)
	issued := string(ca.StatusIssued)
	rows, err := db.r.QueryContext(ctx, q, issued, after, issued, after, limit)
	if err != nil {
		return nil, mapErr(err, law.LInternal, "read the holders")
	}
	defer rows.Close()
	var out []cessation.Holder
	for rows.Next() {
		var id, serial, email string
		var consent bool
		if err := rows.Scan(&id, &serial, &consent, &email); err != nil {
			return nil, mapErr(err, law.LInternal, "read the holders")
		}
		if len(out) == 0 || out[len(out)-1].ID != id {
			out = append(out, cessation.Holder{ID: id})
		}
		h := &out[len(out)-1]
		h.Serials, h.ConsentEmail, h.Email = append(h.Serials, serial), consent, email
	}
	return out, mapErr(rows.Err(), law.LInternal, "read the holders")
}

// CessationUnrevoked returns up to limit issued, unrevoked serials.
func (db *DB) CessationUnrevoked(ctx context.Context, limit int) ([]string, error) {
	q := db.Rebind(`SELECT c.serial FROM certificates c WHERE c.status = 'issued'
		AND NOT EXISTS (SELECT 1 FROM revocations r WHERE r.serial = c.serial) ORDER BY c.serial LIMIT ?`)
	return db.serials(ctx, "read unrevoked certificates", q, limit)
}

// CessationUnrevokedCount counts the issued, unrevoked certificates.
func (db *DB) CessationUnrevokedCount(ctx context.Context) (int, error) {
	var n int
	err := db.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM certificates c WHERE c.status = 'issued'
		AND NOT EXISTS (SELECT 1 FROM revocations r WHERE r.serial = c.serial)`).Scan(&n)
	return n, mapErr(err, law.LInternal, "count unrevoked certificates")
}

// TakeoverCertificates returns every issued certificate with its registration record (L-21-2).
func (db *DB) TakeoverCertificates(ctx context.Context) ([]cessation.Certificate, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT serial, ca, der, application_id FROM certificates WHERE status = 'issued' ORDER BY serial`)
	if err != nil {
		return nil, mapErr(err, law.LInternal, "read the certificates")
	}
	var out []cessation.Certificate
	var apps []string
	for rows.Next() {
		var c cessation.Certificate
		var app string
		if err := rows.Scan(&c.Serial, &c.CA, &c.DER, &app); err != nil {
			rows.Close()
			return nil, mapErr(err, law.LInternal, "read the certificates")
		}
		out, apps = append(out, c), append(apps, app)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, mapErr(err, law.LInternal, "read the certificates")
	}
	for i := range out {
		a, err := db.Application(ctx, apps[i])
		if err != nil {
			return nil, err
		}
		if out[i].Registration, err = json.Marshal(a); err != nil {
			return nil, errkind.Wrap(errkind.Internal, err, "encode the registration record")
		}
	}
	return out, nil
}

// TakeoverRevocations returns every revocation (L-21-rev).
func (db *DB) TakeoverRevocations(ctx context.Context) ([]cessation.Revocation, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT serial, ca, ground, reason, requested_ms, revoked_ms, order_ref FROM revocations ORDER BY serial`)
	if err != nil {
		return nil, mapErr(err, law.LInternal, "read the revocations")
	}
	defer rows.Close()
	var out []cessation.Revocation
	for rows.Next() {
		var r cessation.Revocation
		var ground string
		var req, rev int64
		if err := rows.Scan(&r.Serial, &r.CA, &ground, &r.Reason, &req, &rev, &r.OrderRef); err != nil {
			return nil, mapErr(err, law.LInternal, "read the revocations")
		}
		r.Ground, r.RequestedAt, r.RevokedAt = law.Ground(ground), fromMS(req), fromMS(rev)
		out = append(out, r)
	}
	return out, mapErr(rows.Err(), law.LInternal, "read the revocations")
}

// ImportTakeover records a verified takeover archive and its normalised records in
// one transaction, with the import's audit entries; the same archive twice is refused.
func (db *DB) ImportTakeover(ctx context.Context, imp cessation.Import, entries []auditlog.Entry) error {
	ex := imp.Export
	at := ms(imp.At)
	byCA := map[string]string{}
	for _, is := range imp.Issuers {
		byCA[is.CA] = is.Name
	}
	return db.write(ctx, "import the takeover archive", entries, func(tx *txn) error {
		if _, err := tx.ExecContext(ctx, db.Rebind(`INSERT INTO takeover_imports (id, origin_name, origin_id, sha256, archive, created_ms)
			VALUES (?, ?, ?, ?, ?, ?)`), imp.ID, ex.Origin.Name, ex.Origin.Identifier, imp.SHA256, imp.Archive, at); err != nil {
			return mapErr(err, law.L23, "record the takeover archive")
		}
		for _, is := range imp.Issuers {
			if _, err := tx.ExecContext(ctx, db.Rebind(`INSERT INTO transferred_issuers (name, import_id, origin_id, ca, ca_der, responder_der, key_uri, created_ms)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?)`), is.Name, imp.ID, is.OriginID, is.CA, is.CADER, is.ResponderDER, is.KeyURI, at); err != nil {
				return mapErr(err, law.L23, "record a transferred CA")
			}
		}
		qc := db.Rebind(`INSERT INTO transferred_certificates (issuer, serial, der, registration, created_ms) VALUES (?, ?, ?, ?, ?)`)
		for _, c := range ex.Certificates {
			issuer, ok := byCA[c.CA]
			if !ok {
				continue // a CA without a responder for us: kept in the archive only
			}
			if _, err := tx.ExecContext(ctx, qc, issuer, c.Serial, c.DER, string(c.Registration), at); err != nil {
				return mapErr(err, law.L23, "record a transferred certificate")
			}
		}
		qr := db.Rebind(`INSERT INTO transferred_revocations (issuer, serial, ground, reason, requested_ms, revoked_ms, order_ref, created_ms)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`)
		for _, r := range ex.Revocations {
			issuer, ok := byCA[r.CA]
			if !ok {
				continue
			}
			if _, err := tx.ExecContext(ctx, qr, issuer, r.Serial, string(r.Ground), r.Reason, ms(r.RequestedAt), ms(r.RevokedAt), r.OrderRef, at); err != nil {
				return mapErr(err, law.L23, "record a transferred revocation")
			}
		}
		return nil
	})
}

// TransferredIssuers returns the ceding CSPs' CAs this CSP answers status for.
func (db *DB) TransferredIssuers(ctx context.Context) ([]cessation.TransferredIssuer, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT name, origin_id, ca, ca_der, responder_der, key_uri FROM transferred_issuers ORDER BY name`)
	if err != nil {
		return nil, mapErr(err, law.LInternal, "read the transferred CAs")
	}
	defer rows.Close()
	var out []cessation.TransferredIssuer
	for rows.Next() {
		var is cessation.TransferredIssuer
		if err := rows.Scan(&is.Name, &is.OriginID, &is.CA, &is.CADER, &is.ResponderDER, &is.KeyURI); err != nil {
			return nil, mapErr(err, law.LInternal, "read the transferred CAs")
		}
		out = append(out, is)
	}
	return out, mapErr(rows.Err(), law.LInternal, "read the transferred CAs")
}

// Transferred is the OCSP store of the certificates taken over from ceding CSPs: it
// has no pre-signed responses, so every request is answered by the responder's
// slow path from these rows (the CA name is the transferred issuer's name).
type Transferred struct{ DB *DB }

// OCSPStatuses returns the status of each transferred serial.
func (t Transferred) OCSPStatuses(ctx context.Context, serials []string) ([]ocsp.CertStatus, error) {
	var out []ocsp.CertStatus
	err := inLists(serials, func(list string, args []any) error {
		q := t.DB.Rebind(`SELECT c.serial, c.issuer, r.reason, r.revoked_ms FROM transferred_certificates c
			LEFT JOIN transferred_revocations r ON r.issuer = c.issuer AND r.serial = c.serial WHERE c.serial IN (` + list + ")")
		rows, err := t.DB.r.QueryContext(ctx, q, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			st := ocsp.CertStatus{Issued: true, Published: true}
			var reason, revoked sql.NullInt64
			if err := rows.Scan(&st.Serial, &st.CA, &reason, &revoked); err != nil {
				return err
			}
			st.Revoked, st.Reason, st.RevokedAt = revoked.Valid, int(reason.Int64), fromOptMS(revoked)
			out = append(out, st)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, mapErr(err, law.LInternal, "read transferred certificate statuses")
	}
	return out, nil
}

// OCSPResponsesSince has nothing to give: transferred certificates have no pre-signed responses.
func (Transferred) OCSPResponsesSince(context.Context, time.Time, func(*ocsp.Response) error) error {
	return nil
}

// UnsignedCertificates is empty: nothing is pre-signed for transferred certificates.
func (Transferred) UnsignedCertificates(context.Context, time.Time, int) ([]string, error) {
	return nil, nil
}

// StaleOCSPResponses is empty: nothing is pre-signed.
func (Transferred) StaleOCSPResponses(context.Context, time.Time, int) ([]string, error) {
	return nil, nil
}

// UnpublishedOCSPRevocations is empty: the ceding CSP published its revocations.
func (Transferred) UnpublishedOCSPRevocations(context.Context, int) ([]string, error) {
	return nil, nil
}

// PutOCSPResponses refuses: nothing is pre-signed for transferred certificates.
func (Transferred) PutOCSPResponses(context.Context, []ocsp.Response, []auditlog.Entry) error {
	return errkind.New(errkind.Internal, law.LInternal, "transferred certificates have no pre-signed OCSP responses")
}
