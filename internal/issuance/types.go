package issuance

import (
	"crypto"
	"encoding/asn1"
	"math/big"
	"time"
)

// Subject is the certified identity, per ETSI EN 319 412-2 (natural persons) and -3 (legal persons).
type Subject struct {
	GivenName    string `json:"given_name,omitempty"`
	Surname      string `json:"surname,omitempty"`
	Pseudonym    string `json:"pseudonym,omitempty"` // L-11 c: replaces the name, marked as a pseudonym
	CommonName   string `json:"common_name,omitempty"`
	SerialNumber string `json:"serial_number,omitempty"` // EN 319 412-1 identifier: "IDCMA-AB123456"
	Title        string `json:"title,omitempty"`         // L-11 d: the holder's capacity
	Country      string `json:"country"`
	Organization string `json:"organization,omitempty"`
	// OrganizationIdentifier is the legal person's EN 319 412-1 identifier: "NTRMA-123456".
	OrganizationIdentifier string `json:"organization_identifier,omitempty"`
	Email                  string `json:"email,omitempty"`
}

// PersonKind says whom a profile certifies.
type PersonKind string

// The kinds of holder.
const (
	NaturalPerson PersonKind = "natural" // signature certificates, QcType esign
	LegalPerson   PersonKind = "legal"   // seal certificates, QcType eseal
)

// Profile is a kind of end-entity certificate a CSP issues.
type Profile struct {
	Name     string        `json:"name"`
	CA       string        `json:"ca"` // the issuing CA's name
	Kind     PersonKind    `json:"kind"`
	Validity time.Duration `json:"validity"`
	// Qualified marks secured (qualified) certificates, which carry every L-11 content.
	Qualified bool `json:"qualified"`
	// RequireQSCD refuses applications whose key is not in a qualified device.
	RequireQSCD bool `json:"require_qscd"`
}

// CSP is the provider's identity and publication points, written into every certificate (L-11 b).
type CSP struct {
	Name                   string // e.g. "Tawthiq Demo CSP"
	OrganizationIdentifier string // e.g. "NTRMA-123456" (trade register) or ICE
	Country                string // law.CSPCountry
	BaseURL                string // where CRLs, OCSP and CA certificates are served, e.g. "http://127.0.0.1:8080"
	PolicyOID              asn1.ObjectIdentifier
	PDS                    map[string]string // language -> URL of the PKI disclosure statement (QcPDS)
	// CRLShards partitions each CA's CRL by serial mod CRLShards; 0 or 1 keeps one CRL per CA.
	CRLShards int
}

// Request is what the CA is asked to certify, after the RA approved it.
type Request struct {
	Profile   Profile
	Subject   Subject
	PublicKey crypto.PublicKey
	Serial    *big.Int
	NotBefore time.Time
	NotAfter  time.Time
	KeyInQSCD bool  // the key is in a qualified device (QcSSCD)
	LimitMAD  int64 // transaction limit in dirhams (QcLimitValue); 0 for none
}
