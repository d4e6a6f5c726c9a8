package store

import (
	"context"
	"database/sql"
	"errors"
	"slices"

	"github.com/tawthiq/tawthiq/internal/auditlog"
	"github.com/tawthiq/tawthiq/internal/ca"
	"github.com/tawthiq/tawthiq/internal/law"
	"github.com/tawthiq/tawthiq/internal/orders"
	"github.com/tawthiq/tawthiq/internal/ra"
)

var _ orders.Store = (*DB)(nil)

// Scope item kinds of a judicial order.
const (
	scopeHolder      = "holder"
	scopeCertificate = "certificate"
)

// PutOrder records a judicial order and its scope in one transaction (L-21-3-7 b).
func (db *DB) PutOrder(ctx context.Context, o orders.Order, e auditlog.Entry) error {
	ins := db.Rebind(`INSERT INTO judicial_orders (ref, court, order_date_ms, kind, note, recorded_by, created_ms)
		VALUES (?, ?, ?, ?, ?, ?, ?)`)
	item := db.Rebind(`INSERT INTO judicial_order_scope (ref, item_kind, item, created_ms) VALUES (?, ?, ?, ?)`)
	return db.write(ctx, "record the judicial order", []auditlog.Entry{e}, func(tx *txn) error {
		if _, err := tx.ExecContext(ctx, ins, o.Ref, o.Court, ms(o.Date), string(o.Kind), o.Note, o.RecordedBy, ms(o.RecordedAt)); err != nil {
			return mapErr(err, law.L21_3_7, "record the judicial order")
		}
		for kind, items := range map[string][]string{scopeHolder: o.Holders, scopeCertificate: o.Serials} {
			for _, it := range items {
				if _, err := tx.ExecContext(ctx, item, o.Ref, kind, it, ms(o.RecordedAt)); err != nil {
					return mapErr(err, law.L21_3_7, "record the order's scope")
				}
			}
		}
		return nil
	})
}

// Order returns a judicial order with its scope and completion.
func (db *DB) Order(ctx context.Context, ref string) (*orders.Order, error) {
	var o orders.Order
	var kind string
	var date, recorded int64
	err := db.r.QueryRowContext(ctx, db.Rebind(`SELECT ref, court, order_date_ms, kind, note, recorded_by, created_ms
		FROM judicial_orders WHERE ref = ?`), ref).Scan(&o.Ref, &o.Court, &date, &kind, &o.Note, &o.RecordedBy, &recorded)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("no judicial order %q", ref)
	}
	if err != nil {
		return nil, mapErr(err, law.LInternal, "read the judicial order")
	}
	o.Kind, o.Date, o.RecordedAt = orders.Kind(kind), fromMS(date), fromMS(recorded)
	rows, err := db.r.QueryContext(ctx, db.Rebind(`SELECT item_kind, item FROM judicial_order_scope WHERE ref = ? ORDER BY item_kind, item`), ref)
	if err != nil {
		return nil, mapErr(err, law.LInternal, "read the order's scope")
	}
	defer rows.Close()
	for rows.Next() {
		var k, it string
		if err := rows.Scan(&k, &it); err != nil {
			return nil, mapErr(err, law.LInternal, "read the order's scope")
		}
		if k == scopeHolder {
			o.Holders = append(o.Holders, it)
		} else {
			o.Serials = append(o.Serials, it)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, mapErr(err, law.LInternal, "read the order's scope")
	}
	var c orders.Completion
	var at int64
	err = db.r.QueryRowContext(ctx, db.Rebind(`SELECT certificates, revoked, holders, created_ms
		FROM judicial_order_completions WHERE ref = ?`), ref).Scan(&c.Certificates, &c.Revoked, &c.Holders, &at)
	switch {
	case err == nil:
		c.At = fromMS(at)
		o.Completion = &c
	case !errors.Is(err, sql.ErrNoRows):
		return nil, mapErr(err, law.LInternal, "read the order's completion")
	}
	return &o, nil
}

// UnknownScope returns the named holders with no application and the serials of no certificate.
func (db *DB) UnknownScope(ctx context.Context, holders, serials []string) ([]string, error) {
	known := map[string]bool{}
	collect := func(q string) func(string, []any) error {
		return func(ph string, args []any) error {
			rows, err := db.r.QueryContext(ctx, db.Rebind(q+" IN ("+ph+")"), args...)
			if err != nil {
				return mapErr(err, law.LInternal, "check the order's scope")
			}
			defer rows.Close()
			for rows.Next() {
				var s string
				if err := rows.Scan(&s); err != nil {
					return mapErr(err, law.LInternal, "check the order's scope")
				}
				known[s] = true
			}
			return mapErr(rows.Err(), law.LInternal, "check the order's scope")
		}
	}
	if err := inLists(holders, collect("SELECT DISTINCT submitted_by FROM applications WHERE submitted_by")); err != nil {
		return nil, err
	}
	if err := inLists(serials, collect("SELECT serial FROM certificates WHERE serial")); err != nil {
		return nil, err
	}
	var out []string
	for _, s := range slices.Concat(holders, serials) {
		if !known[s] {
			out = append(out, s)
		}
	}
	return out, nil
}

// OrderTargets returns the certificates an order names and the issued certificates
// of the holders it names, with each holder's contact choices, in serial order.
func (db *DB) OrderTargets(ctx context.Context, ref string) ([]orders.Target, error) {
	q := db.Rebind(`SELECT c.serial, c.ca, c.application_id, a.submitted_by, c.status, r.order_ref,
		a.consent_email, a.contact_email, a.language
		FROM certificates c JOIN applications a ON a.id = c.application_id
		LEFT JOIN revocations r ON r.serial = c.serial
		WHERE c.serial IN (SELECT item FROM judicial_order_scope WHERE ref = ? AND item_kind = 'certificate')
		OR (c.status = 'issued' AND a.submitted_by IN
			(SELECT item FROM judicial_order_scope WHERE ref = ? AND item_kind = 'holder'))
		ORDER BY c.serial`)
	rows, err := db.r.QueryContext(ctx, q, ref, ref)
	if err != nil {
		return nil, mapErr(err, law.LInternal, "read the order's certificates")
	}
	defer rows.Close()
	var out []orders.Target
	for rows.Next() {
		var t orders.Target
		var status string
		var orderRef sql.NullString
		if err := rows.Scan(&t.Serial, &t.CA, &t.ApplicationID, &t.HolderID, &status, &orderRef,
			&t.ConsentEmail, &t.ContactEmail, &t.Language); err != nil {
			return nil, mapErr(err, law.LInternal, "read the order's certificates")
		}
		t.Issued, t.Revoked, t.OrderRef = status == string(ca.StatusIssued), orderRef.Valid, orderRef.String
		out = append(out, t)
	}
	return out, mapErr(rows.Err(), law.LInternal, "read the order's certificates")
}

// CompleteOrder records an order's completion once.
func (db *DB) CompleteOrder(ctx context.Context, ref string, c orders.Completion, e auditlog.Entry) error {
	var n int
	if err := db.r.QueryRowContext(ctx, db.Rebind(`SELECT count(*) FROM judicial_order_completions WHERE ref = ?`), ref).Scan(&n); err != nil {
		return mapErr(err, law.LInternal, "read the order's completion")
	}
	if n > 0 {
		return nil // completed by an earlier run: its record stands
	}
	q := db.Rebind(`INSERT INTO judicial_order_completions (ref, certificates, revoked, holders, created_ms)
		VALUES (?, ?, ?, ?, ?) ON CONFLICT (ref) DO NOTHING`)
	return db.write(ctx, "record the order's completion", []auditlog.Entry{e}, func(tx *txn) error {
		_, err := tx.ExecContext(ctx, q, ref, c.Certificates, c.Revoked, c.Holders, ms(c.At))
		return mapErr(err, law.L21_3_7, "record the order's completion")
	})
}

// HolderApplications returns the applications a holder submitted, oldest first.
func (db *DB) HolderApplications(ctx context.Context, holderID string) ([]ra.Application, error) {
	rows, err := db.r.QueryContext(ctx, db.Rebind(`SELECT id FROM applications WHERE submitted_by = ? ORDER BY created_ms, id`), holderID)
	if err != nil {
		return nil, mapErr(err, law.LInternal, "read the holder's applications")
	}
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, mapErr(err, law.LInternal, "read the holder's applications")
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, mapErr(err, law.LInternal, "read the holder's applications")
	}
	out := make([]ra.Application, 0, len(ids))
	for _, id := range ids {
		a, err := db.Application(ctx, id)
		if err != nil {
			return nil, err
		}
		out = append(out, *a)
	}
	return out, nil
}

// ApplicationCertificates returns the certificates of an application, oldest first.
func (db *DB) ApplicationCertificates(ctx context.Context, applicationID string) ([]ca.Certificate, error) {
	rows, err := db.r.QueryContext(ctx, db.Rebind("SELECT "+certColumns+` FROM certificates
		WHERE application_id = ? ORDER BY created_ms, serial`), applicationID)
	if err != nil {
		return nil, mapErr(err, law.LInternal, "read the application's certificates")
	}
	defer rows.Close()
	var out []ca.Certificate
	for rows.Next() {
		c, err := scanCertificate(rows)
		if err != nil {
			return nil, mapErr(err, law.LInternal, "read the application's certificates")
		}
		out = append(out, *c)
	}
	return out, mapErr(rows.Err(), law.LInternal, "read the application's certificates")
}

// PutDisclosure records a disclosure, its holders and its export in one transaction (L-24).
func (db *DB) PutDisclosure(ctx context.Context, d orders.Disclosure, entries []auditlog.Entry) error {
	ins := db.Rebind(`INSERT INTO disclosures (ref, office, order_date_ms, recorded_by, export, export_sha256, created_ms)
		VALUES (?, ?, ?, ?, ?, ?, ?)`)
	h := db.Rebind(`INSERT INTO disclosure_holders (ref, holder_id, created_ms) VALUES (?, ?, ?)`)
	return db.write(ctx, "record the disclosure", entries, func(tx *txn) error {
		if _, err := tx.ExecContext(ctx, ins, d.Ref, d.Office, ms(d.Date), d.RecordedBy, nonNil(d.Export),
			nonNil(d.ExportSHA256), ms(d.RecordedAt)); err != nil {
			return mapErr(err, law.L24, "record the disclosure")
		}
		for _, holder := range d.Holders {
			if _, err := tx.ExecContext(ctx, h, d.Ref, holder, ms(d.RecordedAt)); err != nil {
				return mapErr(err, law.L24, "record the disclosure's holders")
			}
		}
		return nil
	})
}

// Disclosure returns a disclosure with its holders and export.
func (db *DB) Disclosure(ctx context.Context, ref string) (*orders.Disclosure, error) {
	var d orders.Disclosure
	var date, recorded int64
	err := db.r.QueryRowContext(ctx, db.Rebind(`SELECT ref, office, order_date_ms, recorded_by, export, export_sha256, created_ms
		FROM disclosures WHERE ref = ?`), ref).Scan(&d.Ref, &d.Office, &date, &d.RecordedBy, &d.Export, &d.ExportSHA256, &recorded)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("no disclosure %q", ref)
	}
	if err != nil {
		return nil, mapErr(err, law.LInternal, "read the disclosure")
	}
	d.Date, d.RecordedAt = fromMS(date), fromMS(recorded)
	rows, err := db.r.QueryContext(ctx, db.Rebind(`SELECT holder_id FROM disclosure_holders WHERE ref = ? ORDER BY holder_id`), ref)
	if err != nil {
		return nil, mapErr(err, law.LInternal, "read the disclosure's holders")
	}
	defer rows.Close()
	for rows.Next() {
		var h string
		if err := rows.Scan(&h); err != nil {
			return nil, mapErr(err, law.LInternal, "read the disclosure's holders")
		}
		d.Holders = append(d.Holders, h)
	}
	return &d, mapErr(rows.Err(), law.LInternal, "read the disclosure's holders")
}
