package render

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/tawthiq/tawthiq/internal/law"
	"github.com/tawthiq/tawthiq/internal/validation"
)

// Document is a signed document and the reports of its signatures.
type Document struct {
	Name       string              // the file name as received
	SHA256     string              // hexadecimal digest of the document as received
	Kind       string              // "CAdES" or "PAdES"
	Signatures []validation.Report // one per signature, in the document's order
	Notes      []string            // document-level findings, e.g. "changed after the last signature"
	TimeStamps []DocTimeStamp      // a PDF's document time-stamps (PAdES B-LTA), shown among the findings
}

// DocTimeStamp is one document time-stamp: the signature field that holds it, its time and its TSA.
type DocTimeStamp struct {
	Field   string
	GenTime time.Time
	TSA     string
}

// Languages returns the language codes HTML and PDF accept.
func Languages() []string { return []string{"ar", "fr", "en"} }

func lookup(lang string) (*texts, error) {
	if t, ok := catalog[lang]; ok {
		return t, nil
	}
	return nil, fmt.Errorf("render: unsupported language %q: use one of %s", lang, strings.Join(Languages(), ", "))
}

// timeFormat is the same in every language: ISO 8601 in UTC, which no reader misreads.
const timeFormat = "2006-01-02 15:04:05 UTC"

func stamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(timeFormat)
}

// tone classifies an outcome, for colour only.
type tone string

const (
	toneGood    tone = "good"
	toneBad     tone = "bad"
	toneUnknown tone = "unknown"
)

// page is what both renderers draw: every string already in the page's language.
type page struct {
	Lang, Dir, Title string
	Document         string
	DocFields        []field
	NotesTitle       string
	Notes            []string
	NoSignatures     string
	Signatures       []sigView
	Footer           string
}

type sigView struct {
	Heading  string
	Tone     tone
	Summary  string
	Sections []section
}

// section is a titled block with fields, a paragraph or a list.
type section struct {
	Title  string
	Text   string
	Fields []field
	Items  []item
}

// field is one label and its value; Code marks an ETSI code or identifier to show
// verbatim, Meaning says what the value means in the page's language.
type field struct {
	Label, Value, Meaning string
	Code                  bool
}

// item is a list entry; only conclusions have a Head, a Tone and a Detail.
type item struct {
	Head   string
	Tone   tone
	Text   string
	Detail string
}

func buildPage(d Document, lang string) (*page, error) {
	t, err := lookup(lang)
	if err != nil {
		return nil, err
	}
	p := &page{
		Lang: lang, Dir: "ltr", Title: t.Title, Document: t.Document,
		NotesTitle: t.DocNotes, Notes: slices.Clone(d.Notes), Footer: t.Footer,
	}
	if lang == "ar" {
		p.Dir = "rtl"
	}
	for _, ts := range d.TimeStamps {
		p.Notes = append(p.Notes, fmt.Sprintf(t.DocTimeStamp, isolate(ts.Field), isolate(stamp(ts.GenTime)), isolate(ts.TSA)))
	}
	p.DocFields = nonEmpty([]field{
		{Label: t.DocName, Value: d.Name},
		{Label: t.DocKind, Value: d.Kind, Code: true},
		{Label: t.DocDigest, Value: d.SHA256, Code: true},
	})
	if len(d.Signatures) == 0 {
		p.NoSignatures = t.NoSignatures
	}
	for i, r := range d.Signatures {
		p.Signatures = append(p.Signatures, buildSignature(t, r, i+1, len(d.Signatures)))
	}
	return p, nil
}

func (t *texts) rule(id law.ID) ruleText {
	if rt, ok := t.Rules[id]; ok {
		return rt
	}
	// A rule this page has no words for is cited as LAW.md states it (in English).
	r := law.Describe(id)
	return ruleText{Cite: r.Article, Holds: r.Duty, HoldsNot: r.Duty}
}

func (t *texts) timeStampFields(x validation.TimeStamp) []field {
	return nonEmpty([]field{
		{Label: t.TSTime, Value: stamp(x.GenTime), Code: true},
		{Label: t.TSA, Value: x.TSA},
		{Label: t.Trusted, Value: t.yesNo(x.Trusted)},
		{Label: t.TSQualified, Value: t.yesNo(x.Qualified)},
		{Label: t.TSJudgedAt, Value: stamp(x.JudgedAt), Code: true},
		{Label: t.TSJudgedWhy, Value: x.JudgedWhy},
		{Label: t.ValidUntil, Value: stamp(x.ValidUntil), Code: true},
		{Label: t.TSIgnored, Value: x.Ignored},
	})
}

func (t *texts) yesNo(b bool) string {
	if b {
		return t.Yes
	}
	return t.No
}

func buildSignature(t *texts, r validation.Report, n, of int) sigView {
	s := sigView{Heading: fmt.Sprintf(t.SignatureOf, n, of), Summary: summary(t, r)}
	switch r.Indication {
	case validation.TotalPassed:
		s.Tone = toneGood
	case validation.TotalFailed:
		s.Tone = toneBad
	default:
		s.Tone = toneUnknown
	}

	s.Sections = append(s.Sections, section{Title: t.Details, Fields: nonEmpty([]field{
		{Label: t.Result, Value: string(r.Indication), Meaning: t.Indication[r.Indication], Code: true},
		{Label: t.ReasonCode, Value: string(r.SubIndication), Meaning: t.SubIndication[r.SubIndication], Code: true},
		{Label: t.Reason, Value: r.Reason},
		{Label: t.Level, Value: r.Level, Code: true},
	})})

	signer := section{Title: t.Signer}
	if sg := r.Signer; sg != nil {
		signer.Fields = nonEmpty([]field{
			{Label: t.CommonName, Value: sg.CommonName},
			{Label: t.GivenName, Value: sg.GivenName},
			{Label: t.Surname, Value: sg.Surname},
			{Label: t.Pseudonym, Value: sg.Pseudonym},
			{Label: t.Identifier, Value: sg.SerialNumber, Code: true},
			{Label: t.Organization, Value: sg.Organization},
			{Label: t.OrgID, Value: sg.OrganizationIdentifier, Code: true},
			{Label: t.Country, Value: sg.Country, Code: true},
			{Label: t.Subject, Value: sg.Subject},
			{Label: t.Issuer, Value: sg.Issuer},
			{Label: t.CertSerial, Value: sg.Serial, Code: true},
			{Label: t.ValidFrom, Value: stamp(sg.NotBefore), Code: true},
			{Label: t.ValidUntil, Value: stamp(sg.NotAfter), Code: true},
		})
	} else {
		signer.Text = t.NoSigner
	}
	s.Sections = append(s.Sections, signer)

	claimed := t.None
	if r.ClaimedTime != nil {
		claimed = stamp(*r.ClaimedTime)
	}
	provenBy := t.TimeSource[r.ProvenBy]
	if provenBy == "" {
		provenBy = string(r.ProvenBy)
	}
	s.Sections = append(s.Sections, section{Title: t.Time, Fields: nonEmpty([]field{
		{Label: t.ProvenTime, Value: stamp(r.ProvenTime), Code: true},
		{Label: t.ProvenBy, Value: provenBy},
		{Label: t.ClaimedTime, Value: claimed, Code: r.ClaimedTime != nil},
		{Label: t.ValidationTime, Value: stamp(r.ValidationAt), Code: true},
		{Label: t.RenewBefore, Value: stamp(r.RenewBefore), Code: true},
	})})

	ts := section{Title: t.TimeStamp}
	if r.TimeStamp != nil {
		ts.Fields = t.timeStampFields(*r.TimeStamp)
	} else {
		ts.Text = t.NoTimeStamp
	}
	s.Sections = append(s.Sections, ts)
	for _, x := range r.ContentTimeStamps {
		s.Sections = append(s.Sections, section{Title: t.ContentTimeStamps, Fields: t.timeStampFields(x)})
	}
	for _, x := range r.ArchiveTimeStamps {
		s.Sections = append(s.Sections, section{Title: t.ArchiveTimeStamps, Fields: t.timeStampFields(x)})
	}

	s.Sections = append(s.Sections, section{Title: t.Qualification, Fields: nonEmpty([]field{
		{Label: t.Qualified, Value: t.yesNo(r.Qualified)},
		{Label: t.QualifiedWhy, Value: r.QualifiedWhy},
	})})

	if len(r.Chain) > 0 {
		chain := section{Title: t.Chain}
		for _, c := range r.Chain {
			chain.Items = append(chain.Items, item{Text: c})
		}
		s.Sections = append(s.Sections, chain)
	}
	if len(r.Warnings) > 0 {
		w := section{Title: t.Warnings}
		for _, x := range r.Warnings {
			w.Items = append(w.Items, item{Text: x})
		}
		s.Sections = append(s.Sections, w)
	}
	if len(r.Conclusions) > 0 {
		c := section{Title: t.Conclusions}
		for _, x := range r.Conclusions {
			rt := t.rule(x.Rule)
			head := isolate(string(x.Rule)) + " · " + rt.Cite + " — "
			it := item{Head: head + t.Holds, Tone: toneGood, Text: rt.Holds}
			if !x.Holds {
				it.Head, it.Tone, it.Text = head+t.HoldsNot, toneBad, rt.HoldsNot
			}
			if x.Why != "" {
				it.Detail = t.Detail + ": " + isolate(x.Why)
			}
			c.Items = append(c.Items, it)
		}
		s.Sections = append(s.Sections, c)
	}
	return s
}

// summary says in plain words what the report means, following the same cases as
// the validator's conclusions (L-417-2, L-417-3, L-425).
func summary(t *texts, r validation.Report) string {
	cite := func(id law.ID) string { return isolate(t.rule(id).Cite) }
	meaning := t.SubIndication[r.SubIndication]
	if meaning == "" {
		meaning = isolate(string(r.SubIndication)) + "."
	}
	switch r.Indication {
	case validation.TotalPassed:
	case validation.TotalFailed:
		return fmt.Sprintf(t.SumFailed, meaning)
	default:
		return fmt.Sprintf(t.SumIndeterminate, meaning)
	}
	byTS := r.ProvenBy == validation.ByTimeStamp && r.TimeStamp != nil
	var out []string
	if r.Qualified {
		out = append(out, fmt.Sprintf(t.SumQualified, cite(law.L417_3)))
	} else {
		out = append(out, fmt.Sprintf(t.SumValidNotQualified, cite(law.L417_2), cite(law.L417_3)))
	}
	switch {
	case byTS:
		out = append(out, fmt.Sprintf(t.SumDateProven, isolate(stamp(r.ProvenTime)), isolate(r.TimeStamp.TSA), cite(law.L425)))
	case r.ProvenBy == validation.ByArchiveTimeStamp:
		out = append(out, fmt.Sprintf(t.SumDateArchive, isolate(stamp(r.ProvenTime)), cite(law.L425)))
	case r.ProvenBy == validation.ByDocumentTimeStamp:
		out = append(out, fmt.Sprintf(t.SumDateDocument, isolate(stamp(r.ProvenTime)), cite(law.L425)))
	case r.ClaimedTime != nil:
		out = append(out, fmt.Sprintf(t.SumDateClaimed, isolate(stamp(*r.ClaimedTime)), isolate(stamp(r.ValidationAt)), cite(law.L425)))
	default:
		out = append(out, fmt.Sprintf(t.SumDateNone, isolate(stamp(r.ValidationAt)), cite(law.L425)))
	}
	if r.Qualified {
		switch {
		case byTS && r.TimeStamp.Qualified:
			out = append(out, fmt.Sprintf(t.SumQualifiedCertain, cite(law.L417_3)))
		case byTS:
			out = append(out, t.SumQualifiedTSNotQualified)
		case r.ProvenBy == validation.ByArchiveTimeStamp || r.ProvenBy == validation.ByDocumentTimeStamp:
			out = append(out, t.SumQualifiedLaterTS)
		default:
			out = append(out, t.SumQualifiedNoTS)
		}
	}
	return strings.Join(out, " ")
}

func nonEmpty(fs []field) []field {
	return slices.DeleteFunc(fs, func(f field) bool { return f.Value == "" })
}
