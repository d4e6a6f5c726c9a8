package api_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/tawthiq/tawthiq/internal/api"
	"github.com/tawthiq/tawthiq/internal/errkind"
)

type crlSource map[string][]byte

var crlThis = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)

func (s crlSource) LatestCRL(_ context.Context, name string) ([]byte, time.Time, time.Time, error) {
	d, ok := s[name]
	if !ok {
		return nil, time.Time{}, time.Time{}, errkind.New(errkind.NotFound, "", "no CRL")
	}
	return d, crlThis, crlThis.Add(24 * time.Hour), nil
}

func TestCRLHandler_L21_rev(t *testing.T) {
	src := crlSource{"signature": []byte("full"), "signature-3": []byte("shard")}
	mux := http.NewServeMux()
	mux.Handle("GET /crl/{name}", api.CRLHandlerAt(src, func() time.Time { return crlThis.Add(time.Hour) }))
	tests := []struct {
		path   string
		status int
		body   string
	}{
		{"/crl/signature.crl", 200, "full"},
		{"/crl/signature-3.crl", 200, "shard"},
		{"/crl/nope.crl", 404, ""},
		{"/crl/signature", 404, ""},
		{"/crl/..crl", 404, ""},
	}
	for _, tc := range tests {
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest("GET", tc.path, nil))
		if rec.Code != tc.status {
			t.Fatalf("%s: status %d, want %d", tc.path, rec.Code, tc.status)
		}
		if tc.status != 200 {
			continue
		}
		h := rec.Header()
		if rec.Body.String() != tc.body || h.Get("Content-Type") != "application/pkix-crl" ||
			h.Get("Cache-Control") != "public, max-age=82800, no-transform" || h.Get("ETag") == "" ||
			h.Get("Last-Modified") != crlThis.Format(http.TimeFormat) {
			t.Fatalf("%s: body %q headers %v", tc.path, rec.Body, h)
		}
		// A cache revalidates with the ETag.
		req := httptest.NewRequest("GET", tc.path, nil)
		req.Header.Set("If-None-Match", h.Get("ETag"))
		rec = httptest.NewRecorder()
		mux.ServeHTTP(rec, req)
		if rec.Code != http.StatusNotModified {
			t.Fatalf("%s: revalidation status %d", tc.path, rec.Code)
		}
	}
}
