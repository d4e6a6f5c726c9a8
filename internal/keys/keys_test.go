package keys

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/youmark/pkcs8"

	"github.com/tawthiq/tawthiq/internal/errkind"
	"github.com/tawthiq/tawthiq/internal/law"
)

const testPass = "correct horse battery staple"

// env is a fake environment for Options.Getenv.
func env(kv ...string) func(string) string {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(k string) string { return m[k] }
}

// signVerify signs with s and checks the signature with its public key alone.
func signVerify(t testing.TB, s crypto.Signer) {
	t.Helper()
	msg := []byte("a document to sign")
	d := sha256.Sum256(msg)
	switch pub := s.Public().(type) {
	case *ecdsa.PublicKey:
		sig, err := s.Sign(rand.Reader, d[:], crypto.SHA256)
		if err != nil || !ecdsa.VerifyASN1(pub, d[:], sig) {
			t.Fatalf("ECDSA signature does not verify (err %v)", err)
		}
	case *rsa.PublicKey:
		sig, err := s.Sign(rand.Reader, d[:], crypto.SHA256)
		if err == nil {
			err = rsa.VerifyPKCS1v15(pub, crypto.SHA256, d[:], sig)
		}
		if err != nil {
			t.Fatalf("RSA PKCS#1 v1.5 signature: %v", err)
		}
		pss := &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash, Hash: crypto.SHA256}
		sig, err = s.Sign(rand.Reader, d[:], pss)
		if err == nil {
			err = rsa.VerifyPSS(pub, crypto.SHA256, d[:], sig, pss)
		}
		if err != nil {
			t.Fatalf("RSA-PSS signature: %v", err)
		}
	case ed25519.PublicKey:
		sig, err := s.Sign(rand.Reader, msg, crypto.Hash(0))
		if err != nil || !ed25519.Verify(pub, msg, sig) {
			t.Fatalf("Ed25519 signature does not verify (err %v)", err)
		}
	default:
		t.Fatalf("unexpected public key %T", pub)
	}
}

func samePublic(t testing.TB, a, b crypto.PublicKey) {
	t.Helper()
	x, _ := x509.MarshalPKIXPublicKey(a)
	y, _ := x509.MarshalPKIXPublicKey(b)
	if len(x) == 0 || !bytes.Equal(x, y) {
		t.Fatal("public keys differ")
	}
}

func TestPublicKeyAlgorithm_L21_1(t *testing.T) {
	for _, alg := range Algorithms() {
		t.Run(string(alg), func(t *testing.T) {
			s, err := GenerateThrowaway(alg)
			if err != nil {
				t.Fatal(err)
			}
			if _, ok := s.(*signer); ok {
				t.Fatal("throwaway keys need no wrapper")
			}
			got, err := PublicKeyAlgorithm(s.Public())
			if err != nil || got != alg {
				t.Fatalf("PublicKeyAlgorithm = %q, %v; want %q", got, err, alg)
			}
			signVerify(t, s)
		})
	}
	weak, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	for name, pub := range map[string]crypto.PublicKey{"rsa-2048": &weak.PublicKey, "nil": nil, "bytes": []byte{1}} {
		t.Run("refuses "+name, func(t *testing.T) {
			_, err := PublicKeyAlgorithm(pub)
			if e := errkind.As(err); e.Kind != errkind.Invalid || e.Rule != law.L21_1 {
				t.Fatalf("err = %v; want invalid under L-21-1", err)
			}
		})
	}
	if _, err := GenerateThrowaway("dsa-1024"); !errkind.Is(err, errkind.Invalid) || !strings.Contains(err.Error(), "ecdsa-p256") {
		t.Fatalf("unknown algorithm: %v", err)
	}
}

func TestFileKeyRoundTrip_L21_1(t *testing.T) {
	openssl, _ := exec.LookPath("openssl")
	if openssl == "" {
		t.Log("openssl not found: the independent openssl check is skipped")
	}
	dir := t.TempDir()
	opts := Options{Getenv: env("KP", testPass)}
	for _, alg := range Algorithms() {
		t.Run(string(alg), func(t *testing.T) {
			path := filepath.Join(dir, string(alg)+".key")
			uri := "file:" + path + "?pass-env=KP"
			r := NewRegistry(opts)
			s, err := r.Generate(context.Background(), uri, alg)
			if err != nil {
				t.Fatal(err)
			}
			signVerify(t, s)
			if again, err := r.Open(context.Background(), uri); err != nil || again != s {
				t.Fatalf("Open after Generate must return the cached signer (err %v)", err)
			}
			fi, err := os.Stat(path)
			if err != nil || fi.Mode().Perm() != 0o600 {
				t.Fatalf("key file mode = %v (err %v); want 0600", fi.Mode().Perm(), err)
			}

			reopened, err := NewRegistry(opts).Open(context.Background(), uri)
			if err != nil {
				t.Fatal(err)
			}
			samePublic(t, s.Public(), reopened.Public())
			signVerify(t, reopened)

			if openssl == "" {
				return
			}
			// openssl is the independent judge: it must read our file with the passphrase...
			cmd := exec.Command(openssl, "pkey", "-in", path, "-passin", "env:KP", "-pubout")
			cmd.Env = append(os.Environ(), "KP="+testPass)
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("openssl pkey: %v\n%s", err, out)
			}
			blk, _ := pem.Decode(out)
			if blk == nil {
				t.Fatalf("openssl printed no public key:\n%s", out)
			}
			pub, err := x509.ParsePKIXPublicKey(blk.Bytes)
			if err != nil {
				t.Fatal(err)
			}
			samePublic(t, s.Public(), pub)
			// ...and refuse it without the right one.
			cmd = exec.Command(openssl, "pkey", "-in", path, "-passin", "env:KP", "-noout")
			cmd.Env = append(os.Environ(), "KP=wrong passphrase entirely")
			if out, err := cmd.CombinedOutput(); err == nil {
				t.Fatalf("openssl read the key with a wrong passphrase:\n%s", out)
			}
		})
	}
}

func TestFileKeyNeverClear_L21_1(t *testing.T) {
	for _, alg := range []Algorithm{ECDSAP256, ECDSAP384, RSA3072, Ed25519} {
		t.Run(string(alg), func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "k.key")
			// Go signs here, so the test can hold the clear key and look for it in the file.
			s, err := NewRegistry(Options{PassphraseEnv: "KP", Getenv: env("KP", testPass), Engine: EngineGo}).
				Generate(context.Background(), "file://"+path, alg)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := x509.MarshalPKCS8PrivateKey(s); err == nil {
				t.Fatal("the signer handed out can be marshalled in clear")
			}
			raw, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			blk, rest := pem.Decode(raw)
			if blk == nil || blk.Type != "ENCRYPTED PRIVATE KEY" || len(bytes.TrimSpace(rest)) != 0 {
				t.Fatalf("file is not one ENCRYPTED PRIVATE KEY block:\n%s", raw)
			}
			if _, err := x509.ParsePKCS8PrivateKey(blk.Bytes); err == nil {
				t.Fatal("the file parses as a clear PKCS#8 key")
			}
			if _, err := pkcs8.ParsePKCS8PrivateKey(blk.Bytes); err == nil {
				t.Fatal("the file parses without a passphrase")
			}
			clear, err := x509.MarshalPKCS8PrivateKey(s.(*signer).impl)
			if err != nil {
				t.Fatal(err)
			}
			for _, secret := range [][]byte{clear, privateScalar(s.(*signer).impl)} {
				if bytes.Contains(raw, secret) || bytes.Contains(blk.Bytes, secret) {
					t.Fatal("the file contains the clear private key")
				}
			}
			ents, _ := os.ReadDir(dir)
			if len(ents) != 1 {
				t.Fatalf("the key directory holds %d entries; want only the key (no temp file left)", len(ents))
			}
		})
	}
}

// privateScalar returns the secret bytes of a key, whatever its encoding.
func privateScalar(k crypto.Signer) []byte {
	switch k := k.(type) {
	case *ecdsa.PrivateKey:
		b, _ := k.Bytes()
		return b
	case *rsa.PrivateKey:
		return k.D.Bytes()
	case ed25519.PrivateKey:
		return k.Seed()
	}
	return nil
}

func TestFilePassphraseSources_L21_1(t *testing.T) {
	keyDir, passDir := t.TempDir(), t.TempDir()
	passFile := filepath.Join(passDir, "pass")
	if err := os.WriteFile(passFile, []byte(testPass+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		uri  string
		opts Options
	}{
		{"uri pass-env", "?pass-env=A", Options{Getenv: env("A", testPass)}},
		{"uri pass-file", "?pass-file=" + passFile, Options{Getenv: env()}},
		{"options env", "", Options{PassphraseEnv: "B", Getenv: env("B", testPass)}},
		{"options file", "", Options{PassphraseFile: passFile, Getenv: env()}},
		{"options file when env unset", "", Options{PassphraseEnv: "B", PassphraseFile: passFile, Getenv: env()}},
		{"uri overrides options", "?pass-env=A", Options{PassphraseEnv: "B", Getenv: env("A", testPass, "B", "another long passphrase")}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(keyDir, string(rune('a'+i))+".key")
			if _, err := NewRegistry(tt.opts).Generate(context.Background(), "file:"+path+tt.uri, ECDSAP256); err != nil {
				t.Fatal(err)
			}
			// The same passphrase, given through the file, opens it: all sources agree on the bytes.
			if _, err := NewRegistry(Options{PassphraseFile: passFile}).Open(context.Background(), "file:"+path); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestFileKeyRefusals_L21_1(t *testing.T) {
	dir, other := t.TempDir(), t.TempDir()
	good := filepath.Join(dir, "good.key")
	ctx := context.Background()
	if _, err := NewRegistry(Options{Getenv: env("KP", testPass)}).Generate(ctx, "file:"+good+"?pass-env=KP", ECDSAP256); err != nil {
		t.Fatal(err)
	}
	beside := filepath.Join(dir, "pass")
	elsewhere := filepath.Join(other, "pass")
	short := filepath.Join(other, "short")
	for p, v := range map[string]string{beside: testPass, elsewhere: testPass, short: "tooshort\n"} {
		if err := os.WriteFile(p, []byte(v), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	clearKey := filepath.Join(dir, "clear.key")
	k, _ := GenerateThrowaway(ECDSAP256)
	der, _ := x509.MarshalPKCS8PrivateKey(k)
	if err := os.WriteFile(clearKey, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}

	weakKey := filepath.Join(dir, "weak.key")
	weak, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, err = pkcs8.MarshalPrivateKey(weak, []byte(testPass), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(weakKey, pem.EncodeToMemory(&pem.Block{Type: pemType, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}

	getenv := env("KP", testPass, "WRONG", "not the passphrase at all", "SHORT", "elevenchars")
	tests := []struct {
		name    string
		gen     Algorithm // empty: Open
		uri     string
		opts    Options
		kind    errkind.Kind
		mention string
	}{
		{"wrong passphrase", "", "file:" + good + "?pass-env=WRONG", Options{}, errkind.Unauthorized, "wrong passphrase"},
		{"missing env var", "", "file:" + good + "?pass-env=NOPE", Options{}, errkind.Invalid, "NOPE"},
		{"missing options env var", "", "file:" + good, Options{PassphraseEnv: "NOPE"}, errkind.Invalid, "NOPE"},
		{"no passphrase source", "", "file:" + good, Options{}, errkind.Invalid, "pass-env"},
		{"short passphrase", ECDSAP256, "file:" + filepath.Join(dir, "s.key") + "?pass-env=SHORT", Options{}, errkind.Invalid, "at least 12"},
		{"short passphrase file", ECDSAP256, "file:" + filepath.Join(dir, "s.key") + "?pass-file=" + short, Options{}, errkind.Invalid, "at least 12"},
		{"passphrase file beside key", ECDSAP256, "file:" + filepath.Join(dir, "b.key") + "?pass-file=" + beside, Options{}, errkind.Invalid, "same directory"},
		{"options passphrase file beside key", "", "file:" + good, Options{PassphraseFile: beside}, errkind.Invalid, "same directory"},
		{"overwrite", ECDSAP256, "file:" + good + "?pass-env=KP", Options{}, errkind.Conflict, "overwrite"},
		{"missing key", "", "file:" + filepath.Join(dir, "none.key") + "?pass-file=" + elsewhere, Options{}, errkind.NotFound, "no key"},
		{"clear key on disk", "", "file:" + clearKey + "?pass-env=KP", Options{}, errkind.Invalid, "clear keys are refused"},
		{"key of a kind we do not use", "", "file:" + weakKey + "?pass-env=KP", Options{}, errkind.Invalid, "RSA key of 2048 bits"},
		{"relative path", "", "file:keys/k.key?pass-env=KP", Options{}, errkind.Invalid, "absolute"},
		{"remote host", "", "file://example.org/k.key?pass-env=KP", Options{}, errkind.Invalid, "absolute"},
		{"unknown attribute", "", "file:" + good + "?pass-env=KP&pass=x", Options{}, errkind.Invalid, "unknown attribute"},
		{"two sources", "", "file:" + good + "?pass-env=KP&pass-file=" + elsewhere, Options{}, errkind.Invalid, "both"},
		{"relative pass-file", "", "file:" + good + "?pass-file=pass", Options{}, errkind.Invalid, "absolute"},
		{"unknown scheme", "", "https://example.org/k.key", Options{}, errkind.Invalid, "file:, pkcs11:"},
		{"no scheme", "", "/etc/k.key", Options{}, errkind.Invalid, "file:, pkcs11:"},
		{"unknown algorithm", "rsa-1024", "file:" + filepath.Join(dir, "x.key") + "?pass-env=KP", Options{}, errkind.Invalid, "unknown key algorithm"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.opts.Getenv = getenv
			r := NewRegistry(tt.opts)
			var err error
			if tt.gen != "" {
				_, err = r.Generate(ctx, tt.uri, tt.gen)
			} else {
				_, err = r.Open(ctx, tt.uri)
			}
			e := errkind.As(err)
			if err == nil || e.Kind != tt.kind || !strings.Contains(e.Detail, tt.mention) {
				t.Fatalf("err = %v; want %v mentioning %q", err, tt.kind, tt.mention)
			}
			if e.Rule != law.L21_1 {
				t.Fatalf("rule = %q; want %s", e.Rule, law.L21_1)
			}
			if strings.Contains(err.Error(), testPass) {
				t.Fatal("the error shows the passphrase")
			}
		})
	}
	if _, err := os.Stat(filepath.Join(dir, "b.key")); err == nil {
		t.Fatal("a key was written despite a refused passphrase source")
	}
}

func TestPKCS11URI(t *testing.T) {
	const mod = "module-path=/usr/lib/softhsm/libsofthsm2.so"
	good := []struct {
		uri  string
		want hsmKey
	}{
		{"pkcs11:token=ca;object=issuing%20ca?" + mod + "&pin-source=env:PIN",
			hsmKey{module: "/usr/lib/softhsm/libsofthsm2.so", token: "ca", object: "issuing ca", pinSource: "env:PIN"}},
		{"pkcs11:token=ca;id=%01%02;type=private?" + mod + "&pin-source=file:/run/pin",
			hsmKey{module: "/usr/lib/softhsm/libsofthsm2.so", token: "ca", id: []byte{1, 2}, pinSource: "file:/run/pin"}},
	}
	for _, tt := range good {
		t.Run(tt.uri, func(t *testing.T) {
			got, err := parsePKCS11URI(tt.uri)
			if err != nil {
				t.Fatal(err)
			}
			if got.module != tt.want.module || got.token != tt.want.token || got.object != tt.want.object ||
				!bytes.Equal(got.id, tt.want.id) || got.pinSource != tt.want.pinSource {
				t.Fatalf("got %+v; want %+v", got, tt.want)
			}
		})
	}
	bad := map[string]string{
		"pkcs11:object=a?" + mod + "&pin-source=env:P":                     "no token",
		"pkcs11:token=t?" + mod + "&pin-source=env:P":                      "no object",
		"pkcs11:token=t;object=a?pin-source=env:P":                         "module-path",
		"pkcs11:token=t;object=a?" + mod:                                   "pin-source",
		"pkcs11:token=t;object=a;pin-value=1234?" + mod:                    "pin-value",
		"pkcs11:token=t;object=a?" + mod + "&pin-value=1234":               "pin-value",
		"pkcs11:token=t;object=a;slot=1?" + mod + "&pin-source=env:P":      "unknown path attribute",
		"pkcs11:token=t;object=a?" + mod + "&pin-source=env:P&x=1":         "unknown query attribute",
		"pkcs11:token=t;token=u;object=a?" + mod + "&pin-source=env:P":     "twice",
		"pkcs11:token=t;object=%zz?" + mod + "&pin-source=env:P":           "percent-encoded",
		"pkcs11:token=t;object=a;type=public?" + mod + "&pin-source=env:P": "private",
		"pkcs11:token=t;object?" + mod + "&pin-source=env:P":               "needs a value",
	}
	for uri, mention := range bad {
		t.Run(uri, func(t *testing.T) {
			_, err := parsePKCS11URI(uri)
			if !errkind.Is(err, errkind.Invalid) || !strings.Contains(err.Error(), mention) {
				t.Fatalf("err = %v; want invalid mentioning %q", err, mention)
			}
			if strings.Contains(err.Error(), "1234") {
				t.Fatal("the error shows the PIN")
			}
		})
	}
	pins := map[string]string{"env:UNSET": "unset", "file:relative": "absolute", "file:/nonexistent/pin": "cannot read", "literal": "not accepted"}
	for src, mention := range pins {
		t.Run("pin "+src, func(t *testing.T) {
			_, err := hsmKey{token: "t", pinSource: src}.pin(env())
			if !errkind.Is(err, errkind.Invalid) || !strings.Contains(err.Error(), mention) {
				t.Fatalf("err = %v; want invalid mentioning %q", err, mention)
			}
		})
	}
}

func TestRegistryConcurrentOpen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "k.key")
	uri := "file:" + path + "?pass-env=KP"
	opts := Options{Getenv: env("KP", testPass)}
	if _, err := NewRegistry(opts).Generate(context.Background(), uri, Ed25519); err != nil {
		t.Fatal(err)
	}
	r := NewRegistry(opts)
	got := make([]crypto.Signer, 8)
	var wg sync.WaitGroup
	for i := range got {
		wg.Go(func() {
			s, err := r.Open(context.Background(), uri)
			if err != nil {
				t.Error(err)
			}
			got[i] = s
		})
	}
	wg.Wait()
	for _, s := range got[1:] {
		if s != got[0] {
			t.Fatal("a URI was opened twice")
		}
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Open(context.Background(), uri); !errkind.Is(err, errkind.Unavailable) {
		t.Fatalf("Open after Close: %v; want unavailable", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := NewRegistry(opts).Open(ctx, uri); !errkind.Is(err, errkind.Unavailable) {
		t.Fatalf("Open with a cancelled context: %v; want unavailable", err)
	}
}

func BenchmarkFileSignP256(b *testing.B) {
	uri := "file:" + filepath.Join(b.TempDir(), "k.key") + "?pass-env=KP"
	s, err := NewRegistry(Options{Getenv: env("KP", testPass)}).Generate(context.Background(), uri, ECDSAP256)
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
