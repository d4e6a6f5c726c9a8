package trustlist

import (
	"crypto/x509"
	"encoding/base64"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/beevik/etree"

	"github.com/tawthiq/tawthiq/internal/errkind"
	"github.com/tawthiq/tawthiq/internal/law"
)

// dateTimeLayout is TS 119 612's dateTime: UTC, whole seconds (clause 5.1.4).
const dateTimeLayout = "2006-01-02T15:04:05Z"

func formatTime(t time.Time) string { return t.UTC().Format(dateTimeLayout) }

// Build writes l as an unsigned TrustServiceStatusList, elements in the order of the
// TS 119 612 schema; Sign then adds the signature. Times are written to the second.
func Build(l *List) ([]byte, error) {
	if err := check(l); err != nil {
		return nil, err
	}
	doc := etree.NewDocument()
	doc.CreateProcInst("xml", `version="1.0" encoding="UTF-8"`)
	root := doc.CreateElement("TrustServiceStatusList")
	root.CreateAttr("xmlns", Namespace)
	root.CreateAttr("TSLTag", TSLTag)
	writeScheme(root.CreateElement("SchemeInformation"), &l.Scheme)
	if len(l.Providers) > 0 {
		tspl := root.CreateElement("TrustServiceProviderList")
		for i := range l.Providers {
			writeProvider(tspl.CreateElement("TrustServiceProvider"), &l.Providers[i])
		}
	}
	doc.Indent(2)
	out, err := doc.WriteToBytes()
	if err != nil {
		return nil, errkind.Wrap(errkind.Internal, err, "writing the trusted list")
	}
	return out, nil
}

func writeScheme(si *etree.Element, s *SchemeInformation) {
	text(si, "TSLVersionIdentifier", strconv.Itoa(VersionIdentifier))
	text(si, "TSLSequenceNumber", strconv.FormatUint(s.SequenceNumber, 10))
	text(si, "TSLType", s.Type)
	names(si, "SchemeOperatorName", s.OperatorName)
	writeAddress(si.CreateElement("SchemeOperatorAddress"), s.OperatorAddress)
	names(si, "SchemeName", s.Name)
	uris(si, "SchemeInformationURI", s.InformationURI)
	text(si, "StatusDeterminationApproach", s.StatusDeterminationApproach)
	if len(s.CommunityRules) > 0 {
		uris(si, "SchemeTypeCommunityRules", s.CommunityRules)
	}
	if s.Territory != "" {
		text(si, "SchemeTerritory", s.Territory)
	}
	if len(s.LegalNotice) > 0 {
		pl := si.CreateElement("PolicyOrLegalNotice")
		for _, t := range s.LegalNotice {
			langText(pl, "TSLLegalNotice", t)
		}
	}
	text(si, "HistoricalInformationPeriod", strconv.FormatUint(s.HistoricalInformationPeriod, 10))
	if len(s.Pointers) > 0 {
		ps := si.CreateElement("PointersToOtherTSL")
		for i := range s.Pointers {
			writePointer(ps.CreateElement("OtherTSLPointer"), &s.Pointers[i])
		}
	}
	text(si, "ListIssueDateTime", formatTime(s.IssueDateTime))
	nu := si.CreateElement("NextUpdate")
	if !s.NextUpdate.IsZero() {
		text(nu, "dateTime", formatTime(s.NextUpdate))
	}
	if len(s.DistributionPoints) > 0 {
		dp := si.CreateElement("DistributionPoints")
		for _, u := range s.DistributionPoints {
			text(dp, "URI", u)
		}
	}
}

func writePointer(p *etree.Element, ptr *Pointer) {
	sdis := p.CreateElement("ServiceDigitalIdentities")
	writeIdentity(sdis.CreateElement("ServiceDigitalIdentity"), ptr.Certificates)
	text(p, "TSLLocation", ptr.Location)
	ai := p.CreateElement("AdditionalInformation")
	other := func() *etree.Element { return ai.CreateElement("OtherInformation") }
	text(other(), "TSLType", ptr.Type)
	if len(ptr.OperatorName) > 0 {
		names(other(), "SchemeOperatorName", ptr.OperatorName)
	}
	text(other(), "SchemeTerritory", ptr.Territory)
	mt := other().CreateElement("tslx:MimeType")
	mt.CreateAttr("xmlns:tslx", NamespaceAdditional)
	mt.SetText(MimeType)
	ag := other().CreateElement("tw:RecognitionAgreement")
	ag.CreateAttr("xmlns:tw", NamespaceTawthiq)
	ag.SetText(ptr.Agreement) // L-22: a pointer exists only under a recognition agreement
}

func writeProvider(tsp *etree.Element, p *Provider) {
	info := tsp.CreateElement("TSPInformation")
	names(info, "TSPName", p.Name)
	if len(p.TradeName) > 0 {
		names(info, "TSPTradeName", p.TradeName)
	}
	writeAddress(info.CreateElement("TSPAddress"), p.Address)
	uris(info, "TSPInformationURI", p.InformationURI)
	svcs := tsp.CreateElement("TSPServices")
	for i := range p.Services {
		writeService(svcs.CreateElement("TSPService"), &p.Services[i])
	}
}

func writeService(svc *etree.Element, s *Service) {
	si := svc.CreateElement("ServiceInformation")
	text(si, "ServiceTypeIdentifier", s.Type)
	names(si, "ServiceName", s.Name)
	writeIdentity(si.CreateElement("ServiceDigitalIdentity"), s.Certificates)
	text(si, "ServiceStatus", string(s.Status))
	text(si, "StatusStartingTime", formatTime(s.StatusStarting))
	writeExtensions(si, s.Additional, s.Decision)
	if len(s.History) == 0 {
		return
	}
	h := svc.CreateElement("ServiceHistory")
	hist := slices.Clone(s.History)
	slices.SortStableFunc(hist, func(a, b HistoryEntry) int { return b.StatusStarting.Compare(a.StatusStarting) })
	for _, e := range hist {
		hi := h.CreateElement("ServiceHistoryInstance")
		text(hi, "ServiceTypeIdentifier", e.Type)
		names(hi, "ServiceName", e.Name)
		writeHistoryIdentity(hi.CreateElement("ServiceDigitalIdentity"), s.Certificates)
		text(hi, "ServiceStatus", string(e.Status))
		text(hi, "StatusStartingTime", formatTime(e.StatusStarting))
		writeExtensions(hi, e.Additional, e.Decision)
	}
}

// writeExtensions writes AdditionalServiceInformation entries, non-critical so that
// validators which do not know our decision URI still use the list.
func writeExtensions(parent *etree.Element, additional []string, decision string) {
	if len(additional) == 0 && decision == "" {
		return
	}
	exts := parent.CreateElement("ServiceInformationExtensions")
	for _, u := range additional {
		asi := exts.CreateElement("Extension")
		asi.CreateAttr("Critical", "false")
		a := asi.CreateElement("AdditionalServiceInformation")
		langText(a, "URI", Text{"en", u})
	}
	if decision != "" {
		ext := exts.CreateElement("Extension")
		ext.CreateAttr("Critical", "false")
		a := ext.CreateElement("AdditionalServiceInformation")
		langText(a, "URI", Text{"en", DecisionURI})
		text(a, "InformationValue", decision)
	}
}

func writeIdentity(sdi *etree.Element, certs []*x509.Certificate) {
	for _, c := range certs {
		text(sdi.CreateElement("DigitalId"), "X509Certificate", base64.StdEncoding.EncodeToString(c.Raw))
	}
}

// writeHistoryIdentity names the key as EU lists do in history: subject and SKI,
// the whole certificate only when it has no SKI.
func writeHistoryIdentity(sdi *etree.Element, certs []*x509.Certificate) {
	c := certs[0]
	if len(c.SubjectKeyId) == 0 {
		writeIdentity(sdi, certs[:1])
		return
	}
	text(sdi.CreateElement("DigitalId"), "X509SubjectName", c.Subject.String())
	text(sdi.CreateElement("DigitalId"), "X509SKI", base64.StdEncoding.EncodeToString(c.SubjectKeyId))
}

func writeAddress(a *etree.Element, addr Address) {
	pas := a.CreateElement("PostalAddresses")
	for _, p := range addr.Postal {
		pa := pas.CreateElement("PostalAddress")
		pa.CreateAttr("xml:lang", p.Lang)
		text(pa, "StreetAddress", p.Street)
		text(pa, "Locality", p.Locality)
		if p.StateOrProvince != "" {
			text(pa, "StateOrProvince", p.StateOrProvince)
		}
		if p.PostalCode != "" {
			text(pa, "PostalCode", p.PostalCode)
		}
		text(pa, "CountryName", p.CountryName)
	}
	uris(a, "ElectronicAddress", addr.Electronic)
}

func text(parent *etree.Element, tag, value string) *etree.Element {
	e := parent.CreateElement(tag)
	e.SetText(value)
	return e
}

func langText(parent *etree.Element, tag string, t Text) {
	e := text(parent, tag, t.Value)
	e.CreateAttr("xml:lang", t.Lang)
}

func names(parent *etree.Element, tag string, m MultiLang) {
	e := parent.CreateElement(tag)
	for _, t := range m {
		langText(e, "Name", t)
	}
}

func uris(parent *etree.Element, tag string, m MultiLang) {
	e := parent.CreateElement(tag)
	for _, t := range m {
		langText(e, "URI", t)
	}
}

// check refuses a list that would not be a valid TS 119 612 list, before anything is written.
func check(l *List) error {
	if l == nil {
		return invalid(law.L15, "no trusted list")
	}
	s := &l.Scheme
	for _, p := range s.Pointers {
		if strings.TrimSpace(p.Agreement) == "" {
			// L-22: a foreign list is recognised only under an agreement on record.
			return invalid(law.L22, "the pointer to the trusted list of %q names no recognition agreement", p.Territory)
		}
	}
	var bad []string
	need := func(ok bool, what string) {
		if !ok {
			bad = append(bad, what)
		}
	}
	need(s.SequenceNumber > 0, "a sequence number of 1 or more")
	need(s.Type != "", "a TSLType")
	need(hasEnglish(s.OperatorName), "the scheme operator's name in English")
	need(len(s.OperatorAddress.Postal) > 0 && len(s.OperatorAddress.Electronic) > 0, "the scheme operator's postal and electronic address")
	need(hasEnglish(s.Name), "the scheme name in English")
	need(len(s.InformationURI) > 0, "a scheme information URI")
	need(s.StatusDeterminationApproach != "", "a status determination approach")
	need(len(s.Territory) == 2 && strings.ToUpper(s.Territory) == s.Territory, "a two-letter upper-case territory")
	need(!s.IssueDateTime.IsZero(), "an issue date")
	need(s.NextUpdate.IsZero() || s.NextUpdate.After(s.IssueDateTime), "a next update after the issue date")
	for i, p := range s.Pointers {
		need(p.Location != "" && len(p.Territory) == 2 && p.Type != "", "pointer "+strconv.Itoa(i+1)+": location, territory and TSLType")
		need(len(p.Certificates) > 0, "pointer "+strconv.Itoa(i+1)+": the foreign authority's signing certificate")
	}
	for i, p := range l.Providers {
		where := "provider " + strconv.Itoa(i+1)
		need(hasEnglish(p.Name), where+": a name in English")
		need(len(p.Address.Postal) > 0 && len(p.Address.Electronic) > 0, where+": a postal and an electronic address")
		need(len(p.InformationURI) > 0, where+": an information URI")
		need(len(p.Services) > 0, where+": at least one service")
		for j, sv := range p.Services {
			w := where + " service " + strconv.Itoa(j+1)
			need(sv.Type != "" && hasEnglish(sv.Name), w+": a type and an English name")
			need(len(sv.Certificates) > 0 && samePublicKey(sv.Certificates), w+": certificates of one key")
			need(sv.Status != "" && !sv.StatusStarting.IsZero(), w+": a status and its starting time")
			for _, h := range sv.History {
				need(h.Status != "" && h.Type != "" && hasEnglish(h.Name), w+": history entries with a status, a type and an English name")
				need(h.StatusStarting.Before(sv.StatusStarting), w+": history entries that start before the current status")
			}
		}
	}
	if len(bad) > 0 {
		return invalid(law.L15, "the trusted list needs %s", strings.Join(bad, "; "))
	}
	if w := badString(l); w != "" {
		return invalid(law.L15, "the trusted list holds a string XML cannot carry: %q", w)
	}
	return nil
}

func hasEnglish(m MultiLang) bool {
	for _, t := range m {
		if t.Lang == "en" && t.Value != "" {
			return true
		}
	}
	return false
}

func samePublicKey(certs []*x509.Certificate) bool {
	for _, c := range certs[1:] {
		if string(c.RawSubjectPublicKeyInfo) != string(certs[0].RawSubjectPublicKeyInfo) {
			return false
		}
	}
	return true
}

// badString returns the first string of l that is not valid XML character data, if any.
func badString(l *List) string {
	var strs []string
	add := func(ss ...string) { strs = append(strs, ss...) }
	addML := func(m MultiLang) {
		for _, t := range m {
			add(t.Lang, t.Value)
		}
	}
	addAddr := func(a Address) {
		for _, p := range a.Postal {
			add(p.Lang, p.Street, p.Locality, p.StateOrProvince, p.PostalCode, p.CountryName)
		}
		addML(a.Electronic)
	}
	s := &l.Scheme
	add(s.Type, s.StatusDeterminationApproach, s.Territory)
	add(s.DistributionPoints...)
	addML(s.OperatorName)
	addAddr(s.OperatorAddress)
	addML(s.Name)
	addML(s.InformationURI)
	addML(s.CommunityRules)
	addML(s.LegalNotice)
	for _, p := range s.Pointers {
		add(p.Location, p.Territory, p.Type, p.Agreement)
		addML(p.OperatorName)
	}
	for _, p := range l.Providers {
		addML(p.Name)
		addML(p.TradeName)
		addAddr(p.Address)
		addML(p.InformationURI)
		for _, sv := range p.Services {
			add(sv.Type, string(sv.Status), sv.Decision)
			add(sv.Additional...)
			addML(sv.Name)
			for _, h := range sv.History {
				add(h.Type, string(h.Status), h.Decision)
				add(h.Additional...)
				addML(h.Name)
			}
		}
	}
	for _, str := range strs {
		if !xmlString(str) {
			return str
		}
	}
	return ""
}

// xmlString reports whether s is UTF-8 made only of XML 1.0 Chars, and has no CR
// (a parser turns it into LF, so it would not survive a round trip).
func xmlString(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		switch {
		case r == '\t' || r == '\n':
		case r < 0x20, r == 0xFFFE, r == 0xFFFF, r >= 0xD800 && r <= 0xDFFF:
			return false
		}
	}
	return true
}

func invalid(rule law.ID, format string, args ...any) error {
	return errkind.New(errkind.Invalid, rule, format, args...)
}
