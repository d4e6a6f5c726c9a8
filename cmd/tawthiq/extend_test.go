package main

import (
	"bytes"
	"context"
	"crypto/x509"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tawthiq/tawthiq/internal/clock"
	"github.com/tawthiq/tawthiq/internal/keys"
	"github.com/tawthiq/tawthiq/internal/signature"
	"github.com/tawthiq/tawthiq/internal/signature/pdf/pdftest"
	"github.com/tawthiq/tawthiq/internal/testpki"
	"github.com/tawthiq/tawthiq/internal/tsa"
)

type forgetful struct{}

func (forgetful) RecordTimestamp(context.Context, tsa.Record) error { return nil }

// TestExtendCLIRefusals_L9: `tawthiq extend` refuses a file with no
// signature (L-417-2), a level below the file's (L-9) and an existing output;
// at the file's own level it writes an identical copy. (The full extension,
// over the network to a CSP's TSA and status services, is internal/app's
// TestExtendAndRenew_L417_3.)
func TestExtendCLIRefusals_L9(t *testing.T) {
	h := testpki.New(t)
	k, err := keys.GenerateThrowaway(keys.ECDSAP256)
	if err != nil {
		t.Fatal(err)
	}
	holder := h.Issue(t, nil, h.NaturalRequest(t, testpki.Profile(t, "natural-qualified"), k.Public()))
	now := h.Now.Add(time.Hour)
	stamper, err := tsa.New(tsa.Config{Signer: h.TSA.Signer, Cert: h.TSA.Cert, Policy: []int{1, 3, 6, 1, 4, 1, 61234, 1, 2}, Accuracy: time.Second,
		Clock: clock.NewFake(now), Sync: tsa.Fixed{Offset: time.Millisecond, Known: true}, Store: forgetful{}})
	if err != nil {
		t.Fatal(err)
	}
	doc := pdftest.Document("Contrat", 0, false)
	bt, err := signature.SignPAdES(t.Context(), doc, k, []*x509.Certificate{holder.Cert, h.Signature.Cert},
		signature.PAdESOptions{Level: signature.BT, Stamper: stamper, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	unsigned, signed := write("unsigned.pdf", doc), write("bt.pdf", bt)

	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no signature", []string{"extend", unsigned, "--level", "B-T", "-o", filepath.Join(dir, "a.pdf")}, "L-417-2"},
		{"lower level", []string{"extend", signed, "--level", "B-B", "-o", filepath.Join(dir, "b.pdf")}, "L-9"},
		{"existing output", []string{"extend", signed, "--level", "B-T", "-o", unsigned}, "not overwritten"},
		{"no output", []string{"extend", signed}, "--out is required"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("TAWTHIQ_SERVER", "")
			if _, err := cli(tc.args...); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("%v, want an error naming %q", err, tc.want)
			}
		})
	}
	if got, _ := os.ReadFile(unsigned); !bytes.Equal(got, doc) {
		t.Fatal("an existing file was overwritten")
	}
	same := filepath.Join(dir, "same.pdf")
	out, err := cli("extend", signed, "--level", "B-T", "-o", same)
	if err != nil || !strings.Contains(out, "pades B-T") {
		t.Fatalf("extend at the file's level: %v\n%s", err, out)
	}
	if got, _ := os.ReadFile(same); !bytes.Equal(got, bt) {
		t.Fatal("extending to the file's own level changed it")
	}
	// verify tells when the B-T's date must be renewed: when its TSA's path ends.
	end := h.TSA.Cert.NotAfter
	if h.Root.Cert.NotAfter.Before(end) {
		end = h.Root.Cert.NotAfter
	}
	out, _ = cli("verify", signed, "--roots", testpki.WriteCerts(t, dir, "root.pem", h.Root.Cert))
	if want := "renew before: " + end.UTC().Format(time.RFC3339); !strings.Contains(out, want) {
		t.Errorf("verify does not say %q:\n%s", want, out)
	}
}
