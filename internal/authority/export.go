package authority

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/tawthiq/tawthiq/internal/errkind"
	"github.com/tawthiq/tawthiq/internal/law"
)

// YearlyRegister is the register the authority publishes for a year (L-15): the
// register as it stood at the last millisecond of 31 December (UTC) and every
// change recorded during the year. It counts what had been recorded by then, so
// the register of a past year reads the same whenever it is exported.
type YearlyRegister struct {
	Year        int         `json:"year"`
	AsOf        time.Time   `json:"as_of"`
	GeneratedAt time.Time   `json:"generated_at"`
	CSPs        []YearlyCSP `json:"csps"`
	Agreements  []Agreement `json:"agreements"`
	Changes     []Change    `json:"changes"`
}

// YearlyCSP is a CSP's dossier at the end of the year, with each service's status then.
type YearlyCSP struct {
	Dossier
	// StatusAtEnd maps each service ID to its status at AsOf (L-20).
	StatusAtEnd map[string]Status `json:"status_at_end"`
}

// Change is one change recorded during the year, named by its audit action.
type Change struct {
	At        time.Time `json:"at"` // when it was recorded
	What      string    `json:"what"`
	CSPID     string    `json:"csp_id,omitempty"`
	ServiceID string    `json:"service_id,omitempty"`
	RecordID  string    `json:"record_id,omitempty"`
	Summary   string    `json:"summary"`
}

// Export returns the yearly register of year as indented JSON (L-15). A year is
// published once it has ended.
func (s *Service) Export(ctx context.Context, year int) ([]byte, error) {
	doc, err := s.Yearly(ctx, year)
	if err != nil {
		return nil, err
	}
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return nil, errkind.Wrap(errkind.Internal, err, "encode the register of %d", year)
	}
	return append(b, '\n'), nil
}

// Yearly returns the yearly register of year (see Export).
func (s *Service) Yearly(ctx context.Context, year int) (*YearlyRegister, error) {
	now := s.now()
	if year < 1970 || year > 9998 {
		return nil, invalid(law.L15, "year %d is out of range", year)
	}
	start := time.Date(year, time.January, 1, 0, 0, 0, 0, time.UTC)
	end := start.AddDate(1, 0, 0)
	if now.Before(end) {
		return nil, invalid(law.L15, "the register of %d is published once the year has ended", year)
	}
	rs, err := s.st.AuthorityRecords(ctx)
	if err != nil {
		return nil, err
	}
	asOf := end.Add(-time.Millisecond)
	doc := &YearlyRegister{Year: year, AsOf: asOf, GeneratedAt: now, CSPs: []YearlyCSP{}, Agreements: []Agreement{}}
	for _, d := range dossiers(rs, asOf) {
		y := YearlyCSP{Dossier: d, StatusAtEnd: map[string]Status{}}
		for _, svc := range d.Services {
			y.StatusAtEnd[svc.ID] = svc.StatusAt(asOf).Status
		}
		doc.CSPs = append(doc.CSPs, y)
	}
	for _, a := range rs.Agreements {
		if !a.RecordedAt.After(asOf) {
			doc.Agreements = append(doc.Agreements, a)
		}
	}
	doc.Changes = changes(rs, start, asOf)
	return doc, nil
}

// recordedBy reports whether a record made at t is in the register at `at`; a
// zero `at` means everything recorded.
func recordedBy(t, at time.Time) bool { return at.IsZero() || !t.After(at) }

// latestCSPs returns each CSP's last version recorded by at, by name then ID.
func latestCSPs(versions []CSP, at time.Time) []CSP {
	last := map[string]CSP{}
	for _, c := range versions {
		if recordedBy(c.RecordedAt, at) && c.Version > last[c.ID].Version {
			last[c.ID] = c
		}
	}
	out := make([]CSP, 0, len(last))
	for _, c := range last {
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b CSP) int {
		return cmp.Or(strings.Compare(a.Name, b.Name), strings.Compare(a.ID, b.ID))
	})
	return out
}

// dossiers groups the records by CSP as the register stood at `at` (zero: all).
func dossiers(rs Records, at time.Time) []Dossier {
	csps := latestCSPs(rs.CSPs, at)
	idx := make(map[string]int, len(csps))
	out := make([]Dossier, len(csps))
	for i, c := range csps {
		idx[c.ID] = i
		out[i] = Dossier{CSP: c, Services: []TrustService{}, Insurances: []Insurance{}, Audits: []Audit{},
			Sanctions: []Sanction{}, Crypto: []CryptoDeclaration{}}
	}
	for _, c := range rs.CSPs {
		if i, ok := idx[c.ID]; ok && c.Version < out[i].CSP.Version {
			out[i].Versions = append(out[i].Versions, c)
		}
	}
	for _, svc := range rs.Services {
		i, ok := idx[svc.CSPID]
		if !ok || !recordedBy(svc.RecordedAt, at) {
			continue
		}
		var h []StatusChange
		for _, c := range svc.History {
			if recordedBy(c.RecordedAt, at) {
				h = append(h, c)
			}
		}
		svc.History = h
		out[i].Services = append(out[i].Services, svc)
	}
	for _, r := range rs.Insurances {
		if i, ok := idx[r.CSPID]; ok && recordedBy(r.RecordedAt, at) {
			out[i].Insurances = append(out[i].Insurances, r)
		}
	}
	for _, r := range rs.Audits {
		if i, ok := idx[r.CSPID]; ok && recordedBy(r.RecordedAt, at) {
			out[i].Audits = append(out[i].Audits, r)
		}
	}
	for _, r := range rs.Sanctions {
		if i, ok := idx[r.CSPID]; ok && recordedBy(r.RecordedAt, at) {
			out[i].Sanctions = append(out[i].Sanctions, r)
		}
	}
	for _, r := range rs.Crypto {
		if i, ok := idx[r.CSPID]; ok && recordedBy(r.RecordedAt, at) {
			out[i].Crypto = append(out[i].Crypto, r)
		}
	}
	return out
}

// changes lists every change recorded in [from, to], in the order recorded.
func changes(rs Records, from, to time.Time) []Change {
	out := []Change{}
	in := func(t time.Time) bool { return !t.Before(from) && !t.After(to) }
	for _, c := range rs.CSPs {
		if !in(c.RecordedAt) {
			continue
		}
		what := ActionCSPRegister
		if c.Version > 1 {
			what = ActionCSPUpdate
		}
		out = append(out, Change{At: c.RecordedAt, What: string(what), CSPID: c.ID,
			Summary: fmt.Sprintf("%s (%s, %s %s), version %d", c.Name, c.Country, c.IDKind, c.IDNumber, c.Version)})
	}
	for _, svc := range rs.Services {
		if in(svc.RecordedAt) {
			out = append(out, Change{At: svc.RecordedAt, What: string(ActionServiceAdd), CSPID: svc.CSPID, ServiceID: svc.ID,
				Summary: fmt.Sprintf("%s (%s)", svc.Name, svc.Type)})
		}
		for _, c := range svc.History {
			if in(c.RecordedAt) {
				out = append(out, Change{At: c.RecordedAt, What: string(ActionServiceStatus), CSPID: svc.CSPID, ServiceID: svc.ID,
					Summary: fmt.Sprintf("%s from %s, decision %s", c.Status, c.From.Format(time.RFC3339), c.Decision)})
			}
		}
	}
	for _, r := range rs.Insurances {
		if in(r.RecordedAt) {
			out = append(out, Change{At: r.RecordedAt, What: string(ActionInsurance), CSPID: r.CSPID, RecordID: r.ID,
				Summary: fmt.Sprintf("%s policy %s, %d MAD, %s to %s", r.Insurer, r.Policy, r.CoverMAD,
					r.ValidFrom.Format(time.DateOnly), r.ValidUntil.Format(time.DateOnly))})
		}
	}
	for _, r := range rs.Audits {
		if in(r.RecordedAt) {
			out = append(out, Change{At: r.RecordedAt, What: string(ActionAudit), CSPID: r.CSPID, ServiceID: r.ServiceID, RecordID: r.ID,
				Summary: fmt.Sprintf("%s audit by %s, report %s: %s, %d finding(s)", r.Kind, r.Auditor, r.ReportRef, r.Outcome, len(r.Findings))})
		}
	}
	for _, r := range rs.Sanctions {
		if in(r.RecordedAt) {
			out = append(out, Change{At: r.RecordedAt, What: string(ActionSanction), CSPID: r.CSPID, ServiceID: r.ServiceID, RecordID: r.ID,
				Summary: fmt.Sprintf("%s, decision %s", r.Kind, r.Decision)})
		}
	}
	for _, r := range rs.Crypto {
		if in(r.RecordedAt) {
			out = append(out, Change{At: r.RecordedAt, What: string(ActionCrypto), CSPID: r.CSPID, RecordID: r.ID,
				Summary: fmt.Sprintf("%s %s for %s: %s", r.Kind, r.Reference, r.Purpose, r.Means)})
		}
	}
	for _, r := range rs.Agreements {
		if in(r.RecordedAt) {
			out = append(out, Change{At: r.RecordedAt, What: string(ActionAgreement), RecordID: r.ID,
				Summary: fmt.Sprintf("%s agreement %s with %s", r.Kind, r.Reference, strings.Join(r.Countries, ", "))})
		}
	}
	// Stable: changes of one instant keep their logical order (a CSP before its services).
	slices.SortStableFunc(out, func(a, b Change) int { return a.At.Compare(b.At) })
	return out
}
