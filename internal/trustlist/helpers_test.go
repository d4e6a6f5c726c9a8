package trustlist

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"testing"
	"time"

	"github.com/tawthiq/tawthiq/internal/testpki"
)

const day = 24 * time.Hour

// authority is a scheme operator's list-signing identity: a throwaway key and a
// self-signed certificate, valid from a year before testpki.Now for five years.
type authority struct {
	cert   *x509.Certificate
	signer crypto.Signer
}

func newAuthority(t testing.TB, cn, country, alg string) *authority {
	t.Helper()
	var k crypto.Signer
	var err error
	switch alg {
	case "p256":
		k, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case "p384":
		k, err = ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	case "rsa":
		k, err = rsa.GenerateKey(rand.Reader, 2048)
	default:
		t.Fatalf("unknown algorithm %q", alg)
	}
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          testpki.Serial(t),
		Subject:               pkix.Name{CommonName: cn, Organization: []string{cn}, Country: []string{country}},
		NotBefore:             testpki.Now.Add(-365 * day),
		NotAfter:              testpki.Now.Add(5 * 365 * day),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, k.Public(), k)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &authority{cert: c, signer: k}
}

// Times of the sample list: the demo CSP's services were granted 30 days before
// testpki.Now; the signature CA is withdrawn at withdrawnAt in the withdrawal tests.
var (
	grantedAt   = testpki.Now.Add(-30 * day)
	withdrawnAt = testpki.Now.Add(10 * day)
	issuedAt    = testpki.Now.Add(11 * day)
	loadAt      = issuedAt.Add(time.Hour)
)

func en(s string) MultiLang { return MultiLang{{"en", s}} }

func address(country string) Address {
	return Address{
		Postal:     []PostalAddress{{Lang: "en", Street: "1 Avenue Example", Locality: "Rabat", PostalCode: "10000", CountryName: country}},
		Electronic: MultiLang{{"en", "mailto:tl@example.ma"}, {"en", "https://tl.example.ma/"}},
	}
}

// sampleList is a national list naming a testpki hierarchy's signature and seal
// CAs and its TSA, plus the given pointers to foreign lists.
func sampleList(h *testpki.Hierarchy, territory string, pointers ...Pointer) *List {
	granted := func(svcType, name string, cert *x509.Certificate, additional ...string) Service {
		return Service{
			Type: svcType, Name: MultiLang{{"ar", "خدمة " + name}, {"fr", "Service " + name}, {"en", name}},
			Certificates: []*x509.Certificate{cert}, Status: StatusGranted, StatusStarting: grantedAt,
			Additional: additional, Decision: "DGSSI-2026-001: approval of " + name,
		}
	}
	return &List{
		Scheme: SchemeInformation{
			SequenceNumber: 7,
			Type:           NationalTSLType(territory),
			OperatorName: MultiLang{
				{"ar", "المديرية العامة لأمن نظم المعلومات"},
				{"fr", "Direction Générale de la Sécurité des Systèmes d'Information"},
				{"en", "General Directorate of Information Systems Security"},
			},
			OperatorAddress:             address(territory),
			Name:                        MultiLang{{"en", territory + ": trusted list"}, {"fr", territory + " : liste de confiance"}},
			InformationURI:              MultiLang{{"en", "https://tl.example.ma/info"}},
			StatusDeterminationApproach: NationalStatusDetermination(territory),
			CommunityRules:              MultiLang{{"en", NationalSchemeRules(territory)}},
			Territory:                   territory,
			LegalNotice:                 MultiLang{{"en", "Law 43-20 on trust services for electronic transactions"}},
			HistoricalInformationPeriod: HistoryUnlimited,
			Pointers:                    pointers,
			IssueDateTime:               issuedAt,
			NextUpdate:                  issuedAt.Add(180 * day),
			DistributionPoints:          []string{"https://tl.example.ma/trustlist.xml"},
		},
		Providers: []Provider{{
			Name:           MultiLang{{"ar", "توثيق"}, {"fr", h.CSP.Name}, {"en", h.CSP.Name}},
			TradeName:      MultiLang{{"en", h.CSP.OrganizationIdentifier}},
			Address:        address(territory),
			InformationURI: MultiLang{{"en", h.CSP.BaseURL + "/policies"}},
			Services: []Service{
				granted(SvcTypeCAQC, "Qualified Signature CA", h.Signature.Cert, ForeSignatures),
				granted(SvcTypeCAQC, "Qualified Seal CA", h.Seal.Cert, ForeSeals),
				granted(SvcTypeTSAQTST, "Time-Stamping Unit", h.TSA.Cert),
			},
		}},
	}
}

// withdrawSignatureCA makes the signature CA withdrawn at withdrawnAt, its grant in the history.
func withdrawSignatureCA(l *List) {
	s := &l.Providers[0].Services[0]
	s.History = []HistoryEntry{{Type: s.Type, Name: s.Name, Status: s.Status, StatusStarting: s.StatusStarting,
		Additional: s.Additional, Decision: s.Decision}}
	s.Status, s.StatusStarting = StatusWithdrawn, withdrawnAt
	s.Decision = "DGSSI-2026-042: insurance lapsed (L-21-3-6)"
}

func buildAndSign(t testing.TB, l *List, a *authority) []byte {
	t.Helper()
	unsigned, err := Build(l)
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	signed, err := Sign(unsigned, a.signer, a.cert, l.Scheme.IssueDateTime)
	if err != nil {
		t.Fatalf("Sign: %v", err)
	}
	return signed
}
