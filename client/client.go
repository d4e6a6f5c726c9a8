package client

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// maxResponseBytes bounds what the client reads from one answer.
const maxResponseBytes = 64 << 20

// Client calls a tawthiq server's REST API.
type Client struct {
	base  string
	token string
	http  *http.Client
}

// New returns a client for the server at baseURL (e.g. "http://127.0.0.1:8080")
// that authenticates with token ("tw_..."; empty for public endpoints only).
// A nil httpClient uses http.DefaultClient.
func New(baseURL, token string, httpClient *http.Client) *Client {
	if httpClient == nil {
		httpClient = http.DefaultClient
	}
	return &Client{base: strings.TrimRight(baseURL, "/"), token: token, http: httpClient}
}

// Health checks that the server answers.
func (c *Client) Health(ctx context.Context) (*Health, error) {
	var h Health
	return &h, c.do(ctx, http.MethodGet, "/healthz", nil, &h)
}

// CACertificate returns the DER of a CA certificate by name ("root", "signature"...).
func (c *Client) CACertificate(ctx context.Context, name string) ([]byte, error) {
	return c.raw(ctx, "/ca/"+url.PathEscape(strings.TrimSuffix(name, ".crt"))+".crt")
}

// Checkpoint returns the latest signed checkpoint of the audit log (a signed note).
func (c *Client) Checkpoint(ctx context.Context) (string, error) {
	b, err := c.raw(ctx, "/checkpoint")
	return string(b), err
}

// Login records the opening of a session and returns the token's user.
func (c *Client) Login(ctx context.Context) (*User, error) {
	var u User
	return &u, c.do(ctx, http.MethodPost, "/api/v1/login", nil, &u)
}

// Me returns the token's user.
func (c *Client) Me(ctx context.Context) (*User, error) {
	var u User
	return &u, c.do(ctx, http.MethodGet, "/api/v1/me", nil, &u)
}

// CreateUser adds a user (admin).
func (c *Client) CreateUser(ctx context.Context, in CreateUser) (*User, error) {
	var u User
	return &u, c.do(ctx, http.MethodPost, "/api/v1/users", in, &u)
}

// IssueToken creates a bearer token for a user (admin); ttl 0 means the server's
// default lifetime (90 days).
func (c *Client) IssueToken(ctx context.Context, userID string, ttl time.Duration) (*Token, error) {
	var t Token
	return &t, c.do(ctx, http.MethodPost, "/api/v1/users/"+url.PathEscape(userID)+"/tokens",
		TokenRequest{TTLSeconds: int64(ttl / time.Second)}, &t)
}

// RevokeTokens revokes every token of a user (admin) and returns how many it revoked.
func (c *Client) RevokeTokens(ctx context.Context, userID string) (int, error) {
	var r TokenRevocation
	err := c.do(ctx, http.MethodDelete, "/api/v1/users/"+url.PathEscape(userID)+"/tokens", nil, &r)
	return r.Revoked, err
}

// Users lists the users (admin, auditor).
func (c *Client) Users(ctx context.Context) ([]User, error) {
	var l UserList
	return l.Users, c.do(ctx, http.MethodGet, "/api/v1/users", nil, &l)
}

// Terms returns the current subscriber terms.
func (c *Client) Terms(ctx context.Context) (*Terms, error) {
	var t Terms
	return &t, c.do(ctx, http.MethodGet, "/api/v1/terms", nil, &t)
}

// PublishTerms publishes a version of the subscriber terms (admin).
func (c *Client) PublishTerms(ctx context.Context, in PublishTerms) (*Terms, error) {
	var t Terms
	return &t, c.do(ctx, http.MethodPost, "/api/v1/terms", in, &t)
}

// Profiles lists the certificate profiles.
func (c *Client) Profiles(ctx context.Context) ([]Profile, error) {
	var l ProfileList
	return l.Profiles, c.do(ctx, http.MethodGet, "/api/v1/profiles", nil, &l)
}

// SubmitApplication submits an application (holder, ra-officer).
func (c *Client) SubmitApplication(ctx context.Context, in ApplicationRequest) (*Application, error) {
	var a Application
	return &a, c.do(ctx, http.MethodPost, "/api/v1/applications", in, &a)
}

// Application returns an application (ra-officer; a holder his own).
func (c *Client) Application(ctx context.Context, id string) (*Application, error) {
	var a Application
	return &a, c.do(ctx, http.MethodGet, "/api/v1/applications/"+url.PathEscape(id), nil, &a)
}

// Approve records an approval (ra-officer); the second one issues the certificate.
func (c *Client) Approve(ctx context.Context, id, note string) (*ApprovalResult, error) {
	var r ApprovalResult
	return &r, c.do(ctx, http.MethodPost, "/api/v1/applications/"+url.PathEscape(id)+"/approvals", ApprovalRequest{Note: note}, &r)
}

// Issue retries the issuance of an approved application (ra-officer).
func (c *Client) Issue(ctx context.Context, id string) (*ApprovalResult, error) {
	var r ApprovalResult
	return &r, c.do(ctx, http.MethodPost, "/api/v1/applications/"+url.PathEscape(id)+"/issue", nil, &r)
}

// Reject closes a pending application with a reason (ra-officer).
func (c *Client) Reject(ctx context.Context, id, reason string) error {
	return c.do(ctx, http.MethodPost, "/api/v1/applications/"+url.PathEscape(id)+"/rejection", Rejection{Reason: reason}, nil)
}

// Certificate returns a certificate with its PEM.
func (c *Client) Certificate(ctx context.Context, serial string) (*Certificate, error) {
	var cert Certificate
	return &cert, c.do(ctx, http.MethodGet, "/api/v1/certificates/"+url.PathEscape(serial), nil, &cert)
}

// CertificateDER returns a certificate's DER.
func (c *Client) CertificateDER(ctx context.Context, serial string) ([]byte, error) {
	return c.raw(ctx, "/api/v1/certificates/"+url.PathEscape(serial)+"/der")
}

// Grounds lists the grounds of revocation the law gives.
func (c *Client) Grounds(ctx context.Context) ([]Ground, error) {
	var l GroundList
	return l.Grounds, c.do(ctx, http.MethodGet, "/api/v1/grounds", nil, &l)
}

// Revoke revokes a certificate (holder his own, ra-officer; admin for ca-compromise).
// It returns the revocations made, the requested certificate's first.
func (c *Client) Revoke(ctx context.Context, serial string, req RevocationRequest) ([]Revocation, error) {
	var l RevocationList
	return l.Revocations, c.do(ctx, http.MethodPost, "/api/v1/certificates/"+url.PathEscape(serial)+"/revocation", req, &l)
}

// RevokeWithSecret revokes a certificate with the holder's revocation secret; it needs no token.
func (c *Client) RevokeWithSecret(ctx context.Context, serial, secret string) ([]Revocation, error) {
	var l RevocationList
	return l.Revocations, c.do(ctx, http.MethodPost, "/api/v1/revocations", SecretRevocation{Serial: serial, Secret: secret}, &l)
}

// Revocation returns the revocation record of a certificate (a *Problem with status 404 if it is not revoked).
func (c *Client) Revocation(ctx context.Context, serial string) (*Revocation, error) {
	var r Revocation
	return &r, c.do(ctx, http.MethodGet, "/api/v1/certificates/"+url.PathEscape(serial)+"/revocation", nil, &r)
}

// Directory searches the public directory by "name", "email" or "serial" (L-21-2).
func (c *Client) Directory(ctx context.Context, by, value string) ([]DirectoryEntry, error) {
	var l DirectoryResult
	return l.Entries, c.do(ctx, http.MethodGet, "/api/v1/directory?"+url.Values{by: {value}}.Encode(), nil, &l)
}

// Notices lists the token holder's notices, newest first (holder).
func (c *Client) Notices(ctx context.Context) ([]Notice, error) {
	var l NoticeList
	return l.Notices, c.do(ctx, http.MethodGet, "/api/v1/notices", nil, &l)
}

// AuditEntries returns the audit log entries with from <= seq < to (auditor, admin);
// to <= 0 asks for the server's default page.
func (c *Client) AuditEntries(ctx context.Context, from, to int64) (*AuditEntries, error) {
	q := url.Values{"from": {strconv.FormatInt(from, 10)}}
	if to > 0 {
		q.Set("to", strconv.FormatInt(to, 10))
	}
	var l AuditEntries
	return &l, c.do(ctx, http.MethodGet, "/api/v1/audit/entries?"+q.Encode(), nil, &l)
}

// VerifyAudit recomputes the audit log on the server (auditor).
func (c *Client) VerifyAudit(ctx context.Context) (*AuditReport, error) {
	var r AuditReport
	return &r, c.do(ctx, http.MethodGet, "/api/v1/audit/verify", nil, &r)
}

// do sends a JSON request (in may be nil) and decodes a JSON answer into out (may be nil).
// PublishCRL publishes a CA's CRLs at once (admin).
func (c *Client) PublishCRL(ctx context.Context, ca string) ([]CRL, error) {
	var out CRLList
	err := c.do(ctx, http.MethodPost, "/api/v1/crls/"+url.PathEscape(ca), struct{}{}, &out)
	return out.CRLs, err
}

func (c *Client) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("tawthiq client: encoding request: %w", err)
		}
		body = bytes.NewReader(b)
	}
	resp, err := c.send(ctx, method, path, body, "application/json", "application/json")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxResponseBytes))
		return nil
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxResponseBytes)).Decode(out); err != nil {
		return fmt.Errorf("tawthiq client: decoding %s %s: %w", method, path, err)
	}
	return nil
}

// raw fetches a non-JSON resource (DER, text).
func (c *Client) raw(ctx context.Context, path string) ([]byte, error) {
	resp, err := c.send(ctx, http.MethodGet, path, nil, "", "*/*")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	if err != nil {
		return nil, fmt.Errorf("tawthiq client: reading %s: %w", path, err)
	}
	return b, nil
}

// send performs the request and turns any non-2xx answer into a *Problem.
func (c *Client) send(ctx context.Context, method, path string, body io.Reader, contentType, accept string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return nil, fmt.Errorf("tawthiq client: %w", err)
	}
	if body != nil {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("Accept", accept+", application/problem+json")
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("tawthiq client: %s %s: %w", method, path, err)
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return resp, nil
	}
	defer resp.Body.Close()
	return nil, readProblem(resp)
}

// readProblem decodes an RFC 9457 answer, or describes an answer that is not one.
func readProblem(resp *http.Response) *Problem {
	p := &Problem{Status: resp.StatusCode, Title: http.StatusText(resp.StatusCode)}
	mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if mt == "application/problem+json" || mt == "application/json" {
		var got Problem
		if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&got); err == nil && got.Status != 0 {
			return &got
		}
	}
	p.Detail = fmt.Sprintf("unexpected answer (%s) from the server", resp.Header.Get("Content-Type"))
	return p
}
