package store

import (
	"context"
	"time"

	"github.com/tawthiq/tawthiq/internal/errkind"
	"github.com/tawthiq/tawthiq/internal/law"
)

// TakeLease acquires or renews the named lease for holder until ttl from now (the
// store's clock), so that one node at a time runs a periodic job. It reports false,
// with no error, while another holder's lease is still running. The lease is taken
// in one statement (INSERT ... ON CONFLICT DO UPDATE ... WHERE), atomic on both
// databases; it records no audit entry, being no state of the CSP's records.
func (db *DB) TakeLease(ctx context.Context, name, holder string, ttl time.Duration) (bool, error) {
	if name == "" || holder == "" || ttl <= 0 {
		return false, errkind.New(errkind.Invalid, law.LInternal, "a lease needs a name, a holder and a positive duration")
	}
	now := ms(db.clk.Now())
	q := db.Rebind(`INSERT INTO leases (name, holder, expires_ms) VALUES (?, ?, ?)
		ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_ms = excluded.expires_ms
		WHERE leases.expires_ms <= ? OR leases.holder = excluded.holder`)
	var ok bool
	err := db.write(ctx, "take the lease "+name, nil, func(tx *txn) error {
		res, err := tx.ExecContext(ctx, q, name, holder, now+ttl.Milliseconds(), now)
		if err != nil {
			return mapErr(err, law.LInternal, "take the lease "+name)
		}
		n, err := res.RowsAffected()
		ok = n == 1
		return err
	})
	return ok, err
}

// ReleaseLease gives up a lease its holder no longer needs, so another node may take it at once.
func (db *DB) ReleaseLease(ctx context.Context, name, holder string) error {
	q := db.Rebind("UPDATE leases SET expires_ms = ? WHERE name = ? AND holder = ?")
	return db.write(ctx, "release the lease "+name, nil, func(tx *txn) error {
		_, err := tx.ExecContext(ctx, q, int64(0), name, holder)
		return mapErr(err, law.LInternal, "release the lease "+name)
	})
}
