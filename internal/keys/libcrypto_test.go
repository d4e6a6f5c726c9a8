package keys

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"

	"github.com/tawthiq/tawthiq/internal/errkind"
)

// needLibcrypto skips where libcrypto cannot sign, unless the run requires OpenSSL.
func needLibcrypto(t testing.TB) {
	t.Helper()
	if err := libcryptoAvailable(); err != nil {
		if os.Getenv("TAWTHIQ_REQUIRE_OPENSSL") == "1" {
			t.Fatalf("libcrypto is required (TAWTHIQ_REQUIRE_OPENSSL=1): %v", err)
		}
		t.Skipf("libcrypto: %v", err)
	}
}

// libcryptoAvailable tells whether this build and machine sign through libcrypto.
func libcryptoAvailable() error {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	_, err = libcryptoSigner(k)
	return err
}

// Go's verifier, not OpenSSL's, judges what libcrypto signed, on both curves and
// for digests of every length the CSP uses.
func TestLibcryptoSignatures_L21_1(t *testing.T) {
	needLibcrypto(t)
	msg := []byte("tawthiq libcrypto engine")
	d256, d384, d512 := sha256.Sum256(msg), sha512.Sum384(msg), sha512.Sum512(msg)
	for _, curve := range []elliptic.Curve{elliptic.P256(), elliptic.P384()} {
		priv, err := ecdsa.GenerateKey(curve, rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		s, err := SoftwareSigner(priv, EngineLibcrypto)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := s.(*signer).impl.(*libcryptoKey); !ok {
			t.Fatalf("%s: engine libcrypto gave a %T", curve.Params().Name, s.(*signer).impl)
		}
		if !s.Public().(*ecdsa.PublicKey).Equal(&priv.PublicKey) {
			t.Fatal("the public key changed")
		}
		for _, d := range [][]byte{d256[:], d384[:], d512[:]} {
			sig, err := s.Sign(rand.Reader, d, crypto.SHA256)
			if err != nil {
				t.Fatal(err)
			}
			if !ecdsa.VerifyASN1(&priv.PublicKey, d, sig) {
				t.Fatalf("%s: signature over a %d-byte digest does not verify", curve.Params().Name, len(d))
			}
			other := bytes.Clone(d)
			other[0] ^= 1
			if ecdsa.VerifyASN1(&priv.PublicKey, other, sig) {
				t.Fatal("the signature verifies for another digest")
			}
			again, err := s.Sign(rand.Reader, d, crypto.SHA256)
			if err != nil || bytes.Equal(again, sig) {
				t.Fatalf("two signatures of one digest are equal (err %v): the nonce is not random", err)
			}
		}
		if _, err := s.Sign(rand.Reader, nil, crypto.SHA256); err == nil {
			t.Fatal("an empty digest was signed")
		}
	}
}

// Many goroutines share one key, as the TSA's requests do: each signature is right.
func TestLibcryptoConcurrent(t *testing.T) {
	needLibcrypto(t)
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s, err := SoftwareSigner(priv, EngineLibcrypto)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan string, 1)
	for g := range 4 * runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for i := range 200 {
				d := sha256.Sum256([]byte{byte(g), byte(i)})
				sig, err := s.Sign(nil, d[:], crypto.SHA256)
				if err != nil || !ecdsa.VerifyASN1(&priv.PublicKey, d[:], sig) {
					select {
					case errs <- "a concurrent signature failed or does not verify":
					default:
					}
					return
				}
			}
		})
	}
	wg.Wait()
	select {
	case e := <-errs:
		t.Fatal(e)
	default:
	}
}

// A file key opened by a default registry signs through libcrypto; other kinds of
// key, and the Go engine, keep Go's signer.
func TestEngineChoice_L21_1(t *testing.T) {
	needLibcrypto(t)
	dir := t.TempDir()
	for _, tt := range []struct {
		alg    Algorithm
		engine Engine
		want   bool // signs through libcrypto
	}{
		{ECDSAP256, EngineAuto, true},
		{ECDSAP384, EngineLibcrypto, true},
		{ECDSAP256, EngineGo, false},
		{Ed25519, EngineAuto, false},
		{RSA3072, EngineLibcrypto, false},
	} {
		t.Run(string(tt.alg)+"/"+string(tt.engine), func(t *testing.T) {
			uri := "file:" + filepath.Join(dir, string(tt.alg)+string(tt.engine)+".key") + "?pass-env=KP"
			opts := Options{Getenv: env("KP", testPass), Engine: tt.engine}
			if _, err := NewRegistry(opts).Generate(context.Background(), uri, tt.alg); err != nil {
				t.Fatal(err)
			}
			s, err := NewRegistry(opts).Open(context.Background(), uri)
			if err != nil {
				t.Fatal(err)
			}
			if _, got := s.(*signer).impl.(*libcryptoKey); got != tt.want {
				t.Fatalf("signs through libcrypto = %v, want %v (%T)", got, tt.want, s.(*signer).impl)
			}
			signVerify(t, s)
		})
	}
	priv, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if _, err := SoftwareSigner(priv, "boringssl"); !errkind.Is(err, errkind.Invalid) {
		t.Fatalf("an unknown engine gave %v; want Invalid", err)
	}
}

// BenchmarkSignP256 compares the two engines on one P-256 key (the ratio is what counts).
func BenchmarkSignP256(b *testing.B) {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	d := sha256.Sum256([]byte("bench"))
	for _, e := range []Engine{EngineGo, EngineLibcrypto} {
		b.Run(string(e), func(b *testing.B) {
			if e == EngineLibcrypto {
				needLibcrypto(b)
			}
			s, err := SoftwareSigner(priv, e)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := s.Sign(rand.Reader, d[:], crypto.SHA256); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}
