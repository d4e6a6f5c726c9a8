//go:build cgo

package keys

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ThalesGroup/crypto11"

	"github.com/tawthiq/tawthiq/internal/errkind"
	"github.com/tawthiq/tawthiq/internal/law"
)

const (
	softHSMModule = "/usr/lib/softhsm/libsofthsm2.so"
	testToken     = "tawthiq-test"
	testPIN       = "1234"
)

// softHSM creates a fresh SoftHSM2 token for this test and returns a URI prefix for it.
func softHSM(tb testing.TB) (uriFor func(object string) string) {
	tb.Helper()
	util, err := exec.LookPath("softhsm2-util")
	if _, serr := os.Stat(softHSMModule); err != nil || serr != nil {
		msg := "SoftHSM2 is not installed (softhsm2-util and " + softHSMModule + "): apt-get install softhsm2"
		if os.Getenv("TAWTHIQ_REQUIRE_SOFTHSM") == "1" {
			tb.Fatal(msg)
		}
		tb.Skip(msg)
	}
	dir := tb.TempDir()
	conf := filepath.Join(dir, "softhsm2.conf")
	if err := os.MkdirAll(filepath.Join(dir, "tokens"), 0o700); err != nil {
		tb.Fatal(err)
	}
	body := "directories.tokendir = " + filepath.Join(dir, "tokens") + "\nobjectstore.backend = file\nlog.level = ERROR\n"
	if err := os.WriteFile(conf, []byte(body), 0o600); err != nil {
		tb.Fatal(err)
	}
	tb.Setenv("SOFTHSM2_CONF", conf)
	out, err := exec.Command(util, "--init-token", "--free", "--label", testToken, "--pin", testPIN, "--so-pin", "5678").CombinedOutput()
	if err != nil {
		tb.Fatalf("softhsm2-util --init-token: %v\n%s", err, out)
	}
	return func(object string) string {
		return "pkcs11:token=" + testToken + ";object=" + object + "?module-path=" + softHSMModule + "&pin-source=env:TAWTHIQ_TEST_PIN"
	}
}

func TestPKCS11Key_L21_1(t *testing.T) {
	uriFor := softHSM(t)
	opts := Options{Getenv: env("TAWTHIQ_TEST_PIN", testPIN, "WRONG_PIN", "9999")}
	ctx := context.Background()
	r := NewRegistry(opts)
	algs := []Algorithm{ECDSAP256, RSA3072}
	made := map[Algorithm]crypto.Signer{}
	for _, alg := range algs {
		t.Run("generate "+string(alg), func(t *testing.T) {
			s, err := r.Generate(ctx, uriFor(string(alg)), alg)
			if err != nil {
				t.Fatal(err)
			}
			signVerify(t, s)
			made[alg] = s
			// The key must stay in the token and may only sign (L-21-1).
			want := map[crypto11.AttributeType]bool{
				crypto11.CkaSign: true, crypto11.CkaSensitive: true, crypto11.CkaAlwaysSensitive: true,
				crypto11.CkaNeverExtractable: true, crypto11.CkaPrivate: true, crypto11.CkaToken: true,
				crypto11.CkaExtractable: false, crypto11.CkaDecrypt: false, crypto11.CkaUnwrap: false, crypto11.CkaDerive: false,
			}
			c := r.hsm.ctxs[tokenID{softHSMModule, testToken}]
			types := make([]crypto11.AttributeType, 0, len(want))
			for ty := range want {
				types = append(types, ty)
			}
			got, err := c.GetAttributes(s.(*signer).impl, types)
			if err != nil {
				t.Fatal(err)
			}
			for ty, w := range want {
				a := got[ty]
				if v := a != nil && len(a.Value) == 1 && a.Value[0] == 1; v != w {
					t.Errorf("attribute %#x = %v; want %v", uint(ty), v, w)
				}
			}
		})
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}

	r2 := NewRegistry(opts)
	for _, alg := range algs {
		t.Run("reopen "+string(alg), func(t *testing.T) {
			s, err := r2.Open(ctx, uriFor(string(alg)))
			if err != nil {
				t.Fatal(err)
			}
			if made[alg] != nil {
				samePublic(t, made[alg].Public(), s.Public())
			}
			signVerify(t, s)
		})
	}

	t.Run("pkcs11-tool sees sensitive, never extractable, sign-only keys", func(t *testing.T) {
		tool, err := exec.LookPath("pkcs11-tool")
		if err != nil {
			t.Skip("pkcs11-tool not found (apt-get install opensc): attributes were checked through crypto11 above")
		}
		out, err := exec.Command(tool, "--module", softHSMModule, "--token-label", testToken, "-O", "--login", "--pin", testPIN).CombinedOutput()
		if err != nil {
			t.Fatalf("pkcs11-tool: %v\n%s", err, out)
		}
		t.Logf("pkcs11-tool -O:\n%s", out)
		for _, b := range strings.Split(string(out), "Public Key Object")[1:] {
			b, _, _ = strings.Cut(b, "Private Key Object")
			if usage := lineWith(b, "Usage:"); hasAny(usage, "encrypt", "wrap") {
				t.Errorf("public key usage %q; want verify only", usage)
			}
		}
		blocks := strings.Split(string(out), "Private Key Object")[1:]
		if len(blocks) != len(algs) {
			t.Fatalf("pkcs11-tool lists %d private keys; want %d:\n%s", len(blocks), len(algs), out)
		}
		for _, b := range blocks {
			b, _, _ = strings.Cut(b, "Public Key Object")
			usage := lineWith(b, "Usage:")
			access := lineWith(b, "Access:")
			if !strings.Contains(usage, "sign") || hasAny(usage, "decrypt", "unwrap", "derive") {
				t.Errorf("usage %q; want sign only", usage)
			}
			if !strings.Contains(access, "sensitive") || !strings.Contains(access, "never extractable") || strings.Contains(strings.ReplaceAll(access, "never extractable", ""), "extractable") {
				t.Errorf("access %q; want sensitive, never extractable", access)
			}
		}
	})

	// PKCS#11 login is per process and token: while r2 is logged in, a wrong PIN would go unnoticed.
	if err := r2.Close(); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		do      func(r *Registry) error
		kind    errkind.Kind
		mention string
	}{
		{"overwrite", func(r *Registry) error { _, err := r.Generate(ctx, uriFor(string(ECDSAP256)), ECDSAP256); return err }, errkind.Conflict, "already exists"},
		{"ed25519", func(r *Registry) error { _, err := r.Generate(ctx, uriFor("ed"), Ed25519); return err }, errkind.Invalid, "ed25519"},
		{"missing key", func(r *Registry) error { _, err := r.Open(ctx, uriFor("absent")); return err }, errkind.NotFound, "no key pair"},
		{"wrong PIN", func(r *Registry) error {
			_, err := r.Open(ctx, strings.Replace(uriFor("x"), "TAWTHIQ_TEST_PIN", "WRONG_PIN", 1))
			return err
		}, errkind.Unauthorized, "wrong PIN"},
		{"unset PIN variable", func(r *Registry) error {
			_, err := r.Open(ctx, strings.Replace(uriFor("x"), "TAWTHIQ_TEST_PIN", "NO_SUCH_PIN", 1))
			return err
		}, errkind.Invalid, "NO_SUCH_PIN"},
		{"missing token", func(r *Registry) error {
			_, err := r.Open(ctx, strings.Replace(uriFor("x"), "token="+testToken, "token=nope", 1))
			return err
		}, errkind.NotFound, "no token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := NewRegistry(opts)
			defer r.Close()
			err := tt.do(r)
			e := errkind.As(err)
			if err == nil || e.Kind != tt.kind || e.Rule != law.L21_1 || !strings.Contains(e.Detail, tt.mention) {
				t.Fatalf("err = %v; want %v under L-21-1 mentioning %q", err, tt.kind, tt.mention)
			}
		})
	}
}

func lineWith(s, prefix string) string {
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, prefix) {
			return strings.TrimSpace(l)
		}
	}
	return ""
}

func hasAny(s string, subs ...string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

func BenchmarkPKCS11SignP256(b *testing.B) {
	uriFor := softHSM(b)
	r := NewRegistry(Options{Getenv: env("TAWTHIQ_TEST_PIN", testPIN)})
	defer r.Close()
	s, err := r.Generate(context.Background(), uriFor("bench"), ECDSAP256)
	if err != nil {
		b.Fatal(err)
	}
	d := sha256.Sum256([]byte("bench"))
	for b.Loop() {
		if _, err := s.Sign(rand.Reader, d[:], crypto.SHA256); err != nil {
			b.Fatal(err)
		}
	}
}
