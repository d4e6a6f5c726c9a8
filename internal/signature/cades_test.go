package signature_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tawthiq/tawthiq/internal/clock"
	"github.com/tawthiq/tawthiq/internal/errkind"
	"github.com/tawthiq/tawthiq/internal/keys"
	"github.com/tawthiq/tawthiq/internal/law"
	"github.com/tawthiq/tawthiq/internal/signature"
	"github.com/tawthiq/tawthiq/internal/testpki"
	"github.com/tawthiq/tawthiq/internal/tsa"
)

var _ signature.Stamper = (*tsa.Service)(nil)

var testPolicy = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 61234, 1, 2}

// fixture is a test hierarchy, a holder certified by its signature CA, and a
// real TSA service whose records go to memory.
type fixture struct {
	dir    string
	h      *testpki.Hierarchy
	signer crypto.Signer
	chain  []*x509.Certificate
	now    time.Time
	clk    *clock.Fake
	sync   *syncSwitch
	tsa    *tsa.Service
	rec    *recorder
}

// recorder is a tsa.Store in memory.
type recorder struct {
	mu  sync.Mutex
	got []tsa.Record
}

func (r *recorder) RecordTimestamp(_ context.Context, rec tsa.Record) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, rec)
	return nil
}

type syncSwitch struct {
	mu sync.Mutex
	v  tsa.Fixed
}

func (s *syncSwitch) Status(now time.Time) (time.Duration, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.v.Status(now)
}

func newFixture(t testing.TB, alg keys.Algorithm, opts ...testpki.Option) *fixture {
	t.Helper()
	h := testpki.New(t, opts...)
	k, err := keys.GenerateThrowaway(alg)
	if err != nil {
		t.Fatal(err)
	}
	holder := h.Issue(t, nil, h.NaturalRequest(t, testpki.Profile(t, "natural-qualified"), k.Public()))
	f := &fixture{dir: t.TempDir(), h: h, signer: k, chain: []*x509.Certificate{holder.Cert, h.Signature.Cert},
		now: h.Now.Add(time.Hour), rec: &recorder{}, sync: &syncSwitch{v: tsa.Fixed{Offset: time.Millisecond, Known: true}}}
	f.clk = clock.NewFake(f.now.Add(1500 * time.Millisecond))
	f.tsa, err = tsa.New(tsa.Config{Signer: h.TSA.Signer, Cert: h.TSA.Cert, Policy: testPolicy, Accuracy: time.Second,
		Qualified: true, Clock: f.clk, Sync: f.sync, Store: f.rec})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) opts(detached bool, level signature.Level) signature.Options {
	return signature.Options{Detached: detached, Level: level, Stamper: f.tsa,
		Now: func() time.Time { return f.now }}
}

func (f *fixture) write(t testing.TB, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(f.dir, name)
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// cmsVerify runs openssl cms -verify -cades at the fixture's time; content "" is enveloping.
func (f *fixture) cmsVerify(t testing.TB, sig []byte, content string) (string, error) {
	t.Helper()
	root := testpki.WriteCerts(t, f.dir, "root.pem", f.h.Root.Cert)
	args := []string{"cms", "-verify", "-binary", "-inform", "DER", "-in", f.write(t, "sig.p7s", sig),
		"-CAfile", root, "-purpose", "any", "-cades", "-attime", fmt.Sprint(f.now.Unix()), "-out", filepath.Join(f.dir, "out.bin")}
	if content != "" {
		args = append(args, "-content", content)
	}
	return testpki.RunOpenSSL(t, args...)
}

var document = []byte("عقد بيع — contrat de vente de 20 000 dirhams, signé électroniquement (L-443)\n")

// TestOpenSSLVerifies_L6: openssl, an independent client, accepts our CAdES
// signatures (with -cades: signing-certificate-v2 names the signer) and rejects
// them when one byte of the signed content changes.
func TestOpenSSLVerifies_L6(t *testing.T) {
	f := newFixture(t, keys.ECDSAP256)
	for _, level := range []signature.Level{signature.BB, signature.BT} {
		for _, detached := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s/detached=%v", level, detached), func(t *testing.T) {
				sig, err := signature.SignCAdES(t.Context(), document, f.signer, f.chain, f.opts(detached, level))
				if err != nil {
					t.Fatal(err)
				}
				var data string
				if detached {
					data = f.write(t, "data", document)
				}
				out, err := f.cmsVerify(t, sig, data)
				if err != nil || !strings.Contains(out, "Verification successful") {
					t.Fatalf("openssl cms -verify: %v\n%s", err, out)
				}
				if got, err := os.ReadFile(filepath.Join(f.dir, "out.bin")); err != nil || !bytes.Equal(got, document) {
					t.Fatalf("openssl extracted %q, want the document", got)
				}

				// One changed byte of the content is detected.
				changed := bytes.Clone(document)
				changed[len(changed)-2] ^= 0x01
				tampered := sig
				if detached {
					data = f.write(t, "data", changed)
				} else {
					i := bytes.Index(sig, document)
					if i < 0 {
						t.Fatal("the enveloped content is not in the signature")
					}
					tampered = bytes.Clone(sig)
					copy(tampered[i:], changed)
				}
				if out, err := f.cmsVerify(t, tampered, data); err == nil || strings.Contains(out, "Verification successful") {
					t.Fatalf("openssl accepted a changed document:\n%s", out)
				}
			})
		}
	}
}

// TestSignatureTimeStamp_L417_3: the B-T token is a real TSA's, over SHA-256 of
// the signature value, recorded by the TSA, and openssl ts -verify accepts it.
func TestSignatureTimeStamp_L417_3(t *testing.T) {
	f := newFixture(t, keys.ECDSAP256)
	sig, err := signature.SignCAdES(t.Context(), document, f.signer, f.chain, f.opts(true, signature.BT))
	if err != nil {
		t.Fatal(err)
	}
	sd, err := signature.Parse(sig)
	if err != nil {
		t.Fatal(err)
	}
	si := sd.Signers[0]
	if len(si.TimeStampTokens) != 1 {
		t.Fatalf("%d signature time-stamps, want 1", len(si.TimeStampTokens))
	}
	digest := sha256.Sum256(si.Signature)
	f.rec.mu.Lock()
	recs := f.rec.got
	f.rec.mu.Unlock()
	if len(recs) != 1 || !bytes.Equal(recs[0].Imprint, digest[:]) || recs[0].HashAlg != "sha256" {
		t.Fatalf("TSA records %+v, want one over SHA-256 of the signature value", recs)
	}
	token := f.write(t, "token.tsr", si.TimeStampTokens[0])
	root := testpki.WriteCerts(t, f.dir, "root.pem", f.h.Root.Cert)
	tsaPEM := testpki.WriteCerts(t, f.dir, "tsa.pem", f.h.TSA.Cert)
	out := testpki.OpenSSL(t, "ts", "-verify", "-in", token, "-token_in", "-digest", hex.EncodeToString(digest[:]),
		"-CAfile", root, "-untrusted", tsaPEM, "-attime", fmt.Sprint(f.now.Unix()))
	if !strings.Contains(out, "Verification: OK") {
		t.Fatalf("openssl ts -verify:\n%s", out)
	}
	// A token over another signature value is refused by the same verifier.
	other := sha256.Sum256(append(bytes.Clone(si.Signature), 0))
	if out, err := testpki.RunOpenSSL(t, "ts", "-verify", "-in", token, "-token_in", "-digest", hex.EncodeToString(other[:]),
		"-CAfile", root, "-untrusted", tsaPEM, "-attime", fmt.Sprint(f.now.Unix())); err == nil {
		t.Fatalf("openssl ts -verify accepted the token for another signature:\n%s", out)
	}
}

// TestStructure checks what EN 319 122-1 B-B asks of the SignedData, read back by Parse.
func TestStructure(t *testing.T) {
	f := newFixture(t, keys.ECDSAP256)
	for _, detached := range []bool{true, false} {
		sig, err := signature.SignCAdES(t.Context(), document, f.signer, f.chain, f.opts(detached, signature.BB))
		if err != nil {
			t.Fatal(err)
		}
		sd, err := signature.Parse(sig)
		if err != nil {
			t.Fatal(err)
		}
		if sd.Detached != detached || detached != (sd.Content == nil) || !detached && !bytes.Equal(sd.Content, document) {
			t.Errorf("detached=%v: eContent %q", detached, sd.Content)
		}
		if len(sd.Certificates) != 2 || len(sd.Signers) != 1 {
			t.Fatalf("%d certificates, %d signers; want signer + issuing CA, one signer", len(sd.Certificates), len(sd.Signers))
		}
		for _, c := range sd.Certificates {
			if bytes.Equal(c, f.h.Root.Cert.Raw) {
				t.Error("the root travels in the signature")
			}
		}
		si := sd.Signers[0]
		md := sha256.Sum256(document)
		certHash := sha256.Sum256(f.chain[0].Raw)
		if si.Version != 1 || si.DigestAlgorithm != crypto.SHA256 || !bytes.Equal(si.MessageDigest, md[:]) ||
			!bytes.Equal(si.SigningCertificateV2, certHash[:]) || !si.SigningTime.Equal(f.now) ||
			len(si.TimeStampTokens) != 0 {
			t.Errorf("SignerInfo %+v", si)
		}
		if err := f.chain[0].CheckSignature(x509.ECDSAWithSHA256, si.SignedAttrs, si.Signature); err != nil {
			t.Error(err)
		}
	}
}

// TestKeyAlgorithms: every key kind a holder may have signs what an independent
// client accepts. OpenSSL 3.0 cannot verify Ed25519 in CMS ("invalid digest" from
// its EdDSA provider, signing or verifying alike), so GnuTLS judges that one, at
// the real time, since certtool has no -attime.
func TestKeyAlgorithms(t *testing.T) {
	for _, alg := range []keys.Algorithm{keys.ECDSAP384, keys.RSA3072, keys.Ed25519} {
		t.Run(string(alg), func(t *testing.T) {
			f := newFixture(t, alg, testpki.WithNow(time.Now().UTC().Truncate(time.Second).Add(-2*time.Hour)))
			sig, err := signature.SignCAdES(t.Context(), document, f.signer, f.chain, f.opts(false, signature.BT))
			if err != nil {
				t.Fatal(err)
			}
			if alg != keys.Ed25519 {
				if out, err := f.cmsVerify(t, sig, ""); err != nil || !strings.Contains(out, "Verification successful") {
					t.Fatalf("openssl cms -verify: %v\n%s", err, out)
				}
				return
			}
			certtool, err := exec.LookPath("certtool")
			if err != nil {
				t.Skip("certtool not installed: apt-get install gnutls-bin")
			}
			root := testpki.WriteCerts(t, f.dir, "root.pem", f.h.Root.Cert)
			out, err := exec.Command(certtool, "--p7-verify", "--inder", "--infile", f.write(t, "sig.p7s", sig),
				"--load-ca-certificate", root, "--verify-profile=low").CombinedOutput()
			if err != nil || !strings.Contains(string(out), "Signature status: ok") {
				t.Fatalf("certtool --p7-verify: %v\n%s", err, out)
			}
		})
	}
}

// TestRefusals: what SignCAdES refuses, with the rule behind it.
func TestRefusals(t *testing.T) {
	f := newFixture(t, keys.ECDSAP256)
	cert := f.chain[0]
	other := testpki.Key(t)
	down := &syncSwitch{v: tsa.Fixed{Known: false}}
	downTSA, err := tsa.New(tsa.Config{Signer: f.h.TSA.Signer, Cert: f.h.TSA.Cert, Policy: testPolicy,
		Clock: f.clk, Sync: down, Store: f.rec})
	if err != nil {
		t.Fatal(err)
	}
	at := func(tm time.Time) func() time.Time { return func() time.Time { return tm } }
	tests := []struct {
		name   string
		signer crypto.Signer
		chain  []*x509.Certificate
		opts   signature.Options
		kind   errkind.Kind
		rule   law.ID
	}{
		{"expired", f.signer, f.chain, signature.Options{Now: at(cert.NotAfter.Add(time.Second))}, errkind.Invalid, law.L25},
		{"not yet valid", f.signer, f.chain, signature.Options{Now: at(cert.NotBefore.Add(-time.Second))}, errkind.Invalid, law.L25},
		{"proven time after expiry", f.signer, f.chain, signature.Options{Level: signature.BT, Stamper: f.tsa,
			Now: at(cert.NotAfter.Add(-time.Second))}, errkind.Invalid, law.L25}, // the TSA's clock is later (set below)
		{"key of another", other, f.chain, signature.Options{Now: at(f.now)}, errkind.Invalid, law.L417_2},
		{"no certificate", f.signer, nil, signature.Options{Now: at(f.now)}, errkind.Invalid, law.L417_2},
		{"B-T without TSA", f.signer, f.chain, signature.Options{Level: signature.BT, Now: at(f.now)}, errkind.Invalid, law.L417_3},
		{"content time-stamp without TSA", f.signer, f.chain, signature.Options{ContentTimeStamp: true, Now: at(f.now)}, errkind.Invalid, law.L425},
		{"content stamped after expiry", f.signer, f.chain, signature.Options{ContentTimeStamp: true, Stamper: f.tsa,
			Now: at(cert.NotAfter.Add(-time.Second))}, errkind.Invalid, law.L25}, // the TSA's clock is later (set below)
		{"unknown level", f.signer, f.chain, signature.Options{Level: 7, Now: at(f.now)}, errkind.Invalid, law.LInternal},
		{"TSA clock unsynchronised", f.signer, f.chain, signature.Options{Level: signature.BT, Stamper: downTSA,
			Now: at(f.now)}, errkind.Unavailable, law.L21_1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.name == "proven time after expiry" || tc.name == "content stamped after expiry" {
				f.clk.Set(cert.NotAfter.Add(time.Minute))
				defer f.clk.Set(f.now.Add(1500 * time.Millisecond))
			}
			sig, err := signature.SignCAdES(t.Context(), document, tc.signer, tc.chain, tc.opts)
			if err == nil {
				t.Fatalf("signed (%d bytes), want a refusal", len(sig))
			}
			e := errkind.As(err)
			if e.Kind != tc.kind || (tc.rule != "" && e.Rule != tc.rule) {
				t.Fatalf("error %v: kind %v rule %q, want %v %q", err, e.Kind, e.Rule, tc.kind, tc.rule)
			}
		})
	}
}

func BenchmarkSignCAdESBB(b *testing.B) {
	f := newFixture(b, keys.ECDSAP256)
	content := bytes.Repeat([]byte("x"), 4096)
	opts := f.opts(true, signature.BB)
	b.SetBytes(int64(len(content)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := signature.SignCAdES(b.Context(), content, f.signer, f.chain, opts); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSignCAdESBT(b *testing.B) {
	f := newFixture(b, keys.ECDSAP256)
	content := bytes.Repeat([]byte("x"), 4096)
	opts := f.opts(true, signature.BT)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := signature.SignCAdES(b.Context(), content, f.signer, f.chain, opts); err != nil {
			b.Fatal(err)
		}
	}
}
