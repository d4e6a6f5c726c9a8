package app

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"fmt"
	"io"
	"math/big"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tawthiq/tawthiq/client"
	"github.com/tawthiq/tawthiq/internal/auditlog"
	"github.com/tawthiq/tawthiq/internal/ca"
	"github.com/tawthiq/tawthiq/internal/config"
	"github.com/tawthiq/tawthiq/internal/issuance"
	"github.com/tawthiq/tawthiq/internal/ra"
)

// phases accumulates the time each issuance step takes, across goroutines.
type phases struct{ lint, sign, reserve, store atomic.Int64 }

type timedLinter struct {
	ca.Linter
	p *phases
}

func (l timedLinter) Check(der []byte, req issuance.Request) error {
	t := time.Now()
	defer func() { l.p.lint.Add(int64(time.Since(t))) }()
	return l.Linter.Check(der, req)
}

type timedSigner struct {
	crypto.Signer
	p *phases
}

func (s timedSigner) Sign(r io.Reader, d []byte, o crypto.SignerOpts) ([]byte, error) {
	t := time.Now()
	defer func() { s.p.sign.Add(int64(time.Since(t))) }()
	return s.Signer.Sign(r, d, o)
}

type timedStore struct {
	ca.Store
	p *phases
}

func (s timedStore) Reserve(ctx context.Context, c *ca.Certificate, e auditlog.Entry) error {
	t := time.Now()
	defer func() { s.p.reserve.Add(int64(time.Since(t))) }()
	return s.Store.Reserve(ctx, c, e)
}

func (s timedStore) MarkIssued(ctx context.Context, serial string, der []byte, at time.Time, e auditlog.Entry) error {
	t := time.Now()
	defer func() { s.p.store.Add(int64(time.Since(t))) }()
	return s.Store.MarkIssued(ctx, serial, der, at, e)
}

// approvedApplications records n applications approved by two officers, not yet issued.
func approvedApplications(b *testing.B, e *testEnv, n int) []*ra.Application {
	b.Helper()
	ctx := context.Background()
	holder, hu := e.user(b, "Holder", "holder", "AB000000")
	_, o1 := e.user(b, "Officer One", "ra-officer", "OF111111")
	_, o2 := e.user(b, "Officer Two", "ra-officer", "OF222222")
	tmpl := application(b, holder, "AB000000", "")
	out := make([]*ra.Application, n)
	var wg sync.WaitGroup
	var failed atomic.Value
	sem := make(chan struct{}, 16)
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			csr := []byte(newCSR(b, p256(b), "holder"))
			a, err := e.app.RA.Submit(ctx, ra.Person{ID: hu.ID}, ra.Application{Profile: tmpl.Profile,
				Subject:      issuanceSubject(tmpl.Subject),
				Identity:     ra.IDDocument{Type: "national-id-card", Number: fmt.Sprintf("AB%06d", i), Issuer: "DGSN", Country: "MA", Expiry: tmpl.Identity.Expiry, Method: "face-to-face", EvidenceSHA256: make([]byte, 32)},
				TermsVersion: tmpl.TermsVersion, TermsAcceptedAt: tmpl.TermsAcceptedAt, CSR: csr, Language: "fr"})
			if err != nil {
				failed.Store(err)
				return
			}
			now := time.Now()
			for _, o := range []string{o1.ID, o2.ID} {
				if _, err := e.app.DB.AddApproval(ctx, ra.Approval{ApplicationID: a.ID, Officer: o, At: now},
					auditlog.NewEntry(now, o, auditlog.ActionApplicationApprove, a.ID, nil)); err != nil {
					failed.Store(err)
					return
				}
			}
			a.Status = ra.StatusApproved
			out[i] = a
		}()
	}
	wg.Wait()
	if err, _ := failed.Load().(error); err != nil {
		b.Fatal(err)
	}
	return out
}

func issuanceSubject(s client.Subject) issuance.Subject {
	return issuance.Subject{GivenName: s.GivenName, Surname: s.Surname, Email: s.Email}
}

// BenchmarkIssuance measures an approved application to a durably stored certificate
// (SQLite, synchronous=FULL, encrypted software keys), and reports its rate, the rate of
// a bare x509.CreateCertificate loop measured in the same run, and where the time goes.
//
// jobs=off measures issuance alone; jobs=on keeps the server's background work
// running on the same two cores, chiefly the OCSP responder pre-signing (and
// linting) two responses for every new certificate.
func BenchmarkIssuance(b *testing.B) {
	for _, jobs := range []bool{false, true} {
		for _, par := range []int{1, 32} {
			b.Run(fmt.Sprintf("jobs=%s/clients=%d", map[bool]string{false: "off", true: "on"}[jobs], par),
				func(b *testing.B) { benchIssuance(b, par, jobs) })
		}
	}
}

func benchIssuance(b *testing.B, clients int, jobs bool) {
	data := b.TempDir()
	e := startEnv(b, data, "")
	ctx := context.Background()
	apps := approvedApplications(b, e, b.N)
	if !jobs {
		// The same data, opened without serving: no background job runs.
		e.stop()
		a, err := Open(ctx, config.Config{Data: data, Addr: strings.TrimPrefix(e.base, "http://")},
			Options{Getenv: testGetenv, Out: io.Discard})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(a.Close)
		e = &testEnv{app: a, data: data, base: e.base, stop: func() {}}
	}

	// The same CA, with each dependency timed.
	var p phases
	auths, err := e.app.DB.Authorities(ctx)
	if err != nil {
		b.Fatal(err)
	}
	var issuers []ca.Issuer
	var sigCert *x509.Certificate
	var sigKey crypto.Signer
	for _, au := range auths {
		if au.Role != "issuing" {
			continue
		}
		cert, _ := x509.ParseCertificate(au.DER)
		s, err := e.app.Keys.Open(ctx, au.KeyURI)
		if err != nil {
			b.Fatal(err)
		}
		issuers = append(issuers, ca.Issuer{Name: au.Name, Cert: cert, Signer: timedSigner{s, &p}})
		if au.Name == "signature" {
			sigCert, sigKey = cert, s
		}
	}
	csp, _ := cspFrom(e.app.Ceremony, e.base)
	lt, err := newLinter(csp)
	if err != nil {
		b.Fatal(err)
	}
	cas := ca.New(timedStore{e.app.DB, &p}, e.app.opts.Clock, timedLinter{lt, &p}, csp, issuers, issuance.DefaultProfiles())
	rs := ra.New(e.app.DB, cas, e.app.opts.Clock, nil)

	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	b.ResetTimer()
	start := time.Now()
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= int64(len(apps)) {
					return
				}
				if _, err := rs.IssueApproved(ctx, "bench", apps[i]); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}

	// Baseline in the same run: a bare x509.CreateCertificate loop, same key, same client count.
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: sigCert.Subject, NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour)}
	pub := p256(b).Public()
	next.Store(0)
	bstart := time.Now()
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(b.N) {
				if _, err := x509.CreateCertificate(rand.Reader, tmpl, sigCert, pub, sigKey); err != nil {
					panic(err)
				}
			}
		}()
	}
	wg.Wait()
	bare := time.Since(bstart)

	n := float64(b.N)
	rate, bareRate := n/elapsed.Seconds(), n/bare.Seconds()
	b.ReportMetric(rate, "certs/s")
	b.ReportMetric(bareRate, "bare-x509/s")
	b.ReportMetric(rate/bareRate, "ratio")
	// Per-certificate time in each step, summed over all clients (CPU-ish time, not wall time).
	per := func(d int64) float64 { return float64(d) / n / 1e3 }
	b.ReportMetric(per(p.lint.Load()), "lint-µs")
	b.ReportMetric(per(p.sign.Load()), "sign-µs")
	b.ReportMetric(per(p.reserve.Load()), "db-reserve-µs")
	b.ReportMetric(per(p.store.Load()), "db-store-µs")
}
