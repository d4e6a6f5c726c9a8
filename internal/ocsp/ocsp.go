// Package ocsp is the RFC 6960 responder over pre-signed responses (RFC 5019 profile).
//
// Every issued certificate has two stored responses, one per CertID hash (SHA-1,
// which RFC 5019 clients send, and SHA-256), signed by its CA's delegated responder
// (id-kp-OCSPSigning, id-pkix-ocsp-nocheck) with the responder certificate included
// and the responderID by key hash. Responses are valid for law.OCSPValidity, re-signed
// after law.OCSPRefreshAfter and at once on revocation, which records the revocation's
// first OCSP publication (L-21-rev). The signing jobs run on the node holding a lease;
// every node keeps an in-memory index of the stored responses, polled from the
// database, so that answering a plain request costs a map lookup and no signature.
// A request with a nonce or several certificates, or for a serial without a stored
// response, is answered by a response signed on the spot (the slow path, its
// concurrency bounded). Expired certificates are still answered (L-21-rev).
//
// The encoder is our own, over cryptobyte: x/crypto/ocsp.CreateResponse writes one
// certificate per response, cannot echo a request's nonce nor write a response for
// a CertID exactly as the request spelled it, and always picks its own algorithm
// identifiers. x/crypto/ocsp serves here as the independent parser that checks every
// pre-signed response before it is stored (STYLE #8); responses signed on the spot
// have their signature checked against the responder certificate.
package ocsp

import (
	"bytes"
	"context"
	"crypto"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"encoding/hex"
	xocsp "golang.org/x/crypto/ocsp"
	"runtime"
	"sync"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"

	"github.com/tawthiq/tawthiq/internal/auditlog"
	"github.com/tawthiq/tawthiq/internal/clock"
	"github.com/tawthiq/tawthiq/internal/errkind"
	"github.com/tawthiq/tawthiq/internal/law"
)

// Status is a certificate's status as OCSP tells it.
type Status string

// Certificate statuses (RFC 6960 §2.2).
const (
	Good    Status = "good"
	Revoked Status = "revoked"
	Unknown Status = "unknown"
)

// Issuer is a CA this responder answers for, with its delegated responder.
type Issuer struct {
	Name      string            // the CA's name, as recorded with its certificates
	Cert      *x509.Certificate // the CA certificate
	Responder *x509.Certificate // the delegated responder's certificate, issued by Cert
	Signer    crypto.Signer     // the responder's key
}

// CertStatus is what the database says of one certificate.
type CertStatus struct {
	Serial    string // lower-case hex, as the CA records it
	CA        string
	Issued    bool // false: only reserved or abandoned, answered unknown
	Revoked   bool
	RevokedAt time.Time // the revocationDate (L-21-1)
	Reason    int       // RFC 5280 CRLReason
	// Published: an OCSP response already said revoked (L-21-rev).
	Published bool
}

// Response is one certificate's pre-signed responses as stored.
type Response struct {
	Serial     string
	CA         string
	Status     Status // Good or Revoked
	DER        []byte // with a SHA-1 CertID
	DERSHA256  []byte // with a SHA-256 CertID
	ThisUpdate time.Time
	NextUpdate time.Time
}

// Store is what the responder needs from the database.
type Store interface {
	// OCSPResponsesSince calls fn with every stored response whose thisUpdate is at
	// or after since, in thisUpdate order.
	OCSPResponsesSince(ctx context.Context, since time.Time, fn func(*Response) error) error
	// OCSPStatuses returns the status of each serial the database knows.
	OCSPStatuses(ctx context.Context, serials []string) ([]CertStatus, error)
	// UnsignedCertificates returns up to limit issued certificates, issued at or after
	// since, that have no stored response.
	UnsignedCertificates(ctx context.Context, since time.Time, limit int) ([]string, error)
	// StaleOCSPResponses returns up to limit serials whose response's thisUpdate is before t, oldest first.
	StaleOCSPResponses(ctx context.Context, before time.Time, limit int) ([]string, error)
	// UnpublishedOCSPRevocations returns up to limit revoked serials no OCSP response shows yet.
	UnpublishedOCSPRevocations(ctx context.Context, limit int) ([]string, error)
	// PutOCSPResponses stores responses, replacing older ones. For each revoked one it
	// records, once, the revocation's first OCSP publication at its thisUpdate; the
	// entries are appended in the same transaction. A good response for a revoked
	// certificate is refused (L-21-rev).
	PutOCSPResponses(ctx context.Context, rs []Response, entries []auditlog.Entry) error
}

// Leases is how one node of several takes the signing jobs.
type Leases interface {
	TakeLease(ctx context.Context, name, holder string, ttl time.Duration) (bool, error)
}

// ActionPublish is the audit action of a revocation's first OCSP publication (L-21-rev).
const ActionPublish auditlog.Action = "revocation.ocsp-publish"

// Config is what New needs.
type Config struct {
	Store   Store
	Clock   clock.Clock
	Issuers []Issuer
	// Leases, if set, elects the one node that signs; nil: this node always signs.
	Leases Leases
	Holder string // this node's name in the lease
	// PollInterval is how often the index and the signing jobs run (default 1s).
	PollInterval time.Duration
	// BatchSize bounds the responses signed per job and round (default 500).
	BatchSize int
	// MaxSigning bounds concurrent on-the-spot signatures (default 2 × GOMAXPROCS).
	MaxSigning int
	// CacheFor caps how long a good response may be cached by HTTP caches (default
	// 5 minutes), so that a revocation reaches relying parties soon; a revoked
	// response, being final, may be cached until its nextUpdate.
	CacheFor time.Duration
	// Linter, if set, lints every pre-signed response before it is stored (STYLE #7);
	// a refused response is not stored and the job reports it.
	Linter Linter
}

// Linter lints a signed OCSPResponse (lint.Linter does, with zlint).
type Linter interface {
	OCSPResponseParsed(r *xocsp.Response) error
}

// Service answers OCSP requests and keeps the pre-signed responses fresh.
type Service struct {
	cfg     Config
	issuers []*issuer
	byName  map[string]*issuer
	signing chan struct{} // the slow path's semaphore

	mu            sync.Mutex // guards the job state below
	cursor        time.Time  // thisUpdate of the newest response the index has seen
	issuedCursor  time.Time
	lastSweep     time.Time // when every certificate was last looked at; zero: never by this leader
	leaseHeldLast bool
}

// issuer is an Issuer with what answering needs, precomputed.
type issuer struct {
	name             string
	responder        *x509.Certificate
	signer           crypto.Signer
	alg              signingAlg
	nameHash         [numAlgs][]byte
	keyHash          [numAlgs][]byte
	responderKeyHash []byte
	index            index
}

const (
	defaultPoll      = time.Second
	defaultBatch     = 500
	defaultCacheFor  = 5 * time.Minute
	leaseName        = "ocsp-signer"
	pollOverlap      = 10 * time.Second // thisUpdate is the signer's clock, committed a little later
	issuedOverlap    = time.Minute
	sweepEvery       = 10 * time.Minute // a full look for unsigned certificates, whatever the clocks say
	slowPathMaxQueue = 2 * time.Second
)

// New checks each issuer's responder (issued by its CA, id-kp-OCSPSigning, its key
// the signer's) and returns a Service with an empty index: call Load, then Run.
func New(cfg Config) (*Service, error) {
	if cfg.Store == nil || cfg.Clock == nil || len(cfg.Issuers) == 0 {
		return nil, errkind.New(errkind.Invalid, law.LInternal, "the OCSP responder needs a store, a clock and at least one issuer")
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = defaultPoll
	}
	if cfg.BatchSize <= 0 {
		cfg.BatchSize = defaultBatch
	}
	if cfg.MaxSigning <= 0 {
		cfg.MaxSigning = 2 * runtime.GOMAXPROCS(0)
	}
	if cfg.CacheFor <= 0 {
		cfg.CacheFor = defaultCacheFor
	}
	if cfg.Holder == "" {
		cfg.Holder = "ocsp"
	}
	s := &Service{cfg: cfg, byName: map[string]*issuer{}, signing: make(chan struct{}, cfg.MaxSigning)}
	for _, in := range cfg.Issuers {
		is, err := newIssuer(in)
		if err != nil {
			return nil, err
		}
		if s.byName[in.Name] != nil {
			return nil, errkind.New(errkind.Invalid, law.LInternal, "OCSP issuer %q given twice", in.Name)
		}
		s.issuers = append(s.issuers, is)
		s.byName[in.Name] = is
	}
	return s, nil
}

func newIssuer(in Issuer) (*issuer, error) {
	bad := func(format string, args ...any) error {
		return errkind.New(errkind.Invalid, law.L21_1, "OCSP issuer %q: "+format, append([]any{in.Name}, args...)...)
	}
	if in.Name == "" || in.Cert == nil || in.Responder == nil || in.Signer == nil {
		return nil, bad("needs a name, its CA certificate, a responder certificate and its key")
	}
	if err := in.Responder.CheckSignatureFrom(in.Cert); err != nil {
		return nil, bad("the responder certificate is not issued by the CA: %v", err)
	}
	hasEKU := false
	for _, u := range in.Responder.ExtKeyUsage {
		hasEKU = hasEKU || u == x509.ExtKeyUsageOCSPSigning
	}
	if !hasEKU {
		return nil, bad("the responder certificate lacks id-kp-OCSPSigning (RFC 6960 §4.2.2.2)")
	}
	if pk, ok := in.Signer.Public().(interface{ Equal(crypto.PublicKey) bool }); !ok || !pk.Equal(in.Responder.PublicKey) {
		return nil, bad("the responder key does not match its certificate")
	}
	alg, err := signingAlgFor(in.Signer.Public())
	if err != nil {
		return nil, err
	}
	caKey, err := publicKeyBits(in.Cert.RawSubjectPublicKeyInfo)
	if err != nil {
		return nil, bad("%v", err)
	}
	respKey, err := publicKeyBits(in.Responder.RawSubjectPublicKeyInfo)
	if err != nil {
		return nil, bad("%v", err)
	}
	is := &issuer{name: in.Name, responder: in.Responder, signer: in.Signer, alg: alg}
	n1, k1, r1 := sha1.Sum(in.Cert.RawSubject), sha1.Sum(caKey), sha1.Sum(respKey)
	n2, k2 := sha256.Sum256(in.Cert.RawSubject), sha256.Sum256(caKey)
	is.nameHash = [numAlgs][]byte{n1[:], n2[:]}
	is.keyHash = [numAlgs][]byte{k1[:], k2[:]}
	is.responderKeyHash = r1[:]
	is.index.init()
	return is, nil
}

// publicKeyBits returns the subjectPublicKey BIT STRING's bytes, which CertID and
// responderID hash (RFC 6960 §4.1.1, §4.2.1).
func publicKeyBits(spki []byte) ([]byte, error) {
	in := cryptobyte.String(spki)
	var seq cryptobyte.String
	var bits asn1.BitString
	if !in.ReadASN1(&seq, cbasn1.SEQUENCE) || !seq.SkipASN1(cbasn1.SEQUENCE) || !seq.ReadASN1BitString(&bits) {
		return nil, errkind.New(errkind.Invalid, law.LInternal, "cannot read the subjectPublicKey")
	}
	return bits.Bytes, nil
}

// findIssuer returns the issuer a CertID names, or nil.
func (s *Service) findIssuer(id *certID) *issuer {
	if id.alg >= numAlgs {
		return nil
	}
	for _, is := range s.issuers {
		if bytes.Equal(is.keyHash[id.alg], id.keyHash) && bytes.Equal(is.nameHash[id.alg], id.nameHash) {
			return is
		}
	}
	return nil
}

// serialBytes turns a recorded serial (hex of the big-endian magnitude) into INTEGER contents.
func serialBytes(serial string) ([]byte, bool) {
	if len(serial)%2 == 1 {
		serial = "0" + serial
	}
	b, err := hex.DecodeString(serial)
	if err != nil || len(b) == 0 {
		return nil, false
	}
	for len(b) > 1 && b[0] == 0 {
		b = b[1:]
	}
	if b[0]&0x80 != 0 {
		b = append([]byte{0}, b...)
	}
	if len(b) > maxSerial {
		return nil, false
	}
	return b, true
}

// serialHex turns INTEGER contents into the serial as the CA records it.
func serialHex(b []byte) string {
	for len(b) > 1 && b[0] == 0 {
		b = b[1:]
	}
	return hex.EncodeToString(b)
}
