package store

import (
	"context"
	"database/sql"
	"time"

	"github.com/tawthiq/tawthiq/internal/auditlog"
	"github.com/tawthiq/tawthiq/internal/breach"
	"github.com/tawthiq/tawthiq/internal/datachange"
	"github.com/tawthiq/tawthiq/internal/errkind"
	"github.com/tawthiq/tawthiq/internal/insurance"
	"github.com/tawthiq/tawthiq/internal/law"
	"github.com/tawthiq/tawthiq/internal/notify"
)

var (
	_ insurance.Store      = (*DB)(nil)
	_ breach.Store         = (*DB)(nil)
	_ datachange.Store     = (*DB)(nil)
	_ notify.DeliveryStore = DutyOutbox{}
)

// AddInsurancePolicy records a policy of the CSP (L-21-3-6).
func (db *DB) AddInsurancePolicy(ctx context.Context, p insurance.Policy, e auditlog.Entry) error {
	q := db.Rebind(`INSERT INTO insurance_policies (id, insurer, policy_number, cover_mad, valid_from_ms,
		valid_until_ms, recorded_by, created_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`)
	return db.write(ctx, "record the insurance policy", []auditlog.Entry{e}, func(tx *txn) error {
		_, err := tx.ExecContext(ctx, q, p.ID, p.Insurer, p.Number, p.CoverMAD, ms(p.ValidFrom), ms(p.ValidUntil),
			p.RecordedBy, ms(p.RecordedAt))
		return mapErr(err, law.L21_3_6, "record the insurance policy")
	})
}

// InsurancePolicies returns every policy of the CSP by start of validity.
func (db *DB) InsurancePolicies(ctx context.Context) ([]insurance.Policy, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT id, insurer, policy_number, cover_mad, valid_from_ms, valid_until_ms,
		recorded_by, created_ms FROM insurance_policies ORDER BY valid_from_ms, id`)
	if err != nil {
		return nil, mapErr(err, law.LInternal, "read insurance policies")
	}
	defer rows.Close()
	var out []insurance.Policy
	for rows.Next() {
		var p insurance.Policy
		var from, until, created int64
		if err := rows.Scan(&p.ID, &p.Insurer, &p.Number, &p.CoverMAD, &from, &until, &p.RecordedBy, &created); err != nil {
			return nil, mapErr(err, law.LInternal, "read insurance policies")
		}
		p.ValidFrom, p.ValidUntil, p.RecordedAt = fromMS(from), fromMS(until), fromMS(created)
		out = append(out, p)
	}
	return out, mapErr(rows.Err(), law.LInternal, "read insurance policies")
}

const dutyNoticeColumns = `id, dedup_key, ref, kind, channel, recipient, language, subject, body,
	state, attempts, next_attempt_ms, lease_until_ms, lease_holder, message_id, last_error, created_ms, sent_ms`

// EnqueueDutyNotice records n (its Serial holds the breach or cover it is about) with
// its audit entry unless its dedup key exists; it reports whether n was recorded.
func (db *DB) EnqueueDutyNotice(ctx context.Context, n notify.Notice, e auditlog.Entry) (bool, error) {
	ref := n.Serial
	if ref == "" {
		ref = n.DedupKey
	}
	return db.dutyNoticesOutbox().enqueue(ctx, n, e, ref)
}

// DutyNotices returns the notices about ref, oldest first.
func (db *DB) DutyNotices(ctx context.Context, ref string) ([]notify.Notice, error) {
	q := db.Rebind(`SELECT ` + dutyNoticeColumns + ` FROM duty_notices WHERE ref = ? ORDER BY created_ms, id`)
	return db.dutyNoticesOutbox().notices(ctx, db.r, q, "read notices", ref)
}

// DutyNoticesTo returns the notices held for or sent to recipient, newest first.
func (db *DB) DutyNoticesTo(ctx context.Context, recipient string, limit int) ([]notify.Notice, error) {
	q := db.Rebind(`SELECT ` + dutyNoticeColumns + ` FROM duty_notices WHERE recipient = ?
		ORDER BY created_ms DESC, id LIMIT ?`)
	return db.dutyNoticesOutbox().notices(ctx, db.r, q, "read notices", recipient, limit)
}

// DutyOutbox is the delivery side of the duty notices: a notify.Deliverer drains it
// as it drains the holders' notices.
type DutyOutbox struct{ db *DB }

// DutyOutbox returns the delivery store of the duty notices.
func (db *DB) DutyOutbox() DutyOutbox { return DutyOutbox{db} }

// ClaimNotices claims due e-mail notices for holder until leaseUntil, one node at a time.
func (o DutyOutbox) ClaimNotices(ctx context.Context, holder string, now, leaseUntil time.Time, limit int) ([]notify.Notice, error) {
	return o.db.dutyNoticesOutbox().claim(ctx, holder, now, leaseUntil, limit)
}

// MarkNoticeSent records a claimed notice as sent; Conflict if holder's claim was lost.
func (o DutyOutbox) MarkNoticeSent(ctx context.Context, id, holder string, at time.Time, e auditlog.Entry) error {
	return o.db.dutyNoticesOutbox().markSent(ctx, id, holder, at, e)
}

// MarkNoticeFailed puts a claimed notice back in the queue, due at next.
func (o DutyOutbox) MarkNoticeFailed(ctx context.Context, id, holder string, next time.Time, reason string, e auditlog.Entry) error {
	return o.db.dutyNoticesOutbox().markFailed(ctx, id, holder, next, reason, e)
}

// CreateBreach records an incident with what it touches, in one transaction (L-24).
func (db *DB) CreateBreach(ctx context.Context, in breach.Incident, e auditlog.Entry) error {
	qb := db.Rebind(`INSERT INTO breaches (id, kind, description, detected_ms, recorded_by, created_ms) VALUES (?, ?, ?, ?, ?, ?)`)
	qc := db.Rebind(`INSERT INTO breach_cas (breach_id, ca, created_ms) VALUES (?, ?, ?)`)
	qs := db.Rebind(`INSERT INTO breach_certificates (breach_id, serial, created_ms) VALUES (?, ?, ?)`)
	qh := db.Rebind(`INSERT INTO breach_holders (breach_id, holder_id, harm, assessment, created_ms) VALUES (?, ?, ?, ?, ?)`)
	at := ms(in.RecordedAt)
	return db.write(ctx, "record the breach", []auditlog.Entry{e}, func(tx *txn) error {
		if _, err := tx.ExecContext(ctx, qb, in.ID, string(in.Kind), in.Description, ms(in.DetectedAt), in.RecordedBy, at); err != nil {
			return mapErr(err, law.L24, "record the breach")
		}
		for _, c := range in.CAs {
			if _, err := tx.ExecContext(ctx, qc, in.ID, c, at); err != nil {
				return mapErr(err, law.L24, "record the breach: CA "+c)
			}
		}
		for _, s := range in.Certificates {
			if _, err := tx.ExecContext(ctx, qs, in.ID, s, at); err != nil {
				return mapErr(err, law.L24, "record the breach: certificate "+s)
			}
		}
		for _, h := range in.Holders {
			if _, err := tx.ExecContext(ctx, qh, in.ID, h.HolderID, h.Harm, h.Assessment, at); err != nil {
				return mapErr(err, law.L24, "record the breach: holder "+h.HolderID)
			}
		}
		return nil
	})
}

// Breach returns one incident with what it touches.
func (db *DB) Breach(ctx context.Context, id string) (*breach.Incident, error) {
	ins, err := db.breaches(ctx, db.Rebind(`SELECT id, kind, description, detected_ms, recorded_by, created_ms
		FROM breaches WHERE id = ?`), id)
	if err != nil {
		return nil, err
	}
	if len(ins) == 0 {
		return nil, notFound("no breach %q", id)
	}
	return &ins[0], nil
}

// Breaches returns the latest incidents, newest first.
func (db *DB) Breaches(ctx context.Context, limit int) ([]breach.Incident, error) {
	return db.breaches(ctx, db.Rebind(`SELECT id, kind, description, detected_ms, recorded_by, created_ms
		FROM breaches ORDER BY created_ms DESC, id LIMIT ?`), limit)
}

func (db *DB) breaches(ctx context.Context, q string, args ...any) ([]breach.Incident, error) {
	const what = "read breaches"
	rows, err := db.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, mapErr(err, law.LInternal, what)
	}
	var out []breach.Incident
	for rows.Next() {
		var in breach.Incident
		var kind string
		var detected, created int64
		if err := rows.Scan(&in.ID, &kind, &in.Description, &detected, &in.RecordedBy, &created); err != nil {
			rows.Close()
			return nil, mapErr(err, law.LInternal, what)
		}
		in.Kind, in.DetectedAt, in.RecordedAt = breach.Kind(kind), fromMS(detected), fromMS(created)
		out = append(out, in)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, mapErr(err, law.LInternal, what)
	}
	for i := range out {
		in := &out[i]
		if in.CAs, err = db.stringColumn(ctx, db.Rebind(`SELECT ca FROM breach_cas WHERE breach_id = ? ORDER BY ca`), in.ID); err != nil {
			return nil, err
		}
		if in.Certificates, err = db.stringColumn(ctx, db.Rebind(`SELECT serial FROM breach_certificates WHERE breach_id = ? ORDER BY serial`), in.ID); err != nil {
			return nil, err
		}
		hr, err := db.r.QueryContext(ctx, db.Rebind(`SELECT holder_id, harm, assessment FROM breach_holders
			WHERE breach_id = ? ORDER BY holder_id`), in.ID)
		if err != nil {
			return nil, mapErr(err, law.LInternal, what)
		}
		for hr.Next() {
			var h breach.Holder
			if err := hr.Scan(&h.HolderID, &h.Harm, &h.Assessment); err != nil {
				hr.Close()
				return nil, mapErr(err, law.LInternal, what)
			}
			in.Holders = append(in.Holders, h)
		}
		hr.Close()
		if err := hr.Err(); err != nil {
			return nil, mapErr(err, law.LInternal, what)
		}
	}
	return out, nil
}

func (db *DB) stringColumn(ctx context.Context, q string, args ...any) ([]string, error) {
	rows, err := db.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, mapErr(err, law.LInternal, "read breaches")
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, mapErr(err, law.LInternal, "read breaches")
		}
		out = append(out, s)
	}
	return out, mapErr(rows.Err(), law.LInternal, "read breaches")
}

const dataChangeColumns = `id, serial, holder_id, field, new_value, evidence_sha256, status, decided_by, decided_ms, note, created_ms`

// CreateDataChange records a holder's report of changed data (L-25).
func (db *DB) CreateDataChange(ctx context.Context, r datachange.Report, e auditlog.Entry) error {
	q := db.Rebind(`INSERT INTO data_changes (` + dataChangeColumns + `) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
	return db.write(ctx, "record the data change", []auditlog.Entry{e}, func(tx *txn) error {
		_, err := tx.ExecContext(ctx, q, r.ID, r.Serial, r.HolderID, string(r.Field), r.NewValue, nonNil(r.EvidenceSHA256),
			string(r.Status), r.DecidedBy, optMS(r.DecidedAt), r.Note, ms(r.ReportedAt))
		return mapErr(err, law.L25, "record the data change")
	})
}

// DataChange returns one report.
func (db *DB) DataChange(ctx context.Context, id string) (*datachange.Report, error) {
	rs, err := db.dataChanges(ctx, db.Rebind(`SELECT `+dataChangeColumns+` FROM data_changes WHERE id = ?`), id)
	if err != nil {
		return nil, err
	}
	if len(rs) == 0 {
		return nil, notFound("no data change report %q", id)
	}
	return &rs[0], nil
}

// DataChanges returns the reports in a status ("" for all), oldest first.
func (db *DB) DataChanges(ctx context.Context, status datachange.Status, limit int) ([]datachange.Report, error) {
	if status == "" {
		return db.dataChanges(ctx, db.Rebind(`SELECT `+dataChangeColumns+` FROM data_changes ORDER BY created_ms, id LIMIT ?`), limit)
	}
	return db.dataChanges(ctx, db.Rebind(`SELECT `+dataChangeColumns+` FROM data_changes WHERE status = ?
		ORDER BY created_ms, id LIMIT ?`), string(status), limit)
}

// DecideDataChange moves a pending report to its decision; Conflict if it was decided already.
func (db *DB) DecideDataChange(ctx context.Context, r datachange.Report, e auditlog.Entry) error {
	q := db.Rebind(`UPDATE data_changes SET status = ?, decided_by = ?, decided_ms = ?, note = ? WHERE id = ? AND status = ?`)
	return db.write(ctx, "record the review", []auditlog.Entry{e}, func(tx *txn) error {
		res, err := tx.ExecContext(ctx, q, string(r.Status), r.DecidedBy, ms(r.DecidedAt), r.Note, r.ID, string(datachange.StatusPending))
		if err != nil {
			return mapErr(err, law.L25, "record the review")
		}
		if k, err := res.RowsAffected(); err != nil || k == 0 {
			if err != nil {
				return mapErr(err, law.LInternal, "record the review")
			}
			return errkind.New(errkind.Conflict, law.L25, "data change report %s is not pending", r.ID)
		}
		return nil
	})
}

func (db *DB) dataChanges(ctx context.Context, q string, args ...any) ([]datachange.Report, error) {
	const what = "read data change reports"
	rows, err := db.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, mapErr(err, law.LInternal, what)
	}
	defer rows.Close()
	var out []datachange.Report
	for rows.Next() {
		var r datachange.Report
		var field, status string
		var decided sql.NullInt64
		var created int64
		if err := rows.Scan(&r.ID, &r.Serial, &r.HolderID, &field, &r.NewValue, &r.EvidenceSHA256, &status,
			&r.DecidedBy, &decided, &r.Note, &created); err != nil {
			return nil, mapErr(err, law.LInternal, what)
		}
		r.Field, r.Status, r.DecidedAt, r.ReportedAt = law.CertifiedField(field), datachange.Status(status), fromOptMS(decided), fromMS(created)
		out = append(out, r)
	}
	return out, mapErr(rows.Err(), law.LInternal, what)
}

// KeyRevoked reports whether a certificate of a public key was ever revoked, on any ground (L-25).
func (db *DB) KeyRevoked(ctx context.Context, spkiSHA256 []byte) (bool, error) {
	var n int
	q := db.Rebind(`SELECT count(*) FROM certificates c JOIN revocations r ON r.serial = c.serial WHERE c.spki_sha256 = ?`)
	err := db.r.QueryRowContext(ctx, q, nonNil(spkiSHA256)).Scan(&n)
	return n > 0, mapErr(err, law.LInternal, "read revoked keys")
}
