package testpki

import (
	"os"
	"os/exec"
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
