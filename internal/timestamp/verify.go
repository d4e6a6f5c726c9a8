// Package timestamp reads and checks RFC 3161 time-stamp tokens and replies (RFC 5816
// signing-certificate-v2), as a relying party does short of path building. It is
// shared by the TSA, the signature creator and the audit log's verifier. Written by
// hand with cryptobyte: the Go libraries that parse tokens also want to make them
// their own way (LIBRARIES.md).
package timestamp

import (
	"bytes"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"

	"github.com/tawthiq/tawthiq/internal/issuance"
	"github.com/tawthiq/tawthiq/internal/signature/cms"
)

// Token is what CheckReply read from a granted reply.
type Token struct {
	Status   int
	Policy   asn1.ObjectIdentifier
	Serial   []byte // INTEGER contents
	GenTime  time.Time
	Imprint  []byte      // hashedMessage
	HashAlg  crypto.Hash // the message imprint's hash; 0 if not one a TSA here accepts
	Nonce    []byte      // INTEGER contents, nil if none
	Signer   *x509.Certificate
	FailInfo []byte   // the failInfo BIT STRING when refused
	Certs    [][]byte // the token's certificates field, DER, for path building
	// Accuracy is the TSA's stated accuracy of GenTime (RFC 3161 §2.4.2):
	// the time lies within GenTime ± Accuracy; HasAccuracy is false when none is stated.
	Accuracy    time.Duration
	HasAccuracy bool
}

// CheckReply reads a TimeStampResp. When granted, it checks the token the way a
// relying party does, short of path building: the message digest over TSTInfo,
// the signing-certificate-v2 hash of the signer's certificate (which must be
// included, or given as signer) and the signature. For load tools and tests.
func CheckReply(der []byte, signer *x509.Certificate) (*Token, error) {
	in := cryptobyte.String(der)
	var resp, statusInfo cryptobyte.String
	if !in.ReadASN1(&resp, cbasn1.SEQUENCE) || !in.Empty() || !resp.ReadASN1(&statusInfo, cbasn1.SEQUENCE) {
		return nil, errors.New("not a TimeStampResp")
	}
	t := &Token{}
	var status int64
	if !statusInfo.ReadASN1Integer(&status) {
		return nil, errors.New("malformed PKIStatusInfo")
	}
	t.Status = int(status)
	if status != StatusGranted {
		statusInfo.SkipOptionalASN1(cbasn1.SEQUENCE)
		var fi cryptobyte.String
		if statusInfo.ReadOptionalASN1(&fi, nil, cbasn1.BIT_STRING) {
			t.FailInfo = fi
		}
		return t, nil
	}
	var ci cryptobyte.String
	if !resp.ReadASN1Element(&ci, cbasn1.SEQUENCE) {
		return nil, errors.New("malformed ContentInfo")
	}
	var trusted []*x509.Certificate
	if signer != nil {
		trusted = []*x509.Certificate{signer}
	}
	if err := t.check(ci, trusted); err != nil {
		return nil, err
	}
	return t, nil
}

// CheckToken checks a bare TimeStampToken (the ContentInfo of a granted reply, as
// kept beside each audit checkpoint) as CheckReply checks a reply's. The signer
// must be one of trusted, matched by the token's signing-certificate-v2 hash; with
// no trusted certificate, the time-stamping certificate the token carries is used,
// which shows the token is intact but not who made it.
func CheckToken(der []byte, trusted ...*x509.Certificate) (*Token, error) {
	t := &Token{Status: StatusGranted}
	if err := t.check(der, trusted); err != nil {
		return nil, err
	}
	return t, nil
}

// check verifies a TimeStampToken (RFC 3161 §2.4.2, a CMS SignedData over TSTInfo)
// and fills t from its TSTInfo.
func (t *Token) check(token []byte, trusted []*x509.Certificate) error {
	in := cryptobyte.String(token)
	var ci, explicit, sd cryptobyte.String
	var ciType asn1.ObjectIdentifier
	if !in.ReadASN1(&ci, cbasn1.SEQUENCE) || !in.Empty() || !ci.ReadASN1ObjectIdentifier(&ciType) ||
		!ci.ReadASN1(&explicit, cbasn1.Tag(0).Constructed().ContextSpecific()) || !explicit.ReadASN1(&sd, cbasn1.SEQUENCE) {
		return errors.New("malformed ContentInfo")
	}
	if !ciType.Equal(cms.OIDSignedData) {
		return errors.New("the token is not a SignedData")
	}
	var version int64
	var digestAlgs, eci, eExplicit, eContent cryptobyte.String
	var eType asn1.ObjectIdentifier
	if !sd.ReadASN1Integer(&version) || !sd.ReadASN1(&digestAlgs, cbasn1.SET) || !sd.ReadASN1(&eci, cbasn1.SEQUENCE) ||
		!eci.ReadASN1ObjectIdentifier(&eType) || !eci.ReadASN1(&eExplicit, cbasn1.Tag(0).Constructed().ContextSpecific()) ||
		!eExplicit.ReadASN1(&eContent, cbasn1.OCTET_STRING) {
		return errors.New("malformed SignedData")
	}
	if !eType.Equal(cms.OIDTSTInfo) {
		return errors.New("the token does not sign a TSTInfo")
	}
	var certs cryptobyte.String
	var hasCerts bool
	if !sd.ReadOptionalASN1(&certs, &hasCerts, cbasn1.Tag(0).Constructed().ContextSpecific()) {
		return errors.New("malformed certificates")
	}
	var sis, si cryptobyte.String
	var siVersion int64
	var sid, digestAlg, attrs, sigAlg, sig cryptobyte.String
	if !sd.ReadASN1(&sis, cbasn1.SET) || !sis.ReadASN1(&si, cbasn1.SEQUENCE) || !si.ReadASN1Integer(&siVersion) ||
		!si.ReadASN1(&sid, cbasn1.SEQUENCE) || !si.ReadASN1Element(&digestAlg, cbasn1.SEQUENCE) ||
		!si.ReadASN1Element(&attrs, cbasn1.Tag(0).Constructed().ContextSpecific()) ||
		!si.ReadASN1Element(&sigAlg, cbasn1.SEQUENCE) || !si.ReadASN1(&sig, cbasn1.OCTET_STRING) {
		return errors.New("malformed SignerInfo")
	}
	var signer *x509.Certificate
	if len(trusted) == 1 {
		signer = trusted[0]
	}
	for hasCerts && !certs.Empty() {
		var c cryptobyte.String
		if !certs.ReadASN1Element(&c, cbasn1.SEQUENCE) {
			return errors.New("malformed certificate")
		}
		t.Certs = append(t.Certs, c)
		if len(trusted) > 0 || signer != nil {
			continue
		}
		cert, err := x509.ParseCertificate(c)
		if err != nil {
			return err
		}
		if cert.Subject.String() != "" && len(cert.ExtKeyUsage) == 1 && cert.ExtKeyUsage[0] == x509.ExtKeyUsageTimeStamping {
			signer = cert
		}
	}
	if err := t.readTSTInfo(eContent); err != nil {
		return err
	}
	// The signed attributes are signed as a SET OF (RFC 5652 §5.4).
	signed := bytes.Clone(attrs)
	signed[0] = 0x31
	var digest, certHash []byte
	body := cryptobyte.String(attrs)
	var set cryptobyte.String
	body.ReadASN1(&set, cbasn1.Tag(0).Constructed().ContextSpecific())
	for !set.Empty() {
		var attr, values cryptobyte.String
		var typ asn1.ObjectIdentifier
		if !set.ReadASN1(&attr, cbasn1.SEQUENCE) || !attr.ReadASN1ObjectIdentifier(&typ) || !attr.ReadASN1(&values, cbasn1.SET) {
			return errors.New("malformed signed attribute")
		}
		switch {
		case typ.Equal(cms.OIDMessageDigest):
			var d cryptobyte.String
			if !values.ReadASN1(&d, cbasn1.OCTET_STRING) {
				return errors.New("malformed message digest")
			}
			digest = d
		case typ.Equal(cms.OIDSigningCertificateV2):
			var scv2, ids, id, h cryptobyte.String
			if !values.ReadASN1(&scv2, cbasn1.SEQUENCE) || !scv2.ReadASN1(&ids, cbasn1.SEQUENCE) || !ids.ReadASN1(&id, cbasn1.SEQUENCE) {
				return errors.New("malformed signing-certificate-v2")
			}
			id.SkipOptionalASN1(cbasn1.SEQUENCE) // a hash other than the default would be here; we write SHA-256
			if !id.ReadASN1(&h, cbasn1.OCTET_STRING) {
				return errors.New("malformed ESSCertIDv2")
			}
			certHash = h
		}
	}
	if digest == nil || certHash == nil {
		return errors.New("message-digest or signing-certificate-v2 missing")
	}
	if len(trusted) > 1 {
		// Several TSA certificates (one renewed, say): the token names its own.
		for _, c := range trusted {
			if sum := sha256.Sum256(c.Raw); bytes.Equal(sum[:], certHash) {
				signer = c
			}
		}
		if signer == nil {
			return errors.New("the token was signed by none of the given TSA certificates")
		}
	}
	if signer == nil {
		return errors.New("no signer certificate")
	}
	t.Signer = signer
	if sum := sha256.Sum256(signer.Raw); !bytes.Equal(sum[:], certHash) {
		return errors.New("signing-certificate-v2 does not name the signer's certificate")
	}
	alg, h, err := signatureAlgorithmOf(sigAlg)
	if err != nil {
		return err
	}
	if h != 0 {
		hh := h.New()
		hh.Write(eContent)
		if !bytes.Equal(hh.Sum(nil), digest) {
			return errors.New("the message digest does not match TSTInfo")
		}
	}
	if err := signer.CheckSignature(alg, signed, sig); err != nil {
		return fmt.Errorf("token signature: %w", err)
	}
	return nil
}

func (t *Token) readTSTInfo(der []byte) error {
	in := cryptobyte.String(der)
	var tst, imprint, alg, hashed, serial, gt cryptobyte.String
	var version int64
	if !in.ReadASN1(&tst, cbasn1.SEQUENCE) || !tst.ReadASN1Integer(&version) || version != 1 ||
		!tst.ReadASN1ObjectIdentifier(&t.Policy) || !tst.ReadASN1(&imprint, cbasn1.SEQUENCE) ||
		!imprint.ReadASN1(&alg, cbasn1.SEQUENCE) || !imprint.ReadASN1(&hashed, cbasn1.OCTET_STRING) ||
		!tst.ReadASN1(&serial, cbasn1.INTEGER) || !tst.ReadASN1(&gt, cbasn1.GeneralizedTime) {
		return errors.New("malformed TSTInfo")
	}
	g, err := time.Parse("20060102150405.999Z", string(gt))
	if err != nil {
		return fmt.Errorf("genTime: %w", err)
	}
	t.GenTime, t.Imprint, t.Serial = g, hashed, serial
	var hashOID cryptobyte.String
	if alg.ReadASN1(&hashOID, cbasn1.OBJECT_IDENTIFIER) {
		for _, h := range ImprintHashes {
			if bytes.Equal(hashOID, h.OID) {
				t.HashAlg = h.Hash
			}
		}
	}
	var acc cryptobyte.String
	if !tst.ReadOptionalASN1(&acc, &t.HasAccuracy, cbasn1.SEQUENCE) {
		return errors.New("malformed accuracy")
	}
	if t.HasAccuracy {
		if t.Accuracy, err = readAccuracy(acc); err != nil {
			return err
		}
	}
	tst.SkipOptionalASN1(cbasn1.BOOLEAN) // ordering
	var nonce cryptobyte.String
	var hasNonce bool
	if !tst.ReadOptionalASN1(&nonce, &hasNonce, cbasn1.INTEGER) {
		return errors.New("malformed nonce")
	}
	if hasNonce {
		t.Nonce = nonce
	}
	return nil
}

// readAccuracy reads Accuracy ::= SEQUENCE { seconds INTEGER OPTIONAL,
// millis [0] INTEGER (1..999) OPTIONAL, micros [1] INTEGER (1..999) OPTIONAL }.
func readAccuracy(acc cryptobyte.String) (time.Duration, error) {
	var secs, millis, micros int64
	if acc.PeekASN1Tag(cbasn1.INTEGER) && (!acc.ReadASN1Integer(&secs) || secs < 0 || secs > 1<<31) {
		return 0, errors.New("malformed accuracy seconds")
	}
	for _, f := range []struct {
		tag cbasn1.Tag
		v   *int64
	}{{cbasn1.Tag(0).ContextSpecific(), &millis}, {cbasn1.Tag(1).ContextSpecific(), &micros}} {
		if acc.PeekASN1Tag(f.tag) && (!acc.ReadASN1Int64WithTag(f.v, f.tag) || *f.v < 1 || *f.v > 999) {
			return 0, errors.New("accuracy millis or micros out of 1..999")
		}
	}
	if !acc.Empty() {
		return 0, errors.New("malformed accuracy")
	}
	return time.Duration(secs)*time.Second + time.Duration(millis)*time.Millisecond + time.Duration(micros)*time.Microsecond, nil
}

// signatureAlgorithmOf maps the SignerInfo's signatureAlgorithm to what verifies it.
func signatureAlgorithmOf(algID []byte) (x509.SignatureAlgorithm, crypto.Hash, error) {
	alg, hash, ok := issuance.SignatureAlgorithmOf(algID)
	if !ok {
		return 0, 0, errors.New("unsupported signature algorithm")
	}
	return alg, hash, nil
}

// PKIStatus values (RFC 3161 2.4.2).
const (
	StatusGranted   = 0
	StatusRejection = 2
)

// ImprintHashes are the hashes a message imprint may use here (SHA-1 is refused),
// with their OID contents and the name the TSA records.
var ImprintHashes = [...]struct {
	OID  []byte
	Hash crypto.Hash
	Name string
}{
	{[]byte{0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01}, crypto.SHA256, "sha256"},
	{[]byte{0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02}, crypto.SHA384, "sha384"},
	{[]byte{0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03}, crypto.SHA512, "sha512"},
}

// TokenOf returns the TimeStampToken of a granted TimeStampResp (RFC 3161 §2.4.2):
// what a signature's time-stamp attribute carries.
func TokenOf(resp []byte) ([]byte, error) {
	in := cryptobyte.String(resp)
	var body, tok cryptobyte.String
	if !in.ReadASN1(&body, cbasn1.SEQUENCE) || !in.Empty() || !body.SkipASN1(cbasn1.SEQUENCE) ||
		!body.ReadASN1Element(&tok, cbasn1.SEQUENCE) || !body.Empty() {
		return nil, errors.New("a time-stamp reply without a token")
	}
	return bytes.Clone(tok), nil
}
