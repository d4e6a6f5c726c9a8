package app

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"slices"
	"sync/atomic"
	"time"

	"github.com/tawthiq/tawthiq/internal/access"
	"github.com/tawthiq/tawthiq/internal/api"
	"github.com/tawthiq/tawthiq/internal/auditlog"
	"github.com/tawthiq/tawthiq/internal/ca"
	"github.com/tawthiq/tawthiq/internal/cessation"
	"github.com/tawthiq/tawthiq/internal/errkind"
	"github.com/tawthiq/tawthiq/internal/issuance"
	"github.com/tawthiq/tawthiq/internal/keys"
	"github.com/tawthiq/tawthiq/internal/law"
	"github.com/tawthiq/tawthiq/internal/ocsp"
	"github.com/tawthiq/tawthiq/internal/signature"
	"github.com/tawthiq/tawthiq/internal/store"
)

// takeoverKey is where a successor keeps the key of the delegated OCSP responder
// certificates ceding CAs issue to it (L-23), inside its data directory.
const takeoverKey = "file:keys/takeover-responder.key"

// exportSignerValidity is how long the certificate that signs a takeover archive lasts.
const exportSignerValidity = 30 * 24 * time.Hour

// Cessation is the CSP's cessation of activity (L-23) and the status it answers for
// certificates taken over from ceding CSPs.
type Cessation struct {
	*cessation.Service
	a           *App
	csp         issuance.CSP
	lt          *linter
	issuers     []ca.Issuer
	transferred atomic.Pointer[ocsp.Service] // nil until a takeover is imported
}

func (a *App) openCessation(ctx context.Context, csp issuance.CSP, issuers []ca.Issuer, lt *linter) error {
	c := &Cessation{a: a, csp: csp, lt: lt, issuers: issuers,
		Service: cessation.New(a.DB, a.Revoke, a.opts.Clock, cessation.Config{CSPName: csp.Name, AuthorityEmail: a.cfg.AuthorityEmail})}
	a.Cessation = c
	return c.loadTransferred(ctx)
}

// loadTransferred builds the responder of the transferred CAs, if any.
func (c *Cessation) loadTransferred(ctx context.Context) error {
	ts, err := c.a.DB.TransferredIssuers(ctx)
	if err != nil || len(ts) == 0 {
		return err
	}
	var issuers []ocsp.Issuer
	for _, t := range ts {
		caCert, err := x509.ParseCertificate(t.CADER)
		if err != nil {
			return fmt.Errorf("transferred CA %s: %w", t.Name, err)
		}
		resp, err := x509.ParseCertificate(t.ResponderDER)
		if err != nil {
			return fmt.Errorf("transferred CA %s responder: %w", t.Name, err)
		}
		signer, err := c.a.Keys.Open(ctx, t.KeyURI)
		if err != nil {
			return fmt.Errorf("transferred CA %s responder key: %w", t.Name, err)
		}
		issuers = append(issuers, ocsp.Issuer{Name: t.Name, Cert: caCert, Responder: resp, Signer: signer})
	}
	svc, err := ocsp.New(ocsp.Config{Store: store.Transferred{DB: c.a.DB}, Clock: c.a.opts.Clock, Issuers: issuers})
	if err != nil {
		return fmt.Errorf("OCSP responder of the transferred CAs: %w", err)
	}
	c.transferred.Store(svc)
	return nil
}

// Respond answers with the CSP's own responder, then, for an issuer it does not
// know, with the responder of the CAs taken over (L-23).
func (c *Cessation) Respond(ctx context.Context, der []byte) ocsp.Answer {
	ans := c.a.OCSP.Respond(ctx, der)
	if t := c.transferred.Load(); t != nil && ans.Unauthorized() {
		return t.Respond(ctx, der)
	}
	return ans
}

// TakeoverCSR returns a CSR for the successor's responder key, made on first use:
// the ceding CSP's CAs certify it as their delegated OCSP responder.
func (c *Cessation) TakeoverCSR(ctx context.Context) ([]byte, error) {
	uri := resolveKeyURI(c.a.cfg.Data, takeoverKey)
	signer, err := c.a.Keys.Open(ctx, uri)
	if err != nil {
		if signer, err = c.a.Keys.Generate(ctx, uri, keys.ECDSAP256); err != nil {
			return nil, err
		}
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
		Subject: pkix.Name{CommonName: c.csp.Name + " OCSP Responder (takeover)", Organization: []string{c.csp.Name}}}, signer)
	if err != nil {
		return nil, errkind.Wrap(errkind.Internal, err, "make the takeover CSR")
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}), nil
}

// ExportTakeover writes the signed takeover archive for the successor of the plan
// (L-23): every issuing CA certifies the successor's key of csrPEM as its delegated
// OCSP responder, and a fresh export key, certified by the first issuing CA, signs
// the manifest.
func (c *Cessation) ExportTakeover(ctx context.Context, by string, csrPEM []byte) ([]byte, error) {
	p, err := c.Status(ctx)
	if err != nil {
		return nil, err
	}
	if p.Plan.Mode != law.CessationTakeover {
		return nil, errkind.New(errkind.Conflict, law.L23, "the cessation plan is %s: there is no successor to hand the records to", p.Plan.Mode)
	}
	blk, _ := pem.Decode(csrPEM)
	if blk == nil || blk.Type != "CERTIFICATE REQUEST" {
		return nil, errkind.New(errkind.Invalid, law.L23, "the successor's CSR must be a PEM CERTIFICATE REQUEST")
	}
	csr, err := x509.ParseCertificateRequest(blk.Bytes)
	if err != nil || csr.CheckSignature() != nil {
		return nil, errkind.New(errkind.Invalid, law.L21_3_2, "the successor's CSR is unreadable or not signed by its key")
	}
	if len(c.issuers) == 0 {
		return nil, errkind.New(errkind.Unavailable, law.L23, "no issuing CA is online to certify the successor's responder")
	}
	// Records first, then the checkpoint: the log it signs records every one of them.
	certs, err := c.a.DB.TakeoverCertificates(ctx)
	if err != nil {
		return nil, err
	}
	revs, err := c.a.DB.TakeoverRevocations(ctx)
	if err != nil {
		return nil, err
	}
	ex := &cessation.Export{
		Origin:    cessation.Origin{Name: c.csp.Name, Identifier: c.csp.OrganizationIdentifier, AuditVKey: c.a.AuditVKey},
		Successor: p.Plan.Successor, CreatedAt: law.Timestamp(c.a.opts.Clock.Now()), Certificates: certs, Revocations: revs,
	}
	auths, err := c.a.DB.Authorities(ctx)
	if err != nil {
		return nil, err
	}
	for _, au := range auths {
		ex.Authorities = append(ex.Authorities, cessation.Authority{Name: au.Name, Role: au.Role, Parent: au.Parent, DER: au.DER})
	}
	for _, is := range c.issuers {
		der, err := c.certify(is, issuance.RoleOCSP, "ocsp-takeover", csr.PublicKey,
			cn64("OCSP Responder "+is.Name+" (takeover: "+p.Plan.Successor.Name+")"), is.Cert.NotAfter.Sub(c.a.opts.Clock.Now()))
		if err != nil {
			return nil, err
		}
		ex.Responders = append(ex.Responders, cessation.Responder{CA: is.Name, DER: der})
	}
	cp, err := c.a.Audit.Checkpoint(ctx)
	if err != nil && !auditlog.Unstamped(err) {
		return nil, err
	}
	ex.Checkpoint = cessation.Checkpoint{Size: cp.Size, Signed: cp.Signed, Timestamp: cp.Timestamp}
	entries, err := c.a.DB.AuditEntries(ctx, 0, cp.Size)
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		ex.Audit = append(ex.Audit, cessation.ExportEntry(e))
	}
	archive, err := cessation.Pack(ex, func(manifest []byte) ([]byte, error) { return c.signExport(ctx, manifest) })
	if err != nil {
		return nil, err
	}
	now := law.Timestamp(c.a.opts.Clock.Now())
	if err := c.a.DB.Append(ctx, auditlog.NewEntry(now, by, cessation.ActionExport, p.Plan.Successor.Identifier, map[string]any{
		"successor": p.Plan.Successor, "sha256": sum(archive), "certificates": len(certs), "revocations": len(revs), "audit_size": cp.Size})); err != nil {
		return nil, err
	}
	return archive, c.MarkExported(ctx, by, now)
}

// signExport signs the manifest with a fresh key that the first issuing CA
// certifies for digital signatures only, for exportSignerValidity.
func (c *Cessation) signExport(ctx context.Context, manifest []byte) ([]byte, error) {
	key, err := keys.GenerateThrowaway(keys.ECDSAP256)
	if err != nil {
		return nil, err
	}
	is := c.issuers[0]
	der, err := c.certify(is, "export", "takeover-export", key.Public(), cn64(c.csp.Name+" takeover export"), exportSignerValidity)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	now := c.a.opts.Clock.Now
	return signature.SignCAdES(ctx, manifest, key, []*x509.Certificate{cert, is.Cert}, signature.Options{Detached: true, Now: now})
}

// certify has issuing CA is sign a certificate for pub: a delegated OCSP responder
// (role ocsp), or the export signer (digital signatures only), linted before it is
// signed and checked after (STYLE #7, #8), its issuance audit-logged.
func (c *Cessation) certify(is ca.Issuer, role, name string, pub crypto.PublicKey, cn string, validity time.Duration) ([]byte, error) {
	serial, err := ca.RandomSerial()
	if err != nil {
		return nil, err
	}
	now := c.a.opts.Clock.Now().Truncate(time.Second)
	tmplRole := role
	if role == "export" {
		tmplRole = issuance.RoleOCSP
	}
	tmpl, err := issuance.CATemplate(c.csp, issuance.CASpec{Name: name, CommonName: cn, Role: tmplRole, Parent: is.Name,
		Validity: validity, Serial: serial, NotBefore: now, PublicKey: pub})
	if err != nil {
		return nil, err
	}
	if role == "export" {
		// Not a responder: it signs the archive's manifest and nothing else.
		tmpl.KeyUsage, tmpl.ExtKeyUsage, tmpl.ExtraExtensions = x509.KeyUsageDigitalSignature, nil, nil
	}
	if tmpl.NotAfter.After(is.Cert.NotAfter) {
		tmpl.NotAfter = is.Cert.NotAfter // never outlives its CA
	}
	tbs, lintable, err := issuance.Prepare(tmpl, is.Cert, pub, is.Signer.Public())
	if err != nil {
		return nil, err
	}
	if role != "export" {
		if err := c.lt.checkCA(lintable); err != nil {
			return nil, err
		}
	}
	der, err := issuance.Sign(is.Signer, tbs)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil || cert.CheckSignatureFrom(is.Cert) != nil {
		return nil, errkind.New(errkind.Internal, law.L21_1, "the %s certificate does not verify", name)
	}
	at := law.Timestamp(c.a.opts.Clock.Now())
	if err := c.a.DB.Append(context.Background(), auditlog.NewEntry(at, "cessation", auditlog.ActionCARegister, name, map[string]string{
		"role": role, "parent": is.Name, "subject": cert.Subject.String(), "cert_sha256": sum(der)})); err != nil {
		return nil, err
	}
	return der, nil
}

// ImportTakeover verifies a takeover archive against the ceding CSP's roots (PEM),
// records its certificates and revocations as transferred records, audit-logged,
// and from then on answers OCSP for them with the delegated responder certificates
// the ceding CAs issued for this CSP's takeover key (L-23).
func (c *Cessation) ImportTakeover(ctx context.Context, by string, archive, rootsPEM []byte) (*cessation.Export, *cessation.Verified, error) {
	var roots []*x509.Certificate
	for rest := rootsPEM; ; {
		var blk *pem.Block
		if blk, rest = pem.Decode(rest); blk == nil {
			break
		}
		if r, err := x509.ParseCertificate(blk.Bytes); err == nil {
			roots = append(roots, r)
		}
	}
	now := c.a.opts.Clock.Now()
	ex, v, err := cessation.Open(ctx, archive, roots, now)
	if err != nil {
		return nil, nil, err
	}
	if ex.Successor.Identifier != c.csp.OrganizationIdentifier {
		return nil, nil, errkind.New(errkind.Forbidden, law.L23, "the archive is for successor %s (%s), not for this CSP (%s)",
			ex.Successor.Name, ex.Successor.Identifier, c.csp.OrganizationIdentifier)
	}
	uri := resolveKeyURI(c.a.cfg.Data, takeoverKey)
	signer, err := c.a.Keys.Open(ctx, uri)
	if err != nil {
		return nil, nil, errkind.Wrap(errkind.Invalid, err, "no takeover key: run `tawthiq cessation csr` before the export")
	}
	pub, _ := signer.Public().(interface{ Equal(crypto.PublicKey) bool })
	cas := map[string][]byte{}
	for _, au := range ex.Authorities {
		cas[au.Name] = au.DER
	}
	imp := cessation.Import{ID: access.NewID("imp_"), At: law.Timestamp(now), SHA256: v.SHA256, Archive: archive, Export: ex}
	for _, r := range ex.Responders {
		cert, err := x509.ParseCertificate(r.DER)
		if err != nil || pub == nil || !pub.Equal(cert.PublicKey) {
			return nil, nil, errkind.New(errkind.Invalid, law.L23, "the responder certificate for CA %s is not for this CSP's takeover key", r.CA)
		}
		if !slices.Contains(cert.ExtKeyUsage, x509.ExtKeyUsageOCSPSigning) {
			return nil, nil, errkind.New(errkind.Invalid, law.L23, "the responder certificate for CA %s lacks id-kp-OCSPSigning", r.CA)
		}
		imp.Issuers = append(imp.Issuers, cessation.TransferredIssuer{Name: cessation.TransferredName(ex.Origin.Identifier, r.CA),
			OriginID: ex.Origin.Identifier, CA: r.CA, CADER: cas[r.CA], ResponderDER: r.DER, KeyURI: uri})
	}
	e := auditlog.NewEntry(imp.At, by, cessation.ActionImport, ex.Origin.Identifier, map[string]any{
		"origin": ex.Origin, "sha256": v.SHA256, "certificates": len(ex.Certificates), "revocations": len(ex.Revocations),
		"audit_size": ex.Checkpoint.Size, "signer": v.Signer.Subject.String()})
	if err := c.a.DB.ImportTakeover(ctx, imp, []auditlog.Entry{e}); err != nil {
		return nil, nil, err
	}
	return ex, v, c.loadTransferred(ctx)
}

// cn64 keeps a common name within the 64 characters X.520 allows (L-11).
func cn64(s string) string {
	if r := []rune(s); len(r) > 64 {
		return string(r[:64])
	}
	return s
}

// RevokeBatch is one round of the mass revocation (L-23). The CRL publisher waits
// while the round revokes, so that no CRL shows half a round; the round that leaves
// nothing unrevoked publishes every issuing CA's final CRL before it answers.
func (c *Cessation) RevokeBatch(ctx context.Context, by string, limit int) (cessation.Progress, error) {
	release := c.a.Revoke.HoldPublication()
	pr, err := c.Service.RevokeBatch(ctx, by, limit)
	release()
	if err != nil || !pr.Done {
		return pr, err
	}
	for _, is := range c.issuers {
		crls, err := c.a.Revoke.PublishCRL(ctx, is.Name)
		if err != nil {
			return pr, err
		}
		for _, crl := range crls {
			pr.FinalCRLs = append(pr.FinalCRLs, fmt.Sprintf("%s #%d (%d entries)", crl.Name, crl.Number, crl.Entries))
		}
	}
	return pr, nil
}

// RevokeAll revokes every certificate round by round, then publishes the final CRLs.
func (c *Cessation) RevokeAll(ctx context.Context, by string) (int, error) {
	revoked, last := 0, -1
	for {
		pr, err := c.RevokeBatch(ctx, by, 0)
		revoked += pr.Revoked
		if err != nil || pr.Done {
			return revoked, err
		}
		if pr.Remaining == last {
			return revoked, errkind.New(errkind.Internal, law.L23, "%d certificates could not be revoked", pr.Remaining)
		}
		last = pr.Remaining
	}
}

// offline opens the CSP of a data directory for a one-shot command, runs f, and
// closes it: the takeover steps need the CA and responder keys, not a server.
func offline(ctx context.Context, cfg Config, out io.Writer, f func(c *Cessation) error) error {
	a, err := Open(ctx, cfg, Options{Out: out})
	if err != nil {
		return err
	}
	defer a.Close()
	return f(a.Cessation)
}

// RunTakeoverCSR returns the successor's responder-key CSR from its data directory (L-23).
func RunTakeoverCSR(ctx context.Context, cfg Config, out io.Writer) (csr []byte, err error) {
	err = offline(ctx, cfg, out, func(c *Cessation) error {
		csr, err = c.TakeoverCSR(ctx)
		return err
	})
	return csr, err
}

// RunTakeoverExport writes the ceding CSP's signed takeover archive from its data directory (L-23).
func RunTakeoverExport(ctx context.Context, cfg Config, by string, csrPEM []byte, out io.Writer) (archive []byte, err error) {
	err = offline(ctx, cfg, out, func(c *Cessation) error {
		archive, err = c.ExportTakeover(ctx, by, csrPEM)
		return err
	})
	return archive, err
}

// RunTakeoverImport verifies and records a takeover archive into the successor's data directory (L-23).
func RunTakeoverImport(ctx context.Context, cfg Config, by string, archive, rootsPEM []byte, out io.Writer) (ex *cessation.Export, v *cessation.Verified, err error) {
	err = offline(ctx, cfg, out, func(c *Cessation) error {
		ex, v, err = c.ImportTakeover(ctx, by, archive, rootsPEM)
		return err
	})
	return ex, v, err
}

var _ api.CessationDesk = (*Cessation)(nil)
