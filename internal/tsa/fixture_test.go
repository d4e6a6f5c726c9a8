package tsa_test

import (
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/asn1"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tawthiq/tawthiq/internal/clock"
	"github.com/tawthiq/tawthiq/internal/issuance"
	"github.com/tawthiq/tawthiq/internal/store"
	"github.com/tawthiq/tawthiq/internal/testpki"
	"github.com/tawthiq/tawthiq/internal/tsa"
)

var testPolicy = asn1.ObjectIdentifier{2, 16, 504, 99, 1, 1, 2}

type node struct {
	Cert *x509.Certificate
	Key  *ecdsa.PrivateKey
}

// caNode makes a certificate of the CSP's hierarchy the way the ceremony does.
func caNode(t testing.TB, spec issuance.CASpec, parent *node, now time.Time) node {
	t.Helper()
	k := testpki.Key(t)
	spec.PublicKey, spec.Serial, spec.NotBefore = k.Public(), testpki.Serial(t), now.Add(-time.Hour)
	tmpl, err := issuance.CATemplate(testpki.CSP(), spec)
	must(t, err)
	var n *testpki.Node
	if parent == nil {
		n = testpki.SelfSign(t, tmpl, k)
	} else {
		n = testpki.Certify(t, tmpl, &testpki.Node{Cert: parent.Cert, Signer: parent.Key}, k.Public())
	}
	return node{Cert: n.Cert, Key: k}
}

// fixture is a root, its TSA certificate, a real SQLite store and the service.
type fixture struct {
	dir       string
	root, tsa node
	db        *store.DB
	clk       *clock.Fake
	sync      *switchable
	svc       *tsa.Service
}

// switchable is a fake SyncSource the test may change.
type switchable struct{ v atomicFixed }

func (s *switchable) Status(now time.Time) (time.Duration, bool) { return s.v.Load().Status(now) }

func newFixture(t testing.TB) *fixture { return newFixtureIn(t, t.TempDir(), nil) }

// newFixtureIn makes the fixture in dir; with a journal when jopt is not nil.
func newFixtureIn(t testing.TB, dir string, jopt *tsa.JournalOptions) *fixture {
	t.Helper()
	now := time.Now().UTC()
	f := &fixture{dir: dir, clk: clock.NewFake(now), sync: &switchable{}}
	f.sync.v.Store(tsa.Fixed{Offset: 2 * time.Millisecond, Known: true})
	f.root = caNode(t, issuance.CASpec{Name: "root", CommonName: "Tawthiq Demo Root", Role: issuance.RoleRoot, Validity: 10 * 365 * 24 * time.Hour}, nil, now)
	f.tsa = caNode(t, issuance.CASpec{Name: "tsa", CommonName: "Tawthiq Demo TSA", Role: issuance.RoleTSA, Parent: "root", Validity: 5 * 365 * 24 * time.Hour}, &f.root, now)
	db, err := store.Open(t.Context(), filepath.Join(f.dir, "tawthiq.db"), f.clk)
	must(t, err)
	t.Cleanup(func() { db.Close() })
	f.db = db
	var j *tsa.Journal
	if jopt != nil {
		j, err = tsa.OpenJournal(t.Context(), filepath.Join(f.dir, "journal"), db, *jopt)
		must(t, err)
	}
	f.svc, err = tsa.New(tsa.Config{Signer: f.tsa.Key, Cert: f.tsa.Cert, Policy: testPolicy, Accuracy: time.Second,
		Qualified: true, Clock: f.clk, Sync: f.sync, Store: db, Journal: j})
	must(t, err)
	t.Cleanup(f.svc.Close) // runs before db.Close
	return f
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func writePEM(t testing.TB, dir, name string, ders ...[]byte) string {
	t.Helper()
	var b []byte
	for _, d := range ders {
		b = append(b, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: d})...)
	}
	p := filepath.Join(dir, name)
	must(t, os.WriteFile(p, b, 0o600))
	return p
}

// openssl runs openssl; without it the test skips, unless make test requires it.
func openssl(t testing.TB, args ...string) (string, error) {
	t.Helper()
	if _, err := exec.LookPath("openssl"); err != nil {
		if os.Getenv("TAWTHIQ_REQUIRE_OPENSSL") != "" {
			t.Fatal("openssl is required (TAWTHIQ_REQUIRE_OPENSSL)")
		}
		t.Skip("openssl not installed: apt-get install openssl")
	}
	out, err := exec.Command("openssl", args...).CombinedOutput()
	if err != nil {
		return string(out), &exec.ExitError{}
	}
	return string(out), nil
}

func mustOpenSSL(t testing.TB, args ...string) string {
	t.Helper()
	out, err := openssl(t, args...)
	if err != nil {
		t.Fatalf("openssl %s:\n%s", strings.Join(args, " "), out)
	}
	return out
}
