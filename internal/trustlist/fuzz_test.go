package trustlist

import (
	"crypto/x509"
	"strings"
	"testing"

	"github.com/tawthiq/tawthiq/internal/testpki"
)

// FuzzLoad: Load never panics on arbitrary bytes, and what it accepts can be
// queried and built again.
func FuzzLoad(f *testing.F) {
	h := testpki.New(f)
	a := newAuthority(f, "Demo Authority", "MA", "p256")
	l := sampleList(h, "MA", Pointer{Location: "https://tl.example.tn/tl.xml", Territory: "TN",
		Type: NationalTSLType("TN"), Certificates: []*x509.Certificate{h.Root.Cert}, Agreement: "MA-TN 2026"})
	withdrawSignatureCA(l)
	unsigned, err := Build(l)
	if err != nil {
		f.Fatal(err)
	}
	signed, err := Sign(unsigned, a.signer, a.cert, issuedAt)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(signed)
	f.Add(unsigned)
	f.Add([]byte(strings.Replace(string(signed), "Tawthiq", "Tawthiq<!-- c -->", 1)))
	f.Add([]byte(`<TrustServiceStatusList xmlns="` + Namespace + `" TSLTag="` + TSLTag + `"><ds:Signature xmlns:ds="` + nsDS + `"/></TrustServiceStatusList>`))
	f.Add([]byte(`<?xml version="1.0"?><a:b xmlns:a="x"><c:d/></a:b>`))
	authority := []*x509.Certificate{a.cert}
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := Load(data, authority, loadAt)
		if err != nil {
			return
		}
		got.ServiceStatusAt(h.Signature.Cert, withdrawnAt)
		got.QualifiedAt(h.Seal.Cert, ForESeals, withdrawnAt)
		got.QualifiedAt(nil, ForTimestamps, withdrawnAt)
		_, _ = Build(got)
	})
}
