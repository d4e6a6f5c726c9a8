package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/tawthiq/tawthiq/internal/auditlog"
	"github.com/tawthiq/tawthiq/internal/contract"
	"github.com/tawthiq/tawthiq/internal/errkind"
	"github.com/tawthiq/tawthiq/internal/law"
	"github.com/tawthiq/tawthiq/internal/validation"
)

var _ contract.Store = (*DB)(nil)

// PutOffer records a published version of an offer; the database keeps versions
// consecutive and never changes one (L-65-4).
func (db *DB) PutOffer(ctx context.Context, o contract.Offer, e auditlog.Entry) error {
	const what = "record the offer"
	missing := make([]string, len(o.Missing))
	for i, m := range o.Missing {
		missing[i] = string(m)
	}
	var until sql.NullInt64
	if o.Terms.ValidUntil != nil {
		until = sql.NullInt64{Int64: ms(*o.Terms.ValidUntil), Valid: true}
	}
	return db.write(ctx, what, []auditlog.Entry{e}, func(tx *txn) error {
		_, err := tx.ExecContext(ctx, db.Rebind(`INSERT INTO contract_offers (id, version, offeror_id, seal, category,
			binding, missing, valid_until_ms, document, sha256, created_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
			o.ID, o.Version, o.OfferorID, o.Terms.Seal, string(o.Terms.Category), o.Binding, strings.Join(missing, ","),
			until, o.Document, o.SHA256, ms(o.PublishedAt))
		return mapErr(err, law.L65_4, what)
	})
}

// Offer returns a version of an offer; version 0 is the latest.
func (db *DB) Offer(ctx context.Context, id string, version int) (*contract.Offer, error) {
	q := `SELECT id, version, offeror_id, binding, missing, document, sha256, created_ms,
		EXISTS (SELECT 1 FROM contract_offers n WHERE n.id = o.id AND n.version > o.version)
		FROM contract_offers o WHERE id = ?`
	args := []any{id}
	if version > 0 {
		q += ` AND version = ?`
		args = append(args, version)
	} else {
		q += ` ORDER BY version DESC LIMIT 1`
	}
	var o contract.Offer
	var missing string
	var created int64
	err := db.r.QueryRowContext(ctx, db.Rebind(q), args...).Scan(&o.ID, &o.Version, &o.OfferorID, &o.Binding, &missing,
		&o.Document, &o.SHA256, &created, &o.Superseded)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("no offer %q (version %d)", id, version)
	}
	if err != nil {
		return nil, mapErr(err, law.LInternal, "read the offer")
	}
	var doc struct {
		Terms contract.OfferTerms `json:"terms"`
	}
	if err := json.Unmarshal(o.Document, &doc); err != nil {
		return nil, errkind.Wrap(errkind.Internal, err, "offer %s: the stored document", id)
	}
	o.Terms, o.PublishedAt = doc.Terms, fromMS(created)
	for m := range strings.SplitSeq(missing, ",") {
		if m != "" {
			o.Missing = append(o.Missing, law.OfferItem(m))
		}
	}
	return &o, nil
}

// CreateContractOrder records a draft order with its first version.
func (db *DB) CreateContractOrder(ctx context.Context, o contract.Order, e auditlog.Entry) error {
	const what = "record the order"
	if len(o.Revisions) != 1 {
		return errkind.New(errkind.Invalid, law.L65_5, "an order starts with one version")
	}
	return db.write(ctx, what, []auditlog.Entry{e}, func(tx *txn) error {
		if _, err := tx.ExecContext(ctx, db.Rebind(`INSERT INTO contract_orders (id, offer_id, offer_version, customer_id,
			offeror_id, email, consent_email, language, created_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`),
			o.ID, o.OfferID, o.OfferVersion, o.CustomerID, o.OfferorID, o.Email, o.ConsentEmail, o.Language, ms(o.CreatedAt)); err != nil {
			return mapErr(err, law.L65_4, what)
		}
		return db.insertRevision(ctx, tx, o.ID, o.Revisions[0])
	})
}

func (db *DB) insertRevision(ctx context.Context, tx *txn, orderID string, r contract.Revision) error {
	lines, err := json.Marshal(r.Lines)
	if err != nil {
		return errkind.Wrap(errkind.Internal, err, "encoding the lines")
	}
	form, err := json.Marshal(r.Form)
	if err != nil {
		return errkind.Wrap(errkind.Internal, err, "encoding the form")
	}
	_, err = tx.ExecContext(ctx, db.Rebind(`INSERT INTO contract_order_revisions (order_id, revision, lines, form, created_ms)
		VALUES (?, ?, ?, ?, ?)`), orderID, r.N, string(lines), string(form), ms(r.CreatedAt))
	return mapErr(err, law.L65_5, "record the order's version")
}

// AddOrderRevision records a correction of an unconfirmed order.
func (db *DB) AddOrderRevision(ctx context.Context, orderID string, r contract.Revision, e auditlog.Entry) error {
	return db.write(ctx, "record the order's version", []auditlog.Entry{e}, func(tx *txn) error {
		return db.insertRevision(ctx, tx, orderID, r)
	})
}

// AddOrderReview records what the customer was shown for the latest version.
func (db *DB) AddOrderReview(ctx context.Context, orderID string, r contract.Review, e auditlog.Entry) error {
	const what = "record the review"
	return db.write(ctx, what, []auditlog.Entry{e}, func(tx *txn) error {
		_, err := tx.ExecContext(ctx, db.Rebind(`INSERT INTO contract_order_reviews (order_id, revision, document, sha256,
			total_centimes, created_ms) VALUES (?, ?, ?, ?, ?, ?)`), orderID, r.Revision, r.Document, r.SHA256, r.Total, ms(r.ReviewedAt))
		return mapErr(err, law.L65_5, what)
	})
}

// ConfirmOrder records the confirmation, its acknowledgement, its messages and, if
// concludedAt is set, the conclusion, in one transaction.
func (db *DB) ConfirmOrder(ctx context.Context, orderID string, c contract.Confirmation, msgs []contract.Message, concludedAt time.Time, e auditlog.Entry) error {
	const what = "record the confirmation"
	return db.write(ctx, what, []auditlog.Entry{e}, func(tx *txn) error {
		if _, err := tx.ExecContext(ctx, db.Rebind(`INSERT INTO contract_confirmations (order_id, revision, document, sha256,
			ack, ack_sha256, deed_required, deed_requirement, created_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`),
			orderID, c.Revision, c.Document, c.SHA256, c.Ack, c.AckSHA256, c.DeedRequired, c.DeedRequirement, ms(c.ConfirmedAt)); err != nil {
			return mapErr(err, law.L65_5, what)
		}
		return db.conclude(ctx, tx, orderID, msgs, concludedAt)
	})
}

func (db *DB) conclude(ctx context.Context, tx *txn, orderID string, msgs []contract.Message, concludedAt time.Time) error {
	for _, m := range msgs {
		if _, err := tx.ExecContext(ctx, db.Rebind(`INSERT INTO contract_messages (order_id, kind, addressee, channel,
			recipient, created_ms) VALUES (?, ?, ?, ?, ?, ?)`), orderID, m.Kind, m.Addressee, m.Channel, m.Recipient, ms(m.AccessibleAt)); err != nil {
			return mapErr(err, law.L65_5, "record the message")
		}
	}
	if concludedAt.IsZero() {
		return nil
	}
	_, err := tx.ExecContext(ctx, db.Rebind(`INSERT INTO contract_conclusions (order_id, created_ms) VALUES (?, ?)`), orderID, ms(concludedAt))
	return mapErr(err, law.L443, "record the conclusion")
}

// AddOrderSignature records a party's signature and, if concludedAt is set, the conclusion.
func (db *DB) AddOrderSignature(ctx context.Context, orderID string, s contract.Signature, msgs []contract.Message, concludedAt time.Time, e auditlog.Entry) error {
	const what = "record the signature"
	return db.write(ctx, what, []auditlog.Entry{e}, func(tx *txn) error {
		if _, err := tx.ExecContext(ctx, db.Rebind(`INSERT INTO contract_signatures (order_id, party, signer_id, cms, sha256,
			qualified, indication, report, created_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`),
			orderID, string(s.Party), s.SignerID, s.CMS, s.SHA256, s.Qualified, string(s.Indication), string(s.Report), ms(s.CreatedAt)); err != nil {
			return mapErr(err, law.L65_5, what)
		}
		return db.conclude(ctx, tx, orderID, msgs, concludedAt)
	})
}

// ContractOrder returns an order with everything recorded for it.
func (db *DB) ContractOrder(ctx context.Context, id string) (*contract.Order, error) {
	const what = "read the order"
	var o contract.Order
	var created int64
	err := db.r.QueryRowContext(ctx, db.Rebind(`SELECT id, offer_id, offer_version, customer_id, offeror_id, email,
		consent_email, language, created_ms FROM contract_orders WHERE id = ?`), id).Scan(&o.ID, &o.OfferID, &o.OfferVersion,
		&o.CustomerID, &o.OfferorID, &o.Email, &o.ConsentEmail, &o.Language, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("no order %q", id)
	}
	if err != nil {
		return nil, mapErr(err, law.LInternal, what)
	}
	o.CreatedAt = fromMS(created)
	if err := db.orderParts(ctx, &o); err != nil {
		return nil, mapErr(err, law.LInternal, what)
	}
	return &o, nil
}

// orderParts reads an order's versions, reviews, confirmation, signatures, conclusion and messages.
func (db *DB) orderParts(ctx context.Context, o *contract.Order) error {
	err := db.eachRow(ctx, `SELECT revision, lines, form, created_ms FROM contract_order_revisions WHERE order_id = ? ORDER BY revision`,
		o.ID, func(rows *sql.Rows) error {
			var r contract.Revision
			var lines, form string
			var at int64
			if err := rows.Scan(&r.N, &lines, &form, &at); err != nil {
				return err
			}
			if err := json.Unmarshal([]byte(lines), &r.Lines); err != nil {
				return err
			}
			if err := json.Unmarshal([]byte(form), &r.Form); err != nil {
				return err
			}
			r.CreatedAt = fromMS(at)
			o.Revisions = append(o.Revisions, r)
			return nil
		})
	if err != nil {
		return err
	}
	err = db.eachRow(ctx, `SELECT revision, document, sha256, total_centimes, created_ms FROM contract_order_reviews WHERE order_id = ? ORDER BY revision`,
		o.ID, func(rows *sql.Rows) error {
			var r contract.Review
			var at int64
			if err := rows.Scan(&r.Revision, &r.Document, &r.SHA256, &r.Total, &at); err != nil {
				return err
			}
			r.ReviewedAt = fromMS(at)
			o.Reviews = append(o.Reviews, r)
			return nil
		})
	if err != nil {
		return err
	}
	var c contract.Confirmation
	var at int64
	err = db.r.QueryRowContext(ctx, db.Rebind(`SELECT revision, document, sha256, ack, ack_sha256, deed_required, deed_requirement,
		created_ms FROM contract_confirmations WHERE order_id = ?`), o.ID).Scan(&c.Revision, &c.Document, &c.SHA256, &c.Ack,
		&c.AckSHA256, &c.DeedRequired, &c.DeedRequirement, &at)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil // nothing after a confirmation exists without one
	case err != nil:
		return err
	}
	c.ConfirmedAt = fromMS(at)
	o.Confirmation = &c
	err = db.eachRow(ctx, `SELECT party, signer_id, cms, sha256, qualified, indication, report, created_ms
		FROM contract_signatures WHERE order_id = ? ORDER BY created_ms, party`, o.ID, func(rows *sql.Rows) error {
		var s contract.Signature
		var party, ind, report string
		var at int64
		if err := rows.Scan(&party, &s.SignerID, &s.CMS, &s.SHA256, &s.Qualified, &ind, &report, &at); err != nil {
			return err
		}
		s.Party, s.Indication, s.Report, s.CreatedAt = contract.Party(party), validation.Indication(ind), json.RawMessage(report), fromMS(at)
		o.Signatures = append(o.Signatures, s)
		return nil
	})
	if err != nil {
		return err
	}
	var concluded sql.NullInt64
	err = db.r.QueryRowContext(ctx, db.Rebind(`SELECT created_ms FROM contract_conclusions WHERE order_id = ?`), o.ID).Scan(&concluded)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	o.ConcludedAt = fromOptMS(concluded)
	return db.eachRow(ctx, `SELECT kind, addressee, channel, recipient, created_ms FROM contract_messages WHERE order_id = ?
		ORDER BY created_ms, kind, addressee`, o.ID, func(rows *sql.Rows) error {
		var m contract.Message
		var at int64
		if err := rows.Scan(&m.Kind, &m.Addressee, &m.Channel, &m.Recipient, &at); err != nil {
			return err
		}
		m.AccessibleAt = fromMS(at)
		o.Messages = append(o.Messages, m)
		return nil
	})
}

// eachRow runs q with one argument and calls scan for every row.
func (db *DB) eachRow(ctx context.Context, q string, arg any, scan func(*sql.Rows) error) error {
	rows, err := db.r.QueryContext(ctx, db.Rebind(q), arg)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := scan(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}
