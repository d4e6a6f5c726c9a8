package validation_test

import (
	"crypto/x509"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/tawthiq/tawthiq/internal/law"
	"github.com/tawthiq/tawthiq/internal/signature"
	"github.com/tawthiq/tawthiq/internal/signature/pdf/pdftest"
	"github.com/tawthiq/tawthiq/internal/validation"
)

// TestPAdESDocumentTimeStampProof_L425: a trusted document time-stamp over a
// B-B signature's revision proves the signature existed at its genTime (EN
// 319 102-1 §5.6.2.4): B-B plus that time-stamp is B-T with the date proven
// and opposable (L-425); plus a DSS it is B-LT; plus a later document
// time-stamp B-LTA. A time-stamp from a TSA outside the roots proves nothing.
func TestPAdESDocumentTimeStampProof_L425(t *testing.T) {
	f := newFixture(t)
	other := newFixture(t)
	extend := func(doc []byte, target signature.Level, s signature.Stamper) []byte {
		t.Helper()
		out, err := signature.ExtendPAdES(t.Context(), doc, target, signature.ExtendOptions{Stamper: s,
			Revocation: crlSource{h: f.h, at: f.now.Add(2 * time.Second)}, CACerts: []*x509.Certificate{f.h.Root.Cert}})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	bb := f.signPDF(t, pdftest.Document("Contrat", 0, true), signature.BB)
	bt := extend(bb, signature.BT, f.tsa)
	blt := extend(bt, signature.BLT, f.tsa)
	blta := extend(blt, signature.BLTA, f.tsa)
	untrusted := extend(bb, signature.BT, other.tsa)
	genTime := f.now.Add(1500 * time.Millisecond)
	roots := []*x509.Certificate{f.h.Root.Cert}
	for _, tc := range []struct {
		name     string
		doc      []byte
		status   validation.StatusSource
		level    string
		provenBy validation.TimeSource
		l425     bool
	}{
		{"B-B", bb, status{}, "B-B", validation.ByValidationTime, false},
		{"B-B + document time-stamp", bt, status{}, "B-T", validation.ByDocumentTimeStamp, true},
		{"+ DSS, offline", blt, nil, "B-LT", validation.ByDocumentTimeStamp, true},
		{"+ a later document time-stamp, offline", blta, nil, "B-LTA", validation.ByDocumentTimeStamp, true},
		{"B-B + an untrusted TSA's document time-stamp", untrusted, status{}, "B-B", validation.ByValidationTime, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := validation.ValidatePAdES(t.Context(), tc.doc, validation.Options{Roots: roots, Status: tc.status, Now: f.now.Add(time.Hour)})
			js, _ := json.MarshalIndent(r, "", " ")
			s := r.Signatures[0]
			if r.Indication != validation.TotalPassed || r.Level != tc.level || s.Level != tc.level || s.Report.ProvenBy != tc.provenBy {
				t.Fatalf("%s level %s proven by %s, want TOTAL-PASSED %s by %s\n%s", r.Indication, r.Level, s.Report.ProvenBy, tc.level, tc.provenBy, js)
			}
			c := conclusion(s.Report, law.L425)
			if c.Holds != tc.l425 {
				t.Fatalf("L-425 holds=%v: %s", c.Holds, c.Why)
			}
			if tc.l425 && (!s.Report.ProvenTime.Equal(genTime) || !strings.Contains(c.Why, "document time-stamp")) {
				t.Fatalf("proven at %s (want %s): %s", s.Report.ProvenTime, genTime, c.Why)
			}
		})
	}
}
