package issuance

import (
	"time"

	"github.com/tawthiq/tawthiq/internal/errkind"
	"github.com/tawthiq/tawthiq/internal/law"
)

// defaultValidity is two years: under the law.MaxValidityYears ceiling, and
// the usual life of a key held in a smart card.
const defaultValidity = 2 * 365 * 24 * time.Hour

// DefaultProfiles returns the profiles a new CSP offers: qualified signatures
// for natural persons (with and without a required QSCD) and qualified seals.
func DefaultProfiles() []Profile {
	return []Profile{
		{Name: "natural-qualified", CA: "signature", Kind: NaturalPerson, Validity: defaultValidity, Qualified: true},
		{Name: "natural-qualified-qscd", CA: "signature", Kind: NaturalPerson, Validity: defaultValidity, Qualified: true, RequireQSCD: true},
		{Name: "legal-qualified-seal", CA: "seal", Kind: LegalPerson, Validity: defaultValidity, Qualified: true},
	}
}

// CheckProfile refuses a profile that could not produce a lawful certificate (L-11).
func CheckProfile(p Profile) error {
	switch {
	case p.Name == "":
		return errkind.New(errkind.Invalid, law.L11, "a profile needs a name")
	case !isURLSegment(p.CA):
		return errkind.New(errkind.Invalid, law.L11, "profile %q names no usable issuing CA (%q)", p.Name, p.CA)
	case p.Kind != NaturalPerson && p.Kind != LegalPerson:
		return errkind.New(errkind.Invalid, law.L11, "profile %q: unknown kind of holder %q", p.Name, p.Kind)
	case p.Validity <= 0 || p.Validity > time.Duration(law.MaxValidityYears)*365*24*time.Hour:
		return errkind.New(errkind.Invalid, law.L11, "profile %q: validity %v is not within (0, %d years]", p.Name, p.Validity, law.MaxValidityYears)
	case !p.Qualified:
		return errkind.New(errkind.Invalid, law.L11, "profile %q is not qualified: only secured (qualified) profiles are defined", p.Name)
	}
	return nil
}
