// Package fastlane serves a few hot routes, above all RFC 3161's POST /tsa, without
// net/http: net/http spends about 29 µs of CPU per keep-alive request here where a
// minimal server spends 20, and the time-stamping endpoint must answer ~15,000
// requests/s on two cores.
//
// Each accepted connection is sniffed: if its first bytes are the request line of a
// hot route ("POST /tsa "), the connection is served by fasthttp (a well-kept HTTP/1.1
// library: all HTTP parsing on the fast lane is its own), otherwise it is handed,
// bytes replayed, to the *http.Server unchanged. On a fast-lane connection only the
// exact happy case of a hot route (method, path without query, HTTP/1.x, one
// Content-Type equal to the route's, a Content-Length body within MaxBody, no Expect,
// no Transfer-Encoding) is answered by Route.Handle; every other request goes to the
// http.Server's handler through fasthttpadaptor, so its answers (problems, 405, 413,
// 415, headers) are the ones net/http would give. No TLS: the fast lane is for
// plain HTTP behind a terminating proxy or on loopback.
//
// What differs on a fast-lane connection: hs.ConnState is not called; a request's
// context is the connection's (hs.BaseContext, hs.ConnContext, the server and local
// address values) and is not cancelled when the client goes away; a header over 16 KiB
// gets 431, a body over FallbackMaxBody 413, an HTTP/1.1 request with an empty Host 400,
// before any handler runs; hs.ReadTimeout runs from the end of the header, not its
// start, and hs.WriteTimeout from the end of the handler; a handler's panic is logged
// without its stack when it is net/http's (the adaptor recovers it first).
package fastlane

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttpadaptor"
)

// Route is a hot route answered without net/http.
type Route struct {
	Method, Path string      // exact, e.g. "POST", "/tsa"; a request with a query string goes to the fallback
	ContentType  string      // the request's Content-Type must equal this exactly, else: fallback
	MaxBody      int         // larger bodies go to the fallback, which answers 413 itself
	Header       [][2]string // extra response headers, e.g. {"Cache-Control", "no-store"}
	// Handle answers body; respType is the response Content-Type, resp the body (status 200).
	// body is only valid during the call; resp is copied. ctx is the connection's (see the
	// package doc), not fasthttp's RequestCtx, which is recycled after the call.
	Handle func(ctx context.Context, body []byte) (respType string, resp []byte)
}

// DefaultFallbackMaxBody is the API's largest body (a document): the fast lane must take what net/http takes.
const DefaultFallbackMaxBody = 32 << 20

// maxReadBuffer bounds the per-connection read buffer, which fasthttp cannot grow for a long header.
const maxReadBuffer = 16 << 10

// Server dispatches each accepted connection to fasthttp or to hs.
type Server struct {
	// FallbackMaxBody (0: DefaultFallbackMaxBody), set before Serve, bounds any body on a fast-lane connection: 413 beyond.
	FallbackMaxBody int

	hs     *http.Server
	routes []route

	fs      *fasthttp.Server
	adapted fasthttp.RequestHandler // hs's handler behind fasthttpadaptor
	handler http.Handler            // hs.Handler or http.DefaultServeMux
	base    context.Context         // hs.BaseContext plus http.ServerContextKey
	slow    *handoff                // the listener hs.Serve runs on

	shutting atomic.Bool
	fast     atomic.Uint64 // requests answered by a Route's Handle
	fallback atomic.Uint64 // requests on fast-lane connections answered by hs's handler
	mu       sync.Mutex
	ln       net.Listener
	conns    map[*conn]struct{} // sniffing or fast-lane connections
	hsErr    error              // hs.Serve's error when it stopped on its own
}

// route is a Route with what the dispatcher and the fast path compare, built once.
type route struct {
	Route
	line []byte      // "POST /tsa", the request-line prefix
	hdr  [][2][]byte // canonical header names and values
}

// New returns a Server for hs; a malformed Route panics, as a malformed http.ServeMux pattern does.
func New(hs *http.Server, routes ...Route) *Server {
	if hs == nil {
		panic("fastlane: nil http.Server")
	}
	s := &Server{hs: hs, conns: map[*conn]struct{}{}}
	seen := map[string]bool{}
	for _, r := range routes {
		line := r.Method + " " + r.Path
		switch {
		case r.Handle == nil:
			panic("fastlane: route " + line + " has no Handle")
		case !isToken(r.Method):
			panic(fmt.Sprintf("fastlane: bad method %q", r.Method))
		case r.Path == "" || r.Path[0] != '/' || strings.ContainsAny(r.Path, "? \t\r\n"):
			panic(fmt.Sprintf("fastlane: bad path %q", r.Path))
		case len(line) >= sniffSize:
			panic("fastlane: request line too long: " + line)
		case r.MaxBody < 0:
			panic("fastlane: negative MaxBody for " + line)
		case seen[line]:
			panic("fastlane: duplicate route " + line)
		}
		seen[line] = true
		rt := route{Route: r, line: []byte(line)}
		for _, kv := range r.Header {
			k := http.CanonicalHeaderKey(kv[0])
			switch k {
			case "Content-Type", "Content-Length", "Transfer-Encoding", "Connection", "Trailer":
				panic("fastlane: route " + line + " may not set " + k)
			}
			if !isToken(k) || strings.ContainsAny(kv[1], "\r\n\x00") {
				panic(fmt.Sprintf("fastlane: bad header %q: %q", kv[0], kv[1]))
			}
			rt.hdr = append(rt.hdr, [2][]byte{[]byte(k), []byte(kv[1])})
		}
		s.routes = append(s.routes, rt)
	}
	return s
}

// Serve is http.Server.Serve with the fast lane (ln closed, http.ErrServerClosed after Shutdown); call it once.
func (s *Server) Serve(ln net.Listener) error {
	defer ln.Close()
	s.mu.Lock()
	if s.shutting.Load() {
		s.mu.Unlock()
		return http.ErrServerClosed
	}
	if s.ln != nil {
		s.mu.Unlock()
		return errors.New("fastlane: Serve called twice")
	}
	s.ln = ln
	s.start(ln)
	s.mu.Unlock()

	go func() {
		err := s.hs.Serve(s.slow)
		s.mu.Lock()
		defer s.mu.Unlock()
		if !s.shutting.Load() {
			// hs stopped by itself (closed beforehand?): stop accepting what it cannot serve.
			s.hsErr = err
			ln.Close()
		}
	}()

	var delay time.Duration
	for {
		nc, err := ln.Accept()
		if err != nil {
			if s.shutting.Load() {
				return http.ErrServerClosed
			}
			s.mu.Lock()
			hsErr := s.hsErr
			s.mu.Unlock()
			if hsErr != nil {
				return hsErr
			}
			if temporary(err) {
				// As net/http: out of descriptors is no reason to stop serving.
				delay = min(max(2*delay, 5*time.Millisecond), time.Second)
				time.Sleep(delay)
				continue
			}
			s.slow.Close()
			return err
		}
		delay = 0
		go s.dispatch(nc)
	}
}

// Stats returns how many requests a Route's Handle answered and how many
// requests on fast-lane connections went to hs's handler instead.
func (s *Server) Stats() (fast, fallback uint64) { return s.fast.Load(), s.fallback.Load() }

// Shutdown is http.Server.Shutdown for both lanes: idle connections close, in-flight requests finish.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.shutting.Store(true)
	var lnErr error
	if s.ln != nil {
		if err := s.ln.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
			lnErr = err
		}
	}
	s.mu.Unlock()

	hsDone := make(chan error, 1)
	go func() { hsDone <- s.hs.Shutdown(ctx) }()
	err := s.drain(ctx)
	if hsErr := <-hsDone; err == nil {
		err = hsErr
	}
	if s.slow != nil {
		s.slow.Close() // in case hs.Serve never got to run on it
	}
	if err == nil {
		err = lnErr
	}
	return err
}

// drain wakes idle and sniffing connections until none is left, polling as net/http does.
func (s *Server) drain(ctx context.Context) error {
	const maxPoll = 100 * time.Millisecond
	poll := time.Millisecond
	t := time.NewTimer(poll)
	defer t.Stop()
	for {
		if s.wakeIdle() == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
			poll = min(2*poll, maxPoll)
			t.Reset(poll)
		}
	}
}

// wakeIdle fails idle and sniffing connections' reads so they close, no request cut; it returns how many remain.
func (s *Server) wakeIdle() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		if st := c.state.Load(); st == stateSniff || st == stateIdle {
			_ = c.Conn.SetReadDeadline(aLongTimeAgo)
		}
	}
	return len(s.conns)
}

var aLongTimeAgo = time.Unix(1, 0)

// start builds the fasthttp server from hs's settings; s.mu is held.
func (s *Server) start(ln net.Listener) {
	hs := s.hs
	s.handler = hs.Handler
	if s.handler == nil {
		s.handler = http.DefaultServeMux
	}
	s.base = context.Background()
	if hs.BaseContext != nil {
		if s.base = hs.BaseContext(ln); s.base == nil {
			panic("fastlane: BaseContext returned a nil context")
		}
	}
	s.base = context.WithValue(s.base, http.ServerContextKey, hs)
	s.slow = newHandoff(ln.Addr())
	s.adapted = fasthttpadaptor.NewFastHTTPHandler(http.HandlerFunc(s.serveNetHTTP))

	maxBody := s.FallbackMaxBody
	if maxBody <= 0 {
		maxBody = DefaultFallbackMaxBody
	}
	for _, r := range s.routes {
		maxBody = max(maxBody, r.MaxBody)
	}
	hdrBytes := hs.MaxHeaderBytes
	if hdrBytes <= 0 {
		hdrBytes = http.DefaultMaxHeaderBytes
	}
	var logger fasthttp.Logger = log.Default()
	if hs.ErrorLog != nil {
		logger = hs.ErrorLog
	}
	// fasthttp's ReadTimeout covers the header and body from the first byte; net/http's
	// ReadHeaderTimeout is the tighter bound for the header, so it comes first and
	// HeaderReceived then grants the body hs.ReadTimeout.
	hdrTimeout := hs.ReadHeaderTimeout
	if hdrTimeout <= 0 {
		hdrTimeout = hs.ReadTimeout
	}
	idle := hs.IdleTimeout
	if idle <= 0 {
		idle = hs.ReadTimeout
	}
	s.fs = &fasthttp.Server{
		Handler:                      s.serveFast,
		ErrorHandler:                 parseError,
		ConnState:                    connState,
		Logger:                       logger,
		ReadBufferSize:               min(max(hdrBytes, 4096), maxReadBuffer),
		ReadTimeout:                  hdrTimeout,
		WriteTimeout:                 hs.WriteTimeout,
		IdleTimeout:                  idle,
		MaxRequestBodySize:           maxBody,
		DisablePreParseMultipartForm: true, // handlers parse their own forms, as under net/http
		NoDefaultServerHeader:        true, // net/http sends none
		NoDefaultContentType:         true, // the adaptor sniffs as net/http does
	}
	if hs.ReadTimeout != hdrTimeout {
		body := hs.ReadTimeout
		if body <= 0 {
			body = 100 * 365 * 24 * time.Hour // net/http: no bound on the body
		}
		s.fs.HeaderReceived = func(*fasthttp.RequestHeader) fasthttp.RequestConfig {
			return fasthttp.RequestConfig{ReadTimeout: body}
		}
	}
}

// temporary reports an accept error worth retrying (net.Error.Temporary is deprecated).
func temporary(err error) bool {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return true
	}
	return errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) ||
		errors.Is(err, syscall.ENOBUFS) || errors.Is(err, syscall.ENOMEM) || errors.Is(err, syscall.ECONNABORTED)
}

// dispatch sniffs nc's first bytes and gives it to the fast lane or to hs.
func (s *Server) dispatch(nc net.Conn) {
	c := &conn{Conn: nc}
	c.state.Store(stateSniff)
	if !s.track(c) {
		nc.Close()
		return
	}
	l := s.sniff(c)
	c.state.Store(stateActive)
	if l == laneClose || s.shutting.Load() {
		s.untrack(c)
		nc.Close()
		return
	}
	if l == laneSlow {
		s.untrack(c)
		if !s.slow.push(c) {
			nc.Close()
		}
		return
	}
	// As net/http builds a request's context: base, ConnContext, then the local address.
	ctx := s.base
	if cc := s.hs.ConnContext; cc != nil {
		if ctx = cc(ctx, c); ctx == nil {
			panic("fastlane: ConnContext returned nil")
		}
	}
	c.ctx = context.WithValue(ctx, http.LocalAddrContextKey, nc.LocalAddr())
	_ = s.fs.ServeConn(c) // closes c; its errors are the client's
	s.untrack(c)
}

func (s *Server) track(c *conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.shutting.Load() {
		return false
	}
	s.conns[c] = struct{}{}
	return true
}

func (s *Server) untrack(c *conn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
}

// lane is where a connection goes.
type lane int

const (
	laneMore  lane = iota // a prefix of a hot request line so far
	laneSlow              // net/http
	laneFast              // fasthttp
	laneClose             // nothing usable arrived in time
)

// sniff reads c's first bytes for replay, more only while they may still become a hot request line.
func (s *Server) sniff(c *conn) lane {
	d := s.hs.ReadHeaderTimeout
	if d <= 0 {
		d = s.hs.ReadTimeout
	}
	if d > 0 {
		if c.Conn.SetReadDeadline(time.Now().Add(d)) != nil {
			return laneClose
		}
	}
	l := laneMore
	var err error
	for l == laneMore && err == nil && c.n < len(c.buf) {
		var m int
		m, err = c.Conn.Read(c.buf[c.n:])
		c.n += m
		l = s.classify(c.buf[:c.n])
	}
	if l == laneMore {
		l = laneSlow
	}
	if err != nil {
		// A request then EOF (a half-close) is still served; a timeout, as net/http, is not.
		var ne net.Error
		if c.n == 0 || (errors.As(err, &ne) && ne.Timeout()) {
			return laneClose
		}
	}
	if d > 0 && c.Conn.SetReadDeadline(time.Time{}) != nil {
		return laneClose
	}
	return l
}

// classify says where a connection whose first bytes are b goes.
func (s *Server) classify(b []byte) lane {
	l := laneSlow
	for i := range s.routes {
		line := s.routes[i].line
		if len(b) <= len(line) {
			if bytes.Equal(b, line[:len(b)]) {
				l = laneMore
			}
			continue
		}
		if bytes.HasPrefix(b, line) && (b[len(line)] == ' ' || b[len(line)] == '?') {
			return laneFast
		}
	}
	return l
}

// serveFast is the fast lane's fasthttp handler.
func (s *Server) serveFast(ctx *fasthttp.RequestCtx) {
	defer s.recoverPanic(ctx)
	c, _ := ctx.Conn().(*conn)
	if r := s.hot(ctx); r != nil && c != nil {
		s.fast.Add(1)
		typ, body := r.Handle(c.ctx, ctx.PostBody())
		h := &ctx.Response.Header
		h.SetContentType(typ)
		for _, kv := range r.hdr {
			h.SetCanonical(kv[0], kv[1])
		}
		ctx.SetBody(body)
	} else {
		s.fallback.Add(1)
		s.fallbackServe(ctx)
		shed(ctx)
	}
	if s.shutting.Load() {
		ctx.SetConnectionClose() // as net/http does while shutting down
	}
}

// maxKeptBody bounds the body buffers a connection keeps between requests.
const maxKeptBody = 64 << 10

// shed drops large fallback bodies after the response: fasthttp keeps body buffers with the connection.
func shed(ctx *fasthttp.RequestCtx) {
	// Body would drain a stream, a flushed net/http response among them.
	if !ctx.Request.IsBodyStream() && cap(ctx.Request.Body()) > maxKeptBody {
		ctx.Request.SwapBody(nil)
	}
	if !ctx.Response.IsBodyStream() && cap(ctx.Response.Body()) > maxKeptBody {
		ctx.Response.SetBodyRaw(ctx.Response.SwapBody(nil)) // written, then dropped
	}
}

// hot returns the route whose exact happy case ctx's request is, or nil.
func (s *Server) hot(ctx *fasthttp.RequestCtx) *route {
	h := &ctx.Request.Header
	m, uri := h.Method(), h.RequestURI()
	for i := range s.routes {
		r := &s.routes[i]
		if string(m) != r.Method || string(uri) != r.Path {
			continue
		}
		if string(h.ContentType()) != r.ContentType {
			return nil
		}
		cl := h.ContentLength()
		if cl < 0 || cl > r.MaxBody || len(ctx.PostBody()) != cl {
			return nil
		}
		if p := h.Protocol(); string(p) != "HTTP/1.1" && string(p) != "HTTP/1.0" {
			return nil
		}
		// fasthttp keeps the last Content-Type, net/http's handlers read the first.
		if f := scanHeaders(h.RawHeaders()); f.contentType > 1 || f.expect || f.transferEncoding {
			return nil
		}
		return r
	}
	return nil
}

// headerFacts are what the raw header says about framing and routing.
type headerFacts struct {
	contentType              int
	expect, transferEncoding bool
}

// scanHeaders reads the raw header lines, as fasthttp folds some of them away.
func scanHeaders(raw []byte) headerFacts {
	var f headerFacts
	for len(raw) > 0 {
		line := raw
		if i := bytes.IndexByte(raw, '\n'); i >= 0 {
			line, raw = raw[:i], raw[i+1:]
		} else {
			raw = nil
		}
		colon := bytes.IndexByte(line, ':')
		if colon <= 0 {
			continue
		}
		switch name := line[:colon]; {
		case equalFold(name, "content-type"):
			f.contentType++
		case equalFold(name, "expect"):
			f.expect = true
		case equalFold(name, "transfer-encoding"):
			f.transferEncoding = true
		}
	}
	return f
}

// equalFold compares an ASCII header name with a lower-case one.
func equalFold(b []byte, lower string) bool {
	if len(b) != len(lower) {
		return false
	}
	for i := range len(b) {
		c := b[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}

// fallback runs hs's handler, after the checks net/http's server (not its handlers) makes, which the adaptor lacks.
func (s *Server) fallbackServe(ctx *fasthttp.RequestCtx) {
	h := &ctx.Request.Header
	p := h.Protocol()
	if !bytes.HasPrefix(p, []byte("HTTP/1.")) {
		plainError(ctx, http.StatusHTTPVersionNotSupported, "505 HTTP Version Not Supported")
		ctx.SetConnectionClose()
		return
	}
	// fasthttp itself refuses an HTTP/1.1 request without a Host (see parseError).
	if string(p) != "HTTP/1.0" && scanHeaders(h.RawHeaders()).expect && !ctx.Request.MayContinue() {
		ctx.SetStatusCode(http.StatusExpectationFailed)
		ctx.SetConnectionClose()
		return
	}
	if string(h.Method()) == http.MethodOptions && string(h.RequestURI()) == "*" && !s.hs.DisableGeneralOptionsHandler {
		ctx.Response.Header.SetContentLength(0) // net/http's globalOptionsHandler
		return
	}
	s.adapted(ctx)
}

// serveNetHTTP gives hs's handler the connection's context (not the recycled RequestCtx) and net/http's fields.
func (s *Server) serveNetHTTP(w http.ResponseWriter, r *http.Request) {
	ctx := s.base
	var fc *fasthttp.RequestCtx
	if fc, _ = r.Context().(*fasthttp.RequestCtx); fc != nil {
		if c, ok := fc.Conn().(*conn); ok && c.ctx != nil {
			ctx = c.ctx
		}
	}
	r = r.WithContext(ctx)
	if fc != nil {
		r.Close = fc.Request.Header.ConnectionClose()
	}
	delete(r.Header, "Host") // net/http keeps it in r.Host only
	s.handler.ServeHTTP(w, r)
}

// plainError writes an error as net/http's server does.
func plainError(ctx *fasthttp.RequestCtx, code int, msg string) {
	ctx.Response.Reset()
	ctx.SetStatusCode(code)
	ctx.SetContentType("text/plain; charset=utf-8")
	ctx.SetBodyString(msg)
}

// parseError answers a request fasthttp could not read; fasthttp closes the connection.
func parseError(ctx *fasthttp.RequestCtx, err error) {
	var small *fasthttp.ErrSmallBuffer
	var ne net.Error
	switch {
	case errors.Is(err, fasthttp.ErrBodyTooLarge):
		plainError(ctx, http.StatusRequestEntityTooLarge, "413 Request Entity Too Large")
	case errors.As(err, &small):
		plainError(ctx, http.StatusRequestHeaderFieldsTooLarge, "431 Request Header Fields Too Large")
	case errors.As(err, &ne) && ne.Timeout():
		plainError(ctx, http.StatusRequestTimeout, "408 Request Timeout")
	case strings.Contains(err.Error(), "missing required host header"):
		// Also for an empty Host, which net/http would take (RFC 9112 allows it).
		plainError(ctx, http.StatusBadRequest, "400 Bad Request: missing required Host header")
	default:
		plainError(ctx, http.StatusBadRequest, "400 Bad Request")
	}
}

// recoverPanic logs and drops the connection, as net/http does: fasthttp lets a panic take the process down.
func (s *Server) recoverPanic(ctx *fasthttp.RequestCtx) {
	v := recover()
	if v == nil {
		return
	}
	// The adaptor re-panics with a string after logging the handler's panic itself.
	if v != http.ErrAbortHandler && v != "net/http handler panicked" {
		buf := make([]byte, 64<<10)
		buf = buf[:runtime.Stack(buf, false)]
		s.fs.Logger.Printf("http: panic serving %v: %v\n%s", ctx.RemoteAddr(), v, buf)
	}
	ctx.Response.Reset()
	ctx.HijackSetNoResponse(true)
	ctx.Hijack(func(net.Conn) {}) // fasthttp closes the connection after this returns
}

// connState records whether a fast-lane connection waits for a request, for Shutdown.
func connState(nc net.Conn, st fasthttp.ConnState) {
	c, ok := nc.(*conn)
	if !ok {
		return
	}
	switch st {
	case fasthttp.StateIdle:
		c.state.Store(stateIdle)
	case fasthttp.StateActive:
		c.state.Store(stateActive)
	}
}

// isToken reports whether s is an RFC 9110 token (a method or header name).
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := range len(s) {
		c := s[i]
		if c <= ' ' || c >= 0x7f || bytes.IndexByte([]byte(`"(),/:;<=>?@[\]{}`), c) >= 0 {
			return false
		}
	}
	return true
}
