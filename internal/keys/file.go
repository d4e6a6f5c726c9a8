package keys

import (
	"crypto"
	"encoding/pem"
	"errors"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"unicode/utf8"

	"github.com/youmark/pkcs8"

	"github.com/tawthiq/tawthiq/internal/errkind"
)

// MinPassphraseLen is the shortest passphrase accepted for a file: key, in characters (L-21-1).
const MinPassphraseLen = 12

// pemType is what openssl writes and reads for PBES2-encrypted PKCS#8.
const pemType = "ENCRYPTED PRIVATE KEY"

// kdfIterations follows OWASP's 2023 figure for PBKDF2-HMAC-SHA256; scrypt would need more
// memory than openssl 3.0 allows by default when decrypting, so the independent check fails.
const kdfIterations = 600_000

// fileKey is a parsed file: URI.
type fileKey struct {
	path     string
	passEnv  string
	passFile string
}

func parseFileURI(uri string) (fileKey, error) {
	u, err := url.Parse(uri)
	if err != nil {
		return fileKey{}, fail(errkind.Invalid, err, "file key URI %q does not parse", redact(uri))
	}
	if u.Opaque != "" || (u.Host != "" && u.Host != "localhost") || !filepath.IsAbs(u.Path) || u.Fragment != "" {
		return fileKey{}, fail(errkind.Invalid, nil, "file key URI %q must be file:/absolute/path", redact(uri))
	}
	k := fileKey{path: filepath.Clean(u.Path)}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return fileKey{}, fail(errkind.Invalid, err, "file key URI %q has a bad query", redact(uri))
	}
	for name, vals := range q {
		if len(vals) != 1 || vals[0] == "" {
			return fileKey{}, fail(errkind.Invalid, nil, "file key URI %q: %s must be given once, not empty", redact(uri), name)
		}
		switch name {
		case "pass-env":
			k.passEnv = vals[0]
		case "pass-file":
			if !filepath.IsAbs(vals[0]) {
				return fileKey{}, fail(errkind.Invalid, nil, "file key URI %q: pass-file must be an absolute path", redact(uri))
			}
			k.passFile = filepath.Clean(vals[0])
		default:
			return fileKey{}, fail(errkind.Invalid, nil, "file key URI %q: unknown attribute %q (accepted: pass-env, pass-file)", redact(uri), name)
		}
	}
	if k.passEnv != "" && k.passFile != "" {
		return fileKey{}, fail(errkind.Invalid, nil, "file key URI %q names both pass-env and pass-file", redact(uri))
	}
	return k, nil
}

// passphrase reads the key's passphrase from the URI's source, else from the registry's (L-21-1).
func (r *Registry) passphrase(k fileKey) ([]byte, error) {
	env, file := k.passEnv, k.passFile
	if env == "" && file == "" {
		env, file = r.opts.PassphraseEnv, r.opts.PassphraseFile
		if env != "" && file != "" && r.opts.Getenv(env) == "" {
			env = "" // the file is the fallback when the variable is unset
		}
	}
	var pass string
	switch {
	case env != "":
		pass = r.opts.Getenv(env)
		if pass == "" {
			return nil, fail(errkind.Invalid, nil, "passphrase variable %s for key %s is unset or empty", env, k.path)
		}
	case file != "":
		if err := notBeside(file, k.path); err != nil {
			return nil, err
		}
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, fail(errkind.Invalid, err, "cannot read passphrase file %s for key %s", file, k.path)
		}
		pass = strings.TrimRight(string(b), "\r\n")
	default:
		return nil, fail(errkind.Invalid, nil, "no passphrase source for key %s: add ?pass-env=VAR or ?pass-file=/path to the URI, or configure one", k.path)
	}
	if n := utf8.RuneCountInString(pass); n < MinPassphraseLen {
		return nil, fail(errkind.Invalid, nil, "passphrase for key %s has %d characters; at least %d are required", k.path, n, MinPassphraseLen)
	}
	return []byte(pass), nil
}

// notBeside refuses a passphrase file stored in the key's own directory: one copy would leak both (L-21-1).
func notBeside(passFile, keyPath string) error {
	pd, kd := realDir(passFile), realDir(keyPath)
	if pd == kd {
		return fail(errkind.Invalid, nil, "passphrase file %s sits in the same directory as key %s; keep it elsewhere", passFile, keyPath)
	}
	return nil
}

func realDir(p string) string {
	d := filepath.Dir(p)
	if r, err := filepath.EvalSymlinks(d); err == nil {
		return r
	}
	return d
}

func (r *Registry) generateFile(uri string, alg Algorithm) (crypto.Signer, error) {
	k, err := parseFileURI(uri)
	if err != nil {
		return nil, err
	}
	pass, err := r.passphrase(k)
	if err != nil {
		return nil, err
	}
	defer clear(pass) // our copy of the passphrase lives no longer than needed
	if _, err := os.Lstat(k.path); err == nil {
		return nil, fail(errkind.Conflict, nil, "a key already exists at %s; refusing to overwrite it", k.path)
	}
	spec, _ := algorithmSpec(alg)
	priv, err := spec.generate()
	if err != nil {
		return nil, fail(errkind.Internal, err, "cannot generate %s key", alg)
	}
	// MarshalPrivateKey writes clear PKCS#8 for an empty password: passphrase() never returns one.
	der, err := pkcs8.MarshalPrivateKey(priv, pass, &pkcs8.Opts{
		Cipher:  pkcs8.AES256CBC,
		KDFOpts: pkcs8.PBKDF2Opts{SaltSize: 16, IterationCount: kdfIterations, HMACHash: crypto.SHA256},
	})
	if err != nil {
		return nil, fail(errkind.Internal, err, "cannot encrypt %s key", alg)
	}
	if err := writeNew(k.path, pem.EncodeToMemory(&pem.Block{Type: pemType, Bytes: der})); err != nil {
		return nil, err
	}
	return r.software(priv)
}

func (r *Registry) openFile(uri string) (crypto.Signer, error) {
	k, err := parseFileURI(uri)
	if err != nil {
		return nil, err
	}
	pass, err := r.passphrase(k)
	if err != nil {
		return nil, err
	}
	defer clear(pass) // our copy of the passphrase lives no longer than needed
	b, err := os.ReadFile(k.path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fail(errkind.NotFound, err, "no key at %s", k.path)
	} else if err != nil {
		return nil, fail(errkind.Unavailable, err, "cannot read key %s", k.path)
	}
	block, _ := pem.Decode(b)
	if block == nil || block.Type != pemType {
		return nil, fail(errkind.Invalid, nil, "key %s is not a PEM %q block; clear keys are refused", k.path, pemType)
	}
	if err := checkEnvelope(block.Bytes); err != nil {
		return nil, fail(errkind.Invalid, err, "key %s is damaged or encrypted in a way we do not read", k.path)
	}
	priv, _, err := pkcs8.ParsePrivateKey(block.Bytes, pass)
	if err != nil {
		return nil, fail(errkind.Unauthorized, err, "cannot decrypt key %s: wrong passphrase or damaged file", k.path)
	}
	s, ok := priv.(crypto.Signer)
	if !ok {
		return nil, fail(errkind.Invalid, nil, "key %s holds a %T, which cannot sign", k.path, priv)
	}
	return r.software(s)
}

// writeNew writes b at path with mode 0600, durably, and fails if path exists.
func writeNew(path string, b []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fail(errkind.Unavailable, err, "cannot create key directory %s", dir)
	}
	tmp, err := os.CreateTemp(dir, ".tmp-"+filepath.Base(path)+"-*")
	if err != nil {
		return fail(errkind.Unavailable, err, "cannot create key file in %s", dir)
	}
	defer os.Remove(tmp.Name()) // after the link the key lives on under its own name
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fail(errkind.Unavailable, err, "cannot restrict key file mode")
	}
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return fail(errkind.Unavailable, err, "cannot write key file")
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fail(errkind.Unavailable, err, "cannot sync key file")
	}
	if err := tmp.Close(); err != nil {
		return fail(errkind.Unavailable, err, "cannot close key file")
	}
	// link, unlike rename, fails on an existing name: two generators never overwrite each other.
	if err := os.Link(tmp.Name(), path); errors.Is(err, fs.ErrExist) {
		return fail(errkind.Conflict, err, "a key already exists at %s; refusing to overwrite it", path)
	} else if err != nil {
		return fail(errkind.Unavailable, err, "cannot install key file %s", path)
	}
	return syncDir(dir)
}

// syncDir makes the new directory entry survive a crash.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fail(errkind.Unavailable, err, "cannot open key directory %s", dir)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fail(errkind.Unavailable, err, "cannot sync key directory %s", dir)
	}
	return nil
}
