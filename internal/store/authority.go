package store

import (
	"context"
	"database/sql"
	"errors"

	"github.com/tawthiq/tawthiq/internal/auditlog"
	"github.com/tawthiq/tawthiq/internal/authority"
	"github.com/tawthiq/tawthiq/internal/errkind"
	"github.com/tawthiq/tawthiq/internal/law"
)

var _ authority.Store = (*DB)(nil)

// optString stores an empty reference as NULL, so a foreign key applies only when set.
func optString(s string) sql.NullString { return sql.NullString{String: s, Valid: s != ""} }

// RecordCSP records a version of a CSP's record: version 1 with the CSP itself,
// each later one only right after the current one (L-15).
func (db *DB) RecordCSP(ctx context.Context, c authority.CSP, e auditlog.Entry) error {
	const what = "record the CSP"
	return db.write(ctx, what, []auditlog.Entry{e}, func(tx *txn) error {
		if c.Version == 1 {
			if _, err := tx.ExecContext(ctx, db.Rebind(`INSERT INTO authority_csps (id, created_ms) VALUES (?, ?)`),
				c.ID, ms(c.RecordedAt)); err != nil {
				return mapErr(err, law.L15, what)
			}
		} else {
			var last sql.NullInt64
			err := tx.QueryRowContext(ctx, db.Rebind(`SELECT MAX(version) FROM authority_csp_versions WHERE csp_id = ?`), c.ID).Scan(&last)
			if err != nil {
				return mapErr(err, law.L15, what)
			}
			if !last.Valid {
				return notFound("no CSP %q in the register", c.ID)
			}
			if last.Int64 != int64(c.Version-1) {
				return errkind.New(errkind.Conflict, law.L15, "the CSP's record changed meanwhile (now version %d)", last.Int64)
			}
		}
		_, err := tx.ExecContext(ctx, db.Rebind(`INSERT INTO authority_csp_versions (csp_id, version, name, country, id_kind,
			id_number, seat, information_uri, agreement_id, created_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
			c.ID, c.Version, c.Name, c.Country, string(c.IDKind), c.IDNumber, c.Seat, c.InformationURI,
			optString(c.AgreementID), ms(c.RecordedAt))
		return mapErr(err, law.L22, what)
	})
}

// AddTrustService records a service, its qualifiers, its digital identity and its
// first status change in one transaction.
func (db *DB) AddTrustService(ctx context.Context, s authority.TrustService, e auditlog.Entry) error {
	const what = "record the trust service"
	if len(s.History) != 1 {
		return errkind.New(errkind.Invalid, law.L15, "a service enters the register with one status change")
	}
	return db.write(ctx, what, []auditlog.Entry{e}, func(tx *txn) error {
		at := ms(s.RecordedAt)
		if _, err := tx.ExecContext(ctx, db.Rebind(`INSERT INTO authority_services (id, csp_id, type, name, created_ms)
			VALUES (?, ?, ?, ?, ?)`), s.ID, s.CSPID, s.Type, s.Name, at); err != nil {
			return mapErr(err, law.L15, what)
		}
		for _, q := range s.Qualifiers {
			if _, err := tx.ExecContext(ctx, db.Rebind(`INSERT INTO authority_service_qualifiers (service_id, qualifier, created_ms)
				VALUES (?, ?, ?)`), s.ID, string(q), at); err != nil {
				return mapErr(err, law.L20, what)
			}
		}
		for i, der := range s.Certificates {
			if _, err := tx.ExecContext(ctx, db.Rebind(`INSERT INTO authority_service_certs (service_id, idx, der, created_ms)
				VALUES (?, ?, ?, ?)`), s.ID, i, nonNil(der), at); err != nil {
				return mapErr(err, law.L20, what)
			}
		}
		return db.insertStatus(ctx, tx, s.ID, s.History[0])
	})
}

// AppendStatus records the next status change of a service. The service's row is
// locked, so two changes never both extend the same history.
func (db *DB) AppendStatus(ctx context.Context, serviceID string, c authority.StatusChange, e auditlog.Entry) error {
	const what = "record the status change"
	return db.write(ctx, what, []auditlog.Entry{e}, func(tx *txn) error {
		var id string
		err := tx.QueryRowContext(ctx, db.Rebind(`SELECT id FROM authority_services WHERE id = ?`+db.forUpdate()), serviceID).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			return notFound("no service %q in the register", serviceID)
		}
		if err != nil {
			return mapErr(err, law.L15, what)
		}
		var last int
		err = tx.QueryRowContext(ctx, db.Rebind(`SELECT COALESCE(MAX(seq), 0) FROM authority_status_changes WHERE service_id = ?`),
			serviceID).Scan(&last)
		if err != nil {
			return mapErr(err, law.L15, what)
		}
		if last != c.Seq-1 {
			return errkind.New(errkind.Conflict, law.L15, "the service's status changed meanwhile; read it again")
		}
		return db.insertStatus(ctx, tx, serviceID, c)
	})
}

func (db *DB) insertStatus(ctx context.Context, tx *txn, serviceID string, c authority.StatusChange) error {
	_, err := tx.ExecContext(ctx, db.Rebind(`INSERT INTO authority_status_changes (service_id, seq, status, from_ms, decision,
		note, created_ms) VALUES (?, ?, ?, ?, ?, ?, ?)`),
		serviceID, c.Seq, string(c.Status), ms(c.From), c.Decision, c.Note, ms(c.RecordedAt))
	return mapErr(err, law.L15, "record the status change")
}

// RecordInsurance records a CSP's liability insurance (L-21-3-6).
func (db *DB) RecordInsurance(ctx context.Context, i authority.Insurance, e auditlog.Entry) error {
	const what = "record the insurance"
	return db.write(ctx, what, []auditlog.Entry{e}, func(tx *txn) error {
		_, err := tx.ExecContext(ctx, db.Rebind(`INSERT INTO authority_insurances (id, csp_id, insurer, policy, cover_mad,
			valid_from_ms, valid_until_ms, created_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`),
			i.ID, i.CSPID, i.Insurer, i.Policy, i.CoverMAD, ms(i.ValidFrom), ms(i.ValidUntil), ms(i.RecordedAt))
		return mapErr(err, law.L21_3_6, what)
	})
}

// RecordAudit records an audit and its findings (L-15).
func (db *DB) RecordAudit(ctx context.Context, a authority.Audit, e auditlog.Entry) error {
	const what = "record the audit"
	return db.write(ctx, what, []auditlog.Entry{e}, func(tx *txn) error {
		if _, err := tx.ExecContext(ctx, db.Rebind(`INSERT INTO authority_audits (id, csp_id, service_id, kind, auditor, date_ms,
			report_ref, outcome, created_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`),
			a.ID, a.CSPID, optString(a.ServiceID), string(a.Kind), a.Auditor, ms(a.Date), a.ReportRef, string(a.Outcome),
			ms(a.RecordedAt)); err != nil {
			return mapErr(err, law.L15, what)
		}
		for i, f := range a.Findings {
			if _, err := tx.ExecContext(ctx, db.Rebind(`INSERT INTO authority_audit_findings (audit_id, idx, severity, finding,
				created_ms) VALUES (?, ?, ?, ?, ?)`), a.ID, i, string(f.Severity), f.Text, ms(a.RecordedAt)); err != nil {
				return mapErr(err, law.L15, what)
			}
		}
		return nil
	})
}

// RecordSanction records a sanction (L-15).
func (db *DB) RecordSanction(ctx context.Context, s authority.Sanction, e auditlog.Entry) error {
	const what = "record the sanction"
	return db.write(ctx, what, []auditlog.Entry{e}, func(tx *txn) error {
		_, err := tx.ExecContext(ctx, db.Rebind(`INSERT INTO authority_sanctions (id, csp_id, service_id, kind, decision,
			decided_ms, amount_mad, note, created_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`),
			s.ID, s.CSPID, optString(s.ServiceID), string(s.Kind), s.Decision, ms(s.DecidedAt), s.AmountMAD, s.Note,
			ms(s.RecordedAt))
		return mapErr(err, law.L15, what)
	})
}

// RecordCrypto records a cryptography declaration or authorisation (L-13).
func (db *DB) RecordCrypto(ctx context.Context, d authority.CryptoDeclaration, e auditlog.Entry) error {
	const what = "record the cryptography declaration"
	return db.write(ctx, what, []auditlog.Entry{e}, func(tx *txn) error {
		_, err := tx.ExecContext(ctx, db.Rebind(`INSERT INTO authority_crypto (id, csp_id, kind, purpose, means, reference,
			decided_ms, valid_until_ms, created_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`),
			d.ID, d.CSPID, string(d.Kind), string(d.Purpose), d.Means, d.Reference, ms(d.DecidedAt), optMS(d.ValidUntil),
			ms(d.RecordedAt))
		return mapErr(err, law.L13, what)
	})
}

// RecordAgreement records a recognition agreement, its parties and the foreign
// lists it points to with their signing certificates (L-22).
func (db *DB) RecordAgreement(ctx context.Context, a authority.Agreement, e auditlog.Entry) error {
	const what = "record the agreement"
	return db.write(ctx, what, []auditlog.Entry{e}, func(tx *txn) error {
		at := ms(a.RecordedAt)
		if _, err := tx.ExecContext(ctx, db.Rebind(`INSERT INTO authority_agreements (id, reference, kind, title, signed_ms,
			created_ms) VALUES (?, ?, ?, ?, ?, ?)`), a.ID, a.Reference, string(a.Kind), a.Title, ms(a.SignedAt), at); err != nil {
			return mapErr(err, law.L22, what)
		}
		for _, c := range a.Countries {
			if _, err := tx.ExecContext(ctx, db.Rebind(`INSERT INTO authority_agreement_countries (agreement_id, country,
				created_ms) VALUES (?, ?, ?)`), a.ID, c, at); err != nil {
				return mapErr(err, law.L22, what)
			}
		}
		for i, l := range a.Lists {
			if _, err := tx.ExecContext(ctx, db.Rebind(`INSERT INTO authority_agreement_lists (agreement_id, idx, location,
				territory, operator_name, created_ms) VALUES (?, ?, ?, ?, ?, ?)`),
				a.ID, i, l.Location, l.Territory, l.OperatorName, at); err != nil {
				return mapErr(err, law.L22, what)
			}
			for j, der := range l.Certificates {
				if _, err := tx.ExecContext(ctx, db.Rebind(`INSERT INTO authority_agreement_list_certs (agreement_id, list_idx,
					idx, der, created_ms) VALUES (?, ?, ?, ?, ?)`), a.ID, i, j, nonNil(der), at); err != nil {
					return mapErr(err, law.L22, what)
				}
			}
		}
		return nil
	})
}

const cspVersionColumns = `csp_id, version, name, country, id_kind, id_number, seat, information_uri, agreement_id, created_ms`

// AuthorityCSP returns the latest version of a CSP's record.
func (db *DB) AuthorityCSP(ctx context.Context, id string) (authority.CSP, error) {
	cs, err := db.cspVersions(ctx, `WHERE csp_id = ? ORDER BY version DESC LIMIT 1`, id)
	if err != nil {
		return authority.CSP{}, err
	}
	if len(cs) == 0 {
		return authority.CSP{}, notFound("no CSP %q in the register", id)
	}
	return cs[0], nil
}

func (db *DB) cspVersions(ctx context.Context, where string, args ...any) ([]authority.CSP, error) {
	rows, err := db.r.QueryContext(ctx, db.Rebind(`SELECT `+cspVersionColumns+` FROM authority_csp_versions `+where), args...)
	if err != nil {
		return nil, mapErr(err, law.LInternal, "read CSPs")
	}
	defer rows.Close()
	var out []authority.CSP
	for rows.Next() {
		var c authority.CSP
		var kind string
		var agreement sql.NullString
		var at int64
		if err := rows.Scan(&c.ID, &c.Version, &c.Name, &c.Country, &kind, &c.IDNumber, &c.Seat, &c.InformationURI,
			&agreement, &at); err != nil {
			return nil, mapErr(err, law.LInternal, "read CSPs")
		}
		c.IDKind, c.AgreementID, c.RecordedAt = authority.IDKind(kind), agreement.String, fromMS(at)
		out = append(out, c)
	}
	return out, mapErr(rows.Err(), law.LInternal, "read CSPs")
}

// AuthorityService returns a service with its qualifiers, certificates and history.
func (db *DB) AuthorityService(ctx context.Context, id string) (authority.TrustService, error) {
	ss, err := db.trustServices(ctx, id)
	if err != nil {
		return authority.TrustService{}, err
	}
	if len(ss) == 0 {
		return authority.TrustService{}, notFound("no service %q in the register", id)
	}
	return ss[0], nil
}

// trustServices reads one service (id set) or all, in the order recorded.
func (db *DB) trustServices(ctx context.Context, id string) ([]authority.TrustService, error) {
	where, child := "", ""
	var args []any
	if id != "" {
		where, child, args = " WHERE id = ?", " WHERE service_id = ?", []any{id}
	}
	const what = "read trust services"
	var out []authority.TrustService
	idx := map[string]int{}
	err := db.each(ctx, what, `SELECT id, csp_id, type, name, created_ms FROM authority_services`+where+
		` ORDER BY created_ms, id`, args, func(rows *sql.Rows) error {
		var s authority.TrustService
		var at int64
		if err := rows.Scan(&s.ID, &s.CSPID, &s.Type, &s.Name, &at); err != nil {
			return err
		}
		s.RecordedAt, s.Certificates, s.History = fromMS(at), [][]byte{}, []authority.StatusChange{}
		idx[s.ID] = len(out)
		out = append(out, s)
		return nil
	})
	if err != nil {
		return nil, err
	}
	err = db.each(ctx, what, `SELECT service_id, qualifier FROM authority_service_qualifiers`+child+
		` ORDER BY service_id, qualifier`, args, func(rows *sql.Rows) error {
		var sid, q string
		if err := rows.Scan(&sid, &q); err != nil {
			return err
		}
		if i, ok := idx[sid]; ok {
			out[i].Qualifiers = append(out[i].Qualifiers, authority.Qualifier(q))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	err = db.each(ctx, what, `SELECT service_id, der FROM authority_service_certs`+child+
		` ORDER BY service_id, idx`, args, func(rows *sql.Rows) error {
		var sid string
		var der []byte
		if err := rows.Scan(&sid, &der); err != nil {
			return err
		}
		if i, ok := idx[sid]; ok {
			out[i].Certificates = append(out[i].Certificates, der)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	err = db.each(ctx, what, `SELECT service_id, seq, status, from_ms, decision, note, created_ms
		FROM authority_status_changes`+child+` ORDER BY service_id, seq`, args, func(rows *sql.Rows) error {
		var sid, status string
		var c authority.StatusChange
		var from, at int64
		if err := rows.Scan(&sid, &c.Seq, &status, &from, &c.Decision, &c.Note, &at); err != nil {
			return err
		}
		c.Status, c.From, c.RecordedAt = authority.Status(status), fromMS(from), fromMS(at)
		if i, ok := idx[sid]; ok {
			out[i].History = append(out[i].History, c)
		}
		return nil
	})
	return out, err
}

// AuthorityAgreement returns a recognition agreement with its parties and lists.
func (db *DB) AuthorityAgreement(ctx context.Context, id string) (authority.Agreement, error) {
	as, err := db.agreements(ctx, id)
	if err != nil {
		return authority.Agreement{}, err
	}
	if len(as) == 0 {
		return authority.Agreement{}, notFound("no recognition agreement %q in the register", id)
	}
	return as[0], nil
}

// agreements reads one agreement (id set) or all, in the order recorded.
func (db *DB) agreements(ctx context.Context, id string) ([]authority.Agreement, error) {
	where, child := "", ""
	var args []any
	if id != "" {
		where, child, args = " WHERE id = ?", " WHERE agreement_id = ?", []any{id}
	}
	const what = "read agreements"
	var out []authority.Agreement
	idx := map[string]int{}
	err := db.each(ctx, what, `SELECT id, reference, kind, title, signed_ms, created_ms FROM authority_agreements`+where+
		` ORDER BY created_ms, id`, args, func(rows *sql.Rows) error {
		var a authority.Agreement
		var kind string
		var signed, at int64
		if err := rows.Scan(&a.ID, &a.Reference, &kind, &a.Title, &signed, &at); err != nil {
			return err
		}
		a.Kind, a.SignedAt, a.RecordedAt = authority.AgreementKind(kind), fromMS(signed), fromMS(at)
		idx[a.ID] = len(out)
		out = append(out, a)
		return nil
	})
	if err != nil {
		return nil, err
	}
	err = db.each(ctx, what, `SELECT agreement_id, country FROM authority_agreement_countries`+child+
		` ORDER BY agreement_id, country`, args, func(rows *sql.Rows) error {
		var aid, c string
		if err := rows.Scan(&aid, &c); err != nil {
			return err
		}
		if i, ok := idx[aid]; ok {
			out[i].Countries = append(out[i].Countries, c)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	err = db.each(ctx, what, `SELECT agreement_id, location, territory, operator_name FROM authority_agreement_lists`+child+
		` ORDER BY agreement_id, idx`, args, func(rows *sql.Rows) error {
		var aid string
		l := authority.TrustedListPointer{Certificates: [][]byte{}}
		if err := rows.Scan(&aid, &l.Location, &l.Territory, &l.OperatorName); err != nil {
			return err
		}
		if i, ok := idx[aid]; ok {
			out[i].Lists = append(out[i].Lists, l)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	err = db.each(ctx, what, `SELECT agreement_id, list_idx, der FROM authority_agreement_list_certs`+child+
		` ORDER BY agreement_id, list_idx, idx`, args, func(rows *sql.Rows) error {
		var aid string
		var li int
		var der []byte
		if err := rows.Scan(&aid, &li, &der); err != nil {
			return err
		}
		if i, ok := idx[aid]; ok && li < len(out[i].Lists) {
			out[i].Lists[li].Certificates = append(out[i].Lists[li].Certificates, der)
		}
		return nil
	})
	return out, err
}

// AuthorityRecords returns every record of the register, each kind in the order
// recorded. Parents are read before their children, and each is written in one
// transaction with its children, so a record read is never missing a part.
func (db *DB) AuthorityRecords(ctx context.Context) (authority.Records, error) {
	var rs authority.Records
	var err error
	if rs.CSPs, err = db.cspVersions(ctx, `ORDER BY csp_id, version`); err != nil {
		return rs, err
	}
	if rs.Services, err = db.trustServices(ctx, ""); err != nil {
		return rs, err
	}
	if rs.Agreements, err = db.agreements(ctx, ""); err != nil {
		return rs, err
	}
	err = db.each(ctx, "read insurances", `SELECT id, csp_id, insurer, policy, cover_mad, valid_from_ms, valid_until_ms,
		created_ms FROM authority_insurances ORDER BY created_ms, id`, nil, func(rows *sql.Rows) error {
		var i authority.Insurance
		var from, until, at int64
		if err := rows.Scan(&i.ID, &i.CSPID, &i.Insurer, &i.Policy, &i.CoverMAD, &from, &until, &at); err != nil {
			return err
		}
		i.ValidFrom, i.ValidUntil, i.RecordedAt = fromMS(from), fromMS(until), fromMS(at)
		rs.Insurances = append(rs.Insurances, i)
		return nil
	})
	if err != nil {
		return rs, err
	}
	audits := map[string]int{}
	err = db.each(ctx, "read audits", `SELECT id, csp_id, service_id, kind, auditor, date_ms, report_ref, outcome, created_ms
		FROM authority_audits ORDER BY created_ms, id`, nil, func(rows *sql.Rows) error {
		var a authority.Audit
		var svc sql.NullString
		var kind, outcome string
		var date, at int64
		if err := rows.Scan(&a.ID, &a.CSPID, &svc, &kind, &a.Auditor, &date, &a.ReportRef, &outcome, &at); err != nil {
			return err
		}
		a.ServiceID, a.Kind, a.Outcome, a.Date, a.RecordedAt = svc.String, authority.AuditKind(kind), authority.Outcome(outcome),
			fromMS(date), fromMS(at)
		audits[a.ID] = len(rs.Audits)
		rs.Audits = append(rs.Audits, a)
		return nil
	})
	if err != nil {
		return rs, err
	}
	err = db.each(ctx, "read audit findings", `SELECT audit_id, severity, finding FROM authority_audit_findings
		ORDER BY audit_id, idx`, nil, func(rows *sql.Rows) error {
		var aid, sev string
		var f authority.Finding
		if err := rows.Scan(&aid, &sev, &f.Text); err != nil {
			return err
		}
		f.Severity = authority.Severity(sev)
		if i, ok := audits[aid]; ok {
			rs.Audits[i].Findings = append(rs.Audits[i].Findings, f)
		}
		return nil
	})
	if err != nil {
		return rs, err
	}
	err = db.each(ctx, "read sanctions", `SELECT id, csp_id, service_id, kind, decision, decided_ms, amount_mad, note, created_ms
		FROM authority_sanctions ORDER BY created_ms, id`, nil, func(rows *sql.Rows) error {
		var s authority.Sanction
		var svc sql.NullString
		var kind string
		var decided, at int64
		if err := rows.Scan(&s.ID, &s.CSPID, &svc, &kind, &s.Decision, &decided, &s.AmountMAD, &s.Note, &at); err != nil {
			return err
		}
		s.ServiceID, s.Kind, s.DecidedAt, s.RecordedAt = svc.String, authority.SanctionKind(kind), fromMS(decided), fromMS(at)
		rs.Sanctions = append(rs.Sanctions, s)
		return nil
	})
	if err != nil {
		return rs, err
	}
	err = db.each(ctx, "read cryptography declarations", `SELECT id, csp_id, kind, purpose, means, reference, decided_ms,
		valid_until_ms, created_ms FROM authority_crypto ORDER BY created_ms, id`, nil, func(rows *sql.Rows) error {
		var d authority.CryptoDeclaration
		var kind, purpose string
		var decided, at int64
		var until sql.NullInt64
		if err := rows.Scan(&d.ID, &d.CSPID, &kind, &purpose, &d.Means, &d.Reference, &decided, &until, &at); err != nil {
			return err
		}
		d.Kind, d.Purpose, d.DecidedAt, d.ValidUntil, d.RecordedAt = authority.CryptoKind(kind), authority.CryptoPurpose(purpose),
			fromMS(decided), fromOptMS(until), fromMS(at)
		rs.Crypto = append(rs.Crypto, d)
		return nil
	})
	return rs, err
}

// each runs a read query and calls scan for every row.
func (db *DB) each(ctx context.Context, what, q string, args []any, scan func(*sql.Rows) error) error {
	rows, err := db.r.QueryContext(ctx, db.Rebind(q), args...)
	if err != nil {
		return mapErr(err, law.LInternal, what)
	}
	defer rows.Close()
	for rows.Next() {
		if err := scan(rows); err != nil {
			return mapErr(err, law.LInternal, what)
		}
	}
	return mapErr(rows.Err(), law.LInternal, what)
}
