package validation

import (
	"crypto/x509"
	"fmt"
	"time"

	"github.com/tawthiq/tawthiq/internal/issuance"
	"github.com/tawthiq/tawthiq/internal/law"
	"github.com/tawthiq/tawthiq/internal/trustlist"
)

// TrustedLists answers whether the service whose digital identity is cert (a
// CA or TSA certificate) was approved for use at time at, from the status
// history of the authority's trusted list and of the foreign lists loaded
// under a recognition agreement (L-20, L-22). Loading and checking the lists'
// signatures is the caller's (trustlist.Load, trustlist.LoadForeign).
type TrustedLists interface {
	QualifiedAt(cert *x509.Certificate, use trustlist.Use, at time.Time) trustlist.Qualification
}

var (
	_ TrustedLists = trustlist.Lists(nil)
	_ TrustedLists = (*trustlist.List)(nil)
)

// TrustService is what the trusted lists say of the service that decided a
// qualification, as it stood at the time asked; field names are stable.
type TrustService struct {
	For       string     `json:"for"`                 // the use asked: electronic signatures, electronic seals, qualified time-stamps
	At        time.Time  `json:"at"`                  // the time asked: the proven time, or the token's genTime
	Listed    bool       `json:"listed"`              // the certificate is a listed service's identity
	Approved  bool       `json:"approved"`            // the service was approved for the use at At
	Rule      law.ID     `json:"rule"`                // L-20, or L-22 for a service of a recognised foreign list
	Reason    string     `json:"reason"`              // the list's answer in plain words
	List      string     `json:"list,omitempty"`      // SchemeTerritory of the list naming the service, e.g. "MA"
	Agreement string     `json:"agreement,omitempty"` // the recognition agreement a foreign list rests on (L-22)
	Provider  string     `json:"provider,omitempty"`
	Service   string     `json:"service,omitempty"`
	Type      string     `json:"type,omitempty"`   // ServiceTypeIdentifier in force at At
	Status    string     `json:"status,omitempty"` // status URI in force at At; empty before the first listing
	Since     *time.Time `json:"since,omitempty"`  // when that status began
	Until     *time.Time `json:"until,omitempty"`  // when the next status began; null for the current one
	Decision  string     `json:"decision,omitempty"`
}

// ListedCertificates returns the digital identities of every service in ls,
// whatever its status, for use as Options.Roots: a listed CA is a trust anchor
// (a foreign CSP's certificates chain to nothing else we hold), and a withdrawn
// one must still anchor signatures made while it was granted.
func ListedCertificates(ls trustlist.Lists) []*x509.Certificate {
	var out []*x509.Certificate
	for _, l := range ls {
		if l == nil {
			continue
		}
		for _, p := range l.Providers {
			for _, s := range p.Services {
				out = append(out, s.Certificates...)
			}
		}
	}
	return out
}

// trustService turns the list's answer into the report's words.
func trustService(q trustlist.Qualification, use trustlist.Use, at time.Time) *TrustService {
	s := q.Service
	out := &TrustService{For: use.String(), At: at.UTC(), Listed: q.Listed, Approved: q.Qualified, Rule: q.Rule, Reason: q.Reason,
		List: s.Territory, Agreement: s.Agreement, Provider: s.Provider, Service: s.Name, Type: s.Type, Status: string(s.Status),
		Decision: s.Decision}
	if !s.Since.IsZero() {
		t := s.Since.UTC()
		out.Since = &t
	}
	if !s.Until.IsZero() {
		t := s.Until.UTC()
		out.Until = &t
	}
	return out
}

// qcUse reads what the signer's certificate declares itself qualified for
// (L-11); why is set when it declares nothing usable.
func qcUse(signer *x509.Certificate) (use trustlist.Use, kind string, why string) {
	var qc issuance.QCStatements
	found := false
	for _, e := range signer.Extensions {
		if e.Id.Equal(issuance.OIDQCStatements) {
			q, err := issuance.ParseQCStatements(e.Value)
			if err != nil {
				return 0, "", "the qcStatements extension is malformed: " + err.Error()
			}
			qc, found = q, true
		}
	}
	switch {
	case !found || !qc.Compliance:
		return 0, "", "the signer's certificate does not declare itself qualified (no QcCompliance statement)"
	case qc.HasType(issuance.OIDQcTypeESign):
		return trustlist.ForESignatures, "electronic signature (QcType esign)", ""
	case qc.HasType(issuance.OIDQcTypeESeal):
		return trustlist.ForESeals, "electronic seal (QcType eseal)", ""
	}
	return 0, "", "the certificate is QcCompliant but its QcType is neither esign nor eseal"
}

// qualified decides whether the signature is qualified: the certificate says
// so (L-11) and, with trusted lists, a CA of its path was approved for that
// use at the proven time (L-20; L-22 through a recognised foreign list).
func (v *validator) qualified(signer *x509.Certificate, chain []*x509.Certificate) {
	use, kind, why := qcUse(signer)
	if why != "" {
		v.r.QualifiedWhy = why
		return
	}
	lists := v.opts.TrustedLists
	if lists == nil {
		v.r.Qualified = true
		v.r.QualifiedWhy = "qualified certificate for an " + kind + " issued by an approved CSP per configured roots: " +
			"no trusted list was consulted, so the CSP's approval at the signing time is assumed, not checked"
		return
	}
	at := v.r.ProvenTime
	q := v.serviceOfPath(chain, use, at)
	v.r.TrustService = trustService(q, use, at)
	where := listName(q.Service)
	if q.Qualified {
		v.r.Qualified = true
		v.r.QualifiedWhy = fmt.Sprintf("qualified certificate for an %s; per %s, %s", kind, where, q.Reason)
		return
	}
	v.r.QualifiedWhy = fmt.Sprintf("the certificate declares itself qualified for an %s, but %s", kind, notApproved(q, where, at, v.r.ProvenBy))
}

// serviceOfPath asks the lists about each CA of chain from the signer's issuer
// up: the first one listed answers, the closest to the signer being the most
// specific; when none is, the issuer's "not listed" answer stands.
func (v *validator) serviceOfPath(chain []*x509.Certificate, use trustlist.Use, at time.Time) trustlist.Qualification {
	var first *trustlist.Qualification
	for _, ca := range chain[1:] {
		q := v.opts.TrustedLists.QualifiedAt(ca, use, at)
		if q.Listed {
			return q
		}
		if first == nil {
			first = &q
		}
	}
	if first == nil { // the signer is itself a trust anchor: nothing issued it
		return v.opts.TrustedLists.QualifiedAt(chain[0], use, at)
	}
	return *first
}

// notApproved says why the list's answer q does not make a signature proven
// at at qualified, naming the status and its date when there is one.
func notApproved(q trustlist.Qualification, where string, at time.Time, by TimeSource) string {
	s := q.Service
	switch {
	case !q.Listed:
		return fmt.Sprintf("%s: its issuer is not a service of the trusted lists, so no approved CSP issued it", q.Reason)
	case s.Status != "" && !s.Status.Approved():
		return fmt.Sprintf("per %s, %s: a signature proven at %s (%s), not before %s, is not qualified",
			where, q.Reason, ts(at), by, ts(s.Since))
	}
	return fmt.Sprintf("per %s, %s: a signature proven at %s (%s) is not qualified", where, q.Reason, ts(at), by)
}

// listName names the list a service answer comes from; for a foreign list the
// list's own reason already names the agreement it was recognised under.
func listName(s trustlist.ServiceInfo) string {
	return "the trusted list of " + s.Territory
}

// qualifiedTSA decides whether a trusted token is a qualified time-stamp: it
// carries the EN 319 422 statement and, with trusted lists, its TSA was a
// granted TSA/QTST at genTime (L-20).
func (v *validator) qualifiedTSA(token []byte, tsa *x509.Certificate, genTime time.Time) (bool, string, *TrustService) {
	if !qualifiedToken(token) {
		return false, "the token carries no EN 319 422 esi4-qtstStatement-1 statement", nil
	}
	if v.opts.TrustedLists == nil {
		return true, "the token carries the EN 319 422 qualified statement and its TSA chains to a configured root; " +
			"no trusted list was consulted, so the TSA's approval is assumed, not checked", nil
	}
	q := v.opts.TrustedLists.QualifiedAt(tsa, trustlist.ForTimestamps, genTime)
	svc := trustService(q, trustlist.ForTimestamps, genTime)
	if !q.Listed {
		return false, q.Reason + ": the TSA is not a qualified trust service of the trusted lists", svc
	}
	where := listName(q.Service)
	if !q.Qualified {
		return false, fmt.Sprintf("per %s, %s: a time-stamp generated at %s is not qualified", where, q.Reason, ts(genTime)), svc
	}
	return true, fmt.Sprintf("per %s, %s", where, q.Reason), svc
}
