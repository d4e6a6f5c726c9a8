package tsa

import (
	"crypto"
	"testing"
)

// FuzzParseRequest: no input crashes the parser, and whatever it accepts is bounded
// and points into the input.
func FuzzParseRequest(f *testing.F) {
	h := make([]byte, 32)
	for _, seed := range [][]byte{
		must(BuildRequest(crypto.SHA256, h, []byte{1, 2, 3}, true, nil)),
		must(BuildRequest(crypto.SHA512, make([]byte, 64), nil, false, []int{1, 2, 3})),
		{0x30, 0x00}, {0x30, 0x03, 0x02, 0x01, 0x01},
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, der []byte) {
		var req request
		if fail := parseRequest(der, &req); fail != nil {
			if fail.reason == "" {
				t.Fatal("a refusal without a reason")
			}
			refusal(fail) // always encodable
			return
		}
		if len(req.hashed) != imprintHashes[req.hashIdx].Hash.Size() || len(req.nonce) > maxNonce {
			t.Fatalf("accepted out of bounds: %+v", req)
		}
	})
}

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}
