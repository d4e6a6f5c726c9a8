package client

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
)

// SealOptions says how the server seals a document.
type SealOptions struct {
	Format   string // pades (a PDF) or cades; empty: pades
	Level    string // B-B, B-T, B-LT or B-LTA; empty: B-T
	Detached bool   // CAdES: the signature without the document
}

// Seal sends doc to be sealed with the organisation's seal name and returns
// the sealed PDF or the CMS signature.
func (c *Client) Seal(ctx context.Context, name string, doc []byte, o SealOptions) ([]byte, error) {
	q := url.Values{}
	if o.Format != "" {
		q.Set("format", o.Format)
	}
	if o.Level != "" {
		q.Set("level", o.Level)
	}
	if o.Detached {
		q.Set("detached", "true")
	}
	path := "/api/v1/seals/" + url.PathEscape(name)
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	resp, err := c.send(ctx, http.MethodPost, path, bytes.NewReader(doc), "application/octet-stream", "application/pdf, application/pkcs7-signature")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	if err != nil {
		return nil, fmt.Errorf("tawthiq client: reading the sealed document: %w", err)
	}
	return b, nil
}
