package api

import (
	"math"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"sync"
	"time"
)

// Defaults of the per-client limit on the public endpoints whose every call costs a
// durable write (a directory search appends an audit entry, L-21-2) or guesses a
// revocation secret (L-21-1).
const (
	DefaultPublicRate  = 5.0 // requests per second, refilled continuously
	DefaultPublicBurst = 20
	// maxLimitedClients bounds the limiter's memory, whatever the number of addresses.
	maxLimitedClients = 10000
)

// tooManyRequests is the error of a refused call; writeProblem makes it a 429.
type tooManyRequests struct {
	retryAfter time.Duration
}

func (e *tooManyRequests) Error() string {
	return "too many requests from this address; retry in " + e.retryAfter.String()
}

// retryAfterSeconds is the Retry-After header's value: whole seconds, at least one.
func (e *tooManyRequests) retryAfterSeconds() string {
	return strconv.FormatInt(max(1, int64(math.Ceil(e.retryAfter.Seconds()))), 10)
}

// bucket is one client's tokens as of last.
type bucket struct {
	tokens float64
	last   time.Time
}

// limiter is a token bucket per client address. Its map is bounded: when full, the
// buckets that have refilled (indistinguishable from new ones) are dropped first,
// then the least recently used.
type limiter struct {
	mu      sync.Mutex
	rate    float64 // tokens per second
	burst   float64
	max     int
	buckets map[string]*bucket
}

// newLimiter returns a limiter, or nil (no limit) when rate is negative.
func newLimiter(rate float64, burst, maxClients int) *limiter {
	if rate < 0 {
		return nil
	}
	if rate == 0 {
		rate = DefaultPublicRate
	}
	if burst <= 0 {
		burst = DefaultPublicBurst
	}
	return &limiter{rate: rate, burst: float64(burst), max: maxClients, buckets: map[string]*bucket{}}
}

// allow takes a token from key's bucket at now, or says how long until one is there.
func (l *limiter) allow(key string, now time.Time) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.buckets[key]
	if !ok {
		if len(l.buckets) >= l.max {
			l.evict(now)
		}
		b = &bucket{tokens: l.burst, last: now}
		l.buckets[key] = b
	}
	if elapsed := now.Sub(b.last); elapsed > 0 {
		b.tokens = min(l.burst, b.tokens+elapsed.Seconds()*l.rate)
		b.last = now
	}
	if b.tokens >= 1 {
		b.tokens--
		return nil
	}
	wait := time.Duration((1 - b.tokens) / l.rate * float64(time.Second))
	return &tooManyRequests{retryAfter: wait}
}

// evict makes room for one bucket; the caller holds mu.
func (l *limiter) evict(now time.Time) {
	var oldest string
	var oldestAt time.Time
	found := false
	for k, b := range l.buckets {
		if b.tokens+now.Sub(b.last).Seconds()*l.rate >= l.burst {
			delete(l.buckets, k)
			continue
		}
		if !found || b.last.Before(oldestAt) {
			oldest, oldestAt, found = k, b.last, true
		}
	}
	if len(l.buckets) >= l.max {
		delete(l.buckets, oldest)
	}
}

// clientKey is the bucket of a request: its peer address (never X-Forwarded-For,
// which the client writes), an IPv6 peer by its /64, which one subscriber holds.
func clientKey(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	a = a.Unmap()
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.String()
	}
	return a.String()
}

// limit refuses a call over the client's rate before the handler runs.
func (s *server) limit(r *http.Request) error {
	if s.limiter == nil {
		return nil
	}
	return s.limiter.allow(clientKey(r), s.Clock.Now())
}
