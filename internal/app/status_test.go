package app

import (
	"context"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tawthiq/tawthiq/internal/law"
	"github.com/tawthiq/tawthiq/internal/revocation"
)

// issueOne issues a certificate for a new holder through the API and returns its serial, PEM and holder ID.
func issueOne(t *testing.T, e *testEnv, idNumber string) (serial, pemText, holderID string) {
	t.Helper()
	return issueFor(t, e, idNumber, newCSR(t, p256(t), "Holder"))
}

// issueFor issues a certificate for csr to a new holder, approved by two new officers.
func issueFor(t *testing.T, e *testEnv, idNumber, csr string) (serial, pemText, holderID string) {
	t.Helper()
	ctx := context.Background()
	off1, _ := e.user(t, "Officer "+idNumber+"1", "ra-officer", "O1"+idNumber)
	off2, _ := e.user(t, "Officer "+idNumber+"2", "ra-officer", "O2"+idNumber)
	holder, hu := e.user(t, "Holder "+idNumber, "holder", idNumber)
	a, err := holder.SubmitApplication(ctx, application(t, holder, idNumber, csr))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := off1.Approve(ctx, a.ID, ""); err != nil {
		t.Fatal(err)
	}
	r, err := off2.Approve(ctx, a.ID, "")
	if err != nil || r.Certificate == nil {
		t.Fatalf("issuance: %v", err)
	}
	c, err := holder.Certificate(ctx, r.Certificate.Serial)
	if err != nil {
		t.Fatal(err)
	}
	return c.Serial, c.PEM, hu.ID
}

// waitPublished waits until a CRL and an OCSP response publish serial's revocation (L-21-1).
func waitPublished(t *testing.T, e *testEnv, serial string) {
	t.Helper()
	deadline := time.Now().Add(law.CRLRevocationDelay + 10*time.Second)
	for {
		r, err := e.app.Revoke.Revocation(context.Background(), serial)
		if err == nil && !r.CRLPublishedAt.IsZero() && !r.OCSPPublishedAt.IsZero() {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no CRL and OCSP response published the revocation within %s: %v", law.CRLRevocationDelay, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func fetch(t *testing.T, url string) []byte {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d %s", url, resp.StatusCode, b)
	}
	return b
}

// TestStatusEndToEnd_L21_rev: a holder revokes his certificate; the CRL and the
// OCSP responses the server publishes within seconds say so, with reason and time,
// and openssl, an independent judge, then refuses the certificate.
func TestStatusEndToEnd_L21_rev(t *testing.T) {
	for name, dsn := range backends(t) {
		t.Run(name, func(t *testing.T) {
			e := startEnv(t, t.TempDir(), dsn(t))
			ctx := context.Background()
			good, goodPEM, _ := issueOne(t, e, "AB111111")
			bad, badPEM, holderID := issueOne(t, e, "AB222222")
			revs, err := e.app.Revoke.Revoke(ctx, revocation.Actor{ID: holderID, Role: revocation.RoleHolder},
				revocation.Request{Serial: bad, Ground: law.GroundKeyCompromise})
			if err != nil || len(revs) != 1 {
				t.Fatalf("revoke: %v %v", revs, err)
			}
			if revs[0].RevokedAt.Nanosecond()%int(time.Millisecond) != 0 || revs[0].RevokedAt.Location() != time.UTC {
				t.Errorf("revocation time %v is not UTC to the millisecond (L-21-1)", revs[0].RevokedAt)
			}
			// The publisher runs in the server: the CRL shows the revocation within seconds.
			waitPublished(t, e, bad)
			openssl := needTool(t, "openssl")
			dir := t.TempDir()
			crl := filepath.Join(dir, "signature.crl")
			if err := os.WriteFile(crl, fetch(t, e.base+"/crl/signature.crl"), 0o600); err != nil {
				t.Fatal(err)
			}
			root := writePEM(t, dir, "root.pem", fetch(t, e.base+"/ca/root.crt"))
			sig := writePEM(t, dir, "signature.pem", fetch(t, e.base+"/ca/signature.crt"))
			out, err := exec.Command(openssl, "crl", "-inform", "DER", "-in", crl, "-CAfile", sig, "-noout", "-text", "-verify").CombinedOutput()
			if err != nil || !strings.Contains(string(out), "verify OK") {
				t.Fatalf("openssl crl -verify: %v\n%s", err, out)
			}
			if !strings.Contains(string(out), "Key Compromise") || !strings.Contains(strings.ToUpper(string(out)), strings.ToUpper(bad)) {
				t.Errorf("the CRL does not list %s with its reason:\n%s", bad, out)
			}
			pemCRL := filepath.Join(dir, "signature.crl.pem")
			if out, err := exec.Command(openssl, "crl", "-inform", "DER", "-in", crl, "-out", pemCRL).CombinedOutput(); err != nil {
				t.Fatalf("%v %s", err, out)
			}
			chain := filepath.Join(dir, "chain.pem")
			rb, _ := os.ReadFile(root)
			sb, _ := os.ReadFile(sig)
			if err := os.WriteFile(chain, append(rb, sb...), 0o600); err != nil {
				t.Fatal(err)
			}
			for serial, p := range map[string]string{good: goodPEM, bad: badPEM} {
				f := filepath.Join(dir, serial+".pem")
				if err := os.WriteFile(f, []byte(p), 0o600); err != nil {
					t.Fatal(err)
				}
				out, err := exec.Command(openssl, "verify", "-crl_check", "-CAfile", chain, "-CRLfile", pemCRL, f).CombinedOutput()
				revoked := strings.Contains(string(out), "certificate revoked")
				if serial == bad && !revoked {
					t.Errorf("openssl accepts the revoked certificate: %v\n%s", err, out)
				}
				if serial == good && (err != nil || revoked) {
					t.Errorf("openssl refuses the good certificate: %v\n%s", err, out)
				}
			}
			// OCSP: openssl asks the server's responder, checking the delegated responder's chain.
			resp := writePEM(t, dir, "ocsp.pem", fetch(t, e.base+"/ca/ocsp-signature.crt"))
			for serial, want := range map[string]string{good: ": good", bad: ": revoked"} {
				f := filepath.Join(dir, serial+".pem")
				args := []string{"ocsp", "-issuer", sig, "-cert", f, "-url", e.base + "/ocsp", "-CAfile", root,
					"-verify_other", resp, "-no_nonce"}
				out, err := exec.Command(openssl, args...).CombinedOutput()
				if err != nil || !strings.Contains(string(out), "Response verify OK") || !strings.Contains(string(out), want) {
					t.Errorf("openssl ocsp for %s: want %q: %v\n%s", serial, want, err, out)
				}
				if serial == bad && !strings.Contains(string(out), "keyCompromise") {
					t.Errorf("openssl ocsp does not give the reason:\n%s", out)
				}
			}
			// A revocation is final (L-21-rev).
			if _, err := e.app.Revoke.Revoke(ctx, revocation.Actor{ID: holderID, Role: revocation.RoleHolder},
				revocation.Request{Serial: bad, Ground: law.GroundHolderRequest}); err == nil {
				t.Error("a certificate was revoked twice")
			}
		})
	}
}
