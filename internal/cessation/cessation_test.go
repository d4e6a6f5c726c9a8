package cessation

import (
	"context"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tawthiq/tawthiq/internal/auditlog"
	"github.com/tawthiq/tawthiq/internal/clock"
	"github.com/tawthiq/tawthiq/internal/errkind"
	"github.com/tawthiq/tawthiq/internal/law"
	"github.com/tawthiq/tawthiq/internal/revocation"
)

// fakeStore keeps a plan, its steps, notices and certificates in memory.
type fakeStore struct {
	mu      sync.Mutex
	plan    *Plan
	notices map[string]Notice
	certs   map[string]string // serial -> holder
	revoked map[string]law.Ground
	entries []auditlog.Entry
}

func newFake(certs map[string]string) *fakeStore {
	return &fakeStore{notices: map[string]Notice{}, certs: certs, revoked: map[string]law.Ground{}}
}

func (f *fakeStore) PutCessationPlan(_ context.Context, p Plan, e []auditlog.Entry) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.plan != nil {
		return errkind.New(errkind.Conflict, law.L23, "a plan exists")
	}
	p.Done = map[Step]time.Time{}
	f.plan, f.entries = &p, append(f.entries, e...)
	return nil
}

func (f *fakeStore) CessationPlan(context.Context) (*Plan, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.plan == nil {
		return nil, errkind.New(errkind.NotFound, "", "none")
	}
	p := *f.plan
	p.Done = map[Step]time.Time{}
	for k, v := range f.plan.Done {
		p.Done[k] = v
	}
	return &p, nil
}

func (f *fakeStore) MarkCessationStep(_ context.Context, s Step, at time.Time, e auditlog.Entry) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.plan.Done[s]; !ok {
		f.plan.Done[s] = at
	}
	f.entries = append(f.entries, e)
	return nil
}

func (f *fakeStore) EnqueueCessationNotice(_ context.Context, n Notice, e auditlog.Entry) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.notices[n.DedupKey]; ok {
		return false, nil
	}
	f.notices[n.DedupKey], f.entries = n, append(f.entries, e)
	return true, nil
}

func (f *fakeStore) CessationNotices(_ context.Context, k NoticeKind) ([]Notice, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []Notice
	for _, n := range f.notices {
		if n.Kind == k {
			out = append(out, n)
		}
	}
	return out, nil
}

func (f *fakeStore) CessationHolders(_ context.Context, after string, limit int) ([]Holder, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	by := map[string][]string{}
	for s, h := range f.certs {
		if _, r := f.revoked[s]; !r && h > after {
			by[h] = append(by[h], s)
		}
	}
	var out []Holder
	for h, ss := range by {
		sort.Strings(ss)
		out = append(out, Holder{ID: h, Serials: ss})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out[:min(limit, len(out))], nil
}

func (f *fakeStore) CessationUnrevoked(_ context.Context, limit int) ([]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for s := range f.certs {
		if _, r := f.revoked[s]; !r {
			out = append(out, s)
		}
	}
	sort.Strings(out)
	return out[:min(limit, len(out))], nil
}

func (f *fakeStore) CessationUnrevokedCount(ctx context.Context) (int, error) {
	ss, err := f.CessationUnrevoked(ctx, len(f.certs)+1)
	return len(ss), err
}

func (f *fakeStore) Revoke(_ context.Context, by revocation.Actor, req revocation.Request) ([]revocation.Revocation, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, r := f.revoked[req.Serial]; r {
		return nil, errkind.New(errkind.Conflict, law.L21Rev, "already revoked")
	}
	f.revoked[req.Serial] = req.Ground
	return []revocation.Revocation{{Serial: req.Serial, Ground: req.Ground}}, nil
}

var t0 = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)

func TestPlanNotice_L23(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		mode law.CessationMode
		end  time.Time
		ok   bool
	}{
		{"one month", law.CessationRevokeAll, t0.AddDate(0, 1, 0), false},
		{"a day short of two months", law.CessationRevokeAll, t0.AddDate(0, 2, -1), false},
		{"two months", law.CessationRevokeAll, t0.AddDate(0, 2, 0), true},
		{"takeover in a week", law.CessationTakeover, t0.AddDate(0, 0, 7), false},
		{"liquidation tomorrow: told at once", law.CessationLiquidation, t0.AddDate(0, 0, 1), true},
		{"unknown mode", "sell-off", t0.AddDate(1, 0, 0), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(nil)
			s := New(f, f, clock.NewFake(t0), Config{CSPName: "Demo CSP"})
			req := PlanRequest{Mode: tc.mode, End: tc.end}
			if tc.mode == law.CessationTakeover {
				req.Successor = Successor{Name: "B", Identifier: "NTRMA-1"}
			}
			p, err := s.Plan(ctx, "admin", req)
			if !tc.ok {
				if e := errkind.As(err); err == nil || e.Rule != law.L23 {
					t.Fatalf("want a refusal naming L-23, got %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			// The authority's notice is queued at once, and the step recorded.
			if at := p.Done[StepAuthorityNotice]; !at.Equal(t0) {
				t.Errorf("authority notice recorded at %v", at)
			}
			if n, ok := f.notices["authority"]; !ok || !strings.Contains(n.Body, "art. 23") {
				t.Errorf("no authority notice: %+v", f.notices)
			}
			st, err := s.Status(ctx)
			if err != nil || st.Deadlines[0].Late {
				t.Errorf("status: %+v %v", st, err)
			}
		})
	}
}

func TestRevokeAllWindow_L23(t *testing.T) {
	ctx := context.Background()
	certs := map[string]string{"01": "h1", "02": "h1", "03": "h2", "04": "h3"}
	for _, tc := range []struct {
		name  string
		delay time.Duration // between the warning and revoke-all
		late  bool
	}{
		{"within two months", 30 * 24 * time.Hour, false},
		{"after two months", 70 * 24 * time.Hour, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(certs)
			clk := clock.NewFake(t0)
			s := New(f, f, clk, Config{Batch: 2, Workers: 2})
			if _, err := s.Plan(ctx, "admin", PlanRequest{Mode: law.CessationRevokeAll, End: t0.AddDate(0, 4, 0)}); err != nil {
				t.Fatal(err)
			}
			if _, err := s.RevokeAll(ctx, "admin"); errkind.As(err).Rule != law.L23 {
				t.Fatalf("revoke-all before the warning: %v", err)
			}
			clk.Advance(24 * time.Hour)
			n, err := s.Warn(ctx, "admin")
			if err != nil || n != 3 {
				t.Fatalf("warn: %d %v (one notice per holder)", n, err)
			}
			if n, _ := s.Warn(ctx, "admin"); n != 0 {
				t.Fatalf("a second warning queued %d notices", n)
			}
			clk.Advance(tc.delay)
			st, _ := s.Status(ctx)
			if got := st.Deadlines[2]; got.Step != StepRevokeAll || got.Late != tc.late || !got.Due.Equal(t0.AddDate(0, 2, 1)) {
				t.Errorf("before revoke-all: %+v", got)
			}
			revoked, err := s.RevokeAll(ctx, "admin")
			if err != nil || revoked != len(certs) {
				t.Fatalf("revoke-all: %d %v", revoked, err)
			}
			for serial := range certs {
				if f.revoked[serial] != law.GroundCessation {
					t.Errorf("%s: ground %q", serial, f.revoked[serial])
				}
			}
			st, _ = s.Status(ctx)
			d := st.Deadlines[2]
			if d.DoneAt.IsZero() || d.Late != tc.late {
				t.Errorf("after revoke-all: %+v", d)
			}
			if st.Warned != 3 {
				t.Errorf("warned %d", st.Warned)
			}
		})
	}
}

// TestRevokeBatchProgress_L23: each round revokes at most its limit and says what
// remains; the round that leaves nothing records the step, once.
func TestRevokeBatchProgress_L23(t *testing.T) {
	ctx := context.Background()
	f := newFake(map[string]string{"01": "h1", "02": "h1", "03": "h2", "04": "h3", "05": "h3"})
	clk := clock.NewFake(t0)
	s := New(f, f, clk, Config{Batch: 3, Workers: 2})
	if _, err := s.Plan(ctx, "admin", PlanRequest{Mode: law.CessationLiquidation, End: t0}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Warn(ctx, "admin"); err != nil {
		t.Fatal(err)
	}
	for i, want := range []Progress{{Revoked: 2, Remaining: 3}, {Revoked: 3, Remaining: 0, Done: true}, {Done: true}} {
		limit := []int{2, 0, 10}[i] // 0 and more than the batch: the batch
		clk.Advance(time.Hour)
		got, err := s.RevokeBatch(ctx, "admin", limit)
		if err != nil || got.Revoked != want.Revoked || got.Remaining != want.Remaining || got.Done != want.Done {
			t.Fatalf("round %d: %+v %v, want %+v", i+1, got, err, want)
		}
	}
	p, _ := f.CessationPlan(ctx)
	if at := p.Done[StepRevokeAll]; !at.Equal(t0.Add(2 * time.Hour)) {
		t.Errorf("revoke-all recorded at %v, want the round that finished", at)
	}
}
