package signature_test

import (
	"bytes"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tawthiq/tawthiq/internal/errkind"
	"github.com/tawthiq/tawthiq/internal/keys"
	"github.com/tawthiq/tawthiq/internal/law"
	"github.com/tawthiq/tawthiq/internal/signature"
	"github.com/tawthiq/tawthiq/internal/signature/pdf"
	"github.com/tawthiq/tawthiq/internal/signature/pdf/pdftest"
	"github.com/tawthiq/tawthiq/internal/testpki"
	"github.com/tawthiq/tawthiq/internal/validation"
)

// extendOpts moves the TSA's clock an hour on, as time passes between two
// extensions, and serves CRLs issued after every time-stamp made so far.
func (f *fixture) extendOpts() signature.ExtendOptions {
	f.clk.Advance(time.Hour)
	return signature.ExtendOptions{Stamper: f.tsa, CACerts: []*x509.Certificate{f.h.Root.Cert},
		Revocation: &testpki.RevocationSource{H: f.h, At: f.clk.Now().Add(time.Second)}}
}

// validationOpts trusts the test root and validates an hour after the TSA's
// clock. Extra holds the CRLs a relying party fetches for the signer's and the
// TSA's paths: a B-B or B-T file carries none.
func (f *fixture) validationOpts(t *testing.T) validation.Options {
	t.Helper()
	src := &testpki.RevocationSource{H: f.h, At: f.clk.Now().Add(2 * time.Second)}
	var extra signature.ValidationData
	for _, p := range [][2]*x509.Certificate{{f.chain[0], f.chain[1]}, {f.chain[1], f.h.Root.Cert}} {
		crls, _, err := src.Revocation(t.Context(), p[0], p[1])
		if err != nil {
			t.Fatal(err)
		}
		extra.CRLs = append(extra.CRLs, crls...)
	}
	return validation.Options{Roots: []*x509.Certificate{f.h.Root.Cert}, Now: f.clk.Now().Add(time.Hour), Extra: extra}
}

// rootCRLSince reports whether data holds a CRL of the root issued at or after at:
// the status of the TSA (which the root certifies) for a time-stamp made at at.
func rootCRLSince(t *testing.T, f *fixture, crls [][]byte, at time.Time) bool {
	t.Helper()
	for _, d := range crls {
		if c, err := x509.ParseRevocationList(d); err == nil && c.CheckSignatureFrom(f.h.Root.Cert) == nil && !c.ThisUpdate.Before(at) {
			return true
		}
	}
	return false
}

// TestExtendPAdES_L9 raises a PAdES B-B file to B-T (a document time-stamp),
// B-LT (a DSS) and B-LTA (a second document time-stamp), step by step and in
// one go, then renews the B-LTA twice, over both cross-reference styles.
// After each step: the previous bytes are a prefix of the new (L-9), qpdf
// --check is clean, pdfsig finds the signature valid and trusted, openssl ts
// -verify accepts every document time-stamp, and our validator says
// TOTAL-PASSED at the level asked, listing every document time-stamp, with
// the signature's date proven from the first time-stamp that covers it
// (L-425). Each renewal first gives the DSS a root CRL issued after the
// latest document time-stamp: the status of that stamp's TSA.
func TestExtendPAdES_L9(t *testing.T) {
	for _, xrefStream := range []bool{false, true} {
		t.Run(map[bool]string{false: "xref-table", true: "xref-stream"}[xrefStream], func(t *testing.T) {
			f := newFixture(t, keys.ECDSAP256)
			f.nssHolder(t)
			bb, err := signature.SignPAdES(t.Context(), pdftest.Document("Contrat de vente", 0, xrefStream), f.signer, f.chain, f.padesOpts(signature.BB))
			if err != nil {
				t.Fatal(err)
			}
			steps := []struct {
				name   string
				from   string // "" is the previous step's output, "bb" the B-B file
				target signature.Level
				stamps int // document time-stamps after the step
			}{
				{"B-B to B-T", "", signature.BT, 1},
				{"B-T to B-LT", "", signature.BLT, 1},
				{"B-LT to B-LTA", "", signature.BLTA, 2},
				{"renewal 1", "", signature.BLTA, 3},
				{"renewal 2", "", signature.BLTA, 4},
				{"B-B to B-LTA in one go", "bb", signature.BLTA, 2},
			}
			cur := bb
			var prev validation.PDFReport
			var firstProof time.Time
			for _, st := range steps {
				if st.from == "bb" {
					cur, prev = bb, validation.PDFReport{}
				}
				in := cur
				out, err := signature.ExtendPAdES(t.Context(), in, st.target, f.extendOpts())
				if err != nil {
					t.Fatalf("%s: %v", st.name, err)
				}
				if !bytes.HasPrefix(out, in) {
					t.Fatalf("%s: the previous bytes were rewritten", st.name)
				}
				f.pdfJudges(t, out, 1)
				r := validation.ValidatePAdES(t.Context(), out, f.validationOpts(t))
				js, _ := json.MarshalIndent(r, "", " ")
				if r.Indication != validation.TotalPassed || r.Level != st.target.String() || len(r.DocTimeStamps) != st.stamps || r.ChangedAfterSigning {
					t.Fatalf("%s: %s level %s with %d document time-stamps, want TOTAL-PASSED %v with %d\n%s",
						st.name, r.Indication, r.Level, len(r.DocTimeStamps), st.target, st.stamps, js)
				}
				for _, d := range r.DocTimeStamps {
					if !d.TimeStamp.Trusted || d.TimeStamp.Ignored != "" {
						t.Fatalf("%s: document time-stamp %s not trusted: %s", st.name, d.Field, d.TimeStamp.Ignored)
					}
				}
				s := r.Signatures[0].Report
				if s.ProvenBy != validation.ByDocumentTimeStamp || !s.ProvenTime.Equal(r.DocTimeStamps[0].TimeStamp.GenTime) || !conclusionHolds(s, law.L425) {
					t.Fatalf("%s: proven by %s at %s, want the first document time-stamp %s\n%s", st.name, s.ProvenBy, s.ProvenTime, r.DocTimeStamps[0].TimeStamp.GenTime, js)
				}
				if st.from == "" && st.target == signature.BT {
					firstProof = s.ProvenTime
				}
				if st.from == "" && !s.ProvenTime.Equal(firstProof) {
					t.Fatalf("%s: the proven time moved from %s to %s", st.name, firstProof, s.ProvenTime)
				}
				// Nothing the previous file had is lost: its stamps stay, first, unchanged.
				for i, d := range prev.DocTimeStamps {
					if got := r.DocTimeStamps[i]; !got.TimeStamp.GenTime.Equal(d.TimeStamp.GenTime) || got.Field != d.Field {
						t.Fatalf("%s: document time-stamp %d changed: %+v, was %+v", st.name, i, got, d)
					}
				}
				if strings.HasPrefix(st.name, "renewal") {
					p, err := pdf.Open(out)
					if err != nil {
						t.Fatal(err)
					}
					dss, err := p.DSS()
					if err != nil {
						t.Fatal(err)
					}
					latest := prev.DocTimeStamps[len(prev.DocTimeStamps)-1].TimeStamp.GenTime
					if !rootCRLSince(t, f, dss.CRLs, latest) {
						t.Fatalf("%s: the DSS has no status for the TSA of the document time-stamp of %s", st.name, latest)
					}
				}
				cur, prev = out, r
			}
		})
	}
}

// TestExtendPAdESTwoSigners: a B-LTA signature followed by a second signer's
// B-B one is a B-B document; extending it to B-LTA covers both signers.
func TestExtendPAdESTwoSigners(t *testing.T) {
	f := newFixture(t, keys.ECDSAP256)
	f.nssHolder(t)
	first, err := signature.SignPAdES(t.Context(), pdftest.Document("Contrat", 0, false), f.signer, f.chain, f.padesOpts(signature.BLTA))
	if err != nil {
		t.Fatal(err)
	}
	f.nssHolder(t) // pdfsig 22.12 trips on two signatures by one certificate
	f.now = f.clk.Now()
	two, err := signature.SignPAdES(t.Context(), first, f.signer, f.chain, f.padesOpts(signature.BB))
	if err != nil {
		t.Fatal(err)
	}
	if r := validation.ValidatePAdES(t.Context(), two, f.validationOpts(t)); r.Level != "B-B" {
		t.Fatalf("before: level %s", r.Level)
	}
	out, err := signature.ExtendPAdES(t.Context(), two, signature.BLTA, f.extendOpts())
	if err != nil {
		t.Fatal(err)
	}
	f.pdfJudges(t, out, 2)
	r := validation.ValidatePAdES(t.Context(), out, f.validationOpts(t))
	if r.Indication != validation.TotalPassed || r.Level != "B-LTA" || len(r.Signatures) != 2 || len(r.DocTimeStamps) != 3 {
		js, _ := json.MarshalIndent(r, "", " ")
		t.Fatalf("%s", js)
	}
	if r.Signatures[0].Report.ProvenBy != validation.ByTimeStamp || r.Signatures[1].Report.ProvenBy != validation.ByDocumentTimeStamp {
		t.Fatalf("proven by %s and %s", r.Signatures[0].Report.ProvenBy, r.Signatures[1].Report.ProvenBy)
	}
}

// TestExtendCAdES_L425 raises a CAdES B-B signature, detached and enveloping,
// to B-T, B-LT and B-LTA step by step and in one go, then renews the B-LTA
// twice. After each step: openssl cms -verify accepts it, the signed
// attributes and signature value are those signed, our validator says
// TOTAL-PASSED at the level asked with the date proven by the signature
// time-stamp and every archive time-stamp listed and trusted; each renewal
// first adds a root CRL issued after the previous archive time-stamp.
func TestExtendCAdES_L425(t *testing.T) {
	for _, detached := range []bool{true, false} {
		t.Run(fmt.Sprintf("detached=%v", detached), func(t *testing.T) {
			f := newFixture(t, keys.ECDSAP256)
			bb, err := signature.SignCAdES(t.Context(), document, f.signer, f.chain, f.opts(detached, signature.BB))
			if err != nil {
				t.Fatal(err)
			}
			var content []byte
			var data string
			if detached {
				content, data = document, f.write(t, "data", document)
			}
			orig, err := signature.Parse(bb)
			if err != nil {
				t.Fatal(err)
			}
			steps := []struct {
				name     string
				from     string
				target   signature.Level
				archives int
			}{
				{"B-B to B-T", "", signature.BT, 0},
				{"B-T to B-LT", "", signature.BLT, 0},
				{"B-LT to B-LTA", "", signature.BLTA, 1},
				{"renewal 1", "", signature.BLTA, 2},
				{"renewal 2", "", signature.BLTA, 3},
				{"B-B to B-LTA in one go", "bb", signature.BLTA, 1},
			}
			cur := bb
			var prev validation.Report
			for _, st := range steps {
				if st.from == "bb" {
					cur, prev = bb, validation.Report{}
				}
				out, err := signature.ExtendCAdES(t.Context(), cur, content, st.target, f.extendOpts())
				if err != nil {
					t.Fatalf("%s: %v", st.name, err)
				}
				if o, err := f.cmsVerify(t, out, data); err != nil || !strings.Contains(o, "Verification successful") {
					t.Fatalf("%s: openssl cms -verify: %v\n%s", st.name, err, o)
				}
				sd, err := signature.Parse(out)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(sd.Signers[0].ArchiveFields, orig.Signers[0].ArchiveFields) {
					t.Fatalf("%s: the signed attributes or the signature value changed", st.name)
				}
				r := validation.Validate(t.Context(), out, content, f.validationOpts(t))
				js, _ := json.MarshalIndent(r, "", " ")
				if r.Indication != validation.TotalPassed || r.Level != st.target.String() || r.ProvenBy != validation.ByTimeStamp ||
					len(r.ArchiveTimeStamps) != st.archives {
					t.Fatalf("%s: %s level %s proven by %s, %d archive time-stamps\n%s", st.name, r.Indication, r.Level, r.ProvenBy, len(r.ArchiveTimeStamps), js)
				}
				for i, a := range r.ArchiveTimeStamps {
					if !a.Trusted || a.Ignored != "" {
						t.Fatalf("%s: archive time-stamp %d: %s", st.name, i+1, a.Ignored)
					}
				}
				if len(r.Warnings) > 0 {
					t.Fatalf("%s: warnings %v", st.name, r.Warnings)
				}
				if prev.TimeStamp != nil && !r.ProvenTime.Equal(prev.ProvenTime) {
					t.Fatalf("%s: the proven time moved from %s to %s", st.name, prev.ProvenTime, r.ProvenTime)
				}
				if strings.HasPrefix(st.name, "renewal") {
					latest := prev.ArchiveTimeStamps[0].GenTime
					for _, a := range prev.ArchiveTimeStamps {
						if a.GenTime.After(latest) {
							latest = a.GenTime
						}
					}
					if !rootCRLSince(t, f, sd.CRLs, latest) {
						t.Fatalf("%s: no status for the TSA of the archive time-stamp of %s", st.name, latest)
					}
				}
				cur, prev = out, r
			}
		})
	}
}

func conclusionHolds(r validation.Report, id law.ID) bool {
	for _, c := range r.Conclusions {
		if c.Rule == id {
			return c.Holds
		}
	}
	return false
}

// TestExtendRefusals: no signature, a lower level than the file's, a file
// changed after signing, a missing TSA or revocation source: each refused
// under the rule it breaks, with no output.
func TestExtendRefusals(t *testing.T) {
	f := newFixture(t, keys.ECDSAP256)
	ctx := t.Context()
	doc := pdftest.Document("Contrat", 0, false)
	pbb, err := signature.SignPAdES(ctx, doc, f.signer, f.chain, f.padesOpts(signature.BB))
	if err != nil {
		t.Fatal(err)
	}
	pblta, err := signature.SignPAdES(ctx, doc, f.signer, f.chain, f.padesOpts(signature.BLTA))
	if err != nil {
		t.Fatal(err)
	}
	flipped := bytes.Clone(pbb)
	flipped[bytes.Index(flipped, []byte("(Contrat"))+2] = 'i' // inside the signed range
	src := &testpki.RevocationSource{H: f.h, At: f.now.Add(2 * time.Second)}
	cbb, err := signature.SignCAdES(ctx, document, f.signer, f.chain, f.opts(true, signature.BB))
	if err != nil {
		t.Fatal(err)
	}
	cblta, err := signature.SignCAdES(ctx, document, f.signer, f.chain, f.ltOpts(true, signature.BLTA, src))
	if err != nil {
		t.Fatal(err)
	}
	sd, err := signature.Parse(cblta)
	if err != nil {
		t.Fatal(err)
	}
	crlChanged := bytes.Clone(cblta)
	i := bytes.Index(crlChanged, sd.CRLs[0])
	crlChanged[i+len(sd.CRLs[0])-1] ^= 0x01 // a CRL the archive time-stamp indexes
	opts := f.extendOpts()
	for _, tc := range []struct {
		name    string
		pdf     bool
		in      []byte
		content []byte
		target  signature.Level
		opts    signature.ExtendOptions
		kind    errkind.Kind
		rule    law.ID
	}{
		{"PAdES: an unsigned PDF", true, doc, nil, signature.BT, opts, errkind.Invalid, law.L417_2},
		{"PAdES: B-LTA lowered to B-T", true, pblta, nil, signature.BT, opts, errkind.Invalid, law.L9},
		{"PAdES: page changed after signing", true, pdftest.ChangePage(t, pblta), nil, signature.BLTA, opts, errkind.Invalid, law.L9},
		{"PAdES: a signed byte changed", true, flipped, nil, signature.BT, opts, errkind.Invalid, law.L6},
		{"PAdES: B-T without a TSA", true, pbb, nil, signature.BT, signature.ExtendOptions{}, errkind.Invalid, law.L417_3},
		{"PAdES: B-LT without a revocation source", true, pbb, nil, signature.BLT, signature.ExtendOptions{Stamper: f.tsa}, errkind.Invalid, law.L25},
		{"CAdES: not a CMS signature", false, document, document, signature.BT, opts, errkind.Invalid, law.L417_2},
		{"CAdES: B-LTA lowered to B-LT", false, cblta, document, signature.BLT, opts, errkind.Invalid, law.L9},
		{"CAdES: another document", false, cbb, []byte("un autre contrat"), signature.BT, opts, errkind.Invalid, law.L6},
		{"CAdES: detached without its document", false, cbb, nil, signature.BT, opts, errkind.Invalid, law.L417_2},
		{"CAdES: a CRL changed after the archive time-stamp", false, crlChanged, document, signature.BLTA, opts, errkind.Invalid, law.L9},
		{"CAdES: B-T without a TSA", false, cbb, document, signature.BT, signature.ExtendOptions{}, errkind.Invalid, law.L417_3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out []byte
			var err error
			if tc.pdf {
				out, err = signature.ExtendPAdES(ctx, tc.in, tc.target, tc.opts)
			} else {
				out, err = signature.ExtendCAdES(ctx, tc.in, tc.content, tc.target, tc.opts)
			}
			e := errkind.As(err)
			if err == nil || out != nil || e.Kind != tc.kind || e.Rule != tc.rule {
				t.Fatalf("err %v (kind %v rule %q), want kind %v rule %q", err, e.Kind, e.Rule, tc.kind, tc.rule)
			}
		})
	}
}
