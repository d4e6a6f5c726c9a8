package ocsp

import (
	"bytes"
	"encoding/hex"
	"testing"
)

// Real `openssl ocsp` requests: with a nonce, without, and two SHA-256 CertIDs with a nonce.
var seedRequests = []string{
	"30763074304d304b3049300906052b0e03021a0500041411048cd20cb3592307d019fd0889562b62d3649204146a431326c0242bd5dfcda34f9671d05142b1f8950210519b9ebe9b4ccfe503d512544f8e55b1a2233021301f06092b060105050730010204120410918a94827f5537359d3cae56be8857d5",
	"3051304f304d304b3049300906052b0e03021a0500041411048cd20cb3592307d019fd0889562b62d3649204146a431326c0242bd5dfcda34f9671d05142b1f8950210519b9ebe9b4ccfe503d512544f8e55b1",
	"308201013081fe3081d630673065300d0609608648016503040201050004206d55a0a38e5290f86e181e6a9c8e91f3aa5ee0e0ca89d5b77fff149591933271042015ba21d73826266e108a6ce1b46a6bdf8b6509d31365ec21b4eccb7aed2254990210519b9ebe9b4ccfe503d512544f8e55b1306b3069300d0609608648016503040201050004206d55a0a38e5290f86e181e6a9c8e91f3aa5ee0e0ca89d5b77fff149591933271042015ba21d73826266e108a6ce1b46a6bdf8b6509d31365ec21b4eccb7aed225499021475da01ee18e305f847c1da239ecc7cd7630e9a3ea2233021301f06092b060105050730010204120410def35ba36b5304dd184bfe155ed4a9b3",
}

// FuzzParseRequest: parsing untrusted requests never panics, and what it accepts
// points only into the input, within the bounds it promises.
func FuzzParseRequest(f *testing.F) {
	for _, s := range seedRequests {
		b, _ := hex.DecodeString(s)
		f.Add(b)
	}
	f.Add([]byte{0x30, 0x00})
	f.Fuzz(func(t *testing.T, der []byte) {
		var req request
		if err := parseRequest(der, &req); err != nil {
			return
		}
		if req.n < 1 || req.n > maxCerts {
			t.Fatalf("%d certificates accepted", req.n)
		}
		for _, id := range req.certs[:req.n] {
			if !bytes.Contains(der, id.raw) || len(id.serial) == 0 || len(id.serial) > maxSerial || id.serial[0]&0x80 != 0 {
				t.Fatalf("bad CertID %x", id.raw)
			}
			if id.alg < numAlgs && (len(id.nameHash) != hashSizes[id.alg] || len(id.keyHash) != hashSizes[id.alg]) {
				t.Fatalf("hash sizes %d %d", len(id.nameHash), len(id.keyHash))
			}
		}
		if req.nonce != nil && !bytes.Contains(der, req.nonce) {
			t.Fatal("nonce not from the request")
		}
	})
}

func TestParseRequestSeeds(t *testing.T) {
	for i, s := range seedRequests {
		b, _ := hex.DecodeString(s)
		var req request
		if err := parseRequest(b, &req); err != nil {
			t.Fatalf("seed %d: %v", i, err)
		}
		wantN := map[int]int{0: 1, 1: 1, 2: 2}[i]
		if req.n != wantN || !req.certs[0].canonical || (i == 1) == (req.nonce != nil) {
			t.Fatalf("seed %d: %+v", i, req)
		}
	}
}

func TestParseRequestAllocates(t *testing.T) {
	b, _ := hex.DecodeString(seedRequests[0])
	var req request
	if n := testing.AllocsPerRun(100, func() { _ = parseRequest(b, &req) }); n != 0 {
		t.Fatalf("parseRequest allocates %v times", n)
	}
}
