package app

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
	"math/big"
	"strings"
	"sync"
	"time"

	"github.com/tawthiq/tawthiq/internal/auditlog"
	"github.com/tawthiq/tawthiq/internal/ca"
	"github.com/tawthiq/tawthiq/internal/errkind"
	"github.com/tawthiq/tawthiq/internal/issuance"
	"github.com/tawthiq/tawthiq/internal/keys"
	"github.com/tawthiq/tawthiq/internal/law"
	"github.com/tawthiq/tawthiq/internal/lint"
	"github.com/tawthiq/tawthiq/internal/orders"
	"github.com/tawthiq/tawthiq/internal/signature"
)

// Names of the CSP's disclosure seal: a delegated signer of the seal CA, recorded
// in the authorities' register like the TSA and OCSP responders.
const (
	disclosureAuthority = "disclosure"
	disclosureParent    = "seal"
	disclosureKeyURI    = "file:keys/disclosure.key"
	disclosureYears     = 3
)

// newOrders wires the judicial orders and disclosures service (L-21-3-7 b, L-24).
func (a *App) newOrders(csp issuance.CSP) *orders.Service {
	var sealer orders.Sealer
	if a.TSA != nil { // the export must carry a proven date: no TSA, no disclosure
		sealer = &disclosureSeal{a: a}
	}
	return orders.New(orders.Config{Store: a.DB, Clock: a.opts.Clock, Revoke: a.Revoke, Notify: a.Notify, Seal: sealer, CSP: csp.Name})
}

// disclosureSeal signs disclosure exports as the CSP: CAdES B-T, enveloping, with a
// key used for nothing else. None of the CSP's keys fits (CA keys sign certificates
// and CRLs only, the TSA's and OCSP's are bound to their protocols, the audit key to
// checkpoints, organisations' seals are theirs), so the first disclosure generates
// one and has the seal CA certify it, recorded in the authorities' register with its
// audit entry, as the ceremony records the TSA and OCSP responders.
type disclosureSeal struct {
	a      *App
	mu     sync.Mutex
	signer crypto.Signer
	chain  []*x509.Certificate
}

// Seal signs content (L-24, L-417-1: a signed, time-stamped export).
func (d *disclosureSeal) Seal(ctx context.Context, content []byte) ([]byte, error) {
	signer, chain, err := d.load(ctx)
	if err != nil {
		return nil, err
	}
	return signature.SignCAdES(ctx, content, signer, chain, signature.Options{Level: signature.BT, Stamper: d.a.TSA,
		Now: d.a.opts.Clock.Now})
}

func (d *disclosureSeal) load(ctx context.Context) (crypto.Signer, []*x509.Certificate, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.signer != nil {
		return d.signer, d.chain, nil
	}
	auths, err := d.a.DB.Authorities(ctx)
	if err != nil {
		return nil, nil, err
	}
	byName := map[string]ca.Authority{}
	for _, au := range auths {
		byName[au.Name] = au
	}
	parentAu, ok := byName[disclosureParent]
	if !ok {
		return nil, nil, errkind.New(errkind.Unavailable, law.L24, "no seal CA to certify the disclosure seal")
	}
	parent, err := x509.ParseCertificate(parentAu.DER)
	if err != nil {
		return nil, nil, err
	}
	au, ok := byName[disclosureAuthority]
	if !ok {
		if au, err = d.create(ctx, parentAu, parent); err != nil {
			return nil, nil, fmt.Errorf("disclosure seal: %w", err)
		}
	}
	cert, err := x509.ParseCertificate(au.DER)
	if err != nil {
		return nil, nil, err
	}
	signer, err := d.a.Keys.Open(ctx, resolveKeyURI(d.a.cfg.Data, au.KeyURI))
	if err != nil {
		return nil, nil, fmt.Errorf("disclosure seal key: %w", err)
	}
	d.signer, d.chain = signer, []*x509.Certificate{cert, parent}
	return d.signer, d.chain, nil
}

// documentSigning is id-kp-documentSigning (RFC 9336): the key signs documents, nothing else.
var documentSigning = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 3, 36}

func oidInts(o asn1.ObjectIdentifier) []uint64 {
	out := make([]uint64, len(o))
	for i, v := range o {
		out[i] = uint64(v)
	}
	return out
}

// create generates the disclosure key and certifies it by the seal CA, linted first.
func (d *disclosureSeal) create(ctx context.Context, parentAu ca.Authority, parent *x509.Certificate) (ca.Authority, error) {
	csp, err := cspFrom(d.a.Ceremony, d.a.cfg.BaseURL)
	if err != nil {
		return ca.Authority{}, err
	}
	parentSigner, err := d.a.Keys.Open(ctx, resolveKeyURI(d.a.cfg.Data, parentAu.KeyURI))
	if err != nil {
		return ca.Authority{}, err
	}
	signer, err := d.a.Keys.Generate(ctx, resolveKeyURI(d.a.cfg.Data, disclosureKeyURI), keys.ECDSAP256)
	if err != nil {
		return ca.Authority{}, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return ca.Authority{}, err
	}
	now := d.a.opts.Clock.Now().UTC().Truncate(time.Second)
	tmpl := &x509.Certificate{
		SerialNumber: serial.Add(serial, big.NewInt(1)),
		Subject: pkix.Name{CommonName: csp.Name + " disclosure seal", Organization: []string{csp.Name},
			Country: []string{law.CSPCountry}},
		NotBefore: now, NotAfter: now.AddDate(disclosureYears, 0, 0),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment,
		UnknownExtKeyUsage:    []asn1.ObjectIdentifier{documentSigning},
		BasicConstraintsValid: true,
		AuthorityKeyId:        parent.SubjectKeyId,
		CRLDistributionPoints: []string{issuance.CRLDistributionPoint(csp, disclosureParent, serial)},
		OCSPServer:            []string{strings.TrimRight(csp.BaseURL, "/") + "/ocsp"},
		IssuingCertificateURL: []string{strings.TrimRight(csp.BaseURL, "/") + "/ca/" + disclosureParent + ".crt"},
		Policies:              []x509.OID{},
	}
	spki, err := x509.MarshalPKIXPublicKey(signer.Public())
	if err != nil {
		return ca.Authority{}, err
	}
	skid := sha256.Sum256(spki)
	tmpl.SubjectKeyId = skid[:20] // RFC 7093 method 1 over the whole SPKI
	if oid, err := x509.OIDFromInts(oidInts(csp.PolicyOID)); err == nil {
		tmpl.Policies = append(tmpl.Policies, oid)
	}
	if tmpl.NotAfter.After(parent.NotAfter) {
		tmpl.NotAfter = parent.NotAfter // never outlive the seal CA
	}
	tbs, lintable, err := issuance.Prepare(tmpl, parent, signer.Public(), parent.PublicKey)
	if err != nil {
		return ca.Authority{}, err
	}
	lt, err := newLinter(csp)
	if err != nil {
		return ca.Authority{}, err
	}
	if err := lt.l.Certificate(lintable, lint.Expectation{}); err != nil {
		return ca.Authority{}, err
	}
	der, err := issuance.Sign(parentSigner, tbs)
	if err != nil {
		return ca.Authority{}, err
	}
	au := ca.Authority{Name: disclosureAuthority, Role: disclosureAuthority, Parent: disclosureParent,
		KeyURI: disclosureKeyURI, DER: der, CreatedAt: law.Timestamp(d.a.opts.Clock.Now())}
	e := auditlog.NewEntry(au.CreatedAt, "system", auditlog.ActionCARegister, au.Name, map[string]string{
		"role": au.Role, "parent": au.Parent, "subject": tmpl.Subject.String(), "cert_sha256": sum(der)})
	if err := d.a.DB.PutAuthority(ctx, au, e); err != nil {
		return ca.Authority{}, err
	}
	return au, nil
}
