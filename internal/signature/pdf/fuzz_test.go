package pdf_test

import (
	"testing"
	"time"

	"github.com/tawthiq/tawthiq/internal/signature/pdf"
	"github.com/tawthiq/tawthiq/internal/signature/pdf/pdftest"
)

// FuzzOpen: no input makes the reader, the signature and DSS readers, the
// byte-range check or the revision comparison panic.
func FuzzOpen(f *testing.F) {
	for _, xrefStream := range []bool{false, true} {
		doc := pdftest.Document("seed", 0, xrefStream)
		f.Add(doc)
		p, err := pdf.Open(doc)
		if err != nil {
			f.Fatal(err)
		}
		prep, err := p.PrepareSignature(pdf.SigField{SubFilter: pdf.SubFilterCAdES, Reserve: 16})
		if err != nil {
			f.Fatal(err)
		}
		signed, err := prep.Embed([]byte{0x30, 0x00})
		if err != nil {
			f.Fatal(err)
		}
		f.Add(signed)
		f.Add(signed[:len(signed)-40])
	}
	f.Add([]byte("%PDF-1.7\nstartxref\n0\n%%EOF"))
	f.Add([]byte("%PDF-1.7\nxref\n0 1\n0000000000 65535 f\r\ntrailer<</Size 1/Prev 9>>\nstartxref\n9\n%%EOF"))
	f.Fuzz(func(t *testing.T, data []byte) {
		// A hang is a failure too: crash the worker so that the input is kept.
		watchdog := time.AfterFunc(20*time.Second, func() { panic("pdf: over 20 s on one input") })
		defer watchdog.Stop()
		p, err := pdf.Open(data)
		if err != nil {
			return
		}
		sigs, _ := p.Signatures()
		for _, s := range sigs {
			if p.CheckByteRange(s) == nil {
				_ = p.SignedBytes(s)
				_, _ = p.ChangesAfter(s.ByteRange[2] + s.ByteRange[3])
				_, _ = p.DSSAt(s.ByteRange[2] + s.ByteRange[3])
			}
			_ = pdf.DER(s.Contents)
		}
		_, _ = p.DSS()
	})
}
