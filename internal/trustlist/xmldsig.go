package trustlist

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"math/big"
	"strings"
	"time"

	"github.com/beevik/etree"
	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"

	"github.com/tawthiq/tawthiq/internal/errkind"
	"github.com/tawthiq/tawthiq/internal/issuance"
	"github.com/tawthiq/tawthiq/internal/law"
)

// XML-DSig and XAdES names.
const (
	nsDS                 = "http://www.w3.org/2000/09/xmldsig#"
	nsXAdES              = "http://uri.etsi.org/01903/v1.3.2#"
	algExcC14N           = "http://www.w3.org/2001/10/xml-exc-c14n#"
	algEnveloped         = "http://www.w3.org/2000/09/xmldsig#enveloped-signature"
	typeSignedProperties = "http://uri.etsi.org/01903#SignedProperties"
)

// digestURI names hash h as XML-DSig does (RFC 6931).
func digestURI(h crypto.Hash) string {
	switch h {
	case crypto.SHA256:
		return "http://www.w3.org/2001/04/xmlenc#sha256"
	case crypto.SHA384:
		return "http://www.w3.org/2001/04/xmldsig-more#sha384"
	case crypto.SHA512:
		return "http://www.w3.org/2001/04/xmlenc#sha512"
	}
	return ""
}

// digestByURI is digestURI's inverse; SHA-1 and anything else are refused.
func digestByURI(uri string) (crypto.Hash, bool) {
	for _, h := range []crypto.Hash{crypto.SHA256, crypto.SHA384, crypto.SHA512} {
		if digestURI(h) == uri {
			return h, true
		}
	}
	return 0, false
}

// signatureURI names how a key signs (RFC 6931): ECDSA or RSA PKCS #1 v1.5 with hash h.
func signatureURI(ecdsaKey bool, h crypto.Hash) string {
	alg := "rsa-"
	if ecdsaKey {
		alg = "ecdsa-"
	}
	switch h {
	case crypto.SHA256:
		return "http://www.w3.org/2001/04/xmldsig-more#" + alg + "sha256"
	case crypto.SHA384:
		return "http://www.w3.org/2001/04/xmldsig-more#" + alg + "sha384"
	case crypto.SHA512:
		return "http://www.w3.org/2001/04/xmldsig-more#" + alg + "sha512"
	}
	return ""
}

// signatureByURI is signatureURI's inverse.
func signatureByURI(uri string) (ecdsaKey bool, h crypto.Hash, ok bool) {
	for _, e := range []bool{true, false} {
		for _, h := range []crypto.Hash{crypto.SHA256, crypto.SHA384, crypto.SHA512} {
			if signatureURI(e, h) == uri {
				return e, h, true
			}
		}
	}
	return false, 0, false
}

// Sign adds an enveloped XAdES-B-B signature to a list from Build, made by signer
// whose certificate is cert at signingTime, as TS 119 612 clause 5.7 wants:
// exclusive c14n, one Reference over the whole document (enveloped-signature),
// one over the SignedProperties (SigningTime, SigningCertificateV2), the
// certificate in KeyInfo. ECDSA values are r‖s (RFC 4051), RSA is PKCS #1 v1.5.
// The signed list is loaded back with cert as the authority before it is returned.
func Sign(list []byte, signer crypto.Signer, cert *x509.Certificate, signingTime time.Time) ([]byte, error) {
	if signer == nil || cert == nil {
		return nil, invalid(law.L15, "signing the trusted list needs a key and its certificate")
	}
	if !bytes.Equal(pkixOf(signer.Public()), cert.RawSubjectPublicKeyInfo) {
		return nil, invalid(law.L15, "the signing key does not match the authority certificate")
	}
	_, hash, x509Alg, err := issuance.SignatureAlgorithmFor(signer.Public())
	if err != nil {
		return nil, err
	}
	_, isECDSA := signer.Public().(*ecdsa.PublicKey)
	sigURI := signatureURI(isECDSA, hash)
	if sigURI == "" || x509Alg == x509.PureEd25519 {
		return nil, invalid(law.L15, "a trusted list is signed with ECDSA or RSA, not %v", x509Alg)
	}
	doc, err := parseDoc(list, law.L15)
	if err != nil {
		return nil, err
	}
	root := doc.Root()
	if !is(root, Namespace, "TrustServiceStatusList") {
		return nil, invalid(law.L15, "not a TrustServiceStatusList")
	}
	if len(findAll(root, nsDS, "Signature")) > 0 {
		return nil, invalid(law.L15, "the trusted list is already signed")
	}
	docC14N, err := excC14N(root)
	if err != nil {
		return nil, errkind.Wrap(errkind.Internal, err, "canonicalising the trusted list")
	}
	sum := sha256.Sum256(append(docC14N, cert.Raw...))
	id := hex.EncodeToString(sum[:8]) // stable for one list and key, unique enough within one document
	sigID, refID, propsID := "sig-"+id, "ref-"+id, "xades-"+id

	sig := etree.NewElement("ds:Signature")
	at := len(root.Child)
	if at > 0 {
		if last, ok := root.Child[at-1].(*etree.CharData); ok && last.IsWhitespace() {
			at-- // before the closing tag's indentation, so the file ends tidily
		}
	}
	root.InsertChildAt(at, sig)
	sig.CreateAttr("xmlns:ds", nsDS)
	sig.CreateAttr("Id", sigID)
	si := sig.CreateElement("ds:SignedInfo")
	si.CreateElement("ds:CanonicalizationMethod").CreateAttr("Algorithm", algExcC14N)
	si.CreateElement("ds:SignatureMethod").CreateAttr("Algorithm", sigURI)
	docRef := si.CreateElement("ds:Reference")
	docRef.CreateAttr("Id", refID)
	docRef.CreateAttr("URI", "")
	tr := docRef.CreateElement("ds:Transforms")
	tr.CreateElement("ds:Transform").CreateAttr("Algorithm", algEnveloped)
	tr.CreateElement("ds:Transform").CreateAttr("Algorithm", algExcC14N)
	docRef.CreateElement("ds:DigestMethod").CreateAttr("Algorithm", digestURI(hash))
	docRef.CreateElement("ds:DigestValue").SetText(b64(digest(hash, docC14N)))
	propsRef := si.CreateElement("ds:Reference")
	propsRef.CreateAttr("Type", typeSignedProperties)
	propsRef.CreateAttr("URI", "#"+propsID)
	propsRef.CreateElement("ds:Transforms").CreateElement("ds:Transform").CreateAttr("Algorithm", algExcC14N)
	propsRef.CreateElement("ds:DigestMethod").CreateAttr("Algorithm", digestURI(hash))
	propsDigest := propsRef.CreateElement("ds:DigestValue")
	sigValue := sig.CreateElement("ds:SignatureValue")
	sigValue.CreateAttr("Id", "value-"+id)
	sig.CreateElement("ds:KeyInfo").CreateElement("ds:X509Data").CreateElement("ds:X509Certificate").SetText(b64(cert.Raw))

	qp := sig.CreateElement("ds:Object").CreateElement("xades:QualifyingProperties")
	qp.CreateAttr("xmlns:xades", nsXAdES)
	qp.CreateAttr("Target", "#"+sigID)
	props := qp.CreateElement("xades:SignedProperties")
	props.CreateAttr("Id", propsID)
	ssp := props.CreateElement("xades:SignedSignatureProperties")
	ssp.CreateElement("xades:SigningTime").SetText(formatTime(signingTime))
	cd := ssp.CreateElement("xades:SigningCertificateV2").CreateElement("xades:Cert").CreateElement("xades:CertDigest")
	cd.CreateElement("ds:DigestMethod").CreateAttr("Algorithm", digestURI(hash))
	cd.CreateElement("ds:DigestValue").SetText(b64(digest(hash, cert.Raw)))
	dof := props.CreateElement("xades:SignedDataObjectProperties").CreateElement("xades:DataObjectFormat")
	dof.CreateAttr("ObjectReference", "#"+refID)
	dof.CreateElement("xades:MimeType").SetText("text/xml")

	propsC14N, err := excC14N(props)
	if err != nil {
		return nil, errkind.Wrap(errkind.Internal, err, "canonicalising the signed properties")
	}
	propsDigest.SetText(b64(digest(hash, propsC14N)))
	siC14N, err := excC14N(si)
	if err != nil {
		return nil, errkind.Wrap(errkind.Internal, err, "canonicalising SignedInfo")
	}
	raw, err := issuance.SignDigestOf(signer, hash, siC14N)
	if err != nil {
		return nil, &errkind.Error{Kind: errkind.Unavailable, Rule: law.L15, Detail: "the authority key could not sign the trusted list", Err: err}
	}
	if pub, ok := signer.Public().(*ecdsa.PublicKey); ok {
		if raw, err = ecdsaRawSignature(raw, pub); err != nil {
			return nil, errkind.Wrap(errkind.Internal, err, "the authority key returned a malformed ECDSA signature")
		}
	}
	sigValue.SetText(b64(raw))
	out, err := doc.WriteToBytes()
	if err != nil {
		return nil, errkind.Wrap(errkind.Internal, err, "writing the signed trusted list")
	}
	// STYLE #8: what leaves is what our own validator accepts with this certificate.
	if _, err := Load(out, []*x509.Certificate{cert}, signingTime); err != nil {
		return nil, &errkind.Error{Kind: errkind.Internal, Rule: law.L15, Detail: "the signed trusted list does not load back", Err: err}
	}
	return out, nil
}

func pkixOf(pub crypto.PublicKey) []byte {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil
	}
	return der
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

func digest(h crypto.Hash, b []byte) []byte {
	d := h.New()
	d.Write(b)
	return d.Sum(nil)
}

// ecdsaRawSignature turns crypto.Signer's ASN.1 ECDSA signature into XML-DSig's
// fixed-size r‖s (RFC 4051 §3.3.1).
func ecdsaRawSignature(der []byte, pub *ecdsa.PublicKey) ([]byte, error) {
	in := cryptobyte.String(der)
	var seq cryptobyte.String
	r, s := new(big.Int), new(big.Int)
	if !in.ReadASN1(&seq, cbasn1.SEQUENCE) || !in.Empty() || !seq.ReadASN1Integer(r) || !seq.ReadASN1Integer(s) || !seq.Empty() {
		return nil, errkind.New(errkind.Internal, law.LInternal, "malformed ECDSA signature")
	}
	size := (pub.Curve.Params().BitSize + 7) / 8
	if r.Sign() <= 0 || s.Sign() <= 0 || r.BitLen() > 8*size || s.BitLen() > 8*size {
		return nil, errkind.New(errkind.Internal, law.LInternal, "ECDSA signature out of range")
	}
	out := make([]byte, 2*size)
	r.FillBytes(out[:size])
	s.FillBytes(out[size:])
	return out, nil
}

// findAll returns every {ns}tag element under el, el included.
func findAll(el *etree.Element, ns, tag string) []*etree.Element {
	var out []*etree.Element
	var walk func(e *etree.Element)
	walk = func(e *etree.Element) {
		if is(e, ns, tag) {
			out = append(out, e)
		}
		for _, c := range e.ChildElements() {
			walk(c)
		}
	}
	walk(el)
	return out
}

// signature is what verify learnt from a valid signature.
type signature struct {
	signer      *x509.Certificate
	signingTime time.Time
}

// verify checks the one enveloped XAdES signature of doc against the authority
// certificates and removes it from the tree, leaving exactly what was signed.
// Only one shape is accepted; anything else is refused, never guessed.
func verify(doc *etree.Document, authority []*x509.Certificate, rule law.ID) (*signature, error) {
	bad := func(format string, args ...any) error {
		return errkind.New(errkind.Invalid, rule, "trusted list signature: "+format, args...)
	}
	root := doc.Root()
	sigs := findAll(root, nsDS, "Signature")
	if len(sigs) != 1 {
		return nil, bad("the list must carry exactly one signature, it has %d", len(sigs))
	}
	sig := sigs[0]
	kids := root.ChildElements()
	if sig.Parent() != root || kids[len(kids)-1] != sig {
		return nil, bad("the signature must be the last child of the list")
	}
	p := &parser{rule: rule}
	c := p.open(sig)
	si := c.one(nsDS, "SignedInfo")
	sigValueEl := c.one(nsDS, "SignatureValue")
	keyInfo := c.opt(nsDS, "KeyInfo")
	object := c.one(nsDS, "Object")
	c.end()

	c = p.open(si)
	canon := c.one(nsDS, "CanonicalizationMethod")
	method := c.one(nsDS, "SignatureMethod")
	refs := c.many(nsDS, "Reference")
	c.end()

	qp := p.open(object).one(nsXAdES, "QualifyingProperties")
	props := p.open(qp).one(nsXAdES, "SignedProperties")
	ssp := p.open(props).one(nsXAdES, "SignedSignatureProperties")
	c = p.open(ssp)
	signingTimeEl := c.one(nsXAdES, "SigningTime")
	signingCert := c.opt(nsXAdES, "SigningCertificateV2")
	if signingCert == nil {
		signingCert = c.opt(nsXAdES, "SigningCertificate")
	}
	if p.err != nil {
		return nil, p.err
	}
	if signingCert == nil {
		return nil, bad("no XAdES signing certificate")
	}
	if algOf(canon) != algExcC14N || len(canon.ChildElements()) > 0 {
		return nil, bad("SignedInfo must use exclusive canonicalisation without a prefix list")
	}
	wantECDSA, hash, ok := signatureByURI(algOf(method))
	if !ok {
		return nil, bad("unsupported signature method %q", algOf(method))
	}
	sigID := sig.SelectAttrValue("Id", "")
	if sigID == "" || qp.SelectAttrValue("Target", "") != "#"+sigID {
		return nil, bad("the qualifying properties do not target this signature")
	}
	propsID := props.SelectAttrValue("Id", "")
	if propsID == "" || countIDs(root, propsID) != 1 {
		return nil, bad("the signed properties need an Id unique in the document")
	}

	// Exactly two references: the whole document and the signed properties.
	if len(refs) != 2 {
		return nil, bad("the signature must have 2 references, it has %d", len(refs))
	}
	var docRef, propsRef *etree.Element
	for _, r := range refs {
		uri := r.SelectAttr("URI")
		switch {
		case uri != nil && uri.Value == "" && docRef == nil:
			docRef = r
		case uri != nil && uri.Value == "#"+propsID && r.SelectAttrValue("Type", "") == typeSignedProperties && propsRef == nil:
			propsRef = r
		default:
			return nil, bad("unexpected reference")
		}
	}
	if docRef == nil || propsRef == nil {
		return nil, bad("the signature must cover the whole list and its signed properties")
	}
	docDigest, docHash, err := readReference(p, docRef, []string{algEnveloped, algExcC14N})
	if err != nil {
		return nil, err
	}
	propsDigest, propsHash, err := readReference(p, propsRef, []string{algExcC14N})
	if err != nil {
		return nil, err
	}

	// The signed properties are digested in place, before the signature is removed.
	propsC14N, err := excC14N(props)
	if err != nil {
		return nil, bad("the signed properties cannot be canonicalised")
	}
	if !bytes.Equal(digest(propsHash, propsC14N), propsDigest) {
		return nil, bad("the signed properties do not match their digest")
	}
	siC14N, err := excC14N(si)
	if err != nil {
		return nil, bad("SignedInfo cannot be canonicalised")
	}
	sigValue, err := base64Of(sigValueEl)
	if err != nil {
		return nil, bad("the signature value is not base64")
	}
	signingTime, err := timeOf(signingTimeEl)
	if err != nil {
		return nil, bad("the signing time is not a dateTime")
	}
	signer, err := signingCertificate(p, signingCert, authority)
	if err != nil {
		return nil, err
	}
	if keyInfo != nil {
		if err := checkKeyInfo(keyInfo, signer); err != nil {
			return nil, bad("%s", err.Detail)
		}
	}
	if err := checkSignatureValue(signer, wantECDSA, hash, siC14N, sigValue); err != nil {
		return nil, bad("the signature value does not verify with the authority certificate %q", signer.Subject.CommonName)
	}

	// Enveloped transform: the document without its signature.
	root.RemoveChild(sig)
	docC14N, err := excC14N(root)
	if err != nil {
		return nil, bad("the list cannot be canonicalised")
	}
	if !bytes.Equal(digest(docHash, docC14N), docDigest) {
		return nil, bad("the list does not match its signed digest: it was changed after signing")
	}
	return &signature{signer: signer, signingTime: signingTime}, nil
}

// readReference checks a Reference's transforms and returns its digest and hash.
func readReference(p *parser, ref *etree.Element, transforms []string) ([]byte, crypto.Hash, error) {
	c := p.open(ref)
	trs := c.one(nsDS, "Transforms")
	dm := c.one(nsDS, "DigestMethod")
	dv := c.one(nsDS, "DigestValue")
	c.end()
	var got []string
	for _, tr := range p.open(trs).many(nsDS, "Transform") {
		if len(tr.ChildElements()) > 0 {
			got = append(got, "") // a prefix list or XPath: not a shape we sign
		}
		got = append(got, algOf(tr))
	}
	if p.err != nil {
		return nil, 0, p.err
	}
	if strings.Join(got, " ") != strings.Join(transforms, " ") {
		return nil, 0, errkind.New(errkind.Invalid, p.rule, "trusted list signature: a reference has transforms %q, want %q", got, transforms)
	}
	h, ok := digestByURI(algOf(dm))
	if !ok {
		return nil, 0, errkind.New(errkind.Invalid, p.rule, "trusted list signature: unsupported digest %q", algOf(dm))
	}
	d, err := base64Of(dv)
	if err != nil || len(d) != h.Size() {
		return nil, 0, errkind.New(errkind.Invalid, p.rule, "trusted list signature: a digest value is malformed")
	}
	return d, h, nil
}

// signingCertificate finds the authority certificate the XAdES signing-certificate
// property names by digest; a signature by anyone else is refused here.
func signingCertificate(p *parser, sc *etree.Element, authority []*x509.Certificate) (*x509.Certificate, error) {
	certs := p.open(sc).many(nsXAdES, "Cert")
	if p.err != nil {
		return nil, p.err
	}
	for _, ce := range certs {
		c := p.open(ce)
		cd := c.one(nsXAdES, "CertDigest")
		cc := p.open(cd)
		dm := cc.one(nsDS, "DigestMethod")
		dv := cc.one(nsDS, "DigestValue")
		cc.end()
		if p.err != nil {
			return nil, p.err
		}
		h, ok := digestByURI(algOf(dm))
		want, err := base64Of(dv)
		if !ok || err != nil {
			continue
		}
		for _, a := range authority {
			if a != nil && bytes.Equal(digest(h, a.Raw), want) {
				return a, nil
			}
		}
	}
	return nil, errkind.New(errkind.Invalid, p.rule, "trusted list signature: the list is not signed by a configured authority certificate")
}

// checkKeyInfo makes sure the certificate KeyInfo shows first is the signer's.
func checkKeyInfo(ki *etree.Element, signer *x509.Certificate) *errkind.Error {
	for _, xd := range ki.ChildElements() {
		if !is(xd, nsDS, "X509Data") {
			continue
		}
		for _, xc := range xd.ChildElements() {
			if !is(xc, nsDS, "X509Certificate") {
				continue
			}
			der, err := base64Of(xc)
			if err != nil || !bytes.Equal(der, signer.Raw) {
				return errkind.New(errkind.Invalid, law.L15, "KeyInfo names another certificate than the signing certificate")
			}
			return nil
		}
	}
	return nil
}

func checkSignatureValue(cert *x509.Certificate, wantECDSA bool, h crypto.Hash, signed, value []byte) error {
	d := digest(h, signed)
	switch pub := cert.PublicKey.(type) {
	case *ecdsa.PublicKey:
		size := (pub.Curve.Params().BitSize + 7) / 8
		if !wantECDSA || len(value) != 2*size {
			return errkind.New(errkind.Invalid, law.L15, "bad ECDSA signature")
		}
		r, s := new(big.Int).SetBytes(value[:size]), new(big.Int).SetBytes(value[size:])
		if !ecdsa.Verify(pub, d, r, s) {
			return errkind.New(errkind.Invalid, law.L15, "bad ECDSA signature")
		}
		return nil
	case *rsa.PublicKey:
		if wantECDSA {
			return errkind.New(errkind.Invalid, law.L15, "an RSA key with an ECDSA method")
		}
		return rsa.VerifyPKCS1v15(pub, h, d, value)
	}
	return errkind.New(errkind.Invalid, law.L15, "unsupported authority key")
}

func algOf(el *etree.Element) string {
	if el == nil {
		return ""
	}
	return el.SelectAttrValue("Algorithm", "")
}

// countIDs counts the elements of the document whose Id (or ID, id) is id: one
// exactly, or a reference could be made to point at a copy (signature wrapping).
func countIDs(el *etree.Element, id string) int {
	n := 0
	for _, a := range el.Attr {
		if a.Space == "" && (a.Key == "Id" || a.Key == "ID" || a.Key == "id") && a.Value == id {
			n++
		}
	}
	for _, c := range el.ChildElements() {
		n += countIDs(c, id)
	}
	return n
}

func base64Of(el *etree.Element) ([]byte, error) {
	s, ok := leafText(el)
	if !ok {
		return nil, errkind.New(errkind.Invalid, law.L15, "not text")
	}
	return base64.StdEncoding.DecodeString(strings.Join(strings.Fields(s), ""))
}
