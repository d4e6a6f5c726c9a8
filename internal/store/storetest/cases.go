package storetest

import (
	"crypto/sha256"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/tawthiq/tawthiq/internal/access"
	"github.com/tawthiq/tawthiq/internal/auditlog"
	"github.com/tawthiq/tawthiq/internal/ca"
	"github.com/tawthiq/tawthiq/internal/errkind"
	"github.com/tawthiq/tawthiq/internal/law"
	"github.com/tawthiq/tawthiq/internal/ra"
	"github.com/tawthiq/tawthiq/internal/store"
)

func testTerms(t *testing.T, db *store.DB) {
	ctx := t.Context()
	_, err := db.CurrentTerms(ctx)
	wantKind(t, err, errkind.NotFound, "")
	at := now()
	v1 := publishTerms(t, db, "v1", at.Add(-time.Hour))
	v2 := publishTerms(t, db, "v2", at)
	got, err := db.Terms(ctx, "v1")
	must(t, err)
	equal(t, "terms v1", *got, v1)
	cur, err := db.CurrentTerms(ctx)
	must(t, err)
	equal(t, "current terms", *cur, v2)
	_, err = db.Terms(ctx, "v9")
	wantKind(t, err, errkind.NotFound, "")
	wantKind(t, db.PublishTerms(ctx, v1, entry(at, auditlog.ActionTermsPublish, "v1")), errkind.Conflict, "")
}

func testApplications(t *testing.T, db *store.DB) {
	ctx := t.Context()
	at := now()
	publishTerms(t, db, "v1", at)
	a := createApp(t, db, "app-1", at)
	got, err := db.Application(ctx, "app-1")
	must(t, err)
	equal(t, "application", *got, *a)
	b := application("app-2", "v1", at)
	b.Capacity, b.ConsentDirectory, b.KeyInQSCD = nil, false, false
	must(t, db.CreateApplication(ctx, b, entry(at, auditlog.ActionApplicationCreate, "app-2")))
	got, err = db.Application(ctx, "app-2")
	must(t, err)
	equal(t, "application without capacity", *got, *b)
	wantKind(t, db.CreateApplication(ctx, a, entry(at, auditlog.ActionApplicationCreate, "app-1")), errkind.Conflict, "")
	_, err = db.Application(ctx, "nope")
	wantKind(t, err, errkind.NotFound, "")
}

func testApplicationWithoutTerms(t *testing.T, db *store.DB) {
	ctx := t.Context()
	at := now()
	publishTerms(t, db, "v1", at)
	a := application("app-1", "v-unpublished", at)
	err := db.CreateApplication(ctx, a, entry(at, auditlog.ActionApplicationCreate, "app-1"))
	wantKind(t, err, errkind.Invalid, law.L21_3_3)
	_, err = db.Application(ctx, "app-1")
	wantKind(t, err, errkind.NotFound, "")
}

func testApprovals(t *testing.T, db *store.DB) {
	ctx := t.Context()
	at := now()
	publishTerms(t, db, "v1", at)
	createApp(t, db, "app-1", at)
	first := ra.Approval{ApplicationID: "app-1", Officer: "officer-1", At: at, Note: "identity checked"}
	st, err := db.AddApproval(ctx, first, entry(at, auditlog.ActionApplicationApprove, "app-1"))
	must(t, err)
	equal(t, "status after one approval", st, ra.StatusPending)
	_, err = db.AddApproval(ctx, first, entry(at, auditlog.ActionApplicationApprove, "app-1"))
	wantKind(t, err, errkind.Conflict, "")
	second := ra.Approval{ApplicationID: "app-1", Officer: "officer-2", At: at.Add(time.Second), Note: "ok"}
	st, err = db.AddApproval(ctx, second, entry(at, auditlog.ActionApplicationApprove, "app-1"))
	must(t, err)
	equal(t, "status after two approvals (L-21-3-1)", st, ra.StatusApproved)
	got, err := db.Application(ctx, "app-1")
	must(t, err)
	equal(t, "approvals", got.Approvals, []ra.Approval{first, second})
	equal(t, "status", got.Status, ra.StatusApproved)
	third := ra.Approval{ApplicationID: "app-1", Officer: "officer-3", At: at, Note: "late"}
	_, err = db.AddApproval(ctx, third, entry(at, auditlog.ActionApplicationApprove, "app-1"))
	wantKind(t, err, errkind.Conflict, "")
	missing := ra.Approval{ApplicationID: "nope", Officer: "officer-1", At: at}
	_, err = db.AddApproval(ctx, missing, entry(at, auditlog.ActionApplicationApprove, "nope"))
	wantKind(t, err, errkind.NotFound, "")
}

func testApplicationMoves(t *testing.T, db *store.DB) {
	ctx := t.Context()
	at := now()
	publishTerms(t, db, "v1", at)
	createApp(t, db, "app-1", at)
	must(t, db.SetApplicationStatus(ctx, "app-1", ra.StatusPending, ra.StatusRejected,
		entry(at, auditlog.ActionApplicationReject, "app-1")))
	err := db.SetApplicationStatus(ctx, "app-1", ra.StatusPending, ra.StatusApproved,
		entry(at, auditlog.ActionApplicationApprove, "app-1"))
	wantKind(t, err, errkind.Conflict, "")
	err = db.SetApplicationStatus(ctx, "nope", ra.StatusPending, ra.StatusRejected,
		entry(at, auditlog.ActionApplicationReject, "nope"))
	wantKind(t, err, errkind.NotFound, "")
	createApp(t, db, "app-2", at)
	err = db.SetApplicationStatus(ctx, "app-2", ra.StatusPending, ra.StatusIssued,
		entry(at, auditlog.ActionApplicationApprove, "app-2"))
	wantKind(t, err, errkind.Invalid, "")

	// The database itself refuses any other change, whoever writes.
	createApp(t, db, "app-3", at)
	refused := []struct{ name, q string }{
		{"rejected back to pending", "UPDATE applications SET status = 'pending' WHERE id = 'app-1'"},
		{"pending to issued", "UPDATE applications SET status = 'issued' WHERE id = 'app-3'"},
		{"issued without certificate", "UPDATE applications SET status = 'approved', certificate_serial = 'ff' WHERE id = 'app-3'"},
		{"identity changed", "UPDATE applications SET id_number = 'XX' WHERE id = 'app-3'"},
		{"contact changed", "UPDATE applications SET contact_email = 'x@example.ma' WHERE id = 'app-3'"},
		{"created_ms changed", "UPDATE applications SET created_ms = 0 WHERE id = 'app-3'"},
		{"terms changed", "UPDATE applications SET terms_version = 'v1', terms_accepted_ms = 1 WHERE id = 'app-3'"},
	}
	for _, tc := range refused {
		t.Run(tc.name, func(t *testing.T) { wantKind(t, exec(db, tc.q), errkind.Forbidden, law.L21_2) })
	}
	must(t, exec(db, "UPDATE applications SET status = 'approved' WHERE id = 'app-3'"))
}

func testCertificates(t *testing.T, db *store.DB) {
	ctx := t.Context()
	at := now()
	approvedApp(t, db, "app-1", at)
	c := reserve(t, db, "1a2b", "app-1", at)
	got, err := db.Certificate(ctx, "1a2b")
	must(t, err)
	equal(t, "reserved certificate", *got, *c)
	d := reserve(t, db, "3c4d", "app-1", at.Add(time.Second))
	res, err := db.Reserved(ctx)
	must(t, err)
	equal(t, "reservations", res, []ca.Certificate{*c, *d})
	must(t, db.Abandon(ctx, "3c4d", entry(at, auditlog.ActionCertificateAbandon, "3c4d")))
	issued := at.Add(1500 * time.Millisecond)
	must(t, db.MarkIssued(ctx, "1a2b", []byte("der"), issued, entry(at, auditlog.ActionCertificateIssue, "1a2b")))
	got, err = db.Certificate(ctx, "1a2b")
	must(t, err)
	c.Status, c.DER, c.IssuedAt = ca.StatusIssued, []byte("der"), issued
	equal(t, "issued certificate", *got, *c)
	app, err := db.Application(ctx, "app-1")
	must(t, err)
	equal(t, "application after issuance", [2]string{string(app.Status), app.CertificateSerial},
		[2]string{string(ra.StatusIssued), "1a2b"})
	res, err = db.Reserved(ctx)
	must(t, err)
	equal(t, "reservations after issue", len(res), 0)
	wantKind(t, db.MarkIssued(ctx, "3c4d", []byte("der"), issued, entry(at, auditlog.ActionCertificateIssue, "3c4d")),
		errkind.Conflict, "")
	wantKind(t, db.Abandon(ctx, "1a2b", entry(at, auditlog.ActionCertificateAbandon, "1a2b")), errkind.Conflict, "")
	wantKind(t, db.Abandon(ctx, "ffff", entry(at, auditlog.ActionCertificateAbandon, "ffff")), errkind.NotFound, "")
	_, err = db.Certificate(ctx, "ffff")
	wantKind(t, err, errkind.NotFound, "")

	// L-21-3-2: only an approved application is certified.
	createApp(t, db, "app-2", at)
	err = db.Reserve(ctx, certificate("5e6f", "app-2", at), entry(at, auditlog.ActionCertificateReserve, "5e6f"))
	wantKind(t, err, errkind.Invalid, law.L21_3_2)
}

func testSerialTwice(t *testing.T, db *store.DB) {
	ctx := t.Context()
	at := now()
	approvedApp(t, db, "app-1", at)
	reserve(t, db, "1a2b", "app-1", at)
	err := db.Reserve(ctx, certificate("1a2b", "app-1", at), entry(at, auditlog.ActionCertificateReserve, "1a2b"))
	wantKind(t, err, errkind.Conflict, "")
	wantKind(t, exec(db, `INSERT INTO certificates (serial, ca, application_id, profile, spki_sha256, subject,
		not_before_ms, not_after_ms, tbs, status, created_ms) VALUES ('1a2b', 'x', 'app-1', 'p', ?, 's', 0, 0, ?, 'reserved', 0)`,
		[]byte{1}, []byte{1}), errkind.Conflict, "")
}

func testCertificateWithoutApplication(t *testing.T, db *store.DB) {
	ctx := t.Context()
	at := now()
	approvedApp(t, db, "app-1", at)
	for _, appID := range []string{"", "no-such-application"} {
		err := db.Reserve(ctx, certificate("1a2b", appID, at), entry(at, auditlog.ActionCertificateReserve, "1a2b"))
		wantKind(t, err, errkind.Invalid, law.L21_2)
	}
	err := exec(db, `INSERT INTO certificates (serial, ca, application_id, profile, spki_sha256, subject,
		not_before_ms, not_after_ms, tbs, status, created_ms) VALUES ('1a2b', 'x', NULL, 'p', ?, 's', 0, 0, ?, 'reserved', 0)`,
		[]byte{1}, []byte{1})
	wantKind(t, err, errkind.Invalid, "")
}

func testCertificateMoves(t *testing.T, db *store.DB) {
	ctx := t.Context()
	at := now()
	approvedApp(t, db, "app-1", at)
	reserve(t, db, "aa", "app-1", at)
	reserve(t, db, "bb", "app-1", at)
	reserve(t, db, "cc", "app-1", at)
	must(t, db.MarkIssued(ctx, "aa", []byte("der"), at, entry(at, auditlog.ActionCertificateIssue, "aa")))
	must(t, db.Abandon(ctx, "bb", entry(at, auditlog.ActionCertificateAbandon, "bb")))
	refused := []struct{ name, q string }{
		{"issued back to reserved", "UPDATE certificates SET status = 'reserved', der = NULL, issued_ms = NULL WHERE serial = 'aa'"},
		{"issued certificate replaced", "UPDATE certificates SET der = ? WHERE serial = 'aa'"},
		{"abandoned to issued", "UPDATE certificates SET status = 'issued', der = ?, issued_ms = 1 WHERE serial = 'bb'"},
		{"tbs changed", "UPDATE certificates SET tbs = ? WHERE serial = 'cc'"},
		{"issued with another tbs", "UPDATE certificates SET status = 'issued', der = ?, issued_ms = 1, tbs = ? WHERE serial = 'cc'"},
		{"application changed", "UPDATE certificates SET application_id = 'app-1', subject = 'CN=x' WHERE serial = 'cc'"},
		{"serial changed", "UPDATE certificates SET serial = 'dd' WHERE serial = 'cc'"},
	}
	for _, tc := range refused {
		t.Run(tc.name, func(t *testing.T) {
			args := make([]any, 0, 2)
			for range countMarks(tc.q) {
				args = append(args, []byte("forged"))
			}
			wantKind(t, exec(db, tc.q, args...), errkind.Forbidden, law.L21_2)
		})
	}
	must(t, exec(db, "UPDATE certificates SET status = 'abandoned' WHERE serial = 'cc'"))
}

func countMarks(q string) int {
	n := 0
	for _, c := range q {
		if c == '?' {
			n++
		}
	}
	return n
}

func testKeyUses(t *testing.T, db *store.DB) {
	ctx := t.Context()
	at := now()
	approvedApp(t, db, "app-1", at)
	key := spki("app-1")
	uses, err := db.KeyUses(ctx, key)
	must(t, err)
	equal(t, "no uses yet", len(uses), 0)
	reserve(t, db, "aa", "app-1", at)
	reserve(t, db, "bb", "app-1", at.Add(time.Second))
	reserve(t, db, "cc", "app-1", at.Add(2*time.Second))
	must(t, db.MarkIssued(ctx, "bb", []byte("der"), at, entry(at, auditlog.ActionCertificateIssue, "bb")))
	must(t, db.Abandon(ctx, "cc", entry(at, auditlog.ActionCertificateAbandon, "cc")))
	uses, err = db.KeyUses(ctx, key)
	must(t, err)
	equal(t, "uses", uses, []ra.KeyUse{{Serial: "aa", HolderIDNumber: "ABapp-1"}, {Serial: "bb", HolderIDNumber: "ABapp-1"}})
	bad, err := db.KeyCompromised(ctx, key)
	must(t, err)
	equal(t, "compromised before", bad, false)
	for range 2 {
		must(t, db.MarkKeyCompromised(ctx, key, "key-compromise", at, entry(at, auditlog.ActionCertificateAbandon, "key")))
	}
	bad, err = db.KeyCompromised(ctx, key)
	must(t, err)
	equal(t, "compromised after", bad, true)
	uses, err = db.KeyUses(ctx, key)
	must(t, err)
	equal(t, "uses after compromise", uses[0].RevokedForCompromise && uses[1].RevokedForCompromise, true)
	wantKind(t, exec(db, "DELETE FROM compromised_keys"), errkind.Forbidden, law.L21_2)
}

func testAuthorities(t *testing.T, db *store.DB) {
	ctx := t.Context()
	at := now()
	root := ca.Authority{Name: "root", Role: "root", KeyURI: "file:root.key", DER: []byte("root"), CreatedAt: at}
	sig := ca.Authority{Name: "signature", Role: "issuing", Parent: "root", KeyURI: "pkcs11:object=sig",
		DER: []byte("sig"), CreatedAt: at.Add(time.Second)}
	for _, a := range []ca.Authority{root, sig} {
		must(t, db.PutAuthority(ctx, a, entry(at, auditlog.ActionCARegister, a.Name)))
	}
	got, err := db.Authorities(ctx)
	must(t, err)
	equal(t, "authorities", got, []ca.Authority{root, sig})
	wantKind(t, db.PutAuthority(ctx, root, entry(at, auditlog.ActionCARegister, "root")), errkind.Conflict, "")
	wantKind(t, exec(db, "UPDATE authorities SET key_uri = 'file:evil' WHERE name = 'root'"), errkind.Forbidden, law.L21_2)
}

func testUsersAndTokens(t *testing.T, db *store.DB) {
	ctx := t.Context()
	at := now()
	users := []access.User{
		{ID: "u1", Name: "Officer One", Role: access.RoleRAOfficer, IDNumber: "AB1", Email: "u1@example.ma", CreatedAt: at},
		{ID: "u2", Name: "Admin", Role: access.RoleAdmin, IDNumber: "AB2", Email: "u2@example.ma", CreatedAt: at},
	}
	for _, u := range users {
		must(t, db.CreateUser(ctx, u, entry(at, auditlog.ActionUserCreate, u.ID)))
	}
	got, err := db.User(ctx, "u1")
	must(t, err)
	equal(t, "user", *got, users[0])
	all, err := db.Users(ctx)
	must(t, err)
	equal(t, "users", all, users)
	_, err = db.User(ctx, "u9")
	wantKind(t, err, errkind.NotFound, "")
	wantKind(t, db.CreateUser(ctx, users[0], entry(at, auditlog.ActionUserCreate, "u1")), errkind.Conflict, "")

	h1, h2 := sha256.Sum256([]byte("token-1")), sha256.Sum256([]byte("token-2"))
	tokens := []access.Token{
		{SHA256: h1[:], UserID: "u1", CreatedAt: at},
		{SHA256: h2[:], UserID: "u2", CreatedAt: at, ExpiresAt: at.Add(time.Hour)},
	}
	for i, tok := range tokens {
		must(t, db.CreateToken(ctx, tok, entry(at, auditlog.ActionTokenCreate, tok.UserID)))
		gotT, gotU, err := db.TokenUser(ctx, tok.SHA256)
		must(t, err)
		equal(t, "token", *gotT, tok)
		equal(t, "token user", *gotU, users[i])
	}
	h3 := sha256.Sum256([]byte("token-3"))
	_, _, err = db.TokenUser(ctx, h3[:])
	wantKind(t, err, errkind.NotFound, "")
	err = db.CreateToken(ctx, access.Token{SHA256: h3[:], UserID: "u9", CreatedAt: at}, entry(at, auditlog.ActionTokenCreate, "u9"))
	wantKind(t, err, errkind.Invalid, "")
}

// testAuditLog checks that every write appends exactly its entry, with consecutive
// Seq, and that the stored tlog hashes are those recomputed from the entries alone.
func testAuditLog(t *testing.T, db *store.DB) {
	ctx := t.Context()
	at := now()
	var want []auditlog.Entry
	log := func(e auditlog.Entry) auditlog.Entry {
		e.Seq = int64(len(want))
		want = append(want, e)
		return e
	}
	writes := []struct {
		name string
		do   func(e auditlog.Entry) error
	}{
		{"terms", func(e auditlog.Entry) error { return db.PublishTerms(ctx, ra.Terms{Version: "v1", PublishedAt: at}, e) }},
		{"application", func(e auditlog.Entry) error { return db.CreateApplication(ctx, application("a1", "v1", at), e) }},
		{"approval 1", func(e auditlog.Entry) error {
			_, err := db.AddApproval(ctx, ra.Approval{ApplicationID: "a1", Officer: "o1", At: at}, e)
			return err
		}},
		{"approval 2", func(e auditlog.Entry) error {
			_, err := db.AddApproval(ctx, ra.Approval{ApplicationID: "a1", Officer: "o2", At: at}, e)
			return err
		}},
		{"reserve", func(e auditlog.Entry) error { return db.Reserve(ctx, certificate("aa", "a1", at), e) }},
		{"reserve 2", func(e auditlog.Entry) error { return db.Reserve(ctx, certificate("bb", "a1", at), e) }},
		{"issue", func(e auditlog.Entry) error { return db.MarkIssued(ctx, "aa", []byte("der"), at, e) }},
		{"abandon", func(e auditlog.Entry) error { return db.Abandon(ctx, "bb", e) }},
		{"authority", func(e auditlog.Entry) error {
			return db.PutAuthority(ctx, ca.Authority{Name: "root", DER: []byte("r"), CreatedAt: at}, e)
		}},
		{"user", func(e auditlog.Entry) error { return db.CreateUser(ctx, access.User{ID: "u1", CreatedAt: at}, e) }},
		{"token", func(e auditlog.Entry) error {
			return db.CreateToken(ctx, access.Token{SHA256: spki("t"), UserID: "u1", CreatedAt: at}, e)
		}},
		{"compromised key", func(e auditlog.Entry) error { return db.MarkKeyCompromised(ctx, spki("k"), "r", at, e) }},
		{"reject", func(e auditlog.Entry) error {
			if err := db.CreateApplication(ctx, application("a2", "v1", at), log(entry(at, auditlog.ActionApplicationCreate, "a2"))); err != nil {
				return err
			}
			return db.SetApplicationStatus(ctx, "a2", ra.StatusPending, ra.StatusRejected, e)
		}},
	}
	for i, w := range writes {
		e := entry(at.Add(time.Duration(i)*time.Millisecond), auditlog.Action("test."+w.name), w.name)
		if err := w.do(e); err != nil {
			t.Fatalf("%s: %v", w.name, err)
		}
		log(e)
	}
	must(t, db.Append(ctx, log(entry(at, auditlog.ActionLogin, "u1")), log(entry(at, auditlog.ActionPersonalDataRead, "a1"))))
	for i := range want {
		want[i].Data = append([]byte(nil), want[i].Data...)
	}
	checkLog(t, db, want)
}

// checkLog compares the stored log with want: entries, Seq, and every stored hash.
func checkLog(t *testing.T, db *store.DB, want []auditlog.Entry) {
	t.Helper()
	ctx := t.Context()
	n := int64(len(want))
	size, err := db.AuditSize(ctx)
	must(t, err)
	equal(t, "log size", size, n)
	got, err := db.AuditEntries(ctx, 0, n+5)
	must(t, err)
	equal(t, "entries", got, want)
	hashes := storedHashes(t, want)
	idx := make([]int64, len(hashes))
	for i := range idx {
		idx[i] = int64(i)
	}
	stored, err := db.ReadHashes(ctx, idx)
	must(t, err)
	equal(t, "stored hashes", stored, hashes)
	_, err = db.ReadHashes(ctx, []int64{int64(len(hashes))})
	if err == nil {
		t.Fatal("reading a hash past the end succeeded")
	}
}

func testFailedWrite(t *testing.T, db *store.DB) {
	ctx := t.Context()
	at := now()
	approvedApp(t, db, "app-1", at)
	reserve(t, db, "aa", "app-1", at)
	before, err := db.AuditSize(ctx)
	must(t, err)
	wantKind(t, db.Reserve(ctx, certificate("aa", "app-1", at), entry(at, auditlog.ActionCertificateReserve, "aa")),
		errkind.Conflict, "")
	after, err := db.AuditSize(ctx)
	must(t, err)
	equal(t, "log size after a refused write", after, before)
	entries, err := db.AuditEntries(ctx, 0, after)
	must(t, err)
	equal(t, "entries", int64(len(entries)), before)
}

func testCheckpoints(t *testing.T, db *store.DB) {
	ctx := t.Context()
	at := now()
	_, err := db.LatestCheckpoint(ctx)
	wantKind(t, err, errkind.NotFound, "")
	var entries []auditlog.Entry
	var cps []auditlog.Checkpoint
	for i := range 5 {
		e := entry(at, auditlog.ActionLogin, fmt.Sprint(i))
		must(t, db.Append(ctx, e))
		e.Seq = int64(i)
		entries = append(entries, e)
		if i%2 == 0 {
			continue
		}
		c := checkpointOf(t, entries, at)
		must(t, db.PutCheckpoint(ctx, c))
		cps = append(cps, c)
	}
	latest, err := db.LatestCheckpoint(ctx)
	must(t, err)
	equal(t, "latest checkpoint", *latest, cps[len(cps)-1])
	all, err := db.Checkpoints(ctx)
	must(t, err)
	equal(t, "checkpoints", all, cps)
	wantKind(t, db.PutCheckpoint(ctx, cps[0]), errkind.Conflict, "")
	forged := checkpointOf(t, entries, at)
	forged.Root[0] ^= 1
	wantKind(t, db.PutCheckpoint(ctx, forged), errkind.Invalid, law.L21_2)
	future := checkpointOf(t, entries, at)
	future.Size = 99
	wantKind(t, db.PutCheckpoint(ctx, future), errkind.Invalid, law.L21_2)
	wantKind(t, exec(db, "UPDATE checkpoints SET signed = ? WHERE size = 2", []byte("x")), errkind.Forbidden, law.L21_2)
}

func checkpointOf(t *testing.T, entries []auditlog.Entry, at time.Time) auditlog.Checkpoint {
	t.Helper()
	all := storedHashes(t, entries)
	root, err := tlog.TreeHash(int64(len(entries)), tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(idx))
		for i, x := range idx {
			out[i] = all[x]
		}
		return out, nil
	}))
	must(t, err)
	return auditlog.Checkpoint{Size: int64(len(entries)), Root: root, Time: at,
		Signed: fmt.Appendf(nil, "checkpoint %d", len(entries))}
}

func testImmutable(t *testing.T, db *store.DB) {
	ctx := t.Context()
	at := now()
	approvedApp(t, db, "app-1", at)
	must(t, db.PutCheckpoint(ctx, checkpointAt(t, db, 0, at)))
	must(t, db.PutAuthority(ctx, ca.Authority{Name: "root", DER: []byte("r"), CreatedAt: at}, entry(at, auditlog.ActionCARegister, "root")))
	must(t, db.MarkKeyCompromised(ctx, spki("k"), "r", at, entry(at, auditlog.ActionLogin, "k")))
	refused := []struct{ name, q string }{
		{"audit entry", "UPDATE audit_entries SET actor = 'someone else' WHERE seq = 0"},
		{"audit entry moved", "UPDATE audit_entries SET seq = 1000 WHERE seq = 0"},
		{"audit hash", "UPDATE audit_hashes SET created_ms = 0 WHERE idx = 0"},
		{"audit head shrinks", "UPDATE audit_head SET size = 0"},
		{"audit head removed", "DELETE FROM audit_head"},
		{"approval", "UPDATE approvals SET note = 'changed'"},
		{"terms", "UPDATE terms SET text = 'other conditions'"},
		{"checkpoint", "UPDATE checkpoints SET created_ms = 0"},
		{"authority", "UPDATE authorities SET role = 'x'"},
		{"compromised key", "UPDATE compromised_keys SET reason = 'x'"},
	}
	for _, tc := range refused {
		t.Run(tc.name, func(t *testing.T) { wantKind(t, exec(db, tc.q), errkind.Forbidden, law.L21_2) })
	}
}

// testRetention proves that no record is deleted before law.RetentionYears years, by the
// database's clock, and that a record older than that may be.
func testRetention(t *testing.T, db *store.DB) {
	ctx := t.Context()
	recent, past := now(), old()
	// Records created now: each DELETE is refused.
	approvedApp(t, db, "app-1", recent)
	reserve(t, db, "aa", "app-1", recent)
	must(t, db.CreateUser(ctx, access.User{ID: "u1", CreatedAt: recent}, entry(recent, auditlog.ActionUserCreate, "u1")))
	must(t, db.PutAuthority(ctx, ca.Authority{Name: "root", DER: []byte("r"), CreatedAt: recent}, entry(recent, auditlog.ActionCARegister, "root")))
	must(t, db.MarkKeyCompromised(ctx, spki("k"), "r", recent, entry(recent, auditlog.ActionLogin, "k")))
	size, err := db.AuditSize(ctx)
	must(t, err)
	c := checkpointAt(t, db, size, recent)
	must(t, db.PutCheckpoint(ctx, c))
	tables := []string{"certificates", "approvals", "applications", "terms", "users", "authorities",
		"compromised_keys", "checkpoints", "audit_entries", "audit_hashes"}
	for _, table := range tables {
		t.Run("recent "+table, func(t *testing.T) {
			wantKind(t, exec(db, "DELETE FROM "+table), errkind.Forbidden, law.L21_2)
		})
	}

	// Records older than the retention period may go.
	publishTerms(t, db, "v-old", past)
	a := application("app-old", "v-old", past)
	must(t, db.CreateApplication(ctx, a, entry(past, auditlog.ActionApplicationCreate, "app-old")))
	approve(t, db, "app-old", past)
	must(t, db.Reserve(ctx, certificate("old", "app-old", past), entry(past, auditlog.ActionCertificateReserve, "old")))
	must(t, db.CreateUser(ctx, access.User{ID: "u-old", CreatedAt: past}, entry(past, auditlog.ActionUserCreate, "u-old")))
	must(t, db.PutAuthority(ctx, ca.Authority{Name: "old", DER: []byte("r"), CreatedAt: past}, entry(past, auditlog.ActionCARegister, "old")))
	must(t, db.MarkKeyCompromised(ctx, spki("old"), "r", past, entry(past, auditlog.ActionLogin, "old")))
	size, err = db.AuditSize(ctx)
	must(t, err)
	must(t, db.PutCheckpoint(ctx, checkpointAt(t, db, size, past)))
	allowed := []struct{ name, q string }{
		{"certificate", "DELETE FROM certificates WHERE serial = 'old'"},
		{"approvals", "DELETE FROM approvals WHERE application_id = 'app-old'"},
		{"application", "DELETE FROM applications WHERE id = 'app-old'"},
		{"terms", "DELETE FROM terms WHERE version = 'v-old'"},
		{"user", "DELETE FROM users WHERE id = 'u-old'"},
		{"authority", "DELETE FROM authorities WHERE name = 'old'"},
		{"compromised key", "DELETE FROM compromised_keys WHERE spki_sha256 = ?"},
		{"checkpoint", fmt.Sprintf("DELETE FROM checkpoints WHERE size = %d", size)},
		{"audit entries", fmt.Sprintf("DELETE FROM audit_entries WHERE created_ms = %d", past.UnixMilli())},
		{"audit hashes", fmt.Sprintf("DELETE FROM audit_hashes WHERE created_ms = %d", past.UnixMilli())},
	}
	for _, tc := range allowed {
		t.Run("old "+tc.name, func(t *testing.T) {
			var args []any
			if countMarks(tc.q) > 0 {
				args = append(args, spki("old"))
			}
			must(t, exec(db, tc.q, args...))
		})
	}
}

func checkpointAt(t *testing.T, db *store.DB, size int64, at time.Time) auditlog.Checkpoint {
	t.Helper()
	ctx := t.Context()
	entries, err := db.AuditEntries(ctx, 0, size)
	must(t, err)
	return checkpointOf(t, entries, at)
}

// testConcurrent has 8 goroutines append and reserve at once; the log must have no gap,
// no duplicate Seq, and hashes that match its entries.
func testConcurrent(t *testing.T, db *store.DB) {
	ctx := t.Context()
	at := now()
	approvedApp(t, db, "app-1", at)
	const workers, each = 8, 10
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				subject := fmt.Sprintf("%x%02x", w+1, i)
				var err error
				if i%2 == 0 {
					err = db.Append(ctx, entry(at, auditlog.ActionLogin, subject), entry(at, auditlog.ActionLogin, subject+"b"))
				} else {
					err = db.Reserve(ctx, certificate(subject, "app-1", at), entry(at, auditlog.ActionCertificateReserve, subject))
				}
				if err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	size, err := db.AuditSize(ctx)
	must(t, err)
	entries, err := db.AuditEntries(ctx, 0, size)
	must(t, err)
	for i, e := range entries {
		if e.Seq != int64(i) {
			t.Fatalf("entry %d has seq %d", i, e.Seq)
		}
	}
	checkLog(t, db, entries)
	res, err := db.Reserved(ctx)
	must(t, err)
	equal(t, "reservations", len(res), workers*each/2)
	equal(t, "log size", size, int64(4+workers*(each/2*2+each/2)))
}

// testGroupCommit has 32 writers at once, a third of them refused (a serial used
// twice): every refused write leaves no trace and every accepted one is stored with
// its entry, even when both shared one transaction.
func testGroupCommit(t *testing.T, db *store.DB) {
	ctx := t.Context()
	at := now()
	approvedApp(t, db, "app-1", at)
	reserve(t, db, "dup", "app-1", at)
	before, err := db.AuditSize(ctx)
	must(t, err)
	const writers = 32
	var wg sync.WaitGroup
	var refused, accepted atomic.Int64
	for w := range writers {
		wg.Go(func() {
			serial := fmt.Sprintf("g%02x", w)
			if w%3 == 0 {
				serial = "dup"
			}
			err := db.Reserve(ctx, certificate(serial, "app-1", at), entry(at, auditlog.ActionCertificateReserve, serial))
			switch {
			case err == nil:
				accepted.Add(1)
			case errkind.Is(err, errkind.Conflict):
				refused.Add(1)
			default:
				t.Errorf("writer %d: %v", w, err)
			}
		})
	}
	wg.Wait()
	equal(t, "refused", refused.Load(), int64((writers+2)/3))
	equal(t, "accepted", accepted.Load(), int64(writers-(writers+2)/3))
	size, err := db.AuditSize(ctx)
	must(t, err)
	equal(t, "entries added", size-before, accepted.Load())
	entries, err := db.AuditEntries(ctx, 0, size)
	must(t, err)
	checkLog(t, db, entries)
	for _, e := range entries[before:] {
		if e.Subject == "dup" {
			t.Errorf("a refused reservation left entry %d", e.Seq)
		}
	}
	res, err := db.Reserved(ctx)
	must(t, err)
	equal(t, "reservations", int64(len(res)), accepted.Load()+1)
}

// testConcurrentApprovals: two officers approving at the same moment both count, and
// the application is approved (L-21-3-1), whatever the order their writes commit in.
func testConcurrentApprovals(t *testing.T, db *store.DB) {
	ctx := t.Context()
	at := now()
	publishTerms(t, db, "v1", at)
	createApp(t, db, "app-1", at)
	var wg sync.WaitGroup
	statuses := make(chan ra.Status, 2)
	for i := range 2 {
		wg.Go(func() {
			ap := ra.Approval{ApplicationID: "app-1", Officer: fmt.Sprintf("officer-%d", i+1), At: at}
			st, err := db.AddApproval(ctx, ap, entry(at, auditlog.ActionApplicationApprove, "app-1"))
			if err != nil {
				t.Error(err)
			}
			statuses <- st
		})
	}
	wg.Wait()
	close(statuses)
	var got []ra.Status
	for st := range statuses {
		got = append(got, st)
	}
	if !slices.Contains(got, ra.StatusApproved) {
		t.Errorf("two concurrent approvals returned %v: neither moved the application to approved", got)
	}
	a, err := db.Application(ctx, "app-1")
	must(t, err)
	equal(t, "status", a.Status, ra.StatusApproved)
}

// testCheckpointTimestamps stores checkpoints with and without a time-stamp token:
// the token is kept byte for byte in the checkpoint's row, an absent one reads back
// as nil, and neither can be added or changed afterwards (L-21-2).
func testCheckpointTimestamps(t *testing.T, db *store.DB) {
	ctx := t.Context()
	at := now()
	var entries []auditlog.Entry
	var cps []auditlog.Checkpoint
	for i := range 3 {
		e := entry(at, auditlog.ActionLogin, fmt.Sprint(i))
		must(t, db.Append(ctx, e))
		e.Seq = int64(i)
		entries = append(entries, e)
		c := checkpointOf(t, entries, at)
		if i != 1 {
			c.Timestamp = fmt.Appendf(nil, "\x30\x03token %d\x00\xff", i) // opaque to the store
		}
		must(t, db.PutCheckpoint(ctx, c))
		cps = append(cps, c)
	}
	all, err := db.Checkpoints(ctx)
	must(t, err)
	equal(t, "checkpoints", all, cps)
	if all[1].Timestamp != nil {
		t.Fatalf("an unstamped checkpoint reads back with token %x", all[1].Timestamp)
	}
	latest, err := db.LatestCheckpoint(ctx)
	must(t, err)
	equal(t, "latest checkpoint", *latest, cps[2])
	wantKind(t, exec(db, "UPDATE checkpoints SET timestamp_token = ? WHERE size = 2", []byte("late token")), errkind.Forbidden, law.L21_2)
	wantKind(t, exec(db, "UPDATE checkpoints SET timestamp_token = NULL WHERE size = 1"), errkind.Forbidden, law.L21_2)
}
