package keys

import (
	"context"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/youmark/pkcs8"

	"github.com/tawthiq/tawthiq/internal/errkind"
)

type envelope struct {
	Algorithm pkix.AlgorithmIdentifier
	Data      []byte
}

type pbes2Params struct{ KDF, Cipher pkix.AlgorithmIdentifier }

type pbkdf2Params struct {
	Salt       []byte
	Iterations int
	PRF        pkix.AlgorithmIdentifier `asn1:"optional"`
}

// goodEnvelope writes a real key and returns its decoded envelope, to damage in tests.
func goodEnvelope(t testing.TB) (envelope, pbes2Params, pbkdf2Params) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "k.key")
	if _, err := NewRegistry(Options{Getenv: env("KP", testPass)}).Generate(context.Background(), "file:"+path+"?pass-env=KP", ECDSAP256); err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(path)
	blk, _ := pem.Decode(raw)
	var e envelope
	var p pbes2Params
	var k pbkdf2Params
	_, err1 := asn1.Unmarshal(blk.Bytes, &e)
	_, err2 := asn1.Unmarshal(e.Algorithm.Parameters.FullBytes, &p)
	_, err3 := asn1.Unmarshal(p.KDF.Parameters.FullBytes, &k)
	if err := errors.Join(err1, err2, err3); err != nil {
		t.Fatal(err)
	}
	return e, p, k
}

func mustMarshal(t testing.TB, v any) []byte {
	t.Helper()
	b, err := asn1.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func rebuild(t testing.TB, e envelope, p pbes2Params, k pbkdf2Params) []byte {
	p.KDF.Parameters = asn1.RawValue{FullBytes: mustMarshal(t, k)}
	e.Algorithm.Parameters = asn1.RawValue{FullBytes: mustMarshal(t, p)}
	return mustMarshal(t, e)
}

func TestFileKeyDamaged_L21_1(t *testing.T) {
	e, p, k := goodEnvelope(t)
	if err := checkEnvelope(rebuild(t, e, p, k)); err != nil {
		t.Fatalf("our own envelope is refused: %v", err)
	}
	tests := map[string]func(e *envelope, p *pbes2Params, k *pbkdf2Params){
		"partial cipher block": func(e *envelope, _ *pbes2Params, _ *pbkdf2Params) { e.Data = e.Data[:len(e.Data)-1] },
		"no cipher text":       func(e *envelope, _ *pbes2Params, _ *pbkdf2Params) { e.Data = nil },
		"short IV": func(_ *envelope, p *pbes2Params, _ *pbkdf2Params) {
			p.Cipher.Parameters = asn1.RawValue{FullBytes: mustMarshal(t, []byte{1, 2, 3})}
		},
		"huge iteration count": func(_ *envelope, _ *pbes2Params, k *pbkdf2Params) { k.Iterations = 1 << 40 },
		"zero iterations":      func(_ *envelope, _ *pbes2Params, k *pbkdf2Params) { k.Iterations = 0 },
		"GCM cipher": func(_ *envelope, p *pbes2Params, _ *pbkdf2Params) {
			p.Cipher.Algorithm = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 46}
		},
		"not PBES2": func(e *envelope, _ *pbes2Params, _ *pbkdf2Params) {
			e.Algorithm.Algorithm = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 12, 1, 3}
		},
	}
	dir, passDir := t.TempDir(), t.TempDir()
	passFile := filepath.Join(passDir, "pass")
	if err := os.WriteFile(passFile, []byte(testPass), 0o600); err != nil {
		t.Fatal(err)
	}
	for name, damage := range tests {
		t.Run(name, func(t *testing.T) {
			e, p, k := e, p, k
			e.Data = append([]byte(nil), e.Data...)
			damage(&e, &p, &k)
			path := filepath.Join(dir, strings.ReplaceAll(name, " ", "-")+".key")
			pemBytes := pem.EncodeToMemory(&pem.Block{Type: pemType, Bytes: rebuild(t, e, p, k)})
			if err := os.WriteFile(path, pemBytes, 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := NewRegistry(Options{PassphraseFile: passFile}).Open(context.Background(), "file:"+path)
			if !errkind.Is(err, errkind.Invalid) || !strings.Contains(err.Error(), "damaged") {
				t.Fatalf("err = %v; want invalid, damaged", err)
			}
		})
	}
}

// TestFileKeyFromOpenSSL_L21_1 opens a key that openssl encrypted: the format is the standard one, both ways.
func TestFileKeyFromOpenSSL_L21_1(t *testing.T) {
	openssl, err := exec.LookPath("openssl")
	if err != nil {
		t.Skip("openssl not found: the openssl interoperability check is skipped")
	}
	for _, tt := range []struct {
		alg  Algorithm
		args []string
	}{
		{ECDSAP384, []string{"-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384"}},
		{RSA3072, []string{"-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:3072"}},
		{Ed25519, []string{"-algorithm", "ED25519"}},
	} {
		t.Run(string(tt.alg), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "k.key")
			cmd := exec.Command(openssl, append(append([]string{"genpkey"}, tt.args...), "-aes-256-cbc", "-pass", "env:KP", "-out", path)...)
			cmd.Env = append(os.Environ(), "KP="+testPass)
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("openssl genpkey: %v\n%s", err, out)
			}
			s, err := NewRegistry(Options{Getenv: env("KP", testPass)}).Open(context.Background(), "file:"+path+"?pass-env=KP")
			if err != nil {
				t.Fatal(err)
			}
			if alg, _ := PublicKeyAlgorithm(s.Public()); alg != tt.alg {
				t.Fatalf("algorithm %q; want %q", alg, tt.alg)
			}
			signVerify(t, s)
		})
	}
}

// FuzzFileKeyEnvelope feeds damaged envelopes to the file key parser: errors are fine, panics are not.
func FuzzFileKeyEnvelope(f *testing.F) {
	e, p, k := goodEnvelope(f)
	f.Add(rebuild(f, e, p, k))
	e.Data = e.Data[:len(e.Data)-3]
	f.Add(rebuild(f, e, p, k))
	k.Iterations = 3
	f.Add(rebuild(f, e, p, k))
	f.Fuzz(func(t *testing.T, der []byte) {
		if checkEnvelope(der) != nil {
			return
		}
		var kp pbkdf2Params
		var env envelope
		var pp pbes2Params
		asn1.Unmarshal(der, &env)
		asn1.Unmarshal(env.Algorithm.Parameters.FullBytes, &pp)
		asn1.Unmarshal(pp.KDF.Parameters.FullBytes, &kp)
		if kp.Iterations > 10_000 {
			return // a valid but slow envelope: nothing more to learn here
		}
		_, _, _ = pkcs8.ParsePrivateKey(der, []byte(testPass))
	})
}
