package authority

import (
	"bytes"
	"crypto/x509"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/tawthiq/tawthiq/internal/errkind"
	"github.com/tawthiq/tawthiq/internal/law"
)

// Bounds of the register's text fields and lists.
const (
	maxName         = 256
	maxRef          = 200
	maxText         = 4000
	maxCertificates = 16
	maxCertBytes    = 64 << 10
	maxFindings     = 500
	maxCountries    = 250
	maxLists        = 64
)

func invalid(rule law.ID, format string, args ...any) error {
	return errkind.New(errkind.Invalid, rule, format, args...)
}

// text checks a required (or optional) line of plain text.
func text(rule law.ID, field, v string, required bool, max int) error {
	if v == "" {
		if required {
			return invalid(rule, "%s is required", field)
		}
		return nil
	}
	if !utf8.ValidString(v) || utf8.RuneCountInString(v) > max || strings.TrimSpace(v) != v {
		return invalid(rule, "%s is at most %d characters of text, without leading or trailing spaces", field, max)
	}
	for _, r := range v {
		if unicode.IsControl(r) && r != '\n' {
			return invalid(rule, "%s has no control characters", field)
		}
	}
	return nil
}

func country(rule law.ID, field, v string) error {
	if len(v) != 2 || v[0] < 'A' || v[0] > 'Z' || v[1] < 'A' || v[1] > 'Z' {
		return invalid(rule, "%s is an ISO 3166-1 alpha-2 code in capitals, e.g. MA", field)
	}
	return nil
}

func webURL(rule law.ID, field, v string, required bool) error {
	if v == "" {
		if required {
			return invalid(rule, "%s is required", field)
		}
		return nil
	}
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil || len(v) > 2048 {
		return invalid(rule, "%s is an absolute http or https URL", field)
	}
	return nil
}

func required(rule law.ID, field string, t time.Time) error {
	if t.IsZero() {
		return invalid(rule, "%s is required", field)
	}
	return nil
}

// checkCSP checks a CSP's fields (L-15); the agreement of a foreign one is checked
// against the store by the service (L-22).
func checkCSP(c CSP) error {
	if err := text(law.L15, "name", c.Name, true, maxName); err != nil {
		return err
	}
	if err := country(law.L15, "country", c.Country); err != nil {
		return err
	}
	if err := text(law.L15, "seat", c.Seat, true, maxText); err != nil {
		return err
	}
	if err := webURL(law.L15, "information_uri", c.InformationURI, false); err != nil {
		return err
	}
	home := c.Country == HomeCountry
	switch c.IDKind {
	case IDKindICE:
		// The Identifiant Commun de l'Entreprise is 15 digits.
		if !home || len(c.IDNumber) != 15 || strings.Trim(c.IDNumber, "0123456789") != "" {
			return invalid(law.L11, "an ICE is 15 digits, given by a CSP established in Morocco")
		}
	case IDKindRC:
		if !home {
			return invalid(law.L11, "a trade register (RC) number is given by a CSP established in Morocco")
		}
		if err := text(law.L11, "id_number", c.IDNumber, true, 64); err != nil {
			return err
		}
	case IDKindForeign:
		if home {
			return invalid(law.L11, "a CSP established in Morocco gives its ICE or trade register number")
		}
		if err := text(law.L11, "id_number", c.IDNumber, true, 64); err != nil {
			return err
		}
	default:
		return invalid(law.L11, "id_kind is ice, rc or foreign")
	}
	if home && c.AgreementID != "" {
		return invalid(law.L22, "only a CSP established abroad is approved under a recognition agreement")
	}
	if !home && c.AgreementID == "" {
		return invalid(law.L22, "a CSP established abroad is approved only under a recognition agreement with its State")
	}
	return nil
}

// checkService checks a new service and its digital identity (L-15, L-20).
func checkService(s TrustService) error {
	if s.CSPID == "" {
		return invalid(law.L15, "csp_id is required")
	}
	if !slices.Contains(ServiceTypes(), s.Type) {
		return invalid(law.L15, "type is one of the TS 119 612 service types %s", strings.Join(ServiceTypes(), ", "))
	}
	if err := text(law.L15, "name", s.Name, true, maxName); err != nil {
		return err
	}
	if s.Type == TypeCAQC {
		if len(s.Qualifiers) == 0 {
			return invalid(law.L20, "a CA/QC says what its certificates are qualified for: esig, eseal or both")
		}
		seen := map[Qualifier]bool{}
		for _, q := range s.Qualifiers {
			if (q != QualifiesESig && q != QualifiesESeal) || seen[q] {
				return invalid(law.L20, "qualifiers are esig and eseal, each at most once")
			}
			seen[q] = true
		}
	} else if len(s.Qualifiers) > 0 {
		return invalid(law.L20, "only a CA/QC service has qualifiers")
	}
	return checkIdentity(s.Type, s.Certificates)
}

// checkIdentity checks that the certificates are one key's, of the kind the
// service type signs with: a validator finds the service by them (L-20).
func checkIdentity(typ string, ders [][]byte) error {
	if len(ders) == 0 || len(ders) > maxCertificates {
		return invalid(law.L20, "a service's digital identity is 1 to %d certificates", maxCertificates)
	}
	var spki []byte
	for i, der := range ders {
		if len(der) > maxCertBytes {
			return invalid(law.L20, "certificate %d is over %d bytes", i+1, maxCertBytes)
		}
		c, err := x509.ParseCertificate(der)
		if err != nil {
			return invalid(law.L20, "certificate %d is not a DER X.509 certificate", i+1)
		}
		if spki == nil {
			spki = c.RawSubjectPublicKeyInfo
		} else if !bytes.Equal(spki, c.RawSubjectPublicKeyInfo) {
			return invalid(law.L20, "the certificates of one service are of one key; certificate %d is of another", i+1)
		}
		switch typ {
		case TypeCAQC:
			if !c.BasicConstraintsValid || !c.IsCA || c.KeyUsage&x509.KeyUsageCertSign == 0 {
				return invalid(law.L20, "certificate %d of a CA/QC is a CA certificate that signs certificates", i+1)
			}
		case TypeTSAQTST:
			if !slices.Contains(c.ExtKeyUsage, x509.ExtKeyUsageTimeStamping) {
				return invalid(law.L20, "certificate %d of a TSA/QTST has the timeStamping extended key usage", i+1)
			}
		}
	}
	return nil
}

// checkStatus checks a status change against the history it would extend (L-15):
// the first one grants, a new one starts no earlier than the one in force, and
// withdrawn is left only by a new grant.
func checkStatus(history []StatusChange, c StatusChange) error {
	switch c.Status {
	case StatusGranted, StatusSuspended, StatusWithdrawn:
	default:
		return invalid(law.L15, "status is granted, suspended or withdrawn")
	}
	if err := required(law.L15, "from", c.From); err != nil {
		return err
	}
	if err := text(law.L15, "decision", c.Decision, true, maxRef); err != nil {
		return err
	}
	if err := text(law.L15, "note", c.Note, false, maxText); err != nil {
		return err
	}
	if len(history) == 0 {
		if c.Status != StatusGranted {
			return invalid(law.L15, "a service enters the register by a decision that grants it")
		}
		return nil
	}
	cur := history[len(history)-1]
	if c.From.Before(cur.From) {
		return errkind.New(errkind.Conflict, law.L15, "a new status starts no earlier than the one in force (%s from %s)",
			cur.Status, cur.From.UTC().Format(time.RFC3339))
	}
	if c.Status == cur.Status {
		return errkind.New(errkind.Conflict, law.L15, "the service is already %s", cur.Status)
	}
	// Withdrawn is final unless a new decision grants the service again.
	if cur.Status == StatusWithdrawn && c.Status != StatusGranted {
		return errkind.New(errkind.Conflict, law.L15, "a withdrawn service can only be granted again by a new decision")
	}
	return nil
}

func checkInsurance(i Insurance) error {
	const r = law.L21_3_6
	if i.CSPID == "" {
		return invalid(r, "csp_id is required")
	}
	if err := text(r, "insurer", i.Insurer, true, maxName); err != nil {
		return err
	}
	if err := text(r, "policy", i.Policy, true, maxRef); err != nil {
		return err
	}
	if i.CoverMAD <= 0 {
		return invalid(r, "cover_mad is the amount covered, in dirhams, above zero")
	}
	if err := required(r, "valid_from", i.ValidFrom); err != nil {
		return err
	}
	if err := required(r, "valid_until", i.ValidUntil); err != nil {
		return err
	}
	if !i.ValidUntil.After(i.ValidFrom) {
		return invalid(r, "valid_until is after valid_from")
	}
	return nil
}

func checkAudit(a Audit) error {
	const r = law.L15
	if a.CSPID == "" {
		return invalid(r, "csp_id is required")
	}
	switch a.Kind {
	case AuditApproval, AuditPeriodic, AuditAdHoc:
	default:
		return invalid(r, "kind is approval, periodic or ad-hoc")
	}
	if err := text(r, "auditor", a.Auditor, true, maxName); err != nil {
		return err
	}
	if err := required(r, "date", a.Date); err != nil {
		return err
	}
	if err := text(r, "report_ref", a.ReportRef, true, maxRef); err != nil {
		return err
	}
	if len(a.Findings) > maxFindings {
		return invalid(r, "an audit records at most %d findings", maxFindings)
	}
	major := false
	for i, f := range a.Findings {
		switch f.Severity {
		case SeverityMajor:
			major = true
		case SeverityMinor, SeverityObservation:
		default:
			return invalid(r, "finding %d: severity is major, minor or observation", i+1)
		}
		if err := text(r, "finding text", f.Text, true, maxText); err != nil {
			return err
		}
	}
	switch a.Outcome {
	case OutcomePass:
		if major {
			return invalid(r, "an audit with a major finding does not pass")
		}
	case OutcomePassWithFindings:
		if len(a.Findings) == 0 || major {
			return invalid(r, "pass-with-findings has findings, none of them major")
		}
	case OutcomeFail:
	default:
		return invalid(r, "outcome is pass, pass-with-findings or fail")
	}
	return nil
}

func checkSanction(s Sanction) error {
	const r = law.L15
	if s.CSPID == "" {
		return invalid(r, "csp_id is required")
	}
	switch s.Kind {
	case SanctionWarning, SanctionFine:
	case SanctionSuspension, SanctionWithdrawal:
		if s.ServiceID == "" {
			return invalid(r, "a %s names the service it applies to (service_id)", s.Kind)
		}
	default:
		return invalid(r, "kind is warning, fine, suspension or withdrawal")
	}
	if (s.Kind == SanctionFine) != (s.AmountMAD > 0) || s.AmountMAD < 0 {
		return invalid(r, "amount_mad is given, above zero, for a fine and only for a fine")
	}
	if err := text(r, "decision", s.Decision, true, maxRef); err != nil {
		return err
	}
	if err := required(r, "decided_at", s.DecidedAt); err != nil {
		return err
	}
	return text(r, "note", s.Note, false, maxText)
}

func checkCrypto(d CryptoDeclaration) error {
	const r = law.L13
	if d.CSPID == "" {
		return invalid(r, "csp_id is required")
	}
	switch d.Purpose {
	case PurposeAuthIntegrity, PurposeConfidentiality:
	default:
		return invalid(r, "purpose is authentication-integrity or confidentiality")
	}
	switch d.Kind {
	case CryptoDeclared:
		if d.Purpose != PurposeAuthIntegrity {
			return invalid(r, "a means of cryptography for confidentiality needs an authorisation, not a declaration")
		}
	case CryptoAuthorised:
	default:
		return invalid(r, "kind is declaration or authorisation")
	}
	if err := text(r, "means", d.Means, true, maxText); err != nil {
		return err
	}
	if err := text(r, "reference", d.Reference, true, maxRef); err != nil {
		return err
	}
	if err := required(r, "decided_at", d.DecidedAt); err != nil {
		return err
	}
	if !d.ValidUntil.IsZero() && !d.ValidUntil.After(d.DecidedAt) {
		return invalid(r, "valid_until is after decided_at")
	}
	return nil
}

func checkAgreement(a Agreement) error {
	const r = law.L22
	if err := text(r, "reference", a.Reference, true, maxRef); err != nil {
		return err
	}
	if err := text(r, "title", a.Title, false, maxText); err != nil {
		return err
	}
	if err := required(r, "signed_at", a.SignedAt); err != nil {
		return err
	}
	switch a.Kind {
	case Bilateral:
		if len(a.Countries) != 1 {
			return invalid(r, "a bilateral agreement binds Morocco and exactly one other State")
		}
	case Multilateral:
		if len(a.Countries) == 0 || len(a.Countries) > maxCountries {
			return invalid(r, "a multilateral agreement names the other parties (countries)")
		}
	default:
		return invalid(r, "kind is bilateral or multilateral")
	}
	seen := map[string]bool{}
	for _, c := range a.Countries {
		if err := country(r, "each of countries", c); err != nil {
			return err
		}
		if c == HomeCountry || seen[c] {
			return invalid(r, "countries names each other party once, never MA")
		}
		seen[c] = true
	}
	if len(a.Lists) > maxLists {
		return invalid(r, "an agreement points to at most %d trusted lists", maxLists)
	}
	for i, l := range a.Lists {
		if err := webURL(r, "lists location", l.Location, true); err != nil {
			return err
		}
		if !seen[l.Territory] {
			return invalid(r, "list %d: territory is one of the agreement's countries", i+1)
		}
		if err := text(r, "lists operator_name", l.OperatorName, false, maxName); err != nil {
			return err
		}
		if len(l.Certificates) == 0 || len(l.Certificates) > maxCertificates {
			return invalid(r, "list %d: 1 to %d certificates that may sign it", i+1, maxCertificates)
		}
		for j, der := range l.Certificates {
			if _, err := x509.ParseCertificate(der); err != nil || len(der) > maxCertBytes {
				return invalid(r, "list %d: certificate %d is not a DER X.509 certificate", i+1, j+1)
			}
		}
	}
	return nil
}
