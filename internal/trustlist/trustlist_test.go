package trustlist

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tawthiq/tawthiq/internal/errkind"
	"github.com/tawthiq/tawthiq/internal/law"
	"github.com/tawthiq/tawthiq/internal/testpki"
)

// TestBuildSignLoad_L15: a signed list loads back with the same content, for
// each kind of authority key, and Build's element order follows the schema.
func TestBuildSignLoad_L15(t *testing.T) {
	h := testpki.New(t)
	for _, alg := range []string{"p256", "p384", "rsa"} {
		t.Run(alg, func(t *testing.T) {
			a := newAuthority(t, "Demo Authority", "MA", alg)
			l := sampleList(h, "MA")
			withdrawSignatureCA(l)
			signed := buildAndSign(t, l, a)
			got, err := Load(signed, []*x509.Certificate{a.cert}, loadAt)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if got.SignedBy == nil || !got.SignedBy.Equal(a.cert) || !got.SigningTime.Equal(issuedAt) {
				t.Fatalf("SignedBy %v at %v, want the authority at %v", got.SignedBy, got.SigningTime, issuedAt)
			}
			want, _ := Build(l)
			again, err := Build(got)
			if err != nil {
				t.Fatalf("Build(loaded): %v", err)
			}
			if !bytes.Equal(want, again) {
				t.Fatalf("the loaded list differs from the one built:\n%s\n---\n%s", want, again)
			}
		})
	}
}

func TestBuildElementOrder(t *testing.T) {
	h := testpki.New(t)
	out, err := Build(sampleList(h, "MA", Pointer{Location: "https://tl.example.tn/tl.xml", Territory: "TN",
		Type: NationalTSLType("TN"), Certificates: []*x509.Certificate{h.Root.Cert}, Agreement: "MA-TN 2026"}))
	if err != nil {
		t.Fatal(err)
	}
	// TS 119 612 TSLSchemeInformationType, TSPServiceInformationType: a sequence, in this order.
	for _, seq := range [][]string{
		{"TSLVersionIdentifier", "TSLSequenceNumber", "TSLType", "SchemeOperatorName", "SchemeOperatorAddress",
			"SchemeName", "SchemeInformationURI", "StatusDeterminationApproach", "SchemeTypeCommunityRules",
			"SchemeTerritory", "PolicyOrLegalNotice", "HistoricalInformationPeriod", "PointersToOtherTSL",
			"ListIssueDateTime", "NextUpdate", "DistributionPoints", "</SchemeInformation>", "TrustServiceProviderList"},
		{"<ServiceTypeIdentifier", "<ServiceName", "<ServiceDigitalIdentity", "<ServiceStatus", "<StatusStartingTime",
			"<ServiceInformationExtensions", "</ServiceInformation>"},
		{"<OtherTSLPointer>", "<ServiceDigitalIdentities>", "<TSLLocation>", "<AdditionalInformation>"},
	} {
		rest := string(out)
		for _, name := range seq {
			i := strings.Index(rest, name)
			if i < 0 {
				t.Fatalf("%s does not follow its predecessor in %v", name, seq)
			}
			rest = rest[i+len(name):]
		}
	}
	if !strings.Contains(string(out), "<TSLVersionIdentifier>6</TSLVersionIdentifier>") ||
		!strings.Contains(string(out), `<SchemeTerritory>MA</SchemeTerritory>`) ||
		!strings.Contains(string(out), `xml:lang="ar"`) {
		t.Fatalf("version 6, territory MA and Arabic names expected:\n%s", out)
	}
}

// TestLoadRefusesTampering_L15: a list changed after signing, or signed in any
// other shape or by anyone else, is refused.
func TestLoadRefusesTampering_L15(t *testing.T) {
	h := testpki.New(t)
	a := newAuthority(t, "Demo Authority", "MA", "p256")
	other := newAuthority(t, "Other Authority", "MA", "p256")
	signed := string(buildAndSign(t, sampleList(h, "MA"), a))
	sigRe := regexp.MustCompile(`(?s)<ds:Signature .*</ds:Signature>`)
	propsRe := regexp.MustCompile(`(?s)<xades:SignedProperties .*</xades:SignedProperties>`)
	tests := []struct {
		name      string
		xml       string
		authority *authority
		want      string // in the error
	}{
		{"one byte of a name", strings.Replace(signed, "Tawthiq Demo CSP", "Tawthiq Demo CSQ", 1), a, "changed after signing"},
		{"sequence number", strings.Replace(signed, "<TSLSequenceNumber>7<", "<TSLSequenceNumber>8<", 1), a, "changed after signing"},
		{"status", strings.Replace(signed, string(StatusGranted), string(StatusWithdrawn), 1), a, "changed after signing"},
		{"signing time", strings.Replace(signed, "<xades:SigningTime>2026", "<xades:SigningTime>2025", 1), a, "signed properties do not match"},
		{"signature value", flipFirstSignatureChar(signed), a, "signature value does not verify"},
		{"unsigned", sigRe.ReplaceAllString(signed, ""), a, "exactly one signature, it has 0"},
		{"two signatures", strings.Replace(signed, "</SchemeInformation>", "</SchemeInformation>"+sigRe.FindString(signed), 1), a, "exactly one signature, it has 2"},
		{"signature not last", strings.Replace(sigRe.ReplaceAllString(signed, ""), "<TrustServiceProviderList>", sigRe.FindString(signed)+"<TrustServiceProviderList>", 1), a, "last child"},
		{"wrapped signed properties", strings.Replace(signed, "</SchemeInformation>", "</SchemeInformation>"+
			strings.Replace(propsRe.FindString(signed), "<xades:SignedProperties ", `<xades:SignedProperties xmlns:xades="http://uri.etsi.org/01903/v1.3.2#" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" `, 1), 1), a, "Id unique"},
		{"DTD", strings.Replace(signed, "?>", "?><!DOCTYPE TrustServiceStatusList>", 1), a, "DTD"},
		{"not UTF-8", strings.Replace(signed, `encoding="UTF-8"`, `encoding="ISO-8859-1"`, 1), a, "not UTF-8"},
		{"processing instruction", strings.Replace(signed, "<SchemeInformation>", "<SchemeInformation><?x y?>", 1), a, "processing instruction"},
		{"signed by another authority", signed, other, "not signed by a configured authority"},
		{"sha1 digest", strings.Replace(signed, "xmlenc#sha256", "xmldsig#sha1", 1), a, "unsupported digest"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.xml == signed && tc.authority == a {
				t.Fatal("the test case changes nothing")
			}
			_, err := Load([]byte(tc.xml), []*x509.Certificate{tc.authority.cert}, loadAt)
			if err == nil {
				t.Fatal("Load accepted it")
			}
			if e := errkind.As(err); e.Kind != errkind.Invalid || e.Rule != law.L15 || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want invalid under L-15: %s", err, tc.want)
			}
		})
	}
	// A comment is outside what URI="" signs (XML-DSig §4.4.3.3): still valid.
	commented := strings.Replace(signed, "<SchemeInformation>", "<SchemeInformation><!-- note -->", 1)
	if _, err := Load([]byte(commented), []*x509.Certificate{a.cert}, loadAt); err != nil {
		t.Fatalf("a comment made the list invalid: %v", err)
	}
	if _, err := Load([]byte(signed), []*x509.Certificate{other.cert, a.cert}, loadAt); err != nil {
		t.Fatalf("one of several authority certificates signed it: %v", err)
	}
}

func TestLoadTimes_L15(t *testing.T) {
	h := testpki.New(t)
	a := newAuthority(t, "Demo Authority", "MA", "p256")
	l := sampleList(h, "MA")
	signed := buildAndSign(t, l, a)
	tests := []struct {
		name string
		now  time.Time
		kind errkind.Kind // 0: accepted
	}{
		{"just issued", issuedAt, 0},
		{"within clock skew before issue", issuedAt.Add(-time.Minute), 0},
		{"issued in the future", issuedAt.Add(-time.Hour), errkind.Invalid},
		{"last second before next update", l.Scheme.NextUpdate, 0},
		{"expired", l.Scheme.NextUpdate.Add(time.Second), errkind.Unavailable},
		{"authority certificate expired", a.cert.NotAfter.Add(time.Second), errkind.Invalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load(signed, []*x509.Certificate{a.cert}, tc.now)
			switch {
			case tc.kind == 0 && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.kind != 0 && !errkind.Is(err, tc.kind):
				t.Fatalf("error %v, want kind %v", err, tc.kind)
			}
		})
	}
}

func TestBuildRefuses(t *testing.T) {
	h := testpki.New(t)
	tests := []struct {
		name   string
		change func(l *List)
		rule   law.ID
	}{
		{"pointer without agreement", func(l *List) {
			l.Scheme.Pointers = []Pointer{{Location: "https://x.example/tl.xml", Territory: "TN", Type: NationalTSLType("TN"),
				Certificates: []*x509.Certificate{h.Root.Cert}}}
		}, law.L22},
		{"no sequence number", func(l *List) { l.Scheme.SequenceNumber = 0 }, law.L15},
		{"no English operator name", func(l *List) { l.Scheme.OperatorName = MultiLang{{"fr", "DGSSI"}} }, law.L15},
		{"lower-case territory", func(l *List) { l.Scheme.Territory = "ma" }, law.L15},
		{"next update before issue", func(l *List) { l.Scheme.NextUpdate = l.Scheme.IssueDateTime.Add(-time.Hour) }, law.L15},
		{"service without certificate", func(l *List) { l.Providers[0].Services[0].Certificates = nil }, law.L15},
		{"history after the current status", func(l *List) {
			withdrawSignatureCA(l)
			l.Providers[0].Services[0].History[0].StatusStarting = withdrawnAt.Add(time.Hour)
		}, law.L15},
		{"control character", func(l *List) { l.Providers[0].Name[2].Value = "CSP\x01" }, law.L15},
		{"carriage return", func(l *List) { l.Providers[0].Name[2].Value = "CSP\r" }, law.L15},
		{"invalid UTF-8", func(l *List) { l.Providers[0].Name[2].Value = "CSP\xff" }, law.L15},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := sampleList(h, "MA")
			tc.change(l)
			_, err := Build(l)
			if e := errkind.As(err); err == nil || e.Kind != errkind.Invalid || e.Rule != tc.rule {
				t.Fatalf("Build: %v, want invalid under %s", err, tc.rule)
			}
		})
	}
	if _, err := Build(nil); err == nil {
		t.Fatal("Build(nil) succeeded")
	}
}

func TestSignRefuses(t *testing.T) {
	h := testpki.New(t)
	a := newAuthority(t, "Demo Authority", "MA", "p256")
	other := newAuthority(t, "Other Authority", "MA", "p256")
	unsigned, err := Build(sampleList(h, "MA"))
	if err != nil {
		t.Fatal(err)
	}
	signed := buildAndSign(t, sampleList(h, "MA"), a)
	_, edKey, _ := ed25519.GenerateKey(rand.Reader)
	tests := []struct {
		name string
		run  func() ([]byte, error)
	}{
		{"key of another certificate", func() ([]byte, error) { return Sign(unsigned, other.signer, a.cert, issuedAt) }},
		{"already signed", func() ([]byte, error) { return Sign(signed, a.signer, a.cert, issuedAt) }},
		{"Ed25519", func() ([]byte, error) { return Sign(unsigned, edKey, a.cert, issuedAt) }},
		{"not a list", func() ([]byte, error) { return Sign([]byte("<a/>"), a.signer, a.cert, issuedAt) }},
		{"empty list element", func() ([]byte, error) {
			return Sign([]byte(`<TrustServiceStatusList xmlns="`+Namespace+`"/>`), a.signer, a.cert, issuedAt)
		}},
		{"authority certificate not yet valid", func() ([]byte, error) { return Sign(unsigned, a.signer, a.cert, a.cert.NotBefore.Add(-time.Hour)) }},
		{"no key", func() ([]byte, error) { return Sign(unsigned, nil, a.cert, issuedAt) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if out, err := tc.run(); err == nil {
				t.Fatalf("Sign succeeded:\n%s", out)
			}
		})
	}
}

// TestLoadRefusesHostileShapes: documents shaped to make parsing or
// canonicalisation slow are refused before either runs.
func TestLoadRefusesHostileShapes(t *testing.T) {
	a := newAuthority(t, "Demo Authority", "MA", "p256")
	var ns strings.Builder
	for i := range maxNamespacesInScope + 1 {
		fmt.Fprintf(&ns, ` xmlns:n%d="urn:x:%d"`, i, i)
	}
	tests := []struct {
		name string
		xml  string
		kind errkind.Kind
	}{
		{"deep", strings.Repeat("<a>", maxDepth+1) + strings.Repeat("</a>", maxDepth+1), errkind.Invalid},
		{"namespaces", "<a" + ns.String() + "/>", errkind.Invalid},
		{"large", "<a>" + strings.Repeat(" ", MaxListSize) + "</a>", errkind.TooLarge},
		{"empty", "", errkind.Invalid},
		{"two roots", "<a/><b/>", errkind.Invalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Load([]byte(tc.xml), []*x509.Certificate{a.cert}, loadAt); !errkind.Is(err, tc.kind) {
				t.Fatalf("Load: %v, want %v", err, tc.kind)
			}
		})
	}
}

func BenchmarkSign(b *testing.B) {
	h := testpki.New(b)
	a := newAuthority(b, "Demo Authority", "MA", "p256")
	unsigned, err := Build(sampleList(h, "MA"))
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := Sign(unsigned, a.signer, a.cert, issuedAt); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkLoad(b *testing.B) {
	h := testpki.New(b)
	a := newAuthority(b, "Demo Authority", "MA", "p256")
	signed := buildAndSign(b, sampleList(h, "MA"), a)
	b.SetBytes(int64(len(signed)))
	for b.Loop() {
		if _, err := Load(signed, []*x509.Certificate{a.cert}, loadAt); err != nil {
			b.Fatal(err)
		}
	}
}

// flipFirstSignatureChar changes the first base64 character of the signature
// value to another one; a fixed replacement is a no-op when the value starts with it.
func flipFirstSignatureChar(signed string) string {
	re := regexp.MustCompile(`<ds:SignatureValue[^>]*>`)
	loc := re.FindStringIndex(signed)
	i := loc[1]
	c := byte('A')
	if signed[i] == c {
		c = 'B'
	}
	return signed[:i] + string(c) + signed[i+1:]
}
