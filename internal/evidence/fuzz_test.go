package evidence_test

import (
	"archive/zip"
	"bytes"
	"testing"
	"time"

	"github.com/tawthiq/tawthiq/internal/evidence"
)

// FuzzVerify: Verify never panics nor reads past its limits on any input.
func FuzzVerify(f *testing.F) {
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	w, _ := zw.Create("mimetype")
	w.Write([]byte(evidence.MediaType))
	w, _ = zw.Create(evidence.ManifestName)
	w.Write([]byte(`<asic:ASiCManifest xmlns:asic="http://uri.etsi.org/02918/v1.2.1#"><asic:SigReference URI="META-INF/signature.p7s"/></asic:ASiCManifest>`))
	w, _ = zw.Create(evidence.SealName)
	w.Write([]byte{0x30, 0x03, 0x02, 0x01, 0x01})
	zw.Close()
	f.Add(b.Bytes())
	f.Add([]byte("PK\x03\x04"))
	lim := evidence.Limits{MaxEntries: 64, MaxEntryBytes: 1 << 20, MaxTotalBytes: 4 << 20}
	f.Fuzz(func(t *testing.T, in []byte) {
		r := evidence.Verify(t.Context(), in, evidence.VerifyOptions{Now: time.Unix(1_800_000_000, 0), Limits: lim})
		if r.OK() {
			t.Fatal("an unsealed container verified")
		}
	})
}
