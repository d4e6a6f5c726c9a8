package app

import (
	"context"
	"crypto/x509"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/tawthiq/tawthiq/client"
	"github.com/tawthiq/tawthiq/internal/authority"
	"github.com/tawthiq/tawthiq/internal/ca"
	"github.com/tawthiq/tawthiq/internal/clock"
	"github.com/tawthiq/tawthiq/internal/config"
	"github.com/tawthiq/tawthiq/internal/issuance"
	"github.com/tawthiq/tawthiq/internal/store"
)

// RunRegistrationFile reads a CSP's data directory and returns what the
// authority needs to register it: its identity, a service per issuing CA (what
// it certifies for, from the profiles) and per TSA, with their certificates.
func RunRegistrationFile(ctx context.Context, cfg Config, seat string) (client.RegistrationFile, error) {
	if err := cfg.Normalize(); err != nil {
		return client.RegistrationFile{}, err
	}
	cer, err := config.LoadCeremony(filepath.Join(cfg.Data, ceremonyRecord))
	if err != nil {
		return client.RegistrationFile{}, fmt.Errorf("the ceremony record: %w", err)
	}
	db, err := store.Open(ctx, cfg.DB, clock.Real{})
	if err != nil {
		return client.RegistrationFile{}, err
	}
	defer db.Close()
	auths, err := db.Authorities(ctx)
	if err != nil {
		return client.RegistrationFile{}, err
	}
	kind, num := cspRegistration(cer.CSP.OrganizationIdentifier)
	f := client.RegistrationFile{
		CSP:       client.CSPRequest{Name: cer.CSP.Name, Country: authority.HomeCountry, IDKind: string(kind), IDNumber: num, Seat: seat, InformationURI: cfg.BaseURL},
		PolicyOID: cer.CSP.PolicyOID, PDS: cer.CSP.PDS, Terms: cer.Terms.Version,
		GeneratedAt: client.Timestamp{Time: time.Now().UTC()},
	}
	svcs, err := ownServices(auths)
	if err != nil {
		return client.RegistrationFile{}, err
	}
	for _, s := range svcs {
		r := client.ServiceRequest{Type: s.Type, Name: s.Name, Certificates: s.Certificates}
		for _, q := range s.Qualifiers {
			r.Qualifiers = append(r.Qualifiers, string(q))
		}
		f.Services = append(f.Services, r)
	}
	return f, nil
}

// ownServices are the trust services this CSP's hierarchy provides: a CA/QC
// service per issuing CA that issues qualified certificates (for what, from its
// profiles) and a TSA/QTST service per TSA, each with its certificate.
func ownServices(auths []ca.Authority) ([]authority.TrustService, error) {
	uses := map[string][]authority.Qualifier{}
	for _, p := range issuance.DefaultProfiles() {
		q := authority.QualifiesESig
		if p.Kind == issuance.LegalPerson {
			q = authority.QualifiesESeal
		}
		if p.Qualified && !slices.Contains(uses[p.CA], q) {
			uses[p.CA] = append(uses[p.CA], q)
		}
	}
	var out []authority.TrustService
	for _, au := range auths {
		c, err := x509.ParseCertificate(au.DER)
		if err != nil {
			return nil, fmt.Errorf("authority %s: %w", au.Name, err)
		}
		switch {
		case au.Role == "issuing" && len(uses[au.Name]) > 0:
			out = append(out, authority.TrustService{Type: authority.TypeCAQC, Name: c.Subject.CommonName, Qualifiers: uses[au.Name], Certificates: [][]byte{au.DER}})
		case au.Role == "tsa":
			out = append(out, authority.TrustService{Type: authority.TypeTSAQTST, Name: c.Subject.CommonName, Certificates: [][]byte{au.DER}})
		}
	}
	return out, nil
}

// cspRegistration reads a CSP's registration from its organizationIdentifier
// (EN 319 412-1 "NTRMA-<number>"): 15 digits is the ICE, anything else the trade register (RC).
func cspRegistration(orgID string) (authority.IDKind, string) {
	n := strings.TrimPrefix(orgID, "NTRMA-")
	if len(n) == 15 && strings.Trim(n, "0123456789") == "" {
		return authority.IDKindICE, n
	}
	return authority.IDKindRC, n
}
