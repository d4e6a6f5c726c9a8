package evidence

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// ArchiveRecord is the audit-log entry that recorded an archived item (its data
// holds the item's SHA-256), as the leaf the log commits to (auditlog.Entry's
// Encode), and its inclusion proof in LogEvidence.Checkpoint.
type ArchiveRecord struct {
	Entry []byte
	Proof tlog.RecordProof
}

// LogEvidence is the signed head of the audit log the proofs lead to.
type LogEvidence struct {
	Checkpoint  []byte // the signed note (C2SP checkpoint)
	Timestamp   []byte // RFC 3161 token over SHA-256 of Checkpoint; nil when unstamped
	VerifierKey string // the note verifier key of the log
}

// proofFile is an inclusion proof as the bundle keeps it.
type proofFile struct {
	Index    int64    `json:"index"`
	TreeSize int64    `json:"treeSize"`
	Hashes   []string `json:"hashes"` // base64, as tlog.RecordProof
}

func encodeProof(idx, size int64, p tlog.RecordProof) []byte {
	f := proofFile{Index: idx, TreeSize: size, Hashes: []string{}}
	for _, h := range p {
		f.Hashes = append(f.Hashes, base64.StdEncoding.EncodeToString(h[:]))
	}
	b, _ := json.MarshalIndent(f, "", "  ") // only strings and integers: no error
	return b
}

func decodeProof(b []byte) (proofFile, tlog.RecordProof, error) {
	var f proofFile
	if err := json.Unmarshal(b, &f); err != nil {
		return f, nil, err
	}
	if len(f.Hashes) > 64 {
		return f, nil, errors.New("more hashes than any tree of 2^63 entries needs")
	}
	p := make(tlog.RecordProof, 0, len(f.Hashes))
	for _, s := range f.Hashes {
		d, err := base64.StdEncoding.DecodeString(s)
		if err != nil || len(d) != tlog.HashSize {
			return f, nil, fmt.Errorf("hash %q", s)
		}
		p = append(p, tlog.Hash(d))
	}
	return f, p, nil
}

// logEntry is an audit-log entry read back from its leaf encoding.
type logEntry struct {
	Seq                            int64
	Time                           time.Time
	Actor, Action, Subject, Ground string
	Data                           []byte
	leaf                           []byte
}

// LeafHash is the RFC 6962 leaf hash the log's tree holds for the entry.
func (e logEntry) LeafHash() tlog.Hash { return tlog.RecordHash(e.leaf) }

// decodeEntry reads the tawthiq-audit-v1 leaf encoding (auditlog.Entry.Encode):
// a header line, seq, milliseconds, four quoted fields, then the JSON data. It
// is read here, not through auditlog, so that this mechanism depends on no
// service; the tests check both agree.
func decodeEntry(b []byte) (logEntry, error) {
	e := logEntry{leaf: b}
	parts := strings.SplitN(string(b), "\n", 8)
	if len(parts) != 8 || parts[0] != "tawthiq-audit-v1" || !strings.HasSuffix(parts[7], "\n") {
		return e, errors.New("not a tawthiq-audit-v1 entry")
	}
	var err error
	if e.Seq, err = strconv.ParseInt(parts[1], 10, 64); err != nil || e.Seq < 0 || strconv.FormatInt(e.Seq, 10) != parts[1] {
		return e, fmt.Errorf("entry sequence %q", parts[1])
	}
	msec, err := strconv.ParseInt(parts[2], 10, 64)
	if err != nil || strconv.FormatInt(msec, 10) != parts[2] {
		return e, fmt.Errorf("entry time %q", parts[2])
	}
	e.Time = time.UnixMilli(msec).UTC()
	fields := make([]string, 4)
	for i := range fields {
		if fields[i], err = strconv.Unquote(parts[3+i]); err != nil || strconv.Quote(fields[i]) != parts[3+i] {
			return e, fmt.Errorf("entry field %d is not quoted as the log quotes it", i+1)
		}
	}
	e.Actor, e.Action, e.Subject, e.Ground = fields[0], fields[1], fields[2], fields[3]
	if data := strings.TrimSuffix(parts[7], "\n"); data != "" {
		if strings.Contains(data, "\n") || !json.Valid([]byte(data)) {
			return e, errors.New("entry data is not one line of JSON")
		}
		e.Data = []byte(data)
	}
	return e, nil
}

// ArchivedSHA256 returns the hex SHA-256 an archive entry's data records, ""
// if none. The archive service writes it as {"sha256": "..."} (internal/archive).
func ArchivedSHA256(data []byte) string {
	var d struct {
		SHA256 string `json:"sha256"`
	}
	if json.Unmarshal(data, &d) != nil {
		return ""
	}
	if b, err := hex.DecodeString(d.SHA256); err != nil || len(b) != sha256.Size {
		return ""
	}
	return d.SHA256
}

// checkedHead is a checkpoint whose signature verified.
type checkedHead struct {
	Origin string
	Size   int64
	Root   tlog.Hash
	Time   time.Time
}

// openCheckpoint checks the note's signature with vkey and reads its head.
func openCheckpoint(signed []byte, vkey string) (checkedHead, error) {
	var h checkedHead
	v, err := note.NewVerifier(strings.TrimSpace(vkey))
	if err != nil {
		return h, fmt.Errorf("the log's verifier key: %v", err)
	}
	n, err := note.Open(signed, note.VerifierList(v))
	if err != nil {
		return h, fmt.Errorf("the checkpoint's signature does not verify: %v", err)
	}
	// C2SP checkpoint body: origin, size, base64 root, then extension lines.
	lines := strings.Split(n.Text, "\n")
	if len(lines) < 4 {
		return h, fmt.Errorf("the checkpoint has %d lines", len(lines))
	}
	h.Origin = lines[0]
	if h.Size, err = strconv.ParseInt(lines[1], 10, 64); err != nil || h.Size < 0 {
		return h, fmt.Errorf("checkpoint size %q", lines[1])
	}
	root, err := base64.StdEncoding.DecodeString(lines[2])
	if err != nil || len(root) != tlog.HashSize {
		return h, fmt.Errorf("checkpoint root %q", lines[2])
	}
	copy(h.Root[:], root)
	if strings.HasPrefix(lines[3], "time ") {
		h.Time, _ = time.Parse("2006-01-02T15:04:05.000Z", strings.TrimPrefix(lines[3], "time "))
	}
	return h, nil
}
