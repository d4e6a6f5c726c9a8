package storetest

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"testing"
	"time"

	"github.com/tawthiq/tawthiq/internal/contract"
	"github.com/tawthiq/tawthiq/internal/errkind"
	"github.com/tawthiq/tawthiq/internal/law"
	"github.com/tawthiq/tawthiq/internal/store"
)

func contractCases() []testCase {
	return []testCase{
		{"TestContractOffers_L65_4", testContractOffers},
		{"TestContractOrder_L65_5", testContractOrder},
		{"TestContractDeed_L443", testContractDeed},
	}
}

func digest(b []byte) []byte {
	h := sha256.Sum256(b)
	return h[:]
}

func contractOffer(id string, version int, at time.Time) contract.Offer {
	terms := contract.OfferTerms{Title: "Laptop", Category: law.CategorySale, Seal: "shop",
		Items: contract.Items{Characteristics: "c", Conditions: "c", Steps: "s", ErrorCorrection: "e", Languages: []string{"fr"}, Archiving: "a", Rules: "r"},
		Lines: []contract.Line{{SKU: "L1", Name: "Laptop", UnitPrice: 999_900}}}
	doc, _ := json.Marshal(map[string]any{"id": id, "version": version, "terms": terms})
	return contract.Offer{ID: id, Version: version, OfferorID: "usr_shop", Terms: terms, Binding: true, PublishedAt: at,
		Document: doc, SHA256: digest(doc)}
}

func testContractOffers(t *testing.T, db *store.DB) {
	ctx := t.Context()
	at := now()
	o1 := contractOffer("ofr_1", 1, at)
	must(t, db.PutOffer(ctx, o1, entry(at, contract.ActionOfferPublish, o1.ID)))
	ad := contractOffer("ofr_1", 2, at)
	ad.Binding, ad.Missing = false, []law.OfferItem{law.ItemLanguages, law.ItemRules}
	must(t, db.PutOffer(ctx, ad, entry(at, contract.ActionOfferPublish, ad.ID)))
	// Versions follow one another: no gap, no second version 2 (L-65-4).
	wantKind(t, db.PutOffer(ctx, contractOffer("ofr_1", 4, at), entry(at, contract.ActionOfferPublish, "ofr_1")), errkind.Forbidden, law.L65_4)
	err := db.PutOffer(ctx, contractOffer("ofr_1", 2, at), entry(at, contract.ActionOfferPublish, "ofr_1"))
	if err == nil {
		t.Fatal("a second version 2 was recorded")
	}
	got, err := db.Offer(ctx, "ofr_1", 0)
	must(t, err)
	if got.Version != 2 || got.Binding || len(got.Missing) != 2 || got.Missing[1] != law.ItemRules || got.Superseded || !bytes.Equal(got.Document, ad.Document) {
		t.Fatalf("latest offer: %+v", got)
	}
	first, err := db.Offer(ctx, "ofr_1", 1)
	must(t, err)
	if !first.Binding || !first.Superseded || first.Terms.Lines[0].UnitPrice != 999_900 || !first.PublishedAt.Equal(at) {
		t.Fatalf("first version: %+v", first)
	}
	_, err = db.Offer(ctx, "ofr_none", 0)
	wantKind(t, err, errkind.NotFound, "")
	wantKind(t, exec(db, "UPDATE contract_offers SET binding = binding"), errkind.Forbidden, law.L21_2)
	wantKind(t, exec(db, "DELETE FROM contract_offers"), errkind.Forbidden, law.L21_2)
}

// orderUpToReview records an offer, an order and a review of its first version.
func orderUpToReview(t *testing.T, db *store.DB, id string, total int64, at time.Time) contract.Review {
	ctx := t.Context()
	off := contractOffer("ofr_"+id, 1, at)
	must(t, db.PutOffer(ctx, off, entry(at, contract.ActionOfferPublish, off.ID)))
	o := contract.Order{ID: id, OfferID: off.ID, OfferVersion: 1, CustomerID: "usr_cust", OfferorID: "usr_shop", Email: "c@example.ma",
		ConsentEmail: true, Language: "fr", CreatedAt: at,
		Revisions: []contract.Revision{{N: 1, Lines: []contract.OrderLine{{SKU: "L1", Quantity: 1}}, Form: map[string]string{"a": "b"}, CreatedAt: at}}}
	must(t, db.CreateContractOrder(ctx, o, entry(at, contract.ActionOrderDraft, id)))
	doc := []byte(`{"order":"` + id + `"}`)
	r := contract.Review{Revision: 1, Document: doc, SHA256: digest(doc), Total: total, ReviewedAt: at}
	must(t, db.AddOrderReview(ctx, id, r, entry(at, contract.ActionOrderReview, id)))
	return r
}

func confirmation(rev int, deed bool, at time.Time) contract.Confirmation {
	doc, ack := []byte(`{"confirmed":true}`), []byte{0x30, 0x03, 0x02, 0x01, 0x01}
	return contract.Confirmation{Revision: rev, Document: doc, SHA256: digest(doc), Ack: ack, AckSHA256: digest(ack),
		ConfirmedAt: at, DeedRequired: deed}
}

func testContractOrder(t *testing.T, db *store.DB) {
	ctx := t.Context()
	at := now()
	orderUpToReview(t, db, "ord_1", 999_900, at)
	// A correction after the review: the old review can no longer be confirmed (L-65-5).
	rev2 := contract.Revision{N: 2, Lines: []contract.OrderLine{{SKU: "L1", Quantity: 2}}, CreatedAt: at}
	must(t, db.AddOrderRevision(ctx, "ord_1", rev2, entry(at, contract.ActionOrderRevise, "ord_1")))
	wantKind(t, db.AddOrderRevision(ctx, "ord_1", rev2, entry(at, contract.ActionOrderRevise, "ord_1")), errkind.Forbidden, law.L65_5)
	wantKind(t, db.ConfirmOrder(ctx, "ord_1", confirmation(1, false, at), nil, at, entry(at, contract.ActionOrderConfirm, "ord_1")), errkind.Forbidden, law.L65_5)
	// Version 2 was not reviewed: the database refuses its confirmation too.
	err := db.ConfirmOrder(ctx, "ord_1", confirmation(2, false, at), nil, at, entry(at, contract.ActionOrderConfirm, "ord_1"))
	if err == nil {
		t.Fatal("an unreviewed version was confirmed")
	}
	doc := []byte(`{"order":"ord_1","revision":2}`)
	must(t, db.AddOrderReview(ctx, "ord_1", contract.Review{Revision: 2, Document: doc, SHA256: digest(doc), Total: 1_999_800, ReviewedAt: at},
		entry(at, contract.ActionOrderReview, "ord_1")))
	msgs := []contract.Message{{Kind: "acknowledgement", Addressee: "usr_cust", Channel: "email", Recipient: "c@example.ma", AccessibleAt: at},
		{Kind: "confirmation", Addressee: "usr_shop", Channel: "account", Recipient: "usr_shop", AccessibleAt: at}}
	c := confirmation(2, false, at)
	must(t, db.ConfirmOrder(ctx, "ord_1", c, msgs, at, entry(at, contract.ActionOrderConfirm, "ord_1")))
	// Confirmed once; then nothing about the order changes.
	wantKind(t, db.ConfirmOrder(ctx, "ord_1", c, nil, time.Time{}, entry(at, contract.ActionOrderConfirm, "ord_1")), errkind.Conflict, "")
	wantKind(t, db.AddOrderRevision(ctx, "ord_1", contract.Revision{N: 3, CreatedAt: at}, entry(at, contract.ActionOrderRevise, "ord_1")), errkind.Forbidden, law.L65_5)

	o, err := db.ContractOrder(ctx, "ord_1")
	must(t, err)
	if o.State() != contract.StateConcluded || len(o.Revisions) != 2 || o.Revisions[1].Lines[0].Quantity != 2 || o.Revisions[0].Form["a"] != "b" ||
		len(o.Reviews) != 2 || o.Confirmation == nil || !bytes.Equal(o.Confirmation.Ack, c.Ack) || !o.ConcludedAt.Equal(at) ||
		len(o.Messages) != 2 || !o.Messages[0].AccessibleAt.Equal(at) || !o.ConsentEmail {
		t.Fatalf("order: %+v", o)
	}
	_, err = db.ContractOrder(ctx, "ord_none")
	wantKind(t, err, errkind.NotFound, "")
	for _, table := range []string{"contract_orders", "contract_order_revisions", "contract_order_reviews", "contract_confirmations",
		"contract_conclusions", "contract_messages"} {
		wantKind(t, exec(db, "UPDATE "+table+" SET created_ms = created_ms"), errkind.Forbidden, law.L21_2)
		wantKind(t, exec(db, "DELETE FROM "+table), errkind.Forbidden, law.L21_2)
	}
}

func testContractDeed(t *testing.T, db *store.DB) {
	ctx := t.Context()
	at := now()
	orderUpToReview(t, db, "ord_2", 1_000_100, at)
	// Over 10,000 dirhams the database refuses a conclusion without two qualified signatures (L-443).
	wantKind(t, db.ConfirmOrder(ctx, "ord_2", confirmation(1, true, at), nil, at, entry(at, contract.ActionOrderConfirm, "ord_2")), errkind.Forbidden, law.L443)
	must(t, db.ConfirmOrder(ctx, "ord_2", confirmation(1, true, at), nil, time.Time{}, entry(at, contract.ActionOrderConfirm, "ord_2")))
	sig := func(p contract.Party) contract.Signature {
		cms := []byte("cms-" + string(p))
		return contract.Signature{Party: p, SignerID: "usr_" + string(p), CMS: cms, SHA256: digest(cms), Qualified: true,
			Indication: "TOTAL-PASSED", Report: json.RawMessage(`{}`), CreatedAt: at}
	}
	wantKind(t, db.AddOrderSignature(ctx, "ord_2", sig(contract.Customer), nil, at, entry(at, contract.ActionOrderSign, "ord_2")), errkind.Forbidden, law.L443)
	must(t, db.AddOrderSignature(ctx, "ord_2", sig(contract.Customer), nil, time.Time{}, entry(at, contract.ActionOrderSign, "ord_2")))
	wantKind(t, db.AddOrderSignature(ctx, "ord_2", sig(contract.Customer), nil, time.Time{}, entry(at, contract.ActionOrderSign, "ord_2")), errkind.Conflict, "")
	must(t, db.AddOrderSignature(ctx, "ord_2", sig(contract.Offeror), nil, at, entry(at, contract.ActionOrderSign, "ord_2")))
	o, err := db.ContractOrder(ctx, "ord_2")
	must(t, err)
	if o.State() != contract.StateConcluded || len(o.Signatures) != 2 || !o.Confirmation.DeedRequired {
		t.Fatalf("order: %+v", o)
	}
	wantKind(t, exec(db, "UPDATE contract_signatures SET qualified = qualified"), errkind.Forbidden, law.L21_2)
}
