package evidence

import (
	"time"

	"github.com/tawthiq/tawthiq/internal/law"
	"github.com/tawthiq/tawthiq/internal/validation"
)

// Problem names one entry of the bundle and what is wrong with it.
type Problem struct {
	Entry  string `json:"entry"`
	Reason string `json:"reason"`
}

func (p Problem) String() string { return p.Entry + ": " + p.Reason }

// EntryCheck is one data object whose digest matched the manifest, and what it proves.
type EntryCheck struct {
	Name   string `json:"name"`
	SHA256 string `json:"sha256"`
	Proves string `json:"proves"`
	Rule   law.ID `json:"rule,omitempty"`
}

// Result is what Build stated (report.json) and what Verify found; field names are stable.
type Result struct {
	Format       string    `json:"format"` // "ASiC-E"
	ValidationAt time.Time `json:"validationTime"`
	// Entries are the data objects whose digest matched the manifest (Verify), or were listed (Build).
	Entries  []EntryCheck `json:"entries"`
	Problems []Problem    `json:"problems,omitempty"` // each changed, added, removed or unsafe entry
	// Seal is the validation of META-INF/signature.p7s over the manifest; nil in report.json,
	// which the seal signs.
	Seal      *validation.Report `json:"seal,omitempty"`
	Log       *LogCheck          `json:"auditLog,omitempty"`
	Documents []DocumentResult   `json:"documents"`
	// Differences are conclusions Verify reached otherwise than report.json states.
	Differences []string `json:"differences,omitempty"`
}

// OK reports whether the bundle is intact: every entry as sealed, nothing added
// or removed, the seal valid. The documents' own conclusions may still not hold.
func (r Result) OK() bool { return len(r.Problems) == 0 }

// LogCheck is what the audit-log head in the bundle shows.
type LogCheck struct {
	Origin    string                `json:"origin"`
	Size      int64                 `json:"size"`
	Root      string                `json:"root"` // base64
	SignedAt  time.Time             `json:"signedAt"`
	Verified  bool                  `json:"signatureVerified"`
	TimeStamp *validation.TimeStamp `json:"timeStamp,omitempty"`
}

// DocumentResult is one document, its signatures' validation and the conclusions.
type DocumentResult struct {
	Name        string                  `json:"name"`                // documents/...
	Signature   string                  `json:"signature,omitempty"` // signatures/....p7s for CAdES
	SHA256      string                  `json:"sha256"`
	Kind        string                  `json:"kind"` // CAdES or PAdES
	Indication  validation.Indication   `json:"indication"`
	Signatures  []validation.Report     `json:"signatures"`
	PDF         *validation.PDFReport   `json:"pdf,omitempty"`
	Archive     []ArchiveCheck          `json:"archive,omitempty"`
	Conclusions []validation.Conclusion `json:"conclusions"`
}

// ArchiveCheck is one archive entry of the audit log and its inclusion proof.
type ArchiveCheck struct {
	Item     string    `json:"item"` // the bundle entry whose SHA-256 the log entry records
	Seq      int64     `json:"seq"`
	Time     time.Time `json:"archivedAt"`
	Included bool      `json:"included"` // the proof leads to the signed checkpoint
	Why      string    `json:"why,omitempty"`
}
