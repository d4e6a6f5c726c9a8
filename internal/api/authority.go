package api

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/tawthiq/tawthiq/client"
	"github.com/tawthiq/tawthiq/internal/access"
	"github.com/tawthiq/tawthiq/internal/authority"
	"github.com/tawthiq/tawthiq/internal/errkind"
	"github.com/tawthiq/tawthiq/internal/law"
)

// Authority keeps the national authority's register (L-15, L-13, L-21-3-6, L-22);
// satisfied by *authority.Service. The service validates; the API only converts.
type Authority interface {
	RegisterCSP(ctx context.Context, actor string, c authority.CSP) (*authority.CSP, error)
	UpdateCSP(ctx context.Context, actor, id string, c authority.CSP) (*authority.CSP, error)
	CSPs(ctx context.Context) ([]authority.CSP, error)
	Dossier(ctx context.Context, cspID string) (*authority.Dossier, error)
	AddService(ctx context.Context, actor string, s authority.TrustService, grant authority.StatusChange) (*authority.TrustService, error)
	TrustService(ctx context.Context, id string) (*authority.TrustService, error)
	ChangeStatus(ctx context.Context, actor, serviceID string, c authority.StatusChange) (*authority.TrustService, error)
	StatusAt(ctx context.Context, serviceID string, t time.Time) (authority.StatusChange, error)
	RecordInsurance(ctx context.Context, actor string, i authority.Insurance) (*authority.Insurance, error)
	LapsingInsurance(ctx context.Context) ([]authority.InsuranceWarning, error)
	RecordAudit(ctx context.Context, actor string, a authority.Audit) (*authority.Audit, error)
	RecordSanction(ctx context.Context, actor string, s authority.Sanction) (*authority.Sanction, error)
	RecordCrypto(ctx context.Context, actor string, d authority.CryptoDeclaration) (*authority.CryptoDeclaration, error)
	RecordAgreement(ctx context.Context, actor string, a authority.Agreement) (*authority.Agreement, error)
	Agreements(ctx context.Context) ([]authority.Agreement, error)
	Snapshot(ctx context.Context) (authority.Register, error)
	Export(ctx context.Context, year int) ([]byte, error)
}

var _ Authority = (*authority.Service)(nil)

const authorityName = "the authority's register"

func (s *server) authorityCSPs(w http.ResponseWriter, r *http.Request, _ *access.User) error {
	if s.Authority == nil {
		return notWired(authorityName)
	}
	cs, err := s.Authority.CSPs(r.Context())
	if err != nil {
		return err
	}
	out := client.CSPList{CSPs: make([]client.CSP, 0, len(cs))}
	for _, c := range cs {
		out.CSPs = append(out.CSPs, wireCSP(c))
	}
	return writeJSON(w, http.StatusOK, out)
}

func (s *server) authorityRegisterCSP(w http.ResponseWriter, r *http.Request, u *access.User) error {
	var in client.CSPRequest
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	if s.Authority == nil {
		return notWired(authorityName)
	}
	c, err := s.Authority.RegisterCSP(r.Context(), u.ID, cspFromWire(in))
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/authority/csps/"+url.PathEscape(c.ID))
	return writeJSON(w, http.StatusCreated, wireCSP(*c))
}

func (s *server) authorityUpdateCSP(w http.ResponseWriter, r *http.Request, u *access.User) error {
	var in client.CSPRequest
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	if s.Authority == nil {
		return notWired(authorityName)
	}
	c, err := s.Authority.UpdateCSP(r.Context(), u.ID, r.PathValue("id"), cspFromWire(in))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, wireCSP(*c))
}

func (s *server) authorityDossier(w http.ResponseWriter, r *http.Request, _ *access.User) error {
	if s.Authority == nil {
		return notWired(authorityName)
	}
	d, err := s.Authority.Dossier(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, wireDossier(*d))
}

func (s *server) authorityAddService(w http.ResponseWriter, r *http.Request, u *access.User) error {
	var in client.ServiceRequest
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	if s.Authority == nil {
		return notWired(authorityName)
	}
	svc := authority.TrustService{CSPID: in.CSPID, Type: in.Type, Name: in.Name, Certificates: in.Certificates}
	for _, q := range in.Qualifiers {
		svc.Qualifiers = append(svc.Qualifiers, authority.Qualifier(q))
	}
	got, err := s.Authority.AddService(r.Context(), u.ID, svc, statusFromWire(in.Grant))
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/authority/services/"+url.PathEscape(got.ID))
	return writeJSON(w, http.StatusCreated, wireService(*got))
}

func (s *server) authorityService(w http.ResponseWriter, r *http.Request, _ *access.User) error {
	if s.Authority == nil {
		return notWired(authorityName)
	}
	svc, err := s.Authority.TrustService(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, wireService(*svc))
}

func (s *server) authorityChangeStatus(w http.ResponseWriter, r *http.Request, u *access.User) error {
	var in client.StatusRequest
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	if s.Authority == nil {
		return notWired(authorityName)
	}
	svc, err := s.Authority.ChangeStatus(r.Context(), u.ID, r.PathValue("id"), statusFromWire(in))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, wireService(*svc))
}

// authorityStatusAt answers from the history which status was in force at a time (L-20).
func (s *server) authorityStatusAt(w http.ResponseWriter, r *http.Request, _ *access.User) error {
	at := s.Clock.Now()
	if v := r.URL.Query().Get("at"); v != "" {
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			return errkind.New(errkind.Invalid, law.L20, "at is an RFC 3339 time, e.g. 2025-06-01T09:00:00Z")
		}
		at = t
	}
	if s.Authority == nil {
		return notWired(authorityName)
	}
	id := r.PathValue("id")
	c, err := s.Authority.StatusAt(r.Context(), id, at)
	if err != nil {
		return err
	}
	out := client.ServiceStatus{ServiceID: id, At: client.Timestamp{Time: law.Timestamp(at)}, Status: string(c.Status)}
	if c.Status != "" {
		wc := wireStatus(c)
		out.Change = &wc
	}
	return writeJSON(w, http.StatusOK, out)
}

func (s *server) authorityInsurance(w http.ResponseWriter, r *http.Request, u *access.User) error {
	var in client.InsuranceRequest
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	if s.Authority == nil {
		return notWired(authorityName)
	}
	i, err := s.Authority.RecordInsurance(r.Context(), u.ID, authority.Insurance{CSPID: in.CSPID, Insurer: in.Insurer,
		Policy: in.Policy, CoverMAD: in.CoverMAD, ValidFrom: in.ValidFrom, ValidUntil: in.ValidUntil})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, wireInsurance(*i))
}

func (s *server) authorityWarnings(w http.ResponseWriter, r *http.Request, _ *access.User) error {
	if s.Authority == nil {
		return notWired(authorityName)
	}
	ws, err := s.Authority.LapsingInsurance(r.Context())
	if err != nil {
		return err
	}
	out := client.InsuranceWarnings{NoticeDays: authority.InsuranceNoticeDays, Warnings: make([]client.InsuranceWarning, 0, len(ws))}
	for _, x := range ws {
		cw := client.InsuranceWarning{CSPID: x.CSPID, CSPName: x.CSPName, Kind: string(x.Kind)}
		if !x.LapsesAt.IsZero() {
			cw.LapsesAt = &client.Timestamp{Time: x.LapsesAt}
		}
		out.Warnings = append(out.Warnings, cw)
	}
	return writeJSON(w, http.StatusOK, out)
}

func (s *server) authorityAudit(w http.ResponseWriter, r *http.Request, u *access.User) error {
	var in client.AuditRequest
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	if s.Authority == nil {
		return notWired(authorityName)
	}
	a := authority.Audit{CSPID: in.CSPID, ServiceID: in.ServiceID, Kind: authority.AuditKind(in.Kind), Auditor: in.Auditor,
		Date: in.Date, ReportRef: in.ReportRef, Outcome: authority.Outcome(in.Outcome)}
	for _, f := range in.Findings {
		a.Findings = append(a.Findings, authority.Finding{Severity: authority.Severity(f.Severity), Text: f.Text})
	}
	got, err := s.Authority.RecordAudit(r.Context(), u.ID, a)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, wireAudit(*got))
}

func (s *server) authoritySanction(w http.ResponseWriter, r *http.Request, u *access.User) error {
	var in client.SanctionRequest
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	if s.Authority == nil {
		return notWired(authorityName)
	}
	got, err := s.Authority.RecordSanction(r.Context(), u.ID, authority.Sanction{CSPID: in.CSPID, ServiceID: in.ServiceID,
		Kind: authority.SanctionKind(in.Kind), Decision: in.Decision, DecidedAt: in.DecidedAt, AmountMAD: in.AmountMAD, Note: in.Note})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, wireSanction(*got))
}

func (s *server) authorityCrypto(w http.ResponseWriter, r *http.Request, u *access.User) error {
	var in client.CryptoRequest
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	if s.Authority == nil {
		return notWired(authorityName)
	}
	d := authority.CryptoDeclaration{CSPID: in.CSPID, Kind: authority.CryptoKind(in.Kind), Purpose: authority.CryptoPurpose(in.Purpose),
		Means: in.Means, Reference: in.Reference, DecidedAt: in.DecidedAt}
	if in.ValidUntil != nil {
		d.ValidUntil = *in.ValidUntil
	}
	got, err := s.Authority.RecordCrypto(r.Context(), u.ID, d)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, wireCrypto(*got))
}

func (s *server) authorityAgreement(w http.ResponseWriter, r *http.Request, u *access.User) error {
	var in client.AgreementRequest
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	if s.Authority == nil {
		return notWired(authorityName)
	}
	a := authority.Agreement{Reference: in.Reference, Kind: authority.AgreementKind(in.Kind), Title: in.Title,
		SignedAt: in.SignedAt, Countries: in.Countries}
	for _, l := range in.Lists {
		a.Lists = append(a.Lists, authority.TrustedListPointer{Location: l.Location, Territory: l.Territory,
			OperatorName: l.OperatorName, Certificates: l.Certificates})
	}
	got, err := s.Authority.RecordAgreement(r.Context(), u.ID, a)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, wireAgreement(*got))
}

func (s *server) authorityAgreements(w http.ResponseWriter, r *http.Request, _ *access.User) error {
	if s.Authority == nil {
		return notWired(authorityName)
	}
	as, err := s.Authority.Agreements(r.Context())
	if err != nil {
		return err
	}
	out := client.AgreementList{Agreements: make([]client.Agreement, 0, len(as))}
	for _, a := range as {
		out.Agreements = append(out.Agreements, wireAgreement(a))
	}
	return writeJSON(w, http.StatusOK, out)
}

func (s *server) authorityRegister(w http.ResponseWriter, r *http.Request, _ *access.User) error {
	if s.Authority == nil {
		return notWired(authorityName)
	}
	reg, err := s.Authority.Snapshot(r.Context())
	if err != nil {
		return err
	}
	out := client.Register{At: client.Timestamp{Time: reg.At}, CSPs: make([]client.RegisteredCSP, 0, len(reg.CSPs)),
		Agreements: make([]client.Agreement, 0, len(reg.Agreements))}
	for _, c := range reg.CSPs {
		rc := client.RegisteredCSP{CSP: wireCSP(c.CSP), Services: make([]client.TrustService, 0, len(c.Services))}
		for _, svc := range c.Services {
			rc.Services = append(rc.Services, wireService(svc))
		}
		out.CSPs = append(out.CSPs, rc)
	}
	for _, a := range reg.Agreements {
		out.Agreements = append(out.Agreements, wireAgreement(a))
	}
	return writeJSON(w, http.StatusOK, out)
}

// authorityExport serves the yearly register as the service publishes it (L-15).
func (s *server) authorityExport(w http.ResponseWriter, r *http.Request, _ *access.User) error {
	v := r.PathValue("year")
	year, err := strconv.Atoi(v)
	if err != nil || len(v) != 4 {
		return errkind.New(errkind.Invalid, law.L15, "the year is four digits, e.g. 2025")
	}
	if s.Authority == nil {
		return notWired(authorityName)
	}
	b, err := s.Authority.Export(r.Context(), year)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Disposition", `attachment; filename="register-`+v+`.json"`)
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
	return nil
}

func cspFromWire(in client.CSPRequest) authority.CSP {
	return authority.CSP{Name: in.Name, Country: in.Country, IDKind: authority.IDKind(in.IDKind), IDNumber: in.IDNumber,
		Seat: in.Seat, InformationURI: in.InformationURI, AgreementID: in.AgreementID}
}

func statusFromWire(in client.StatusRequest) authority.StatusChange {
	return authority.StatusChange{Status: authority.Status(in.Status), From: in.From, Decision: in.Decision, Note: in.Note}
}

func wireCSP(c authority.CSP) client.CSP {
	return client.CSP{ID: c.ID, Version: c.Version, RecordedAt: client.Timestamp{Time: c.RecordedAt},
		CSPRequest: client.CSPRequest{Name: c.Name, Country: c.Country, IDKind: string(c.IDKind), IDNumber: c.IDNumber,
			Seat: c.Seat, InformationURI: c.InformationURI, AgreementID: c.AgreementID}}
}

func wireStatus(c authority.StatusChange) client.StatusChange {
	return client.StatusChange{Seq: c.Seq, Status: string(c.Status), From: client.Timestamp{Time: c.From},
		Decision: c.Decision, Note: c.Note, RecordedAt: client.Timestamp{Time: c.RecordedAt}}
}

func wireService(s authority.TrustService) client.TrustService {
	out := client.TrustService{ID: s.ID, CSPID: s.CSPID, Type: s.Type, Name: s.Name, Certificates: s.Certificates,
		RecordedAt: client.Timestamp{Time: s.RecordedAt}, Status: string(s.Current().Status),
		History: make([]client.StatusChange, 0, len(s.History))}
	for _, q := range s.Qualifiers {
		out.Qualifiers = append(out.Qualifiers, string(q))
	}
	for _, c := range s.History {
		out.History = append(out.History, wireStatus(c))
	}
	return out
}

func wireInsurance(i authority.Insurance) client.Insurance {
	return client.Insurance{ID: i.ID, RecordedAt: client.Timestamp{Time: i.RecordedAt},
		InsuranceRequest: client.InsuranceRequest{CSPID: i.CSPID, Insurer: i.Insurer, Policy: i.Policy, CoverMAD: i.CoverMAD,
			ValidFrom: i.ValidFrom, ValidUntil: i.ValidUntil}}
}

func wireAudit(a authority.Audit) client.Audit {
	out := client.Audit{ID: a.ID, RecordedAt: client.Timestamp{Time: a.RecordedAt},
		AuditRequest: client.AuditRequest{CSPID: a.CSPID, ServiceID: a.ServiceID, Kind: string(a.Kind), Auditor: a.Auditor,
			Date: a.Date, ReportRef: a.ReportRef, Outcome: string(a.Outcome)}}
	for _, f := range a.Findings {
		out.Findings = append(out.Findings, client.Finding{Severity: string(f.Severity), Text: f.Text})
	}
	return out
}

func wireSanction(s authority.Sanction) client.Sanction {
	return client.Sanction{ID: s.ID, RecordedAt: client.Timestamp{Time: s.RecordedAt},
		SanctionRequest: client.SanctionRequest{CSPID: s.CSPID, ServiceID: s.ServiceID, Kind: string(s.Kind), Decision: s.Decision,
			DecidedAt: s.DecidedAt, AmountMAD: s.AmountMAD, Note: s.Note}}
}

func wireCrypto(d authority.CryptoDeclaration) client.CryptoDeclaration {
	out := client.CryptoDeclaration{ID: d.ID, RecordedAt: client.Timestamp{Time: d.RecordedAt},
		CryptoRequest: client.CryptoRequest{CSPID: d.CSPID, Kind: string(d.Kind), Purpose: string(d.Purpose), Means: d.Means,
			Reference: d.Reference, DecidedAt: d.DecidedAt}}
	if !d.ValidUntil.IsZero() {
		until := d.ValidUntil
		out.ValidUntil = &until
	}
	return out
}

func wireAgreement(a authority.Agreement) client.Agreement {
	out := client.Agreement{ID: a.ID, RecordedAt: client.Timestamp{Time: a.RecordedAt},
		AgreementRequest: client.AgreementRequest{Reference: a.Reference, Kind: string(a.Kind), Title: a.Title,
			SignedAt: a.SignedAt, Countries: a.Countries}}
	for _, l := range a.Lists {
		out.Lists = append(out.Lists, client.TrustedListPointer{Location: l.Location, Territory: l.Territory,
			OperatorName: l.OperatorName, Certificates: l.Certificates})
	}
	return out
}

func wireDossier(d authority.Dossier) client.Dossier {
	out := client.Dossier{CSP: wireCSP(d.CSP), Services: []client.TrustService{}, Insurances: []client.Insurance{},
		Audits: []client.Audit{}, Sanctions: []client.Sanction{}, Crypto: []client.CryptoDeclaration{}}
	for _, v := range d.Versions {
		out.Versions = append(out.Versions, wireCSP(v))
	}
	for _, x := range d.Services {
		out.Services = append(out.Services, wireService(x))
	}
	for _, x := range d.Insurances {
		out.Insurances = append(out.Insurances, wireInsurance(x))
	}
	for _, x := range d.Audits {
		out.Audits = append(out.Audits, wireAudit(x))
	}
	for _, x := range d.Sanctions {
		out.Sanctions = append(out.Sanctions, wireSanction(x))
	}
	for _, x := range d.Crypto {
		out.Crypto = append(out.Crypto, wireCrypto(x))
	}
	return out
}
