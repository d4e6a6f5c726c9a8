package issuance

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/hex"
	"fmt"
	"strings"
)

// dnNames names the attributes a qualified certificate's name carries (EN 319 412-2, -3):
// Go's pkix.Name.String knows only the first nine and prints the others as an OID and
// hex ("2.5.4.42=#1305416d696e61"), which a reader of a report cannot use.
var dnNames = map[string]string{
	"2.5.4.6": "C", "2.5.4.10": "O", "2.5.4.11": "OU", "2.5.4.3": "CN", "2.5.4.5": "SERIALNUMBER",
	"2.5.4.7": "L", "2.5.4.8": "ST", "2.5.4.9": "STREET", "2.5.4.17": "POSTALCODE",
	"2.5.4.4": "surname", "2.5.4.42": "givenName", "2.5.4.43": "initials", "2.5.4.44": "generationQualifier",
	"2.5.4.12": "title", "2.5.4.46": "dnQualifier", "2.5.4.65": "pseudonym", "2.5.4.97": "organizationIdentifier",
	"1.2.840.113549.1.9.1": "emailAddress",
}

// SubjectName is c's subject as a reader should see it: see displayName.
func SubjectName(c *x509.Certificate) string { return displayName(c.RawSubject, c.Subject) }

// IssuerName is c's issuer as a reader should see it: see displayName.
func IssuerName(c *x509.Certificate) string { return displayName(c.RawIssuer, c.Issuer) }

// rawATV and rawRDNSET keep each value's own encoding, so that an attribute shown as
// hex is the certificate's bytes, not a re-encoding.
type rawATV struct {
	Type  asn1.ObjectIdentifier
	Value asn1.RawValue
}

type rawRDNSET []rawATV

// displayName writes a DER-encoded Name as RFC 4514 does, most significant RDN last,
// with every attribute above named and its text shown; parsed is the fallback.
func displayName(raw []byte, parsed pkix.Name) string {
	var seq []rawRDNSET
	if rest, err := asn1.Unmarshal(raw, &seq); err != nil || len(rest) != 0 {
		return parsed.String()
	}
	var b strings.Builder
	for i := len(seq) - 1; i >= 0; i-- {
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		// Within a multi-valued RDN, any order will do (RFC 4514 §2.2): openssl's, the last first.
		for j := len(seq[i]) - 1; j >= 0; j-- {
			atv := seq[i][j]
			if j < len(seq[i])-1 {
				b.WriteByte('+')
			}
			name, ok := dnNames[atv.Type.String()]
			if !ok {
				name = atv.Type.String()
			}
			b.WriteString(name)
			b.WriteByte('=')
			var text string
			if _, err := asn1.Unmarshal(atv.Value.FullBytes, &text); ok && err == nil {
				b.WriteString(escapeDN(text))
			} else {
				b.WriteString("#" + hex.EncodeToString(atv.Value.FullBytes))
			}
		}
	}
	return b.String()
}

// escapeDN escapes a value as RFC 4514 §2.4 requires, and control characters as \XX
// too, so that a name cannot break the line it is printed on.
func escapeDN(s string) string {
	var b strings.Builder
	for i, r := range s {
		switch {
		case strings.ContainsRune(`,+"\<>;`, r),
			r == '#' && i == 0,
			r == ' ' && (i == 0 || i == len(s)-1):
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, "\\%02x", r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}
