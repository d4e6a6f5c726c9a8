package tsa

import (
	"sync"
	"time"
)

// Linger lets the leader of a group commit wait, briefly, for the records it
// expects to join: one fdatasync or commit for the group instead of two. The
// journal and the store's batch queue both use it, each under its own mutex.
type Linger struct {
	want    int           // pending records that end the wait; 0: not waiting
	arrived chan struct{} // signalled when want is reached
}

// Arrived tells a waiting leader, under the caller's mutex, how many records are pending now.
func (l *Linger) Arrived(pending int) {
	if l.want > 0 && pending >= l.want {
		l.want = 0
		l.arrived <- struct{}{}
	}
}

// Wait is called with mu held; it waits until want records are pending or d
// passes, and returns with mu held again.
func (l *Linger) Wait(mu *sync.Mutex, want int, d time.Duration) {
	if l.arrived == nil {
		l.arrived = make(chan struct{}, 1)
	}
	l.want = want
	mu.Unlock()
	t := time.NewTimer(d)
	select {
	case <-l.arrived:
	case <-t.C:
	}
	t.Stop()
	mu.Lock()
	if l.want == 0 && len(l.arrived) > 0 {
		<-l.arrived // signalled as the timer fired
	}
	l.want = 0
}
