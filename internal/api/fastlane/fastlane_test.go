package fastlane

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	stdlog "log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/tawthiq/tawthiq/internal/testpki"
)

const (
	queryType = "application/timestamp-query"
	replyType = "application/timestamp-reply"
	maxBody   = 64
)

// fixture is a running Server whose hot route and net/http handler say which lane answered.
type fixture struct {
	addr   string
	s      *Server
	hs     *http.Server
	served chan error

	fast     atomic.Int32 // Route.Handle calls
	hsConns  atomic.Int32 // connections net/http's server itself saw (ConnState)
	blocking atomic.Bool  // Handle signals entered, then waits on block
	block    chan struct{}
	entered  chan struct{}
	lastReq  atomic.Pointer[http.Request]
	panicked atomic.Bool // Handle panics once when set
}

type options struct {
	fallbackMaxBody int
	headerTimeout   time.Duration
	quiet           bool // no error log
}

func start(t testing.TB, o options) *fixture {
	t.Helper()
	f := &fixture{served: make(chan error, 1), block: make(chan struct{}), entered: make(chan struct{})}
	f.hs = &http.Server{
		Handler:           f,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      10 * time.Second,
		IdleTimeout:       time.Minute,
		ErrorLog:          errorLog(t, o.quiet),
		ConnState: func(_ net.Conn, st http.ConnState) {
			if st == http.StateNew {
				f.hsConns.Add(1)
			}
		},
	}
	if o.headerTimeout > 0 {
		f.hs.ReadHeaderTimeout = o.headerTimeout
	}
	f.s = New(f.hs, Route{
		Method: http.MethodPost, Path: "/tsa", ContentType: queryType, MaxBody: maxBody,
		Header: [][2]string{{"Cache-Control", "no-store"}, {"x-content-type-options", "nosniff"}},
		Handle: f.handle,
	})
	f.s.FallbackMaxBody = o.fallbackMaxBody
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f.addr = ln.Addr().String()
	go func() { f.served <- f.s.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := f.s.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	})
	return f
}

func (f *fixture) handle(ctx context.Context, body []byte) (string, []byte) {
	f.fast.Add(1)
	if ctx.Value(http.ServerContextKey) != f.hs {
		panic("the fast lane's context lacks http.ServerContextKey")
	}
	if f.panicked.CompareAndSwap(true, false) {
		panic("boom")
	}
	if f.blocking.Load() {
		f.entered <- struct{}{}
		<-f.block
	}
	return replyType, append([]byte("fast:"), body...)
}

// ServeHTTP is the fallback, shaped like api.TSAHandler on /tsa.
func (f *fixture) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.lastReq.Store(r)
	w.Header().Set("X-Lane", "net/http")
	switch r.URL.Path {
	case "/tsa":
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", "POST")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		if r.Header.Get("Content-Type") != queryType {
			http.Error(w, "Content-Type must be "+queryType, http.StatusUnsupportedMediaType)
			return
		}
		b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
		if err != nil {
			http.Error(w, "time-stamp request too large", http.StatusRequestEntityTooLarge)
			return
		}
		w.Header().Set("Content-Type", replyType)
		fmt.Fprintf(w, "slow:%s", b)
	case "/stream":
		chunk := []byte(strings.Repeat("s", maxKeptBody))
		for range 3 {
			_, _ = w.Write(chunk)
			w.(http.Flusher).Flush()
		}
	default:
		b, _ := io.ReadAll(r.Body)
		fmt.Fprintf(w, "%s %s %s body=%d", r.Method, r.URL.RequestURI(), r.Proto, len(b))
	}
}

// errorLog sends a server's error log to the test's (nowhere while fuzzing: F may not log then).
func errorLog(t testing.TB, quiet bool) *stdlog.Logger {
	if quiet {
		return stdlog.New(io.Discard, "", 0)
	}
	return stdlog.New(testWriter{t}, "", 0)
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// client is one raw keep-alive connection.
type client struct {
	t  testing.TB
	c  net.Conn
	br *bufio.Reader
}

func (f *fixture) dial(t testing.TB) *client {
	t.Helper()
	c, err := net.Dial("tcp", f.addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	return &client{t: t, c: c, br: bufio.NewReader(c)}
}

func (c *client) write(s string) {
	c.t.Helper()
	if _, err := io.WriteString(c.c, s); err != nil {
		c.t.Fatal(err)
	}
}

// read returns the next final response and its body.
func (c *client) read() (*http.Response, string) { return c.readFor(nil) }

// readFor reads the response to req, which only matters for HEAD.
func (c *client) readFor(req *http.Request) (*http.Response, string) {
	c.t.Helper()
	for {
		resp, err := http.ReadResponse(c.br, req)
		if err != nil {
			c.t.Fatalf("reading response: %v", err)
		}
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			c.t.Fatalf("reading body: %v", err)
		}
		if resp.StatusCode == http.StatusContinue {
			continue
		}
		return resp, string(b)
	}
}

func (c *client) do(req string) (*http.Response, string) {
	c.t.Helper()
	c.write(req)
	method, _, _ := strings.Cut(req, " ")
	return c.readFor(&http.Request{Method: method})
}

// closed reports whether the server closed the connection, reading nothing more.
func (c *client) closed() bool {
	c.t.Helper()
	_ = c.c.SetReadDeadline(time.Now().Add(3 * time.Second))
	b, err := c.br.ReadByte()
	if err == nil {
		c.t.Fatalf("unexpected byte %q after the response", b)
	}
	return errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) || strings.Contains(err.Error(), "reset")
}

func post(path, ct, body string, extra ...string) string {
	h := ""
	if ct != "" {
		h = "Content-Type: " + ct + "\r\n"
	}
	for _, e := range extra {
		h += e + "\r\n"
	}
	return fmt.Sprintf("POST %s HTTP/1.1\r\nHost: x\r\n%sContent-Length: %d\r\n\r\n%s", path, h, len(body), body)
}

func get(path string) string { return "GET " + path + " HTTP/1.1\r\nHost: x\r\n\r\n" }

// checkFast checks a response came from Route.Handle with the route's headers.
func checkFast(t *testing.T, resp *http.Response, body, want string) {
	t.Helper()
	if resp.StatusCode != 200 || body != "fast:"+want {
		t.Fatalf("fast lane: %d %q, want 200 %q", resp.StatusCode, body, "fast:"+want)
	}
	for k, v := range map[string]string{
		"Content-Type": replyType, "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff",
		"Content-Length": fmt.Sprint(len("fast:" + want)), "X-Lane": "", "Server": "",
	} {
		if got := resp.Header.Get(k); got != v {
			t.Errorf("fast lane: %s = %q, want %q", k, got, v)
		}
	}
	if _, err := http.ParseTime(resp.Header.Get("Date")); err != nil {
		t.Errorf("fast lane: Date %q: %v", resp.Header.Get("Date"), err)
	}
}

func TestKeepAliveFastAndFallback(t *testing.T) {
	f := start(t, options{})
	c := f.dial(t)
	resp, body := c.do(post("/tsa", queryType, "q1"))
	checkFast(t, resp, body, "q1")

	big := strings.Repeat("b", maxBody+1)
	for _, tc := range []struct {
		name, req string
		code      int
		body, hdr string // hdr: "Name: value" the fallback must set
	}{
		{"other path", get("/other"), 200, "GET /other HTTP/1.1 body=0", ""},
		{"GET on the hot path", get("/tsa"), 405, "method not allowed\n", "Allow: POST"},
		{"wrong Content-Type", post("/tsa", "application/json", "q"), 415, "Content-Type must be " + queryType + "\n", ""},
		{"Content-Type with a parameter", post("/tsa", queryType+"; x=y", "q"), 415, "Content-Type must be " + queryType + "\n", ""},
		{"no Content-Type", post("/tsa", "", "q"), 415, "Content-Type must be " + queryType + "\n", ""},
		{"two Content-Types", post("/tsa", queryType, "q", "Content-Type: "+queryType), 200, "slow:q", "Content-Type: " + replyType},
		{"body too large", post("/tsa", queryType, big), 413, "time-stamp request too large\n", ""},
		{"query string", post("/tsa?x=1", queryType, "q"), 200, "slow:q", "Content-Type: " + replyType},
		{"absolute form", strings.Replace(post("/tsa", queryType, "q"), "/tsa", "http://x/tsa", 1), 200, "slow:q", ""},
		{"chunked", "POST /tsa HTTP/1.1\r\nHost: x\r\nContent-Type: " + queryType + "\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nq2\r\n0\r\n\r\n", 200, "slow:q2", ""},
		{"Expect 100-continue", post("/tsa", queryType, "q3", "Expect: 100-continue"), 200, "slow:q3", ""},
		{"HEAD", "HEAD /other HTTP/1.1\r\nHost: x\r\n\r\n", 200, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := f.fast.Load()
			resp, body := c.do(tc.req)
			if resp.StatusCode != tc.code || body != tc.body {
				t.Fatalf("got %d %q, want %d %q", resp.StatusCode, body, tc.code, tc.body)
			}
			if resp.Header.Get("X-Lane") != "net/http" {
				t.Errorf("not answered by the net/http handler: %v", resp.Header)
			}
			if k, v, ok := strings.Cut(tc.hdr, ": "); ok && resp.Header.Get(k) != v {
				t.Errorf("%s = %q, want %q", k, resp.Header.Get(k), v)
			}
			if f.fast.Load() != before {
				t.Error("Route.Handle was called")
			}
		})
	}
	resp, body = c.do(post("/tsa", queryType, "q4"))
	checkFast(t, resp, body, "q4")
	if n := f.fast.Load(); n != 2 {
		t.Errorf("Route.Handle called %d times, want 2", n)
	}
	if fast, fb := f.s.Stats(); fast != 2 || fb != 12 {
		t.Errorf("Stats: %d fast, %d fallback; want 2 and 12", fast, fb)
	}
	if n := f.hsConns.Load(); n != 0 {
		t.Errorf("net/http's server saw %d connections, want 0", n)
	}
	r := f.lastReq.Load()
	if r.RemoteAddr != c.c.LocalAddr().String() || r.Host != "x" || r.Header.Get("Host") != "" ||
		r.Context().Value(http.ServerContextKey) != f.hs || r.Context().Value(http.LocalAddrContextKey) == nil {
		t.Errorf("fallback request lacks what net/http sets: RemoteAddr %q Host %q header %v", r.RemoteAddr, r.Host, r.Header)
	}
}

func TestFirstRequestNotHotGoesToNetHTTP(t *testing.T) {
	f := start(t, options{})
	c := f.dial(t)
	resp, body := c.do(get("/healthz"))
	if resp.StatusCode != 200 || body != "GET /healthz HTTP/1.1 body=0" {
		t.Fatalf("got %d %q", resp.StatusCode, body)
	}
	if n := f.hsConns.Load(); n != 1 {
		t.Fatalf("net/http's server saw %d connections, want 1", n)
	}
	r := f.lastReq.Load()
	if r.RemoteAddr != c.c.LocalAddr().String() || r.ProtoMajor != 1 || r.ProtoMinor != 1 {
		t.Errorf("request: RemoteAddr %q, proto %d.%d", r.RemoteAddr, r.ProtoMajor, r.ProtoMinor)
	}
	// The connection stays with net/http, hot route or not.
	resp, body = c.do(post("/tsa", queryType, "q"))
	if resp.StatusCode != 200 || body != "slow:q" || f.fast.Load() != 0 {
		t.Errorf("hot route on a net/http connection: %d %q, Handle calls %d", resp.StatusCode, body, f.fast.Load())
	}
}

func TestSlowClientSplitRequestLine(t *testing.T) {
	f := start(t, options{})
	for _, tc := range []struct {
		name   string
		pieces []string
		fast   bool
	}{
		{"hot", []string{"PO", "ST /ts", "a", " HTTP/1.1\r\nHost: x\r\nContent-Type: " + queryType + "\r\nContent-Length: 1\r\n\r\nz"}, true},
		{"hot with query", []string{"POST /tsa", "?x=1 HTTP/1.1\r\nHost: x\r\nContent-Type: " + queryType + "\r\nContent-Length: 1\r\n\r\nz"}, true},
		{"diverges", []string{"PO", "ST /ts", "b HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\nz"}, false},
		{"longer path", []string{"POST /tsa", "/x HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\nz"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := f.hsConns.Load()
			c := f.dial(t)
			for _, p := range tc.pieces {
				c.write(p)
				time.Sleep(20 * time.Millisecond)
			}
			resp, body := c.read()
			if resp.StatusCode != 200 {
				t.Fatalf("got %d %q", resp.StatusCode, body)
			}
			if fast := f.hsConns.Load() == before; fast != tc.fast {
				t.Errorf("fast lane = %v, want %v (body %q)", fast, tc.fast, body)
			}
			if tc.fast && !strings.HasPrefix(tc.pieces[1], "?") && body != "fast:z" {
				t.Errorf("body %q, want the fast route's", body)
			}
		})
	}
}

func TestConnectionClose(t *testing.T) {
	f := start(t, options{})
	for _, tc := range []struct{ name, first, second string }{
		{"HTTP/1.0 hot", strings.Replace(post("/tsa", queryType, "q"), "HTTP/1.1", "HTTP/1.0", 1), ""},
		{"Connection: close hot", post("/tsa", queryType, "q", "Connection: close"), ""},
		{"HTTP/1.0 fallback", post("/tsa", queryType, "q"), "GET /other HTTP/1.0\r\n\r\n"},
		{"Connection: close fallback", post("/tsa", queryType, "q"), "GET /other HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := f.dial(t)
			resp, _ := c.do(tc.first)
			if tc.second != "" {
				if resp.Close {
					t.Fatal("first response closes the connection")
				}
				resp, _ = c.do(tc.second)
			}
			if resp.StatusCode != 200 {
				t.Fatalf("status %d", resp.StatusCode)
			}
			if resp.ProtoMinor == 1 && !resp.Close {
				t.Error("response to HTTP/1.1 lacks Connection: close")
			}
			if !c.closed() {
				t.Error("connection left open")
			}
		})
	}
	t.Run("HTTP/1.0 keep-alive", func(t *testing.T) {
		c := f.dial(t)
		req := strings.Replace(post("/tsa", queryType, "q", "Connection: keep-alive"), "HTTP/1.1", "HTTP/1.0", 1)
		for range 2 {
			resp, body := c.do(req)
			checkFast(t, resp, body, "q")
		}
	})
}

func TestPipelined(t *testing.T) {
	f := start(t, options{})
	c := f.dial(t)
	c.write(post("/tsa", queryType, "p1") + get("/other") + post("/tsa", queryType, "p2") + post("/tsa", "text/plain", "p3"))
	resp, body := c.read()
	checkFast(t, resp, body, "p1")
	if resp, body = c.read(); body != "GET /other HTTP/1.1 body=0" {
		t.Fatalf("second: %d %q", resp.StatusCode, body)
	}
	resp, body = c.read()
	checkFast(t, resp, body, "p2")
	if resp, body = c.read(); resp.StatusCode != 415 {
		t.Fatalf("fourth: %d %q", resp.StatusCode, body)
	}
}

func TestServerLevelChecks(t *testing.T) {
	f := start(t, options{fallbackMaxBody: 1024})
	for _, tc := range []struct {
		name, req string
		code      int
		body      string
		closes    bool
	}{
		{"missing Host", "POST /tsa HTTP/1.1\r\nContent-Type: " + queryType + "\r\nContent-Length: 1\r\n\r\nq", 400, "400 Bad Request: missing required Host header", true},
		// net/http would take an empty Host; fasthttp does not.
		{"empty Host", "POST /tsa HTTP/1.1\r\nHost:\r\nContent-Type: " + queryType + "\r\nContent-Length: 1\r\n\r\nq", 400, "400 Bad Request: missing required Host header", true},
		{"two Hosts", "GET /other HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400, "400 Bad Request", true},
		{"HTTP/1.0 without Host", "GET /other HTTP/1.0\r\n\r\n", 200, "GET /other HTTP/1.0 body=0", true},
		{"over FallbackMaxBody", post("/tsa", queryType, strings.Repeat("x", 2000)), 413, "413 Request Entity Too Large", true},
		{"header over the read buffer", post("/tsa", queryType, "q", "X-Big: "+strings.Repeat("y", 20<<10)), 431, "431 Request Header Fields Too Large", true},
		{"HTTP/2.0 request line", strings.Replace(post("/tsa", queryType, "q"), "HTTP/1.1", "HTTP/2.0", 1), 505, "505 HTTP Version Not Supported", true},
		{"unknown Expect", post("/tsa", queryType, "q", "Expect: tea"), 417, "", true},
		{"OPTIONS *", "OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n", 200, "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := f.dial(t)
			resp, body := c.do(post("/tsa", queryType, "first"))
			checkFast(t, resp, body, "first")
			resp, body = c.do(tc.req)
			if resp.StatusCode != tc.code || body != tc.body {
				t.Fatalf("got %d %q, want %d %q", resp.StatusCode, body, tc.code, tc.body)
			}
			if tc.closes && !c.closed() {
				t.Error("connection left open")
			}
		})
	}
	t.Run("panic in Handle", func(t *testing.T) {
		c := f.dial(t)
		f.panicked.Store(true)
		c.write(post("/tsa", queryType, "q"))
		if !c.closed() {
			t.Fatal("connection left open after a panic")
		}
		resp, body := f.dial(t).do(post("/tsa", queryType, "after"))
		checkFast(t, resp, body, "after")
	})
}

func TestSniffTimeout(t *testing.T) {
	f := start(t, options{headerTimeout: 200 * time.Millisecond})
	c := f.dial(t)
	c.write("PO")
	start := time.Now()
	if !c.closed() {
		t.Fatal("a stalled request line was not dropped")
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("dropped after %v", d)
	}
}

func TestShutdown(t *testing.T) {
	f := start(t, options{})
	fast, slow := f.dial(t), f.dial(t)
	resp, body := fast.do(post("/tsa", queryType, "q"))
	checkFast(t, resp, body, "q")
	if resp, _ := slow.do(get("/healthz")); resp.StatusCode != 200 {
		t.Fatal(resp.Status)
	}
	// One request in flight on a third connection: Shutdown must wait for its answer.
	f.blocking.Store(true)
	busy := f.dial(t)
	busy.write(post("/tsa", queryType, "inflight"))
	<-f.entered

	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		done <- f.s.Shutdown(ctx)
	}()
	for _, c := range []*client{fast, slow} {
		if !c.closed() {
			t.Error("idle connection left open")
		}
	}
	select {
	case err := <-done:
		t.Fatalf("Shutdown returned (%v) with a request in flight", err)
	case <-time.After(100 * time.Millisecond):
	}
	close(f.block)
	resp, body = busy.read()
	checkFast(t, resp, body, "inflight")
	if !resp.Close || !busy.closed() {
		t.Error("the in-flight request's connection was not closed after its answer")
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Shutdown: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Shutdown did not return")
	}
	select {
	case err := <-f.served:
		if !errors.Is(err, http.ErrServerClosed) {
			t.Fatalf("Serve returned %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return")
	}
	if c, err := net.Dial("tcp", f.addr); err == nil {
		c.Close()
		t.Fatal("dial succeeded after Shutdown")
	}
	if err := f.s.Serve(mustListen(t)); !errors.Is(err, http.ErrServerClosed) {
		t.Errorf("Serve after Shutdown: %v", err)
	}
}

func mustListen(t *testing.T) net.Listener {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

// TestCurl has an independent client send the hot request, then another on the same connection.
func TestCurl(t *testing.T) {
	curl := testpki.NeedTool(t, "curl", "curl")
	f := start(t, options{})
	dir := t.TempDir()
	req := filepath.Join(dir, "req.tsq")
	if err := os.WriteFile(req, []byte("\x30\x03\x02\x01\x01"), 0o600); err != nil {
		t.Fatal(err)
	}
	hdr1, out1, out2 := filepath.Join(dir, "h1"), filepath.Join(dir, "o1"), filepath.Join(dir, "o2")
	cmd := exec.Command(curl, "-sS", "--http1.1",
		"-D", hdr1, "-o", out1, "-w", "%{http_code} %{num_connects}\n",
		"--data-binary", "@"+req, "-H", "Content-Type: "+queryType, "http://"+f.addr+"/tsa",
		"--next", "-sS", "--http1.1", "-o", out2, "-w", "%{http_code} %{num_connects}\n", "http://"+f.addr+"/other")
	got, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("curl: %v\n%s", err, got)
	}
	if string(got) != "200 1\n200 0\n" {
		t.Errorf("curl: %q, want two 200s on one connection", got)
	}
	b1, _ := os.ReadFile(out1)
	b2, _ := os.ReadFile(out2)
	h1, _ := os.ReadFile(hdr1)
	if string(b1) != "fast:\x30\x03\x02\x01\x01" || string(b2) != "GET /other HTTP/1.1 body=0" {
		t.Errorf("bodies %q, %q", b1, b2)
	}
	for _, want := range []string{"Content-Type: " + replyType, "Cache-Control: no-store", "X-Content-Type-Options: nosniff"} {
		if !strings.Contains(string(h1), want+"\r\n") {
			t.Errorf("curl's headers lack %q:\n%s", want, h1)
		}
	}
	if f.fast.Load() != 1 || f.hsConns.Load() != 0 {
		t.Errorf("Handle calls %d, net/http connections %d; want 1, 0", f.fast.Load(), f.hsConns.Load())
	}
}

func TestClassify(t *testing.T) {
	s := New(&http.Server{}, Route{Method: "POST", Path: "/tsa", Handle: func(context.Context, []byte) (string, []byte) { return "", nil }},
		Route{Method: "GET", Path: "/ocsp", Handle: func(context.Context, []byte) (string, []byte) { return "", nil }})
	for in, want := range map[string]lane{
		"":                 laneMore,
		"P":                laneMore,
		"POST /tsa":        laneMore,
		"POST /tsa ":       laneFast,
		"POST /tsa?":       laneFast,
		"POST /tsa/":       laneSlow,
		"POST /ts ":        laneSlow,
		"GET /ocsp HTTP":   laneFast,
		"GET /":            laneMore,
		"GET /health":      laneSlow,
		"post /tsa ":       laneSlow,
		"\r\nPOST /tsa ":   laneSlow,
		"PRI * HTTP/2.0":   laneSlow,
		"\x16\x03\x01\x02": laneSlow,
	} {
		if got := s.classify([]byte(in)); got != want {
			t.Errorf("classify(%q) = %v, want %v", in, got, want)
		}
	}
}

func TestNewRejectsBadRoutes(t *testing.T) {
	h := func(context.Context, []byte) (string, []byte) { return "", nil }
	for name, r := range map[string]Route{
		"no handle":      {Method: "POST", Path: "/tsa"},
		"query in path":  {Method: "POST", Path: "/tsa?x", Handle: h},
		"relative path":  {Method: "POST", Path: "tsa", Handle: h},
		"bad method":     {Method: "PO ST", Path: "/tsa", Handle: h},
		"framing header": {Method: "POST", Path: "/tsa", Handle: h, Header: [][2]string{{"content-length", "1"}}},
		"header newline": {Method: "POST", Path: "/tsa", Handle: h, Header: [][2]string{{"X-A", "a\r\nb: c"}}},
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Error("New accepted it")
				}
			}()
			New(&http.Server{}, r)
		})
	}
}

// TestFastPathAllocs: a hot request costs the server no allocation.
func TestFastPathAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	resp := fixedResponse()
	hs := &http.Server{Handler: http.NotFoundHandler(), ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second, WriteTimeout: 10 * time.Second}
	addr := serveBench(t, New(hs, Route{Method: "POST", Path: "/tsa", ContentType: queryType, MaxBody: 1024,
		Header: [][2]string{{"Cache-Control", "no-store"}},
		Handle: func(context.Context, []byte) (string, []byte) { return replyType, resp }}))
	rc := newRawClient(t, addr)
	var err error
	allocs := testing.AllocsPerRun(2000, func() {
		if e := rc.roundTrip(); e != nil {
			err = e
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if allocs != 0 {
		t.Errorf("%v allocations per fast-lane request, want 0", allocs)
	}
}

func TestShedLargeBodies(t *testing.T) {
	var ctx fasthttp.RequestCtx
	big := strings.Repeat("d", 2*maxKeptBody)
	ctx.Request.SetBodyString(big)
	ctx.Response.SetBodyString(big)
	shed(&ctx)
	if cap(ctx.Request.SwapBody(nil)) != 0 {
		t.Error("the request body buffer is kept")
	}
	if string(ctx.Response.Body()) != big {
		t.Fatal("the response body is lost")
	}
	ctx.Response.ResetBody()
	if cap(ctx.Response.SwapBody(nil)) != 0 {
		t.Error("the response body buffer is kept")
	}
	// A small body stays, to be reused.
	ctx.Request.SetBodyString("small")
	shed(&ctx)
	if string(ctx.Request.Body()) != "small" {
		t.Error("a small body was dropped")
	}
}

// TestLargeFallbackStreamed: a flushed (streamed) net/http answer on a fast-lane
// connection goes out whole, and shed leaves its stream alone.
func TestLargeFallbackStreamed(t *testing.T) {
	f := start(t, options{})
	c := f.dial(t)
	resp, body := c.do(post("/tsa", queryType, "q"))
	checkFast(t, resp, body, "q")
	big := strings.Repeat("u", 3*maxKeptBody)
	resp, body = c.do(post("/upload", "application/pdf", big))
	if want := fmt.Sprintf("POST /upload HTTP/1.1 body=%d", len(big)); resp.StatusCode != 200 || body != want {
		t.Fatalf("got %d %q, want %q", resp.StatusCode, body, want)
	}
	resp, body = c.do(get("/stream"))
	if resp.StatusCode != 200 || body != strings.Repeat("s", 3*maxKeptBody) {
		t.Fatalf("streamed: %d, %d bytes", resp.StatusCode, len(body))
	}
	resp, body = c.do(post("/tsa", queryType, "q"))
	checkFast(t, resp, body, "q")
}

// TestZeroValueHTTPServer: no timeouts, no handler (DefaultServeMux), as http.Server allows.
func TestZeroValueHTTPServer(t *testing.T) {
	addr := serveBench(t, New(&http.Server{}, Route{Method: "POST", Path: "/tsa", ContentType: queryType, MaxBody: 1024,
		Handle: func(context.Context, []byte) (string, []byte) { return replyType, []byte("z") }}))
	c := (&fixture{addr: addr}).dial(t)
	if resp, body := c.do(post("/tsa", queryType, "q")); resp.StatusCode != 200 || body != "z" {
		t.Fatalf("fast: %d %q", resp.StatusCode, body)
	}
	if resp, _ := c.do(get("/nowhere")); resp.StatusCode != 404 {
		t.Fatalf("DefaultServeMux: %d", resp.StatusCode)
	}
}
