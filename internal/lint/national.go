package lint

import (
	"crypto/x509"
	"encoding/asn1"
	"fmt"
	"math/big"
	"net/url"

	zx509 "github.com/zmap/zcrypto/x509"
	zpkix "github.com/zmap/zcrypto/x509/pkix"
	zl "github.com/zmap/zlint/v3/lint"

	"github.com/tawthiq/tawthiq/internal/issuance"
	"github.com/tawthiq/tawthiq/internal/law"
)

// Expectation is what the approved request says the certificate must show;
// the national lints compare the certificate with it.
type Expectation struct {
	// Qualified makes the L-11 lints apply even when QcCompliance is missing.
	Qualified bool
	// KeyInQSCD requires QcSSCD (and the -qscd policy); false requires their absence.
	KeyInQSCD bool
	// LimitMAD is the approved transaction limit in dirhams; 0 means none may appear.
	LimitMAD int64
	// Capacity is the approved title (L-11 d); "" means no title may appear.
	Capacity string
	// PolicyOID is the CSP's own policy, which must be present; nil skips that check.
	PolicyOID asn1.ObjectIdentifier
}

// nationalLint is one check of the L-11 profile.
type nationalLint struct {
	name    string
	content law.Content
	check   func(n *nationalCert, e Expectation) (zl.LintStatus, string)
}

// nationalCert is a parsed certificate with what the national lints read, computed once.
type nationalCert struct {
	c       *zx509.Certificate
	qc      issuance.QCStatements
	qcErr   error
	hasQC   bool
	subject map[string][]string // attribute OID -> values
	issuer  map[string][]string
}

func newNationalCert(c *zx509.Certificate) *nationalCert {
	n := &nationalCert{c: c, subject: attributes(c.Subject.Names), issuer: attributes(c.Issuer.Names)}
	if ext, ok := c.ExtensionsMap[issuance.OIDQCStatements.String()]; ok {
		n.hasQC = true
		n.qc, n.qcErr = issuance.ParseQCStatements(ext.Value)
	}
	return n
}

func attributes(names []zpkix.AttributeTypeAndValue) map[string][]string {
	m := map[string][]string{}
	for _, a := range names {
		m[a.Type.String()] = append(m[a.Type.String()], fmt.Sprint(a.Value))
	}
	return m
}

func (n *nationalCert) attr(m map[string][]string, oid asn1.ObjectIdentifier) string {
	if v := m[oid.String()]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// applies: the L-11 profile binds every end-entity certificate that is, claims or must be qualified.
func (n *nationalCert) applies(e Expectation) bool {
	if n.c.IsCA {
		return false
	}
	return e.Qualified || (n.qcErr == nil && n.qc.Compliance) || n.qcpPolicy() != nil
}

func (n *nationalCert) hasPolicy(oid asn1.ObjectIdentifier) bool {
	for _, p := range n.c.PolicyIdentifiers {
		if asn1.ObjectIdentifier(p).Equal(oid) {
			return true
		}
	}
	return false
}

func (n *nationalCert) qcpPolicy() asn1.ObjectIdentifier {
	for _, o := range []asn1.ObjectIdentifier{issuance.OIDPolicyQCPNatural, issuance.OIDPolicyQCPLegal,
		issuance.OIDPolicyQCPNaturalQSCD, issuance.OIDPolicyQCPLegalQSCD} {
		if n.hasPolicy(o) {
			return o
		}
	}
	return nil
}

// kind says whom the certificate certifies, from its subject's attributes.
func (n *nationalCert) kind() issuance.PersonKind {
	if n.attr(n.subject, issuance.OIDAttrGivenName) != "" || n.attr(n.subject, issuance.OIDAttrSurname) != "" ||
		n.attr(n.subject, issuance.OIDAttrPseudonym) != "" {
		return issuance.NaturalPerson
	}
	if n.attr(n.subject, issuance.OIDAttrOrganizationIdentifier) != "" || n.attr(n.subject, issuance.OIDAttrOrganization) != "" {
		return issuance.LegalPerson
	}
	return ""
}

// qcStatus gives an error result when the QCStatements extension is missing or malformed.
func (n *nationalCert) qcStatus() (zl.LintStatus, string, bool) {
	if !n.hasQC {
		return zl.Error, "no QCStatements extension", false
	}
	if n.qcErr != nil {
		return zl.Error, n.qcErr.Error(), false
	}
	return zl.Pass, "", true
}

func pass() (zl.LintStatus, string) { return zl.Pass, "" }

func fail(format string, args ...any) (zl.LintStatus, string) {
	return zl.Error, fmt.Sprintf(format, args...)
}

// nationalLints returns the L-11 lints, one per content item or part of one.
func nationalLints() []nationalLint {
	return []nationalLint{
		{"n_ma_l11_qc_compliance", law.ContentQualifiedStatement, func(n *nationalCert, _ Expectation) (zl.LintStatus, string) {
			if s, d, ok := n.qcStatus(); !ok {
				return s, d
			}
			if !n.qc.Compliance {
				return fail("QcCompliance statement missing")
			}
			return pass()
		}},
		{"n_ma_l11_csp_identity", law.ContentCSPIdentity, func(n *nationalCert, _ Expectation) (zl.LintStatus, string) {
			if c := n.attr(n.issuer, issuance.OIDAttrCountry); c != law.CSPCountry {
				return fail("issuer country is %q, want %s", c, law.CSPCountry)
			}
			if n.attr(n.issuer, issuance.OIDAttrOrganization) == "" {
				return fail("issuer has no organizationName")
			}
			if n.attr(n.issuer, issuance.OIDAttrOrganizationIdentifier) == "" {
				return fail("issuer has no organizationIdentifier (ICE or trade register number)")
			}
			return pass()
		}},
		{"n_ma_l11_holder_name", law.ContentHolderName, func(n *nationalCert, _ Expectation) (zl.LintStatus, string) {
			given, sur := n.attr(n.subject, issuance.OIDAttrGivenName), n.attr(n.subject, issuance.OIDAttrSurname)
			pseudo := n.attr(n.subject, issuance.OIDAttrPseudonym)
			if n.attr(n.subject, issuance.OIDAttrCommonName) == "" {
				return fail("subject has no commonName")
			}
			switch n.kind() {
			case issuance.NaturalPerson:
				if pseudo != "" && (given != "" || sur != "") {
					return fail("subject has both a name and a pseudonym")
				}
				if pseudo == "" && (given == "" || sur == "") {
					return fail("subject has neither givenName and surname nor a pseudonym")
				}
				if n.attr(n.subject, issuance.OIDAttrSerialNumber) == "" {
					return fail("natural person subject has no serialNumber identifier")
				}
			case issuance.LegalPerson:
				if n.attr(n.subject, issuance.OIDAttrOrganization) == "" || n.attr(n.subject, issuance.OIDAttrOrganizationIdentifier) == "" {
					return fail("legal person subject needs organizationName and organizationIdentifier")
				}
			default:
				return fail("subject names no holder: no givenName/surname, pseudonym or organization")
			}
			return pass()
		}},
		{"n_ma_l11_capacity", law.ContentCapacity, func(n *nationalCert, e Expectation) (zl.LintStatus, string) {
			if t := n.attr(n.subject, issuance.OIDAttrTitle); t != e.Capacity {
				return fail("subject title is %q, the approved capacity is %q", t, e.Capacity)
			}
			return pass()
		}},
		{"n_ma_l11_public_key", law.ContentPublicKey, func(n *nationalCert, _ Expectation) (zl.LintStatus, string) {
			// zcrypto wraps keys in its own types; the stdlib parse gives what law.CheckPublicKey knows.
			pub, err := x509.ParsePKIXPublicKey(n.c.RawSubjectPublicKeyInfo)
			if err != nil {
				return fail("public key does not parse: %v", err)
			}
			if err := law.CheckPublicKey(pub); err != nil {
				return fail("%v", err)
			}
			return pass()
		}},
		{"n_ma_l11_validity", law.ContentValidity, func(n *nationalCert, _ Expectation) (zl.LintStatus, string) {
			if !n.c.NotAfter.After(n.c.NotBefore) {
				return fail("validity ends before it starts")
			}
			if n.c.NotAfter.After(n.c.NotBefore.AddDate(law.MaxValidityYears, 0, 0)) {
				return fail("validity is longer than %d years", law.MaxValidityYears)
			}
			return pass()
		}},
		{"n_ma_l11_serial", law.ContentSerial, func(n *nationalCert, _ Expectation) (zl.LintStatus, string) {
			if n.c.SerialNumber == nil || n.c.SerialNumber.Sign() <= 0 || n.c.SerialNumber.BitLen() < law.MinSerialBits {
				return fail("serial number must be positive with at least %d bits", law.MinSerialBits)
			}
			return pass()
		}},
		{"n_ma_l11_signature", law.ContentSignature, func(n *nationalCert, _ Expectation) (zl.LintStatus, string) {
			switch n.c.SignatureAlgorithm {
			case zx509.ECDSAWithSHA256, zx509.ECDSAWithSHA384, zx509.ECDSAWithSHA512,
				zx509.SHA256WithRSA, zx509.SHA384WithRSA, zx509.SHA512WithRSA, zx509.Ed25519Sig:
				return pass()
			}
			return fail("signature algorithm %v is not accepted", n.c.SignatureAlgorithm)
		}},
		{"n_ma_l11_qc_limit_mad", law.ContentLimits, func(n *nationalCert, e Expectation) (zl.LintStatus, string) {
			if s, d, ok := n.qcStatus(); !ok {
				return s, d
			}
			l := n.qc.Limit
			switch {
			case l == nil && e.LimitMAD == 0:
				return pass()
			case l == nil:
				return fail("QcLimitValue missing; the approved limit is %d %s", e.LimitMAD, law.LimitCurrency)
			case l.Currency != law.LimitCurrency:
				return fail("QcLimitValue currency is %q (numeric %d), want alphabetic %s", l.Currency, l.CurrencyNumeric, law.LimitCurrency)
			}
			v, ok := monetary(l)
			if !ok || v.Cmp(big.NewInt(e.LimitMAD)) != 0 {
				return fail("QcLimitValue is %d×10^%d %s, the approved limit is %d", l.Amount, l.Exponent, l.Currency, e.LimitMAD)
			}
			return pass()
		}},
		{"n_ma_l11_crl_distribution_point", law.ContentStatusService, func(n *nationalCert, _ Expectation) (zl.LintStatus, string) {
			if !anyHTTP(n.c.CRLDistributionPoints) {
				return fail("no http(s) CRL distribution point")
			}
			return pass()
		}},
		{"n_ma_l11_aia_ocsp", law.ContentStatusService, func(n *nationalCert, _ Expectation) (zl.LintStatus, string) {
			if !anyHTTP(n.c.OCSPServer) {
				return fail("no http(s) OCSP responder in authorityInfoAccess")
			}
			return pass()
		}},
		{"n_ma_l11_aia_ca_issuers", law.ContentCACertLocation, func(n *nationalCert, _ Expectation) (zl.LintStatus, string) {
			if !anyHTTP(n.c.IssuingCertificateURL) {
				return fail("no http(s) caIssuers in authorityInfoAccess")
			}
			return pass()
		}},
		{"n_ma_l11_qc_sscd", law.ContentQSCDFlag, func(n *nationalCert, e Expectation) (zl.LintStatus, string) {
			if s, d, ok := n.qcStatus(); !ok {
				return s, d
			}
			if n.qc.SSCD != e.KeyInQSCD {
				return fail("QcSSCD present=%t, but the key is in a qualified device=%t", n.qc.SSCD, e.KeyInQSCD)
			}
			return pass()
		}},
		{"n_ma_l11_qc_pds", law.ContentPolicy, func(n *nationalCert, _ Expectation) (zl.LintStatus, string) {
			if s, d, ok := n.qcStatus(); !ok {
				return s, d
			}
			have := map[string]bool{}
			for _, p := range n.qc.PDS {
				if u, err := url.Parse(p.URL); err != nil || u.Scheme != "https" || u.Host == "" {
					return fail("QcPDS %q URL %q is not https", p.Language, p.URL)
				}
				have[p.Language] = true
			}
			for _, lang := range law.PDSLanguages {
				if !have[lang] {
					return fail("QcPDS has no %q disclosure statement (L-21-3-4)", lang)
				}
			}
			return pass()
		}},
		{"n_ma_l11_policy", law.ContentPolicy, func(n *nationalCert, e Expectation) (zl.LintStatus, string) {
			want, ok := issuance.PolicyFor(n.kind(), e.KeyInQSCD)
			if !ok {
				return fail("cannot tell the holder's kind, so not the policy")
			}
			if !n.hasPolicy(want) {
				return fail("certificate policy %s missing", want)
			}
			if e.PolicyOID != nil && !n.hasPolicy(e.PolicyOID) {
				return fail("the CSP's certificate policy %s is missing", e.PolicyOID)
			}
			return pass()
		}},
		{"n_ma_l11_qc_type", law.ContentQCType, func(n *nationalCert, _ Expectation) (zl.LintStatus, string) {
			if s, d, ok := n.qcStatus(); !ok {
				return s, d
			}
			want := issuance.OIDQcTypeESign
			if n.kind() == issuance.LegalPerson {
				want = issuance.OIDQcTypeESeal
			}
			if len(n.qc.Types) != 1 || !n.qc.Types[0].Equal(want) {
				return fail("QcType is %v, want exactly %s for a %s person", n.qc.Types, want, n.kind())
			}
			return pass()
		}},
	}
}

// monetary returns Amount × 10^Exponent, refusing absurd exponents.
func monetary(l *issuance.MonetaryValue) (*big.Int, bool) {
	if l.Exponent < 0 || l.Exponent > 18 || l.Amount < 0 {
		return nil, false
	}
	v := new(big.Int).Exp(big.NewInt(10), big.NewInt(l.Exponent), nil)
	return v.Mul(v, big.NewInt(l.Amount)), true
}

func anyHTTP(urls []string) bool {
	for _, s := range urls {
		if u, err := url.Parse(s); err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" {
			return true
		}
	}
	return false
}
