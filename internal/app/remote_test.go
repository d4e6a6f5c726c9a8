package app

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"testing"

	"golang.org/x/crypto/ocsp"
)

// TestFetchedOCSPIsFresh_L25: the status `tawthiq sign` embeds comes from the
// certificate's own OCSP responder, asked with a nonce and answered with it
// echoed (RFC 8954), so that a B-LT signature carries an answer produced after
// its time-stamp; a response for another nonce is refused as a possible replay.
func TestFetchedOCSPIsFresh_L25(t *testing.T) {
	e := startEnv(t, t.TempDir(), "")
	_, certPEM, _ := issueOne(t, e, "AB555555")
	blk, _ := pem.Decode([]byte(certPEM))
	cert, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	issuer, err := x509.ParseCertificate(fetch(t, e.base+"/ca/signature.crt"))
	if err != nil {
		t.Fatal(err)
	}
	f := newFetcher()
	crls, ocsps, err := f.Revocation(context.Background(), cert, issuer)
	if err != nil || len(ocsps) != 1 || len(crls) != 0 {
		t.Fatalf("want one OCSP response and no CRL fallback: %d CRLs, %d OCSP, %v", len(crls), len(ocsps), err)
	}
	r, err := ocsp.ParseResponseForCert(ocsps[0], cert, issuer)
	if err != nil || r.Status != ocsp.Good {
		t.Fatalf("OCSP answer: %v %v", r, err)
	}
	req, nonce, err := ocspRequest(cert, issuer)
	if err != nil {
		t.Fatal(err)
	}
	der := e.app.OCSP.Respond(context.Background(), req).DER
	if !echoes(der, nonce) {
		t.Error("the responder's answer does not echo our nonce")
	}
	nonce[0] ^= 1
	if err := checkOCSP(der, "in-process", cert, issuer, nonce); err == nil {
		t.Error("an answer to another nonce was accepted")
	}
}
