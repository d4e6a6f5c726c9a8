package storetest

import (
	"testing"
	"time"

	"github.com/tawthiq/tawthiq/internal/auditlog"
	"github.com/tawthiq/tawthiq/internal/cessation"
	"github.com/tawthiq/tawthiq/internal/errkind"
	"github.com/tawthiq/tawthiq/internal/law"
	"github.com/tawthiq/tawthiq/internal/ra"
	"github.com/tawthiq/tawthiq/internal/store"
)

// cessationCases returns the conformance cases of the cessation plan and the takeover (L-23).
func cessationCases() []testCase {
	return []testCase{
		{"TestCessationPlanOnce_L23", testCessationPlan},
		{"TestCessationStepsOnce_L23", testCessationSteps},
		{"TestCessationNotices_L23", testCessationNotices},
		{"TestCessationHolders_L23", testCessationHolders},
		{"TestTakeoverImport_L23", testTakeoverImport},
	}
}

func cessationPlan(at time.Time) cessation.Plan {
	return cessation.Plan{Mode: law.CessationTakeover, End: at.AddDate(0, 3, 0),
		Successor: cessation.Successor{Name: "Successor CSP", Identifier: "NTRMA-000000000000002"},
		PlannedAt: at, PlannedBy: "usr_admin", Note: "merger", Done: map[cessation.Step]time.Time{}}
}

func testCessationPlan(t *testing.T, db *store.DB) {
	ctx := t.Context()
	at := now()
	_, err := db.CessationPlan(ctx)
	wantKind(t, err, errkind.NotFound, "")
	p := cessationPlan(at)
	must(t, db.PutCessationPlan(ctx, p, []auditlog.Entry{entry(at, cessation.ActionPlan, string(p.Mode))}))
	got, err := db.CessationPlan(ctx)
	must(t, err)
	equal(t, "plan", *got, p)
	// A CSP ceases once: a second plan is refused, and leaves no audit entry.
	size, err := db.AuditSize(ctx)
	must(t, err)
	other := p
	other.Mode, other.Successor = law.CessationRevokeAll, cessation.Successor{}
	wantKind(t, db.PutCessationPlan(ctx, other, []auditlog.Entry{entry(at, cessation.ActionPlan, "again")}), errkind.Conflict, law.L23)
	if after, _ := db.AuditSize(ctx); after != size {
		t.Fatalf("a refused plan wrote %d audit entries", after-size)
	}
	got, err = db.CessationPlan(ctx)
	must(t, err)
	equal(t, "plan after a refused second one", *got, p)
	// L-21-2: the plan is evidence: never changed, never deleted inside the retention period.
	wantKind(t, exec(db, "UPDATE cessation_plans SET end_ms = end_ms + 1"), errkind.Forbidden, law.L21_2)
	wantKind(t, exec(db, "DELETE FROM cessation_plans"), errkind.Forbidden, law.L21_2)
}

func testCessationSteps(t *testing.T, db *store.DB) {
	ctx := t.Context()
	at := now()
	p := cessationPlan(at)
	must(t, db.PutCessationPlan(ctx, p, []auditlog.Entry{entry(at, cessation.ActionPlan, string(p.Mode))}))
	first, later := at.Add(time.Hour), at.Add(48*time.Hour)
	must(t, db.MarkCessationStep(ctx, cessation.StepAuthorityNotice, first, entry(first, cessation.ActionStep, "authority-notice")))
	// A step is recorded once: the first time stands, a second call changes nothing.
	must(t, db.MarkCessationStep(ctx, cessation.StepAuthorityNotice, later, entry(later, cessation.ActionStep, "authority-notice")))
	must(t, db.MarkCessationStep(ctx, cessation.StepTakeover, later, entry(later, cessation.ActionStep, "takeover-export")))
	got, err := db.CessationPlan(ctx)
	must(t, err)
	equal(t, "steps", got.Done, map[cessation.Step]time.Time{cessation.StepAuthorityNotice: first, cessation.StepTakeover: later})
	// The database knows the law's steps only.
	if err := db.MarkCessationStep(ctx, "sell-off", at, entry(at, cessation.ActionStep, "sell-off")); err == nil {
		t.Fatal("an unknown step was recorded")
	}
	wantKind(t, exec(db, "UPDATE cessation_steps SET done_ms = 0"), errkind.Forbidden, law.L21_2)
	wantKind(t, exec(db, "DELETE FROM cessation_steps"), errkind.Forbidden, law.L21_2)
}

func testCessationNotices(t *testing.T, db *store.DB) {
	ctx := t.Context()
	at := now()
	n := cessation.Notice{DedupKey: "authority", Kind: cessation.NoticeAuthority, Channel: "account", Recipient: "authority",
		Subject: "cessation", Body: "Law 53-05 art. 23", CreatedAt: at}
	ok, err := db.EnqueueCessationNotice(ctx, n, entry(at, cessation.ActionAuthorityNotice, "authority"))
	must(t, err)
	if !ok {
		t.Fatal("the first notice was not recorded")
	}
	size, err := db.AuditSize(ctx)
	must(t, err)
	// One notice per addressee: a second one is dropped with its audit entry.
	again := n
	again.Body, again.CreatedAt = "twice", at.Add(time.Hour)
	ok, err = db.EnqueueCessationNotice(ctx, again, entry(at, cessation.ActionAuthorityNotice, "authority"))
	must(t, err)
	if ok {
		t.Fatal("the authority was told twice")
	}
	if after, _ := db.AuditSize(ctx); after != size {
		t.Fatalf("a dropped notice wrote %d audit entries", after-size)
	}
	h := cessation.Notice{DedupKey: "holder:usr_h1", Kind: cessation.NoticeHolder, Channel: "email", Recipient: "h1@example.ma",
		Subject: "revocation", Body: "your certificates", CreatedAt: at}
	_, err = db.EnqueueCessationNotice(ctx, h, entry(at, cessation.ActionHolderWarning, "usr_h1"))
	must(t, err)
	auth, err := db.CessationNotices(ctx, cessation.NoticeAuthority)
	must(t, err)
	equal(t, "authority notices", auth, []cessation.Notice{n})
	holders, err := db.CessationNotices(ctx, cessation.NoticeHolder)
	must(t, err)
	equal(t, "holder notices", holders, []cessation.Notice{h})
	wantKind(t, exec(db, "UPDATE cessation_notices SET body = 'nothing'"), errkind.Forbidden, law.L21_2)
	wantKind(t, exec(db, "DELETE FROM cessation_notices"), errkind.Forbidden, law.L21_2)
}

func testCessationHolders(t *testing.T, db *store.DB) {
	ctx := t.Context()
	at := now()
	publishTerms(t, db, "v1", at)
	by := func(holder string, consent bool) func(*ra.Application) {
		return func(a *ra.Application) { a.SubmittedBy, a.ConsentEmail = holder, consent }
	}
	issuedFor(t, db, "app-1", "0c01", at, at.AddDate(2, 0, 0), by("usr_h1", true))
	issuedFor(t, db, "app-2", "0c02", at, at.AddDate(2, 0, 0), by("usr_h1", true))
	issuedFor(t, db, "app-3", "0c03", at, at.AddDate(2, 0, 0), by("usr_h2", false))
	issuedFor(t, db, "app-4", "0c04", at, at.AddDate(2, 0, 0), by("usr_h3", false))
	// Reserved, never issued: nothing to warn of or revoke.
	createApp(t, db, "app-5", at)
	approve(t, db, "app-5", at)
	reserve(t, db, "0c05", "app-5", at)
	revokeRow(t, db, "0c04", law.GroundHolderRequest, at)
	n, err := db.CessationUnrevokedCount(ctx)
	must(t, err)
	if n != 3 {
		t.Fatalf("unrevoked count %d, want 3", n)
	}
	serials, err := db.CessationUnrevoked(ctx, 2)
	must(t, err)
	equal(t, "first unrevoked", serials, []string{"0c01", "0c02"})
	// Holders page by user ID, each with all his serials; usr_h3's only one is revoked.
	page, err := db.CessationHolders(ctx, "", 1)
	must(t, err)
	equal(t, "first page", page, []cessation.Holder{{ID: "usr_h1", Serials: []string{"0c01", "0c02"}, ConsentEmail: true, Email: "app-2@example.ma"}})
	page, err = db.CessationHolders(ctx, "usr_h1", 10)
	must(t, err)
	equal(t, "second page", page, []cessation.Holder{{ID: "usr_h2", Serials: []string{"0c03"}, Email: "app-3@example.ma"}})
	revokeRow(t, db, "0c03", law.GroundCessation, at)
	n, err = db.CessationUnrevokedCount(ctx)
	must(t, err)
	if n != 2 {
		t.Fatalf("unrevoked count after a revocation %d, want 2", n)
	}
}

func testTakeoverImport(t *testing.T, db *store.DB) {
	ctx := t.Context()
	at := now()
	ex := &cessation.Export{
		Origin:    cessation.Origin{Name: "Ceding CSP", Identifier: "NTRMA-000000000000001"},
		Successor: cessation.Successor{Name: "Successor CSP", Identifier: "NTRMA-000000000000002"},
		Certificates: []cessation.Certificate{
			{Serial: "0d01", CA: "signature", DER: []byte("der-0d01"), Registration: []byte(`{"id":"app-1"}`)},
			{Serial: "0d02", CA: "signature", DER: []byte("der-0d02"), Registration: []byte(`{"id":"app-2"}`)},
			{Serial: "0d03", CA: "seal", DER: []byte("der-0d03"), Registration: []byte(`{"id":"app-3"}`)},
		},
		Revocations: []cessation.Revocation{{Serial: "0d02", CA: "signature", Ground: law.GroundKeyCompromise, Reason: 1,
			RequestedAt: at.Add(-time.Minute), RevokedAt: at}},
	}
	name := cessation.TransferredName(ex.Origin.Identifier, "signature")
	is := cessation.TransferredIssuer{Name: name, OriginID: ex.Origin.Identifier, CA: "signature",
		CADER: []byte("ca-der"), ResponderDER: []byte("responder-der"), KeyURI: "file:keys/takeover-responder.key"}
	imp := cessation.Import{ID: "imp_1", At: at, SHA256: "aa11", Archive: []byte("archive"), Export: ex, Issuers: []cessation.TransferredIssuer{is}}
	must(t, db.ImportTakeover(ctx, imp, []auditlog.Entry{entry(at, cessation.ActionImport, ex.Origin.Identifier)}))
	got, err := db.TransferredIssuers(ctx)
	must(t, err)
	equal(t, "transferred issuers", got, []cessation.TransferredIssuer{is})
	// A CA without a responder for this CSP ("seal") is kept in the archive only.
	sts, err := store.Transferred{DB: db}.OCSPStatuses(ctx, []string{"0d01", "0d02", "0d03", "0d04"})
	must(t, err)
	if len(sts) != 2 {
		t.Fatalf("statuses %+v, want 0d01 and 0d02", sts)
	}
	for _, st := range sts {
		if st.CA != name || !st.Issued || st.Revoked != (st.Serial == "0d02") {
			t.Errorf("status %+v", st)
		}
		if st.Serial == "0d02" && (st.Reason != 1 || !st.RevokedAt.Equal(at)) {
			t.Errorf("revoked status %+v", st)
		}
	}
	// The same archive twice is refused, and nothing of the second try is kept.
	again := imp
	again.ID = "imp_2"
	if err := db.ImportTakeover(ctx, again, []auditlog.Entry{entry(at, cessation.ActionImport, "again")}); !errkind.Is(err, errkind.Conflict) {
		t.Fatalf("the same archive imported twice: %v", err)
	}
	// L-21-2: records taken over are evidence like the CSP's own.
	for _, table := range []string{"takeover_imports", "transferred_issuers", "transferred_certificates", "transferred_revocations"} {
		wantKind(t, exec(db, "UPDATE "+table+" SET created_ms = 0"), errkind.Forbidden, law.L21_2)
		wantKind(t, exec(db, "DELETE FROM "+table), errkind.Forbidden, law.L21_2)
	}
}
