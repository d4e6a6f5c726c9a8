package api

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"

	"github.com/tawthiq/tawthiq/internal/access"
	"github.com/tawthiq/tawthiq/internal/errkind"
	"github.com/tawthiq/tawthiq/internal/law"
	"github.com/tawthiq/tawthiq/internal/signature"
)

// Extender raises the level of a signed file with the CSP's own TSA and status
// data, and renews a B-LTA file's time-stamp (the app's extender).
type Extender interface {
	Extend(ctx context.Context, userID string, req ExtendRequest) (ExtendResult, error)
}

// ExtendRequest is one signed file to extend.
type ExtendRequest struct {
	Format string // pades or cades
	Level  signature.Level
	File   []byte // the signed PDF, or an enveloping CMS signature
}

// ExtendResult is the extended file.
type ExtendResult struct {
	Bytes       []byte
	ContentType string
}

// extend raises the signature in the request body to the asked level; it only
// appends, never changing what was signed (L-9).
func (s *server) extend(w http.ResponseWriter, r *http.Request, u *access.User) error {
	if s.Extender == nil {
		return notWired("signature extension")
	}
	q := r.URL.Query()
	level, err := levelParam(q.Get("level"), signature.BLTA, signature.BT)
	if err != nil {
		return err
	}
	format := strings.ToLower(q.Get("format"))
	if format != "" && format != "pades" && format != "cades" {
		return errkind.New(errkind.Invalid, law.L417_2, "format must be pades or cades")
	}
	file, err := io.ReadAll(r.Body)
	if err != nil {
		return jsonError(err)
	}
	if format == "" {
		format = "cades"
		if bytes.HasPrefix(file, []byte("%PDF-")) {
			format = "pades"
		}
	}
	res, err := s.Extender.Extend(r.Context(), u.ID, ExtendRequest{Format: format, Level: level, File: file})
	if err != nil {
		return err
	}
	return writeDocument(w, res.ContentType, res.Bytes)
}
