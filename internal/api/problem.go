package api

import (
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/tawthiq/tawthiq/client"
	"github.com/tawthiq/tawthiq/internal/errkind"
	"github.com/tawthiq/tawthiq/internal/law"
)

// ProblemTypeBase prefixes a problem's type; the kind's name ends it.
const ProblemTypeBase = "https://tawthiq.ma/problems/"

// problemContentType is the media type of RFC 9457 problem details.
const problemContentType = "application/problem+json"

// problemFor maps each kind to its status and title; Invalid is always 400.
func problemFor(k errkind.Kind) (int, string) {
	switch k {
	case errkind.Invalid:
		return http.StatusBadRequest, "The request is invalid"
	case errkind.NotFound:
		return http.StatusNotFound, "Not found"
	case errkind.Conflict:
		return http.StatusConflict, "The request conflicts with the recorded state"
	case errkind.Unauthorized:
		return http.StatusUnauthorized, "Authentication required"
	case errkind.Forbidden:
		return http.StatusForbidden, "Forbidden"
	case errkind.Unavailable:
		return http.StatusServiceUnavailable, "Service unavailable"
	case errkind.TooLarge:
		return http.StatusRequestEntityTooLarge, "The request is too large"
	}
	return http.StatusInternalServerError, "Internal error"
}

// problem builds the RFC 9457 body of err; an internal error shows nothing of its cause.
func problem(err error, instance string) client.Problem {
	var tooMany *tooManyRequests
	if errors.As(err, &tooMany) {
		return client.Problem{Type: ProblemTypeBase + "rate-limited", Title: "Too many requests", Status: http.StatusTooManyRequests,
			Instance: instance, Detail: "too many requests from this address; retry after " + tooMany.retryAfterSeconds() + " s"}
	}
	e := errkind.As(err)
	status, title := problemFor(e.Kind)
	p := client.Problem{Type: ProblemTypeBase + e.Kind.String(), Title: title, Status: status, Instance: instance}
	if e.Kind == errkind.Internal || status == http.StatusInternalServerError {
		p.Type = ProblemTypeBase + errkind.Internal.String()
		p.Detail = "an internal error occurred; it was logged under this request's X-Request-Id"
		return p
	}
	p.Detail = e.Detail
	if e.Rule != law.LInternal {
		p.Rule = string(e.Rule)
		p.RuleText = law.Describe(e.Rule).Duty
	}
	return p
}

// writeProblem is the one place an error becomes an HTTP answer (STYLE #4).
func (s *server) writeProblem(w http.ResponseWriter, r *http.Request, err error) {
	ri := info(r)
	p := problem(err, r.URL.Path)
	if p.Status >= 500 {
		// The cause stays in the server's log, with the request ID the client sees.
		s.Logger.LogAttrs(r.Context(), slog.LevelError, "request failed", slog.String("id", ri.id),
			slog.String("route", routeName(r)), slog.Int("status", p.Status), slog.String("error", err.Error()))
	}
	var tooMany *tooManyRequests
	if errors.As(err, &tooMany) {
		w.Header().Set("Retry-After", tooMany.retryAfterSeconds())
	}
	if p.Status == http.StatusUnauthorized {
		chal := `Bearer realm="tawthiq"`
		if r.Header.Get("Authorization") != "" {
			chal += `, error="invalid_token"`
		}
		w.Header().Set("WWW-Authenticate", chal)
	}
	w.Header().Set("Content-Type", problemContentType)
	w.WriteHeader(p.Status)
	_ = json.NewEncoder(w).Encode(p)
}

// writeJSON writes a successful JSON answer.
func writeJSON(w http.ResponseWriter, status int, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return errkind.Wrap(errkind.Internal, err, "encoding the answer")
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
	return nil
}

// decodeJSON reads one JSON object into v, strictly: the media type must be JSON,
// the body within the limit, every field known and nothing after the object.
func decodeJSON(r *http.Request, v any) error {
	if err := checkJSON(r); err != nil {
		return err
	}
	return decodeStrict(r.Body, v)
}

func checkJSON(r *http.Request) error {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/json" {
		return errkind.New(errkind.Invalid, "", "the request body must be application/json")
	}
	return nil
}

// decodeStrict decodes exactly one JSON value with no unknown field.
func decodeStrict(body io.Reader, v any) error {
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		if err != nil {
			return jsonError(err)
		}
		return errkind.New(errkind.Invalid, "", "the request body must hold a single JSON object")
	}
	return nil
}

// jsonError names what was wrong with a body, without echoing its content.
func jsonError(err error) error {
	var (
		tooBig  *http.MaxBytesError
		syntax  *json.SyntaxError
		typeErr *json.UnmarshalTypeError
	)
	switch {
	case errors.As(err, &tooBig):
		return errkind.New(errkind.TooLarge, "", "the request body is over %d bytes", tooBig.Limit)
	case errors.Is(err, io.EOF):
		return errkind.New(errkind.Invalid, "", "the request body is empty")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return errkind.New(errkind.Invalid, "", "the request body ends inside a JSON value")
	case errors.As(err, &syntax):
		return errkind.New(errkind.Invalid, "", "the request body is not valid JSON (at byte %d)", syntax.Offset)
	case errors.As(err, &typeErr):
		return errkind.New(errkind.Invalid, "", "field %q must be %s", fieldName(typeErr.Field), jsonKind(typeErr.Type.Kind().String()))
	}
	if f, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		return errkind.New(errkind.Invalid, "", "unknown field %s", f)
	}
	var timeErr *time.ParseError
	if errors.As(err, &timeErr) {
		return errkind.New(errkind.Invalid, "", "a date and time is not in RFC 3339 form (2006-01-02T15:04:05Z)")
	}
	return errkind.New(errkind.Invalid, "", "the request body cannot be decoded")
}

func fieldName(f string) string {
	if f == "" {
		return "(body)"
	}
	return f
}

func jsonKind(k string) string {
	switch k {
	case "string":
		return "a string"
	case "bool":
		return "true or false"
	case "struct", "map":
		return "an object"
	case "slice", "array":
		return "an array"
	}
	if strings.HasPrefix(k, "int") || strings.HasPrefix(k, "uint") || strings.HasPrefix(k, "float") {
		return "a number"
	}
	return "of another type"
}
