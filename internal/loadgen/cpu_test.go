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

// TestCPUPerRequest measures the CPU each lean engine, and wrk if installed, spends
// per request against the same trivial server in a process of its own (an
// answer of 1.7 KB, 16 keep-alive connections over loopback), which is what the
// load generator takes from a server on the same cores. It runs only when asked:
//
//	LOADGEN_CPU=5s go test -count=1 -run CPUPerRequest -v ./internal/loadgen/
func TestCPUPerRequest(t *testing.T) {
	d, err := time.ParseDuration(os.Getenv("LOADGEN_CPU"))
	if err != nil {
		t.Skip("set LOADGEN_CPU to a duration to measure")
	}
	rounds := 3
	if r, err := strconv.Atoi(os.Getenv("LOADGEN_CPU_ROUNDS")); err == nil {
		rounds = r
	}
	wrk, _ := exec.LookPath("wrk")
	t.Logf("%-22s %9s %14s %14s %9s %9s", "engine", "req/s", "client µs/req", "server µs/req", "p50", "p99")
	for range rounds {
		for _, e := range []struct {
			name    string
			perLoop int
		}{{"goroutines (old lean)", 0}, {"one loop", 16}, {"two loops", 8}} {
			url, stop := cpuServer(t)
			var r0, r1 syscall.Rusage
			syscall.Getrusage(syscall.RUSAGE_SELF, &r0)
			res, err := run(context.Background(), Config{URL: url, Concurrency: 16, Duration: d, Lean: true}, e.perLoop)
			syscall.Getrusage(syscall.RUSAGE_SELF, &r1)
			server := stop()
			if err != nil || res.Errors != 0 {
				t.Fatalf("%s: %v, %v", e.name, res, err)
			}
			n := time.Duration(res.Requests + 1)
			t.Logf("%-22s %9.0f %14.2f %14.2f %9s %9s", e.name, res.PerSecond, us((cpu(&r1)-cpu(&r0))/n), us(server/n),
				res.P50.Round(time.Microsecond), res.P99.Round(time.Microsecond))
		}
		if wrk == "" {
			continue
		}
		url, stop := cpuServer(t)
		cmd := exec.Command(wrk, "-t1", "-c16", "-d"+d.String(), "--latency", url)
		out, err := cmd.Output()
		server := stop()
		if err != nil {
			t.Fatalf("wrk: %v", err)
		}
		m := regexp.MustCompile(`(\d+) requests in ([0-9.]+)s`).FindSubmatch(out)
		if m == nil {
			t.Fatalf("wrk said %s", out)
		}
		reqs, _ := strconv.Atoi(string(m[1]))
		secs, _ := strconv.ParseFloat(string(m[2]), 64)
		n := time.Duration(reqs)
		client := cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
		lat := regexp.MustCompile(`(?m)^\s+(50|99)%\s+(\S+)`).FindAllSubmatch(out, -1)
		p := []string{"?", "?"}
		for i := range min(2, len(lat)) {
			p[i] = string(lat[i][2])
		}
		t.Logf("%-22s %9.0f %14.2f %14.2f %9s %9s", "wrk -t1 -c16", float64(reqs)/secs, us(client/n), us(server/n), p[0], p[1])
	}
}

func cpu(r *syscall.Rusage) time.Duration {
	return time.Duration(syscall.TimevalToNsec(r.Utime) + syscall.TimevalToNsec(r.Stime))
}

func us(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }

// cpuServer starts TestCPUServer in a process of its own; stop ends it and says
// how much CPU it used.
func cpuServer(t *testing.T) (url string, stop func() time.Duration) {
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

// TestCPUServer is the server of TestCPUPerRequest, when run as its child: it
// answers every request with the same 1.7 KB until its stdin closes.
func TestCPUServer(t *testing.T) {
	if os.Getenv("LOADGEN_CPU_SERVE") == "" {
		t.Skip("the server of TestCPUPerRequest")
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
