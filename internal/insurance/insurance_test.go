package insurance_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tawthiq/tawthiq/internal/clock"
	"github.com/tawthiq/tawthiq/internal/errkind"
	"github.com/tawthiq/tawthiq/internal/insurance"
	"github.com/tawthiq/tawthiq/internal/law"
	"github.com/tawthiq/tawthiq/internal/store"
)

func open(t *testing.T, at time.Time) (*store.DB, *clock.Fake) {
	t.Helper()
	db, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "t.db"), clock.Real{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db, clock.NewFake(at)
}

const day = 24 * time.Hour

// TestLapseWarning_L21_3_6: the operators are warned once, WarningDays before the cover
// lapses (not a day earlier); a renewal that extends the cover silences the warning
// until the new end comes near; a missing cover is warned of too.
func TestLapseWarning_L21_3_6(t *testing.T) {
	ctx := context.Background()
	t0 := time.Now().UTC().Truncate(time.Millisecond)
	db, clk := open(t, t0)
	svc := insurance.New(db, clk, true)
	end := t0.Add(100 * day)
	if _, err := svc.Add(ctx, "usr_admin", insurance.Policy{Insurer: "Wafa Assurance", Number: "P-1", CoverMAD: 1_000_000,
		ValidFrom: t0.Add(-day), ValidUntil: end}); err != nil {
		t.Fatal(err)
	}
	warn := func() (bool, *insurance.Status) {
		t.Helper()
		ok, st, err := svc.Warn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return ok, st
	}
	clk.Set(end.Add(-(insurance.WarningDays + 1) * day))
	if ok, st := warn(); ok || st.Warning != "" || !st.Covered {
		t.Fatalf("%d days before the lapse: queued %v, status %+v", insurance.WarningDays+1, ok, st)
	}
	clk.Set(end.Add(-insurance.WarningDays * day))
	ok, st := warn()
	if !ok || !strings.Contains(st.Warning, string(law.L21_3_6)) {
		t.Fatalf("%d days before the lapse: queued %v, warning %q", insurance.WarningDays, ok, st.Warning)
	}
	clk.Advance(day)
	if ok, _ := warn(); ok {
		t.Fatal("the same lapse was warned of twice")
	}
	ns, err := db.DutyNoticesTo(ctx, insurance.OperatorsRecipient, 10)
	if err != nil || len(ns) != 1 || ns[0].Kind != insurance.KindLapse {
		t.Fatalf("operators' notices %+v, %v", ns, err)
	}

	// A renewal starting before the end extends the cover: no warning until the new end nears.
	if _, err := svc.Add(ctx, "usr_admin", insurance.Policy{Insurer: "Wafa Assurance", Number: "P-2", CoverMAD: 1_000_000,
		ValidFrom: end.Add(-day), ValidUntil: end.AddDate(1, 0, 0)}); err != nil {
		t.Fatal(err)
	}
	if ok, st := warn(); ok || st.Warning != "" || !st.CoverEnd.Equal(end.AddDate(1, 0, 0)) {
		t.Fatalf("after renewal: queued %v, status %+v", ok, st)
	}

	// Past every policy: uncovered, warned of, and issuance refused.
	clk.Set(end.AddDate(1, 0, 1))
	if ok, st := warn(); !ok || st.Covered {
		t.Fatalf("uncovered: queued %v, status %+v", ok, st)
	}
	if err := svc.CheckCover(ctx, clk.Now()); errkind.As(err).Rule != law.L21_3_6 {
		t.Fatalf("CheckCover uncovered: %v", err)
	}
	if err := insurance.New(db, clk, false).CheckCover(ctx, clk.Now()); err != nil {
		t.Fatalf("require_insurance false still refuses: %v", err)
	}
}

func TestPolicyChecks_L21_3_6(t *testing.T) {
	ctx := context.Background()
	t0 := time.Now().UTC()
	db, clk := open(t, t0)
	svc := insurance.New(db, clk, true)
	for name, p := range map[string]insurance.Policy{
		"no insurer": {Number: "P", CoverMAD: 1, ValidFrom: t0, ValidUntil: t0.Add(day)},
		"no cover":   {Insurer: "I", Number: "P", ValidFrom: t0, ValidUntil: t0.Add(day)},
		"backwards":  {Insurer: "I", Number: "P", CoverMAD: 1, ValidFrom: t0, ValidUntil: t0.Add(-day)},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := svc.Add(ctx, "a", p); errkind.As(err).Rule != law.L21_3_6 {
				t.Fatalf("got %v, want a refusal naming %s", err, law.L21_3_6)
			}
		})
	}
}
