package testpki

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// NeedTool returns the path of an independent client (pdfsig, qpdf, xmlsec1,
// pdftotext, certutil...). Missing, it skips the test, or fails it under
// TAWTHIQ_REQUIRE_TOOLS=1 (make test sets it: CI must not pass by skipping).
func NeedTool(t testing.TB, name, debianPackage string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err == nil {
		return p
	}
	if os.Getenv("TAWTHIQ_REQUIRE_TOOLS") == "1" {
		t.Fatalf("%s is required (TAWTHIQ_REQUIRE_TOOLS=1): apt-get install %s", name, debianPackage)
	}
	t.Skipf("%s not found: apt-get install %s (TAWTHIQ_REQUIRE_TOOLS=1 makes this a failure)", name, debianPackage)
	return ""
}

// NSSDB makes, once, an NSS database in dir/nss where the PEM root is trusted,
// for pdfsig -nssdir; it returns the "sql:" name to pass.
func NSSDB(t testing.TB, dir, root string) string {
	t.Helper()
	certutil := NeedTool(t, "certutil", "libnss3-tools")
	nss := filepath.Join(dir, "nss")
	if _, err := os.Stat(nss); err == nil {
		return "sql:" + nss
	}
	if err := os.Mkdir(nss, 0o700); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"-N", "-d", "sql:" + nss, "--empty-password"},
		{"-A", "-d", "sql:" + nss, "-n", "tawthiq-root", "-t", "CT,C,C", "-i", root}} {
		if out, err := exec.Command(certutil, args...).CombinedOutput(); err != nil {
			t.Fatalf("certutil %v: %v\n%s", args, err, out)
		}
	}
	return "sql:" + nss
}
