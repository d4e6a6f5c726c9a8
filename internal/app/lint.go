package app

import (
	"encoding/asn1"

	"github.com/tawthiq/tawthiq/internal/issuance"
	"github.com/tawthiq/tawthiq/internal/lint"
)

// linter adapts lint.Linter to what the CA and the ceremony need: the expectation
// of each certificate comes from the approved request and the CSP's policy.
type linter struct {
	l      *lint.Linter
	policy asn1.ObjectIdentifier
}

func newLinter(csp issuance.CSP) (*linter, error) {
	l, err := lint.New()
	if err != nil {
		return nil, err
	}
	return &linter{l: l, policy: csp.PolicyOID}, nil
}

// Check lints an end-entity certificate against what the RA approved (L-11).
func (x *linter) Check(der []byte, req issuance.Request) error {
	return x.l.Certificate(der, lint.Expectation{Qualified: req.Profile.Qualified, KeyInQSCD: req.KeyInQSCD,
		LimitMAD: req.LimitMAD, Capacity: req.Subject.Title, PolicyOID: x.policy})
}

// checkCA lints a CA, OCSP-responder or TSA certificate of the ceremony.
func (x *linter) checkCA(der []byte) error { return x.l.Certificate(der, lint.Expectation{}) }
