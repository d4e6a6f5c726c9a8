package app

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"os"

	"github.com/tawthiq/tawthiq/internal/api"
	"github.com/tawthiq/tawthiq/internal/auditlog"
	"github.com/tawthiq/tawthiq/internal/ca"
	"github.com/tawthiq/tawthiq/internal/clock"
	"github.com/tawthiq/tawthiq/internal/errkind"
	"github.com/tawthiq/tawthiq/internal/law"
	"github.com/tawthiq/tawthiq/internal/signature"
)

var _ signature.IssuerSource = (*fetcher)(nil)

// Extend raises the level of a signed file (tawthiq extend): a PDF (PAdES) or
// a CMS signature (CAdES). It only appends; on a B-LTA file, B-LTA renews the
// archive or document time-stamp before its TSA certificate or algorithms age.
type Extend struct {
	File    string   // the signed PDF or CMS signature
	Content string   // CAdES detached: the signed document
	Out     string   // where the extended file goes; never overwritten
	Level   string   // B-T, B-LT or B-LTA; default B-LTA
	Format  string   // cades or pades; default pades for a .pdf, else cades
	TSA     string   // the time-stamping authority's URL; needed for B-T and B-LTA
	CACerts []string // further CA certificates; missing issuers are fetched through AIA
}

// ExtendResult says what was made.
type ExtendResult struct {
	Out    string
	Format string
	Level  string
}

// RunExtend extends e.File and writes e.Out.
func RunExtend(ctx context.Context, e Extend) (ExtendResult, error) {
	if e.Level == "" {
		e.Level = "B-LTA"
	}
	level, err := parseLevel(e.Level)
	if err != nil {
		return ExtendResult{}, err
	}
	format, err := formatOf(e.File, e.Format)
	if err != nil {
		return ExtendResult{}, err
	}
	if _, err := os.Stat(e.Out); err == nil {
		return ExtendResult{}, fmt.Errorf("%s exists; not overwritten", e.Out)
	}
	in, err := os.ReadFile(e.File)
	if err != nil {
		return ExtendResult{}, err
	}
	f := newFetcher()
	opts := signature.ExtendOptions{Revocation: f, Issuers: f}
	if e.TSA != "" {
		opts.Stamper = remoteStamper{f: f, url: e.TSA}
	}
	for _, p := range e.CACerts {
		c, err := readCert(p)
		if err != nil {
			return ExtendResult{}, fmt.Errorf("CA certificate %s: %w", p, err)
		}
		opts.CACerts = append(opts.CACerts, c)
	}
	var out []byte
	switch format {
	case "pades":
		out, err = signature.ExtendPAdES(ctx, in, level, opts)
	case "cades":
		var content []byte
		if e.Content != "" {
			if content, err = os.ReadFile(e.Content); err != nil {
				return ExtendResult{}, err
			}
		}
		out, err = signature.ExtendCAdES(ctx, in, content, level, opts)
	}
	if err != nil {
		return ExtendResult{}, err
	}
	if err := writeNew(e.Out, out); err != nil {
		return ExtendResult{}, err
	}
	return ExtendResult{Out: e.Out, Format: format, Level: level.String()}, nil
}

// Issuer implements signature.IssuerSource through the certificate's AIA caIssuers URLs.
func (f *fetcher) Issuer(ctx context.Context, cert *x509.Certificate) (*x509.Certificate, error) {
	return f.issuerOf(ctx, cert)
}

// ActionExtend is the audit action of every signed file extended through the API.
const ActionExtend auditlog.Action = "signature.extend"

// extender extends signed files sent to the API (POST /api/v1/extend): time-stamps
// from the CSP's own TSA, status of its own certificates from its OCSP responder
// and CRLs in process; a file with others' certificates is refused, not fetched for.
type extender struct {
	opts  signature.ExtendOptions
	audit interface {
		Append(ctx context.Context, e ...auditlog.Entry) error
	}
	clock clock.Clock
}

var _ api.Extender = (*extender)(nil)

// newExtender needs the TSA: without one the API route answers 503.
func (a *App) newExtender(auths []ca.Authority) (*extender, error) {
	// No fetcher: the server would otherwise follow URLs that uploaded files name.
	opts := signature.ExtendOptions{Stamper: a.TSA,
		Revocation: localRevocation{ocsp: a.OCSP, crls: a.Revoke, base: a.cfg.BaseURL}}
	for _, au := range auths {
		c, err := x509.ParseCertificate(au.DER)
		if err != nil {
			return nil, fmt.Errorf("CA %s: %w", au.Name, err)
		}
		if c.IsCA {
			// The hierarchy's CAs complete its holders' and its TSA's paths with no fetch.
			opts.CACerts = append(opts.CACerts, c)
		}
	}
	return &extender{opts: opts, audit: a.DB, clock: a.opts.Clock}, nil
}

type extendRecord struct {
	Format         string `json:"format"`
	Level          string `json:"level"`
	DocumentSHA256 string `json:"documentSHA256"`
	ExtendedSHA256 string `json:"extendedSHA256"`
}

// Extend raises req.File to req.Level by appending only (L-9), and records
// who had which file extended before the result leaves.
func (x *extender) Extend(ctx context.Context, userID string, req api.ExtendRequest) (api.ExtendResult, error) {
	if len(req.File) == 0 {
		return api.ExtendResult{}, errkind.New(errkind.Invalid, law.L417_2, "an empty body: send the signed PDF or CMS signature")
	}
	var res api.ExtendResult
	var err error
	switch req.Format {
	case "pades":
		res.ContentType = "application/pdf"
		res.Bytes, err = signature.ExtendPAdES(ctx, req.File, req.Level, x.opts)
	case "cades":
		// The body is the only file sent: a detached signature's document is not in it.
		if sd, perr := signature.Parse(req.File); perr == nil && sd.Detached {
			return api.ExtendResult{}, errkind.New(errkind.Invalid, law.L417_2,
				"a detached CMS signature: the signed document is not in it; extend it with `tawthiq extend FILE --content DOCUMENT`")
		}
		res.ContentType = "application/pkcs7-signature"
		res.Bytes, err = signature.ExtendCAdES(ctx, req.File, nil, req.Level, x.opts)
	default:
		return api.ExtendResult{}, errkind.New(errkind.Invalid, law.L417_2, "unknown format %q: pades or cades", req.Format)
	}
	if err != nil {
		return api.ExtendResult{}, err
	}
	in, out := sha256.Sum256(req.File), sha256.Sum256(res.Bytes)
	e := auditlog.NewEntry(x.clock.Now(), userID, ActionExtend, hex.EncodeToString(in[:]), extendRecord{
		Format: req.Format, Level: req.Level.String(),
		DocumentSHA256: hex.EncodeToString(in[:]), ExtendedSHA256: hex.EncodeToString(out[:]),
	})
	if err := x.audit.Append(ctx, e); err != nil {
		return api.ExtendResult{}, errkind.Wrap(errkind.Unavailable, err, "recording the extension")
	}
	return res, nil
}
