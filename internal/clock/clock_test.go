package clock

import (
	"sync"
	"testing"
	"time"
)

var _ Clock = Real{}
var _ Clock = (*Fake)(nil)

func TestFake(t *testing.T) {
	start := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	plus1 := time.FixedZone("UTC+1", 3600)
	tests := []struct {
		name string
		do   func(f *Fake)
		want time.Time
	}{
		{"new", func(*Fake) {}, start},
		{"advance", func(f *Fake) { f.Advance(90 * time.Second) }, start.Add(90 * time.Second)},
		{"advance twice", func(f *Fake) { f.Advance(time.Hour); f.Advance(time.Millisecond) }, start.Add(time.Hour + time.Millisecond)},
		{"advance backwards", func(f *Fake) { f.Advance(-time.Minute) }, start.Add(-time.Minute)},
		{"set", func(f *Fake) { f.Set(start.AddDate(7, 0, 0)) }, start.AddDate(7, 0, 0)},
		{"set stores UTC", func(f *Fake) { f.Set(time.Date(2025, 1, 1, 1, 0, 0, 0, plus1)) }, time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)},
		{"set then advance", func(f *Fake) { f.Set(start.Add(time.Hour)); f.Advance(time.Second) }, start.Add(time.Hour + time.Second)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := NewFake(start)
			tc.do(f)
			got := f.Now()
			if got != tc.want { // == also checks the location is UTC
				t.Fatalf("Now() = %s (%s), want %s", got, got.Location(), tc.want)
			}
			if f.Now() != got {
				t.Fatal("Now() moved without Advance or Set")
			}
		})
	}
}

func TestNewFakeUTC(t *testing.T) {
	at := time.Date(2025, 6, 1, 2, 0, 0, 0, time.FixedZone("UTC+2", 7200))
	got := NewFake(at).Now()
	if got.Location() != time.UTC || !got.Equal(at) {
		t.Fatalf("NewFake(%s).Now() = %s, want the same instant in UTC", at, got)
	}
}

func TestReal(t *testing.T) {
	before := time.Now()
	got := Real{}.Now()
	after := time.Now()
	if got.Location() != time.UTC {
		t.Fatalf("Real.Now location = %s, want UTC", got.Location())
	}
	if got.Before(before.Add(-time.Second)) || got.After(after.Add(time.Second)) {
		t.Fatalf("Real.Now = %s, not between %s and %s", got, before, after)
	}
}

// TestFakeConcurrent is meant for -race: many goroutines advance and read at once,
// and no advance may be lost.
func TestFakeConcurrent(t *testing.T) {
	start := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	f := NewFake(start)
	const workers, steps = 16, 200
	var wg sync.WaitGroup
	for range workers {
		wg.Add(2)
		go func() {
			defer wg.Done()
			for range steps {
				f.Advance(time.Millisecond)
			}
		}()
		go func() {
			defer wg.Done()
			prev := f.Now()
			for range steps {
				now := f.Now()
				if now.Before(prev) {
					t.Errorf("time went back from %s to %s", prev, now)
					return
				}
				prev = now
			}
		}()
	}
	wg.Wait()
	if want := start.Add(workers * steps * time.Millisecond); f.Now() != want {
		t.Fatalf("after %d advances Now() = %s, want %s", workers*steps, f.Now(), want)
	}
	// Set races with readers too.
	wg.Add(2)
	go func() { defer wg.Done(); f.Set(start) }()
	go func() { defer wg.Done(); _ = f.Now() }()
	wg.Wait()
	if f.Now() != start {
		t.Fatalf("after Set Now() = %s, want %s", f.Now(), start)
	}
}
