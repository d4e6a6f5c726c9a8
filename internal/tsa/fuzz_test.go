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

// FuzzDecodeFrames: a journal segment after a crash may end in anything; no bytes
// crash the decoder, it stops inside the input, and what it decodes frames back to
// the same bytes (so a replay reads exactly what was written).
func FuzzDecodeFrames(f *testing.F) {
	var seg []byte
	for i := range 3 {
		r := testRecord(i)
		seg = must(appendFrame(seg, &r))
	}
	f.Add(seg)
	f.Add(seg[:len(seg)-5])
	f.Add(append(seg, make([]byte, 32)...))
	f.Fuzz(func(t *testing.T, b []byte) {
		recs, end, err := decodeFrames(b, -1)
		if end < 0 || end > int64(len(b)) {
			t.Fatalf("stopped at %d of %d bytes", end, len(b))
		}
		if err != nil {
			return // a frame whose CRC checks but whose record does not decode
		}
		var again []byte
		for i := range recs {
			if again, err = appendFrame(again, &recs[i]); err != nil {
				t.Fatalf("a decoded record does not frame: %v", err)
			}
		}
		if string(again) != string(b[:end]) {
			t.Fatal("decoded frames do not frame back to the bytes read")
		}
	})
}
