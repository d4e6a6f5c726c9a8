package client

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// JudicialOrderRequest records a judicial order (L-21-3-7 b).
type JudicialOrderRequest struct {
	Ref     string    `json:"ref"`
	Court   string    `json:"court"`
	Date    time.Time `json:"date"`
	Kind    string    `json:"kind"` // revoke or notify-only
	Note    string    `json:"note,omitempty"`
	Holders []string  `json:"holders,omitempty"` // holders' user IDs
	Serials []string  `json:"serials,omitempty"` // certificate serials (hex)
}

// JudicialOrder is a recorded order with its completion, once executed.
type JudicialOrder struct {
	JudicialOrderRequest
	RecordedBy string           `json:"recorded_by"`
	RecordedAt time.Time        `json:"recorded_at"`
	Completion *OrderCompletion `json:"completion,omitempty"`
}

// OrderCompletion is the end of an order's execution.
type OrderCompletion struct {
	Certificates int       `json:"certificates"`
	Revoked      int       `json:"revoked"`
	Holders      int       `json:"holders"`
	At           time.Time `json:"at"`
}

// OrderProgress is one line of an execution's progress stream; the last line has
// Stage "done" and the completion, or an error.
type OrderProgress struct {
	Stage      string           `json:"stage"` // revoking, notifying, done, failed
	Total      int              `json:"total"`
	Revoked    int              `json:"revoked"`
	Holders    int              `json:"holders"`
	Notified   int              `json:"notified"`
	Completion *OrderCompletion `json:"completion,omitempty"`
	Error      *Problem         `json:"error,omitempty"`
}

// DisclosureRequest records the King's prosecutor's order to hand over creation data (L-24).
type DisclosureRequest struct {
	Ref     string    `json:"ref"`
	Office  string    `json:"office"`
	Date    time.Time `json:"date"`
	Holders []string  `json:"holders"`
}

// Disclosure is a recorded disclosure with its signed export (CMS, DER).
type Disclosure struct {
	DisclosureRequest
	RecordedBy   string    `json:"recorded_by"`
	RecordedAt   time.Time `json:"recorded_at"`
	Export       []byte    `json:"export"` // CAdES B-T enveloping the JSON creation data
	ExportSHA256 string    `json:"export_sha256"`
}

// RecordOrder records a judicial order.
func (c *Client) RecordOrder(ctx context.Context, in JudicialOrderRequest) (*JudicialOrder, error) {
	var out JudicialOrder
	return &out, c.do(ctx, http.MethodPost, "/api/v1/orders", in, &out)
}

// Order returns a recorded judicial order.
func (c *Client) Order(ctx context.Context, ref string) (*JudicialOrder, error) {
	var out JudicialOrder
	return &out, c.do(ctx, http.MethodGet, "/api/v1/orders/"+url.PathEscape(ref), nil, &out)
}

// ExecuteOrder executes an order, calling progress for each line the server streams;
// it returns the completion. Calling it again after an interruption finishes the rest.
func (c *Client) ExecuteOrder(ctx context.Context, ref string, progress func(OrderProgress)) (*OrderCompletion, error) {
	resp, err := c.send(ctx, http.MethodPost, "/api/v1/orders/"+url.PathEscape(ref)+"/execution", strings.NewReader("{}"),
		"application/json", "application/x-ndjson")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(io.LimitReader(resp.Body, maxResponseBytes))
	for sc.Scan() {
		var p OrderProgress
		if err := json.Unmarshal(sc.Bytes(), &p); err != nil {
			return nil, fmt.Errorf("tawthiq client: decoding progress: %w", err)
		}
		if progress != nil {
			progress(p)
		}
		switch {
		case p.Error != nil:
			return nil, p.Error
		case p.Stage == "done":
			return p.Completion, nil
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("tawthiq client: reading progress: %w", err)
	}
	return nil, fmt.Errorf("tawthiq client: the execution of %s ended without its completion: run it again to finish", ref)
}

// RecordDisclosure records a prosecutor's order and returns the signed export.
func (c *Client) RecordDisclosure(ctx context.Context, in DisclosureRequest) (*Disclosure, error) {
	var out Disclosure
	return &out, c.do(ctx, http.MethodPost, "/api/v1/disclosures", in, &out)
}

// GetDisclosure returns a recorded disclosure with its export.
func (c *Client) GetDisclosure(ctx context.Context, ref string) (*Disclosure, error) {
	var out Disclosure
	return &out, c.do(ctx, http.MethodGet, "/api/v1/disclosures/"+url.PathEscape(ref), nil, &out)
}

// HolderRecords reads a holder's creation data on a ground of L-24 with the
// reference of the document that allows it (none for the holder or his RA officer).
func (c *Client) HolderRecords(ctx context.Context, holderID, ground, ref string) (json.RawMessage, error) {
	q := url.Values{}
	if ground != "" {
		q.Set("ground", ground)
	}
	if ref != "" {
		q.Set("ref", ref)
	}
	var out json.RawMessage
	p := "/api/v1/holders/" + url.PathEscape(holderID) + "/records"
	if len(q) > 0 {
		p += "?" + q.Encode()
	}
	return out, c.do(ctx, http.MethodGet, p, nil, &out)
}
