package tsa

// The encoder the TSA used before its templates (encode.go): kept here, built with
// cryptobyte from the ASN.1 structure, as the reference the fast one must equal.

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"math/big"
	mrand "math/rand/v2"
	"testing"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"

	"github.com/tawthiq/tawthiq/internal/issuance"
	"github.com/tawthiq/tawthiq/internal/signature/cms"
)

// tstInfo writes TSTInfo (RFC 3161 §2.4.2).
func (f *fixed) tstInfo(req *request, serial []byte, genTime time.Time) ([]byte, error) {
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1Int64(1)
		b.AddBytes(f.policy)
		b.AddBytes(req.imprint)
		b.AddASN1(cbasn1.INTEGER, func(b *cryptobyte.Builder) { b.AddBytes(serial) })
		var gt [26]byte
		b.AddBytes(appendGeneralizedTime(gt[:0], genTime))
		b.AddBytes(f.accuracy)
		if req.nonce != nil {
			b.AddASN1(cbasn1.INTEGER, func(b *cryptobyte.Builder) { b.AddBytes(req.nonce) })
		}
		b.AddBytes(f.tsaName)
		if f.extensions != nil {
			b.AddBytes(f.extensions)
		}
	})
	return b.Bytes()
}

// signedAttrs writes the signed attributes as the SET OF that is signed (RFC 5652
// §5.4): content-type, message-digest, signing-certificate-v2 (RFC 5816), sorted.
func (f *fixed) signedAttrs(digest []byte) ([]byte, error) {
	var md cryptobyte.Builder
	cms.AddAttribute(&md, cms.OIDMessageDigest, func(b *cryptobyte.Builder) { b.AddASN1OctetString(digest) })
	mdAttr, err := md.Bytes()
	if err != nil {
		return nil, err
	}
	return cms.Set([][]byte{f.ctAttr, mdAttr, f.scv2Attr})
}

// token writes the ContentInfo of the SignedData around tstInfo.
func (f *fixed) token(tstInfo, attrs, sig []byte, certReq bool) ([]byte, error) {
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // TimeStampResp
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { b.AddASN1Int64(StatusGranted) })
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // ContentInfo
			b.AddASN1ObjectIdentifier(cms.OIDSignedData)
			b.AddASN1(cbasn1.Tag(0).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
				b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // SignedData
					b.AddASN1Int64(3) // eContentType is not id-data (RFC 5652 §5.1)
					b.AddASN1(cbasn1.SET, func(b *cryptobyte.Builder) { b.AddBytes(f.digestAlg) })
					b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // EncapsulatedContentInfo
						b.AddASN1ObjectIdentifier(cms.OIDTSTInfo)
						b.AddASN1(cbasn1.Tag(0).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
							b.AddASN1OctetString(tstInfo)
						})
					})
					if certReq {
						b.AddBytes(f.certs)
					}
					b.AddASN1(cbasn1.SET, func(b *cryptobyte.Builder) { // SignerInfos
						b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
							b.AddASN1Int64(1) // sid is issuerAndSerialNumber
							b.AddBytes(f.sid)
							b.AddBytes(f.digestAlg)
							// [0] IMPLICIT: the signed SET OF with its tag replaced.
							b.AddASN1(cbasn1.Tag(0).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
								b.AddBytes(cms.Contents(attrs))
							})
							b.AddBytes(f.sigAlg)
							b.AddASN1OctetString(sig)
						})
					})
				})
			})
		})
	})
	return b.Bytes()
}

// TestEncoderMatchesReference: the template encoder writes, octet for octet, what
// the cryptobyte encoder writes, for every shape of request, key and time.
func TestEncoderMatchesReference(t *testing.T) {
	rnd := mrand.New(mrand.NewPCG(1, 2))
	for _, k := range []struct {
		name string
		key  crypto.Signer
	}{{"p256", mustKey(ecdsa.GenerateKey(elliptic.P256(), rand.Reader))}, {"p384", mustKey(ecdsa.GenerateKey(elliptic.P384(), rand.Reader))},
		{"ed25519", mustEd(ed25519.GenerateKey(rand.Reader))}} {
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(rnd.Int64()), Subject: pkix.Name{CommonName: "TSA " + k.name, Organization: []string{"Tawthiq"}},
			NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour)}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, k.key.Public(), k.key)
		if err != nil {
			t.Fatal(err)
		}
		cert, _ := x509.ParseCertificate(der)
		for _, qualified := range []bool{false, true} {
			for _, acc := range []time.Duration{time.Second, 1500 * time.Microsecond, 2*time.Second + 7*time.Millisecond} {
				algID, h, _, err := issuance.SignatureAlgorithmFor(k.key.Public())
				if err != nil {
					t.Fatal(err)
				}
				cfg := &Config{Cert: cert, Chain: []*x509.Certificate{cert}, Policy: asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 99999, 2},
					Accuracy: acc, Qualified: qualified}
				f, err := newFixed(cfg, algID, h)
				if err != nil {
					t.Fatal(err)
				}
				for i := range 200 {
					hc := []crypto.Hash{crypto.SHA256, crypto.SHA384, crypto.SHA512}[i%3]
					hashed := make([]byte, hc.Size())
					_, _ = rand.Read(hashed)
					var nonce []byte
					if i%4 != 0 {
						nonce = make([]byte, 1+rnd.IntN(maxNonce))
						_, _ = rand.Read(nonce)
						nonce[0] = nonce[0]&0x7f | 0x01
					}
					qd, err := BuildRequest(hc, hashed, nonce, i%2 == 0, nil)
					if err != nil {
						t.Fatal(err)
					}
					var req request
					if fail := parseRequest(qd, &req); fail != nil {
						t.Fatal(fail)
					}
					serial := make([]byte, 16)
					_, _ = rand.Read(serial)
					serial[0] = serial[0]&0x3f | 0x40
					gen := time.Unix(1_700_000_000+rnd.Int64N(1e9), 0).Add(time.Duration(rnd.IntN(1000)) * time.Millisecond)
					if i%5 == 0 {
						gen = gen.Truncate(time.Second)
					}
					wantTST, err := f.tstInfo(&req, serial, gen)
					if err != nil {
						t.Fatal(err)
					}
					gotTST := f.appendTSTInfo(nil, &req, serial, gen)
					if !bytes.Equal(gotTST, wantTST) {
						t.Fatalf("%s: TSTInfo\n got %x\nwant %x", k.name, gotTST, wantTST)
					}
					var md [64]byte
					digest := sum(f.digest, wantTST, &md)
					wantAttrs, err := f.signedAttrs(digest)
					if err != nil {
						t.Fatal(err)
					}
					gotAttrs := f.appendSignedAttrs([]byte{9, 9}, digest)[2:]
					if !bytes.Equal(gotAttrs, wantAttrs) {
						t.Fatalf("%s: signed attributes\n got %x\nwant %x", k.name, gotAttrs, wantAttrs)
					}
					sig := make([]byte, 64+rnd.IntN(80)) // the encoder does not judge the signature
					_, _ = rand.Read(sig)
					want, err := f.token(wantTST, wantAttrs, sig, req.certReq)
					if err != nil {
						t.Fatal(err)
					}
					got := f.appendToken(make([]byte, 0, f.tokenSize(gotTST, gotAttrs, sig, req.certReq)), gotTST, gotAttrs, sig, req.certReq)
					if !bytes.Equal(got, want) || len(got) != cap(got) {
						t.Fatalf("%s: token (len %d cap %d)\n got %x\nwant %x", k.name, len(got), cap(got), got, want)
					}
				}
			}
		}
	}
}

// TestGeneralizedTime: the hand-written GeneralizedTime is what time.Format writes.
func TestGeneralizedTime(t *testing.T) {
	ref := func(t time.Time) []byte {
		s := t.UTC().AppendFormat(nil, "20060102150405.000")
		s = bytes.TrimRight(s, "0")
		s = bytes.TrimSuffix(s, []byte("."))
		s = append(s, 'Z')
		return append([]byte{0x18, byte(len(s))}, s...)
	}
	rnd := mrand.New(mrand.NewPCG(3, 4))
	for i := range 100000 {
		tm := time.Unix(rnd.Int64N(250_000_000_000), int64(rnd.IntN(1e9))).Truncate(time.Millisecond)
		if i%3 == 0 {
			tm = tm.Truncate(time.Second)
		}
		if got, want := appendGeneralizedTime(nil, tm), ref(tm); !bytes.Equal(got, want) {
			t.Fatalf("%s: got %q want %q", tm, got, want)
		}
	}
}

func mustKey(k *ecdsa.PrivateKey, err error) crypto.Signer {
	if err != nil {
		panic(err)
	}
	return k
}

func mustEd(_ ed25519.PublicKey, k ed25519.PrivateKey, err error) crypto.Signer {
	if err != nil {
		panic(err)
	}
	return k
}
