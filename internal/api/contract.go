package api

import (
	"context"
	"encoding/hex"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/tawthiq/tawthiq/client"
	"github.com/tawthiq/tawthiq/internal/access"
	"github.com/tawthiq/tawthiq/internal/contract"
	"github.com/tawthiq/tawthiq/internal/errkind"
	"github.com/tawthiq/tawthiq/internal/law"
)

// Contracts runs offers and orders (satisfied by *contract.Service).
type Contracts interface {
	PublishOffer(ctx context.Context, actor, id string, t contract.OfferTerms) (*contract.Offer, error)
	Offer(ctx context.Context, id string, version int) (*contract.Offer, error)
	FormOf(ctx context.Context, id string, version int) ([]contract.FormField, error)
	Draft(ctx context.Context, customer string, in contract.DraftRequest) (*contract.Order, error)
	Review(ctx context.Context, customer, id string, fix *contract.Correction) (*contract.Order, *contract.Review, error)
	Confirm(ctx context.Context, customer, id, reviewSHA256 string) (*contract.Order, error)
	Sign(ctx context.Context, userID, id string, cms []byte) (*contract.Order, error)
	Order(ctx context.Context, userID, id string) (*contract.Order, error)
	Original(ctx context.Context, userID, id string) (*contract.Original, error)
	CertifiedCopy(ctx context.Context, userID, id string) ([]byte, error)
}

var _ Contracts = (*contract.Service)(nil)

func (s *server) contracts() (Contracts, error) {
	if s.Contracts == nil {
		return nil, notWired("contracts")
	}
	return s.Contracts, nil
}

// contractCall makes one call on the contract service for the offer or order named in the path,
// so a handler says only which call it makes.
func contractCall[T any](s *server, r *http.Request, call func(c Contracts, id string) (T, error)) (T, error) {
	c, err := s.contracts()
	if err != nil {
		var zero T
		return zero, err
	}
	return call(c, r.PathValue("id"))
}

// answerOrder makes one contract call and answers with the order it returns.
func (s *server) answerOrder(w http.ResponseWriter, r *http.Request, status int, call func(c Contracts, id string) (*contract.Order, error)) error {
	o, err := contractCall(s, r, call)
	if err != nil {
		return err
	}
	return writeJSON(w, status, orderOut(o))
}

func (s *server) publishOffer(w http.ResponseWriter, r *http.Request, u *access.User) error {
	c, err := s.contracts()
	if err != nil {
		return err
	}
	var in client.PublishOffer
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	t := contract.OfferTerms{Title: in.Title, Category: law.Category(in.Category),
		Author: law.Author{ForProfession: in.ForProfession, CreditInstitution: in.CreditInstitution},
		Items: contract.Items{Characteristics: in.Items.Characteristics, Conditions: in.Items.Conditions, Steps: in.Items.Steps,
			ErrorCorrection: in.Items.ErrorCorrection, Languages: in.Items.Languages, Archiving: in.Items.Archiving, Rules: in.Items.Rules},
		Seal: in.Seal, Email: in.Email}
	for _, l := range in.Lines {
		t.Lines = append(t.Lines, contract.Line{SKU: l.SKU, Name: l.Name, UnitPrice: l.UnitPriceCentimes})
	}
	for _, f := range in.Form {
		t.Form = append(t.Form, contract.FormField{Name: f.Name, Label: f.Label, Type: f.Type, Required: f.Required})
	}
	if in.ValidUntil != nil {
		v := in.ValidUntil.Time
		t.ValidUntil = &v
	}
	o, err := c.PublishOffer(r.Context(), u.ID, in.ID, t)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, s.offerOut(o))
}

func (s *server) offerOut(o *contract.Offer) client.Offer {
	t := o.Terms
	out := client.Offer{PublishOffer: client.PublishOffer{ID: o.ID, Title: t.Title, Category: string(t.Category),
		ForProfession: t.Author.ForProfession, CreditInstitution: t.Author.CreditInstitution,
		Items: client.OfferItems{Characteristics: t.Items.Characteristics, Conditions: t.Items.Conditions, Steps: t.Items.Steps,
			ErrorCorrection: t.Items.ErrorCorrection, Languages: t.Items.Languages, Archiving: t.Items.Archiving, Rules: t.Items.Rules},
		Seal: t.Seal, Email: t.Email},
		Version: o.Version, Offeror: o.OfferorID, Binding: o.Binding, Superseded: o.Superseded,
		PublishedAt: client.Timestamp{Time: o.PublishedAt}, SHA256: hex.EncodeToString(o.SHA256), Document: o.Document}
	for _, l := range t.Lines {
		out.Lines = append(out.Lines, client.OfferLine{SKU: l.SKU, Name: l.Name, UnitPriceCentimes: l.UnitPrice})
	}
	out.Form = formOut(t.Form)
	if t.ValidUntil != nil {
		out.ValidUntil = &client.Timestamp{Time: *t.ValidUntil}
	}
	for _, m := range o.Missing {
		out.Missing = append(out.Missing, string(m))
	}
	out.BindingNow, out.Why = o.BindingAt(s.Clock.Now())
	return out
}

func formOut(fs []contract.FormField) []client.FormField {
	out := make([]client.FormField, 0, len(fs))
	for _, f := range fs {
		out = append(out, client.FormField{Name: f.Name, Label: f.Label, Type: f.Type, Required: f.Required})
	}
	return out
}

// versionParam reads ?version=N; absent is 0, the latest.
func versionParam(r *http.Request) (int, error) {
	v := r.URL.Query().Get("version")
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		return 0, errkind.New(errkind.Invalid, law.L65_4, "version must be a positive integer")
	}
	return n, nil
}

// pathOffer fetches the offer named in the path, at ?version=N.
func (s *server) pathOffer(r *http.Request) (*contract.Offer, error) {
	return contractCall(s, r, func(c Contracts, id string) (*contract.Offer, error) {
		v, err := versionParam(r)
		if err != nil {
			return nil, err
		}
		return c.Offer(r.Context(), id, v)
	})
}

func (s *server) showOffer(w http.ResponseWriter, r *http.Request, _ *access.User) error {
	o, err := s.pathOffer(r)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, s.offerOut(o))
}

func (s *server) offerForm(w http.ResponseWriter, r *http.Request, _ *access.User) error {
	o, err := s.pathOffer(r)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, client.FormTemplate{Offer: o.ID, Version: o.Version, Fields: formOut(o.Terms.Form)})
}

func linesIn(ls []client.OrderLine) []contract.OrderLine {
	out := make([]contract.OrderLine, len(ls))
	for i, l := range ls {
		out[i] = contract.OrderLine{SKU: l.SKU, Quantity: l.Quantity}
	}
	return out
}

func (s *server) draftOrder(w http.ResponseWriter, r *http.Request, u *access.User) error {
	return s.answerOrder(w, r, http.StatusCreated, func(c Contracts, _ string) (*contract.Order, error) {
		var in client.DraftOrder
		if err := decodeJSON(r, &in); err != nil {
			return nil, err
		}
		return c.Draft(r.Context(), u.ID, contract.DraftRequest{OfferID: in.Offer, OfferVersion: in.OfferVersion, Lines: linesIn(in.Lines),
			Form: in.Form, Email: in.Email, ConsentEmail: in.ConsentEmail, Language: in.Language})
	})
}

func (s *server) reviewOrder(w http.ResponseWriter, r *http.Request, u *access.User) error {
	return s.answerOrder(w, r, http.StatusOK, func(c Contracts, id string) (*contract.Order, error) {
		var in client.ReviewOrder
		if r.ContentLength != 0 {
			if err := decodeJSON(r, &in); err != nil {
				return nil, err
			}
		}
		var fix *contract.Correction
		if len(in.Lines) > 0 || len(in.Form) > 0 {
			fix = &contract.Correction{Lines: linesIn(in.Lines), Form: in.Form}
		}
		o, _, err := c.Review(r.Context(), u.ID, id, fix)
		return o, err
	})
}

func (s *server) confirmOrder(w http.ResponseWriter, r *http.Request, u *access.User) error {
	return s.answerOrder(w, r, http.StatusOK, func(c Contracts, id string) (*contract.Order, error) {
		var in client.ConfirmOrder
		if err := decodeJSON(r, &in); err != nil {
			return nil, err
		}
		return c.Confirm(r.Context(), u.ID, id, in.ReviewSHA256)
	})
}

func (s *server) showContractOrder(w http.ResponseWriter, r *http.Request, u *access.User) error {
	return s.answerOrder(w, r, http.StatusOK, func(c Contracts, id string) (*contract.Order, error) {
		return c.Order(r.Context(), u.ID, id)
	})
}

// orderDocument serves the confirmed order's exact bytes, which the parties sign.
func (s *server) orderDocument(w http.ResponseWriter, r *http.Request, u *access.User) error {
	o, err := contractCall(s, r, func(c Contracts, id string) (*contract.Order, error) {
		return c.Order(r.Context(), u.ID, id)
	})
	if err != nil {
		return err
	}
	if o.Confirmation == nil {
		return errkind.New(errkind.Conflict, law.L65_5, "the order is not confirmed yet")
	}
	return writeBytes(w, "application/json", o.Confirmation.Document)
}

func writeBytes(w http.ResponseWriter, contentType string, b []byte) error {
	w.Header().Set("Content-Type", contentType)
	w.WriteHeader(http.StatusOK)
	_, err := w.Write(b)
	return err
}

func (s *server) signOrder(w http.ResponseWriter, r *http.Request, u *access.User) error {
	return s.answerOrder(w, r, http.StatusOK, func(c Contracts, id string) (*contract.Order, error) {
		cms, err := io.ReadAll(r.Body)
		if err != nil {
			return nil, jsonError(err)
		}
		return c.Sign(r.Context(), u.ID, id, cms)
	})
}

func (s *server) orderOriginal(w http.ResponseWriter, r *http.Request, u *access.User) error {
	o, err := contractCall(s, r, func(c Contracts, id string) (*contract.Original, error) {
		return c.Original(r.Context(), u.ID, id)
	})
	if err != nil {
		return err
	}
	out := client.Original{Order: o.OrderID, Offer: o.Offer, Document: o.Document, DocumentSHA256: hex.EncodeToString(o.SHA256),
		Acknowledgement: o.Acknowledgement, ConcludedAt: optTS(o.ConcludedAt), Signatures: []client.OriginalSignature{}}
	for _, sg := range o.Signatures {
		out.Signatures = append(out.Signatures, client.OriginalSignature{Party: string(sg.Party), CMS: sg.CMS, Qualified: sg.Qualified})
	}
	return writeJSON(w, http.StatusOK, out)
}

func (s *server) orderCopy(w http.ResponseWriter, r *http.Request, u *access.User) error {
	b, err := contractCall(s, r, func(c Contracts, id string) ([]byte, error) {
		return c.CertifiedCopy(r.Context(), u.ID, id)
	})
	if err != nil {
		return err
	}
	return writeBytes(w, "application/pkcs7-signature", b)
}

func optTS(t time.Time) *client.Timestamp {
	if t.IsZero() {
		return nil
	}
	return &client.Timestamp{Time: t}
}

func orderOut(o *contract.Order) client.ContractOrder {
	out := client.ContractOrder{ID: o.ID, Offer: o.OfferID, OfferVersion: o.OfferVersion, Customer: o.CustomerID, Offeror: o.OfferorID,
		State: string(o.State()), Language: o.Language, ConsentEmail: o.ConsentEmail, CreatedAt: client.Timestamp{Time: o.CreatedAt},
		ConcludedAt: optTS(o.ConcludedAt), Signatures: []client.OrderSignature{}, Messages: []client.OrderMessage{}}
	if n := len(o.Revisions); n > 0 {
		rev := o.Revisions[n-1]
		out.Revision, out.Form = rev.N, rev.Form
		for _, l := range rev.Lines {
			out.Lines = append(out.Lines, client.OrderLine{SKU: l.SKU, Quantity: l.Quantity})
		}
	}
	if n := len(o.Reviews); n > 0 && o.Reviews[n-1].Revision == out.Revision {
		rv := o.Reviews[n-1]
		out.Review = &client.OrderReview{Revision: rv.Revision, TotalCentimes: rv.Total, SHA256: hex.EncodeToString(rv.SHA256),
			Document: rv.Document, ReviewedAt: client.Timestamp{Time: rv.ReviewedAt}}
	}
	if c := o.Confirmation; c != nil {
		out.Confirmation = &client.OrderConfirmation{ConfirmedAt: client.Timestamp{Time: c.ConfirmedAt}, DocumentSHA256: hex.EncodeToString(c.SHA256),
			Acknowledgement: c.Ack, AcknowledgementSHA256: hex.EncodeToString(c.AckSHA256), WrittenDeedRequired: c.DeedRequired,
			WrittenDeedRequirement: c.DeedRequirement}
	}
	for _, sg := range o.Signatures {
		out.Signatures = append(out.Signatures, client.OrderSignature{Party: string(sg.Party), Signer: sg.SignerID, SHA256: hex.EncodeToString(sg.SHA256),
			Qualified: sg.Qualified, Indication: string(sg.Indication), SignedAt: client.Timestamp{Time: sg.CreatedAt}})
	}
	for _, m := range o.Messages {
		out.Messages = append(out.Messages, client.OrderMessage{Kind: m.Kind, Addressee: m.Addressee, Channel: m.Channel,
			AccessibleAt: client.Timestamp{Time: m.AccessibleAt}})
	}
	switch o.State() {
	case contract.StateDraft:
		out.Pending = "review: the details and total computed from the offer (L-65-5)"
	case contract.StateReviewed:
		out.Pending = "confirmation with the review's sha256 (L-65-5)"
	case contract.StateConfirmed:
		out.Pending = o.Confirmation.DeedRequirement
	}
	return out
}
