// Package keys gives every signer of the CSP as a crypto.Signer obtained from a key URI:
// "file:" keys are PKCS#8 encrypted at rest, "pkcs11:" keys live in an HSM (RFC 7512 URIs).
//
// It is written on top of golang.org/x/crypto (PBKDF2, through youmark/pkcs8),
// github.com/youmark/pkcs8 (PBES2 encrypted PKCS#8, readable by openssl) and
// github.com/ThalesGroup/crypto11 (PKCS#11, needs cgo). Written by hand, because no
// library in go.mod does it or does it safely: the RFC 7512 URI subset and the file: URI
// parser (strict, unknown attributes refused), the passphrase and PIN policy, a check of the
// encrypted envelope before youmark/pkcs8 sees it (it panics on damaged input), the
// no-overwrite atomic write (temp file, fsync, link, fsync dir), the key templates that
// make HSM keys sign-only, and the signer wrapper that hides the private key from callers.
//
// A decrypted ECDSA file: key signs through the system's libcrypto 3 (OpenSSL) when it
// loads (Options.Engine): its P-256 code costs about 0.8× Go's CPU and allocates nothing.
// The binding is ours, a few functions opened with dlopen so the build needs no OpenSSL
// headers, because the Go bindings of OpenSSL are not served by this module proxy.
package keys

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"

	"github.com/tawthiq/tawthiq/internal/errkind"
	"github.com/tawthiq/tawthiq/internal/law"
)

// Algorithm names a key type and size the CSP generates.
type Algorithm string

// Algorithms the CSP generates (L-21-1: reliable cryptography).
const (
	ECDSAP256 Algorithm = "ecdsa-p256"
	ECDSAP384 Algorithm = "ecdsa-p384"
	RSA3072   Algorithm = "rsa-3072"
	RSA4096   Algorithm = "rsa-4096"
	Ed25519   Algorithm = "ed25519"
)

// Algorithms lists every Algorithm, for config validation and tests.
func Algorithms() []Algorithm {
	return []Algorithm{ECDSAP256, ECDSAP384, RSA3072, RSA4096, Ed25519}
}

// Options says where file: keys find their passphrase when the URI names none.
type Options struct {
	// Passphrase sources for file: keys when the URI names none.
	PassphraseEnv  string // e.g. "TAWTHIQ_KEY_PASSPHRASE"
	PassphraseFile string
	Getenv         func(string) string // nil: os.Getenv (injected for tests)
	// Engine signs with file: ECDSA keys once they are decrypted (see Engine).
	Engine Engine
}

// Engine is the code that signs with a software (file:) ECDSA key.
type Engine string

const (
	// EngineAuto signs through the system's libcrypto 3 when it loads, else in Go.
	EngineAuto Engine = ""
	// EngineGo always signs with Go's crypto/ecdsa.
	EngineGo Engine = "go"
	// EngineLibcrypto signs through libcrypto 3 (OpenSSL's P-256 code is about 1.5×
	// Go's here) and fails when it cannot be loaded.
	EngineLibcrypto Engine = "libcrypto"
)

// Effective is the engine that signs ECDSA file: keys under e on this machine.
func Effective(e Engine) Engine {
	if e != EngineAuto {
		return e
	}
	if libcryptoLoads() == nil {
		return EngineLibcrypto
	}
	return EngineGo
}

// SoftwareSigner returns a signer for the private key priv, which the caller then
// forgets: ECDSA P-256 and P-384 keys sign through the engine e, others in Go.
func SoftwareSigner(priv crypto.Signer, e Engine) (crypto.Signer, error) {
	k, ok := priv.(*ecdsa.PrivateKey)
	switch {
	case e != EngineGo && e != EngineAuto && e != EngineLibcrypto:
		return nil, errkind.New(errkind.Invalid, law.L21_1, "unknown signing engine %q (accepted: go, libcrypto, or empty for either)", e)
	case !ok || e == EngineGo:
		return &signer{pub: priv.Public(), impl: priv}, nil
	}
	s, err := libcryptoSigner(k)
	switch {
	case err == nil:
		return &signer{pub: priv.Public(), impl: s}, nil
	case e == EngineLibcrypto:
		return nil, &errkind.Error{Kind: errkind.Unavailable, Rule: law.L21_1, Detail: "cannot sign through libcrypto", Err: err}
	}
	return &signer{pub: priv.Public(), impl: priv}, nil
}

// software wraps a decrypted file: key in the registry's engine.
func (r *Registry) software(priv crypto.Signer) (crypto.Signer, error) {
	return SoftwareSigner(priv, r.opts.Engine)
}

// Registry opens and generates signers by URI and caches them; safe for concurrent use.
type Registry struct {
	opts Options

	mu      sync.Mutex // held across open and generate so a URI is never opened twice
	signers map[string]crypto.Signer
	hsm     tokens // PKCS#11 contexts, one per module and token
	closed  bool
}

// NewRegistry returns an empty registry.
func NewRegistry(opts Options) *Registry {
	if opts.Getenv == nil {
		opts.Getenv = os.Getenv
	}
	return &Registry{opts: opts, signers: map[string]crypto.Signer{}, hsm: newTokens()}
}

// Generate creates a key of kind alg at uri and returns its signer; it refuses to overwrite a key.
func (r *Registry) Generate(ctx context.Context, uri string, alg Algorithm) (crypto.Signer, error) {
	if err := ctx.Err(); err != nil {
		return nil, errkind.Wrap(errkind.Unavailable, err, "key generation cancelled")
	}
	if _, err := algorithmSpec(alg); err != nil {
		return nil, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil, errkind.New(errkind.Unavailable, law.L21_1, "key registry is closed")
	}
	if _, ok := r.signers[uri]; ok {
		return nil, errkind.New(errkind.Conflict, law.L21_1, "a key already exists at %s", redact(uri))
	}
	var s crypto.Signer
	var err error
	switch scheme(uri) {
	case "file":
		s, err = r.generateFile(uri, alg)
	case "pkcs11":
		s, err = r.hsm.generate(uri, alg, r.opts.Getenv)
	default:
		return nil, badScheme(uri)
	}
	if err != nil {
		return nil, err
	}
	if err := selfTest(s); err != nil {
		return nil, err
	}
	r.signers[uri] = s
	return s, nil
}

// Open returns the signer at uri, opening it on first use.
func (r *Registry) Open(ctx context.Context, uri string) (crypto.Signer, error) {
	if err := ctx.Err(); err != nil {
		return nil, errkind.Wrap(errkind.Unavailable, err, "key opening cancelled")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil, errkind.New(errkind.Unavailable, law.L21_1, "key registry is closed")
	}
	if s, ok := r.signers[uri]; ok {
		return s, nil
	}
	var s crypto.Signer
	var err error
	switch scheme(uri) {
	case "file":
		s, err = r.openFile(uri)
	case "pkcs11":
		s, err = r.hsm.open(uri, r.opts.Getenv)
	default:
		return nil, badScheme(uri)
	}
	if err != nil {
		return nil, err
	}
	// A key on disk or in a token may predate our policy: check it as if we had made it (L-21-1).
	if _, err := PublicKeyAlgorithm(s.Public()); err != nil {
		return nil, err
	}
	if err := law.CheckPublicKey(s.Public()); err != nil {
		return nil, errkind.New(errkind.Invalid, law.L21_1, "key at %s is too weak: %v", redact(uri), err)
	}
	if err := selfTest(s); err != nil {
		return nil, err
	}
	r.signers[uri] = s
	return s, nil
}

// Close closes the PKCS#11 sessions; signers obtained before stop working.
func (r *Registry) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closed = true
	clear(r.signers)
	return r.hsm.close()
}

// PublicKeyAlgorithm maps a public key to the Algorithm that makes keys of its kind.
func PublicKeyAlgorithm(pub crypto.PublicKey) (Algorithm, error) {
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		switch k.Curve {
		case elliptic.P256():
			return ECDSAP256, nil
		case elliptic.P384():
			return ECDSAP384, nil
		}
		return "", errkind.New(errkind.Invalid, law.L21_1, "ECDSA curve %s is not one the CSP uses", k.Curve.Params().Name)
	case *rsa.PublicKey:
		switch k.N.BitLen() {
		case 3072:
			return RSA3072, nil
		case 4096:
			return RSA4096, nil
		}
		return "", errkind.New(errkind.Invalid, law.L21_1, "RSA key of %d bits is not one the CSP uses (3072 or 4096)", k.N.BitLen())
	case ed25519.PublicKey:
		return Ed25519, nil
	}
	return "", errkind.New(errkind.Invalid, law.L21_1, "public key type %T is not one the CSP uses", pub)
}

// GenerateThrowaway returns an in-memory key of kind alg that is never written anywhere.
func GenerateThrowaway(alg Algorithm) (crypto.Signer, error) {
	spec, err := algorithmSpec(alg)
	if err != nil {
		return nil, err
	}
	return spec.generate()
}

// spec says how to make a software key of one Algorithm.
type spec struct {
	curve elliptic.Curve // ECDSA
	bits  int            // RSA
}

func algorithmSpec(alg Algorithm) (spec, error) {
	switch alg {
	case ECDSAP256:
		return spec{curve: elliptic.P256()}, nil
	case ECDSAP384:
		return spec{curve: elliptic.P384()}, nil
	case RSA3072:
		return spec{bits: 3072}, nil
	case RSA4096:
		return spec{bits: 4096}, nil
	case Ed25519:
		return spec{}, nil
	}
	names := make([]string, 0, 5)
	for _, a := range Algorithms() {
		names = append(names, string(a))
	}
	return spec{}, errkind.New(errkind.Invalid, law.L21_1, "unknown key algorithm %q (accepted: %s)", alg, strings.Join(names, ", "))
}

func (s spec) generate() (crypto.Signer, error) {
	switch {
	case s.curve != nil:
		return ecdsa.GenerateKey(s.curve, rand.Reader)
	case s.bits != 0:
		return rsa.GenerateKey(rand.Reader, s.bits)
	}
	_, k, err := ed25519.GenerateKey(rand.Reader)
	return k, err
}

// signer hides the private key so no caller can marshal it in clear by mistake.
type signer struct {
	pub  crypto.PublicKey
	impl crypto.Signer
}

func (s *signer) Public() crypto.PublicKey { return s.pub }

func (s *signer) Sign(rand io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	return s.impl.Sign(rand, digest, opts)
}

// selfTest signs and verifies once: the private and public key must match (L-21-1).
func selfTest(s crypto.Signer) error {
	msg := []byte("tawthiq key self-test")
	digest := sha256.Sum256(msg)
	var err error
	switch pub := s.Public().(type) {
	case *ecdsa.PublicKey:
		var sig []byte
		if sig, err = s.Sign(rand.Reader, digest[:], crypto.SHA256); err == nil && !ecdsa.VerifyASN1(pub, digest[:], sig) {
			err = errors.New("signature does not verify")
		}
	case *rsa.PublicKey:
		var sig []byte
		if sig, err = s.Sign(rand.Reader, digest[:], crypto.SHA256); err == nil {
			err = rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest[:], sig)
		}
	case ed25519.PublicKey:
		var sig []byte
		if sig, err = s.Sign(rand.Reader, msg, crypto.Hash(0)); err == nil && !ed25519.Verify(pub, msg, sig) {
			err = errors.New("signature does not verify")
		}
	default:
		err = fmt.Errorf("public key type %T", pub)
	}
	if err != nil {
		return &errkind.Error{Kind: errkind.Internal, Rule: law.L21_1, Detail: "key self-test failed: private and public key do not match", Err: err}
	}
	return nil
}

func scheme(uri string) string {
	s, _, ok := strings.Cut(uri, ":")
	if !ok {
		return ""
	}
	return strings.ToLower(s)
}

func badScheme(uri string) error {
	return errkind.New(errkind.Invalid, law.L21_1, "key URI %q has an unknown scheme (accepted: file:, pkcs11:)", redact(uri))
}

// redact drops a URI's query so that no error echoes a pin-value or similar secret.
func redact(uri string) string {
	s, _, _ := strings.Cut(uri, "?")
	return s
}

// fail builds an error that carries the key rule, a safe detail and a hidden cause.
func fail(k errkind.Kind, cause error, format string, args ...any) error {
	return &errkind.Error{Kind: k, Rule: law.L21_1, Detail: fmt.Sprintf(format, args...), Err: cause}
}
