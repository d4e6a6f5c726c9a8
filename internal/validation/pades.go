package validation

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/tawthiq/tawthiq/internal/law"
	"github.com/tawthiq/tawthiq/internal/signature"
	"github.com/tawthiq/tawthiq/internal/signature/pdf"
)

// PDFReport is the outcome of ValidatePAdES (ETSI EN 319 142-1 with EN 319
// 102-1), meant to be marshalled as JSON; field names are stable.
type PDFReport struct {
	// Indication is the document's: FORMAT_FAILURE for an unreadable file,
	// else the worst of its signatures' (each judged on the revision it signed).
	Indication    Indication    `json:"indication"`
	SubIndication SubIndication `json:"subIndication,omitempty"`
	Reason        string        `json:"reason"`
	Level         string        `json:"level,omitempty"` // the lowest PAdES level among the signatures: B-B, B-T, B-LT or B-LTA
	// RenewBefore is the earliest of the signatures' RenewBefore: extend the
	// document (a new document time-stamp) before then to keep its dates.
	RenewBefore   time.Time      `json:"renewBefore,omitzero"`
	Revisions     int            `json:"revisions"`
	ValidationAt  time.Time      `json:"validationTime"`
	Signatures    []PDFSignature `json:"signatures"`
	DocTimeStamps []PDFTimeStamp `json:"documentTimeStamps,omitempty"`
	DSS           DSSContent     `json:"dss"`
	// ChangedAfterSigning: a revision after some signature changed more than
	// PAdES long-term validation allows (a DSS, document time-stamps, more signatures).
	ChangedAfterSigning bool         `json:"changedAfterSigning"`
	ChangedKinds        []string     `json:"changedKinds,omitempty"` // kinds of the disallowed changes, e.g. page-content
	Conclusions         []Conclusion `json:"conclusions"`
}

// PDFSignature is one signature field's signature and what its validation found.
type PDFSignature struct {
	Field               string     `json:"field"`
	SubFilter           string     `json:"subFilter"`
	ByteRange           []int64    `json:"byteRange"`
	CoversWholeDocument bool       `json:"coversWholeDocument"`
	Revision            int        `json:"revision"`         // 1-based; 0 when the range ends elsewhere than a revision's end
	Level               string     `json:"level,omitempty"`  // PAdES level: B-B, B-T, B-LT or B-LTA
	ClaimedTime         *time.Time `json:"claimedTime"`      // /M: only claimed (L-425)
	Reason              string     `json:"reason,omitempty"` // /Reason as the signer stated it
	Location            string     `json:"location,omitempty"`
	// Modifications are the objects later revisions added, changed or freed.
	Modifications []pdf.Change `json:"modifications,omitempty"`
	Report        Report       `json:"report"`
}

// PDFTimeStamp is one document time-stamp (PAdES B-LTA).
type PDFTimeStamp struct {
	Field               string    `json:"field"`
	ByteRange           []int64   `json:"byteRange"`
	CoversWholeDocument bool      `json:"coversWholeDocument"`
	Revision            int       `json:"revision"`
	TimeStamp           TimeStamp `json:"timeStamp"`
	// coversLTV: the revision it covers has a DSS with certificates and status data.
	coversLTV bool
}

// DSSContent counts what the document security store holds.
type DSSContent struct {
	Certs int `json:"certificates"`
	CRLs  int `json:"crls"`
	OCSPs int `json:"ocspResponses"`
}

// ValidatePAdES validates every signature and document time-stamp of a PDF.
// opts.Extra is filled from the DSS; with opts.Status nil, or when it does not
// know, revocation status comes from the DSS's CRLs and OCSP responses, so a
// B-LT signature validates offline. It never panics and never errs: a
// malformed file is a FORMAT_FAILURE report.
func ValidatePAdES(ctx context.Context, doc []byte, opts Options) PDFReport {
	if opts.Now.IsZero() {
		opts.Now = time.Now()
	}
	r := PDFReport{ValidationAt: opts.Now}
	f, err := pdf.Open(doc)
	if err != nil {
		return r.formatFailure("not a PDF this validator reads: %v", err)
	}
	r.Revisions = len(f.Revisions())
	sigs, err := f.Signatures()
	if err != nil {
		return r.formatFailure("the signature fields cannot be read: %v", err)
	}
	dss, err := f.DSS()
	if err != nil {
		return r.formatFailure("the document security store cannot be read: %v", err)
	}
	r.DSS = DSSContent{Certs: len(dss.Certs), CRLs: len(dss.CRLs), OCSPs: len(dss.OCSPs)}
	opts.Extra = signature.ValidationData{Certs: append(append([][]byte{}, opts.Extra.Certs...), dss.Certs...),
		CRLs: append(append([][]byte{}, opts.Extra.CRLs...), dss.CRLs...), OCSPs: append(append([][]byte{}, opts.Extra.OCSPs...), dss.OCSPs...)}
	var plain, stamps []pdf.Signature
	for _, s := range sigs {
		if s.DocTimeStamp || s.SubFilter == pdf.SubFilterRFC3161 {
			stamps = append(stamps, s)
			continue
		}
		plain = append(plain, s)
	}
	if len(stamps) > 0 {
		// The latest revision first: each document time-stamp is judged at the
		// genTime of a later one that covers it (EN 319 102-1 §5.6.3).
		r.DocTimeStamps = make([]PDFTimeStamp, len(stamps))
		order := make([]int, len(stamps))
		for i := range order {
			order[i] = i
		}
		slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(rangeEnd(stamps[b].ByteRange), rangeEnd(stamps[a].ByteRange)) })
		for _, i := range order {
			r.DocTimeStamps[i] = docTimeStamp(ctx, f, stamps[i], opts, r.stampsAfter(stamps[i].ByteRange))
		}
	}
	for _, s := range plain {
		r.Signatures = append(r.Signatures, validateSignature(ctx, f, s, opts, r.stampsAfter(s.ByteRange)))
	}
	if len(r.Signatures) == 0 {
		return r.formatFailure("the PDF carries no signature")
	}
	r.levels(dss)
	for _, s := range r.Signatures {
		if e := s.Report.RenewBefore; !e.IsZero() && (r.RenewBefore.IsZero() || e.Before(r.RenewBefore)) {
			r.RenewBefore = e
		}
	}
	r.judge()
	return r
}

func (r PDFReport) formatFailure(format string, args ...any) PDFReport {
	r.Indication, r.SubIndication, r.Reason = TotalFailed, FormatFailure, fmt.Sprintf(format, args...)
	r.Conclusions = []Conclusion{{Rule: law.L9, Holds: false, Why: "the document cannot be read as a signed PDF: " + r.Reason}}
	return r
}

// stampsAfter returns the usable document time-stamps whose byte range ends
// after br's: each covers the whole revision br signed.
func (r *PDFReport) stampsAfter(br []int64) []TimeStamp {
	var out []TimeStamp
	for _, t := range r.DocTimeStamps {
		if t.TimeStamp.usable() && rangeEnd(t.ByteRange) > rangeEnd(br) {
			out = append(out, t.TimeStamp)
		}
	}
	return out
}

// validateSignature checks the byte range, then the CMS over the revision it
// signed; poe are the document time-stamps that prove it existed.
func validateSignature(ctx context.Context, f *pdf.File, s pdf.Signature, opts Options, poe []TimeStamp) PDFSignature {
	out := PDFSignature{Field: s.Field, SubFilter: s.SubFilter, ByteRange: s.ByteRange, Reason: s.Reason, Location: s.Location,
		CoversWholeDocument: f.Covers(s), Revision: f.Revision(s)}
	if !s.Time.IsZero() {
		t := s.Time
		out.ClaimedTime = &t
	}
	failed := func(why string) PDFSignature {
		out.Report = Report{Indication: TotalFailed, SubIndication: FormatFailure, Reason: why, ValidationAt: opts.Now,
			ProvenTime: opts.Now, ProvenBy: ByValidationTime}
		out.Report.Conclusions = []Conclusion{{Rule: law.L417_2, Why: "the signature cannot be read: it identifies no one"}}
		return out
	}
	if s.SubFilter != pdf.SubFilterCAdES && s.SubFilter != "adbe.pkcs7.detached" {
		return failed(fmt.Sprintf("SubFilter %q is not a detached CMS signature (EN 319 142-1 §5.1)", s.SubFilter))
	}
	if err := f.CheckByteRange(s); err != nil {
		return failed(err.Error())
	}
	out.Report = validate(ctx, pdf.DER(s.Contents), f.SignedBytes(s), opts, poe)
	if !out.CoversWholeDocument {
		changes, err := f.ChangesAfter(s.ByteRange[2] + s.ByteRange[3])
		if err != nil {
			changes = []pdf.Change{{Action: "unknown", Kind: "other", Detail: err.Error()}}
		}
		out.Modifications = changes
	}
	return out
}

// docTimeStamp validates a document time-stamp over its byte range; covers
// are the judged document time-stamps of later revisions.
func docTimeStamp(ctx context.Context, f *pdf.File, s pdf.Signature, opts Options, covers []TimeStamp) PDFTimeStamp {
	out := PDFTimeStamp{Field: s.Field, ByteRange: s.ByteRange, CoversWholeDocument: f.Covers(s), Revision: f.Revision(s)}
	switch {
	case s.SubFilter != pdf.SubFilterRFC3161:
		out.TimeStamp.Ignored = fmt.Sprintf("a document time-stamp with SubFilter %q, not ETSI.RFC3161", s.SubFilter)
	case f.CheckByteRange(s) != nil:
		out.TimeStamp.Ignored = f.CheckByteRange(s).Error()
	default:
		out.TimeStamp = validateTimeStamp(ctx, pdf.DER(s.Contents), f.SignedBytes(s), opts, covers, kindDocument)
		if dss, err := f.DSSAt(rangeEnd(s.ByteRange)); err == nil {
			out.coversLTV = hasLTV(dss)
		}
	}
	return out
}

// levels sets each signature's PAdES level (EN 319 142-1 §6): a trusted
// document time-stamp after a signature without a time-stamp makes it B-T;
// B-T plus revocation data in the DSS is B-LT; a further trusted document
// time-stamp, over a revision that holds that DSS, makes it B-LTA.
func (r *PDFReport) levels(dss pdf.DSS) {
	order := map[string]int{"B-B": 0, "B-T": 1, "B-LT": 2, "B-LTA": 3}
	names := []string{"B-B", "B-T", "B-LT", "B-LTA"}
	usable := func(t PDFTimeStamp, s *PDFSignature) bool {
		return t.TimeStamp.usable() && rangeEnd(t.ByteRange) > rangeEnd(s.ByteRange)
	}
	lowest, leveled := 3, false
	for i := range r.Signatures {
		s := &r.Signatures[i]
		if s.Report.Level == "" {
			continue // a signature that does not parse has no level, whatever follows it
		}
		lvl, proof := order[s.Report.Level], -1
		if lvl == 0 {
			for j, t := range r.DocTimeStamps {
				if usable(t, s) {
					lvl, proof = 1, j
					break
				}
			}
		}
		if lvl == 1 && hasLTV(dss) {
			lvl = 2
		}
		if lvl == 2 {
			for j, t := range r.DocTimeStamps {
				if j != proof && t.coversLTV && usable(t, s) {
					lvl = 3
				}
			}
		}
		s.Level = names[lvl]
		lowest = min(lowest, lvl)
		leveled = true
	}
	if leveled {
		r.Level = names[lowest]
	}
}

func hasLTV(d pdf.DSS) bool { return len(d.Certs) > 0 && len(d.CRLs)+len(d.OCSPs) > 0 }

func rangeEnd(br []int64) int64 {
	if len(br) != 4 {
		return 0
	}
	return br[2] + br[3]
}

// judge sets the document's indication and its L-9 conclusion.
func (r *PDFReport) judge() {
	rank := map[Indication]int{TotalPassed: 0, Indeterminate: 1, TotalFailed: 2}
	worst := -1
	var changes []pdf.Change
	for _, s := range r.Signatures {
		if rank[s.Report.Indication] > worst {
			worst = rank[s.Report.Indication]
			r.Indication, r.SubIndication = s.Report.Indication, s.Report.SubIndication
			r.Reason = fmt.Sprintf("signature %s: %s", s.Field, s.Report.Reason)
		}
		changes = append(changes, s.Modifications...)
	}
	r.ChangedKinds = pdf.Disallowed(changes)
	r.ChangedAfterSigning = len(r.ChangedKinds) > 0
	r.Conclusions = append(r.Conclusions, r.l9())
}

// l9 is the conclusion a relying party needs first: is what is shown now what was signed?
func (r *PDFReport) l9() Conclusion {
	switch {
	case r.ChangedAfterSigning:
		return Conclusion{Rule: law.L9, Holds: false, Why: "what the signer signed is not what is shown now: the document was changed after signing (" +
			strings.Join(r.ChangedKinds, ", ") + "); each signature stands only for the revision it signed"}
	case r.Indication != TotalPassed:
		return Conclusion{Rule: law.L9, Holds: false, Why: "not every signature validates, so the signed content is not established"}
	}
	for _, s := range r.Signatures {
		if !s.CoversWholeDocument {
			return Conclusion{Rule: law.L9, Holds: true, Why: "every signature validates; later revisions only add validation data, document time-stamps or further signatures, as PAdES long-term validation allows"}
		}
	}
	return Conclusion{Rule: law.L9, Holds: true, Why: "every signature validates and covers the whole document as shown"}
}
