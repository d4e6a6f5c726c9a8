//go:build linux

package loadgen

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// BenchmarkCPUPerRequest measures the CPU each lean engine, and wrk if installed,
// spends per request against the same trivial server in a process of its own (an
// answer of 1.7 KB, 16 keep-alive connections over loopback), which is what the
// load generator takes from a server on the same cores. Each engine runs one load
// of LOADGEN_CPU (default 3s), whatever b.N:
//
//	go test -run '^$' -bench CPUPerRequest ./internal/loadgen/
func BenchmarkCPUPerRequest(b *testing.B) {
	d := 3 * time.Second
	if v, err := time.ParseDuration(os.Getenv("LOADGEN_CPU")); err == nil {
		d = v
	}
	report := func(b *testing.B, reqs int, wall, client, server time.Duration, p99 string) {
		n := time.Duration(reqs)
		b.ReportMetric(float64(wall/n), "ns/op")
		b.ReportMetric(us(client/n), "client-µs/req")
		b.ReportMetric(us(server/n), "server-µs/req")
		b.ReportMetric(float64(reqs)/wall.Seconds(), "req/s")
		b.Logf("p99 %s", p99)
	}
	for _, e := range []struct {
		name    string
		perLoop int
	}{{"goroutines", 0}, {"one-loop", 16}, {"two-loops", 8}} {
		b.Run(e.name, func(b *testing.B) {
			url, stop := cpuServer(b)
			var r0, r1 syscall.Rusage
			syscall.Getrusage(syscall.RUSAGE_SELF, &r0)
			res, err := run(context.Background(), Config{URL: url, Concurrency: 16, Duration: d, Lean: true}, e.perLoop)
			syscall.Getrusage(syscall.RUSAGE_SELF, &r1)
			server := stop()
			if err != nil || res.Errors != 0 {
				b.Fatalf("%s: %v, %v", e.name, res, err)
			}
			report(b, res.Requests+1, res.Elapsed, cpu(&r1)-cpu(&r0), server, res.P99.Round(time.Microsecond).String())
		})
	}
	wrk, err := exec.LookPath("wrk")
	if err != nil {
		return
	}
	b.Run("wrk", func(b *testing.B) {
		url, stop := cpuServer(b)
		cmd := exec.Command(wrk, "-t1", "-c16", "-d"+d.String(), "--latency", url)
		out, err := cmd.Output()
		server := stop()
		if err != nil {
			b.Fatalf("wrk: %v", err)
		}
		m := regexp.MustCompile(`(\d+) requests in ([0-9.]+)s`).FindSubmatch(out)
		if m == nil {
			b.Fatalf("wrk said %s", out)
		}
		reqs, _ := strconv.Atoi(string(m[1]))
		secs, _ := strconv.ParseFloat(string(m[2]), 64)
		p99 := "?"
		if l := regexp.MustCompile(`(?m)^\s+99%\s+(\S+)`).FindSubmatch(out); l != nil {
			p99 = string(l[1])
		}
		report(b, reqs, time.Duration(secs*float64(time.Second)), cmd.ProcessState.UserTime()+cmd.ProcessState.SystemTime(), server, p99)
	})
}

func cpu(r *syscall.Rusage) time.Duration {
	return time.Duration(syscall.TimevalToNsec(r.Utime) + syscall.TimevalToNsec(r.Stime))
}

func us(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }

// cpuServer starts TestCPUServer in a process of its own; stop ends it and says
// how much CPU it used.
func cpuServer(t testing.TB) (url string, stop func() time.Duration) {
	cmd := exec.Command(os.Args[0], "-test.run=^TestCPUServer$")
	cmd.Env = append(os.Environ(), "LOADGEN_CPU_SERVE=1")
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	outp, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	addr, err := bufio.NewReader(outp).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	return "http://" + strings.TrimSpace(addr) + "/", func() time.Duration {
		in.Close()
		if err := cmd.Wait(); err != nil {
			t.Fatalf("server: %v", err)
		}
		return cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	}
}

// TestCPUServer is the server of BenchmarkCPUPerRequest, when run as its child: it
// answers every request with the same 1.7 KB until its stdin closes.
func TestCPUServer(t *testing.T) {
	if os.Getenv("LOADGEN_CPU_SERVE") == "" {
		t.Skip("the server of BenchmarkCPUPerRequest, run as its child")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	answer := []byte(strings.Repeat("0123456789abcdef", 1700/16))
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Write(answer)
	})}
	go srv.Serve(ln)
	fmt.Println(ln.Addr())
	io.Copy(io.Discard, os.Stdin)
	srv.Close()
}
