package directory_test

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tawthiq/tawthiq/internal/auditlog"
	"github.com/tawthiq/tawthiq/internal/ca"
	"github.com/tawthiq/tawthiq/internal/clock"
	"github.com/tawthiq/tawthiq/internal/directory"
	"github.com/tawthiq/tawthiq/internal/errkind"
	"github.com/tawthiq/tawthiq/internal/issuance"
	"github.com/tawthiq/tawthiq/internal/law"
	"github.com/tawthiq/tawthiq/internal/ra"
	"github.com/tawthiq/tawthiq/internal/store"
)

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// issue records, through the store as the RA and CA do, an approved application and
// its issued certificate.
func issue(t *testing.T, db *store.DB, at time.Time, id, serial, given, surname, email string, consent bool, notAfter time.Time) {
	t.Helper()
	ctx := t.Context()
	h := sha256.Sum256([]byte("spki:" + id))
	a := &ra.Application{
		ID: id, Profile: "qualified-signature",
		Subject: issuance.Subject{GivenName: given, Surname: surname, CommonName: given + " " + surname,
			SerialNumber: "IDCMA-" + id, Country: "MA"},
		Identity: ra.IDDocument{Type: law.IDCard, Number: "AB" + id, Issuer: "DGSN", Country: "MA",
			Expiry: at.AddDate(5, 0, 0), Method: law.FaceToFace, EvidenceSHA256: h[:]},
		TermsVersion: "v1", TermsAcceptedAt: at, ConsentDirectory: consent, ContactEmail: email,
		Language: "fr", CSR: []byte("csr-" + id), SPKISHA256: h[:], KeyInQSCD: true, LimitMAD: 10000,
		SubmittedBy: "holder-" + id, Status: ra.StatusPending, CreatedAt: at,
	}
	entry := func(action auditlog.Action, subject string) auditlog.Entry {
		return auditlog.NewEntry(at, "tester", action, subject, nil)
	}
	must(t, db.CreateApplication(ctx, a, entry(auditlog.ActionApplicationCreate, id)))
	for i := range 2 {
		ap := ra.Approval{ApplicationID: id, Officer: fmt.Sprintf("officer-%d", i+1), At: at, Note: "ok"}
		must(t, approvalErr(db.AddApproval(ctx, ap, entry(auditlog.ActionApplicationApprove, id))))
	}
	c := &ca.Certificate{Serial: serial, CA: "signature", ApplicationID: id, Profile: "qualified-signature",
		SPKISHA256: h[:], Subject: "CN=" + given + " " + surname + ",C=MA", NotBefore: at, NotAfter: notAfter,
		TBS: []byte("tbs-" + serial), Status: ca.StatusReserved, ReservedAt: at}
	must(t, db.Reserve(ctx, c, entry(auditlog.ActionCertificateReserve, serial)))
	must(t, db.MarkIssued(ctx, serial, []byte("der-"+serial), at, entry(auditlog.ActionCertificateIssue, serial)))
}

func searches(t *testing.T, db *store.DB) []auditlog.Entry {
	t.Helper()
	size, err := db.AuditSize(t.Context())
	must(t, err)
	all, err := db.AuditEntries(t.Context(), 0, size)
	must(t, err)
	var out []auditlog.Entry
	for _, e := range all {
		if e.Action == auditlog.ActionDirectorySearch {
			out = append(out, e)
		}
	}
	return out
}

// TestDirectoryConsent_L21_2: by name, e-mail and serial, the directory lists the
// holder who consented and never the one who did not; every search is in the log.
func TestDirectoryConsent_L21_2(t *testing.T) {
	ctx := t.Context()
	t0 := law.Timestamp(time.Now())
	clk := clock.NewFake(t0)
	db, err := store.Open(ctx, filepath.Join(t.TempDir(), "tawthiq.db"), clk)
	must(t, err)
	t.Cleanup(func() { db.Close() })
	h := sha256.Sum256([]byte("terms"))
	must(t, db.PublishTerms(ctx, ra.Terms{Version: "v1", SHA256: h[:], Text: "terms", PublishedAt: t0},
		auditlog.NewEntry(t0, "tester", auditlog.ActionTermsPublish, "v1", nil)))
	issue(t, db, t0, "yes", "c0ffee", "Amina", "Alaoui", "amina@example.ma", true, t0.AddDate(2, 0, 0))
	issue(t, db, t0, "no", "bad", "Karim", "Bennani", "karim@example.ma", false, t0.AddDate(2, 0, 0))
	issue(t, db, t0, "old", "e1", "Salma", "Alaoui", "salma@example.ma", true, t0.AddDate(0, 1, 0))
	dir := directory.New(db, clk, 0)

	tests := []struct {
		name  string
		by    directory.By
		value string
		want  []string
	}{
		{"name of the consenting holder", directory.ByName, "amina alaoui", []string{"c0ffee"}},
		{"surname given", directory.ByName, "ALAOUI  Amina", []string{"c0ffee"}},
		{"surname shared", directory.ByName, "alaoui", []string{"c0ffee", "e1"}},
		{"name of the holder without consent", directory.ByName, "Karim Bennani", nil},
		{"surname of the holder without consent", directory.ByName, "bennani", nil},
		{"e-mail of the consenting holder", directory.ByEmail, "Amina@example.ma", []string{"c0ffee"}},
		{"e-mail of the holder without consent", directory.ByEmail, "karim@example.ma", nil},
		{"serial of the consenting holder", directory.BySerial, "00:C0:FF:EE", []string{"c0ffee"}},
		{"serial of the holder without consent", directory.BySerial, "0bad", nil},
		{"serial that does not exist", directory.BySerial, "0bae", nil},
		{"e-mail that does not exist", directory.ByEmail, "nobody@example.ma", nil},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			by := directory.Searcher{}
			if i%2 == 1 {
				by.UserID = "user-7"
			}
			got, err := dir.Search(ctx, by, directory.Query{By: tc.by, Value: tc.value})
			must(t, err)
			var serials []string
			for _, e := range got {
				serials = append(serials, e.Serial)
				if e.Serial == "bad" || strings.Contains(e.Subject, "Karim") {
					t.Fatalf("non-consenting holder listed: %+v", e)
				}
			}
			if strings.Join(serials, ",") != strings.Join(tc.want, ",") {
				t.Fatalf("got %v, want %v", serials, tc.want)
			}
			// Each search is in the audit log: kind, a hash of the query, the count, the actor.
			logged := searches(t, db)
			if len(logged) != i+1 {
				t.Fatalf("%d searches logged after %d searches", len(logged), i+1)
			}
			e := logged[i]
			var rec struct {
				By          string `json:"by"`
				QuerySHA256 string `json:"query_sha256"`
				Results     int    `json:"results"`
			}
			must(t, json.Unmarshal(e.Data, &rec))
			wantActor := "public"
			if by.UserID != "" {
				wantActor = by.UserID
			}
			if e.Actor != wantActor || rec.By != string(tc.by) || rec.Results != len(tc.want) || len(rec.QuerySHA256) != 64 ||
				strings.Contains(string(e.Data), strings.ToLower(strings.Fields(tc.value)[0])) {
				t.Fatalf("audit entry %+v %s", e, e.Data)
			}
		})
	}

	// Status and content of an entry.
	got, err := dir.Search(ctx, directory.Searcher{}, directory.Query{By: directory.BySerial, Value: "c0ffee"})
	must(t, err)
	if len(got) != 1 || got[0].Status != directory.StatusValid || string(got[0].DER) != "der-c0ffee" ||
		got[0].CA != "signature" || !got[0].NotAfter.Equal(t0.AddDate(2, 0, 0)) {
		t.Fatalf("entry: %+v", got)
	}
	clk.Advance(40 * 24 * time.Hour)
	got, err = dir.Search(ctx, directory.Searcher{}, directory.Query{By: directory.BySerial, Value: "e1"})
	must(t, err)
	if len(got) != 1 || got[0].Status != directory.StatusExpired {
		t.Fatalf("expired entry: %+v", got)
	}
	// A revocation row as the revocation store records it (table of migration 0002).
	at := clk.Now().UnixMilli()
	_, err = db.SQL().ExecContext(ctx, `INSERT INTO revocations (serial, ca, ground, reason, requested_ms,
		revoked_ms, requested_by, note, order_ref, created_ms) VALUES ('c0ffee', 'signature', 'holder-request', 0,
		?, ?, 'tester', '', '', ?)`, at, at, at)
	must(t, err)
	got, err = dir.Search(ctx, directory.Searcher{}, directory.Query{By: directory.BySerial, Value: "c0ffee"})
	must(t, err)
	if len(got) != 1 || got[0].Status != directory.StatusRevoked || got[0].RevokedAt.UnixMilli() != at {
		t.Fatalf("revoked entry: %+v", got)
	}
}

func TestNormalize(t *testing.T) {
	tests := []struct {
		by       directory.By
		in, want string
		ok       bool
	}{
		{directory.ByName, "  Amina   ALAOUI ", "amina alaoui", true},
		{directory.ByName, "ab", "", false},
		{directory.ByName, `a"b"c`, "", false},
		{directory.ByName, strings.Repeat("x", directory.MaxQueryLen+1), "", false},
		{directory.ByName, "أمينة العلوي", "أمينة العلوي", true},
		{directory.ByEmail, "Amina@Example.MA", "amina@example.ma", true},
		{directory.ByEmail, "Amina <amina@example.ma>", "", false},
		{directory.BySerial, "00:AB:cd", "abcd", true},
		{directory.BySerial, "xyz", "", false},
		{directory.BySerial, "0", "0", true},
		{"phone", "0600000000", "", false},
		{directory.ByName, "abc\x00def", "", false},
	}
	for _, tc := range tests {
		got, err := directory.Normalize(directory.Query{By: tc.by, Value: tc.in})
		if (err == nil) != tc.ok {
			t.Errorf("Normalize(%s, %q): error %v, want ok=%v", tc.by, tc.in, err, tc.ok)
			continue
		}
		if err != nil {
			if !errkind.Is(err, errkind.Invalid) {
				t.Errorf("Normalize(%s, %q): %v is not Invalid", tc.by, tc.in, err)
			}
			continue
		}
		if got.Value != tc.want {
			t.Errorf("Normalize(%s, %q) = %q, want %q", tc.by, tc.in, got.Value, tc.want)
		}
	}
}

// approvalErr drops the resulting status of an approval.
func approvalErr(_ ra.Status, err error) error { return err }
