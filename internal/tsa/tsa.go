// Package tsa is the RFC 3161 time-stamping authority (with RFC 5816's ESSCertIDv2
// and ETSI EN 319 422's qualified time-stamp statement). It stamps only while its
// clock is known to be within the stated accuracy (L-21-1) and records every token
// before the reply leaves (L-21-2).
//
// The signature self-check (STYLE #8) is sampled by default: the first token, one
// in DefaultVerifyOneIn after it, and every token for a while after the signer
// erred or a signature failed; Config.VerifyOneIn = 1 verifies every token. An
// ECDSA verification costs about two signatures and cannot be made cheaper, so a
// check of every token would cost more CPU than the token itself; what the check
// guards against is a signer gone wrong (a faulty HSM or key, a fault attack), and
// a persistent fault is caught within VerifyOneIn tokens, each of them recorded.
//
// The hot path writes each token from templates encoded at start (see fixed), into
// one buffer, and signs the digest of the signed attributes directly.
package tsa

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"encoding/asn1"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tawthiq/tawthiq/internal/clock"
	"github.com/tawthiq/tawthiq/internal/errkind"
	"github.com/tawthiq/tawthiq/internal/issuance"
	"github.com/tawthiq/tawthiq/internal/law"
	"github.com/tawthiq/tawthiq/internal/timestamp"
)

// Record is the evidence kept of one token (L-21-2, L-425).
type Record struct {
	Serial    string    // hex of the serialNumber INTEGER contents
	GenTime   time.Time // genTime, millisecond precision (L-21-1)
	HashAlg   string    // "sha256", "sha384" or "sha512"
	Imprint   []byte    // hashedMessage
	Policy    string    // dotted policy OID
	CreatedAt time.Time
}

// Store keeps the records of issued tokens; a record must be durable when
// RecordTimestamp returns, and a serial is refused if already recorded.
type Store interface {
	RecordTimestamp(ctx context.Context, r Record) error
}

// DefaultAccuracy is the accuracy a TSA states when its configuration names none.
const DefaultAccuracy = time.Second

// Config is what a TSA needs.
type Config struct {
	Signer crypto.Signer
	Cert   *x509.Certificate   // the TSA certificate: critical id-kp-timeStamping alone
	Chain  []*x509.Certificate // its issuers up to, not including, the root; sent on certReq
	Policy asn1.ObjectIdentifier
	// Accuracy is stated in every token; the TSA refuses to stamp when the clock's
	// synchronisation is unknown or worse than it.
	Accuracy  time.Duration
	Qualified bool // add the esi4-qtstStatement-1 statement (EN 319 422 §9.1)
	Clock     clock.Clock
	Sync      SyncSource
	Store     Store
	// VerifyOneIn is how often a token's signature is verified before it leaves:
	// 1 verifies every one; 0 means DefaultVerifyOneIn. See Service.checkSignature.
	VerifyOneIn int
	// Journal, when set, is where a token is recorded before its reply; it
	// drains into Store. Nil: each token is recorded in Store directly.
	Journal *Journal
}

// DefaultVerifyOneIn samples the signature self-check: the first token, then one in
// 32, then every token for a while after any signer error.
const DefaultVerifyOneIn = 32

// Service stamps.
type Service struct {
	cfg    Config
	f      *fixed
	sigAlg x509.SignatureAlgorithm
	sigH   crypto.Hash // the hash of the signed attributes (0: Ed25519 signs them whole)
	policy string
	ecPub  *ecdsa.PublicKey // the certified key when ECDSA: verified without re-hashing

	verifyOneIn int
	stamped     atomic.Uint64 // tokens signed, for the sampled self-check
	distrusted  atomic.Int64  // tokens still to verify one by one after a failure
}

// New checks cfg and encodes what every token shares.
func New(cfg Config) (*Service, error) {
	if cfg.Signer == nil || cfg.Cert == nil || cfg.Clock == nil || cfg.Sync == nil || cfg.Store == nil {
		return nil, errkind.New(errkind.Invalid, law.LInternal, "TSA: signer, certificate, clock, sync source and store are required")
	}
	if len(cfg.Policy) < 2 {
		return nil, errkind.New(errkind.Invalid, law.LInternal, "TSA: no policy OID")
	}
	if cfg.Accuracy == 0 {
		cfg.Accuracy = DefaultAccuracy
	}
	if cfg.Accuracy < time.Microsecond || cfg.Accuracy > time.Minute {
		return nil, errkind.New(errkind.Invalid, law.L21_1, "TSA: accuracy %s outside 1µs..1m", cfg.Accuracy)
	}
	if pk, ok := cfg.Signer.Public().(interface{ Equal(crypto.PublicKey) bool }); !ok || !pk.Equal(cfg.Cert.PublicKey) {
		return nil, errkind.New(errkind.Invalid, law.L21_1, "TSA: the key does not match its certificate")
	}
	if err := checkTSACert(cfg.Cert); err != nil {
		return nil, err
	}
	algID, h, alg, err := issuance.SignatureAlgorithmFor(cfg.Signer.Public())
	if err != nil {
		return nil, err
	}
	f, err := newFixed(&cfg, algID, h)
	if err != nil {
		return nil, errkind.Wrap(errkind.Internal, err, "TSA: encoding the fixed parts")
	}
	if cfg.VerifyOneIn < 0 {
		return nil, errkind.New(errkind.Invalid, law.LInternal, "TSA: VerifyOneIn %d is negative", cfg.VerifyOneIn)
	}
	s := &Service{cfg: cfg, f: f, sigAlg: alg, sigH: h, policy: cfg.Policy.String(), verifyOneIn: cfg.VerifyOneIn}
	if s.verifyOneIn == 0 {
		s.verifyOneIn = DefaultVerifyOneIn
	}
	s.ecPub, _ = cfg.Cert.PublicKey.(*ecdsa.PublicKey)
	return s, nil
}

// checkTSACert enforces RFC 3161 §2.3: one extended key usage, timeStamping, critical.
func checkTSACert(c *x509.Certificate) error {
	for _, e := range c.Extensions {
		if e.Id.Equal(issuance.OIDExtKeyUsage) {
			if !e.Critical || len(c.ExtKeyUsage) != 1 || c.ExtKeyUsage[0] != x509.ExtKeyUsageTimeStamping || len(c.UnknownExtKeyUsage) != 0 {
				break
			}
			return nil
		}
	}
	return errkind.New(errkind.Invalid, law.L21_1, "TSA certificate must carry a critical extended key usage of id-kp-timeStamping alone (RFC 3161 §2.3)")
}

// Policy is the TSA policy OID in dotted form.
func (s *Service) Policy() string { return s.policy }

// Accuracy is the stated accuracy.
func (s *Service) Accuracy() time.Duration { return s.cfg.Accuracy }

// Reply is the answer to one request: always a TimeStampResp.
type Reply struct {
	DER      []byte
	Status   int // StatusGranted or StatusRejection
	FailInfo int // the PKIFailureInfo bit when refused, else -1
	Reason   string
}

// Health is whether the TSA stamps now, and why not.
type Health struct {
	Ready    bool          `json:"ready"`
	Reason   string        `json:"reason,omitempty"`
	Synced   bool          `json:"synchronised"`
	Offset   time.Duration `json:"-"`
	Accuracy time.Duration `json:"-"`
	Policy   string        `json:"policy"`
	Time     time.Time     `json:"time"`
}

// Health checks the clock as Stamp does.
func (s *Service) Health(now time.Time) Health {
	h := Health{Accuracy: s.cfg.Accuracy, Policy: s.policy, Time: now.UTC().Truncate(time.Millisecond)}
	h.Offset, h.Synced = s.cfg.Sync.Status(now)
	if f := s.clockFailure(h.Offset, h.Synced); f != nil {
		h.Reason = f.reason
		return h
	}
	h.Ready = true
	return h
}

func (s *Service) clockFailure(offset time.Duration, known bool) *failure {
	if !known {
		return &failure{failTimeNotAvailable, "the clock's synchronisation is unknown (L-21-1)"}
	}
	if offset < 0 {
		offset = -offset
	}
	if offset > s.cfg.Accuracy {
		return &failure{failTimeNotAvailable, fmt.Sprintf("the clock's error %s exceeds the stated accuracy %s (L-21-1)", offset, s.cfg.Accuracy)}
	}
	return nil
}

func refused(f *failure) Reply {
	return Reply{DER: refusal(f), Status: StatusRejection, FailInfo: f.bit, Reason: f.reason}
}

// Stamp answers a DER TimeStampReq. It never fails: every problem is a rejection
// with its PKIFailureInfo inside the reply.
func (s *Service) Stamp(ctx context.Context, der []byte) Reply {
	var req request
	if f := parseRequest(der, &req); f != nil {
		return refused(f)
	}
	if req.policy != nil && !bytes.Equal(req.policy, s.f.policy[2:]) {
		return refused(&failure{failUnacceptedPolicy, "the requested policy is not this TSA's (" + s.policy + ")"})
	}
	now := s.cfg.Clock.Now()
	if f := s.clockFailure(s.cfg.Sync.Status(now)); f != nil {
		return refused(f)
	}
	genTime := now.UTC().Truncate(time.Millisecond) // L-21-1
	var serial [16]byte
	if err := newSerial(&serial, genTime); err != nil {
		return refused(&failure{failSystemFailure, "no randomness for the serial number"})
	}
	// TSTInfo and the signed attributes are written into one scratch buffer; the
	// reply is then one exact allocation.
	sp := scratchPool.Get().(*[]byte)
	defer scratchPool.Put(sp)
	buf := s.f.appendTSTInfo((*sp)[:0], &req, serial[:], genTime)
	nt := len(buf)
	var md [64]byte
	buf = s.f.appendSignedAttrs(buf, sum(s.f.digest, buf[:nt], &md))
	*sp = buf
	tst, attrs := buf[:nt], buf[nt:]
	var dg [64]byte
	digest := attrs // Ed25519 signs the attributes themselves
	if s.sigH != 0 {
		digest = sum(s.sigH, attrs, &dg)
	}
	sig, err := s.cfg.Signer.Sign(rand.Reader, digest, s.sigH)
	if err != nil {
		s.distrust()
		return refused(&failure{failSystemFailure, "the TSA key could not sign"})
	}
	// STYLE #8, sampled: see checkSignature.
	if err := s.checkSignature(digest, attrs, sig); err != nil {
		return refused(&failure{failSystemFailure, "the token's signature does not verify"})
	}
	out := s.f.appendToken(make([]byte, 0, s.f.tokenSize(tst, attrs, sig, req.certReq)), tst, attrs, sig, req.certReq)
	rec := Record{Serial: hex.EncodeToString(serial[:]), GenTime: genTime, HashAlg: imprintHashes[req.hashIdx].Name,
		Imprint: bytes.Clone(req.hashed), Policy: s.policy, CreatedAt: genTime}
	// The reply leaves only once its record is durable (L-21-2).
	if err := s.record(ctx, rec); err != nil {
		return refused(&failure{failSystemFailure, "the token could not be recorded"})
	}
	return Reply{DER: out, Status: StatusGranted, FailInfo: -1}
}

func (s *Service) record(ctx context.Context, rec Record) error {
	if s.cfg.Journal != nil {
		return s.cfg.Journal.Append(rec)
	}
	return s.cfg.Store.RecordTimestamp(ctx, rec)
}

// Flush waits until every token recorded so far is in the Store (a no-op
// without a journal).
func (s *Service) Flush(ctx context.Context) error {
	if s.cfg.Journal == nil {
		return nil
	}
	return s.cfg.Journal.Flush(ctx)
}

// Close closes the journal, if any: the tokens it holds are drained, or
// replayed at the next start.
func (s *Service) Close() {
	if s.cfg.Journal != nil {
		s.cfg.Journal.Close()
	}
}

// JournalStats returns the journal's group-commit figures (zeros without a journal).
func (s *Service) JournalStats() JournalStats {
	if s.cfg.Journal == nil {
		return JournalStats{}
	}
	return s.cfg.Journal.Stats()
}

// newSerial writes a positive 126-bit serial: 48 bits of genTime's milliseconds,
// then 78 random bits. Unique without a round trip to the database before signing,
// across nodes too (the table's primary key, or the journal's drain, refuses the
// impossible repeat: a serial stored with other evidence is an error), and
// still unpredictable before genTime (more than the 64 bits CA/B asks of a
// certificate's serial); the time first makes each new serial sort after the
// last, so that recording a batch of tokens touches the index's last page instead
// of one random page per token.
func newSerial(serial *[16]byte, genTime time.Time) error {
	if _, err := rand.Read(serial[5:]); err != nil {
		return err
	}
	ms := uint64(genTime.UnixMilli()) & (1<<48 - 1)
	// 01 | 48 bits of time | 78 random bits: the time spans octets 0-6, sharing the
	// first with the two top bits and the seventh with the random bits.
	hi := 1<<62 | ms<<14 | uint64(serial[6]&0x3f)<<8 | uint64(serial[7])
	for i := range 8 {
		serial[i] = byte(hi >> (56 - 8*i))
	}
	return nil
}

// scratchPool holds the buffers TSTInfo and the signed attributes are written into.
var scratchPool = sync.Pool{New: func() any { b := make([]byte, 0, 2048); return &b }}

// sum hashes b with h into out, without allocating for the SHA-2 family.
func sum(h crypto.Hash, b []byte, out *[64]byte) []byte {
	switch h {
	case crypto.SHA256:
		d := sha256.Sum256(b)
		return append(out[:0], d[:]...)
	case crypto.SHA384:
		d := sha512.Sum384(b)
		return append(out[:0], d[:]...)
	case crypto.SHA512:
		d := sha512.Sum512(b)
		return append(out[:0], d[:]...)
	}
	hh := h.New()
	hh.Write(b)
	return hh.Sum(out[:0])
}

// checkSignature verifies a token's signature with the certified key before the
// token leaves (STYLE #8) — for every token when VerifyOneIn is 1, otherwise for
// the first token, one in VerifyOneIn after it, and every token for a while after
// the signer erred or a signature failed. A verification costs about two
// signatures, so checking all of them would spend more CPU on the check than on
// the token; what it protects against is a signer that has gone wrong (a faulty
// HSM or key, a fault attack), and a persistent fault is caught within VerifyOneIn
// tokens, each of them recorded, so the unchecked ones can be listed by time.
func (s *Service) checkSignature(digest, attrs, sig []byte) error {
	if !s.verifyNow() {
		return nil
	}
	var err error
	if s.ecPub != nil {
		if !ecdsa.VerifyASN1(s.ecPub, digest, sig) {
			err = errors.New("tsa: ECDSA signature does not verify")
		}
	} else {
		err = s.cfg.Cert.CheckSignature(s.sigAlg, attrs, sig)
	}
	if err != nil {
		s.distrust()
		return err
	}
	// One clean verification pays back one token of distrust.
	for {
		d := s.distrusted.Load()
		if d <= 0 || s.distrusted.CompareAndSwap(d, d-1) {
			return nil
		}
	}
}

// verifyNow says whether this token's signature is checked.
func (s *Service) verifyNow() bool {
	if s.verifyOneIn <= 1 || s.distrusted.Load() > 0 {
		return true
	}
	return (s.stamped.Add(1)-1)%uint64(s.verifyOneIn) == 0 // the first, then 1 in N
}

// distrust makes the next VerifyOneIn tokens (at least 64) verified, one by one.
func (s *Service) distrust() { s.distrusted.Store(max(int64(s.verifyOneIn), 64)) }

// StampDigest stamps a SHA-256 digest for the CSP's own records (the audit log's
// checkpoints). It goes through Stamp, so the clock check, the record and the
// signature check are those of every token, and returns the TimeStampToken (the
// ContentInfo, carrying the TSA certificate and its chain), or an error when the
// TSA refuses, e.g. while its clock is unsynchronised (L-21-1).
func (s *Service) StampDigest(ctx context.Context, digest [32]byte) ([]byte, error) {
	req, err := BuildRequest(crypto.SHA256, digest[:], nil, true, nil)
	if err != nil {
		return nil, errkind.Wrap(errkind.Internal, err, "TSA: building the request")
	}
	r := s.Stamp(ctx, req)
	if r.Status != StatusGranted {
		return nil, errkind.New(errkind.Unavailable, law.L21_1, "the TSA refused to stamp: %s", r.Reason)
	}
	tok, err := timestamp.TokenOf(r.DER)
	if err != nil {
		return nil, errkind.Wrap(errkind.Internal, err, "TSA: reading its own reply")
	}
	return tok, nil
}
