package app

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"github.com/tawthiq/tawthiq/internal/timestamp"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
	xocsp "golang.org/x/crypto/ocsp"

	"github.com/tawthiq/tawthiq/internal/loadgen"
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
}

// RunBenchTSA sends time-stamp requests for random SHA-256 imprints from many
// clients. The first reply is checked in full (imprint, nonce, ESSCertIDv2, message
// digest and signature); later ones only for a granted status, so that the load
// tool spends its CPU on load.
func RunBenchTSA(ctx context.Context, b BenchTSA) (BenchResult, error) {
	h := make([]byte, 32)
	nonce := make([]byte, 8)
	if _, err := rand.Read(h); err != nil {
		return BenchResult{}, err
	}
	_, _ = rand.Read(nonce)
	nonce[0] = nonce[0]&0x7f | 0x01
	req, err := tsa.BuildRequest(crypto.SHA256, h, nonce, true, nil)
	if err != nil {
		return BenchResult{}, err
	}
	resp, err := http.Post(b.URL, "application/timestamp-query", bytes.NewReader(req))
	if err != nil {
		return BenchResult{}, err
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	if err != nil {
		return BenchResult{}, err
	}
	tok, err := timestamp.CheckReply(body, nil)
	if err != nil {
		return BenchResult{}, fmt.Errorf("first reply: %w", err)
	}
	if tok.Status != tsa.StatusGranted {
		return BenchResult{}, fmt.Errorf("first reply: status %d, failInfo %x", tok.Status, tok.FailInfo)
	}
	if !bytes.Equal(tok.Imprint, h) || !bytes.Equal(tok.Nonce, nonce) {
		return BenchResult{}, errors.New("first reply: the token does not echo the imprint and nonce")
	}
	check := func(body []byte) error {
		// TimeStampResp ::= SEQUENCE { SEQUENCE { INTEGER status ...: granted is 02 01 00.
		s := cryptobyte.String(body)
		var resp, info cryptobyte.String
		var status int64
		if !s.ReadASN1(&resp, cbasn1.SEQUENCE) || !resp.ReadASN1(&info, cbasn1.SEQUENCE) || !info.ReadASN1Integer(&status) || status != tsa.StatusGranted {
			return fmt.Errorf("not granted")
		}
		return nil
	}
	tr := &http.Transport{Proxy: nil, MaxIdleConns: b.Concurrency, MaxIdleConnsPerHost: b.Concurrency,
		MaxConnsPerHost: b.Concurrency, IdleConnTimeout: 90 * time.Second, DisableCompression: true}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: &randomImprints{base: tr, certReq: b.CertReq}, Timeout: 30 * time.Second}
	return loadgen.Run(ctx, loadgen.Config{URL: b.URL, Body: req, ContentType: "application/timestamp-query",
		Concurrency: b.Concurrency, Duration: b.Duration, Check: check, Client: client})
}

// randomImprints replaces each request's body with a query for a fresh random
// SHA-256 imprint, so that no two requests are alike.
type randomImprints struct {
	base    *http.Transport
	certReq bool
}

func (r *randomImprints) RoundTrip(req *http.Request) (*http.Response, error) {
	var h [32]byte
	_, _ = rand.Read(h[:])
	body, err := tsa.BuildRequest(crypto.SHA256, h[:], nil, r.certReq, nil)
	if err != nil {
		return nil, err
	}
	out := req.Clone(req.Context())
	out.Body = io.NopCloser(bytes.NewReader(body))
	out.ContentLength = int64(len(body))
	out.GetBody = nil
	return r.base.RoundTrip(out)
}
