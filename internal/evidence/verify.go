package evidence

import (
	"bytes"
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/big"
	"strings"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
	"golang.org/x/crypto/ocsp"

	"github.com/tawthiq/tawthiq/internal/signature"
	"github.com/tawthiq/tawthiq/internal/timestamp"
	"github.com/tawthiq/tawthiq/internal/validation"
)

// VerifyOptions are what the relying party brings: its trust anchors (the CSP's
// root) and, optionally, trusted lists; nothing is fetched.
type VerifyOptions struct {
	Roots        []*x509.Certificate
	TrustedLists validation.TrustedLists
	Now          time.Time // the validation time; zero is time.Now
	Limits       Limits    // zero values take the defaults
}

// IsBundle reports whether b looks like an ASiC-E container: a ZIP whose first
// entry is the stored mimetype (EN 319 162-1 §A.1).
func IsBundle(b []byte) bool {
	return len(b) > 38+len(MediaType) && bytes.HasPrefix(b, []byte("PK\x03\x04")) &&
		string(b[30:38]) == mimetypeName && string(b[38:38+len(MediaType)]) == MediaType
}

// Verify checks a bundle offline: every entry against the sealed manifest, the
// seal itself, the audit-log proofs, and each document's signatures from the
// evidence inside; it names each entry changed, added or removed. It never
// fails: a bundle it cannot read is a Result with Problems.
func Verify(ctx context.Context, bundle []byte, opts VerifyOptions) Result {
	if opts.Now.IsZero() {
		opts.Now = time.Now()
	}
	res := Result{Format: "ASiC-E", ValidationAt: opts.Now.UTC()}
	c, err := readContainer(bundle, opts.Limits.orDefault())
	if err != nil {
		res.Problems = append(res.Problems, Problem{Entry: "(container)", Reason: err.Error()})
		return res
	}
	res.Problems = append(res.Problems, c.problems...)
	man, okMan := c.entries[ManifestName]
	seal, okSeal := c.entries[SealName]
	if !okMan {
		res.Problems = append(res.Problems, Problem{Entry: ManifestName, Reason: "missing: nothing says which data objects were sealed"})
	}
	if !okSeal {
		res.Problems = append(res.Problems, Problem{Entry: SealName, Reason: "missing: the bundle is not sealed"})
	}
	if !okMan || !okSeal {
		return res
	}
	sigRef, refs, err := parseManifest(man)
	if err != nil {
		res.Problems = append(res.Problems, Problem{Entry: ManifestName, Reason: err.Error()})
		return res
	}
	if sigRef != SealName {
		res.Problems = append(res.Problems, Problem{Entry: ManifestName, Reason: fmt.Sprintf("refers to the signature %q, not %s", sigRef, SealName)})
	}

	// Only objects whose digest matches the sealed manifest take part in what follows.
	good := map[string][]byte{}
	listed := map[string]bool{}
	for _, r := range refs {
		listed[r.URI] = true
		data, ok := c.entries[r.URI]
		switch {
		case !ok:
			res.Problems = append(res.Problems, Problem{Entry: r.URI, Reason: "removed: listed in the manifest but missing from the container"})
		case r.Algorithm != sha256URI:
			res.Problems = append(res.Problems, Problem{Entry: r.URI, Reason: "the manifest gives a digest method other than SHA-256: " + r.Algorithm})
		default:
			sum := sha256.Sum256(data)
			if !bytes.Equal(sum[:], r.Digest) {
				res.Problems = append(res.Problems, Problem{Entry: r.URI, Reason: "digest differs from the manifest: the entry was changed"})
				continue
			}
			good[r.URI] = data
			p, rule := proves(r.URI)
			res.Entries = append(res.Entries, EntryCheck{Name: r.URI, SHA256: hex.EncodeToString(sum[:]), Proves: p, Rule: rule})
		}
	}
	for _, n := range c.names() {
		if n != mimetypeName && n != ManifestName && n != SealName && !listed[n] {
			res.Problems = append(res.Problems, Problem{Entry: n, Reason: "added: not in the sealed manifest"})
		}
	}

	vopts := validation.Options{Roots: opts.Roots, TrustedLists: opts.TrustedLists, Now: opts.Now, Extra: validationData(good)}
	// The bundle is to its seal what the DSS is to a PDF: its status data is in Extra.
	sr := validation.Validate(ctx, seal, man, vopts)
	res.Seal = &sr
	res.Problems = append(res.Problems, checkSeal(sr, seal, vopts.Extra)...)

	a := analyze(ctx, good, vopts)
	res.Problems = append(res.Problems, a.problems...)
	res.Log, res.Documents = a.log, a.docs
	if js, ok := good[reportJSON]; ok {
		var built Result
		if err := json.Unmarshal(js, &built); err != nil {
			res.Problems = append(res.Problems, Problem{Entry: reportJSON, Reason: "unreadable: " + err.Error()})
		} else {
			res.Differences = sameConclusions(built.Documents, res.Documents)
		}
	}
	return res
}

// checkSeal names what is wrong when the seal over the manifest does not hold:
// it must validate, at B-LTA, with its time-stamps valid, and every object it
// carries (certificates, CRLs, OCSP responses, tokens) must be intact, since
// the unsigned parts of a CMS are otherwise changeable without notice.
func checkSeal(r validation.Report, der []byte, extra signature.ValidationData) []Problem {
	var out []Problem
	switch {
	case r.Indication == validation.TotalFailed && r.SubIndication == validation.HashFailure:
		return []Problem{{Entry: ManifestName, Reason: "changed after sealing: its digest differs from the one the seal signed"}}
	case r.Indication != validation.TotalPassed:
		out = append(out, Problem{Entry: SealName, Reason: fmt.Sprintf("the bundle's seal does not validate (%s %s): %s", r.Indication, r.SubIndication, r.Reason)})
	case r.Level != "B-LTA":
		out = append(out, Problem{Entry: SealName, Reason: "the seal is " + r.Level + ", not the B-LTA it was made at: its time-stamps were removed or changed"})
	case r.TimeStamp == nil || r.TimeStamp.Ignored != "":
		out = append(out, Problem{Entry: SealName, Reason: "the seal's time-stamp is missing or does not verify"})
	}
	for _, w := range r.Warnings {
		out = append(out, Problem{Entry: SealName, Reason: "the seal " + w})
	}
	return append(out, embeddedIntact(der, extra)...)
}

// embeddedIntact checks each certificate, CRL, OCSP response and time-stamp
// token a CMS signature carries against its issuer: a changed byte in them
// breaks their own signature even where the CMS signature does not cover them.
func embeddedIntact(der []byte, extra signature.ValidationData) []Problem {
	sd, err := signature.Parse(der)
	if err != nil {
		return nil // the validation report already says the seal is unreadable
	}
	if !digestAlgorithmsAre(der, sd) {
		return []Problem{{Entry: SealName, Reason: "its digestAlgorithms field no longer names the signer's digest algorithm: the signature file was changed"}}
	}
	var pool []*x509.Certificate
	for _, d := range append(append([][]byte{}, sd.Certificates...), extra.Certs...) {
		if c, err := x509.ParseCertificate(d); err == nil {
			pool = append(pool, c)
		}
	}
	issuedBy := func(check func(*x509.Certificate) error) bool {
		for _, iss := range pool {
			if check(iss) == nil {
				return true
			}
		}
		return false
	}
	bad := func(what string, i int) Problem {
		return Problem{Entry: SealName, Reason: fmt.Sprintf("its %s %d no longer verifies: the signature file was changed", what, i+1)}
	}
	var out []Problem
	for i, d := range sd.Certificates {
		c, err := x509.ParseCertificate(d)
		if err != nil || !issuedBy(func(iss *x509.Certificate) error { return c.CheckSignatureFrom(iss) }) &&
			c.CheckSignature(c.SignatureAlgorithm, c.RawTBSCertificate, c.Signature) != nil {
			out = append(out, bad("certificate", i))
		}
	}
	for i, d := range sd.CRLs {
		l, err := x509.ParseRevocationList(d)
		if err != nil || !issuedBy(l.CheckSignatureFrom) {
			out = append(out, bad("CRL", i))
		}
	}
	for i, d := range sd.OCSPs {
		if !issuedBy(func(iss *x509.Certificate) error { _, err := ocsp.ParseResponse(d, iss); return err }) {
			out = append(out, bad("OCSP response", i))
		}
	}
	for _, si := range sd.Signers {
		toks := append([][]byte{}, si.TimeStampTokens...)
		for _, a := range si.ArchiveTimeStamps {
			toks = append(toks, a.Token)
		}
		for i, t := range toks {
			tok, err := timestamp.CheckToken(t)
			if err != nil || !sidNames(t, tok.Signer) || !digestAlgorithmsAre(t, nil) {
				out = append(out, bad("time-stamp token", i))
			}
		}
	}
	return out
}

// sidNames reports whether the token's signer identifier names its signer's
// certificate: timestamp.CheckToken finds the signer by signing-certificate-v2,
// so a changed identifier would otherwise pass unseen.
func sidNames(token []byte, signer *x509.Certificate) bool {
	sd, err := signature.Parse(token)
	if err != nil || len(sd.Signers) != 1 || signer == nil {
		return false
	}
	sid := cryptobyte.String(sd.Signers[0].SID)
	var ias, issuer cryptobyte.String
	var ski cryptobyte.String
	switch {
	case sid.PeekASN1Tag(cbasn1.SEQUENCE):
		serial := new(big.Int)
		if !sid.ReadASN1(&ias, cbasn1.SEQUENCE) || !ias.ReadASN1Element(&issuer, cbasn1.SEQUENCE) || !ias.ReadASN1Integer(serial) || !ias.Empty() {
			return false
		}
		return bytes.Equal(issuer, signer.RawIssuer) && serial.Cmp(signer.SerialNumber) == 0
	case sid.ReadASN1(&ski, cbasn1.Tag(0).ContextSpecific()):
		return len(signer.SubjectKeyId) > 0 && bytes.Equal(ski, signer.SubjectKeyId)
	}
	return false
}

// digestAlgorithmsAre reports whether the SignedData's digestAlgorithms field,
// which no signature covers and Parse skips, holds exactly its signer's digest
// algorithm, with absent or NULL parameters. sd may be nil: der is parsed.
func digestAlgorithmsAre(der []byte, sd *signature.SignedData) bool {
	if sd == nil {
		var err error
		if sd, err = signature.Parse(der); err != nil {
			return false
		}
	}
	if len(sd.Signers) != 1 {
		return false
	}
	oids := map[crypto.Hash]asn1.ObjectIdentifier{crypto.SHA256: {2, 16, 840, 1, 101, 3, 4, 2, 1},
		crypto.SHA384: {2, 16, 840, 1, 101, 3, 4, 2, 2}, crypto.SHA512: {2, 16, 840, 1, 101, 3, 4, 2, 3}}
	want, ok := oids[sd.Signers[0].DigestAlgorithm]
	if !ok {
		return false
	}
	in := cryptobyte.String(der)
	var ci, content, signed, set cryptobyte.String
	var version int64
	if !in.ReadASN1(&ci, cbasn1.SEQUENCE) || !ci.SkipASN1(cbasn1.OBJECT_IDENTIFIER) ||
		!ci.ReadASN1(&content, cbasn1.Tag(0).Constructed().ContextSpecific()) || !content.ReadASN1(&signed, cbasn1.SEQUENCE) ||
		!signed.ReadASN1Integer(&version) || !signed.ReadASN1(&set, cbasn1.SET) {
		return false
	}
	n := 0
	for !set.Empty() {
		var alg cryptobyte.String
		var oid asn1.ObjectIdentifier
		if !set.ReadASN1(&alg, cbasn1.SEQUENCE) || !alg.ReadASN1ObjectIdentifier(&oid) || !oid.Equal(want) {
			return false
		}
		if !alg.Empty() && (!bytes.Equal(alg, []byte{0x05, 0x00})) {
			return false
		}
		n++
	}
	return n == 1
}

// Summary is a few lines for a terminal.
func (r Result) Summary() string {
	var b strings.Builder
	if r.OK() {
		fmt.Fprintf(&b, "bundle intact: %d entries as sealed\n", len(r.Entries))
	} else {
		fmt.Fprintf(&b, "bundle NOT intact: %d problem(s)\n", len(r.Problems))
		for _, p := range r.Problems {
			fmt.Fprintf(&b, "  %s\n", p)
		}
	}
	for _, d := range r.Documents {
		fmt.Fprintf(&b, "%s (%s, %s)\n", d.Name, d.Kind, d.Indication)
		for _, c := range d.Conclusions {
			fmt.Fprintf(&b, "  %s %s: %s\n", c.Rule, holds(c.Holds), c.Why)
		}
	}
	for _, d := range r.Differences {
		fmt.Fprintf(&b, "differs from report.json: %s\n", d)
	}
	return b.String()
}
