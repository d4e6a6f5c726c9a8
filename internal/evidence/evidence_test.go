package evidence_test

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"encoding/hex"
	"errors"
	"io"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/tawthiq/tawthiq/internal/auditlog"
	"github.com/tawthiq/tawthiq/internal/clock"
	"github.com/tawthiq/tawthiq/internal/evidence"
	"github.com/tawthiq/tawthiq/internal/keys"
	"github.com/tawthiq/tawthiq/internal/law"
	"github.com/tawthiq/tawthiq/internal/signature"
	"github.com/tawthiq/tawthiq/internal/signature/pdf/pdftest"
	"github.com/tawthiq/tawthiq/internal/testpki"
	"github.com/tawthiq/tawthiq/internal/tsa"
	"github.com/tawthiq/tawthiq/internal/validation"
)

var testPolicy = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 61234, 1, 2}

type memStore struct{}

func (memStore) RecordTimestamp(context.Context, tsa.Record) error { return nil }

// crlSource serves fresh CRLs signed by the hierarchy's CAs, issued at clk's time.
type crlSource struct {
	h   *testpki.Hierarchy
	clk *clock.Fake
}

func (s crlSource) Revocation(_ context.Context, _, issuer *x509.Certificate) ([][]byte, [][]byte, error) {
	at := s.clk.Now().Add(time.Second)
	for _, n := range []*testpki.Node{s.h.Root, s.h.Signature, s.h.Seal} {
		if bytes.Equal(n.Cert.Raw, issuer.Raw) {
			crl, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{Number: big.NewInt(at.UnixNano()),
				ThisUpdate: at, NextUpdate: at.Add(24 * time.Hour)}, n.Cert, n.Signer)
			return [][]byte{crl}, nil, err
		}
	}
	return nil, nil, errors.New("unknown issuer")
}

// memLog is an audit log in memory: entries, their tlog hashes, a signed checkpoint.
type memLog struct {
	entries []auditlog.Entry
	hashes  map[int64]tlog.Hash
	signer  note.Signer
	vkey    string
}

func (l *memLog) ReadHashes(idx []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(idx))
	for i, x := range idx {
		out[i] = l.hashes[x]
	}
	return out, nil
}

func (l *memLog) add(t testing.TB, at time.Time, subject string, data any) auditlog.Entry {
	e := auditlog.NewEntry(at, "usr_test", "archive.put", subject, data)
	e.Seq = int64(len(l.entries))
	hs, err := auditlog.HashesToStore(e.Seq, e, l)
	if err != nil {
		t.Fatal(err)
	}
	for i, h := range hs {
		l.hashes[tlog.StoredHashIndex(0, e.Seq)+int64(i)] = h
	}
	l.entries = append(l.entries, e)
	return e
}

// fixture: a hierarchy, a natural person and an organisation's seal, a real TSA
// on a fake clock, and an audit log in memory.
type fixture struct {
	h           *testpki.Hierarchy
	clk         *clock.Fake
	tsa         *tsa.Service
	holder      crypto.Signer
	holderChain []*x509.Certificate
	seal        crypto.Signer
	sealChain   []*x509.Certificate
	log         *memLog
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	h := testpki.New(t)
	f := &fixture{h: h, clk: clock.NewFake(h.Now.Add(time.Hour))}
	var err error
	f.tsa, err = tsa.New(tsa.Config{Signer: h.TSA.Signer, Cert: h.TSA.Cert, Policy: testPolicy, Accuracy: time.Second,
		Qualified: true, Clock: f.clk, Sync: tsa.Fixed{Offset: time.Millisecond, Known: true}, Store: memStore{}})
	if err != nil {
		t.Fatal(err)
	}
	hk, _ := keys.GenerateThrowaway(keys.ECDSAP256)
	holder := h.Issue(t, nil, h.NaturalRequest(t, testpki.Profile(t, "natural-qualified"), hk.Public()))
	f.holder, f.holderChain = hk, []*x509.Certificate{holder.Cert, h.Signature.Cert}
	sk, _ := keys.GenerateThrowaway(keys.ECDSAP256)
	sealCert := h.Issue(t, nil, h.SealRequest(t, testpki.Profile(t, "legal-qualified-seal"), sk.Public()))
	f.seal, f.sealChain = sk, []*x509.Certificate{sealCert.Cert, h.Seal.Cert}
	skey, vkey, err := note.GenerateKey(rand.Reader, "tawthiq/test/audit")
	if err != nil {
		t.Fatal(err)
	}
	f.log = &memLog{hashes: map[int64]tlog.Hash{}, vkey: vkey}
	if f.log.signer, err = note.NewSigner(skey); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) rev() crlSource { return crlSource{h: f.h, clk: f.clk} }

func (f *fixture) now() func() time.Time { return f.clk.Now }

// archive records data in the log as the archive service does.
func (f *fixture) archive(t testing.TB, data []byte) auditlog.Entry {
	sum := sha256.Sum256(data)
	h := hex.EncodeToString(sum[:])
	return f.log.add(t, f.clk.Now(), h, map[string]any{"sha256": h, "kind": "document", "size": len(data)})
}

// checkpoint signs and stamps the log's head and proves each entry in it.
func (f *fixture) checkpoint(t testing.TB) *evidence.LogEvidence {
	size := int64(len(f.log.entries))
	root, err := tlog.TreeHash(size, f.log)
	if err != nil {
		t.Fatal(err)
	}
	signed, err := note.Sign(&note.Note{Text: auditlog.FormatCheckpoint("tawthiq/test/audit", size, root, f.clk.Now())}, f.log.signer)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := f.tsa.StampDigest(t.Context(), sha256.Sum256(signed))
	if err != nil {
		t.Fatal(err)
	}
	return &evidence.LogEvidence{Checkpoint: signed, Timestamp: tok, VerifierKey: f.log.vkey}
}

func (f *fixture) record(t testing.TB, e auditlog.Entry, size int64) evidence.ArchiveRecord {
	p, err := tlog.ProveRecord(size, e.Seq, f.log)
	if err != nil {
		t.Fatal(err)
	}
	return evidence.ArchiveRecord{Entry: e.Encode(), Proof: p}
}

const contractText = "Contrat de vente: 90 000 dirhams, livraison le 1er mars.\n"

// bundle builds a bundle over a PAdES B-LT PDF and a detached CAdES B-LT text,
// both archived in the log, sealed at B-LTA.
func bundle(t testing.TB, f *fixture) ([]byte, evidence.Result) {
	t.Helper()
	ctx := context.Background()
	signedPDF, err := signature.SignPAdES(ctx, pdftest.Document("Contrat: 90 000 dirhams", 0, false), f.holder, f.holderChain,
		signature.PAdESOptions{Level: signature.BLT, Stamper: f.tsa, Revocation: f.rev(), CACerts: []*x509.Certificate{f.h.Root.Cert}, Now: f.now()})
	if err != nil {
		t.Fatal(err)
	}
	f.clk.Advance(2 * time.Second)
	sig, err := signature.SignCAdES(ctx, []byte(contractText), f.holder, f.holderChain, signature.Options{Detached: true, Level: signature.BLT,
		Stamper: f.tsa, Revocation: f.rev(), CACerts: []*x509.Certificate{f.h.Root.Cert}, Now: f.now()})
	if err != nil {
		t.Fatal(err)
	}
	f.clk.Advance(2 * time.Second)
	e1, e2, e3 := f.archive(t, signedPDF), f.archive(t, []byte(contractText)), f.archive(t, sig)
	f.clk.Advance(2 * time.Second)
	lg := f.checkpoint(t)
	size := int64(len(f.log.entries))
	f.clk.Advance(time.Minute)
	docs := []evidence.Document{
		{Name: "contract.pdf", Content: signedPDF, Archived: []evidence.ArchiveRecord{f.record(t, e1, size)}},
		{Name: "terms.txt", MediaType: "text/plain", Content: []byte(contractText), Signature: sig,
			Archived: []evidence.ArchiveRecord{f.record(t, e2, size), f.record(t, e3, size)}},
	}
	b, res, err := evidence.Build(ctx, docs, evidence.Options{Seal: f.seal, SealChain: f.sealChain, CACerts: []*x509.Certificate{f.h.Root.Cert},
		Stamper: f.tsa, Revocation: f.rev(), Roots: []*x509.Certificate{f.h.Root.Cert}, Log: lg, Lang: "ar", Now: f.clk.Now()})
	if err != nil {
		t.Fatal(err)
	}
	return b, res
}

func verify(f *fixture, b []byte) evidence.Result {
	return evidence.Verify(context.Background(), b, evidence.VerifyOptions{Roots: []*x509.Certificate{f.h.Root.Cert},
		Now: f.clk.Now().Add(30 * 24 * time.Hour)})
}

// TestBundleVerifiesOffline_L417_1: a bundle over a PAdES PDF and a CAdES text
// verifies from what it holds alone, with every conclusion holding, the same as
// its report states.
func TestBundleVerifiesOffline_L417_1(t *testing.T) {
	f := newFixture(t)
	b, built := bundle(t, f)
	if built.Seal == nil || built.Seal.Indication != validation.TotalPassed || built.Seal.Level != "B-LTA" {
		t.Fatalf("the seal as built: %+v", built.Seal)
	}
	r := verify(f, b)
	if !r.OK() {
		t.Fatalf("problems: %v", r.Problems)
	}
	if len(r.Differences) > 0 {
		t.Fatalf("Verify concludes otherwise than report.json: %v", r.Differences)
	}
	if r.Log == nil || !r.Log.Verified || r.Log.TimeStamp == nil || !r.Log.TimeStamp.Trusted {
		t.Fatalf("audit log: %+v", r.Log)
	}
	if len(r.Documents) != 2 {
		t.Fatalf("%d documents", len(r.Documents))
	}
	for _, d := range r.Documents {
		if d.Indication != validation.TotalPassed {
			t.Errorf("%s: %s", d.Name, d.Indication)
		}
		want := []law.ID{law.L417_1, law.L417_2, law.L417_3, law.L425, law.L440}
		if len(d.Conclusions) != len(want) {
			t.Fatalf("%s: conclusions %+v", d.Name, d.Conclusions)
		}
		for i, c := range d.Conclusions {
			if c.Rule != want[i] || !c.Holds {
				t.Errorf("%s: %s holds=%v: %s", d.Name, c.Rule, c.Holds, c.Why)
			}
		}
	}
	if r.Documents[1].Kind != "CAdES" || len(r.Documents[1].Archive) != 2 || r.Documents[0].Kind != "PAdES" {
		t.Fatalf("documents: %+v", r.Documents)
	}
	names := map[string]bool{}
	for _, e := range r.Entries {
		names[e.Name] = true
	}
	for _, n := range []string{"documents/contract.pdf", "documents/terms.txt", "signatures/terms.txt.p7s", "report.pdf", "report.json",
		"audit/checkpoint.note", "audit/checkpoint.tst", "audit/log.vkey", "audit/entry-0.txt", "audit/proof-0.json", "timestamps/terms.txt-1.tst"} {
		if !names[n] {
			t.Errorf("no checked entry %s", n)
		}
	}
	// Without the CSP's root nothing is trusted, and Verify says so rather than pass.
	if r := evidence.Verify(t.Context(), b, evidence.VerifyOptions{Now: f.clk.Now()}); r.OK() {
		t.Fatal("a bundle verified without any trust anchor")
	}
}

// entries returns the container's entries in order.
func entries(t testing.TB, b []byte) []*zip.File {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	return zr.File
}

// rezip rewrites a container, entry by entry, through edit; a nil result drops the entry.
func rezip(t testing.TB, b []byte, edit func(name string, data []byte) []byte, extra ...[2]string) []byte {
	t.Helper()
	var out bytes.Buffer
	zw := zip.NewWriter(&out)
	for _, f := range entries(t, b) {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		if data = edit(f.Name, data); data == nil {
			continue
		}
		w, err := zw.CreateHeader(&zip.FileHeader{Name: f.Name, Method: f.Method})
		if err != nil {
			t.Fatal(err)
		}
		w.Write(data)
	}
	for _, e := range extra {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: e[0], Method: zip.Store})
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(e[1]))
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

func named(r evidence.Result, entry string) bool {
	for _, p := range r.Problems {
		if p.Entry == entry {
			return true
		}
	}
	return false
}

// TestChangedEntryNamed_L417_1: a byte changed in any entry, the ZIP rewritten
// so its own checksums agree, is detected and the entry named.
func TestChangedEntryNamed_L417_1(t *testing.T) {
	f := newFixture(t)
	b, _ := bundle(t, f)
	for _, zf := range entries(t, b) {
		t.Run(zf.Name, func(t *testing.T) {
			changed := rezip(t, b, func(name string, data []byte) []byte {
				if name == zf.Name {
					data = bytes.Clone(data)
					data[len(data)/2] ^= 0x01
				}
				return data
			})
			r := verify(f, changed)
			if r.OK() || !named(r, zf.Name) {
				t.Fatalf("changed %s: problems %v", zf.Name, r.Problems)
			}
			t.Logf("%v", r.Problems)
		})
	}
}

// TestSealEveryByte: a change anywhere in the seal's signature file, signed
// attributes or not, makes the bundle fail.
func TestSealEveryByte(t *testing.T) {
	f := newFixture(t)
	b, _ := bundle(t, f)
	var seal []byte
	rezip(t, b, func(name string, data []byte) []byte {
		if name == evidence.SealName {
			seal = data
		}
		return data
	})
	step := 19
	if testing.Short() {
		step = 97
	}
	for i := 0; i < len(seal); i += step {
		changed := rezip(t, b, func(name string, data []byte) []byte {
			if name == evidence.SealName {
				data = bytes.Clone(data)
				data[i] ^= 0x04
			}
			return data
		})
		if r := verify(f, changed); r.OK() || !named(r, evidence.SealName) && !named(r, evidence.ManifestName) {
			t.Errorf("byte %d of %d of the seal changed: not detected (%v)", i, len(seal), r.Problems)
		}
	}
}

// TestRawByteChanged: a changed byte of the file itself (no rewrite) is caught too.
func TestRawByteChanged(t *testing.T) {
	f := newFixture(t)
	b, _ := bundle(t, f)
	step := 1009
	if testing.Short() {
		step = 4001
	}
	// Every step-th byte of the file, and every byte of the first entries' local
	// headers, of their central directory entries and of the end record.
	check := map[int]bool{}
	for i := 0; i < len(b); i += step {
		check[i] = true
	}
	zfs := entries(t, b)
	for _, zf := range zfs[:2] {
		off, err := zf.DataOffset()
		if err != nil {
			t.Fatal(err)
		}
		for i := max(0, int(off)-30-len(zf.Name)-9); i < int(off); i++ {
			check[i] = true
		}
	}
	end := len(b) - 22
	for i := len(b) - 1; i >= end; i-- {
		check[i] = true
	}
	cdStart := bytes.Index(b, []byte("PK\x01\x02"))
	for i := cdStart; i < cdStart+2*(46+9)+len(zfs[0].Name)+len(zfs[1].Name); i++ {
		check[i] = true
	}
	for i := range check {
		c := bytes.Clone(b)
		c[i] ^= 0x01
		if r := verify(f, c); r.OK() {
			t.Errorf("byte %d of %d changed: not detected", i, len(b))
		}
	}
}

// TestRemovedAndAddedEntries: removing an entry or adding one is named.
func TestRemovedAndAddedEntries(t *testing.T) {
	f := newFixture(t)
	b, _ := bundle(t, f)
	for _, name := range []string{"documents/terms.txt", "validation/" /* any */, "audit/proof-1.json", evidence.ManifestName, evidence.SealName, "mimetype"} {
		var removed string
		c := rezip(t, b, func(n string, data []byte) []byte {
			if removed == "" && strings.HasPrefix(n, name) {
				removed = n
				return nil
			}
			return data
		})
		if r := verify(f, c); r.OK() || !named(r, removed) {
			t.Errorf("removed %s: %v", removed, r.Problems)
		}
	}
	c := rezip(t, b, func(_ string, d []byte) []byte { return d }, [2]string{"documents/annex.txt", "an annex added later"})
	if r := verify(f, c); r.OK() || !named(r, "documents/annex.txt") {
		t.Errorf("added: %v", r.Problems)
	}
}

// TestUnsafeContainers: names that could escape a directory, duplicates and
// zip bombs are refused.
func TestUnsafeContainers(t *testing.T) {
	f := newFixture(t)
	b, _ := bundle(t, f)
	for _, n := range []string{"../evil.txt", "/etc/passwd", "documents/../../x", `documents\x.pdf`, "documents/contract.pdf"} {
		c := rezip(t, b, func(_ string, d []byte) []byte { return d }, [2]string{n, "x"})
		r := verify(f, c)
		if r.OK() {
			t.Errorf("%q accepted", n)
		}
		t.Logf("%q: %v", n, r.Problems[0])
	}
	var bomb bytes.Buffer
	zw := zip.NewWriter(&bomb)
	w, _ := zw.Create("mimetype")
	w.Write([]byte(evidence.MediaType))
	w, _ = zw.Create("documents/bomb.txt")
	zeros := make([]byte, 1<<20)
	for range 80 {
		w.Write(zeros)
	}
	zw.Close()
	// Compressed entries are refused before anything is inflated.
	r := evidence.Verify(t.Context(), bomb.Bytes(), evidence.VerifyOptions{Limits: evidence.Limits{MaxEntryBytes: 16 << 20}})
	if r.OK() || !named(r, "documents/bomb.txt") || !strings.Contains(r.Problems[1].Reason, "compressed") {
		t.Fatalf("zip bomb: %v", r.Problems)
	}
	big := rezip(t, b, func(_ string, d []byte) []byte { return d }, [2]string{"documents/big.txt", strings.Repeat("x", 2<<20)})
	r = evidence.Verify(t.Context(), big, evidence.VerifyOptions{Limits: evidence.Limits{MaxEntryBytes: 1 << 20}})
	if r.OK() || !strings.Contains(r.Problems[0].Reason, "limit") {
		t.Fatalf("over the entry limit: %v", r.Problems)
	}
	if r := evidence.Verify(t.Context(), []byte("not a zip"), evidence.VerifyOptions{}); r.OK() {
		t.Fatal("not a zip accepted")
	}
}

// TestContainerFormat: archive/zip and unzip read the bundle; mimetype is the
// first entry, stored, and IsBundle recognises it.
func TestContainerFormat(t *testing.T) {
	f := newFixture(t)
	b, _ := bundle(t, f)
	fs := entries(t, b)
	if fs[0].Name != "mimetype" || fs[0].Method != zip.Store || len(fs[0].Extra) != 0 {
		t.Fatalf("first entry %s, method %d, extra %d bytes", fs[0].Name, fs[0].Method, len(fs[0].Extra))
	}
	if !evidence.IsBundle(b) {
		t.Fatal("IsBundle refused a bundle")
	}
	if p, err := exec.LookPath("unzip"); err == nil {
		dir := t.TempDir()
		file := filepath.Join(dir, "b.asice")
		os.WriteFile(file, b, 0o600)
		if out, err := exec.Command(p, "-t", file).CombinedOutput(); err != nil {
			t.Fatalf("unzip -t: %v\n%s", err, out)
		}
	}
}

// TestOpenSSLAcceptsSeal: openssl cms, an independent client, verifies the seal over the manifest.
func TestOpenSSLAcceptsSeal(t *testing.T) {
	if _, err := exec.LookPath("openssl"); err != nil {
		if os.Getenv("TAWTHIQ_REQUIRE_OPENSSL") == "1" {
			t.Fatal("TAWTHIQ_REQUIRE_OPENSSL=1 but no openssl binary in PATH")
		}
		t.Skip("openssl not installed (apt-get install openssl); TAWTHIQ_REQUIRE_OPENSSL=1 makes this a failure")
	}
	f := newFixture(t)
	b, _ := bundle(t, f)
	dir := t.TempDir()
	rezip(t, b, func(name string, data []byte) []byte {
		switch name {
		case evidence.ManifestName:
			os.WriteFile(filepath.Join(dir, "manifest.xml"), data, 0o600)
		case evidence.SealName:
			os.WriteFile(filepath.Join(dir, "signature.p7s"), data, 0o600)
		}
		return data
	})
	root := testpki.WriteCerts(t, dir, "root.pem", f.h.Root.Cert)
	testpki.OpenSSL(t, "cms", "-verify", "-binary", "-content", filepath.Join(dir, "manifest.xml"), "-in", filepath.Join(dir, "signature.p7s"),
		"-inform", "DER", "-CAfile", root, "-purpose", "any", "-out", os.DevNull)
}
