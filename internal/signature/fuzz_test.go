package signature_test

import (
	"bytes"
	"crypto"
	"slices"
	"testing"
	"time"

	"github.com/tawthiq/tawthiq/internal/keys"
	"github.com/tawthiq/tawthiq/internal/signature"
	"github.com/tawthiq/tawthiq/internal/signature/pdf/pdftest"
	"github.com/tawthiq/tawthiq/internal/testpki"
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
	for _, level := range []signature.Level{signature.BLT, signature.BLTA} {
		src := &testpki.RevocationSource{H: fx.h, At: fx.now.Add(2 * time.Second), OCSP: level == signature.BLT}
		sig, err := signature.SignCAdES(f.Context(), document, fx.signer, fx.chain, fx.ltOpts(false, level, src))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(sig)
	}
	withCTS := fx.opts(true, signature.BT)
	withCTS.ContentTimeStamp = true
	sig, err := signature.SignCAdES(f.Context(), document, fx.signer, fx.chain, withCTS)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(sig)
	f.Add([]byte{0x30, 0x00})
	f.Fuzz(func(t *testing.T, der []byte) {
		sd, err := signature.Parse(der)
		if err != nil {
			return
		}
		for _, d := range append(append(sd.CRLs, sd.OCSPs...), sd.RevocationChoices...) {
			if !bytes.Contains(der, d) {
				t.Fatal("revocation data that is not in the input")
			}
		}
		if len(sd.CRLs)+len(sd.OCSPs) > len(sd.RevocationChoices) {
			t.Fatal("more CRLs and OCSP responses than RevocationInfoChoices")
		}
		if sd.Detached != (sd.Content == nil) && !(sd.Detached == false && len(sd.Content) == 0) {
			t.Fatalf("Detached=%v with content %q", sd.Detached, sd.Content)
		}
		for _, si := range sd.Signers {
			if si.SignedAttrs != nil && si.SignedAttrs[0] != 0x31 {
				t.Fatal("signed attributes not retagged as SET OF")
			}
			for _, tok := range slices.Concat(si.TimeStampTokens, si.ContentTimeStamps) {
				if !bytes.Contains(der, tok) {
					t.Fatal("a token that is not in the input")
				}
			}
			n := 0
			for _, a := range si.UnsignedAttrs {
				if !bytes.Contains(der, a) {
					t.Fatal("an unsigned attribute that is not in the input")
				}
				vals, err := signature.AttributeValues(a)
				if err != nil {
					t.Fatalf("a parsed unsigned attribute does not read back: %v", err)
				}
				n += len(vals)
			}
			if n != len(si.UnsignedAttrValues) {
				t.Fatalf("%d unsigned attribute values in %d attributes, %d indexed", n, len(si.UnsignedAttrs), len(si.UnsignedAttrValues))
			}
			for _, ats := range si.ArchiveTimeStamps {
				if !bytes.Contains(der, ats.Token) || (ats.HashIndex != nil && !bytes.Contains(ats.Token, ats.HashIndex)) {
					t.Fatal("an archive time-stamp that is not in the input")
				}
				// Recomputing the input never panics, whatever the index says.
				_, _ = signature.ArchiveTimeStampInput(sd, &si, ats.HashIndex, crypto.SHA256, der)
			}
		}
	})
}

// FuzzStatusAnswers: any bytes offered as a CRL or an OCSP response give no
// answer or an authentic one, never a panic; only the issuer's own data counts.
func FuzzStatusAnswers(f *testing.F) {
	fx := newFixture(f, keys.ECDSAP256)
	src := &testpki.RevocationSource{H: fx.h, At: fx.now}
	crls, _, err := src.Revocation(f.Context(), fx.chain[0], fx.chain[1])
	if err != nil {
		f.Fatal(err)
	}
	src.OCSP = true
	_, ocsps, err := src.Revocation(f.Context(), fx.chain[0], fx.chain[1])
	if err != nil {
		f.Fatal(err)
	}
	f.Add(crls[0], true)
	f.Add(ocsps[0], false)
	f.Add([]byte{0x30, 0x03, 0x0a, 0x01, 0x00}, false)
	cert, issuer := fx.chain[0], fx.chain[1]
	f.Fuzz(func(t *testing.T, der []byte, isCRL bool) {
		var got []signature.StatusAnswer
		if isCRL {
			got = signature.StatusAnswers(cert, issuer, [][]byte{der}, nil)
		} else {
			got = signature.StatusAnswers(cert, issuer, nil, [][]byte{der})
		}
		if len(got) > 1 {
			t.Fatalf("%d answers from one document", len(got))
		}
		if len(got) == 1 && (got[0].ThisUpdate.IsZero() || got[0].Revoked != !got[0].RevokedAt.IsZero()) {
			t.Fatalf("an incoherent answer %+v", got[0])
		}
	})
}

// FuzzExtend: a malformed or foreign PDF or CMS never panics the extenders, which
// read it before any TSA or status is asked for; what they return at the file's
// own level is the file unchanged.
func FuzzExtend(f *testing.F) {
	fx := newFixture(f, keys.ECDSAP256)
	for _, level := range []signature.Level{signature.BB, signature.BLTA} {
		src := &testpki.RevocationSource{H: fx.h, At: fx.now.Add(2 * time.Second)}
		sig, err := signature.SignCAdES(f.Context(), document, fx.signer, fx.chain, fx.ltOpts(true, level, src))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(sig)
		pdf, err := signature.SignPAdES(f.Context(), pdftest.Document("Contrat", 0, level == signature.BB), fx.signer, fx.chain, fx.padesOpts(level))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(pdf)
	}
	f.Add([]byte("%PDF-1.7\n%%EOF\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		// No stamper and no status source: only the reading and level logic run.
		if out, err := signature.ExtendPAdES(t.Context(), b, signature.BB, signature.ExtendOptions{}); err == nil && !bytes.Equal(out, b) {
			t.Fatal("ExtendPAdES at the file's own level changed it")
		}
		if out, err := signature.ExtendCAdES(t.Context(), b, document, signature.BB, signature.ExtendOptions{}); err == nil && !bytes.Equal(out, b) {
			t.Fatal("ExtendCAdES at the file's own level changed it")
		}
	})
}
