package signature

import (
	"context"
	"crypto/x509"
)

// RevocationSource gives, for cert issued by issuer, the revocation data a
// relying party needs later without the network (B-LT, EN 319 122-1 §5.5):
// DER CRLs and/or DER OCSP responses. The app fetches them; tests serve them.
type RevocationSource interface {
	Revocation(ctx context.Context, cert, issuer *x509.Certificate) (crls, ocsps [][]byte, err error)
}

// ValidationData is the material for long-term validation: certificates, CRLs
// and OCSP responses, each DER. CAdES carries it in the SignedData, PAdES in
// the document security store (DSS).
type ValidationData struct {
	Certs, CRLs, OCSPs [][]byte
}
