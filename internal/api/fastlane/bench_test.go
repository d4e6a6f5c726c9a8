package fastlane

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// fixedResponse is the size of a time-stamp token with its certificate.
func fixedResponse() []byte { return bytes.Repeat([]byte("r"), 1700) }

// tsaRequest is the size of an RFC 3161 request for a SHA-256 digest with a nonce.
var tsaRequest = post("/tsa", queryType, string(bytes.Repeat([]byte{0x30}, 59)))

// serveBench runs s on a loopback port until the test ends.
func serveBench(tb testing.TB, s *Server) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	go s.Serve(ln) // ErrServerClosed at Cleanup
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = s.Shutdown(ctx)
	})
	return ln.Addr().String()
}

// rawClient is a keep-alive HTTP/1.1 client that allocates nothing, so that a
// benchmark's allocations are the server's.
type rawClient struct {
	c   net.Conn
	req []byte
	buf []byte
}

func newRawClient(tb testing.TB, addr string) *rawClient {
	rc, err := dialRaw(addr)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { rc.c.Close() })
	if err := rc.roundTrip(); err != nil {
		tb.Fatal(err)
	}
	return rc
}

func dialRaw(addr string) (*rawClient, error) {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	return &rawClient{c: c, req: []byte(tsaRequest), buf: make([]byte, 16<<10)}, nil
}

var (
	headerEnd     = []byte("\r\n\r\n")
	contentLength = []byte("\r\nContent-Length: ")
	errResponse   = errors.New("unexpected response")
)

// roundTrip sends the request and reads one whole response, expecting 200.
func (rc *rawClient) roundTrip() error {
	if _, err := rc.c.Write(rc.req); err != nil {
		return err
	}
	n, total := 0, -1
	for total < 0 || n < total {
		m, err := rc.c.Read(rc.buf[n:])
		if err != nil {
			return err
		}
		n += m
		if total >= 0 {
			continue
		}
		end := bytes.Index(rc.buf[:n], headerEnd)
		if end < 0 {
			continue
		}
		i := bytes.Index(rc.buf[:end], contentLength)
		if i < 0 || !bytes.HasPrefix(rc.buf, []byte("HTTP/1.1 200 ")) {
			return errResponse
		}
		v := rc.buf[i+len(contentLength) : end]
		if j := bytes.IndexByte(v, '\r'); j >= 0 {
			v = v[:j]
		}
		cl, err := strconv.Atoi(string(v))
		if err != nil {
			return err
		}
		total = end + len(headerEnd) + cl
	}
	return nil
}

// benchHTTPServer answers as api.TSAHandler does: pooled body buffer, preset header slices.
func benchHTTPServer(resp []byte) *http.Server {
	ct, cc := []string{replyType}, []string{"no-store"}
	return &http.Server{
		ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: 60 * time.Second, IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 64 << 10,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			var buf [1024]byte
			if _, err := io.ReadFull(r.Body, buf[:r.ContentLength]); err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			h := w.Header()
			h["Content-Type"] = ct
			h["Cache-Control"] = cc
			_, _ = w.Write(resp)
		}),
	}
}

func benchLane(b *testing.B, fast bool) {
	resp := fixedResponse()
	hs := benchHTTPServer(resp)
	var addr string
	if fast {
		addr = serveBench(b, New(hs, Route{Method: "POST", Path: "/tsa", ContentType: queryType, MaxBody: 1024,
			Header: [][2]string{{"Cache-Control", "no-store"}},
			Handle: func(context.Context, []byte) (string, []byte) { return replyType, resp }}))
	} else {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		go hs.Serve(ln)
		b.Cleanup(func() { hs.Close() })
		addr = ln.Addr().String()
	}
	newRawClient(b, addr) // warm up, and fail early
	b.SetParallelism(4)   // 4 connections per core
	b.ReportAllocs()
	cpu := cpuTime()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		rc, err := dialRaw(addr)
		if err != nil {
			b.Error(err)
			return
		}
		defer rc.c.Close()
		for pb.Next() {
			if err := rc.roundTrip(); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	// Client and server share the process: this is both sides' CPU per request.
	b.ReportMetric(float64(cpuTime()-cpu)/float64(b.N), "cpu-ns/op")
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		panic(fmt.Sprint("getrusage: ", err))
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func BenchmarkFastLane(b *testing.B) { benchLane(b, true) }

func BenchmarkNetHTTP(b *testing.B) { benchLane(b, false) }
