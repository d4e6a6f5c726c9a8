package app

import (
	"context"
	"crypto"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/tawthiq/tawthiq/internal/authority"
	"github.com/tawthiq/tawthiq/internal/ca"
	"github.com/tawthiq/tawthiq/internal/errkind"
	"github.com/tawthiq/tawthiq/internal/keys"
	"github.com/tawthiq/tawthiq/internal/trustlist"
)

// The demo national authority's list-signing identity, in the data directory:
// its key encrypted like every other file key, its certificate public.
const (
	authorityKeyURI  = "file:keys/authority-tl.key"
	authorityCertPEM = "authority/tl.pem"
	// authorityCertValidity is the list-signing certificate's life.
	authorityCertValidity = 5 * 365 * 24 * time.Hour
	// demoDecision is the decision the demo register grants the demo CSP's services under.
	demoDecision = "DEMO-1"
)

// trustListLease is the lease the list publisher holds, so that one node publishes.
const trustListLease = "trustlist-publisher"

// trustListPoll is how often the publisher looks at the register. A change
// reaches the published list within it: the API's writes do not call the
// publisher, the poll is the one path, and reading the register is cheap.
const trustListPoll = 2 * time.Second

// trustListPublisher publishes the national authority's trusted list from the register (L-15).
type trustListPublisher struct {
	pub    *authority.Publisher
	signer crypto.Signer
	cert   *x509.Certificate
	leases interface {
		TakeLease(ctx context.Context, name, holder string, ttl time.Duration) (bool, error)
	}
	holder string
	log    *slog.Logger
}

// openTrustList sets up the demo national authority on the first start (its key,
// its certificate and the demo CSP in the register) and, whenever its certificate
// is in the data directory, opens its key and publishes the list if needed.
func (a *App) openTrustList(ctx context.Context, firstStart bool, auths []ca.Authority) error {
	certPath := filepath.Join(a.cfg.Data, authorityCertPEM)
	keyURI := resolveKeyURI(a.cfg.Data, authorityKeyURI)
	if firstStart && *a.cfg.Demo {
		if err := a.demoAuthority(ctx, keyURI, certPath, auths); err != nil {
			return fmt.Errorf("demo national authority: %w", err)
		}
	}
	pemBytes, err := os.ReadFile(certPath)
	if errors.Is(err, os.ErrNotExist) {
		return nil // this node publishes no trusted list
	}
	if err != nil {
		return err
	}
	cert, err := readCertPEM(pemBytes)
	if err != nil {
		return fmt.Errorf("authority certificate %s: %w", certPath, err)
	}
	signer, err := a.Keys.Open(ctx, keyURI)
	if err != nil {
		return fmt.Errorf("authority key: %w", err)
	}
	if pk, ok := signer.Public().(interface{ Equal(crypto.PublicKey) bool }); !ok || !pk.Equal(cert.PublicKey) {
		return fmt.Errorf("the authority key at %s does not match its certificate", keyURI)
	}
	a.trustList = &trustListPublisher{pub: a.Authority.Publisher(a.DB, a.trustListScheme()), signer: signer, cert: cert,
		leases: a.DB, holder: a.cfg.Node, log: a.opts.Logger}
	// A list that cannot be published is not served stale as fresh, but the CSP's
	// own services do not stop for it: the periodic job tries again.
	if _, err := a.trustList.runOnce(ctx); err != nil {
		a.opts.Logger.Error("trusted list publication failed", "err", err)
	}
	return nil
}

// trustListScheme is the national scheme published at this server's /trustlist.xml;
// the demo says it is the demo's authority, not the DGSSI.
func (a *App) trustListScheme() authority.Scheme {
	s := authority.NationalScheme(a.cfg.BaseURL+"/trustlist.xml", a.cfg.BaseURL+"/")
	if *a.cfg.Demo {
		s.OperatorName = trustlist.MultiLang{
			{Lang: "ar", Value: "السلطة الوطنية التجريبية"},
			{Lang: "fr", Value: "Autorité nationale de démonstration"},
			{Lang: "en", Value: "Demo national authority"},
		}
		s.Name = trustlist.MultiLang{{Lang: "en", Value: "MA: Trusted list of the tawthiq demo (no legal value)"}}
	}
	return s
}

// demoAuthority makes the demo authority's list-signing key and self-signed
// certificate, and registers the demo CSP with its two CAs and its TSA, granted
// from the ceremony, so that the demo's signatures validate as qualified.
func (a *App) demoAuthority(ctx context.Context, keyURI, certPath string, auths []ca.Authority) error {
	signer, err := a.Keys.Generate(ctx, keyURI, keys.ECDSAP256)
	if err != nil {
		return err
	}
	now := a.opts.Clock.Now().UTC()
	serial, err := ca.RandomSerial()
	if err != nil {
		return err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject: pkix.Name{CommonName: "Demo national authority — trusted list signer",
			Organization: []string{"Demo national authority"}, Country: []string{"MA"}},
		// A little before now: the list's times are whole seconds, and clocks differ.
		NotBefore: now.Add(-5 * time.Minute).Truncate(time.Second),
		NotAfter:  now.Add(authorityCertValidity).Truncate(time.Second),
		KeyUsage:  x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(randReader, tmpl, tmpl, signer.Public(), signer)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(certPath), 0o700); err != nil {
		return err
	}
	if err := writeFileAtomic(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		return err
	}
	kind, number := cspRegistration(a.Ceremony.CSP.OrganizationIdentifier)
	csp, err := a.Authority.RegisterCSP(ctx, "ceremony", authority.CSP{Name: a.Ceremony.CSP.Name, Country: authority.HomeCountry,
		IDKind: kind, IDNumber: number, Seat: "Demo seat, Rabat", InformationURI: a.cfg.BaseURL + "/"})
	if err != nil {
		return err
	}
	svcs, err := ownServices(auths)
	if err != nil {
		return err
	}
	for _, svc := range svcs {
		svc.CSPID = csp.ID
		grant := authority.StatusChange{Status: authority.StatusGranted, From: ceremonyTime(auths), Decision: demoDecision,
			Note: "demo: granted at the demo key ceremony"}
		if _, err := a.Authority.AddService(ctx, "ceremony", svc, grant); err != nil {
			return fmt.Errorf("service %s: %w", svc.Name, err)
		}
	}
	fmt.Fprintf(a.opts.Out, "demo: national authority's trusted list at %s/trustlist.xml (signer %s/trustlist.crt)\n", a.cfg.BaseURL, a.cfg.BaseURL)
	return nil
}

// ceremonyTime is when the ceremony made the hierarchy: its first authority.
func ceremonyTime(auths []ca.Authority) time.Time {
	var t time.Time
	for _, au := range auths {
		if t.IsZero() || au.CreatedAt.Before(t) {
			t = au.CreatedAt
		}
	}
	return t
}

func readCertPEM(b []byte) (*x509.Certificate, error) {
	blk, _ := pem.Decode(b)
	if blk == nil || blk.Type != "CERTIFICATE" {
		return nil, errors.New("no PEM certificate")
	}
	return x509.ParseCertificate(blk.Bytes)
}

// runOnce publishes if needed, on the node that holds the lease.
func (p *trustListPublisher) runOnce(ctx context.Context) (bool, error) {
	ok, err := p.leases.TakeLease(ctx, trustListLease, p.holder, 30*time.Second)
	if err != nil || !ok {
		return false, err
	}
	_, published, err := p.pub.PublishIfNeeded(ctx, p.signer, p.cert)
	return published, err
}

// run publishes until ctx ends, looking every trustListPoll.
func (p *trustListPublisher) run(ctx context.Context) {
	t := time.NewTicker(trustListPoll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if published, err := p.runOnce(ctx); err != nil && ctx.Err() == nil {
			p.log.Error("trusted list publication failed", "err", err)
		} else if published {
			p.log.Info("trusted list published")
		}
	}
}

// trustListRoutes serves GET /trustlist.xml (TS 119 612, the latest list) and
// GET /trustlist.crt (the authority's certificate, DER), public like the CRLs.
func (a *App) trustListRoutes(mux *http.ServeMux) {
	p := a.trustList
	if p == nil {
		return
	}
	mux.HandleFunc("GET /trustlist.xml", func(w http.ResponseWriter, r *http.Request) {
		pub, err := p.pub.LatestList(r.Context())
		if errkind.Is(err, errkind.NotFound) {
			http.Error(w, "no trusted list published yet", http.StatusNotFound)
			return
		}
		if err != nil {
			a.opts.Logger.Error("reading the trusted list", "err", err)
			http.Error(w, "the trusted list is unavailable", http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", trustlist.MimeType)
		w.Header().Set("ETag", `"`+pub.SHA256+`"`)
		w.Header().Set("Last-Modified", pub.IssuedAt.UTC().Format(http.TimeFormat))
		if slices.Contains(r.Header.Values("If-None-Match"), `"`+pub.SHA256+`"`) {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		_, _ = w.Write(pub.XML)
	})
	der := p.cert.Raw
	mux.HandleFunc("GET /trustlist.crt", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/pkix-cert")
		_, _ = w.Write(der)
	})
}

// trustedList loads the trusted list v names, if any, checked against its authority certificate.
func (v Verify) trustedList(ctx context.Context, warn func(string)) (trustlist.Lists, error) {
	if v.TrustedList == "" {
		if v.AuthorityCert != "" {
			return nil, errors.New("an authority certificate is given without a trusted list")
		}
		return nil, nil
	}
	if v.AuthorityCert == "" {
		return nil, errors.New("a trusted list is checked against its authority's certificate: give it (PEM)")
	}
	b, err := os.ReadFile(v.AuthorityCert)
	if err != nil {
		return nil, err
	}
	cert, err := readCertPEM(b)
	if err != nil {
		return nil, fmt.Errorf("authority certificate %s: %w", v.AuthorityCert, err)
	}
	var raw []byte
	if strings.HasPrefix(v.TrustedList, "https://") || strings.HasPrefix(v.TrustedList, "http://") {
		raw, err = newFetcher().get(ctx, v.TrustedList, maxTrustListBytes)
	} else {
		raw, err = os.ReadFile(v.TrustedList)
	}
	if err != nil {
		return nil, fmt.Errorf("trusted list %s: %w", v.TrustedList, err)
	}
	l, err := trustlist.Load(raw, []*x509.Certificate{cert}, time.Now())
	if err != nil {
		return nil, fmt.Errorf("trusted list %s: %w", v.TrustedList, err)
	}
	return withForeign(ctx, l, warn), nil
}

// withForeign adds to the national list the foreign lists its pointers name,
// which exist only under a recognition agreement (L-22); one that cannot be
// fetched or does not verify is left out and said through warn.
func withForeign(ctx context.Context, l *trustlist.List, warn func(string)) trustlist.Lists {
	lists := trustlist.Lists{l}
	f := newFetcher()
	for _, p := range l.Scheme.Pointers {
		raw, err := f.get(ctx, p.Location, maxTrustListBytes)
		if err == nil {
			var fl *trustlist.List
			if fl, err = trustlist.LoadForeign(raw, p, time.Now()); err == nil {
				lists = append(lists, fl)
				continue
			}
		}
		warn(fmt.Sprintf("the %s trusted list (%s) is not used: %v", p.Territory, p.Location, err))
	}
	return lists
}

// maxTrustListBytes bounds a fetched trusted list.
const maxTrustListBytes = 16 << 20

// localTrustList is the list the local authority last published, checked against
// its certificate in dataDir; none when this data directory runs no authority.
func localTrustList(ctx context.Context, db authority.ListStore, dataDir string, warn func(string)) (trustlist.Lists, error) {
	b, err := os.ReadFile(filepath.Join(dataDir, authorityCertPEM))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	cert, err := readCertPEM(b)
	if err != nil {
		return nil, fmt.Errorf("authority certificate: %w", err)
	}
	pub, err := db.LatestTrustList(ctx)
	if errkind.Is(err, errkind.NotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	l, err := trustlist.Load(pub.XML, []*x509.Certificate{cert}, time.Now())
	if err != nil {
		return nil, fmt.Errorf("the local trusted list: %w", err)
	}
	return withForeign(ctx, l, warn), nil
}
