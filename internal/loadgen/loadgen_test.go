package loadgen_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tawthiq/tawthiq/internal/loadgen"
)

func TestRun(t *testing.T) {
	var conns atomic.Int64
	var fail atomic.Bool
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if fail.Load() && r.Method == "POST" {
			w.WriteHeader(500)
			return
		}
		w.Write(append([]byte(r.Method+":"), body...))
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()

	res, err := loadgen.Run(context.Background(), loadgen.Config{URL: srv.URL, Body: []byte("req"), ContentType: "application/ocsp-request",
		Concurrency: 4, Duration: 300 * time.Millisecond,
		Check: func(b []byte) error {
			if !bytes.Equal(b, []byte("POST:req")) {
				return errors.New("wrong body")
			}
			return nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Requests < 10 || res.Errors != 0 || res.PerSecond <= 0 || res.P50 <= 0 || res.P99 < res.P50 {
		t.Fatalf("result %+v", res)
	}
	// Keep-alive: one connection per client (and the probe's), not one per request.
	if n := conns.Load(); n > 5 {
		t.Fatalf("%d connections for 4 clients", n)
	}
	// GET when there is no body.
	if _, err := loadgen.Run(context.Background(), loadgen.Config{URL: srv.URL, Concurrency: 1, Duration: 50 * time.Millisecond,
		Check: func(b []byte) error {
			if string(b) != "GET:" {
				return errors.New("not a GET")
			}
			return nil
		}}); err != nil {
		t.Fatal(err)
	}
	// A wrong status fails the first request at once.
	fail.Store(true)
	if _, err := loadgen.Run(context.Background(), loadgen.Config{URL: srv.URL, Body: []byte("x"), Duration: 50 * time.Millisecond}); err == nil {
		t.Fatal("a 500 was counted as an answer")
	}
}

// TestLean: the minimal client sends distinct bodies over one connection per
// client, reads Content-Length answers, pairs each with its request, and reports
// wrong statuses and unreadable answers as errors.
func TestLean(t *testing.T) {
	var conns atomic.Int64
	var mode atomic.Int64 // 0 echo, 1 status 500, 2 chunked
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		switch mode.Load() {
		case 1:
			w.WriteHeader(500)
			return
		case 2:
			w.Write(body)
			w.(http.Flusher).Flush() // no Content-Length: chunked
			return
		}
		if r.Header.Get("Content-Type") != "application/x-test" || r.Method != http.MethodPost {
			w.WriteHeader(400)
			return
		}
		w.Write(append([]byte("re:"), body...))
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	var n [4]atomic.Int64
	cfg := loadgen.Config{URL: srv.URL + "/x", ContentType: "application/x-test", Concurrency: 4, Duration: 300 * time.Millisecond, Lean: true,
		NextBody: func(client int, dst []byte) []byte {
			return fmt.Appendf(dst, "client %d request %d", client, n[client].Add(1))
		},
		CheckReply: func(req, resp []byte) error {
			if !bytes.Equal(resp, append([]byte("re:"), req...)) {
				return fmt.Errorf("answer %q to %q", resp, req)
			}
			return nil
		}}
	res, err := loadgen.Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if res.Requests < 10 || res.Errors != 0 || res.P99 < res.P50 {
		t.Fatalf("result %+v", res)
	}
	if c := conns.Load(); c > 5 {
		t.Fatalf("%d connections for 4 clients", c)
	}
	for _, m := range []int64{1, 2} {
		mode.Store(m)
		if _, err := loadgen.Run(context.Background(), cfg); err == nil {
			t.Fatalf("mode %d: accepted", m)
		}
	}
	if _, err := loadgen.Run(context.Background(), loadgen.Config{URL: "https://127.0.0.1:1/", Lean: true}); err == nil {
		t.Fatal("the lean client accepted https")
	}
}
