package authority_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"math/big"
	"path/filepath"
	"testing"
	"time"

	"github.com/tawthiq/tawthiq/internal/auditlog"
	"github.com/tawthiq/tawthiq/internal/authority"
	"github.com/tawthiq/tawthiq/internal/clock"
	"github.com/tawthiq/tawthiq/internal/errkind"
	"github.com/tawthiq/tawthiq/internal/law"
	"github.com/tawthiq/tawthiq/internal/store"
)

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func wantErr(t *testing.T, err error, k errkind.Kind, rule law.ID) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want %s (%s)", k, rule)
	}
	e := errkind.As(err)
	if e.Kind != k || e.Rule != rule {
		t.Fatalf("got %v (kind %s, rule %q), want kind %s rule %q", err, e.Kind, e.Rule, k, rule)
	}
}

// certificate returns a self-signed DER certificate for key: a CA's, a TSA's or a plain one.
func certificate(t *testing.T, key *ecdsa.PrivateKey, kind string) []byte {
	t.Helper()
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: kind, Country: []string{"MA"}},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().AddDate(5, 0, 0)}
	switch kind {
	case "ca":
		tmpl.BasicConstraintsValid, tmpl.IsCA, tmpl.KeyUsage = true, true, x509.KeyUsageCertSign|x509.KeyUsageCRLSign
	case "tsa":
		tmpl.KeyUsage, tmpl.ExtKeyUsage = x509.KeyUsageDigitalSignature, []x509.ExtKeyUsage{x509.ExtKeyUsageTimeStamping}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	must(t, err)
	return der
}

func newKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	must(t, err)
	return k
}

type fixture struct {
	db  *store.DB
	clk *clock.Fake
	reg *authority.Service
	ca  []byte
	tsa []byte
}

func newFixture(t *testing.T, at time.Time) *fixture {
	t.Helper()
	clk := clock.NewFake(at)
	db, err := store.Open(t.Context(), filepath.Join(t.TempDir(), "tawthiq.db"), clk)
	must(t, err)
	t.Cleanup(func() { db.Close() })
	return &fixture{db: db, clk: clk, reg: authority.New(db, clk),
		ca: certificate(t, newKey(t), "ca"), tsa: certificate(t, newKey(t), "tsa")}
}

func moroccanCSP(name string) authority.CSP {
	return authority.CSP{Name: name, Country: "MA", IDKind: authority.IDKindICE, IDNumber: "001234567000089",
		Seat: "12 avenue Mohammed V, Rabat", InformationURI: "https://csp.example.ma/"}
}

func (f *fixture) csp(t *testing.T, name string) *authority.CSP {
	t.Helper()
	c, err := f.reg.RegisterCSP(t.Context(), "usr_admin", moroccanCSP(name))
	must(t, err)
	return c
}

func (f *fixture) caService(cspID string) authority.TrustService {
	return authority.TrustService{CSPID: cspID, Type: authority.TypeCAQC, Name: "Qualified signature CA",
		Qualifiers: []authority.Qualifier{authority.QualifiesESig}, Certificates: [][]byte{f.ca}}
}

func grant(from time.Time, decision string) authority.StatusChange {
	return authority.StatusChange{Status: authority.StatusGranted, From: from, Decision: decision}
}

func change(s authority.Status, from time.Time, decision string) authority.StatusChange {
	return authority.StatusChange{Status: s, From: from, Decision: decision}
}

var t0 = time.Date(2025, 3, 10, 9, 0, 0, 0, time.UTC)

// TestStatusHistory_L15: the history only grows forward in time, each change
// follows from the one in force, and withdrawn is left only by a new grant.
func TestStatusHistory_L15(t *testing.T) {
	ctx := t.Context()
	f := newFixture(t, t0)
	c := f.csp(t, "Barid eSign")
	svc, err := f.reg.AddService(ctx, "usr_admin", f.caService(c.ID), grant(t0, "DGSSI/2025/001"))
	must(t, err)
	day := 24 * time.Hour
	steps := []struct {
		name string
		c    authority.StatusChange
		kind errkind.Kind // 0: accepted
	}{
		{"suspend", change(authority.StatusSuspended, t0.Add(10*day), "DGSSI/2025/010"), 0},
		{"earlier than the one in force", change(authority.StatusGranted, t0.Add(9*day), "DGSSI/2025/011"), errkind.Conflict},
		{"same status again", change(authority.StatusSuspended, t0.Add(11*day), "DGSSI/2025/012"), errkind.Conflict},
		{"lift the suspension", change(authority.StatusGranted, t0.Add(20*day), "DGSSI/2025/020"), 0},
		{"withdraw", change(authority.StatusWithdrawn, t0.Add(30*day), "DGSSI/2025/030"), 0},
		{"suspend after withdrawal", change(authority.StatusSuspended, t0.Add(31*day), "DGSSI/2025/031"), errkind.Conflict},
		{"no decision", change(authority.StatusGranted, t0.Add(32*day), ""), errkind.Invalid},
		{"unknown status", change("revoked", t0.Add(32*day), "DGSSI/2025/032"), errkind.Invalid},
		{"granted again by a new decision", change(authority.StatusGranted, t0.Add(40*day), "DGSSI/2025/040"), 0},
	}
	for _, st := range steps {
		got, err := f.reg.ChangeStatus(ctx, "usr_admin", svc.ID, st.c)
		if st.kind != 0 {
			wantErr(t, err, st.kind, law.L15)
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if cur := got.Current(); cur.Status != st.c.Status || !cur.From.Equal(st.c.From) {
			t.Fatalf("%s: current %+v", st.name, cur)
		}
	}
	read, err := f.reg.TrustService(ctx, svc.ID)
	must(t, err)
	want := []authority.Status{authority.StatusGranted, authority.StatusSuspended, authority.StatusGranted,
		authority.StatusWithdrawn, authority.StatusGranted}
	if len(read.History) != len(want) {
		t.Fatalf("history %+v", read.History)
	}
	for i, c := range read.History {
		if c.Seq != i+1 || c.Status != want[i] || (i > 0 && c.From.Before(read.History[i-1].From)) {
			t.Fatalf("history[%d] = %+v", i, c)
		}
	}
	// A service enters the register granted.
	_, err = f.reg.AddService(ctx, "usr_admin", f.caService(c.ID), change(authority.StatusSuspended, t0, "DGSSI/2025/050"))
	wantErr(t, err, errkind.Invalid, law.L15)
	_, err = f.reg.ChangeStatus(ctx, "usr_admin", "svc_none", change(authority.StatusWithdrawn, t0, "x"))
	wantErr(t, err, errkind.NotFound, law.L15)
}

// TestStatusAt_L20: the status at a time comes from the history, before and after
// a withdrawal, including one decided later but in force from an earlier day.
func TestStatusAt_L20(t *testing.T) {
	ctx := t.Context()
	f := newFixture(t, t0)
	c := f.csp(t, "Barid eSign")
	svc, err := f.reg.AddService(ctx, "usr_admin", f.caService(c.ID), grant(t0, "DGSSI/2025/001"))
	must(t, err)
	withdrawn := t0.AddDate(0, 6, 0)
	f.clk.Set(withdrawn.AddDate(0, 0, 5)) // recorded five days after it took effect
	_, err = f.reg.ChangeStatus(ctx, "usr_admin", svc.ID, change(authority.StatusWithdrawn, withdrawn, "DGSSI/2025/099"))
	must(t, err)
	tests := []struct {
		name string
		at   time.Time
		want authority.Status
	}{
		{"before the grant", t0.Add(-time.Millisecond), ""},
		{"at the grant", t0, authority.StatusGranted},
		{"before the withdrawal", withdrawn.Add(-time.Millisecond), authority.StatusGranted},
		{"at the withdrawal", withdrawn, authority.StatusWithdrawn},
		{"after the withdrawal", withdrawn.AddDate(1, 0, 0), authority.StatusWithdrawn},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := f.reg.StatusAt(ctx, svc.ID, tc.at)
			must(t, err)
			if got.Status != tc.want || got.Status.Approved() != (tc.want == authority.StatusGranted) {
				t.Fatalf("StatusAt(%s) = %q, want %q", tc.at, got.Status, tc.want)
			}
		})
	}
	if got, _ := f.reg.StatusAt(ctx, svc.ID, withdrawn); got.Decision != "DGSSI/2025/099" {
		t.Fatalf("the decision in force is %q", got.Decision)
	}
}

// TestValidationNamesRule: every refusal names the rule it enforces.
func TestValidationNamesRule(t *testing.T) {
	ctx := t.Context()
	f := newFixture(t, t0)
	c := f.csp(t, "Barid eSign")
	other := f.csp(t, "Other CSP")
	svc, err := f.reg.AddService(ctx, "usr_admin", f.caService(c.ID), grant(t0, "DGSSI/2025/001"))
	must(t, err)
	plain := certificate(t, newKey(t), "plain")
	tests := []struct {
		name string
		call func() error
		kind errkind.Kind
		rule law.ID
	}{
		{"CSP without name", func() error {
			x := moroccanCSP("")
			_, err := f.reg.RegisterCSP(ctx, "a", x)
			return err
		}, errkind.Invalid, law.L15},
		{"ICE not 15 digits", func() error {
			x := moroccanCSP("X")
			x.IDNumber = "12345"
			_, err := f.reg.RegisterCSP(ctx, "a", x)
			return err
		}, errkind.Invalid, law.L11},
		{"country not alpha-2", func() error {
			x := moroccanCSP("X")
			x.Country = "Morocco"
			_, err := f.reg.RegisterCSP(ctx, "a", x)
			return err
		}, errkind.Invalid, law.L15},
		{"update of an unknown CSP", func() error {
			_, err := f.reg.UpdateCSP(ctx, "a", "csp_none", moroccanCSP("X"))
			return err
		}, errkind.NotFound, law.L15},
		{"service of an unknown type", func() error {
			s := f.caService(c.ID)
			s.Type = "http://uri.etsi.org/TrstSvc/Svctype/unknown"
			_, err := f.reg.AddService(ctx, "a", s, grant(t0, "d"))
			return err
		}, errkind.Invalid, law.L15},
		{"CA/QC without qualifier", func() error {
			s := f.caService(c.ID)
			s.Qualifiers = nil
			_, err := f.reg.AddService(ctx, "a", s, grant(t0, "d"))
			return err
		}, errkind.Invalid, law.L20},
		{"CA/QC with an end-entity certificate", func() error {
			s := f.caService(c.ID)
			s.Certificates = [][]byte{plain}
			_, err := f.reg.AddService(ctx, "a", s, grant(t0, "d"))
			return err
		}, errkind.Invalid, law.L20},
		{"TSA/QTST without timeStamping", func() error {
			s := authority.TrustService{CSPID: c.ID, Type: authority.TypeTSAQTST, Name: "TSA", Certificates: [][]byte{f.ca}}
			_, err := f.reg.AddService(ctx, "a", s, grant(t0, "d"))
			return err
		}, errkind.Invalid, law.L20},
		{"certificates of two keys", func() error {
			s := f.caService(c.ID)
			s.Certificates = [][]byte{f.ca, certificate(t, newKey(t), "ca")}
			_, err := f.reg.AddService(ctx, "a", s, grant(t0, "d"))
			return err
		}, errkind.Invalid, law.L20},
		{"not DER", func() error {
			s := f.caService(c.ID)
			s.Certificates = [][]byte{[]byte("junk")}
			_, err := f.reg.AddService(ctx, "a", s, grant(t0, "d"))
			return err
		}, errkind.Invalid, law.L20},
		{"service of an unknown CSP", func() error {
			_, err := f.reg.AddService(ctx, "a", f.caService("csp_none"), grant(t0, "d"))
			return err
		}, errkind.Invalid, law.L15},
		{"insurance without cover", func() error {
			_, err := f.reg.RecordInsurance(ctx, "a", authority.Insurance{CSPID: c.ID, Insurer: "Wafa", Policy: "P1",
				ValidFrom: t0, ValidUntil: t0.AddDate(1, 0, 0)})
			return err
		}, errkind.Invalid, law.L21_3_6},
		{"insurance ending before it starts", func() error {
			_, err := f.reg.RecordInsurance(ctx, "a", authority.Insurance{CSPID: c.ID, Insurer: "Wafa", Policy: "P1",
				CoverMAD: 1, ValidFrom: t0, ValidUntil: t0})
			return err
		}, errkind.Invalid, law.L21_3_6},
		{"audit with a bad severity", func() error {
			_, err := f.reg.RecordAudit(ctx, "a", authority.Audit{CSPID: c.ID, Kind: authority.AuditPeriodic, Auditor: "LabCert",
				Date: t0, ReportRef: "R1", Outcome: authority.OutcomeFail, Findings: []authority.Finding{{Severity: "grave", Text: "x"}}})
			return err
		}, errkind.Invalid, law.L15},
		{"audit passing with a major finding", func() error {
			_, err := f.reg.RecordAudit(ctx, "a", authority.Audit{CSPID: c.ID, Kind: authority.AuditPeriodic, Auditor: "LabCert",
				Date: t0, ReportRef: "R1", Outcome: authority.OutcomePass,
				Findings: []authority.Finding{{Severity: authority.SeverityMajor, Text: "keys outside the HSM"}}})
			return err
		}, errkind.Invalid, law.L15},
		{"audit of another CSP's service", func() error {
			_, err := f.reg.RecordAudit(ctx, "a", authority.Audit{CSPID: other.ID, ServiceID: svc.ID, Kind: authority.AuditAdHoc,
				Auditor: "LabCert", Date: t0, ReportRef: "R2", Outcome: authority.OutcomePass})
			return err
		}, errkind.Invalid, law.L15},
		{"fine without amount", func() error {
			_, err := f.reg.RecordSanction(ctx, "a", authority.Sanction{CSPID: c.ID, Kind: authority.SanctionFine,
				Decision: "D1", DecidedAt: t0})
			return err
		}, errkind.Invalid, law.L15},
		{"suspension without service", func() error {
			_, err := f.reg.RecordSanction(ctx, "a", authority.Sanction{CSPID: c.ID, Kind: authority.SanctionSuspension,
				Decision: "D1", DecidedAt: t0})
			return err
		}, errkind.Invalid, law.L15},
		{"confidentiality merely declared", func() error {
			_, err := f.reg.RecordCrypto(ctx, "a", authority.CryptoDeclaration{CSPID: c.ID, Kind: authority.CryptoDeclared,
				Purpose: authority.PurposeConfidentiality, Means: "AES-256-GCM", Reference: "DEC-1", DecidedAt: t0})
			return err
		}, errkind.Invalid, law.L13},
		{"bilateral agreement with two States", func() error {
			_, err := f.reg.RecordAgreement(ctx, "a", authority.Agreement{Reference: "A1", Kind: authority.Bilateral,
				SignedAt: t0, Countries: []string{"FR", "TN"}})
			return err
		}, errkind.Invalid, law.L22},
		{"agreement naming Morocco as the other party", func() error {
			_, err := f.reg.RecordAgreement(ctx, "a", authority.Agreement{Reference: "A1", Kind: authority.Bilateral,
				SignedAt: t0, Countries: []string{"MA"}})
			return err
		}, errkind.Invalid, law.L22},
		{"list of a territory outside the agreement", func() error {
			_, err := f.reg.RecordAgreement(ctx, "a", authority.Agreement{Reference: "A1", Kind: authority.Bilateral,
				SignedAt: t0, Countries: []string{"TN"}, Lists: []authority.TrustedListPointer{
					{Location: "https://tl.example.fr/tl.xml", Territory: "FR", Certificates: [][]byte{plain}}}})
			return err
		}, errkind.Invalid, law.L22},
		{"list without signing certificate", func() error {
			_, err := f.reg.RecordAgreement(ctx, "a", authority.Agreement{Reference: "A1", Kind: authority.Bilateral,
				SignedAt: t0, Countries: []string{"TN"}, Lists: []authority.TrustedListPointer{
					{Location: "https://tl.example.tn/tl.xml", Territory: "TN"}}})
			return err
		}, errkind.Invalid, law.L22},
		{"list at a non-web location", func() error {
			_, err := f.reg.RecordAgreement(ctx, "a", authority.Agreement{Reference: "A1", Kind: authority.Bilateral,
				SignedAt: t0, Countries: []string{"TN"}, Lists: []authority.TrustedListPointer{
					{Location: "file:///etc/passwd", Territory: "TN", Certificates: [][]byte{plain}}}})
			return err
		}, errkind.Invalid, law.L22},
		{"export of a year not ended", func() error {
			_, err := f.reg.Export(ctx, t0.Year())
			return err
		}, errkind.Invalid, law.L15},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { wantErr(t, tc.call(), tc.kind, tc.rule) })
	}
}

// TestForeignCSP_L22: a CSP established abroad is registered only under a
// recognition agreement that binds its State.
func TestForeignCSP_L22(t *testing.T) {
	ctx := t.Context()
	f := newFixture(t, t0)
	signer := certificate(t, newKey(t), "plain")
	agr, err := f.reg.RecordAgreement(ctx, "usr_admin", authority.Agreement{Reference: "MA-TN/2024/7", Kind: authority.Bilateral,
		Title: "Reconnaissance mutuelle", SignedAt: t0.AddDate(-1, 0, 0), Countries: []string{"TN"},
		Lists: []authority.TrustedListPointer{{Location: "https://tl.example.tn/tsl.xml", Territory: "TN",
			OperatorName: "ANCE", Certificates: [][]byte{signer}}}})
	must(t, err)
	foreign := authority.CSP{Name: "TunTrust", Country: "TN", IDKind: authority.IDKindForeign, IDNumber: "RNE-1234567A",
		Seat: "Tunis"}
	_, err = f.reg.RegisterCSP(ctx, "usr_admin", foreign)
	wantErr(t, err, errkind.Invalid, law.L22)
	foreign.AgreementID = "agr_none"
	_, err = f.reg.RegisterCSP(ctx, "usr_admin", foreign)
	wantErr(t, err, errkind.Invalid, law.L22)
	french := foreign
	french.Country, french.AgreementID = "FR", agr.ID
	_, err = f.reg.RegisterCSP(ctx, "usr_admin", french)
	wantErr(t, err, errkind.Invalid, law.L22)
	foreign.AgreementID = agr.ID
	c, err := f.reg.RegisterCSP(ctx, "usr_admin", foreign)
	must(t, err)
	if c.AgreementID != agr.ID || c.Version != 1 {
		t.Fatalf("registered %+v", c)
	}
	// A Moroccan CSP is not approved under an agreement.
	home := moroccanCSP("Home")
	home.AgreementID = agr.ID
	_, err = f.reg.RegisterCSP(ctx, "usr_admin", home)
	wantErr(t, err, errkind.Invalid, law.L22)
}

// TestInsuranceWarnings_L21_3_6: a granted CSP whose continuous cover ends within
// the notice period, or that has none, is named; chained policies count as one cover.
func TestInsuranceWarnings_L21_3_6(t *testing.T) {
	ctx := t.Context()
	f := newFixture(t, t0)
	ins := func(cspID, policy string, from, until time.Time) {
		t.Helper()
		_, err := f.reg.RecordInsurance(ctx, "usr_admin", authority.Insurance{CSPID: cspID, Insurer: "Wafa Assurance",
			Policy: policy, CoverMAD: 5_000_000, ValidFrom: from, ValidUntil: until})
		must(t, err)
	}
	granted := func(name string) *authority.CSP {
		t.Helper()
		c := f.csp(t, name)
		_, err := f.reg.AddService(ctx, "usr_admin", f.caService(c.ID), grant(t0, "D-"+name))
		must(t, err)
		return c
	}
	day := 24 * time.Hour
	lapsing := granted("A lapsing")
	ins(lapsing.ID, "P-A", t0.AddDate(-1, 0, 0), t0.Add(30*day))
	chained := granted("B chained")
	ins(chained.ID, "P-B1", t0.AddDate(-1, 0, 0), t0.Add(30*day))
	ins(chained.ID, "P-B2", t0.Add(30*day), t0.AddDate(1, 0, 0))
	far := granted("C far")
	ins(far.ID, "P-C", t0.AddDate(-1, 0, 0), t0.Add((authority.InsuranceNoticeDays+1)*day))
	uninsured := granted("D uninsured")
	ins(uninsured.ID, "P-D", t0.AddDate(-2, 0, 0), t0.AddDate(-1, 0, 0))
	_ = f.csp(t, "E not granted") // no service: nothing to warn of

	ws, err := f.reg.LapsingInsurance(ctx)
	must(t, err)
	if len(ws) != 2 {
		t.Fatalf("warnings %+v", ws)
	}
	if ws[0].CSPID != uninsured.ID || ws[0].Kind != authority.WarningUninsured || !ws[0].LapsesAt.Equal(t0.AddDate(-1, 0, 0)) {
		t.Errorf("first warning %+v", ws[0])
	}
	if ws[1].CSPID != lapsing.ID || ws[1].Kind != authority.WarningLapsing || !ws[1].LapsesAt.Equal(t0.Add(30*day)) {
		t.Errorf("second warning %+v", ws[1])
	}
	// Once the far one is inside the notice period, it is named too.
	f.clk.Advance(2 * day)
	ws, err = f.reg.LapsingInsurance(ctx)
	must(t, err)
	if len(ws) != 3 || ws[2].CSPID != far.ID {
		t.Fatalf("warnings two days later %+v", ws)
	}
}

// TestYearlyExport_L15: the register of a year is what had been recorded by its
// end, with each service's status then and every change recorded during the year.
func TestYearlyExport_L15(t *testing.T) {
	ctx := t.Context()
	f := newFixture(t, t0)
	c := f.csp(t, "Barid eSign")
	svc, err := f.reg.AddService(ctx, "usr_admin", f.caService(c.ID), grant(t0, "DGSSI/2025/001"))
	must(t, err)
	_, err = f.reg.RecordInsurance(ctx, "usr_admin", authority.Insurance{CSPID: c.ID, Insurer: "Wafa", Policy: "P1",
		CoverMAD: 1_000_000, ValidFrom: t0, ValidUntil: t0.AddDate(1, 0, 0)})
	must(t, err)
	f.clk.Set(time.Date(2025, 6, 1, 8, 0, 0, 0, time.UTC))
	_, err = f.reg.ChangeStatus(ctx, "usr_admin", svc.ID, change(authority.StatusSuspended, f.clk.Now(), "DGSSI/2025/050"))
	must(t, err)
	// In 2026: a new name, and a withdrawal decided in force from 20 December 2025.
	f.clk.Set(time.Date(2026, 2, 3, 8, 0, 0, 0, time.UTC))
	renamed := moroccanCSP("Barid Al-Maghrib eSign")
	_, err = f.reg.UpdateCSP(ctx, "usr_admin", c.ID, renamed)
	must(t, err)
	withdrawnFrom := time.Date(2025, 12, 20, 0, 0, 0, 0, time.UTC)
	_, err = f.reg.ChangeStatus(ctx, "usr_admin", svc.ID, change(authority.StatusWithdrawn, withdrawnFrom, "DGSSI/2026/003"))
	must(t, err)
	f.clk.Set(time.Date(2027, 1, 5, 0, 0, 0, 0, time.UTC))

	y25 := export(t, f, 2025)
	if !y25.AsOf.Equal(time.Date(2025, 12, 31, 23, 59, 59, 999e6, time.UTC)) || len(y25.CSPs) != 1 {
		t.Fatalf("2025: as of %s, %d CSPs", y25.AsOf, len(y25.CSPs))
	}
	d := y25.CSPs[0]
	if d.CSP.Name != "Barid eSign" || d.CSP.Version != 1 || len(d.Versions) != 0 {
		t.Errorf("2025 CSP %+v (versions %d)", d.CSP, len(d.Versions))
	}
	if d.StatusAtEnd[svc.ID] != authority.StatusSuspended || len(d.Services[0].History) != 2 || len(d.Insurances) != 1 {
		t.Errorf("2025 status %q, history %+v", d.StatusAtEnd[svc.ID], d.Services[0].History)
	}
	wantWhat := []string{"authority.csp.register", "authority.service.add", "authority.service.status",
		"authority.insurance.record", "authority.service.status"}
	if len(y25.Changes) != len(wantWhat) {
		t.Fatalf("2025 changes %+v", y25.Changes)
	}
	for i, ch := range y25.Changes {
		if ch.What != wantWhat[i] || ch.At.Year() != 2025 || ch.CSPID != c.ID {
			t.Errorf("2025 change %d: %+v, want %s", i, ch, wantWhat[i])
		}
	}

	y26 := export(t, f, 2026)
	d = y26.CSPs[0]
	if d.CSP.Name != "Barid Al-Maghrib eSign" || d.CSP.Version != 2 || len(d.Versions) != 1 || d.Versions[0].Name != "Barid eSign" {
		t.Errorf("2026 CSP %+v, versions %+v", d.CSP, d.Versions)
	}
	if d.StatusAtEnd[svc.ID] != authority.StatusWithdrawn || len(y26.Changes) != 2 {
		t.Errorf("2026 status %q, changes %+v", d.StatusAtEnd[svc.ID], y26.Changes)
	}
	// The later decision reaches back in StatusAt, which serves validation at signing time.
	at, err := f.reg.StatusAt(ctx, svc.ID, withdrawnFrom.AddDate(0, 0, 1))
	must(t, err)
	if at.Status != authority.StatusWithdrawn {
		t.Errorf("StatusAt after the backdated withdrawal: %q", at.Status)
	}
	// A year before any record is an empty register.
	if y := export(t, f, 2024); len(y.CSPs) != 0 || len(y.Changes) != 0 {
		t.Errorf("2024: %+v", y)
	}
}

func export(t *testing.T, f *fixture, year int) authority.YearlyRegister {
	t.Helper()
	b, err := f.reg.Export(t.Context(), year)
	must(t, err)
	var y authority.YearlyRegister
	must(t, json.Unmarshal(b, &y))
	if y.Year != year {
		t.Fatalf("year %d", y.Year)
	}
	return y
}

// TestSnapshotAndAudit_L15: the snapshot holds what the trusted list needs, and
// every change is in the audit log.
func TestSnapshotAndAudit_L15(t *testing.T) {
	ctx := t.Context()
	f := newFixture(t, t0)
	size0, err := f.db.AuditSize(ctx)
	must(t, err)
	signer := certificate(t, newKey(t), "plain")
	agr, err := f.reg.RecordAgreement(ctx, "usr_admin", authority.Agreement{Reference: "EU-MA/2026/1", Kind: authority.Multilateral,
		SignedAt: t0, Countries: []string{"FR", "ES"}, Lists: []authority.TrustedListPointer{
			{Location: "https://tl.example.fr/tl-fr.xml", Territory: "FR", Certificates: [][]byte{signer, signer}},
			{Location: "https://tl.example.es/tl-es.xml", Territory: "ES", Certificates: [][]byte{signer}}}})
	must(t, err)
	c := f.csp(t, "Barid eSign")
	_, err = f.reg.UpdateCSP(ctx, "usr_admin", c.ID, moroccanCSP("Barid eSign SA"))
	must(t, err)
	ca, err := f.reg.AddService(ctx, "usr_admin", f.caService(c.ID), grant(t0, "D1"))
	must(t, err)
	tsa, err := f.reg.AddService(ctx, "usr_admin", authority.TrustService{CSPID: c.ID, Type: authority.TypeTSAQTST,
		Name: "Qualified TSA", Certificates: [][]byte{f.tsa}}, grant(t0, "D2"))
	must(t, err)
	_, err = f.reg.ChangeStatus(ctx, "usr_admin", tsa.ID, change(authority.StatusSuspended, t0.Add(time.Hour), "D3"))
	must(t, err)
	_, err = f.reg.RecordAudit(ctx, "usr_admin", authority.Audit{CSPID: c.ID, ServiceID: ca.ID, Kind: authority.AuditApproval,
		Auditor: "LabCert", Date: t0, ReportRef: "R-1", Outcome: authority.OutcomePassWithFindings,
		Findings: []authority.Finding{{Severity: authority.SeverityMinor, Text: "CPS out of date"}, {Severity: authority.SeverityObservation, Text: "ok"}}})
	must(t, err)
	_, err = f.reg.RecordSanction(ctx, "usr_admin", authority.Sanction{CSPID: c.ID, ServiceID: tsa.ID, Kind: authority.SanctionSuspension,
		Decision: "D3", DecidedAt: t0})
	must(t, err)
	_, err = f.reg.RecordCrypto(ctx, "usr_admin", authority.CryptoDeclaration{CSPID: c.ID, Kind: authority.CryptoAuthorised,
		Purpose: authority.PurposeConfidentiality, Means: "AES-256-GCM key escrow", Reference: "AUT-9", DecidedAt: t0,
		ValidUntil: t0.AddDate(5, 0, 0)})
	must(t, err)

	reg, err := f.reg.Snapshot(ctx)
	must(t, err)
	if len(reg.CSPs) != 1 || reg.CSPs[0].CSP.Name != "Barid eSign SA" || len(reg.CSPs[0].Services) != 2 {
		t.Fatalf("snapshot %+v", reg.CSPs)
	}
	got := reg.CSPs[0].Services[0]
	if got.ID != tsa.ID {
		got = reg.CSPs[0].Services[1]
	}
	if got.ID != tsa.ID || len(got.History) != 2 || got.Current().Status != authority.StatusSuspended ||
		string(got.Certificates[0]) != string(f.tsa) {
		t.Errorf("TSA in the snapshot %+v", got)
	}
	if len(reg.Agreements) != 1 || reg.Agreements[0].ID != agr.ID || len(reg.Agreements[0].Lists) != 2 ||
		len(reg.Agreements[0].Lists[0].Certificates) != 2 || reg.Agreements[0].Lists[1].Territory != "ES" {
		t.Errorf("agreements in the snapshot %+v", reg.Agreements)
	}
	dos, err := f.reg.Dossier(ctx, c.ID)
	must(t, err)
	if len(dos.Versions) != 1 || len(dos.Audits) != 1 || len(dos.Audits[0].Findings) != 2 || len(dos.Sanctions) != 1 ||
		len(dos.Crypto) != 1 || !dos.Crypto[0].ValidUntil.Equal(t0.AddDate(5, 0, 0)) {
		t.Errorf("dossier %+v", dos)
	}

	size, err := f.db.AuditSize(ctx)
	must(t, err)
	es, err := f.db.AuditEntries(ctx, size0, size)
	must(t, err)
	want := []auditlog.Action{authority.ActionAgreement, authority.ActionCSPRegister, authority.ActionCSPUpdate,
		authority.ActionServiceAdd, authority.ActionServiceAdd, authority.ActionServiceStatus, authority.ActionAudit,
		authority.ActionSanction, authority.ActionCrypto}
	if len(es) != len(want) {
		t.Fatalf("%d audit entries, want %d", len(es), len(want))
	}
	for i, e := range es {
		if e.Action != want[i] || e.Actor != "usr_admin" {
			t.Errorf("entry %d: %s by %s, want %s", i, e.Action, e.Actor, want[i])
		}
	}
}
