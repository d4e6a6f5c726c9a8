package api_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/tawthiq/tawthiq/internal/api"
	"github.com/tawthiq/tawthiq/internal/ocsp"
)

// echoResponder answers with the request itself, so the test sees what reached it.
type echoResponder struct{ maxAge time.Duration }

func (e echoResponder) Respond(_ context.Context, der []byte) ocsp.Answer {
	return ocsp.Answer{DER: append([]byte("resp:"), der...), MaxAge: e.maxAge, ETag: `"abc"`,
		LastModified: time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)}
}

func TestOCSPHandler(t *testing.T) {
	srv := httptest.NewServer(api.OCSPHandler(echoResponder{maxAge: 5 * time.Minute}, 64))
	defer srv.Close()
	req := []byte{0x30, 0x03, 0xfb, 0xff, 0x3e} // its base64 has "+", "/" and "="
	b64 := base64.StdEncoding.EncodeToString(req)
	tests := []struct {
		name, method, path, ctype string
		body                      []byte
		status                    int
		want                      []byte
		cache                     string
	}{
		{"POST", "POST", "/ocsp", "application/ocsp-request", req, 200, req, "max-age=300, public, no-transform, must-revalidate"},
		{"POST without type", "POST", "/ocsp", "", req, 200, req, ""},
		{"POST wrong type", "POST", "/ocsp", "text/plain", req, 415, nil, ""},
		{"POST too large", "POST", "/ocsp", "application/ocsp-request", bytes.Repeat([]byte{1}, 65), 413, nil, ""},
		{"POST at the limit", "POST", "/ocsp", "application/ocsp-request", bytes.Repeat([]byte{1}, 64), 200, bytes.Repeat([]byte{1}, 64), ""},
		{"GET escaped", "GET", "/ocsp/" + url.PathEscape(b64), "", nil, 200, req, "max-age=300, public, no-transform, must-revalidate"},
		{"GET raw", "GET", "/ocsp/" + b64, "", nil, 200, req, ""},
		{"GET unpadded", "GET", "/ocsp/" + strings.TrimRight(b64, "="), "", nil, 200, req, ""},
		{"GET URL alphabet", "GET", "/ocsp/" + base64.URLEncoding.EncodeToString(req), "", nil, 200, req, ""},
		{"GET too long", "GET", "/ocsp/" + strings.Repeat("A", 200), "", nil, 414, nil, ""},
		{"GET bad base64", "GET", "/ocsp/!!!", "", nil, 200, []byte{}, ""},
		{"PUT", "PUT", "/ocsp", "", req, 405, nil, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := http.NewRequest(tc.method, srv.URL+tc.path, bytes.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			if tc.ctype != "" {
				r.Header.Set("Content-Type", tc.ctype)
			}
			resp, err := http.DefaultClient.Do(r)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.status {
				t.Fatalf("HTTP %d, want %d: %s", resp.StatusCode, tc.status, body)
			}
			if tc.status != 200 {
				return
			}
			if got := resp.Header.Get("Content-Type"); got != "application/ocsp-response" {
				t.Fatalf("Content-Type %q", got)
			}
			if !bytes.Equal(body, append([]byte("resp:"), tc.want...)) {
				t.Fatalf("responder got %x, want %x", body[5:], tc.want)
			}
			if tc.cache != "" && resp.Header.Get("Cache-Control") != tc.cache {
				t.Fatalf("Cache-Control %q", resp.Header.Get("Cache-Control"))
			}
			isGet := tc.method == "GET"
			if (resp.Header.Get("ETag") != "") != isGet || (resp.Header.Get("Last-Modified") != "") != isGet {
				t.Fatalf("ETag %q Last-Modified %q for %s", resp.Header.Get("ETag"), resp.Header.Get("Last-Modified"), tc.method)
			}
		})
	}
}

func TestOCSPHandlerNoCache(t *testing.T) {
	srv := httptest.NewServer(api.OCSPHandler(echoResponder{}, 0))
	defer srv.Close()
	resp, err := http.Post(srv.URL+"/ocsp", "application/ocsp-request", strings.NewReader("x"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
		t.Fatalf("Cache-Control %q for an answer signed on the spot", cc)
	}
}
