// Package tsa is the RFC 3161 time-stamping authority (with RFC 5816's ESSCertIDv2
// and ETSI EN 319 422's qualified time-stamp statement). It stamps only while its
// clock is known to be within the stated accuracy (L-21-1), records every token
// before the reply leaves (L-21-2) and verifies every signature it makes (STYLE #8).
package tsa

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"encoding/asn1"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"

	"github.com/tawthiq/tawthiq/internal/clock"
	"github.com/tawthiq/tawthiq/internal/errkind"
	"github.com/tawthiq/tawthiq/internal/issuance"
	"github.com/tawthiq/tawthiq/internal/law"
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
}

// Service stamps.
type Service struct {
	cfg    Config
	f      *fixed
	sigAlg x509.SignatureAlgorithm
	sigH   crypto.Hash // the hash SignDigestOf applies (0: Ed25519)
	policy string
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
	return &Service{cfg: cfg, f: f, sigAlg: alg, sigH: h, policy: cfg.Policy.String()}, nil
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
	// 126 random bits: unique without a round trip to the database before signing,
	// across nodes too; the table's primary key refuses the impossible repeat.
	var serial [16]byte
	if _, err := rand.Read(serial[:]); err != nil {
		return refused(&failure{failSystemFailure, "no randomness for the serial number"})
	}
	serial[0] = serial[0]&0x3f | 0x40
	tst, err := s.f.tstInfo(&req, serial[:], genTime)
	if err != nil {
		return refused(&failure{failSystemFailure, "encoding the token"})
	}
	h := s.f.digest.New()
	h.Write(tst)
	attrs, err := s.f.signedAttrs(h.Sum(nil))
	if err != nil {
		return refused(&failure{failSystemFailure, "encoding the token"})
	}
	sig, err := issuance.SignDigestOf(s.cfg.Signer, s.sigH, attrs)
	if err != nil {
		return refused(&failure{failSystemFailure, "the TSA key could not sign"})
	}
	// STYLE #8: the signature is checked with the certified key before it leaves.
	if err := s.cfg.Cert.CheckSignature(s.sigAlg, attrs, sig); err != nil {
		return refused(&failure{failSystemFailure, "the token's signature does not verify"})
	}
	out, err := s.f.token(tst, attrs, sig, req.certReq)
	if err != nil {
		return refused(&failure{failSystemFailure, "encoding the token"})
	}
	rec := Record{Serial: hex.EncodeToString(serial[:]), GenTime: genTime, HashAlg: imprintHashes[req.hashIdx].Name,
		Imprint: bytes.Clone(req.hashed), Policy: s.policy, CreatedAt: genTime}
	// The reply leaves only once its record is durable (L-21-2).
	if err := s.cfg.Store.RecordTimestamp(ctx, rec); err != nil {
		return refused(&failure{failSystemFailure, "the token could not be recorded"})
	}
	return Reply{DER: out, Status: StatusGranted, FailInfo: -1}
}

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
	tok, err := tokenOf(r.DER)
	if err != nil {
		return nil, errkind.Wrap(errkind.Internal, err, "TSA: reading its own reply")
	}
	return tok, nil
}

// tokenOf returns the TimeStampToken of a granted TimeStampResp.
func tokenOf(resp []byte) ([]byte, error) {
	in := cryptobyte.String(resp)
	var body, tok cryptobyte.String
	if !in.ReadASN1(&body, cbasn1.SEQUENCE) || !in.Empty() || !body.SkipASN1(cbasn1.SEQUENCE) ||
		!body.ReadASN1Element(&tok, cbasn1.SEQUENCE) || !body.Empty() {
		return nil, errors.New("a granted reply without a token")
	}
	return bytes.Clone(tok), nil
}
