package app

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tawthiq/tawthiq/client"
	"github.com/tawthiq/tawthiq/internal/config"
	"github.com/tawthiq/tawthiq/internal/keys"
	"github.com/tawthiq/tawthiq/internal/law"
	"github.com/tawthiq/tawthiq/internal/seal"
	"github.com/tawthiq/tawthiq/internal/signature"
)

// withSealCert issues an organisation's qualified seal certificate on e, as an
// operator does, and writes its key and chain into the data directory; it
// returns the representative's client and user ID.
func withSealCert(t *testing.T, e *testEnv, data string) (*client.Client, string) {
	t.Helper()
	ctx := context.Background()
	off1, _ := e.user(t, "Officer B1", "ra-officer", "OB000001")
	off2, _ := e.user(t, "Officer B2", "ra-officer", "OB000002")
	rep, repUser := e.user(t, "Tawthiq Evidence SARL", "holder", "001525429000099")
	reg := keys.NewRegistry(keys.Options{PassphraseEnv: config.DefaultPassphraseEnv, Getenv: testGetenv})
	t.Cleanup(func() { reg.Close() })
	key, err := reg.Generate(ctx, "file:"+filepath.Join(data, "seals", "evidence.key"), keys.ECDSAP256)
	if err != nil {
		t.Fatal(err)
	}
	issueSeal(t, e, rep, "001525429000099", "Tawthiq Evidence SARL", key, off1, off2, "evidence-seal.pem")
	return rep, repUser.ID
}

// TestBundleOutlivesServer_L417_1: a bundle made while the server runs verifies
// after the server is stopped and its data directory deleted, with every
// conclusion its report states; the archive it recorded verifies offline.
func TestBundleOutlivesServer_L417_1(t *testing.T) {
	data := t.TempDir()
	e := startEnv(t, data, "")
	ctx := context.Background()
	_, repID := withSealCert(t, e, data)
	e.stop()
	cfg := config.Config{Data: data, Addr: strings.TrimPrefix(e.base, "http://"), EvidenceSeal: "evidence",
		Seals: []config.Seal{{Name: "evidence", Key: "file:seals/evidence.key", Certificate: "evidence-seal.pem", Users: []string{repID}}}}
	e = startEnvWith(t, cfg)
	out := t.TempDir()
	doc := filepath.Join(out, "contrat.pdf")
	samplePDF(t, doc)
	pdf, err := os.ReadFile(doc)
	if err != nil {
		t.Fatal(err)
	}
	// The server's seal signs the contract; any signed PDF would do.
	signed, err := e.app.Seals.Apply(ctx, repID, seal.Request{Seal: "evidence", Format: "pades", Level: signature.BLT, Document: pdf})
	if err != nil {
		t.Fatal(err)
	}
	b, built, err := e.app.Bundle(ctx, BundleRequest{Documents: []BundleDocument{{Name: "contrat.pdf", Content: signed.Bytes}}, Lang: "ar"})
	if err != nil {
		t.Fatal(err)
	}
	text := []byte("Conditions générales de vente\n")
	sig, err := e.app.Seals.Apply(ctx, repID, seal.Request{Seal: "evidence", Format: "cades", Level: signature.BT, Detached: true, Document: text})
	if err != nil {
		t.Fatal(err)
	}
	b2, _, err := e.app.Bundle(ctx, BundleRequest{Documents: []BundleDocument{{Name: "cgv.txt", Content: text, Signature: sig.Bytes},
		{Name: "contrat.pdf", Content: signed.Bytes}}, Ref: "ctr_demo", Lang: "fr"})
	if err != nil {
		t.Fatal(err)
	}
	arch, err := VerifyArchiveOffline(ctx, config.Config{Data: data}, "")
	if err != nil || !arch.OK() || arch.Items != 3 {
		t.Fatalf("archive verify: %+v, %v", arch, err)
	}
	root := writePEM(t, out, "root.pem", fetch(t, e.base+"/ca/root.crt"))
	e.stop()
	if err := os.RemoveAll(data); err != nil {
		t.Fatal(err)
	}

	for name, bundle := range map[string][]byte{"pades": b, "cades": b2} {
		t.Run(name, func(t *testing.T) {
			file := filepath.Join(out, name+".asice")
			if err := os.WriteFile(file, bundle, 0o600); err != nil {
				t.Fatal(err)
			}
			v, err := RunVerify(ctx, Verify{Signature: file, Roots: []string{root}})
			if err != nil {
				t.Fatal(err)
			}
			if v.Kind != "ASiC-E" || v.Bundle == nil || !v.Passed() {
				t.Fatalf("bundle: %s %s, problems %v", v.Kind, v.Indication, v.Bundle.Problems)
			}
			if len(v.Bundle.Differences) > 0 {
				t.Fatalf("offline conclusions differ from the report: %v", v.Bundle.Differences)
			}
			for _, c := range v.Bundle.Documents[0].Conclusions {
				if !c.Holds && c.Rule != law.L417_3 {
					t.Errorf("%s does not hold: %s", c.Rule, c.Why)
				}
			}
			var report strings.Builder
			if err := v.WriteReport(&report, "html", "en"); err != nil || !strings.Contains(report.String(), "L-417-1") {
				t.Fatalf("readable report: %v", err)
			}
		})
	}
	if built.Documents[0].Conclusions[0].Rule != law.L417_1 || !built.Documents[0].Conclusions[0].Holds {
		t.Fatalf("as built: %+v", built.Documents[0].Conclusions[0])
	}
}
