// Package auditlog keeps every state change of the CSP in an append-only Merkle
// tree log (C2SP tlog, RFC 6962 hashing) so that any later change to the records is
// apparent (L-21-2). Entries are appended by the store inside the transaction of the
// change they record; this package hashes them, signs checkpoints and verifies the log.
package auditlog

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"golang.org/x/mod/sumdb/tlog"
)

// Action names a kind of state change.
type Action string

// The actions the CSP records.
const (
	ActionApplicationCreate  Action = "application.create"
	ActionApplicationApprove Action = "application.approve"
	ActionApplicationReject  Action = "application.reject"
	ActionCertificateReserve Action = "certificate.reserve"
	ActionCertificateIssue   Action = "certificate.issue"
	ActionCertificateAbandon Action = "certificate.abandon"
	ActionCARegister         Action = "ca.register"
	ActionTermsPublish       Action = "terms.publish"
	ActionUserCreate         Action = "user.create"
	ActionTokenCreate        Action = "token.create"
	ActionTokenRevoke        Action = "token.revoke" // every token of a user withdrawn at once
	ActionLogin              Action = "auth.login"
	ActionLoginFailed        Action = "auth.failed"
	ActionPersonalDataRead   Action = "personal-data.read" // L-24: every read with its ground
	ActionCheckpoint         Action = "log.checkpoint"
	ActionCertificateRevoke  Action = "certificate.revoke"
	ActionCRLPublish         Action = "crl.publish"
	ActionDirectorySearch    Action = "directory.search" // L-21-2: every directory search, by a hash of its query
	ActionNoticeQueue        Action = "notice.queue"     // L-21-3-5, L-21-3-7: a holder notice recorded once
	ActionNoticeSend         Action = "notice.send"      // L-21-3-5: the notice was handed to the mail server
	ActionNoticeRetry        Action = "notice.retry"     // a delivery attempt failed; retried later
)

// Entry is one record of the log. The store assigns Seq; Time is UTC to the millisecond.
type Entry struct {
	Seq     int64
	Time    time.Time
	Actor   string          // user ID, or "system"
	Action  Action          // what happened
	Subject string          // what it happened to: an application ID, a serial...
	Ground  string          // why personal data was read (L-24); empty otherwise
	Data    json.RawMessage // details, compact JSON; may be empty
}

// Encode returns the exact bytes the Merkle leaf commits to. It includes Seq, so a
// row moved to another position no longer matches its leaf.
func (e Entry) Encode() []byte {
	var b bytes.Buffer
	b.WriteString("tawthiq-audit-v1\n")
	b.WriteString(strconv.FormatInt(e.Seq, 10))
	b.WriteByte('\n')
	b.WriteString(strconv.FormatInt(e.Time.UTC().UnixMilli(), 10))
	b.WriteByte('\n')
	for _, f := range []string{e.Actor, string(e.Action), e.Subject, e.Ground} {
		b.WriteString(strconv.Quote(f))
		b.WriteByte('\n')
	}
	b.Write(e.Data)
	b.WriteByte('\n')
	return b.Bytes()
}

// LeafHash is the RFC 6962 leaf hash of the entry.
func (e Entry) LeafHash() tlog.Hash { return tlog.RecordHash(e.Encode()) }

// NewEntry builds an entry whose Data is the JSON of data (nil for none).
func NewEntry(at time.Time, actor string, action Action, subject string, data any) Entry {
	e := Entry{Time: at.UTC().Truncate(time.Millisecond), Actor: actor, Action: action, Subject: subject}
	if data != nil {
		raw, err := json.Marshal(data)
		if err != nil {
			// Only our own types go here; a failure is a programming error.
			panic(fmt.Sprintf("auditlog: entry data for %s: %v", action, err))
		}
		e.Data = raw
	}
	return e
}

// HashesToStore returns the tlog hashes to store when e is appended as record n,
// reading earlier hashes through r. The store calls it inside its transaction.
func HashesToStore(n int64, e Entry, r tlog.HashReader) ([]tlog.Hash, error) {
	if e.Seq != n {
		return nil, fmt.Errorf("auditlog: entry seq %d appended at position %d", e.Seq, n)
	}
	return tlog.StoredHashes(n, e.Encode(), r)
}

// Checkpoint is a signed statement of the log's size and root hash (C2SP signed note).
type Checkpoint struct {
	Size   int64
	Root   tlog.Hash
	Time   time.Time
	Signed []byte // the signed note, as served at GET /checkpoint
	// Timestamp is an RFC 3161 TimeStampToken over SHA-256 of Signed, from the
	// CSP's TSA; nil when there is no TSA or it refused to stamp (see Log.Checkpoint).
	Timestamp []byte
}

// Store is what the log's reader and signer need from the database. Appends happen
// inside the store's own transactions (see HashesToStore).
type Store interface {
	AuditSize(ctx context.Context) (int64, error)
	// AuditEntries returns entries with from <= Seq < to, in order.
	AuditEntries(ctx context.Context, from, to int64) ([]Entry, error)
	// ReadHashes implements tlog.HashReader over the stored hashes.
	ReadHashes(ctx context.Context, indexes []int64) ([]tlog.Hash, error)
	// Append adds entries that record no other change.
	Append(ctx context.Context, e ...Entry) error
	PutCheckpoint(ctx context.Context, c Checkpoint) error
	LatestCheckpoint(ctx context.Context) (*Checkpoint, error) // errkind.NotFound if none
	Checkpoints(ctx context.Context) ([]Checkpoint, error)
}
