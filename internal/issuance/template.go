package issuance

import (
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"math/big"
	"net/mail"
	"net/url"
	"strings"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"

	"github.com/tawthiq/tawthiq/internal/errkind"
	"github.com/tawthiq/tawthiq/internal/law"
)

// isETSIIdentifier checks the EN 319 412-1 §5.1.3 (natural) and §5.1.4 (legal)
// form: a three-letter type from prefixes, an ISO 3166 country, '-', a reference.
func isETSIIdentifier(s string, prefixes ...string) bool {
	if len(s) < 7 || len(s) > 64 || s[5] != '-' || !isUpperAlpha(s[3:5]) || !isPrintableString(s) {
		return false
	}
	for _, p := range prefixes {
		if s[:3] == p {
			return true
		}
	}
	return false
}

func isNaturalIdentifier(s string) bool { return isETSIIdentifier(s, "IDC", "PAS", "PNO", "TIN") }

func isLegalIdentifier(s string) bool { return isETSIIdentifier(s, "NTR", "VAT", "PSD") }

// EndEntityTemplate builds the template of a secured (qualified) certificate
// with every content L-11 requires; issuer is the issuing CA's certificate.
func EndEntityTemplate(csp CSP, issuer *x509.Certificate, req Request) (*x509.Certificate, error) {
	if err := checkCSP(csp); err != nil {
		return nil, err
	}
	if issuer == nil || !issuer.IsCA || len(issuer.SubjectKeyId) == 0 {
		return nil, errkind.New(errkind.Invalid, law.L11, "the issuer must be a CA certificate with a subject key identifier")
	}
	p := req.Profile
	if !p.Qualified {
		return nil, errkind.New(errkind.Invalid, law.L11, "profile %q is not qualified: only secured (qualified) profiles are defined", p.Name)
	}
	if p.CA == "" || !isURLSegment(p.CA) {
		return nil, errkind.New(errkind.Invalid, law.L11, "profile %q names no usable issuing CA (%q)", p.Name, p.CA)
	}
	if p.RequireQSCD && !req.KeyInQSCD {
		return nil, errkind.New(errkind.Invalid, law.L11, "profile %q requires the key to be in a qualified device (QSCD)", p.Name)
	}
	if err := law.CheckPublicKey(req.PublicKey); err != nil {
		return nil, errkind.New(errkind.Invalid, law.L21_1, "%v", err)
	}
	if err := checkSerialAndValidity(req.Serial, req.NotBefore, req.NotAfter, law.MaxValidityYears); err != nil {
		return nil, err
	}
	if req.LimitMAD < 0 {
		return nil, errkind.New(errkind.Invalid, law.L11, "transaction limit %d MAD is negative", req.LimitMAD)
	}
	policy, ok := PolicyFor(p.Kind, req.KeyInQSCD)
	if !ok {
		return nil, errkind.New(errkind.Invalid, law.L11, "unknown kind of holder %q (want %q or %q)", p.Kind, NaturalPerson, LegalPerson)
	}
	attrs, name, err := subjectAttributes(p.Kind, req.Subject)
	if err != nil {
		return nil, err
	}
	rawSubject, err := marshalName(attrs)
	if err != nil {
		return nil, err
	}
	ski, err := SubjectKeyID(req.PublicKey)
	if err != nil {
		return nil, err
	}

	qc := QCStatements{
		Compliance:     true,                // L-11 a
		SSCD:           req.KeyInQSCD,       // 43-20: machine-readable QSCD flag
		RetentionYears: law.RetentionYears,  // L-21-2
		SemanticsID:    OIDSemanticsNatural, // the subject uses serialNumber semantics (EN 319 412-1 §5.1.3)
		Types:          []asn1.ObjectIdentifier{OIDQcTypeESign},
	}
	if p.Kind == LegalPerson {
		qc.SemanticsID = OIDSemanticsLegal // organizationIdentifier semantics (§5.1.4)
		qc.Types = []asn1.ObjectIdentifier{OIDQcTypeESeal}
	}
	for _, lang := range law.PDSLanguages {
		qc.PDS = append(qc.PDS, PDSLocation{URL: csp.PDS[lang], Language: lang}) // L-21-3-4
	}
	if req.LimitMAD > 0 {
		qc.Limit = &MonetaryValue{Currency: law.LimitCurrency, Amount: req.LimitMAD} // L-11 i
	}
	qcDER, err := qc.Marshal()
	if err != nil {
		return nil, err
	}
	// id-kp-documentSigning keeps the CA/B Forum TLS lints off; id-kp-emailProtection
	// is what NSS (pdfsig) and mail clients require of a signer's certificate.
	eku, err := marshalEKU(OIDEKUDocumentSigning, OIDEKUEmailProtection)
	if err != nil {
		return nil, err
	}

	base := strings.TrimRight(csp.BaseURL, "/")
	t := &x509.Certificate{
		SerialNumber:          new(big.Int).Set(req.Serial),
		RawSubject:            rawSubject,
		Subject:               name,
		NotBefore:             req.NotBefore.UTC().Truncate(time.Second),
		NotAfter:              req.NotAfter.UTC().Truncate(time.Second),
		PublicKey:             req.PublicKey,
		KeyUsage:              x509.KeyUsageContentCommitment, // EN 319 412-2 §4.3.2 type A: nonRepudiation alone
		BasicConstraintsValid: true,
		SubjectKeyId:          ski,
		AuthorityKeyId:        issuer.SubjectKeyId,
		CRLDistributionPoints: []string{CRLDistributionPoint(csp, p.CA, req.Serial)}, // 43-20: status service
		OCSPServer:            []string{base + "/ocsp"},
		IssuingCertificateURL: []string{base + "/ca/" + p.CA + ".crt"}, // 43-20: CSP certificate for free
		ExtraExtensions: []pkix.Extension{
			{Id: OIDQCStatements, Value: qcDER},
			{Id: OIDExtKeyUsage, Value: eku},
		},
	}
	setPolicies(t, policy, csp.PolicyOID)
	if req.Subject.Email != "" {
		t.EmailAddresses = []string{req.Subject.Email}
	}
	return t, nil
}

// MaxCRLShards bounds the partitions of one CA's CRL.
const MaxCRLShards = 1024

// CRLDistributionPoint is where the CRL listing a certificate is served: the CA's
// full CRL, or with csp.CRLShards > 1 its partition {ca}-{serial mod CRLShards}.
func CRLDistributionPoint(csp CSP, ca string, serial *big.Int) string {
	base := strings.TrimRight(csp.BaseURL, "/")
	if csp.CRLShards > 1 && serial != nil {
		n := new(big.Int).Mod(serial, big.NewInt(int64(csp.CRLShards)))
		return base + "/crl/" + ca + "-" + n.String() + ".crl"
	}
	return base + "/crl/" + ca + ".crl"
}

// subjectAttributes builds the EN 319 412-2 (natural) or -3 (legal) subject.
func subjectAttributes(kind PersonKind, s Subject) ([]attribute, pkix.Name, error) {
	bad := func(format string, args ...any) ([]attribute, pkix.Name, error) {
		return nil, pkix.Name{}, errkind.New(errkind.Invalid, law.L11, format, args...)
	}
	if len(s.Country) != 2 || !isUpperAlpha(s.Country) {
		return bad("subject country %q is not an ISO 3166 two-letter code", s.Country)
	}
	if s.Email != "" {
		a, err := mail.ParseAddress(s.Email)
		if err != nil || a.Address != s.Email || !isIA5(s.Email) {
			return bad("subject e-mail %q is not a plain ASCII address", s.Email)
		}
	}
	var attrs []attribute
	name := pkix.Name{Country: []string{s.Country}}
	switch kind {
	case NaturalPerson:
		hasName := s.GivenName != "" || s.Surname != ""
		switch {
		case hasName && s.Pseudonym != "":
			return bad("a natural person is named either by name or by pseudonym, not both (L-11 c)")
		case s.Pseudonym == "" && (s.GivenName == "" || s.Surname == ""):
			return bad("a natural person needs a given name and a surname, or a pseudonym (L-11 c)")
		case s.Organization != "" || s.OrganizationIdentifier != "":
			return bad("a natural person's signature certificate carries no organization")
		case s.SerialNumber == "":
			return bad("a natural person needs a serialNumber (EN 319 412-1 identifier such as IDCMA-AB123456)")
		case !isNaturalIdentifier(s.SerialNumber):
			return bad("serialNumber %q is not an EN 319 412-1 natural person identifier (IDC|PAS|PNO|TIN, country, '-', number)", s.SerialNumber)
		}
		cn := s.CommonName
		if cn == "" {
			cn = s.Pseudonym
			if cn == "" {
				cn = s.GivenName + " " + s.Surname
			}
		}
		attrs = []attribute{
			{OIDAttrCountry, s.Country, true},
			{OIDAttrGivenName, s.GivenName, false},
			{OIDAttrSurname, s.Surname, false},
			{OIDAttrPseudonym, s.Pseudonym, false}, // L-11 c: a pseudonym is marked by its own attribute type
			{OIDAttrSerialNumber, s.SerialNumber, true},
			{OIDAttrTitle, s.Title, false}, // L-11 d: capacity
			{OIDAttrCommonName, cn, false},
		}
		name.CommonName, name.SerialNumber = cn, s.SerialNumber
	case LegalPerson:
		switch {
		case s.GivenName != "" || s.Surname != "" || s.Pseudonym != "" || s.Title != "":
			return bad("a legal person's seal certificate carries no personal name, pseudonym or title")
		case s.Organization == "":
			return bad("a legal person needs an organizationName (EN 319 412-3)")
		case s.OrganizationIdentifier == "":
			return bad("a legal person needs an organizationIdentifier (EN 319 412-1 identifier such as NTRMA-123456)")
		case !isLegalIdentifier(s.OrganizationIdentifier):
			return bad("organizationIdentifier %q is not an EN 319 412-1 legal person identifier (NTR|VAT|PSD, country, '-', number)", s.OrganizationIdentifier)
		case s.SerialNumber != "" && !isPrintableString(s.SerialNumber):
			return bad("serialNumber %q must be a PrintableString", s.SerialNumber)
		}
		cn := s.CommonName
		if cn == "" {
			cn = s.Organization
		}
		attrs = []attribute{
			{OIDAttrCountry, s.Country, true},
			{OIDAttrOrganization, s.Organization, false},
			{OIDAttrOrganizationIdentifier, s.OrganizationIdentifier, false},
			{OIDAttrSerialNumber, s.SerialNumber, true},
			{OIDAttrCommonName, cn, false},
		}
		name.CommonName, name.Organization = cn, []string{s.Organization}
	default:
		return bad("unknown kind of holder %q (want %q or %q)", kind, NaturalPerson, LegalPerson)
	}
	for _, a := range attrs {
		if err := checkAttribute("subject attribute "+a.oid.String(), a.value, a.printable); err != nil {
			return nil, pkix.Name{}, err
		}
	}
	return attrs, name, nil
}

// CA roles a ceremony creates.
const (
	RoleRoot    = "root"
	RoleIssuing = "issuing"
	RoleOCSP    = "ocsp"
	RoleTSA     = "tsa"
)

// CASpec describes one certificate of the CSP's own hierarchy.
type CASpec struct {
	Name       string // short name used in URLs: /crl/{Name}.crl, /ca/{Name}.crt
	CommonName string
	Role       string // RoleRoot, RoleIssuing, RoleOCSP or RoleTSA
	Parent     string // the issuing certificate's Name; ignored for a root
	Validity   time.Duration
	Serial     *big.Int
	NotBefore  time.Time
	PublicKey  crypto.PublicKey
}

// maxCAValidityYears bounds a CA certificate's life (CA/B Forum BR 6.3.2 allows 25 years for roots).
const maxCAValidityYears = 25

// CATemplate builds the template of a certificate of the CSP's own hierarchy:
// subjects carry the CSP's identity and State (L-11 b).
func CATemplate(csp CSP, spec CASpec) (*x509.Certificate, error) {
	if err := checkCSP(csp); err != nil {
		return nil, err
	}
	if spec.CommonName == "" || !isURLSegment(spec.Name) {
		return nil, errkind.New(errkind.Invalid, law.L11, "CA certificate needs a common name and a URL-safe name (got %q)", spec.Name)
	}
	if err := law.CheckPublicKey(spec.PublicKey); err != nil {
		return nil, errkind.New(errkind.Invalid, law.L21_1, "%v", err)
	}
	if spec.Validity <= 0 {
		return nil, errkind.New(errkind.Invalid, law.L11, "CA certificate %q needs a positive validity", spec.Name)
	}
	notBefore := spec.NotBefore.UTC().Truncate(time.Second)
	notAfter := notBefore.Add(spec.Validity)
	if err := checkSerialAndValidity(spec.Serial, notBefore, notAfter, maxCAValidityYears); err != nil {
		return nil, err
	}
	if spec.Role != RoleRoot && !isURLSegment(spec.Parent) {
		return nil, errkind.New(errkind.Invalid, law.L11, "%s certificate %q needs its parent's name", spec.Role, spec.Name)
	}
	attrs := []attribute{
		{OIDAttrCountry, law.CSPCountry, true}, // L-11 b: the CSP's State
		{OIDAttrOrganization, csp.Name, false},
		{OIDAttrOrganizationIdentifier, csp.OrganizationIdentifier, false}, // L-11 b: its registration number
		{OIDAttrCommonName, spec.CommonName, false},
	}
	for _, a := range attrs {
		if err := checkAttribute("CA subject attribute "+a.oid.String(), a.value, a.printable); err != nil {
			return nil, err
		}
	}
	rawSubject, err := marshalName(attrs)
	if err != nil {
		return nil, err
	}
	ski, err := SubjectKeyID(spec.PublicKey)
	if err != nil {
		return nil, err
	}
	base := strings.TrimRight(csp.BaseURL, "/")
	t := &x509.Certificate{
		SerialNumber: new(big.Int).Set(spec.Serial),
		RawSubject:   rawSubject,
		Subject: pkix.Name{Country: []string{law.CSPCountry}, Organization: []string{csp.Name},
			CommonName: spec.CommonName},
		NotBefore:             notBefore,
		NotAfter:              notAfter,
		PublicKey:             spec.PublicKey,
		SubjectKeyId:          ski,
		BasicConstraintsValid: true,
	}
	// What a relying party needs to check the certificate's status and fetch its parent (43-20).
	withParentStatus := func() {
		t.CRLDistributionPoints = []string{base + "/crl/" + spec.Parent + ".crl"}
		t.OCSPServer = []string{base + "/ocsp"}
		t.IssuingCertificateURL = []string{base + "/ca/" + spec.Parent + ".crt"}
	}
	switch spec.Role {
	case RoleRoot:
		// No pathlen, no EKU and no policy: zlint warns on each for a root (CA/B Forum BR 7.1.2.1).
		t.IsCA = true
		t.MaxPathLen = -1
		t.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageCRLSign
		t.AuthorityKeyId = ski
	case RoleIssuing:
		t.IsCA = true
		t.MaxPathLen, t.MaxPathLenZero = 0, true
		t.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageCRLSign
		withParentStatus()
		// anyPolicy: the CSP operates the whole hierarchy (BR 7.1.2.10.5), so every qualified policy passes.
		setPolicies(t, OIDAnyPolicy)
	case RoleOCSP:
		t.KeyUsage = x509.KeyUsageDigitalSignature
		t.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageOCSPSigning}
		t.IssuingCertificateURL = []string{base + "/ca/" + spec.Parent + ".crt"}
		// RFC 6960 §4.2.2.2.1: clients need not check the responder's own status.
		t.ExtraExtensions = []pkix.Extension{{Id: OIDOCSPNoCheck, Value: []byte{0x05, 0x00}}}
	case RoleTSA:
		t.KeyUsage = x509.KeyUsageDigitalSignature
		withParentStatus()
		// RFC 3161 §2.3: the only EKU, and critical; Go marks EKU non-critical, so it is encoded here.
		eku, err := marshalEKU(OIDEKUTimeStamping)
		if err != nil {
			return nil, err
		}
		t.ExtraExtensions = []pkix.Extension{{Id: OIDExtKeyUsage, Critical: true, Value: eku}}
	default:
		return nil, errkind.New(errkind.Invalid, law.L11, "unknown CA role %q (want root, issuing, ocsp or tsa)", spec.Role)
	}
	return t, nil
}

// SubjectKeyID computes the key identifier by RFC 7093 §2 method 1: the
// leftmost 160 bits of the SHA-256 of the subjectPublicKey BIT STRING value.
func SubjectKeyID(pub crypto.PublicKey) ([]byte, error) {
	spki, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, errkind.Wrap(errkind.Invalid, err, "unsupported public key")
	}
	in := cryptobyte.String(spki)
	var seq cryptobyte.String
	var bits asn1.BitString
	if !in.ReadASN1(&seq, cbasn1.SEQUENCE) || !seq.SkipASN1(cbasn1.SEQUENCE) || !seq.ReadASN1BitString(&bits) {
		return nil, errkind.New(errkind.Internal, law.LInternal, "cannot read the subjectPublicKey")
	}
	sum := sha256.Sum256(bits.Bytes)
	return sum[:20], nil
}

func setPolicies(t *x509.Certificate, oids ...asn1.ObjectIdentifier) {
	for _, o := range oids {
		ints := make([]uint64, len(o))
		for i, v := range o {
			ints[i] = uint64(v)
		}
		p, err := x509.OIDFromInts(ints)
		if err != nil {
			continue // unreachable: the OIDs are checked in checkCSP or are constants
		}
		// Go 1.24+ encodes Policies; PolicyIdentifiers is kept for older readers of the template.
		t.Policies = append(t.Policies, p)
		t.PolicyIdentifiers = append(t.PolicyIdentifiers, o)
	}
}

func marshalEKU(oids ...asn1.ObjectIdentifier) ([]byte, error) {
	der, err := asn1.Marshal(oids)
	if err != nil {
		return nil, errkind.Wrap(errkind.Internal, err, "encoding extended key usage")
	}
	return der, nil
}

func checkCSP(csp CSP) error {
	bad := func(format string, args ...any) error { return errkind.New(errkind.Invalid, law.L11, format, args...) }
	if csp.Name == "" {
		return bad("the CSP has no name (L-11 b)")
	}
	if !isLegalIdentifier(csp.OrganizationIdentifier) {
		return bad("the CSP's organizationIdentifier %q is not an EN 319 412-1 identifier such as NTRMA-123456 (L-11 b)", csp.OrganizationIdentifier)
	}
	if csp.Country != "" && csp.Country != law.CSPCountry {
		return bad("the CSP's State is %q; a CSP approved under Law 43-20 is in %s", csp.Country, law.CSPCountry)
	}
	u, err := url.Parse(csp.BaseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || !isIA5(csp.BaseURL) {
		return bad("the CSP's base URL %q is not an absolute http(s) URL", csp.BaseURL)
	}
	if csp.CRLShards < 0 || csp.CRLShards > MaxCRLShards {
		return errkind.New(errkind.Invalid, law.L21Rev, "the CSP's CRL shard count %d is outside 0..%d", csp.CRLShards, MaxCRLShards)
	}
	if len(csp.PolicyOID) < 2 {
		return bad("the CSP has no certificate policy OID")
	}
	for _, lang := range law.PDSLanguages {
		p := csp.PDS[lang]
		u, err := url.Parse(p)
		// EN 319 412-5 QCS-4.3.4-03: a PDS URL uses https.
		if err != nil || u.Scheme != "https" || u.Host == "" || !isIA5(p) {
			return errkind.New(errkind.Invalid, law.L21_3_4, "the CSP's %q disclosure statement URL %q is not an https URL", lang, p)
		}
	}
	return nil
}

func checkSerialAndValidity(serial *big.Int, notBefore, notAfter time.Time, maxYears int) error {
	switch {
	case serial == nil || serial.Sign() <= 0:
		return errkind.New(errkind.Invalid, law.L11, "the serial number must be positive (L-11 g)")
	case serial.BitLen() < law.MinSerialBits || serial.BitLen() > 159:
		return errkind.New(errkind.Invalid, law.L11, "the serial number has %d bits; want %d to 159 (L-11 g)", serial.BitLen(), law.MinSerialBits)
	case notBefore.IsZero() || !notAfter.After(notBefore):
		return errkind.New(errkind.Invalid, law.L11, "validity must start before it ends (L-11 f)")
	case notAfter.After(notBefore.AddDate(maxYears, 0, 0)):
		return errkind.New(errkind.Invalid, law.L11, "validity is longer than %d years (L-11 f)", maxYears)
	}
	return nil
}

// isURLSegment keeps CA names safe inside the URLs written into certificates.
func isURLSegment(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return s != "." && s != ".."
}
