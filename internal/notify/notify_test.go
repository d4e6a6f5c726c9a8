package notify_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"mime/quotedprintable"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tawthiq/tawthiq/internal/auditlog"
	"github.com/tawthiq/tawthiq/internal/ca"
	"github.com/tawthiq/tawthiq/internal/clock"
	"github.com/tawthiq/tawthiq/internal/issuance"
	"github.com/tawthiq/tawthiq/internal/law"
	"github.com/tawthiq/tawthiq/internal/notify"
	"github.com/tawthiq/tawthiq/internal/ra"
	"github.com/tawthiq/tawthiq/internal/store"
)

const day = 24 * time.Hour

// Environment of the child process that delivers and dies on purpose.
const (
	crashDB    = "TAWTHIQ_NOTIFY_CRASH_DB"
	crashSMTP  = "TAWTHIQ_NOTIFY_CRASH_SMTP"
	crashTime  = "TAWTHIQ_NOTIFY_CRASH_TIME"
	crashAfter = "TAWTHIQ_NOTIFY_CRASH_AFTER"
	crashExit  = 42
	crashLease = 5 * time.Minute
	crashBatch = 5
)

// TestMain doubles as the delivery process that dies on purpose: with crashDB set,
// it delivers and exits hard (no deferred function run, as a kill -9 would) right
// after the mail server acknowledged its crashAfter-th message, before recording it.
func TestMain(m *testing.M) {
	if path := os.Getenv(crashDB); path != "" {
		crashChild(path)
	}
	os.Exit(m.Run())
}

func crashChild(path string) {
	ms, _ := strconv.ParseInt(os.Getenv(crashTime), 10, 64)
	after, _ := strconv.Atoi(os.Getenv(crashAfter))
	clk := clock.NewFake(time.UnixMilli(ms))
	db, err := store.Open(context.Background(), path, clk)
	if err != nil {
		fmt.Fprintln(os.Stderr, "open:", err)
		os.Exit(1)
	}
	snd, err := notify.NewSMTP(notify.SMTPConfig{Addr: os.Getenv(crashSMTP), From: "notices@tawthiq.test"})
	if err != nil {
		fmt.Fprintln(os.Stderr, "smtp:", err)
		os.Exit(1)
	}
	d := notify.NewDeliverer(db, snd, clk, notify.DelivererConfig{Holder: "child", Batch: crashBatch, Lease: crashLease})
	sent := 0
	d.AfterSend = func(notify.Notice) {
		if sent++; sent == after {
			os.Exit(crashExit)
		}
	}
	n, err := d.DeliverDue(context.Background())
	fmt.Fprintf(os.Stderr, "delivered %d without dying: %v\n", n, err)
	os.Exit(1)
}

// env is a real SQLite store on a fake clock, with published terms.
type env struct {
	path string
	db   *store.DB
	clk  *clock.Fake
	t0   time.Time
}

func newEnv(t *testing.T) *env {
	t.Helper()
	t0 := law.Timestamp(time.Now())
	clk := clock.NewFake(t0)
	path := filepath.Join(t.TempDir(), "tawthiq.db")
	db, err := store.Open(t.Context(), path, clk)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	h := sha256.Sum256([]byte("terms"))
	must(t, db.PublishTerms(t.Context(), ra.Terms{Version: "v1", SHA256: h[:], Text: "terms", PublishedAt: t0},
		auditlog.NewEntry(t0, "tester", auditlog.ActionTermsPublish, "v1", nil)))
	return &env{path: path, db: db, clk: clk, t0: t0}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// issue records an approved application, changed by edit, and its issued certificate
// expiring at notAfter, through the store as the RA and CA do.
func (e *env) issue(t *testing.T, id, serial string, notAfter time.Time, edit func(*ra.Application)) {
	t.Helper()
	ctx := t.Context()
	at := e.clk.Now()
	h := sha256.Sum256([]byte("spki:" + id))
	a := &ra.Application{
		ID: id, Profile: "qualified-signature",
		Subject: issuance.Subject{GivenName: "Amina", Surname: "Alaoui", CommonName: "Amina Alaoui",
			SerialNumber: "IDCMA-" + id, Country: "MA"},
		Identity: ra.IDDocument{Type: law.IDCard, Number: "AB" + id, Issuer: "DGSN", Country: "MA",
			Expiry: at.AddDate(5, 0, 0), Method: law.FaceToFace, EvidenceSHA256: h[:]},
		TermsVersion: "v1", TermsAcceptedAt: at, ConsentEmail: true, ContactEmail: id + "@example.ma",
		Language: "fr", CSR: []byte("csr-" + id), SPKISHA256: h[:], KeyInQSCD: true, LimitMAD: 10000,
		SubmittedBy: "holder-" + id, Status: ra.StatusPending, CreatedAt: at,
	}
	if edit != nil {
		edit(a)
	}
	entry := func(action auditlog.Action, subject string) auditlog.Entry {
		return auditlog.NewEntry(at, "tester", action, subject, nil)
	}
	must(t, e.db.CreateApplication(ctx, a, entry(auditlog.ActionApplicationCreate, id)))
	for i := range 2 {
		ap := ra.Approval{ApplicationID: id, Officer: fmt.Sprintf("officer-%d", i+1), At: at, Note: "ok"}
		must(t, approvalErr(e.db.AddApproval(ctx, ap, entry(auditlog.ActionApplicationApprove, id))))
	}
	c := &ca.Certificate{Serial: serial, CA: "signature", ApplicationID: id, Profile: "qualified-signature",
		SPKISHA256: h[:], Subject: "CN=Amina Alaoui,C=MA", NotBefore: at, NotAfter: notAfter,
		TBS: []byte("tbs-" + serial), Status: ca.StatusReserved, ReservedAt: at}
	must(t, e.db.Reserve(ctx, c, entry(auditlog.ActionCertificateReserve, serial)))
	must(t, e.db.MarkIssued(ctx, serial, []byte("der-"+serial), at, entry(auditlog.ActionCertificateIssue, serial)))
}

// revoke records a revocation row as the revocation store does (table of migration 0002).
func (e *env) revoke(t *testing.T, serial string, g law.Ground, orderRef string) {
	t.Helper()
	at := e.clk.Now().UnixMilli()
	_, err := e.db.SQL().ExecContext(t.Context(), `INSERT INTO revocations (serial, ca, ground, reason,
		requested_ms, revoked_ms, requested_by, note, order_ref, created_ms)
		VALUES (?, 'signature', ?, 0, ?, ?, 'tester', '', ?, ?)`, serial, string(g), at, at, orderRef, at)
	must(t, err)
}

func (e *env) notices(t *testing.T) []notify.Notice {
	t.Helper()
	ns, err := e.db.Notices(t.Context())
	must(t, err)
	return ns
}

func (e *env) service() *notify.Service {
	return notify.New(e.db, e.clk, notify.Config{Node: "node-1"})
}

// TestExpiryNoticeOnce_L21_3_5: a certificate enters its 60-day window and gets exactly
// one expiry notice, however often the scanner runs afterwards.
func TestExpiryNoticeOnce_L21_3_5(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	e.issue(t, "a1", "1a", e.t0.Add(61*day), nil)
	s := e.service()
	n, err := s.ScanExpiring(ctx)
	must(t, err)
	if n != 0 || len(e.notices(t)) != 0 {
		t.Fatalf("61 days before expiry: %d notices queued, want none", n)
	}
	e.clk.Advance(day + time.Hour) // 59 days 23 hours before expiry
	n, err = s.ScanExpiring(ctx)
	must(t, err)
	ns := e.notices(t)
	if n != 1 || len(ns) != 1 {
		t.Fatalf("inside the window: %d queued, %d recorded, want 1", n, len(ns))
	}
	got := ns[0]
	if got.DedupKey != "expiry:1a" || got.Kind != notify.KindExpiry || got.State != notify.StateQueued ||
		got.Channel != notify.ChannelEmail || got.Recipient != "a1@example.ma" || got.Serial != "1a" {
		t.Fatalf("expiry notice: %+v", got)
	}
	// It invites renewal or revocation (L-21-3-5).
	if !strings.Contains(got.Body, "renouveler") || !strings.Contains(got.Body, "révoquer") {
		t.Fatalf("expiry notice does not invite renewal or revocation:\n%s", got.Body)
	}
	for _, adv := range []time.Duration{0, time.Hour, 30 * day} {
		e.clk.Advance(adv)
		for _, scan := range []func(context.Context) (int, error){s.ScanExpiring, e.service().ScanExpiring} {
			n, err := scan(ctx)
			must(t, err)
			if n != 0 {
				t.Fatalf("scan %v later queued %d more", adv, n)
			}
		}
	}
	if ns := e.notices(t); len(ns) != 1 {
		t.Fatalf("%d notices after rescans, want 1", len(ns))
	}
	// The audit log holds exactly one queue entry for it.
	if c := countActions(t, e.db, auditlog.ActionNoticeQueue); c != 1 {
		t.Fatalf("%d notice.queue entries, want 1", c)
	}
}

// TestExpiryNoticeLead_L21_3_5: the notice is queued before the 60th day, and a revoked
// or expired certificate gets no expiry notice.
func TestExpiryNoticeLead_L21_3_5(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	e.issue(t, "a1", "1", e.t0.Add(60*day+time.Hour), nil) // within the 6-hour lead
	e.issue(t, "a2", "2", e.t0.Add(10*day), nil)
	e.issue(t, "a3", "3", e.t0.Add(-time.Hour), nil)
	e.revoke(t, "2", law.GroundHolderRequest, "")
	n, err := e.service().ScanExpiring(ctx)
	must(t, err)
	ns := e.notices(t)
	if n != 1 || len(ns) != 1 || ns[0].Serial != "1" {
		t.Fatalf("queued %d: %+v", n, ns)
	}
}

func countActions(t *testing.T, db *store.DB, a auditlog.Action) int {
	t.Helper()
	size, err := db.AuditSize(t.Context())
	must(t, err)
	es, err := db.AuditEntries(t.Context(), 0, size)
	must(t, err)
	c := 0
	for _, e := range es {
		if e.Action == a {
			c++
		}
	}
	return c
}

// TestNoEmailWithoutConsent_L65_3: only a holder who accepted e-mail and gave an
// address is e-mailed; the others find the notice held in their account.
func TestNoEmailWithoutConsent_L65_3(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	exp := e.t0.Add(30 * day)
	e.issue(t, "a1", "1", exp, nil)
	e.issue(t, "a2", "2", exp, func(a *ra.Application) { a.ConsentEmail = false })
	e.issue(t, "a3", "3", exp, func(a *ra.Application) { a.ContactEmail = "" })
	e.issue(t, "a4", "4", exp, func(a *ra.Application) { a.ContactEmail = "not an address" })
	s := e.service()
	_, err := s.ScanExpiring(ctx)
	must(t, err)
	got := map[string]notify.Notice{}
	for _, n := range e.notices(t) {
		got[n.Serial] = n
	}
	if n := got["1"]; n.Channel != notify.ChannelEmail || n.State != notify.StateQueued || n.Recipient != "a1@example.ma" {
		t.Errorf("consenting holder: %+v", n)
	}
	for _, serial := range []string{"2", "3", "4"} {
		n := got[serial]
		if n.Channel != notify.ChannelAccount || n.State != notify.StateHeld || strings.Contains(n.Recipient, "@") {
			t.Errorf("serial %s: channel %s state %s recipient %q, want held in the account", serial, n.Channel, n.State, n.Recipient)
		}
	}
	// The mail server sees only the consenting holder.
	srv := startSMTP(t)
	snd, err := notify.NewSMTP(notify.SMTPConfig{Addr: srv.Addr(), From: "notices@tawthiq.test"})
	must(t, err)
	sent, err := notify.NewDeliverer(e.db, snd, e.clk, notify.DelivererConfig{}).DeliverDue(ctx)
	must(t, err)
	msgs := srv.received()
	if sent != 1 || len(msgs) != 1 || msgs[0].To != "a1@example.ma" {
		t.Fatalf("sent %d, received %+v", sent, msgs)
	}
	// The holder without consent reads his notice in his account, and only his.
	held, err := s.Notices(ctx, "holder-a2")
	must(t, err)
	if len(held) != 1 || held[0].Serial != "2" || held[0].State != notify.StateHeld {
		t.Fatalf("holder-a2's notices: %+v", held)
	}
	if _, err := s.Notices(ctx, ""); err == nil {
		t.Fatal("notices listed without a holder")
	}
}

// TestNoticeLanguages_L21_3_5: the holder's language chooses the text.
func TestNoticeLanguages_L21_3_5(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	for i, lang := range []string{"ar", "fr", "en"} {
		e.issue(t, "a"+lang, strconv.Itoa(i+1), e.t0.Add(30*day), func(a *ra.Application) { a.Language = lang })
		e.revoke(t, strconv.Itoa(i+1), law.GroundInformationChanged, "")
	}
	e.issue(t, "aen2", "9", e.t0.Add(30*day), func(a *ra.Application) { a.Language = "en" })
	s := e.service()
	_, err := s.ScanRevoked(ctx)
	must(t, err)
	_, err = s.ScanExpiring(ctx)
	must(t, err)
	want := map[string]string{"ar": "إلغاء", "fr": "révoqué", "en": "revoked"}
	bodies := map[string]bool{}
	for _, n := range e.notices(t) {
		if n.Kind == notify.KindExpiry {
			if n.Language != "en" || !strings.Contains(n.Body, "renew") || !strings.Contains(n.Body, "revoke") {
				t.Errorf("English expiry notice: %s", n.Body)
			}
			continue
		}
		if !strings.Contains(n.Subject+n.Body, want[n.Language]) {
			t.Errorf("%s revocation notice lacks %q:\n%s\n%s", n.Language, want[n.Language], n.Subject, n.Body)
		}
		bodies[n.Body] = true
	}
	if len(bodies) != 3 {
		t.Fatalf("%d distinct revocation bodies for 3 languages", len(bodies))
	}
}

// TestRevocationNoticeStatesGround_L21_3_7: each revocation gets one notice that
// says its ground in plain words (and the order's reference for a judicial order).
func TestRevocationNoticeStatesGround_L21_3_7(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	for i, g := range law.Grounds() {
		serial := strconv.Itoa(i + 1)
		e.issue(t, "a"+serial, serial, e.t0.Add(300*day), func(a *ra.Application) { a.Language = "en" })
		e.revoke(t, serial, g.Ground, "TPI-RABAT-2026/117")
	}
	s := e.service()
	n, err := s.ScanRevoked(ctx)
	must(t, err)
	if n != len(law.Grounds()) {
		t.Fatalf("queued %d revocation notices, want %d", n, len(law.Grounds()))
	}
	n, err = s.ScanRevoked(ctx)
	must(t, err)
	if n != 0 {
		t.Fatalf("a second scan queued %d", n)
	}
	ns := e.notices(t)
	for i, g := range law.Grounds() {
		var found *notify.Notice
		for j := range ns {
			if ns[j].Serial == strconv.Itoa(i+1) {
				found = &ns[j]
			}
		}
		if found == nil || found.DedupKey != "revocation:"+found.Serial {
			t.Fatalf("ground %s: no notice", g.Ground)
		}
		if !strings.Contains(found.Body, g.Description) {
			t.Errorf("ground %s: body does not say %q:\n%s", g.Ground, g.Description, found.Body)
		}
		if g.Ground == law.GroundJudicialOrder && !strings.Contains(found.Body, "TPI-RABAT-2026/117") {
			t.Errorf("judicial order notice lacks the order reference:\n%s", found.Body)
		}
	}
	// In French, the ground is in French.
	if got := notify.GroundText(law.GroundKeyCompromise, "fr"); !strings.Contains(got, "confidentialité") {
		t.Fatalf("French ground text: %q", got)
	}
}

// TestDeliveryRetry_L21_3_5: a refused message is retried after a backoff, and the
// Message-ID stays the same.
func TestDeliveryRetry_L21_3_5(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	e.issue(t, "a1", "1", e.t0.Add(30*day), nil)
	_, err := e.service().ScanExpiring(ctx)
	must(t, err)
	srv := startSMTP(t)
	srv.rejectNext = 2
	snd, err := notify.NewSMTP(notify.SMTPConfig{Addr: srv.Addr(), From: "notices@tawthiq.test"})
	must(t, err)
	d := notify.NewDeliverer(e.db, snd, e.clk, notify.DelivererConfig{MinBackoff: time.Minute})
	for i, wait := range []time.Duration{0, time.Minute, 2 * time.Minute} {
		e.clk.Advance(wait - time.Millisecond)
		n, err := d.DeliverDue(ctx)
		must(t, err)
		if n != 0 && i > 0 {
			t.Fatalf("attempt %d sent before its backoff", i+1)
		}
		e.clk.Advance(time.Millisecond)
		n, err = d.DeliverDue(ctx)
		must(t, err)
		if want := map[bool]int{true: 1, false: 0}[i == 2]; n != want {
			t.Fatalf("attempt %d: sent %d, want %d", i+1, n, want)
		}
	}
	ns := e.notices(t)
	msgs := srv.received()
	if len(ns) != 1 || ns[0].State != notify.StateSent || ns[0].Attempts != 3 || len(msgs) != 1 ||
		msgs[0].MessageID != ns[0].MessageID {
		t.Fatalf("notices %+v, received %+v", ns, msgs)
	}
	if c := countActions(t, e.db, auditlog.ActionNoticeRetry); c != 2 {
		t.Fatalf("%d retry entries, want 2", c)
	}
	// The message is readable UTF-8 text with its headers.
	m := msgs[0].Msg
	body, err := io.ReadAll(quotedprintable.NewReader(m.Body))
	must(t, err)
	if m.Header.Get("From") != "notices@tawthiq.test" || m.Header.Get("To") != "a1@example.ma" ||
		!bytes.Equal(body, []byte(strings.ReplaceAll(ns[0].Body, "\n", "\r\n"))) {
		t.Fatalf("message: %v\n%s", m.Header, body)
	}
}

// TestDeliveryAfterCrash_L21_3_5 kills a delivery process right after the mail
// server acknowledged one of its messages and before it was recorded, with a batch
// claimed, then delivers again: every notice reaches the server, each Message-ID at
// least once and only the one in flight twice, and the store shows every notice sent.
func TestDeliveryAfterCrash_L21_3_5(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	const total, dieAfter = 12, 7
	for i := 1; i <= total; i++ {
		e.issue(t, fmt.Sprintf("a%d", i), fmt.Sprintf("%x", 0x100+i), e.t0.Add(30*day), nil)
	}
	n, err := e.service().ScanExpiring(ctx)
	must(t, err)
	if n != total {
		t.Fatalf("queued %d, want %d", n, total)
	}
	srv := startSMTP(t)

	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), crashDB+"="+e.path, crashSMTP+"="+srv.Addr(),
		crashTime+"="+strconv.FormatInt(e.clk.Now().UnixMilli(), 10), crashAfter+"="+strconv.Itoa(dieAfter))
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err = cmd.Run()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != crashExit {
		t.Fatalf("child: %v\n%s", err, out.String())
	}
	if got := len(srv.received()); got != dieAfter {
		t.Fatalf("the server acknowledged %d messages before the crash, want %d", got, dieAfter)
	}
	var sending, sent int
	for _, n := range e.notices(t) {
		switch n.State {
		case notify.StateSending:
			sending++
		case notify.StateSent:
			sent++
		}
	}
	// Two batches of 5 claimed; 6 recorded sent; the 7th sent but not recorded.
	if sent != dieAfter-1 || sending != 2*crashBatch-sent {
		t.Fatalf("after the crash: %d sent, %d sending", sent, sending)
	}

	// Restart: nothing is retried while the dead process's claim runs...
	snd, err := notify.NewSMTP(notify.SMTPConfig{Addr: srv.Addr(), From: "notices@tawthiq.test"})
	must(t, err)
	d := notify.NewDeliverer(e.db, snd, e.clk, notify.DelivererConfig{Holder: "parent", Batch: crashBatch})
	_, err = d.DeliverDue(ctx)
	must(t, err)
	// ...and once it lapses, every claimed notice is delivered.
	e.clk.Advance(crashLease)
	_, err = d.DeliverDue(ctx)
	must(t, err)

	ns := e.notices(t)
	byID := map[string]int{}
	for _, m := range srv.received() {
		byID[m.MessageID]++
	}
	doubles := 0
	for _, n := range ns {
		if n.State != notify.StateSent || n.SentAt.IsZero() {
			t.Errorf("notice %s is %s", n.DedupKey, n.State)
		}
		switch byID[n.MessageID] {
		case 1:
		case 2:
			doubles++ // the one acknowledged but not recorded: same Message-ID, dropped by the receiver
		default:
			t.Errorf("notice %s (Message-ID %s) received %d times", n.DedupKey, n.MessageID, byID[n.MessageID])
		}
	}
	if len(ns) != total || len(byID) != total || doubles > 1 {
		t.Fatalf("%d notices, %d distinct Message-IDs received, %d received twice", len(ns), len(byID), doubles)
	}
	if c := countActions(t, e.db, auditlog.ActionNoticeSend); c != total {
		t.Fatalf("%d notice.send entries, want %d", c, total)
	}
}

// TestScanLease: with two nodes, one scans at a time.
func TestScanLease(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	e.issue(t, "a1", "1", e.t0.Add(30*day), nil)
	one := notify.New(e.db, e.clk, notify.Config{Node: "node-1", ScanEvery: time.Minute})
	two := notify.New(e.db, e.clk, notify.Config{Node: "node-2", ScanEvery: time.Minute})
	must(t, one.ScanOnce(ctx))
	if len(e.notices(t)) != 1 {
		t.Fatal("node-1 holding the lease did not scan")
	}
	e.issue(t, "a2", "2", e.t0.Add(30*day), nil)
	must(t, two.ScanOnce(ctx))
	if len(e.notices(t)) != 1 {
		t.Fatal("node-2 scanned while node-1 held the lease")
	}
	e.clk.Advance(2 * time.Minute)
	must(t, two.ScanOnce(ctx))
	if len(e.notices(t)) != 2 {
		t.Fatal("node-2 did not scan after node-1's lease lapsed")
	}
}

// approvalErr drops the resulting status of an approval.
func approvalErr(_ ra.Status, err error) error { return err }
