package revocation

import (
	"strings"
	"testing"

	"github.com/tawthiq/tawthiq/internal/ra"
)

// The RA stores the hash of the secret it hands out; RevokeWithSecret's check must
// accept that secret as a holder may type it, and no other (L-21-1).
func TestSecretFromRAMatches_L21_1(t *testing.T) {
	secret, stored, err := ra.NewRevocationSecret()
	if err != nil {
		t.Fatal(err)
	}
	other, _, err := ra.NewRevocationSecret()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, typed string
		want        bool
	}{
		{"as handed out", secret, true},
		{"lower case", strings.ToLower(secret), true},
		{"grouped with dashes", secret[:5] + "-" + secret[5:10] + "-" + secret[10:], true},
		{"spaces around and inside", "  " + secret[:4] + " " + secret[4:] + "\n", true},
		{"another secret", other, false},
		{"one character short", secret[1:], false},
		{"empty", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := secretMatches(tc.typed, stored); got != tc.want {
				t.Fatalf("secretMatches(%q) = %v, want %v", tc.typed, got, tc.want)
			}
		})
	}
}
