package app

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tawthiq/tawthiq/internal/keys"
	"github.com/tawthiq/tawthiq/internal/timestamp"
	"github.com/tawthiq/tawthiq/internal/tsa"
)

// TestTSAEndToEnd_L425 runs the demo CSP and asks its TSA over HTTP, as any client
// would; openssl judges the tokens against the demo root.
func TestTSAEndToEnd_L425(t *testing.T) {
	e := startEnv(t, t.TempDir(), "")
	if e.app.TSA == nil {
		t.Fatal("the demo ceremony made no TSA")
	}
	post := func(ct string, body []byte) (*http.Response, []byte) {
		t.Helper()
		resp, err := http.Post(e.base+"/tsa", ct, bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, b
	}
	// Health first: the demo trusts its clock.
	resp, err := http.Get(e.base + "/tsa/health")
	if err != nil {
		t.Fatal(err)
	}
	var h struct {
		Status, Policy string
		AccuracyMS     float64 `json:"accuracy_ms"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&h); err != nil || resp.StatusCode != http.StatusOK || h.Status != "ok" || h.AccuracyMS != 1000 {
		t.Fatalf("health %d %+v %v", resp.StatusCode, h, err)
	}
	resp.Body.Close()

	// Many clients at once: every reply granted, every token recorded once.
	tsaCert, err := x509.ParseCertificate(e.app.caDER["tsa"])
	must(t, err)
	// The audit checkpoints' own tokens are recorded too: count from here.
	must(t, e.app.TSA.Flush(context.Background()))
	before, err := e.app.DB.CountTimestamps(context.Background())
	must(t, err)
	const clients, each = 8, 20
	var wg sync.WaitGroup
	var mu sync.Mutex
	serials := map[string]bool{}
	for range clients {
		wg.Go(func() {
			for range each {
				d := make([]byte, 32)
				_, _ = rand.Read(d)
				req, _ := tsa.BuildRequest(crypto.SHA256, d, []byte{0x42}, false, nil)
				resp, err := http.Post(e.base+"/tsa", "application/timestamp-query", bytes.NewReader(req))
				if err != nil {
					t.Error(err)
					return
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				tok, err := timestamp.CheckReply(b, tsaCert)
				if err == nil && tok.Status != tsa.StatusGranted {
					err = io.ErrUnexpectedEOF
				}
				if err != nil || resp.Header.Get("Content-Type") != "application/timestamp-reply" {
					t.Errorf("reply: %v %q", err, resp.Header.Get("Content-Type"))
					return
				}
				mu.Lock()
				serials[string(tok.Serial)] = true
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	must(t, e.app.TSA.Flush(context.Background())) // the journal drains into the store
	n, err := e.app.DB.CountTimestamps(context.Background())
	if err != nil || n-before != clients*each || len(serials) != clients*each {
		t.Fatalf("%d new records, %d unique serials, want %d (%v)", n-before, len(serials), clients*each, err)
	}

	// Refusals over HTTP, then the server keeps serving.
	if resp, _ := post("application/timestamp-query", make([]byte, 64<<10)); resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("oversized body: %d", resp.StatusCode)
	}
	if resp, _ := post("application/json", []byte("{}")); resp.StatusCode != http.StatusUnsupportedMediaType {
		t.Errorf("wrong content type: %d", resp.StatusCode)
	}
	if _, b := post("application/timestamp-query", []byte("garbage")); true {
		tok, err := timestamp.CheckReply(b, nil)
		if err != nil || tok.Status != tsa.StatusRejection {
			t.Errorf("malformed request: %v %+v", err, tok)
		}
	}

	// openssl: a query it made, our reply, its verification against the demo root.
	if _, err := exec.LookPath("openssl"); err != nil {
		needTool(t, "openssl")
	}
	dir := t.TempDir()
	data := filepath.Join(dir, "doc.txt")
	must(t, os.WriteFile(data, []byte("offer of 12 000 MAD, accepted\n"), 0o600))
	query := filepath.Join(dir, "q.tsq")
	runTool(t, "openssl", "ts", "-query", "-data", data, "-sha256", "-cert", "-out", query)
	q, err := os.ReadFile(query)
	must(t, err)
	resp, body := post("application/timestamp-query", q)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	reply := filepath.Join(dir, "r.tsr")
	must(t, os.WriteFile(reply, body, 0o600))
	text := runTool(t, "openssl", "ts", "-reply", "-in", reply, "-text")
	for _, want := range []string{"Granted", "Policy OID: " + e.app.TSA.Policy(), "Accuracy: 0x01 seconds", "Nonce: 0x", "TSA: DirName:", "qcStatements"} {
		if !strings.Contains(text, want) {
			t.Errorf("reply text lacks %q:\n%s", want, text)
		}
	}
	root := writePEM(t, dir, "root.pem", e.app.caDER["root"])
	tsaPEM := writePEM(t, dir, "tsa.pem", e.app.caDER["tsa"])
	if out := runTool(t, "openssl", "ts", "-verify", "-data", data, "-in", reply, "-CAfile", root, "-untrusted", tsaPEM); !strings.Contains(out, "Verification: OK") {
		t.Errorf("openssl ts -verify:\n%s", out)
	}

	// Both lanes answer alike: curl's new connection opens with POST /tsa (the fast
	// lane); a connection that opened with GET /tsa/health stays with net/http.
	fl := e.app.fastLane.Load()
	if fl == nil {
		t.Fatal("the server runs without the fast lane")
	}
	fast0, _ := fl.Stats()
	fast := filepath.Join(dir, "fast.tsr")
	runTool(t, "curl", "-sS", "--fail", "-H", "Content-Type: application/timestamp-query", "--data-binary", "@"+query, "-o", fast, e.base+"/tsa")
	one := &http.Client{Transport: &http.Transport{MaxConnsPerHost: 1, MaxIdleConnsPerHost: 1}}
	defer one.CloseIdleConnections()
	hr, err := one.Get(e.base + "/tsa/health")
	must(t, err)
	_, _ = io.Copy(io.Discard, hr.Body)
	hr.Body.Close()
	sr, err := one.Post(e.base+"/tsa", "application/timestamp-query", bytes.NewReader(q))
	must(t, err)
	slowBody, _ := io.ReadAll(sr.Body)
	sr.Body.Close()
	slow := filepath.Join(dir, "slow.tsr")
	must(t, os.WriteFile(slow, slowBody, 0o600))
	if fast1, _ := fl.Stats(); fast1 != fast0+1 {
		t.Errorf("the fast lane answered %d of the two, want curl's alone", fast1-fast0)
	}
	for _, r := range []string{fast, slow} {
		if out := runTool(t, "openssl", "ts", "-verify", "-data", data, "-in", r, "-CAfile", root, "-untrusted", tsaPEM); !strings.Contains(out, "Verification: OK") {
			t.Errorf("openssl ts -verify %s:\n%s", filepath.Base(r), out)
		}
	}
}

func runTool(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(needTool(t, name), args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestCheckpointTimeStamped_L21_2: the demo CSP's TSA stamps its audit checkpoints;
// openssl checks a stored token against the demo root for the note's digest, and
// VerifyAudit checks it against the TSA certificate.
func TestCheckpointTimeStamped_L21_2(t *testing.T) {
	e := startEnv(t, t.TempDir(), "")
	if e.app.TSA == nil {
		t.Fatal("the demo ceremony made no TSA")
	}
	ctx := context.Background()
	cps, err := e.app.DB.Checkpoints(ctx)
	must(t, err)
	if len(cps) == 0 || cps[0].Timestamp == nil {
		t.Fatalf("the first checkpoint is not time-stamped: %+v", cps)
	}
	rep, err := e.app.VerifyAudit(ctx)
	must(t, err)
	if !rep.OK() || rep.Stamped != len(cps) || rep.StampsUnanchored {
		t.Fatalf("report %+v", rep)
	}
	if _, err := exec.LookPath("openssl"); err != nil {
		needTool(t, "openssl")
	}
	dir := t.TempDir()
	tok := filepath.Join(dir, "token.tsr")
	must(t, os.WriteFile(tok, cps[0].Timestamp, 0o600))
	root := writePEM(t, dir, "root.pem", e.app.caDER["root"])
	tsaPEM := writePEM(t, dir, "tsa.pem", e.app.caDER["tsa"])
	digest := sha256.Sum256(cps[0].Signed)
	if out := runTool(t, "openssl", "ts", "-verify", "-digest", hex.EncodeToString(digest[:]), "-in", tok, "-token_in",
		"-CAfile", root, "-untrusted", tsaPEM); !strings.Contains(out, "Verification: OK") {
		t.Errorf("openssl ts -verify:\n%s", out)
	}
}

// TestBenchTSA: the load tool measures raw signing, checks every reply for its
// imprint and a new serial, verifies the sample it says, and each token it counted
// is recorded.
func TestBenchTSA(t *testing.T) {
	e := startEnv(t, t.TempDir(), "")
	ctx := context.Background()
	must(t, e.app.TSA.Flush(ctx))
	before, err := e.app.DB.CountTimestamps(ctx)
	must(t, err)
	res, err := RunBenchTSA(ctx, BenchTSA{URL: e.base + "/tsa", Concurrency: 4, Duration: 300 * time.Millisecond,
		VerifyOneIn: 3, SignFor: 100 * time.Millisecond})
	must(t, err)
	if res.Requests < 10 || res.Errors != 0 || res.RawSignsPerSec <= 0 || res.Ratio <= 0 || res.P99 < res.P50 {
		t.Fatalf("result %+v", res)
	}
	// The server's engine is measured, and Go's beside it when they differ.
	if res.Engine != keys.Effective(keys.EngineAuto) || (res.Engine == keys.EngineLibcrypto) != (res.RawGoSignsPerSec > 0) {
		t.Fatalf("raw rate measured with %q (Go's %.0f/s); the server signs with %q", res.Engine, res.RawGoSignsPerSec, keys.Effective(keys.EngineAuto))
	}
	if want := (res.Requests + 2) / 3; res.Verified < want-1 || res.Verified > want+1 {
		t.Fatalf("%d of %d replies verified, want one in 3", res.Verified, res.Requests)
	}
	must(t, e.app.TSA.Flush(ctx))
	after, err := e.app.DB.CountTimestamps(ctx)
	must(t, err)
	// The probes and the replies cut short by the end of the run are recorded too.
	if n := int(after - before); n < res.Requests+2 {
		t.Fatalf("%d tokens recorded for %d counted replies", n, res.Requests)
	}
	// A TSA that answers for another imprint is caught.
	liar := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if len(body) > 40 && body[len(body)-1] != 0xff { // not the probe (certReq): change the imprint
			body[len(body)-1] ^= 1
		}
		w.Write(e.app.TSA.Stamp(r.Context(), body).DER)
	}))
	defer liar.Close()
	if res, err := RunBenchTSA(ctx, BenchTSA{URL: liar.URL, Concurrency: 2, Duration: 100 * time.Millisecond, SignFor: -1}); err == nil && res.Errors == 0 {
		t.Fatalf("tokens for other imprints were not caught: %+v", res)
	}
}
