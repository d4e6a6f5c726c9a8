package tsa

import (
	"crypto"
	"crypto/x509"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"

	"encoding/asn1"
)

type cryptoHash = crypto.Hash

// knownSigAlgs are the signature algorithms CheckReply accepts, as DER AlgorithmIdentifiers.
var knownSigAlgs = func() []struct {
	id   []byte
	alg  x509.SignatureAlgorithm
	hash crypto.Hash
} {
	type entry = struct {
		id   []byte
		alg  x509.SignatureAlgorithm
		hash crypto.Hash
	}
	mk := func(oid asn1.ObjectIdentifier, null bool) []byte {
		var b cryptobyte.Builder
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1ObjectIdentifier(oid)
			if null {
				b.AddASN1NULL()
			}
		})
		return b.BytesOrPanic()
	}
	return []entry{
		{mk(asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 2}, false), x509.ECDSAWithSHA256, crypto.SHA256},
		{mk(asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 3}, false), x509.ECDSAWithSHA384, crypto.SHA384},
		{mk(asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 4}, false), x509.ECDSAWithSHA512, crypto.SHA512},
		{mk(asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 11}, true), x509.SHA256WithRSA, crypto.SHA256},
		{mk(asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 12}, true), x509.SHA384WithRSA, crypto.SHA384},
		{mk(asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 13}, true), x509.SHA512WithRSA, crypto.SHA512},
		{mk(asn1.ObjectIdentifier{1, 3, 101, 112}, false), x509.PureEd25519, crypto.SHA512},
	}
}()
