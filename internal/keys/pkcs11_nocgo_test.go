//go:build !cgo

package keys

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/tawthiq/tawthiq/internal/errkind"
)

func TestPKCS11NeedsCgo(t *testing.T) {
	if os.Getenv("TAWTHIQ_REQUIRE_SOFTHSM") == "1" {
		t.Fatal("TAWTHIQ_REQUIRE_SOFTHSM=1 but this test binary was built without cgo: PKCS#11 cannot be tested")
	}
	uri := "pkcs11:token=t;object=k?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=env:PIN"
	_, err := NewRegistry(Options{}).Open(context.Background(), uri)
	if !errkind.Is(err, errkind.Unavailable) || !strings.Contains(err.Error(), "PKCS#11 support needs cgo") {
		t.Fatalf("err = %v; want unavailable, needs cgo", err)
	}
	if _, err := NewRegistry(Options{}).Generate(context.Background(), "pkcs11:object=k", ECDSAP256); !errkind.Is(err, errkind.Invalid) {
		t.Fatalf("a bad URI must still be reported as such without cgo: %v", err)
	}
}
