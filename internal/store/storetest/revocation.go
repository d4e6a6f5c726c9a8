package storetest

import (
	"sync"
	"testing"
	"time"

	"github.com/tawthiq/tawthiq/internal/auditlog"
	"github.com/tawthiq/tawthiq/internal/errkind"
	"github.com/tawthiq/tawthiq/internal/law"
	"github.com/tawthiq/tawthiq/internal/revocation"
	"github.com/tawthiq/tawthiq/internal/store"
)

// revocationCases returns the conformance cases of revocation, CRLs and leases.
func revocationCases() []testCase {
	return []testCase{
		{"TestLeases", testLeases},
		{"TestLeaseOneWinner", testLeaseOneWinner},
		{"TestRevocations_L21_1", testRevocations},
		{"TestRevocationFinal_L21_rev", testRevocationFinal},
		{"TestRevokeOnlyIssued_L21_3_7", testRevokeOnlyIssued},
		{"TestRevokeCompromisedKey_L25", testRevokeCompromisedKey},
		{"TestRevocationSecret_L21_1", testRevocationSecret},
		{"TestCRLs_L21_rev", testCRLs},
	}
}

func testLeases(t *testing.T, db *store.DB) {
	ctx := t.Context()
	take := func(holder string, ttl time.Duration) bool {
		t.Helper()
		ok, err := db.TakeLease(ctx, "job", holder, ttl)
		must(t, err)
		return ok
	}
	if !take("a", 300*time.Millisecond) {
		t.Fatal("a could not take a free lease")
	}
	if take("b", time.Minute) {
		t.Fatal("b took a lease a holds")
	}
	if !take("a", 300*time.Millisecond) {
		t.Fatal("a could not renew its own lease")
	}
	if ok, err := db.TakeLease(ctx, "other-job", "b", time.Minute); err != nil || !ok {
		t.Fatalf("b could not take another lease: %v %v", ok, err)
	}
	time.Sleep(400 * time.Millisecond)
	if !take("b", time.Minute) {
		t.Fatal("b could not take an expired lease")
	}
	if take("a", time.Minute) {
		t.Fatal("a took back a lease b now holds")
	}
	must(t, db.ReleaseLease(ctx, "job", "b"))
	if !take("a", time.Minute) {
		t.Fatal("a could not take a released lease")
	}
	_, err := db.TakeLease(ctx, "", "a", time.Minute)
	wantKind(t, err, errkind.Invalid, "")
}

func testLeaseOneWinner(t *testing.T, db *store.DB) {
	var wg sync.WaitGroup
	var mu sync.Mutex
	won := 0
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ok, err := db.TakeLease(t.Context(), "race", string(rune('a'+i)), time.Minute)
			if err != nil {
				t.Error(err)
			}
			if ok {
				mu.Lock()
				won++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if won != 1 {
		t.Fatalf("%d holders took the lease, want 1", won)
	}
}

// issued records an approved application and an issued certificate of it.
func issued(t *testing.T, db *store.DB, serial, appID string, at time.Time, terms bool) {
	t.Helper()
	if terms {
		publishTerms(t, db, "v1", at)
	}
	createApp(t, db, appID, at)
	approve(t, db, appID, at)
	reserve(t, db, serial, appID, at)
	must(t, db.MarkIssued(t.Context(), serial, []byte("der-"+serial), at, entry(at, auditlog.ActionCertificateIssue, serial)))
}

func rev(serial string, ground law.Ground, at time.Time) revocation.Revocation {
	rule, _ := law.LookupGround(ground)
	return revocation.Revocation{Serial: serial, CA: "signature", Ground: ground, Reason: rule.Reason,
		RequestedAt: at.Add(-time.Millisecond), RevokedAt: at, RequestedBy: "officer-1", Note: "n", OrderRef: ""}
}

func testRevocations(t *testing.T, db *store.DB) {
	ctx := t.Context()
	at := now()
	issued(t, db, "0a1b", "app-1", at, true)
	sub, err := db.RevocationSubject(ctx, "0a1b")
	must(t, err)
	equal(t, "subject", *sub, revocation.Subject{Serial: "0a1b", CA: "signature", Issued: true, SubmittedBy: "officer-0",
		SPKISHA256: spki("app-1"), NotAfter: at.AddDate(2, 0, 0)})
	serials, err := db.IssuedUnrevoked(ctx, "signature", nil)
	must(t, err)
	equal(t, "unrevoked", serials, []string{"0a1b"})
	r := rev("0a1b", law.GroundKeyCompromise, at)
	r.InvalidityDate = at.Add(-time.Hour)
	must(t, db.Revoke(ctx, []revocation.Revocation{r}, nil, []auditlog.Entry{entry(at, auditlog.ActionCertificateRevoke, "0a1b")}))
	got, err := db.Revocation(ctx, "0a1b")
	must(t, err)
	equal(t, "revocation", *got, r)
	sub, err = db.RevocationSubject(ctx, "0a1b")
	must(t, err)
	if !sub.Revoked {
		t.Fatal("subject not marked revoked")
	}
	serials, err = db.IssuedUnrevoked(ctx, "signature", nil)
	must(t, err)
	equal(t, "unrevoked after revocation", len(serials), 0)
	_, err = db.Revocation(ctx, "ffff")
	wantKind(t, err, errkind.NotFound, "")
	_, err = db.RevocationSubject(ctx, "ffff")
	wantKind(t, err, errkind.NotFound, "")
	es, err := db.CRLEntries(ctx, "signature", at)
	must(t, err)
	equal(t, "CRL entries", es, []revocation.Entry{{Serial: "0a1b", RevokedAt: at, Reason: law.ReasonKeyCompromise, InvalidityDate: r.InvalidityDate}})
	es, err = db.CRLEntries(ctx, "signature", at.Add(-time.Second))
	must(t, err)
	equal(t, "CRL entries before the decision", len(es), 0)
}

func testRevocationFinal(t *testing.T, db *store.DB) {
	ctx := t.Context()
	at := now()
	issued(t, db, "0a1b", "app-1", at, true)
	r := rev("0a1b", law.GroundHolderRequest, at)
	must(t, db.Revoke(ctx, []revocation.Revocation{r}, nil, []auditlog.Entry{entry(at, auditlog.ActionCertificateRevoke, "0a1b")}))
	size, err := db.AuditSize(ctx)
	must(t, err)
	// Revoked again: refused, and no audit entry is left behind.
	err = db.Revoke(ctx, []revocation.Revocation{rev("0a1b", law.GroundFalseInformation, at)}, nil, []auditlog.Entry{entry(at, auditlog.ActionCertificateRevoke, "0a1b")})
	wantKind(t, err, errkind.Conflict, law.L21Rev)
	if n, _ := db.AuditSize(ctx); n != size {
		t.Fatalf("audit log grew from %d to %d on a refused revocation", size, n)
	}
	// Bypassing the store: a direct insert, an un-revocation, a changed ground.
	wantKind(t, exec(db, `INSERT INTO revocations (serial, ca, ground, reason, requested_ms, revoked_ms, requested_by,
		note, order_ref, created_ms) VALUES ('0a1b', 'signature', 'x', 0, 1, 1, 'x', '', '', 1)`), errkind.Conflict, "")
	wantKind(t, exec(db, "DELETE FROM revocations"), errkind.Forbidden, law.L21_2)
	wantKind(t, exec(db, "UPDATE revocations SET ground = 'cessation'"), errkind.Forbidden, law.L21Rev)
	wantKind(t, exec(db, "UPDATE revocations SET revoked_ms = revoked_ms + 1"), errkind.Forbidden, law.L21Rev)
	// The first publication time is filled once, then never changed.
	must(t, exec(db, "UPDATE revocations SET crl_published_ms = ?", at.UnixMilli()))
	wantKind(t, exec(db, "UPDATE revocations SET crl_published_ms = ?", at.UnixMilli()+1), errkind.Forbidden, law.L21Rev)
	must(t, exec(db, "UPDATE revocations SET ocsp_published_ms = ?", at.UnixMilli()))
	wantKind(t, exec(db, "UPDATE revocations SET ocsp_published_ms = NULL"), errkind.Forbidden, law.L21Rev)
}

func testRevokeOnlyIssued(t *testing.T, db *store.DB) {
	ctx := t.Context()
	at := now()
	publishTerms(t, db, "v1", at)
	createApp(t, db, "app-1", at)
	approve(t, db, "app-1", at)
	reserve(t, db, "0a1b", "app-1", at)
	err := db.Revoke(ctx, []revocation.Revocation{rev("0a1b", law.GroundHolderRequest, at)}, nil, []auditlog.Entry{entry(at, auditlog.ActionCertificateRevoke, "0a1b")})
	wantKind(t, err, errkind.Forbidden, law.L21_3_7)
	sub, err := db.RevocationSubject(ctx, "0a1b")
	must(t, err)
	if sub.Issued || sub.Revoked {
		t.Fatalf("reserved certificate: %+v", sub)
	}
	// Under another CA's name: refused too.
	must(t, db.MarkIssued(ctx, "0a1b", []byte("der"), at, entry(at, auditlog.ActionCertificateIssue, "0a1b")))
	r := rev("0a1b", law.GroundHolderRequest, at)
	r.CA = "seal"
	wantKind(t, db.Revoke(ctx, []revocation.Revocation{r}, nil, nil), errkind.Forbidden, law.L21_3_7)
}

func testRevokeCompromisedKey(t *testing.T, db *store.DB) {
	ctx := t.Context()
	at := now()
	issued(t, db, "01", "app-1", at, true)
	// A second certificate of the same key (a renewal).
	a := application("app-2", "v1", at)
	a.SPKISHA256 = spki("app-1")
	must(t, db.CreateApplication(ctx, a, entry(at, auditlog.ActionApplicationCreate, "app-2")))
	approve(t, db, "app-2", at)
	c := certificate("02", "app-2", at)
	c.SPKISHA256 = spki("app-1")
	must(t, db.Reserve(ctx, c, entry(at, auditlog.ActionCertificateReserve, "02")))
	must(t, db.MarkIssued(ctx, "02", []byte("der"), at, entry(at, auditlog.ActionCertificateIssue, "02")))
	serials, err := db.IssuedUnrevoked(ctx, "", spki("app-1"))
	must(t, err)
	equal(t, "certificates of the key", serials, []string{"01", "02"})
	// One certificate of the key left unrevoked: refused, nothing recorded.
	err = db.Revoke(ctx, []revocation.Revocation{rev("01", law.GroundKeyCompromise, at)}, spki("app-1"), nil)
	wantKind(t, err, errkind.Conflict, law.L25)
	if bad, _ := db.KeyCompromised(ctx, spki("app-1")); bad {
		t.Fatal("key marked compromised by a refused revocation")
	}
	must(t, db.Revoke(ctx, []revocation.Revocation{rev("01", law.GroundKeyCompromise, at), rev("02", law.GroundKeyCompromise, at)},
		spki("app-1"), []auditlog.Entry{entry(at, auditlog.ActionCertificateRevoke, "01"), entry(at, auditlog.ActionCertificateRevoke, "02")}))
	bad, err := db.KeyCompromised(ctx, spki("app-1"))
	must(t, err)
	if !bad {
		t.Fatal("key not marked compromised")
	}
	uses, err := db.KeyUses(ctx, spki("app-1"))
	must(t, err)
	for _, u := range uses {
		if !u.RevokedForCompromise {
			t.Fatalf("key use %+v not marked compromised", u)
		}
	}
}

func testRevocationSecret(t *testing.T, db *store.DB) {
	ctx := t.Context()
	at := now()
	publishTerms(t, db, "v1", at)
	a := application("app-1", "v1", at)
	a.RevocationSecretSHA256 = spki("secret")
	must(t, db.CreateApplication(ctx, a, entry(at, auditlog.ActionApplicationCreate, "app-1")))
	approve(t, db, "app-1", at)
	reserve(t, db, "0a", "app-1", at)
	h, err := db.RevocationSecretHash(ctx, "0a")
	must(t, err)
	equal(t, "secret hash", h, spki("secret"))
	_, err = db.RevocationSecretHash(ctx, "0b")
	wantKind(t, err, errkind.NotFound, "")
	wantKind(t, exec(db, "UPDATE revocation_secrets SET created_ms = 1"), errkind.Forbidden, law.L21_2)
	wantKind(t, exec(db, "DELETE FROM revocation_secrets"), errkind.Forbidden, law.L21_2)
	// A malformed hash refuses the whole application.
	b := application("app-2", "v1", at)
	b.RevocationSecretSHA256 = []byte("short")
	wantKind(t, db.CreateApplication(ctx, b, entry(at, auditlog.ActionApplicationCreate, "app-2")), errkind.Invalid, "")
	_, err = db.Application(ctx, "app-2")
	wantKind(t, err, errkind.NotFound, "")
}

func testCRLs(t *testing.T, db *store.DB) {
	ctx := t.Context()
	at := now()
	issued(t, db, "0a", "app-1", at, true)
	n, err := db.LastCRLNumber(ctx, "signature")
	must(t, err)
	equal(t, "no CRL number", n, int64(-1))
	_, err = db.LatestCRL(ctx, "signature")
	wantKind(t, err, errkind.NotFound, "")
	must(t, db.Revoke(ctx, []revocation.Revocation{rev("0a", law.GroundCessation, at)}, nil, nil))
	cas, err := db.UnpublishedCAs(ctx)
	must(t, err)
	equal(t, "unpublished", cas, []string{"signature"})
	this := at.Truncate(time.Second).Add(time.Second)
	crl := func(number int64, name string) revocation.CRL {
		return revocation.CRL{CA: "signature", Number: number, Name: name, DER: []byte("crl-" + name),
			Entries: 1, ThisUpdate: this, NextUpdate: this.Add(law.CRLValidity)}
	}
	pub := law.Timestamp(at.Add(2 * time.Second))
	must(t, db.PutCRLs(ctx, []revocation.CRL{crl(0, "signature"), crl(1, "signature-0")}, this, pub,
		[]auditlog.Entry{entry(at, auditlog.ActionCRLPublish, "signature")}))
	got, err := db.LatestCRL(ctx, "signature-0")
	must(t, err)
	equal(t, "latest shard CRL", *got, crl(1, "signature-0"))
	n, err = db.LastCRLNumber(ctx, "signature")
	must(t, err)
	equal(t, "CRL number", n, int64(1))
	r, err := db.Revocation(ctx, "0a")
	must(t, err)
	equal(t, "published at", r.CRLPublishedAt, pub)
	cas, err = db.UnpublishedCAs(ctx)
	must(t, err)
	equal(t, "unpublished after the CRL", len(cas), 0)
	// CRL numbers only increase (RFC 5280 §5.2.3).
	wantKind(t, db.PutCRLs(ctx, []revocation.CRL{crl(1, "signature")}, this, pub, nil), errkind.Conflict, law.L21Rev)
	must(t, db.PutCRLs(ctx, []revocation.CRL{crl(2, "signature")}, this, pub.Add(time.Second), nil))
	got, err = db.LatestCRL(ctx, "signature")
	must(t, err)
	equal(t, "latest number", got.Number, int64(2))
	r, err = db.Revocation(ctx, "0a")
	must(t, err)
	equal(t, "first publication kept", r.CRLPublishedAt, pub)
	wantKind(t, exec(db, "UPDATE crls SET der = ?", []byte("x")), errkind.Forbidden, law.L21_2)
	wantKind(t, exec(db, "DELETE FROM crls"), errkind.Forbidden, law.L21_2)
}
