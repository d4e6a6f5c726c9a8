package app

import (
	"context"
	"crypto"
	"crypto/x509"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/tawthiq/tawthiq/internal/access"
	"github.com/tawthiq/tawthiq/internal/auditlog"
	"github.com/tawthiq/tawthiq/internal/ca"
	"github.com/tawthiq/tawthiq/internal/clock"
	"github.com/tawthiq/tawthiq/internal/config"
	"github.com/tawthiq/tawthiq/internal/errkind"
	"github.com/tawthiq/tawthiq/internal/issuance"
	"github.com/tawthiq/tawthiq/internal/keys"
	"github.com/tawthiq/tawthiq/internal/law"
	"github.com/tawthiq/tawthiq/internal/ra"
	"github.com/tawthiq/tawthiq/internal/store"
)

// ceremonyRecord is where the ceremony's reviewable description is kept in the data directory.
const ceremonyRecord = "ceremony.yaml"

// auditVKeyFile holds the public key that verifies audit checkpoints.
const auditVKeyFile = "audit.vkey"

// CeremonyResult is what a ceremony made.
type CeremonyResult struct {
	Authorities []ca.Authority
	AdminUser   *access.User
	AdminToken  string // shown once
}

// RunCeremony makes every key and certificate of c, records them with their audit
// entries, publishes the first terms, and creates the first admin. It refuses to run
// over an existing hierarchy. Key URIs with relative file: paths land in dataDir.
func RunCeremony(ctx context.Context, db *store.DB, reg *keys.Registry, clk clock.Clock, dataDir, baseURL string, c config.Ceremony, out io.Writer) (*CeremonyResult, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	if existing, err := db.Authorities(ctx); err != nil {
		return nil, err
	} else if len(existing) > 0 {
		return nil, errkind.New(errkind.Conflict, law.L21_1, "a CA hierarchy already exists in this database: a ceremony runs once")
	}
	for i := range c.Authorities {
		c.Authorities[i].Key = resolveKeyURI(dataDir, c.Authorities[i].Key)
	}
	c.AuditKey = resolveKeyURI(dataDir, c.AuditKey)
	csp, err := cspFrom(c, baseURL)
	if err != nil {
		return nil, err
	}
	lt, err := newLinter(csp)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Join(dataDir, "keys"), 0o700); err != nil {
		return nil, err
	}
	type made struct {
		cert   *x509.Certificate
		signer crypto.Signer
	}
	done := map[string]made{}
	res := &CeremonyResult{}
	for _, spec := range c.Authorities {
		signer, err := reg.Generate(ctx, spec.Key, keys.Algorithm(spec.Algorithm))
		if err != nil {
			return nil, fmt.Errorf("authority %s: key: %w", spec.Name, err)
		}
		now := clk.Now().Truncate(time.Second)
		serial, err := ca.RandomSerial()
		if err != nil {
			return nil, err
		}
		cs := issuance.CASpec{Name: spec.Name, CommonName: spec.CommonName, Role: spec.Role, Parent: spec.Parent,
			Validity: time.Duration(spec.ValidityYears) * 365 * 24 * time.Hour, Serial: serial, NotBefore: now,
			PublicKey: signer.Public()}
		tmpl, err := issuance.CATemplate(csp, cs)
		if err != nil {
			return nil, fmt.Errorf("authority %s: %w", spec.Name, err)
		}
		parent, parentSigner := tmpl, signer
		if spec.Parent != "" {
			p := done[spec.Parent]
			parent, parentSigner = p.cert, p.signer
			if tmpl.NotAfter.After(parent.NotAfter) {
				tmpl.NotAfter = parent.NotAfter // a CA never outlives its parent
			}
		}
		tbs, lintable, err := issuance.Prepare(tmpl, parent, signer.Public(), parentSigner.Public())
		if err != nil {
			return nil, fmt.Errorf("authority %s: %w", spec.Name, err)
		}
		if err := lt.checkCA(lintable); err != nil {
			return nil, fmt.Errorf("authority %s: %w", spec.Name, err)
		}
		der, err := issuance.Sign(parentSigner, tbs)
		if err != nil {
			return nil, fmt.Errorf("authority %s: signing: %w", spec.Name, err)
		}
		cert, err := x509.ParseCertificate(der)
		if err != nil {
			return nil, err
		}
		a := ca.Authority{Name: spec.Name, Role: spec.Role, Parent: spec.Parent, KeyURI: spec.Key, DER: der, CreatedAt: law.Timestamp(clk.Now())}
		e := auditlog.NewEntry(a.CreatedAt, "ceremony", auditlog.ActionCARegister, a.Name, map[string]string{
			"role": a.Role, "parent": a.Parent, "subject": cert.Subject.String(), "cert_sha256": sum(der)})
		if err := db.PutAuthority(ctx, a, e); err != nil {
			return nil, err
		}
		done[spec.Name] = made{cert, signer}
		res.Authorities = append(res.Authorities, a)
		fmt.Fprintf(out, "  %-16s %-8s %s\n", spec.Name, spec.Role, cert.Subject.CommonName)
	}
	auditKey, err := reg.Generate(ctx, c.AuditKey, keys.Ed25519)
	if err != nil {
		return nil, fmt.Errorf("audit key: %w", err)
	}
	al, err := auditlog.New(db, auditKey, auditOrigin(csp.Name), clk, nil)
	if err != nil {
		return nil, err
	}
	// The verifier key is public: `tawthiq audit verify` reads it without opening any key.
	if err := writeFileAtomic(filepath.Join(dataDir, auditVKeyFile), []byte(al.VerifierKey()+"\n"), 0o644); err != nil {
		return nil, err
	}
	rs := ra.New(db, nil, clk, func() string { return access.NewID("app_") })
	if _, err := rs.PublishTerms(ctx, "ceremony", c.Terms.Version, c.Terms.Text); err != nil {
		return nil, err
	}
	acc := access.New(db, clk)
	admin, err := acc.CreateUser(ctx, "ceremony", access.User{Name: "admin", Role: access.RoleAdmin})
	if err != nil {
		return nil, err
	}
	tok, err := acc.IssueToken(ctx, "ceremony", admin.ID, 0)
	if err != nil {
		return nil, err
	}
	res.AdminUser, res.AdminToken = admin, tok
	rec, err := yaml.Marshal(c)
	if err != nil {
		return nil, err
	}
	if err := writeFileAtomic(filepath.Join(dataDir, ceremonyRecord), rec, 0o600); err != nil {
		return nil, err
	}
	return res, nil
}

// resolveKeyURI makes a relative file: key path absolute inside dataDir.
func resolveKeyURI(dataDir, uri string) string {
	rest, ok := strings.CutPrefix(uri, "file:")
	if !ok || filepath.IsAbs(rest) {
		return uri
	}
	return "file:" + filepath.Join(dataDir, rest)
}

func cspFrom(c config.Ceremony, baseURL string) (issuance.CSP, error) {
	oid, err := config.ParseOID(c.CSP.PolicyOID)
	if err != nil {
		return issuance.CSP{}, err
	}
	return issuance.CSP{Name: c.CSP.Name, OrganizationIdentifier: c.CSP.OrganizationIdentifier, Country: law.CSPCountry,
		BaseURL: baseURL, PolicyOID: oid, PDS: c.CSP.PDS, CRLShards: c.CSP.CRLShards}, nil
}

func writeFileAtomic(path string, data []byte, mode os.FileMode) error {
	tmp, err := writeTemp(path, data, mode)
	if err != nil {
		return err
	}
	defer os.Remove(tmp)
	return os.Rename(tmp, path)
}

// writeTemp writes data to a synced temporary file beside path, for the caller
// to rename or link into place: a reader never sees half a file.
func writeTemp(path string, data []byte, mode os.FileMode) (string, error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return "", err
	}
	for _, step := range []func() error{
		func() error { _, err := tmp.Write(data); return err },
		func() error { return tmp.Chmod(mode) },
		tmp.Sync,
	} {
		if err := step(); err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
			return "", err
		}
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return "", err
	}
	return tmp.Name(), nil
}
