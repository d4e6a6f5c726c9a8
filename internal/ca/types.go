package ca

import (
	"context"
	"time"

	"github.com/tawthiq/tawthiq/internal/auditlog"
)

// Status is where a certificate stands.
type Status string

// Certificate states. A serial is reserved (with its linted TBS) before the key
// signs; it becomes issued once the signed certificate is verified and stored.
// A reservation that can never be completed is abandoned, never deleted.
const (
	StatusReserved  Status = "reserved"
	StatusIssued    Status = "issued"
	StatusAbandoned Status = "abandoned"
)

// Certificate is the CA's record of one certificate.
type Certificate struct {
	Serial        string // lower-case hex, no leading zeros
	CA            string // issuing CA's name
	ApplicationID string // its registration record (never empty: the database refuses it)
	Profile       string
	SPKISHA256    []byte
	Subject       string // RFC 4514 string, for display
	NotBefore     time.Time
	NotAfter      time.Time
	TBS           []byte // the linted to-be-signed certificate, recorded before signing
	DER           []byte // the signed certificate, once issued
	Status        Status
	ReservedAt    time.Time
	IssuedAt      time.Time // L-21-1: UTC to the millisecond
}

// Authority is a CA of this CSP: root or issuing CA, or a delegated signer (OCSP, TSA).
type Authority struct {
	Name      string // "root", "signature", "seal", "ocsp-signature", "tsa"...
	Role      string // "root", "issuing", "ocsp", "tsa"
	Parent    string // issuer's name; empty for a root
	KeyURI    string // where the key is (file: or pkcs11:); never the key itself
	DER       []byte
	CreatedAt time.Time
}

// Store is what the CA needs from the database. Every write carries its audit entry.
type Store interface {
	// Reserve records a serial with its TBS before signing; a serial used twice is
	// refused by the database (errkind.Conflict), as is one without its application.
	Reserve(ctx context.Context, c *Certificate, e auditlog.Entry) error
	// MarkIssued stores the signed certificate of a reserved serial.
	MarkIssued(ctx context.Context, serial string, der []byte, issuedAt time.Time, e auditlog.Entry) error
	// Abandon closes a reservation that will never be signed.
	Abandon(ctx context.Context, serial string, e auditlog.Entry) error
	// KeyCompromised reports whether a public key (SHA-256 of its SPKI) was ever declared compromised (L-25).
	KeyCompromised(ctx context.Context, spkiSHA256 []byte) (bool, error)
	Reserved(ctx context.Context) ([]Certificate, error)
	Certificate(ctx context.Context, serial string) (*Certificate, error)
	PutAuthority(ctx context.Context, a Authority, e auditlog.Entry) error
	Authorities(ctx context.Context) ([]Authority, error)
}
