package app

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/pem"
	"errors"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"

	zx509 "github.com/zmap/zcrypto/x509"
	"github.com/zmap/zlint/v3"
	zl "github.com/zmap/zlint/v3/lint"

	"github.com/tawthiq/tawthiq/client"
)

// TestIssuanceEndToEnd_L11 runs the walk-through of the README over HTTP, on both
// databases, and has independent clients judge the result.
func TestIssuanceEndToEnd_L11(t *testing.T) {
	for name, dsn := range backends(t) {
		t.Run(name, func(t *testing.T) {
			e := startEnv(t, t.TempDir(), dsn(t))
			ctx := context.Background()
			off1, _ := e.user(t, "Officer One", "ra-officer", "OF111111")
			off2, _ := e.user(t, "Officer Two", "ra-officer", "OF222222")
			holder, _ := e.user(t, "Amina Alaoui", "holder", "AB123456")

			key := p256(t)
			req := application(t, holder, "AB123456", newCSR(t, key, "Amina Alaoui"))
			req.Subject.Title = "Gérante"
			req.Capacity = &client.Capacity{Title: "Gérante", ProofKind: "company-statutes", ProofSHA256: hexSum("statutes")}
			req.LimitMAD = 50000
			a, err := holder.SubmitApplication(ctx, req)
			if err != nil {
				t.Fatalf("submit: %v", err)
			}
			if a.Status != "pending" {
				t.Fatalf("status %q", a.Status)
			}
			r1, err := off1.Approve(ctx, a.ID, "ID card checked face to face")
			if err != nil {
				t.Fatalf("first approval: %v", err)
			}
			if r1.Certificate != nil || r1.Application.Status != "pending" {
				t.Fatalf("one approval issued a certificate: %+v", r1)
			}
			r2, err := off2.Approve(ctx, a.ID, "second check")
			if err != nil {
				t.Fatalf("second approval: %v", err)
			}
			if r2.Certificate == nil {
				t.Fatal("the second approval issued no certificate")
			}
			got, err := holder.Certificate(ctx, r2.Certificate.Serial)
			if err != nil {
				t.Fatalf("holder downloads his certificate: %v", err)
			}
			if got.IssuedAt == nil || got.IssuedAt.Nanosecond()%1e6 != 0 {
				t.Errorf("issued_at %v is not kept to the millisecond (L-21-1)", got.IssuedAt)
			}
			blk, _ := pem.Decode([]byte(got.PEM))
			if blk == nil {
				t.Fatal("certificate is not PEM")
			}
			app, err := holder.Application(ctx, a.ID)
			if err != nil || app.Status != "issued" || app.CertificateSerial != r2.Certificate.Serial {
				t.Fatalf("application after issuance: %+v, %v", app, err)
			}

			dir := t.TempDir()
			der := map[string][]byte{"ee": blk.Bytes}
			for _, n := range []string{"root", "signature", "seal", "ocsp-signature", "tsa"} {
				b, err := holder.CACertificate(ctx, n)
				if err != nil {
					t.Fatalf("GET /ca/%s.crt: %v", n, err)
				}
				der[n] = b
			}
			openssl := needTool(t, "openssl")
			root := writePEM(t, dir, "root.pem", der["root"])
			sig := writePEM(t, dir, "signature.pem", der["signature"])
			ee := writePEM(t, dir, "ee.pem", der["ee"])
			out, err := exec.Command(openssl, "verify", "-x509_strict", "-CAfile", root, "-untrusted", sig, ee).CombinedOutput()
			if err != nil || !strings.Contains(string(out), ": OK") {
				t.Fatalf("openssl verify refuses the issued certificate: %v\n%s", err, out)
			}
			checkQCStatementsWithOpenSSL(t, openssl, ee)
			for n, d := range der {
				zlintClean(t, n, d)
			}

			rep, err := e.app.VerifyAudit(ctx)
			if err != nil || !rep.OK() {
				t.Fatalf("audit log: %+v %v", rep.Problems, err)
			}
			entries, err := e.app.DB.AuditEntries(ctx, 0, rep.Entries)
			if err != nil {
				t.Fatal(err)
			}
			var actions []string
			for _, en := range entries {
				actions = append(actions, string(en.Action))
			}
			joined := strings.Join(actions, " ")
			for _, want := range []string{"application.create", "application.approve", "certificate.reserve", "certificate.issue", "personal-data.read"} {
				if !strings.Contains(joined, want) {
					t.Errorf("audit log lacks %s (L-21-2): %s", want, joined)
				}
			}
		})
	}
}

// checkQCStatementsWithOpenSSL reads the QCStatements back with openssl's parser.
func checkQCStatementsWithOpenSSL(t *testing.T, openssl, pemFile string) {
	t.Helper()
	out, err := exec.Command(openssl, "asn1parse", "-in", pemFile).CombinedOutput()
	if err != nil {
		t.Fatalf("openssl asn1parse: %v\n%s", err, out)
	}
	// The line after the qcStatements OID is its OCTET STRING; -strparse opens it.
	lines := strings.Split(string(out), "\n")
	off := -1
	for i, l := range lines {
		if (strings.Contains(l, ":qcStatements") || strings.Contains(l, ":1.3.6.1.5.5.7.1.3")) && i+1 < len(lines) {
			m := regexp.MustCompile(`^\s*(\d+):`).FindStringSubmatch(lines[i+1])
			if m != nil {
				off, _ = strconv.Atoi(m[1])
			}
		}
	}
	if off < 0 {
		t.Fatalf("openssl finds no qcStatements extension:\n%s", out)
	}
	out, err = exec.Command(openssl, "asn1parse", "-in", pemFile, "-strparse", strconv.Itoa(off)).CombinedOutput()
	if err != nil {
		t.Fatalf("openssl asn1parse -strparse: %v\n%s", err, out)
	}
	for _, want := range []string{
		"0.4.0.1862.1.1",   // QcCompliance (L-11 a)
		"0.4.0.1862.1.6",   // QcType
		"0.4.0.1862.1.6.1", // esign
		"0.4.0.1862.1.5",   // QcPDS (L-21-3-4)
		"0.4.0.1862.1.2",   // QcLimitValue (L-11 i)
		":MAD",
		"0.4.0.1862.1.3", // QcRetentionPeriod (L-21-2)
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("openssl does not read %s in the QCStatements:\n%s", want, out)
		}
	}
}

// zlintClean runs every zlint lint (none excluded) and wants no warning and no
// error, but for the one acknowledged in internal/lint with its written reason.
func zlintClean(t *testing.T, name string, der []byte) {
	t.Helper()
	c, err := zx509.ParseCertificate(der)
	if err != nil {
		t.Fatalf("%s: zcrypto cannot parse: %v", name, err)
	}
	acknowledged := map[string]bool{"e_exactly_one_smime_policy": true}
	rs := zlint.LintCertificateEx(c, zl.GlobalRegistry())
	for lint, r := range rs.Results {
		if acknowledged[lint] {
			continue
		}
		if r.Status == zl.Warn || r.Status == zl.Error || r.Status == zl.Fatal {
			t.Errorf("%s: zlint %s: %s %s", name, lint, r.Status, r.Details)
		}
	}
	if len(rs.Results) < 100 {
		t.Errorf("%s: zlint ran only %d lints", name, len(rs.Results))
	}
}

// TestBadInput_L21_3 sends bad applications and approvals: each is refused with a
// 4xx problem naming its rule, and nothing is stored (the audit log does not grow).
func TestBadInput_L21_3(t *testing.T) {
	for name, dsn := range backends(t) {
		t.Run(name, func(t *testing.T) {
			e := startEnv(t, t.TempDir(), dsn(t))
			ctx := context.Background()
			off1, _ := e.user(t, "Officer One", "ra-officer", "OF111111")
			off2, _ := e.user(t, "Officer Two", "ra-officer", "OF222222")
			holder, _ := e.user(t, "Amina Alaoui", "holder", "AB123456")
			other, _ := e.user(t, "Karim Bennani", "holder", "CD654321")

			// A key certified to Amina, for the reuse case.
			used := p256(t)
			a, err := holder.SubmitApplication(ctx, application(t, holder, "AB123456", newCSR(t, used, "Amina")))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := off1.Approve(ctx, a.ID, ""); err != nil {
				t.Fatal(err)
			}
			if _, err := off2.Approve(ctx, a.ID, ""); err != nil {
				t.Fatal(err)
			}
			pending, err := holder.SubmitApplication(ctx, application(t, holder, "AB123456", newCSR(t, p256(t), "Amina")))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := off1.Approve(ctx, pending.ID, ""); err != nil {
				t.Fatal(err)
			}
			// An application in Officer One's own name, entered by a third officer.
			off3, _ := e.user(t, "Officer Three", "ra-officer", "OF333333")
			own, err := off3.SubmitApplication(ctx, application(t, off3, "OF111111", newCSR(t, p256(t), "Officer One")))
			if err != nil {
				t.Fatal(err)
			}

			good := newCSR(t, p256(t), "x")
			blk, _ := pem.Decode([]byte(good))
			badSig := bytes.Clone(blk.Bytes)
			badSig[len(badSig)-3] ^= 0xff
			rsa1024, err := rsa.GenerateKey(rand.Reader, 1024)
			if err != nil {
				t.Fatal(err)
			}
			p224, err := ecdsa.GenerateKey(elliptic.P224(), rand.Reader)
			if err != nil {
				t.Fatal(err)
			}
			submit := func(mod func(*client.ApplicationRequest)) func() error {
				return func() error {
					r := application(t, other, "CD654321", good)
					mod(&r)
					_, err := other.SubmitApplication(ctx, r)
					return err
				}
			}
			cases := []struct {
				name   string
				do     func() error
				status int
				rule   string
			}{
				{"malformed CSR", submit(func(r *client.ApplicationRequest) {
					r.CSR = "-----BEGIN CERTIFICATE REQUEST-----\nMIIBAAAA\n-----END CERTIFICATE REQUEST-----\n"
				}), 400, "L-21-3-2"},
				{"wrongly signed CSR", submit(func(r *client.ApplicationRequest) {
					r.CSR = string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: badSig}))
				}), 400, "L-21-3-2"},
				{"weak RSA key", submit(func(r *client.ApplicationRequest) { r.CSR = newCSR(t, rsa1024, "x") }), 400, "L-21-1"},
				{"weak curve", submit(func(r *client.ApplicationRequest) { r.CSR = newCSR(t, p224, "x") }), 400, "L-21-1"},
				{"key certified to another holder", submit(func(r *client.ApplicationRequest) { r.CSR = newCSR(t, used, "x") }), 409, "L-6"},
				{"unknown profile", submit(func(r *client.ApplicationRequest) { r.Profile = "gold-plated" }), 400, "L-11"},
				{"no terms acceptance", submit(func(r *client.ApplicationRequest) { r.TermsVersion = "" }), 400, "L-21-3-3"},
				{"terms never published", submit(func(r *client.ApplicationRequest) { r.TermsVersion = "v99" }), 400, "L-21-3-3"},
				{"no identity document", submit(func(r *client.ApplicationRequest) { r.Identity.Type = "library-card" }), 400, "L-21-3-1"},
				{"title without proof", submit(func(r *client.ApplicationRequest) { r.Subject.Title = "Directeur" }), 400, "L-21-3-1"},
				{"same officer approving twice", func() error { _, err := off1.Approve(ctx, pending.ID, ""); return err }, 409, "L-21-3-1"},
				{"applicant approving his own application", func() error { _, err := off1.Approve(ctx, own.ID, ""); return err }, 403, "L-21-3-1"},
				{"holder applying in another's name", submit(func(r *client.ApplicationRequest) { r.Identity.Number = "AB123456" }), 403, "L-21-3-1"},
				{"holder approving", func() error { _, err := holder.Approve(ctx, pending.ID, ""); return err }, 403, ""},
			}
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) {
					before, err := e.app.DB.AuditSize(ctx)
					if err != nil {
						t.Fatal(err)
					}
					err = c.do()
					var p *client.Problem
					if !errors.As(err, &p) {
						t.Fatalf("want a problem, got %v", err)
					}
					if p.Status != c.status {
						t.Errorf("status %d, want %d (%s)", p.Status, c.status, p.Error())
					}
					if c.rule != "" && p.Rule != c.rule {
						t.Errorf("rule %q, want %q (%s)", p.Rule, c.rule, p.Error())
					}
					if p.Detail == "" {
						t.Error("the problem has no detail in plain words")
					}
					after, _ := e.app.DB.AuditSize(ctx)
					if after != before {
						t.Errorf("a refused request changed the records: audit log %d -> %d", before, after)
					}
				})
			}
			// The pending application still has exactly one approval.
			ap, err := off2.Application(ctx, pending.ID)
			if err != nil || len(ap.Approvals) != 1 || ap.Status != "pending" {
				t.Fatalf("pending application after refusals: %+v %v", ap, err)
			}
		})
	}
}
