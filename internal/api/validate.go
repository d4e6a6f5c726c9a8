package api

import (
	"context"
	"errors"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/tawthiq/tawthiq/internal/access"
	"github.com/tawthiq/tawthiq/internal/errkind"
	"github.com/tawthiq/tawthiq/internal/law"
)

// Validator validates a signed file for whoever holds it (the app's validator):
// EN 319 102-1 with the CSP's roots, records and trusted list, and what the file carries.
type Validator interface {
	Validate(ctx context.Context, userID string, req ValidateRequest) (ValidateResult, error)
}

// ValidateRequest is one signed file to validate and the report wanted.
type ValidateRequest struct {
	Name     string // the file name the caller gave, if any: shown in the report
	File     []byte // a signed PDF, a CMS signature (DER or PEM) or an evidence bundle
	Document []byte // a detached CMS signature's document; nil otherwise
	Report   string // json, html or pdf
	Lang     string // ar, fr or en: the language of an html or pdf report
}

// ValidateResult is the report in the asked form.
type ValidateResult struct {
	Bytes       []byte
	ContentType string
}

// reportCSP lets the HTML report's own <style> apply and nothing else: no script, no fetch.
const reportCSP = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'"

// validate answers with the validation report of the signed file in the body, or of
// the "signature" and "document" parts of a multipart/form-data body.
func (s *server) validate(w http.ResponseWriter, r *http.Request, u *access.User) error {
	if s.Validator == nil {
		return notWired("signature validation")
	}
	q := r.URL.Query()
	req := ValidateRequest{Report: strings.ToLower(q.Get("report")), Lang: strings.ToLower(q.Get("lang"))}
	switch req.Report {
	case "":
		req.Report = "json"
	case "json", "html", "pdf":
	default:
		return errkind.New(errkind.Invalid, law.L417_2, "report must be json, html or pdf")
	}
	if req.Lang == "" {
		req.Lang = "en"
	}
	mt, params, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	var err error
	if mt == "multipart/form-data" {
		err = readValidateParts(r, params["boundary"], &req)
	} else if req.File, err = io.ReadAll(r.Body); err != nil {
		err = jsonError(err) // over the limit: 413
	}
	if err != nil {
		return err
	}
	if len(req.File) == 0 {
		return errkind.New(errkind.Invalid, law.L417_2, "no signed file: send it as the body, or as the part named signature")
	}
	if req.Document != nil && len(req.Document) == 0 {
		return errkind.New(errkind.Invalid, law.L417_2, "the document part is empty: send the signed document, or no document part for an enveloping signature")
	}
	res, err := s.Validator.Validate(r.Context(), u.ID, req)
	if err != nil {
		return err
	}
	if req.Report == "html" {
		w.Header().Set("Content-Security-Policy", reportCSP)
	}
	return writeDocument(w, res.ContentType, res.Bytes)
}

// readValidateParts reads a detached signature and its document, in memory only:
// the body is already bounded, and no temporary file is left behind.
func readValidateParts(r *http.Request, boundary string, req *ValidateRequest) error {
	if boundary == "" {
		return errkind.New(errkind.Invalid, law.L417_2, "a multipart/form-data body without a boundary")
	}
	mr, err := r.MultipartReader()
	if err != nil {
		return errkind.Wrap(errkind.Invalid, err, "the multipart body does not parse")
	}
	seen := map[string]bool{}
	for {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return partError(err)
		}
		name := p.FormName()
		if name != "signature" && name != "document" {
			return errkind.New(errkind.Invalid, law.L417_2, "unknown part %q: send signature and, for a detached signature, document", name)
		}
		if seen[name] {
			return errkind.New(errkind.Invalid, law.L417_2, "the part %q is sent twice", name)
		}
		seen[name] = true
		b, err := io.ReadAll(p)
		if err != nil {
			return partError(err)
		}
		if name == "signature" {
			req.File, req.Name = b, p.FileName()
		} else {
			req.Document = b
		}
	}
}

// partError says a body over the limit is too large, and anything else does not parse.
func partError(err error) error {
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return jsonError(err)
	}
	return errkind.Wrap(errkind.Invalid, err, "the multipart body does not parse")
}
