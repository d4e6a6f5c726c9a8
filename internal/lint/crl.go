package lint

import (
	"sort"

	zx509 "github.com/zmap/zcrypto/x509"
	"github.com/zmap/zlint/v3"

	"github.com/tawthiq/tawthiq/internal/errkind"
	"github.com/tawthiq/tawthiq/internal/law"
)

// RevocationList lints a signed CRL with every zlint CRL lint before it is published
// (STYLE #7, L-21-rev): nil when none reports a warning, an error or a fatal result;
// otherwise an *errkind.Error naming every failing lint.
func (l *Linter) RevocationList(der []byte) error {
	findings, err := l.RevocationListFindings(der)
	if err != nil {
		return err
	}
	return refusal("CRL", law.L21Rev, findings)
}

// RevocationListFindings returns every CRL lint's outcome, sorted by name.
func (l *Linter) RevocationListFindings(der []byte) ([]Finding, error) {
	r, err := zx509.ParseRevocationList(der)
	if err != nil {
		return nil, errkind.Wrap(errkind.Invalid, err, "CRL does not parse for linting (%s)", law.L21Rev)
	}
	rs := zlint.LintRevocationListEx(r, l.registry)
	onlyCACompromise := true // the only code outside the CA/B Forum's list is cACompromise
	for _, e := range r.RevokedCertificates {
		if e.ReasonCode == nil {
			continue
		}
		switch *e.ReasonCode {
		case law.ReasonKeyCompromise, law.ReasonAffiliationChanged, law.ReasonSuperseded,
			law.ReasonCessationOfOperation, law.ReasonPrivilegeWithdrawn, // the CA/B Forum's list
			law.ReasonCACompromise: // RFC 5280's, which the CA/B Forum TLS rules omit
		default:
			onlyCACompromise = false
		}
	}
	out := make([]Finding, 0, len(rs.Results))
	for name, res := range rs.Results {
		f := Finding{Name: name, Status: res.Status.String(), Details: res.Details, Rule: law.L21Rev}
		if m := l.registry.ByName(name); m != nil {
			f.Source = string(m.Source)
		}
		// The CA/B Forum's reason list serves TLS CAs; RFC 5280 §5.3.1 keeps cACompromise,
		// and a qualified CSP whose CA key is compromised must say so (L-21-1).
		if name == "e_cab_crl_has_valid_reason_code" && onlyCACompromise {
			f.Acknowledged = "RFC 5280 cACompromise: the CA/B Forum TLS reason list does not bind a qualified e-signature CA"
		}
		out = append(out, f)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}
