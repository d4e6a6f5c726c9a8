package signature

import (
	"bytes"
	"context"
	"crypto/x509"
	"slices"
	"strings"
	"time"

	"github.com/tawthiq/tawthiq/internal/errkind"
	"github.com/tawthiq/tawthiq/internal/law"
	"github.com/tawthiq/tawthiq/internal/signature/pdf"
	"github.com/tawthiq/tawthiq/internal/timestamp"
)

// ExtendPAdES raises every signature of the signed PDF doc to target, each
// step one incremental update appended to the untouched bytes (L-9). B-T
// adds a document time-stamp over the signatures that have no time-stamp
// (EN 319 142-1 allows one for B-T); B-LT a DSS, merged with the one there,
// holding the certificates and CRLs or OCSP responses of every signer's path
// and of the TSA of every signature and document time-stamp; B-LTA the B-LT
// step, then a new document time-stamp. On a B-LTA file, B-LTA renews: the DSS
// gains the validation data of the latest document time-stamp's TSA, then a
// new document time-stamp covers everything. A file whose signatures do not
// verify, or that was changed after signing beyond what PAdES allows, is
// refused. The result is read back and checked before it is returned.
func ExtendPAdES(ctx context.Context, doc []byte, target Level, opts ExtendOptions) ([]byte, error) {
	if err := checkTarget(target, BB); err != nil {
		return nil, err
	}
	p, err := readPAdES(doc)
	if err != nil {
		return nil, err
	}
	current := p.level()
	if err := checkTarget(target, current); err != nil {
		return nil, err
	}
	if target == current && target != BLTA {
		return bytes.Clone(doc), nil
	}
	out := doc
	if target >= BT && current < BT {
		if err := needStamper(opts, target); err != nil {
			return nil, err
		}
		var genTime time.Time
		if out, genTime, err = addDocTimeStamp(ctx, out, opts.Stamper); err != nil {
			return nil, err
		}
		for _, s := range p.sigs {
			// L-25: the proven time, not only the claimed one, falls within the certificate's life.
			if p.levelOf(s) == BB {
				if err := usableAt(s.cert, genTime); err != nil {
					return nil, err
				}
			}
		}
		if p, err = readBack(out); err != nil {
			return nil, err
		}
	}
	if target >= BLT {
		if err := needRevocation(opts, target); err != nil {
			return nil, err
		}
		if out, err = p.addValidationData(ctx, out, opts); err != nil {
			return nil, err
		}
		if p, err = readBack(out); err != nil {
			return nil, err
		}
	}
	if target == BLTA {
		if err := needStamper(opts, target); err != nil {
			return nil, err
		}
		if out, _, err = addDocTimeStamp(ctx, out, opts.Stamper); err != nil {
			return nil, err
		}
		if p, err = readBack(out); err != nil {
			return nil, err
		}
	}
	if !bytes.HasPrefix(out, doc) {
		return nil, errkind.New(errkind.Internal, law.L9, "the extension rewrote the signed bytes")
	}
	if got := p.level(); got != target {
		return nil, errkind.New(errkind.Internal, law.LInternal, "the extended PDF is %v, not %v", got, target)
	}
	return out, nil
}

// padesFile is a signed PDF as ExtendPAdES reads it: every signature and
// document time-stamp checked, in the order they were made.
type padesFile struct {
	sigs   []padesSig
	stamps []docStamp
	dss    pdf.DSS
}

type padesSig struct {
	field   string
	end     int64 // where its byte range, and the revision it signs, ends
	sd      *SignedData
	cert    *x509.Certificate
	stamps  []*timestamp.Token // its signature time-stamps
	content []*timestamp.Token // its content time-stamps: their TSAs' data goes in the DSS too
}

type docStamp struct {
	end    int64
	token  *timestamp.Token
	hasLTV bool // the revision it covers has a DSS with certificates and status data
}

// readBack re-reads what ExtendPAdES wrote; a failure is ours.
func readBack(out []byte) (*padesFile, error) {
	p, err := readPAdES(out)
	if err != nil {
		return nil, errkind.Wrap(errkind.Internal, err, "the extended PDF does not read back")
	}
	return p, nil
}

// readPAdES reads doc's signatures and document time-stamps and refuses a
// file that has none, whose signatures do not verify over the revisions they
// signed (L-6), or that was changed after a signature in a way PAdES does
// not allow (L-9, as the validator judges it with pdf.ChangesAfter).
func readPAdES(doc []byte) (*padesFile, error) {
	f, err := openPDF(doc)
	if err != nil {
		return nil, err
	}
	all, err := f.Signatures()
	if err != nil {
		return nil, errkind.Wrap(errkind.Invalid, err, "the signature fields cannot be read: %v", err)
	}
	p := &padesFile{}
	if p.dss, err = f.DSS(); err != nil {
		return nil, errkind.Wrap(errkind.Invalid, err, "the document security store cannot be read: %v", err)
	}
	for _, s := range all {
		if err := f.CheckByteRange(s); err != nil {
			return nil, errkind.New(errkind.Invalid, law.L9, "the byte range of %s is unsound: %v", s.Field, err)
		}
		end := s.ByteRange[2] + s.ByteRange[3]
		if s.DocTimeStamp || s.SubFilter == pdf.SubFilterRFC3161 {
			d, err := readDocStamp(f, s, end)
			if err != nil {
				return nil, err
			}
			p.stamps = append(p.stamps, d)
			continue
		}
		sig, err := readSig(f, s, end)
		if err != nil {
			return nil, err
		}
		p.sigs = append(p.sigs, sig)
	}
	if len(p.sigs) == 0 {
		return nil, errNoSignature
	}
	return p, nil
}

func readDocStamp(f *pdf.File, s pdf.Signature, end int64) (docStamp, error) {
	if s.SubFilter != pdf.SubFilterRFC3161 {
		return docStamp{}, errkind.New(errkind.Invalid, law.LInternal, "document time-stamp %s has SubFilter %q, not ETSI.RFC3161", s.Field, s.SubFilter)
	}
	ts, err := stampTimes([][]byte{pdf.DER(s.Contents)})
	if err != nil {
		return docStamp{}, err
	}
	t := ts[0]
	if t.HashAlg == 0 || !bytes.Equal(t.Imprint, digest(t.HashAlg, f.SignedBytes(s))) {
		return docStamp{}, errkind.New(errkind.Invalid, law.L6, "document time-stamp %s does not stamp the bytes it covers: the file was changed", s.Field)
	}
	d := docStamp{end: end, token: t}
	if dss, err := f.DSSAt(end); err == nil {
		d.hasLTV = hasLTV(dss)
	}
	return d, nil
}

func readSig(f *pdf.File, s pdf.Signature, end int64) (padesSig, error) {
	if s.SubFilter != pdf.SubFilterCAdES && s.SubFilter != "adbe.pkcs7.detached" {
		return padesSig{}, errkind.New(errkind.Invalid, law.LInternal, "signature %s has SubFilter %q, not a detached CMS signature", s.Field, s.SubFilter)
	}
	sd, err := Parse(pdf.DER(s.Contents))
	if err != nil || len(sd.Signers) != 1 {
		return padesSig{}, errkind.New(errkind.Invalid, law.L417_2, "signature %s is not a CMS signature with one signer", s.Field)
	}
	si := &sd.Signers[0]
	cert, err := checkIntact(sd, si, f.SignedBytes(s))
	if err != nil {
		e := errkind.As(err)
		return padesSig{}, errkind.New(e.Kind, e.Rule, "signature %s: %s", s.Field, e.Detail)
	}
	stamps, err := stampTimes(si.TimeStampTokens)
	if err != nil {
		return padesSig{}, err
	}
	content, err := stampTimes(si.ContentTimeStamps)
	if err != nil {
		return padesSig{}, err
	}
	if !f.Covers(s) {
		changes, err := f.ChangesAfter(end)
		if err != nil {
			return padesSig{}, errkind.New(errkind.Invalid, law.L9, "the revisions after %s cannot be compared with it: %v", s.Field, err)
		}
		if kinds := pdf.Disallowed(changes); len(kinds) > 0 {
			return padesSig{}, errkind.New(errkind.Invalid, law.L9,
				"the document was changed after %s beyond what PAdES allows (%s): what was signed is not what is shown, and it is not extended",
				s.Field, strings.Join(kinds, ", "))
		}
	}
	return padesSig{field: s.Field, end: end, sd: sd, cert: cert, stamps: stamps, content: content}, nil
}

func hasLTV(d pdf.DSS) bool { return len(d.Certs) > 0 && len(d.CRLs)+len(d.OCSPs) > 0 }

// levelOf is the PAdES level of s (EN 319 142-1 §6), as the validator
// reckons it from the structures: B-T with a signature time-stamp or a later
// document time-stamp; B-LT with a DSS; B-LTA with a later document
// time-stamp, other than the one that made it B-T, over a revision with a DSS.
func (p *padesFile) levelOf(s padesSig) Level {
	lvl := cadesLevel(s.sd, &s.sd.Signers[0])
	proof := -1
	if lvl == BB {
		for i, d := range p.stamps {
			if d.end > s.end {
				lvl, proof = BT, i
				break
			}
		}
	}
	if lvl == BT && hasLTV(p.dss) {
		lvl = BLT
	}
	if lvl == BLT {
		for i, d := range p.stamps {
			if d.end > s.end && i != proof && d.hasLTV {
				lvl = BLTA
			}
		}
	}
	return lvl
}

// level is the lowest level among the signatures: the document's.
func (p *padesFile) level() Level {
	lvl := BLTA
	for _, s := range p.sigs {
		lvl = min(lvl, p.levelOf(s))
	}
	return lvl
}

// provenAt is s's proven time: its earliest signature time-stamp, else the
// earliest document time-stamp after it; zero when none.
func (p *padesFile) provenAt(s padesSig) time.Time {
	if at := earliest(s.stamps); !at.IsZero() {
		return at
	}
	var after []*timestamp.Token
	for _, d := range p.stamps {
		if d.end > s.end {
			after = append(after, d.token)
		}
	}
	return earliest(after)
}

// addValidationData appends a DSS update with what the file lacks for every
// signer's path and every signature and document time-stamp's TSA; nothing is
// written when it lacks nothing.
func (p *padesFile) addValidationData(ctx context.Context, doc []byte, opts ExtendOptions) ([]byte, error) {
	have := ValidationData{Certs: p.dss.Certs, CRLs: p.dss.CRLs, OCSPs: p.dss.OCSPs}
	pool := certsOf(p.dss.Certs)
	for _, s := range p.sigs {
		pool = append(pool, certsOf(s.sd.Certificates)...)
	}
	var add ValidationData
	for _, s := range p.sigs {
		if err := gatherStamps(ctx, opts, &add, have, pool, s.cert, p.provenAt(s), slices.Concat(s.stamps, s.content)); err != nil {
			return nil, err
		}
	}
	docStamps := make([]*timestamp.Token, 0, len(p.stamps))
	for _, d := range p.stamps {
		docStamps = append(docStamps, d.token)
	}
	if err := gatherStamps(ctx, opts, &add, have, pool, nil, time.Time{}, docStamps); err != nil {
		return nil, err
	}
	if len(add.Certs)+len(add.CRLs)+len(add.OCSPs) == 0 {
		return doc, nil
	}
	f, err := openPDF(doc)
	if err != nil {
		return nil, err
	}
	out, err := f.AddDSS(pdf.DSS{Certs: add.Certs, CRLs: add.CRLs, OCSPs: add.OCSPs})
	if err != nil {
		return nil, errkind.Wrap(errkind.Internal, err, "writing the DSS")
	}
	return out, nil
}
