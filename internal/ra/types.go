package ra

import (
	"context"
	"time"

	"github.com/tawthiq/tawthiq/internal/auditlog"
	"github.com/tawthiq/tawthiq/internal/issuance"
	"github.com/tawthiq/tawthiq/internal/law"
)

// Status is where an application stands.
type Status string

// Application states. An application moves pending -> approved -> issued, or to rejected.
const (
	StatusPending  Status = "pending"
	StatusApproved Status = "approved"
	StatusIssued   Status = "issued"
	StatusRejected Status = "rejected"
)

// IDDocument records how the holder's identity was verified (L-21-3-1): the
// document's characteristics and references, never the document itself.
type IDDocument struct {
	Type           law.IDDocumentType `json:"type"`
	Number         string             `json:"number"`
	Issuer         string             `json:"issuer"`
	Country        string             `json:"country"`
	Expiry         time.Time          `json:"expiry"`
	Method         law.VettingMethod  `json:"method"`
	EvidenceSHA256 []byte             `json:"evidence_sha256"` // hash of the scanned evidence kept by the RA
}

// Capacity is the proof of a claimed title (L-21-3-1, L-11 d).
type Capacity struct {
	Title       string `json:"title"`
	ProofKind   string `json:"proof_kind"` // e.g. "power-of-attorney", "employer-letter"
	ProofSHA256 []byte `json:"proof_sha256"`
}

// Application is a request for a certificate with its registration record.
type Application struct {
	ID                string
	Profile           string
	Subject           issuance.Subject
	Identity          IDDocument
	Capacity          *Capacity // nil when no title is claimed
	TermsVersion      string    // L-21-3-3: accepted before any issuance
	TermsAcceptedAt   time.Time
	ConsentDirectory  bool   // L-21-2: publication in the directory
	ConsentEmail      bool   // L-65-3: notices by e-mail
	ContactEmail      string //
	ContactPhone      string
	Language          string // ar, fr or en
	CSR               []byte // DER
	SPKISHA256        []byte // SHA-256 of the CSR's SubjectPublicKeyInfo
	KeyInQSCD         bool
	LimitMAD          int64
	SubmittedBy       string // user ID of whoever submitted it
	Status            Status
	CreatedAt         time.Time
	Approvals         []Approval
	CertificateSerial string // set once issued
	// RevocationSecretSHA256 is the hash of the holder's revocation secret (L-21-1),
	// stored with the application; the secret itself is never stored.
	RevocationSecretSHA256 []byte
	// RevocationSecret is handed to the submitter once, by Submit, and never stored.
	RevocationSecret string
}

// Approval is one RA officer's decision on an application.
type Approval struct {
	ApplicationID string
	Officer       string // user ID
	At            time.Time
	Note          string
}

// Terms is a version of the subscriber terms (L-21-3-3).
type Terms struct {
	Version     string
	SHA256      []byte
	Text        string
	PublishedAt time.Time
}

// KeyUse is a certificate already issued for a public key.
type KeyUse struct {
	Serial               string
	HolderIDNumber       string // the holder's ID document number
	RevokedForCompromise bool
}

// Store is what the RA needs from the database. Every write carries the audit
// entries that record it; the store appends them in the same transaction.
type Store interface {
	CreateApplication(ctx context.Context, a *Application, e auditlog.Entry) error
	Application(ctx context.Context, id string) (*Application, error)
	// AddApproval records an approval; the store counts the distinct approvals in the
	// same transaction and moves the application to approved at law.RequiredApprovals,
	// returning the resulting status (so two officers approving at once both count). A second
	// approval by the same officer is refused by the database (errkind.Conflict).
	AddApproval(ctx context.Context, ap Approval, e auditlog.Entry) (Status, error)
	SetApplicationStatus(ctx context.Context, id string, from, to Status, e auditlog.Entry) error
	// KeyUses returns the certificates (reserved or issued) for a public key.
	KeyUses(ctx context.Context, spkiSHA256 []byte) ([]KeyUse, error)
	// KeyCompromised reports whether a key was ever declared compromised (L-25).
	KeyCompromised(ctx context.Context, spkiSHA256 []byte) (bool, error)
	// KeyRevoked reports whether a certificate of a key was ever revoked, on any ground (L-25).
	KeyRevoked(ctx context.Context, spkiSHA256 []byte) (bool, error)
	PublishTerms(ctx context.Context, t Terms, e auditlog.Entry) error
	Terms(ctx context.Context, version string) (*Terms, error)
	CurrentTerms(ctx context.Context) (*Terms, error)
}
