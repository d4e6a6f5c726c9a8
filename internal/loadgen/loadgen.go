// Package loadgen drives an HTTP endpoint with a fixed number of concurrent clients
// over keep-alive connections and reports throughput and latency, for benchmarks of
// tawthiq's protocol servers (tawthiq bench).
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
	// Client, if set, replaces the default keep-alive client.
	Client *http.Client
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

// Run sends requests from cfg.Concurrency clients until cfg.Duration passes or ctx ends.
func Run(ctx context.Context, cfg Config) (Result, error) {
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
	method := http.MethodGet
	if cfg.Body != nil {
		method = http.MethodPost
	}
	// One probe first: a misconfigured run fails at once instead of counting errors.
	if _, err := once(ctx, client, method, &cfg, nil); err != nil {
		return Result{}, fmt.Errorf("loadgen: first request: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.Duration)
	defer cancel()
	type clientResult struct {
		lat      []time.Duration
		errs     int
		firstErr error
	}
	results := make([]clientResult, cfg.Concurrency)
	var wg sync.WaitGroup
	start := time.Now()
	for i := range results {
		wg.Add(1)
		go func(cr *clientResult) {
			defer wg.Done()
			cr.lat = make([]time.Duration, 0, 1<<16)
			buf := make([]byte, 0, 4096)
			for ctx.Err() == nil {
				t0 := time.Now()
				b, err := once(ctx, client, method, &cfg, buf[:0])
				d := time.Since(t0)
				if err != nil {
					if ctx.Err() != nil {
						break // the run ended mid-request: not the server's fault
					}
					cr.errs++
					if cr.firstErr == nil {
						cr.firstErr = err
					}
					continue
				}
				buf = b
				cr.lat = append(cr.lat, d)
			}
		}(&results[i])
	}
	wg.Wait()
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

// once sends one request, reads the whole body into buf and judges the answer.
func once(ctx context.Context, c *http.Client, method string, cfg *Config, buf []byte) ([]byte, error) {
	var body io.Reader
	if cfg.Body != nil {
		body = bytes.NewReader(cfg.Body)
	}
	req, err := http.NewRequestWithContext(ctx, method, cfg.URL, body)
	if err != nil {
		return buf, err
	}
	if cfg.ContentType != "" && cfg.Body != nil {
		req.Header.Set("Content-Type", cfg.ContentType)
	}
	resp, err := c.Do(req)
	if err != nil {
		return buf, err
	}
	defer resp.Body.Close()
	buf, err = readAll(resp.Body, buf)
	if err != nil {
		return buf, err
	}
	if resp.StatusCode != cfg.WantStatus {
		return buf, fmt.Errorf("HTTP status %d, want %d", resp.StatusCode, cfg.WantStatus)
	}
	if cfg.Check != nil {
		if err := cfg.Check(buf); err != nil {
			return buf, err
		}
	}
	return buf, nil
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
