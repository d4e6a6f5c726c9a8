package ocsp_test

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"encoding/asn1"
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"testing"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
	xocsp "golang.org/x/crypto/ocsp"

	"github.com/tawthiq/tawthiq/internal/api"
	"github.com/tawthiq/tawthiq/internal/loadgen"
)

// benchFixture issues n certificates and signs their responses.
func benchFixture(b *testing.B, n int) (*fixture, []*x509.Certificate) {
	f := newFixture(b, fixtureOpts{})
	now := time.Now().UTC()
	certs := make([]*x509.Certificate, n)
	for i := range certs {
		certs[i] = f.issue(b, now.Add(-time.Hour), now.AddDate(1, 0, 0))
	}
	f.tick(b)
	if f.svc.Indexed() != n {
		b.Fatalf("indexed %d of %d", f.svc.Indexed(), n)
	}
	return f, certs
}

// BenchmarkRespondPresigned is the hot path in process: parse, look up, answer.
func BenchmarkRespondPresigned(b *testing.B) {
	f, certs := benchFixture(b, 64)
	reqs := make([][]byte, len(certs))
	for i, c := range certs {
		reqs[i] = request(b, c, f.signature.Cert, crypto.SHA1)
	}
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	i := 0
	for b.Loop() {
		if a := f.svc.Respond(ctx, reqs[i%len(reqs)]); a.ETag == "" {
			b.Fatal("not pre-signed")
		}
		i++
	}
}

// BenchmarkRespondSigned is the slow path: a nonce makes a signature per answer.
func BenchmarkRespondSigned(b *testing.B) {
	f, certs := benchFixture(b, 1)
	req, err := xocsp.CreateRequest(certs[0], f.signature.Cert, nil)
	if err != nil {
		b.Fatal(err)
	}
	der := withNonce(b, req)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if a := f.svc.Respond(ctx, der); a.ETag != "" || len(a.DER) < 100 {
			b.Fatal("not signed on the spot")
		}
	}
}

// BenchmarkHTTPLoopback drives the handler over loopback HTTP from loadgen in the
// same process (a second process is TestLoadFromSecondProcess); 16 clients.
func BenchmarkHTTPLoopback(b *testing.B) {
	f, certs := benchFixture(b, 16)
	der := request(b, certs[0], f.signature.Cert, crypto.SHA1)
	for _, mode := range []string{"POST", "GET"} {
		b.Run(mode, func(b *testing.B) {
			cfg := loadgen.Config{URL: f.srv.URL + "/ocsp", Body: der, ContentType: "application/ocsp-request",
				Concurrency: 16, Duration: 3 * time.Second}
			if mode == "GET" {
				cfg.URL, cfg.Body = f.srv.URL+"/ocsp/"+base64.StdEncoding.EncodeToString(der), nil
			}
			var res loadgen.Result
			for b.Loop() {
				var err error
				res, err = loadgen.Run(context.Background(), cfg)
				if err != nil {
					b.Fatal(err)
				}
			}
			if res.Errors > 0 {
				b.Fatalf("%d errors: %v", res.Errors, res.FirstErr)
			}
			b.ReportMetric(res.PerSecond, "responses/s")
			b.ReportMetric(float64(res.P99.Microseconds()), "p99-µs")
			b.ReportMetric(float64(res.P50.Microseconds()), "p50-µs")
			b.Logf("%s: %s", mode, res)
		})
	}
}

// TestServeForBench serves a fixture on OCSP_BENCH_ADDR for OCSP_BENCH_SECONDS and
// writes a request to OCSP_BENCH_REQ, so that a load generator in a second process
// can measure the responder (see TestLoadFromSecondProcess).
func TestServeForBench(t *testing.T) {
	addr := os.Getenv("OCSP_BENCH_ADDR")
	if addr == "" {
		t.Skip("OCSP_BENCH_ADDR not set: no benchmark server")
	}
	secs, _ := strconv.Atoi(os.Getenv("OCSP_BENCH_SECONDS"))
	f := newFixture(t, fixtureOpts{})
	now := time.Now().UTC()
	ee := f.issue(t, now.Add(-time.Hour), now.AddDate(1, 0, 0))
	f.tick(t)
	must(t, os.WriteFile(os.Getenv("OCSP_BENCH_REQ"), request(t, ee, f.signature.Cert, crypto.SHA1), 0o600))
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: api.OCSPHandler(f.svc, 4096), ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	time.Sleep(time.Duration(max(secs, 5)) * time.Second)
	srv.Close()
}

// TestLoadFromSecondProcess runs loadgen against OCSP_BENCH_URL with the request in OCSP_BENCH_REQ.
func TestLoadFromSecondProcess(t *testing.T) {
	u := os.Getenv("OCSP_BENCH_URL")
	if u == "" {
		t.Skip("OCSP_BENCH_URL not set")
	}
	der, err := os.ReadFile(os.Getenv("OCSP_BENCH_REQ"))
	must(t, err)
	for _, c := range []int{16, 64} {
		res, err := loadgen.Run(context.Background(), loadgen.Config{URL: u, Body: der, ContentType: "application/ocsp-request",
			Concurrency: c, Duration: 5 * time.Second})
		must(t, err)
		fmt.Printf("%d clients: %s\n", c, res)
	}
}

// withNonce rebuilds a one-certificate request with a 32-octet nonce (RFC 8954).
func withNonce(t testing.TB, req []byte) []byte {
	t.Helper()
	in := cryptobyte.String(req)
	var ocspReq, tbs, list, one, certID cryptobyte.String
	if !in.ReadASN1(&ocspReq, cbasn1.SEQUENCE) || !ocspReq.ReadASN1(&tbs, cbasn1.SEQUENCE) ||
		!tbs.ReadASN1(&list, cbasn1.SEQUENCE) || !list.ReadASN1(&one, cbasn1.SEQUENCE) ||
		!one.ReadASN1Element(&certID, cbasn1.SEQUENCE) {
		t.Fatal("cannot read the request")
	}
	nonce := make([]byte, 32)
	rand.Read(nonce)
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { b.AddBytes(certID) })
			})
			b.AddASN1(cbasn1.Tag(2).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
				b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
					b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
						b.AddASN1ObjectIdentifier(asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 48, 1, 2})
						b.AddASN1(cbasn1.OCTET_STRING, func(b *cryptobyte.Builder) { b.AddASN1OctetString(nonce) })
					})
				})
			})
		})
	})
	return b.BytesOrPanic()
}
