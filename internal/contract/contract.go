package contract

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"net/mail"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tawthiq/tawthiq/internal/auditlog"
	"github.com/tawthiq/tawthiq/internal/clock"
	"github.com/tawthiq/tawthiq/internal/errkind"
	"github.com/tawthiq/tawthiq/internal/law"
	"github.com/tawthiq/tawthiq/internal/seal"
	"github.com/tawthiq/tawthiq/internal/signature"
	"github.com/tawthiq/tawthiq/internal/validation"
)

// Config are the service's dependencies.
type Config struct {
	Store     Store
	Clock     clock.Clock
	Seals     Sealer    // nil: nothing can be acknowledged, so no offer is published
	Validator Validator // nil: no signature is accepted (fail closed)
	Holders   Holders   // nil: the signer's certificate is not matched to the party
	// CopySeal names the CSP's own seal that certifies copies (L-440), applied as
	// CopyActor, a name no API user has; empty: certified copies are unavailable.
	CopySeal  string
	CopyActor string
}

// Service runs offers and orders.
type Service struct{ cfg Config }

// New returns the contract service.
func New(cfg Config) *Service {
	if cfg.Clock == nil {
		cfg.Clock = clock.Real{}
	}
	return &Service{cfg: cfg}
}

// Limits on what a caller sends.
const (
	maxLines      = 200
	maxFormFields = 100
	maxText       = 20000
	maxQuantity   = 1_000_000
)

func newID(prefix string) string {
	b := make([]byte, 12)
	_, _ = rand.Read(b) // crypto/rand does not fail on supported platforms
	return prefix + hex.EncodeToString(b)
}

func sum(b []byte) []byte {
	h := sha256.Sum256(b)
	return h[:]
}

func (s *Service) now() time.Time { return law.Timestamp(s.cfg.Clock.Now()) }

// PublishOffer publishes terms as a new offer, or as the next version of offer id
// (its author only). An offer that misses any of the seven items is stored as
// advertising and says which items are missing (L-65-4).
func (s *Service) PublishOffer(ctx context.Context, actor, id string, t OfferTerms) (*Offer, error) {
	version := 1
	if id != "" {
		prev, err := s.cfg.Store.Offer(ctx, id, 0)
		if err != nil {
			return nil, err
		}
		if prev.OfferorID != actor {
			return nil, errkind.New(errkind.Forbidden, law.L65_4, "only the offer's author publishes its versions")
		}
		version = prev.Version + 1
	} else {
		id = newID("ofr_")
	}
	if err := s.checkTerms(actor, &t); err != nil {
		return nil, err
	}
	now := s.now()
	o := Offer{ID: id, Version: version, OfferorID: actor, Terms: t, PublishedAt: now}
	o.Missing = law.MissingOfferItems(t.Items.stated())
	o.Binding = len(o.Missing) == 0
	doc, err := json.Marshal(offerDocument{Type: "tawthiq.offer.v1", ID: o.ID, Version: o.Version, Offeror: actor,
		PublishedAt: now, Currency: Currency, Terms: t})
	if err != nil {
		return nil, errkind.Wrap(errkind.Internal, err, "encoding the offer")
	}
	o.Document, o.SHA256 = doc, sum(doc)
	e := auditlog.NewEntry(now, actor, ActionOfferPublish, o.ID, map[string]any{
		"version": o.Version, "sha256": hex.EncodeToString(o.SHA256), "binding": o.Binding, "missing": o.Missing,
		"category": t.Category,
	})
	if err := s.cfg.Store.PutOffer(ctx, o, e); err != nil {
		return nil, err
	}
	return &o, nil
}

// checkTerms refuses excluded categories (L-2-1) and terms no order could use;
// it does not refuse missing items, which only make the offer advertising.
func (s *Service) checkTerms(actor string, t *OfferTerms) error {
	if why := law.CategoryRefusal(t.Category, t.Author); why != "" {
		return errkind.New(errkind.Invalid, law.L2_1, "%s", why)
	}
	if strings.TrimSpace(t.Title) == "" || len(t.Title) > 500 {
		return errkind.New(errkind.Invalid, law.L65_4, "the offer needs a title (at most 500 bytes)")
	}
	for _, f := range []string{t.Items.Characteristics, t.Items.Conditions, t.Items.Steps, t.Items.ErrorCorrection, t.Items.Archiving, t.Items.Rules} {
		if len(f) > maxText {
			return errkind.New(errkind.TooLarge, law.L65_4, "an item is over %d bytes", maxText)
		}
	}
	langs := t.Items.Languages[:0:0]
	for _, l := range t.Items.Languages {
		if l = strings.TrimSpace(l); l != "" && !slices.Contains(langs, l) {
			langs = append(langs, l)
		}
	}
	t.Items.Languages = langs
	if len(t.Items.Languages) > 20 {
		return errkind.New(errkind.Invalid, law.L65_4, "at most 20 languages")
	}
	if len(t.Lines) == 0 || len(t.Lines) > maxLines {
		return errkind.New(errkind.Invalid, law.L65_4, "the offer needs 1 to %d priced lines", maxLines)
	}
	seen := map[string]bool{}
	for _, l := range t.Lines {
		if l.SKU == "" || seen[l.SKU] || strings.TrimSpace(l.Name) == "" || l.UnitPrice <= 0 || l.UnitPrice > math.MaxInt64/maxQuantity/maxLines {
			return errkind.New(errkind.Invalid, law.L65_4, "line %q: each line needs a unique sku, a name and a positive price in centimes", l.SKU)
		}
		seen[l.SKU] = true
	}
	if len(t.Form) > maxFormFields {
		return errkind.New(errkind.Invalid, law.L65_6, "at most %d form fields", maxFormFields)
	}
	names := map[string]bool{}
	for _, f := range t.Form {
		if f.Name == "" || names[f.Name] || !slices.Contains([]string{"text", "number", "email", "date", "bool"}, f.Type) {
			return errkind.New(errkind.Invalid, law.L65_6, "form field %q: a unique name and a type text, number, email, date or bool", f.Name)
		}
		names[f.Name] = true
	}
	if t.ValidUntil != nil {
		v := law.Timestamp(*t.ValidUntil)
		if !v.After(s.cfg.Clock.Now()) {
			return errkind.New(errkind.Invalid, law.L65_4, "validUntil is in the past")
		}
		t.ValidUntil = &v
	}
	if t.Email != "" {
		if a, err := mail.ParseAddress(t.Email); err != nil || a.Address != t.Email {
			return errkind.New(errkind.Invalid, law.L65_3, "email %q is not an address", t.Email)
		}
	}
	// The acknowledgement is sealed with the offeror's seal (L-65-5): it must be his to apply.
	if s.cfg.Seals == nil || !slices.Contains(s.cfg.Seals.Names(actor), t.Seal) {
		return errkind.New(errkind.Invalid, law.L65_5, "no seal %q that this user may apply: the acknowledgement of receipt is sealed with the offeror's seal", t.Seal)
	}
	return nil
}

// Offer returns a version of an offer (0: the latest); anyone may read it.
func (s *Service) Offer(ctx context.Context, id string, version int) (*Offer, error) {
	return s.cfg.Store.Offer(ctx, id, version)
}

// DraftRequest is the customer's first version of an order.
type DraftRequest struct {
	OfferID      string
	OfferVersion int // 0: the latest
	Lines        []OrderLine
	Form         map[string]string
	Email        string
	ConsentEmail bool
	Language     string
}

// Draft records a draft order against a binding offer.
func (s *Service) Draft(ctx context.Context, customer string, in DraftRequest) (*Order, error) {
	off, err := s.cfg.Store.Offer(ctx, in.OfferID, in.OfferVersion)
	if err != nil {
		return nil, err
	}
	now := s.now()
	if ok, why := off.BindingAt(now); !ok {
		return nil, errkind.New(errkind.Conflict, law.L65_4, "no order on this offer: %s", why)
	}
	if customer == off.OfferorID {
		return nil, errkind.New(errkind.Invalid, law.L65_5, "the offeror cannot order on his own offer")
	}
	if in.Email != "" {
		if a, err := mail.ParseAddress(in.Email); err != nil || a.Address != in.Email {
			return nil, errkind.New(errkind.Invalid, law.L65_3, "email %q is not an address", in.Email)
		}
	}
	if in.ConsentEmail && in.Email == "" {
		return nil, errkind.New(errkind.Invalid, law.L65_3, "accepting e-mail needs an address")
	}
	lang := in.Language
	if lang == "" {
		lang = off.Terms.Items.Languages[0]
	}
	if !slices.Contains(off.Terms.Items.Languages, lang) {
		return nil, errkind.New(errkind.Invalid, law.L65_4, "language %q is not one the offer proposes (%s)", lang, strings.Join(off.Terms.Items.Languages, ", "))
	}
	if _, err := price(off, in.Lines); err != nil {
		return nil, err
	}
	if err := checkForm(off.Terms.Form, in.Form); err != nil {
		return nil, err
	}
	o := Order{ID: newID("ord_"), OfferID: off.ID, OfferVersion: off.Version, CustomerID: customer, OfferorID: off.OfferorID,
		Email: in.Email, ConsentEmail: in.ConsentEmail, Language: lang, CreatedAt: now,
		Revisions: []Revision{{N: 1, Lines: in.Lines, Form: in.Form, CreatedAt: now}}}
	e := auditlog.NewEntry(now, customer, ActionOrderDraft, o.ID, map[string]any{
		"offer": off.ID, "version": off.Version, "consentEmail": in.ConsentEmail,
	})
	if err := s.cfg.Store.CreateContractOrder(ctx, o, e); err != nil {
		return nil, err
	}
	return &o, nil
}

// pricedLine is one line of a review: the offer's article, quantity and amount.
type pricedLine struct {
	SKU       string `json:"sku"`
	Name      string `json:"name"`
	Quantity  int64  `json:"quantity"`
	UnitPrice int64  `json:"unitPriceCentimes"`
	Amount    int64  `json:"amountCentimes"`
}

// price computes the lines from the offer; the customer never sends a price.
func price(off *Offer, lines []OrderLine) ([]pricedLine, error) {
	if len(lines) == 0 || len(lines) > maxLines {
		return nil, errkind.New(errkind.Invalid, law.L65_5, "an order needs 1 to %d lines", maxLines)
	}
	byID := map[string]Line{}
	for _, l := range off.Terms.Lines {
		byID[l.SKU] = l
	}
	out := make([]pricedLine, 0, len(lines))
	seen := map[string]bool{}
	for _, l := range lines {
		art, ok := byID[l.SKU]
		if !ok || seen[l.SKU] {
			return nil, errkind.New(errkind.Invalid, law.L65_5, "line %q: not an article of the offer, or ordered twice", l.SKU)
		}
		if l.Quantity <= 0 || l.Quantity > maxQuantity {
			return nil, errkind.New(errkind.Invalid, law.L65_5, "line %q: quantity must be 1 to %d", l.SKU, maxQuantity)
		}
		seen[l.SKU] = true
		out = append(out, pricedLine{SKU: art.SKU, Name: art.Name, Quantity: l.Quantity, UnitPrice: art.UnitPrice, Amount: art.UnitPrice * l.Quantity})
	}
	return out, nil
}

// checkForm checks the returned form against the offer's template (L-65-6).
func checkForm(tmpl []FormField, values map[string]string) error {
	byName := map[string]FormField{}
	for _, f := range tmpl {
		byName[f.Name] = f
	}
	for name := range values {
		if _, ok := byName[name]; !ok {
			return errkind.New(errkind.Invalid, law.L65_6, "form field %q is not in the offer's form", name)
		}
	}
	for _, f := range tmpl {
		v, ok := values[f.Name]
		if !ok || v == "" {
			if f.Required {
				return errkind.New(errkind.Invalid, law.L65_6, "form field %q is required", f.Name)
			}
			continue
		}
		var bad bool
		switch f.Type {
		case "number":
			_, err := strconv.ParseFloat(v, 64)
			bad = err != nil
		case "email":
			a, err := mail.ParseAddress(v)
			bad = err != nil || a.Address != v
		case "date":
			_, err := time.Parse(time.DateOnly, v)
			bad = err != nil
		case "bool":
			bad = v != "true" && v != "false"
		default:
			bad = len(v) > 2000
		}
		if bad {
			return errkind.New(errkind.Invalid, law.L65_6, "form field %q is not a valid %s", f.Name, f.Type)
		}
	}
	return nil
}

// reviewDocument is the canonical JSON the customer is shown before confirming (L-65-5).
type reviewDocument struct {
	Type         string            `json:"type"`
	Order        string            `json:"order"`
	Revision     int               `json:"revision"`
	Offer        string            `json:"offer"`
	OfferVersion int               `json:"offerVersion"`
	OfferSHA256  string            `json:"offerSHA256"`
	Offeror      string            `json:"offeror"`
	Customer     string            `json:"customer"`
	Language     string            `json:"language"`
	Lines        []pricedLine      `json:"lines"`
	Total        int64             `json:"totalCentimes"`
	Currency     string            `json:"currency"`
	Form         map[string]string `json:"form,omitempty"`
	ReviewedAt   time.Time         `json:"reviewedAt"`
}

// confirmedDocument is the confirmed order: what the acknowledgement seals and the parties sign.
type confirmedDocument struct {
	Type            string          `json:"type"`
	Review          json.RawMessage `json:"review"`
	ReviewSHA256    string          `json:"reviewSHA256"`
	ConfirmedAt     time.Time       `json:"confirmedAt"`
	DeedRequired    bool            `json:"writtenDeedRequired"`
	DeedRequirement string          `json:"writtenDeedRequirement,omitempty"`
}

// Correction is a new version of the lines and form, entered before confirming.
type Correction struct {
	Lines []OrderLine
	Form  map[string]string
}

// partyOrder returns the order if userID is a party to it; anyone else learns nothing.
func (s *Service) partyOrder(ctx context.Context, userID, id string) (*Order, Party, error) {
	o, err := s.cfg.Store.ContractOrder(ctx, id)
	if errkind.Is(err, errkind.NotFound) || (err == nil && o.PartyOf(userID) == "") {
		return nil, "", errkind.New(errkind.NotFound, law.L24, "no order %q to which you are a party", id)
	}
	if err != nil {
		return nil, "", err
	}
	return o, o.PartyOf(userID), nil
}

// customerOrder returns an order that only its customer may move on.
func (s *Service) customerOrder(ctx context.Context, userID, id, what string) (*Order, *Offer, error) {
	o, p, err := s.partyOrder(ctx, userID, id)
	if err != nil {
		return nil, nil, err
	}
	if p != Customer {
		return nil, nil, errkind.New(errkind.Forbidden, law.L65_5, "only the customer %s the order", what)
	}
	if o.Confirmation != nil {
		return nil, nil, errkind.New(errkind.Conflict, law.L65_5, "the order is already confirmed: it no longer changes")
	}
	off, err := s.cfg.Store.Offer(ctx, o.OfferID, o.OfferVersion)
	if err != nil {
		return nil, nil, err
	}
	if ok, why := off.BindingAt(s.cfg.Clock.Now()); !ok {
		return nil, nil, errkind.New(errkind.Conflict, law.L65_4, "%s", why)
	}
	return o, off, nil
}

// Review shows the customer the order's details and total computed from the offer,
// after recording his correction if he sent one; the review's hash is what he
// confirms (L-65-5).
func (s *Service) Review(ctx context.Context, customer, id string, fix *Correction) (*Order, *Review, error) {
	o, off, err := s.customerOrder(ctx, customer, id, "reviews")
	if err != nil {
		return nil, nil, err
	}
	now := s.now()
	rev := o.Revisions[len(o.Revisions)-1]
	if fix != nil {
		if _, err := price(off, fix.Lines); err != nil {
			return nil, nil, err
		}
		if err := checkForm(off.Terms.Form, fix.Form); err != nil {
			return nil, nil, err
		}
		rev = Revision{N: rev.N + 1, Lines: fix.Lines, Form: fix.Form, CreatedAt: now}
		e := auditlog.NewEntry(now, customer, ActionOrderRevise, o.ID, map[string]any{"revision": rev.N})
		if err := s.cfg.Store.AddOrderRevision(ctx, o.ID, rev, e); err != nil {
			return nil, nil, err
		}
		o.Revisions = append(o.Revisions, rev)
	}
	lines, err := price(off, rev.Lines)
	if err != nil {
		return nil, nil, err
	}
	var total int64
	for _, l := range lines {
		total += l.Amount
	}
	doc, err := json.Marshal(reviewDocument{Type: "tawthiq.order.review.v1", Order: o.ID, Revision: rev.N, Offer: off.ID,
		OfferVersion: off.Version, OfferSHA256: hex.EncodeToString(off.SHA256), Offeror: o.OfferorID, Customer: o.CustomerID,
		Language: o.Language, Lines: lines, Total: total, Currency: Currency, Form: rev.Form, ReviewedAt: now})
	if err != nil {
		return nil, nil, errkind.Wrap(errkind.Internal, err, "encoding the review")
	}
	r := Review{Revision: rev.N, Document: doc, SHA256: sum(doc), Total: total, ReviewedAt: now}
	e := auditlog.NewEntry(now, customer, ActionOrderReview, o.ID, map[string]any{
		"revision": rev.N, "sha256": hex.EncodeToString(r.SHA256), "totalCentimes": total,
	})
	if err := s.cfg.Store.AddOrderReview(ctx, o.ID, r, e); err != nil {
		return nil, nil, err
	}
	o.Reviews = append(o.Reviews, r)
	return o, &r, nil
}

// Confirm records the customer's acceptance of the reviewed order whose hash he
// quotes, and in the same request issues the offeror's acknowledgement of receipt:
// a CAdES B-T signature by the offeror's seal over the confirmed order (L-65-5).
// Below the L-443 threshold the contract is then concluded; above, it waits for
// both parties' qualified signatures.
func (s *Service) Confirm(ctx context.Context, customer, id, reviewSHA256 string) (*Order, error) {
	o, off, err := s.customerOrder(ctx, customer, id, "confirms")
	if err != nil {
		return nil, err
	}
	r := o.latestReview()
	if r == nil {
		return nil, errkind.New(errkind.Conflict, law.L65_5, "the order was not reviewed since its last version: review its details and total first, then confirm")
	}
	want := hex.EncodeToString(r.SHA256)
	if subtle.ConstantTimeCompare([]byte(strings.ToLower(reviewSHA256)), []byte(want)) != 1 {
		return nil, errkind.New(errkind.Invalid, law.L65_5, "the order confirmed is not the order reviewed (reviewSHA256 does not match the latest review)")
	}
	if s.cfg.Seals == nil {
		return nil, errkind.New(errkind.Unavailable, law.L65_5, "no seal service: the acknowledgement of receipt cannot be issued")
	}
	now := s.now()
	c := Confirmation{Revision: r.Revision, ConfirmedAt: now, DeedRequired: law.NeedsWrittenDeed(r.Total)}
	if c.DeedRequired {
		c.DeedRequirement = fmt.Sprintf("DOC 443: the act is worth %s MAD, over %d dirhams; it needs a written deed, here both parties' qualified electronic signatures over this document, before it counts as concluded",
			centimes(r.Total), law.WitnessThresholdMAD)
	}
	c.Document, err = json.Marshal(confirmedDocument{Type: "tawthiq.order.confirmed.v1", Review: r.Document, ReviewSHA256: want,
		ConfirmedAt: now, DeedRequired: c.DeedRequired, DeedRequirement: c.DeedRequirement})
	if err != nil {
		return nil, errkind.Wrap(errkind.Internal, err, "encoding the confirmed order")
	}
	c.SHA256 = sum(c.Document)
	// The acknowledgement goes out without undue delay: in this request, or nothing is recorded.
	ack, err := s.cfg.Seals.Apply(ctx, o.OfferorID, seal.Request{Seal: off.Terms.Seal, Format: "cades", Level: signature.BT, Document: c.Document})
	if err != nil {
		return nil, err
	}
	c.Ack, c.AckSHA256 = ack.Bytes, sum(ack.Bytes)
	// Both become accessible when this write commits: the confirmation to the
	// offeror, the acknowledgement to the customer, in their accounts (L-65-5).
	at := s.now()
	msgs := []Message{
		s.message("confirmation", o.OfferorID, off.Terms.Email, false, true, at),
		s.message("acknowledgement", o.CustomerID, o.Email, o.ConsentEmail, false, at),
	}
	var concluded time.Time
	if !c.DeedRequired {
		concluded = at
		msgs = append(msgs, s.message("conclusion", o.CustomerID, o.Email, o.ConsentEmail, false, at),
			s.message("conclusion", o.OfferorID, off.Terms.Email, false, true, at))
	}
	e := auditlog.NewEntry(at, customer, ActionOrderConfirm, o.ID, map[string]any{
		"revision": r.Revision, "reviewSHA256": want, "sha256": hex.EncodeToString(c.SHA256),
		"ackSHA256": hex.EncodeToString(c.AckSHA256), "totalCentimes": r.Total, "writtenDeedRequired": c.DeedRequired,
		"concluded": !concluded.IsZero(),
	})
	if err := s.cfg.Store.ConfirmOrder(ctx, o.ID, c, msgs, concluded, e); err != nil {
		return nil, err
	}
	o.Confirmation, o.ConcludedAt, o.Messages = &c, concluded, append(o.Messages, msgs...)
	return o, nil
}

// message is one message to addressee: by e-mail only with his express acceptance,
// or to a professional who gave his address (L-65-3); always in his account.
func (s *Service) message(kind, addressee, email string, accepted, professional bool, at time.Time) Message {
	m := Message{Kind: kind, Addressee: addressee, Channel: "account", Recipient: addressee, AccessibleAt: at}
	if law.EmailAllowed(accepted, professional, email) {
		m.Channel, m.Recipient = "email", email
	}
	return m
}

func centimes(v int64) string { return fmt.Sprintf("%d.%02d", v/100, v%100) }

// Sign records a party's detached CAdES signature over the confirmed order. Over
// the L-443 threshold, the second party's qualified signature concludes the contract.
func (s *Service) Sign(ctx context.Context, userID, id string, cms []byte) (*Order, error) {
	o, p, err := s.partyOrder(ctx, userID, id)
	if err != nil {
		return nil, err
	}
	if o.Confirmation == nil {
		return nil, errkind.New(errkind.Conflict, law.L65_5, "the order is not confirmed yet: there is nothing to sign")
	}
	for _, sg := range o.Signatures {
		if sg.Party == p {
			return nil, errkind.New(errkind.Conflict, law.L443, "the %s has already signed", p)
		}
	}
	if len(cms) == 0 {
		return nil, errkind.New(errkind.Invalid, law.L417_2, "the body must be a CAdES signature (DER)")
	}
	if s.cfg.Validator == nil {
		return nil, errkind.New(errkind.Unavailable, law.L443, "no validator: signatures cannot be accepted")
	}
	rep := s.cfg.Validator.Validate(ctx, cms, o.Confirmation.Document)
	switch {
	case rep.Indication != validation.TotalPassed:
		return nil, errkind.New(errkind.Invalid, law.L417_2, "the signature over the confirmed order does not validate: %s %s: %s", rep.Indication, rep.SubIndication, rep.Reason)
	case !rep.Detached:
		return nil, errkind.New(errkind.Invalid, law.L417_2, "send a detached signature over GET /api/v1/contract-orders/{id}/document")
	case !rep.Qualified:
		return nil, errkind.New(errkind.Invalid, law.L443, "a written deed needs a qualified signature: %s", rep.QualifiedWhy)
	}
	if s.cfg.Holders != nil && rep.Signer != nil {
		holder, err := s.cfg.Holders.CertificateHolder(ctx, rep.Signer.Serial)
		if err != nil && !errkind.Is(err, errkind.NotFound) {
			return nil, err
		}
		if holder != userID {
			return nil, errkind.New(errkind.Forbidden, law.L417_2, "the signing certificate was not issued to you: each party signs with his own")
		}
	}
	report, err := json.Marshal(rep)
	if err != nil {
		return nil, errkind.Wrap(errkind.Internal, err, "encoding the report")
	}
	now := s.now()
	sg := Signature{Party: p, SignerID: userID, CMS: cms, SHA256: sum(cms), Qualified: rep.Qualified,
		Indication: rep.Indication, Report: report, CreatedAt: now}
	var concluded time.Time
	var msgs []Message
	if o.ConcludedAt.IsZero() && o.Confirmation.DeedRequired && len(o.Signatures) == 1 && o.Signatures[0].Qualified {
		concluded = now
		off, err := s.cfg.Store.Offer(ctx, o.OfferID, o.OfferVersion)
		if err != nil {
			return nil, err
		}
		msgs = []Message{s.message("conclusion", o.CustomerID, o.Email, o.ConsentEmail, false, now),
			s.message("conclusion", o.OfferorID, off.Terms.Email, false, true, now)}
	}
	e := auditlog.NewEntry(now, userID, ActionOrderSign, o.ID, map[string]any{
		"party": p, "sha256": hex.EncodeToString(sg.SHA256), "qualified": rep.Qualified, "signer": rep.Signer,
		"concluded": !concluded.IsZero(),
	})
	if err := s.cfg.Store.AddOrderSignature(ctx, o.ID, sg, msgs, concluded, e); err != nil {
		return nil, err
	}
	o.Signatures = append(o.Signatures, sg)
	if !concluded.IsZero() {
		o.ConcludedAt = concluded
		o.Messages = append(o.Messages, msgs...)
	}
	return o, nil
}

// Order returns an order to one of its parties.
func (s *Service) Order(ctx context.Context, userID, id string) (*Order, error) {
	o, _, err := s.partyOrder(ctx, userID, id)
	return o, err
}

// Original returns a party's original: the exact stored bytes, the
// acknowledgement and the signatures, at any time after confirmation (L-65-7).
func (s *Service) Original(ctx context.Context, userID, id string) (*Original, error) {
	o, _, err := s.partyOrder(ctx, userID, id)
	if err != nil {
		return nil, err
	}
	if o.Confirmation == nil {
		return nil, errkind.New(errkind.Conflict, law.L65_7, "the order is not confirmed: there is no original yet")
	}
	off, err := s.cfg.Store.Offer(ctx, o.OfferID, o.OfferVersion)
	if err != nil {
		return nil, err
	}
	return &Original{OrderID: o.ID, Offer: off.Document, Document: o.Confirmation.Document, SHA256: o.Confirmation.SHA256,
		Acknowledgement: o.Confirmation.Ack, Signatures: o.Signatures, ConcludedAt: o.ConcludedAt}, nil
}

// copyDocument is a certified copy: the original with the CSP's statement (L-440).
type copyDocument struct {
	Type            string          `json:"type"`
	Statement       string          `json:"statement"`
	Order           string          `json:"order"`
	Party           Party           `json:"party"`
	IssuedAt        time.Time       `json:"issuedAt"`
	Offer           []byte          `json:"offer"`
	Document        []byte          `json:"document"`
	DocumentSHA256  string          `json:"documentSHA256"`
	Acknowledgement []byte          `json:"acknowledgement"`
	Signatures      []copySignature `json:"signatures"`
	ConcludedAt     *time.Time      `json:"concludedAt,omitempty"`
}

type copySignature struct {
	Party     Party  `json:"party"`
	CMS       []byte `json:"cms"`
	SHA256    string `json:"sha256"`
	Qualified bool   `json:"qualified"`
}

// CertifiedCopy returns a copy of the party's original sealed by the CSP's seal
// and time-stamped, with a statement of what it certifies (L-440).
func (s *Service) CertifiedCopy(ctx context.Context, userID, id string) ([]byte, error) {
	orig, err := s.Original(ctx, userID, id)
	if err != nil {
		return nil, err
	}
	if s.cfg.Seals == nil || s.cfg.CopySeal == "" {
		return nil, errkind.New(errkind.Unavailable, law.L440, "no CSP seal is configured to certify copies; the original is available")
	}
	o, p, err := s.partyOrder(ctx, userID, id)
	if err != nil {
		return nil, err
	}
	now := s.now()
	d := copyDocument{Type: "tawthiq.certified-copy.v1", Order: o.ID, Party: p, IssuedAt: now, Offer: orig.Offer,
		Document: orig.Document, DocumentSHA256: hex.EncodeToString(orig.SHA256), Acknowledgement: orig.Acknowledgement,
		Statement: "The certification service provider certifies that this is a true copy of the electronic original kept in its records, " +
			"with the acknowledgement of receipt and the signatures recorded for it (DOC 440, DOC 65-7)."}
	if !orig.ConcludedAt.IsZero() {
		d.ConcludedAt = &orig.ConcludedAt
	}
	for _, sg := range orig.Signatures {
		d.Signatures = append(d.Signatures, copySignature{Party: sg.Party, CMS: sg.CMS, SHA256: hex.EncodeToString(sg.SHA256), Qualified: sg.Qualified})
	}
	doc, err := json.Marshal(d)
	if err != nil {
		return nil, errkind.Wrap(errkind.Internal, err, "encoding the copy")
	}
	res, err := s.cfg.Seals.Apply(ctx, s.cfg.CopyActor, seal.Request{Seal: s.cfg.CopySeal, Format: "cades", Level: signature.BT, Document: doc})
	if err != nil {
		return nil, err
	}
	e := auditlog.NewEntry(now, userID, ActionCopyIssue, o.ID, map[string]any{
		"party": p, "documentSHA256": d.DocumentSHA256, "copySHA256": hex.EncodeToString(sum(res.Bytes)),
	})
	if err := s.cfg.Store.Append(ctx, e); err != nil {
		return nil, errkind.Wrap(errkind.Unavailable, err, "recording the copy")
	}
	return res.Bytes, nil
}

// FormOf returns the form of an offer version, for the customer to fill (L-65-6).
func (s *Service) FormOf(ctx context.Context, id string, version int) ([]FormField, error) {
	off, err := s.cfg.Store.Offer(ctx, id, version)
	if err != nil {
		return nil, err
	}
	return slices.Clone(off.Terms.Form), nil
}
