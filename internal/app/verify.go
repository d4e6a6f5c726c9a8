package app

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"os"
	"time"

	"github.com/tawthiq/tawthiq/internal/clock"
	"github.com/tawthiq/tawthiq/internal/errkind"
	"github.com/tawthiq/tawthiq/internal/store"
	"github.com/tawthiq/tawthiq/internal/validation"
)

// Verify is an offline validation of a CAdES signature (tawthiq verify).
type Verify struct {
	Signature string   // the CMS file (DER or PEM)
	Content   string   // the signed document when the signature is detached
	Roots     []string // PEM files of trust anchors
	// Config, when its data directory or database holds a CSP, adds that CSP's root
	// as an anchor and answers status for the certificates it issued.
	Config *Config
}

// VerifyReport is the validation report.
type VerifyReport = validation.Report

// RunVerify validates a signature with what the file carries, the given roots and,
// if Config names a CSP's store, that CSP's records.
func RunVerify(ctx context.Context, v Verify) (VerifyReport, error) {
	sig, err := readDERorPEM(v.Signature)
	if err != nil {
		return VerifyReport{}, err
	}
	var content []byte
	if v.Content != "" {
		if content, err = os.ReadFile(v.Content); err != nil {
			return VerifyReport{}, err
		}
	}
	var opts validation.Options
	for _, p := range v.Roots {
		c, err := readCert(p)
		if err != nil {
			return VerifyReport{}, fmt.Errorf("root %s: %w", p, err)
		}
		opts.Roots = append(opts.Roots, c)
	}
	if v.Config != nil {
		cfg := *v.Config
		if err := cfg.Normalize(); err != nil {
			return VerifyReport{}, err
		}
		db, err := store.Open(ctx, cfg.DB, clock.Real{})
		if err != nil {
			return VerifyReport{}, err
		}
		defer db.Close()
		st, roots, err := storeStatus(ctx, db)
		if err != nil {
			return VerifyReport{}, err
		}
		opts.Roots, opts.Status = append(opts.Roots, roots...), st
	}
	return validation.Validate(ctx, sig, content, opts), nil
}

// dbStatus answers revocation status from a CSP's own records: its authorities and
// the certificates it issued; anything else is unknown.
type dbStatus struct {
	ctx         context.Context
	db          *store.DB
	authorities map[string]bool // DER of the CSP's CA certificates
}

func storeStatus(ctx context.Context, db *store.DB) (*dbStatus, []*x509.Certificate, error) {
	auths, err := db.Authorities(ctx)
	if err != nil {
		return nil, nil, err
	}
	s := &dbStatus{ctx: ctx, db: db, authorities: map[string]bool{}}
	var roots []*x509.Certificate
	for _, a := range auths {
		s.authorities[string(a.DER)] = true
		if a.Role == "root" {
			c, err := x509.ParseCertificate(a.DER)
			if err != nil {
				return nil, nil, err
			}
			roots = append(roots, c)
		}
	}
	return s, roots, nil
}

func (s *dbStatus) RevocationStatus(cert, _ *x509.Certificate, at time.Time) (bool, time.Time, bool) {
	if s.authorities[string(cert.Raw)] {
		return false, time.Time{}, true // the CSP's own CAs: no CA revocation is recorded yet
	}
	serial := hex.EncodeToString(cert.SerialNumber.Bytes())
	c, err := s.db.Certificate(s.ctx, serial)
	if err != nil || !bytes.Equal(c.DER, cert.Raw) {
		return false, time.Time{}, false
	}
	r, err := s.db.Revocation(s.ctx, serial)
	if errkind.Is(err, errkind.NotFound) {
		return false, time.Time{}, true
	}
	if err != nil {
		return false, time.Time{}, false
	}
	return true, r.RevokedAt, true
}

func readDERorPEM(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if blk, _ := pem.Decode(b); blk != nil {
		return blk.Bytes, nil
	}
	return b, nil
}
