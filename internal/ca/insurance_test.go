package ca_test

import (
	"context"
	"testing"
	"time"

	"github.com/tawthiq/tawthiq/internal/errkind"
	"github.com/tawthiq/tawthiq/internal/insurance"
	"github.com/tawthiq/tawthiq/internal/law"
	"github.com/tawthiq/tawthiq/internal/testpki"
)

// TestIssuanceNeedsInsurance_L21_3_6: without a policy valid at the issuance time,
// issuance refuses to start, naming L-21-3-6, and reserves nothing; with one it issues;
// once the policy has lapsed it refuses again.
func TestIssuanceNeedsInsurance_L21_3_6(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	ins := insurance.New(e.db, e.clk, true)
	e.svc.RequireCover(ins)

	in, _ := e.approved(t, testpki.Key(t).Public())
	_, err := e.svc.Issue(ctx, in)
	if ke := errkind.As(err); err == nil || ke.Kind != errkind.Conflict || ke.Rule != law.L21_3_6 {
		t.Fatalf("uninsured issuance: %v, want a conflict naming %s", err, law.L21_3_6)
	}
	if rs, _ := e.db.Reserved(ctx); len(rs) != 0 {
		t.Fatalf("a refused issuance reserved %d serials", len(rs))
	}

	now := e.clk.Now()
	must(t, func() error {
		_, err := ins.Add(ctx, "usr_admin", insurance.Policy{Insurer: "Wafa Assurance", Number: "RCP-2025-1",
			CoverMAD: 5_000_000, ValidFrom: now.AddDate(0, -1, 0), ValidUntil: now.AddDate(0, 1, 0)})
		return err
	}())
	c, err := e.svc.Issue(ctx, in)
	if err != nil || c.Serial == "" {
		t.Fatalf("insured issuance: %v", err)
	}

	e.clk.Advance(32 * 24 * time.Hour) // past the policy's end
	in2, _ := e.approved(t, testpki.Key(t).Public())
	if _, err := e.svc.Issue(ctx, in2); errkind.As(err).Rule != law.L21_3_6 {
		t.Fatalf("issuance after the policy lapsed: %v, want %s", err, law.L21_3_6)
	}
}
