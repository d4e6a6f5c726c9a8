package api

import (
	"context"
	"encoding/json"
	"mime"
	"net/http"
	"sync"
	"time"

	"github.com/tawthiq/tawthiq/internal/api/fastlane"
	"github.com/tawthiq/tawthiq/internal/tsa"
)

// Stamper answers a DER TimeStampReq (satisfied by *tsa.Service). It never fails:
// every problem is a rejection inside the reply.
type Stamper interface {
	Stamp(ctx context.Context, der []byte) tsa.Reply
}

// TSAHealth says whether the TSA stamps now (satisfied by *tsa.Service).
type TSAHealth interface {
	Health(now time.Time) tsa.Health
}

const (
	tsaQueryType = "application/timestamp-query"
)

var hdrTimestampReply = []string{"application/timestamp-reply"}

// TSAHandler serves RFC 3161 over HTTP (§3.4): POST with an application/timestamp-query
// body of at most maxBody bytes (413 beyond), answered application/timestamp-reply.
// Mount it beside the API, outside its middleware, like OCSP.
func TSAHandler(t Stamper, maxBody int64) http.Handler {
	h := &tsaHandler{t: t, maxBody: tsaMaxBody(maxBody)}
	h.bufs.New = func() any { b := make([]byte, h.maxBody+1); return &b }
	return h
}

// TSAFastRoute is TSAHandler's happy case for the fast lane: the same body limit
// and reply headers; every other request goes to TSAHandler through the fallback.
func TSAFastRoute(t Stamper, maxBody int64) fastlane.Route {
	return fastlane.Route{Method: http.MethodPost, Path: "/tsa", ContentType: tsaQueryType, MaxBody: tsaMaxBody(maxBody),
		Header: [][2]string{{"Cache-Control", hdrNoStore[0]}, {"X-Content-Type-Options", hdrNoSniff[0]}},
		Handle: func(ctx context.Context, body []byte) (string, []byte) {
			return hdrTimestampReply[0], t.Stamp(ctx, body).DER
		}}
}

// tsaMaxBody is the server's body limit, never above the largest query the TSA parses.
func tsaMaxBody(maxBody int64) int {
	if maxBody <= 0 || maxBody > tsa.MaxRequestBytes {
		return tsa.MaxRequestBytes
	}
	return int(maxBody)
}

type tsaHandler struct {
	t       Stamper
	maxBody int
	bufs    sync.Pool // *[]byte
}

func (h *tsaHandler) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if req.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if ct := req.Header.Get("Content-Type"); ct != tsaQueryType {
		if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != tsaQueryType {
			http.Error(w, "Content-Type must be "+tsaQueryType, http.StatusUnsupportedMediaType)
			return
		}
	}
	if req.ContentLength > int64(h.maxBody) {
		http.Error(w, "time-stamp request too large", http.StatusRequestEntityTooLarge)
		return
	}
	bp := h.bufs.Get().(*[]byte)
	defer h.bufs.Put(bp)
	buf := *bp
	n, err := readAtMost(req.Body, buf[:h.maxBody+1])
	if err != nil {
		http.Error(w, "cannot read the time-stamp request", http.StatusBadRequest)
		return
	}
	if n > h.maxBody {
		http.Error(w, "time-stamp request too large", http.StatusRequestEntityTooLarge)
		return
	}
	rep := h.t.Stamp(req.Context(), buf[:n])
	hd := w.Header()
	hd["Content-Type"] = hdrTimestampReply
	hd["Cache-Control"] = hdrNoStore
	hd["X-Content-Type-Options"] = hdrNoSniff
	w.Write(rep.DER)
}

// tsaHealth is GET /tsa/health's body.
type tsaHealth struct {
	Status       string  `json:"status"` // "ok" or "refusing"
	Reason       string  `json:"reason,omitempty"`
	Synchronised bool    `json:"synchronised"`
	OffsetMS     float64 `json:"offset_ms"`
	AccuracyMS   float64 `json:"accuracy_ms"`
	Policy       string  `json:"policy"`
	Time         string  `json:"time"`
}

// TSAHealthHandler serves GET /tsa/health: 200 when the TSA stamps, 503 with the
// reason when it refuses (L-21-1).
func TSAHealthHandler(t TSAHealth, now func() time.Time) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		h := t.Health(now())
		body := tsaHealth{Status: "ok", Reason: h.Reason, Synchronised: h.Synced,
			OffsetMS:   float64(h.Offset) / float64(time.Millisecond),
			AccuracyMS: float64(h.Accuracy) / float64(time.Millisecond), Policy: h.Policy,
			Time: h.Time.Format("2006-01-02T15:04:05.000Z07:00")}
		code := http.StatusOK
		if !h.Ready {
			body.Status, code = "refusing", http.StatusServiceUnavailable
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(code)
		_ = json.NewEncoder(w).Encode(body)
	})
}
