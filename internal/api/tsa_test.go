package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tawthiq/tawthiq/internal/api"
	"github.com/tawthiq/tawthiq/internal/tsa"
)

type fakeStamper struct {
	got   []byte
	ready bool
}

func (f *fakeStamper) Stamp(_ context.Context, der []byte) tsa.Reply {
	f.got = append([]byte(nil), der...)
	return tsa.Reply{DER: []byte{0x30, 0x03, 0x02, 0x01, 0x00}}
}

func (f *fakeStamper) Health(now time.Time) tsa.Health {
	h := tsa.Health{Ready: f.ready, Synced: f.ready, Accuracy: time.Second, Policy: "2.16.504.99.1.1.2", Time: now}
	if !f.ready {
		h.Reason = "the clock's synchronisation is unknown (L-21-1)"
	}
	return h
}

func TestTSAHandler(t *testing.T) {
	st := &fakeStamper{}
	h := api.TSAHandler(st, 1024)
	cases := []struct {
		name, method, ct string
		body             []byte
		want             int
	}{
		{"query", http.MethodPost, "application/timestamp-query", []byte{0x30, 0x00}, http.StatusOK},
		{"query with parameters", http.MethodPost, "application/timestamp-query; charset=binary", []byte{0x30, 0x00}, http.StatusOK},
		{"wrong content type", http.MethodPost, "application/json", []byte("{}"), http.StatusUnsupportedMediaType},
		{"no content type", http.MethodPost, "", []byte{0x30, 0x00}, http.StatusUnsupportedMediaType},
		{"too large", http.MethodPost, "application/timestamp-query", make([]byte, 1025), http.StatusRequestEntityTooLarge},
		{"GET", http.MethodGet, "", nil, http.StatusMethodNotAllowed},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req := httptest.NewRequest(c.method, "/tsa", bytes.NewReader(c.body))
			if c.ct != "" {
				req.Header.Set("Content-Type", c.ct)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != c.want {
				t.Fatalf("status %d, want %d: %s", rec.Code, c.want, rec.Body)
			}
			if c.want == http.StatusOK && (rec.Header().Get("Content-Type") != "application/timestamp-reply" || !bytes.Equal(st.got, c.body)) {
				t.Fatalf("content type %q, stamped %x", rec.Header().Get("Content-Type"), st.got)
			}
		})
	}
	// A body of unknown length over the limit is refused too.
	req := httptest.NewRequest(http.MethodPost, "/tsa", struct{ *strings.Reader }{strings.NewReader(strings.Repeat("x", 2000))})
	req.ContentLength = -1
	req.Header.Set("Content-Type", "application/timestamp-query")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusRequestEntityTooLarge {
		t.Fatalf("chunked oversized body: %d", rec.Code)
	}
}

func TestTSAHealthHandler_L21_1(t *testing.T) {
	for _, ready := range []bool{true, false} {
		st := &fakeStamper{ready: ready}
		rec := httptest.NewRecorder()
		api.TSAHealthHandler(st, time.Now).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/tsa/health", nil))
		var body struct{ Status, Reason string }
		if err := json.NewDecoder(rec.Body).Decode(&body); err != nil {
			t.Fatal(err)
		}
		want, status := http.StatusOK, "ok"
		if !ready {
			want, status = http.StatusServiceUnavailable, "refusing"
		}
		if rec.Code != want || body.Status != status || (!ready && !strings.Contains(body.Reason, "L-21-1")) {
			t.Fatalf("ready=%v: %d %+v", ready, rec.Code, body)
		}
	}
}
