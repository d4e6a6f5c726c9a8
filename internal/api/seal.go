package api

import (
	"context"
	"io"
	"net/http"
	"strings"

	"github.com/tawthiq/tawthiq/internal/access"
	"github.com/tawthiq/tawthiq/internal/errkind"
	"github.com/tawthiq/tawthiq/internal/law"
	"github.com/tawthiq/tawthiq/internal/seal"
	"github.com/tawthiq/tawthiq/internal/signature"
)

// DefaultMaxDocumentBytes bounds a document sent to be sealed or validated.
const DefaultMaxDocumentBytes = 32 << 20

// Sealer applies organisations' seals on the server (seal.Service).
type Sealer interface {
	Apply(ctx context.Context, userID string, req seal.Request) (seal.Result, error)
}

// documentRoute says whether a request carries a whole document, not JSON.
func documentRoute(r *http.Request) bool {
	return r.Method == http.MethodPost && (strings.HasPrefix(r.URL.Path, "/api/v1/seals/") || r.URL.Path == "/api/v1/extend" || r.URL.Path == "/api/v1/validate")
}

// applySeal seals the request body as is (L-9) and returns the sealed file.
func (s *server) applySeal(w http.ResponseWriter, r *http.Request, u *access.User) error {
	if s.Seals == nil {
		return notWired("seals")
	}
	q := r.URL.Query()
	level, err := levelParam(q.Get("level"), signature.BT, signature.BB)
	if err != nil {
		return err
	}
	doc, err := io.ReadAll(r.Body)
	if err != nil {
		return jsonError(err)
	}
	res, err := s.Seals.Apply(r.Context(), u.ID, seal.Request{
		Seal: r.PathValue("name"), Format: q.Get("format"), Level: level,
		Detached: q.Get("detached") == "true", Document: doc,
	})
	if err != nil {
		return err
	}
	return writeDocument(w, res.ContentType, res.Bytes)
}

// levelParam reads a ?level= of at least least (def when empty).
func levelParam(v string, def, least signature.Level) (signature.Level, error) {
	if v == "" {
		return def, nil
	}
	var names []string
	for l := least; l <= signature.BLTA; l++ {
		if strings.EqualFold(v, l.String()) {
			return l, nil
		}
		names = append(names, l.String())
	}
	return 0, errkind.New(errkind.Invalid, law.L417_3, "level must be %s", strings.Join(names, ", "))
}

// writeDocument answers with a whole file.
func writeDocument(w http.ResponseWriter, contentType string, b []byte) error {
	w.Header().Set("Content-Type", contentType)
	w.WriteHeader(http.StatusOK)
	_, err := w.Write(b)
	return err
}
