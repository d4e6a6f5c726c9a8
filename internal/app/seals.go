package app

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/tawthiq/tawthiq/internal/errkind"
	"github.com/tawthiq/tawthiq/internal/law"
	"github.com/tawthiq/tawthiq/internal/ocsp"
	"github.com/tawthiq/tawthiq/internal/revocation"
	"github.com/tawthiq/tawthiq/internal/seal"
	"github.com/tawthiq/tawthiq/internal/signature"
)

// newSeals opens each configured seal's key and certificate chain.
func (a *App) newSeals(ctx context.Context, root *x509.Certificate) (*seal.Service, error) {
	var seals []seal.Seal
	for _, c := range a.cfg.Seals {
		signer, err := a.Keys.Open(ctx, resolveKeyURI(a.cfg.Data, c.Key))
		if err != nil {
			return nil, fmt.Errorf("seal %s key: %w", c.Name, err)
		}
		chain, err := readChain(c.Certificate, a.cfg.Data)
		if err != nil {
			return nil, fmt.Errorf("seal %s: %w", c.Name, err)
		}
		seals = append(seals, seal.Seal{Name: c.Name, Signer: signer, Chain: chain, Users: c.Users})
	}
	cfg := seal.Config{Seals: seals, Store: a.DB, Clock: a.opts.Clock,
		Revocation: localRevocation{ocsp: a.OCSP, crls: a.Revoke, base: a.cfg.BaseURL, fallback: newFetcher()}}
	if root != nil {
		cfg.CACerts = []*x509.Certificate{root}
	}
	if a.TSA != nil {
		cfg.Stamper = a.TSA
	}
	return seal.New(cfg)
}

// readChain reads the PEM certificates of a file, leaving out a self-signed root.
func readChain(file, dataDir string) ([]*x509.Certificate, error) {
	if !filepath.IsAbs(file) {
		file = filepath.Join(dataDir, file)
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	var chain []*x509.Certificate
	for {
		var blk *pem.Block
		if blk, b = pem.Decode(b); blk == nil {
			break
		}
		c, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", file, err)
		}
		if string(c.RawIssuer) != string(c.RawSubject) {
			chain = append(chain, c)
		}
	}
	if len(chain) == 0 {
		return nil, fmt.Errorf("%s holds no certificate", file)
	}
	return chain, nil
}

// localRevocation answers, for this CSP's own certificates, from its OCSP
// responder and CRLs in process (no HTTP to itself); others it fetches.
type localRevocation struct {
	ocsp     *ocsp.Service
	crls     *revocation.Service
	base     string
	fallback *fetcher // others' certificates; nil: refused, the server fetching no URL a file names
}

func (l localRevocation) Revocation(ctx context.Context, cert, issuer *x509.Certificate) (crls, ocsps [][]byte, err error) {
	for _, u := range cert.OCSPServer {
		if !strings.HasPrefix(u, l.base+"/") {
			continue
		}
		req, nonce, err := ocspRequest(cert, issuer)
		if err != nil {
			return nil, nil, err
		}
		der := l.ocsp.Respond(ctx, req).DER
		if err := checkOCSP(der, u, cert, issuer, nonce); err == nil {
			return nil, [][]byte{der}, nil
		}
	}
	for _, u := range cert.CRLDistributionPoints {
		if !strings.HasPrefix(u, l.base+"/crl/") {
			continue
		}
		der, _, _, err := l.crls.LatestCRL(ctx, strings.TrimSuffix(path.Base(u), ".crl"))
		if err != nil {
			continue
		}
		if l, err := x509.ParseRevocationList(der); err == nil && l.CheckSignatureFrom(issuer) == nil {
			return [][]byte{der}, nil, nil
		}
	}
	if l.fallback == nil {
		return nil, nil, errkind.New(errkind.Invalid, law.L25, "%s is not a certificate of this CSP: the server gives only its own certificates' status (extend the file with `tawthiq extend`, which asks each CSP)",
			cert.Subject.CommonName)
	}
	return l.fallback.Revocation(ctx, cert, issuer)
}

var _ signature.RevocationSource = localRevocation{}
