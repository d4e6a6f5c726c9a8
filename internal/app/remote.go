package app

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
	"golang.org/x/crypto/ocsp"

	"github.com/tawthiq/tawthiq/internal/errkind"
	"github.com/tawthiq/tawthiq/internal/law"
	"github.com/tawthiq/tawthiq/internal/timestamp"
	"github.com/tawthiq/tawthiq/internal/tsa"
)

// Bounds on what a remote CSP may send us: a CRL of a million entries is ~50 MB.
const (
	maxFetchedCRL   = 64 << 20
	maxFetchedSmall = 1 << 20 // OCSP responses, certificates, time-stamp replies
	fetchTimeout    = 15 * time.Second
)

// fetcher gets what a signer or a relying party needs from the network: issuer
// certificates (AIA caIssuers), OCSP responses and CRLs (the certificate's own
// URLs), and time-stamps. Mechanisms never touch the network; the app does.
type fetcher struct {
	client *http.Client
}

func newFetcher() *fetcher {
	return &fetcher{client: &http.Client{Timeout: fetchTimeout}}
}

func (f *fetcher) get(ctx context.Context, url string, limit int64) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	return f.do(req, limit)
}

func (f *fetcher) post(ctx context.Context, url, ctype string, body []byte, limit int64) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", ctype)
	return f.do(req, limit)
}

func (f *fetcher) do(req *http.Request, limit int64) ([]byte, error) {
	if req.URL.Scheme != "http" && req.URL.Scheme != "https" {
		return nil, fmt.Errorf("%s: only http and https URLs are fetched", req.URL)
	}
	resp, err := f.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s %s: HTTP %d", req.Method, req.URL, resp.StatusCode)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%s: more than %d bytes", req.URL, limit)
	}
	return b, nil
}

// Revocation implements signature.RevocationSource: an OCSP response from the
// certificate's responder, else its CRL; each checked against issuer before use.
func (f *fetcher) Revocation(ctx context.Context, cert, issuer *x509.Certificate) (crls, ocsps [][]byte, err error) {
	var errs []error
	for _, url := range cert.OCSPServer {
		der, err := f.ocsp(ctx, url, cert, issuer)
		if err == nil {
			return nil, [][]byte{der}, nil
		}
		errs = append(errs, err)
	}
	for _, url := range cert.CRLDistributionPoints {
		der, err := f.crl(ctx, url, issuer)
		if err == nil {
			return [][]byte{der}, nil, nil
		}
		errs = append(errs, err)
	}
	if len(errs) == 0 {
		return nil, nil, fmt.Errorf("%s names no OCSP responder and no CRL", cert.Subject.CommonName)
	}
	return nil, nil, errors.Join(errs...)
}

func (f *fetcher) ocsp(ctx context.Context, url string, cert, issuer *x509.Certificate) ([]byte, error) {
	req, nonce, err := ocspRequest(cert, issuer)
	if err != nil {
		return nil, err
	}
	der, err := f.post(ctx, url, "application/ocsp-request", req, maxFetchedSmall)
	if err != nil {
		return nil, err
	}
	return der, checkOCSP(der, url, cert, issuer, nonce)
}

// checkOCSP accepts a fresh, authentic answer that knows cert.
func checkOCSP(der []byte, url string, cert, issuer *x509.Certificate, nonce []byte) error {
	// ParseResponseForCert checks the signature, by the issuer or a responder it delegated to.
	r, err := ocsp.ParseResponseForCert(der, cert, issuer)
	if err != nil {
		return fmt.Errorf("OCSP response from %s: %w", url, err)
	}
	if r.Status == ocsp.Unknown {
		return fmt.Errorf("OCSP responder %s does not know %s", url, cert.Subject.CommonName)
	}
	if !echoes(der, nonce) {
		return fmt.Errorf("OCSP responder %s did not echo the nonce: the answer may be a replay", url)
	}
	return nil
}

var oidOCSPNonce = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 48, 1, 2}

// ocspRequest asks with a nonce (RFC 8954): the responder signs a fresh answer,
// produced after the signature time-stamp, as long-term validation needs.
func ocspRequest(cert, issuer *x509.Certificate) (req, nonce []byte, err error) {
	plain, err := ocsp.CreateRequest(cert, issuer, &ocsp.RequestOptions{Hash: crypto.SHA256})
	if err != nil {
		return nil, nil, err
	}
	s := cryptobyte.String(plain)
	var outer, tbs, list cryptobyte.String
	if !s.ReadASN1(&outer, cbasn1.SEQUENCE) || !outer.ReadASN1(&tbs, cbasn1.SEQUENCE) || !tbs.ReadASN1Element(&list, cbasn1.SEQUENCE) {
		return nil, nil, errors.New("unexpected OCSP request encoding")
	}
	nonce = make([]byte, 16)
	if _, err := rand.Read(nonce); err != nil {
		return nil, nil, err
	}
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // OCSPRequest
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // TBSRequest
			b.AddBytes(list)
			b.AddASN1(cbasn1.Tag(2).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
				b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // Extensions
					b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
						b.AddASN1ObjectIdentifier(oidOCSPNonce)
						b.AddASN1(cbasn1.OCTET_STRING, func(b *cryptobyte.Builder) { b.AddASN1OctetString(nonce) })
					})
				})
			})
		})
	})
	req, err = b.Bytes()
	return req, nonce, err
}

// echoes reports whether the response's responseExtensions carry our nonce
// (x/crypto/ocsp does not expose them); the signature over them is checked by
// ParseResponseForCert.
func echoes(der, nonce []byte) bool {
	s := cryptobyte.String(der)
	var resp, rb, basic, tbs cryptobyte.String
	var status int
	var typ asn1.ObjectIdentifier
	var octets cryptobyte.String
	if !s.ReadASN1(&resp, cbasn1.SEQUENCE) || !resp.ReadASN1Enum(&status) ||
		!resp.ReadASN1(&rb, cbasn1.Tag(0).Constructed().ContextSpecific()) ||
		!rb.ReadASN1(&rb, cbasn1.SEQUENCE) || !rb.ReadASN1ObjectIdentifier(&typ) || !rb.ReadASN1(&octets, cbasn1.OCTET_STRING) ||
		!octets.ReadASN1(&basic, cbasn1.SEQUENCE) || !basic.ReadASN1(&tbs, cbasn1.SEQUENCE) {
		return false
	}
	var skip cryptobyte.String
	var tag cbasn1.Tag
	if !tbs.SkipOptionalASN1(cbasn1.Tag(0).Constructed().ContextSpecific()) || // version
		!tbs.ReadAnyASN1(&skip, &tag) || // responderID
		!tbs.SkipASN1(cbasn1.GeneralizedTime) || !tbs.SkipASN1(cbasn1.SEQUENCE) { // producedAt, responses
		return false
	}
	var exts cryptobyte.String
	var present bool
	if !tbs.ReadOptionalASN1(&exts, &present, cbasn1.Tag(1).Constructed().ContextSpecific()) || !present ||
		!exts.ReadASN1(&exts, cbasn1.SEQUENCE) {
		return false
	}
	for !exts.Empty() {
		var ext, value cryptobyte.String
		var oid asn1.ObjectIdentifier
		if !exts.ReadASN1(&ext, cbasn1.SEQUENCE) || !ext.ReadASN1ObjectIdentifier(&oid) ||
			!ext.SkipOptionalASN1(cbasn1.BOOLEAN) || !ext.ReadASN1(&value, cbasn1.OCTET_STRING) {
			return false
		}
		if !oid.Equal(oidOCSPNonce) {
			continue
		}
		var got cryptobyte.String
		return value.ReadASN1(&got, cbasn1.OCTET_STRING) && value.Empty() && bytes.Equal(got, nonce)
	}
	return false
}

func (f *fetcher) crl(ctx context.Context, url string, issuer *x509.Certificate) ([]byte, error) {
	der, err := f.get(ctx, url, maxFetchedCRL)
	if err != nil {
		return nil, err
	}
	l, err := x509.ParseRevocationList(der)
	if err != nil {
		return nil, fmt.Errorf("CRL from %s: %w", url, err)
	}
	if err := l.CheckSignatureFrom(issuer); err != nil {
		return nil, fmt.Errorf("CRL from %s is not signed by %s: %w", url, issuer.Subject.CommonName, err)
	}
	return der, nil
}

// issuerOf fetches cert's issuer from its AIA caIssuers URLs (DER or PEM).
func (f *fetcher) issuerOf(ctx context.Context, cert *x509.Certificate) (*x509.Certificate, error) {
	var errs []error
	for _, url := range cert.IssuingCertificateURL {
		b, err := f.get(ctx, url, maxFetchedSmall)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if blk, _ := pem.Decode(b); blk != nil {
			b = blk.Bytes
		}
		c, err := x509.ParseCertificate(b)
		if err == nil && cert.CheckSignatureFrom(c) == nil {
			return c, nil
		}
		errs = append(errs, fmt.Errorf("%s: not the issuer of %s", url, cert.Subject.CommonName))
	}
	if len(errs) == 0 {
		return nil, fmt.Errorf("%s names no issuer URL (AIA caIssuers)", cert.Subject.CommonName)
	}
	return nil, errors.Join(errs...)
}

// completeChain appends issuers fetched through AIA up to a self-signed root,
// which it returns apart: the relying party brings its own anchors.
func (f *fetcher) completeChain(ctx context.Context, chain []*x509.Certificate) (path []*x509.Certificate, root *x509.Certificate, err error) {
	for len(chain) < 8 {
		last := chain[len(chain)-1]
		if bytes.Equal(last.RawIssuer, last.RawSubject) && last.CheckSignatureFrom(last) == nil {
			return chain[:len(chain)-1], last, nil
		}
		next, err := f.issuerOf(ctx, last)
		if err != nil {
			return nil, nil, err
		}
		chain = append(chain, next)
	}
	return nil, nil, errors.New("no self-signed root within 8 certificates")
}

// remoteStamper implements signature.Stamper over HTTP (RFC 3161 §3.4).
type remoteStamper struct {
	f   *fetcher
	url string
}

func (s remoteStamper) StampDigest(ctx context.Context, digest [32]byte) ([]byte, error) {
	nonce := make([]byte, 8)
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	nonce[0] = nonce[0]&0x7f | 0x01 // a positive INTEGER without a leading zero byte
	req, err := tsa.BuildRequest(crypto.SHA256, digest[:], nonce, true, nil)
	if err != nil {
		return nil, err
	}
	reply, err := s.f.post(ctx, s.url, "application/timestamp-query", req, maxFetchedSmall)
	if err != nil {
		return nil, errkind.Wrap(errkind.Unavailable, err, "the time-stamping authority %s", s.url)
	}
	tok, err := timestamp.CheckReply(reply, nil)
	if err != nil {
		return nil, errkind.Wrap(errkind.Unavailable, err, "the reply of %s", s.url)
	}
	if tok.Status != timestamp.StatusGranted {
		return nil, errkind.New(errkind.Unavailable, law.L21_1, "the time-stamping authority %s refused (status %d)", s.url, tok.Status)
	}
	if !bytes.Equal(tok.Imprint, digest[:]) || !bytes.Equal(tok.Nonce, nonce) {
		return nil, errkind.New(errkind.Unavailable, law.L21_1, "the time-stamping authority %s answered another request", s.url)
	}
	return timestamp.TokenOf(reply)
}

// TSAURL is the server's time-stamping endpoint.
func TSAURL(server string) string { return strings.TrimRight(server, "/") + "/tsa" }
