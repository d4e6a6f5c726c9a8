package app

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tawthiq/tawthiq/client"
	"github.com/tawthiq/tawthiq/internal/config"
	"github.com/tawthiq/tawthiq/internal/keys"
	"github.com/tawthiq/tawthiq/internal/law"
)

// contractEnv is a CSP with a shop's seal (applied by its representative), the
// CSP's own seal for certified copies, and qualified signature certificates for
// the shop's representative and a customer.
type contractEnv struct {
	*testEnv
	shop, customer, other *client.Client
	shopID, customerID    string
	shopSign, custSign    Sign // how each party signs, as `tawthiq sign` does
	dir                   string
}

// issueSigning gives holder (whose account's ID number is idNumber) a qualified
// signature certificate for a key of his own, and returns how he signs with it.
func issueSigning(t *testing.T, e *testEnv, holder *client.Client, idNumber string, off1, off2 *client.Client) Sign {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	uri, reg := holderKey(t, dir)
	signer, err := reg.Open(ctx, uri)
	if err != nil {
		t.Fatal(err)
	}
	a, err := holder.SubmitApplication(ctx, application(t, holder, idNumber, newCSR(t, signer, "Holder "+idNumber)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := off1.Approve(ctx, a.ID, ""); err != nil {
		t.Fatal(err)
	}
	res, err := off2.Approve(ctx, a.ID, "")
	if err != nil || res.Certificate == nil {
		t.Fatalf("signature certificate: %v", err)
	}
	cert := filepath.Join(dir, "holder.pem")
	if err := os.WriteFile(cert, []byte(res.Certificate.PEM), 0o600); err != nil {
		t.Fatal(err)
	}
	return Sign{Key: uri, Cert: cert, Level: "B-T", Format: "cades", Detached: true, Getenv: testGetenv}
}

func startContractEnv(t *testing.T) *contractEnv {
	t.Helper()
	data := t.TempDir()
	e := startEnv(t, data, "")
	ctx := context.Background()
	off1, _ := e.user(t, "Officer C1", "ra-officer", "OC000001")
	off2, _ := e.user(t, "Officer C2", "ra-officer", "OC000002")
	org, _ := e.user(t, "Souk SARL", "holder", "002233445000066")
	cspOrg, _ := e.user(t, "Tawthiq CSP", "holder", "009988776000011")
	shop, shopUser := e.user(t, "Karim Souk", "holder", "BK100001")
	customer, custUser := e.user(t, "Salma Client", "holder", "CS200002")
	other, _ := e.user(t, "Someone Else", "holder", "SE300003")

	reg := keys.NewRegistry(keys.Options{PassphraseEnv: config.DefaultPassphraseEnv, Getenv: testGetenv})
	t.Cleanup(func() { reg.Close() })
	for _, s := range []struct{ name, ice, file string }{{"souk", "002233445000066", "souk"}, {"csp", "009988776000011", "csp"}} {
		key, err := reg.Generate(ctx, "file:"+filepath.Join(data, "seals", s.file+".key"), keys.ECDSAP256)
		if err != nil {
			t.Fatal(err)
		}
		who := org
		if s.name == "csp" {
			who = cspOrg
		}
		issueSeal(t, e, who, s.ice, s.name, key, off1, off2, s.file+"-seal.pem")
	}
	ce := &contractEnv{shop: shop, customer: customer, other: other, shopID: shopUser.ID, customerID: custUser.ID, dir: t.TempDir()}
	ce.shopSign = issueSigning(t, e, shop, "BK100001", off1, off2)
	ce.custSign = issueSigning(t, e, customer, "CS200002", off1, off2)
	e.stop()

	// The shop names its representative; the CSP's seal is for the contract service alone.
	ce.testEnv = startEnvWith(t, config.Config{Data: data, Addr: strings.TrimPrefix(e.base, "http://"), Seals: []config.Seal{
		{Name: "souk", Key: "file:seals/souk.key", Certificate: "souk-seal.pem", Users: []string{shopUser.ID}},
		{Name: CSPSealName, Key: "file:seals/csp.key", Certificate: "csp-seal.pem", Users: []string{CSPSealActor}},
	}})
	ce.shopSign.TSA, ce.custSign.TSA = TSAURL(ce.base), TSAURL(ce.base)
	return ce
}

// fullOffer states the seven items of DOC 65-4.
func fullOffer(title string, priceCentimes int64) client.PublishOffer {
	return client.PublishOffer{Title: title, Category: "sale", Seal: "souk", Email: "ventes@souk.example.ma",
		Items: client.OfferItems{
			Characteristics: "Ordinateur portable, 16 Go, garantie 2 ans",
			Conditions:      "Paiement à la commande, livraison sous 5 jours ouvrés",
			Steps:           "1. choisir 2. vérifier le récapitulatif et le total 3. confirmer; le vendeur livre, le client paie",
			ErrorCorrection: "Le récapitulatif affiche chaque ligne et le total; 'corriger' revient à la saisie",
			Languages:       []string{"ar", "fr"},
			Archiving:       "Archivé 10 ans par tawthiq; consultable par chaque partie depuis son compte",
			Rules:           "Charte commerciale: https://souk.example.ma/charte",
		},
		Lines: []client.OfferLine{{SKU: "PC-16", Name: "Portable 16 Go", UnitPriceCentimes: priceCentimes}},
		Form:  []client.FormField{{Name: "address", Label: "Adresse de livraison", Type: "text", Required: true}},
	}
}

func wantProblem(t *testing.T, err error, status int, rule string) {
	t.Helper()
	var p *client.Problem
	if !errors.As(err, &p) || p.Status != status || (rule != "" && p.Rule != rule) {
		t.Fatalf("got %v, want a %d problem under %q", err, status, rule)
	}
}

// TestOfferItems_L65_4: each of the seven items left out in turn makes the
// offer advertising, with that item named; drafting on it is refused.
func TestOfferItems_L65_4(t *testing.T) {
	e := startContractEnv(t)
	ctx := context.Background()
	blank := map[law.OfferItem]func(*client.OfferItems){
		law.ItemCharacteristics: func(i *client.OfferItems) { i.Characteristics = "" },
		law.ItemConditions:      func(i *client.OfferItems) { i.Conditions = " " },
		law.ItemSteps:           func(i *client.OfferItems) { i.Steps = "" },
		law.ItemErrorCorrection: func(i *client.OfferItems) { i.ErrorCorrection = "" },
		law.ItemLanguages:       func(i *client.OfferItems) { i.Languages = []string{""} },
		law.ItemArchiving:       func(i *client.OfferItems) { i.Archiving = "" },
		law.ItemRules:           func(i *client.OfferItems) { i.Rules = "" },
	}
	for _, item := range law.OfferItems() {
		t.Run(string(item), func(t *testing.T) {
			in := fullOffer("sans "+string(item), 100_000)
			blank[item](&in.Items)
			o, err := e.shop.PublishOffer(ctx, in)
			if err != nil {
				t.Fatal(err)
			}
			if o.Binding || o.BindingNow || len(o.Missing) != 1 || o.Missing[0] != string(item) || !strings.Contains(o.Why, string(item)) {
				t.Fatalf("offer without %s: binding %v, missing %v, why %q", item, o.Binding, o.Missing, o.Why)
			}
			_, err = e.customer.DraftOrder(ctx, client.DraftOrder{Offer: o.ID, Lines: []client.OrderLine{{SKU: "PC-16", Quantity: 1}},
				Form: map[string]string{"address": "Rabat"}})
			wantProblem(t, err, 409, "L-65-4")
		})
	}
	o, err := e.shop.PublishOffer(ctx, fullOffer("complète", 100_000))
	if err != nil || !o.Binding || !o.BindingNow || len(o.Missing) != 0 {
		t.Fatalf("full offer: %+v, %v", o, err)
	}
	// Published versions never change: a change is the next version, which replaces one without a period.
	in := fullOffer("complète v2", 120_000)
	in.ID = o.ID
	v2, err := e.shop.PublishOffer(ctx, in)
	if err != nil || v2.Version != 2 {
		t.Fatalf("version 2: %+v, %v", v2, err)
	}
	v1, err := client.New(e.base, "", nil).Offer(ctx, o.ID, 1) // public, no token
	if err != nil || !bytes.Equal(v1.Document, o.Document) || v1.BindingNow || !v1.Superseded {
		t.Fatalf("version 1 after version 2: %+v, %v", v1, err)
	}
	in.ID = o.ID
	_, err = e.other.PublishOffer(ctx, in)
	wantProblem(t, err, 403, "L-65-4")
}

// TestCategories_L2_1: excluded categories are refused with the reason; a
// security made by a credit institution is not excluded.
func TestCategories_L2_1(t *testing.T) {
	e := startContractEnv(t)
	ctx := context.Background()
	for _, c := range []struct {
		category    string
		credit      bool
		wantRefused bool
	}{
		{"family-code", false, true}, {"family-code", true, true}, {"personal-security", false, true},
		{"real-security", false, true}, {"real-security", true, false}, {"service", false, false}, {"no-such", false, true},
	} {
		in := fullOffer("cat "+c.category, 100_000)
		in.Category, in.CreditInstitution = c.category, c.credit
		_, err := e.shop.PublishOffer(ctx, in)
		if c.wantRefused {
			wantProblem(t, err, 400, "L-2-1")
			if p := (*client.Problem)(nil); errors.As(err, &p) && c.category != "no-such" && !strings.Contains(p.Detail, "DOC 2-1") {
				t.Errorf("%s: the refusal does not give the reason: %q", c.category, p.Detail)
			}
		} else if err != nil {
			t.Errorf("%s (credit institution %v): %v", c.category, c.credit, err)
		}
	}
}

// TestOrderFlow_L65_5: below the L-443 threshold (9,999 MAD), the order is
// reviewed with its total, confirmed with the review's hash only, acknowledged
// in the same request with the offeror's seal (openssl cms accepts it) and
// concluded; bad input is refused and changes nothing.
func TestOrderFlow_L65_5(t *testing.T) {
	e := startContractEnv(t)
	ctx := context.Background()
	off, err := e.shop.PublishOffer(ctx, fullOffer("Portable", 333_300))
	if err != nil {
		t.Fatal(err)
	}
	line := []client.OrderLine{{SKU: "PC-16", Quantity: 3}} // 9,999.00 MAD
	form := map[string]string{"address": "12 rue Oued Fès, Rabat"}

	_, err = e.customer.DraftOrder(ctx, client.DraftOrder{Offer: "ofr_nosuch", Lines: line, Form: form})
	wantProblem(t, err, 404, "")
	_, err = e.customer.DraftOrder(ctx, client.DraftOrder{Offer: off.ID, Lines: line})
	wantProblem(t, err, 400, "L-65-6") // the form's required field
	o, err := e.customer.DraftOrder(ctx, client.DraftOrder{Offer: off.ID, Lines: []client.OrderLine{{SKU: "PC-16", Quantity: 2}}, Form: form,
		Email: "salma@example.ma", ConsentEmail: true, Language: "fr"})
	if err != nil || o.State != "draft" {
		t.Fatalf("draft: %+v, %v", o, err)
	}
	before := e.auditOf(t, o.ID)
	unchanged := func(what string, want string) {
		t.Helper()
		got, err := e.customer.ContractOrder(ctx, o.ID)
		if err != nil || got.State != want || e.auditOf(t, o.ID) != before {
			t.Fatalf("%s changed something: state %q (want %q), audit %d -> %d, %v", what, got.State, want, before, e.auditOf(t, o.ID), err)
		}
	}
	// Not reviewed: refused.
	_, err = e.customer.ConfirmOrder(ctx, o.ID, strings.Repeat("00", 32))
	wantProblem(t, err, 409, "L-65-5")
	unchanged("a confirmation without review", "draft")

	// Review with a correction (2 -> 3): the server computes the total.
	o, err = e.customer.ReviewOrder(ctx, o.ID, client.ReviewOrder{Lines: line, Form: form})
	if err != nil || o.Review == nil || o.Review.TotalCentimes != 999_900 || o.Revision != 2 || o.State != "reviewed" {
		t.Fatalf("review: %+v, %v", o, err)
	}
	if hexSum(string(o.Review.Document)) != o.Review.SHA256 || !strings.Contains(string(o.Review.Document), `"totalCentimes":999900`) {
		t.Fatalf("the review's hash is not the hash of its document: %s", o.Review.Document)
	}
	before = e.auditOf(t, o.ID)
	// A tampered order: its hash is not the review's.
	tampered := strings.Replace(string(o.Review.Document), `"quantity":3`, `"quantity":1`, 1)
	_, err = e.customer.ConfirmOrder(ctx, o.ID, hexSum(tampered))
	wantProblem(t, err, 400, "L-65-5")
	// Wrong parties: a stranger learns nothing, the offeror does not confirm for the customer.
	_, err = e.other.ConfirmOrder(ctx, o.ID, o.Review.SHA256)
	wantProblem(t, err, 404, "")
	_, err = e.other.ContractOrder(ctx, o.ID)
	wantProblem(t, err, 404, "")
	_, err = e.shop.ConfirmOrder(ctx, o.ID, o.Review.SHA256)
	wantProblem(t, err, 403, "L-65-5")
	_, err = e.other.Original(ctx, o.ID)
	wantProblem(t, err, 404, "")
	unchanged("refused confirmations", "reviewed")

	start := time.Now()
	c, err := e.customer.ConfirmOrder(ctx, o.ID, o.Review.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	if c.State != "concluded" || c.Confirmation == nil || c.Confirmation.WrittenDeedRequired || len(c.Confirmation.Acknowledgement) == 0 || c.ConcludedAt == nil {
		t.Fatalf("9,999 MAD: not concluded at confirmation: %+v", c)
	}
	// Each message's accessibility is recorded, within this request; e-mail only with consent (L-65-3).
	kinds := map[string]client.OrderMessage{}
	for _, m := range c.Messages {
		kinds[m.Kind+"/"+m.Addressee] = m
		if m.AccessibleAt.Before(start.Add(-time.Second)) || m.AccessibleAt.After(time.Now()) {
			t.Errorf("message %s accessible at %s, outside the request", m.Kind, m.AccessibleAt)
		}
	}
	if m, ok := kinds["acknowledgement/"+e.customerID]; !ok || m.Channel != "email" {
		t.Errorf("acknowledgement to the customer who accepted e-mail: %+v", c.Messages)
	}
	if _, ok := kinds["confirmation/"+e.shopID]; !ok {
		t.Errorf("no confirmation to the offeror: %+v", c.Messages)
	}
	_, err = e.customer.ConfirmOrder(ctx, o.ID, o.Review.SHA256)
	wantProblem(t, err, 409, "L-65-5")

	// The acknowledgement, judged by openssl: sealed by the shop, over the confirmed order.
	doc, err := e.shop.OrderDocument(ctx, o.ID)
	if err != nil {
		t.Fatal(err)
	}
	root := writePEM(t, e.dir, "root.pem", fetch(t, e.base+"/ca/root.crt"))
	ack := filepath.Join(e.dir, "ack.p7s")
	if err := os.WriteFile(ack, c.Confirmation.Acknowledgement, 0o600); err != nil {
		t.Fatal(err)
	}
	if got := opensslCMSVerify(t, ack, root); got != nil && !bytes.Equal(got, doc) {
		t.Fatal("the acknowledgement does not carry the confirmed order")
	}

	// Originals (L-65-7) and certified copies (L-440), for each party.
	for _, p := range []*client.Client{e.customer, e.shop} {
		orig, err := p.Original(ctx, o.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(orig.Document, doc) || !bytes.Equal(orig.Acknowledgement, c.Confirmation.Acknowledgement) || !bytes.Equal(orig.Offer, off.Document) {
			t.Fatal("the original is not the stored bytes")
		}
		cp, err := p.CertifiedCopy(ctx, o.ID)
		if err != nil {
			t.Fatal(err)
		}
		cpFile := filepath.Join(e.dir, "copy.p7s")
		if err := os.WriteFile(cpFile, cp, 0o600); err != nil {
			t.Fatal(err)
		}
		if got := opensslCMSVerify(t, cpFile, root); got != nil && !strings.Contains(string(got), "true copy") {
			t.Fatalf("the certified copy has no statement: %.200s", got)
		}
	}
	entries, err := e.app.DB.AuditEntries(ctx, 0, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, en := range entries {
		if en.Subject == o.ID {
			seen[string(en.Action)] = true
		}
	}
	for _, a := range []string{"contract.order.draft", "contract.order.revise", "contract.order.review", "contract.order.confirm", "contract.copy.issue"} {
		if !seen[a] {
			t.Errorf("no %s audit entry for the order", a)
		}
	}
}

// opensslCMSVerify has openssl verify a CAdES file against root and returns the content, or nil without openssl.
func opensslCMSVerify(t *testing.T, file, root string) []byte {
	t.Helper()
	openssl := needTool(t, "openssl")
	out := filepath.Join(filepath.Dir(file), "content.out")
	if b, err := exec.Command(openssl, "cms", "-verify", "-inform", "DER", "-in", file, "-CAfile", root, "-purpose", "any",
		"-out", out).CombinedOutput(); err != nil {
		t.Fatalf("openssl cms -verify refuses %s: %v\n%s", filepath.Base(file), err, b)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestThreshold_L443: a 10,001-dirham contract is not concluded with no or one
// signature, nor with a signature by the wrong party, and is concluded with
// both parties' qualified signatures; an expired offer takes no order.
func TestThreshold_L443(t *testing.T) {
	e := startContractEnv(t)
	ctx := context.Background()
	off, err := e.shop.PublishOffer(ctx, fullOffer("Serveur", 1_000_100))
	if err != nil {
		t.Fatal(err)
	}
	o, err := e.customer.DraftOrder(ctx, client.DraftOrder{Offer: off.ID, Lines: []client.OrderLine{{SKU: "PC-16", Quantity: 1}},
		Form: map[string]string{"address": "Casablanca"}})
	if err != nil {
		t.Fatal(err)
	}
	if o, err = e.customer.ReviewOrder(ctx, o.ID, client.ReviewOrder{}); err != nil {
		t.Fatal(err)
	}
	_, err = e.customer.SignOrder(ctx, o.ID, []byte{0x30, 0})
	wantProblem(t, err, 409, "L-65-5") // nothing to sign before confirmation
	c, err := e.customer.ConfirmOrder(ctx, o.ID, o.Review.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	if c.State != "confirmed" || !c.Confirmation.WrittenDeedRequired || c.ConcludedAt != nil || !strings.Contains(c.Pending, "DOC 443") {
		t.Fatalf("10,001 MAD concluded without signatures: %+v", c)
	}
	doc, err := e.customer.OrderDocument(ctx, o.ID)
	if err != nil {
		t.Fatal(err)
	}
	docFile := filepath.Join(e.dir, "order.json")
	if err := os.WriteFile(docFile, doc, 0o600); err != nil {
		t.Fatal(err)
	}
	sign := func(s Sign, name string) []byte {
		s.File, s.Out = docFile, filepath.Join(e.dir, name)
		if _, err := RunSign(ctx, s); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(s.Out)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	custSig, shopSig := sign(e.custSign, "customer.p7s"), sign(e.shopSign, "shop.p7s")

	// The customer cannot pass the shop's signature as his own, nor a stranger sign.
	_, err = e.customer.SignOrder(ctx, o.ID, shopSig)
	wantProblem(t, err, 403, "L-417-2")
	_, err = e.other.SignOrder(ctx, o.ID, custSig)
	wantProblem(t, err, 404, "")
	// A signature over other bytes does not validate.
	other := e.custSign
	if err := os.WriteFile(filepath.Join(e.dir, "other.json"), []byte(`{"not":"the order"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	other.File, other.Out = filepath.Join(e.dir, "other.json"), filepath.Join(e.dir, "other.p7s")
	if _, err := RunSign(ctx, other); err != nil {
		t.Fatal(err)
	}
	otherSig, _ := os.ReadFile(other.Out)
	_, err = e.customer.SignOrder(ctx, o.ID, otherSig)
	wantProblem(t, err, 400, "L-417-2")

	one, err := e.customer.SignOrder(ctx, o.ID, custSig)
	if err != nil {
		t.Fatal(err)
	}
	if one.State != "confirmed" || one.ConcludedAt != nil || len(one.Signatures) != 1 || !one.Signatures[0].Qualified {
		t.Fatalf("concluded with one signature: %+v", one)
	}
	_, err = e.customer.SignOrder(ctx, o.ID, custSig)
	wantProblem(t, err, 409, "L-443")
	two, err := e.shop.SignOrder(ctx, o.ID, shopSig)
	if err != nil {
		t.Fatal(err)
	}
	if two.State != "concluded" || two.ConcludedAt == nil || len(two.Signatures) != 2 {
		t.Fatalf("not concluded with both qualified signatures: %+v", two)
	}
	orig, err := e.shop.Original(ctx, o.ID)
	if err != nil || len(orig.Signatures) != 2 || orig.ConcludedAt == nil {
		t.Fatalf("original after conclusion: %+v, %v", orig, err)
	}

	// An offer whose stated period ended takes no order (L-65-4), and an order on it is not confirmed.
	short := fullOffer("Promo", 100_000)
	until := client.Timestamp{Time: time.Now().Add(1500 * time.Millisecond)}
	short.ValidUntil = &until
	so, err := e.shop.PublishOffer(ctx, short)
	if err != nil {
		t.Fatal(err)
	}
	late, err := e.customer.DraftOrder(ctx, client.DraftOrder{Offer: so.ID, Lines: []client.OrderLine{{SKU: "PC-16", Quantity: 1}},
		Form: map[string]string{"address": "Fès"}})
	if err != nil {
		t.Fatal(err)
	}
	late, err = e.customer.ReviewOrder(ctx, late.ID, client.ReviewOrder{})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Until(until.Time) + 100*time.Millisecond)
	_, err = e.customer.DraftOrder(ctx, client.DraftOrder{Offer: so.ID, Lines: []client.OrderLine{{SKU: "PC-16", Quantity: 1}},
		Form: map[string]string{"address": "Fès"}})
	wantProblem(t, err, 409, "L-65-4")
	before := e.auditOf(t, late.ID)
	_, err = e.customer.ConfirmOrder(ctx, late.ID, late.Review.SHA256)
	wantProblem(t, err, 409, "L-65-4")
	if got, _ := e.customer.ContractOrder(ctx, late.ID); got.State != "reviewed" || e.auditOf(t, late.ID) != before {
		t.Fatalf("a refused confirmation on an expired offer changed the order: %+v", got)
	}
}

// auditOf counts the audit entries about subject: background checkpoints do not count.
func (e *contractEnv) auditOf(t *testing.T, subject string) int {
	t.Helper()
	entries, err := e.app.DB.AuditEntries(context.Background(), 0, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, en := range entries {
		if en.Subject == subject {
			n++
		}
	}
	return n
}
