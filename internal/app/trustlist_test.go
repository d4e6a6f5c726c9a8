package app

import (
	"bytes"
	"context"
	"crypto/x509"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tawthiq/tawthiq/client"
	"github.com/tawthiq/tawthiq/internal/testpki"
	"github.com/tawthiq/tawthiq/internal/trustlist"
)

// getList fetches /trustlist.xml and checks its media type.
func getList(t *testing.T, e *testEnv) []byte {
	t.Helper()
	resp, err := http.Get(e.base + "/trustlist.xml")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != trustlist.MimeType {
		t.Fatalf("GET /trustlist.xml: %s, %q\n%s", resp.Status, resp.Header.Get("Content-Type"), b)
	}
	return b
}

// TestDemoTrustList_L15: the demo's national authority publishes a signed list
// naming the demo CSP that xmlsec1 (an independent XML-DSig implementation) and
// trustlist.Load accept with the authority certificate, and refuse with one byte
// changed; a withdrawal through the authority API is republished under the next
// number, and from then on the validator finds the signature CA not qualified,
// while a signature made before the withdrawal stays qualified (L-20).
func TestDemoTrustList_L15(t *testing.T) {
	e := startEnv(t, t.TempDir(), "")
	ctx := context.Background()
	dir := t.TempDir()

	certDER := fetch(t, e.base+"/trustlist.crt")
	authCert, err := x509.ParseCertificate(certDER)
	if err != nil {
		t.Fatalf("/trustlist.crt: %v", err)
	}
	if authCert.Subject.CommonName != "Demo national authority — trusted list signer" || authCert.KeyUsage != x509.KeyUsageDigitalSignature {
		t.Fatalf("authority certificate %s, key usage %v", authCert.Subject, authCert.KeyUsage)
	}
	authPEM := writePEM(t, dir, "authority.pem", certDER)
	signed := getList(t, e)
	listPath := filepath.Join(dir, "list.xml")
	if err := os.WriteFile(listPath, signed, 0o600); err != nil {
		t.Fatal(err)
	}
	l, err := trustlist.Load(signed, []*x509.Certificate{authCert}, time.Now())
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	sigCA, err := x509.ParseCertificate(fetch(t, e.base+"/ca/signature.crt"))
	if err != nil {
		t.Fatal(err)
	}
	// A grant is listed from the next whole second (never before it was made): ask after it.
	listed := time.Now().Add(time.Second)
	st, info, ok := l.ServiceStatusAt(sigCA, listed)
	if !ok || st != trustlist.StatusGranted || info.Type != trustlist.SvcTypeCAQC || !slices.Contains(info.Additional, trustlist.ForeSignatures) ||
		info.Decision != demoDecision || info.Provider != e.app.Ceremony.CSP.Name {
		t.Fatalf("the signature CA in the list: %s %+v", st, info)
	}
	if q := l.QualifiedAt(sigCA, trustlist.ForESeals, listed); q.Qualified {
		t.Fatal("the signature CA is listed as qualified for seals")
	}

	// One byte of a text node: the CSP's name "Tawthiq Demo CSP" becomes "...CSQ".
	name := e.app.Ceremony.CSP.Name
	i := bytes.Index(signed, []byte(name))
	if i < 0 {
		t.Fatalf("the list does not name %q", name)
	}
	flipped := bytes.Clone(signed)
	flipped[i+len(name)-1]++
	flippedPath := filepath.Join(dir, "flipped.xml")
	if err := os.WriteFile(flippedPath, flipped, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := trustlist.Load(flipped, []*x509.Certificate{authCert}, time.Now()); err == nil {
		t.Fatal("Load accepted the changed list")
	}
	xmlsec1 := testpki.NeedTool(t, "xmlsec1", "xmlsec1")
	if out, err := exec.Command(xmlsec1, "--verify", "--trusted-pem", authPEM, listPath).CombinedOutput(); err != nil || !strings.Contains(string(out), "OK") {
		t.Fatalf("xmlsec1 refused the published list: %v\n%s", err, out)
	}
	if out, err := exec.Command(xmlsec1, "--verify", "--trusted-pem", authPEM, flippedPath).CombinedOutput(); err == nil {
		t.Fatalf("xmlsec1 accepted the changed list:\n%s", out)
	}

	// A holder signs (CAdES B-T, time-stamped by the demo's TSA) before the withdrawal.
	uri, reg := holderKey(t, dir)
	signer, err := reg.Open(ctx, uri)
	if err != nil {
		t.Fatal(err)
	}
	_, certPEM, _ := issueFor(t, e, "TL123456", newCSR(t, signer, "Holder"))
	certFile := filepath.Join(dir, "holder.pem")
	if err := os.WriteFile(certFile, []byte(certPEM), 0o600); err != nil {
		t.Fatal(err)
	}
	doc := filepath.Join(dir, "contract.txt")
	if err := os.WriteFile(doc, []byte("Je vends ma voiture pour 50 000 MAD.\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	sign := func(out string) Sign {
		s := Sign{Key: uri, Cert: certFile, TSA: TSAURL(e.base), Getenv: testGetenv, File: doc, Out: filepath.Join(dir, out),
			Level: "B-T", Detached: true}
		if _, err := RunSign(ctx, s); err != nil {
			t.Fatalf("sign %s: %v", out, err)
		}
		return s
	}
	time.Sleep(time.Until(info.FirstListed)) // signed once the grant is in force
	before := sign("before.p7s")

	// The authority withdraws the signature CA at D.
	time.Sleep(1100 * time.Millisecond) // the list counts whole seconds: D falls after the first signature's second
	register, err := e.admin.AuthorityRegister(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var svcID string
	for _, c := range register.CSPs {
		for _, s := range c.Services {
			if len(s.Certificates) == 1 && bytes.Equal(s.Certificates[0], sigCA.Raw) {
				svcID = s.ID
			}
		}
	}
	if svcID == "" {
		t.Fatalf("the signature CA is not in the register: %+v", register)
	}
	d := time.Now().UTC()
	const decision = "DGSSI/2026/042"
	if _, err := e.admin.ChangeServiceStatus(ctx, svcID, client.StatusRequest{Status: "withdrawn", From: d, Decision: decision}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * trustListPoll)
	var l2 *trustlist.List
	for {
		l2, err = trustlist.Load(getList(t, e), []*x509.Certificate{authCert}, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if l2.Scheme.SequenceNumber == l.Scheme.SequenceNumber+1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no list numbered %d within %s", l.Scheme.SequenceNumber+1, 10*trustListPoll)
		}
		time.Sleep(200 * time.Millisecond)
	}
	st, info, _ = l2.ServiceStatusAt(sigCA, time.Now())
	if st != trustlist.StatusWithdrawn || !info.Since.Equal(d.Truncate(time.Second)) || info.Decision != decision {
		t.Fatalf("after the withdrawal: %s %+v", st, info)
	}
	if st, _, _ := l2.ServiceStatusAt(sigCA, d.Add(-time.Second)); st != trustlist.StatusGranted {
		t.Fatalf("the new list forgot the grant: %s", st)
	}

	// After D, a new signature with the same certificate is not qualified (L-20).
	time.Sleep(1100 * time.Millisecond)
	after := sign("after.p7s")
	cfg := Config{Data: e.data}
	verify := func(s Sign, v Verify) (bool, string) {
		t.Helper()
		v.Signature, v.Content = s.Out, doc
		rep, err := RunVerify(ctx, v)
		if err != nil {
			t.Fatal(err)
		}
		r := rep.Signatures[0]
		if r.TrustService == nil {
			t.Fatalf("%s: no trusted list consulted: %+v", s.Out, r)
		}
		return r.Qualified, r.TrustService.Reason
	}
	// The local authority's latest list (--local), and the published one given as a file.
	newList := filepath.Join(dir, "list2.xml")
	if err := os.WriteFile(newList, getList(t, e), 0o600); err != nil {
		t.Fatal(err)
	}
	root := writePEM(t, dir, "root.pem", fetch(t, e.base+"/ca/root.crt"))
	for name, v := range map[string]Verify{
		"local": {Config: &cfg},
		"file":  {TrustedList: newList, AuthorityCert: authPEM, Roots: []string{root}, Fetch: true},
	} {
		if ok, why := verify(before, v); !ok {
			t.Errorf("%s: the signature made before the withdrawal is not qualified: %s", name, why)
		}
		ok, why := verify(after, v)
		if ok || !strings.Contains(why, "withdrawn") || !strings.Contains(why, decision) {
			t.Errorf("%s: the signature made after the withdrawal: qualified %v, %s", name, ok, why)
		}
	}
}
