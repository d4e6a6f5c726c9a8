// Package contract concludes contracts electronically as DOC 65-3 to 65-7 and 443
// say: offers that state the seven items (L-65-4) in immutable versions, orders the
// customer reviews with their total before a distinct confirmation (L-65-5), an
// acknowledgement of receipt sealed with the offeror's seal and time-stamped in the
// same request, the parties' qualified signatures over 10,000 dirhams (L-443), and
// each party's original or certified copy (L-65-7, L-440).
package contract

import (
	"context"
	"encoding/json"
	"strings"
	"time"

	"github.com/tawthiq/tawthiq/internal/auditlog"
	"github.com/tawthiq/tawthiq/internal/law"
	"github.com/tawthiq/tawthiq/internal/seal"
	"github.com/tawthiq/tawthiq/internal/validation"
)

// Audit actions of the contract service.
const (
	ActionOfferPublish auditlog.Action = "contract.offer.publish"
	ActionOrderDraft   auditlog.Action = "contract.order.draft"
	ActionOrderRevise  auditlog.Action = "contract.order.revise"
	ActionOrderReview  auditlog.Action = "contract.order.review"
	ActionOrderConfirm auditlog.Action = "contract.order.confirm" // with the acknowledgement of receipt
	ActionOrderSign    auditlog.Action = "contract.order.sign"
	ActionCopyIssue    auditlog.Action = "contract.copy.issue"
)

// Currency is the only currency of prices: L-443 counts in dirhams.
const Currency = "MAD"

// Items are the seven statements of DOC 65-4, each a named field.
type Items struct {
	Characteristics string   `json:"characteristics"`
	Conditions      string   `json:"conditions"`
	Steps           string   `json:"steps"`
	ErrorCorrection string   `json:"errorCorrection"`
	Languages       []string `json:"languages"`
	Archiving       string   `json:"archiving"`
	Rules           string   `json:"rules"`
}

func (it Items) stated() map[law.OfferItem]string {
	return map[law.OfferItem]string{
		law.ItemCharacteristics: it.Characteristics, law.ItemConditions: it.Conditions, law.ItemSteps: it.Steps,
		law.ItemErrorCorrection: it.ErrorCorrection, law.ItemLanguages: strings.Join(it.Languages, ","),
		law.ItemArchiving: it.Archiving, law.ItemRules: it.Rules,
	}
}

// Line is one priced article of an offer.
type Line struct {
	SKU       string `json:"sku"`
	Name      string `json:"name"`
	UnitPrice int64  `json:"unitPriceCentimes"` // 1/100 dirham: no floating point in a price
}

// FormField is one field of the offer's form (L-65-6).
type FormField struct {
	Name     string `json:"name"`
	Label    string `json:"label"`
	Type     string `json:"type"` // text, number, email, date or bool
	Required bool   `json:"required"`
}

// OfferTerms is what the offeror publishes: the stored, reproducible terms (L-65-4).
type OfferTerms struct {
	Title      string       `json:"title"`
	Category   law.Category `json:"category"`
	Author     law.Author   `json:"author"`
	Items      Items        `json:"items"`
	Lines      []Line       `json:"lines"`
	Form       []FormField  `json:"form,omitempty"`
	ValidUntil *time.Time   `json:"validUntil,omitempty"` // nil: binds while accessible (not superseded)
	Seal       string       `json:"seal"`                 // the offeror's organisation's seal: signs the acknowledgements
	Email      string       `json:"email,omitempty"`      // the professional's address (L-65-3)
}

// offerDocument is the canonical JSON of a published version: its exact bytes are kept.
type offerDocument struct {
	Type        string     `json:"type"`
	ID          string     `json:"id"`
	Version     int        `json:"version"`
	Offeror     string     `json:"offeror"`
	PublishedAt time.Time  `json:"publishedAt"`
	Currency    string     `json:"currency"`
	Terms       OfferTerms `json:"terms"`
}

// Offer is one published version of an offer.
type Offer struct {
	ID          string
	Version     int
	OfferorID   string
	Terms       OfferTerms
	Binding     bool            // all seven items stated; else mere advertising (L-65-4)
	Missing     []law.OfferItem // the items left out
	PublishedAt time.Time
	Document    []byte // the canonical JSON, as stored
	SHA256      []byte
	Superseded  bool // a later version exists
}

// BindingAt says whether the offer binds its author at t, and if not, why (L-65-4):
// it must state the seven items, and binds for its stated period, else while it is
// accessible, which a later version ends.
func (o *Offer) BindingAt(t time.Time) (bool, string) {
	switch {
	case !o.Binding:
		return false, "the offer is advertising, not binding: it does not state " + itemList(o.Missing)
	case o.Terms.ValidUntil != nil && !t.Before(*o.Terms.ValidUntil):
		return false, "the offer expired at " + o.Terms.ValidUntil.UTC().Format(time.RFC3339)
	case o.Terms.ValidUntil == nil && o.Superseded:
		return false, "the offer was replaced by a later version and states no period"
	}
	return true, ""
}

func itemList(items []law.OfferItem) string {
	s := make([]string, len(items))
	for i, it := range items {
		s[i] = string(it)
	}
	return strings.Join(s, ", ")
}

// OrderLine is what the customer orders of one article.
type OrderLine struct {
	SKU      string `json:"sku"`
	Quantity int64  `json:"quantity"`
}

// Revision is one version of the order the customer entered: the draft, then each correction.
type Revision struct {
	N         int
	Lines     []OrderLine
	Form      map[string]string
	CreatedAt time.Time
}

// Review is what the server showed the customer for a revision: details and total
// computed from the offer, as canonical JSON whose hash the confirmation must quote (L-65-5).
type Review struct {
	Revision   int
	Document   []byte
	SHA256     []byte
	Total      int64 // centimes
	ReviewedAt time.Time
}

// Confirmation is the customer's acceptance and the offeror's acknowledgement of receipt.
type Confirmation struct {
	Revision        int
	Document        []byte // the confirmed order: what the acknowledgement and the parties' signatures sign
	SHA256          []byte
	ConfirmedAt     time.Time
	Ack             []byte // CAdES B-T by the offeror's seal, enveloping Document
	AckSHA256       []byte
	DeedRequired    bool   // over 10,000 dirhams (L-443)
	DeedRequirement string // why, in words
}

// Party is a side of the contract.
type Party string

// The two parties.
const (
	Customer Party = "customer"
	Offeror  Party = "offeror"
)

// Signature is a party's CAdES signature over the confirmed order and its validation.
type Signature struct {
	Party      Party
	SignerID   string
	CMS        []byte
	SHA256     []byte
	Qualified  bool
	Indication validation.Indication
	Report     json.RawMessage // the EN 319 102-1 report, as it was at upload
	CreatedAt  time.Time
}

// Message records when a message of the exchange became accessible to its addressee (L-65-5).
type Message struct {
	Kind         string // confirmation, acknowledgement, conclusion
	Addressee    string // user ID
	Channel      string // account, or email when the addressee accepted it (L-65-3)
	Recipient    string // the address for email; the user ID for account
	AccessibleAt time.Time
}

// State is where an order stands.
type State string

// Order states.
const (
	StateDraft     State = "draft"
	StateReviewed  State = "reviewed"
	StateConfirmed State = "confirmed" // acknowledged; awaiting signatures (L-443)
	StateConcluded State = "concluded"
)

// Order is an order and everything that happened to it; every part is written once.
type Order struct {
	ID           string
	OfferID      string
	OfferVersion int
	CustomerID   string
	OfferorID    string
	Email        string
	ConsentEmail bool // the customer expressly accepted e-mail (L-65-3)
	Language     string
	CreatedAt    time.Time
	Revisions    []Revision
	Reviews      []Review
	Confirmation *Confirmation
	Signatures   []Signature
	ConcludedAt  time.Time
	Messages     []Message
}

// State derives the order's state from what is recorded.
func (o *Order) State() State {
	switch {
	case !o.ConcludedAt.IsZero():
		return StateConcluded
	case o.Confirmation != nil:
		return StateConfirmed
	case o.latestReview() != nil:
		return StateReviewed
	}
	return StateDraft
}

// latestReview returns the review of the latest revision, nil if it has none.
func (o *Order) latestReview() *Review {
	if len(o.Revisions) == 0 || len(o.Reviews) == 0 {
		return nil
	}
	r := &o.Reviews[len(o.Reviews)-1]
	if r.Revision != o.Revisions[len(o.Revisions)-1].N {
		return nil
	}
	return r
}

// PartyOf says which side userID is on, "" if neither.
func (o *Order) PartyOf(userID string) Party {
	switch userID {
	case "":
		return ""
	case o.CustomerID:
		return Customer
	case o.OfferorID:
		return Offeror
	}
	return ""
}

// Original is a party's original: the exact stored bytes with their signatures (L-65-7).
type Original struct {
	OrderID         string
	Offer           []byte // the offer version's document
	Document        []byte // the confirmed order
	SHA256          []byte
	Acknowledgement []byte
	Signatures      []Signature
	ConcludedAt     time.Time
}

// Store is what the contract service needs from the database; every write carries
// its audit entry and is refused if it would change a recorded fact.
type Store interface {
	// PutOffer records a version: 1 for a new offer, else right after the latest.
	PutOffer(ctx context.Context, o Offer, e auditlog.Entry) error
	// Offer returns a version; version 0 is the latest.
	Offer(ctx context.Context, id string, version int) (*Offer, error)
	CreateContractOrder(ctx context.Context, o Order, e auditlog.Entry) error
	AddOrderRevision(ctx context.Context, orderID string, r Revision, e auditlog.Entry) error
	AddOrderReview(ctx context.Context, orderID string, r Review, e auditlog.Entry) error
	// Confirm records the confirmation with its acknowledgement and messages and,
	// if concludedAt is set, the conclusion: one transaction.
	ConfirmOrder(ctx context.Context, orderID string, c Confirmation, msgs []Message, concludedAt time.Time, e auditlog.Entry) error
	AddOrderSignature(ctx context.Context, orderID string, s Signature, msgs []Message, concludedAt time.Time, e auditlog.Entry) error
	ContractOrder(ctx context.Context, id string) (*Order, error)
	Append(ctx context.Context, e ...auditlog.Entry) error
}

// Sealer applies an organisation's seal for one of its users (seal.Service).
type Sealer interface {
	Apply(ctx context.Context, userID string, req seal.Request) (seal.Result, error)
	Names(userID string) []string
}

// Validator validates a detached CAdES signature over content with the CSP's
// trust anchors and status (validation.Validate).
type Validator interface {
	Validate(ctx context.Context, sig, content []byte) validation.Report
}

// Holders says which user a certificate of the CSP was issued to.
type Holders interface {
	CertificateHolder(ctx context.Context, serial string) (userID string, err error)
}
