package api

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/tawthiq/tawthiq/internal/errkind"
)

// CRLSource gives the newest CRL published under a name: a CA's name for its full
// CRL, "{ca}-{n}" for a partition. revocation.Service implements it.
type CRLSource interface {
	LatestCRL(ctx context.Context, name string) (der []byte, thisUpdate, nextUpdate time.Time, err error)
}

// CRLHandler serves GET /crl/{ca}.crl and /crl/{ca}-{n}.crl (RFC 5280 §4.2.1.13) as
// static, cacheable DER until the CRL's nextUpdate, so a CDN can serve them. Errors
// are plain text: this is a protocol endpoint, read by relying parties' software.
func CRLHandler(src CRLSource) http.Handler { return CRLHandlerAt(src, time.Now) }

// CRLHandlerAt is CRLHandler with the clock that computes cache lifetimes.
func CRLHandlerAt(src CRLSource, now func() time.Time) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		file := r.PathValue("name")
		if file == "" {
			file = path.Base(r.URL.Path)
		}
		name, ok := strings.CutSuffix(file, ".crl")
		if !ok || !crlName(name) {
			http.NotFound(w, r)
			return
		}
		der, thisUpdate, nextUpdate, err := src.LatestCRL(r.Context(), name)
		switch {
		case errkind.Is(err, errkind.NotFound):
			http.NotFound(w, r)
			return
		case err != nil:
			http.Error(w, "CRL temporarily unavailable", http.StatusServiceUnavailable)
			return
		}
		age := int(nextUpdate.Sub(now()) / time.Second)
		if age < 0 {
			age = 0
		}
		h := sha256.Sum256(der)
		w.Header().Set("Content-Type", "application/pkix-crl")
		w.Header().Set("Cache-Control", "public, max-age="+strconv.Itoa(age)+", no-transform")
		w.Header().Set("Expires", nextUpdate.UTC().Format(http.TimeFormat))
		w.Header().Set("ETag", `"`+hex.EncodeToString(h[:16])+`"`)
		http.ServeContent(w, r, "", thisUpdate, bytes.NewReader(der))
	})
}

// crlName accepts a CA name or "{ca}-{n}": letters, digits, '-', '_' and '.', no path.
func crlName(s string) bool {
	if s == "" || len(s) > 80 || s[0] == '.' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}
