package app

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/tawthiq/tawthiq/internal/breach"
	"github.com/tawthiq/tawthiq/internal/clock"
	"github.com/tawthiq/tawthiq/internal/datachange"
	"github.com/tawthiq/tawthiq/internal/insurance"
	"github.com/tawthiq/tawthiq/internal/notify"
	"github.com/tawthiq/tawthiq/internal/store"
)

// Duties are the CSP's duties beside issuance: its liability insurance (L-21-3-6),
// security breach reports (L-24, 43-20 art. 40) and holders' data changes (L-25).
type Duties struct {
	Insurance   *insurance.Service
	Breaches    *breach.Service
	DataChanges *datachange.Service
	deliverer   *notify.Deliverer // nil when no mail server or webhook is configured
}

// insuranceCheckEvery is how often the cover is checked for a coming lapse.
const insuranceCheckEvery = time.Hour

// newDuties builds the duty services; from now on issuance asks for cover (L-21-3-6).
func (a *App) newDuties(cspName string) *Duties {
	d := &Duties{
		Insurance:   insurance.New(a.DB, a.opts.Clock, a.cfg.InsuranceRequired()),
		Breaches:    breach.New(a.DB, a.Revoke, a.opts.Clock, breach.Config{AuthorityEmail: a.cfg.AuthorityEmail, CSPName: cspName}),
		DataChanges: datachange.New(a.DB, a.Revoke, a.opts.Clock),
	}
	a.CA.RequireCover(d.Insurance)
	if a.cfg.AuthorityEmail == "" {
		a.opts.Logger.Warn("no authority_email: breach reports are held for the authority, not sent (43-20 art. 40)")
	}
	return d
}

// deliverWith drains the duty notices through the same transport as holders' notices.
func (d *Duties) deliverWith(a *App, snd notify.Sender) {
	d.deliverer = notify.NewDeliverer(a.DB.DutyOutbox(), snd, a.opts.Clock, notify.DelivererConfig{Holder: a.cfg.Node + "/duties"})
}

// run starts the lapse check and the delivery of duty notices.
func (d *Duties) run(ctx context.Context, wg *sync.WaitGroup, log *slog.Logger) {
	wg.Go(func() {
		d.Insurance.Run(ctx, insuranceCheckEvery,
			func(w string) { log.Warn("insurance", "warning", w) },
			func(err error) { log.Error("insurance check", "err", err) })
	})
	if d.deliverer != nil {
		wg.Go(func() { _ = d.deliverer.Run(ctx, func(err error) { log.Error("duty notice delivery", "err", err) }) })
	}
}

// demoInsuranceYears is the validity of the fictitious demo policy.
const demoInsuranceYears = 1

// recordDemoInsurance records a fictitious liability policy for the demo CSP, so that
// the demo issues out of the box with the L-21-3-6 check on; production records its
// real policy with `tawthiq insurance add`.
func recordDemoInsurance(ctx context.Context, db *store.DB, clk clock.Clock, out io.Writer) error {
	now := clk.Now()
	p, err := insurance.New(db, clk, true).Add(ctx, "ceremony", insurance.Policy{
		Insurer: "Demo Assurance (fictitious)", Number: "DEMO-RCP-0001", CoverMAD: 10_000_000,
		ValidFrom: now, ValidUntil: now.AddDate(demoInsuranceYears, 0, 0)})
	if err != nil {
		return fmt.Errorf("demo insurance: %w", err)
	}
	fmt.Fprintf(out, "  demo insurance   %s %s, until %s (fictitious)\n", p.Insurer, p.Number, p.ValidUntil.Format(time.DateOnly))
	return nil
}
