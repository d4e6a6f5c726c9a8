package store

import (
	"context"
	"errors"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/tawthiq/tawthiq/internal/errkind"
	"github.com/tawthiq/tawthiq/internal/law"
)

// refusal is a driver error reduced to what both dialects share.
type refusal int

const (
	otherError  refusal = iota
	duplicate           // unique or primary key
	missingRef          // foreign key
	badValue            // check or not-null constraint
	ruleRefused         // one of our triggers
	busy                // lock or serialisation failure: retry later
)

// mapErr is the one place where driver errors become errkind errors. ref is the rule
// a missing referenced row breaks (e.g. L-21-2 for a certificate without its
// application); triggers name their rule at the start of their message.
func mapErr(err error, ref law.ID, what string) error {
	if err == nil {
		return nil
	}
	var ke *errkind.Error
	if errors.As(err, &ke) {
		return err
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return errkind.Wrap(errkind.Unavailable, err, "%s: cancelled", what)
	}
	kind, msg := classify(err)
	switch kind {
	case duplicate:
		return &errkind.Error{Kind: errkind.Conflict, Detail: what + ": already recorded", Err: err}
	case missingRef:
		return &errkind.Error{Kind: errkind.Invalid, Rule: ref, Detail: what + ": a record it refers to does not exist", Err: err}
	case badValue:
		return &errkind.Error{Kind: errkind.Invalid, Detail: what + ": a value is out of range", Err: err}
	case ruleRefused:
		rule, detail := ruleOf(msg)
		return &errkind.Error{Kind: errkind.Forbidden, Rule: rule, Detail: what + ": " + detail, Err: err}
	case busy:
		return &errkind.Error{Kind: errkind.Unavailable, Detail: what + ": the database is busy", Err: err}
	}
	return errkind.Wrap(errkind.Internal, err, "%s", what)
}

// classify reads the driver's code: SQLite extended result codes, PostgreSQL SQLSTATE.
func classify(err error) (refusal, string) {
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return duplicate, se.Error()
		case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
			return missingRef, se.Error()
		case sqlite3.SQLITE_CONSTRAINT_CHECK, sqlite3.SQLITE_CONSTRAINT_NOTNULL:
			return badValue, se.Error()
		case sqlite3.SQLITE_CONSTRAINT_TRIGGER:
			return ruleRefused, se.Error()
		}
		if se.Code()&0xff == sqlite3.SQLITE_BUSY || se.Code()&0xff == sqlite3.SQLITE_LOCKED {
			return busy, se.Error()
		}
		return otherError, se.Error()
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case "23505":
			return duplicate, pe.Message
		case "23503":
			return missingRef, pe.Message
		case "23514", "23502":
			return badValue, pe.Message
		case "P0001":
			return ruleRefused, pe.Message
		case "40001", "40P01", "55P03":
			return busy, pe.Message
		}
		return otherError, pe.Message
	}
	return otherError, err.Error()
}

// ruleOf splits a trigger message "L-21-2: detail" into its rule and detail.
func ruleOf(msg string) (law.ID, string) {
	i := strings.Index(msg, "L-")
	if i < 0 {
		return law.LInternal, msg
	}
	rest := msg[i:]
	rule, detail, ok := strings.Cut(rest, ": ")
	if !ok {
		return law.LInternal, msg
	}
	// SQLite appends " (1811)" after the trigger's text.
	if j := strings.LastIndex(detail, " ("); j > 0 && strings.HasSuffix(detail, ")") {
		detail = detail[:j]
	}
	return law.ID(rule), detail
}

// MapError maps a driver error from a statement run directly on SQL() (tests that
// tamper with rows) the way the store's own methods do.
func MapError(err error) error { return mapErr(err, law.LInternal, "database") }
