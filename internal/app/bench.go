package app

import (
	"context"
	"crypto"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	xocsp "golang.org/x/crypto/ocsp"

	"github.com/tawthiq/tawthiq/internal/loadgen"
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
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if blk, _ := pem.Decode(b); blk != nil {
		b = blk.Bytes
	}
	return x509.ParseCertificate(b)
}
