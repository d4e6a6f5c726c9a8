package config

import (
	"bytes"
	"encoding/asn1"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
)

// Ceremony is the reviewable description of a key ceremony: the CSP's identity and
// every authority (root, issuing CAs, OCSP responders, TSA) with its key and validity.
type Ceremony struct {
	CSP         CSPIdentity     `yaml:"csp"`
	AuditKey    string          `yaml:"audit_key"` // Ed25519 key URI that signs audit checkpoints
	Authorities []AuthoritySpec `yaml:"authorities"`
	Terms       TermsSpec       `yaml:"terms"`
}

// CSPIdentity is what every certificate says of its CSP (L-11 b).
type CSPIdentity struct {
	Name                   string            `yaml:"name"`
	OrganizationIdentifier string            `yaml:"organization_identifier"` // e.g. NTRMA-123456
	PolicyOID              string            `yaml:"policy_oid"`
	PDS                    map[string]string `yaml:"pds"` // language -> URL (L-21-3-4)
	// CRLShards partitions each CA's CRL by serial (0 or 1: one CRL); fixed at the ceremony,
	// since each certificate names its partition in its CRL distribution point.
	CRLShards int `yaml:"crl_shards"`
}

// AuthoritySpec is one key and certificate the ceremony makes.
type AuthoritySpec struct {
	Name          string `yaml:"name"`
	Role          string `yaml:"role"` // root, issuing, ocsp, tsa
	Parent        string `yaml:"parent"`
	CommonName    string `yaml:"common_name"`
	Key           string `yaml:"key"`       // file:... (relative paths are inside the data directory) or pkcs11:...
	Algorithm     string `yaml:"algorithm"` // ecdsa-p256, ecdsa-p384, rsa-3072, rsa-4096
	ValidityYears int    `yaml:"validity_years"`
}

// TermsSpec is the first version of the subscriber terms (L-21-3-3).
type TermsSpec struct {
	Version string `yaml:"version"`
	Text    string `yaml:"text"`
}

// Roles of authorities.
var authorityRoles = []string{"root", "issuing", "ocsp", "tsa"}

// LoadCeremony reads and validates a ceremony file.
func LoadCeremony(path string) (Ceremony, error) {
	var c Ceremony
	b, err := os.ReadFile(path)
	if err != nil {
		return c, err
	}
	if err := DecodeStrict(bytes.NewReader(b), &c); err != nil {
		return c, fmt.Errorf("%s: %w", path, err)
	}
	if err := c.Validate(); err != nil {
		return c, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// ParseOID reads a dotted object identifier.
func ParseOID(s string) (asn1.ObjectIdentifier, error) {
	parts := strings.Split(s, ".")
	if len(parts) < 2 {
		return nil, fmt.Errorf("object identifier %q needs at least two arcs", s)
	}
	oid := make(asn1.ObjectIdentifier, len(parts))
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 || strings.TrimLeft(p, "0123456789") != "" { // Atoi accepts a sign
			return nil, fmt.Errorf("object identifier %q: arc %q", s, p)
		}
		oid[i] = n
	}
	// X.660: the first arc is 0, 1 or 2, and under 0 and 1 the second is below 40;
	// encoding/asn1 refuses anything else, so refuse it here, at validation.
	if oid[0] > 2 || (oid[0] < 2 && oid[1] >= 40) {
		return nil, fmt.Errorf("object identifier %q: arcs %d.%d are not allowed", s, oid[0], oid[1])
	}
	return oid, nil
}

// Validate checks the ceremony before any key is made.
func (c Ceremony) Validate() error {
	var errs []error
	bad := func(f string, a ...any) { errs = append(errs, fmt.Errorf(f, a...)) }
	if c.CSP.Name == "" {
		bad("csp.name is required (L-11 b)")
	}
	if !strings.HasPrefix(c.CSP.OrganizationIdentifier, "NTRMA-") && !strings.HasPrefix(c.CSP.OrganizationIdentifier, "VATMA-") {
		bad("csp.organization_identifier %q must be an EN 319 412-1 identifier such as NTRMA-123456 (L-11 b)", c.CSP.OrganizationIdentifier)
	}
	if _, err := ParseOID(c.CSP.PolicyOID); err != nil {
		bad("csp.policy_oid: %v", err)
	}
	for _, lang := range []string{"ar", "fr", "en"} {
		if !strings.HasPrefix(c.CSP.PDS[lang], "https://") {
			bad("csp.pds.%s: an https URL of the disclosure statement in that language is required (L-21-3-4, EN 319 412-5)", lang)
		}
	}
	if c.AuditKey == "" {
		bad("audit_key is required (L-21-2)")
	}
	if c.Terms.Version == "" || strings.TrimSpace(c.Terms.Text) == "" {
		bad("terms.version and terms.text are required (L-21-3-3)")
	}
	seen := map[string]AuthoritySpec{}
	roots := 0
	for i, a := range c.Authorities {
		where := fmt.Sprintf("authorities[%d] (%s)", i, a.Name)
		if a.Name == "" || strings.ContainsAny(a.Name, "/. ") {
			bad("%s: name must be a simple word", where)
		}
		if _, dup := seen[a.Name]; dup {
			bad("%s: name used twice", where)
		}
		if !slices.Contains(authorityRoles, a.Role) {
			bad("%s: role %q (root, issuing, ocsp, tsa)", where, a.Role)
		}
		if a.Role == "root" {
			roots++
			if a.Parent != "" {
				bad("%s: a root has no parent", where)
			}
		} else if p, ok := seen[a.Parent]; !ok {
			bad("%s: parent %q must be listed before it", where, a.Parent)
		} else if p.Role != "root" && p.Role != "issuing" {
			bad("%s: parent %q is not a CA", where, a.Parent)
		}
		if a.CommonName == "" || a.Key == "" || a.Algorithm == "" {
			bad("%s: common_name, key and algorithm are required", where)
		}
		if a.ValidityYears < 1 || a.ValidityYears > 30 {
			bad("%s: validity_years %d out of 1..30", where, a.ValidityYears)
		}
		seen[a.Name] = a
	}
	if roots == 0 {
		bad("authorities: a root is required")
	}
	return errors.Join(errs...)
}

// DemoCeremony is what `tawthiq serve` runs on an empty data directory.
func DemoCeremony() Ceremony {
	ca := func(name, role, parent, cn, alg string, years int) AuthoritySpec {
		return AuthoritySpec{Name: name, Role: role, Parent: parent, CommonName: cn,
			Key: "file:keys/" + name + ".key", Algorithm: alg, ValidityYears: years}
	}
	return Ceremony{
		CSP: CSPIdentity{
			Name:                   "Tawthiq Demo CSP",
			OrganizationIdentifier: "NTRMA-000000",
			PolicyOID:              "2.16.504.99.1.1", // Morocco's arc (2.16.504) with a demo branch: replace in production
			// ETSI EN 319 412-5 wants https PDS URLs; the demo's are the repository's own pages.
			PDS: map[string]string{
				"ar": demoPDS + "ar.md", "fr": demoPDS + "fr.md", "en": demoPDS + "en.md",
			},
		},
		AuditKey: "file:keys/audit.key",
		Authorities: []AuthoritySpec{
			ca("root", "root", "", "Tawthiq Demo Root CA", "ecdsa-p384", 20),
			ca("signature", "issuing", "root", "Tawthiq Demo Qualified Signature CA", "ecdsa-p256", 10),
			ca("seal", "issuing", "root", "Tawthiq Demo Qualified Seal CA", "ecdsa-p256", 10),
			ca("ocsp-signature", "ocsp", "signature", "Tawthiq Demo OCSP Responder (signature)", "ecdsa-p256", 2),
			ca("ocsp-seal", "ocsp", "seal", "Tawthiq Demo OCSP Responder (seal)", "ecdsa-p256", 2),
			ca("tsa", "tsa", "root", "Tawthiq Demo Time-Stamping Unit", "ecdsa-p256", 5),
		},
		Terms: TermsSpec{Version: "demo-1", Text: demoTerms},
	}
}

// demoPDS is where the demo's PKI disclosure statements are published (L-21-3-4).
const demoPDS = "https://github.com/tawthiq/tawthiq/blob/main/docs/pds/"

const demoTerms = `Tawthiq Demo CSP - subscriber terms (demo version 1)

1. Use: the certificate serves to sign (natural persons) or seal (legal persons) electronic acts under
   Law 53-05 and Law 43-20. It may not be used beyond the limits of use written in it.
2. Your duties (Law 53-05 art. 25-28, Law 43-20 art. 41-44): you alone keep your private key
   confidential; you report any change of the certified data; on any doubt you revoke at once.
3. Revocation: you may revoke at any hour with your holder credential or your revocation secret.
4. Records: your registration record is kept at least 7 years (Law 53-05 art. 21-2).
5. Disputes: complaints go to the CSP first, then to the competent Moroccan courts.
This is a DEMO: its certificates have no legal value.
`
