package validation_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"errors"
	"math/big"
	"time"

	"golang.org/x/crypto/ocsp"

	"github.com/tawthiq/tawthiq/internal/testpki"
)

// revSource is a signature.RevocationSource serving real CRLs and OCSP
// responses signed by a test hierarchy's CAs and delegated responders, found
// by name: another hierarchy's keys forge data under the same names.
type revSource struct {
	h       *testpki.Hierarchy
	at      time.Time            // thisUpdate of what it serves
	revoked map[string]time.Time // by serial
	ocsp    bool                 // serve OCSP responses for end entities, else CRLs
	calls   int
}

func (s *revSource) Revocation(_ context.Context, cert, issuer *x509.Certificate) ([][]byte, [][]byte, error) {
	s.calls++
	ca := s.node(issuer)
	if ca == nil {
		return nil, nil, errors.New("unknown issuer")
	}
	revokedAt, revoked := s.revoked[cert.SerialNumber.String()]
	if s.ocsp && !cert.IsCA {
		resp, err := s.ocspResponse(cert, ca, revoked, revokedAt)
		return nil, [][]byte{resp}, err
	}
	var entries []x509.RevocationListEntry
	if revoked {
		entries = append(entries, x509.RevocationListEntry{SerialNumber: cert.SerialNumber, RevocationTime: revokedAt})
	}
	crl, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{Number: big.NewInt(s.at.Unix()),
		ThisUpdate: s.at, NextUpdate: s.at.Add(24 * time.Hour), RevokedCertificateEntries: entries}, ca.Cert, ca.Signer)
	return [][]byte{crl}, nil, err
}

// ocspResponse is signed by the CA's delegated responder when it has one.
func (s *revSource) ocspResponse(cert *x509.Certificate, ca *testpki.Node, revoked bool, at time.Time) ([]byte, error) {
	tmpl := ocsp.Response{Status: ocsp.Good, SerialNumber: cert.SerialNumber, ThisUpdate: s.at, NextUpdate: s.at.Add(time.Hour)}
	if revoked {
		tmpl.Status, tmpl.RevokedAt, tmpl.RevocationReason = ocsp.Revoked, at, ocsp.KeyCompromise
	}
	responder, key := ca.Cert, crypto.Signer(ca.Signer)
	if d := s.h.OCSP[ca.Name]; d != nil {
		responder, key, tmpl.Certificate = d.Cert, d.Signer, d.Cert
	}
	return ocsp.CreateResponse(ca.Cert, responder, tmpl, key)
}

func (s *revSource) node(c *x509.Certificate) *testpki.Node {
	for _, n := range []*testpki.Node{s.h.Root, s.h.Signature, s.h.Seal} {
		if bytes.Equal(n.Cert.RawSubject, c.RawSubject) {
			return n
		}
	}
	return nil
}
