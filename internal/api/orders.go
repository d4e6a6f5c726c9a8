package api

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"

	"github.com/tawthiq/tawthiq/client"
	"github.com/tawthiq/tawthiq/internal/access"
	"github.com/tawthiq/tawthiq/internal/errkind"
	"github.com/tawthiq/tawthiq/internal/law"
	"github.com/tawthiq/tawthiq/internal/orders"
)

// Orders records and executes judicial orders and disclosures (L-21-3-7 b, L-24);
// satisfied by *orders.Service.
type Orders interface {
	RecordOrder(ctx context.Context, actor string, o orders.Order) (*orders.Order, error)
	Order(ctx context.Context, ref string) (*orders.Order, error)
	Execute(ctx context.Context, actor, ref string, progress func(orders.Progress)) (*orders.Completion, error)
	RecordDisclosure(ctx context.Context, actor string, d orders.Disclosure) (*orders.Disclosure, error)
	Disclosure(ctx context.Context, ref string) (*orders.Disclosure, error)
	HolderRecords(ctx context.Context, holderID string) (*orders.HolderRecords, error)
}

// GroundedRecorder records a read of personal data on one of the law's grounds (L-24);
// satisfied by *access.Service.
type GroundedRecorder interface {
	RecordGroundedRead(ctx context.Context, reader *access.User, subject string, g law.ReadGround, ref string) error
}

var (
	_ Orders           = (*orders.Service)(nil)
	_ GroundedRecorder = (*access.Service)(nil)
)

func (s *server) recordOrder(w http.ResponseWriter, r *http.Request, u *access.User) error {
	var in client.JudicialOrderRequest
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	if s.Orders == nil {
		return notWired("judicial orders")
	}
	o, err := s.Orders.RecordOrder(r.Context(), u.ID, orders.Order{Ref: in.Ref, Court: in.Court, Date: in.Date,
		Kind: orders.Kind(in.Kind), Note: in.Note, Holders: in.Holders, Serials: in.Serials})
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/orders/"+url.PathEscape(o.Ref))
	return writeJSON(w, http.StatusCreated, wireOrder(o))
}

func (s *server) showOrder(w http.ResponseWriter, r *http.Request, _ *access.User) error {
	if s.Orders == nil {
		return notWired("judicial orders")
	}
	o, err := s.Orders.Order(r.Context(), r.PathValue("ref"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, wireOrder(o))
}

// executeOrder streams the execution's progress as NDJSON, one line per batch, so a
// long order keeps its connection alive and the operator sees it advance. Once the
// stream has begun, a failure is its last line; running it again finishes the rest.
func (s *server) executeOrder(w http.ResponseWriter, r *http.Request, u *access.User) error {
	if s.Orders == nil {
		return notWired("judicial orders")
	}
	ref := r.PathValue("ref")
	if _, err := s.Orders.Order(r.Context(), ref); err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	enc := json.NewEncoder(w)
	send := func(p client.OrderProgress) {
		_ = enc.Encode(p)
		_ = rc.Flush()
	}
	c, err := s.Orders.Execute(r.Context(), u.ID, ref, func(p orders.Progress) {
		if p.Stage != "done" {
			send(client.OrderProgress{Stage: p.Stage, Total: p.Total, Revoked: p.Revoked, Holders: p.Holders, Notified: p.Notified})
		}
	})
	if err != nil {
		pr := problem(err, r.URL.Path)
		send(client.OrderProgress{Stage: "failed", Error: &pr})
		return nil
	}
	send(client.OrderProgress{Stage: "done", Total: c.Certificates, Revoked: c.Revoked, Holders: c.Holders,
		Notified: c.Holders, Completion: wireCompletion(c)})
	return nil
}

func (s *server) recordDisclosure(w http.ResponseWriter, r *http.Request, u *access.User) error {
	var in client.DisclosureRequest
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	if s.Orders == nil {
		return notWired("disclosures")
	}
	d, err := s.Orders.RecordDisclosure(r.Context(), u.ID, orders.Disclosure{Ref: in.Ref, Office: in.Office, Date: in.Date, Holders: in.Holders})
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/disclosures/"+url.PathEscape(d.Ref))
	return writeJSON(w, http.StatusCreated, wireDisclosure(d))
}

func (s *server) showDisclosure(w http.ResponseWriter, r *http.Request, _ *access.User) error {
	if s.Orders == nil {
		return notWired("disclosures")
	}
	d, err := s.Orders.Disclosure(r.Context(), r.PathValue("ref"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, wireDisclosure(d))
}

// holderRecords shows a holder's creation data, only on a ground the law gives,
// recorded before anything is shown (L-24). The holder reads his own and an RA
// officer the file he handles; the others name their ground and its document.
func (s *server) holderRecords(w http.ResponseWriter, r *http.Request, u *access.User) error {
	if s.Orders == nil {
		return notWired("holder records")
	}
	gr, ok := s.Access.(GroundedRecorder)
	if !ok {
		return notWired("recorded reads")
	}
	id := r.PathValue("id")
	q := r.URL.Query()
	g, ref := law.ReadGround(strings.TrimSpace(q.Get("ground"))), q.Get("ref")
	switch u.Role {
	case access.RoleHolder:
		if id != u.ID {
			return errkind.New(errkind.NotFound, law.L24, "no records of holder %q", id)
		}
		g = law.ReadHolderSelf
	case access.RoleRAOfficer:
		g = law.ReadRAOfficerFile
	default:
		if g == "" {
			return errkind.New(errkind.Forbidden, law.L24, "personal data are read only on a recorded ground: "+
				"give ?ground= (authority-agent, administrative-authority, holder-consent, prosecutor-order) and ?ref= its document")
		}
		if rule, ok := law.LookupReadGround(g); ok && !rule.External && g != law.ReadAuditorReview {
			return errkind.New(errkind.Forbidden, law.L24, "ground %s is not yours to give", g)
		}
	}
	if err := gr.RecordGroundedRead(r.Context(), u, id, g, ref); err != nil {
		if errkind.Is(err, errkind.Forbidden) || errkind.Is(err, errkind.Invalid) {
			return err
		}
		return &errkind.Error{Kind: errkind.Unavailable, Rule: law.L24, Err: err,
			Detail: "the read of personal data could not be recorded, so nothing is shown; try again later"}
	}
	rec, err := s.Orders.HolderRecords(r.Context(), id)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, rec)
}

func wireOrder(o *orders.Order) client.JudicialOrder {
	out := client.JudicialOrder{JudicialOrderRequest: client.JudicialOrderRequest{Ref: o.Ref, Court: o.Court, Date: o.Date,
		Kind: string(o.Kind), Note: o.Note, Holders: o.Holders, Serials: o.Serials},
		RecordedBy: o.RecordedBy, RecordedAt: o.RecordedAt}
	if o.Completion != nil {
		out.Completion = wireCompletion(o.Completion)
	}
	return out
}

func wireCompletion(c *orders.Completion) *client.OrderCompletion {
	return &client.OrderCompletion{Certificates: c.Certificates, Revoked: c.Revoked, Holders: c.Holders, At: c.At}
}

func wireDisclosure(d *orders.Disclosure) client.Disclosure {
	sum := d.ExportSHA256
	if len(sum) == 0 {
		h := sha256.Sum256(d.Export)
		sum = h[:]
	}
	return client.Disclosure{DisclosureRequest: client.DisclosureRequest{Ref: d.Ref, Office: d.Office, Date: d.Date,
		Holders: d.Holders}, RecordedBy: d.RecordedBy, RecordedAt: d.RecordedAt, Export: d.Export,
		ExportSHA256: hex.EncodeToString(sum)}
}
