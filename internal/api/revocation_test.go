package api

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tawthiq/tawthiq/client"
	"github.com/tawthiq/tawthiq/internal/access"
	"github.com/tawthiq/tawthiq/internal/ca"
	"github.com/tawthiq/tawthiq/internal/directory"
	"github.com/tawthiq/tawthiq/internal/errkind"
	"github.com/tawthiq/tawthiq/internal/issuance"
	"github.com/tawthiq/tawthiq/internal/law"
	"github.com/tawthiq/tawthiq/internal/notify"
	"github.com/tawthiq/tawthiq/internal/ra"
	"github.com/tawthiq/tawthiq/internal/revocation"
)

// Fakes of the services behind the revocation endpoints: they record what the API
// passed and answer what the test set. The real services are tested in their packages
// and end to end in internal/app.

type fakeRevoker struct {
	mu      sync.Mutex
	actor   revocation.Actor
	req     revocation.Request
	serial  string // RevokeWithSecret's
	secret  string
	err     error
	records map[string]*revocation.Revocation
}

var (
	t0 = time.Date(2025, 6, 1, 8, 30, 0, 123e6, time.UTC)
	t1 = t0.Add(4 * time.Millisecond)
)

func (f *fakeRevoker) Revoke(_ context.Context, by revocation.Actor, req revocation.Request) ([]revocation.Revocation, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.actor, f.req = by, req
	if f.err != nil {
		return nil, f.err
	}
	rule, _ := law.LookupGround(req.Ground)
	r := revocation.Revocation{Serial: req.Serial, CA: "signature", Ground: req.Ground, Reason: rule.Reason,
		RequestedAt: t0, RevokedAt: t1, RequestedBy: by.ID, Note: req.Note, OrderRef: req.OrderRef, InvalidityDate: req.InvalidityDate}
	if req.Serial == "" {
		r.Serial = "c0ffee"
	}
	return []revocation.Revocation{r, {Serial: "beef", CA: "signature", Ground: req.Ground, Reason: rule.Reason, RequestedAt: t0, RevokedAt: t1}}, nil
}

func (f *fakeRevoker) RevokeWithSecret(_ context.Context, serial, secret string) ([]revocation.Revocation, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.serial, f.secret = serial, secret
	if serial != "4a" || secret != "GOOD" {
		return nil, errkind.New(errkind.Unauthorized, law.L21_1, "the serial and revocation secret do not match")
	}
	return []revocation.Revocation{{Serial: serial, CA: "signature", Ground: law.GroundHolderRequest, RequestedAt: t0, RevokedAt: t1,
		RequestedBy: revocation.RequestedBySecret}}, nil
}

func (f *fakeRevoker) Revocation(_ context.Context, serial string) (*revocation.Revocation, error) {
	if r, ok := f.records[serial]; ok {
		return r, nil
	}
	return nil, errkind.New(errkind.NotFound, "", "certificate %s is not revoked", serial)
}

type fakeDirectory struct {
	by directory.Searcher
	q  directory.Query
}

func (f *fakeDirectory) Search(_ context.Context, by directory.Searcher, q directory.Query) ([]directory.Entry, error) {
	f.by, f.q = by, q
	q, err := directory.Normalize(q)
	if err != nil {
		return nil, err
	}
	if q.By == directory.ByEmail && q.Value == "amina@example.ma" {
		return []directory.Entry{{Serial: "4a", CA: "signature", Subject: "CN=Amina Alaoui", NotBefore: t0, NotAfter: t0.AddDate(2, 0, 0),
			Status: directory.StatusValid, DER: []byte{0x30, 0x03, 0x02, 0x01, 0x01}}}, nil
	}
	return nil, nil
}

type fakeNotices struct{ holder string }

func (f *fakeNotices) Notices(_ context.Context, holderID string) ([]notify.Notice, error) {
	f.holder = holderID
	return []notify.Notice{{ID: "ntc_1", Kind: notify.KindRevocation, Channel: notify.ChannelAccount, Serial: "4a", Language: "fr",
		Subject: "Révocation", Body: "motif: holder-request", State: notify.StateHeld, CreatedAt: t0, Recipient: "usr_holder"}}, nil
}

// fakeCARA knows one certificate, 4a, of usr_holder's application.
type fakeCARA struct {
	RA
	submitted *ra.Application
}

func (fakeCARA) Certificate(_ context.Context, serial string) (*ca.Certificate, error) {
	if serial != "4a" {
		return nil, errkind.New(errkind.NotFound, "", "no certificate %q", serial)
	}
	return &ca.Certificate{Serial: "4a", CA: "signature", ApplicationID: "app_1", Status: ca.StatusIssued, DER: []byte{0x30, 0x00}}, nil
}

func (fakeCARA) Profiles() []issuance.Profile { return nil }

func (fakeCARA) Application(_ context.Context, id string) (*ra.Application, error) {
	if id != "app_1" {
		return nil, errkind.New(errkind.NotFound, "", "no application %q", id)
	}
	return &ra.Application{ID: "app_1", SubmittedBy: "usr_holder", Status: ra.StatusIssued}, nil
}

func (f *fakeCARA) Submit(_ context.Context, by ra.Person, a ra.Application) (*ra.Application, error) {
	a.ID, a.SubmittedBy, a.Status, a.RevocationSecret = "app_2", by.ID, ra.StatusPending, "SECRETSECRET"
	f.submitted = &a
	return &a, nil
}

// recordingAccess is fakeAccess that also records reads of personal data.
type recordingAccess struct {
	fakeAccess
	mu    sync.Mutex
	reads []string
}

func (a *recordingAccess) RecordRead(_ context.Context, u *access.User, subject, ground string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.reads = append(a.reads, u.ID+" "+subject+" "+ground)
	return nil
}

type revocationFixture struct {
	h    http.Handler
	rev  *fakeRevoker
	dir  *fakeDirectory
	ntc  *fakeNotices
	cara *fakeCARA
	acc  *recordingAccess
}

func newRevocationFixture(t *testing.T) *revocationFixture {
	t.Helper()
	f := &revocationFixture{
		rev: &fakeRevoker{records: map[string]*revocation.Revocation{"4a": {Serial: "4a", CA: "signature", Ground: law.GroundKeyCompromise,
			Reason: law.ReasonKeyCompromise, RequestedAt: t0, RevokedAt: t1, InvalidityDate: t0.Add(-time.Hour), RequestedBy: "usr_holder"}}},
		dir: &fakeDirectory{}, ntc: &fakeNotices{}, cara: &fakeCARA{}, acc: &recordingAccess{},
	}
	f.h = New(Deps{Access: f.acc, CA: f.cara, RA: f.cara, Revocations: f.rev, Directory: f.dir, Notices: f.ntc})
	return f
}

func decodeBody[T any](t *testing.T, b *bytes.Buffer) T {
	t.Helper()
	var v T
	dec := json.NewDecoder(b)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("decoding %T: %v", v, err)
	}
	return v
}

func TestGrounds(t *testing.T) {
	f := newRevocationFixture(t)
	w := do(f.h, "GET", "/api/v1/grounds", "", "", nil)
	if w.Code != 200 {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	gs := decodeBody[client.GroundList](t, w.Body).Grounds
	if len(gs) != len(law.Grounds()) {
		t.Fatalf("%d grounds, the law gives %d", len(gs), len(law.Grounds()))
	}
	byName := map[string]client.Ground{}
	for _, g := range gs {
		byName[g.Ground] = g
		if g.Rule == "" || g.Article == "" || g.Description == "" || g.ReasonName == "" {
			t.Errorf("incomplete ground %+v", g)
		}
	}
	if g := byName["judicial-order"]; !g.NeedsOrderRef || g.Rule != "L-21-3-7" {
		t.Errorf("judicial-order: %+v", g)
	}
	if g := byName["key-compromise"]; g.Reason != 1 || g.ReasonName != "keyCompromise" || !g.CompromisesKey {
		t.Errorf("key-compromise: %+v", g)
	}
	if g := byName["holder-request"]; g.Rule != "L-21-1" || g.NeedsOrderRef {
		t.Errorf("holder-request: %+v", g)
	}
}

func TestRevoke(t *testing.T) {
	t.Run("holder maps to actor, times in UTC milliseconds", func(t *testing.T) {
		f := newRevocationFixture(t)
		w := do(f.h, "POST", "/api/v1/certificates/4A/revocation", tokenFor(access.RoleHolder), "application/json",
			strings.NewReader(`{"ground":"key-compromise","note":"laptop stolen","invalidity_date":"2025-06-01T09:00:00+02:00"}`))
		if w.Code != http.StatusCreated {
			t.Fatalf("status %d: %s", w.Code, w.Body)
		}
		if f.rev.actor != (revocation.Actor{ID: "usr_holder", Role: revocation.RoleHolder}) {
			t.Errorf("actor %+v", f.rev.actor)
		}
		want := revocation.Request{Serial: "4a", Ground: law.GroundKeyCompromise, Note: "laptop stolen",
			InvalidityDate: time.Date(2025, 6, 1, 7, 0, 0, 0, time.UTC)}
		if f.rev.req != want || f.rev.req.InvalidityDate.Location() != time.UTC {
			t.Errorf("request %+v, want %+v", f.rev.req, want)
		}
		if loc := w.Header().Get("Location"); loc != "/api/v1/certificates/4a/revocation" {
			t.Errorf("Location %q", loc)
		}
		body := w.Body.String()
		for _, s := range []string{`"requested_at":"2025-06-01T08:30:00.123Z"`, `"revoked_at":"2025-06-01T08:30:00.127Z"`,
			`"invalidity_date":"2025-06-01T07:00:00.000Z"`, `"rule":"L-21-3-7"`, `"reason":1`} {
			if !strings.Contains(body, s) {
				t.Errorf("answer lacks %s: %s", s, body)
			}
		}
		rs := decodeBody[client.RevocationList](t, w.Body).Revocations
		if len(rs) != 2 || rs[0].Serial != "4a" {
			t.Errorf("revocations %+v", rs)
		}
	})
	t.Run("officer", func(t *testing.T) {
		f := newRevocationFixture(t)
		w := do(f.h, "POST", "/api/v1/certificates/4a/revocation", tokenFor(access.RoleRAOfficer), "application/json",
			strings.NewReader(`{"ground":"judicial-order","note":"court","order_ref":"TPI-Rabat 2025/17"}`))
		if w.Code != http.StatusCreated {
			t.Fatalf("status %d: %s", w.Code, w.Body)
		}
		if f.rev.actor.Role != revocation.RoleOfficer || f.rev.req.OrderRef != "TPI-Rabat 2025/17" {
			t.Errorf("actor %+v request %+v", f.rev.actor, f.rev.req)
		}
	})
	t.Run("admin ca-compromise names the certificate's CA", func(t *testing.T) {
		f := newRevocationFixture(t)
		w := do(f.h, "POST", "/api/v1/certificates/4a/revocation", tokenFor(access.RoleAdmin), "application/json",
			strings.NewReader(`{"ground":"ca-compromise","note":"HSM audit"}`))
		if w.Code != http.StatusCreated {
			t.Fatalf("status %d: %s", w.Code, w.Body)
		}
		if f.rev.req.CA != "signature" || f.rev.req.Serial != "" || f.rev.actor.Role != revocation.RoleAdmin {
			t.Errorf("actor %+v request %+v", f.rev.actor, f.rev.req)
		}
		w = do(f.h, "POST", "/api/v1/certificates/ff/revocation", tokenFor(access.RoleAdmin), "application/json",
			strings.NewReader(`{"ground":"ca-compromise","note":"HSM audit"}`))
		if p := readProblem(t, w); w.Code != 404 || p.Rule != "L-21-1" {
			t.Errorf("unknown certificate: %d %+v", w.Code, p)
		}
	})
	t.Run("service refusals become problems naming the rule", func(t *testing.T) {
		for _, tc := range []struct {
			err    error
			status int
			rule   string
		}{
			{errkind.New(errkind.Conflict, law.L21Rev, "certificate 4a is already revoked: a revocation is final"), 409, "L-21-rev"},
			{errkind.New(errkind.Forbidden, law.L21_1, "a holder revokes only his own certificates"), 403, "L-21-1"},
			{errkind.New(errkind.Invalid, law.L21_3_7, `"x" is not a ground of revocation the law gives`), 400, "L-21-3-7"},
			{errkind.New(errkind.NotFound, "", "no issued certificate with serial \"4a\""), 404, "L-21-3-7"},
		} {
			f := newRevocationFixture(t)
			f.rev.err = tc.err
			w := do(f.h, "POST", "/api/v1/certificates/4a/revocation", tokenFor(access.RoleHolder), "application/json",
				strings.NewReader(`{"ground":"holder-request"}`))
			p := readProblem(t, w)
			if w.Code != tc.status || p.Rule != tc.rule || p.Detail != errkind.As(tc.err).Detail {
				t.Errorf("%v: %d %+v", tc.err, w.Code, p)
			}
		}
	})
}

func TestRevokeWithSecret(t *testing.T) {
	f := newRevocationFixture(t)
	w := do(f.h, "POST", "/api/v1/revocations", "", "application/json", strings.NewReader(`{"serial":"4A","secret":"GOOD"}`))
	if w.Code != http.StatusCreated {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	if rs := decodeBody[client.RevocationList](t, w.Body).Revocations; len(rs) != 1 || rs[0].RequestedBy != revocation.RequestedBySecret || rs[0].Ground != "holder-request" {
		t.Errorf("revocations %+v", rs)
	}
	// A wrong secret and an unknown serial answer alike: no oracle.
	var bodies []string
	for _, body := range []string{`{"serial":"4a","secret":"BAD"}`, `{"serial":"ff","secret":"GOOD"}`, `{"serial":"","secret":""}`} {
		w := do(f.h, "POST", "/api/v1/revocations", "", "application/json", strings.NewReader(body))
		p := readProblem(t, w)
		if w.Code != 401 || p.Rule != "L-21-1" {
			t.Errorf("%s: %d %+v", body, w.Code, p)
		}
		bodies = append(bodies, w.Body.String())
	}
	for _, b := range bodies[1:] {
		if b != bodies[0] {
			t.Errorf("answers differ:\n%s\n%s", bodies[0], b)
		}
	}
}

func TestRevocationRecord(t *testing.T) {
	f := newRevocationFixture(t)
	for _, tc := range []struct {
		name, serial string
		role         access.Role
		status       int
	}{
		{"holder own", "4a", access.RoleHolder, 200},
		{"officer", "4A", access.RoleRAOfficer, 200},
		{"auditor", "4a", access.RoleAuditor, 200},
		{"unknown", "ff", access.RoleRAOfficer, 404},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := do(f.h, "GET", "/api/v1/certificates/"+tc.serial+"/revocation", tokenFor(tc.role), "", nil)
			if w.Code != tc.status {
				t.Fatalf("status %d: %s", w.Code, w.Body)
			}
			if tc.status == 200 {
				r := decodeBody[client.Revocation](t, w.Body)
				if r.Serial != "4a" || r.InvalidityDate == nil || r.RevokedAt.String() != "2025-06-01T08:30:00.127Z" {
					t.Errorf("record %+v", r)
				}
			}
		})
	}
	if len(f.acc.reads) != 3 || f.acc.reads[0] != "usr_holder 4a "+GroundHolderSelf {
		t.Errorf("reads recorded: %q", f.acc.reads)
	}

	// Another holder's certificate, and a certificate not revoked, look missing.
	other := newRevocationFixture(t)
	other.rev.records = nil
	w := do(other.h, "GET", "/api/v1/certificates/4a/revocation", tokenFor(access.RoleHolder), "", nil)
	if p := readProblem(t, w); w.Code != 404 || p.Rule != "L-21-rev" {
		t.Errorf("not revoked: %d %+v", w.Code, p)
	}
}

func TestRevocationRecordOtherHolder(t *testing.T) {
	testUsers["tw_holder2"] = &access.User{ID: "usr_holder2", Name: "Other Holder", Role: access.RoleHolder}
	defer delete(testUsers, "tw_holder2")
	f := newRevocationFixture(t)
	w := do(f.h, "GET", "/api/v1/certificates/4a/revocation", "tw_holder2", "", nil)
	if p := readProblem(t, w); w.Code != 404 || p.Rule != "L-24" {
		t.Errorf("another holder's certificate: %d %+v", w.Code, p)
	}
	if len(f.acc.reads) != 0 {
		t.Errorf("a refused read was recorded as a read: %q", f.acc.reads)
	}
}

func TestDirectorySearch(t *testing.T) {
	f := newRevocationFixture(t)
	for _, tc := range []struct {
		name, query string
		status      int
		found       int
	}{
		{"by email", "email=amina%40example.ma", 200, 1},
		{"by email, nothing", "email=nobody%40example.ma", 200, 0},
		{"by name", "name=Amina", 200, 0},
		{"by serial", "serial=4a", 200, 0},
		{"none", "", 400, 0},
		{"two kinds", "name=Amina&email=amina%40example.ma", 400, 0},
		{"twice", "name=Amina&name=Alaoui", 400, 0},
		{"unknown parameter", "email=amina%40example.ma&consent=any", 400, 0},
		{"bad e-mail", "email=not-an-address", 400, 0},
		{"short name", "name=A", 400, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// A token changes nothing: the directory is public and searched as the public.
			w := do(f.h, "GET", "/api/v1/directory?"+tc.query, tokenFor(access.RoleAdmin), "", nil)
			if w.Code != tc.status {
				t.Fatalf("status %d: %s", w.Code, w.Body)
			}
			if tc.status != 200 {
				readProblem(t, w)
				return
			}
			if f.dir.by.UserID != "" {
				t.Errorf("searcher %+v, want the public", f.dir.by)
			}
			es := decodeBody[client.DirectoryResult](t, w.Body).Entries
			if es == nil || len(es) != tc.found {
				t.Fatalf("entries %+v", es)
			}
			if tc.found > 0 && (!strings.HasPrefix(es[0].PEM, "-----BEGIN CERTIFICATE-----") || es[0].Status != "valid" || es[0].RevokedAt != nil) {
				t.Errorf("entry %+v", es[0])
			}
		})
	}
}

func TestNotices(t *testing.T) {
	f := newRevocationFixture(t)
	w := do(f.h, "GET", "/api/v1/notices", tokenFor(access.RoleHolder), "", nil)
	if w.Code != 200 {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	if f.ntc.holder != "usr_holder" {
		t.Errorf("listed the notices of %q", f.ntc.holder)
	}
	ns := decodeBody[client.NoticeList](t, w.Body).Notices
	if len(ns) != 1 || ns[0].Kind != "revocation" || ns[0].Channel != "account" || ns[0].CreatedAt.String() != "2025-06-01T08:30:00.123Z" {
		t.Errorf("notices %+v", ns)
	}
	if len(f.acc.reads) != 1 {
		t.Errorf("reads recorded: %q", f.acc.reads)
	}
}

func TestSubmitShowsRevocationSecretOnce(t *testing.T) {
	f := newRevocationFixture(t)
	w := do(f.h, "POST", "/api/v1/applications", tokenFor(access.RoleHolder), "application/json", strings.NewReader(sampleApplication))
	if w.Code != http.StatusCreated {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	if a := decodeBody[client.Application](t, w.Body); a.RevocationSecret != "SECRETSECRET" {
		t.Errorf("submit answer lacks the secret: %+v", a)
	}
	// wireApplication never carries it, whatever the RA returns.
	if a := wireApplication(&ra.Application{ID: "app_2", RevocationSecret: "SECRETSECRET"}); a.RevocationSecret != "" {
		t.Errorf("a later read shows the secret")
	}
	// An applicant cannot send one.
	w = do(f.h, "POST", "/api/v1/applications", tokenFor(access.RoleHolder), "application/json", strings.NewReader(`{"revocation_secret":"X"}`))
	if p := readProblem(t, w); w.Code != 400 || !strings.Contains(p.Detail, "revocation_secret") {
		t.Errorf("%d %+v", w.Code, p)
	}
}

// Without the services, the endpoints fail closed.
func TestRevocationNotWired(t *testing.T) {
	h, _ := testHandler(t, Deps{})
	for _, tc := range []struct{ method, path, token, body string }{
		{"POST", "/api/v1/certificates/4a/revocation", tokenFor(access.RoleHolder), `{"ground":"holder-request"}`},
		{"GET", "/api/v1/certificates/4a/revocation", tokenFor(access.RoleRAOfficer), ""},
		{"POST", "/api/v1/revocations", "", `{"serial":"4a","secret":"x"}`},
		{"GET", "/api/v1/directory?serial=4a", "", ""},
		{"GET", "/api/v1/notices", tokenFor(access.RoleHolder), ""},
	} {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			w := do(h, tc.method, tc.path, tc.token, "application/json", strings.NewReader(tc.body))
			if w.Code != http.StatusServiceUnavailable {
				t.Fatalf("status %d: %s", w.Code, w.Body)
			}
			readProblem(t, w)
		})
	}
}
