package app

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/tawthiq/tawthiq/internal/clock"
	"github.com/tawthiq/tawthiq/internal/errkind"
	"github.com/tawthiq/tawthiq/internal/evidence"
	"github.com/tawthiq/tawthiq/internal/signature"
	"github.com/tawthiq/tawthiq/internal/store"
	"github.com/tawthiq/tawthiq/internal/trustlist"
	"github.com/tawthiq/tawthiq/internal/validation"
	"github.com/tawthiq/tawthiq/internal/validation/render"
)

// Verify is a validation of a signed file (tawthiq verify): a PDF (PAdES) or a
// CMS signature (CAdES), with what the file carries, the given roots and, on
// request, the CSP's records or the status its certificates' URLs give.
type Verify struct {
	Signature string   // the signed PDF, or the CMS file (DER or PEM)
	Content   string   // the signed document when a CMS signature is detached
	Roots     []string // PEM files of trust anchors
	// Config, when its data directory or database holds a CSP, adds that CSP's root
	// as an anchor and answers status for the certificates it issued.
	Config *Config
	// Fetch asks each certificate's OCSP responder or CRL for its status now.
	Fetch bool
	Now   time.Time // the validation time; zero is now
	// TrustedList is a national trusted list (a file or an http(s) URL) that decides
	// which CSPs were approved (L-20), checked against AuthorityCert (PEM). With
	// Config, the list the local authority last published is used as well.
	TrustedList   string
	AuthorityCert string
}

// VerifyReport is the outcome: one EN 319 102-1 report per signature and, for a
// PDF, what the document as a whole shows.
type VerifyReport struct {
	File       string                `json:"file"`
	SHA256     string                `json:"sha256"`
	Kind       string                `json:"kind"` // CAdES or PAdES
	Indication validation.Indication `json:"indication"`
	// Signatures: in a PDF, each at its PAdES level (a DSS and document time-stamps
	// raise it), not the level of its CMS alone, which pdf.signatures[].report keeps.
	Signatures []validation.Report   `json:"signatures"`
	PDF        *validation.PDFReport `json:"pdf,omitempty"`
	Bundle     *evidence.Result      `json:"bundle,omitempty"` // an ASiC-E evidence bundle: each entry checked
	// Warnings say what the validation could not use, e.g. a foreign trusted list (L-22).
	Warnings []string `json:"warnings,omitempty"`
}

// Passed says whether every signature passed and, for a PDF, nothing changed after.
func (r VerifyReport) Passed() bool {
	return r.Indication == validation.TotalPassed && (r.PDF == nil || !r.PDF.ChangedAfterSigning) && (r.Bundle == nil || r.Bundle.OK())
}

// Document is the report as the renderer reads it.
func (r VerifyReport) document() render.Document {
	if r.Bundle != nil {
		return r.Bundle.Readable()
	}
	d := render.Document{Name: r.File, SHA256: r.SHA256, Kind: r.Kind, Signatures: r.Signatures}
	if r.PDF != nil {
		for _, c := range r.PDF.Conclusions {
			if !c.Holds {
				d.Notes = append(d.Notes, string(c.Rule)+": "+c.Why)
			}
		}
		for _, ts := range r.PDF.DocTimeStamps {
			d.TimeStamps = append(d.TimeStamps, render.DocTimeStamp{Field: ts.Field, GenTime: ts.TimeStamp.GenTime, TSA: ts.TimeStamp.TSA})
		}
	}
	return d
}

// WriteReport writes the report as an HTML page or a PDF, in ar, fr or en.
func (r VerifyReport) WriteReport(w io.Writer, format, lang string) error {
	switch format {
	case "html":
		return render.HTML(w, r.document(), lang)
	case "pdf":
		return render.PDF(w, r.document(), lang)
	}
	return fmt.Errorf("report format %q: html or pdf", format)
}

// isPDF reports whether b starts like a PDF file (ISO 32000 §7.5.2 allows leading bytes).
func isPDF(b []byte) bool {
	head := b[:min(len(b), 1024)]
	return bytes.Contains(head, []byte("%PDF-"))
}

// RunVerify validates a signed file with what it carries, the given roots and,
// if Config names a CSP's store, that CSP's records.
func RunVerify(ctx context.Context, v Verify) (VerifyReport, error) {
	raw, err := os.ReadFile(v.Signature)
	if err != nil {
		return VerifyReport{}, err
	}
	opts := validation.Options{Now: v.Now}
	for _, p := range v.Roots {
		c, err := readCert(p)
		if err != nil {
			return VerifyReport{}, fmt.Errorf("root %s: %w", p, err)
		}
		opts.Roots = append(opts.Roots, c)
	}
	var sources statusSources
	var warnings []string
	warn := func(w string) { warnings = append(warnings, w) }
	lists, err := v.trustedList(ctx, warn)
	if err != nil {
		return VerifyReport{}, err
	}
	if v.Config != nil {
		cfg := *v.Config
		if err := cfg.Normalize(); err != nil {
			return VerifyReport{}, err
		}
		db, err := store.Open(ctx, cfg.DB, clock.Real{})
		if err != nil {
			return VerifyReport{}, err
		}
		defer db.Close()
		st, roots, err := storeStatus(ctx, db)
		if err != nil {
			return VerifyReport{}, err
		}
		opts.Roots = append(opts.Roots, roots...)
		sources = append(sources, st)
		local, err := localTrustList(ctx, db, cfg.Data, warn)
		if err != nil {
			return VerifyReport{}, err
		}
		lists = append(lists, local...)
	}
	withLists(&opts, lists)
	if v.Fetch {
		sources = append(sources, fetchedStatus{ctx: ctx, f: newFetcher()})
	}
	if len(sources) > 0 {
		opts.Status = sources
	}
	var content []byte
	if v.Content != "" {
		if content, err = os.ReadFile(v.Content); err != nil {
			return VerifyReport{}, err
		}
	}
	return verifyRaw(ctx, filepath.Base(v.Signature), raw, content, opts, warnings), nil
}

// withLists has opts judge approval (L-20) by lists, and anchor paths at the CAs they list.
func withLists(opts *validation.Options, lists trustlist.Lists) {
	if len(lists) > 0 {
		opts.TrustedLists = lists
		opts.Roots = append(opts.Roots, validation.ListedCertificates(lists)...)
	}
}

// verifyRaw validates raw: an evidence bundle, a signed PDF (content nil), or a CMS
// signature in DER or PEM, whose document is content when it is detached.
func verifyRaw(ctx context.Context, name string, raw, content []byte, opts validation.Options, warnings []string) VerifyReport {
	sum := sha256.Sum256(raw)
	rep := VerifyReport{File: name, SHA256: hex.EncodeToString(sum[:]), Warnings: warnings}
	if evidence.IsBundle(raw) {
		return verifyBundle(ctx, rep, raw, opts)
	}
	if isPDF(raw) && content == nil {
		p := validation.ValidatePAdES(ctx, raw, opts)
		rep.Kind, rep.Indication, rep.PDF = "PAdES", p.Indication, &p
		for _, s := range p.Signatures {
			r := s.Report
			if s.Level != "" {
				r.Level = s.Level
			}
			rep.Signatures = append(rep.Signatures, r)
		}
		return rep
	}
	sig := raw
	if blk, _ := pem.Decode(raw); blk != nil {
		sig = blk.Bytes
	}
	r := validation.Validate(ctx, sig, content, opts)
	rep.Kind, rep.Indication, rep.Signatures = "CAdES", r.Indication, []validation.Report{r}
	return rep
}

// statusSources asks each source in turn; the first that knows answers.
type statusSources []validation.StatusSource

func (s statusSources) RevocationStatus(cert, issuer *x509.Certificate, at time.Time) (bool, time.Time, bool) {
	for _, src := range s {
		if revoked, revokedAt, known := src.RevocationStatus(cert, issuer, at); known {
			return revoked, revokedAt, true
		}
	}
	return false, time.Time{}, false
}

// fetchedStatus asks the certificate's own OCSP responder or CRL now.
type fetchedStatus struct {
	ctx context.Context
	f   *fetcher
}

func (s fetchedStatus) RevocationStatus(cert, issuer *x509.Certificate, at time.Time) (bool, time.Time, bool) {
	crls, ocsps, err := s.f.Revocation(s.ctx, cert, issuer)
	if err != nil {
		return false, time.Time{}, false
	}
	for _, a := range signature.StatusAnswers(cert, issuer, crls, ocsps) {
		if a.Revoked {
			return true, a.RevokedAt, true
		}
		if a.CurrentAt(at) {
			return false, time.Time{}, true
		}
	}
	return false, time.Time{}, false
}

// dbStatus answers revocation status from a CSP's own records: its authorities and
// the certificates it issued; anything else is unknown.
type dbStatus struct {
	ctx         context.Context
	db          *store.DB
	authorities map[string]bool // DER of the CSP's CA certificates
}

func storeStatus(ctx context.Context, db *store.DB) (*dbStatus, []*x509.Certificate, error) {
	auths, err := db.Authorities(ctx)
	if err != nil {
		return nil, nil, err
	}
	s := &dbStatus{ctx: ctx, db: db, authorities: map[string]bool{}}
	var roots []*x509.Certificate
	for _, a := range auths {
		s.authorities[string(a.DER)] = true
		if a.Role == "root" {
			c, err := x509.ParseCertificate(a.DER)
			if err != nil {
				return nil, nil, err
			}
			roots = append(roots, c)
		}
	}
	return s, roots, nil
}

func (s *dbStatus) RevocationStatus(cert, _ *x509.Certificate, at time.Time) (bool, time.Time, bool) {
	if s.authorities[string(cert.Raw)] {
		return false, time.Time{}, true // the CSP's own CAs: no CA revocation is recorded yet
	}
	serial := hex.EncodeToString(cert.SerialNumber.Bytes())
	c, err := s.db.Certificate(s.ctx, serial)
	if err != nil || !bytes.Equal(c.DER, cert.Raw) {
		return false, time.Time{}, false
	}
	r, err := s.db.Revocation(s.ctx, serial)
	if errkind.Is(err, errkind.NotFound) {
		return false, time.Time{}, true
	}
	if err != nil {
		return false, time.Time{}, false
	}
	return true, r.RevokedAt, true
}

func readDERorPEM(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if blk, _ := pem.Decode(b); blk != nil {
		return blk.Bytes, nil
	}
	return b, nil
}
