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
	return r.Method == http.MethodPost && (strings.HasPrefix(r.URL.Path, "/api/v1/seals/") || r.URL.Path == "/api/v1/extend")
}

// applySeal seals the request body as is (L-9) and returns the sealed file.
func (s *server) applySeal(w http.ResponseWriter, r *http.Request, u *access.User) error {
	if s.Seals == nil {
		return notWired("seals")
	}
	q := r.URL.Query()
	level := signature.BT
	switch strings.ToUpper(q.Get("level")) {
	case "", "B-T":
	case "B-B":
		level = signature.BB
	case "B-LT":
		level = signature.BLT
	case "B-LTA":
		level = signature.BLTA
	default:
		return errkind.New(errkind.Invalid, law.L417_3, "level must be B-B, B-T, B-LT or B-LTA")
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
	w.Header().Set("Content-Type", res.ContentType)
	w.WriteHeader(http.StatusOK)
	_, err = w.Write(res.Bytes)
	return err
}
