package trustlist

import (
	"crypto/x509"
	"strconv"
	"strings"
	"time"

	"github.com/beevik/etree"

	"github.com/tawthiq/tawthiq/internal/errkind"
	"github.com/tawthiq/tawthiq/internal/law"
)

// parser reads elements in schema order and keeps the first error; once it has
// one, every step returns nothing, so callers check p.err once per block.
type parser struct {
	rule law.ID
	err  error
}

func (p *parser) fail(format string, args ...any) {
	if p.err == nil {
		p.err = errkind.New(errkind.Invalid, p.rule, "trusted list: "+format, args...)
	}
}

// cursor walks the child elements of one element in order (an XSD sequence).
type cursor struct {
	p    *parser
	el   *etree.Element
	kids []*etree.Element
	i    int
}

func (p *parser) open(el *etree.Element) *cursor {
	c := &cursor{p: p, el: el}
	if el != nil {
		c.kids = el.ChildElements()
	}
	return c
}

// opt returns the next child if it is {ns}tag.
func (c *cursor) opt(ns, tag string) *etree.Element {
	if c.p.err != nil || c.i >= len(c.kids) || !is(c.kids[c.i], ns, tag) {
		return nil
	}
	c.i++
	return c.kids[c.i-1]
}

// one returns the next child, which must be {ns}tag.
func (c *cursor) one(ns, tag string) *etree.Element {
	if c.p.err != nil {
		return nil
	}
	e := c.opt(ns, tag)
	if e == nil {
		c.p.fail("%s: expected %s", where(c.el), tag)
	}
	return e
}

// many returns the following children that are {ns}tag, possibly none.
func (c *cursor) many(ns, tag string) []*etree.Element {
	var out []*etree.Element
	for e := c.opt(ns, tag); e != nil; e = c.opt(ns, tag) {
		out = append(out, e)
	}
	return out
}

// end refuses children the schema does not allow at this point.
func (c *cursor) end() {
	if c.p.err == nil && c.i < len(c.kids) {
		c.p.fail("%s: unexpected %s", where(c.el), c.kids[c.i].Tag)
	}
}

func where(el *etree.Element) string {
	if el == nil {
		return "?"
	}
	return el.Tag
}

func (p *parser) text(el *etree.Element) string {
	if el == nil || p.err != nil {
		return ""
	}
	s, ok := leafText(el)
	if !ok {
		p.fail("%s must hold text only", el.Tag)
	}
	return s
}

// token is a URI, number or date: surrounding white space is not part of it.
func (p *parser) token(el *etree.Element) string { return strings.TrimSpace(p.text(el)) }

func (p *parser) uint(el *etree.Element) uint64 {
	s := p.token(el)
	if el == nil || p.err != nil {
		return 0
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		p.fail("%s is not a non-negative integer", el.Tag)
	}
	return n
}

func (p *parser) time(el *etree.Element) time.Time {
	if el == nil || p.err != nil {
		return time.Time{}
	}
	t, err := timeOf(el)
	if err != nil {
		p.fail("%s is not a dateTime", el.Tag)
	}
	return t
}

func timeOf(el *etree.Element) (time.Time, error) {
	s, ok := leafText(el)
	if !ok {
		return time.Time{}, errkind.New(errkind.Invalid, law.L15, "not text")
	}
	t, err := time.Parse(time.RFC3339, strings.TrimSpace(s))
	if err != nil {
		return time.Time{}, err
	}
	return t.UTC(), nil
}

// langTexts reads elements carrying xml:lang (Name, URI, TSLLegalNotice).
func (p *parser) langTexts(els []*etree.Element) MultiLang {
	var m MultiLang
	for _, e := range els {
		m = append(m, Text{Lang: e.SelectAttrValue("xml:lang", ""), Value: p.text(e)})
	}
	return m
}

func (p *parser) names(el *etree.Element) MultiLang {
	c := p.open(el)
	m := p.langTexts(c.many(Namespace, "Name"))
	c.end()
	if el != nil && p.err == nil && len(m) == 0 {
		p.fail("%s has no Name", el.Tag)
	}
	return m
}

func (p *parser) uris(el *etree.Element) MultiLang {
	c := p.open(el)
	m := p.langTexts(c.many(Namespace, "URI"))
	c.end()
	for i := range m {
		m[i].Value = strings.TrimSpace(m[i].Value)
	}
	return m
}

// parseList reads a TrustServiceStatusList whose signature verify has removed.
func parseList(root *etree.Element, rule law.ID) (*List, error) {
	p := &parser{rule: rule}
	if !is(root, Namespace, "TrustServiceStatusList") {
		return nil, errkind.New(errkind.Invalid, rule, "not a TS 119 612 TrustServiceStatusList")
	}
	if root.SelectAttrValue("TSLTag", "") != TSLTag {
		return nil, errkind.New(errkind.Invalid, rule, "the list has no TS 119 612 TSLTag")
	}
	c := p.open(root)
	si := c.one(Namespace, "SchemeInformation")
	tspl := c.opt(Namespace, "TrustServiceProviderList")
	c.end()
	l := &List{}
	p.scheme(si, &l.Scheme)
	tc := p.open(tspl)
	for _, tsp := range tc.many(Namespace, "TrustServiceProvider") {
		l.Providers = append(l.Providers, p.provider(tsp))
	}
	tc.end()
	if p.err != nil {
		return nil, p.err
	}
	return l, nil
}

func (p *parser) scheme(si *etree.Element, s *SchemeInformation) {
	c := p.open(si)
	if v := p.uint(c.one(Namespace, "TSLVersionIdentifier")); p.err == nil && v != 5 && v != VersionIdentifier {
		p.fail("TSL version %d is not 5 or 6", v)
	}
	s.SequenceNumber = p.uint(c.one(Namespace, "TSLSequenceNumber"))
	s.Type = p.token(c.one(Namespace, "TSLType"))
	s.OperatorName = p.names(c.one(Namespace, "SchemeOperatorName"))
	s.OperatorAddress = p.address(c.one(Namespace, "SchemeOperatorAddress"))
	s.Name = p.names(c.one(Namespace, "SchemeName"))
	s.InformationURI = p.uris(c.one(Namespace, "SchemeInformationURI"))
	s.StatusDeterminationApproach = p.token(c.one(Namespace, "StatusDeterminationApproach"))
	if e := c.opt(Namespace, "SchemeTypeCommunityRules"); e != nil {
		s.CommunityRules = p.uris(e)
	}
	s.Territory = p.token(c.opt(Namespace, "SchemeTerritory"))
	if e := c.opt(Namespace, "PolicyOrLegalNotice"); e != nil {
		pc := p.open(e)
		pc.many(Namespace, "TSLPolicy")
		s.LegalNotice = p.langTexts(pc.many(Namespace, "TSLLegalNotice"))
		pc.end()
	}
	s.HistoricalInformationPeriod = p.uint(c.one(Namespace, "HistoricalInformationPeriod"))
	if e := c.opt(Namespace, "PointersToOtherTSL"); e != nil {
		pc := p.open(e)
		for _, ptr := range pc.many(Namespace, "OtherTSLPointer") {
			s.Pointers = append(s.Pointers, p.pointer(ptr))
		}
		pc.end()
	}
	s.IssueDateTime = p.time(c.one(Namespace, "ListIssueDateTime"))
	nc := p.open(c.one(Namespace, "NextUpdate"))
	s.NextUpdate = p.time(nc.opt(Namespace, "dateTime"))
	nc.end()
	if e := c.opt(Namespace, "DistributionPoints"); e != nil {
		dc := p.open(e)
		for _, u := range dc.many(Namespace, "URI") {
			s.DistributionPoints = append(s.DistributionPoints, p.token(u))
		}
		dc.end()
	}
	c.opt(Namespace, "SchemeExtensions")
	c.end()
}

func (p *parser) pointer(el *etree.Element) Pointer {
	var ptr Pointer
	c := p.open(el)
	if e := c.opt(Namespace, "ServiceDigitalIdentities"); e != nil {
		for _, sdi := range p.open(e).many(Namespace, "ServiceDigitalIdentity") {
			ptr.Certificates = append(ptr.Certificates, p.identity(sdi)...)
		}
	}
	ptr.Location = p.token(c.one(Namespace, "TSLLocation"))
	if ai := c.opt(Namespace, "AdditionalInformation"); ai != nil {
		for _, info := range ai.ChildElements() {
			if !is(info, Namespace, "OtherInformation") {
				continue // TextualInformation is for people
			}
			kids := info.ChildElements()
			if len(kids) != 1 {
				p.fail("OtherInformation must hold one element")
				continue
			}
			k := kids[0]
			switch {
			case is(k, Namespace, "TSLType"):
				ptr.Type = p.token(k)
			case is(k, Namespace, "SchemeTerritory"):
				ptr.Territory = p.token(k)
			case is(k, Namespace, "SchemeOperatorName"):
				ptr.OperatorName = p.names(k)
			case is(k, NamespaceTawthiq, "RecognitionAgreement"):
				ptr.Agreement = p.text(k)
			}
		}
	}
	c.end()
	return ptr
}

// identity reads a ServiceDigitalIdentity's certificates; subject names, SKIs and
// key values (as history entries carry) are accepted and not kept.
func (p *parser) identity(el *etree.Element) []*x509.Certificate {
	var certs []*x509.Certificate
	c := p.open(el)
	for _, id := range c.many(Namespace, "DigitalId") {
		kids := id.ChildElements()
		if len(kids) != 1 {
			p.fail("DigitalId must hold one identity")
			continue
		}
		if !is(kids[0], Namespace, "X509Certificate") {
			continue
		}
		der, err := base64Of(kids[0])
		if err != nil {
			p.fail("an X509Certificate is not base64")
			continue
		}
		cert, err := x509.ParseCertificate(der)
		if err != nil {
			p.fail("an X509Certificate does not parse")
			continue
		}
		certs = append(certs, cert)
	}
	c.end()
	return certs
}

func (p *parser) address(el *etree.Element) Address {
	var a Address
	c := p.open(el)
	pc := p.open(c.one(Namespace, "PostalAddresses"))
	for _, pa := range pc.many(Namespace, "PostalAddress") {
		ac := p.open(pa)
		a.Postal = append(a.Postal, PostalAddress{
			Lang:            pa.SelectAttrValue("xml:lang", ""),
			Street:          p.text(ac.one(Namespace, "StreetAddress")),
			Locality:        p.text(ac.one(Namespace, "Locality")),
			StateOrProvince: p.text(ac.opt(Namespace, "StateOrProvince")),
			PostalCode:      p.text(ac.opt(Namespace, "PostalCode")),
			CountryName:     p.text(ac.one(Namespace, "CountryName")),
		})
		ac.end()
	}
	pc.end()
	a.Electronic = p.uris(c.one(Namespace, "ElectronicAddress"))
	c.end()
	return a
}

func (p *parser) provider(el *etree.Element) Provider {
	var tp Provider
	c := p.open(el)
	ic := p.open(c.one(Namespace, "TSPInformation"))
	tp.Name = p.names(ic.one(Namespace, "TSPName"))
	if e := ic.opt(Namespace, "TSPTradeName"); e != nil {
		tp.TradeName = p.names(e)
	}
	tp.Address = p.address(ic.one(Namespace, "TSPAddress"))
	tp.InformationURI = p.uris(ic.one(Namespace, "TSPInformationURI"))
	ic.opt(Namespace, "TSPInformationExtensions")
	ic.end()
	sc := p.open(c.one(Namespace, "TSPServices"))
	for _, svc := range sc.many(Namespace, "TSPService") {
		tp.Services = append(tp.Services, p.service(svc))
	}
	sc.end()
	c.end()
	if p.err == nil && len(tp.Services) == 0 {
		p.fail("a provider has no service")
	}
	return tp
}

func (p *parser) service(el *etree.Element) Service {
	var s Service
	c := p.open(el)
	ic := p.open(c.one(Namespace, "ServiceInformation"))
	s.Type = p.token(ic.one(Namespace, "ServiceTypeIdentifier"))
	s.Name = p.names(ic.one(Namespace, "ServiceName"))
	s.Certificates = p.identity(ic.one(Namespace, "ServiceDigitalIdentity"))
	s.Status = Status(p.token(ic.one(Namespace, "ServiceStatus")))
	s.StatusStarting = p.time(ic.one(Namespace, "StatusStartingTime"))
	ic.opt(Namespace, "SchemeServiceDefinitionURI")
	ic.opt(Namespace, "ServiceSupplyPoints")
	ic.opt(Namespace, "TSPServiceDefinitionURI")
	s.Additional, s.Decision, s.UnknownCritical = p.extensions(ic.opt(Namespace, "ServiceInformationExtensions"))
	ic.end()
	if hist := c.opt(Namespace, "ServiceHistory"); hist != nil {
		hc := p.open(hist)
		for _, hi := range hc.many(Namespace, "ServiceHistoryInstance") {
			var h HistoryEntry
			ec := p.open(hi)
			h.Type = p.token(ec.one(Namespace, "ServiceTypeIdentifier"))
			h.Name = p.names(ec.one(Namespace, "ServiceName"))
			p.identity(ec.one(Namespace, "ServiceDigitalIdentity"))
			h.Status = Status(p.token(ec.one(Namespace, "ServiceStatus")))
			h.StatusStarting = p.time(ec.one(Namespace, "StatusStartingTime"))
			h.Additional, h.Decision, h.UnknownCritical = p.extensions(ec.opt(Namespace, "ServiceInformationExtensions"))
			ec.end()
			s.History = append(s.History, h)
		}
		hc.end()
	}
	c.end()
	return s
}

// extensions reads AdditionalServiceInformation and our decision; other
// extensions are skipped unless critical, then named so nobody relies on the service.
func (p *parser) extensions(el *etree.Element) (additional []string, decision string, unknownCritical []string) {
	c := p.open(el)
	for _, ext := range c.many(Namespace, "Extension") {
		critical := strings.TrimSpace(ext.SelectAttrValue("Critical", ""))
		kids := ext.ChildElements()
		if len(kids) == 1 && is(kids[0], Namespace, "AdditionalServiceInformation") {
			ac := p.open(kids[0])
			uri := p.token(ac.one(Namespace, "URI"))
			value := p.text(ac.opt(Namespace, "InformationValue"))
			ac.opt(Namespace, "OtherInformation")
			ac.end()
			if uri == DecisionURI {
				decision = value
			} else if uri != "" {
				additional = append(additional, uri)
			}
			continue
		}
		if critical == "true" || critical == "1" {
			name := "Extension"
			if len(kids) > 0 {
				name = kids[0].Tag
			}
			unknownCritical = append(unknownCritical, name)
		}
	}
	c.end()
	return additional, decision, unknownCritical
}
