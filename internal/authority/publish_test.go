package authority_test

import (
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tawthiq/tawthiq/internal/authority"
	"github.com/tawthiq/tawthiq/internal/errkind"
	"github.com/tawthiq/tawthiq/internal/trustlist"
)

// listSigner is an authority's list-signing key and self-signed certificate, valid around at.
func listSigner(t *testing.T, at time.Time) (*ecdsa.PrivateKey, *x509.Certificate) {
	t.Helper()
	k := newKey(t)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "Test national authority", Country: []string{"MA"}},
		NotBefore: at.Add(-24 * time.Hour), NotAfter: at.AddDate(5, 0, 0), KeyUsage: x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, k.Public(), k)
	must(t, err)
	c, err := x509.ParseCertificate(der)
	must(t, err)
	return k, c
}

func parse(t *testing.T, der []byte) *x509.Certificate {
	t.Helper()
	c, err := x509.ParseCertificate(der)
	must(t, err)
	return c
}

const scheme = "https://tl.example.ma/trustlist.xml"

// TestPublishList_L15: the register becomes a signed list that loads with the
// authority certificate, is republished when the register changes or at half its
// validity and not otherwise, and keeps each service's history, so that a
// suspension makes the CA not qualified while it lasts (L-20).
func TestPublishList_L15(t *testing.T) {
	ctx := t.Context()
	f := newFixture(t, t0)
	key, cert := listSigner(t, t0)
	pub := f.reg.Publisher(f.db, authority.NationalScheme(scheme, "https://tl.example.ma/"))
	_, err := pub.LatestList(ctx)
	wantErr(t, err, errkind.NotFound, "")
	c := f.csp(t, "Barid eSign")
	ca, err := f.reg.AddService(ctx, "usr_admin", f.caService(c.ID), grant(t0, "DGSSI/2025/001"))
	must(t, err)
	tsa := authority.TrustService{CSPID: c.ID, Type: authority.TypeTSAQTST, Name: "TSU", Certificates: [][]byte{f.tsa}}
	_, err = f.reg.AddService(ctx, "usr_admin", tsa, grant(t0, "DGSSI/2025/002"))
	must(t, err)

	load := func(p authority.Publication) *trustlist.List {
		t.Helper()
		l, err := trustlist.Load(p.XML, []*x509.Certificate{cert}, f.clk.Now())
		must(t, err)
		if l.Scheme.SequenceNumber != p.Seq || l.Scheme.Territory != "MA" || l.Scheme.Type != trustlist.NationalTSLType("MA") ||
			!l.Scheme.NextUpdate.Equal(p.IssuedAt.Add(authority.ListValidity)) || l.Scheme.DistributionPoints[0] != scheme {
			t.Fatalf("scheme %+v", l.Scheme)
		}
		return l
	}
	p1, published, err := pub.PublishIfNeeded(ctx, key, cert)
	must(t, err)
	if !published || p1.Seq != 1 || len(p1.SHA256) != 64 {
		t.Fatalf("first publication %+v (%v)", p1, published)
	}
	l := load(p1)
	caCert := parse(t, f.ca)
	if q := l.QualifiedAt(caCert, trustlist.ForESignatures, t0.Add(time.Hour)); !q.Qualified {
		t.Fatalf("CA not qualified for e-signatures: %s", q.Reason)
	}
	if q := l.QualifiedAt(caCert, trustlist.ForESeals, t0.Add(time.Hour)); q.Qualified {
		t.Fatal("a CA for e-signatures listed as qualified for e-seals")
	}
	if q := l.QualifiedAt(parse(t, f.tsa), trustlist.ForTimestamps, t0.Add(time.Hour)); !q.Qualified {
		t.Fatalf("TSA not qualified: %s", q.Reason)
	}
	if got := l.Providers[0].TradeName.Get("en"); got != "ICE 001234567000089" {
		t.Fatalf("trade name %q", got)
	}

	// Nothing changed: nothing published.
	f.clk.Advance(time.Hour)
	again, published, err := pub.PublishIfNeeded(ctx, key, cert)
	must(t, err)
	if published || again.Seq != 1 {
		t.Fatalf("republished an unchanged register: %+v", again)
	}

	// A suspension, then its lifting: each republishes, and the history decides (L-20).
	suspendedAt := f.clk.Now().Add(-10 * time.Minute)
	_, err = f.reg.ChangeStatus(ctx, "usr_admin", ca.ID, change(authority.StatusSuspended, suspendedAt, "DGSSI/2025/010"))
	must(t, err)
	p2, published, err := pub.PublishIfNeeded(ctx, key, cert)
	must(t, err)
	if !published || p2.Seq != 2 {
		t.Fatalf("suspension not published: %+v", p2)
	}
	l = load(p2)
	if q := l.QualifiedAt(caCert, trustlist.ForESignatures, suspendedAt.Add(-time.Minute)); !q.Qualified {
		t.Fatalf("not qualified before the suspension: %s", q.Reason)
	}
	q := l.QualifiedAt(caCert, trustlist.ForESignatures, suspendedAt.Add(time.Minute))
	if q.Qualified || !strings.Contains(q.Reason, "DGSSI/2025/010 (suspension)") {
		t.Fatalf("qualified while suspended, or no reason: %+v", q)
	}
	f.clk.Advance(time.Hour)
	_, err = f.reg.ChangeStatus(ctx, "usr_admin", ca.ID, change(authority.StatusGranted, f.clk.Now(), "DGSSI/2025/011"))
	must(t, err)
	p3, _, err := pub.PublishIfNeeded(ctx, key, cert)
	must(t, err)
	l = load(p3)
	svcs := l.Providers[0].Services
	svc := svcs[slices.IndexFunc(svcs, func(s trustlist.Service) bool { return s.Type == trustlist.SvcTypeCAQC })]
	if p3.Seq != 3 || svc.Status != trustlist.StatusGranted || len(svc.History) != 2 || svc.Decision != "DGSSI/2025/011" {
		t.Fatalf("after the lifting: seq %d, %+v", p3.Seq, svc)
	}
	if q := l.QualifiedAt(caCert, trustlist.ForESignatures, suspendedAt.Add(time.Minute)); q.Qualified {
		t.Fatal("the new list forgot the suspension")
	}

	// Half the validity later, the list is renewed though nothing changed.
	f.clk.Advance(authority.ListValidity/2 - time.Minute)
	if p, published, err := pub.PublishIfNeeded(ctx, key, cert); err != nil || published {
		t.Fatalf("renewed too early: %+v %v", p, err)
	}
	f.clk.Advance(time.Minute)
	p4, published, err := pub.PublishIfNeeded(ctx, key, cert)
	must(t, err)
	if !published || p4.Seq != 4 || p4.SourceSHA256 != p3.SourceSHA256 {
		t.Fatalf("not renewed at half its validity: %+v", p4)
	}
	latest, err := pub.LatestList(ctx)
	must(t, err)
	if latest.Seq != 4 || latest.SHA256 != p4.SHA256 || string(latest.XML) != string(p4.XML) {
		t.Fatalf("latest %+v", latest)
	}
}

// TestPublishersRace_L15: two publishers (two nodes) never publish one number twice;
// the one that loses the race publishes under the next number.
func TestPublishersRace_L15(t *testing.T) {
	ctx := t.Context()
	f := newFixture(t, t0)
	key, cert := listSigner(t, t0)
	c := f.csp(t, "Barid eSign")
	_, err := f.reg.AddService(ctx, "usr_admin", f.caService(c.ID), grant(t0, "DGSSI/2025/001"))
	must(t, err)
	s := authority.NationalScheme(scheme, "https://tl.example.ma/")
	pubs := []*authority.Publisher{f.reg.Publisher(f.db, s), f.reg.Publisher(f.db, s)}
	seqs := make([]uint64, len(pubs))
	var wg sync.WaitGroup
	for i, p := range pubs {
		wg.Go(func() {
			got, err := p.PublishList(ctx, key, cert)
			if err != nil {
				t.Error(err)
			}
			seqs[i] = got.Seq
		})
	}
	wg.Wait()
	if seqs[0] == seqs[1] || seqs[0]+seqs[1] != 3 {
		t.Fatalf("sequence numbers %v", seqs)
	}
}

// TestBuildListSeconds_L20: a list carries whole seconds, and never shows a service
// approved for longer than the register does: a grant withdrawn within its second
// is not listed as ever granted.
func TestBuildListSeconds_L20(t *testing.T) {
	ctx := t.Context()
	f := newFixture(t, t0)
	c := f.csp(t, "Barid eSign")
	granted := t0.Add(300 * time.Millisecond)
	ca, err := f.reg.AddService(ctx, "usr_admin", f.caService(c.ID), grant(granted, "G"))
	must(t, err)
	_, err = f.reg.ChangeStatus(ctx, "usr_admin", ca.ID, change(authority.StatusWithdrawn, t0.Add(900*time.Millisecond), "W"))
	must(t, err)
	reg, err := f.reg.Snapshot(ctx)
	must(t, err)
	l, err := authority.BuildList(reg, authority.NationalScheme(scheme, "https://tl.example.ma/"), 1, t0.Add(time.Hour))
	must(t, err)
	svc := l.Providers[0].Services[0]
	if svc.Status != trustlist.StatusWithdrawn || !svc.StatusStarting.Equal(t0) || len(svc.History) != 0 {
		t.Fatalf("service %+v", svc)
	}
	if q := l.QualifiedAt(parse(t, f.ca), trustlist.ForESignatures, granted.Add(100*time.Millisecond)); q.Qualified {
		t.Fatal("qualified for a fraction of a second the list cannot show")
	}
}
