// Package errkind is tawthiq's one error type: a Kind that front ends map to a
// status, a Rule from the law that refused the request, and a Detail safe to show.
package errkind

import (
	"errors"
	"fmt"
	"strings"

	"github.com/tawthiq/tawthiq/internal/law"
)

// Kind classifies an error for the caller.
type Kind int

// Kinds of error.
const (
	Internal     Kind = iota // a fault of ours; no detail is shown
	Invalid                  // the request is malformed or breaks a rule
	NotFound                 // no such thing (or not visible to the caller)
	Conflict                 // the request clashes with the recorded state
	Unauthorized             // no valid credential
	Forbidden                // the credential's role may not do this
	Unavailable              // a dependency (clock, HSM, database) cannot serve now
	TooLarge                 // the request body is over its limit
)

var kindNames = [...]string{"internal", "invalid", "not-found", "conflict", "unauthorized", "forbidden", "unavailable", "too-large"}

func (k Kind) String() string {
	if k >= 0 && int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "internal"
}

// Error is an error with a kind, the rule it enforces and a detail safe to show.
type Error struct {
	Kind   Kind
	Rule   law.ID // the rule that refused the request, if any
	Detail string // plain words, safe to show to the caller
	Err    error  // the cause, never shown
}

func (e *Error) Error() string {
	s := e.Kind.String()
	if e.Rule != "" {
		s += " (" + string(e.Rule) + ")"
	}
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	// A detail that already ends with its cause (shown on the API that way) does not repeat it.
	if e.Err != nil {
		if cause := e.Err.Error(); e.Detail != cause && !strings.HasSuffix(e.Detail, ": "+cause) {
			s += ": " + cause
		}
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

// New returns an error of kind k under rule r with a formatted detail.
func New(k Kind, r law.ID, format string, args ...any) *Error {
	return &Error{Kind: k, Rule: r, Detail: fmt.Sprintf(format, args...)}
}

// Wrap returns an error of kind k whose cause is err; the cause is never shown.
func Wrap(k Kind, err error, format string, args ...any) *Error {
	return &Error{Kind: k, Detail: fmt.Sprintf(format, args...), Err: err}
}

// As returns the *Error in err's chain, or an Internal one wrapping err.
func As(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return &Error{Kind: Internal, Err: err}
}

// Is reports whether err carries kind k.
func Is(err error, k Kind) bool {
	var e *Error
	return errors.As(err, &e) && e.Kind == k
}
