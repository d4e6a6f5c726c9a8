package storetest

import (
	"strings"
	"testing"
	"time"

	"github.com/tawthiq/tawthiq/internal/auditlog"
	"github.com/tawthiq/tawthiq/internal/directory"
	"github.com/tawthiq/tawthiq/internal/errkind"
	"github.com/tawthiq/tawthiq/internal/law"
	"github.com/tawthiq/tawthiq/internal/notify"
	"github.com/tawthiq/tawthiq/internal/ra"
	"github.com/tawthiq/tawthiq/internal/store"
)

// noticeCases returns the conformance cases of the notice outbox and the directory.
func noticeCases() []testCase {
	return []testCase{
		{"TestNoticeQueuedOnce_L21_3_5", testNoticeQueuedOnce},
		{"TestNoticeClaims_L21_3_5", testNoticeClaims},
		{"TestNoticeRetry_L21_3_5", testNoticeRetry},
		{"TestNoticeRecordsKept_L21_3_5", testNoticeRecordsKept},
		{"TestNoticeScans_L21_3_5", testNoticeScans},
		{"TestHolderNotices_L65_3", testHolderNotices},
		{"TestDirectorySearch_L21_2", testDirectorySearch},
	}
}

// issuedFor records an approved application (terms v1 must be published) changed by
// edit, and its issued certificate expiring at notAfter.
func issuedFor(t *testing.T, db *store.DB, id, serial string, at, notAfter time.Time, edit func(*ra.Application)) {
	t.Helper()
	ctx := t.Context()
	a := application(id, "v1", at)
	if edit != nil {
		edit(a)
	}
	must(t, db.CreateApplication(ctx, a, entry(at, auditlog.ActionApplicationCreate, id)))
	approve(t, db, id, at)
	c := certificate(serial, id, at)
	c.NotAfter = notAfter
	must(t, db.Reserve(ctx, c, entry(at, auditlog.ActionCertificateReserve, serial)))
	must(t, db.MarkIssued(ctx, serial, []byte("der-"+serial), at, entry(at, auditlog.ActionCertificateIssue, serial)))
}

// revokeRow records a revocation as the revocation store does (table of 0002).
func revokeRow(t *testing.T, db *store.DB, serial string, g law.Ground, at time.Time) {
	t.Helper()
	must(t, exec(db, `INSERT INTO revocations (serial, ca, ground, reason, requested_ms, revoked_ms, requested_by,
		note, order_ref, created_ms) VALUES (?, 'signature', ?, 0, ?, ?, 'tester', '', 'ORD-1', ?)`,
		serial, string(g), at.UnixMilli(), at.UnixMilli(), at.UnixMilli()))
}

func testNotice(id, serial, appID string, at time.Time) notify.Notice {
	return notify.Notice{ID: id, DedupKey: notify.DedupKey(notify.KindExpiry, serial), ApplicationID: appID,
		Serial: serial, Kind: notify.KindExpiry, Channel: notify.ChannelEmail, Recipient: appID + "@example.ma",
		Language: "fr", Subject: "sujet", Body: "corps", State: notify.StateQueued, NextAttempt: at,
		MessageID: "<" + id + "@test>", CreatedAt: at}
}

func noticeEntry(at time.Time, key string) auditlog.Entry {
	return entry(at, auditlog.ActionNoticeQueue, key)
}

func testNoticeQueuedOnce(t *testing.T, db *store.DB) {
	ctx := t.Context()
	at := now()
	publishTerms(t, db, "v1", at)
	issuedFor(t, db, "a1", "01", at, at.AddDate(0, 0, 30), nil)
	before, err := db.AuditSize(ctx)
	must(t, err)
	n := testNotice("n1", "01", "a1", at)
	ok, err := db.EnqueueNotice(ctx, n, noticeEntry(at, n.DedupKey))
	must(t, err)
	equal(t, "first enqueue recorded", ok, true)
	// Same dedup key, another ID: nothing recorded, no entry.
	n2 := testNotice("n2", "01", "a1", at)
	ok, err = db.EnqueueNotice(ctx, n2, noticeEntry(at, n2.DedupKey))
	must(t, err)
	equal(t, "second enqueue recorded", ok, false)
	after, err := db.AuditSize(ctx)
	must(t, err)
	equal(t, "audit entries added", after-before, int64(1))
	all, err := db.Notices(ctx)
	must(t, err)
	equal(t, "notices", len(all), 1)
	got := all[0]
	equal(t, "stored notice", got, n)
	// A notice of a certificate that does not exist is refused.
	bad := testNotice("n3", "ff", "a1", at)
	_, err = db.EnqueueNotice(ctx, bad, noticeEntry(at, bad.DedupKey))
	wantKind(t, err, errkind.Invalid, "")
}

func testNoticeClaims(t *testing.T, db *store.DB) {
	ctx := t.Context()
	at := now()
	publishTerms(t, db, "v1", at)
	issuedFor(t, db, "a1", "01", at, at.AddDate(0, 0, 30), nil)
	n := testNotice("n1", "01", "a1", at)
	_, err := db.EnqueueNotice(ctx, n, noticeEntry(at, n.DedupKey))
	must(t, err)
	// Not yet due.
	got, err := db.ClaimNotices(ctx, "A", at.Add(-time.Second), at.Add(time.Minute), 10)
	must(t, err)
	equal(t, "claimed before due", len(got), 0)
	lease := at.Add(time.Minute)
	got, err = db.ClaimNotices(ctx, "A", at, lease, 10)
	must(t, err)
	if len(got) != 1 || got[0].State != notify.StateSending || got[0].LeaseHolder != "A" ||
		got[0].Attempts != 1 || !got[0].LeaseUntil.Equal(lease) {
		t.Fatalf("claim by A: %+v", got)
	}
	// Held by A: B gets nothing until A's lease lapses.
	got, err = db.ClaimNotices(ctx, "B", at.Add(30*time.Second), at.Add(2*time.Minute), 10)
	must(t, err)
	equal(t, "claimed by B while A holds it", len(got), 0)
	got, err = db.ClaimNotices(ctx, "B", lease, lease.Add(time.Minute), 10)
	must(t, err)
	if len(got) != 1 || got[0].LeaseHolder != "B" || got[0].Attempts != 2 {
		t.Fatalf("claim by B after A's lease: %+v", got)
	}
	// A lost its claim: it cannot record the outcome.
	err = db.MarkNoticeSent(ctx, "n1", "A", lease, entry(lease, auditlog.ActionNoticeSend, n.DedupKey))
	wantKind(t, err, errkind.Conflict, law.L21_3_5)
	must(t, db.MarkNoticeSent(ctx, "n1", "B", lease, entry(lease, auditlog.ActionNoticeSend, n.DedupKey)))
	err = db.MarkNoticeSent(ctx, "n1", "B", lease, entry(lease, auditlog.ActionNoticeSend, n.DedupKey))
	wantKind(t, err, errkind.Conflict, law.L21_3_5)
	sent, err := db.Notice(ctx, "n1")
	must(t, err)
	if sent.State != notify.StateSent || !sent.SentAt.Equal(lease) || !sent.LeaseUntil.IsZero() {
		t.Fatalf("sent notice: %+v", sent)
	}
	// A sent notice is never claimed again.
	got, err = db.ClaimNotices(ctx, "C", at.AddDate(1, 0, 0), at.AddDate(1, 0, 1), 10)
	must(t, err)
	equal(t, "claimed after sent", len(got), 0)
	_, err = db.Notice(ctx, "none")
	wantKind(t, err, errkind.NotFound, "")
}

func testNoticeRetry(t *testing.T, db *store.DB) {
	ctx := t.Context()
	at := now()
	publishTerms(t, db, "v1", at)
	issuedFor(t, db, "a1", "01", at, at.AddDate(0, 0, 30), nil)
	n := testNotice("n1", "01", "a1", at)
	_, err := db.EnqueueNotice(ctx, n, noticeEntry(at, n.DedupKey))
	must(t, err)
	_, err = db.ClaimNotices(ctx, "A", at, at.Add(time.Minute), 10)
	must(t, err)
	next := at.Add(10 * time.Minute)
	must(t, db.MarkNoticeFailed(ctx, "n1", "A", next, "421 try later", entry(at, auditlog.ActionNoticeRetry, n.DedupKey)))
	got, err := db.Notice(ctx, "n1")
	must(t, err)
	if got.State != notify.StateQueued || !got.NextAttempt.Equal(next) || got.LastError != "421 try later" || got.Attempts != 1 {
		t.Fatalf("failed notice: %+v", got)
	}
	claimed, err := db.ClaimNotices(ctx, "A", next.Add(-time.Millisecond), next.Add(time.Minute), 10)
	must(t, err)
	equal(t, "claimed before its next attempt", len(claimed), 0)
	claimed, err = db.ClaimNotices(ctx, "A", next, next.Add(time.Minute), 10)
	must(t, err)
	if len(claimed) != 1 || claimed[0].Attempts != 2 {
		t.Fatalf("claim after backoff: %+v", claimed)
	}
}

func testNoticeRecordsKept(t *testing.T, db *store.DB) {
	ctx := t.Context()
	at := now()
	publishTerms(t, db, "v1", at)
	issuedFor(t, db, "a1", "01", at, at.AddDate(0, 0, 30), nil)
	n := testNotice("n1", "01", "a1", at)
	_, err := db.EnqueueNotice(ctx, n, noticeEntry(at, n.DedupKey))
	must(t, err)
	wantKind(t, exec(db, "UPDATE notices SET body = 'changed' WHERE id = 'n1'"), errkind.Forbidden, law.L21_3_5)
	wantKind(t, exec(db, "DELETE FROM notices WHERE id = 'n1'"), errkind.Forbidden, law.L21_2)
	_, err = db.ClaimNotices(ctx, "A", at, at.Add(time.Minute), 10)
	must(t, err)
	must(t, db.MarkNoticeSent(ctx, "n1", "A", at, entry(at, auditlog.ActionNoticeSend, n.DedupKey)))
	// Sent stays sent.
	wantKind(t, exec(db, "UPDATE notices SET state = 'queued', sent_ms = NULL WHERE id = 'n1'"), errkind.Forbidden, law.L21_3_5)
	// An account notice is held, never queued for e-mail.
	held := testNotice("n2", "01", "a1", at)
	held.DedupKey, held.Kind = notify.DedupKey(notify.KindRevocation, "01"), notify.KindRevocation
	held.Channel, held.State, held.MessageID = notify.ChannelAccount, notify.StateQueued, "<n2@test>"
	_, err = db.EnqueueNotice(ctx, held, noticeEntry(at, held.DedupKey))
	wantKind(t, err, errkind.Invalid, "")
}

func testNoticeScans(t *testing.T, db *store.DB) {
	ctx := t.Context()
	at := now()
	publishTerms(t, db, "v1", at)
	day := 24 * time.Hour
	issuedFor(t, db, "a1", "01", at, at.Add(30*day), func(a *ra.Application) { a.Language = "en" })
	issuedFor(t, db, "a2", "02", at, at.Add(61*day), nil)                                               // outside the window
	issuedFor(t, db, "a3", "03", at, at.Add(10*day), nil)                                               // revoked: no expiry notice
	issuedFor(t, db, "a4", "04", at, at.Add(-day), nil)                                                 // already expired
	issuedFor(t, db, "a5", "05", at, at.Add(59*day), func(a *ra.Application) { a.ConsentEmail = true }) // noticed below
	revokeRow(t, db, "03", law.GroundKeyCompromise, at)

	n := testNotice("n5", "05", "a5", at)
	_, err := db.EnqueueNotice(ctx, n, noticeEntry(at, n.DedupKey))
	must(t, err)
	got, err := db.ExpiringCertificates(ctx, at, at.Add(60*day), 10)
	must(t, err)
	if len(got) != 1 || got[0].Serial != "01" {
		t.Fatalf("expiring: %+v", got)
	}
	c := got[0]
	if c.ApplicationID != "a1" || c.HolderID != "officer-0" || c.Language != "en" || c.ContactEmail != "a1@example.ma" ||
		c.ConsentEmail || !c.NotAfter.Equal(at.Add(30*day)) || c.CA != "signature" {
		t.Fatalf("expiring certificate: %+v", c)
	}
	got, err = db.RevokedCertificates(ctx, 10)
	must(t, err)
	if len(got) != 1 || got[0].Serial != "03" || got[0].Ground != law.GroundKeyCompromise ||
		!got[0].RevokedAt.Equal(at) || got[0].OrderRef != "ORD-1" {
		t.Fatalf("revoked: %+v", got)
	}
	r := testNotice("n3", "03", "a3", at)
	r.DedupKey, r.Kind = notify.DedupKey(notify.KindRevocation, "03"), notify.KindRevocation
	_, err = db.EnqueueNotice(ctx, r, noticeEntry(at, r.DedupKey))
	must(t, err)
	got, err = db.RevokedCertificates(ctx, 10)
	must(t, err)
	equal(t, "revocations left without notice", len(got), 0)
}

func testHolderNotices(t *testing.T, db *store.DB) {
	ctx := t.Context()
	at := now()
	publishTerms(t, db, "v1", at)
	issuedFor(t, db, "a1", "01", at, at.AddDate(0, 0, 30), func(a *ra.Application) { a.SubmittedBy = "holder-1" })
	issuedFor(t, db, "a2", "02", at, at.AddDate(0, 0, 30), func(a *ra.Application) { a.SubmittedBy = "holder-2" })
	for i, s := range []string{"01", "02"} {
		n := testNotice("n"+s, s, "a"+s[1:], at.Add(time.Duration(i)*time.Millisecond))
		n.Channel, n.State, n.Recipient = notify.ChannelAccount, notify.StateHeld, "holder"
		_, err := db.EnqueueNotice(ctx, n, noticeEntry(at, n.DedupKey))
		must(t, err)
	}
	got, err := db.HolderNotices(ctx, "holder-1", 10)
	must(t, err)
	if len(got) != 1 || got[0].ID != "n01" || got[0].State != notify.StateHeld {
		t.Fatalf("holder-1 notices: %+v", got)
	}
	// Held notices are never claimed for e-mail.
	claimed, err := db.ClaimNotices(ctx, "A", at.AddDate(1, 0, 0), at.AddDate(1, 0, 1), 10)
	must(t, err)
	equal(t, "held notices claimed", len(claimed), 0)
}

func testDirectorySearch(t *testing.T, db *store.DB) {
	ctx := t.Context()
	at := now()
	publishTerms(t, db, "v1", at)
	issuedFor(t, db, "a1", "a1", at, at.AddDate(1, 0, 0), func(a *ra.Application) {
		a.Subject.CommonName, a.Subject.GivenName, a.Subject.Surname = "Amina Alaoui", "Amina", "Alaoui"
		a.ContactEmail = "Amina@Example.ma"
	})
	issuedFor(t, db, "a2", "a2", at, at.AddDate(1, 0, 0), func(a *ra.Application) {
		a.Subject.CommonName, a.Subject.GivenName, a.Subject.Surname = "Karim Alaoui", "Karim", "Alaoui"
		a.ContactEmail = "karim@example.ma"
		a.ConsentDirectory = false // L-21-2
	})
	revokeRow(t, db, "a1", law.GroundHolderRequest, at)
	search := func(by directory.By, v string) []string {
		t.Helper()
		q, err := directory.Normalize(directory.Query{By: by, Value: v})
		must(t, err)
		got, err := db.DirectorySearch(ctx, q, 10)
		must(t, err)
		var serials []string
		for _, e := range got {
			serials = append(serials, e.Serial)
		}
		return serials
	}
	for _, tc := range []struct {
		by   directory.By
		v    string
		want string
	}{
		{directory.ByName, "alaoui", "a1"},
		{directory.ByName, "ALAOUI amina", "a1"},
		{directory.ByName, "karim", ""},
		{directory.ByName, "karim alaoui", ""},
		{directory.ByEmail, "amina@example.ma", "a1"},
		{directory.ByEmail, "karim@example.ma", ""},
		{directory.BySerial, "0A1", "a1"},
		{directory.BySerial, "a2", ""},
		{directory.ByName, "100%", ""},
	} {
		got := strings.Join(search(tc.by, tc.v), ",")
		if got != tc.want {
			t.Errorf("search by %s %q: got %q, want %q", tc.by, tc.v, got, tc.want)
		}
	}
	q, err := directory.Normalize(directory.Query{By: directory.BySerial, Value: "a1"})
	must(t, err)
	got, err := db.DirectorySearch(ctx, q, 10)
	must(t, err)
	if len(got) != 1 || string(got[0].DER) != "der-a1" || !got[0].RevokedAt.Equal(at) || got[0].CA != "signature" ||
		got[0].Subject != "CN=Amina Alaoui,C=MA" || !got[0].NotAfter.Equal(at.AddDate(1, 0, 0)) {
		t.Fatalf("entry: %+v", got)
	}
}
