package lint

import (
	"fmt"

	zx509 "github.com/zmap/zcrypto/x509"
	zl "github.com/zmap/zlint/v3/lint"
	"github.com/zmap/zlint/v3/util"

	"github.com/tawthiq/tawthiq/internal/errkind"
	"github.com/tawthiq/tawthiq/internal/law"
)

// preparedLint is one zlint certificate lint, instantiated and configured once.
//
// Written by hand: zlint.LintCertificateEx sorts every lint name, instantiates each
// lint and configures it by reflection on every call, which was a quarter of the
// lint time of an issuance. This loop runs the same lints with the same framework
// filter and panic handling as zlint's CertificateLint.Execute.
type preparedLint struct {
	meta *zl.CertificateLint
	impl zl.CertificateLintInterface
}

func prepareLints(reg zl.Registry) ([]preparedLint, error) {
	cfg := reg.GetConfiguration()
	var out []preparedLint
	for _, m := range reg.CertificateLints().Lints() {
		impl := m.Lint()
		if err := cfg.MaybeConfigure(impl, m.Name); err != nil {
			return nil, errkind.Wrap(errkind.Internal, err, "configuring zlint lint %s (%s)", m.Name, law.L21_1)
		}
		out = append(out, preparedLint{meta: m, impl: impl})
	}
	if len(out) == 0 {
		return nil, errkind.New(errkind.Internal, law.L21_1, "zlint registry has no certificate lints")
	}
	return out, nil
}

// frameworks records which CA/Browser Forum frameworks a certificate falls under.
type frameworks struct{ serverAuth, emailProtection, codeSigning bool }

func frameworksOf(c *zx509.Certificate) frameworks {
	return frameworks{util.IsServerAuthCert(c), util.IsEmailProtectionCert(c), util.IsCodeSigning(c.PolicyIdentifiers)}
}

// execute mirrors zlint's CertificateLint.Execute: framework filter, applicability,
// effective date, then the lint itself; a panicking lint is a fatal result.
func (p *preparedLint) execute(c *zx509.Certificate, fw frameworks) (res *zl.LintResult) {
	defer func() {
		if err := recover(); err != nil {
			res = &zl.LintResult{Status: zl.Fatal, Details: fmt.Sprintf("'%s' panicked. Error: %v", p.meta.Name, err)}
		}
	}()
	if !p.meta.OverrideFrameworkFilter {
		switch {
		case p.meta.Source == zl.CABFBaselineRequirements && !fw.serverAuth,
			p.meta.Source == zl.CABFSMIMEBaselineRequirements && !fw.emailProtection,
			p.meta.Source == zl.CABFCSBaselineRequirements && !fw.codeSigning:
			return &zl.LintResult{Status: zl.NA}
		}
	}
	if !p.impl.CheckApplies(c) {
		return &zl.LintResult{Status: zl.NA}
	}
	if !p.meta.CheckEffective(c) {
		return &zl.LintResult{Status: zl.NE}
	}
	return p.impl.Execute(c)
}
