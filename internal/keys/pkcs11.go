//go:build cgo

package keys

import (
	"crypto"
	"crypto/rand"
	"errors"
	"strings"

	"github.com/ThalesGroup/crypto11"
	"github.com/miekg/pkcs11"

	"github.com/tawthiq/tawthiq/internal/errkind"
)

// tokenID names one logged-in token of one module.
type tokenID struct{ module, token string }

// tokens holds one crypto11 context (session pool, login) per token.
type tokens struct{ ctxs map[tokenID]*crypto11.Context }

func newTokens() tokens { return tokens{ctxs: map[tokenID]*crypto11.Context{}} }

func (t tokens) context(k hsmKey, getenv func(string) string) (*crypto11.Context, error) {
	id := tokenID{k.module, k.token}
	if c, ok := t.ctxs[id]; ok {
		return c, nil
	}
	pin, err := k.pin(getenv)
	if err != nil {
		return nil, err
	}
	c, err := crypto11.Configure(&crypto11.Config{Path: k.module, TokenLabel: k.token, Pin: pin})
	switch {
	case err == nil:
		t.ctxs[id] = c
		return c, nil
	case errors.Is(err, pkcs11.Error(pkcs11.CKR_PIN_INCORRECT)):
		return nil, fail(errkind.Unauthorized, err, "wrong PIN for token %s", k.token)
	case strings.Contains(err.Error(), "could not find PKCS#11 token"): // crypto11 does not export this error
		return nil, fail(errkind.NotFound, err, "no token labelled %s in module %s", k.token, k.module)
	}
	return nil, fail(errkind.Unavailable, err, "cannot open token %s with module %s", k.token, k.module)
}

func (t tokens) generate(uri string, alg Algorithm, getenv func(string) string) (crypto.Signer, error) {
	k, err := parsePKCS11URI(uri)
	if err != nil {
		return nil, err
	}
	if alg == Ed25519 {
		return nil, fail(errkind.Invalid, nil, "ed25519 keys are not supported on PKCS#11; use ecdsa-p256, ecdsa-p384, rsa-3072 or rsa-4096")
	}
	if k.object == "" {
		return nil, fail(errkind.Invalid, nil, "pkcs11 URI %q needs object=LABEL to generate a key", redact(uri))
	}
	c, err := t.context(k, getenv)
	if err != nil {
		return nil, err
	}
	for _, q := range [][2][]byte{{nil, []byte(k.object)}, {k.id, nil}} {
		if len(q[0]) == 0 && len(q[1]) == 0 {
			continue
		}
		found, err := c.FindPrivateKeys(q[0], q[1])
		if err != nil {
			return nil, fail(errkind.Unavailable, err, "cannot search token %s", k.token)
		}
		if len(found) > 0 {
			return nil, fail(errkind.Conflict, nil, "a key labelled %s or with that id already exists on token %s; refusing to add another", k.object, k.token)
		}
	}
	id := k.id
	if len(id) == 0 {
		id = make([]byte, 16)
		if _, err := rand.Read(id); err != nil {
			return nil, fail(errkind.Internal, err, "cannot draw a key id")
		}
	}
	pub, priv, err := signOnlyTemplates(id, []byte(k.object))
	if err != nil {
		return nil, err
	}
	spec, _ := algorithmSpec(alg)
	var s crypto11.Signer
	if spec.curve != nil {
		s, err = c.GenerateECDSAKeyPairWithAttributes(pub, priv, spec.curve)
	} else {
		s, err = c.GenerateRSAKeyPairWithAttributes(pub, priv, spec.bits)
	}
	if err != nil {
		return nil, fail(errkind.Unavailable, err, "token %s could not generate a %s key", k.token, alg)
	}
	return &signer{pub: s.Public(), impl: s}, nil
}

// signOnlyTemplates make a key that stays in the token and may only sign (L-21-1).
func signOnlyTemplates(id, label []byte) (pub, priv crypto11.AttributeSet, err error) {
	pub, err = crypto11.NewAttributeSetWithIDAndLabel(id, label)
	if err != nil {
		return nil, nil, fail(errkind.Internal, err, "cannot build key template")
	}
	priv = pub.Copy()
	for _, a := range []struct {
		t crypto11.AttributeType
		v bool
	}{
		{crypto11.CkaToken, true}, {crypto11.CkaPrivate, true}, {crypto11.CkaSign, true},
		{crypto11.CkaSensitive, true}, {crypto11.CkaExtractable, false},
		{crypto11.CkaDecrypt, false}, {crypto11.CkaUnwrap, false}, {crypto11.CkaDerive, false},
		{crypto11.CkaSignRecover, false},
	} {
		if err := priv.Set(a.t, a.v); err != nil {
			return nil, nil, fail(errkind.Internal, err, "cannot build key template")
		}
	}
	_ = pub.Set(crypto11.CkaToken, true)
	_ = pub.Set(crypto11.CkaVerify, true)
	_ = pub.Set(crypto11.CkaEncrypt, false) // the public half verifies only, too
	_ = pub.Set(crypto11.CkaWrap, false)
	return pub, priv, nil
}

func (t tokens) open(uri string, getenv func(string) string) (crypto.Signer, error) {
	k, err := parsePKCS11URI(uri)
	if err != nil {
		return nil, err
	}
	c, err := t.context(k, getenv)
	if err != nil {
		return nil, err
	}
	var label []byte
	if k.object != "" {
		label = []byte(k.object)
	}
	found, err := c.FindKeyPairs(k.id, label)
	if err != nil {
		return nil, fail(errkind.Unavailable, err, "cannot search token %s", k.token)
	}
	switch len(found) {
	case 0:
		return nil, fail(errkind.NotFound, nil, "no key pair %s on token %s", redact(uri), k.token)
	case 1:
		return &signer{pub: found[0].Public(), impl: found[0]}, nil
	}
	return nil, fail(errkind.Conflict, nil, "%d key pairs match %s on token %s; name one by id", len(found), redact(uri), k.token)
}

func (t tokens) close() error {
	var errs []error
	for id, c := range t.ctxs {
		errs = append(errs, c.Close())
		delete(t.ctxs, id)
	}
	return errors.Join(errs...)
}
