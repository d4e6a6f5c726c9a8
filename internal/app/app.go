// Package app is the composition root: it turns a Config into stores, key
// backends, services and servers, and runs them. Only this package wires concrete
// implementations together.
package app

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tawthiq/tawthiq/internal/access"
	"github.com/tawthiq/tawthiq/internal/api"
	"github.com/tawthiq/tawthiq/internal/api/fastlane"
	"github.com/tawthiq/tawthiq/internal/archive"
	"github.com/tawthiq/tawthiq/internal/auditlog"
	"github.com/tawthiq/tawthiq/internal/authority"
	"github.com/tawthiq/tawthiq/internal/ca"
	"github.com/tawthiq/tawthiq/internal/clock"
	"github.com/tawthiq/tawthiq/internal/config"
	"github.com/tawthiq/tawthiq/internal/contract"
	"github.com/tawthiq/tawthiq/internal/directory"
	"github.com/tawthiq/tawthiq/internal/issuance"
	"github.com/tawthiq/tawthiq/internal/keys"
	"github.com/tawthiq/tawthiq/internal/notify"
	"github.com/tawthiq/tawthiq/internal/ocsp"
	"github.com/tawthiq/tawthiq/internal/orders"
	"github.com/tawthiq/tawthiq/internal/ra"
	"github.com/tawthiq/tawthiq/internal/revocation"
	"github.com/tawthiq/tawthiq/internal/seal"
	"github.com/tawthiq/tawthiq/internal/store"
	"github.com/tawthiq/tawthiq/internal/tsa"
)

var randReader = rand.Reader

// Options are the process-level dependencies of an App.
type Options struct {
	Clock  clock.Clock
	Out    io.Writer // where start-up messages go
	Logger *slog.Logger
	Getenv func(string) string
}

// App is a running CSP.
type App struct {
	cfg       config.Config
	opts      Options
	DB        *store.DB
	Keys      *keys.Registry
	Access    *access.Service
	RA        *ra.Service
	CA        *ca.Service
	Audit     *auditlog.Log
	AuditVKey string
	Revoke    *revocation.Service
	Directory *directory.Service
	Notify    *notify.Service
	Authority *authority.Service // the national authority's register (authority mode)
	OCSP      *ocsp.Service
	TSA       *tsa.Service        // nil when the hierarchy has no TSA certificate
	Seals     *seal.Service       // nil when no seal is configured
	Archive   *archive.Service    // documents and messages kept under their SHA-256 (L-417-1)
	Contracts *contract.Service   // offers, orders, acknowledgements (L-65-4, L-65-5)
	Orders    *orders.Service     // judicial orders and disclosures (L-21-3-7 b, L-24)
	Cessation *Cessation          // cessation of activity and takeover (L-23)
	Duties    *Duties             // insurance, breaches, holders' data changes (L-21-3-6, L-24, L-25)
	trustList *trustListPublisher // nil unless this node publishes the authority's trusted list
	tsaCerts  []*x509.Certificate // every TSA certificate of the hierarchy: checks checkpoint tokens
	// fastRoutes are answered without net/http when a connection opens with one
	// (the TSA: net/http's per-request CPU is a sixth of a token's).
	fastRoutes []fastlane.Route
	fastLane   atomic.Pointer[fastlane.Server] // while ServeListener runs with fastRoutes
	deliverer  *notify.Deliverer               // nil when no mail server is configured
	Handler    http.Handler
	caDER      map[string][]byte
	Ceremony   config.Ceremony
	// AdminToken is set when Open ran the demo ceremony: shown once.
	AdminToken string
}

// Open builds the CSP from cfg: opens the store and keys, runs the demo ceremony
// on an empty data directory when allowed, loads the CAs and completes any
// issuance a crash interrupted.
func Open(ctx context.Context, cfg config.Config, opts Options) (*App, error) {
	if opts.Clock == nil {
		opts.Clock = clock.Real{}
	}
	if opts.Out == nil {
		opts.Out = io.Discard
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(opts.Out, nil))
	}
	if opts.Getenv == nil {
		opts.Getenv = os.Getenv
	}
	if err := cfg.Normalize(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.Data, 0o700); err != nil {
		return nil, err
	}
	a := &App{cfg: cfg, opts: opts, caDER: map[string][]byte{}}
	kopts, err := a.keyOptions()
	if err != nil {
		return nil, err
	}
	a.Keys = keys.NewRegistry(kopts)
	a.DB, err = store.Open(ctx, cfg.DB, opts.Clock)
	if err != nil {
		return nil, fmt.Errorf("opening the store: %w", err)
	}
	if err := a.load(ctx); err != nil {
		a.Close()
		return nil, err
	}
	return a, nil
}

// keyOptions finds the key passphrase: the configured env var, else the configured
// file, else (demo only) a generated one kept outside the data directory.
func (a *App) keyOptions() (keys.Options, error) {
	o := keys.Options{PassphraseEnv: a.cfg.PassphraseEnv, PassphraseFile: a.cfg.PassphraseFile, Getenv: a.opts.Getenv,
		Engine: keys.Engine(a.cfg.SigningEngine)}
	if a.opts.Getenv(a.cfg.PassphraseEnv) != "" || a.cfg.PassphraseFile != "" {
		return o, nil
	}
	if !*a.cfg.Demo {
		return o, fmt.Errorf("no key passphrase: set %s or passphrase_file", a.cfg.PassphraseEnv)
	}
	dir, err := os.UserConfigDir()
	if err != nil {
		dir = os.TempDir()
	}
	h := sha256.Sum256([]byte(a.cfg.Data))
	path := filepath.Join(dir, "tawthiq", "demo-passphrase-"+hex.EncodeToString(h[:6]))
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		b := make([]byte, 24)
		if _, err := io.ReadFull(randReader, b); err != nil {
			return o, err
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return o, err
		}
		if err := writeFileAtomic(path, []byte(base64.RawURLEncoding.EncodeToString(b)), 0o600); err != nil {
			return o, err
		}
		fmt.Fprintf(a.opts.Out, "demo: key passphrase generated in %s (outside the data directory; production sets %s or uses PKCS#11)\n", path, a.cfg.PassphraseEnv)
	}
	o.PassphraseFile = path
	return o, nil
}

// load runs the demo ceremony if needed, then builds every service.
func (a *App) load(ctx context.Context) error {
	auths, err := a.DB.Authorities(ctx)
	if err != nil {
		return err
	}
	if len(auths) == 0 {
		if !*a.cfg.Demo {
			return fmt.Errorf("no CA hierarchy in %s: run `tawthiq ceremony --config ceremony.yaml` first", a.cfg.DB)
		}
		fmt.Fprintln(a.opts.Out, "demo: empty data directory, running the demo key ceremony:")
		res, err := RunCeremony(ctx, a.DB, a.Keys, a.opts.Clock, a.cfg.Data, a.cfg.BaseURL, config.DemoCeremony(), a.opts.Out)
		if err != nil {
			return fmt.Errorf("demo ceremony: %w", err)
		}
		a.AdminToken = res.AdminToken
		auths = res.Authorities
		if err := recordDemoInsurance(ctx, a.DB, a.opts.Clock, a.opts.Out); err != nil {
			return err
		}
	}
	cer, err := config.LoadCeremony(filepath.Join(a.cfg.Data, ceremonyRecord))
	if err != nil {
		return fmt.Errorf("the ceremony record: %w", err)
	}
	a.Ceremony = cer
	csp, err := cspFrom(cer, a.cfg.BaseURL)
	if err != nil {
		return err
	}
	var issuers []ca.Issuer
	var revIssuers []revocation.Issuer
	for _, au := range auths {
		a.caDER[au.Name] = au.DER
	}
	ocspIssuers, err := a.ocspIssuers(ctx, auths)
	if err != nil {
		return err
	}
	for _, au := range auths {
		if au.Role == "root" {
			// The root's CRL (ARL) gives the issuing CAs' status, which B-LT signatures carry.
			ri, ok, err := a.rootCRLIssuer(ctx, au)
			if err != nil {
				return err
			}
			if ok {
				revIssuers = append(revIssuers, ri)
			}
			continue
		}
		if au.Role != "issuing" {
			continue
		}
		cert, err := x509.ParseCertificate(au.DER)
		if err != nil {
			return fmt.Errorf("CA %s: %w", au.Name, err)
		}
		signer, err := a.Keys.Open(ctx, au.KeyURI)
		if err != nil {
			return fmt.Errorf("CA %s key: %w", au.Name, err)
		}
		// Sign verifies against the signer's public key; that key must be the certified one.
		if pk, ok := signer.Public().(interface{ Equal(crypto.PublicKey) bool }); !ok || !pk.Equal(cert.PublicKey) {
			return fmt.Errorf("CA %s: the key at %s does not match its certificate", au.Name, au.KeyURI)
		}
		issuers = append(issuers, ca.Issuer{Name: au.Name, Cert: cert, Signer: signer})
		revIssuers = append(revIssuers, revocation.Issuer{Name: au.Name, Cert: cert, Signer: signer})
	}
	lt, err := newLinter(csp)
	if err != nil {
		return err
	}
	a.Access = access.New(a.DB, a.opts.Clock)
	a.CA = ca.New(a.DB, a.opts.Clock, lt, csp, issuers, issuance.DefaultProfiles())
	a.RA = ra.New(a.DB, a.CA, a.opts.Clock, func() string { return access.NewID("app_") })
	a.Revoke = revocation.New(a.DB, a.opts.Clock, lt.l, csp, revIssuers)
	a.Directory = directory.New(a.DB, a.opts.Clock, 0)
	a.Notify = notify.New(a.DB, a.opts.Clock, notify.Config{Node: a.cfg.Node})
	a.Authority = authority.New(a.DB, a.opts.Clock)
	a.Duties = a.newDuties(csp.Name)
	if err := a.openTrustList(ctx, a.AdminToken != "", auths); err != nil {
		return err
	}
	if err := a.newDeliverer(); err != nil {
		return err
	}
	a.OCSP, err = ocsp.New(ocsp.Config{Store: a.DB, Clock: a.opts.Clock, Issuers: ocspIssuers, Leases: a.DB, Holder: a.cfg.Node, Linter: lt.l})
	if err != nil {
		return fmt.Errorf("OCSP responder: %w", err)
	}
	if err := a.OCSP.Load(ctx); err != nil {
		return fmt.Errorf("OCSP responses: %w", err)
	}
	if err := a.openCessation(ctx, csp, issuers, lt); err != nil {
		return err
	}
	if a.TSA, err = a.newTSA(ctx, auths, csp); err != nil {
		return fmt.Errorf("TSA: %w", err)
	}
	auditKey, err := a.Keys.Open(ctx, resolveKeyURI(a.cfg.Data, cer.AuditKey))
	if err != nil {
		return fmt.Errorf("audit key: %w", err)
	}
	if a.tsaCerts, err = tsaCertificates(auths); err != nil {
		return err
	}
	var stamper auditlog.Stamper // a nil *tsa.Service must not become a non-nil interface
	if a.TSA != nil {
		stamper = a.TSA
	}
	a.Audit, err = auditlog.New(a.DB, auditKey, auditOrigin(csp.Name), a.opts.Clock, stamper)
	if err != nil {
		return err
	}
	a.AuditVKey = a.Audit.VerifierKey()
	a.Archive = archive.New(a.DB, a.opts.Clock, stamper, a.Audit)
	if done, abandoned, err := a.CA.Recover(ctx); err != nil {
		return fmt.Errorf("completing interrupted issuance: %w", err)
	} else if done+abandoned > 0 {
		fmt.Fprintf(a.opts.Out, "recovered interrupted issuance: %d completed, %d abandoned\n", done, abandoned)
	}
	if _, err := a.Audit.Checkpoint(ctx); auditlog.Unstamped(err) {
		// Signed and stored; only the TSA refused (its clock, say): start anyway.
		a.opts.Logger.Warn("first audit checkpoint not time-stamped", "err", err)
	} else if err != nil {
		return fmt.Errorf("first checkpoint: %w", err)
	}
	var sealer api.Sealer // a nil *seal.Service must not become a non-nil interface
	if len(a.cfg.Seals) > 0 {
		if a.Seals, err = a.newSeals(ctx, rootOf(auths)); err != nil {
			return err
		}
		sealer = a.Seals
	}
	var ext api.Extender // a nil *extender must not become a non-nil interface
	if a.TSA != nil {
		if ext, err = a.newExtender(auths); err != nil {
			return err
		}
	}
	a.Orders = a.newOrders(csp)
	a.Contracts = a.newContracts()
	apiHandler := api.New(api.Deps{
		Access: a.Access, RA: a.RA, CA: a.CA, Checkpoints: a.Audit, AuditEntries: a.DB, Verifier: auditVerifier{a.DB, a.AuditVKey, a.tsaCerts},
		Clock: a.opts.Clock, Logger: a.opts.Logger, MaxBodyBytes: a.cfg.MaxBodyBytes,
		CACerts:     func(name string) ([]byte, bool) { d, ok := a.caDER[name]; return d, ok },
		Revocations: a.Revoke, CRLs: a.Revoke, Directory: a.Directory, Notices: a.Notify,
		Seals: sealer, Extender: ext, Validator: &validator{db: a.DB, data: a.cfg.Data, clock: a.opts.Clock}, Authority: a.Authority, Orders: a.Orders,
		Contracts: a.Contracts,
		Cessation: a.Cessation,
		Insurance: a.Duties.Insurance, Breaches: a.Duties.Breaches, DataChanges: a.Duties.DataChanges,
	})
	// Status protocols are served beside the API, outside its middleware: they are
	// public, cacheable and must stay cheap (L-21-rev).
	mux := http.NewServeMux()
	mux.Handle("GET /crl/{name}", api.CRLHandlerAt(a.Revoke, a.opts.Clock.Now))
	a.trustListRoutes(mux)
	mux.Handle("/", apiHandler)
	ocspHandler := api.OCSPHandler(a.Cessation, a.cfg.MaxBodyBytes)
	var tsaHandler http.Handler = http.NotFoundHandler()
	if a.TSA != nil {
		tsaHandler = api.TSAHandler(a.TSA, a.cfg.MaxBodyBytes)
		a.fastRoutes = append(a.fastRoutes, api.TSAFastRoute(a.TSA, a.cfg.MaxBodyBytes))
		mux.Handle("GET /tsa/health", api.TSAHealthHandler(a.TSA, a.opts.Clock.Now))
	}
	a.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Before the mux: it would clean the path, and base64 may hold "//".
		if strings.HasPrefix(r.URL.Path, "/ocsp") {
			ocspHandler.ServeHTTP(w, r)
			return
		}
		if r.URL.Path == "/tsa" {
			tsaHandler.ServeHTTP(w, r)
			return
		}
		mux.ServeHTTP(w, r)
	})
	return nil
}

// newTSA builds the time-stamping authority from the authority of role "tsa", if any:
// policy the CSP's arc + ".2", the default stated accuracy, the kernel's NTP state as
// clock source. A demo whose kernel does not report synchronisation trusts the
// system clock, and says so; production never does (L-21-1).
// rootOf returns the hierarchy's root certificate, nil if it has none.
func rootOf(auths []ca.Authority) *x509.Certificate {
	for _, au := range auths {
		if au.Role == "root" {
			if c, err := x509.ParseCertificate(au.DER); err == nil {
				return c
			}
		}
	}
	return nil
}

// rootCRLIssuer returns the root as a CRL issuer when its key is at hand (the
// demo); an offline root publishes its CRL at its own ceremonies instead.
func (a *App) rootCRLIssuer(ctx context.Context, au ca.Authority) (revocation.Issuer, bool, error) {
	cert, err := x509.ParseCertificate(au.DER)
	if err != nil {
		return revocation.Issuer{}, false, fmt.Errorf("CA %s: %w", au.Name, err)
	}
	if au.KeyURI == "" || !strings.HasPrefix(au.KeyURI, "file:") {
		return revocation.Issuer{}, false, nil
	}
	signer, err := a.Keys.Open(ctx, au.KeyURI)
	if err != nil {
		return revocation.Issuer{}, false, fmt.Errorf("root %s key: %w", au.Name, err)
	}
	return revocation.Issuer{Name: au.Name, Cert: cert, Signer: signer}, true, nil
}

func (a *App) newTSA(ctx context.Context, auths []ca.Authority, csp issuance.CSP) (*tsa.Service, error) {
	byName := map[string]ca.Authority{}
	for _, au := range auths {
		byName[au.Name] = au
	}
	for _, au := range auths {
		if au.Role != "tsa" {
			continue
		}
		cert, err := x509.ParseCertificate(au.DER)
		if err != nil {
			return nil, fmt.Errorf("authority %s: %w", au.Name, err)
		}
		var chain []*x509.Certificate
		for p, ok := byName[au.Parent]; ok && p.Role != "root" && len(chain) < 8; p, ok = byName[p.Parent] {
			c, err := x509.ParseCertificate(p.DER)
			if err != nil {
				return nil, fmt.Errorf("authority %s: %w", p.Name, err)
			}
			chain = append(chain, c)
		}
		signer, err := a.Keys.Open(ctx, au.KeyURI)
		if err != nil {
			return nil, fmt.Errorf("TSA %s key: %w", au.Name, err)
		}
		var src tsa.SyncSource = &tsa.Kernel{}
		if _, known := src.Status(a.opts.Clock.Now()); !known && *a.cfg.Demo {
			src = tsa.TrustSystemClock
			fmt.Fprintln(a.opts.Out, "demo: the kernel does not report the clock as NTP-synchronised; the demo TSA trusts the system clock (production refuses to stamp)")
			a.opts.Logger.Warn("TSA trusts the unsynchronised system clock (demo only)")
		}
		policy := append(append([]int(nil), csp.PolicyOID...), 2)
		// A local data directory holds the TSA journal: a token waits for one
		// fdatasync of it, not a database commit; the journal drains into a.DB.
		var journal *tsa.Journal
		if dir := filepath.Join(a.cfg.Data, "tsa-journal"); tsa.LocalFS(a.cfg.Data) {
			logger := a.opts.Logger
			if journal, err = tsa.OpenJournal(ctx, dir, a.DB, tsa.JournalOptions{Logf: func(f string, args ...any) {
				logger.Error(fmt.Sprintf(f, args...))
			}}); err != nil {
				return nil, fmt.Errorf("TSA journal: %w", err)
			}
		}
		s, err := tsa.New(tsa.Config{Signer: signer, Cert: cert, Chain: chain, Policy: policy, Accuracy: tsa.DefaultAccuracy,
			Qualified: true, Clock: a.opts.Clock, Sync: src, Store: a.DB, VerifyOneIn: a.cfg.TSAVerifyOneIn, Journal: journal})
		if err != nil && journal != nil {
			journal.Close()
		}
		return s, err
	}
	return nil, nil
}

// ocspIssuers pairs each issuing CA with its delegated OCSP responder (role "ocsp", parent the CA).
func (a *App) ocspIssuers(ctx context.Context, auths []ca.Authority) ([]ocsp.Issuer, error) {
	certs := map[string]*x509.Certificate{}
	for _, au := range auths {
		c, err := x509.ParseCertificate(au.DER)
		if err != nil {
			return nil, fmt.Errorf("authority %s: %w", au.Name, err)
		}
		certs[au.Name] = c
	}
	var out []ocsp.Issuer
	for _, au := range auths {
		if au.Role != "ocsp" {
			continue
		}
		signer, err := a.Keys.Open(ctx, au.KeyURI)
		if err != nil {
			return nil, fmt.Errorf("OCSP responder %s key: %w", au.Name, err)
		}
		out = append(out, ocsp.Issuer{Name: au.Parent, Cert: certs[au.Parent], Responder: certs[au.Name], Signer: signer})
	}
	return out, nil
}

// newDeliverer sets up e-mail delivery of notices when a mail server is configured;
// without one, e-mail notices wait in the outbox and account notices are still shown.
func (a *App) newDeliverer() error {
	if a.cfg.WebhookURL != "" {
		a.deliverer = notify.NewDeliverer(a.DB, &notify.Webhook{URL: a.cfg.WebhookURL}, a.opts.Clock, notify.DelivererConfig{Holder: a.cfg.Node})
		a.Duties.deliverWith(a, &notify.Webhook{URL: a.cfg.WebhookURL})
		return nil
	}
	if a.cfg.SMTP.Addr == "" {
		return nil
	}
	snd, err := notify.NewSMTP(notify.SMTPConfig{Addr: a.cfg.SMTP.Addr, From: a.cfg.SMTP.From, StartTLS: a.cfg.SMTP.StartTLS,
		Username: a.cfg.SMTP.Username, Password: a.opts.Getenv(a.cfg.SMTP.PasswordEnv), Clock: a.opts.Clock})
	if err != nil {
		return fmt.Errorf("smtp: %w", err)
	}
	a.deliverer = notify.NewDeliverer(a.DB, snd, a.opts.Clock, notify.DelivererConfig{Holder: a.cfg.Node})
	a.Duties.deliverWith(a, snd)
	return nil
}

// auditOrigin names the log in its checkpoints: a note name has no spaces or '+'.
func auditOrigin(cspName string) string {
	b := []byte("tawthiq/")
	for _, r := range cspName {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '.':
			b = append(b, byte(r))
		case r == ' ':
			b = append(b, '-')
		}
	}
	return string(b) + "/audit"
}

type auditVerifier struct {
	st       auditlog.Store
	vkey     string
	tsaCerts []*x509.Certificate
}

func (v auditVerifier) Verify(ctx context.Context) (auditlog.Report, error) {
	return auditlog.Verify(ctx, v.st, v.vkey, v.tsaCerts...)
}

// VerifyAudit recomputes the audit log from the stored rows (tawthiq audit verify).
func (a *App) VerifyAudit(ctx context.Context) (auditlog.Report, error) {
	return auditlog.Verify(ctx, a.DB, a.AuditVKey, a.tsaCerts...)
}

// tsaCertificates returns the certificates of every authority of role "tsa": the
// checkpoints' time-stamp tokens must be signed by one of them.
func tsaCertificates(auths []ca.Authority) ([]*x509.Certificate, error) {
	var out []*x509.Certificate
	for _, au := range auths {
		if au.Role != "tsa" {
			continue
		}
		c, err := x509.ParseCertificate(au.DER)
		if err != nil {
			return nil, fmt.Errorf("authority %s: %w", au.Name, err)
		}
		out = append(out, c)
	}
	return out, nil
}

// Serve listens on the configured address until ctx ends.
func (a *App) Serve(ctx context.Context) error {
	ln, err := net.Listen("tcp", a.cfg.Addr)
	if err != nil {
		return err
	}
	return a.ServeListener(ctx, ln)
}

// ServeListener serves on ln until ctx ends, signing audit checkpoints meanwhile.
func (a *App) ServeListener(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{Handler: a.Handler, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: 60 * time.Second, IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 64 << 10}
	// TAWTHIQ_CPUPROFILE=file profiles the server until it stops: for load runs only.
	if path := a.opts.Getenv("TAWTHIQ_CPUPROFILE"); path != "" {
		f, err := os.Create(path)
		if err != nil {
			return err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			f.Close()
			return err
		}
		defer f.Close()
		defer pprof.StopCPUProfile()
	}
	a.opts.Logger.Info("signing engine for file keys", "engine", keys.Effective(keys.Engine(a.cfg.SigningEngine)))
	ctx, cancel := context.WithCancel(ctx)
	jobs := a.runJobs(ctx)
	// The jobs end before ServeListener returns, so Close never pulls the store from under them.
	defer jobs.Wait()
	defer cancel()
	serve, shutdown := srv.Serve, srv.Shutdown
	if len(a.fastRoutes) > 0 {
		fl := fastlane.New(srv, a.fastRoutes...)
		// fasthttp reads a whole body before any handler's check: on a connection
		// opened by a time-stamp client, no body beyond the API's limit (a document
		// to seal goes on a connection of its own).
		fl.FallbackMaxBody = int(a.cfg.MaxBodyBytes)
		serve, shutdown = fl.Serve, fl.Shutdown
		a.fastLane.Store(fl)
		defer func() {
			fast, fb := fl.Stats()
			a.opts.Logger.Info("fast lane", "answered", fast, "to_net_http", fb)
		}()
	}
	go func() {
		<-ctx.Done()
		shut, c := context.WithTimeout(context.Background(), 10*time.Second)
		defer c()
		_ = shutdown(shut)
	}()
	base := a.cfg.BaseURL
	fmt.Fprintf(a.opts.Out, "tawthiq serving on http://%s\n", ln.Addr())
	for _, name := range []string{"root", "signature", "seal"} {
		if _, ok := a.caDER[name]; ok {
			fmt.Fprintf(a.opts.Out, "  CA certificate  %s/ca/%s.crt\n", base, name)
		}
	}
	fmt.Fprintf(a.opts.Out, "  API             %s/api/v1/  (OpenAPI: api/openapi.yaml)\n  audit head      %s/checkpoint\n", base, base)
	if a.AdminToken != "" {
		fmt.Fprintf(a.opts.Out, "  admin token     %s   (shown once: export TAWTHIQ_TOKEN=...)\n", a.AdminToken)
	}
	if err := serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// runJobs starts the periodic work: audit checkpoints, CRL publication, notice
// scans and delivery. Each job that must run once takes a lease in the store, so
// several nodes may share one PostgreSQL.
func (a *App) runJobs(ctx context.Context) *sync.WaitGroup {
	logErr := func(job string) func(error) {
		return func(err error) { a.opts.Logger.Error(job, "err", err) }
	}
	var wg sync.WaitGroup
	wg.Go(func() { a.Audit.Run(ctx, a.cfg.CheckpointInterval, logErr("audit checkpoint")) })
	wg.Go(func() {
		if err := a.Revoke.NewPublisher(a.cfg.Node, a.opts.Logger).Run(ctx); err != nil && ctx.Err() == nil {
			logErr("crl publisher")(err)
		}
	})
	wg.Go(func() { _ = a.Notify.Run(ctx, logErr("notice scan")) })
	wg.Go(func() { a.OCSP.Run(ctx, logErr("ocsp")) })
	if a.trustList != nil {
		wg.Go(func() { a.trustList.run(ctx) })
	}
	if a.deliverer != nil {
		wg.Go(func() { _ = a.deliverer.Run(ctx, logErr("notice delivery")) })
	}
	a.Duties.run(ctx, &wg, a.opts.Logger)
	return &wg
}

// Close releases the store and key sessions.
func (a *App) Close() {
	if a.TSA != nil {
		a.TSA.Close() // before the store it drains into
		if st := a.TSA.JournalStats(); st.Syncs > 0 {
			a.opts.Logger.Info("TSA journal", "tokens", st.Records, "fdatasyncs", st.Syncs,
				"tokens_per_sync", float64(st.Records)/float64(st.Syncs), "sync_avg", st.SyncTime/time.Duration(st.Syncs))
		}
	}
	if a.Keys != nil {
		a.Keys.Close()
	}
	if a.DB != nil {
		a.DB.Close()
	}
}

func sum(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// VerifyAuditOffline checks the audit log of a data directory without opening any
// private key: it reads the store and the public verifier key only.
func VerifyAuditOffline(ctx context.Context, cfg config.Config, vkey string) (auditlog.Report, error) {
	if err := cfg.Normalize(); err != nil {
		return auditlog.Report{}, err
	}
	if vkey == "" {
		b, err := os.ReadFile(filepath.Join(cfg.Data, auditVKeyFile))
		if err != nil {
			return auditlog.Report{}, fmt.Errorf("checkpoint verifier key: %w (give --vkey)", err)
		}
		vkey = string(bytes.TrimSpace(b))
	}
	db, err := store.Open(ctx, cfg.DB, clock.Real{})
	if err != nil {
		return auditlog.Report{}, err
	}
	defer db.Close()
	// The TSA certificates are public and, like every authority, immutable in the store.
	auths, err := db.Authorities(ctx)
	if err != nil {
		return auditlog.Report{}, err
	}
	tsaCerts, err := tsaCertificates(auths)
	if err != nil {
		return auditlog.Report{}, err
	}
	return auditlog.Verify(ctx, db, vkey, tsaCerts...)
}

// CheckConfig validates a server config and, if given, a ceremony file (tawthiq config check).
func CheckConfig(cfgPath, ceremonyPath string) error {
	cfg, err := config.Load(cfgPath)
	if err != nil {
		return err
	}
	if err := cfg.Normalize(); err != nil {
		return err
	}
	if ceremonyPath != "" {
		_, err = config.LoadCeremony(ceremonyPath)
	}
	return err
}

// Ceremony runs a production key ceremony from a file into cfg's data directory and store.
func Ceremony(ctx context.Context, cfg config.Config, ceremonyPath string, opts Options) (*CeremonyResult, error) {
	cer, err := config.LoadCeremony(ceremonyPath)
	if err != nil {
		return nil, err
	}
	f := false
	cfg.Demo = &f
	if err := cfg.Normalize(); err != nil {
		return nil, err
	}
	if opts.Clock == nil {
		opts.Clock = clock.Real{}
	}
	if opts.Out == nil {
		opts.Out = io.Discard
	}
	if opts.Getenv == nil {
		opts.Getenv = os.Getenv
	}
	if err := os.MkdirAll(cfg.Data, 0o700); err != nil {
		return nil, err
	}
	a := &App{cfg: cfg, opts: opts}
	kopts, err := a.keyOptions()
	if err != nil {
		return nil, err
	}
	reg := keys.NewRegistry(kopts)
	defer reg.Close()
	db, err := store.Open(ctx, cfg.DB, opts.Clock)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	return RunCeremony(ctx, db, reg, opts.Clock, cfg.Data, cfg.BaseURL, cer, opts.Out)
}

// Config is the server configuration (see internal/config), re-exported for the command.
type Config = config.Config

// LoadConfig reads a configuration file strictly, then TAWTHIQ_* variables.
func LoadConfig(path string, getenv func(string) string) (Config, error) {
	cfg, err := config.Load(path)
	if err != nil {
		return cfg, err
	}
	cfg.FromEnv(getenv)
	return cfg, nil
}
