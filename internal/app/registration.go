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
	"github.com/tawthiq/tawthiq/internal/clock"
	"github.com/tawthiq/tawthiq/internal/config"
	"github.com/tawthiq/tawthiq/internal/issuance"
	"github.com/tawthiq/tawthiq/internal/store"
	"github.com/tawthiq/tawthiq/internal/trustlist"
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
	// NTRMA-<number>: 15 digits is the ICE, anything else the trade register (RC).
	num := cer.CSP.OrganizationIdentifier[strings.LastIndex(cer.CSP.OrganizationIdentifier, "-")+1:]
	kind := "rc"
	if len(num) == 15 {
		kind = "ice"
	}
	f := client.RegistrationFile{
		CSP:       client.CSPRequest{Name: cer.CSP.Name, Country: "MA", IDKind: kind, IDNumber: num, Seat: seat, InformationURI: cfg.BaseURL},
		PolicyOID: cer.CSP.PolicyOID, PDS: cer.CSP.PDS, Terms: cer.Terms.Version,
		GeneratedAt: client.Timestamp{Time: time.Now().UTC()},
	}
	uses := map[string][]string{} // issuing CA -> esig / eseal, from what its profiles issue
	for _, p := range issuance.DefaultProfiles() {
		q := "esig"
		if p.Kind == issuance.LegalPerson {
			q = "eseal"
		}
		if p.Qualified && !slices.Contains(uses[p.CA], q) {
			uses[p.CA] = append(uses[p.CA], q)
		}
	}
	for _, au := range auths {
		c, err := x509.ParseCertificate(au.DER)
		if err != nil {
			return client.RegistrationFile{}, fmt.Errorf("authority %s: %w", au.Name, err)
		}
		switch {
		case au.Role == "issuing" && len(uses[au.Name]) > 0:
			f.Services = append(f.Services, client.ServiceRequest{Type: trustlist.SvcTypeCAQC, Name: c.Subject.CommonName,
				Qualifiers: uses[au.Name], Certificates: [][]byte{au.DER}})
		case au.Role == "tsa":
			f.Services = append(f.Services, client.ServiceRequest{Type: trustlist.SvcTypeTSAQTST, Name: c.Subject.CommonName,
				Certificates: [][]byte{au.DER}})
		}
	}
	return f, nil
}
