package errkind

import (
	"errors"
	"fmt"
	"io/fs"
	"testing"

	"github.com/tawthiq/tawthiq/internal/law"
)

func TestKindString(t *testing.T) {
	tests := []struct {
		k    Kind
		want string
	}{
		{Internal, "internal"},
		{Invalid, "invalid"},
		{NotFound, "not-found"},
		{Conflict, "conflict"},
		{Unauthorized, "unauthorized"},
		{Forbidden, "forbidden"},
		{Unavailable, "unavailable"},
		{TooLarge, "too-large"},
		{TooLarge + 1, "internal"}, // out of range: never an empty or made-up name
		{Kind(1 << 20), "internal"},
		{Kind(-1), "internal"},
	}
	seen := map[string]Kind{}
	for _, tc := range tests {
		t.Run(fmt.Sprint(int(tc.k)), func(t *testing.T) {
			if got := tc.k.String(); got != tc.want {
				t.Fatalf("Kind(%d).String() = %q, want %q", int(tc.k), got, tc.want)
			}
		})
		if tc.k >= Internal && tc.k <= TooLarge {
			if prev, dup := seen[tc.want]; dup {
				t.Errorf("kinds %d and %d share the name %q", prev, tc.k, tc.want)
			}
			seen[tc.want] = tc.k
		}
	}
	if len(seen) != len(kindNames) {
		t.Errorf("tested %d kinds, %d are named", len(seen), len(kindNames))
	}
}

func TestErrorString(t *testing.T) {
	cause := errors.New("disk full")
	tests := []struct {
		name string
		err  *Error
		want string
	}{
		{"kind only", &Error{Kind: NotFound}, "not-found"},
		{"kind and rule", &Error{Kind: Invalid, Rule: law.L21_3_1}, "invalid (L-21-3-1)"},
		{"kind and detail", &Error{Kind: Conflict, Detail: "serial used"}, "conflict: serial used"},
		{"kind and cause", &Error{Kind: Internal, Err: cause}, "internal: disk full"},
		{"everything", &Error{Kind: Forbidden, Rule: law.L24, Detail: "no ground", Err: cause}, "forbidden (L-24): no ground: disk full"},
		{"New formats the detail", New(Invalid, law.L21_1, "RSA key of %d bits", 1024), "invalid (L-21-1): RSA key of 1024 bits"},
		{"Wrap has no rule", Wrap(Unavailable, cause, "store %s", "x"), "unavailable: store x: disk full"},
		{"unknown kind shows internal", &Error{Kind: Kind(42), Detail: "d"}, "internal: d"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.err.Error(); got != tc.want {
				t.Fatalf("Error() = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestAs(t *testing.T) {
	inner := New(Forbidden, law.L24, "no ground")
	plain := errors.New("boom")
	tests := []struct {
		name     string
		err      error
		wantKind Kind
		wantRule law.ID
		wantSame *Error // the *Error As must return, if any
		wantErr  error  // the cause As must keep
	}{
		{"direct", inner, Forbidden, law.L24, inner, nil},
		{"wrapped once", fmt.Errorf("ctx: %w", inner), Forbidden, law.L24, inner, nil},
		{"wrapped twice", fmt.Errorf("a: %w", fmt.Errorf("b: %w", inner)), Forbidden, law.L24, inner, nil},
		{"joined", errors.Join(plain, inner), Forbidden, law.L24, inner, nil},
		{"plain error is internal", plain, Internal, "", nil, plain},
		{"wrapped plain error is internal", fmt.Errorf("x: %w", fs.ErrNotExist), Internal, "", nil, fs.ErrNotExist},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := As(tc.err)
			if got == nil {
				t.Fatal("As returned nil")
			}
			if got.Kind != tc.wantKind || got.Rule != tc.wantRule {
				t.Fatalf("As = kind %s rule %q, want %s %q", got.Kind, got.Rule, tc.wantKind, tc.wantRule)
			}
			if tc.wantSame != nil && got != tc.wantSame {
				t.Fatalf("As returned %p, want the *Error in the chain %p", got, tc.wantSame)
			}
			if tc.wantErr != nil {
				if got.Detail != "" {
					t.Errorf("As of a plain error shows detail %q; nothing may leak", got.Detail)
				}
				if !errors.Is(got, tc.wantErr) {
					t.Errorf("As dropped the cause %v", tc.wantErr)
				}
			}
		})
	}
}

func TestIs(t *testing.T) {
	e := New(Unauthorized, "", "no token")
	tests := []struct {
		name string
		err  error
		k    Kind
		want bool
	}{
		{"same kind", e, Unauthorized, true},
		{"other kind", e, Forbidden, false},
		{"wrapped", fmt.Errorf("auth: %w", e), Unauthorized, true},
		{"plain error is not Internal by Is", errors.New("x"), Internal, false},
		{"nil", nil, Internal, false},
		{"outermost *Error decides", Wrap(Conflict, e, "outer"), Conflict, true},
		{"inner kind hidden by outer", Wrap(Conflict, e, "outer"), Unauthorized, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Is(tc.err, tc.k); got != tc.want {
				t.Fatalf("Is(%v, %s) = %v, want %v", tc.err, tc.k, got, tc.want)
			}
		})
	}
}

func TestUnwrap(t *testing.T) {
	root := fs.ErrPermission
	mid := fmt.Errorf("open key: %w", root)
	e := Wrap(Unavailable, mid, "HSM")
	outer := fmt.Errorf("sign: %w", e)

	tests := []struct {
		name   string
		err    error
		target error
		want   bool
	}{
		{"cause", e, mid, true},
		{"cause's cause", e, root, true},
		{"through an outer wrap", outer, root, true},
		{"unrelated", e, fs.ErrNotExist, false},
		{"no cause", New(Invalid, "", "x"), root, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := errors.Is(tc.err, tc.target); got != tc.want {
				t.Fatalf("errors.Is(%v, %v) = %v, want %v", tc.err, tc.target, got, tc.want)
			}
		})
	}
	if e.Unwrap() != mid {
		t.Errorf("Unwrap = %v, want %v", e.Unwrap(), mid)
	}
	if New(Invalid, "", "x").Unwrap() != nil {
		t.Error("Unwrap of an error without cause is not nil")
	}
}

// TestErrorTextOnce: a detail that already names its cause (for the API, which shows
// only the detail) is not followed by the cause again on the CLI; any other detail is.
func TestErrorTextOnce(t *testing.T) {
	cause := errors.New("pdf: the document has no page")
	for _, tc := range []struct {
		err  *Error
		want string
	}{
		{Wrap(Invalid, cause, "the PDF cannot take a signature field: %v", cause), "invalid: the PDF cannot take a signature field: pdf: the document has no page"},
		{Wrap(Invalid, cause, "the PDF cannot take a signature field"), "invalid: the PDF cannot take a signature field: pdf: the document has no page"},
		// A detail that merely ends with the same words is not its cause.
		{Wrap(Invalid, errors.New("EOF"), "the body ends: unexpected EOF"), "invalid: the body ends: unexpected EOF: EOF"},
	} {
		if got := tc.err.Error(); got != tc.want {
			t.Errorf("Error() = %q, want %q", got, tc.want)
		}
	}
}
