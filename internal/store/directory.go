package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"strings"

	"github.com/tawthiq/tawthiq/internal/ca"
	"github.com/tawthiq/tawthiq/internal/directory"
	"github.com/tawthiq/tawthiq/internal/errkind"
	"github.com/tawthiq/tawthiq/internal/issuance"
	"github.com/tawthiq/tawthiq/internal/law"
)

var _ directory.Store = (*DB)(nil)

// nameScanFactor bounds the rows a name search reads for each result it may return:
// the SQL match on the stored subject is wider than the name match done here.
const nameScanFactor = 20

// DirectorySearch returns issued certificates whose holder consented to publication
// (L-21-2) and that match q (normalised by directory.Normalize). Consent is part of
// the query itself, so a certificate without it takes the same path as one that does
// not exist.
func (db *DB) DirectorySearch(ctx context.Context, q directory.Query, limit int) ([]directory.Entry, error) {
	const cols = `SELECT c.serial, c.ca, c.subject, c.not_before_ms, c.not_after_ms, c.der, a.subject, r.revoked_ms
		FROM certificates c JOIN applications a ON a.id = c.application_id
		LEFT JOIN revocations r ON r.serial = c.serial
		WHERE c.status = ? AND a.consent_directory = ? AND `
	const order = " ORDER BY c.not_after_ms DESC, c.serial LIMIT ?"
	if limit <= 0 {
		return nil, nil
	}
	var query string
	var arg any
	scan := limit
	switch q.By {
	case directory.BySerial:
		query, arg = cols+"c.serial = ?"+order, q.Value
	case directory.ByEmail:
		query, arg = cols+"lower(a.contact_email) = ?"+order, q.Value
	case directory.ByName:
		tok := directory.NameToken(q.Value)
		if tok == "" {
			return nil, nil
		}
		query, arg = cols+`lower(a.subject) LIKE ? ESCAPE '\'`+order, "%"+escapeLike(tok)+"%"
		scan = limit * nameScanFactor
	default:
		return nil, errkind.New(errkind.Invalid, law.L21_2, "search the directory by name, email or serial")
	}
	rows, err := db.r.QueryContext(ctx, db.Rebind(query), string(ca.StatusIssued), true, arg, scan)
	if err != nil {
		return nil, mapErr(err, law.LInternal, "search the directory")
	}
	defer rows.Close()
	var out []directory.Entry
	for len(out) < limit && rows.Next() {
		var e directory.Entry
		var notBefore, notAfter int64
		var appSubject string
		var revoked sql.NullInt64
		if err := rows.Scan(&e.Serial, &e.CA, &e.Subject, &notBefore, &notAfter, &e.DER, &appSubject, &revoked); err != nil {
			return nil, mapErr(err, law.LInternal, "search the directory")
		}
		if q.By == directory.ByName {
			var s issuance.Subject
			if err := json.Unmarshal([]byte(appSubject), &s); err != nil {
				return nil, mapErr(err, law.LInternal, "search the directory")
			}
			if !directory.MatchName(q.Value, s) {
				continue
			}
		}
		e.NotBefore, e.NotAfter, e.RevokedAt = fromMS(notBefore), fromMS(notAfter), fromOptMS(revoked)
		out = append(out, e)
	}
	return out, mapErr(rows.Err(), law.LInternal, "search the directory")
}

// escapeLike escapes LIKE's wildcards and its escape character.
func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}
