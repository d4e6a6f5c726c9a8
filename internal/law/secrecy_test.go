package law

import "testing"

// TestReadGrounds_L24: the law's exceptions to professional secrecy each need the
// document that allows the read; the holder and his RA officer need none.
func TestReadGrounds_L24(t *testing.T) {
	tests := []struct {
		g             ReadGround
		ref, external bool
	}{
		{ReadHolderSelf, false, false},
		{ReadRAOfficerFile, false, false},
		{ReadAuthorityAgent, true, true},
		{ReadAdministrativeAuthority, true, true},
		{ReadHolderConsent, true, true},
		{ReadProsecutorOrder, true, true},
	}
	for _, tc := range tests {
		t.Run(string(tc.g), func(t *testing.T) {
			r, ok := LookupReadGround(tc.g)
			if !ok || r.NeedsReference != tc.ref || r.External != tc.external || r.Description == "" {
				t.Fatalf("LookupReadGround(%s) = %+v, %v", tc.g, r, ok)
			}
		})
	}
	if _, ok := LookupReadGround("curiosity"); ok {
		t.Fatal("a ground the law does not give was found")
	}
	seen := map[ReadGround]bool{}
	for _, r := range ReadGrounds() {
		if seen[r.Ground] {
			t.Fatalf("ground %s listed twice", r.Ground)
		}
		seen[r.Ground] = true
	}
}
