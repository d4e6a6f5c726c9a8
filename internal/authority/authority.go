package authority

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"time"

	"github.com/tawthiq/tawthiq/internal/auditlog"
	"github.com/tawthiq/tawthiq/internal/clock"
	"github.com/tawthiq/tawthiq/internal/errkind"
	"github.com/tawthiq/tawthiq/internal/law"
)

// The audit log's actions for the register's changes.
const (
	ActionCSPRegister   auditlog.Action = "authority.csp.register"
	ActionCSPUpdate     auditlog.Action = "authority.csp.update"
	ActionServiceAdd    auditlog.Action = "authority.service.add"
	ActionServiceStatus auditlog.Action = "authority.service.status"
	ActionInsurance     auditlog.Action = "authority.insurance.record"
	ActionAudit         auditlog.Action = "authority.audit.record"
	ActionSanction      auditlog.Action = "authority.sanction.record"
	ActionCrypto        auditlog.Action = "authority.crypto.record"
	ActionAgreement     auditlog.Action = "authority.agreement.record"
)

// InsuranceNoticeDays is how long before a CSP's cover ends the authority is warned (L-21-3-6).
const InsuranceNoticeDays = law.InsuranceWarningDays

// Store is what the register needs from the database. Each write records its
// audit entry in the same transaction.
type Store interface {
	// RecordCSP records a version of a CSP: version 1 registers it, version n+1
	// follows version n; a version already recorded is a Conflict.
	RecordCSP(ctx context.Context, c CSP, e auditlog.Entry) error
	// AddTrustService records a service and its first status change, History[0].
	AddTrustService(ctx context.Context, s TrustService, e auditlog.Entry) error
	// AppendStatus records c as the service's next status change; a Seq already
	// recorded (a concurrent change) is a Conflict.
	AppendStatus(ctx context.Context, serviceID string, c StatusChange, e auditlog.Entry) error
	RecordInsurance(ctx context.Context, i Insurance, e auditlog.Entry) error
	RecordAudit(ctx context.Context, a Audit, e auditlog.Entry) error
	RecordSanction(ctx context.Context, s Sanction, e auditlog.Entry) error
	RecordCrypto(ctx context.Context, d CryptoDeclaration, e auditlog.Entry) error
	RecordAgreement(ctx context.Context, a Agreement, e auditlog.Entry) error
	// AuthorityCSP returns the latest version of a CSP (NotFound if none).
	AuthorityCSP(ctx context.Context, id string) (CSP, error)
	// AuthorityService returns a service with its history, oldest first (NotFound if none).
	AuthorityService(ctx context.Context, id string) (TrustService, error)
	// AuthorityAgreement returns an agreement (NotFound if none).
	AuthorityAgreement(ctx context.Context, id string) (Agreement, error)
	// AuthorityRecords returns every record of the register.
	AuthorityRecords(ctx context.Context) (Records, error)
}

// Service keeps the register.
type Service struct {
	st  Store
	clk clock.Clock
}

// New returns the register over st.
func New(st Store, clk clock.Clock) *Service {
	return &Service{st: st, clk: clk}
}

func (s *Service) now() time.Time { return law.Timestamp(s.clk.Now()) }

// RegisterCSP records a new CSP (L-15); one established abroad names the
// recognition agreement with its State (L-22).
func (s *Service) RegisterCSP(ctx context.Context, actor string, c CSP) (*CSP, error) {
	c.ID, c.Version, c.RecordedAt = newID("csp"), 1, s.now()
	if err := s.checkCSP(ctx, c); err != nil {
		return nil, err
	}
	e := auditlog.NewEntry(c.RecordedAt, actor, ActionCSPRegister, c.ID, c)
	if err := s.st.RecordCSP(ctx, c, e); err != nil {
		return nil, err
	}
	return &c, nil
}

// UpdateCSP records c as the next version of CSP id; earlier versions are kept.
func (s *Service) UpdateCSP(ctx context.Context, actor, id string, c CSP) (*CSP, error) {
	cur, err := s.st.AuthorityCSP(ctx, id)
	if err != nil {
		return nil, notFound(err, law.L15, "no CSP %q in the register", id)
	}
	c.ID, c.Version, c.RecordedAt = cur.ID, cur.Version+1, s.now()
	if err := s.checkCSP(ctx, c); err != nil {
		return nil, err
	}
	e := auditlog.NewEntry(c.RecordedAt, actor, ActionCSPUpdate, c.ID, c)
	if err := s.st.RecordCSP(ctx, c, e); err != nil {
		return nil, err
	}
	return &c, nil
}

func (s *Service) checkCSP(ctx context.Context, c CSP) error {
	if err := checkCSP(c); err != nil {
		return err
	}
	if c.AgreementID == "" {
		return nil
	}
	a, err := s.st.AuthorityAgreement(ctx, c.AgreementID)
	if err != nil {
		return notFoundAs(err, errkind.Invalid, law.L22, "no recognition agreement %q in the register", c.AgreementID)
	}
	if !a.Covers(c.Country) {
		return invalid(law.L22, "agreement %s does not bind %s", a.Reference, c.Country)
	}
	return nil
}

// CSP returns a CSP's current record.
func (s *Service) CSP(ctx context.Context, id string) (*CSP, error) {
	c, err := s.st.AuthorityCSP(ctx, id)
	if err != nil {
		return nil, notFound(err, law.L15, "no CSP %q in the register", id)
	}
	return &c, nil
}

// CSPs returns every CSP's current record, by name.
func (s *Service) CSPs(ctx context.Context) ([]CSP, error) {
	rs, err := s.st.AuthorityRecords(ctx)
	if err != nil {
		return nil, err
	}
	return latestCSPs(rs.CSPs, time.Time{}), nil
}

// AddService records a CSP's trust service with the decision that grants it (L-15):
// a service enters the register granted.
func (s *Service) AddService(ctx context.Context, actor string, svc TrustService, grant StatusChange) (*TrustService, error) {
	if err := checkService(svc); err != nil {
		return nil, err
	}
	grant = normalStatus(grant)
	if err := checkStatus(nil, grant); err != nil {
		return nil, err
	}
	if _, err := s.st.AuthorityCSP(ctx, svc.CSPID); err != nil {
		return nil, notFoundAs(err, errkind.Invalid, law.L15, "no CSP %q in the register", svc.CSPID)
	}
	now := s.now()
	svc.ID, svc.RecordedAt = newID("svc"), now
	svc.Qualifiers = slices.Clone(svc.Qualifiers)
	slices.Sort(svc.Qualifiers)
	grant.Seq, grant.RecordedAt = 1, now
	svc.History = []StatusChange{grant}
	e := auditlog.NewEntry(now, actor, ActionServiceAdd, svc.ID, serviceRecord(svc))
	if err := s.st.AddTrustService(ctx, svc, e); err != nil {
		return nil, err
	}
	return &svc, nil
}

// ChangeStatus appends a status change to a service's history (L-15, L-20). The
// history is checked and extended as one step: a concurrent change is a Conflict.
func (s *Service) ChangeStatus(ctx context.Context, actor, serviceID string, c StatusChange) (*TrustService, error) {
	svc, err := s.st.AuthorityService(ctx, serviceID)
	if err != nil {
		return nil, notFound(err, law.L15, "no service %q in the register", serviceID)
	}
	c = normalStatus(c)
	if err := checkStatus(svc.History, c); err != nil {
		return nil, err
	}
	c.Seq, c.RecordedAt = len(svc.History)+1, s.now()
	e := auditlog.NewEntry(c.RecordedAt, actor, ActionServiceStatus, svc.ID, statusRecord{Service: svc.ID, CSP: svc.CSPID, StatusChange: c})
	if err := s.st.AppendStatus(ctx, svc.ID, c, e); err != nil {
		return nil, err
	}
	svc.History = append(svc.History, c)
	return &svc, nil
}

// TrustService returns a service with its status history.
func (s *Service) TrustService(ctx context.Context, id string) (*TrustService, error) {
	svc, err := s.st.AuthorityService(ctx, id)
	if err != nil {
		return nil, notFound(err, law.L15, "no service %q in the register", id)
	}
	return &svc, nil
}

// StatusAt returns the status change of a service in force at t, from its
// history (L-20): an empty Status when t is before the service was granted.
func (s *Service) StatusAt(ctx context.Context, serviceID string, t time.Time) (StatusChange, error) {
	svc, err := s.TrustService(ctx, serviceID)
	if err != nil {
		return StatusChange{}, err
	}
	return svc.StatusAt(t), nil
}

// RecordInsurance records a CSP's liability insurance policy (L-21-3-6).
func (s *Service) RecordInsurance(ctx context.Context, actor string, i Insurance) (*Insurance, error) {
	i.ValidFrom, i.ValidUntil = law.Timestamp(i.ValidFrom), law.Timestamp(i.ValidUntil)
	if err := checkInsurance(i); err != nil {
		return nil, err
	}
	if err := s.cspExists(ctx, law.L21_3_6, i.CSPID, ""); err != nil {
		return nil, err
	}
	i.ID, i.RecordedAt = newID("ins"), s.now()
	e := auditlog.NewEntry(i.RecordedAt, actor, ActionInsurance, i.CSPID, i)
	if err := s.st.RecordInsurance(ctx, i, e); err != nil {
		return nil, err
	}
	return &i, nil
}

// RecordAudit records an audit of a CSP and its findings (L-15).
func (s *Service) RecordAudit(ctx context.Context, actor string, a Audit) (*Audit, error) {
	a.Date = law.Timestamp(a.Date)
	if err := checkAudit(a); err != nil {
		return nil, err
	}
	if err := s.cspExists(ctx, law.L15, a.CSPID, a.ServiceID); err != nil {
		return nil, err
	}
	a.ID, a.RecordedAt = newID("aud"), s.now()
	e := auditlog.NewEntry(a.RecordedAt, actor, ActionAudit, a.CSPID, a)
	if err := s.st.RecordAudit(ctx, a, e); err != nil {
		return nil, err
	}
	return &a, nil
}

// RecordSanction records a sanction imposed on a CSP (L-15). A suspension or
// withdrawal takes effect in the register through ChangeStatus, under the same decision.
func (s *Service) RecordSanction(ctx context.Context, actor string, sn Sanction) (*Sanction, error) {
	sn.DecidedAt = law.Timestamp(sn.DecidedAt)
	if err := checkSanction(sn); err != nil {
		return nil, err
	}
	if err := s.cspExists(ctx, law.L15, sn.CSPID, sn.ServiceID); err != nil {
		return nil, err
	}
	sn.ID, sn.RecordedAt = newID("snc"), s.now()
	e := auditlog.NewEntry(sn.RecordedAt, actor, ActionSanction, sn.CSPID, sn)
	if err := s.st.RecordSanction(ctx, sn, e); err != nil {
		return nil, err
	}
	return &sn, nil
}

// RecordCrypto records the declaration or authorisation of a means of
// cryptography a CSP runs (L-13).
func (s *Service) RecordCrypto(ctx context.Context, actor string, d CryptoDeclaration) (*CryptoDeclaration, error) {
	d.DecidedAt, d.ValidUntil = law.Timestamp(d.DecidedAt), law.Timestamp(d.ValidUntil)
	if err := checkCrypto(d); err != nil {
		return nil, err
	}
	if err := s.cspExists(ctx, law.L13, d.CSPID, ""); err != nil {
		return nil, err
	}
	d.ID, d.RecordedAt = newID("cry"), s.now()
	e := auditlog.NewEntry(d.RecordedAt, actor, ActionCrypto, d.CSPID, d)
	if err := s.st.RecordCrypto(ctx, d, e); err != nil {
		return nil, err
	}
	return &d, nil
}

// RecordAgreement records a mutual-recognition agreement and the foreign trusted
// lists it makes the validator honour (L-22).
func (s *Service) RecordAgreement(ctx context.Context, actor string, a Agreement) (*Agreement, error) {
	a.SignedAt = law.Timestamp(a.SignedAt)
	if err := checkAgreement(a); err != nil {
		return nil, err
	}
	a.ID, a.RecordedAt = newID("agr"), s.now()
	e := auditlog.NewEntry(a.RecordedAt, actor, ActionAgreement, a.ID, agreementRecord(a))
	if err := s.st.RecordAgreement(ctx, a, e); err != nil {
		return nil, err
	}
	return &a, nil
}

// Agreements returns the recognition agreements, oldest first.
func (s *Service) Agreements(ctx context.Context) ([]Agreement, error) {
	rs, err := s.st.AuthorityRecords(ctx)
	if err != nil {
		return nil, err
	}
	return rs.Agreements, nil
}

// Dossier returns a CSP with every version of its record and everything recorded about it.
func (s *Service) Dossier(ctx context.Context, cspID string) (*Dossier, error) {
	rs, err := s.st.AuthorityRecords(ctx)
	if err != nil {
		return nil, err
	}
	ds := dossiers(rs, time.Time{})
	for i := range ds {
		if ds[i].CSP.ID == cspID {
			return &ds[i], nil
		}
	}
	return nil, errkind.New(errkind.NotFound, law.L15, "no CSP %q in the register", cspID)
}

// Snapshot returns the register as it stands: what the trusted list is built from.
func (s *Service) Snapshot(ctx context.Context) (Register, error) {
	rs, err := s.st.AuthorityRecords(ctx)
	if err != nil {
		return Register{}, err
	}
	reg := Register{At: s.now(), Agreements: rs.Agreements}
	if reg.Agreements == nil {
		reg.Agreements = []Agreement{}
	}
	reg.CSPs = []RegisteredCSP{}
	for _, d := range dossiers(rs, time.Time{}) {
		reg.CSPs = append(reg.CSPs, RegisteredCSP{CSP: d.CSP, Services: d.Services})
	}
	return reg, nil
}

// LapsingInsurance warns of each CSP with a service granted now whose continuous
// insurance cover ends within InsuranceNoticeDays, or has ended (L-21-3-6).
func (s *Service) LapsingInsurance(ctx context.Context) ([]InsuranceWarning, error) {
	rs, err := s.st.AuthorityRecords(ctx)
	if err != nil {
		return nil, err
	}
	now := s.now()
	horizon := now.AddDate(0, 0, InsuranceNoticeDays)
	out := []InsuranceWarning{}
	for _, d := range dossiers(rs, time.Time{}) {
		granted := slices.ContainsFunc(d.Services, func(t TrustService) bool { return t.StatusAt(now).Status.Approved() })
		if !granted {
			continue
		}
		end, covered := coverEnd(d.Insurances, now)
		switch {
		case !covered:
			out = append(out, InsuranceWarning{CSPID: d.CSP.ID, CSPName: d.CSP.Name, Kind: WarningUninsured, LapsesAt: end})
		case !end.After(horizon):
			out = append(out, InsuranceWarning{CSPID: d.CSP.ID, CSPName: d.CSP.Name, Kind: WarningLapsing, LapsesAt: end})
		}
	}
	slices.SortStableFunc(out, func(a, b InsuranceWarning) int { return a.LapsesAt.Compare(b.LapsesAt) })
	return out, nil
}

// coverEnd returns when the continuous cover in force at now ends, chaining
// policies that start before the previous one ends. Without cover at now, it
// returns when the last cover ended (zero if never) and false.
func coverEnd(ins []Insurance, now time.Time) (time.Time, bool) {
	end, covered := now, false
	for changed := true; changed; {
		changed = false
		for _, i := range ins {
			if !i.ValidFrom.After(end) && i.ValidUntil.After(end) {
				end, covered, changed = i.ValidUntil, true, true
			}
		}
	}
	if covered {
		return end, true
	}
	var last time.Time
	for _, i := range ins {
		if !i.ValidUntil.After(now) && i.ValidUntil.After(last) {
			last = i.ValidUntil
		}
	}
	return last, false
}

// cspExists checks that the CSP is in the register and, if serviceID is set,
// that the service is one of its own.
func (s *Service) cspExists(ctx context.Context, rule law.ID, cspID, serviceID string) error {
	if _, err := s.st.AuthorityCSP(ctx, cspID); err != nil {
		return notFoundAs(err, errkind.Invalid, rule, "no CSP %q in the register", cspID)
	}
	if serviceID == "" {
		return nil
	}
	svc, err := s.st.AuthorityService(ctx, serviceID)
	if err != nil {
		return notFoundAs(err, errkind.Invalid, rule, "no service %q in the register", serviceID)
	}
	if svc.CSPID != cspID {
		return invalid(rule, "service %s is not a service of CSP %s", serviceID, cspID)
	}
	return nil
}

func normalStatus(c StatusChange) StatusChange {
	c.From = law.Timestamp(c.From)
	return c
}

// notFound gives a store's NotFound the rule and words of the register; other errors pass.
func notFound(err error, rule law.ID, format string, args ...any) error {
	return notFoundAs(err, errkind.NotFound, rule, format, args...)
}

// notFoundAs turns a NotFound into kind k: a reference inside a request to a
// missing record is an invalid request, not a missing resource.
func notFoundAs(err error, k errkind.Kind, rule law.ID, format string, args ...any) error {
	if !errkind.Is(err, errkind.NotFound) {
		return err
	}
	e := errkind.New(k, rule, format, args...)
	e.Err = err
	return e
}

func newID(prefix string) string {
	b := make([]byte, 12)
	rand.Read(b) // never fails (crypto/rand, Go 1.24+)
	return prefix + "_" + hex.EncodeToString(b)
}

// The audit log keeps each record without its certificates' bytes: their SHA-256
// identifies them, and the rows keep the bytes.
type statusRecord struct {
	Service string `json:"service"`
	CSP     string `json:"csp"`
	StatusChange
}

type serviceEntry struct {
	ID                 string         `json:"id"`
	CSPID              string         `json:"csp_id"`
	Type               string         `json:"type"`
	Name               string         `json:"name"`
	Qualifiers         []Qualifier    `json:"qualifiers,omitempty"`
	CertificatesSHA256 []string       `json:"certificates_sha256"`
	History            []StatusChange `json:"history"`
}

func serviceRecord(s TrustService) serviceEntry {
	return serviceEntry{ID: s.ID, CSPID: s.CSPID, Type: s.Type, Name: s.Name, Qualifiers: s.Qualifiers,
		CertificatesSHA256: hashes(s.Certificates), History: s.History}
}

type pointerEntry struct {
	Location           string   `json:"location"`
	Territory          string   `json:"territory"`
	OperatorName       string   `json:"operator_name,omitempty"`
	CertificatesSHA256 []string `json:"certificates_sha256"`
}

type agreementEntry struct {
	ID        string         `json:"id"`
	Reference string         `json:"reference"`
	Kind      AgreementKind  `json:"kind"`
	Title     string         `json:"title,omitempty"`
	SignedAt  time.Time      `json:"signed_at"`
	Countries []string       `json:"countries"`
	Lists     []pointerEntry `json:"lists,omitempty"`
}

func agreementRecord(a Agreement) agreementEntry {
	out := agreementEntry{ID: a.ID, Reference: a.Reference, Kind: a.Kind, Title: a.Title, SignedAt: a.SignedAt, Countries: a.Countries}
	for _, l := range a.Lists {
		out.Lists = append(out.Lists, pointerEntry{Location: l.Location, Territory: l.Territory,
			OperatorName: l.OperatorName, CertificatesSHA256: hashes(l.Certificates)})
	}
	return out
}

func hashes(ders [][]byte) []string {
	out := make([]string, len(ders))
	for i, d := range ders {
		h := sha256.Sum256(d)
		out[i] = hex.EncodeToString(h[:])
	}
	return out
}
