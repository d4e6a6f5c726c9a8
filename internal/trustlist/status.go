package trustlist

import (
	"crypto/x509"
	"fmt"
	"slices"
	"time"

	"github.com/tawthiq/tawthiq/internal/issuance"
	"github.com/tawthiq/tawthiq/internal/law"
)

// ServiceInfo is a listed service as it stood at a given time.
type ServiceInfo struct {
	Territory string // SchemeTerritory of the list that names the service
	Provider  string // the TSP's name (English)
	TradeName string
	// Type, Name, Status, Additional and Decision are those in force at the time asked.
	Type            string
	Name            string
	Status          Status // "" when the time is before the service was first listed
	Since           time.Time
	Until           time.Time // when the next status began; zero for the current status
	Decision        string
	Additional      []string
	UnknownCritical []string
	FirstListed     time.Time
	// Agreement is the recognition agreement a foreign list was accepted under (L-22), "" for ours.
	Agreement string
}

// ServiceStatusAt finds the service whose digital identity is cert (a CA or TSA
// certificate of a chain) and returns the status in force at at: each status
// holds from its StatusStartingTime until the next one, so the history decides,
// not today's status (L-20). ok is false when no service has that identity; the
// first matching service in list order answers.
func (l *List) ServiceStatusAt(cert *x509.Certificate, at time.Time) (Status, ServiceInfo, bool) {
	infos := l.servicesAt(cert, at)
	if len(infos) == 0 {
		return "", ServiceInfo{}, false
	}
	return infos[0].Status, infos[0], true
}

func (l *List) servicesAt(cert *x509.Certificate, at time.Time) []ServiceInfo {
	var out []ServiceInfo
	for i := range l.Providers {
		p := &l.Providers[i]
		for j := range p.Services {
			s := &p.Services[j]
			if slices.ContainsFunc(s.Certificates, func(c *x509.Certificate) bool { return sameCertificate(c, cert) }) {
				out = append(out, l.statusAt(p, s, at))
			}
		}
	}
	return out
}

func (l *List) statusAt(p *Provider, s *Service, at time.Time) ServiceInfo {
	// The current status goes last so that, on a tie in starting time, it wins.
	timeline := append(slices.Clone(s.History), HistoryEntry{
		Type: s.Type, Name: s.Name, Status: s.Status, StatusStarting: s.StatusStarting,
		Additional: s.Additional, Decision: s.Decision, UnknownCritical: s.UnknownCritical,
	})
	slices.SortStableFunc(timeline, func(a, b HistoryEntry) int { return a.StatusStarting.Compare(b.StatusStarting) })
	info := ServiceInfo{
		Territory: l.Scheme.Territory, Provider: p.Name.Get("en"), TradeName: p.TradeName.Get("en"),
		Type: timeline[0].Type, Name: timeline[0].Name.Get("en"), FirstListed: timeline[0].StatusStarting,
	}
	if l.Agreement != nil {
		info.Agreement = l.Agreement.Agreement
	}
	for i, e := range timeline {
		if e.StatusStarting.After(at) {
			break
		}
		info.Type, info.Name, info.Status, info.Since = e.Type, e.Name.Get("en"), e.Status, e.StatusStarting
		info.Decision, info.Additional, info.UnknownCritical = e.Decision, e.Additional, e.UnknownCritical
		info.Until = time.Time{}
		if i+1 < len(timeline) {
			info.Until = timeline[i+1].StatusStarting
		}
	}
	return info
}

// Use is what a relying party wants a service to be qualified for.
type Use int

// Uses.
const (
	ForESignatures Use = iota + 1 // a CA/QC issuing qualified certificates for e-signatures
	ForESeals                     // a CA/QC issuing qualified certificates for e-seals
	ForTimestamps                 // a qualified TSA (TSA/QTST)
)

func (u Use) String() string {
	switch u {
	case ForESignatures:
		return "electronic signatures"
	case ForESeals:
		return "electronic seals"
	case ForTimestamps:
		return "qualified time-stamps"
	}
	return "nothing"
}

// Qualification is the answer to "was this service approved for this use at that time", with its reason.
type Qualification struct {
	Qualified bool
	Listed    bool   // the certificate is a listed service's identity
	Rule      law.ID // L-20; L-22 for a service of a recognised foreign list
	Reason    string // plain words, for the validation report
	Service   ServiceInfo
}

// QualifiedAt answers whether the service whose identity is cert was approved for
// use at at, from the status history (L-20).
func (l *List) QualifiedAt(cert *x509.Certificate, use Use, at time.Time) Qualification {
	return Lists{l}.QualifiedAt(cert, use, at)
}

// Lists are the lists a validator consults: the national list and the foreign
// lists loaded through its pointers (L-22).
type Lists []*List

// ServiceStatusAt is List.ServiceStatusAt over every list, in order.
func (ls Lists) ServiceStatusAt(cert *x509.Certificate, at time.Time) (Status, ServiceInfo, bool) {
	for _, l := range ls {
		if st, info, ok := l.ServiceStatusAt(cert, at); ok {
			return st, info, true
		}
	}
	return "", ServiceInfo{}, false
}

// QualifiedAt is qualified when any service with cert's identity, in any list,
// was approved for use at at; otherwise the reason comes from the service that
// best fits the use (a CA/QC for certificates, a TSA/QTST for time-stamps).
func (ls Lists) QualifiedAt(cert *x509.Certificate, use Use, at time.Time) Qualification {
	var best *Qualification
	for _, l := range ls {
		if l == nil {
			continue
		}
		for _, info := range l.servicesAt(cert, at) {
			q := judge(info, use, at)
			if q.Qualified {
				return q
			}
			if best == nil || info.Type == wantedType(use) && best.Service.Type != wantedType(use) {
				best = &q
			}
		}
	}
	if best != nil {
		return *best
	}
	subject := "(none)"
	if cert != nil {
		subject = issuance.SubjectName(cert)
	}
	return Qualification{Rule: law.L20, Reason: fmt.Sprintf("the certificate %q is not the identity of any service in the trusted lists", subject)}
}

func wantedType(use Use) string {
	if use == ForTimestamps {
		return SvcTypeTSAQTST
	}
	return SvcTypeCAQC
}

func judge(info ServiceInfo, use Use, at time.Time) Qualification {
	q := Qualification{Listed: true, Rule: law.L20, Service: info}
	where := info.Provider
	if info.Agreement != "" {
		q.Rule = law.L22
		where = fmt.Sprintf("%s (trusted list of %s, recognised under %s)", info.Provider, info.Territory, info.Agreement)
	}
	decision := ""
	if info.Decision != "" {
		decision = " (decision " + info.Decision + ")"
	}
	switch {
	case info.Status == "":
		q.Reason = fmt.Sprintf("the service %q of %s was first listed on %s, after %s", info.Name, where, formatTime(info.FirstListed), formatTime(at))
	case !info.Status.Approved():
		q.Reason = fmt.Sprintf("the service %q of %s was %s on %s%s", info.Name, where, info.Status.Word(), formatTime(info.Since), decision)
	case info.Type != wantedType(use):
		q.Reason = fmt.Sprintf("the service %q of %s is listed as %s, not as a qualified service for %s", info.Name, where, info.Type, use)
	case use == ForESignatures && !slices.Contains(info.Additional, ForeSignatures),
		use == ForESeals && !slices.Contains(info.Additional, ForeSeals):
		q.Reason = fmt.Sprintf("the service %q of %s is not listed as issuing qualified certificates for %s", info.Name, where, use)
	case len(info.UnknownCritical) > 0:
		q.Reason = fmt.Sprintf("the list qualifies the service %q of %s with critical extensions tawthiq does not apply (%v)", info.Name, where, info.UnknownCritical)
	default:
		q.Qualified = true
		q.Reason = fmt.Sprintf("the service %q of %s was %s on %s%s and was in force for %s at %s", info.Name, where, info.Status.Word(), formatTime(info.Since), decision, use, formatTime(at))
	}
	return q
}
