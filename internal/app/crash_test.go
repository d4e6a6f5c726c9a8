package app

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"testing"

	"github.com/tawthiq/tawthiq/internal/auditlog"
	"github.com/tawthiq/tawthiq/internal/ca"
	"github.com/tawthiq/tawthiq/internal/config"
	"github.com/tawthiq/tawthiq/internal/ra"
)

// Environment of the child process that crashes on purpose.
const (
	crashData    = "TAWTHIQ_CRASH_DATA"
	crashStep    = "TAWTHIQ_CRASH_STEP"
	crashApp     = "TAWTHIQ_CRASH_APP"
	crashOfficer = "TAWTHIQ_CRASH_OFFICER"
	crashExit    = 42
)

// TestMain doubles as the process that dies on purpose: with crashData set, it
// gives the second approval and exits hard at the chosen issuance step, with no
// deferred function run (as a kill -9 would).
func TestMain(m *testing.M) {
	if data := os.Getenv(crashData); data != "" {
		crashChild(data)
	}
	os.Exit(m.Run())
}

func crashChild(data string) {
	a, err := Open(context.Background(), config.Config{Data: data}, Options{Getenv: testGetenv, Out: io.Discard})
	if err != nil {
		fmt.Fprintln(os.Stderr, "open:", err)
		os.Exit(1)
	}
	step := ca.Step(os.Getenv(crashStep))
	a.CA.AfterStep = func(s ca.Step) {
		if s == step {
			os.Exit(crashExit)
		}
	}
	_, _, err = a.RA.Approve(context.Background(), ra.Person{ID: os.Getenv(crashOfficer)}, os.Getenv(crashApp), "")
	fmt.Fprintf(os.Stderr, "issuance went past step %s: %v\n", step, err)
	os.Exit(1)
}

// TestCrashDuringIssuance_L21_2 kills the process at each step of issuance and
// checks, after a restart, that the records are consistent: no certificate the CSP
// does not know of, no reservation left hanging, no entry missing or doubled.
func TestCrashDuringIssuance_L21_2(t *testing.T) {
	for _, step := range []ca.Step{ca.StepPrepared, ca.StepReserved, ca.StepSigned} {
		t.Run(string(step), func(t *testing.T) {
			ctx := context.Background()
			data := t.TempDir()
			e := startEnv(t, data, "")
			_, o1 := e.user(t, "Officer One", "ra-officer", "OF111111")
			_, o2 := e.user(t, "Officer Two", "ra-officer", "OF222222")
			holder, _ := e.user(t, "Amina", "holder", "AB123456")
			app, err := holder.SubmitApplication(ctx, application(t, holder, "AB123456", newCSR(t, p256(t), "Amina")))
			if err != nil {
				t.Fatal(err)
			}
			if _, _, err := e.app.RA.Approve(ctx, ra.Person{ID: o1.ID}, app.ID, ""); err != nil {
				t.Fatal(err)
			}
			e.stop()

			cmd := exec.Command(os.Args[0])
			cmd.Env = append(os.Environ(), crashData+"="+data, crashStep+"="+string(step), crashApp+"="+app.ID, crashOfficer+"="+o2.ID)
			var out bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &out
			err = cmd.Run()
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() != crashExit {
				t.Fatalf("the child did not crash at %s: %v\n%s", step, err, out.String())
			}

			// Restart: Open completes what the crash interrupted.
			e2 := startEnv(t, data, "")
			a := e2.app
			if res, err := a.DB.Reserved(ctx); err != nil || len(res) != 0 {
				t.Fatalf("reservations left after restart: %v %v", res, err)
			}
			got, err := a.RA.Application(ctx, app.ID)
			if err != nil {
				t.Fatal(err)
			}
			if step == ca.StepPrepared {
				// Nothing was recorded but the approval: the application waits, approved.
				if got.Status != ra.StatusApproved || got.CertificateSerial != "" {
					t.Fatalf("after a crash before reservation: %s %q", got.Status, got.CertificateSerial)
				}
				if _, err := a.RA.IssueApproved(ctx, o2.ID, got); err != nil {
					t.Fatalf("retrying issuance: %v", err)
				}
				if got, err = a.RA.Application(ctx, app.ID); err != nil {
					t.Fatal(err)
				}
			}
			if got.Status != ra.StatusIssued || got.CertificateSerial == "" {
				t.Fatalf("application after recovery: %s %q", got.Status, got.CertificateSerial)
			}
			c, err := a.CA.Certificate(ctx, got.CertificateSerial)
			if err != nil || c.Status != ca.StatusIssued {
				t.Fatalf("certificate after recovery: %+v %v", c, err)
			}
			cert, err := x509.ParseCertificate(c.DER)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(cert.RawTBSCertificate, c.TBS) {
				t.Error("the stored certificate is not the TBS that was linted and recorded")
			}
			issuer, _ := a.CA.IssuerCert("signature")
			if err := cert.CheckSignatureFrom(issuer); err != nil {
				t.Errorf("recovered certificate does not verify: %v", err)
			}
			rep, err := a.VerifyAudit(ctx)
			if err != nil || !rep.OK() {
				t.Fatalf("audit log after the crash: %v %v", rep.Problems, err)
			}
			entries, err := a.DB.AuditEntries(ctx, 0, rep.Entries)
			if err != nil {
				t.Fatal(err)
			}
			count := map[auditlog.Action]int{}
			for _, en := range entries {
				if en.Subject == c.Serial {
					count[en.Action]++
				}
			}
			if count[auditlog.ActionCertificateReserve] != 1 || count[auditlog.ActionCertificateIssue] != 1 {
				t.Errorf("audit entries for %s: %v, want one reserve and one issue", c.Serial, count)
			}
		})
	}
}
