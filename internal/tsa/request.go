package tsa

import (
	"crypto"
	"encoding/asn1"
	"errors"
	"github.com/tawthiq/tawthiq/internal/timestamp"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// Bounds on untrusted requests: a TimeStampReq with a SHA-512 imprint, a policy and
// a 64-octet nonce is under 200 octets.
const (
	// MaxRequestBytes is the largest request worth reading; anything longer is refused.
	MaxRequestBytes = 4 << 10
	maxNonce        = 64
	maxPolicy       = 64 // octets of OID contents
)

// oidSHA1 is refused by name (badAlg) rather than as an unknown hash.
var oidSHA1 = []byte{0x2b, 0x0e, 0x03, 0x02, 0x1a}

// imprintHashes are the hashes accepted in a message imprint, with their OIDs.
var imprintHashes = &timestamp.ImprintHashes

// request is a parsed TimeStampReq; every slice points into the request's bytes.
type request struct {
	hashIdx  int    // index in imprintHashes
	imprint  []byte // the whole MessageImprint, echoed in TSTInfo
	hashed   []byte // hashedMessage
	policy   []byte // reqPolicy OID contents; nil if absent
	nonce    []byte // INTEGER contents; nil if absent
	certReq  bool
	hasExtns bool
}

// failure is a refused request: the PKIFailureInfo bit and a reason for statusString.
type failure struct {
	bit    int
	reason string
}

func (f *failure) Error() string { return "timestamp request refused: " + f.reason }

// PKIFailureInfo bits (RFC 3161 §2.4.2).
const (
	failBadAlg              = 0
	failBadRequest          = 2
	failBadDataFormat       = 5
	failTimeNotAvailable    = 14
	failUnacceptedPolicy    = 15
	failUnacceptedExtension = 16
	failSystemFailure       = 25
)

func malformed(reason string) *failure { return &failure{failBadDataFormat, reason} }

// parseRequest reads a TimeStampReq (RFC 3161 §2.4.1) strictly, as DER, without
// copying. The hash is checked here; the policy against ours by the caller.
func parseRequest(der []byte, req *request) *failure {
	if len(der) > MaxRequestBytes {
		return malformed("request too large")
	}
	in := cryptobyte.String(der)
	var body cryptobyte.String
	if !in.ReadASN1(&body, cbasn1.SEQUENCE) || !in.Empty() {
		return malformed("not a TimeStampReq")
	}
	var version cryptobyte.String
	if !body.ReadASN1(&version, cbasn1.INTEGER) || len(version) != 1 || version[0] != 1 {
		return malformed("version must be v1")
	}
	var imprint, mi, algID, oid cryptobyte.String
	if !body.ReadASN1Element(&imprint, cbasn1.SEQUENCE) {
		return malformed("no message imprint")
	}
	outer := imprint
	if !outer.ReadASN1(&mi, cbasn1.SEQUENCE) || !mi.ReadASN1(&algID, cbasn1.SEQUENCE) || !algID.ReadASN1(&oid, cbasn1.OBJECT_IDENTIFIER) {
		return malformed("malformed message imprint")
	}
	// Parameters: absent or NULL (RFC 5754 §2 allows both).
	if !algID.Empty() {
		var null cryptobyte.String
		if !algID.ReadASN1(&null, cbasn1.NULL) || len(null) != 0 || !algID.Empty() {
			return malformed("malformed hash algorithm parameters")
		}
	}
	var hashed cryptobyte.String
	if !mi.ReadASN1(&hashed, cbasn1.OCTET_STRING) || !mi.Empty() {
		return malformed("malformed message imprint")
	}
	req.hashIdx = -1
	for i := range imprintHashes {
		if string(oid) == string(imprintHashes[i].OID) {
			req.hashIdx = i
		}
	}
	if req.hashIdx < 0 {
		if string(oid) == string(oidSHA1) {
			return &failure{failBadAlg, "SHA-1 message imprints are refused: use SHA-256, SHA-384 or SHA-512"}
		}
		return &failure{failBadAlg, "unsupported hash algorithm: use SHA-256, SHA-384 or SHA-512"}
	}
	if len(hashed) != imprintHashes[req.hashIdx].Hash.Size() {
		return malformed("the hashed message's length does not match its algorithm")
	}
	req.imprint, req.hashed = imprint, hashed

	req.policy, req.nonce, req.certReq, req.hasExtns = nil, nil, false, false
	if body.PeekASN1Tag(cbasn1.OBJECT_IDENTIFIER) {
		var p cryptobyte.String
		if !body.ReadASN1(&p, cbasn1.OBJECT_IDENTIFIER) || len(p) == 0 || len(p) > maxPolicy || !validOID(p) {
			return malformed("malformed policy")
		}
		req.policy = p
	}
	if body.PeekASN1Tag(cbasn1.INTEGER) {
		var n cryptobyte.String
		if !body.ReadASN1(&n, cbasn1.INTEGER) || !minimalInteger(n) {
			return malformed("malformed nonce")
		}
		if len(n) > maxNonce {
			return &failure{failBadRequest, "nonce longer than 64 octets"}
		}
		req.nonce = n
	}
	if body.PeekASN1Tag(cbasn1.BOOLEAN) {
		var b cryptobyte.String
		// DER writes FALSE by omission; an explicit FALSE is tolerated, as OpenSSL's parser does.
		if !body.ReadASN1(&b, cbasn1.BOOLEAN) || len(b) != 1 || (b[0] != 0 && b[0] != 0xff) {
			return malformed("malformed certReq")
		}
		req.certReq = b[0] == 0xff
	}
	if body.PeekASN1Tag(cbasn1.Tag(0).Constructed().ContextSpecific()) {
		var ext cryptobyte.String
		if !body.ReadASN1(&ext, cbasn1.Tag(0).Constructed().ContextSpecific()) {
			return malformed("malformed extensions")
		}
		req.hasExtns = true
	}
	if !body.Empty() {
		return malformed("trailing data in the request")
	}
	if req.hasExtns {
		// We define no request extension: RFC 3161 §2.4.2 unacceptedExtension.
		return &failure{failUnacceptedExtension, "request extensions are not supported"}
	}
	return nil
}

// validOID checks the contents of an OBJECT IDENTIFIER: minimal base-128 arcs.
func validOID(b []byte) bool {
	if len(b) == 0 || b[len(b)-1]&0x80 != 0 {
		return false
	}
	start := true
	for _, c := range b {
		if start && c == 0x80 {
			return false // a leading 0x80 is a non-minimal arc
		}
		start = c&0x80 == 0
	}
	return true
}

// minimalInteger checks the contents of a DER INTEGER.
func minimalInteger(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	if len(b) > 1 && (b[0] == 0 && b[1]&0x80 == 0 || b[0] == 0xff && b[1]&0x80 != 0) {
		return false
	}
	return true
}

// BuildRequest writes a TimeStampReq: for clients, load tools and tests. policy and
// nonce (INTEGER contents) may be nil.
func BuildRequest(h crypto.Hash, hashed, nonce []byte, certReq bool, policy asn1.ObjectIdentifier) ([]byte, error) {
	oid, ok := oidDigest[h]
	if !ok {
		return nil, errors.New("tsa: unsupported hash")
	}
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1Int64(1)
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { b.AddASN1ObjectIdentifier(oid) })
			b.AddASN1OctetString(hashed)
		})
		if policy != nil {
			b.AddASN1ObjectIdentifier(policy)
		}
		if nonce != nil {
			b.AddASN1(cbasn1.INTEGER, func(b *cryptobyte.Builder) { b.AddBytes(nonce) })
		}
		if certReq {
			b.AddASN1Boolean(true)
		}
	})
	return b.Bytes()
}
