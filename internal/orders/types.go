package orders

import (
	"context"
	"time"

	"github.com/tawthiq/tawthiq/internal/auditlog"
	"github.com/tawthiq/tawthiq/internal/ca"
	"github.com/tawthiq/tawthiq/internal/notify"
	"github.com/tawthiq/tawthiq/internal/ra"
	"github.com/tawthiq/tawthiq/internal/revocation"
)

// Kind is what a judicial order asks of the CSP.
type Kind string

// Kinds of judicial order (L-21-3-7 b).
const (
	KindRevoke     Kind = "revoke"      // tell the holders and revoke the certificates
	KindNotifyOnly Kind = "notify-only" // tell the holders their certificates are non-compliant
)

// Audit actions of this package.
const (
	ActionOrderRecord      auditlog.Action = "judicial-order.record"
	ActionOrderComplete    auditlog.Action = "judicial-order.complete"
	ActionDisclosureRecord auditlog.Action = "disclosure.record"
)

// Order is a judicial authority's order, recorded once and never changed (L-21-3-7 b).
type Order struct {
	Ref        string // the court's reference: unique
	Court      string
	Date       time.Time // the order's date
	Kind       Kind
	Note       string
	Holders    []string // holders' user IDs: every issued certificate of theirs
	Serials    []string // certificates named one by one
	RecordedBy string
	RecordedAt time.Time
	Completion *Completion // nil until executed to the end
}

// Completion is the end of an order's execution.
type Completion struct {
	Certificates int // certificates in scope
	Revoked      int // of them, revoked on this order
	Holders      int // holders told
	At           time.Time
}

// Target is a certificate an order reaches, with its holder.
type Target struct {
	Serial        string
	CA            string
	ApplicationID string
	HolderID      string
	Issued        bool
	Revoked       bool
	OrderRef      string // the order its revocation carries, if revoked
	ConsentEmail  bool
	ContactEmail  string
	Language      string
}

// Progress is where an execution stands; Stage is "revoking", "notifying" or "done".
type Progress struct {
	Stage    string
	Total    int // certificates in scope
	Revoked  int // revoked on this order so far (including earlier runs)
	Holders  int
	Notified int // holders whose notice is queued
}

// Disclosure is the handing over of holders' certificate creation data to the
// judicial authorities on the King's prosecutor's order (L-24).
type Disclosure struct {
	Ref          string // the prosecutor's reference: unique
	Office       string // the prosecutor's office
	Date         time.Time
	Holders      []string
	RecordedBy   string
	RecordedAt   time.Time
	Export       []byte // CMS SignedData (CAdES B-T), enveloping the JSON export
	ExportSHA256 []byte
}

// Store is what orders need from the database; every write carries its audit entries.
type Store interface {
	// PutOrder records an order and its scope (errkind.Conflict if its reference exists).
	PutOrder(ctx context.Context, o Order, e auditlog.Entry) error
	// Order returns an order with its scope and completion (errkind.NotFound if none).
	Order(ctx context.Context, ref string) (*Order, error)
	// UnknownScope returns the holders without any application and the serials of no certificate.
	UnknownScope(ctx context.Context, holders, serials []string) ([]string, error)
	// OrderTargets returns the certificates an order reaches: those it names and every
	// issued certificate of the holders it names, in serial order.
	OrderTargets(ctx context.Context, ref string) ([]Target, error)
	// CompleteOrder records an order's completion once; a second call changes nothing.
	CompleteOrder(ctx context.Context, ref string, c Completion, e auditlog.Entry) error
	// HolderApplications returns the applications a holder submitted, with their approvals, oldest first.
	HolderApplications(ctx context.Context, holderID string) ([]ra.Application, error)
	// ApplicationCertificates returns the certificates of an application, issued or not.
	ApplicationCertificates(ctx context.Context, applicationID string) ([]ca.Certificate, error)
	// PutDisclosure records a disclosure with its export and audit entries (errkind.Conflict if its reference exists).
	PutDisclosure(ctx context.Context, d Disclosure, entries []auditlog.Entry) error
	// Disclosure returns a disclosure (errkind.NotFound if none).
	Disclosure(ctx context.Context, ref string) (*Disclosure, error)
}

// Revoker revokes on the judicial ground; *revocation.Service implements it.
type Revoker interface {
	RevokeForOrder(ctx context.Context, actor, orderRef, note string, serials []string) ([]revocation.Revocation, error)
	HoldPublication() (release func())
}

// Notifier queues holder notices once per key; *notify.Service implements it.
type Notifier interface {
	EnqueueHolder(ctx context.Context, h notify.HolderNotice) (bool, error)
}

// Sealer seals content as the CSP: an enveloping CAdES B-T signature (L-24, L-417-1).
type Sealer interface {
	Seal(ctx context.Context, content []byte) ([]byte, error)
}

var (
	_ Revoker  = (*revocation.Service)(nil)
	_ Notifier = (*notify.Service)(nil)
)
