package app

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tawthiq/tawthiq/client"
	"github.com/tawthiq/tawthiq/internal/authority"
	"github.com/tawthiq/tawthiq/internal/trustlist"
)

// TestForeignListsFetched_L22: once an agreement puts a pointer to a foreign
// list in the national list, `tawthiq verify --local` fetches that list and
// uses it; a foreign list signed by another key than the pointer names is left
// out and the report says so.
func TestForeignListsFetched_L22(t *testing.T) {
	e := startEnv(t, t.TempDir(), "")
	ctx := context.Background()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC().Truncate(time.Second)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "TN trusted list signer", Country: []string{"TN"}},
		NotBefore: now.Add(-time.Hour), NotAfter: now.AddDate(1, 0, 0), KeyUsage: x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	// The foreign authority's list, in the same format, naming nobody yet.
	scheme := authority.NationalScheme("https://tl.example.tn/tsl.xml", "https://tl.example.tn/")
	l, err := authority.BuildList(authority.Register{At: now}, scheme, 1, now)
	if err != nil {
		t.Fatal(err)
	}
	l.Scheme.Territory, l.Scheme.Type = "TN", trustlist.NationalTSLType("TN")
	l.Scheme.StatusDeterminationApproach = trustlist.NationalStatusDetermination("TN")
	l.Scheme.CommunityRules = trustlist.MultiLang{{Lang: "en", Value: trustlist.NationalSchemeRules("TN")}}
	built, err := trustlist.Build(l)
	if err != nil {
		t.Fatal(err)
	}
	signed, err := trustlist.Sign(built, key, cert, now)
	if err != nil {
		t.Fatal(err)
	}
	body := signed
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write(body) }))
	defer srv.Close()

	if _, err := e.admin.RecordAgreement(ctx, client.AgreementRequest{Reference: "MA-TN-2026", Kind: "bilateral",
		SignedAt: now.Add(-24 * time.Hour), Countries: []string{"TN"},
		Lists: []client.TrustedListPointer{{Location: srv.URL, Territory: "TN", Certificates: [][]byte{der}}}}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		lists, err := localTrustList(ctx, e.app.DB, e.data, func(w string) { t.Log(w) })
		if err != nil {
			t.Fatal(err)
		}
		if len(lists) == 2 {
			if lists[1].Scheme.Territory != "TN" || lists[1].Agreement == nil || lists[1].Agreement.Agreement == "" {
				t.Fatalf("the foreign list is not tied to its agreement: %+v", lists[1].Agreement)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the national list never pointed to the foreign list, or it was not loaded")
		}
		time.Sleep(300 * time.Millisecond)
	}
	// Another key signs what the pointer names: left out, and said.
	other, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	otherDER, _ := x509.CreateCertificate(rand.Reader, tmpl, tmpl, other.Public(), other)
	otherCert, _ := x509.ParseCertificate(otherDER)
	if body, err = trustlist.Sign(built, other, otherCert, now); err != nil {
		t.Fatal(err)
	}
	var warnings []string
	lists, err := localTrustList(ctx, e.app.DB, e.data, func(w string) { warnings = append(warnings, w) })
	if err != nil || len(lists) != 1 || len(warnings) != 1 || !strings.Contains(warnings[0], "TN") {
		t.Fatalf("a foreign list signed by another key: %d lists, warnings %q, %v", len(lists), warnings, err)
	}
}
