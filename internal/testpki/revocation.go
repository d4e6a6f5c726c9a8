package testpki

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
)

// RevocationSource is a signature.RevocationSource serving real CRLs and OCSP
// responses signed by a test hierarchy's CAs and delegated responders, found
// by name: another hierarchy's keys forge data under the same names.
type RevocationSource struct {
	H       *Hierarchy
	At      time.Time            // thisUpdate of what it serves
	Revoked map[string]time.Time // by serial
	OCSP    bool                 // serve OCSP responses for end entities, else CRLs
}

// Revocation serves, for cert, an OCSP response (end entities, when OCSP) or its CA's CRL.
func (s *RevocationSource) Revocation(_ context.Context, cert, issuer *x509.Certificate) ([][]byte, [][]byte, error) {
	ca := s.node(issuer)
	if ca == nil {
		return nil, nil, errors.New("unknown issuer")
	}
	revokedAt, revoked := s.Revoked[cert.SerialNumber.String()]
	if s.OCSP && !cert.IsCA {
		resp, err := s.ocspResponse(cert, ca, revoked, revokedAt)
		return nil, [][]byte{resp}, err
	}
	var entries []x509.RevocationListEntry
	if revoked {
		entries = append(entries, x509.RevocationListEntry{SerialNumber: cert.SerialNumber, RevocationTime: revokedAt})
	}
	crl, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{Number: big.NewInt(s.At.Unix()),
		ThisUpdate: s.At, NextUpdate: s.At.Add(24 * time.Hour), RevokedCertificateEntries: entries}, ca.Cert, ca.Signer)
	return [][]byte{crl}, nil, err
}

// ocspResponse is signed by the CA's delegated responder when it has one.
func (s *RevocationSource) ocspResponse(cert *x509.Certificate, ca *Node, revoked bool, at time.Time) ([]byte, error) {
	tmpl := ocsp.Response{Status: ocsp.Good, SerialNumber: cert.SerialNumber, ThisUpdate: s.At, NextUpdate: s.At.Add(time.Hour)}
	if revoked {
		tmpl.Status, tmpl.RevokedAt, tmpl.RevocationReason = ocsp.Revoked, at, ocsp.KeyCompromise
	}
	responder, key := ca.Cert, crypto.Signer(ca.Signer)
	if d := s.H.OCSP[ca.Name]; d != nil {
		responder, key, tmpl.Certificate = d.Cert, d.Signer, d.Cert
	}
	return ocsp.CreateResponse(ca.Cert, responder, tmpl, key)
}

func (s *RevocationSource) node(c *x509.Certificate) *Node {
	for _, n := range []*Node{s.H.Root, s.H.Signature, s.H.Seal} {
		if bytes.Equal(n.Cert.RawSubject, c.RawSubject) {
			return n
		}
	}
	return nil
}
