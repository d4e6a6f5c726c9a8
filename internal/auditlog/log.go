package auditlog

import (
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/tawthiq/tawthiq/internal/clock"
	"github.com/tawthiq/tawthiq/internal/errkind"
	"github.com/tawthiq/tawthiq/internal/law"
)

// Log signs checkpoints of the audit log and reads them back.
type Log struct {
	store   Store
	signer  *noteSigner
	stamper Stamper // nil: checkpoints are signed but not time-stamped
	clock   clock.Clock
	origin  string
}

// Stamper time-stamps a SHA-256 digest: the CSP's RFC 3161 TSA (tsa.Service).
type Stamper interface {
	// StampDigest returns a TimeStampToken (the CMS ContentInfo) over sha256, or
	// an error when the TSA refuses, e.g. while its clock is unsynchronised.
	StampDigest(ctx context.Context, sha256 [32]byte) (token []byte, err error)
}

// New returns a Log whose checkpoints are signed by key (an Ed25519 crypto.Signer,
// which may live in an HSM or an encrypted file) under the name origin, and, when
// ts is not nil, time-stamped by it. Pass a nil interface, not a nil *tsa.Service.
func New(st Store, key crypto.Signer, origin string, clk clock.Clock, ts Stamper) (*Log, error) {
	s, err := newNoteSigner(origin, key)
	if err != nil {
		return nil, err
	}
	return &Log{store: st, signer: s, stamper: ts, clock: clk, origin: origin}, nil
}

// StampError says a checkpoint was signed and stored, but without a time-stamp
// token, because the TSA refused or failed. The log itself is intact.
type StampError struct {
	Size int64 // the checkpoint's size
	Err  error
}

func (e *StampError) Error() string {
	return fmt.Sprintf("audit checkpoint at size %d stored without a time-stamp: %v", e.Size, e.Err)
}

func (e *StampError) Unwrap() error { return e.Err }

// Unstamped reports whether err says only that the checkpoint was stored without
// its time-stamp token (a *StampError): the checkpoint itself was signed and stored.
func Unstamped(err error) bool {
	_, ok := err.(*StampError)
	return ok
}

// VerifierKey returns the note verifier key ("name+hash+key") that checks checkpoints.
func (l *Log) VerifierKey() string { return l.signer.vkey }

// Checkpoint signs the current head of the log and stores the checkpoint. The
// checkpoint's own entry goes into the log after it, so the next one covers it.
func (l *Log) Checkpoint(ctx context.Context) (*Checkpoint, error) {
	size, err := l.store.AuditSize(ctx)
	if err != nil {
		return nil, err
	}
	if last, err := l.store.LatestCheckpoint(ctx); err == nil && l.idle(ctx, last, size) {
		return last, nil
	}
	root, err := tlog.TreeHash(size, hashReader{ctx, l.store})
	if err != nil {
		return nil, errkind.Wrap(errkind.Internal, err, "computing the audit log root")
	}
	now := law.Timestamp(l.clock.Now())
	text := FormatCheckpoint(l.origin, size, root, now)
	signed, err := note.Sign(&note.Note{Text: text}, l.signer)
	if err != nil {
		return nil, errkind.Wrap(errkind.Unavailable, err, "signing the audit checkpoint")
	}
	cp := Checkpoint{Size: size, Root: root, Time: now, Signed: signed}
	// Verify every signature before it leaves (STYLE #8).
	if _, err := note.Open(signed, note.VerifierList(l.signer.verifier)); err != nil {
		return nil, errkind.Wrap(errkind.Internal, err, "checkpoint signature does not verify")
	}
	// The token goes in with the checkpoint: the row is never changed afterwards.
	var stampErr error
	if l.stamper != nil {
		tok, err := l.stamper.StampDigest(ctx, sha256.Sum256(signed))
		if err != nil {
			// A TSA that refuses (its clock unsynchronised, say) must not stop the log:
			// the checkpoint is signed and stored without a token, and the refusal is
			// returned, so Run reports it through onErr. The next checkpoint, once the
			// log has moved, is stamped again.
			stampErr = &StampError{Size: size, Err: err}
		} else {
			cp.Timestamp = tok
		}
	}
	if err := l.store.PutCheckpoint(ctx, cp); err != nil {
		return nil, err
	}
	if err := l.store.Append(ctx, NewEntry(now, "system", ActionCheckpoint, strconv.FormatInt(size, 10),
		map[string]string{"root": base64.StdEncoding.EncodeToString(root[:])})); err != nil {
		return &cp, errors.Join(err, stampErr)
	}
	return &cp, stampErr
}

// idle reports whether nothing but last's own log.checkpoint entry was appended
// since last; signing again would only add another such entry, on every tick.
func (l *Log) idle(ctx context.Context, last *Checkpoint, size int64) bool {
	if last.Size == size {
		return true
	}
	if last.Size+1 != size {
		return false
	}
	es, err := l.store.AuditEntries(ctx, last.Size, size)
	return err == nil && len(es) == 1 && es[0].Action == ActionCheckpoint && es[0].Actor == "system" &&
		es[0].Subject == strconv.FormatInt(last.Size, 10)
}

// Latest returns the newest signed checkpoint.
func (l *Log) Latest(ctx context.Context) (*Checkpoint, error) { return l.store.LatestCheckpoint(ctx) }

// Run signs a checkpoint every interval until ctx ends; a failure is reported to
// onErr, including a checkpoint stored without its time-stamp (a *StampError):
// a failing TSA clock never stops the log.
func (l *Log) Run(ctx context.Context, interval time.Duration, onErr func(error)) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if _, err := l.Checkpoint(ctx); err != nil && onErr != nil {
				onErr(err)
			}
		}
	}
}

// FormatCheckpoint writes the C2SP checkpoint body: origin, size, root, then a timestamp extension line.
func FormatCheckpoint(origin string, size int64, root tlog.Hash, at time.Time) string {
	return fmt.Sprintf("%s\n%d\n%s\ntime %s\n", origin, size, base64.StdEncoding.EncodeToString(root[:]),
		at.UTC().Format("2006-01-02T15:04:05.000Z"))
}

// ParseCheckpoint reads the size and root back from a checkpoint body.
func ParseCheckpoint(text string) (origin string, size int64, root tlog.Hash, err error) {
	lines := strings.Split(text, "\n")
	if len(lines) < 4 {
		return "", 0, root, fmt.Errorf("checkpoint has %d lines", len(lines))
	}
	size, err = strconv.ParseInt(lines[1], 10, 64)
	if err != nil || size < 0 {
		return "", 0, root, fmt.Errorf("checkpoint size %q", lines[1])
	}
	h, err := base64.StdEncoding.DecodeString(lines[2])
	if err != nil || len(h) != len(root) {
		return "", 0, root, fmt.Errorf("checkpoint root %q", lines[2])
	}
	copy(root[:], h)
	return lines[0], size, root, nil
}

type hashReader struct {
	ctx context.Context
	st  Store
}

func (r hashReader) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	return r.st.ReadHashes(r.ctx, indexes)
}

// noteSigner signs notes with an Ed25519 crypto.Signer, so the checkpoint key can
// stay encrypted or in an HSM (note.NewSigner wants the key in clear).
type noteSigner struct {
	name     string
	hash     uint32
	key      crypto.Signer
	vkey     string
	verifier note.Verifier
}

func newNoteSigner(name string, key crypto.Signer) (*noteSigner, error) {
	pub, ok := key.Public().(ed25519.PublicKey)
	if !ok {
		return nil, errkind.New(errkind.Invalid, law.L21_2, "the audit checkpoint key must be Ed25519, not %T", key.Public())
	}
	if name == "" || strings.ContainsAny(name, "+ \t\n") || !utf8.ValidString(name) {
		return nil, errkind.New(errkind.Invalid, "", "checkpoint origin %q is not a valid note name", name)
	}
	enc := append([]byte{1}, pub...) // algorithm byte 1: Ed25519
	h := sha256.New()
	h.Write([]byte(name + "\n"))
	h.Write(enc)
	hash := binary.BigEndian.Uint32(h.Sum(nil))
	vkey := fmt.Sprintf("%s+%08x+%s", name, hash, base64.StdEncoding.EncodeToString(enc))
	v, err := note.NewVerifier(vkey)
	if err != nil {
		return nil, errkind.Wrap(errkind.Internal, err, "building the checkpoint verifier")
	}
	return &noteSigner{name: name, hash: hash, key: key, vkey: vkey, verifier: v}, nil
}

func (s *noteSigner) Name() string    { return s.name }
func (s *noteSigner) KeyHash() uint32 { return s.hash }
func (s *noteSigner) Sign(msg []byte) ([]byte, error) {
	return s.key.Sign(nil, msg, crypto.Hash(0))
}
