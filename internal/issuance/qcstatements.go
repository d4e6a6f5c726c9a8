package issuance

import (
	"encoding/asn1"
	"fmt"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"

	"github.com/tawthiq/tawthiq/internal/errkind"
	"github.com/tawthiq/tawthiq/internal/law"
)

// QCStatements is the content of the RFC 3739 qcStatements extension with the
// ETSI EN 319 412-5 statements a qualified certificate carries (L-11).
type QCStatements struct {
	Compliance     bool                    // QcCompliance: the certificate is qualified (L-11 a)
	SSCD           bool                    // QcSSCD: the key is in a qualified device (43-20)
	Types          []asn1.ObjectIdentifier // QcType: esign or eseal
	PDS            []PDSLocation           // QcPDS: disclosure statements (L-21-3-4)
	Limit          *MonetaryValue          // QcLimitValue: transaction limit (L-11 i); nil when none
	RetentionYears int                     // QcRetentionPeriod in years; 0 when absent
	// SemanticsID is the pkixQCSyntax-v2 semantics identifier (EN 319 412-1); nil when absent.
	SemanticsID asn1.ObjectIdentifier
	// Others lists the identifiers of statements this package does not interpret.
	Others []asn1.ObjectIdentifier
}

// PDSLocation is one PKI disclosure statement and its ISO 639-1 language.
type PDSLocation struct {
	URL      string
	Language string
}

// MonetaryValue is Amount × 10^Exponent in a currency (RFC 3739).
type MonetaryValue struct {
	Currency        string // ISO 4217 alphabetic code; empty when numeric
	CurrencyNumeric int    // ISO 4217 numeric code; 0 when alphabetic
	Amount          int64
	Exponent        int64
}

// HasType reports whether the QcType statement lists oid.
func (q QCStatements) HasType(oid asn1.ObjectIdentifier) bool {
	for _, t := range q.Types {
		if t.Equal(oid) {
			return true
		}
	}
	return false
}

// Marshal encodes the statements as the qcStatements extension value (DER).
func (q QCStatements) Marshal() ([]byte, error) {
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		if q.SemanticsID != nil {
			statement(b, OIDQCSyntaxV2, func(b *cryptobyte.Builder) {
				b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { b.AddASN1ObjectIdentifier(q.SemanticsID) })
			})
		}
		if q.Compliance {
			statement(b, OIDQcCompliance, nil)
		}
		if q.SSCD {
			statement(b, OIDQcSSCD, nil)
		}
		if q.Limit != nil {
			statement(b, OIDQcLimitValue, func(b *cryptobyte.Builder) {
				b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
					if q.Limit.Currency != "" {
						b.AddASN1(cbasn1.PrintableString, func(b *cryptobyte.Builder) { b.AddBytes([]byte(q.Limit.Currency)) })
					} else {
						b.AddASN1Int64(int64(q.Limit.CurrencyNumeric))
					}
					b.AddASN1Int64(q.Limit.Amount)
					b.AddASN1Int64(q.Limit.Exponent)
				})
			})
		}
		if q.RetentionYears > 0 {
			statement(b, OIDQcRetentionPeriod, func(b *cryptobyte.Builder) { b.AddASN1Int64(int64(q.RetentionYears)) })
		}
		if len(q.Types) > 0 {
			statement(b, OIDQcType, func(b *cryptobyte.Builder) {
				b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
					for _, t := range q.Types {
						b.AddASN1ObjectIdentifier(t)
					}
				})
			})
		}
		if len(q.PDS) > 0 {
			statement(b, OIDQcPDS, func(b *cryptobyte.Builder) {
				b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
					for _, p := range q.PDS {
						b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
							b.AddASN1(cbasn1.IA5String, func(b *cryptobyte.Builder) { b.AddBytes([]byte(p.URL)) })
							b.AddASN1(cbasn1.PrintableString, func(b *cryptobyte.Builder) { b.AddBytes([]byte(p.Language)) })
						})
					}
				})
			})
		}
	})
	der, err := b.Bytes()
	if err != nil {
		return nil, errkind.Wrap(errkind.Internal, err, "encoding QCStatements")
	}
	return der, nil
}

// statement adds QCStatement ::= SEQUENCE { statementId, statementInfo OPTIONAL }.
func statement(b *cryptobyte.Builder, id asn1.ObjectIdentifier, info func(*cryptobyte.Builder)) {
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1ObjectIdentifier(id)
		if info != nil {
			info(b)
		}
	})
}

// ParseQCStatements decodes a qcStatements extension value strictly (DER, no
// trailing data, no statement twice); it reads untrusted input for the validator.
func ParseQCStatements(ext []byte) (QCStatements, error) {
	var q QCStatements
	bad := func(format string, args ...any) (QCStatements, error) {
		return QCStatements{}, errkind.New(errkind.Invalid, law.L11, "QCStatements: "+format, args...)
	}
	in := cryptobyte.String(ext)
	var seq cryptobyte.String
	if !in.ReadASN1(&seq, cbasn1.SEQUENCE) || !in.Empty() {
		return bad("not a single SEQUENCE")
	}
	seen := map[string]bool{}
	for !seq.Empty() {
		var st cryptobyte.String
		var id asn1.ObjectIdentifier
		if !seq.ReadASN1(&st, cbasn1.SEQUENCE) || !st.ReadASN1ObjectIdentifier(&id) {
			return bad("malformed statement")
		}
		if seen[id.String()] {
			return bad("statement %s appears twice", id)
		}
		seen[id.String()] = true
		var err error
		switch {
		case id.Equal(OIDQcCompliance):
			q.Compliance = true
		case id.Equal(OIDQcSSCD):
			q.SSCD = true
		case id.Equal(OIDQCSyntaxV2):
			q.SemanticsID, err = parseSemantics(&st)
		case id.Equal(OIDQcLimitValue):
			q.Limit, err = parseMonetaryValue(&st)
		case id.Equal(OIDQcRetentionPeriod):
			var years int64
			if !st.ReadASN1Int64WithTag(&years, cbasn1.INTEGER) || years <= 0 || years > 1000 {
				err = fmt.Errorf("bad QcRetentionPeriod")
			}
			q.RetentionYears = int(years)
		case id.Equal(OIDQcType):
			q.Types, err = parseTypes(&st)
		case id.Equal(OIDQcPDS):
			q.PDS, err = parsePDS(&st)
		default:
			q.Others = append(q.Others, id)
			var info cryptobyte.String
			var tag cbasn1.Tag
			if !st.Empty() && !st.ReadAnyASN1Element(&info, &tag) {
				err = fmt.Errorf("bad statementInfo")
			}
		}
		if err != nil {
			return bad("%s: %v", id, err)
		}
		if !st.Empty() {
			return bad("statement %s has unexpected content", id)
		}
	}
	return q, nil
}

func parseSemantics(st *cryptobyte.String) (asn1.ObjectIdentifier, error) {
	var info cryptobyte.String
	if !st.ReadASN1(&info, cbasn1.SEQUENCE) {
		return nil, fmt.Errorf("bad SemanticsInformation")
	}
	var id asn1.ObjectIdentifier
	if info.PeekASN1Tag(cbasn1.OBJECT_IDENTIFIER) && !info.ReadASN1ObjectIdentifier(&id) {
		return nil, fmt.Errorf("bad semanticsIdentifier")
	}
	// nameRegistrationAuthorities (GeneralNames) may follow; it is not used by EN 319 412-1.
	if !info.Empty() && !info.SkipASN1(cbasn1.SEQUENCE) {
		return nil, fmt.Errorf("bad nameRegistrationAuthorities")
	}
	if !info.Empty() || id == nil {
		return nil, fmt.Errorf("bad SemanticsInformation")
	}
	return id, nil
}

func parseMonetaryValue(st *cryptobyte.String) (*MonetaryValue, error) {
	var mv cryptobyte.String
	if !st.ReadASN1(&mv, cbasn1.SEQUENCE) {
		return nil, fmt.Errorf("bad MonetaryValue")
	}
	v := &MonetaryValue{}
	switch {
	case mv.PeekASN1Tag(cbasn1.PrintableString):
		var cur cryptobyte.String
		if !mv.ReadASN1(&cur, cbasn1.PrintableString) || len(cur) != 3 || !isUpperAlpha(string(cur)) {
			return nil, fmt.Errorf("bad alphabetic currency")
		}
		v.Currency = string(cur)
	case mv.PeekASN1Tag(cbasn1.INTEGER):
		var n int64
		if !mv.ReadASN1Int64WithTag(&n, cbasn1.INTEGER) || n < 1 || n > 999 {
			return nil, fmt.Errorf("bad numeric currency")
		}
		v.CurrencyNumeric = int(n)
	default:
		return nil, fmt.Errorf("bad currency")
	}
	if !mv.ReadASN1Int64WithTag(&v.Amount, cbasn1.INTEGER) || !mv.ReadASN1Int64WithTag(&v.Exponent, cbasn1.INTEGER) || !mv.Empty() {
		return nil, fmt.Errorf("bad amount or exponent")
	}
	return v, nil
}

func parseTypes(st *cryptobyte.String) ([]asn1.ObjectIdentifier, error) {
	var seq cryptobyte.String
	if !st.ReadASN1(&seq, cbasn1.SEQUENCE) {
		return nil, fmt.Errorf("bad QcType")
	}
	var out []asn1.ObjectIdentifier
	for !seq.Empty() {
		var id asn1.ObjectIdentifier
		if !seq.ReadASN1ObjectIdentifier(&id) {
			return nil, fmt.Errorf("bad QcType identifier")
		}
		out = append(out, id)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("empty QcType")
	}
	return out, nil
}

func parsePDS(st *cryptobyte.String) ([]PDSLocation, error) {
	var seq cryptobyte.String
	if !st.ReadASN1(&seq, cbasn1.SEQUENCE) {
		return nil, fmt.Errorf("bad PdsLocations")
	}
	var out []PDSLocation
	for !seq.Empty() {
		var loc, url, lang cryptobyte.String
		if !seq.ReadASN1(&loc, cbasn1.SEQUENCE) || !loc.ReadASN1(&url, cbasn1.IA5String) ||
			!loc.ReadASN1(&lang, cbasn1.PrintableString) || !loc.Empty() {
			return nil, fmt.Errorf("bad PdsLocation")
		}
		if !isIA5(string(url)) || len(lang) != 2 {
			return nil, fmt.Errorf("bad PdsLocation url or language")
		}
		out = append(out, PDSLocation{URL: string(url), Language: string(lang)})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("empty PdsLocations")
	}
	return out, nil
}

func isUpperAlpha(s string) bool {
	for _, r := range s {
		if r < 'A' || r > 'Z' {
			return false
		}
	}
	return true
}

func isIA5(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}
