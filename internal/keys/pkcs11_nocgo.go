//go:build !cgo

package keys

import (
	"crypto"

	"github.com/tawthiq/tawthiq/internal/errkind"
)

// tokens stands in for the PKCS#11 backend, which crypto11 can only provide through cgo.
type tokens struct{}

func newTokens() tokens { return tokens{} }

func (tokens) generate(uri string, _ Algorithm, _ func(string) string) (crypto.Signer, error) {
	return nil, noCgo(uri)
}

func (tokens) open(uri string, _ func(string) string) (crypto.Signer, error) {
	return nil, noCgo(uri)
}

func (tokens) close() error { return nil }

// noCgo still parses the URI so a typo is reported the same way with and without cgo.
func noCgo(uri string) error {
	if _, err := parsePKCS11URI(uri); err != nil {
		return err
	}
	return fail(errkind.Unavailable, nil, "PKCS#11 support needs cgo: this binary was built with CGO_ENABLED=0")
}
