package keys

import (
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/tawthiq/tawthiq/internal/errkind"
)

// hsmKey is a parsed pkcs11: URI (the RFC 7512 subset the CSP needs).
type hsmKey struct {
	module    string // module-path
	token     string // token label
	object    string // CKA_LABEL
	id        []byte // CKA_ID
	pinSource string // env:VAR or file:/path
}

// parsePKCS11URI parses pkcs11:token=T;object=L;id=%01?module-path=/m.so&pin-source=env:VAR.
// Unknown attributes are refused: a typo must not select another key.
func parsePKCS11URI(uri string) (hsmKey, error) {
	rest, ok := strings.CutPrefix(uri, "pkcs11:")
	if !ok {
		return hsmKey{}, fail(errkind.Invalid, nil, "key URI %q is not a pkcs11: URI", redact(uri))
	}
	path, query, _ := strings.Cut(rest, "?")
	var k hsmKey
	attr := func(part, sep string, set func(name, val string) error) error {
		if part == "" {
			return nil
		}
		seen := map[string]bool{}
		for _, a := range strings.Split(part, sep) {
			name, raw, ok := strings.Cut(a, "=")
			if !ok || raw == "" {
				return fail(errkind.Invalid, nil, "pkcs11 URI %q: attribute %q needs a value", redact(uri), name)
			}
			if seen[name] {
				return fail(errkind.Invalid, nil, "pkcs11 URI %q: attribute %q given twice", redact(uri), name)
			}
			seen[name] = true
			val, err := url.PathUnescape(raw)
			if err != nil {
				return fail(errkind.Invalid, err, "pkcs11 URI %q: attribute %q is badly percent-encoded", redact(uri), name)
			}
			if err := set(name, val); err != nil {
				return err
			}
		}
		return nil
	}
	err := attr(path, ";", func(name, val string) error {
		switch name {
		case "token":
			k.token = val
		case "object":
			k.object = val
		case "id":
			k.id = []byte(val)
		case "type":
			if val != "private" {
				return fail(errkind.Invalid, nil, "pkcs11 URI %q: type must be private", redact(uri))
			}
		case "pin-value":
			return fail(errkind.Invalid, nil, "pkcs11 URI: pin-value is refused; use pin-source=env:VAR or pin-source=file:/path")
		default:
			return fail(errkind.Invalid, nil, "pkcs11 URI %q: unknown path attribute %q (accepted: token, object, id, type)", redact(uri), name)
		}
		return nil
	})
	if err != nil {
		return hsmKey{}, err
	}
	err = attr(query, "&", func(name, val string) error {
		switch name {
		case "module-path":
			k.module = val
		case "pin-source":
			k.pinSource = val
		case "pin-value":
			return fail(errkind.Invalid, nil, "pkcs11 URI: pin-value is refused; use pin-source=env:VAR or pin-source=file:/path")
		default:
			return fail(errkind.Invalid, nil, "pkcs11 URI %q: unknown query attribute %q (accepted: module-path, pin-source)", redact(uri), name)
		}
		return nil
	})
	if err != nil {
		return hsmKey{}, err
	}
	switch {
	case k.token == "":
		return hsmKey{}, fail(errkind.Invalid, nil, "pkcs11 URI %q names no token", redact(uri))
	case k.object == "" && len(k.id) == 0:
		return hsmKey{}, fail(errkind.Invalid, nil, "pkcs11 URI %q names no object or id", redact(uri))
	case !filepath.IsAbs(k.module):
		return hsmKey{}, fail(errkind.Invalid, nil, "pkcs11 URI %q needs module-path=/absolute/path/to/module.so", redact(uri))
	case k.pinSource == "":
		return hsmKey{}, fail(errkind.Invalid, nil, "pkcs11 URI %q needs pin-source=env:VAR or pin-source=file:/path", redact(uri))
	}
	return k, nil
}

// pin reads the token PIN from its source; the PIN never sits in configuration (L-21-1).
func (k hsmKey) pin(getenv func(string) string) (string, error) {
	switch {
	case strings.HasPrefix(k.pinSource, "env:"):
		name := strings.TrimPrefix(k.pinSource, "env:")
		if p := getenv(name); p != "" {
			return p, nil
		}
		return "", fail(errkind.Invalid, nil, "PIN variable %s for token %s is unset or empty", name, k.token)
	case strings.HasPrefix(k.pinSource, "file:"):
		name := strings.TrimPrefix(k.pinSource, "file:")
		if !filepath.IsAbs(name) {
			return "", fail(errkind.Invalid, nil, "PIN file %q for token %s must be an absolute path", name, k.token)
		}
		b, err := os.ReadFile(name)
		if err != nil {
			return "", fail(errkind.Invalid, err, "cannot read PIN file %s for token %s", name, k.token)
		}
		if p := strings.TrimRight(string(b), "\r\n"); p != "" {
			return p, nil
		}
		return "", fail(errkind.Invalid, nil, "PIN file %s for token %s is empty", name, k.token)
	}
	return "", fail(errkind.Invalid, nil, "pin-source %q is not accepted (accepted: env:VAR, file:/path)", k.pinSource)
}
