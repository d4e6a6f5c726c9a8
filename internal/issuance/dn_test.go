package issuance_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/tawthiq/tawthiq/internal/issuance"
	"github.com/tawthiq/tawthiq/internal/testpki"
)

// nameCert is a self-signed certificate whose subject is exactly seq.
func nameCert(t *testing.T, seq pkix.RDNSequence) *x509.Certificate {
	t.Helper()
	raw, err := asn1.Marshal(seq)
	if err != nil {
		t.Fatal(err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), RawSubject: raw, NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func atv(oid asn1.ObjectIdentifier, v any) []pkix.AttributeTypeAndValue {
	return []pkix.AttributeTypeAndValue{{Type: oid, Value: v}}
}

// TestSubjectNameAsOpenSSL: a qualified certificate's name (EN 319 412-2: givenName, surname,
// serialNumber; -3: organizationIdentifier) reads as openssl, an independent judge, writes it
// in RFC 2253 form, attribute by attribute, with its escapes and its Arabic; Go's own
// pkix.Name.String would show "2.5.4.42=#13..." to the reader of a report.
func TestSubjectNameAsOpenSSL(t *testing.T) {
	seq := pkix.RDNSequence{
		atv(asn1.ObjectIdentifier{2, 5, 4, 6}, "MA"),
		atv(asn1.ObjectIdentifier{2, 5, 4, 10}, "Souk, Inc. <Casa>"),
		atv(asn1.ObjectIdentifier{2, 5, 4, 97}, "NTRMA-000123"),
		atv(asn1.ObjectIdentifier{2, 5, 4, 42}, "أمينة"),
		atv(asn1.ObjectIdentifier{2, 5, 4, 4}, "Alaoui"),
		{{Type: asn1.ObjectIdentifier{2, 5, 4, 5}, Value: "IDCMA-AB123456"}, {Type: asn1.ObjectIdentifier{2, 5, 4, 12}, Value: "Gérante"}},
		atv(asn1.ObjectIdentifier{2, 5, 4, 3}, "#1 Amina+Co "),
	}
	c := nameCert(t, seq)
	got := issuance.SubjectName(c)
	out := testpki.OpenSSL(t, "x509", "-in", testpki.WriteCerts(t, t.TempDir(), "c.pem", c), "-noout", "-subject",
		"-nameopt", "RFC2253,utf8,-esc_msb")
	want := strings.TrimSpace(strings.TrimPrefix(out, "subject="))
	// openssl's short names for what the report spells out.
	want = strings.NewReplacer("GN=", "givenName=", "SN=", "surname=", "serialNumber=", "SERIALNUMBER=").Replace(want)
	if got != want {
		t.Fatalf("SubjectName:\n got %s\nwant %s (openssl)", got, want)
	}
	if strings.Contains(got, "#13") || !strings.Contains(got, "givenName=أمينة") {
		t.Errorf("SubjectName %s: an attribute is still hex", got)
	}
	if IssuerName := issuance.IssuerName(c); IssuerName != got {
		t.Errorf("IssuerName of a self-signed certificate %s, want %s", IssuerName, got)
	}
}

// TestSubjectNameUnknownAttribute: an attribute the report cannot name keeps RFC 4514's
// OID and hex form, so nothing is hidden.
func TestSubjectNameUnknownAttribute(t *testing.T) {
	ia5 := asn1.RawValue{Tag: asn1.TagIA5String, Bytes: []byte("y")}
	c := nameCert(t, pkix.RDNSequence{atv(asn1.ObjectIdentifier{1, 2, 3, 4}, "x"), atv(asn1.ObjectIdentifier{1, 2, 3, 5}, ia5),
		atv(asn1.ObjectIdentifier{2, 5, 4, 3}, "A\nsigner: forged")})
	// The hex is the certificate's own encoding (IA5String, 0x16), and a newline cannot start a line.
	if got, want := issuance.SubjectName(c), `CN=A\0asigner: forged,1.2.3.5=#160179,1.2.3.4=#130178`; got != want {
		t.Fatalf("SubjectName %s, want %s", got, want)
	}
}
