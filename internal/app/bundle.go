package app

import (
	"bytes"
	"context"
	"crypto/x509"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/crypto/ocsp"

	"github.com/tawthiq/tawthiq/internal/archive"
	"github.com/tawthiq/tawthiq/internal/clock"
	"github.com/tawthiq/tawthiq/internal/config"
	"github.com/tawthiq/tawthiq/internal/errkind"
	"github.com/tawthiq/tawthiq/internal/evidence"
	"github.com/tawthiq/tawthiq/internal/law"
	"github.com/tawthiq/tawthiq/internal/store"
	"github.com/tawthiq/tawthiq/internal/validation"
)

// BundleDocument is one signed document of a bundle.
type BundleDocument struct {
	Name      string // the document's file name
	Content   []byte // the signed PDF, or the document a CAdES signature signs
	Signature []byte // the CAdES signature; nil for a signed PDF
}

// BundleRequest is what goes into an evidence bundle (tawthiq bundle; a
// contract's documents).
type BundleRequest struct {
	Documents []BundleDocument
	Actor     string // who asked, for the audit entries; "" is "system"
	Ref       string // what the documents belong to, e.g. a contract ID: kept in their archive entries
	Lang      string // the report's language: ar, fr or en; "" is fr
}

// Bundle archives signed documents (and their signatures) and returns an
// ASiC-E evidence bundle of them, sealed by the seal that evidence_seal names:
// the organisation running this server vouches for the bundle, at B-LTA with
// the CSP's TSA. The documents' conclusions do not rest on that seal, which
// only makes any change to the bundle apparent.
func (a *App) Bundle(ctx context.Context, req BundleRequest) ([]byte, evidence.Result, error) {
	if a.cfg.EvidenceSeal == "" {
		return nil, evidence.Result{}, errkind.New(errkind.Unavailable, law.L417_1,
			"no evidence_seal is configured: issue the CSP's organisation a legal-qualified-seal certificate, configure it under seals and name it in evidence_seal")
	}
	if a.TSA == nil {
		return nil, evidence.Result{}, errkind.New(errkind.Unavailable, law.L417_1, "evidence bundles need the CSP's TSA")
	}
	var sc config.Seal
	for _, s := range a.cfg.Seals {
		if s.Name == a.cfg.EvidenceSeal {
			sc = s
		}
	}
	signer, err := a.Keys.Open(ctx, resolveKeyURI(a.cfg.Data, sc.Key))
	if err != nil {
		return nil, evidence.Result{}, fmt.Errorf("evidence seal %s key: %w", sc.Name, err)
	}
	chain, err := readChain(sc.Certificate, a.cfg.Data)
	if err != nil {
		return nil, evidence.Result{}, fmt.Errorf("evidence seal %s: %w", sc.Name, err)
	}
	auths, err := a.DB.Authorities(ctx)
	if err != nil {
		return nil, evidence.Result{}, err
	}
	var roots []*x509.Certificate
	if r := rootOf(auths); r != nil {
		roots = append(roots, r)
	}
	actor := req.Actor
	if actor == "" {
		actor = "system"
	}
	// Each document and signature is archived (once: the same bytes give the same item).
	items := make([][]archive.Item, len(req.Documents))
	var newest archive.Item
	for i, d := range req.Documents {
		kind := "signed-document"
		if d.Signature != nil {
			kind = "document"
		}
		it, err := a.Archive.Put(ctx, actor, kind, d.Content, archive.Meta{Name: d.Name, Ref: req.Ref})
		if err != nil {
			return nil, evidence.Result{}, err
		}
		items[i] = append(items[i], it)
		if d.Signature != nil {
			sig, err := a.Archive.Put(ctx, actor, "signature", d.Signature, archive.Meta{Name: d.Name + ".p7s", MediaType: "application/pkcs7-signature", Ref: req.Ref})
			if err != nil {
				return nil, evidence.Result{}, err
			}
			items[i] = append(items[i], sig)
		}
		for _, it := range items[i] {
			if it.AuditSeq >= newest.AuditSeq {
				newest = it
			}
		}
	}
	if len(req.Documents) == 0 {
		return nil, evidence.Result{}, errkind.New(errkind.Invalid, law.L417_1, "an evidence bundle needs at least one document")
	}
	// The newest item's proof signs a checkpoint when needed; the others are proved in the same one.
	last, err := a.Archive.Proof(ctx, newest.SHA256)
	if err != nil {
		return nil, evidence.Result{}, err
	}
	docs := make([]evidence.Document, len(req.Documents))
	for i, d := range req.Documents {
		docs[i] = evidence.Document{Name: d.Name, Content: d.Content, Signature: d.Signature}
		for _, it := range items[i] {
			p, err := archive.ProofIn(ctx, a.DB, it, last.Checkpoint)
			if err != nil {
				return nil, evidence.Result{}, err
			}
			docs[i].Archived = append(docs[i].Archived, p.Record())
		}
	}
	lang := req.Lang
	if lang == "" {
		lang = "fr"
	}
	opts := evidence.Options{Seal: signer, SealChain: chain, CACerts: roots, Stamper: a.TSA, Roots: roots, Lang: lang, Now: a.opts.Clock.Now(),
		Revocation: bundleRevocation{a: a, local: localRevocation{ocsp: a.OCSP, crls: a.Revoke, base: a.cfg.BaseURL, fallback: newFetcher()}},
		Log:        &evidence.LogEvidence{Checkpoint: last.Checkpoint.Signed, Timestamp: last.Checkpoint.Timestamp, VerifierKey: a.AuditVKey}}
	return evidence.Build(ctx, docs, opts)
}

// MakeBundle opens the CSP of cfg and makes a bundle (tawthiq bundle). It runs
// beside a serving node: both share the store, as two nodes do.
func MakeBundle(ctx context.Context, cfg config.Config, req BundleRequest, opts Options) ([]byte, evidence.Result, error) {
	f := false
	cfg.Demo = &f // never run a ceremony for a bundle
	a, err := Open(ctx, cfg, opts)
	if err != nil {
		return nil, evidence.Result{}, err
	}
	defer a.Close()
	return a.Bundle(ctx, req)
}

// VerifyArchiveOffline rechecks every archived item of a data directory
// (tawthiq archive verify) without opening any private key.
func VerifyArchiveOffline(ctx context.Context, cfg config.Config, vkey string) (archive.Report, error) {
	if err := cfg.Normalize(); err != nil {
		return archive.Report{}, err
	}
	if vkey == "" {
		b, err := os.ReadFile(filepath.Join(cfg.Data, auditVKeyFile))
		if err != nil {
			return archive.Report{}, fmt.Errorf("checkpoint verifier key: %w (give --vkey)", err)
		}
		vkey = string(bytes.TrimSpace(b))
	}
	db, err := store.Open(ctx, cfg.DB, clock.Real{})
	if err != nil {
		return archive.Report{}, err
	}
	defer db.Close()
	auths, err := db.Authorities(ctx)
	if err != nil {
		return archive.Report{}, err
	}
	tsaCerts, err := tsaCertificates(auths)
	if err != nil {
		return archive.Report{}, err
	}
	return archive.Verify(ctx, db, vkey, tsaCerts...)
}

// verifyBundle checks an evidence bundle offline with the relying party's
// roots and lists (tawthiq verify BUNDLE.asice).
func verifyBundle(ctx context.Context, rep VerifyReport, raw []byte, opts validation.Options) VerifyReport {
	res := evidence.Verify(ctx, raw, evidence.VerifyOptions{Roots: opts.Roots, TrustedLists: opts.TrustedLists, Now: opts.Now})
	rep.Kind, rep.Bundle, rep.Indication = "ASiC-E", &res, validation.TotalPassed
	for _, d := range res.Documents {
		rep.Signatures = append(rep.Signatures, d.Signatures...)
		if d.Indication != validation.TotalPassed {
			rep.Indication = d.Indication
		}
	}
	if !res.OK() || len(res.Documents) == 0 {
		rep.Indication = validation.TotalFailed
	}
	return rep
}

// bundleRevocation asks this CSP's own OCSP responder in process for a
// response signed now, so that the bundle's seal carries status issued after
// its time-stamp: proof of the status then that needs no nextUpdate rule. In
// process no answer can be a replay, so one that does not echo the nonce still counts.
type bundleRevocation struct {
	a     *App
	local localRevocation
}

func (b bundleRevocation) Revocation(ctx context.Context, cert, issuer *x509.Certificate) ([][]byte, [][]byte, error) {
	for _, u := range cert.OCSPServer {
		if !strings.HasPrefix(u, b.a.cfg.BaseURL+"/") {
			continue
		}
		req, _, err := ocspRequest(cert, issuer)
		if err != nil {
			return nil, nil, err
		}
		der := b.a.OCSP.Respond(ctx, req).DER
		if r, err := ocsp.ParseResponseForCert(der, cert, issuer); err == nil && r.Status != ocsp.Unknown {
			return nil, [][]byte{der}, nil
		}
	}
	return b.local.Revocation(ctx, cert, issuer)
}
