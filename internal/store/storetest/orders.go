package storetest

import (
	"testing"
	"time"

	"github.com/tawthiq/tawthiq/internal/auditlog"
	"github.com/tawthiq/tawthiq/internal/errkind"
	"github.com/tawthiq/tawthiq/internal/law"
	"github.com/tawthiq/tawthiq/internal/notify"
	"github.com/tawthiq/tawthiq/internal/orders"
	"github.com/tawthiq/tawthiq/internal/ra"
	"github.com/tawthiq/tawthiq/internal/store"
)

// orderCases are the conformance cases of judicial orders and disclosures.
func orderCases() []testCase {
	return []testCase{
		{"TestJudicialOrders_L21_3_7", testJudicialOrders},
		{"TestDisclosures_L24", testDisclosures},
	}
}

// ordersFixture: holder h1 has applications o-1 and o-2 (certificates 0e01, 0e02),
// holder h2 has o-3 (0e03).
func ordersFixture(t *testing.T, db *store.DB, at time.Time) {
	t.Helper()
	publishTerms(t, db, "v1", at)
	for _, c := range []struct{ app, serial, holder string }{{"o-1", "0e01", "h1"}, {"o-2", "0e02", "h1"}, {"o-3", "0e03", "h2"}} {
		issuedFor(t, db, c.app, c.serial, at, at.AddDate(1, 0, 0), func(a *ra.Application) { a.SubmittedBy = c.holder })
	}
}

func testJudicialOrders(t *testing.T, db *store.DB) {
	ctx := t.Context()
	at := now()
	ordersFixture(t, db, at)
	unknown, err := db.UnknownScope(ctx, []string{"h1", "nobody"}, []string{"0e03", "ffff"})
	must(t, err)
	if len(unknown) != 2 || unknown[0] != "nobody" || unknown[1] != "ffff" {
		t.Fatalf("unknown scope %v, want [nobody ffff]", unknown)
	}
	o := orders.Order{Ref: "ORD-1", Court: "TPI Rabat", Date: at.Add(-time.Hour), Kind: orders.KindRevoke,
		Holders: []string{"h1"}, Serials: []string{"0e03"}, RecordedBy: "admin", RecordedAt: at}
	must(t, db.PutOrder(ctx, o, entry(at, orders.ActionOrderRecord, o.Ref)))
	if err := db.PutOrder(ctx, o, entry(at, orders.ActionOrderRecord, o.Ref)); !errkind.Is(err, errkind.Conflict) {
		t.Fatalf("an order recorded twice: %v", err)
	}
	got, err := db.Order(ctx, "ORD-1")
	must(t, err)
	if got.Court != o.Court || !got.Date.Equal(o.Date) || got.Kind != o.Kind || len(got.Holders) != 1 || len(got.Serials) != 1 || got.Completion != nil {
		t.Fatalf("order read back %+v", got)
	}
	if _, err := db.Order(ctx, "ORD-2"); !errkind.Is(err, errkind.NotFound) {
		t.Fatalf("missing order: %v", err)
	}
	revokeRow(t, db, "0e02", law.GroundJudicialOrder, at) // carries order_ref ORD-1
	ts, err := db.OrderTargets(ctx, "ORD-1")
	must(t, err)
	if len(ts) != 3 || ts[0].Serial != "0e01" || ts[0].HolderID != "h1" || ts[2].HolderID != "h2" || !ts[0].Issued {
		t.Fatalf("targets %+v, want 0e01 0e02 (h1) and 0e03 (h2)", ts)
	}
	if ts[0].Revoked || !ts[1].Revoked || ts[1].OrderRef != "ORD-1" {
		t.Fatalf("revocation state of targets %+v", ts)
	}
	c := orders.Completion{Certificates: 3, Revoked: 3, Holders: 2, At: at}
	must(t, db.CompleteOrder(ctx, "ORD-1", c, entry(at, orders.ActionOrderComplete, "ORD-1")))
	must(t, db.CompleteOrder(ctx, "ORD-1", orders.Completion{At: at.Add(time.Second)}, entry(at, orders.ActionOrderComplete, "ORD-1")))
	got, err = db.Order(ctx, "ORD-1")
	must(t, err)
	if got.Completion == nil || got.Completion.Revoked != 3 || !got.Completion.At.Equal(at) {
		t.Fatalf("completion %+v, want the first one kept", got.Completion)
	}
	if err := exec(db, "UPDATE judicial_orders SET court = 'x' WHERE ref = 'ORD-1'"); err == nil {
		t.Fatal("a judicial order was changed")
	}
	if err := exec(db, "DELETE FROM judicial_order_scope WHERE ref = 'ORD-1'"); err == nil {
		t.Fatal("an order's scope was deleted inside the retention period")
	}
	// The order's notice to a holder is recorded once (L-21-3-7 b).
	n := testNotice("n-ord", "0e01", "o-1", at)
	n.Kind, n.DedupKey, n.Channel, n.Recipient, n.State = notify.KindJudicialOrder, orders.OrderNoticeKey("ORD-1", "h1"), notify.ChannelAccount, "h1", notify.StateHeld
	for i, want := range []bool{true, false} {
		n.ID, n.MessageID = n.ID+"x", n.MessageID+"x"
		ok, err := db.EnqueueNotice(ctx, n, entry(at, auditlog.ActionNoticeQueue, n.DedupKey))
		if err != nil || ok != want {
			t.Fatalf("enqueue %d of the order's notice: %v %v, want %v", i, ok, err, want)
		}
	}
}

func testDisclosures(t *testing.T, db *store.DB) {
	ctx := t.Context()
	at := now()
	ordersFixture(t, db, at)
	apps, err := db.HolderApplications(ctx, "h1")
	must(t, err)
	if len(apps) != 2 || apps[0].ID != "o-1" || len(apps[0].Approvals) != 2 {
		t.Fatalf("h1's applications %+v", apps)
	}
	certs, err := db.ApplicationCertificates(ctx, "o-2")
	must(t, err)
	if len(certs) != 1 || certs[0].Serial != "0e02" || len(certs[0].DER) == 0 {
		t.Fatalf("o-2's certificates %+v", certs)
	}
	d := orders.Disclosure{Ref: "PR-1", Office: "Procureur du Roi, Rabat", Date: at.Add(-time.Hour), Holders: []string{"h1", "h2"},
		RecordedBy: "admin", RecordedAt: at, Export: []byte("cms"), ExportSHA256: spki("cms")}
	read := auditlog.NewEntry(at, "admin", auditlog.ActionPersonalDataRead, "h1", nil)
	read.Ground = string(law.ReadProsecutorOrder)
	must(t, db.PutDisclosure(ctx, d, []auditlog.Entry{entry(at, orders.ActionDisclosureRecord, "PR-1"), read}))
	if err := db.PutDisclosure(ctx, d, []auditlog.Entry{entry(at, orders.ActionDisclosureRecord, "PR-1")}); !errkind.Is(err, errkind.Conflict) {
		t.Fatalf("a disclosure recorded twice: %v", err)
	}
	got, err := db.Disclosure(ctx, "PR-1")
	must(t, err)
	if got.Office != d.Office || string(got.Export) != "cms" || len(got.Holders) != 2 || !got.RecordedAt.Equal(at) {
		t.Fatalf("disclosure read back %+v", got)
	}
	if _, err := db.Disclosure(ctx, "PR-2"); !errkind.Is(err, errkind.NotFound) {
		t.Fatalf("missing disclosure: %v", err)
	}
	if err := exec(db, "UPDATE disclosures SET export = ? WHERE ref = 'PR-1'", []byte("forged")); err == nil {
		t.Fatal("a disclosure's export was changed")
	}
	n := testNotice("n-dis", "0e03", "o-3", at)
	n.Kind, n.DedupKey = notify.KindDisclosure, orders.DisclosureNoticeKey("PR-1", "h2")
	if ok, err := db.EnqueueNotice(ctx, n, entry(at, auditlog.ActionNoticeQueue, n.DedupKey)); err != nil || !ok {
		t.Fatalf("disclosure notice: %v %v", ok, err)
	}
}
