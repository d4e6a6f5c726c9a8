package signature_test

import (
	"bytes"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"fmt"
	"os/exec"
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
)

// nssHolder replaces the fixture's signer with one whose certificate NSS
// accepts for signing: poppler's pdfsig (22.12) checks the signer with NSS's
// certificateUsageEmailSigner, which refuses the id-kp-documentSigning
// (RFC 9336) extended key usage our profiles carry ("Unknown issue with
// Certificate"). Everything else about the signature is unchanged.
func (f *fixture) nssHolder(t *testing.T) {
	t.Helper()
	k, err := keys.GenerateThrowaway(keys.ECDSAP256)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: testpki.Serial(t), Subject: pkix.Name{CommonName: "Amina El Idrissi", Country: []string{"MA"}},
		NotBefore: f.h.Now.Add(-time.Hour), NotAfter: f.h.Now.Add(365 * 24 * time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageEmailProtection}}
	holder := testpki.Certify(t, tmpl, f.h.Signature, k.Public())
	f.signer, f.chain = k, []*x509.Certificate{holder.Cert, f.h.Signature.Cert}
}

func (f *fixture) padesOpts(level signature.Level) signature.PAdESOptions {
	return signature.PAdESOptions{Level: level, Stamper: f.tsa, Now: func() time.Time { return f.now },
		Revocation: &testpki.RevocationSource{H: f.h, At: f.now.Add(-time.Minute)}, CACerts: []*x509.Certificate{f.h.Root.Cert},
		Reason: "Je consens au contrat (L-443)", Location: "Rabat"}
}

// pdfJudges runs qpdf --check and pdfsig (with the test root trusted in an NSS
// database) on b and fails t unless both accept it and pdfsig finds want
// signatures, each valid and trusted. pdfsig 22.12 cannot check document
// time-stamps ("Unable to validate this type of signature"): openssl ts
// -verify checks each over its byte range instead.
func (f *fixture) pdfJudges(t *testing.T, b []byte, want int) string {
	t.Helper()
	qpdf := testpki.NeedTool(t, "qpdf", "qpdf")
	pdfsig := testpki.NeedTool(t, "pdfsig", "poppler-utils")
	p := f.write(t, "signed.pdf", b)
	if out, err := exec.Command(qpdf, "--check", p).CombinedOutput(); err != nil || strings.Contains(string(out), "WARNING") {
		t.Fatalf("qpdf --check: %v\n%s", err, out)
	}
	nss := testpki.NSSDB(t, f.dir, testpki.WriteCerts(t, f.dir, "root.pem", f.h.Root.Cert))
	out, err := exec.Command(pdfsig, "-nssdir", nss, p).CombinedOutput()
	s := string(out)
	if err != nil || strings.Count(s, "Signature is Valid.") != want || strings.Count(s, "Certificate is Trusted.") != want {
		t.Fatalf("pdfsig does not find %d valid, trusted signatures: %v\n%s", want, err, s)
	}
	f.verifyDocTimeStamps(t, b)
	return s
}

// verifyDocTimeStamps has openssl ts -verify check every document time-stamp
// against SHA-256 of its byte range.
func (f *fixture) verifyDocTimeStamps(t *testing.T, b []byte) {
	t.Helper()
	p, err := pdf.Open(b)
	if err != nil {
		t.Fatal(err)
	}
	sigs, err := p.Signatures()
	if err != nil {
		t.Fatal(err)
	}
	root := testpki.WriteCerts(t, f.dir, "root.pem", f.h.Root.Cert)
	for _, s := range sigs {
		if !s.DocTimeStamp {
			continue
		}
		digest := sha256.Sum256(p.SignedBytes(s))
		token := f.write(t, "doc.tst", pdf.DER(s.Contents))
		out := testpki.OpenSSL(t, "ts", "-verify", "-in", token, "-token_in", "-digest", hex.EncodeToString(digest[:]),
			"-CAfile", root, "-attime", fmt.Sprint(f.now.Add(time.Minute).Unix()))
		if !strings.Contains(out, "Verification: OK") {
			t.Fatalf("openssl ts -verify of the document time-stamp:\n%s", out)
		}
	}
}

// TestPAdESLevels_L9: every level, over a classic-xref and an xref-stream PDF,
// appends to the original bytes, passes qpdf --check, and pdfsig finds each
// signature and document time-stamp valid and trusted. B-LT carries the
// signer's and the TSA's certificates and CRLs in the DSS; B-LTA adds a
// document time-stamp over its own byte range.
func TestPAdESLevels_L9(t *testing.T) {
	f := newFixture(t, keys.ECDSAP256)
	f.nssHolder(t)
	for _, xrefStream := range []bool{false, true} {
		orig := pdftest.Document("Contrat de vente", 0, xrefStream)
		for _, level := range []signature.Level{signature.BB, signature.BT, signature.BLT, signature.BLTA} {
			t.Run(level.String()+map[bool]string{false: "/xref-table", true: "/xref-stream"}[xrefStream], func(t *testing.T) {
				out, err := signature.SignPAdES(t.Context(), orig, f.signer, f.chain, f.padesOpts(level))
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.HasPrefix(out, orig) {
					t.Fatal("the original bytes were rewritten")
				}
				f.pdfJudges(t, out, 1)
				checkStructure(t, f, out, level)
			})
		}
	}
}

// checkStructure reads back what each level must hold.
func checkStructure(t *testing.T, f *fixture, out []byte, level signature.Level) {
	t.Helper()
	p, err := pdf.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	sigs, err := p.Signatures()
	if err != nil || len(sigs) == 0 {
		t.Fatalf("signatures: %v, %v", sigs, err)
	}
	s := sigs[0]
	if s.SubFilter != pdf.SubFilterCAdES || s.Filter != "Adobe.PPKLite" || !s.Time.Equal(f.now.UTC().Truncate(time.Second)) || s.Reason == "" {
		t.Fatalf("signature dictionary %+v", s)
	}
	sd, err := signature.Parse(pdf.DER(s.Contents))
	if err != nil {
		t.Fatal(err)
	}
	si := sd.Signers[0]
	if !sd.Detached || !si.SigningTime.IsZero() {
		t.Fatal("PAdES wants a detached CMS without signing-time (EN 319 142-1 §5.2.1)")
	}
	if got, want := len(si.TimeStampTokens) > 0, level >= signature.BT; got != want {
		t.Fatalf("signature time-stamp present=%v at %v", got, level)
	}
	dss, err := p.DSS()
	if err != nil {
		t.Fatal(err)
	}
	if level < signature.BLT {
		if len(dss.Certs) != 0 {
			t.Fatalf("a DSS at %v", level)
		}
	} else {
		for _, c := range []*x509.Certificate{f.chain[0], f.chain[1], f.h.TSA.Cert, f.h.Root.Cert} {
			if !containsCert(dss.Certs, c) {
				t.Fatalf("the DSS lacks %s", c.Subject.CommonName)
			}
		}
		if len(dss.CRLs) < 3 { // the holder's, the signature CA's and the TSA's
			t.Fatalf("the DSS holds %d CRLs", len(dss.CRLs))
		}
	}
	if got := len(sigs) == 2 && sigs[1].DocTimeStamp && sigs[1].SubFilter == pdf.SubFilterRFC3161 && p.Covers(sigs[1]); got != (level == signature.BLTA) {
		t.Fatalf("document time-stamp present=%v at %v", got, level)
	}
}

// TestPAdESSecondSigner: a PDF already signed at B-LTA takes a second
// signer's B-LT signature; pdfsig still finds both signatures valid and openssl the
// document time-stamp between them, so the earlier ones were kept intact.
func TestPAdESSecondSigner(t *testing.T) {
	f := newFixture(t, keys.ECDSAP256)
	f.nssHolder(t)
	for _, xrefStream := range []bool{false, true} {
		first, err := signature.SignPAdES(t.Context(), pdftest.Document("Contrat", 0, xrefStream), f.signer, f.chain, f.padesOpts(signature.BLTA))
		if err != nil {
			t.Fatal(err)
		}
		// Another signer: pdfsig 22.12 reports "Unknown issue with Certificate"
		// for the second of two signatures by one certificate (its NSS cache).
		f.nssHolder(t)
		second, err := signature.SignPAdES(t.Context(), first, f.signer, f.chain, f.padesOpts(signature.BLT))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.HasPrefix(second, first) {
			t.Fatal("the signed file was rewritten")
		}
		f.pdfJudges(t, second, 2)
		p, err := pdf.Open(second)
		if err != nil {
			t.Fatal(err)
		}
		if sigs, _ := p.Signatures(); len(sigs) != 3 || sigs[2].Field != "Signature2" || !sigs[1].DocTimeStamp {
			t.Fatalf("%d signatures, want Signature1, DocTimeStamp1, Signature2", len(sigs))
		}
	}
}

// TestPAdESRefusals_L25: no signature with a revoked or expired certificate, nor over a non-PDF.
func TestPAdESRefusals_L25(t *testing.T) {
	f := newFixture(t, keys.ECDSAP256)
	doc := pdftest.Document("Contrat", 0, false)
	revoked := f.padesOpts(signature.BLT)
	revoked.Revocation = &testpki.RevocationSource{H: f.h, At: f.now.Add(-time.Minute),
		Revoked: map[string]time.Time{f.chain[0].SerialNumber.String(): f.now.Add(-time.Hour)}}
	expired := f.padesOpts(signature.BB)
	expired.Now = func() time.Time { return f.chain[0].NotAfter.Add(time.Hour) }
	for _, tc := range []struct {
		name string
		doc  []byte
		opts signature.PAdESOptions
		kind errkind.Kind
		rule law.ID
	}{
		{"revoked signer at B-LT", doc, revoked, errkind.Invalid, law.L25},
		{"expired certificate", doc, expired, errkind.Invalid, law.L25},
		{"B-T without a TSA", doc, signature.PAdESOptions{Level: signature.BT}, errkind.Invalid, law.L417_3},
		{"not a PDF", document, f.padesOpts(signature.BB), errkind.Invalid, law.LInternal},
		{"truncated PDF", doc[:len(doc)/2], f.padesOpts(signature.BB), errkind.Invalid, law.LInternal},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := signature.SignPAdES(t.Context(), tc.doc, f.signer, f.chain, tc.opts)
			e := errkind.As(err)
			if err == nil || e.Kind != tc.kind || e.Rule != tc.rule {
				t.Fatalf("err %v (kind %v rule %q), want kind %v rule %q", err, e.Kind, e.Rule, tc.kind, tc.rule)
			}
		})
	}
}
