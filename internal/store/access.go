package store

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/tawthiq/tawthiq/internal/access"
	"github.com/tawthiq/tawthiq/internal/auditlog"
	"github.com/tawthiq/tawthiq/internal/law"
)

// CreateUser records a user; an ID is used once.
func (db *DB) CreateUser(ctx context.Context, u access.User, e auditlog.Entry) error {
	q := db.Rebind("INSERT INTO users (id, name, role, id_number, email, created_ms) VALUES (?, ?, ?, ?, ?, ?)")
	return db.write(ctx, "record the user", []auditlog.Entry{e}, func(tx *txn) error {
		_, err := tx.ExecContext(ctx, q, u.ID, u.Name, string(u.Role), u.IDNumber, u.Email, ms(u.CreatedAt))
		return mapErr(err, law.LInternal, "record the user")
	})
}

// User returns one user.
func (db *DB) User(ctx context.Context, id string) (*access.User, error) {
	q := db.Rebind("SELECT id, name, role, id_number, email, created_ms FROM users WHERE id = ?")
	u, err := scanUser(db.r.QueryRowContext(ctx, q, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("no user %q", id)
	}
	return u, mapErr(err, law.LInternal, "read the user")
}

// Users returns every user, by ID.
func (db *DB) Users(ctx context.Context) ([]access.User, error) {
	rows, err := db.r.QueryContext(ctx, "SELECT id, name, role, id_number, email, created_ms FROM users ORDER BY id")
	if err != nil {
		return nil, mapErr(err, law.LInternal, "read users")
	}
	defer rows.Close()
	var out []access.User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, mapErr(err, law.LInternal, "read users")
		}
		out = append(out, *u)
	}
	return out, mapErr(rows.Err(), law.LInternal, "read users")
}

func scanUser(s scanner) (*access.User, error) {
	var u access.User
	var role string
	var at int64
	if err := s.Scan(&u.ID, &u.Name, &role, &u.IDNumber, &u.Email, &at); err != nil {
		return nil, err
	}
	u.Role, u.CreatedAt = access.Role(role), fromMS(at)
	return &u, nil
}

// CreateToken records a bearer token by its SHA-256 for an existing user.
func (db *DB) CreateToken(ctx context.Context, t access.Token, e auditlog.Entry) error {
	q := db.Rebind("INSERT INTO tokens (sha256, user_id, created_ms, expires_ms) VALUES (?, ?, ?, ?)")
	return db.write(ctx, "record the token", []auditlog.Entry{e}, func(tx *txn) error {
		_, err := tx.ExecContext(ctx, q, nonNil(t.SHA256), t.UserID, ms(t.CreatedAt), optMS(t.ExpiresAt))
		return mapErr(err, law.LInternal, "record the token")
	})
}

// TokenUser returns the token with this hash and its user (errkind.NotFound if none).
func (db *DB) TokenUser(ctx context.Context, sha256 []byte) (*access.Token, *access.User, error) {
	q := db.Rebind(`SELECT t.sha256, t.user_id, t.created_ms, t.expires_ms, t.revoked_ms,
		u.id, u.name, u.role, u.id_number, u.email, u.created_ms
		FROM tokens t JOIN users u ON u.id = t.user_id WHERE t.sha256 = ?`)
	var t access.Token
	var u access.User
	var role string
	var tCreated, uCreated int64
	var expires, revoked sql.NullInt64
	err := db.r.QueryRowContext(ctx, q, nonNil(sha256)).Scan(&t.SHA256, &t.UserID, &tCreated, &expires, &revoked,
		&u.ID, &u.Name, &role, &u.IDNumber, &u.Email, &uCreated)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil, notFound("no such token")
	}
	if err != nil {
		return nil, nil, mapErr(err, law.LInternal, "read the token")
	}
	t.CreatedAt, t.ExpiresAt, t.RevokedAt = fromMS(tCreated), fromOptMS(expires), fromOptMS(revoked)
	u.Role, u.CreatedAt = access.Role(role), fromMS(uCreated)
	return &t, &u, nil
}

// RevokeTokens marks every token of the user not yet revoked as revoked at the given
// time, with its audit entry in the same transaction, and returns how many it revoked.
func (db *DB) RevokeTokens(ctx context.Context, userID string, at time.Time, e auditlog.Entry) (int, error) {
	q := db.Rebind("UPDATE tokens SET revoked_ms = ? WHERE user_id = ? AND revoked_ms IS NULL")
	var n int64
	err := db.write(ctx, "revoke the tokens", []auditlog.Entry{e}, func(tx *txn) error {
		res, err := tx.ExecContext(ctx, q, ms(at), userID)
		if err != nil {
			return mapErr(err, law.LInternal, "revoke the tokens")
		}
		n, err = res.RowsAffected()
		return mapErr(err, law.LInternal, "revoke the tokens")
	})
	return int(n), err
}
