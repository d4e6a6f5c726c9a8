package storetest

import (
	"bytes"
	"crypto/sha256"
	"testing"
	"time"

	"github.com/tawthiq/tawthiq/internal/access"
	"github.com/tawthiq/tawthiq/internal/auditlog"
	"github.com/tawthiq/tawthiq/internal/breach"
	"github.com/tawthiq/tawthiq/internal/ca"
	"github.com/tawthiq/tawthiq/internal/datachange"
	"github.com/tawthiq/tawthiq/internal/errkind"
	"github.com/tawthiq/tawthiq/internal/insurance"
	"github.com/tawthiq/tawthiq/internal/law"
	"github.com/tawthiq/tawthiq/internal/notify"
	"github.com/tawthiq/tawthiq/internal/store"
)

// dutyCases returns the conformance cases of insurance, breaches, data changes and their outbox.
func dutyCases() []testCase {
	return []testCase{
		{"TestInsurancePolicies_L21_3_6", testInsurancePolicies},
		{"TestBreaches_L24", testBreaches},
		{"TestDutyNotices_L24", testDutyNotices},
		{"TestDataChanges_L25", testDataChanges},
		{"TestKeyRevokedAnyGround_L25", testKeyRevoked},
	}
}

func testInsurancePolicies(t *testing.T, db *store.DB) {
	ctx := t.Context()
	at := now()
	p := insurance.Policy{ID: "ins_1", Insurer: "Wafa Assurance", Number: "RCP-1", CoverMAD: 5_000_000,
		ValidFrom: at, ValidUntil: at.AddDate(1, 0, 0), RecordedBy: "usr_admin", RecordedAt: at}
	must(t, db.AddInsurancePolicy(ctx, p, entry(at, insurance.ActionRecord, p.ID)))
	got, err := db.InsurancePolicies(ctx)
	must(t, err)
	equal(t, "policies", got, []insurance.Policy{p})
	again := p
	again.ID = "ins_2"
	wantKind(t, db.AddInsurancePolicy(ctx, again, entry(at, insurance.ActionRecord, again.ID)), errkind.Conflict, "")
	bad := p
	bad.ID, bad.Number, bad.ValidUntil = "ins_3", "RCP-3", bad.ValidFrom
	wantKind(t, db.AddInsurancePolicy(ctx, bad, entry(at, insurance.ActionRecord, bad.ID)), errkind.Invalid, "")
	// L-21-2: a policy is evidence: never changed, never deleted inside the retention period.
	wantKind(t, exec(db, "UPDATE insurance_policies SET cover_mad = 1"), errkind.Forbidden, law.L21_2)
	wantKind(t, exec(db, "DELETE FROM insurance_policies"), errkind.Forbidden, law.L21_2)
}

func testBreaches(t *testing.T, db *store.DB) {
	ctx := t.Context()
	at := now()
	issued(t, db, "0b01", "app-1", at, true)
	must(t, db.PutAuthority(ctx, ca.Authority{Name: "signature", Role: "issuing", KeyURI: "file:k", DER: []byte("sig"), CreatedAt: at},
		entry(at, auditlog.ActionCARegister, "signature")))
	must(t, db.CreateUser(ctx, access.User{ID: "usr_h1", Name: "Holder", Role: access.RoleHolder, CreatedAt: at},
		entry(at, auditlog.ActionUserCreate, "usr_h1")))
	in := breach.Incident{ID: "brc_1", Kind: breach.KindKeyCompromise, Description: "HSM partition exposed",
		DetectedAt: at.Add(-time.Hour), RecordedAt: at, RecordedBy: "usr_admin", CAs: []string{"signature"},
		Certificates: []string{"0b01"}, Holders: []breach.Holder{{HolderID: "usr_h1", Harm: true, Assessment: "his signatures may be forged"}}}
	must(t, db.CreateBreach(ctx, in, entry(at, breach.ActionRecord, in.ID)))
	got, err := db.Breach(ctx, in.ID)
	must(t, err)
	equal(t, "breach", *got, in)
	all, err := db.Breaches(ctx, 10)
	must(t, err)
	equal(t, "breaches", all, []breach.Incident{in})
	_, err = db.Breach(ctx, "brc_none")
	wantKind(t, err, errkind.NotFound, "")
	// What a breach names must exist: nothing of a refused breach is kept.
	ghost := in
	ghost.ID, ghost.CAs, ghost.Holders, ghost.Certificates = "brc_2", nil, nil, []string{"dead"}
	wantKind(t, db.CreateBreach(ctx, ghost, entry(at, breach.ActionRecord, ghost.ID)), errkind.Invalid, law.L24)
	if _, err := db.Breach(ctx, "brc_2"); !errkind.Is(err, errkind.NotFound) {
		t.Fatalf("a refused breach was kept: %v", err)
	}
	wantKind(t, exec(db, "UPDATE breaches SET description = 'nothing happened'"), errkind.Forbidden, law.L21_2)
	wantKind(t, exec(db, "DELETE FROM breach_holders"), errkind.Forbidden, law.L21_2)
}

func dutyNotice(id, key, ref string, ch notify.Channel, at time.Time) notify.Notice {
	n := notify.Notice{ID: id, DedupKey: key, Serial: ref, Kind: breach.KindAuthorityNotice, Channel: ch,
		Recipient: "dgssi@example.ma", Language: "fr", Subject: "s", Body: "b", State: notify.StateQueued,
		NextAttempt: at, MessageID: "<" + id + "@test>", CreatedAt: at}
	if ch == notify.ChannelAccount {
		n.Kind, n.Recipient, n.State = breach.KindHolderNotice, "usr_h1", notify.StateHeld
	}
	return n
}

func testDutyNotices(t *testing.T, db *store.DB) {
	ctx := t.Context()
	at := now()
	a := dutyNotice("n1", "breach-authority:brc_1", "brc_1", notify.ChannelEmail, at)
	h := dutyNotice("n2", "breach-holder:brc_1:usr_h1", "brc_1", notify.ChannelAccount, at)
	for _, n := range []notify.Notice{a, h} {
		ok, err := db.EnqueueDutyNotice(ctx, n, entry(at, auditlog.ActionNoticeQueue, n.DedupKey))
		if err != nil || !ok {
			t.Fatalf("enqueue %s: %v %v", n.ID, ok, err)
		}
	}
	// Same event again: nothing recorded, nothing logged.
	size, err := db.AuditSize(ctx)
	must(t, err)
	dup := a
	dup.ID, dup.MessageID = "n3", "<n3@test>"
	if ok, err := db.EnqueueDutyNotice(ctx, dup, entry(at, auditlog.ActionNoticeQueue, dup.DedupKey)); err != nil || ok {
		t.Fatalf("second enqueue: %v %v, want false, nil", ok, err)
	}
	if size2, _ := db.AuditSize(ctx); size2 != size {
		t.Fatalf("a refused duplicate left an audit entry: %d -> %d", size, size2)
	}
	ns, err := db.DutyNotices(ctx, "brc_1")
	must(t, err)
	if len(ns) != 2 {
		t.Fatalf("%d notices of brc_1, want 2", len(ns))
	}
	held, err := db.DutyNoticesTo(ctx, "usr_h1", 10)
	must(t, err)
	if len(held) != 1 || held[0].ID != "n2" || held[0].State != notify.StateHeld {
		t.Fatalf("holder's notices %+v", held)
	}
	// Delivery: only the e-mail notice is claimed; a claim is exclusive; sent stays sent.
	out := db.DutyOutbox()
	cl, err := out.ClaimNotices(ctx, "d1", at, at.Add(time.Minute), 10)
	must(t, err)
	if len(cl) != 1 || cl[0].ID != "n1" || cl[0].Attempts != 1 {
		t.Fatalf("claimed %+v", cl)
	}
	if again, err := out.ClaimNotices(ctx, "d2", at, at.Add(time.Minute), 10); err != nil || len(again) != 0 {
		t.Fatalf("a second deliverer claimed %d notices: %v", len(again), err)
	}
	wantKind(t, out.MarkNoticeSent(ctx, "n1", "d2", at, entry(at, auditlog.ActionNoticeSend, "n1")), errkind.Conflict, "")
	must(t, out.MarkNoticeSent(ctx, "n1", "d1", at, entry(at, auditlog.ActionNoticeSend, "n1")))
	wantKind(t, exec(db, "UPDATE duty_notices SET body = 'changed' WHERE id = 'n1'"), errkind.Forbidden, law.L24)
	wantKind(t, exec(db, "DELETE FROM duty_notices"), errkind.Forbidden, law.L21_2)
}

func testDataChanges(t *testing.T, db *store.DB) {
	ctx := t.Context()
	at := now()
	issued(t, db, "0c01", "app-1", at, true)
	ev := sha256.Sum256([]byte("marriage certificate"))
	r := datachange.Report{ID: "dch_1", Serial: "0c01", HolderID: "usr_h1", Field: law.FieldName, NewValue: "Amina Bennani",
		EvidenceSHA256: ev[:], ReportedAt: at, Status: datachange.StatusPending}
	must(t, db.CreateDataChange(ctx, r, entry(at, datachange.ActionReport, r.ID)))
	got, err := db.DataChange(ctx, r.ID)
	must(t, err)
	equal(t, "report", *got, r)
	pending, err := db.DataChanges(ctx, datachange.StatusPending, 10)
	must(t, err)
	equal(t, "pending", pending, []datachange.Report{r})
	ghost := r
	ghost.ID, ghost.Serial = "dch_2", "dead"
	wantKind(t, db.CreateDataChange(ctx, ghost, entry(at, datachange.ActionReport, ghost.ID)), errkind.Invalid, law.L25)

	d := r
	d.Status, d.DecidedBy, d.DecidedAt, d.Note = datachange.StatusRevoked, "usr_off", at.Add(time.Second), "name changed"
	must(t, db.DecideDataChange(ctx, d, entry(at, datachange.ActionReview, d.ID)))
	// L-25: decided once; what the holder reported never changes.
	wantKind(t, db.DecideDataChange(ctx, d, entry(at, datachange.ActionReview, d.ID)), errkind.Conflict, law.L25)
	wantKind(t, exec(db, "UPDATE data_changes SET status = 'pending', decided_ms = NULL"), errkind.Forbidden, law.L25)
	wantKind(t, exec(db, "UPDATE data_changes SET new_value = 'x'"), errkind.Forbidden, law.L25)
	got, err = db.DataChange(ctx, r.ID)
	must(t, err)
	equal(t, "decided report", *got, d)
	if pending, _ := db.DataChanges(ctx, datachange.StatusPending, 10); len(pending) != 0 {
		t.Fatalf("still pending: %+v", pending)
	}
}

func testKeyRevoked(t *testing.T, db *store.DB) {
	ctx := t.Context()
	at := now()
	issued(t, db, "0d01", "app-1", at, true)
	key := spki("app-1")
	if bad, err := db.KeyRevoked(ctx, key); err != nil || bad {
		t.Fatalf("KeyRevoked before any revocation = %v, %v", bad, err)
	}
	// A revocation on a ground that says nothing of the key still bars it (L-25).
	revokeRow(t, db, "0d01", law.GroundHolderRequest, at)
	bad, err := db.KeyRevoked(ctx, key)
	must(t, err)
	if !bad {
		t.Fatal("a key whose certificate was revoked at the holder's request is not reported revoked")
	}
	if other, _ := db.KeyRevoked(ctx, bytes.Repeat([]byte{1}, 32)); other {
		t.Fatal("an unrelated key is reported revoked")
	}
}
