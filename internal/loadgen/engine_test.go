package loadgen

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// engines are the ways a lean run can go: perLoop for run.
var engines = []struct {
	name    string
	perLoop int
}{
	{"goroutines", 0},
	{"one loop", connsPerLoop},
	{"loops of 3", 3}, // 8 clients: two full loops and one of 2
}

// counted starts an httptest server with h and counts its connections and requests.
func counted(t *testing.T, h http.HandlerFunc) (srv *httptest.Server, conns, reqs *atomic.Int64) {
	conns, reqs = new(atomic.Int64), new(atomic.Int64)
	srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reqs.Add(1)
		h(w, r)
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	return srv, conns, reqs
}

// echoID is a Config whose requests carry their client and number, and whose
// CheckReply wants each answer to be "re:" and the request that asked for it.
func echoID(url string, clients int) Config {
	n := make([]atomic.Int64, clients)
	return Config{URL: url, ContentType: "application/x-test", Concurrency: clients, Duration: 300 * time.Millisecond, Lean: true,
		NextBody: func(client int, dst []byte) []byte {
			return fmt.Appendf(dst, "client %d request %d", client, n[client].Add(1))
		},
		CheckReply: func(req, resp []byte) error {
			if !bytes.Equal(resp, append([]byte("re:"), req...)) {
				return fmt.Errorf("answer %q to %q", resp, req)
			}
			return nil
		}}
}

func echo(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	w.Header().Set("Content-Length", strconv.Itoa(3+len(body)))
	w.Write(append([]byte("re:"), body...))
}

// TestEngineCounts: every request sent is answered, judged and counted once, with
// its round trip as its latency, and keep-alive holds one connection per client.
func TestEngineCounts(t *testing.T) {
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			const delay = 2 * time.Millisecond
			srv, conns, reqs := counted(t, func(w http.ResponseWriter, r *http.Request) {
				time.Sleep(delay)
				echo(w, r)
			})
			// Answers come in a random order across connections: each must meet its own request.
			res, err := run(context.Background(), echoID(srv.URL+"/x", 8), e.perLoop)
			if err != nil {
				t.Fatal(err)
			}
			if res.Errors != 0 || res.FirstErr != nil {
				t.Fatalf("result %+v", res)
			}
			// The probe, then each client's requests until the end, the last ones drained.
			if got := reqs.Load(); got != int64(res.Requests)+1 {
				t.Fatalf("the server answered %d requests, the run counted %d and a probe", got, res.Requests)
			}
			if c := conns.Load(); c != 9 {
				t.Fatalf("%d connections for 8 clients and a probe", c)
			}
			if res.P50 < delay || res.P99 < res.P50 || res.Max < res.P99 || res.Max > time.Second {
				t.Fatalf("latencies %+v", res)
			}
			if max := 8 * res.Elapsed / delay; res.Requests < 40 || res.Requests > int(max) {
				t.Fatalf("%d requests in %s by 8 clients at %s each", res.Requests, res.Elapsed, delay)
			}
			if want := float64(res.Requests) / res.Elapsed.Seconds(); res.PerSecond != want {
				t.Fatalf("%f/s, want %f", res.PerSecond, want)
			}
		})
	}
}

// TestEngineClose: a server that closes each connection after its answer gets a
// new connection per request, and no error.
func TestEngineClose(t *testing.T) {
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			srv, conns, reqs := counted(t, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Connection", "close")
				echo(w, r)
			})
			cfg := echoID(srv.URL, 4)
			cfg.Duration = 200 * time.Millisecond
			res, err := run(context.Background(), cfg, e.perLoop)
			if err != nil {
				t.Fatal(err)
			}
			if res.Errors != 0 || res.Requests < 10 {
				t.Fatalf("result %+v", res)
			}
			if c, r := conns.Load(), reqs.Load(); c != r || r != int64(res.Requests)+1 {
				t.Fatalf("%d connections, %d requests served, %d counted", c, r, res.Requests)
			}
		})
	}
}

// TestEngineStatus: wrong statuses and failed checks are counted as errors and the
// run goes on over the same connections.
func TestEngineStatus(t *testing.T) {
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			var n atomic.Int64
			srv, conns, reqs := counted(t, func(w http.ResponseWriter, r *http.Request) {
				switch n.Add(1) % 4 {
				case 2:
					w.WriteHeader(http.StatusTeapot)
				case 3:
					w.Write([]byte("bad"))
				default:
					w.Write([]byte("good"))
				}
			})
			res, err := run(context.Background(), Config{URL: srv.URL, Concurrency: 4, Duration: 200 * time.Millisecond, Lean: true,
				Check: func(b []byte) error {
					if string(b) != "good" {
						return errors.New("not good")
					}
					return nil
				}}, e.perLoop)
			if err != nil {
				t.Fatal(err)
			}
			// Errors after the run's end are not the server's: up to one a client is not counted.
			if got := int64(res.Requests + res.Errors + 1); res.Errors == 0 || res.Requests == 0 || got > reqs.Load() || got+4 < reqs.Load() {
				t.Fatalf("result %+v for %d requests served", res, reqs.Load())
			}
			if f := res.FirstErr.Error(); f != "HTTP status 418, want 200" && f != "not good" {
				t.Fatalf("first error %q", f)
			}
			if c := conns.Load(); c != 5 {
				t.Fatalf("%d connections for 4 clients and a probe", c)
			}
		})
	}
}

// rawServer serves each connection with serve, for answers net/http would not give.
func rawServer(t *testing.T, serve func(c net.Conn, br *bufio.Reader)) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				serve(c, bufio.NewReader(c))
			}()
		}
	}()
	return "http://" + ln.Addr().String() + "/"
}

// TestEnginePieces: an answer that comes a few bytes at a time, a large answer,
// and a 1 MiB request that cannot go out in one write are read and sent whole.
func TestEnginePieces(t *testing.T) {
	big := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB
	cases := []struct {
		name  string
		body  []byte // of each request, before its id
		piece int    // bytes per write of the answer
	}{
		{"pieces", []byte("small"), 3},
		{"1 MiB each way", big, 64 << 10},
	}
	for _, tc := range cases {
		url := rawServer(t, func(c net.Conn, br *bufio.Reader) {
			for {
				r, err := http.ReadRequest(br)
				if err != nil {
					return
				}
				body, err := io.ReadAll(r.Body)
				if err != nil {
					return
				}
				ans := fmt.Appendf(nil, "HTTP/1.1 200 OK\r\nX-Pad: %s\r\nContent-Length: %d\r\n\r\nre:%s", strings.Repeat("p", 100), 3+len(body), body)
				for len(ans) > 0 {
					k := min(tc.piece, len(ans))
					if _, err := c.Write(ans[:k]); err != nil {
						return
					}
					ans = ans[k:]
					if tc.piece < 10 {
						time.Sleep(20 * time.Microsecond) // each piece a read of its own
					}
				}
			}
		})
		for _, e := range engines {
			t.Run(tc.name+"/"+e.name, func(t *testing.T) {
				cfg := echoID(url, 4)
				next := cfg.NextBody
				cfg.NextBody = func(client int, dst []byte) []byte { return next(client, append(dst, tc.body...)) }
				cfg.Duration = 200 * time.Millisecond
				res, err := run(context.Background(), cfg, e.perLoop)
				if err != nil {
					t.Fatal(err)
				}
				if res.Errors != 0 || res.Requests < 4 {
					t.Fatalf("result %+v", res)
				}
			})
		}
	}
}

// TestEngineBroken: an answer cut short, an answer with bytes after it, and a server
// that hangs up after each answer count errors, and the clients connect again.
func TestEngineBroken(t *testing.T) {
	cases := []struct{ name, answer string }{
		{"short", "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc"},
		{"extra", "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabcdef"},
		{"hang up", "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc"},
	}
	for _, tc := range cases {
		serve := func(t *testing.T) string {
			var n atomic.Int64
			return rawServer(t, func(c net.Conn, br *bufio.Reader) {
				// Every second connection answers well, then breaks.
				good := n.Add(1)%2 == 1
				for {
					r, err := http.ReadRequest(br)
					if err != nil {
						return
					}
					io.Copy(io.Discard, r.Body)
					if good {
						c.Write([]byte("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc"))
						good = tc.name == "hang up"
						continue
					}
					c.Write([]byte(tc.answer))
					return
				}
			})
		}
		for _, e := range engines {
			t.Run(tc.name+"/"+e.name, func(t *testing.T) {
				res, err := run(context.Background(), Config{URL: serve(t), Concurrency: 4, Duration: 100 * time.Millisecond, Lean: true}, e.perLoop)
				if err != nil {
					t.Fatal(err)
				}
				if res.Errors == 0 || res.Requests == 0 {
					t.Fatalf("result %+v", res)
				}
			})
		}
	}
}

// TestEngineEnd: a cancelled ctx ends the run early; answers late past the run's
// end are waited for and counted; a server gone after the probe makes every
// request an error.
func TestEngineEnd(t *testing.T) {
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			var slow atomic.Bool
			srv, _, _ := counted(t, func(w http.ResponseWriter, r *http.Request) {
				if slow.Load() {
					time.Sleep(300 * time.Millisecond)
				}
			})
			ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
			defer cancel()
			res, err := run(ctx, Config{URL: srv.URL, Concurrency: 2, Duration: time.Minute, Lean: true}, e.perLoop)
			if err != nil || res.Elapsed > 5*time.Second || res.Errors != 0 {
				t.Fatalf("cancelled: %+v, %v", res, err)
			}

			cfg := Config{URL: srv.URL, Concurrency: 3, Duration: 100 * time.Millisecond, Lean: true,
				NextBody: func(client int, dst []byte) []byte {
					slow.Store(true) // the probe is slow too, which does no harm
					return append(dst, "x"...)
				}}
			res, err = run(context.Background(), cfg, e.perLoop)
			if err != nil || res.Requests != 3 || res.Errors != 0 || res.Elapsed < 300*time.Millisecond || res.P50 < 300*time.Millisecond {
				t.Fatalf("late answers: %+v, %v", res, err)
			}

			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			go func() {
				c, err := ln.Accept()
				ln.Close()
				if err != nil {
					return
				}
				defer c.Close()
				if _, err := http.ReadRequest(bufio.NewReader(c)); err == nil {
					c.Write([]byte("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"))
				}
			}()
			res, err = run(context.Background(), Config{URL: "http://" + ln.Addr().String(), Concurrency: 2, Duration: 50 * time.Millisecond, Lean: true}, e.perLoop)
			if err == nil || res.Errors == 0 || !strings.Contains(res.FirstErr.Error(), "refused") {
				t.Fatalf("server gone: %+v, %v", res, err)
			}
		})
	}
}
