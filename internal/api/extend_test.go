package api

import (
	"bytes"
	"context"
	"net/http"
	"testing"

	"github.com/tawthiq/tawthiq/internal/access"
	"github.com/tawthiq/tawthiq/internal/errkind"
	"github.com/tawthiq/tawthiq/internal/law"
	"github.com/tawthiq/tawthiq/internal/signature"
)

// fakeExtender records what it was asked and appends a marker, or fails as told.
type fakeExtender struct {
	user string
	got  ExtendRequest
	err  error
}

func (f *fakeExtender) Extend(_ context.Context, userID string, req ExtendRequest) (ExtendResult, error) {
	f.user, f.got = userID, req
	if f.err != nil {
		return ExtendResult{}, f.err
	}
	return ExtendResult{Bytes: append(bytes.Clone(req.File), "+ext"...), ContentType: "application/x-" + req.Format}, nil
}

// TestExtendRoute: the query and the body's first bytes choose level and format,
// the body is a document (its own limit, above the JSON one), any user may call,
// and the extender's refusals reach the client as problems naming their rule.
func TestExtendRoute(t *testing.T) {
	pdf := []byte("%PDF-1.7 signed")
	cms := []byte{0x30, 0x82, 0x01, 0x00}
	tests := []struct {
		name, query, token string
		body               []byte
		status             int
		format             string
		level              signature.Level
		rule               string
	}{
		{"pdf, default level", "", tokenFor(access.RoleHolder), pdf, 200, "pades", signature.BLTA, ""},
		{"cms, default level", "", tokenFor(access.RoleAuditor), cms, 200, "cades", signature.BLTA, ""},
		{"B-T", "?level=b-t", tokenFor(access.RoleRAOfficer), pdf, 200, "pades", signature.BT, ""},
		{"B-LT, format forced", "?level=B-LT&format=cades", tokenFor(access.RoleAdmin), pdf, 200, "cades", signature.BLT, ""},
		{"B-B is no extension", "?level=B-B", tokenFor(access.RoleHolder), pdf, 400, "", 0, "L-417-3"},
		{"unknown format", "?format=xades", tokenFor(access.RoleHolder), pdf, 400, "", 0, "L-417-2"},
		{"no token", "", "", pdf, 401, "", 0, "L-21-2"},
		{"over the JSON limit, within the document one", "", tokenFor(access.RoleHolder), bytes.Repeat([]byte("x"), 600), 200, "cades", signature.BLTA, ""},
		{"over the document limit", "", tokenFor(access.RoleHolder), bytes.Repeat([]byte("x"), 2000), 413, "", 0, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeExtender{}
			h, _ := testHandler(t, Deps{Extender: f, MaxBodyBytes: 512, MaxDocumentBytes: 1024})
			w := do(h, "POST", "/api/v1/extend"+tc.query, tc.token, "application/octet-stream", bytes.NewReader(tc.body))
			if w.Code != tc.status {
				t.Fatalf("status %d, want %d: %s", w.Code, tc.status, w.Body)
			}
			if tc.status != 200 {
				if p := readProblem(t, w); p.Rule != tc.rule {
					t.Errorf("rule %q, want %q", p.Rule, tc.rule)
				}
				if f.got.File != nil {
					t.Error("the extender was called on a refused request")
				}
				return
			}
			if f.got.Format != tc.format || f.got.Level != tc.level || !bytes.Equal(f.got.File, tc.body) || f.user != testUsers[tc.token].ID {
				t.Errorf("extender got %s %v %q for %s", f.got.Format, f.got.Level, f.got.File, f.user)
			}
			if ct := w.Header().Get("Content-Type"); ct != "application/x-"+tc.format || !bytes.Equal(w.Body.Bytes(), append(bytes.Clone(tc.body), "+ext"...)) {
				t.Errorf("answer %q %q", ct, w.Body)
			}
		})
	}

	f := &fakeExtender{err: errkind.New(errkind.Invalid, law.L9, "the signature is already B-LTA")}
	h, _ := testHandler(t, Deps{Extender: f})
	w := do(h, "POST", "/api/v1/extend?level=B-T", tokenFor(access.RoleHolder), "application/pdf", bytes.NewReader(pdf))
	if p := readProblem(t, w); w.Code != http.StatusBadRequest || p.Rule != "L-9" {
		t.Errorf("a refusal: %d %+v, want 400 under L-9", w.Code, p)
	}
	h, _ = testHandler(t, Deps{})
	if w := do(h, "POST", "/api/v1/extend", tokenFor(access.RoleHolder), "application/pdf", bytes.NewReader(pdf)); w.Code != http.StatusServiceUnavailable {
		t.Errorf("without an extender: %d, want 503", w.Code)
	}
}
