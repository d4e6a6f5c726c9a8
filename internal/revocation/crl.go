package revocation

import (
	"crypto"
	"crypto/x509"
	"encoding/asn1"
	"encoding/hex"
	"math/big"
	"strconv"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"

	"github.com/tawthiq/tawthiq/internal/errkind"
	"github.com/tawthiq/tawthiq/internal/issuance"
	"github.com/tawthiq/tawthiq/internal/law"
)

// Extension identifiers of RFC 5280 used in CRLs.
var (
	oidAuthorityKeyID         = asn1.ObjectIdentifier{2, 5, 29, 35}
	oidCRLNumber              = asn1.ObjectIdentifier{2, 5, 29, 20}
	oidIssuingDistributionPnt = asn1.ObjectIdentifier{2, 5, 29, 28}
	oidReasonCode             = asn1.ObjectIdentifier{2, 5, 29, 21}
	oidInvalidityDate         = asn1.ObjectIdentifier{2, 5, 29, 24}
)

// CRLTemplate is what one CRL says, apart from its entries.
type CRLTemplate struct {
	Issuer     *x509.Certificate
	Number     int64
	ThisUpdate time.Time
	NextUpdate time.Time
	// IDP, when set, is the URL of this partition: written as a critical
	// issuingDistributionPoint with onlyContainsUserCerts (RFC 5280 §5.2.5).
	IDP string
}

// BuildCRL encodes and signs a CRL and verifies its signature with the issuer's
// certificate before returning it (STYLE #8). The TBSCertList is written by hand
// with cryptobyte: x509.CreateRevocationList builds a reflection-encoded copy of
// every entry, which for a million entries costs seconds and gigabytes. Entries are
// written in the order given; unspecified reasons carry no reason code (RFC 5280
// §5.3.1), key compromise carries its invalidity date (§5.3.2).
func BuildCRL(signer crypto.Signer, t CRLTemplate, entries []Entry) ([]byte, error) {
	if t.Issuer == nil || signer == nil {
		return nil, errkind.New(errkind.Invalid, law.L21Rev, "a CRL needs its issuer and signer")
	}
	if !t.NextUpdate.After(t.ThisUpdate) || t.Number < 0 {
		return nil, errkind.New(errkind.Invalid, law.L21Rev, "a CRL needs a positive validity and a non-negative number")
	}
	algID, hash, alg, err := issuance.SignatureAlgorithmFor(signer.Public())
	if err != nil {
		return nil, err
	}
	b := cryptobyte.NewBuilder(make([]byte, 0, 64+len(entries)*48))
	var encErr error
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1Int64(1) // v2
		b.AddBytes(algID)
		b.AddBytes(t.Issuer.RawSubject)
		addTime(b, t.ThisUpdate)
		addTime(b, t.NextUpdate)
		if len(entries) > 0 {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				var serial []byte
				for i := range entries {
					e := &entries[i]
					serial, encErr = serialBytes(serial[:0], e.Serial)
					if encErr != nil {
						return
					}
					addEntry(b, serial, e)
				}
			})
		}
		b.AddASN1(cbasn1.Tag(0).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				addExtension(b, oidAuthorityKeyID, false, func(b *cryptobyte.Builder) {
					b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
						b.AddASN1(cbasn1.Tag(0).ContextSpecific(), func(b *cryptobyte.Builder) { b.AddBytes(t.Issuer.SubjectKeyId) })
					})
				})
				addExtension(b, oidCRLNumber, false, func(b *cryptobyte.Builder) { b.AddASN1Int64(t.Number) })
				if t.IDP != "" {
					addExtension(b, oidIssuingDistributionPnt, true, func(b *cryptobyte.Builder) {
						b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
							b.AddASN1(cbasn1.Tag(0).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) { // distributionPoint
								b.AddASN1(cbasn1.Tag(0).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) { // fullName
									b.AddASN1(cbasn1.Tag(6).ContextSpecific(), func(b *cryptobyte.Builder) { // URI
										b.AddBytes([]byte(t.IDP))
									})
								})
							})
							b.AddASN1(cbasn1.Tag(1).ContextSpecific(), func(b *cryptobyte.Builder) { // onlyContainsUserCerts
								b.AddUint8(0xff)
							})
						})
					})
				}
			})
		})
	})
	if encErr != nil {
		return nil, encErr
	}
	tbs, err := b.Bytes()
	if err != nil {
		return nil, errkind.Wrap(errkind.Internal, err, "encoding the CRL")
	}
	sig, err := issuance.SignDigestOf(signer, hash, tbs)
	if err != nil {
		return nil, errkind.Wrap(errkind.Unavailable, err, "the CA key could not sign the CRL")
	}
	out := cryptobyte.NewBuilder(make([]byte, 0, len(tbs)+len(algID)+len(sig)+16))
	out.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddBytes(tbs)
		b.AddBytes(algID)
		b.AddASN1BitString(sig)
	})
	der, err := out.Bytes()
	if err != nil {
		return nil, errkind.Wrap(errkind.Internal, err, "assembling the CRL")
	}
	// Verify against the issuing certificate, not only the signer (STYLE #8).
	if err := t.Issuer.CheckSignature(alg, tbs, sig); err != nil {
		return nil, errkind.Wrap(errkind.Internal, err, "the CRL signature does not verify with CA certificate (L-21-1)")
	}
	return der, nil
}

// VerifyCRL parses a CRL and checks its signature against the issuer; for tests and readers.
func VerifyCRL(der []byte, issuer *x509.Certificate) (*x509.RevocationList, error) {
	rl, err := x509.ParseRevocationList(der)
	if err != nil {
		return nil, errkind.Wrap(errkind.Invalid, err, "the CRL does not parse")
	}
	if err := rl.CheckSignatureFrom(issuer); err != nil {
		return nil, errkind.Wrap(errkind.Invalid, err, "the CRL signature does not verify")
	}
	return rl, nil
}

func addEntry(b *cryptobyte.Builder, serial []byte, e *Entry) {
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.INTEGER, func(b *cryptobyte.Builder) { b.AddBytes(serial) })
		addTime(b, e.RevokedAt)
		reason := e.Reason != law.ReasonUnspecified
		inval := e.Reason == law.ReasonKeyCompromise && !e.InvalidityDate.IsZero()
		if !reason && !inval {
			return
		}
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			if reason {
				addExtension(b, oidReasonCode, false, func(b *cryptobyte.Builder) {
					b.AddASN1(cbasn1.ENUM, func(b *cryptobyte.Builder) { b.AddUint8(uint8(e.Reason)) })
				})
			}
			if inval {
				addExtension(b, oidInvalidityDate, false, func(b *cryptobyte.Builder) {
					b.AddASN1GeneralizedTime(e.InvalidityDate.UTC().Truncate(time.Second))
				})
			}
		})
	})
}

func addExtension(b *cryptobyte.Builder, id asn1.ObjectIdentifier, critical bool, value func(*cryptobyte.Builder)) {
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1ObjectIdentifier(id)
		if critical {
			b.AddASN1Boolean(true)
		}
		b.AddASN1(cbasn1.OCTET_STRING, value)
	})
}

// addTime writes UTCTime through 2049 and GeneralizedTime after (RFC 5280 §5.1.2.4).
func addTime(b *cryptobyte.Builder, t time.Time) {
	t = t.UTC()
	if t.Year() >= 2050 {
		b.AddASN1GeneralizedTime(t.Truncate(time.Second))
		return
	}
	var buf [13]byte
	yy := t.Year() % 100
	put2 := func(i, v int) { buf[i], buf[i+1] = byte('0'+v/10), byte('0'+v%10) }
	put2(0, yy)
	put2(2, int(t.Month()))
	put2(4, t.Day())
	put2(6, t.Hour())
	put2(8, t.Minute())
	put2(10, t.Second())
	buf[12] = 'Z'
	b.AddASN1(cbasn1.UTCTime, func(b *cryptobyte.Builder) { b.AddBytes(buf[:]) })
}

// serialBytes appends the DER INTEGER content of a positive hex serial to dst.
func serialBytes(dst []byte, s string) ([]byte, error) {
	if s == "" || len(s) > 42 {
		return nil, errkind.New(errkind.Invalid, law.L21Rev, "serial %q is not a certificate serial", s)
	}
	var raw [22]byte
	src := s
	if len(src)%2 == 1 {
		src = "0" + src
	}
	n, err := hex.Decode(raw[:], []byte(src))
	if err != nil {
		return nil, errkind.New(errkind.Invalid, law.L21Rev, "serial %q is not hex", s)
	}
	v := raw[:n]
	for len(v) > 1 && v[0] == 0 && v[1]&0x80 == 0 {
		v = v[1:]
	}
	if v[0]&0x80 != 0 {
		dst = append(dst, 0)
	}
	return append(dst, v...), nil
}

// shardOf returns serial mod n, the partition of a certificate (n > 1).
func shardOf(serial string, n int) (int, error) {
	v, ok := new(big.Int).SetString(serial, 16)
	if !ok || v.Sign() <= 0 {
		return 0, errkind.New(errkind.Invalid, law.L21Rev, "serial %q is not a positive hex number", serial)
	}
	return int(new(big.Int).Mod(v, big.NewInt(int64(n))).Int64()), nil
}

// ShardName is the name a partition is served under: "{ca}-{n}".
func ShardName(ca string, n int) string { return ca + "-" + strconv.Itoa(n) }
