// Package lint runs zlint (all lints, ETSI included) and tawthiq's national
// lints for the L-11 profile over every certificate before it is signed (STYLE #7).
package lint

import (
	"bytes"
	"fmt"
	"sort"
	"strings"

	zx509 "github.com/zmap/zcrypto/x509"
	_ "github.com/zmap/zlint/v3" // registers every zlint lint in the global registry
	zl "github.com/zmap/zlint/v3/lint"

	"github.com/tawthiq/tawthiq/internal/errkind"
	"github.com/tawthiq/tawthiq/internal/law"
)

// SourceNational names the source of tawthiq's own lints in findings.
const SourceNational = "MA_L11"

// Linter lints certificates; it is safe for concurrent use once built.
// The national lints run beside zlint rather than inside its registry: in
// v3.7.3 a private registry (lint.NewRegistry) cannot take new lints, the only
// way in is zlint's process-wide global registry, and a registered lint could
// not receive the per-certificate Expectation.
type Linter struct {
	registry     zl.Registry
	lints        []preparedLint // zlint's certificate lints, instantiated and configured once
	national     []nationalLint
	acknowledged map[string]string // lint name -> why it cannot apply to this CSP
	skipped      map[string]string // lint name -> why it is not run at all
}

// Finding is the outcome of one lint on one certificate.
type Finding struct {
	Name    string `json:"name"`
	Status  string `json:"status"` // pass, NA, NE, info, warn, error, fatal
	Details string `json:"details,omitempty"`
	Source  string `json:"source"` // zlint's source (ETSI_ESI, RFC5280...) or MA_L11
	Rule    law.ID `json:"rule"`   // L-11 for national lints, L-21-1 for zlint's
	// Acknowledged holds the reason a failing lint is tolerated; empty otherwise.
	Acknowledged string `json:"acknowledged,omitempty"`
}

// Failed reports whether the finding stops issuance: warnings count, we are strict.
func (f Finding) Failed() bool {
	return f.Acknowledged == "" && (f.Status == "warn" || f.Status == "error" || f.Status == "fatal")
}

// New builds the registry once: every lint zlint v3 registers, ETSI included.
func New() (*Linter, error) {
	skipped := skippedLints()
	names := make([]string, 0, len(skipped))
	for n := range skipped {
		names = append(names, n)
	}
	reg, err := zl.GlobalRegistry().Filter(zl.FilterOptions{ExcludeNames: names})
	if err != nil {
		return nil, errkind.Wrap(errkind.Internal, err, "building the zlint registry")
	}
	if len(reg.BySource(zl.EtsiEsi)) == 0 {
		return nil, errkind.New(errkind.Internal, law.L21_1, "zlint registry has no ETSI lints")
	}
	lints, err := prepareLints(reg)
	if err != nil {
		return nil, err
	}
	return &Linter{registry: reg, lints: lints, national: nationalLints(), acknowledged: acknowledgedLints(), skipped: skipped}, nil
}

// skippedLints lists the zlint lints not run, each with why it can never fire here.
func skippedLints() map[string]string {
	return map[string]string{
		// 8 P-384 verifications per ECDSA certificate (70% of all lint time): it asks whether
		// eMudhra's compromised keys signed the certificate; ours is signed by our own CA key,
		// checked against our CA certificate by issuance.Sign, and the linted copy by a throwaway key.
		"e_cert_issued_by_compromised_emudhra_ca": "tests for signatures by eMudhra's compromised CA keys: tawthiq's certificates are signed by the CSP's own CA key, verified after signing",
	}
}

// Skipped returns the zlint lints that are not run and why, for reports.
func (l *Linter) Skipped() map[string]string {
	out := make(map[string]string, len(l.skipped))
	for k, v := range l.skipped {
		out[k] = v
	}
	return out
}

// acknowledgedLints lists zlint lints that cannot apply to this CSP, each with its reason.
func acknowledgedLints() map[string]string {
	return map[string]string{
		// NSS (poppler's pdfsig, Thunderbird) accepts a signer only with id-kp-emailProtection.
		"e_exactly_one_smime_policy": "the CA/Browser Forum S/MIME BRs govern publicly-trusted S/MIME certificates; " +
			"tawthiq's signature and seal certificates are qualified certificates under Law 43-20 (ETSI QCP-n/QCP-l policies), " +
			"and carry id-kp-emailProtection beside id-kp-documentSigning only because relying parties such as NSS require it to accept a document signature",
	}
}

// Acknowledged returns the tolerated lint names and why, for reports.
func (l *Linter) Acknowledged() map[string]string {
	out := make(map[string]string, len(l.acknowledged))
	for k, v := range l.acknowledged {
		out[k] = v
	}
	return out
}

// Certificate returns nil when no lint reports a warning, an error or a fatal
// result; otherwise an *errkind.Error naming every failing lint.
func (l *Linter) Certificate(der []byte, expect Expectation) error {
	findings, err := l.findings(der, expect)
	if err != nil {
		return err
	}
	rule := law.L21_1
	for _, f := range findings {
		if f.Failed() && f.Source == SourceNational {
			rule = law.L11
		}
	}
	return refusal("certificate", rule, findings)
}

// refusal names every failing finding in one error of the given rule, or is nil.
func refusal(what string, rule law.ID, findings []Finding) error {
	var failed []string
	for _, f := range findings {
		if !f.Failed() {
			continue
		}
		s := f.Name + " (" + f.Status
		if f.Details != "" {
			s += ": " + f.Details
		}
		failed = append(failed, s+")")
	}
	if len(failed) == 0 {
		return nil
	}
	return errkind.New(errkind.Invalid, rule, "%s fails %d lint(s): %s", what, len(failed), strings.Join(failed, "; "))
}

// Findings returns every lint's outcome, sorted by name, for reports; a
// certificate that does not parse gives one fatal finding.
func (l *Linter) Findings(der []byte, expect Expectation) []Finding {
	f, err := l.run(der, expect, false)
	if err != nil {
		return []Finding{{Name: "parse", Status: "fatal", Details: errkind.As(err).Detail, Source: "zcrypto", Rule: law.L21_1}}
	}
	return f
}

// findings returns only the failing findings, sorted: the issuance path needs no more.
func (l *Linter) findings(der []byte, expect Expectation) ([]Finding, error) {
	return l.run(der, expect, true)
}

func (l *Linter) run(der []byte, expect Expectation, onlyFailed bool) ([]Finding, error) {
	c, err := zx509.ParseCertificate(der)
	if err != nil {
		return nil, errkind.Wrap(errkind.Invalid, err, "certificate does not parse for linting (%s)", law.L21_1)
	}
	// The lintable copy is signed by a throwaway key, so zcrypto cannot see that a
	// root is self-signed; a self-issued CA whose AKI is absent or its own SKI will be.
	if !c.SelfSigned && c.IsCA && bytes.Equal(c.RawSubject, c.RawIssuer) &&
		(len(c.AuthorityKeyId) == 0 || bytes.Equal(c.AuthorityKeyId, c.SubjectKeyId)) {
		c.SelfSigned = true
	}
	out := make([]Finding, 0, len(l.national)+8)
	fw := frameworksOf(c)
	for i := range l.lints {
		pl := &l.lints[i]
		r := pl.execute(c, fw)
		f := Finding{Name: pl.meta.Name, Status: r.Status.String(), Details: r.Details,
			Source: string(pl.meta.Source), Rule: law.L21_1, Acknowledged: l.acknowledged[pl.meta.Name]}
		if !onlyFailed || f.Failed() {
			out = append(out, f)
		}
	}
	nc := newNationalCert(c)
	for _, n := range l.national {
		status, details := zl.NA, ""
		if nc.applies(expect) {
			status, details = n.check(nc, expect)
		}
		if status != zl.Pass && status != zl.NA && details != "" {
			details = fmt.Sprintf("%s [%s]", details, n.content)
		}
		f := Finding{Name: n.name, Status: status.String(), Details: details, Source: SourceNational, Rule: law.L11}
		if !onlyFailed || f.Failed() {
			out = append(out, f)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}
