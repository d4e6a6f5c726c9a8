package pdftest

import (
	"testing"

	"github.com/tawthiq/tawthiq/internal/signature/pdf"
)

// ChangePage appends an update that rewrites the page's content stream (object
// 4 of Document): the change after signing that PAdES does not allow.
func ChangePage(t testing.TB, doc []byte) []byte {
	t.Helper()
	f, err := pdf.Open(doc)
	if err != nil {
		t.Fatal(err)
	}
	u := f.NewUpdate()
	u.Set(4, pdf.Stream("", []byte("BT /F1 14 Tf 72 770 Td (Contrat: 90 000 dirhams) Tj ET")))
	out, _, err := u.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	return out
}
