//go:build cgo && linux

package keys

/*
#cgo LDFLAGS: -ldl
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

// The few libcrypto 3 entry points we call, declared here so the build needs no
// OpenSSL headers: the library is opened at run time, and missing means Go signs.
typedef struct tw_pkey tw_pkey;
typedef struct tw_pctx tw_pctx;

static tw_pkey *(*tw_d2i_AutoPrivateKey)(tw_pkey **, const unsigned char **, long);
static void (*tw_EVP_PKEY_free)(tw_pkey *);
static tw_pctx *(*tw_EVP_PKEY_CTX_new)(tw_pkey *, void *);
static void (*tw_EVP_PKEY_CTX_free)(tw_pctx *);
static int (*tw_EVP_PKEY_sign_init)(tw_pctx *);
static int (*tw_EVP_PKEY_sign)(tw_pctx *, unsigned char *, size_t *, const unsigned char *, size_t);
static void (*tw_ERR_clear_error)(void);
static unsigned long (*tw_OpenSSL_version_num)(void);

// tw_load opens libcrypto.so.3 and resolves every symbol; 0 on success.
static int tw_load(void) {
	void *h = dlopen("libcrypto.so.3", RTLD_NOW | RTLD_LOCAL);
	if (h == NULL) return 1;
#define TW_SYM(name) if ((*(void **)(&tw_##name) = dlsym(h, #name)) == NULL) return 2;
	TW_SYM(d2i_AutoPrivateKey)
	TW_SYM(EVP_PKEY_free)
	TW_SYM(EVP_PKEY_CTX_new)
	TW_SYM(EVP_PKEY_CTX_free)
	TW_SYM(EVP_PKEY_sign_init)
	TW_SYM(EVP_PKEY_sign)
	TW_SYM(ERR_clear_error)
	TW_SYM(OpenSSL_version_num)
#undef TW_SYM
	if (tw_OpenSSL_version_num() < 0x30000000UL) return 3;
	return 0;
}

// tw_key parses an unencrypted PKCS#8 key, then wipes the copy it was given.
static tw_pkey *tw_key(unsigned char *der, long n) {
	const unsigned char *p = der;
	tw_pkey *k = tw_d2i_AutoPrivateKey(NULL, &p, n);
	explicit_bzero(der, (size_t)n);
	free(der);
	tw_ERR_clear_error();
	return k;
}

static tw_pctx *tw_ctx(tw_pkey *k) {
	tw_pctx *c = tw_EVP_PKEY_CTX_new(k, NULL);
	if (c != NULL && tw_EVP_PKEY_sign_init(c) != 1) {
		tw_EVP_PKEY_CTX_free(c);
		c = NULL;
	}
	tw_ERR_clear_error();
	return c;
}

static void tw_ctx_free(tw_pctx *c) { tw_EVP_PKEY_CTX_free(c); }
static void tw_key_free(tw_pkey *k) { tw_EVP_PKEY_free(k); }

// tw_sign writes the DER ECDSA signature of digest into sig; its length, or 0.
static size_t tw_sign(tw_pctx *c, unsigned char *sig, size_t cap, const unsigned char *digest, size_t n) {
	size_t len = cap;
	int ok = tw_EVP_PKEY_sign(c, sig, &len, digest, n);
	if (ok != 1) {
		tw_ERR_clear_error();
		return 0;
	}
	return len;
}
*/
import "C"

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"runtime"
	"sync"
	"unsafe"
)

var libcrypto = sync.OnceValue(func() error {
	switch C.tw_load() {
	case 0:
		return nil
	case 1:
		return errors.New("libcrypto.so.3 not found")
	case 2:
		return errors.New("libcrypto.so.3 lacks a function we call")
	}
	return errors.New("libcrypto is older than 3.0")
})

// libcryptoLoads says why libcrypto cannot sign here, or nil.
func libcryptoLoads() error { return libcrypto() }

// libcryptoSigner returns a signer that signs with priv through libcrypto.
func libcryptoSigner(priv *ecdsa.PrivateKey) (crypto.Signer, error) {
	if err := libcrypto(); err != nil {
		return nil, err
	}
	if c := priv.Curve; c != elliptic.P256() && c != elliptic.P384() {
		return nil, fmt.Errorf("curve %s is not signed through libcrypto", c.Params().Name)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, err
	}
	cder := C.CBytes(der) // tw_key wipes and frees this copy
	clear(der)
	k := C.tw_key((*C.uchar)(cder), C.long(len(der)))
	if k == nil {
		return nil, errors.New("libcrypto refused the key")
	}
	h := &pkeyHandle{key: k, ctxs: make(chan *C.tw_pctx, 64)}
	s := &libcryptoKey{pub: &priv.PublicKey, h: h, sigCap: 9 + 2*(priv.Curve.Params().BitSize/8+1)}
	runtime.AddCleanup(s, (*pkeyHandle).free, h)
	return s, nil
}

// pkeyHandle owns the C objects of one key, freed when its signer is unreachable.
type pkeyHandle struct {
	key  *C.tw_pkey
	ctxs chan *C.tw_pctx // initialised signing contexts; one is used by one call at a time
}

func (h *pkeyHandle) free() {
	for {
		select {
		case c := <-h.ctxs:
			C.tw_ctx_free(c)
		default:
			C.tw_key_free(h.key)
			return
		}
	}
}

type libcryptoKey struct {
	pub    *ecdsa.PublicKey
	h      *pkeyHandle
	sigCap int // the longest DER signature of the curve
}

func (s *libcryptoKey) Public() crypto.PublicKey { return s.pub }

// Sign returns an ASN.1 DER ECDSA signature of digest, as ecdsa.PrivateKey.Sign does;
// the nonce comes from libcrypto's own DRBG, so rand is not read.
func (s *libcryptoKey) Sign(_ io.Reader, digest []byte, _ crypto.SignerOpts) ([]byte, error) {
	if len(digest) == 0 {
		return nil, errors.New("libcrypto: empty digest")
	}
	var c *C.tw_pctx
	select {
	case c = <-s.h.ctxs:
	default:
		if c = C.tw_ctx(s.h.key); c == nil {
			return nil, errors.New("libcrypto: cannot make a signing context")
		}
	}
	sig := make([]byte, s.sigCap)
	n := C.tw_sign(c, (*C.uchar)(unsafe.Pointer(&sig[0])), C.size_t(len(sig)), (*C.uchar)(unsafe.Pointer(&digest[0])), C.size_t(len(digest)))
	select {
	case s.h.ctxs <- c:
	default:
		C.tw_ctx_free(c)
	}
	runtime.KeepAlive(s) // its cleanup frees the key: not before the context is back
	if n == 0 {
		return nil, errors.New("libcrypto: signing failed")
	}
	return sig[:n], nil
}
