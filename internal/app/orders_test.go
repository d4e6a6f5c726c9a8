package app

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tawthiq/tawthiq/client"
	"github.com/tawthiq/tawthiq/internal/auditlog"
	"github.com/tawthiq/tawthiq/internal/ca"
	"github.com/tawthiq/tawthiq/internal/config"
	"github.com/tawthiq/tawthiq/internal/issuance"
	"github.com/tawthiq/tawthiq/internal/law"
	"github.com/tawthiq/tawthiq/internal/notify"
	"github.com/tawthiq/tawthiq/internal/orders"
	"github.com/tawthiq/tawthiq/internal/ra"
)

// bulkCertificates records n issued certificates of the signature CA for holders
// "holder-0".."holder-{holders-1}", through the store's own writes (application, two
// approvals, reservation, issuance, each with its audit entry), with real DER signed
// by a throwaway CA: the revocation, CRL and notice paths under test stay the real ones.
func bulkCertificates(t *testing.T, e *testEnv, n, holders int) (serials []string, holderIDs []string) {
	t.Helper()
	ctx := context.Background()
	terms, err := e.app.RA.CurrentTerms(ctx)
	if err != nil {
		t.Fatal(err)
	}
	caKey := p256(t)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "throwaway"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().AddDate(1, 0, 0), IsCA: true, BasicConstraintsValid: true}
	leafKey := p256(t)
	for i := range holders {
		holderIDs = append(holderIDs, fmt.Sprintf("holder-%d", i))
	}
	serials = make([]string, n)
	at := law.Timestamp(time.Now())
	work := make(chan int)
	errs := make(chan error, 1)
	var wg sync.WaitGroup
	for range 32 {
		wg.Go(func() {
			for i := range work {
				if err := bulkOne(ctx, e, i, holderIDs[i%holders], terms.Version, caTmpl, caKey, leafKey, at, serials); err != nil {
					select {
					case errs <- err:
					default:
					}
				}
			}
		})
	}
	for i := range n {
		work <- i
	}
	close(work)
	wg.Wait()
	select {
	case err := <-errs:
		t.Fatal(err)
	default:
	}
	return serials, holderIDs
}

func bulkOne(ctx context.Context, e *testEnv, i int, holder, terms string, caTmpl *x509.Certificate, caKey, leafKey *ecdsa.PrivateKey,
	at time.Time, serials []string) error {
	db := e.app.DB
	id := fmt.Sprintf("app_bulk_%d", i)
	a := &ra.Application{ID: id, Profile: "natural-qualified", Subject: issuance.Subject{CommonName: holder, Country: "MA"},
		Identity:     ra.IDDocument{Type: "national-id-card", Number: fmt.Sprintf("BK%06d", i), Country: "MA", Expiry: at.AddDate(3, 0, 0)},
		TermsVersion: terms, TermsAcceptedAt: at, CSR: []byte("csr"), SPKISHA256: []byte(id), Language: "fr",
		SubmittedBy: holder, CreatedAt: at}
	if err := db.CreateApplication(ctx, a, auditlog.NewEntry(at, "test", auditlog.ActionApplicationCreate, id, nil)); err != nil {
		return err
	}
	for j := range 2 {
		ap := ra.Approval{ApplicationID: id, Officer: fmt.Sprint("officer-", j), At: at}
		if _, err := db.AddApproval(ctx, ap, auditlog.NewEntry(at, "test", auditlog.ActionApplicationApprove, id, nil)); err != nil {
			return err
		}
	}
	sn := big.NewInt(int64(1_000_000 + i))
	serial := hex.EncodeToString(sn.Bytes())
	tmpl := &x509.Certificate{SerialNumber: sn, Subject: pkix.Name{CommonName: holder}, NotBefore: at, NotAfter: at.AddDate(1, 0, 0)}
	der, err := x509.CreateCertificate(nil, tmpl, caTmpl, leafKey.Public(), caKey)
	if err != nil {
		return err
	}
	c := &ca.Certificate{Serial: serial, CA: "signature", ApplicationID: id, Profile: "natural-qualified", SPKISHA256: []byte(id),
		Subject: "CN=" + holder, NotBefore: at, NotAfter: at.AddDate(1, 0, 0), TBS: []byte("tbs"), ReservedAt: at}
	if err := db.Reserve(ctx, c, auditlog.NewEntry(at, "test", auditlog.ActionCertificateReserve, serial, nil)); err != nil {
		return err
	}
	if err := db.MarkIssued(ctx, serial, der, at, auditlog.NewEntry(at, "test", auditlog.ActionCertificateIssue, serial, nil)); err != nil {
		return err
	}
	serials[i] = serial
	return nil
}

// latestCRL waits for a CRL of the signature CA numbered at least min.
func latestCRL(t *testing.T, e *testEnv, minNumber int64) (int64, []byte) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := e.app.Revoke.Latest(context.Background(), "signature")
		if err == nil && c.Number >= minNumber {
			return c.Number, c.DER
		}
		if time.Now().After(deadline) {
			t.Fatalf("no CRL numbered %d or more: %v", minNumber, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// count runs a counting query on the app's database.
func count(t *testing.T, e *testEnv, q string, args ...any) int {
	t.Helper()
	var n int
	if err := e.app.DB.SQL().QueryRowContext(context.Background(), e.app.DB.Rebind(q), args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestJudicialOrder10k_L21_3_7 executes a court's order over 10,000 certificates of
// 2,000 holders: all are revoked with the order's reference, one CRL (the next
// number) lists all of them, and each holder has exactly one notice.
func TestJudicialOrder10k_L21_3_7(t *testing.T) {
	if testing.Short() {
		t.Skip("10,000 certificates: not in -short")
	}
	const n, holders = 10_000, 2_000
	ctx := context.Background()
	e := startEnv(t, t.TempDir(), "")
	start := time.Now()
	serials, holderIDs := bulkCertificates(t, e, n, holders)
	t.Logf("recorded %d certificates in %s", n, time.Since(start).Round(time.Millisecond))
	before, _ := latestCRL(t, e, 0)

	const ref = "TPI-Rabat 2025/417"
	if _, err := e.admin.RecordOrder(ctx, client.JudicialOrderRequest{Ref: ref, Court: "Tribunal de première instance de Rabat",
		Date: time.Now().Add(-24 * time.Hour), Kind: "revoke", Holders: holderIDs}); err != nil {
		t.Fatal(err)
	}
	start = time.Now()
	var lines int
	done, err := e.admin.ExecuteOrder(ctx, ref, func(client.OrderProgress) { lines++ })
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("executed the order over %d certificates in %s (%d progress lines)", n, time.Since(start).Round(time.Millisecond), lines)
	if done.Certificates != n || done.Revoked != n || done.Holders != holders {
		t.Fatalf("completion %+v, want %d certificates revoked, %d holders", done, n, holders)
	}
	if got := count(t, e, "SELECT count(*) FROM revocations WHERE order_ref = ? AND ground = ?", ref, string(law.GroundJudicialOrder)); got != n {
		t.Fatalf("%d revocations carry the order's reference, want %d", got, n)
	}

	number, der := latestCRL(t, e, before+1)
	if number != before+1 {
		t.Fatalf("CRL number %d after the order, want exactly one more than %d", number, before)
	}
	crl, err := x509.ParseRevocationList(der)
	if err != nil {
		t.Fatal(err)
	}
	listed := map[string]bool{}
	for _, rc := range crl.RevokedCertificateEntries {
		listed[hex.EncodeToString(rc.SerialNumber.Bytes())] = true
	}
	for _, s := range serials {
		if !listed[s] {
			t.Fatalf("CRL %d does not list %s (%d entries)", number, s, len(listed))
		}
	}
	if _, err := exec.LookPath("openssl"); err == nil || os.Getenv("TAWTHIQ_REQUIRE_OPENSSL") == "1" {
		openssl := needTool(t, "openssl")
		p := filepath.Join(t.TempDir(), "order.crl")
		if err := os.WriteFile(p, der, 0o600); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(openssl, "crl", "-inform", "DER", "-in", p, "-noout", "-text").CombinedOutput()
		if err != nil {
			t.Fatalf("openssl crl: %v\n%s", err, out)
		}
		if got := strings.Count(string(out), "Serial Number:"); got < n {
			t.Fatalf("openssl lists %d serials, want at least %d", got, n)
		}
	}

	if got := count(t, e, "SELECT count(*) FROM notices WHERE kind = ?", string(notify.KindJudicialOrder)); got != holders {
		t.Fatalf("%d order notices, want one per holder (%d)", got, holders)
	}
	for _, h := range holderIDs[:3] {
		if got := count(t, e, "SELECT count(*) FROM notices WHERE dedup_key = ?", orders.OrderNoticeKey(ref, h)); got != 1 {
			t.Fatalf("holder %s has %d notices of the order", h, got)
		}
	}
	// Running it again changes nothing: the revocations are final, the notices unique.
	again, err := e.admin.ExecuteOrder(ctx, ref, nil)
	if err != nil || again.Revoked != n {
		t.Fatalf("re-execution: %+v %v", again, err)
	}
	if got := count(t, e, "SELECT count(*) FROM notices WHERE kind = ?", string(notify.KindJudicialOrder)); got != holders {
		t.Fatalf("%d order notices after a second run, want %d", got, holders)
	}
}

// Environment of the child that executes an order and is killed midway.
const (
	orderCrashData = "TAWTHIQ_ORDER_CRASH_DATA"
	orderCrashRef  = "TAWTHIQ_ORDER_CRASH_REF"
)

// TestOrderCrashChild is the child process of TestJudicialOrderCrash_L21_3_7: it
// executes the order slowly, printing each batch, until its parent kills it.
func TestOrderCrashChild(t *testing.T) {
	data := os.Getenv(orderCrashData)
	if data == "" {
		t.Skip("the child of TestJudicialOrderCrash_L21_3_7")
	}
	a, err := Open(context.Background(), config.Config{Data: data}, Options{Getenv: testGetenv, Out: io.Discard})
	if err != nil {
		fmt.Println("open:", err)
		os.Exit(1)
	}
	svc := orders.New(orders.Config{Store: a.DB, Clock: a.opts.Clock, Revoke: a.Revoke, Notify: a.Notify, Batch: 200})
	_, err = svc.Execute(context.Background(), "admin", os.Getenv(orderCrashRef), func(p orders.Progress) {
		fmt.Printf("%s %d\n", p.Stage, p.Revoked)
		time.Sleep(50 * time.Millisecond) // leaves the parent time to kill it between batches
	})
	fmt.Println("finished:", err)
	os.Exit(1)
}

// TestJudicialOrderCrash_L21_3_7 kills the process executing an order in the middle
// of its revocations, restarts, and runs it again: every certificate is revoked
// once, each holder has one notice, and the audit log verifies.
func TestJudicialOrderCrash_L21_3_7(t *testing.T) {
	const n, holders = 3_000, 300
	ctx := context.Background()
	data := t.TempDir()
	e := startEnv(t, data, "")
	_, holderIDs := bulkCertificates(t, e, n, holders)
	const ref = "CA-Casablanca 2025/88"
	if _, err := e.admin.RecordOrder(ctx, client.JudicialOrderRequest{Ref: ref, Court: "Cour d'appel de Casablanca",
		Date: time.Now().Add(-time.Hour), Kind: "revoke", Holders: holderIDs}); err != nil {
		t.Fatal(err)
	}
	e.stop()

	cmd := exec.Command(os.Args[0], "-test.run=^TestOrderCrashChild$")
	cmd.Env = append(os.Environ(), orderCrashData+"="+data, orderCrashRef+"="+ref)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var seen []string
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		seen = append(seen, sc.Text())
		var stage string
		var revoked int
		if _, err := fmt.Sscanf(sc.Text(), "%s %d", &stage, &revoked); err == nil && stage == "revoking" && revoked >= n/3 {
			_ = cmd.Process.Kill() // as kill -9: no deferred function, no release
			break
		}
	}
	var exit *exec.ExitError
	if err := cmd.Wait(); !errors.As(err, &exit) || exit.Success() {
		t.Fatalf("the child was not killed midway: %v\n%s", err, strings.Join(seen, "\n"))
	}

	e2 := startEnv(t, data, "")
	partial := count(t, e2, "SELECT count(*) FROM revocations WHERE order_ref = ?", ref)
	if partial == 0 || partial >= n {
		t.Fatalf("%d revoked at the kill: not in the middle of the order", partial)
	}
	t.Logf("killed after %d of %d revocations", partial, n)
	done, err := e2.app.Orders.Execute(ctx, "admin", ref, nil)
	if err != nil {
		t.Fatal(err)
	}
	if done.Revoked != n {
		t.Fatalf("after the restart %d revoked on the order, want %d", done.Revoked, n)
	}
	if got := count(t, e2, "SELECT count(*) FROM revocations WHERE order_ref = ?", ref); got != n {
		t.Fatalf("%d revocations, want %d", got, n)
	}
	if got := count(t, e2, "SELECT count(*) FROM notices WHERE kind = ?", string(notify.KindJudicialOrder)); got != holders {
		t.Fatalf("%d notices, want one per holder (%d)", got, holders)
	}
	if _, err := e2.app.Orders.Execute(ctx, "admin", ref, nil); err != nil {
		t.Fatal(err)
	}
	if got := count(t, e2, "SELECT count(*) FROM notices WHERE kind = ?", string(notify.KindJudicialOrder)); got != holders {
		t.Fatalf("%d notices after a third run, want %d", got, holders)
	}
	rep, err := e2.app.VerifyAudit(ctx)
	if err != nil || !rep.OK() {
		t.Fatalf("audit log after the crash: %v %v", rep.Problems, err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := e2.app.Revoke.Latest(ctx, "signature")
		if err == nil && c.Entries >= n {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no CRL lists the %d revocations: %+v %v", n, c, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestDisclosure_L24 reads holders' personal data only on a ground, and hands their
// creation data over on the King's prosecutor's order: the export verifies with
// openssl, holds their records and no key, and each holder has one notice.
func TestDisclosure_L24(t *testing.T) {
	ctx := context.Background()
	e := startEnv(t, t.TempDir(), "")
	serial1, _, h1 := issueOne(t, e, "DS100001")
	serial2, _, h2 := issueOne(t, e, "DS100002")

	// No ground, or one the law does not give: refused, naming L-24, and nothing logged.
	size, _ := e.app.DB.AuditSize(ctx)
	for _, q := range [][2]string{{"", ""}, {"curiosity", "x"}, {"authority-agent", ""}} {
		_, err := e.admin.HolderRecords(ctx, h1, q[0], q[1])
		var p *client.Problem
		if !errors.As(err, &p) || p.Status != 403 || p.Rule != string(law.L24) {
			t.Fatalf("read with ground %q ref %q: %v, want 403 naming %s", q[0], q[1], err, law.L24)
		}
	}
	if after, _ := e.app.DB.AuditSize(ctx); after != size {
		t.Fatalf("refused reads were logged: %d entries became %d", size, after)
	}
	// With a ground: shown, and logged with it.
	raw, err := e.admin.HolderRecords(ctx, h1, "authority-agent", "ANRT mandate 12/2025")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(raw), serial1) {
		t.Fatalf("holder records lack his certificate %s", serial1)
	}
	read := lastReads(t, e, size)
	if len(read) != 1 || read[0].Subject != h1 || read[0].Ground != string(law.ReadAuthorityAgent) || read[0].Actor == "" {
		t.Fatalf("read entries %+v, want one on ground %s", read, law.ReadAuthorityAgent)
	}

	const ref = "PR-Rabat 2025/311"
	size, _ = e.app.DB.AuditSize(ctx)
	d, err := e.admin.RecordDisclosure(ctx, client.DisclosureRequest{Ref: ref, Office: "Procureur du Roi près le TPI de Rabat",
		Date: time.Now().Add(-time.Hour), Holders: []string{h1, h2}})
	if err != nil {
		t.Fatal(err)
	}
	reads := lastReads(t, e, size)
	grounds := map[string]string{}
	for _, r := range reads {
		grounds[r.Subject] = r.Ground
	}
	if grounds[h1] != string(law.ReadProsecutorOrder) || grounds[h2] != string(law.ReadProsecutorOrder) {
		t.Fatalf("disclosure reads %v, want both holders on ground %s", grounds, law.ReadProsecutorOrder)
	}
	for _, h := range []string{h1, h2} {
		if got := count(t, e, "SELECT count(*) FROM notices WHERE dedup_key = ?", orders.DisclosureNoticeKey(ref, h)); got != 1 {
			t.Fatalf("holder %s has %d disclosure notices, want 1", h, got)
		}
	}
	if _, err := e.admin.RecordDisclosure(ctx, client.DisclosureRequest{Ref: ref, Office: "x", Date: time.Now().Add(-time.Hour),
		Holders: []string{h1}}); err == nil {
		t.Fatal("a disclosure recorded twice")
	}
	if got := count(t, e, "SELECT count(*) FROM notices WHERE kind = ?", string(notify.KindDisclosure)); got != 2 {
		t.Fatalf("%d disclosure notices after a repeat, want 2", got)
	}

	dir := t.TempDir()
	p7s := filepath.Join(dir, "export.p7s")
	if err := os.WriteFile(p7s, d.Export, 0o600); err != nil {
		t.Fatal(err)
	}
	root, err := e.admin.CACertificate(ctx, "root")
	if err != nil {
		t.Fatal(err)
	}
	rootPEM := writePEM(t, dir, "root.pem", root)
	openssl := needTool(t, "openssl")
	content := filepath.Join(dir, "export.json")
	if out, err := exec.Command(openssl, "cms", "-verify", "-inform", "DER", "-in", p7s, "-CAfile", rootPEM,
		"-purpose", "any", "-out", content).CombinedOutput(); err != nil {
		t.Fatalf("openssl cms -verify: %v\n%s", err, out)
	}
	if out, err := exec.Command(openssl, "cms", "-cmsout", "-print", "-inform", "DER", "-in", p7s).CombinedOutput(); err != nil ||
		!strings.Contains(string(out), "id-smime-aa-timeStampToken") {
		t.Fatalf("the export carries no signature time-stamp (B-T): %v", err)
	}
	b, err := os.ReadFile(content)
	if err != nil {
		t.Fatal(err)
	}
	var ex orders.Export
	if err := json.Unmarshal(b, &ex); err != nil {
		t.Fatal(err)
	}
	if ex.Order.Ref != ref || len(ex.Holders) != 2 {
		t.Fatalf("export names order %q and %d holders", ex.Order.Ref, len(ex.Holders))
	}
	want := map[string]string{h1: serial1, h2: serial2}
	for _, h := range ex.Holders {
		if len(h.Applications) != 1 || len(h.Applications[0].Certificates) != 1 ||
			h.Applications[0].Certificates[0].Serial != want[h.HolderID] || len(h.Applications[0].Certificates[0].DER) == 0 ||
			len(h.Applications[0].Approvals) != 2 || len(h.Applications[0].Identity.EvidenceSHA256) == 0 {
			t.Fatalf("export of holder %s: %+v", h.HolderID, h)
		}
	}
	for _, bad := range []string{"PRIVATE KEY", "private_key", "revocation_secret"} {
		if strings.Contains(strings.ToLower(string(b)), strings.ToLower(bad)) {
			t.Fatalf("the export holds %q", bad)
		}
	}
}

// lastReads returns the personal-data reads logged from entry from on.
func lastReads(t *testing.T, e *testEnv, from int64) []auditlog.Entry {
	t.Helper()
	ctx := context.Background()
	size, err := e.app.DB.AuditSize(ctx)
	if err != nil {
		t.Fatal(err)
	}
	es, err := e.app.DB.AuditEntries(ctx, from, size)
	if err != nil {
		t.Fatal(err)
	}
	var out []auditlog.Entry
	for _, en := range es {
		if en.Action == auditlog.ActionPersonalDataRead {
			out = append(out, en)
		}
	}
	return out
}
