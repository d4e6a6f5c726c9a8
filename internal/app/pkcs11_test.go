//go:build cgo

package app

import (
	"bytes"
	"context"
	"encoding/pem"
	"io"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/tawthiq/tawthiq/client"
	"github.com/tawthiq/tawthiq/internal/config"
	"github.com/tawthiq/tawthiq/internal/errkind"
	"github.com/tawthiq/tawthiq/internal/law"
)

// The SoftHSM2 token that stands in for the CSP's HSM in this test.
const (
	p11Module   = "/usr/lib/softhsm/libsofthsm2.so"
	p11Token    = "tawthiq-ca"
	p11PIN      = "735190-user"
	p11SOPIN    = "864213-so"
	p11PINEnv   = "TAWTHIQ_PKCS11_PIN"
	p11WrongPIN = "000000-wrong"
)

// p11SoftHSM creates a fresh SoftHSM2 token labelled p11Token in a temp dir, as
// internal/keys does: skipped without SoftHSM2 unless TAWTHIQ_REQUIRE_SOFTHSM=1.
func p11SoftHSM(t testing.TB) {
	t.Helper()
	util, err := exec.LookPath("softhsm2-util")
	if _, serr := os.Stat(p11Module); err != nil || serr != nil {
		msg := "SoftHSM2 is not installed (softhsm2-util and " + p11Module + "): apt-get install softhsm2"
		if os.Getenv("TAWTHIQ_REQUIRE_SOFTHSM") == "1" {
			t.Fatal(msg + " (TAWTHIQ_REQUIRE_SOFTHSM=1)")
		}
		t.Skip(msg)
	}
	dir := t.TempDir()
	tokens := filepath.Join(dir, "tokens")
	if err := os.MkdirAll(tokens, 0o700); err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(dir, "softhsm2.conf")
	body := "directories.tokendir = " + tokens + "\nobjectstore.backend = file\nlog.level = ERROR\n"
	if err := os.WriteFile(conf, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("SOFTHSM2_CONF", conf)
	out, err := exec.Command(util, "--init-token", "--free", "--label", p11Token, "--pin", p11PIN, "--so-pin", p11SOPIN).CombinedOutput()
	if err != nil {
		t.Fatalf("softhsm2-util --init-token: %v\n%s", err, out)
	}
}

// p11URI names one CA key on the token; the PIN comes from the environment only.
func p11URI(object string) string {
	return "pkcs11:token=" + p11Token + ";object=" + object + "?module-path=" + p11Module + "&pin-source=env:" + p11PINEnv
}

// p11Getenv gives the file-key passphrase (audit key) and the token PIN ("" = unset).
func p11Getenv(pin string) func(string) string {
	return func(k string) string {
		switch k {
		case config.DefaultPassphraseEnv:
			return testPassphrase
		case p11PINEnv:
			return pin
		}
		return ""
	}
}

// p11Serve opens the App of an existing hierarchy (no demo) and serves it on ln.
// The returned stop is idempotent and also runs at cleanup.
func p11Serve(t *testing.T, cfg config.Config, ln net.Listener, adminToken string) (*testEnv, error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	a, err := Open(ctx, cfg, Options{Getenv: p11Getenv(p11PIN), Out: io.Discard})
	if err != nil {
		cancel()
		return nil, err
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = a.ServeListener(ctx, ln)
	}()
	e := &testEnv{app: a, data: cfg.Data, base: "http://" + ln.Addr().String(), admin: client.New("http://"+ln.Addr().String(), adminToken, nil)}
	var once sync.Once
	e.stop = func() {
		once.Do(func() {
			cancel()
			<-done
			a.Close()
		})
	}
	t.Cleanup(e.stop)
	return e, nil
}

// TestPKCS11CeremonyAndIssuance_L21_1 runs a production-style ceremony with every CA key in
// an HSM (SoftHSM2), serves the result, issues a certificate signed inside the HSM, and
// checks that the CA keys are sensitive and never extractable and that no private key
// lies in clear in the data directory (L-21-1: reliable systems, keys protected).
func TestPKCS11CeremonyAndIssuance_L21_1(t *testing.T) {
	start := time.Now()
	p11SoftHSM(t)
	ctx := context.Background()
	data := t.TempDir()

	// The ceremony file: the demo hierarchy with every authority key on the token. The
	// audit checkpoint key stays an encrypted file key: it is Ed25519, which the PKCS#11
	// backend does not generate.
	cer := config.DemoCeremony()
	var names []string
	for i := range cer.Authorities {
		cer.Authorities[i].Key = p11URI(cer.Authorities[i].Name)
		names = append(names, cer.Authorities[i].Name)
	}
	if !strings.HasPrefix(cer.AuditKey, "file:") {
		t.Fatalf("demo audit key %q is not a file: key", cer.AuditKey)
	}
	y, err := yaml.Marshal(cer)
	if err != nil {
		t.Fatal(err)
	}
	cerPath := filepath.Join(t.TempDir(), "ceremony.yaml")
	if err := os.WriteFile(cerPath, y, 0o600); err != nil {
		t.Fatal(err)
	}

	// Listen first: the base URL written into the certificates is the served one.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	demo := false
	cfg := config.Config{Data: data, Addr: ln.Addr().String(), Demo: &demo}

	t0 := time.Now()
	var cout bytes.Buffer
	res, err := Ceremony(ctx, cfg, cerPath, Options{Getenv: p11Getenv(p11PIN), Out: &cout})
	if err != nil {
		t.Fatalf("ceremony: %v\n%s", err, cout.String())
	}
	t.Logf("ceremony (%d HSM keys) in %v:\n%s", len(res.Authorities), time.Since(t0).Round(time.Millisecond), cout.String())
	if len(res.Authorities) != len(names) || res.AdminToken == "" {
		t.Fatalf("ceremony made %d authorities, admin token %t; want %d and a token", len(res.Authorities), res.AdminToken != "", len(names))
	}
	for _, a := range res.Authorities {
		if a.KeyURI != p11URI(a.Name) {
			t.Errorf("authority %s recorded key %q; want %q", a.Name, a.KeyURI, p11URI(a.Name))
		}
	}

	t0 = time.Now()
	e, err := p11Serve(t, cfg, ln, res.AdminToken)
	if err != nil {
		t.Fatalf("Open after the ceremony: %v", err)
	}
	if e.app.AdminToken != "" {
		t.Error("Open ran a demo ceremony over the HSM hierarchy")
	}
	t.Logf("Open with HSM keys in %v", time.Since(t0).Round(time.Millisecond))
	// L-21-3-6: a production CSP records its liability insurance before it issues.
	if _, err := e.admin.AddInsurancePolicy(ctx, client.InsurancePolicyRequest{Insurer: "Wafa Assurance", Number: "RCP-HSM-1",
		CoverMAD: 5_000_000, ValidFrom: client.Timestamp{Time: time.Now()}, ValidUntil: client.Timestamp{Time: time.Now().AddDate(1, 0, 0)}}); err != nil {
		t.Fatalf("insurance: %v", err)
	}

	t.Run("issuance signed in the HSM", func(t *testing.T) {
		t0 := time.Now()
		off1, _ := e.user(t, "Officer One", "ra-officer", "OF111111")
		off2, _ := e.user(t, "Officer Two", "ra-officer", "OF222222")
		holder, _ := e.user(t, "Amina Alaoui", "holder", "AB123456")
		app, err := holder.SubmitApplication(ctx, application(t, holder, "AB123456", newCSR(t, p256(t), "Amina Alaoui")))
		if err != nil {
			t.Fatalf("submit: %v", err)
		}
		if _, err := off1.Approve(ctx, app.ID, "ID card checked face to face"); err != nil {
			t.Fatalf("first approval: %v", err)
		}
		r, err := off2.Approve(ctx, app.ID, "second check")
		if err != nil {
			t.Fatalf("second approval: %v", err)
		}
		if r.Certificate == nil {
			t.Fatal("the second approval issued no certificate")
		}
		got, err := holder.Certificate(ctx, r.Certificate.Serial)
		if err != nil {
			t.Fatalf("holder downloads his certificate: %v", err)
		}
		blk, _ := pem.Decode([]byte(got.PEM))
		if blk == nil {
			t.Fatal("certificate is not PEM")
		}
		t.Logf("issuance over REST in %v", time.Since(t0).Round(time.Millisecond))

		openssl := needTool(t, "openssl")
		dir := t.TempDir()
		rootDER, err := holder.CACertificate(ctx, "root")
		if err != nil {
			t.Fatal(err)
		}
		sigDER, err := holder.CACertificate(ctx, "signature")
		if err != nil {
			t.Fatal(err)
		}
		root := writePEM(t, dir, "root.pem", rootDER)
		sig := writePEM(t, dir, "signature.pem", sigDER)
		ee := writePEM(t, dir, "ee.pem", blk.Bytes)
		// The root key (signing the CA certificate) and the issuing key (signing ee.pem)
		// are both on the token: this chain is two HSM signatures checked by openssl.
		out, err := exec.Command(openssl, "verify", "-x509_strict", "-CAfile", root, "-untrusted", sig, ee).CombinedOutput()
		if err != nil || !strings.Contains(string(out), ": OK") {
			t.Fatalf("openssl verify refuses the certificate issued with the HSM key: %v\n%s", err, out)
		}
		rep, err := e.app.VerifyAudit(ctx)
		if err != nil || !rep.OK() {
			t.Fatalf("audit log: %+v %v", rep.Problems, err)
		}
	})

	t.Run("pkcs11-tool sees sensitive, never extractable CA keys", func(t *testing.T) {
		tool, err := exec.LookPath("pkcs11-tool")
		if err != nil {
			if os.Getenv("TAWTHIQ_REQUIRE_SOFTHSM") == "1" {
				t.Fatal("pkcs11-tool is required with TAWTHIQ_REQUIRE_SOFTHSM=1 (apt-get install opensc)")
			}
			t.Skip("pkcs11-tool not found (apt-get install opensc)")
		}
		out, err := exec.Command(tool, "--module", p11Module, "--token-label", p11Token, "--login", "--pin", p11PIN, "-O").CombinedOutput()
		if err != nil {
			t.Fatalf("pkcs11-tool -O: %v\n%s", err, out)
		}
		var labels []string
		for _, b := range strings.Split(string(out), "Private Key Object")[1:] {
			b, _, _ = strings.Cut(b, "Object;") // up to the next object of any class
			label := strings.TrimSpace(strings.TrimPrefix(p11LineWith(b, "label:"), "label:"))
			labels = append(labels, label)
			access := p11LineWith(b, "Access:")
			if !strings.Contains(access, "sensitive") || !strings.Contains(access, "never extractable") ||
				strings.Contains(strings.ReplaceAll(access, "never extractable", ""), "extractable") {
				t.Errorf("private key %s: %q; want sensitive, never extractable", label, access)
			}
			if usage := p11LineWith(b, "Usage:"); !strings.Contains(usage, "sign") || p11HasAny(usage, "decrypt", "unwrap", "derive") {
				t.Errorf("private key %s: %q; want sign only", label, usage)
			}
		}
		var pubLabels []string
		for _, b := range strings.Split(string(out), "Public Key Object")[1:] {
			b, _, _ = strings.Cut(b, "Object;")
			label := strings.TrimSpace(strings.TrimPrefix(p11LineWith(b, "label:"), "label:"))
			pubLabels = append(pubLabels, label)
			if usage := p11LineWith(b, "Usage:"); p11HasAny(usage, "encrypt", "wrap") {
				t.Errorf("public key %s: %q; want verify only", label, usage)
			}
		}
		slices.Sort(labels)
		slices.Sort(pubLabels)
		want := slices.Clone(names)
		slices.Sort(want)
		if !slices.Equal(labels, want) {
			t.Fatalf("private keys on the token: %v; want one per authority %v\n%s", labels, want, out)
		}
		if !slices.Equal(pubLabels, want) {
			t.Errorf("public keys on the token: %v; want one per authority %v\n%s", pubLabels, want, out)
		}
	})

	t.Run("no private key in clear in the data directory", func(t *testing.T) {
		pemKey := regexp.MustCompile(`-----BEGIN ([A-Z0-9 ]*)PRIVATE KEY-----`)
		var encrypted []string
		err := filepath.WalkDir(data, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(data, path)
			for _, m := range pemKey.FindAllSubmatch(b, -1) {
				if string(m[1]) == "ENCRYPTED " {
					encrypted = append(encrypted, rel)
					continue
				}
				t.Errorf("%s holds a private key in clear (%s)", rel, m[0])
			}
			for _, secret := range []string{p11PIN, p11SOPIN, testPassphrase} {
				if bytes.Contains(b, []byte(secret)) {
					t.Errorf("%s holds a PIN or passphrase", rel)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		// The only key file is the audit checkpoint key, encrypted at rest.
		if want := []string{filepath.Join("keys", "audit.key")}; !slices.Equal(encrypted, want) {
			t.Errorf("encrypted key files %v; want only %v", encrypted, want)
		}
	})

	// PKCS#11 login is per process and token: while the served App holds the token open,
	// a new crypto11 context shares the module, its login returns CKR_USER_ALREADY_LOGGED_IN
	// and crypto11 accepts that, so a wrong PIN would go unnoticed. Close the App first: the
	// last context's Close finalizes the module and the next Open logs in afresh.
	e.stop()
	t.Run("wrong or missing PIN at start-up", func(t *testing.T) {
		tests := []struct {
			name    string
			pin     string
			kind    errkind.Kind
			mention string
		}{
			{"wrong PIN", p11WrongPIN, errkind.Unauthorized, "wrong PIN for token " + p11Token},
			{"PIN variable unset", "", errkind.Invalid, p11PINEnv},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				c := cfg
				c.Addr = "127.0.0.1:0"
				a, err := Open(ctx, c, Options{Getenv: p11Getenv(tt.pin), Out: io.Discard})
				if err == nil {
					a.Close()
					t.Fatal("Open succeeded with a bad PIN")
				}
				ek := errkind.As(err)
				if ek.Kind != tt.kind || ek.Rule != law.L21_1 || !strings.Contains(err.Error(), tt.mention) {
					t.Fatalf("err = %v (kind %v, rule %v); want %v under L-21-1 mentioning %q", err, ek.Kind, ek.Rule, tt.kind, tt.mention)
				}
				if !regexp.MustCompile(`(CA|OCSP responder) \S+ key`).MatchString(err.Error()) || strings.Contains(err.Error(), p11WrongPIN) {
					t.Errorf("err = %q; want it to name the authority whose key failed and never echo the PIN", err)
				}
				t.Logf("refused: %v", err)
			})
		}
		// The refusals left the token usable (SoftHSM2 has no PIN lockout): the right PIN opens it.
		c := cfg
		c.Addr = "127.0.0.1:0"
		a, err := Open(ctx, c, Options{Getenv: p11Getenv(p11PIN), Out: io.Discard})
		if err != nil {
			t.Fatalf("Open with the right PIN after the refusals: %v", err)
		}
		a.Close()
	})
	t.Logf("total %v", time.Since(start).Round(time.Millisecond))
}

// p11LineWith returns the trimmed first line of s that contains sub.
func p11LineWith(s, sub string) string {
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			return strings.TrimSpace(l)
		}
	}
	return ""
}

// p11HasAny reports whether s contains any of subs.
func p11HasAny(s string, subs ...string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}
