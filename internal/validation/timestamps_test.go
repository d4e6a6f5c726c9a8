package validation_test

import (
	"crypto/sha256"
	"crypto/x509"
	"strings"
	"testing"
	"time"

	"github.com/tawthiq/tawthiq/internal/validation"
)

// TestValidateTimeStamp: a token counts only over its data, from a TSA that
// chains to Roots at genTime and, as nothing later proves the token existed
// (EN 319 102-1 §5.6.3), is still valid and not revoked at the validation
// time; otherwise Ignored says why.
func TestValidateTimeStamp(t *testing.T) {
	f, other := newFixture(t), newFixture(t)
	data := []byte("a PDF's byte range, or any stamped bytes")
	stamp := func(fx *fixture) []byte {
		tok, err := fx.tsa.StampDigest(t.Context(), sha256.Sum256(data))
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	tok, foreign := stamp(f), stamp(other)
	genTime := f.now.Add(1500 * time.Millisecond)
	roots := []*x509.Certificate{f.h.Root.Cert}
	opts := validation.Options{Roots: roots, Status: status{}, Now: f.now.Add(time.Hour)}
	for _, tc := range []struct {
		name    string
		token   []byte
		data    []byte
		opts    validation.Options
		trusted bool
		ignored string
	}{
		{"good", tok, data, opts, true, ""},
		{"other data", tok, []byte("other bytes"), opts, false, "imprint"},
		{"untrusted TSA", foreign, data, opts, false, "trusted root"},
		{"TSA revoked before genTime", tok, data, validation.Options{Roots: roots, Now: opts.Now,
			Status: revokedAt(f.h.TSA.Cert, genTime.Add(-time.Minute))}, false, "revoked"},
		{"TSA revoked after genTime, before the validation time", tok, data, validation.Options{Roots: roots, Now: opts.Now,
			Status: revokedAt(f.h.TSA.Cert, genTime.Add(time.Minute))}, false, "revoked at"},
		{"TSA revoked after the validation time", tok, data, validation.Options{Roots: roots, Now: opts.Now,
			Status: revokedAt(f.h.TSA.Cert, opts.Now.Add(time.Minute))}, true, ""},
		{"TSA certificate expired at the validation time", tok, data, validation.Options{Roots: roots, Status: status{},
			Now: f.h.TSA.Cert.NotAfter.Add(time.Hour)}, false, "TSA certificate expired at"},
		{"not a token", []byte{0x30, 0x00}, data, opts, false, "malformed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := validation.ValidateTimeStamp(t.Context(), tc.token, tc.data, tc.opts)
			if got.Trusted != tc.trusted || !strings.Contains(got.Ignored, tc.ignored) || (tc.trusted && got.Ignored != "") {
				t.Fatalf("%+v", got)
			}
			if tc.trusted && (!got.GenTime.Equal(genTime) || !got.Qualified || !strings.Contains(got.TSA, "Time-Stamping")) {
				t.Errorf("%+v", got)
			}
			// Nothing covers a lone token: a path that chains is judged at the validation time.
			judged := tc.trusted || strings.Contains(tc.ignored, "revoked") || strings.Contains(tc.ignored, "expired")
			if judged && !got.JudgedAt.Equal(tc.opts.Now) || !judged && !got.JudgedAt.IsZero() {
				t.Errorf("judged at %s (%s), want the validation time %s: %v", got.JudgedAt, got.JudgedWhy, tc.opts.Now, judged)
			}
		})
	}
}
