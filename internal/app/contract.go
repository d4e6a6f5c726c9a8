package app

import (
	"context"
	"encoding/hex"
	"math/big"
	"slices"

	"github.com/tawthiq/tawthiq/internal/contract"
	"github.com/tawthiq/tawthiq/internal/errkind"
	"github.com/tawthiq/tawthiq/internal/law"
	"github.com/tawthiq/tawthiq/internal/store"
	"github.com/tawthiq/tawthiq/internal/validation"
)

// CSPSealName is the configured seal that certifies copies of contracts (L-440):
// the CSP's own, applied only by the contract service under CSPSealActor, a name
// no API user can have, so it is listed in that seal's users and nowhere else.
const (
	CSPSealName  = "csp"
	CSPSealActor = "system:contract"
)

// newContracts wires the contract service: the organisations' seals acknowledge
// orders, the CSP's records validate the parties' signatures.
func (a *App) newContracts() *contract.Service {
	cfg := contract.Config{Store: a.DB, Clock: a.opts.Clock, Validator: storeValidator{a.DB}, Holders: certHolders{a.DB}}
	if a.Seals != nil { // a nil *seal.Service must not become a non-nil interface
		cfg.Seals = a.Seals
		for _, sl := range a.cfg.Seals {
			if sl.Name == CSPSealName && slices.Contains(sl.Users, CSPSealActor) {
				cfg.CopySeal, cfg.CopyActor = CSPSealName, CSPSealActor
			}
		}
	}
	return contract.New(cfg)
}

// storeValidator validates with the CSP's root as anchor and its records as status.
type storeValidator struct{ db *store.DB }

func (v storeValidator) Validate(ctx context.Context, sig, content []byte) validation.Report {
	st, roots, err := storeStatus(ctx, v.db)
	if err != nil {
		return validation.Report{Indication: validation.Indeterminate, SubIndication: validation.TryLater,
			Reason: "the CSP's records cannot be read now"}
	}
	return validation.Validate(ctx, sig, content, validation.Options{Roots: roots, Status: st})
}

// certHolders finds the user who applied for a certificate of this CSP (L-417-2).
type certHolders struct{ db *store.DB }

func (h certHolders) CertificateHolder(ctx context.Context, serial string) (string, error) {
	n, ok := new(big.Int).SetString(serial, 16)
	if !ok {
		return "", errkind.New(errkind.NotFound, law.L417_2, "no certificate %q", serial)
	}
	c, err := h.db.Certificate(ctx, hex.EncodeToString(n.Bytes()))
	if err != nil {
		return "", err
	}
	app, err := h.db.Application(ctx, c.ApplicationID)
	if err != nil {
		return "", err
	}
	return app.SubmittedBy, nil
}
