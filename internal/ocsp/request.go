package ocsp

import (
	"bytes"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// Bounds on untrusted requests: RFC 5019 clients send one certificate and a nonce of
// 16-32 octets; RFC 8954 §2.1 lets a responder refuse nonces over 128 octets.
const (
	// MaxRequestBytes is the largest request worth reading; anything longer is refused.
	MaxRequestBytes = 4 << 10
	maxCerts        = 8
	maxNonce        = 128
	maxSerial       = 21 // 20 octets (RFC 5280 §4.1.2.2) plus a sign octet
	maxExtensions   = 8
)

// hashAlg is a CertID hash algorithm the index knows.
type hashAlg int

const (
	sha1Alg hashAlg = iota
	sha256Alg
	numAlgs
)

var (
	oidSHA1   = []byte{0x2b, 0x0e, 0x03, 0x02, 0x1a}
	oidSHA256 = []byte{0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01}
	oidNonce  = []byte{0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x30, 0x01, 0x02} // id-pkix-ocsp-nonce
	hashSizes = [numAlgs]int{20, 32}
	// algIDs are the AlgorithmIdentifiers we write, with NULL parameters as OpenSSL and
	// GnuTLS send them; a CertID written otherwise is answered by the slow path, which
	// echoes the request's own bytes.
	algIDs = [numAlgs][]byte{
		{0x30, 0x09, 0x06, 0x05, 0x2b, 0x0e, 0x03, 0x02, 0x1a, 0x05, 0x00},
		{0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00},
	}
)

// certID is one CertID of a request; every slice points into the request's bytes.
type certID struct {
	raw       []byte // the whole CertID, echoed in the response
	alg       hashAlg
	canonical bool // hashAlgorithm is written exactly as algIDs[alg]
	nameHash  []byte
	keyHash   []byte
	serial    []byte // INTEGER contents, minimal
}

// request is a parsed OCSPRequest; it lives on the caller's stack.
type request struct {
	n     int
	certs [maxCerts]certID
	nonce []byte // the whole nonce Extension, echoed as is; nil if none
}

// errMalformed is the one parse error: every reason gets the same malformedRequest answer.
type parseError string

func (e parseError) Error() string { return "malformed OCSP request: " + string(e) }

// parseRequest reads an OCSPRequest (RFC 6960 §4.1.1) strictly, as DER, without
// copying or allocating. Signed requests are accepted and their signature ignored
// (RFC 6960 §4.1.2 lets a responder do so); unknown critical extensions are refused.
func parseRequest(der []byte, req *request) error {
	if len(der) > MaxRequestBytes {
		return parseError("too long")
	}
	in := cryptobyte.String(der)
	var ocspReq, tbs cryptobyte.String
	if !in.ReadASN1(&ocspReq, cbasn1.SEQUENCE) || !in.Empty() {
		return parseError("not one SEQUENCE")
	}
	if !ocspReq.ReadASN1(&tbs, cbasn1.SEQUENCE) {
		return parseError("no tbsRequest")
	}
	if ocspReq.PeekASN1Tag(cbasn1.Tag(0).Constructed().ContextSpecific()) {
		if !ocspReq.SkipASN1(cbasn1.Tag(0).Constructed().ContextSpecific()) {
			return parseError("bad optionalSignature")
		}
	}
	if !ocspReq.Empty() {
		return parseError("trailing data in OCSPRequest")
	}
	// version [0] EXPLICIT DEFAULT v1: DER omits it, but a written v1 is tolerated.
	if tbs.PeekASN1Tag(cbasn1.Tag(0).Constructed().ContextSpecific()) {
		var v cryptobyte.String
		var version int64
		if !tbs.ReadASN1(&v, cbasn1.Tag(0).Constructed().ContextSpecific()) || !v.ReadASN1Int64WithTag(&version, cbasn1.INTEGER) ||
			!v.Empty() || version != 0 {
			return parseError("unsupported version")
		}
	}
	if tbs.PeekASN1Tag(cbasn1.Tag(1).Constructed().ContextSpecific()) {
		if !tbs.SkipASN1(cbasn1.Tag(1).Constructed().ContextSpecific()) { // requestorName: not used
			return parseError("bad requestorName")
		}
	}
	var list cryptobyte.String
	if !tbs.ReadASN1(&list, cbasn1.SEQUENCE) {
		return parseError("no requestList")
	}
	req.n, req.nonce = 0, nil
	for !list.Empty() {
		if req.n == maxCerts {
			return parseError("too many certificates")
		}
		var one cryptobyte.String
		if !list.ReadASN1(&one, cbasn1.SEQUENCE) {
			return parseError("bad Request")
		}
		if err := parseCertID(&one, &req.certs[req.n]); err != nil {
			return err
		}
		if !one.Empty() {
			var exts cryptobyte.String
			if !one.ReadASN1(&exts, cbasn1.Tag(0).Constructed().ContextSpecific()) || !one.Empty() {
				return parseError("bad singleRequestExtensions")
			}
			if _, err := parseExtensions(exts); err != nil {
				return err
			}
		}
		req.n++
	}
	if req.n == 0 {
		return parseError("no certificate")
	}
	if !tbs.Empty() {
		var wrapped cryptobyte.String
		if !tbs.ReadASN1(&wrapped, cbasn1.Tag(2).Constructed().ContextSpecific()) || !tbs.Empty() {
			return parseError("trailing data in tbsRequest")
		}
		nonce, err := parseExtensions(wrapped)
		if err != nil {
			return err
		}
		req.nonce = nonce
	}
	return nil
}

// parseCertID reads CertID ::= SEQUENCE { hashAlgorithm, issuerNameHash, issuerKeyHash, serialNumber }.
func parseCertID(in *cryptobyte.String, id *certID) error {
	start := []byte(*in)
	var seq, alg, oid cryptobyte.String
	if !in.ReadASN1(&seq, cbasn1.SEQUENCE) {
		return parseError("bad CertID")
	}
	id.raw = start[:len(start)-len(*in)]
	algStart := []byte(seq)
	if !seq.ReadASN1(&alg, cbasn1.SEQUENCE) || !alg.ReadASN1(&oid, cbasn1.OBJECT_IDENTIFIER) {
		return parseError("bad hashAlgorithm")
	}
	algRaw := algStart[:len(algStart)-len(seq)]
	if !alg.Empty() {
		var null cryptobyte.String
		if !alg.ReadASN1(&null, cbasn1.NULL) || !null.Empty() || !alg.Empty() {
			return parseError("bad hashAlgorithm parameters")
		}
	}
	switch {
	case bytes.Equal(oid, oidSHA1):
		id.alg = sha1Alg
	case bytes.Equal(oid, oidSHA256):
		id.alg = sha256Alg
	default:
		id.alg = numAlgs // an issuer we cannot recognise: unauthorized
	}
	id.canonical = id.alg < numAlgs && bytes.Equal(algRaw, algIDs[id.alg])
	var nameHash, keyHash, serial cryptobyte.String
	if !seq.ReadASN1(&nameHash, cbasn1.OCTET_STRING) || !seq.ReadASN1(&keyHash, cbasn1.OCTET_STRING) ||
		!seq.ReadASN1(&serial, cbasn1.INTEGER) || !seq.Empty() {
		return parseError("bad CertID fields")
	}
	if id.alg < numAlgs && (len(nameHash) != hashSizes[id.alg] || len(keyHash) != hashSizes[id.alg]) {
		return parseError("hash of the wrong length")
	}
	if len(nameHash) > 64 || len(keyHash) > 64 {
		return parseError("hash too long")
	}
	// DER INTEGER: at least one octet, minimal; serials are positive (RFC 5280 §4.1.2.2).
	if len(serial) == 0 || len(serial) > maxSerial || serial[0]&0x80 != 0 ||
		(len(serial) > 1 && serial[0] == 0 && serial[1]&0x80 == 0) {
		return parseError("bad serialNumber")
	}
	id.nameHash, id.keyHash, id.serial = nameHash, keyHash, serial
	return nil
}

// parseExtensions reads Extensions and returns the nonce Extension's bytes, if any.
func parseExtensions(in cryptobyte.String) ([]byte, error) {
	var exts cryptobyte.String
	if !in.ReadASN1(&exts, cbasn1.SEQUENCE) || !in.Empty() || exts.Empty() {
		return nil, parseError("bad Extensions")
	}
	var nonce []byte
	var seen [maxExtensions][]byte
	for n := 0; !exts.Empty(); n++ {
		if n == maxExtensions {
			return nil, parseError("too many extensions")
		}
		start := []byte(exts)
		var ext, oid, value cryptobyte.String
		if !exts.ReadASN1(&ext, cbasn1.SEQUENCE) || !ext.ReadASN1(&oid, cbasn1.OBJECT_IDENTIFIER) {
			return nil, parseError("bad Extension")
		}
		raw := start[:len(start)-len(exts)]
		critical := false
		if ext.PeekASN1Tag(cbasn1.BOOLEAN) {
			// DER: DEFAULT FALSE is never written, so a present flag is TRUE.
			if !ext.ReadASN1Boolean(&critical) || !critical {
				return nil, parseError("bad critical flag")
			}
		}
		if !ext.ReadASN1(&value, cbasn1.OCTET_STRING) || !ext.Empty() {
			return nil, parseError("bad extnValue")
		}
		for _, o := range seen[:n] {
			if bytes.Equal(o, oid) {
				return nil, parseError("repeated extension")
			}
		}
		seen[n] = oid
		switch {
		case bytes.Equal(oid, oidNonce):
			// RFC 8954: the value is an OCTET STRING of 1 to 128 octets.
			var inner cryptobyte.String
			v := value
			if !v.ReadASN1(&inner, cbasn1.OCTET_STRING) || !v.Empty() || len(inner) == 0 || len(inner) > maxNonce {
				return nil, parseError("bad nonce")
			}
			nonce = raw
		case critical:
			return nil, parseError("unsupported critical extension")
		}
	}
	return nonce, nil
}
