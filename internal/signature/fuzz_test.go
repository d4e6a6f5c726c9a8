package signature_test

import (
	"bytes"
	"testing"

	"github.com/tawthiq/tawthiq/internal/keys"
	"github.com/tawthiq/tawthiq/internal/signature"
)

// FuzzParse: malformed CMS never panics, and what parses is self-consistent.
func FuzzParse(f *testing.F) {
	fx := newFixture(f, keys.ECDSAP256)
	for _, level := range []signature.Level{signature.BB, signature.BT} {
		for _, detached := range []bool{true, false} {
			sig, err := signature.SignCAdES(f.Context(), document, fx.signer, fx.chain, fx.opts(detached, level))
			if err != nil {
				f.Fatal(err)
			}
			f.Add(sig)
		}
	}
	f.Add([]byte{0x30, 0x00})
	f.Fuzz(func(t *testing.T, der []byte) {
		sd, err := signature.Parse(der)
		if err != nil {
			return
		}
		if sd.Detached != (sd.Content == nil) && !(sd.Detached == false && len(sd.Content) == 0) {
			t.Fatalf("Detached=%v with content %q", sd.Detached, sd.Content)
		}
		for _, si := range sd.Signers {
			if si.SignedAttrs != nil && si.SignedAttrs[0] != 0x31 {
				t.Fatal("signed attributes not retagged as SET OF")
			}
			for _, tok := range si.TimeStampTokens {
				if !bytes.Contains(der, tok) {
					t.Fatal("a token that is not in the input")
				}
			}
		}
	})
}
