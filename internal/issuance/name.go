package issuance

import (
	"encoding/asn1"
	"unicode/utf8"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"

	"github.com/tawthiq/tawthiq/internal/errkind"
	"github.com/tawthiq/tawthiq/internal/law"
)

// attribute is one AttributeTypeAndValue of a distinguished name.
type attribute struct {
	oid       asn1.ObjectIdentifier
	value     string
	printable bool // PrintableString (C, serialNumber) rather than UTF8String
}

// marshalName encodes a Name with one attribute per RDN, choosing each string
// type itself: pkix.Name would pick PrintableString whenever it can, and
// EN 319 412 and RFC 5280 want UTF8String for names.
func marshalName(attrs []attribute) ([]byte, error) {
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		for _, a := range attrs {
			if a.value == "" {
				continue
			}
			b.AddASN1(cbasn1.SET, func(b *cryptobyte.Builder) {
				b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
					b.AddASN1ObjectIdentifier(a.oid)
					tag := cbasn1.UTF8String
					if a.printable {
						tag = cbasn1.PrintableString
					}
					b.AddASN1(tag, func(b *cryptobyte.Builder) { b.AddBytes([]byte(a.value)) })
				})
			})
		}
	})
	der, err := b.Bytes()
	if err != nil {
		return nil, errkind.Wrap(errkind.Internal, err, "encoding a distinguished name")
	}
	return der, nil
}

// checkAttribute refuses values that the chosen string type cannot carry, or
// longer than the RFC 5280 upper bound of 64 characters (ub-common-name, ub-title...).
func checkAttribute(field, v string, printable bool) error {
	if v == "" {
		return nil
	}
	if !utf8.ValidString(v) {
		return errkind.New(errkind.Invalid, law.L11, "%s is not valid UTF-8", field)
	}
	if utf8.RuneCountInString(v) > 64 {
		return errkind.New(errkind.Invalid, law.L11, "%s is longer than 64 characters", field)
	}
	if printable && !isPrintableString(v) {
		return errkind.New(errkind.Invalid, law.L11, "%s %q must be a PrintableString (letters, digits, space and '()+,-./:=?)", field, v)
	}
	for _, r := range v {
		if r < 0x20 || r == 0x7f {
			return errkind.New(errkind.Invalid, law.L11, "%s contains a control character", field)
		}
	}
	return nil
}

// isPrintableString reports whether s uses only the X.680 PrintableString characters.
func isPrintableString(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case c == ' ', c == '\'', c == '(', c == ')', c == '+', c == ',', c == '-', c == '.', c == '/', c == ':', c == '=', c == '?':
		default:
			return false
		}
	}
	return true
}
