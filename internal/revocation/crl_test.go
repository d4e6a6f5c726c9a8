package revocation_test

import (
	"crypto"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tawthiq/tawthiq/internal/errkind"
	"github.com/tawthiq/tawthiq/internal/issuance"
	"github.com/tawthiq/tawthiq/internal/law"
	"github.com/tawthiq/tawthiq/internal/revocation"
	"github.com/tawthiq/tawthiq/internal/testpki"
)

func TestCRL_L21_rev(t *testing.T) {
	e := newEnv(t, 0)
	officer := revocation.Actor{ID: "officer-1", Role: revocation.RoleOfficer}
	holder := revocation.Actor{ID: "holder-1", Role: revocation.RoleHolder}
	kc := e.issue(t, "holder-1", nil, 365*24*time.Hour)
	ce := e.issue(t, "holder-1", nil, 365*24*time.Hour)
	hr := e.issue(t, "holder-1", nil, 365*24*time.Hour)
	expired := e.issue(t, "holder-1", nil, -2*time.Hour) // expired an hour ago
	inval := start.Add(-36 * time.Hour)
	_, err := e.svc.Revoke(t.Context(), holder, revocation.Request{Serial: kc.Serial, Ground: law.GroundKeyCompromise, InvalidityDate: inval})
	must(t, err)
	_, err = e.svc.Revoke(t.Context(), officer, revocation.Request{Serial: ce.Serial, Ground: law.GroundCessation, Note: "L-23 cessation"})
	must(t, err)
	_, err = e.svc.Revoke(t.Context(), holder, revocation.Request{Serial: hr.Serial, Ground: law.GroundHolderRequest})
	must(t, err)
	_, err = e.svc.Revoke(t.Context(), holder, revocation.Request{Serial: expired.Serial, Ground: law.GroundCapacityChange})
	must(t, err)
	e.clk.Advance(time.Second)
	crls, err := e.svc.PublishCRL(t.Context(), "signature")
	must(t, err)
	if len(crls) != 1 || crls[0].Name != "signature" || crls[0].Entries != 4 {
		t.Fatalf("CRLs %+v", crls)
	}
	rl, err := revocation.VerifyCRL(crls[0].DER, e.ca.Signature.Cert)
	must(t, err)
	if !rl.ThisUpdate.Equal(crls[0].ThisUpdate) || rl.NextUpdate.Sub(rl.ThisUpdate) != law.CRLValidity {
		t.Fatalf("thisUpdate %v nextUpdate %v", rl.ThisUpdate, rl.NextUpdate)
	}
	reasons := map[string]int{}
	for _, en := range rl.RevokedCertificateEntries {
		reasons[hex.EncodeToString(en.SerialNumber.Bytes())] = en.ReasonCode
	}
	want := map[string]int{kc.Serial: law.ReasonKeyCompromise, ce.Serial: law.ReasonCessationOfOperation,
		hr.Serial: 0, expired.Serial: law.ReasonAffiliationChanged}
	for s, r := range want {
		if got, ok := reasons[s]; !ok || got != r {
			t.Errorf("serial %s: reason %d (listed %v), want %d", s, got, ok, r)
		}
	}
	text := opensslCRLText(t, e, crls[0].DER)
	for _, w := range []string{"Key Compromise", "Cessation Of Operation", "Affiliation Changed", "Invalidity Date",
		inval.Format("Jan _2 15:04:05 2006 GMT"), "X509v3 CRL Number", "X509v3 Authority Key Identifier"} {
		if !strings.Contains(text, w) {
			t.Errorf("openssl crl -text lacks %q:\n%s", w, text)
		}
	}
	// The holder's own request carries no reason code (RFC 5280 §5.3.1: unspecified is absent).
	if n := strings.Count(text, "CRL Reason Code"); n != 3 {
		t.Errorf("%d reason codes, want 3 (none for the unspecified holder request)", n)
	}
	lintClean(t, crls[0].DER)

	// A year later the certificates have all expired: still listed (L-21-rev), numbers increase.
	e.clk.Advance(400 * 24 * time.Hour)
	again, err := e.svc.PublishCRL(t.Context(), "signature")
	must(t, err)
	if again[0].Number <= crls[0].Number || again[0].Entries != 4 {
		t.Fatalf("second CRL number %d (first %d), %d entries", again[0].Number, crls[0].Number, again[0].Entries)
	}
	rl2, err := revocation.VerifyCRL(again[0].DER, e.ca.Signature.Cert)
	must(t, err)
	if rl2.Number.Cmp(rl.Number) <= 0 {
		t.Fatalf("CRL number %v not above %v", rl2.Number, rl.Number)
	}
	latest, err := e.svc.Latest(t.Context(), "signature")
	must(t, err)
	if latest.Number != again[0].Number {
		t.Fatalf("Latest gave number %d, want %d", latest.Number, again[0].Number)
	}
}

func TestCRLKeepsExpired_L21_rev(t *testing.T) {
	e := newEnv(t, 0)
	c := e.issue(t, "holder-1", nil, -2*time.Hour)
	if !c.Cert.NotAfter.Before(e.clk.Now()) {
		t.Fatal("test certificate is not expired")
	}
	_, err := e.svc.Revoke(t.Context(), revocation.Actor{ID: "holder-1", Role: revocation.RoleHolder}, revocation.Request{Serial: c.Serial, Ground: law.GroundHolderRequest})
	must(t, err)
	for range 3 {
		e.clk.Advance(law.CRLReissueEvery)
		crls, err := e.svc.PublishCRL(t.Context(), "signature")
		must(t, err)
		rl, err := revocation.VerifyCRL(crls[0].DER, e.ca.Signature.Cert)
		must(t, err)
		if len(rl.RevokedCertificateEntries) != 1 || fmt.Sprintf("%x", rl.RevokedCertificateEntries[0].SerialNumber) != c.Serial {
			t.Fatalf("expired certificate dropped from the CRL: %+v", rl.RevokedCertificateEntries)
		}
	}
}

func TestCRLShards_L21_rev(t *testing.T) {
	const shards = 4
	e := newEnv(t, shards)
	holder := revocation.Actor{ID: "holder-1", Role: revocation.RoleHolder}
	var certs []issued
	for range 6 {
		c := e.issue(t, "holder-1", nil, 365*24*time.Hour)
		certs = append(certs, c)
		_, err := e.svc.Revoke(t.Context(), holder, revocation.Request{Serial: c.Serial, Ground: law.GroundKeyCompromise})
		must(t, err)
	}
	e.clk.Advance(time.Second)
	crls, err := e.svc.PublishCRL(t.Context(), "signature")
	must(t, err)
	if len(crls) != 1+shards {
		t.Fatalf("%d CRLs, want the full one and %d shards", len(crls), shards)
	}
	for i := 1; i < len(crls); i++ {
		if crls[i].Number <= crls[i-1].Number {
			t.Fatalf("CRL numbers not increasing: %d then %d", crls[i-1].Number, crls[i].Number)
		}
	}
	if crls[0].Entries != len(certs) {
		t.Fatalf("full CRL has %d entries, want %d", crls[0].Entries, len(certs))
	}
	byName := map[string]revocation.CRL{}
	total := 0
	for _, c := range crls[1:] {
		byName[c.Name] = c
		total += c.Entries
		lintClean(t, c.DER)
		text := opensslCRLText(t, e, c.DER)
		url := e.csp.BaseURL + "/crl/" + c.Name + ".crl"
		if !strings.Contains(text, "Issuing Distribution Point: critical") || !strings.Contains(text, url) ||
			!strings.Contains(text, "Only User Certificates") {
			t.Fatalf("shard %s lacks its critical IDP %s:\n%s", c.Name, url, text)
		}
	}
	if total != len(certs) {
		t.Fatalf("shards list %d entries, want %d", total, len(certs))
	}
	// Each certificate names its shard, and that shard lists it; openssl checks it against the shard CRL.
	for _, c := range certs {
		n := new(big.Int).Mod(c.Cert.SerialNumber, big.NewInt(shards)).Int64()
		name := revocation.ShardName("signature", int(n))
		if c.Cert.CRLDistributionPoints[0] != e.csp.BaseURL+"/crl/"+name+".crl" {
			t.Fatalf("CDP %v, want shard %s", c.Cert.CRLDistributionPoints, name)
		}
		rl, err := revocation.VerifyCRL(byName[name].DER, e.ca.Signature.Cert)
		must(t, err)
		found := false
		for _, en := range rl.RevokedCertificateEntries {
			found = found || en.SerialNumber.Cmp(c.Cert.SerialNumber) == 0
		}
		if !found {
			t.Fatalf("shard %s does not list %s", name, c.Serial)
		}
	}
	c := certs[0]
	n := new(big.Int).Mod(c.Cert.SerialNumber, big.NewInt(shards)).Int64()
	dir := t.TempDir()
	crlPEM := testpki.WritePEM(t, dir, "shard.crl.pem", "X509 CRL", byName[revocation.ShardName("signature", int(n))].DER)
	chain := testpki.WritePEM(t, dir, "chain.pem", "CERTIFICATE", e.ca.Root.Cert.Raw, e.ca.Signature.Cert.Raw)
	leaf := testpki.WritePEM(t, dir, "leaf.pem", "CERTIFICATE", c.Cert.Raw)
	cmd := []string{"verify", "-crl_check", "-CAfile", chain, "-CRLfile", crlPEM, "-attime", fmt.Sprint(e.clk.Now().Unix()), leaf}
	out, _ := testpki.RunOpenSSL(t, cmd...)
	if !strings.Contains(out, "certificate revoked") {
		t.Fatalf("openssl verify -crl_check with the shard CRL did not find the revocation:\n%s", out)
	}
}

func TestPublisher_L21_1(t *testing.T) {
	e := newEnv(t, 0)
	p1 := e.svc.NewPublisher("node-1", nil)
	p2 := e.svc.NewPublisher("node-2", nil)
	done, err := p1.RunOnce(t.Context())
	must(t, err)
	if len(done) != 1 {
		t.Fatalf("first run published %v, want the first CRL of signature", done)
	}
	done, err = p2.RunOnce(t.Context())
	must(t, err)
	if len(done) != 0 {
		t.Fatalf("a second node published %v while the first holds the lease", done)
	}
	done, err = p1.RunOnce(t.Context())
	must(t, err)
	if len(done) != 0 {
		t.Fatalf("nothing due, yet published %v", done)
	}
	c := e.issue(t, "holder-1", nil, 365*24*time.Hour)
	_, err = e.svc.Revoke(t.Context(), revocation.Actor{ID: "holder-1", Role: revocation.RoleHolder}, revocation.Request{Serial: c.Serial, Ground: law.GroundHolderRequest})
	must(t, err)
	e.clk.Advance(time.Second)
	done, err = p1.RunOnce(t.Context())
	must(t, err)
	if len(done) != 1 {
		t.Fatalf("revocation not published: %v", done)
	}
	r, err := e.svc.Revocation(t.Context(), c.Serial)
	must(t, err)
	if r.CRLPublishedAt.IsZero() || r.CRLPublishedAt.Sub(r.RevokedAt) > law.CRLRevocationDelay {
		t.Fatalf("published at %v for a revocation at %v", r.CRLPublishedAt, r.RevokedAt)
	}
	// Scheduled reissue, taken over by node-2 once node-1's lease has lapsed.
	e.clk.Advance(law.CRLReissueEvery)
	done, err = p2.RunOnce(t.Context())
	must(t, err)
	if len(done) != 1 {
		t.Fatalf("node-2 did not take over the schedule: %v", done)
	}
	// Run wakes up on a revocation without waiting for the schedule.
	d := e.issue(t, "holder-1", nil, 365*24*time.Hour)
	ctx, cancel := contextWithCancel(t)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); _ = p2.Run(ctx) }()
	_, err = e.svc.Revoke(t.Context(), revocation.Actor{ID: "holder-1", Role: revocation.RoleHolder}, revocation.Request{Serial: d.Serial, Ground: law.GroundHolderRequest})
	must(t, err)
	deadline := time.Now().Add(law.CRLRevocationDelay)
	for {
		r, err := e.svc.Revocation(t.Context(), d.Serial)
		must(t, err)
		if !r.CRLPublishedAt.IsZero() {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not published within %v", law.CRLRevocationDelay)
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	wg.Wait()
}

func TestLatestUnknown(t *testing.T) {
	e := newEnv(t, 0)
	_, err := e.svc.Latest(t.Context(), "nope")
	wantKind(t, err, errkind.NotFound, "")
	_, err = e.svc.PublishCRL(t.Context(), "nope")
	wantKind(t, err, errkind.NotFound, law.L21Rev)
}

// refusingLinter stands for a lint error: publication must stop.
type refusingLinter struct{}

func (refusingLinter) RevocationList([]byte) error {
	return errkind.New(errkind.Invalid, law.L21Rev, "lint error")
}

func TestLintErrorRefusesPublication_L21_rev(t *testing.T) {
	e := newEnv(t, 0)
	svc := revocation.New(e.db, e.clk, refusingLinter{}, e.csp, []revocation.Issuer{{Name: "signature", Cert: e.ca.Signature.Cert, Signer: e.ca.Signature.Signer}})
	_, err := svc.PublishCRL(t.Context(), "signature")
	wantKind(t, err, errkind.Invalid, law.L21Rev)
	_, err = svc.Latest(t.Context(), "signature")
	wantKind(t, err, errkind.NotFound, "")
}

func lintClean(t *testing.T, der []byte) {
	t.Helper()
	fs, err := linter(t).RevocationListFindings(der)
	must(t, err)
	ran := 0
	for _, f := range fs {
		if f.Status != "NA" && f.Status != "NE" {
			ran++
		}
		if f.Failed() || f.Status == "error" && f.Acknowledged == "" {
			t.Errorf("zlint %s: %s %s", f.Name, f.Status, f.Details)
		}
	}
	if ran < 10 {
		t.Fatalf("only %d zlint CRL lints applied", ran)
	}
}

// BenchmarkCRL1M builds, signs and verifies a CRL of 1,000,000 revoked entries
// (a tenth of them for key compromise, with an invalidity date) and reports the
// peak heap it needed; go test -run x -bench CRL1M -benchtime 3x ./internal/revocation/
func BenchmarkCRL1M(b *testing.B) {
	const n = 1_000_000
	csp := testCSP(0)
	p := newCA(b, csp)
	entries := make([]revocation.Entry, n)
	at := start.Add(-24 * time.Hour)
	for i := range entries {
		s := new(big.Int).Lsh(big.NewInt(1), 126)
		s.Add(s, big.NewInt(int64(i)*7919+1))
		entries[i] = revocation.Entry{Serial: s.Text(16), RevokedAt: at.Add(time.Duration(i) * time.Millisecond), Reason: law.ReasonCessationOfOperation}
		if i%10 == 0 {
			entries[i].Reason, entries[i].InvalidityDate = law.ReasonKeyCompromise, at.Add(-time.Hour)
		}
	}
	benchCRL(b, p.Signature.Cert, p.Signature.Signer, entries)
}

func benchCRL(b *testing.B, issuer *x509.Certificate, key crypto.Signer, entries []revocation.Entry) {
	runtime.GC()
	var base runtime.MemStats
	runtime.ReadMemStats(&base)
	var peak atomic.Uint64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // sample the heap while the CRL is built
		defer wg.Done()
		var m runtime.MemStats
		for {
			runtime.ReadMemStats(&m)
			if m.HeapAlloc > peak.Load() {
				peak.Store(m.HeapAlloc)
			}
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
	}()
	var size int
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		der, err := revocation.BuildCRL(key, revocation.CRLTemplate{Issuer: issuer, Number: int64(i), ThisUpdate: start,
			NextUpdate: start.Add(law.CRLValidity)}, entries)
		if err != nil {
			b.Fatal(err)
		}
		size = len(der)
	}
	b.StopTimer()
	close(stop)
	wg.Wait()
	b.ReportMetric(float64(peak.Load()-min(peak.Load(), base.HeapAlloc))/(1<<20), "peak-MiB")
	b.ReportMetric(float64(size)/(1<<20), "crl-MiB")
	if os.Getenv("TAWTHIQ_CRL_OUT") != "" {
		der, _ := revocation.BuildCRL(key, revocation.CRLTemplate{Issuer: issuer, Number: 1, ThisUpdate: start, NextUpdate: start.Add(law.CRLValidity)}, entries)
		_ = os.WriteFile(filepath.Join(os.Getenv("TAWTHIQ_CRL_OUT"), "big.crl"), der, 0o600)
		_ = os.WriteFile(filepath.Join(os.Getenv("TAWTHIQ_CRL_OUT"), "ca.der"), issuer.Raw, 0o600)
	}
}

var _ = issuance.MaxCRLShards
