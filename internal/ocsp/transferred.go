package ocsp

import "bytes"

// Unauthorized reports whether the answer says this responder does not answer for
// the request's issuer: the CSP then asks the responder of the CAs it took over from
// a ceasing CSP (L-23), whose issuers are the ceding CAs with a delegated responder
// they issued to this CSP.
func (a Answer) Unauthorized() bool { return bytes.Equal(a.DER, unauthorizedDER) }
