package ocsp_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"io"
	"net/http"
	"net/url"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	xocsp "golang.org/x/crypto/ocsp"

	"github.com/tawthiq/tawthiq/internal/law"
	"github.com/tawthiq/tawthiq/internal/ocsp"
	"github.com/tawthiq/tawthiq/internal/testpki"
)

func needTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Skipf("%s is not installed (make test installs it): %v", name, err)
	}
	return p
}

// openssl runs `openssl ocsp` against the fixture's server for the given certificates.
func (f *fixture) openssl(t *testing.T, extra []string, certs ...*x509.Certificate) string {
	t.Helper()
	tool := needTool(t, "openssl")
	args := []string{"ocsp", "-issuer", f.dir + "/ca.pem", "-url", f.srv.URL + "/ocsp",
		"-verify_other", f.dir + "/responder.pem", "-CAfile", f.dir + "/root.pem"}
	for i, c := range certs {
		args = append(args, "-cert", f.writePEM(t, "ee"+string(rune('a'+i))+".pem", c.Raw))
	}
	args = append(args, extra...)
	out, err := exec.Command(tool, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("openssl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	if !strings.Contains(string(out), "Response verify OK") {
		t.Fatalf("openssl did not verify the response:\n%s", out)
	}
	return string(out)
}

func (f *fixture) tick(t testing.TB) {
	t.Helper()
	must(t, f.svc.Tick(context.Background()))
}

// post sends der to the server and returns the body, checking the HTTP status.
func (f *fixture) post(t *testing.T, der []byte, want int) []byte {
	t.Helper()
	resp, err := http.Post(f.srv.URL+"/ocsp", "application/ocsp-request", bytes.NewReader(der))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		t.Fatalf("HTTP %d, want %d: %s", resp.StatusCode, want, body)
	}
	return body
}

func request(t testing.TB, c, issuer *x509.Certificate, h crypto.Hash) []byte {
	t.Helper()
	der, err := xocsp.CreateRequest(c, issuer, &xocsp.RequestOptions{Hash: h})
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func TestOpenSSLGoodThenRevoked_L21Rev(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	now := time.Now().UTC()
	ee := f.issue(t, now.Add(-time.Hour), now.AddDate(1, 0, 0))
	f.tick(t)

	// Pre-signed (no nonce) and signed on the spot (nonce), both good.
	for _, extra := range [][]string{{"-no_nonce"}, {"-nonce"}} {
		out := f.openssl(t, extra, ee)
		if !regexp.MustCompile(`: good`).MatchString(out) {
			t.Fatalf("openssl %v: not good:\n%s", extra, out)
		}
		if extra[0] == "-nonce" && strings.Contains(out, "nonce") {
			t.Fatalf("openssl complains about the nonce:\n%s", out) // "WARNING: no nonce in response"
		}
	}

	revokedAt := now.Add(-time.Minute).Truncate(time.Millisecond).Add(123 * time.Millisecond)
	f.revoke(t, ee, law.GroundKeyCompromise, revokedAt)
	f.tick(t)
	var published int64
	must(t, f.db.SQL().QueryRow("SELECT ocsp_published_ms FROM revocations WHERE serial = ?",
		hex.EncodeToString(ee.SerialNumber.Bytes())).Scan(&published))
	if published == 0 {
		t.Fatal("the revocation's OCSP publication was not recorded (L-21-rev)")
	}
	wantTime := revokedAt.UTC().Format("Jan _2 15:04:05 2006 GMT")
	for _, extra := range [][]string{{"-no_nonce"}, {"-nonce"}} {
		out := f.openssl(t, extra, ee)
		if !strings.Contains(out, ": revoked") || !strings.Contains(out, "Reason: keyCompromise") ||
			!strings.Contains(out, "Revocation Time: "+wantTime) {
			t.Fatalf("openssl %v: want revoked, keyCompromise at %s:\n%s", extra, wantTime, out)
		}
	}
	// A second revocation without a reason code (the holder's request: unspecified).
	ee2 := f.issue(t, now.Add(-time.Hour), now.AddDate(1, 0, 0))
	f.tick(t)
	f.revoke(t, ee2, law.GroundHolderRequest, now)
	f.tick(t)
	out := f.openssl(t, []string{"-no_nonce"}, ee2)
	if !strings.Contains(out, ": revoked") || strings.Contains(out, "Reason:") {
		t.Fatalf("want revoked without a reason:\n%s", out)
	}
	// Both at once: one request, two certificates, answered on the spot.
	out = f.openssl(t, []string{"-nonce"}, ee, ee2)
	if strings.Count(out, ": revoked") != 2 {
		t.Fatalf("two certificates: want two revoked:\n%s", out)
	}
}

func TestExpiredCertificateAnswered_L21Rev(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	now := time.Now().UTC()
	ee := f.issue(t, now.AddDate(-2, 0, 0), now.AddDate(-1, 0, 0))
	f.tick(t)
	if out := f.openssl(t, []string{"-no_nonce"}, ee); !strings.Contains(out, ": good") {
		t.Fatalf("expired certificate not answered good:\n%s", out)
	}
	f.revoke(t, ee, law.GroundCessation, now)
	f.tick(t)
	if out := f.openssl(t, []string{"-no_nonce"}, ee); !strings.Contains(out, "Reason: cessationOfOperation") {
		t.Fatalf("expired revoked certificate:\n%s", out)
	}
}

func TestGnuTLSOcsptool(t *testing.T) {
	tool := needTool(t, "ocsptool")
	f := newFixture(t, fixtureOpts{})
	now := time.Now().UTC()
	ee := f.issue(t, now.Add(-time.Hour), now.AddDate(1, 0, 0))
	f.tick(t)
	for _, nonce := range []bool{true, false} {
		args := []string{"--ask=" + f.srv.URL + "/ocsp", "--load-issuer", f.dir + "/ca.pem",
			"--load-cert", f.writePEM(t, "ee.pem", ee.Raw), "--load-signer", f.dir + "/responder.pem"}
		if nonce {
			args = append(args, "--nonce")
		} else {
			args = append(args, "--no-nonce")
		}
		out, err := exec.Command(tool, args...).CombinedOutput()
		if err != nil {
			t.Fatalf("ocsptool %v: %v\n%s", args, err, out)
		}
		if !strings.Contains(string(out), "Certificate Status: good") || !strings.Contains(string(out), "Verifying OCSP Response: Success") {
			t.Fatalf("ocsptool (nonce %v):\n%s", nonce, out)
		}
	}
}

func TestGETAndSHA256(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	now := time.Now().UTC()
	ee := f.issue(t, now.Add(-time.Hour), now.AddDate(1, 0, 0))
	f.tick(t)
	for _, h := range []crypto.Hash{crypto.SHA1, crypto.SHA256} {
		der := request(t, ee, f.signature.Cert, h)
		u := f.srv.URL + "/ocsp/" + url.PathEscape(base64.StdEncoding.EncodeToString(der))
		resp, err := http.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/ocsp-response" {
			t.Fatalf("GET %v: HTTP %d %s", h, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		for _, hd := range []string{"ETag", "Last-Modified", "Cache-Control"} {
			if resp.Header.Get(hd) == "" {
				t.Errorf("GET %v: no %s header", h, hd)
			}
		}
		if cc := resp.Header.Get("Cache-Control"); !strings.Contains(cc, "max-age=") || !strings.Contains(cc, "public") {
			t.Errorf("Cache-Control %q", cc)
		}
		r, err := xocsp.ParseResponseForCert(body, ee, f.signature.Cert)
		if err != nil {
			t.Fatalf("GET %v: %v", h, err)
		}
		if r.Status != xocsp.Good || r.IssuerHash != h || r.NextUpdate.Sub(r.ThisUpdate) != law.OCSPValidity {
			t.Fatalf("GET %v: status %d hash %v validity %s", h, r.Status, r.IssuerHash, r.NextUpdate.Sub(r.ThisUpdate))
		}
		// The same bytes over POST: pre-signed, no signature made.
		if got := f.post(t, der, 200); !bytes.Equal(got, body) {
			t.Fatalf("POST and GET answers differ for %v", h)
		}
		// A conditional GET is answered 304.
		req, _ := http.NewRequest("GET", u, nil)
		req.Header.Set("If-None-Match", resp.Header.Get("ETag"))
		resp2, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp2.Body.Close()
		if resp2.StatusCode != http.StatusNotModified {
			t.Fatalf("conditional GET: HTTP %d", resp2.StatusCode)
		}
	}
}

func TestErrorsAndKeepsServing(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	now := time.Now().UTC()
	ee := f.issue(t, now.Add(-time.Hour), now.AddDate(1, 0, 0))
	f.tick(t)
	good := request(t, ee, f.signature.Cert, crypto.SHA1)
	other := newFixture(t, fixtureOpts{}) // another CSP: an issuer this responder does not serve
	foreign := other.issue(t, now.Add(-time.Hour), now.AddDate(1, 0, 0))
	neverIssued := *ee
	neverIssued.SerialNumber = testpki.Serial(t)

	check := func(t *testing.T, body []byte, want xocsp.ResponseStatus) {
		t.Helper()
		_, err := xocsp.ParseResponse(body, nil)
		re, ok := err.(xocsp.ResponseError)
		if !ok || re.Status != want {
			t.Fatalf("got %v (% x), want OCSP status %v", err, body, want)
		}
	}
	tests := []struct {
		name string
		run  func(t *testing.T)
	}{
		{"garbage", func(t *testing.T) { check(t, f.post(t, []byte("not DER"), 200), xocsp.Malformed) }},
		{"empty", func(t *testing.T) { check(t, f.post(t, nil, 200), xocsp.Malformed) }},
		{"truncated", func(t *testing.T) { check(t, f.post(t, good[:len(good)-3], 200), xocsp.Malformed) }},
		{"trailing", func(t *testing.T) { check(t, f.post(t, append(append([]byte{}, good...), 0), 200), xocsp.Malformed) }},
		{"unknown issuer", func(t *testing.T) {
			check(t, f.post(t, request(t, foreign, other.signature.Cert, crypto.SHA1), 200), xocsp.Unauthorized)
		}},
		{"oversized", func(t *testing.T) { f.post(t, bytes.Repeat([]byte{0x30}, 5000), http.StatusRequestEntityTooLarge) }},
		{"bad base64", func(t *testing.T) {
			resp, err := http.Get(f.srv.URL + "/ocsp/" + "A===")
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			check(t, body, xocsp.Malformed)
		}},
		{"never issued", func(t *testing.T) {
			body := f.post(t, request(t, &neverIssued, f.signature.Cert, crypto.SHA1), 200)
			r, err := xocsp.ParseResponseForCert(body, &neverIssued, f.signature.Cert)
			if err != nil || r.Status != xocsp.Unknown {
				t.Fatalf("never-issued serial: %v, status %v", err, r)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.run(t)
			// The server keeps serving: a good request right after succeeds.
			r, err := xocsp.ParseResponseForCert(f.post(t, good, 200), ee, f.signature.Cert)
			if err != nil || r.Status != xocsp.Good {
				t.Fatalf("after %s: %v", tc.name, err)
			}
		})
	}
}

func TestRefreshAndNewCertificates(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	now := time.Now().UTC()
	ee := f.issue(t, now.Add(-time.Hour), now.AddDate(1, 0, 0))
	f.tick(t)
	der := request(t, ee, f.signature.Cert, crypto.SHA1)
	first, err := xocsp.ParseResponseForCert(f.svc.Respond(context.Background(), der).DER, ee, f.signature.Cert)
	if err != nil {
		t.Fatal(err)
	}
	// Before the refresh age nothing is re-signed; after it, the response is.
	f.clk.Advance(law.OCSPRefreshAfter - time.Minute)
	f.tick(t)
	same, _ := xocsp.ParseResponseForCert(f.svc.Respond(context.Background(), der).DER, ee, f.signature.Cert)
	if !same.ThisUpdate.Equal(first.ThisUpdate) {
		t.Fatalf("re-signed before %s", law.OCSPRefreshAfter)
	}
	f.clk.Advance(2 * time.Minute)
	f.tick(t)
	ans := f.svc.Respond(context.Background(), der)
	fresh, err := xocsp.ParseResponseForCert(ans.DER, ee, f.signature.Cert)
	if err != nil {
		t.Fatal(err)
	}
	if !fresh.ThisUpdate.After(first.ThisUpdate) || fresh.NextUpdate.Sub(fresh.ThisUpdate) != law.OCSPValidity || ans.ETag == "" {
		t.Fatalf("not refreshed: thisUpdate %s then %s", first.ThisUpdate, fresh.ThisUpdate)
	}
	if ans.MaxAge <= 0 || ans.MaxAge > 5*time.Minute {
		t.Fatalf("max-age %s for a good answer", ans.MaxAge)
	}
	// A certificate issued later gets its response at the next round.
	ee2 := f.issue(t, now.Add(-time.Hour), now.AddDate(1, 0, 0))
	f.tick(t)
	if n := f.svc.Indexed(); n != 2 {
		t.Fatalf("index holds %d certificates, want 2", n)
	}
	if ans := f.svc.Respond(context.Background(), request(t, ee2, f.signature.Cert, crypto.SHA256)); ans.ETag == "" {
		t.Fatal("the new certificate is not answered from a pre-signed response")
	}
}

func TestTwoNodesOneSigner(t *testing.T) {
	a := newFixture(t, fixtureOpts{})
	// Both nodes take the lease on the same database; b shares a's hierarchy.
	a2 := newFixture(t, fixtureOpts{db: a.db, fix: a, leases: a.db})
	b := newFixture(t, fixtureOpts{db: a.db, fix: a, leases: a.db})
	now := time.Now().UTC()
	ee := a.issue(t, now.Add(-time.Hour), now.AddDate(1, 0, 0))
	a2.tick(t) // takes the lease and signs
	b.tick(t)  // lease held elsewhere: only reads
	var rows int
	must(t, a.db.SQL().QueryRow("SELECT count(*) FROM ocsp_responses").Scan(&rows))
	if rows != 1 || a2.svc.Indexed() != 1 || b.svc.Indexed() != 1 {
		t.Fatalf("rows %d, indexed %d and %d; want 1 each", rows, a2.svc.Indexed(), b.svc.Indexed())
	}
	var holder string
	must(t, a.db.SQL().QueryRow("SELECT holder FROM leases WHERE name = 'ocsp-signer'").Scan(&holder))
	// b answers from a2's signature, and sees a revocation a2 publishes.
	if out := b.openssl(t, []string{"-no_nonce"}, ee); !strings.Contains(out, ": good") {
		t.Fatalf("node b:\n%s", out)
	}
	b.revoke(t, ee, law.GroundInformationChanged, now)
	b.tick(t)
	a2.tick(t)
	b.tick(t)
	if out := b.openssl(t, []string{"-no_nonce"}, ee); !strings.Contains(out, "Reason: affiliationChanged") {
		t.Fatalf("node b after revocation on the leader (%s):\n%s", holder, out)
	}
	// privilegeWithdrawn (9), which OpenSSL 3.0 prints as "(UNKNOWN)", checked with x/crypto/ocsp.
	ee2 := a.issue(t, now.Add(-time.Hour), now.AddDate(1, 0, 0))
	a2.tick(t)
	b.revoke(t, ee2, law.GroundFalseInformation, now)
	a2.tick(t)
	b.tick(t)
	r, err := xocsp.ParseResponseForCert(b.svc.Respond(context.Background(), request(t, ee2, a.signature.Cert, crypto.SHA256)).DER, ee2, a.signature.Cert)
	if err != nil || r.Status != xocsp.Revoked || r.RevocationReason != xocsp.PrivilegeWithdrawn {
		t.Fatalf("false information: %v %+v", err, r)
	}
}

func TestNewChecksResponder(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	tests := []struct {
		name string
		in   ocsp.Issuer
	}{
		{"responder of another CA", ocsp.Issuer{Name: "x", Cert: f.root.Cert, Responder: f.rsp.Cert, Signer: f.rsp.Signer}},
		{"key not the responder's", ocsp.Issuer{Name: "x", Cert: f.signature.Cert, Responder: f.rsp.Cert, Signer: f.signature.Signer}},
		{"not an OCSP signer", ocsp.Issuer{Name: "x", Cert: f.root.Cert, Responder: f.signature.Cert, Signer: f.signature.Signer}},
		{"missing", ocsp.Issuer{Name: "x"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := ocsp.New(ocsp.Config{Store: f.db, Clock: f.clk, Issuers: []ocsp.Issuer{tc.in}}); err == nil {
				t.Fatal("accepted")
			}
		})
	}
}
