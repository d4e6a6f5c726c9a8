// Package storetest is the one conformance suite every database behind store.DB
// must pass: each Store method, and each refusal the database itself makes (L-21-2).
package storetest

import (
	"context"
	"crypto/sha256"
	"fmt"
	"reflect"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/tawthiq/tawthiq/internal/auditlog"
	"github.com/tawthiq/tawthiq/internal/ca"
	"github.com/tawthiq/tawthiq/internal/errkind"
	"github.com/tawthiq/tawthiq/internal/issuance"
	"github.com/tawthiq/tawthiq/internal/law"
	"github.com/tawthiq/tawthiq/internal/ra"
	"github.com/tawthiq/tawthiq/internal/store"
)

// Opener returns a fresh, empty, migrated database for one test.
type Opener func(t *testing.T) *store.DB

// testCase is one conformance test, run on a fresh database.
type testCase struct {
	name string
	run  func(t *testing.T, db *store.DB)
}

// Run runs the whole suite against the databases open returns; the tests run in
// parallel, each on its own database, so open must be safe for concurrent use.
func Run(t *testing.T, open Opener) {
	tests := []testCase{
		{"TestTerms_L21_3_3", testTerms},
		{"TestApplications_L21_3_1", testApplications},
		{"TestApplicationWithoutTerms_L21_3_3", testApplicationWithoutTerms},
		{"TestApprovals_L21_3_1", testApprovals},
		{"TestApplicationMoves_L21_2", testApplicationMoves},
		{"TestCertificates_L21_1", testCertificates},
		{"TestSerialUsedTwice_L21_2", testSerialTwice},
		{"TestCertificateWithoutApplication_L21_2", testCertificateWithoutApplication},
		{"TestCertificateMoves_L21_2", testCertificateMoves},
		{"TestKeyUses_L25", testKeyUses},
		{"TestAuthorities", testAuthorities},
		{"TestUsersAndTokens", testUsersAndTokens},
		{"TestAuditLog_L21_2", testAuditLog},
		{"TestFailedWriteLeavesNoEntry_L21_2", testFailedWrite},
		{"TestCheckpoints_L21_2", testCheckpoints},
		{"TestCheckpointTimestamps_L21_2", testCheckpointTimestamps},
		{"TestImmutable_L21_2", testImmutable},
		{"TestRetention_L21_2", testRetention},
		{"TestConcurrentAppends_L21_2", testConcurrent},
		{"TestGroupCommitIsolatesRefusals_L21_2", testGroupCommit},
		{"TestConcurrentApprovals_L21_3_1", testConcurrentApprovals},
	}
	// Each service's own cases live in a file of their own.
	tests = append(tests, revocationCases()...)
	tests = append(tests, ocspCases()...)
	tests = append(tests, noticeCases()...)
	tests = append(tests, tokenCases()...)
	tests = append(tests, tsaCases()...)
	tests = append(tests, authorityCases()...)
	tests = append(tests, archiveCases()...)
	tests = append(tests, dutyCases()...)
	tests = append(tests, trustListCases()...)
	tests = append(tests, contractCases()...)
	tests = append(tests, orderCases()...)
	tests = append(tests, cessationCases()...)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			db := open(t)
			tc.run(t, db)
		})
	}
}

// now is a fixed, millisecond-precise instant (L-21-1) near the real time, so that
// records are inside the retention period of the database's clock.
func now() time.Time { return time.Now().UTC().Truncate(time.Millisecond) }

// old is past the retention period of every record.
func old() time.Time { return law.Timestamp(time.Now().AddDate(-law.RetentionYears-1, 0, 0)) }

func entry(at time.Time, action auditlog.Action, subject string) auditlog.Entry {
	return auditlog.NewEntry(at, "tester", action, subject, map[string]string{"subject": subject})
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// wantKind checks that err carries kind k and, if rule is set, that rule.
func wantKind(t *testing.T, err error, k errkind.Kind, rule law.ID) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want %s", k)
	}
	e := errkind.As(err)
	if e.Kind != k || (rule != "" && e.Rule != rule) {
		t.Fatalf("got %v (kind %s, rule %q), want kind %s rule %q", err, e.Kind, e.Rule, k, rule)
	}
}

func spki(s string) []byte {
	h := sha256.Sum256([]byte("spki:" + s))
	return h[:]
}

func publishTerms(t *testing.T, db *store.DB, version string, at time.Time) ra.Terms {
	t.Helper()
	ctx := t.Context()
	text := "conditions of use " + version
	h := sha256.Sum256([]byte(text))
	terms := ra.Terms{Version: version, SHA256: h[:], Text: text, PublishedAt: at}
	must(t, db.PublishTerms(ctx, terms, entry(at, auditlog.ActionTermsPublish, version)))
	return terms
}

func application(id, terms string, at time.Time) *ra.Application {
	return &ra.Application{
		ID:      id,
		Profile: "qualified-signature",
		Subject: issuance.Subject{GivenName: "Amina", Surname: "Alaoui", CommonName: "Amina Alaoui",
			SerialNumber: "IDCMA-" + id, Country: "MA"},
		Identity: ra.IDDocument{Type: law.IDCard, Number: "AB" + id, Issuer: "DGSN", Country: "MA",
			Expiry: time.Date(2031, 5, 1, 0, 0, 0, 0, time.UTC), Method: law.FaceToFace,
			EvidenceSHA256: spki("evidence" + id)},
		Capacity:         &ra.Capacity{Title: "Gérante", ProofKind: "power-of-attorney", ProofSHA256: spki("proof")},
		TermsVersion:     terms,
		TermsAcceptedAt:  at,
		ConsentDirectory: true,
		ContactEmail:     id + "@example.ma",
		ContactPhone:     "+212600000000",
		Language:         "ar",
		CSR:              []byte("csr-" + id),
		SPKISHA256:       spki(id),
		KeyInQSCD:        true,
		LimitMAD:         10000,
		SubmittedBy:      "officer-0",
		Status:           ra.StatusPending,
		CreatedAt:        at,
	}
}

func createApp(t *testing.T, db *store.DB, id string, at time.Time) *ra.Application {
	t.Helper()
	ctx := t.Context()
	a := application(id, "v1", at)
	must(t, db.CreateApplication(ctx, a, entry(at, auditlog.ActionApplicationCreate, id)))
	return a
}

// approve records the two approvals that move an application to approved.
func approve(t *testing.T, db *store.DB, id string, at time.Time) {
	t.Helper()
	ctx := t.Context()
	for i := range 2 {
		ap := ra.Approval{ApplicationID: id, Officer: fmt.Sprintf("officer-%d", i+1), At: at, Note: "ok"}
		_, err := db.AddApproval(ctx, ap, entry(at, auditlog.ActionApplicationApprove, id))
		must(t, err)
	}
}

func certificate(serial, appID string, at time.Time) *ca.Certificate {
	return &ca.Certificate{Serial: serial, CA: "signature", ApplicationID: appID, Profile: "qualified-signature",
		SPKISHA256: spki(appID), Subject: "CN=Amina Alaoui,C=MA", NotBefore: at, NotAfter: at.AddDate(2, 0, 0),
		TBS: []byte("tbs-" + serial), Status: ca.StatusReserved, ReservedAt: at}
}

func reserve(t *testing.T, db *store.DB, serial, appID string, at time.Time) *ca.Certificate {
	t.Helper()
	ctx := t.Context()
	c := certificate(serial, appID, at)
	must(t, db.Reserve(ctx, c, entry(at, auditlog.ActionCertificateReserve, serial)))
	return c
}

// approvedApp publishes terms v1 and records an approved application.
func approvedApp(t *testing.T, db *store.DB, id string, at time.Time) *ra.Application {
	t.Helper()
	publishTerms(t, db, "v1", at)
	a := createApp(t, db, id, at)
	approve(t, db, id, at)
	return a
}

// exec runs a statement directly, as someone bypassing the services would, and maps its error.
func exec(db *store.DB, q string, args ...any) error {
	_, err := db.SQL().ExecContext(context.Background(), db.Rebind(q), args...)
	return store.MapError(err)
}

func equal(t *testing.T, what string, got, want any) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%s:\n got  %+v\n want %+v", what, got, want)
	}
}

// leafHashes recomputes, from the entries alone, every hash the log must have stored.
func storedHashes(t *testing.T, entries []auditlog.Entry) []tlog.Hash {
	t.Helper()
	var all []tlog.Hash
	r := tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(idx))
		for i, x := range idx {
			out[i] = all[x]
		}
		return out, nil
	})
	for n, e := range entries {
		hs, err := tlog.StoredHashes(int64(n), e.Encode(), r)
		must(t, err)
		all = append(all, hs...)
	}
	return all
}
