package client

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
)

// OfferItems are the seven statements a binding offer makes (L-65-4).
type OfferItems struct {
	Characteristics string   `json:"characteristics"`
	Conditions      string   `json:"conditions"`
	Steps           string   `json:"steps"`
	ErrorCorrection string   `json:"error_correction"`
	Languages       []string `json:"languages"`
	Archiving       string   `json:"archiving"`
	Rules           string   `json:"rules"` // "none" when no professional or commercial rules apply
}

// OfferLine is one priced article; prices are in centimes (1/100 MAD).
type OfferLine struct {
	SKU               string `json:"sku"`
	Name              string `json:"name"`
	UnitPriceCentimes int64  `json:"unit_price_centimes"`
}

// FormField is one field of an offer's form (L-65-6).
type FormField struct {
	Name     string `json:"name"`
	Label    string `json:"label,omitempty"`
	Type     string `json:"type"` // text, number, email, date or bool
	Required bool   `json:"required,omitempty"`
}

// PublishOffer publishes an offer, or with ID the next version of one.
type PublishOffer struct {
	ID                string      `json:"id,omitempty"`
	Title             string      `json:"title"`
	Category          string      `json:"category"` // sale, service, business-transfer, personal-security, real-security
	ForProfession     bool        `json:"for_profession,omitempty"`
	CreditInstitution bool        `json:"credit_institution,omitempty"`
	Items             OfferItems  `json:"items"`
	Lines             []OfferLine `json:"lines"`
	Form              []FormField `json:"form,omitempty"`
	ValidUntil        *Timestamp  `json:"valid_until,omitempty"`
	Seal              string      `json:"seal"`            // the organisation's seal that signs acknowledgements
	Email             string      `json:"email,omitempty"` // the professional's address (L-65-3)
}

// Offer is a published version of an offer.
type Offer struct {
	PublishOffer
	Version     int       `json:"version"`
	Offeror     string    `json:"offeror"`
	Binding     bool      `json:"binding"`           // all seven items stated (L-65-4)
	Missing     []string  `json:"missing,omitempty"` // the items left out: advertising, not binding
	BindingNow  bool      `json:"binding_now"`
	Why         string    `json:"why,omitempty"` // why it does not bind now
	Superseded  bool      `json:"superseded"`
	PublishedAt Timestamp `json:"published_at"`
	SHA256      string    `json:"sha256"`
	Document    []byte    `json:"document"` // the canonical JSON, exactly as stored
}

// OrderLine is what the customer orders of one article.
type OrderLine struct {
	SKU      string `json:"sku"`
	Quantity int64  `json:"quantity"`
}

// DraftOrder starts an order on an offer.
type DraftOrder struct {
	Offer        string            `json:"offer"`
	OfferVersion int               `json:"offer_version,omitempty"` // 0: the latest
	Lines        []OrderLine       `json:"lines"`
	Form         map[string]string `json:"form,omitempty"`
	Email        string            `json:"email,omitempty"`
	ConsentEmail bool              `json:"consent_email,omitempty"` // express acceptance of e-mail (L-65-3)
	Language     string            `json:"language,omitempty"`
}

// ReviewOrder asks for the order's details and total; Lines (and Form) correct it first.
type ReviewOrder struct {
	Lines []OrderLine       `json:"lines,omitempty"`
	Form  map[string]string `json:"form,omitempty"`
}

// ConfirmOrder confirms the reviewed order whose hash it quotes (L-65-5).
type ConfirmOrder struct {
	ReviewSHA256 string `json:"review_sha256"`
}

// OrderReview is what the customer was shown: details and total from the offer.
type OrderReview struct {
	Revision      int       `json:"revision"`
	TotalCentimes int64     `json:"total_centimes"`
	SHA256        string    `json:"sha256"`
	Document      []byte    `json:"document"`
	ReviewedAt    Timestamp `json:"reviewed_at"`
}

// OrderConfirmation is the acceptance and the offeror's acknowledgement of receipt.
type OrderConfirmation struct {
	ConfirmedAt            Timestamp `json:"confirmed_at"`
	DocumentSHA256         string    `json:"document_sha256"`
	Acknowledgement        []byte    `json:"acknowledgement"` // CAdES B-T (DER) by the offeror's seal, enveloping the document
	AcknowledgementSHA256  string    `json:"acknowledgement_sha256"`
	WrittenDeedRequired    bool      `json:"written_deed_required"` // L-443
	WrittenDeedRequirement string    `json:"written_deed_requirement,omitempty"`
}

// OrderSignature is a party's signature over the confirmed order.
type OrderSignature struct {
	Party      string    `json:"party"`
	Signer     string    `json:"signer"`
	SHA256     string    `json:"sha256"`
	Qualified  bool      `json:"qualified"`
	Indication string    `json:"indication"`
	SignedAt   Timestamp `json:"signed_at"`
}

// OrderMessage says when a message became accessible to its addressee (L-65-5).
type OrderMessage struct {
	Kind         string    `json:"kind"`
	Addressee    string    `json:"addressee"`
	Channel      string    `json:"channel"` // account, or email with consent (L-65-3)
	AccessibleAt Timestamp `json:"accessible_at"`
}

// ContractOrder is an order as its parties see it.
type ContractOrder struct {
	ID           string             `json:"id"`
	Offer        string             `json:"offer"`
	OfferVersion int                `json:"offer_version"`
	Customer     string             `json:"customer"`
	Offeror      string             `json:"offeror"`
	State        string             `json:"state"` // draft, reviewed, confirmed, concluded
	Language     string             `json:"language"`
	ConsentEmail bool               `json:"consent_email"`
	Revision     int                `json:"revision"`
	Lines        []OrderLine        `json:"lines"`
	Form         map[string]string  `json:"form,omitempty"`
	Review       *OrderReview       `json:"review,omitempty"` // of the latest version; null until reviewed
	Confirmation *OrderConfirmation `json:"confirmation,omitempty"`
	Signatures   []OrderSignature   `json:"signatures"`
	ConcludedAt  *Timestamp         `json:"concluded_at,omitempty"`
	Pending      string             `json:"pending,omitempty"` // what the contract still waits for
	Messages     []OrderMessage     `json:"messages"`
	CreatedAt    Timestamp          `json:"created_at"`
}

// OriginalSignature is a signature as kept in the original.
type OriginalSignature struct {
	Party     string `json:"party"`
	CMS       []byte `json:"cms"`
	Qualified bool   `json:"qualified"`
}

// Original is a party's original: the exact stored bytes (L-65-7).
type Original struct {
	Order           string              `json:"order"`
	Offer           []byte              `json:"offer"`
	Document        []byte              `json:"document"`
	DocumentSHA256  string              `json:"document_sha256"`
	Acknowledgement []byte              `json:"acknowledgement"`
	Signatures      []OriginalSignature `json:"signatures"`
	ConcludedAt     *Timestamp          `json:"concluded_at,omitempty"`
}

// FormTemplate is an offer's form.
type FormTemplate struct {
	Offer   string      `json:"offer"`
	Version int         `json:"version"`
	Fields  []FormField `json:"fields"`
}

// PublishOffer publishes an offer or a new version of one (holder).
func (c *Client) PublishOffer(ctx context.Context, in PublishOffer) (*Offer, error) {
	var o Offer
	return &o, c.do(ctx, http.MethodPost, "/api/v1/offers", in, &o)
}

// Offer returns a version of an offer (0: the latest); no token is needed.
func (c *Client) Offer(ctx context.Context, id string, version int) (*Offer, error) {
	var o Offer
	return &o, c.do(ctx, http.MethodGet, offerPath(id, "", version), nil, &o)
}

// OfferForm returns an offer's form to fill (L-65-6).
func (c *Client) OfferForm(ctx context.Context, id string, version int) (*FormTemplate, error) {
	var f FormTemplate
	return &f, c.do(ctx, http.MethodGet, offerPath(id, "/form", version), nil, &f)
}

func offerPath(id, sub string, version int) string {
	p := "/api/v1/offers/" + url.PathEscape(id) + sub
	if version > 0 {
		p += "?version=" + strconv.Itoa(version)
	}
	return p
}

func orderPath(id, sub string) string { return "/api/v1/contract-orders/" + url.PathEscape(id) + sub }

// DraftOrder starts an order (holder).
func (c *Client) DraftOrder(ctx context.Context, in DraftOrder) (*ContractOrder, error) {
	var o ContractOrder
	return &o, c.do(ctx, http.MethodPost, "/api/v1/contract-orders", in, &o)
}

// ReviewOrder records an optional correction and returns the details and total to confirm.
func (c *Client) ReviewOrder(ctx context.Context, id string, in ReviewOrder) (*ContractOrder, error) {
	var o ContractOrder
	return &o, c.do(ctx, http.MethodPost, orderPath(id, "/review"), in, &o)
}

// ConfirmOrder confirms the reviewed order; the answer carries the acknowledgement.
func (c *Client) ConfirmOrder(ctx context.Context, id, reviewSHA256 string) (*ContractOrder, error) {
	var o ContractOrder
	return &o, c.do(ctx, http.MethodPost, orderPath(id, "/confirmation"), ConfirmOrder{ReviewSHA256: reviewSHA256}, &o)
}

// ContractOrder returns an order to one of its parties.
func (c *Client) ContractOrder(ctx context.Context, id string) (*ContractOrder, error) {
	var o ContractOrder
	return &o, c.do(ctx, http.MethodGet, orderPath(id, ""), nil, &o)
}

// OrderDocument returns the confirmed order's exact bytes: what the parties sign.
func (c *Client) OrderDocument(ctx context.Context, id string) ([]byte, error) {
	return c.raw(ctx, orderPath(id, "/document"))
}

// SignOrder uploads the party's detached CAdES signature (DER) over OrderDocument.
func (c *Client) SignOrder(ctx context.Context, id string, cms []byte) (*ContractOrder, error) {
	resp, err := c.send(ctx, http.MethodPost, orderPath(id, "/signatures"), bytes.NewReader(cms), "application/pkcs7-signature", "application/json")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var o ContractOrder
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxResponseBytes)).Decode(&o); err != nil {
		return nil, fmt.Errorf("tawthiq client: decoding the order: %w", err)
	}
	return &o, nil
}

// Original returns the party's original (L-65-7).
func (c *Client) Original(ctx context.Context, id string) (*Original, error) {
	var o Original
	return &o, c.do(ctx, http.MethodGet, orderPath(id, "/original"), nil, &o)
}

// CertifiedCopy returns a copy sealed by the CSP and time-stamped (CAdES, DER; L-440).
func (c *Client) CertifiedCopy(ctx context.Context, id string) ([]byte, error) {
	return c.raw(ctx, orderPath(id, "/copy"))
}
