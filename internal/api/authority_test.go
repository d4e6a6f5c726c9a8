package api

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tawthiq/tawthiq/client"
	"github.com/tawthiq/tawthiq/internal/access"
	"github.com/tawthiq/tawthiq/internal/authority"
	"github.com/tawthiq/tawthiq/internal/errkind"
	"github.com/tawthiq/tawthiq/internal/law"
)

var authorityT0 = time.Date(2025, 3, 10, 9, 0, 0, 0, time.UTC)

// fakeAuthority answers every call with fixed records and remembers what it was
// given; the register's own rules are tested in internal/authority.
type fakeAuthority struct {
	actor   string
	service authority.TrustService // the last service given
	status  authority.StatusChange
	refuse  error // returned by writes when set
}

func (f *fakeAuthority) csp() authority.CSP {
	return authority.CSP{ID: "csp_1", Version: 1, Name: "Barid eSign", Country: "MA", IDKind: authority.IDKindICE,
		IDNumber: "001234567000089", Seat: "Rabat", RecordedAt: authorityT0}
}

func (f *fakeAuthority) svc() authority.TrustService {
	return authority.TrustService{ID: "svc_1", CSPID: "csp_1", Type: authority.TypeCAQC, Name: "CA",
		Qualifiers: []authority.Qualifier{authority.QualifiesESig}, Certificates: [][]byte{{0x30, 0x03}}, RecordedAt: authorityT0,
		History: []authority.StatusChange{{Seq: 1, Status: authority.StatusGranted, From: authorityT0, Decision: "D1", RecordedAt: authorityT0}}}
}

func (f *fakeAuthority) RegisterCSP(_ context.Context, actor string, c authority.CSP) (*authority.CSP, error) {
	if f.refuse != nil {
		return nil, f.refuse
	}
	f.actor = actor
	out := f.csp()
	return &out, nil
}

func (f *fakeAuthority) UpdateCSP(_ context.Context, actor, id string, c authority.CSP) (*authority.CSP, error) {
	return f.RegisterCSP(context.Background(), actor, c)
}

func (f *fakeAuthority) CSPs(context.Context) ([]authority.CSP, error) {
	return []authority.CSP{f.csp()}, nil
}

func (f *fakeAuthority) Dossier(_ context.Context, id string) (*authority.Dossier, error) {
	if id != "csp_1" {
		return nil, errkind.New(errkind.NotFound, law.L15, "no CSP %q in the register", id)
	}
	return &authority.Dossier{CSP: f.csp(), Services: []authority.TrustService{f.svc()}}, nil
}

func (f *fakeAuthority) AddService(_ context.Context, actor string, s authority.TrustService, grant authority.StatusChange) (*authority.TrustService, error) {
	if f.refuse != nil {
		return nil, f.refuse
	}
	f.actor, f.service, f.status = actor, s, grant
	out := f.svc()
	return &out, nil
}

func (f *fakeAuthority) TrustService(context.Context, string) (*authority.TrustService, error) {
	out := f.svc()
	return &out, nil
}

func (f *fakeAuthority) ChangeStatus(_ context.Context, actor, _ string, c authority.StatusChange) (*authority.TrustService, error) {
	if f.refuse != nil {
		return nil, f.refuse
	}
	f.actor, f.status = actor, c
	out := f.svc()
	return &out, nil
}

func (f *fakeAuthority) StatusAt(_ context.Context, _ string, t time.Time) (authority.StatusChange, error) {
	return f.svc().StatusAt(t), nil
}

func (f *fakeAuthority) RecordInsurance(_ context.Context, actor string, i authority.Insurance) (*authority.Insurance, error) {
	f.actor, i.ID = actor, "ins_1"
	return &i, f.refuse
}

func (f *fakeAuthority) LapsingInsurance(context.Context) ([]authority.InsuranceWarning, error) {
	return []authority.InsuranceWarning{{CSPID: "csp_1", CSPName: "Barid eSign", Kind: authority.WarningUninsured}}, nil
}

func (f *fakeAuthority) RecordAudit(_ context.Context, actor string, a authority.Audit) (*authority.Audit, error) {
	f.actor, a.ID = actor, "aud_1"
	return &a, f.refuse
}

func (f *fakeAuthority) RecordSanction(_ context.Context, actor string, s authority.Sanction) (*authority.Sanction, error) {
	f.actor, s.ID = actor, "snc_1"
	return &s, f.refuse
}

func (f *fakeAuthority) RecordCrypto(_ context.Context, actor string, d authority.CryptoDeclaration) (*authority.CryptoDeclaration, error) {
	f.actor, d.ID = actor, "cry_1"
	return &d, f.refuse
}

func (f *fakeAuthority) RecordAgreement(_ context.Context, actor string, a authority.Agreement) (*authority.Agreement, error) {
	f.actor, a.ID = actor, "agr_1"
	return &a, f.refuse
}

func (f *fakeAuthority) Agreements(context.Context) ([]authority.Agreement, error) { return nil, nil }

func (f *fakeAuthority) Snapshot(context.Context) (authority.Register, error) {
	return authority.Register{At: authorityT0, CSPs: []authority.RegisteredCSP{{CSP: f.csp(), Services: []authority.TrustService{f.svc()}}}}, nil
}

// Export answers with a fully populated register in the service's own JSON form.
func (f *fakeAuthority) Export(_ context.Context, year int) ([]byte, error) {
	if year > 2025 {
		return nil, errkind.New(errkind.Invalid, law.L15, "the register of %d is published once the year has ended", year)
	}
	asOf := time.Date(year, 12, 31, 23, 59, 59, 999e6, time.UTC)
	doc := authority.YearlyRegister{Year: year, AsOf: asOf, GeneratedAt: asOf.AddDate(0, 0, 5),
		CSPs: []authority.YearlyCSP{{Dossier: authority.Dossier{CSP: f.csp(), Versions: []authority.CSP{f.csp()},
			Services:   []authority.TrustService{f.svc()},
			Insurances: []authority.Insurance{{ID: "ins_1", CSPID: "csp_1", Insurer: "W", Policy: "P", CoverMAD: 1, ValidFrom: authorityT0, ValidUntil: asOf}},
			Audits: []authority.Audit{{ID: "aud_1", CSPID: "csp_1", ServiceID: "svc_1", Kind: authority.AuditPeriodic, Auditor: "L", Date: authorityT0,
				ReportRef: "R", Outcome: authority.OutcomePassWithFindings, Findings: []authority.Finding{{Severity: authority.SeverityMinor, Text: "x"}}}},
			Sanctions: []authority.Sanction{{ID: "snc_1", CSPID: "csp_1", ServiceID: "svc_1", Kind: authority.SanctionFine, Decision: "D",
				DecidedAt: authorityT0, AmountMAD: 10, Note: "n"}},
			Crypto: []authority.CryptoDeclaration{{ID: "cry_1", CSPID: "csp_1", Kind: authority.CryptoAuthorised,
				Purpose: authority.PurposeConfidentiality, Means: "M", Reference: "R", DecidedAt: authorityT0, ValidUntil: asOf}}},
			StatusAtEnd: map[string]authority.Status{"svc_1": authority.StatusGranted}}},
		Agreements: []authority.Agreement{{ID: "agr_1", Reference: "R", Kind: authority.Bilateral, Title: "T", SignedAt: authorityT0,
			Countries: []string{"TN"}, Lists: []authority.TrustedListPointer{{Location: "https://tl.example.tn/", Territory: "TN",
				OperatorName: "O", Certificates: [][]byte{{1}}}}}},
		Changes: []authority.Change{{At: authorityT0, What: string(authority.ActionServiceAdd), CSPID: "csp_1", ServiceID: "svc_1",
			RecordID: "r", Summary: "s"}},
	}
	return json.MarshalIndent(doc, "", "  ")
}

func authorityBodies() map[string]string {
	cert := `"MAM="` // base64 of 30 03
	return map[string]string{
		"/api/v1/authority/csps":      `{"name":"Barid eSign","country":"MA","id_kind":"ice","id_number":"001234567000089","seat":"Rabat"}`,
		"/api/v1/authority/csps/{id}": `{"name":"Barid eSign SA","country":"MA","id_kind":"ice","id_number":"001234567000089","seat":"Rabat"}`,
		"/api/v1/authority/services": `{"csp_id":"csp_1","type":"http://uri.etsi.org/TrstSvc/Svctype/CA/QC","name":"CA","qualifiers":["esig"],
			"certificates":[` + cert + `],"grant":{"status":"granted","from":"2025-03-10T09:00:00Z","decision":"D1"}}`,
		"/api/v1/authority/services/{id}/status": `{"status":"withdrawn","from":"2025-06-01T00:00:00Z","decision":"D2","note":"audit failed"}`,
		"/api/v1/authority/insurances": `{"csp_id":"csp_1","insurer":"Wafa","policy":"P1","cover_mad":5000000,
			"valid_from":"2025-01-01T00:00:00Z","valid_until":"2026-01-01T00:00:00Z"}`,
		"/api/v1/authority/audits": `{"csp_id":"csp_1","kind":"periodic","auditor":"LabCert","date":"2025-05-01T00:00:00Z",
			"report_ref":"R1","outcome":"pass-with-findings","findings":[{"severity":"minor","text":"CPS out of date"}]}`,
		"/api/v1/authority/sanctions": `{"csp_id":"csp_1","kind":"fine","decision":"D3","decided_at":"2025-05-02T00:00:00Z","amount_mad":100000}`,
		"/api/v1/authority/crypto-declarations": `{"csp_id":"csp_1","kind":"declaration","purpose":"authentication-integrity",
			"means":"ECDSA P-384","reference":"DEC-1","decided_at":"2025-01-02T00:00:00Z"}`,
		"/api/v1/authority/agreements": `{"reference":"MA-TN/2024/7","kind":"bilateral","signed_at":"2024-01-01T00:00:00Z","countries":["TN"],
			"lists":[{"location":"https://tl.example.tn/tsl.xml","territory":"TN","certificates":[` + cert + `]}]}`,
	}
}

// TestAuthorityRoles_L15: the authority's administrators write the register, its
// auditors read it, and no one else does either.
func TestAuthorityRoles_L15(t *testing.T) {
	bodies := authorityBodies()
	for _, rt := range newServer(Deps{}).routes() {
		if !strings.HasPrefix(rt.Pattern, "/api/v1/authority/") {
			continue
		}
		path := strings.NewReplacer("{id}", "x", "{year}", "2025").Replace(rt.Pattern)
		if strings.HasPrefix(rt.Pattern, "/api/v1/authority/csps/{id}") && rt.Method == "GET" {
			path = "/api/v1/authority/csps/csp_1"
		}
		write := rt.Method != "GET"
		for _, role := range []access.Role{access.RoleAdmin, access.RoleAuditor, access.RoleRAOfficer, access.RoleHolder} {
			t.Run(rt.Method+" "+rt.Pattern+" as "+string(role), func(t *testing.T) {
				f := &fakeAuthority{}
				h, _ := testHandler(t, Deps{Authority: f})
				var body *strings.Reader
				ct := ""
				if write {
					body, ct = strings.NewReader(bodies[rt.Pattern]), "application/json"
				} else {
					body = strings.NewReader("")
				}
				w := do(h, rt.Method, path, tokenFor(role), ct, body)
				allowed := role == access.RoleAdmin || (role == access.RoleAuditor && !write)
				if !allowed {
					if w.Code != http.StatusForbidden {
						t.Fatalf("status %d, want 403: %s", w.Code, w.Body)
					}
					readProblem(t, w)
					return
				}
				want := http.StatusOK
				if write && rt.Method == "POST" {
					want = http.StatusCreated
				}
				if w.Code != want {
					t.Fatalf("status %d, want %d: %s", w.Code, want, w.Body)
				}
				if write && f.actor != testUsers[tokenFor(role)].ID {
					t.Errorf("actor %q", f.actor)
				}
			})
		}
	}
}

// TestAuthorityBadInput: bad bodies and parameters, and the service's refusals,
// come back as problems naming the rule.
func TestAuthorityBadInput(t *testing.T) {
	admin := tokenFor(access.RoleAdmin)
	tests := []struct {
		name, method, path, body string
		refuse                   error
		status                   int
		rule                     string
	}{
		{"unknown field", "POST", "/api/v1/authority/csps", `{"name":"x","ice":"1"}`, nil, 400, ""},
		{"certificate not base64", "POST", "/api/v1/authority/services",
			`{"csp_id":"csp_1","type":"t","name":"n","certificates":["%%%"],"grant":{"status":"granted","from":"2025-01-01T00:00:00Z","decision":"d"}}`, nil, 400, ""},
		{"date not RFC 3339", "POST", "/api/v1/authority/services/svc_1/status",
			`{"status":"withdrawn","from":"01/06/2025","decision":"d"}`, nil, 400, ""},
		{"refused by the register", "POST", "/api/v1/authority/services", authorityBodies()["/api/v1/authority/services"],
			errkind.New(errkind.Invalid, law.L20, "certificate 1 of a CA/QC is a CA certificate that signs certificates"), 400, "L-20"},
		{"history conflict", "POST", "/api/v1/authority/services/svc_1/status", authorityBodies()["/api/v1/authority/services/{id}/status"],
			errkind.New(errkind.Conflict, law.L15, "a withdrawn service can only be granted again by a new decision"), 409, "L-15"},
		{"year not four digits", "GET", "/api/v1/authority/register/25", "", nil, 400, "L-15"},
		{"year not ended", "GET", "/api/v1/authority/register/2999", "", nil, 400, "L-15"},
		{"status at a bad time", "GET", "/api/v1/authority/services/svc_1/status?at=yesterday", "", nil, 400, "L-20"},
		{"unknown CSP", "GET", "/api/v1/authority/csps/csp_none", "", nil, 404, "L-15"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h, _ := testHandler(t, Deps{Authority: &fakeAuthority{refuse: tc.refuse}})
			ct := ""
			if tc.body != "" {
				ct = "application/json"
			}
			w := do(h, tc.method, tc.path, admin, ct, strings.NewReader(tc.body))
			if w.Code != tc.status {
				t.Fatalf("status %d, want %d: %s", w.Code, tc.status, w.Body)
			}
			if p := readProblem(t, w); p.Rule != tc.rule {
				t.Fatalf("rule %q, want %q (%+v)", p.Rule, tc.rule, p)
			}
		})
	}
	t.Run("not wired", func(t *testing.T) {
		h, _ := testHandler(t, Deps{})
		w := do(h, "GET", "/api/v1/authority/csps", admin, "", nil)
		if w.Code != http.StatusServiceUnavailable {
			t.Fatalf("status %d", w.Code)
		}
		readProblem(t, w)
	})
}

// TestAuthorityWire: what an admin sends reaches the register as sent, and the
// answers, the yearly register included, are the client's wire types exactly.
func TestAuthorityWire(t *testing.T) {
	f := &fakeAuthority{}
	h, _ := testHandler(t, Deps{Authority: f})
	admin := tokenFor(access.RoleAdmin)
	w := do(h, "POST", "/api/v1/authority/services", admin, "application/json",
		strings.NewReader(authorityBodies()["/api/v1/authority/services"]))
	if w.Code != http.StatusCreated || w.Header().Get("Location") != "/api/v1/authority/services/svc_1" {
		t.Fatalf("status %d, location %q: %s", w.Code, w.Header().Get("Location"), w.Body)
	}
	if f.service.Type != authority.TypeCAQC || len(f.service.Qualifiers) != 1 || !bytes.Equal(f.service.Certificates[0], []byte{0x30, 0x03}) ||
		f.status.Status != authority.StatusGranted || !f.status.From.Equal(authorityT0) || f.status.Decision != "D1" {
		t.Fatalf("the register got %+v, %+v", f.service, f.status)
	}
	svc := strictDecode[client.TrustService](t, w.Body.Bytes())
	if svc.Status != "granted" || len(svc.History) != 1 || svc.History[0].Decision != "D1" {
		t.Fatalf("answer %+v", svc)
	}

	w = do(h, "GET", "/api/v1/authority/services/svc_1/status?at=2025-03-10T08:59:59Z", tokenFor(access.RoleAuditor), "", nil)
	st := strictDecode[client.ServiceStatus](t, w.Body.Bytes())
	if st.Status != "" || st.Change != nil {
		t.Fatalf("before the grant: %+v", st)
	}
	w = do(h, "GET", "/api/v1/authority/services/svc_1/status?at=2025-03-10T09:00:00Z", tokenFor(access.RoleAuditor), "", nil)
	if st = strictDecode[client.ServiceStatus](t, w.Body.Bytes()); st.Status != "granted" || st.Change.Decision != "D1" {
		t.Fatalf("at the grant: %+v", st)
	}

	w = do(h, "GET", "/api/v1/authority/register/2025", tokenFor(access.RoleAuditor), "", nil)
	if w.Code != http.StatusOK || w.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("export: %d %s", w.Code, w.Body)
	}
	y := strictDecode[client.YearlyRegister](t, w.Body.Bytes())
	if y.Year != 2025 || len(y.CSPs) != 1 || y.CSPs[0].StatusAtEnd["svc_1"] != "granted" || len(y.CSPs[0].Audits[0].Findings) != 1 ||
		y.CSPs[0].Crypto[0].ValidUntil == nil || len(y.Agreements[0].Lists) != 1 || len(y.Changes) != 1 {
		t.Fatalf("yearly register %+v", y)
	}

	for _, p := range []string{"/api/v1/authority/register", "/api/v1/authority/csps/csp_1", "/api/v1/authority/insurance-warnings"} {
		w = do(h, "GET", p, tokenFor(access.RoleAuditor), "", nil)
		if w.Code != http.StatusOK {
			t.Fatalf("%s: %d %s", p, w.Code, w.Body)
		}
	}
	ws := strictDecode[client.InsuranceWarnings](t, w.Body.Bytes())
	if ws.NoticeDays != authority.InsuranceNoticeDays || len(ws.Warnings) != 1 || ws.Warnings[0].LapsesAt != nil {
		t.Fatalf("warnings %+v", ws)
	}
}

// strictDecode decodes b into T, refusing any field T does not have.
func strictDecode[T any](t *testing.T, b []byte) T {
	t.Helper()
	var v T
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("decode %T: %v\n%s", v, err, b)
	}
	return v
}
