// Package loadgen drives an HTTP endpoint with a fixed number of concurrent clients
// over keep-alive connections and reports throughput and latency, for benchmarks of
// tawthiq's protocol servers (tawthiq bench).
//
// A benchmark runs the load generator on the server's own cores, so every µs of
// CPU it spends per request is taken from the server: the lean client reads and
// writes raw sockets from epoll event loops on Linux, as wrk does (loop_linux.go).
package loadgen

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"sync"
	"time"
)

// Config says what to send and for how long.
type Config struct {
	URL         string        // the endpoint; with Body nil, requests are GETs of URL
	Body        []byte        // POSTed to URL when set
	ContentType string        // of the POST body
	Concurrency int           // clients, each with one request in flight (default 1)
	Duration    time.Duration // how long to run (default 10s); ctx may end it earlier
	// WantStatus is the HTTP status a response must have (default 200).
	WantStatus int
	// Check, if set, judges each response body; an error counts the response as failed.
	Check func(body []byte) error
	// NextBody, if set, writes each request's body (appended to dst) in place of
	// Body, for runs whose requests must all differ. It is never called for one
	// client from two goroutines at once; it may be for two clients.
	NextBody func(client int, dst []byte) []byte
	// CheckReply, if set, judges each response body against the request body that
	// asked for it, after Check.
	CheckReply func(req, resp []byte) error
	// Client, if set, replaces the default keep-alive client.
	Client *http.Client
	// Lean sends the requests with a minimal HTTP/1.1 client (http:// only, one
	// keep-alive connection per client, nothing allocated per request) instead of
	// net/http's, so that a load generator sharing the server's cores takes little
	// of them. On Linux one goroutine runs an epoll event loop for all the lean
	// clients, as wrk does, instead of one goroutine each. Client is then unused.
	Lean bool
}

// Result is what a run measured.
type Result struct {
	Requests  int // responses received and judged good
	Errors    int // transport errors, wrong statuses, failed checks
	PerSecond float64
	P50, P99  time.Duration
	Max       time.Duration
	Elapsed   time.Duration
	FirstErr  error
}

func (r Result) String() string {
	return fmt.Sprintf("%d requests, %d errors in %s: %.0f/s, p50 %s, p99 %s, max %s",
		r.Requests, r.Errors, r.Elapsed.Round(time.Millisecond), r.PerSecond, r.P50, r.P99, r.Max)
}

// connsPerLoop is how many lean connections one event loop drives: with 16
// clients on 2 cores one loop costs less CPU per request than two (see cpu_test.go).
const connsPerLoop = 16

// Run sends requests from cfg.Concurrency clients until cfg.Duration passes or ctx ends.
func Run(ctx context.Context, cfg Config) (Result, error) {
	return run(ctx, cfg, connsPerLoop)
}

// judgeFunc judges an answer's status and body, given the request body that asked for it.
type judgeFunc func(status int, req, resp []byte) error

// clientResult is what one client measured.
type clientResult struct {
	lat      []time.Duration
	errs     int
	firstErr error
}

func (cr *clientResult) fail(err error) {
	cr.errs++
	if cr.firstErr == nil {
		cr.firstErr = err
	}
}

// run is Run with perLoop lean connections per event loop, or, with perLoop 0 or
// where there is no epoll, a goroutine per lean client.
func run(ctx context.Context, cfg Config, perLoop int) (Result, error) {
	if cfg.URL == "" {
		return Result{}, errors.New("loadgen: no URL")
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 1
	}
	if cfg.Duration <= 0 {
		cfg.Duration = 10 * time.Second
	}
	if cfg.WantStatus == 0 {
		cfg.WantStatus = http.StatusOK
	}
	method := http.MethodGet
	if cfg.Body != nil || cfg.NextBody != nil {
		method = http.MethodPost
	}
	// Each client's connection; the lean ones end with the run, plus grace.
	var newDoer func() (doer, error)
	var target *leanTarget
	until := time.Now().Add(cfg.Duration + 30*time.Second)
	if cfg.Lean {
		var err error
		if target, err = newLeanTarget(cfg.URL, method, cfg.ContentType); err != nil {
			return Result{}, err
		}
		newDoer = func() (doer, error) { return newLeanConn(target, until), nil }
	} else {
		client := cfg.Client
		if client == nil {
			tr := &http.Transport{
				Proxy:               nil,
				DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
				MaxIdleConns:        cfg.Concurrency,
				MaxIdleConnsPerHost: cfg.Concurrency,
				MaxConnsPerHost:     cfg.Concurrency,
				IdleConnTimeout:     90 * time.Second,
				DisableCompression:  true,
			}
			defer tr.CloseIdleConnections()
			client = &http.Client{Transport: tr, Timeout: 30 * time.Second}
		}
		newDoer = func() (doer, error) { return &stdDoer{ctx: ctx, c: client, method: method, cfg: &cfg}, nil }
	}
	judge := func(status int, req, resp []byte) error {
		if status != cfg.WantStatus {
			return fmt.Errorf("HTTP status %d, want %d", status, cfg.WantStatus)
		}
		if cfg.Check != nil {
			if err := cfg.Check(resp); err != nil {
				return err
			}
		}
		if cfg.CheckReply != nil {
			return cfg.CheckReply(req, resp)
		}
		return nil
	}
	// One probe first: a misconfigured run fails at once instead of counting errors.
	probe, err := newDoer()
	if err != nil {
		return Result{}, err
	}
	body := cfg.Body
	if cfg.NextBody != nil {
		body = cfg.NextBody(0, nil)
	}
	status, resp, err := probe.do(body, nil)
	if err == nil {
		err = judge(status, body, resp)
	}
	if lc, ok := probe.(*leanConn); ok {
		lc.close()
	}
	if err != nil {
		return Result{}, fmt.Errorf("loadgen: first request: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.Duration)
	defer cancel()
	start := time.Now()
	var results []clientResult
	if cfg.Lean && perLoop > 0 {
		results = runEventLoops(ctx, &cfg, target, until, judge, perLoop)
	} else {
		results = runClients(ctx, &cfg, newDoer, judge)
	}
	elapsed := time.Since(start)
	var all []time.Duration
	res := Result{Elapsed: elapsed}
	for _, cr := range results {
		all = append(all, cr.lat...)
		res.Errors += cr.errs
		if res.FirstErr == nil {
			res.FirstErr = cr.firstErr
		}
	}
	res.Requests = len(all)
	if res.Requests == 0 {
		return res, fmt.Errorf("loadgen: no successful request: %v", res.FirstErr)
	}
	slices.Sort(all)
	pick := func(q float64) time.Duration { return all[min(len(all)-1, int(q*float64(len(all))))] }
	res.P50, res.P99, res.Max = pick(0.50), pick(0.99), all[len(all)-1]
	res.PerSecond = float64(res.Requests) / elapsed.Seconds()
	return res, nil
}

// runClients runs each client in a goroutine of its own, until ctx ends.
func runClients(ctx context.Context, cfg *Config, newDoer func() (doer, error), judge judgeFunc) []clientResult {
	results := make([]clientResult, cfg.Concurrency)
	var wg sync.WaitGroup
	for i := range results {
		wg.Add(1)
		go func(i int, cr *clientResult) {
			defer wg.Done()
			cr.lat = make([]time.Duration, 0, 1<<16)
			d, err := newDoer()
			if err != nil {
				cr.fail(err)
				return
			}
			if lc, ok := d.(*leanConn); ok {
				defer lc.close()
			}
			buf := make([]byte, 0, 4096)
			reqBuf := make([]byte, 0, 512)
			for ctx.Err() == nil {
				body := cfg.Body
				if cfg.NextBody != nil {
					reqBuf = cfg.NextBody(i, reqBuf[:0])
					body = reqBuf
				}
				t0 := time.Now()
				status, b, err := d.do(body, buf[:0])
				lat := time.Since(t0) // the round trip alone: judging is the client's own work
				if err == nil {
					buf = b
					err = judge(status, body, b)
				}
				if err != nil {
					if ctx.Err() != nil {
						break // the run ended mid-request: not the server's fault
					}
					cr.fail(err)
					continue
				}
				cr.lat = append(cr.lat, lat)
			}
		}(i, &results[i])
	}
	wg.Wait()
	return results
}

// doer sends one request over a client's connection and reads the whole answer into buf.
type doer interface {
	do(body, buf []byte) (status int, resp []byte, err error)
}

// stdDoer sends through net/http.
type stdDoer struct {
	ctx    context.Context
	c      *http.Client
	method string
	cfg    *Config
}

func (s *stdDoer) do(body, buf []byte) (int, []byte, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(s.ctx, s.method, s.cfg.URL, rd)
	if err != nil {
		return 0, buf, err
	}
	if s.cfg.ContentType != "" && body != nil {
		req.Header.Set("Content-Type", s.cfg.ContentType)
	}
	resp, err := s.c.Do(req)
	if err != nil {
		return 0, buf, err
	}
	defer resp.Body.Close()
	buf, err = readAll(resp.Body, buf)
	return resp.StatusCode, buf, err
}

func readAll(r io.Reader, buf []byte) ([]byte, error) {
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}
