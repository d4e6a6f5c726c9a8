package app

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net/http"
	"net/url"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
	xocsp "golang.org/x/crypto/ocsp"

	"github.com/tawthiq/tawthiq/internal/keys"
	"github.com/tawthiq/tawthiq/internal/loadgen"
	"github.com/tawthiq/tawthiq/internal/timestamp"
	"github.com/tawthiq/tawthiq/internal/tsa"
)

// BenchOCSP is a load run against an OCSP responder (tawthiq bench ocsp).
type BenchOCSP struct {
	URL         string // the responder, e.g. http://127.0.0.1:8080/ocsp
	CertFile    string // PEM certificate whose status is asked
	IssuerFile  string // PEM certificate of its CA
	Concurrency int
	Duration    time.Duration
	GET         bool // RFC 5019 GET requests instead of POST
}

// BenchResult is what a load run measured.
type BenchResult = loadgen.Result

// RunBenchOCSP asks for one certificate's status as fast as the clients can, and
// checks that every answer is a successful OCSP response for that certificate.
func RunBenchOCSP(ctx context.Context, b BenchOCSP) (BenchResult, error) {
	cert, err := readCert(b.CertFile)
	if err != nil {
		return BenchResult{}, err
	}
	issuer, err := readCert(b.IssuerFile)
	if err != nil {
		return BenchResult{}, err
	}
	req, err := xocsp.CreateRequest(cert, issuer, &xocsp.RequestOptions{Hash: crypto.SHA1})
	if err != nil {
		return BenchResult{}, err
	}
	// Each distinct answer is parsed and its signature checked once; the repeats of a
	// pre-signed answer are compared byte for byte, so the load tool spends its CPU on load.
	var mu sync.Mutex
	seen := map[string]bool{}
	check := func(body []byte) error {
		mu.Lock()
		ok := seen[string(body)]
		mu.Unlock()
		if ok {
			return nil
		}
		r, err := xocsp.ParseResponseForCert(body, cert, issuer)
		if err != nil {
			return err
		}
		if r.SerialNumber.Cmp(cert.SerialNumber) != 0 {
			return fmt.Errorf("answer for serial %x", r.SerialNumber)
		}
		mu.Lock()
		seen[string(body)] = true
		mu.Unlock()
		return nil
	}
	cfg := loadgen.Config{URL: b.URL, Body: req, ContentType: "application/ocsp-request",
		Concurrency: b.Concurrency, Duration: b.Duration, Check: check}
	if b.GET {
		cfg.Body, cfg.ContentType = nil, ""
		cfg.URL = strings.TrimRight(b.URL, "/") + "/" + url.PathEscape(base64.StdEncoding.EncodeToString(req))
	}
	return loadgen.Run(ctx, cfg)
}

func readCert(path string) (*x509.Certificate, error) {
	b, err := readDERorPEM(path)
	if err != nil {
		return nil, err
	}
	return x509.ParseCertificate(b)
}

// BenchTSA is a load run against a time-stamping authority (tawthiq bench tsa).
type BenchTSA struct {
	URL         string // e.g. http://127.0.0.1:8080/tsa
	Concurrency int
	Duration    time.Duration
	CertReq     bool // ask for the TSA certificate in every token
	// VerifyOneIn is how many replies share one full check (signature, message
	// digest, ESSCertIDv2): 1 checks every reply; 0 means 64.
	VerifyOneIn int
	// SignFor is how long the raw ECDSA P-256 signing rate is measured, before the
	// load, on every core (default 1s; negative skips it).
	SignFor time.Duration
	// WantStatus is the HTTP status of a reply (default 200; sigstore's TSA answers 201).
	WantStatus int
	// Engine is the signing engine the server's TSA key uses (keys.Effective of
	// the server's signing_engine): the raw rate is measured with it, and with Go's.
	Engine keys.Engine
}

// BenchTSAResult is what a TSA load run measured.
type BenchTSAResult struct {
	BenchResult
	RawSignsPerSec   float64     // ECDSA P-256 signatures per second with Engine on all cores, in the same run
	Engine           keys.Engine // the engine RawSignsPerSec was measured with
	RawGoSignsPerSec float64     // the same with Go's crypto/ecdsa, when Engine is not Go
	Ratio            float64     // tokens/s ÷ RawSignsPerSec
	Verified         int         // replies fully checked (signature included); all were checked for status, imprint and serial
}

// RunBenchTSA measures the raw ECDSA P-256 signing rate of this machine, then sends
// time-stamp requests for random SHA-256 imprints from many clients. Every reply is
// checked for a granted status, the imprint its request sent and a serial never
// seen before; one in VerifyOneIn (and the first) is checked in full, signature
// included, against the TSA certificate of the first reply: checking every
// signature would cost the load tool twice the server's signing CPU, on the cores
// it shares with the server.
func RunBenchTSA(ctx context.Context, b BenchTSA) (BenchTSAResult, error) {
	var out BenchTSAResult
	if b.VerifyOneIn <= 0 {
		b.VerifyOneIn = 64
	}
	tsaCert, err := probeTSA(b.URL)
	if err != nil {
		return out, err
	}
	if b.SignFor == 0 {
		b.SignFor = time.Second
	}
	if b.SignFor > 0 {
		out.Engine = keys.Effective(b.Engine)
		if out.RawSignsPerSec, err = rawSignRate(ctx, b.SignFor, out.Engine); err != nil {
			return out, err
		}
		if out.Engine != keys.EngineGo {
			if out.RawGoSignsPerSec, err = rawSignRate(ctx, b.SignFor, keys.EngineGo); err != nil {
				return out, err
			}
		}
	}
	// Each request is the same query with its own random imprint, written in place.
	marker := bytes.Repeat([]byte{0x5a}, 32)
	tmpl, err := tsa.BuildRequest(crypto.SHA256, marker, nil, b.CertReq, nil)
	if err != nil {
		return out, err
	}
	off := bytes.Index(tmpl, marker)
	if off < 0 {
		return out, errors.New("bench: no imprint in the request")
	}
	clients := max(b.Concurrency, 1)
	rngs := make([]*mrand.ChaCha8, clients)
	for i := range rngs {
		var seed [32]byte
		if _, err := rand.Read(seed[:]); err != nil {
			return out, err
		}
		rngs[i] = mrand.NewChaCha8(seed)
	}
	next := func(client int, dst []byte) []byte {
		dst = append(dst, tmpl...)
		_, _ = rngs[client].Read(dst[off : off+32])
		return dst
	}
	var mu sync.Mutex
	serials := make(map[string]struct{}, 1<<18)
	var replies, verified atomic.Int64
	check := func(req, resp []byte) error {
		imprint, serial, err := grantedImprint(resp)
		if err != nil {
			return err
		}
		if !bytes.Equal(imprint, req[off:off+32]) {
			return errors.New("the token is not for the imprint sent")
		}
		mu.Lock()
		_, dup := serials[string(serial)]
		serials[string(serial)] = struct{}{}
		mu.Unlock()
		if dup {
			return fmt.Errorf("serial %x twice", serial)
		}
		if (replies.Add(1)-1)%int64(b.VerifyOneIn) != 0 {
			return nil
		}
		tok, err := timestamp.CheckReply(resp, tsaCert)
		if err != nil {
			return err
		}
		if tok.Status != tsa.StatusGranted || !bytes.Equal(tok.Imprint, req[off:off+32]) || tok.Signer == nil || !tok.Signer.Equal(tsaCert) {
			return errors.New("a fully checked token is not the one asked for")
		}
		verified.Add(1)
		return nil
	}
	res, err := loadgen.Run(ctx, loadgen.Config{URL: b.URL, ContentType: "application/timestamp-query",
		Concurrency: clients, Duration: b.Duration, NextBody: next, CheckReply: check, Lean: true, WantStatus: b.WantStatus})
	out.BenchResult, out.Verified = res, int(verified.Load())
	if out.RawSignsPerSec > 0 {
		out.Ratio = res.PerSecond / out.RawSignsPerSec
	}
	return out, err
}

// probeTSA asks for one token with a nonce and the certificate, checks it in full
// and returns the TSA certificate it carries.
func probeTSA(url string) (*x509.Certificate, error) {
	h := make([]byte, 32)
	nonce := make([]byte, 8)
	if _, err := rand.Read(h); err != nil {
		return nil, err
	}
	_, _ = rand.Read(nonce)
	nonce[0] = nonce[0]&0x7f | 0x01
	req, err := tsa.BuildRequest(crypto.SHA256, h, nonce, true, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.Post(url, "application/timestamp-query", bytes.NewReader(req))
	if err != nil {
		return nil, err
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	tok, err := timestamp.CheckReply(body, nil)
	if err != nil {
		return nil, fmt.Errorf("first reply: %w", err)
	}
	if tok.Status != tsa.StatusGranted {
		return nil, fmt.Errorf("first reply: status %d, failInfo %x", tok.Status, tok.FailInfo)
	}
	if !bytes.Equal(tok.Imprint, h) || !bytes.Equal(tok.Nonce, nonce) || tok.Signer == nil {
		return nil, errors.New("first reply: the token does not echo the imprint and nonce, or lacks its certificate")
	}
	return tok.Signer, nil
}

// grantedImprint reads a TimeStampResp only as far as TSTInfo's serial: a granted
// status, then the hashedMessage and the serial number.
func grantedImprint(der []byte) (imprint, serial []byte, err error) {
	s := cryptobyte.String(der)
	var resp, info, ci, explicit, sd, eci, eExplicit, eContent, tst, mi, hashed, ser cryptobyte.String
	var status int64
	if !s.ReadASN1(&resp, cbasn1.SEQUENCE) || !resp.ReadASN1(&info, cbasn1.SEQUENCE) || !info.ReadASN1Integer(&status) {
		return nil, nil, errors.New("not a TimeStampResp")
	}
	if status != tsa.StatusGranted {
		return nil, nil, fmt.Errorf("not granted: status %d", status)
	}
	if !resp.ReadASN1(&ci, cbasn1.SEQUENCE) || !ci.SkipASN1(cbasn1.OBJECT_IDENTIFIER) ||
		!ci.ReadASN1(&explicit, cbasn1.Tag(0).Constructed().ContextSpecific()) || !explicit.ReadASN1(&sd, cbasn1.SEQUENCE) ||
		!sd.SkipASN1(cbasn1.INTEGER) || !sd.SkipASN1(cbasn1.SET) || !sd.ReadASN1(&eci, cbasn1.SEQUENCE) ||
		!eci.SkipASN1(cbasn1.OBJECT_IDENTIFIER) || !eci.ReadASN1(&eExplicit, cbasn1.Tag(0).Constructed().ContextSpecific()) ||
		!eExplicit.ReadASN1(&eContent, cbasn1.OCTET_STRING) || !eContent.ReadASN1(&tst, cbasn1.SEQUENCE) ||
		!tst.SkipASN1(cbasn1.INTEGER) || !tst.SkipASN1(cbasn1.OBJECT_IDENTIFIER) || !tst.ReadASN1(&mi, cbasn1.SEQUENCE) ||
		!mi.SkipASN1(cbasn1.SEQUENCE) || !mi.ReadASN1(&hashed, cbasn1.OCTET_STRING) || !tst.ReadASN1(&ser, cbasn1.INTEGER) {
		return nil, nil, errors.New("malformed token")
	}
	return hashed, ser, nil
}

// rawSignRate is how many ECDSA P-256 signatures of a SHA-256 digest this machine
// makes per second on all its cores (GOMAXPROCS goroutines), the bound on a TSA's rate.
func rawSignRate(ctx context.Context, d time.Duration, e keys.Engine) (float64, error) {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return 0, err
	}
	key, err := keys.SoftwareSigner(priv, e)
	if err != nil {
		return 0, err
	}
	digest := sha256.Sum256([]byte("tawthiq raw signing rate"))
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	var n atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for ctx.Err() == nil {
				if _, err := key.Sign(rand.Reader, digest[:], crypto.SHA256); err == nil {
					n.Add(1)
				}
			}
		})
	}
	wg.Wait()
	return float64(n.Load()) / time.Since(start).Seconds(), nil
}
