package app

import (
	"context"
	"crypto/x509"
	"fmt"
	"os"

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
