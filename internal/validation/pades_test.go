package validation_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"testing"
	"time"

	"github.com/tawthiq/tawthiq/internal/law"
	"github.com/tawthiq/tawthiq/internal/signature"
	"github.com/tawthiq/tawthiq/internal/signature/pdf"
	"github.com/tawthiq/tawthiq/internal/signature/pdf/pdftest"
	"github.com/tawthiq/tawthiq/internal/testpki"
	"github.com/tawthiq/tawthiq/internal/validation"
)

// crlSource serves CRLs signed by the test hierarchy's CAs, issued at.
type crlSource struct {
	h  *testpki.Hierarchy
	at time.Time
}

func (s crlSource) Revocation(_ context.Context, _, issuer *x509.Certificate) ([][]byte, [][]byte, error) {
	for _, n := range []*testpki.Node{s.h.Root, s.h.Signature, s.h.Seal} {
		if bytes.Equal(n.Cert.Raw, issuer.Raw) {
			crl, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{Number: big.NewInt(s.at.Unix()),
				ThisUpdate: s.at, NextUpdate: s.at.Add(24 * time.Hour)}, n.Cert, n.Signer)
			return [][]byte{crl}, nil, err
		}
	}
	return nil, nil, errors.New("unknown issuer")
}

func (f *fixture) signPDF(t testing.TB, doc []byte, level signature.Level) []byte {
	t.Helper()
	out, err := signature.SignPAdES(context.Background(), doc, f.signer, f.chain, signature.PAdESOptions{Level: level, Stamper: f.tsa,
		Revocation: crlSource{h: f.h, at: f.now.Add(-time.Minute)}, CACerts: []*x509.Certificate{f.h.Root.Cert},
		Now: func() time.Time { return f.now }})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func pdfConclusion(r validation.PDFReport, id law.ID) validation.Conclusion {
	for _, c := range r.Conclusions {
		if c.Rule == id {
			return c
		}
	}
	return validation.Conclusion{Rule: id, Why: "missing"}
}

// TestPAdESCorpus: each document, with the expected EN 319 102-1 indication of
// the document and the L-9 conclusion, over both cross-reference styles.
func TestPAdESCorpus(t *testing.T) {
	f := newFixture(t)
	other := newFixture(t) // another hierarchy: its root is not ours
	good := status{}
	at := f.now.Add(time.Hour)
	for _, xrefStream := range []bool{false, true} {
		doc := pdftest.Document("Contrat de vente", 0, xrefStream)
		bt := f.signPDF(t, doc, signature.BT)
		blt := f.signPDF(t, doc, signature.BLT)
		blta := f.signPDF(t, doc, signature.BLTA)
		flipped := bytes.Clone(bt)
		flipped[bytes.Index(flipped, []byte("(Contrat"))+2] = 'i' // "Cintrat", inside the first range
		// The signature's CMS no longer parses; the document time-stamp after it must not lend it a level.
		unreadable := bytes.Clone(blta)
		var br [4]int
		if _, err := fmt.Sscanf(string(unreadable[bytes.Index(unreadable, []byte("/ByteRange"))+len("/ByteRange"):]), "[%d %d %d %d", &br[0], &br[1], &br[2], &br[3]); err != nil || unreadable[br[1]] != '<' {
			t.Fatalf("the signature's byte range: %v %v", br, err)
		}
		copy(unreadable[br[1]+1:], "0000") // the gap's hex: the CMS no longer starts with a SEQUENCE
		cases := []struct {
			name    string
			doc     []byte
			opts    validation.Options
			ind     validation.Indication
			sub     validation.SubIndication
			level   string
			l9      bool
			changed bool
		}{
			{"untouched B-T", bt, validation.Options{Roots: []*x509.Certificate{f.h.Root.Cert}, Status: good, Now: at}, validation.TotalPassed, "", "B-T", true, false},
			{"one byte changed in the signed range", flipped, validation.Options{Roots: []*x509.Certificate{f.h.Root.Cert}, Status: good, Now: at}, validation.TotalFailed, validation.HashFailure, "B-T", false, false},
			{"unknown CA", bt, validation.Options{Roots: []*x509.Certificate{other.h.Root.Cert}, Status: good, Now: at}, validation.Indeterminate, validation.NoCertificateChainFound, "B-T", false, false},
			{"page changed after signing", pdftest.ChangePage(t, blt), validation.Options{Roots: []*x509.Certificate{f.h.Root.Cert}, Now: at}, validation.TotalPassed, "", "B-LT", false, true},
			{"B-LT offline from the DSS", blt, validation.Options{Roots: []*x509.Certificate{f.h.Root.Cert}, Now: at}, validation.TotalPassed, "", "B-LT", true, false},
			// The DSS or Extra is judged as CAdES's own data is (EN 319 102-1 §5.2.5).
			{"B-T offline, CRLs current at the time-stamp", bt, validation.Options{Roots: []*x509.Certificate{f.h.Root.Cert}, Now: at, Extra: crlsAt(t, f, f.now.Add(-6*time.Hour))}, validation.TotalPassed, "", "B-T", true, false},
			{"B-T offline, CRLs outdated at the time-stamp", bt, validation.Options{Roots: []*x509.Certificate{f.h.Root.Cert}, Now: at, Extra: crlsAt(t, f, f.now.Add(-30*time.Hour))}, validation.Indeterminate, validation.TryLater, "B-T", false, false},
			{"B-T offline without a DSS", bt, validation.Options{Roots: []*x509.Certificate{f.h.Root.Cert}, Now: at}, validation.Indeterminate, validation.TryLater, "B-T", false, false},
			{"B-LTA", blta, validation.Options{Roots: []*x509.Certificate{f.h.Root.Cert}, Now: at}, validation.TotalPassed, "", "B-LTA", true, false},
			{"B-LTA whose signature does not parse", unreadable, validation.Options{Roots: []*x509.Certificate{f.h.Root.Cert}, Now: at}, validation.TotalFailed, validation.FormatFailure, "", false, false},
			{"truncated", blt[:len(blt)/3], validation.Options{Roots: []*x509.Certificate{f.h.Root.Cert}, Now: at}, validation.TotalFailed, validation.FormatFailure, "", false, false},
			{"not a PDF", document, validation.Options{Roots: []*x509.Certificate{f.h.Root.Cert}, Now: at}, validation.TotalFailed, validation.FormatFailure, "", false, false},
			{"unsigned PDF", doc, validation.Options{Roots: []*x509.Certificate{f.h.Root.Cert}, Now: at}, validation.TotalFailed, validation.FormatFailure, "", false, false},
		}
		for _, tc := range cases {
			t.Run(tc.name+map[bool]string{false: "/xref-table", true: "/xref-stream"}[xrefStream], func(t *testing.T) {
				r := validation.ValidatePAdES(t.Context(), tc.doc, tc.opts)
				j, _ := json.MarshalIndent(r, "", " ")
				if r.Indication != tc.ind || r.SubIndication != tc.sub || r.Level != tc.level || r.ChangedAfterSigning != tc.changed {
					t.Fatalf("got %s/%s level %q changed=%v, want %s/%s level %q changed=%v\n%s",
						r.Indication, r.SubIndication, r.Level, r.ChangedAfterSigning, tc.ind, tc.sub, tc.level, tc.changed, j)
				}
				if c := pdfConclusion(r, law.L9); c.Holds != tc.l9 {
					t.Fatalf("L-9 holds=%v, want %v: %s", c.Holds, tc.l9, c.Why)
				}
			})
		}
	}
}

// TestPAdESReport: the report names the field, the byte range and the
// revision of each signature; B-LT's DSS counts; B-LTA's document time-stamp
// is trusted and covers the whole file; a page change is reported as
// page-content with the per-signature indication unchanged.
func TestPAdESReport(t *testing.T) {
	f := newFixture(t)
	opts := validation.Options{Roots: []*x509.Certificate{f.h.Root.Cert}, Now: f.now.Add(time.Hour)}
	blta := f.signPDF(t, pdftest.Document("Contrat", 0, true), signature.BLTA)
	r := validation.ValidatePAdES(t.Context(), blta, opts)
	if len(r.Signatures) != 1 || len(r.DocTimeStamps) != 1 || r.Revisions != 4 {
		t.Fatalf("%d signatures, %d document time-stamps, %d revisions", len(r.Signatures), len(r.DocTimeStamps), r.Revisions)
	}
	s, d := r.Signatures[0], r.DocTimeStamps[0]
	if s.Field != "Signature1" || s.SubFilter != pdf.SubFilterCAdES || s.Revision != 2 || s.CoversWholeDocument || len(s.ByteRange) != 4 ||
		s.ClaimedTime == nil || !s.ClaimedTime.Equal(f.now.Truncate(time.Second)) || s.Level != "B-LTA" || len(s.Modifications) == 0 {
		t.Fatalf("signature entry %+v", s)
	}
	for _, c := range s.Modifications {
		if !c.Allowed {
			t.Fatalf("a PAdES LTV update was judged a forbidden change: %+v", c)
		}
	}
	if !d.TimeStamp.Trusted || d.TimeStamp.Ignored != "" || !d.CoversWholeDocument || d.Revision != 4 || r.DSS.Certs < 4 || r.DSS.CRLs < 3 {
		t.Fatalf("document time-stamp %+v, DSS %+v", d, r.DSS)
	}

	changed := validation.ValidatePAdES(t.Context(), pdftest.ChangePage(t, blta), opts)
	if got := changed.Signatures[0].Report.Indication; got != validation.TotalPassed {
		t.Fatalf("the signature of revision 2 is %s, want TOTAL-PASSED for what it signed", got)
	}
	if len(changed.ChangedKinds) != 1 || changed.ChangedKinds[0] != "page-content" {
		t.Fatalf("changed kinds %v, want [page-content]", changed.ChangedKinds)
	}
}

// TestPAdESSecondSigner: two signatures, the first not covering the whole
// file; both validate and L-9 holds, since only allowed updates followed.
func TestPAdESSecondSigner(t *testing.T) {
	f := newFixture(t)
	two := f.signPDF(t, f.signPDF(t, pdftest.Document("Contrat", 0, false), signature.BLTA), signature.BLT)
	r := validation.ValidatePAdES(t.Context(), two, validation.Options{Roots: []*x509.Certificate{f.h.Root.Cert}, Now: f.now.Add(time.Hour)})
	if r.Indication != validation.TotalPassed || len(r.Signatures) != 2 || r.ChangedAfterSigning || !pdfConclusion(r, law.L9).Holds {
		j, _ := json.MarshalIndent(r, "", " ")
		t.Fatalf("%s", j)
	}
}

// BenchmarkValidatePAdESBLT1MiB validates offline, from its DSS, a B-LT
// signature over a 1 MiB one-page PDF.
func BenchmarkValidatePAdESBLT1MiB(b *testing.B) {
	f := newFixture(b)
	doc := f.signPDF(b, pdftest.Document("Contrat", 1<<20, false), signature.BLT)
	opts := validation.Options{Roots: []*x509.Certificate{f.h.Root.Cert}, Now: f.now.Add(time.Hour)}
	b.SetBytes(int64(len(doc)))
	b.ResetTimer()
	for b.Loop() {
		if r := validation.ValidatePAdES(context.Background(), doc, opts); r.Indication != validation.TotalPassed {
			b.Fatalf("%s/%s: %s", r.Indication, r.SubIndication, r.Reason)
		}
	}
}
