package app

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	xocsp "golang.org/x/crypto/ocsp"

	"github.com/tawthiq/tawthiq/client"
	"github.com/tawthiq/tawthiq/internal/cessation"
	"github.com/tawthiq/tawthiq/internal/clock"
	"github.com/tawthiq/tawthiq/internal/config"
	"github.com/tawthiq/tawthiq/internal/errkind"
	"github.com/tawthiq/tawthiq/internal/law"
	"github.com/tawthiq/tawthiq/internal/revocation"
)

// TestTakeover_L23: CSP A plans a takeover (a plan with less than two months'
// notice is refused, naming L-23), issues and revokes, and exports; CSP B imports
// the signed archive, its own audit log and the imported one verify, and B's OCSP
// responder answers good and revoked for A's certificates, verified with A's root.
func TestTakeover_L23(t *testing.T) {
	for name, dsn := range backends(t) {
		t.Run(name, func(t *testing.T) {
			testTakeover(t, startEnv(t, t.TempDir(), dsn(t)), startEnv(t, t.TempDir(), dsn(t)))
		})
	}
}

func testTakeover(t *testing.T, a, b *testEnv) {
	ctx := context.Background()
	good, goodPEM, _ := issueOne(t, a, "AB100001")
	bad, badPEM, holder := issueOne(t, a, "AB100002")
	if _, err := a.app.Revoke.Revoke(ctx, revocation.Actor{ID: holder, Role: revocation.RoleHolder},
		revocation.Request{Serial: bad, Ground: law.GroundKeyCompromise}); err != nil {
		t.Fatal(err)
	}
	succ := cessation.Successor{Name: "Successor CSP", Identifier: b.app.Cessation.csp.OrganizationIdentifier}
	now := time.Now().UTC()
	_, err := a.app.Cessation.Plan(ctx, "admin", cessation.PlanRequest{Mode: law.CessationTakeover, End: now.AddDate(0, 1, 0), Successor: succ})
	if e := errkind.As(err); err == nil || e.Rule != law.L23 || !strings.Contains(e.Detail, "art. 23") {
		t.Fatalf("a plan with one month's notice: want a refusal naming L-23 and art. 23, got %v", err)
	}
	if _, err := a.app.Cessation.Plan(ctx, "admin", cessation.PlanRequest{Mode: law.CessationTakeover, End: now.AddDate(0, 3, 0), Successor: succ}); err != nil {
		t.Fatal(err)
	}
	csr, err := b.app.Cessation.TakeoverCSR(ctx)
	if err != nil {
		t.Fatal(err)
	}
	archive, err := a.app.Cessation.ExportTakeover(ctx, "admin", csr)
	if err != nil {
		t.Fatalf("export: %v", err)
	}
	st, err := a.app.Cessation.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range st.Deadlines {
		if d.DoneAt.IsZero() || d.Late {
			t.Errorf("deadline %s: done %v late %v", d.Step, d.DoneAt, d.Late)
		}
	}
	rootDER := fetch(t, a.base+"/ca/root.crt")
	rootPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: rootDER})
	// A tampered archive is refused.
	tampered := bytes.Replace(archive, []byte(good), []byte(strings.Repeat("0", len(good))), 1)
	if _, _, err := b.app.Cessation.ImportTakeover(ctx, "admin", tampered, rootPEM); err == nil {
		t.Fatal("a tampered archive was imported")
	}
	// An archive checked against another root is refused.
	otherRoot := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: fetch(t, b.base+"/ca/root.crt")})
	if _, _, err := b.app.Cessation.ImportTakeover(ctx, "admin", archive, otherRoot); err == nil {
		t.Fatal("an archive was imported against the wrong root")
	}
	ex, v, err := b.app.Cessation.ImportTakeover(ctx, "admin", archive, rootPEM)
	if err != nil {
		t.Fatalf("import: %v", err)
	}
	if !v.AuditReport.OK() || v.AuditReport.Entries != ex.Checkpoint.Size || v.AuditReport.Checkpoints != 1 {
		t.Errorf("imported log: %+v", v.AuditReport)
	}
	if len(ex.Certificates) != 2 || len(ex.Revocations) != 1 {
		t.Errorf("export: %s", ex.Summary())
	}
	rep, err := b.app.VerifyAudit(ctx)
	if err != nil || !rep.OK() {
		t.Fatalf("audit verify on B: %v %v", err, rep.Problems)
	}
	issuer, err := x509.ParseCertificate(fetch(t, a.base+"/ca/signature.crt"))
	if err != nil {
		t.Fatal(err)
	}
	root, _ := x509.ParseCertificate(rootDER)
	for serial, want := range map[string]int{good: xocsp.Good, bad: xocsp.Revoked} {
		p := map[string]string{good: goodPEM, bad: badPEM}[serial]
		blk, _ := pem.Decode([]byte(p))
		cert, _ := x509.ParseCertificate(blk.Bytes)
		req, err := xocsp.CreateRequest(cert, issuer, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.Post(b.base+"/ocsp", "application/ocsp-request", bytes.NewReader(req))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		r, err := xocsp.ParseResponseForCert(body, cert, issuer)
		if err != nil {
			t.Fatalf("B's OCSP answer for %s: %v", serial, err)
		}
		if r.Status != want {
			t.Errorf("B's OCSP answer for %s: status %d, want %d", serial, r.Status, want)
		}
		if want == xocsp.Revoked && r.RevocationReason != xocsp.KeyCompromise {
			t.Errorf("revocation reason %d", r.RevocationReason)
		}
		// The delegated responder chains to A's root through A's CA.
		if _, err := r.Certificate.Verify(x509.VerifyOptions{Roots: certPool(root), Intermediates: certPool(issuer),
			KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageOCSPSigning}}); err != nil {
			t.Errorf("the responder does not chain to A's root: %v", err)
		}
	}
	opensslOCSP(t, a, b, rootDER, good, goodPEM)
}

func certPool(cs ...*x509.Certificate) *x509.CertPool {
	p := x509.NewCertPool()
	for _, c := range cs {
		p.AddCert(c)
	}
	return p
}

// opensslOCSP asks B for A's certificate with openssl, trusting A's root only.
func opensslOCSP(t *testing.T, a, b *testEnv, rootDER []byte, serial, certPEM string) {
	openssl := needTool(t, "openssl")
	dir := t.TempDir()
	root := writePEM(t, dir, "root.pem", rootDER)
	sig := writePEM(t, dir, "signature.pem", fetch(t, a.base+"/ca/signature.crt"))
	f := filepath.Join(dir, serial+".pem")
	if err := os.WriteFile(f, []byte(certPEM), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(openssl, "ocsp", "-issuer", sig, "-cert", f, "-url", b.base+"/ocsp", "-CAfile", root, "-no_nonce").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "Response verify OK") || !strings.Contains(string(out), ": good") {
		t.Errorf("openssl ocsp against the successor: %v\n%s", err, out)
	}
}

// startEnvClock serves an App whose every service reads clk.
func startEnvClock(t *testing.T, cfg config.Config, clk clock.Clock) *testEnv {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Addr = ln.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	a, err := Open(ctx, cfg, Options{Getenv: testGetenv, Out: io.Discard, Clock: clk})
	if err != nil {
		cancel()
		ln.Close()
		t.Fatalf("Open: %v", err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = a.ServeListener(ctx, ln)
	}()
	e := &testEnv{app: a, data: cfg.Data, base: "http://" + cfg.Addr}
	e.stop = func() {
		cancel()
		<-done
		a.Close()
	}
	t.Cleanup(e.stop)
	e.admin = client.New(e.base, a.AdminToken, nil)
	return e
}

// wantRefusal checks that err is a problem of status naming rule.
func wantRefusal(t *testing.T, what string, err error, status int, rule string) {
	t.Helper()
	var p *client.Problem
	if !errors.As(err, &p) || p.Status != status || p.Rule != rule {
		t.Fatalf("%s: want a %d problem naming %s, got %v", what, status, rule, err)
	}
}

// TestCessationRevokeAll_L23 runs a cessation without successor through the API on a
// fake clock: a plan with one month's notice is refused naming L-23; the certificates
// are not revoked before the holders are warned; the warning sets the revocation
// deadline two months later; revoke-all, round by round, revokes every certificate
// within it, and its last round publishes a final CRL listing every one of them.
func TestCessationRevokeAll_L23(t *testing.T) {
	for name, dsn := range backends(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			clk := clock.NewFake(time.Now())
			e := startEnvClock(t, config.Config{Data: t.TempDir(), DB: dsn(t)}, clk)
			serials := []string{}
			for _, id := range []string{"AB300001", "AB300002", "AB300003"} {
				s, _, _ := issueOne(t, e, id)
				serials = append(serials, s)
			}
			auditor, _ := e.user(t, "Auditor", "auditor", "AU300000")
			_, err := e.admin.PlanCessation(ctx, client.CessationPlanRequest{Mode: "revoke-all", End: client.Timestamp{Time: clk.Now().AddDate(0, 1, 0)}})
			wantRefusal(t, "a plan with one month's notice", err, http.StatusBadRequest, string(law.L23))
			_, err = e.admin.CessationStatus(ctx)
			wantRefusal(t, "status without a plan", err, http.StatusConflict, string(law.L23))
			st, err := e.admin.PlanCessation(ctx, client.CessationPlanRequest{Mode: "revoke-all", End: client.Timestamp{Time: clk.Now().AddDate(0, 3, 0)}})
			if err != nil {
				t.Fatal(err)
			}
			if len(st.AuthorityNotice) != 1 || st.Deadlines[0].DoneAt == nil || st.Unrevoked != 3 {
				t.Fatalf("after the plan: %+v", st)
			}
			_, err = e.admin.PlanCessation(ctx, client.CessationPlanRequest{Mode: "revoke-all", End: client.Timestamp{Time: clk.Now().AddDate(0, 4, 0)}})
			wantRefusal(t, "a second plan", err, http.StatusConflict, string(law.L23))
			_, err = e.admin.RevokeForCessation(ctx, 0)
			wantRefusal(t, "revoke-all before the warning", err, http.StatusConflict, string(law.L23))
			_, err = auditor.WarnHolders(ctx)
			wantRefusal(t, "an auditor warning", err, http.StatusForbidden, string(law.L21_2))
			clk.Advance(24 * time.Hour)
			warned := law.Timestamp(clk.Now())
			w, err := e.admin.WarnHolders(ctx)
			if err != nil || w.Queued != 3 {
				t.Fatalf("warn: %+v %v (one notice per holder)", w, err)
			}
			clk.Advance(30 * 24 * time.Hour)
			st, err = auditor.CessationStatus(ctx)
			if err != nil {
				t.Fatal(err)
			}
			d := st.Deadlines[2]
			if d.Step != string(cessation.StepRevokeAll) || d.Due == nil || !d.Due.Equal(law.CessationRevocationDue(warned)) || d.Late || d.DoneAt != nil {
				t.Fatalf("revoke-all deadline before the revocation: %+v", d)
			}
			rounds, revoked := 0, 0
			var pr *client.CessationProgress
			for pr == nil || !pr.Done {
				if rounds++; rounds > 5 {
					t.Fatal("revoke-all does not finish")
				}
				if pr, err = e.admin.RevokeForCessation(ctx, 1); err != nil {
					t.Fatal(err)
				}
				revoked += pr.Revoked
				if pr.Remaining != len(serials)-revoked {
					t.Fatalf("round %d: %+v", rounds, pr)
				}
			}
			if revoked != 3 || rounds != 3 || len(pr.FinalCRLs) == 0 {
				t.Fatalf("revoke-all: %d revoked in %d rounds, final CRLs %v", revoked, rounds, pr.FinalCRLs)
			}
			st, err = e.admin.CessationStatus(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range st.Deadlines {
				if d.DoneAt == nil || d.Late {
					t.Errorf("deadline %s: %+v", d.Step, d)
				}
			}
			if st.Unrevoked != 0 {
				t.Errorf("unrevoked after revoke-all: %d", st.Unrevoked)
			}
			// The final CRL, as relying parties fetch it, lists every certificate.
			issuer, err := x509.ParseCertificate(fetch(t, e.base+"/ca/signature.crt"))
			if err != nil {
				t.Fatal(err)
			}
			crl, err := x509.ParseRevocationList(fetch(t, e.base+"/crl/signature.crl"))
			if err != nil || crl.CheckSignatureFrom(issuer) != nil {
				t.Fatalf("final CRL: %v", err)
			}
			listed := map[string]int{}
			for _, rc := range crl.RevokedCertificateEntries {
				listed[rc.SerialNumber.Text(16)] = rc.ReasonCode
			}
			for _, s := range serials {
				n, _ := new(big.Int).SetString(s, 16)
				if reason, ok := listed[n.Text(16)]; !ok || reason != xocsp.CessationOfOperation {
					t.Errorf("the final CRL does not list %s as ceased (%v, reason %d)", s, ok, reason)
				}
			}
		})
	}
}
