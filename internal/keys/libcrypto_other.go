//go:build !cgo || !linux

package keys

import (
	"crypto"
	"crypto/ecdsa"
	"errors"
)

func libcryptoLoads() error { return errors.New("libcrypto signing needs cgo on Linux") }

// libcryptoSigner is unavailable without cgo on Linux: Go signs.
func libcryptoSigner(*ecdsa.PrivateKey) (crypto.Signer, error) {
	return nil, libcryptoLoads()
}
