package tsa

import (
	"sync"
	"time"
)

// SyncSource says how far the clock may be from UTC: the bound on its error, and
// whether that is known at all.
type SyncSource interface {
	Status(now time.Time) (offset time.Duration, known bool)
}

// Fixed is a SyncSource that always says the same: for tests, and for a demo that
// chooses to trust the system clock.
type Fixed struct {
	Offset time.Duration
	Known  bool
}

// Status returns the fixed answer.
func (f Fixed) Status(time.Time) (time.Duration, bool) { return f.Offset, f.Known }

// TrustSystemClock is the demo's opt-in: the system clock is taken as exact.
var TrustSystemClock SyncSource = Fixed{Known: true}

// Kernel reads the kernel's NTP discipline (adjtimex): unsynchronised when the
// kernel says STA_UNSYNC or TIME_ERROR, else its maximum error. It asks the kernel
// at most every Refresh (default 100 ms), so that stamping costs no syscall.
type Kernel struct {
	Refresh time.Duration

	mu     sync.Mutex
	at     time.Time // monotonic
	offset time.Duration
	known  bool
}

// Status returns the kernel's maximum error and whether the clock is synchronised.
func (k *Kernel) Status(time.Time) (time.Duration, bool) {
	refresh := k.Refresh
	if refresh <= 0 {
		refresh = 100 * time.Millisecond
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.at.IsZero() || time.Since(k.at) >= refresh {
		k.offset, k.known = kernelStatus()
		k.at = time.Now()
	}
	return k.offset, k.known
}

// KernelAvailable reports whether this system exposes its NTP state at all.
func KernelAvailable() bool { return kernelAvailable() }
