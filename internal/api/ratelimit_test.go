package api

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tawthiq/tawthiq/internal/clock"
)

// from sends a request from the given peer address.
func from(h http.Handler, addr, method, path, body string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, path, strings.NewReader(body))
	r.RemoteAddr = addr
	if body != "" {
		r.Header.Set("Content-Type", "application/json")
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// TestPublicRateLimit: the public endpoints that cost a durable write (a directory
// search's audit entry) or guess a secret take a burst per client, then answer 429
// with Retry-After until the bucket refills; other clients are not affected.
func TestPublicRateLimit(t *testing.T) {
	for _, ep := range []struct{ method, path, body string }{
		{"GET", "/api/v1/directory?email=amina%40example.ma", ""},
		{"POST", "/api/v1/revocations", `{"serial":"4a","secret":"BAD"}`},
	} {
		t.Run(ep.method+" "+ep.path, func(t *testing.T) {
			clk := clock.NewFake(t0)
			h := New(Deps{Access: fakeAccess{}, Directory: &fakeDirectory{}, Revocations: &fakeRevoker{}, Clock: clk,
				PublicRate: 2, PublicBurst: 3})
			const alice, bob = "198.51.100.7:40000", "198.51.100.8:40000"
			for i := range 3 {
				if w := from(h, alice, ep.method, ep.path, ep.body); w.Code == http.StatusTooManyRequests {
					t.Fatalf("call %d of the burst refused", i+1)
				}
			}
			w := from(h, alice, ep.method, ep.path, ep.body)
			if w.Code != http.StatusTooManyRequests {
				t.Fatalf("call over the burst: status %d, want 429", w.Code)
			}
			p := readProblem(t, w)
			if p.Type != ProblemTypeBase+"rate-limited" || p.Title == "" || p.Instance != strings.Split(ep.path, "?")[0] {
				t.Errorf("problem %+v", p)
			}
			if ra := w.Header().Get("Retry-After"); ra != "1" { // one token at 2/s: half a second, rounded up
				t.Errorf("Retry-After %q, want 1", ra)
			}
			// Another port of the same host is the same client; another host is not.
			if w := from(h, "198.51.100.7:40001", ep.method, ep.path, ep.body); w.Code != http.StatusTooManyRequests {
				t.Errorf("same host, other port: status %d, want 429", w.Code)
			}
			if w := from(h, bob, ep.method, ep.path, ep.body); w.Code == http.StatusTooManyRequests {
				t.Error("another client was refused")
			}
			// X-Forwarded-For is the client's say-so: it does not choose the bucket.
			r := httptest.NewRequest(ep.method, ep.path, strings.NewReader(ep.body))
			r.RemoteAddr = alice
			r.Header.Set("X-Forwarded-For", "203.0.113.9")
			r.Header.Set("Content-Type", "application/json")
			w = httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != http.StatusTooManyRequests {
				t.Errorf("X-Forwarded-For escaped the limit: status %d", w.Code)
			}

			clk.Advance(499 * time.Millisecond)
			if w := from(h, alice, ep.method, ep.path, ep.body); w.Code != http.StatusTooManyRequests {
				t.Errorf("before the refill: status %d, want 429", w.Code)
			}
			clk.Advance(time.Millisecond)
			if w := from(h, alice, ep.method, ep.path, ep.body); w.Code == http.StatusTooManyRequests {
				t.Error("refused after the refill")
			}
			clk.Advance(time.Hour) // refills to the burst, no more
			for i := range 3 {
				if w := from(h, alice, ep.method, ep.path, ep.body); w.Code == http.StatusTooManyRequests {
					t.Fatalf("call %d after an hour refused", i+1)
				}
			}
			if w := from(h, alice, ep.method, ep.path, ep.body); w.Code != http.StatusTooManyRequests {
				t.Errorf("the bucket refilled over the burst: status %d", w.Code)
			}
		})
	}
}

// TestRateLimitOnlyPublicWrites: other endpoints are not limited.
func TestRateLimitOnlyPublicWrites(t *testing.T) {
	h := New(Deps{Access: fakeAccess{}, Clock: clock.NewFake(t0), PublicBurst: 1})
	for range 5 {
		if w := from(h, "198.51.100.7:1", "GET", "/api/v1/grounds", ""); w.Code != http.StatusOK {
			t.Fatalf("grounds: status %d", w.Code)
		}
	}
	var limited []string
	for _, rt := range newServer(Deps{}).routes() {
		if rt.Limited {
			limited = append(limited, rt.Method+" "+rt.Pattern)
		}
	}
	if strings.Join(limited, ", ") != "POST /api/v1/revocations, GET /api/v1/directory" {
		t.Errorf("limited routes: %v", limited)
	}
}

func TestRateLimitOff(t *testing.T) {
	h := New(Deps{Access: fakeAccess{}, Directory: &fakeDirectory{}, Clock: clock.NewFake(t0), PublicRate: -1, PublicBurst: 1})
	for range 50 {
		if w := from(h, "198.51.100.7:1", "GET", "/api/v1/directory?serial=4a", ""); w.Code != http.StatusOK {
			t.Fatalf("status %d with the limit off", w.Code)
		}
	}
}

func TestLimiterDefaults(t *testing.T) {
	l := newServer(Deps{}).limiter
	if l == nil || l.rate != DefaultPublicRate || l.burst != DefaultPublicBurst || l.max != maxLimitedClients {
		t.Fatalf("limiter %+v", l)
	}
}

// TestLimiterBounded: however many addresses call, the limiter keeps at most max
// buckets, dropping refilled ones first, then the least recently used.
func TestLimiterBounded(t *testing.T) {
	l := newLimiter(1, 2, 3)
	now := t0
	for i := range 100 {
		now = now.Add(time.Millisecond)
		_ = l.allow(fmt.Sprintf("10.0.0.%d", i), now)
		if len(l.buckets) > 3 {
			t.Fatalf("%d buckets after %d clients", len(l.buckets), i+1)
		}
	}
	// a, b and c are drained; a new client evicts the least recently used, a.
	l = newLimiter(1, 2, 3)
	for _, k := range []string{"a", "b", "c"} {
		now = now.Add(time.Millisecond)
		_ = l.allow(k, now)
		_ = l.allow(k, now)
	}
	now = now.Add(time.Millisecond)
	if l.allow("d", now) != nil {
		t.Fatal("a new client was refused")
	}
	if _, ok := l.buckets["a"]; ok || len(l.buckets) != 3 {
		t.Errorf("buckets %v: want a evicted", keys(l.buckets))
	}
	// b and c still owe their tokens: eviction did not reset them.
	if l.allow("b", now) == nil || l.allow("c", now) == nil {
		t.Error("eviction reset a drained client")
	}
	// After a refill, the full buckets go first, not the drained newcomer.
	now = now.Add(10 * time.Second)
	_ = l.allow("d", now)
	_ = l.allow("d", now)
	if l.allow("e", now) != nil {
		t.Fatal("a new client was refused")
	}
	if _, ok := l.buckets["d"]; !ok {
		t.Errorf("buckets %v: the drained client was evicted before the refilled ones", keys(l.buckets))
	}
}

func keys(m map[string]*bucket) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestClientKey(t *testing.T) {
	for _, tc := range []struct{ addr, want string }{
		{"192.0.2.1:1234", "192.0.2.1"},
		{"[::ffff:192.0.2.1]:1234", "192.0.2.1"},
		{"[2001:db8:1:2:3:4:5:6]:443", "2001:db8:1:2::/64"},
		{"[2001:db8:1:2:ffff::1]:443", "2001:db8:1:2::/64"},
		{"[fe80::1%eth0]:443", "fe80::/64"},
		{"not an address", "not an address"},
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = tc.addr
		if got := clientKey(r); got != tc.want {
			t.Errorf("clientKey(%q) = %q, want %q", tc.addr, got, tc.want)
		}
	}
}
