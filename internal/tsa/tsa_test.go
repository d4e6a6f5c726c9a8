package tsa_test

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/asn1"
	"encoding/hex"
	"github.com/tawthiq/tawthiq/internal/timestamp"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tawthiq/tawthiq/internal/issuance"
	"github.com/tawthiq/tawthiq/internal/tsa"
)

func imprint() []byte {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return b
}

// TestOpenSSL_L425: openssl, an independent client, reads and verifies our tokens.
func TestOpenSSL_L425(t *testing.T) {
	f := newFixture(t)
	f.clk.Set(time.Now().UTC().Truncate(time.Second).Add(123 * time.Millisecond)) // L-21-1: the millisecond is shown
	data := filepath.Join(f.dir, "document.txt")
	must(t, os.WriteFile(data, []byte("a contract worth 20,000 dirhams\n"), 0o600))
	query := filepath.Join(f.dir, "q.tsq")
	mustOpenSSL(t, "ts", "-query", "-data", data, "-sha256", "-cert", "-out", query)
	der, err := os.ReadFile(query)
	must(t, err)
	rep := f.svc.Stamp(t.Context(), der)
	if rep.Status != tsa.StatusGranted {
		t.Fatalf("refused: %s", rep.Reason)
	}
	reply := filepath.Join(f.dir, "r.tsr")
	must(t, os.WriteFile(reply, rep.DER, 0o600))
	text := mustOpenSSL(t, "ts", "-reply", "-in", reply, "-text")
	tok, err := timestamp.CheckReply(rep.DER, nil)
	must(t, err)
	for _, want := range []string{"Status: Granted", "Policy OID: 2.16.504.99.1.1.2", "Accuracy: 0x01 seconds",
		"Nonce: 0x", "TSA: DirName:", "Tawthiq Demo TSA", "Serial number: 0x" + strings.ToUpper(hex.EncodeToString(tok.Serial)),
		"qcStatements", tok.GenTime.Format("15:04:05") + ".123 " + tok.GenTime.Format("2006") + " GMT"} {
		if !strings.Contains(text, want) {
			t.Errorf("openssl ts -reply -text lacks %q:\n%s", want, text)
		}
	}
	root := writePEM(t, f.dir, "root.pem", f.root.Cert.Raw)
	tsaPEM := writePEM(t, f.dir, "tsa.pem", f.tsa.Cert.Raw)
	for _, args := range [][]string{
		{"ts", "-verify", "-data", data, "-in", reply, "-CAfile", root, "-untrusted", tsaPEM},
		{"ts", "-verify", "-queryfile", query, "-in", reply, "-CAfile", root, "-untrusted", tsaPEM},
	} {
		if out := mustOpenSSL(t, args...); !strings.Contains(out, "Verification: OK") {
			t.Errorf("openssl %s:\n%s", strings.Join(args, " "), out)
		}
	}
	// A changed document fails.
	must(t, os.WriteFile(data, []byte("a contract worth 90,000 dirhams\n"), 0o600))
	if out, err := openssl(t, "ts", "-verify", "-data", data, "-in", reply, "-CAfile", root, "-untrusted", tsaPEM); err == nil {
		t.Errorf("openssl verified a changed document:\n%s", out)
	}
	// Without certReq the certificate is left out; openssl then needs it given.
	noCert := filepath.Join(f.dir, "nocert.tsq")
	mustOpenSSL(t, "ts", "-query", "-digest", hex.EncodeToString(imprint()), "-sha256", "-out", noCert)
	der, err = os.ReadFile(noCert)
	must(t, err)
	rep = f.svc.Stamp(t.Context(), der)
	if _, err := timestamp.CheckReply(rep.DER, nil); err == nil {
		t.Error("a token without certReq carries the certificate")
	}
	if _, err := timestamp.CheckReply(rep.DER, f.tsa.Cert); err != nil {
		t.Error(err)
	}
}

// TestGranted checks what a token says: imprint, nonce, policy, genTime to the millisecond.
func TestGranted_L21_1(t *testing.T) {
	f := newFixture(t)
	f.clk.Set(time.Date(2026, 3, 1, 12, 30, 45, 123_456_789, time.UTC))
	h := imprint()
	nonce := []byte{0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08}
	for _, c := range []struct {
		name   string
		policy asn1.ObjectIdentifier
		nonce  []byte
	}{{"no policy, nonce", nil, nonce}, {"our policy", testPolicy, nonce}, {"no nonce", nil, nil}} {
		t.Run(c.name, func(t *testing.T) {
			req, err := tsa.BuildRequest(crypto.SHA256, h, c.nonce, true, c.policy)
			must(t, err)
			rep := f.svc.Stamp(t.Context(), req)
			tok, err := timestamp.CheckReply(rep.DER, nil)
			must(t, err)
			if tok.Status != tsa.StatusGranted || !bytes.Equal(tok.Imprint, h) || !bytes.Equal(tok.Nonce, c.nonce) ||
				!tok.Policy.Equal(testPolicy) || !tok.GenTime.Equal(time.Date(2026, 3, 1, 12, 30, 45, 123_000_000, time.UTC)) {
				t.Fatalf("token %+v", tok)
			}
			rec, err := f.db.TimestampRecord(t.Context(), hex.EncodeToString(tok.Serial))
			must(t, err)
			if !rec.GenTime.Equal(tok.GenTime) || !bytes.Equal(rec.Imprint, h) || rec.HashAlg != "sha256" || rec.Policy != testPolicy.String() {
				t.Fatalf("record %+v", rec)
			}
		})
	}
}

func failBit(t *testing.T, fi []byte) int {
	t.Helper()
	if len(fi) < 2 {
		t.Fatalf("no failInfo: %x", fi)
	}
	for i, b := range fi[1:] {
		for j := range 8 {
			if b&(0x80>>j) != 0 {
				return i*8 + j
			}
		}
	}
	return -1
}

// TestRefusals: each refusal is a rejection with its PKIFailureInfo, and nothing is recorded.
func TestRefusals_L21_1(t *testing.T) {
	f := newFixture(t)
	sha1Sum := sha1.Sum([]byte("x"))
	sha1Req := []byte{0x30, 0x26, 0x02, 0x01, 0x01, 0x30, 0x21, 0x30, 0x09, 0x06, 0x05, 0x2b, 0x0e, 0x03, 0x02, 0x1a, 0x05, 0x00, 0x04, 0x14}
	sha1Req = append(sha1Req, sha1Sum[:]...)
	good, err := tsa.BuildRequest(crypto.SHA256, imprint(), nil, false, nil)
	must(t, err)
	otherPolicy, err := tsa.BuildRequest(crypto.SHA256, imprint(), nil, false, asn1.ObjectIdentifier{1, 2, 3, 4})
	must(t, err)
	short := sha256.Sum256(nil)
	badLen, err := tsa.BuildRequest(crypto.SHA256, short[:20], nil, false, nil)
	must(t, err)
	withExt := append([]byte(nil), good...)
	withExt = append(withExt, 0xa0, 0x00)
	withExt[1] += 2
	cases := []struct {
		name  string
		req   []byte
		clock tsa.Fixed
		bit   int
	}{
		{"sha-1", sha1Req, tsa.Fixed{Known: true}, 0},
		{"unaccepted policy", otherPolicy, tsa.Fixed{Known: true}, 15},
		{"malformed", []byte("not DER"), tsa.Fixed{Known: true}, 5},
		{"empty", nil, tsa.Fixed{Known: true}, 5},
		{"trailing bytes", append(append([]byte(nil), good...), 0), tsa.Fixed{Known: true}, 5},
		{"imprint length", badLen, tsa.Fixed{Known: true}, 5},
		{"extension", withExt, tsa.Fixed{Known: true}, 16},
		{"clock unknown", good, tsa.Fixed{}, 14},
		{"clock beyond accuracy", good, tsa.Fixed{Offset: 1500 * time.Millisecond, Known: true}, 14},
		{"clock behind beyond accuracy", good, tsa.Fixed{Offset: -2 * time.Second, Known: true}, 14},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f.sync.v.Store(c.clock)
			rep := f.svc.Stamp(t.Context(), c.req)
			tok, err := timestamp.CheckReply(rep.DER, nil)
			must(t, err)
			if tok.Status != tsa.StatusRejection || failBit(t, tok.FailInfo) != c.bit || rep.FailInfo != c.bit {
				t.Fatalf("status %d failInfo %x (%s), want rejection bit %d", tok.Status, tok.FailInfo, rep.Reason, c.bit)
			}
			h := f.svc.Health(f.clk.Now())
			if h.Ready != (c.bit != 14) {
				t.Fatalf("health %+v", h)
			}
		})
	}
	n, err := f.db.CountTimestamps(t.Context())
	must(t, err)
	if n != 0 {
		t.Fatalf("%d tokens recorded for refusals", n)
	}
	// The service recovers with the clock.
	f.sync.v.Store(tsa.Fixed{Known: true, Offset: time.Second})
	if rep := f.svc.Stamp(t.Context(), good); rep.Status != tsa.StatusGranted {
		t.Fatalf("after recovery: %s", rep.Reason)
	}
}

// TestConcurrent_L21_2: every reply's token is recorded, serials unique.
func TestConcurrent_L21_2(t *testing.T) {
	f := newFixture(t)
	const clients, each = 16, 25
	var mu sync.Mutex
	serials := map[string]bool{}
	var wg sync.WaitGroup
	for range clients {
		wg.Go(func() {
			for range each {
				req, _ := tsa.BuildRequest(crypto.SHA256, imprint(), nil, false, nil)
				rep := f.svc.Stamp(t.Context(), req)
				tok, err := timestamp.CheckReply(rep.DER, f.tsa.Cert)
				if err != nil || tok.Status != tsa.StatusGranted {
					t.Errorf("stamp: %v %s", err, rep.Reason)
					return
				}
				mu.Lock()
				serials[hex.EncodeToString(tok.Serial)] = true
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	n, err := f.db.CountTimestamps(t.Context())
	must(t, err)
	if len(serials) != clients*each || n != clients*each {
		t.Fatalf("%d unique serials, %d records, want %d", len(serials), n, clients*each)
	}
}

// TestRefusesWrongCertificate: only a critical timeStamping-only certificate signs tokens (RFC 3161 §2.3).
func TestRefusesWrongCertificate(t *testing.T) {
	f := newFixture(t)
	ocspNode := caNode(t, issuance.CASpec{Name: "ocsp", CommonName: "OCSP", Role: issuance.RoleOCSP, Parent: "root", Validity: 24 * time.Hour}, &f.root, time.Now())
	for name, c := range map[string]tsa.Config{
		"ocsp certificate": {Signer: ocspNode.Key, Cert: ocspNode.Cert, Policy: testPolicy, Clock: f.clk, Sync: f.sync, Store: f.db},
		"key mismatch":     {Signer: ocspNode.Key, Cert: f.tsa.Cert, Policy: testPolicy, Clock: f.clk, Sync: f.sync, Store: f.db},
		"no policy":        {Signer: f.tsa.Key, Cert: f.tsa.Cert, Clock: f.clk, Sync: f.sync, Store: f.db},
	} {
		if _, err := tsa.New(c); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// BenchmarkStamp is one token in process, SQLite record included; sign-p256 is the
// raw ECDSA P-256 signature of a 32-byte digest with the same key, for the ratio.
func BenchmarkStamp(b *testing.B) {
	f := newFixture(b)
	req, err := tsa.BuildRequest(crypto.SHA256, imprint(), []byte{1, 2, 3, 4, 5, 6, 7, 8}, true, nil)
	must(b, err)
	b.Run("stamp-16", func(b *testing.B) {
		b.SetParallelism(16 / runtime.GOMAXPROCS(0)) // 16 clients, as the load figure
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if rep := f.svc.Stamp(b.Context(), req); rep.Status != tsa.StatusGranted {
					b.Fatal(rep.Reason)
				}
			}
		})
	})
	digest := sha256.Sum256([]byte("x"))
	b.Run("sign-p256", func(b *testing.B) {
		for b.Loop() {
			if _, err := f.tsa.Key.Sign(rand.Reader, digest[:], crypto.SHA256); err != nil {
				b.Fatal(err)
			}
		}
	})
	sig, _ := f.tsa.Key.Sign(rand.Reader, digest[:], crypto.SHA256)
	b.Run("verify-p256", func(b *testing.B) {
		for b.Loop() {
			if !ecdsa.VerifyASN1(&f.tsa.Key.PublicKey, digest[:], sig) {
				b.Fatal("no")
			}
		}
	})
	b.Run("stamp-1", func(b *testing.B) { // one client: each token waits for its own commit
		for b.Loop() {
			if rep := f.svc.Stamp(b.Context(), req); rep.Status != tsa.StatusGranted {
				b.Fatal(rep.Reason)
			}
		}
	})
}

// TestAccuracyRead: the accuracy a token states is read back as openssl reads
// it: seconds, millis and micros (RFC 3161 §2.4.2); a validator bounds genTime with it.
func TestAccuracyRead(t *testing.T) {
	f := newFixture(t)
	for _, tc := range []struct {
		acc  time.Duration
		text string // openssl ts -reply -text
	}{
		{time.Second, "Accuracy: 0x01 seconds, unspecified millis, unspecified micros"},
		{2*time.Second + 7*time.Millisecond, "Accuracy: 0x02 seconds, 0x07 millis, unspecified micros"},
		{1500 * time.Microsecond, "Accuracy: unspecified seconds, 0x01 millis, 0x01F4 micros"},
	} {
		svc, err := tsa.New(tsa.Config{Signer: f.tsa.Key, Cert: f.tsa.Cert, Policy: testPolicy, Accuracy: tc.acc,
			Clock: f.clk, Sync: tsa.Fixed{Offset: time.Microsecond, Known: true}, Store: f.db})
		must(t, err)
		q, err := tsa.BuildRequest(crypto.SHA256, make([]byte, 32), nil, true, nil)
		must(t, err)
		rep := svc.Stamp(t.Context(), q)
		svc.Close()
		tok, err := timestamp.CheckReply(rep.DER, nil)
		must(t, err)
		if !tok.HasAccuracy || tok.Accuracy != tc.acc {
			t.Errorf("accuracy %v (stated %v), want %v", tok.Accuracy, tok.HasAccuracy, tc.acc)
		}
		reply := filepath.Join(f.dir, "acc.tsr")
		must(t, os.WriteFile(reply, rep.DER, 0o600))
		if text := mustOpenSSL(t, "ts", "-reply", "-in", reply, "-text"); !strings.Contains(text, tc.text) {
			t.Errorf("openssl reads another accuracy than %q:\n%s", tc.text, text)
		}
	}
}
