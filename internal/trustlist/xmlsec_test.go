package trustlist

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tawthiq/tawthiq/internal/testpki"
)

// TestXmlsec1Verifies_L15: xmlsec1, an independent XML-DSig implementation, accepts
// the published list's signature with the authority certificate as its only trust
// anchor, and refuses the list with one byte changed or with another anchor.
func TestXmlsec1Verifies_L15(t *testing.T) {
	xmlsec1 := testpki.NeedTool(t, "xmlsec1", "xmlsec1")
	h := testpki.New(t)
	other := newAuthority(t, "Other Authority", "MA", "p256")
	for _, alg := range []string{"p256", "rsa"} {
		t.Run(alg, func(t *testing.T) {
			a := newAuthority(t, "Demo Authority", "MA", alg)
			l := sampleList(h, "MA")
			withdrawSignatureCA(l)
			signed := buildAndSign(t, l, a)
			dir := t.TempDir()
			anchor := testpki.WriteCerts(t, dir, "authority.pem", a.cert)
			otherAnchor := testpki.WriteCerts(t, dir, "other.pem", other.cert)
			write := func(name string, b []byte) string {
				p := filepath.Join(dir, name)
				if err := os.WriteFile(p, b, 0o600); err != nil {
					t.Fatal(err)
				}
				return p
			}
			run := func(pem, file string) (string, error) {
				// xmlsec1 checks the certificate's validity at this time, not at the machine's.
				cmd := exec.Command(xmlsec1, "--verify", "--trusted-pem", pem,
					"--verification-gmt-time", loadAt.UTC().Format("2006-01-02 15:04:05"), file)
				out, err := cmd.CombinedOutput()
				return string(out), err
			}
			listPath := write("list.xml", signed)
			if out, err := run(anchor, listPath); err != nil || !strings.Contains(out, "OK") {
				t.Fatalf("xmlsec1 refused the signed list: %v\n%s", err, out)
			}
			if out, err := run(otherAnchor, listPath); err == nil {
				t.Fatalf("xmlsec1 accepted the list with another trust anchor:\n%s", out)
			}
			// One byte of a text node: "Tawthiq Demo CSP" becomes "Tawthiq Demo CSQ".
			i := strings.Index(string(signed), h.CSP.Name) + len(h.CSP.Name) - 1
			flipped := append([]byte(nil), signed...)
			flipped[i]++
			if out, err := run(anchor, write("flipped.xml", flipped)); err == nil {
				t.Fatalf("xmlsec1 accepted the changed list:\n%s", out)
			}
		})
	}
}
