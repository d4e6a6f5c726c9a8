package law

import (
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"math/big"
	"strings"
	"sync"
	"testing"
	"time"
)

// rsaKeys are generated once: RSA generation dominates this package's test time.
var rsaKeys = sync.OnceValues(func() (*rsa.PrivateKey, *rsa.PrivateKey) {
	k1024, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		panic(err)
	}
	k2048, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k1024, k2048
})

// withExponent returns a copy of pub with exponent e.
func withExponent(pub *rsa.PublicKey, e int) *rsa.PublicKey {
	return &rsa.PublicKey{N: new(big.Int).Set(pub.N), E: e}
}

// withModulus returns a copy of pub with modulus n.
func withModulus(pub *rsa.PublicKey, n *big.Int) *rsa.PublicKey {
	return &rsa.PublicKey{N: n, E: pub.E}
}

func TestCheckPublicKey_L21_1(t *testing.T) {
	k1024, k2048 := rsaKeys()
	ecKey := func(c elliptic.Curve) *ecdsa.PublicKey {
		k, err := ecdsa.GenerateKey(c, rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return &k.PublicKey
	}
	edPub, edPriv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	x25519, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	prime2048, err := rand.Prime(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	pub := &k2048.PublicKey

	tests := []struct {
		name    string
		key     any
		wantErr string // substring of the refusal; "" means accepted
	}{
		{"RSA 1024 refused", &k1024.PublicKey, "1024 bits is below the 2048-bit minimum"},
		{"RSA 2048 accepted", pub, ""},
		{"RSA exponent 3 refused", withExponent(pub, 3), "exponent 3 is not accepted"},
		{"RSA even exponent refused", withExponent(pub, 65538), "exponent 65538 is not accepted"},
		{"RSA exponent 65537 accepted", withExponent(pub, 65537), ""},
		{"RSA even modulus refused", withModulus(pub, new(big.Int).Lsh(pub.N, 1)), "not a product of two primes"},
		{"RSA prime modulus refused", withModulus(pub, prime2048), "not a product of two primes"},
		{"RSA modulus with a small factor refused", withModulus(pub, new(big.Int).Mul(pub.N, big.NewInt(997))), "small factor"},
		{"P-224 refused", ecKey(elliptic.P224()), "curve P-224 is below 256 bits"},
		{"P-256 accepted", ecKey(elliptic.P256()), ""},
		{"P-384 accepted", ecKey(elliptic.P384()), ""},
		{"P-521 accepted", ecKey(elliptic.P521()), ""},
		{"Ed25519 accepted", edPub, ""},
		{"Ed25519 private key refused", edPriv, "ed25519.PrivateKey is not accepted"},
		{"RSA private key refused", k2048, "*rsa.PrivateKey is not accepted"},
		{"X25519 refused", x25519.PublicKey(), "*ecdh.PublicKey is not accepted"},
		{"nil refused", nil, "<nil> is not accepted"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckPublicKey(tc.key)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("CheckPublicKey = %v, want accepted", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("CheckPublicKey accepted the key, want refusal %q", tc.wantErr)
			}
			if !strings.HasPrefix(err.Error(), string(L21_1)+": ") {
				t.Errorf("error %q does not cite %s", err, L21_1)
			}
			if !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("error %q does not say %q", err, tc.wantErr)
			}
		})
	}
}

func TestETSIIdentifier_L21_3_1(t *testing.T) {
	tests := []struct {
		name    string
		typ     IDDocumentType
		country string
		number  string
		want    string
		wantErr string
	}{
		{"national ID card", IDCard, "MA", "AB123456", "IDCMA-AB123456", ""},
		{"residence card", ResidenceCard, "MA", "R998877", "IDCMA-R998877", ""},
		{"passport", Passport, "FR", "12AB34567", "PASFR-12AB34567", ""},
		{"trade register", TradeRegister, "MA", "123456", "NTRMA-123456", ""},
		{"ICE", EnterpriseICE, "MA", "001525963000088", "NTRMA-001525963000088", ""},
		{"unknown type", IDDocumentType("driving-licence"), "MA", "X1", "", `unknown identity document type "driving-licence"`},
		{"empty type", "", "MA", "X1", "", "unknown identity document type"},
		{"three-letter country", IDCard, "MAR", "AB1", "", `country "MAR"`},
		{"empty country", IDCard, "", "AB1", "", `country ""`},
		{"one-letter country", IDCard, "M", "AB1", "", `country "M"`},
		{"lower-case country", IDCard, "ma", "AB1", "", `country "ma"`},
		{"digits for country", IDCard, "12", "AB1", "", `country "12"`},
		{"non-ASCII country", IDCard, "É", "AB1", "", `country "É"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ETSIIdentifier(tc.typ, tc.country, tc.number)
			if tc.wantErr != "" {
				if err == nil {
					t.Fatalf("ETSIIdentifier = %q, want error %q", got, tc.wantErr)
				}
				if !strings.HasPrefix(err.Error(), string(L21_3_1)+": ") || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %q, want %s and %q", err, L21_3_1, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ETSIIdentifier: %v", err)
			}
			if got != tc.want {
				t.Fatalf("ETSIIdentifier = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestIDDocumentType_L21_3_1(t *testing.T) {
	tests := []struct {
		typ    IDDocumentType
		valid  bool
		prefix string
		legal  bool
	}{
		{IDCard, true, "IDC", false},
		{Passport, true, "PAS", false},
		{ResidenceCard, true, "IDC", false},
		{TradeRegister, true, "NTR", true},
		{EnterpriseICE, true, "NTR", true},
		{"driving-licence", false, "", false},
		{"", false, "", false},
		{"Passport", false, "", false}, // case matters: the wire value is exact
	}
	for _, tc := range tests {
		t.Run(string(tc.typ), func(t *testing.T) {
			if got := ValidIDDocument(tc.typ); got != tc.valid {
				t.Errorf("ValidIDDocument = %v, want %v", got, tc.valid)
			}
			p, ok := tc.typ.SerialNumberPrefix()
			if ok != tc.valid || p != tc.prefix {
				t.Errorf("SerialNumberPrefix = %q, %v; want %q, %v", p, ok, tc.prefix, tc.valid)
			}
			if got := tc.typ.ForLegalPerson(); got != tc.legal {
				t.Errorf("ForLegalPerson = %v, want %v", got, tc.legal)
			}
		})
	}
	// Every listed document must have a prefix, or ETSIIdentifier would refuse it.
	for _, d := range IDDocumentTypes() {
		if _, ok := d.SerialNumberPrefix(); !ok {
			t.Errorf("accepted document %q has no EN 319 412-1 prefix", d)
		}
	}
}

func TestValidVettingMethod_L21_3_1(t *testing.T) {
	tests := []struct {
		m    VettingMethod
		want bool
	}{
		{FaceToFace, true},
		{RemoteNationalEID, true},
		{QualifiedCert, true},
		{EquivalentAssured, true},
		{"video-call", false},
		{"", false},
		{"FACE-TO-FACE", false},
	}
	for _, tc := range tests {
		t.Run(string(tc.m), func(t *testing.T) {
			if got := ValidVettingMethod(tc.m); got != tc.want {
				t.Fatalf("ValidVettingMethod(%q) = %v, want %v", tc.m, got, tc.want)
			}
		})
	}
	if n := len(VettingMethods()); n != 4 {
		t.Errorf("VettingMethods lists %d methods, want the 4 of 43-20 art. 33", n)
	}
}

func TestRetentionEnd_L21_2(t *testing.T) {
	casa := time.FixedZone("Africa/Casablanca+1", 3600)
	tests := []struct {
		name    string
		created time.Time
		want    time.Time
	}{
		{"plain date", time.Date(2024, 3, 15, 10, 30, 0, 0, time.UTC), time.Date(2031, 3, 15, 10, 30, 0, 0, time.UTC)},
		// 2031 has no 29 February: AddDate normalises to 1 March, so the record is kept slightly longer, never shorter.
		{"leap day", time.Date(2024, 2, 29, 12, 0, 0, 0, time.UTC), time.Date(2031, 3, 1, 12, 0, 0, 0, time.UTC)},
		{"leap day to leap year", time.Date(2021, 2, 28, 0, 0, 0, 0, time.UTC), time.Date(2028, 2, 28, 0, 0, 0, 0, time.UTC)},
		{"end of year", time.Date(2025, 12, 31, 23, 59, 59, 999_000_000, time.UTC), time.Date(2032, 12, 31, 23, 59, 59, 999_000_000, time.UTC)},
		{"keeps the zone's wall clock", time.Date(2025, 6, 1, 0, 30, 0, 0, casa), time.Date(2032, 6, 1, 0, 30, 0, 0, casa)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := RetentionEnd(tc.created)
			if !got.Equal(tc.want) {
				t.Fatalf("RetentionEnd(%s) = %s, want %s", tc.created, got, tc.want)
			}
			if floor := tc.created.AddDate(0, 0, 365*RetentionYears); got.Before(floor) {
				t.Fatalf("RetentionEnd(%s) = %s is under %d years", tc.created, got, RetentionYears)
			}
		})
	}
	if RetentionYears < 7 {
		t.Fatalf("RetentionYears = %d, the law asks at least 7", RetentionYears)
	}
}

func TestTimestamp_L21_1(t *testing.T) {
	casa := time.FixedZone("UTC+1", 3600)
	tests := []struct {
		name string
		in   time.Time
		want time.Time
	}{
		{"truncates to the millisecond", time.Date(2025, 1, 2, 3, 4, 5, 123_456_789, time.UTC), time.Date(2025, 1, 2, 3, 4, 5, 123_000_000, time.UTC)},
		{"never rounds up", time.Date(2025, 1, 2, 3, 4, 5, 999_999_999, time.UTC), time.Date(2025, 1, 2, 3, 4, 5, 999_000_000, time.UTC)},
		{"converts to UTC", time.Date(2025, 1, 1, 0, 30, 0, 1_500_000, casa), time.Date(2024, 12, 31, 23, 30, 0, 1_000_000, time.UTC)},
		{"exact millisecond unchanged", time.Date(2025, 7, 1, 0, 0, 0, 5_000_000, time.UTC), time.Date(2025, 7, 1, 0, 0, 0, 5_000_000, time.UTC)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Timestamp(tc.in)
			if got != tc.want { // == also compares the location: it must be UTC
				t.Fatalf("Timestamp(%s) = %s (%s), want %s", tc.in, got, got.Location(), tc.want)
			}
			if got.Location() != time.UTC {
				t.Fatalf("Timestamp location = %s, want UTC", got.Location())
			}
		})
	}
	// A monotonic reading must not survive: stored and reread times compare equal.
	now := Timestamp(time.Now())
	if now != now.Round(0) {
		t.Fatal("Timestamp kept the monotonic clock reading")
	}
}

// usedIDs are the rule constants the package declares; a new one must be added here and to rules.
var usedIDs = []ID{L6, L9, L11, L13, L15, L20, L21_1, L21_2, L21_3_1, L21_3_2, L21_3_3, L21_3_4,
	L21_3_5, L21_3_6, L21_3_7, L21Rev, L22, L23, L24, L25, L2_1, L65_3, L65_4, L65_5,
	L417_1, L417_2, L417_3, L425, L443, L65_6, L65_7, L440}

func TestDescribe(t *testing.T) {
	for _, id := range usedIDs {
		t.Run(string(id), func(t *testing.T) {
			r := Describe(id)
			if r.ID != id || r.Article == "" || r.Duty == "" {
				t.Fatalf("Describe(%s) = %+v, want its article and duty", id, r)
			}
			if !strings.HasPrefix(string(id), "L-") {
				t.Fatalf("rule ID %q does not start with L-", id)
			}
		})
	}
	t.Run("unknown", func(t *testing.T) {
		if r := Describe("L-999"); r.ID != "L-999" || r.Duty != "" || r.Article != "" {
			t.Fatalf("Describe(L-999) = %+v, want an empty rule", r)
		}
	})
	t.Run("internal has no rule", func(t *testing.T) {
		if r := Describe(LInternal); r.Duty != "" {
			t.Fatalf("Describe(LInternal) = %+v", r)
		}
	})
}

func TestAll(t *testing.T) {
	all := All()
	if len(all) != len(usedIDs) {
		t.Fatalf("All() has %d rules, %d IDs are declared", len(all), len(usedIDs))
	}
	seen := map[ID]bool{}
	for _, r := range all {
		t.Run(string(r.ID), func(t *testing.T) {
			if r.ID == "" || r.Article == "" || r.Duty == "" {
				t.Fatalf("rule %+v lacks an ID, article or duty", r)
			}
			if seen[r.ID] {
				t.Fatalf("rule %s listed twice", r.ID)
			}
			seen[r.ID] = true
			if Describe(r.ID) != r {
				t.Fatalf("Describe(%s) = %+v, All gives %+v", r.ID, Describe(r.ID), r)
			}
		})
	}
}

func TestCertificateContents_L11(t *testing.T) {
	cs := CertificateContents()
	seen := map[Content]bool{}
	for _, c := range cs {
		if c == "" || seen[c] {
			t.Errorf("content %q empty or listed twice", c)
		}
		seen[c] = true
	}
	// 53-05 art. 11 (a)-(i) come first, in the law's order.
	for i, letter := range "abcdefghi" {
		if !strings.HasPrefix(string(cs[i]), string(letter)+": ") {
			t.Errorf("content %d = %q, want item (%c)", i, cs[i], letter)
		}
	}
}
