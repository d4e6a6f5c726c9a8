package storetest

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/tawthiq/tawthiq/internal/authority"
	"github.com/tawthiq/tawthiq/internal/errkind"
	"github.com/tawthiq/tawthiq/internal/law"
	"github.com/tawthiq/tawthiq/internal/store"
)

func authorityCases() []testCase {
	return []testCase{
		{"TestAuthorityRecords_L15", testAuthorityRecords},
		{"TestAuthorityCSPVersions_L15", testAuthorityCSPVersions},
		{"TestAuthorityStatusFollows_L15", testAuthorityStatusFollows},
		{"TestAuthorityConcurrentStatus_L15", testAuthorityConcurrentStatus},
		{"TestAuthorityRecordsKept_L21_2", testAuthorityRecordsKept},
	}
}

func authCSP(id string, version int, at time.Time) authority.CSP {
	return authority.CSP{ID: id, Version: version, Name: fmt.Sprintf("CSP %s v%d", id, version), Country: "MA",
		IDKind: authority.IDKindICE, IDNumber: "001234567000089", Seat: "Rabat", InformationURI: "https://csp.example.ma/",
		RecordedAt: at}
}

func authService(id, cspID string, at time.Time) authority.TrustService {
	return authority.TrustService{ID: id, CSPID: cspID, Type: authority.TypeCAQC, Name: "CA " + id,
		Qualifiers:   []authority.Qualifier{authority.QualifiesESeal, authority.QualifiesESig},
		Certificates: [][]byte{[]byte("der-1-" + id), []byte("der-2-" + id)}, RecordedAt: at,
		History: []authority.StatusChange{{Seq: 1, Status: authority.StatusGranted, From: at, Decision: "D-" + id, RecordedAt: at}}}
}

func status(seq int, s authority.Status, from, at time.Time) authority.StatusChange {
	return authority.StatusChange{Seq: seq, Status: s, From: from, Decision: fmt.Sprintf("D-%d", seq), Note: "note", RecordedAt: at}
}

// seedAuthority records a CSP with one granted service.
func seedAuthority(t *testing.T, db *store.DB, at time.Time) (authority.CSP, authority.TrustService) {
	t.Helper()
	ctx := t.Context()
	c := authCSP("csp_1", 1, at)
	must(t, db.RecordCSP(ctx, c, entry(at, authority.ActionCSPRegister, c.ID)))
	s := authService("svc_1", c.ID, at)
	must(t, db.AddTrustService(ctx, s, entry(at, authority.ActionServiceAdd, s.ID)))
	return c, s
}

func testAuthorityRecords(t *testing.T, db *store.DB) {
	ctx := t.Context()
	at := now()
	agr := authority.Agreement{ID: "agr_1", Reference: "MA-TN/2024/7", Kind: authority.Multilateral, Title: "Recognition",
		SignedAt: at.AddDate(-1, 0, 0), Countries: []string{"FR", "TN"}, RecordedAt: at,
		Lists: []authority.TrustedListPointer{
			{Location: "https://tl.example.tn/tsl.xml", Territory: "TN", OperatorName: "ANCE", Certificates: [][]byte{[]byte("tn-1"), []byte("tn-2")}},
			{Location: "https://tl.example.fr/tsl.xml", Territory: "FR", Certificates: [][]byte{[]byte("fr-1")}}}}
	must(t, db.RecordAgreement(ctx, agr, entry(at, authority.ActionAgreement, agr.ID)))
	got, err := db.AuthorityAgreement(ctx, agr.ID)
	must(t, err)
	equal(t, "agreement", got, agr)
	// The reference is unique; a list's territory is one of the parties (L-22).
	dup := agr
	dup.ID = "agr_2"
	wantKind(t, db.RecordAgreement(ctx, dup, entry(at, authority.ActionAgreement, dup.ID)), errkind.Conflict, "")
	outside := agr
	outside.ID, outside.Reference = "agr_3", "other"
	outside.Lists = []authority.TrustedListPointer{{Location: "https://x.example/", Territory: "DE", Certificates: [][]byte{[]byte("x")}}}
	wantKind(t, db.RecordAgreement(ctx, outside, entry(at, authority.ActionAgreement, outside.ID)), errkind.Invalid, law.L22)
	_, err = db.AuthorityAgreement(ctx, "agr_3")
	wantKind(t, err, errkind.NotFound, "")

	c, s := seedAuthority(t, db, at)
	foreign := authority.CSP{ID: "csp_tn", Version: 1, Name: "TunTrust", Country: "TN", IDKind: authority.IDKindForeign,
		IDNumber: "RNE-1", Seat: "Tunis", AgreementID: agr.ID, RecordedAt: at}
	must(t, db.RecordCSP(ctx, foreign, entry(at, authority.ActionCSPRegister, foreign.ID)))
	// L-22: a CSP abroad without an agreement is refused by the database too.
	stray := foreign
	stray.ID, stray.AgreementID = "csp_stray", ""
	wantKind(t, db.RecordCSP(ctx, stray, entry(at, authority.ActionCSPRegister, stray.ID)), errkind.Invalid, "")

	gotSvc, err := db.AuthorityService(ctx, s.ID)
	must(t, err)
	equal(t, "service", gotSvc, s)
	_, err = db.AuthorityService(ctx, "svc_none")
	wantKind(t, err, errkind.NotFound, "")
	orphan := authService("svc_orphan", "csp_none", at)
	wantKind(t, db.AddTrustService(ctx, orphan, entry(at, authority.ActionServiceAdd, orphan.ID)), errkind.Invalid, "")

	ins := authority.Insurance{ID: "ins_1", CSPID: c.ID, Insurer: "Wafa", Policy: "P1", CoverMAD: 5_000_000,
		ValidFrom: at, ValidUntil: at.AddDate(1, 0, 0), RecordedAt: at}
	must(t, db.RecordInsurance(ctx, ins, entry(at, authority.ActionInsurance, c.ID)))
	badIns := ins
	badIns.ID, badIns.ValidUntil = "ins_2", at
	wantKind(t, db.RecordInsurance(ctx, badIns, entry(at, authority.ActionInsurance, c.ID)), errkind.Invalid, "")
	aud := authority.Audit{ID: "aud_1", CSPID: c.ID, ServiceID: s.ID, Kind: authority.AuditPeriodic, Auditor: "LabCert",
		Date: at, ReportRef: "R-1", Outcome: authority.OutcomePassWithFindings, RecordedAt: at,
		Findings: []authority.Finding{{Severity: authority.SeverityMinor, Text: "one"}, {Severity: authority.SeverityObservation, Text: "two"}}}
	must(t, db.RecordAudit(ctx, aud, entry(at, authority.ActionAudit, c.ID)))
	aud2 := authority.Audit{ID: "aud_2", CSPID: c.ID, Kind: authority.AuditAdHoc, Auditor: "LabCert", Date: at,
		ReportRef: "R-2", Outcome: authority.OutcomePass, RecordedAt: at}
	must(t, db.RecordAudit(ctx, aud2, entry(at, authority.ActionAudit, c.ID)))
	snc := authority.Sanction{ID: "snc_1", CSPID: c.ID, Kind: authority.SanctionFine, Decision: "D-F", DecidedAt: at,
		AmountMAD: 100_000, Note: "late audit", RecordedAt: at}
	must(t, db.RecordSanction(ctx, snc, entry(at, authority.ActionSanction, c.ID)))
	noService := authority.Sanction{ID: "snc_2", CSPID: c.ID, Kind: authority.SanctionWithdrawal, Decision: "D-W", DecidedAt: at, RecordedAt: at}
	wantKind(t, db.RecordSanction(ctx, noService, entry(at, authority.ActionSanction, c.ID)), errkind.Invalid, "")
	cry := authority.CryptoDeclaration{ID: "cry_1", CSPID: c.ID, Kind: authority.CryptoDeclared, Purpose: authority.PurposeAuthIntegrity,
		Means: "ECDSA P-384 in an HSM", Reference: "DEC-1", DecidedAt: at, RecordedAt: at}
	must(t, db.RecordCrypto(ctx, cry, entry(at, authority.ActionCrypto, c.ID)))
	cry2 := authority.CryptoDeclaration{ID: "cry_2", CSPID: c.ID, Kind: authority.CryptoAuthorised, Purpose: authority.PurposeConfidentiality,
		Means: "AES-256", Reference: "AUT-1", DecidedAt: at, ValidUntil: at.AddDate(3, 0, 0), RecordedAt: at}
	must(t, db.RecordCrypto(ctx, cry2, entry(at, authority.ActionCrypto, c.ID)))
	// L-13: confidentiality is never merely declared, whoever writes the row.
	declared := cry2
	declared.ID, declared.Kind = "cry_3", authority.CryptoDeclared
	wantKind(t, db.RecordCrypto(ctx, declared, entry(at, authority.ActionCrypto, c.ID)), errkind.Invalid, "")

	rs, err := db.AuthorityRecords(ctx)
	must(t, err)
	if len(rs.CSPs) != 2 || len(rs.Services) != 1 || len(rs.Agreements) != 1 {
		t.Fatalf("records: %d CSPs, %d services, %d agreements", len(rs.CSPs), len(rs.Services), len(rs.Agreements))
	}
	equal(t, "CSPs", rs.CSPs, []authority.CSP{c, foreign})
	equal(t, "services", rs.Services, []authority.TrustService{s})
	equal(t, "insurances", rs.Insurances, []authority.Insurance{ins})
	if len(rs.Audits) != 2 {
		t.Fatalf("audits %+v", rs.Audits)
	}
	for _, a := range rs.Audits {
		want := aud
		if a.ID == aud2.ID {
			want = aud2
		}
		equal(t, "audit", a, want)
	}
	equal(t, "sanctions", rs.Sanctions, []authority.Sanction{snc})
	if len(rs.Crypto) != 2 {
		t.Fatalf("crypto %+v", rs.Crypto)
	}
	for _, d := range rs.Crypto {
		want := cry
		if d.ID == cry2.ID {
			want = cry2
		}
		equal(t, "crypto", d, want)
	}
}

func testAuthorityCSPVersions(t *testing.T, db *store.DB) {
	ctx := t.Context()
	at := now()
	c := authCSP("csp_1", 1, at)
	must(t, db.RecordCSP(ctx, c, entry(at, authority.ActionCSPRegister, c.ID)))
	wantKind(t, db.RecordCSP(ctx, c, entry(at, authority.ActionCSPRegister, c.ID)), errkind.Conflict, "")
	v2 := authCSP("csp_1", 2, at.Add(time.Second))
	must(t, db.RecordCSP(ctx, v2, entry(at, authority.ActionCSPUpdate, c.ID)))
	// A version is written only right after the current one.
	wantKind(t, db.RecordCSP(ctx, authCSP("csp_1", 2, at), entry(at, authority.ActionCSPUpdate, c.ID)), errkind.Conflict, law.L15)
	wantKind(t, db.RecordCSP(ctx, authCSP("csp_1", 4, at), entry(at, authority.ActionCSPUpdate, c.ID)), errkind.Conflict, law.L15)
	wantKind(t, db.RecordCSP(ctx, authCSP("csp_none", 2, at), entry(at, authority.ActionCSPUpdate, "csp_none")), errkind.NotFound, "")
	got, err := db.AuthorityCSP(ctx, c.ID)
	must(t, err)
	equal(t, "current version", got, v2)
	_, err = db.AuthorityCSP(ctx, "csp_none")
	wantKind(t, err, errkind.NotFound, "")
	rs, err := db.AuthorityRecords(ctx)
	must(t, err)
	equal(t, "every version", rs.CSPs, []authority.CSP{c, v2})
}

func testAuthorityStatusFollows(t *testing.T, db *store.DB) {
	ctx := t.Context()
	at := now()
	_, s := seedAuthority(t, db, at)
	add := func(c authority.StatusChange) error {
		return db.AppendStatus(ctx, s.ID, c, entry(c.RecordedAt, authority.ActionServiceStatus, s.ID))
	}
	must(t, add(status(2, authority.StatusSuspended, at.Add(time.Hour), at)))
	// A stale sequence number (a change made meanwhile) is a conflict.
	wantKind(t, add(status(2, authority.StatusWithdrawn, at.Add(2*time.Hour), at)), errkind.Conflict, law.L15)
	wantKind(t, add(status(4, authority.StatusWithdrawn, at.Add(2*time.Hour), at)), errkind.Conflict, law.L15)
	wantKind(t, db.AppendStatus(ctx, "svc_none", status(2, authority.StatusWithdrawn, at, at),
		entry(at, authority.ActionServiceStatus, "svc_none")), errkind.NotFound, "")
	// The database itself refuses a status that does not follow the one in force (L-15).
	wantKind(t, add(status(3, authority.StatusGranted, at.Add(time.Minute), at)), errkind.Forbidden, law.L15)
	wantKind(t, add(status(3, authority.StatusSuspended, at.Add(2*time.Hour), at)), errkind.Forbidden, law.L15)
	must(t, add(status(3, authority.StatusWithdrawn, at.Add(2*time.Hour), at)))
	wantKind(t, add(status(4, authority.StatusSuspended, at.Add(3*time.Hour), at)), errkind.Forbidden, law.L15)
	must(t, add(status(4, authority.StatusGranted, at.Add(3*time.Hour), at)))
	first := authService("svc_2", s.CSPID, at)
	first.History[0].Status = authority.StatusSuspended
	wantKind(t, db.AddTrustService(ctx, first, entry(at, authority.ActionServiceAdd, first.ID)), errkind.Forbidden, law.L15)
	// A refused service leaves nothing behind: not its row, not its certificates.
	_, err := db.AuthorityService(ctx, first.ID)
	wantKind(t, err, errkind.NotFound, "")

	got, err := db.AuthorityService(ctx, s.ID)
	must(t, err)
	want := []authority.Status{authority.StatusGranted, authority.StatusSuspended, authority.StatusWithdrawn, authority.StatusGranted}
	if len(got.History) != len(want) {
		t.Fatalf("history %+v", got.History)
	}
	for i, c := range got.History {
		if c.Seq != i+1 || c.Status != want[i] {
			t.Fatalf("history[%d] = %+v", i, c)
		}
	}
}

// testAuthorityConcurrentStatus: of concurrent changes to one history, exactly one is recorded.
func testAuthorityConcurrentStatus(t *testing.T, db *store.DB) {
	ctx := t.Context()
	at := now()
	_, s := seedAuthority(t, db, at)
	const n = 8
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			c := status(2, authority.StatusSuspended, at.Add(time.Duration(i+1)*time.Minute), at)
			errs <- db.AppendStatus(ctx, s.ID, c, entry(at, authority.ActionServiceStatus, s.ID))
		})
	}
	wg.Wait()
	close(errs)
	ok := 0
	for err := range errs {
		if err == nil {
			ok++
			continue
		}
		wantKind(t, err, errkind.Conflict, "")
	}
	got, err := db.AuthorityService(ctx, s.ID)
	must(t, err)
	if ok != 1 || len(got.History) != 2 {
		t.Fatalf("%d changes accepted, history %+v", ok, got.History)
	}
}

func testAuthorityRecordsKept(t *testing.T, db *store.DB) {
	ctx := t.Context()
	at := now()
	c, s := seedAuthority(t, db, at)
	agr := authority.Agreement{ID: "agr_1", Reference: "R", Kind: authority.Bilateral, SignedAt: at, Countries: []string{"TN"},
		RecordedAt: at, Lists: []authority.TrustedListPointer{{Location: "https://tl.example.tn/", Territory: "TN", Certificates: [][]byte{[]byte("x")}}}}
	must(t, db.RecordAgreement(ctx, agr, entry(at, authority.ActionAgreement, agr.ID)))
	must(t, db.RecordInsurance(ctx, authority.Insurance{ID: "ins_1", CSPID: c.ID, Insurer: "W", Policy: "P", CoverMAD: 1,
		ValidFrom: at, ValidUntil: at.AddDate(1, 0, 0), RecordedAt: at}, entry(at, authority.ActionInsurance, c.ID)))
	must(t, db.RecordAudit(ctx, authority.Audit{ID: "aud_1", CSPID: c.ID, Kind: authority.AuditPeriodic, Auditor: "L", Date: at,
		ReportRef: "R", Outcome: authority.OutcomeFail, Findings: []authority.Finding{{Severity: authority.SeverityMajor, Text: "x"}},
		RecordedAt: at}, entry(at, authority.ActionAudit, c.ID)))
	must(t, db.RecordSanction(ctx, authority.Sanction{ID: "snc_1", CSPID: c.ID, Kind: authority.SanctionWarning, Decision: "D",
		DecidedAt: at, RecordedAt: at}, entry(at, authority.ActionSanction, c.ID)))
	must(t, db.RecordCrypto(ctx, authority.CryptoDeclaration{ID: "cry_1", CSPID: c.ID, Kind: authority.CryptoDeclared,
		Purpose: authority.PurposeAuthIntegrity, Means: "M", Reference: "R", DecidedAt: at, RecordedAt: at},
		entry(at, authority.ActionCrypto, c.ID)))
	tables := map[string]string{
		"authority_agreements": "title = 'x'", "authority_agreement_countries": "created_ms = 0",
		"authority_agreement_lists": "location = 'x'", "authority_agreement_list_certs": "idx = 9",
		"authority_csps": "created_ms = 0", "authority_csp_versions": "name = 'x'", "authority_services": "name = 'x'",
		"authority_service_qualifiers": "created_ms = 0", "authority_service_certs": "der = der",
		"authority_status_changes": "decision = 'x'", "authority_insurances": "cover_mad = 2",
		"authority_audits": "outcome = 'pass'", "authority_audit_findings": "finding = 'y'",
		"authority_sanctions": "note = 'x'", "authority_crypto": "means = 'x'",
	}
	for table, set := range tables {
		wantKind(t, exec(db, "UPDATE "+table+" SET "+set), errkind.Forbidden, law.L21_2)
		wantKind(t, exec(db, "DELETE FROM "+table), errkind.Forbidden, law.L21_2)
		if db.Dialect() == store.Postgres {
			wantKind(t, exec(db, "TRUNCATE "+table+" CASCADE"), errkind.Forbidden, law.L21_2)
		}
	}
	// Past the retention period, a record may go.
	past := authority.Insurance{ID: "ins_old", CSPID: c.ID, Insurer: "W", Policy: "P0", CoverMAD: 1,
		ValidFrom: old(), ValidUntil: old().AddDate(1, 0, 0), RecordedAt: old()}
	must(t, db.RecordInsurance(ctx, past, entry(at, authority.ActionInsurance, c.ID)))
	must(t, exec(db, "DELETE FROM authority_insurances WHERE id = 'ins_old'"))
	got, err := db.AuthorityService(ctx, s.ID)
	must(t, err)
	equal(t, "service after the refused changes", got, s)
}
