package storetest

import (
	"testing"
	"time"

	"github.com/tawthiq/tawthiq/internal/auditlog"
	"github.com/tawthiq/tawthiq/internal/errkind"
	"github.com/tawthiq/tawthiq/internal/law"
	"github.com/tawthiq/tawthiq/internal/ocsp"
	"github.com/tawthiq/tawthiq/internal/revocation"
	"github.com/tawthiq/tawthiq/internal/store"
)

// ocspCases returns the conformance cases of pre-signed OCSP responses.
func ocspCases() []testCase {
	return []testCase{
		{"TestOCSPResponses", testOCSPResponses},
		{"TestOCSPPublication_L21Rev", testOCSPPublication},
		{"TestOCSPNeverGoodAfterRevocation_L21Rev", testOCSPNeverGood},
	}
}

// issued records an approved application and its issued certificate.
func ocspIssued(t *testing.T, db *store.DB, serial, appID string, at time.Time) {
	t.Helper()
	reserve(t, db, serial, appID, at)
	must(t, db.MarkIssued(t.Context(), serial, []byte("der-"+serial), at, entry(at, auditlog.ActionCertificateIssue, serial)))
}

func ocspResponse(serial string, st ocsp.Status, at time.Time) ocsp.Response {
	return ocsp.Response{Serial: serial, CA: "signature", Status: st, DER: []byte("sha1-" + serial + string(st)),
		DERSHA256: []byte("sha256-" + serial + string(st)), ThisUpdate: at, NextUpdate: at.Add(law.OCSPValidity)}
}

func revokeIn(t *testing.T, db *store.DB, serial string, at time.Time) {
	t.Helper()
	r := revocation.Revocation{Serial: serial, CA: "signature", Ground: law.GroundKeyCompromise, Reason: law.ReasonKeyCompromise,
		RequestedAt: at, RevokedAt: at, RequestedBy: "holder", Note: "lost"}
	must(t, db.Revoke(t.Context(), []revocation.Revocation{r}, nil, []auditlog.Entry{entry(at, "revocation.revoke", serial)}))
}

func allResponses(t *testing.T, db *store.DB, since time.Time) []ocsp.Response {
	t.Helper()
	var out []ocsp.Response
	must(t, db.OCSPResponsesSince(t.Context(), since, func(r *ocsp.Response) error { out = append(out, *r); return nil }))
	return out
}

func testOCSPResponses(t *testing.T, db *store.DB) {
	ctx := t.Context()
	at := now()
	publishTerms(t, db, "v1", at)
	for _, id := range []string{"a1", "a2", "a3"} {
		createApp(t, db, id, at)
		approve(t, db, id, at)
	}
	ocspIssued(t, db, "0a01", "a1", at)
	ocspIssued(t, db, "0a02", "a2", at.Add(time.Second))
	reserve(t, db, "0a03", "a3", at) // reserved only: never signed

	unsigned, err := db.UnsignedCertificates(ctx, time.Time{}, 10)
	must(t, err)
	equal(t, "unsigned certificates", unsigned, []string{"0a01", "0a02"})
	unsigned, err = db.UnsignedCertificates(ctx, at.Add(time.Second), 10)
	must(t, err)
	equal(t, "unsigned since", unsigned, []string{"0a02"})

	first := ocspResponse("0a01", ocsp.Good, at)
	must(t, db.PutOCSPResponses(ctx, []ocsp.Response{first, ocspResponse("0a02", ocsp.Good, at.Add(time.Second))}, nil))
	unsigned, err = db.UnsignedCertificates(ctx, time.Time{}, 10)
	must(t, err)
	equal(t, "unsigned after signing", len(unsigned), 0)
	equal(t, "all responses", allResponses(t, db, time.Time{}), []ocsp.Response{first, ocspResponse("0a02", ocsp.Good, at.Add(time.Second))})
	equal(t, "responses since", len(allResponses(t, db, at.Add(time.Second))), 1)

	// Re-signing replaces; an older response never replaces a newer one.
	newer := ocspResponse("0a01", ocsp.Good, at.Add(time.Hour))
	newer.DER = []byte("newer")
	must(t, db.PutOCSPResponses(ctx, []ocsp.Response{newer}, nil))
	must(t, db.PutOCSPResponses(ctx, []ocsp.Response{first}, nil))
	got := allResponses(t, db, at.Add(time.Hour))
	equal(t, "replaced", got, []ocsp.Response{newer})

	stale, err := db.StaleOCSPResponses(ctx, at.Add(time.Minute), 10)
	must(t, err)
	equal(t, "stale", stale, []string{"0a02"})

	st, err := db.OCSPStatuses(ctx, []string{"0a01", "0a03", "ffff"})
	must(t, err)
	if len(st) != 2 {
		t.Fatalf("statuses %+v, want 0a01 and 0a03", st)
	}
	for _, s := range st {
		if s.Serial == "0a01" && (!s.Issued || s.Revoked || s.CA != "signature") || s.Serial == "0a03" && s.Issued {
			t.Fatalf("status %+v", s)
		}
	}
	// A response for a certificate never recorded is refused.
	wantKind(t, db.PutOCSPResponses(ctx, []ocsp.Response{ocspResponse("ffff", ocsp.Good, at)}, nil), errkind.Invalid, "")
	// Responses are regenerated, not records: they may be deleted.
	must(t, exec(db, "DELETE FROM ocsp_responses WHERE serial = ?", "0a02"))
}

func testOCSPPublication(t *testing.T, db *store.DB) {
	ctx := t.Context()
	at := now()
	approvedApp(t, db, "b1", at)
	ocspIssued(t, db, "0b01", "b1", at)
	must(t, db.PutOCSPResponses(ctx, []ocsp.Response{ocspResponse("0b01", ocsp.Good, at)}, nil))
	revokeIn(t, db, "0b01", at.Add(time.Second))

	pending, err := db.UnpublishedOCSPRevocations(ctx, 10)
	must(t, err)
	equal(t, "unpublished", pending, []string{"0b01"})
	st, err := db.OCSPStatuses(ctx, []string{"0b01"})
	must(t, err)
	if len(st) != 1 || !st[0].Revoked || st[0].Published || st[0].Reason != law.ReasonKeyCompromise || !st[0].RevokedAt.Equal(at.Add(time.Second)) {
		t.Fatalf("status %+v", st)
	}
	pub := at.Add(2 * time.Second)
	e := auditlog.NewEntry(pub, "ocsp", ocsp.ActionPublish, "0b01", map[string]string{"ca": "signature"})
	must(t, db.PutOCSPResponses(ctx, []ocsp.Response{ocspResponse("0b01", ocsp.Revoked, pub)}, []auditlog.Entry{e}))
	pending, err = db.UnpublishedOCSPRevocations(ctx, 10)
	must(t, err)
	equal(t, "unpublished after", len(pending), 0)
	var published int64
	must(t, db.SQL().QueryRowContext(ctx, db.Rebind("SELECT ocsp_published_ms FROM revocations WHERE serial = ?"), "0b01").Scan(&published))
	equal(t, "published at", published, pub.UnixMilli())
	// Re-signing later keeps the first publication time (L-21-rev).
	must(t, db.PutOCSPResponses(ctx, []ocsp.Response{ocspResponse("0b01", ocsp.Revoked, pub.Add(time.Hour))}, nil))
	must(t, db.SQL().QueryRowContext(ctx, db.Rebind("SELECT ocsp_published_ms FROM revocations WHERE serial = ?"), "0b01").Scan(&published))
	equal(t, "first publication kept", published, pub.UnixMilli())
	st, err = db.OCSPStatuses(ctx, []string{"0b01"})
	must(t, err)
	equal(t, "published", st[0].Published, true)
	var n int
	must(t, db.SQL().QueryRowContext(ctx, db.Rebind("SELECT count(*) FROM audit_entries WHERE action = ?"), string(ocsp.ActionPublish)).Scan(&n))
	equal(t, "publication audit entries", n, 1)
}

func testOCSPNeverGood(t *testing.T, db *store.DB) {
	ctx := t.Context()
	at := now()
	approvedApp(t, db, "c1", at)
	ocspIssued(t, db, "0c01", "c1", at)
	must(t, db.PutOCSPResponses(ctx, []ocsp.Response{ocspResponse("0c01", ocsp.Good, at)}, nil))
	revokeIn(t, db, "0c01", at)
	// A good response for a revoked certificate is refused, by the store and by a direct write.
	wantKind(t, db.PutOCSPResponses(ctx, []ocsp.Response{ocspResponse("0c01", ocsp.Good, at.Add(time.Hour))}, nil), errkind.Forbidden, law.L21Rev)
	wantKind(t, exec(db, "UPDATE ocsp_responses SET status = 'good' WHERE serial = ?", "0c01"), errkind.Forbidden, law.L21Rev)
	wantKind(t, exec(db, "UPDATE ocsp_responses SET status = 'revoked', next_update_ms = this_update_ms WHERE serial = ?", "0c01"), errkind.Invalid, "")
}
