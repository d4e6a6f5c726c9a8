package api

import (
	"context"
	"encoding/base64"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tawthiq/tawthiq/internal/ocsp"
)

// Responder answers a DER OCSPRequest (satisfied by *ocsp.Service). It never fails:
// every problem is an OCSP error status inside the answer.
type Responder interface {
	Respond(ctx context.Context, der []byte) ocsp.Answer
}

// OCSPHandler serves RFC 6960 over HTTP as RFC 5019 profiles it: POST /ocsp with an
// application/ocsp-request body of at most maxBody bytes (413 beyond), and
// GET /ocsp/{url-escaped standard base64 of the request}. Mount it before any
// middleware, for "/ocsp" and every path under "/ocsp/", and not behind a
// http.ServeMux pattern that cleans paths: base64 may contain "//".
// It logs nothing per request and allocates little beyond what net/http does.
func OCSPHandler(r Responder, maxBody int64) http.Handler {
	if maxBody <= 0 || maxBody > ocsp.MaxRequestBytes {
		maxBody = ocsp.MaxRequestBytes
	}
	h := &ocspHandler{r: r, maxBody: int(maxBody)}
	h.bufs.New = func() any {
		// POST: the body and one byte more; GET: the decoded request, then the encoded one.
		b := make([]byte, h.maxBody+1+base64.RawStdEncoding.EncodedLen(h.maxBody))
		return &b
	}
	return h
}

type ocspHandler struct {
	r       Responder
	maxBody int
	bufs    sync.Pool // *[]byte

	maxAge       atomic.Pointer[headerCache] // the last Cache-Control value written
	lastModified atomic.Pointer[headerCache] // the last Last-Modified value written
}

// headerCache keeps one formatted header value: nearly every answer repeats the last.
type headerCache struct {
	key int64
	val []string
}

// Header values shared by every response; net/http only reads them.
var (
	hdrOCSPResponse = []string{"application/ocsp-response"}
	hdrNoStore      = []string{"no-store"}
	hdrNoSniff      = []string{"nosniff"}
)

const ocspRequestType = "application/ocsp-request"

func (h *ocspHandler) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	bp := h.bufs.Get().(*[]byte)
	defer h.bufs.Put(bp)
	buf := *bp
	var der []byte
	isGet := false
	switch req.Method {
	case http.MethodPost:
		if ct := req.Header.Get("Content-Type"); ct != "" && ct != ocspRequestType {
			if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != ocspRequestType {
				http.Error(w, "Content-Type must be "+ocspRequestType, http.StatusUnsupportedMediaType)
				return
			}
		}
		if req.ContentLength > int64(h.maxBody) {
			http.Error(w, "OCSP request too large", http.StatusRequestEntityTooLarge)
			return
		}
		n, err := readAtMost(req.Body, buf[:h.maxBody+1])
		if err != nil {
			http.Error(w, "cannot read the OCSP request", http.StatusBadRequest)
			return
		}
		if n > h.maxBody {
			http.Error(w, "OCSP request too large", http.StatusRequestEntityTooLarge)
			return
		}
		der = buf[:n]
	case http.MethodGet, http.MethodHead:
		isGet = true
		path := req.URL.Path // already unescaped: "%2F" is "/", "%2B" is "+"
		i := strings.Index(path, "/ocsp/")
		if i < 0 {
			http.NotFound(w, req)
			return
		}
		enc := strings.TrimRight(path[i+len("/ocsp/"):], "=")
		if len(enc) > base64.RawStdEncoding.EncodedLen(h.maxBody) {
			http.Error(w, "OCSP request too large", http.StatusRequestURITooLong)
			return
		}
		src := buf[h.maxBody+1:]
		src = src[:copy(src, enc)]
		codec := base64.RawStdEncoding
		if strings.ContainsAny(enc, "-_") {
			codec = base64.RawURLEncoding // tolerated: some clients send the URL alphabet
		}
		n, err := codec.Decode(buf[:h.maxBody+1], src)
		if err != nil {
			der = buf[:0] // answered malformedRequest below
		} else {
			der = buf[:n]
		}
	default:
		w.Header().Set("Allow", "GET, HEAD, POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	ans := h.r.Respond(req.Context(), der)
	hd := w.Header()
	hd["Content-Type"] = hdrOCSPResponse
	hd["X-Content-Type-Options"] = hdrNoSniff
	if ans.MaxAge > 0 {
		hd["Cache-Control"] = h.cacheControl(ans.MaxAge)
		if isGet {
			if ans.ETag != "" {
				hd["Etag"] = []string{ans.ETag}
				if match := req.Header.Get("If-None-Match"); match != "" && match == ans.ETag {
					w.WriteHeader(http.StatusNotModified)
					return
				}
			}
			if !ans.LastModified.IsZero() {
				hd["Last-Modified"] = h.httpDate(ans.LastModified)
			}
		}
	} else {
		hd["Cache-Control"] = hdrNoStore
	}
	if req.Method == http.MethodHead {
		return
	}
	w.Write(ans.DER)
}

// readAtMost reads r until EOF or buf is full; a full buf means the body may be longer.
func readAtMost(r io.Reader, buf []byte) (int, error) {
	n := 0
	for n < len(buf) {
		m, err := r.Read(buf[n:])
		n += m
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// cacheControl is RFC 5019 §6.2's header: a max-age below nextUpdate, public.
func (h *ocspHandler) cacheControl(d time.Duration) []string {
	secs := int64(d / time.Second)
	if c := h.maxAge.Load(); c != nil && c.key == secs {
		return c.val
	}
	c := &headerCache{key: secs, val: []string{"max-age=" + strconv.FormatInt(secs, 10) + ", public, no-transform, must-revalidate"}}
	h.maxAge.Store(c)
	return c.val
}

func (h *ocspHandler) httpDate(t time.Time) []string {
	secs := t.Unix()
	if c := h.lastModified.Load(); c != nil && c.key == secs {
		return c.val
	}
	c := &headerCache{key: secs, val: []string{t.UTC().Format(http.TimeFormat)}}
	h.lastModified.Store(c)
	return c.val
}
