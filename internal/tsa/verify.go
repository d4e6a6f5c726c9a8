package tsa

import (
	"bytes"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// Token is what CheckReply read from a granted reply.
type Token struct {
	Status   int
	Policy   asn1.ObjectIdentifier
	Serial   []byte // INTEGER contents
	GenTime  time.Time
	Imprint  []byte // hashedMessage
	Nonce    []byte // INTEGER contents, nil if none
	Signer   *x509.Certificate
	FailInfo []byte // the failInfo BIT STRING when refused
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
	var ci, oid, explicit, sd cryptobyte.String
	if !resp.ReadASN1(&ci, cbasn1.SEQUENCE) || !ci.ReadASN1(&oid, cbasn1.OBJECT_IDENTIFIER) ||
		!ci.ReadASN1(&explicit, cbasn1.Tag(0).Constructed().ContextSpecific()) || !explicit.ReadASN1(&sd, cbasn1.SEQUENCE) {
		return nil, errors.New("malformed ContentInfo")
	}
	var version int64
	var digestAlgs, eci, eType, eExplicit, eContent cryptobyte.String
	if !sd.ReadASN1Integer(&version) || !sd.ReadASN1(&digestAlgs, cbasn1.SET) || !sd.ReadASN1(&eci, cbasn1.SEQUENCE) ||
		!eci.ReadASN1(&eType, cbasn1.OBJECT_IDENTIFIER) || !eci.ReadASN1(&eExplicit, cbasn1.Tag(0).Constructed().ContextSpecific()) ||
		!eExplicit.ReadASN1(&eContent, cbasn1.OCTET_STRING) {
		return nil, errors.New("malformed SignedData")
	}
	var certs cryptobyte.String
	var hasCerts bool
	if !sd.ReadOptionalASN1(&certs, &hasCerts, cbasn1.Tag(0).Constructed().ContextSpecific()) {
		return nil, errors.New("malformed certificates")
	}
	var sis, si cryptobyte.String
	var siVersion int64
	var sid, digestAlg, attrs, sigAlg, sig cryptobyte.String
	if !sd.ReadASN1(&sis, cbasn1.SET) || !sis.ReadASN1(&si, cbasn1.SEQUENCE) || !si.ReadASN1Integer(&siVersion) ||
		!si.ReadASN1(&sid, cbasn1.SEQUENCE) || !si.ReadASN1Element(&digestAlg, cbasn1.SEQUENCE) ||
		!si.ReadASN1Element(&attrs, cbasn1.Tag(0).Constructed().ContextSpecific()) ||
		!si.ReadASN1Element(&sigAlg, cbasn1.SEQUENCE) || !si.ReadASN1(&sig, cbasn1.OCTET_STRING) {
		return nil, errors.New("malformed SignerInfo")
	}
	if hasCerts && signer == nil {
		var c cryptobyte.String
		for !certs.Empty() && signer == nil {
			if !certs.ReadASN1Element(&c, cbasn1.SEQUENCE) {
				return nil, errors.New("malformed certificate")
			}
			cert, err := x509.ParseCertificate(c)
			if err != nil {
				return nil, err
			}
			if cert.Subject.String() != "" && len(cert.ExtKeyUsage) == 1 && cert.ExtKeyUsage[0] == x509.ExtKeyUsageTimeStamping {
				signer = cert
			}
		}
	}
	if signer == nil {
		return nil, errors.New("no signer certificate")
	}
	t.Signer = signer
	if err := t.readTSTInfo(eContent); err != nil {
		return nil, err
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
			return nil, errors.New("malformed signed attribute")
		}
		switch {
		case typ.Equal(oidMessageDigest):
			var d cryptobyte.String
			if !values.ReadASN1(&d, cbasn1.OCTET_STRING) {
				return nil, errors.New("malformed message digest")
			}
			digest = d
		case typ.Equal(oidSigningCertificateV):
			var scv2, ids, id, h cryptobyte.String
			if !values.ReadASN1(&scv2, cbasn1.SEQUENCE) || !scv2.ReadASN1(&ids, cbasn1.SEQUENCE) || !ids.ReadASN1(&id, cbasn1.SEQUENCE) {
				return nil, errors.New("malformed signing-certificate-v2")
			}
			id.SkipOptionalASN1(cbasn1.SEQUENCE) // a hash other than the default would be here; we write SHA-256
			if !id.ReadASN1(&h, cbasn1.OCTET_STRING) {
				return nil, errors.New("malformed ESSCertIDv2")
			}
			certHash = h
		}
	}
	if digest == nil || certHash == nil {
		return nil, errors.New("message-digest or signing-certificate-v2 missing")
	}
	if sum := sha256.Sum256(signer.Raw); !bytes.Equal(sum[:], certHash) {
		return nil, errors.New("signing-certificate-v2 does not name the signer's certificate")
	}
	alg, h, err := signatureAlgorithmOf(sigAlg)
	if err != nil {
		return nil, err
	}
	if h != 0 {
		hh := h.New()
		hh.Write(eContent)
		if !bytes.Equal(hh.Sum(nil), digest) {
			return nil, errors.New("the message digest does not match TSTInfo")
		}
	}
	if err := signer.CheckSignature(alg, signed, sig); err != nil {
		return nil, fmt.Errorf("token signature: %w", err)
	}
	return t, nil
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
	tst.SkipOptionalASN1(cbasn1.SEQUENCE) // accuracy
	tst.SkipOptionalASN1(cbasn1.BOOLEAN)  // ordering
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

// signatureAlgorithmOf maps the SignerInfo's signatureAlgorithm to what verifies it.
func signatureAlgorithmOf(algID []byte) (x509.SignatureAlgorithm, cryptoHash, error) {
	for _, a := range knownSigAlgs {
		if bytes.Equal(a.id, algID) {
			return a.alg, a.hash, nil
		}
	}
	return 0, 0, errors.New("unsupported signature algorithm")
}
