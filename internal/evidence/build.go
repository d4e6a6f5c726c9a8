package evidence

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"

	"github.com/tawthiq/tawthiq/internal/errkind"
	"github.com/tawthiq/tawthiq/internal/law"
	"github.com/tawthiq/tawthiq/internal/signature"
	"github.com/tawthiq/tawthiq/internal/signature/pdf"
	"github.com/tawthiq/tawthiq/internal/validation"
	"github.com/tawthiq/tawthiq/internal/validation/render"
)

// Document is one signed document a bundle carries.
type Document struct {
	Name      string // its file name; the bundle keeps it as documents/<Name>
	MediaType string // "" is application/pdf for a PDF, else application/octet-stream
	Content   []byte // the document; a PAdES-signed PDF carries its own signatures
	Signature []byte // its CAdES signature (detached or enveloping); nil for a signed PDF
	// Archived are the audit-log entries that recorded the document (and its
	// signature) in the archive, with inclusion proofs in Options.Log.
	Archived []ArchiveRecord
}

// Options are what Build needs besides the documents.
type Options struct {
	// Seal signs the manifest; SealChain[0] is its certificate, then its issuers
	// up to, not including, the root.
	Seal      crypto.Signer
	SealChain []*x509.Certificate
	// CACerts are the roots: embedded, so that paths are complete, and used for B-LTA.
	CACerts    []*x509.Certificate
	Stamper    signature.Stamper          // the CSP's TSA: the seal is B-LTA
	Revocation signature.RevocationSource // status of every certificate the bundle carries
	// Roots and TrustedLists judge the signatures for the report, as Verify will.
	Roots        []*x509.Certificate
	TrustedLists validation.TrustedLists
	Log          *LogEvidence // nil: no document is archived
	Lang         string       // of report.pdf: ar, fr or en
	Now          time.Time    // zero is time.Now
}

// Build makes an ASiC-E container (ETSI EN 319 162-1) of docs with their
// evidence, sealed at B-LTA, and returns it with what it states (report.json).
func Build(ctx context.Context, docs []Document, opts Options) ([]byte, Result, error) {
	if opts.Seal == nil || len(opts.SealChain) == 0 || opts.Stamper == nil || opts.Revocation == nil {
		return nil, Result{}, errkind.New(errkind.Invalid, law.L417_1, "an evidence bundle needs a seal key and certificate, a time-stamping authority and a revocation source")
	}
	if !slices.Contains(render.Languages(), opts.Lang) {
		return nil, Result{}, errkind.New(errkind.Invalid, "", "report language %q: one of %s", opts.Lang, strings.Join(render.Languages(), ", "))
	}
	if len(docs) == 0 {
		return nil, Result{}, errkind.New(errkind.Invalid, law.L417_1, "an evidence bundle needs at least one document")
	}
	if opts.Now.IsZero() {
		opts.Now = time.Now()
	}
	entries := map[string][]byte{}
	media := map[string]string{}
	put := func(name, mt string, data []byte) {
		entries[name], media[name] = data, mt
	}
	g := &gatherer{ctx: ctx, src: opts.Revocation, seen: map[string]bool{}}
	for _, c := range opts.CACerts {
		g.cert(c.Raw)
	}
	for i, d := range docs {
		name := safeName(d.Name)
		if _, dup := entries[dirDocuments+name]; dup {
			name = strconv.Itoa(i+1) + "-" + name
		}
		mt := d.MediaType
		switch {
		case mt != "":
		case isPDF(d.Content):
			mt = "application/pdf"
		default:
			mt = "application/octet-stream"
		}
		put(dirDocuments+name, mt, d.Content)
		var sigs [][]byte
		if d.Signature != nil {
			put(dirSignatures+name+".p7s", p7sMediaType, d.Signature)
			sigs = append(sigs, d.Signature)
		} else {
			if !isPDF(d.Content) {
				return nil, Result{}, errkind.New(errkind.Invalid, law.L417_2, "%s: neither a signed PDF nor given with its signature", d.Name)
			}
			var err error
			if sigs, err = pdfSignatures(d.Content, g); err != nil {
				return nil, Result{}, errkind.Wrap(errkind.Invalid, err, "%s: reading its signatures", d.Name)
			}
		}
		n := 0
		for _, s := range sigs {
			for _, tok := range g.signature(s) {
				n++
				put(fmt.Sprintf("%s%s-%d.tst", dirTimeStamps, name, n), "application/vnd.etsi.timestamp-token", tok)
			}
		}
		for _, r := range d.Archived {
			e, err := decodeEntry(r.Entry)
			if err != nil {
				return nil, Result{}, errkind.Wrap(errkind.Invalid, err, "%s: its archive entry", d.Name)
			}
			n := strconv.FormatInt(e.Seq, 10)
			put(entryPrefix+n+".txt", "text/plain", r.Entry)
			if opts.Log != nil {
				_, size, _, err := checkpointSize(opts.Log)
				if err != nil {
					return nil, Result{}, err
				}
				put(proofPrefix+n+".json", "application/json", encodeProof(e.Seq, size, r.Proof))
			}
		}
	}
	if opts.Log != nil {
		put(checkpointFile, "text/plain", opts.Log.Checkpoint)
		put(logKeyFile, "text/plain", []byte(opts.Log.VerifierKey+"\n"))
		if opts.Log.Timestamp != nil {
			put(checkpointTST, "application/vnd.etsi.timestamp-token", opts.Log.Timestamp)
			g.token(opts.Log.Timestamp)
		}
	}
	g.statusOfAll()
	for _, d := range g.certs {
		put(dirValidation+hexSum(d)[:16]+".cer", "application/pkix-cert", d)
	}
	for _, d := range g.crls {
		put(dirValidation+hexSum(d)[:16]+".crl", "application/pkix-crl", d)
	}
	for _, d := range g.ocsps {
		put(dirValidation+hexSum(d)[:16]+".ocsp", "application/ocsp-response", d)
	}

	vopts := validation.Options{Roots: opts.Roots, TrustedLists: opts.TrustedLists, Now: opts.Now}
	a := analyze(ctx, entries, vopts)
	if len(a.problems) > 0 {
		return nil, Result{}, errkind.New(errkind.Invalid, law.L417_1, "the evidence given is not consistent: %s", a.problems[0])
	}
	res := Result{Format: "ASiC-E", ValidationAt: opts.Now.UTC(), Log: a.log, Documents: a.docs}
	for _, n := range sortedNames(entries) {
		p, rule := proves(n)
		res.Entries = append(res.Entries, EntryCheck{Name: n, SHA256: hexSum(entries[n]), Proves: p, Rule: rule})
	}
	for _, n := range []string{reportJSON, reportPDF} {
		p, rule := proves(n)
		res.Entries = append(res.Entries, EntryCheck{Name: n, Proves: p, Rule: rule})
	}
	js, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return nil, Result{}, errkind.Wrap(errkind.Internal, err, "report.json")
	}
	put(reportJSON, "application/json", js)
	var pdfOut bytes.Buffer
	if err := render.PDF(&pdfOut, res.Readable(), opts.Lang); err != nil {
		return nil, Result{}, errkind.Wrap(errkind.Internal, err, "report.pdf")
	}
	put(reportPDF, "application/pdf", pdfOut.Bytes())

	var objs []object
	for _, n := range sortedNames(entries) {
		objs = append(objs, object{Name: n, MediaType: media[n], Data: entries[n]})
	}
	man := manifest(objs)
	seal, err := signature.SignCAdES(ctx, man, opts.Seal, opts.SealChain, signature.Options{Detached: true, Level: signature.BLTA,
		Stamper: opts.Stamper, Revocation: opts.Revocation, CACerts: opts.CACerts, Now: func() time.Time { return opts.Now }})
	if err != nil {
		return nil, Result{}, err
	}
	objs = append(objs, object{Name: ManifestName, MediaType: "text/xml", Data: man}, object{Name: SealName, MediaType: p7sMediaType, Data: seal})
	var out bytes.Buffer
	if err := writeContainer(&out, objs, opts.Now); err != nil {
		return nil, Result{}, errkind.Wrap(errkind.Internal, err, "writing the container")
	}
	sr := validation.Validate(ctx, seal, man, validation.Options{Roots: opts.Roots, TrustedLists: opts.TrustedLists, Now: opts.Now,
		Extra: validationData(entries)})
	res.Seal = &sr
	return out.Bytes(), res, nil
}

func sortedNames(m map[string][]byte) []string {
	out := make([]string, 0, len(m))
	for n := range m {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

func checkpointSize(l *LogEvidence) (string, int64, []byte, error) {
	h, err := openCheckpoint(l.Checkpoint, l.VerifierKey)
	if err != nil {
		return "", 0, nil, errkind.Wrap(errkind.Invalid, err, "the audit-log checkpoint")
	}
	return h.Origin, h.Size, h.Root[:], nil
}

// pdfSignatures returns the CMS of each signature and document time-stamp of a
// PDF, and adds its DSS to g.
func pdfSignatures(doc []byte, g *gatherer) ([][]byte, error) {
	f, err := pdf.Open(doc)
	if err != nil {
		return nil, err
	}
	sigs, err := f.Signatures()
	if err != nil {
		return nil, err
	}
	dss, err := f.DSS()
	if err != nil {
		return nil, err
	}
	for _, c := range dss.Certs {
		g.cert(c)
	}
	g.crls = appendNew(g.crls, dss.CRLs...)
	g.ocsps = appendNew(g.ocsps, dss.OCSPs...)
	var out [][]byte
	for _, s := range sigs {
		in := cryptobyte.String(s.Contents)
		var der cryptobyte.String
		if !in.ReadASN1Element(&der, cbasn1.SEQUENCE) {
			return nil, fmt.Errorf("signature field %s: its contents are not DER", s.Field)
		}
		if s.DocTimeStamp || s.SubFilter == pdf.SubFilterRFC3161 {
			g.token(der)
			out = append(out, nil)
			g.tokens = append(g.tokens, der)
			continue
		}
		out = append(out, der)
	}
	return out, nil
}

// gatherer collects the certificates, status data and time-stamp tokens of signatures.
type gatherer struct {
	ctx                context.Context
	src                signature.RevocationSource
	certs, crls, ocsps [][]byte
	tokens             [][]byte // document time-stamps met while reading a PDF
	seen               map[string]bool
}

func appendNew(s [][]byte, add ...[]byte) [][]byte {
	for _, d := range add {
		if !slices.ContainsFunc(s, func(x []byte) bool { return bytes.Equal(x, d) }) {
			s = append(s, d)
		}
	}
	return s
}

func (g *gatherer) cert(der []byte) {
	if _, err := x509.ParseCertificate(der); err == nil {
		g.certs = appendNew(g.certs, der)
	}
}

// signature adds what a CMS signature carries and returns its time-stamp tokens
// (signature and archive time-stamps; for a document time-stamp, itself).
func (g *gatherer) signature(der []byte) [][]byte {
	if der == nil {
		toks := g.tokens
		g.tokens = nil
		return toks
	}
	sd, err := signature.Parse(der)
	if err != nil {
		return nil
	}
	for _, c := range sd.Certificates {
		g.cert(c)
	}
	g.crls = appendNew(g.crls, sd.CRLs...)
	g.ocsps = appendNew(g.ocsps, sd.OCSPs...)
	var toks [][]byte
	for _, si := range sd.Signers {
		for _, t := range si.TimeStampTokens {
			g.token(t)
			toks = append(toks, t)
		}
		for _, a := range si.ArchiveTimeStamps {
			g.token(a.Token)
			toks = append(toks, a.Token)
		}
	}
	return toks
}

// token adds the certificates a time-stamp token carries.
func (g *gatherer) token(der []byte) {
	if sd, err := signature.Parse(der); err == nil {
		for _, c := range sd.Certificates {
			g.cert(c)
		}
	}
}

// statusOfAll asks the revocation source about every certificate gathered that
// has its issuer among them, so that status is in the bundle even for
// signatures that do not carry it (B-B, B-T).
func (g *gatherer) statusOfAll() {
	var parsed []*x509.Certificate
	for _, d := range g.certs {
		if c, err := x509.ParseCertificate(d); err == nil {
			parsed = append(parsed, c)
		}
	}
	for _, c := range parsed {
		if bytes.Equal(c.RawIssuer, c.RawSubject) || g.seen[string(c.Raw)] {
			continue
		}
		g.seen[string(c.Raw)] = true
		for _, iss := range parsed {
			if !bytes.Equal(c.RawIssuer, iss.RawSubject) || c.CheckSignatureFrom(iss) != nil {
				continue
			}
			crls, ocsps, err := g.src.Revocation(g.ctx, c, iss)
			if err == nil {
				g.crls = appendNew(g.crls, crls...)
				g.ocsps = appendNew(g.ocsps, ocsps...)
			}
			break
		}
	}
}

// Readable is the report as the renderer reads it: every signature, then what
// each entry proves and each document's conclusions under their articles.
func (r Result) Readable() render.Document {
	d := render.Document{Name: "evidence bundle (ASiC-E, ETSI EN 319 162-1)", Kind: "ASiC-E"}
	for _, doc := range r.Documents {
		d.Signatures = append(d.Signatures, doc.Signatures...)
		if d.SHA256 == "" {
			d.SHA256 = doc.SHA256
		}
		for _, c := range doc.Conclusions {
			d.Notes = append(d.Notes, fmt.Sprintf("%s — %s (%s): %s %s", doc.Name, c.Rule, law.Describe(c.Rule).Article, holds(c.Holds), c.Why))
		}
	}
	for _, p := range r.Problems {
		d.Notes = append(d.Notes, "NOT INTACT: "+p.String())
	}
	if r.Log != nil {
		d.Notes = append(d.Notes, fmt.Sprintf("audit log %s: checkpoint of %d entries signed at %s", r.Log.Origin, r.Log.Size, stamp(r.Log.SignedAt)))
	}
	for _, e := range r.Entries {
		if e.Proves == "" {
			continue
		}
		n := e.Name + ": " + e.Proves
		if e.Rule != "" {
			n += " (" + string(e.Rule) + ")"
		}
		d.Notes = append(d.Notes, n)
	}
	return d
}
