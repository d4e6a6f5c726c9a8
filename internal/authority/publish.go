package authority

import (
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tawthiq/tawthiq/internal/auditlog"
	"github.com/tawthiq/tawthiq/internal/errkind"
	"github.com/tawthiq/tawthiq/internal/law"
	"github.com/tawthiq/tawthiq/internal/trustlist"
)

// ActionListPublish is the audit action of a trusted list's publication (L-15).
const ActionListPublish auditlog.Action = "authority.trustlist.publish"

// ListValidity is how long a published list is current: its NextUpdate is its
// issue time plus this. It is the scheme's rule, not the law's: TS 119 612
// clause 5.3.14 allows at most six months; a month keeps a list that a validator
// caches close to the register, and the list is republished at half of it anyway.
const ListValidity = 30 * 24 * time.Hour

// Territory is the scheme territory of the national list.
const Territory = HomeCountry

// Scheme is what the national list says of its operator and itself; Register
// gives the rest.
type Scheme struct {
	OperatorName    trustlist.MultiLang // ar, fr, en
	OperatorAddress trustlist.Address
	Name            trustlist.MultiLang
	InformationURI  trustlist.MultiLang
	LegalNotice     trustlist.MultiLang
	// DistributionPoint is where the list is published (…/trustlist.xml).
	DistributionPoint string
}

// NationalScheme is the scheme of the national authority (the DGSSI) publishing
// at distributionPoint, an absolute URL, with its information at informationURI.
func NationalScheme(distributionPoint, informationURI string) Scheme {
	return Scheme{
		OperatorName: trustlist.MultiLang{
			{Lang: "ar", Value: "المديرية العامة لأمن نظم المعلومات"},
			{Lang: "fr", Value: "Direction Générale de la Sécurité des Systèmes d'Information (DGSSI)"},
			{Lang: "en", Value: "Direction Générale de la Sécurité des Systèmes d'Information (DGSSI)"},
		},
		OperatorAddress: trustlist.Address{
			Postal: []trustlist.PostalAddress{{Lang: "fr", Street: "Administration de la Défense Nationale",
				Locality: "Rabat", CountryName: "MA"}},
			Electronic: trustlist.MultiLang{{Lang: "en", Value: informationURI}},
		},
		Name: trustlist.MultiLang{
			{Lang: "ar", Value: "MA: لائحة مقدمي خدمات الثقة المعتمدين"},
			{Lang: "fr", Value: "MA: Liste des prestataires de services de confiance agréés"},
			{Lang: "en", Value: "MA: Trusted list of approved trust service providers"},
		},
		InformationURI: trustlist.MultiLang{{Lang: "en", Value: informationURI}},
		LegalNotice: trustlist.MultiLang{
			{Lang: "fr", Value: "Loi n° 53-05 relative à l'échange électronique de données juridiques et loi n° 43-20 relative aux services de confiance pour les transactions électroniques."},
			{Lang: "en", Value: "Law 53-05 on the electronic exchange of legal data and Law 43-20 on trust services for electronic transactions."},
		},
		DistributionPoint: distributionPoint,
	}
}

// Publication is one published, signed trusted list.
type Publication struct {
	Seq        uint64    `json:"seq"` // TSLSequenceNumber: 1 and up, never reused
	IssuedAt   time.Time `json:"issued_at"`
	NextUpdate time.Time `json:"next_update"`
	SHA256     string    `json:"sha256"` // hex SHA-256 of XML
	// SourceSHA256 digests what the list was made from (the register, the scheme
	// and the signing certificate), so that an unchanged register is not republished.
	SourceSHA256 string `json:"source_sha256"`
	XML          []byte `json:"-"`
}

// ListStore keeps the published lists. Each publication records its audit entry
// in the same transaction.
type ListStore interface {
	// RecordTrustList records p; a Seq already recorded is a Conflict.
	RecordTrustList(ctx context.Context, p Publication, e auditlog.Entry) error
	// LatestTrustList returns the publication with the highest Seq (NotFound if none).
	LatestTrustList(ctx context.Context) (Publication, error)
}

// Publisher turns the register into the signed national trusted list (L-15) and
// keeps the publications.
type Publisher struct {
	reg    *Service
	st     ListStore
	scheme Scheme
	mu     sync.Mutex // one publication at a time from this node; the store arbitrates between nodes
}

// Publisher returns the publisher of the register's trusted list under scheme.
func (s *Service) Publisher(st ListStore, scheme Scheme) *Publisher {
	return &Publisher{reg: s, st: st, scheme: scheme}
}

// LatestList returns the latest publication (NotFound before the first).
func (p *Publisher) LatestList(ctx context.Context) (Publication, error) {
	return p.st.LatestTrustList(ctx)
}

// PublishList builds the list from the register as it stands, signs it with
// signer (whose certificate is cert) and records it under the next sequence
// number (L-15). A concurrent publisher that took the number first makes it try
// once more with the next one.
func (p *Publisher) PublishList(ctx context.Context, signer crypto.Signer, cert *x509.Certificate) (Publication, error) {
	pub, _, err := p.publish(ctx, signer, cert, true)
	return pub, err
}

// PublishIfNeeded publishes when there is no list yet, when the register (or the
// scheme, or the signing certificate) changed since the latest list, or when the
// latest list has reached half its validity; it reports whether it published.
func (p *Publisher) PublishIfNeeded(ctx context.Context, signer crypto.Signer, cert *x509.Certificate) (Publication, bool, error) {
	return p.publish(ctx, signer, cert, false)
}

func (p *Publisher) publish(ctx context.Context, signer crypto.Signer, cert *x509.Certificate, force bool) (Publication, bool, error) {
	if signer == nil || cert == nil {
		return Publication{}, false, invalid(law.L15, "publishing the trusted list needs the authority's key and certificate")
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for attempt := 0; ; attempt++ {
		latest, err := p.st.LatestTrustList(ctx)
		if err != nil && !errkind.Is(err, errkind.NotFound) {
			return Publication{}, false, err
		}
		reg, err := p.reg.Snapshot(ctx)
		if err != nil {
			return Publication{}, false, err
		}
		source, err := sourceDigest(reg, p.scheme, cert)
		if err != nil {
			return Publication{}, false, err
		}
		now := p.reg.now()
		if !force && latest.Seq > 0 && latest.SourceSHA256 == source && now.Before(halfway(latest)) {
			return latest, false, nil
		}
		pub, err := p.sign(reg, latest.Seq+1, now, source, signer, cert)
		if err != nil {
			return Publication{}, false, err
		}
		e := auditlog.NewEntry(now, "system", ActionListPublish, strconv.FormatUint(pub.Seq, 10), publicationRecord{
			Seq: pub.Seq, IssuedAt: pub.IssuedAt, NextUpdate: pub.NextUpdate, SHA256: pub.SHA256, SourceSHA256: source,
			Signer: cert.Subject.String(), SignerSHA256: hashes([][]byte{cert.Raw})[0]})
		err = p.st.RecordTrustList(ctx, pub, e)
		if errkind.Is(err, errkind.Conflict) && attempt == 0 {
			continue // another node published this number: look again
		}
		if err != nil {
			return Publication{}, false, err
		}
		return pub, true, nil
	}
}

// halfway is when a list has lived half its validity and is republished.
func halfway(p Publication) time.Time {
	return p.IssuedAt.Add(p.NextUpdate.Sub(p.IssuedAt) / 2)
}

func (p *Publisher) sign(reg Register, seq uint64, now time.Time, source string, signer crypto.Signer, cert *x509.Certificate) (Publication, error) {
	l, err := BuildList(reg, p.scheme, seq, now)
	if err != nil {
		return Publication{}, err
	}
	unsigned, err := trustlist.Build(l)
	if err != nil {
		return Publication{}, err
	}
	signed, err := trustlist.Sign(unsigned, signer, cert, l.Scheme.IssueDateTime)
	if err != nil {
		return Publication{}, err
	}
	sum := sha256.Sum256(signed)
	return Publication{Seq: seq, IssuedAt: l.Scheme.IssueDateTime, NextUpdate: l.Scheme.NextUpdate,
		SHA256: hex.EncodeToString(sum[:]), SourceSHA256: source, XML: signed}, nil
}

type publicationRecord struct {
	Seq          uint64    `json:"seq"`
	IssuedAt     time.Time `json:"issued_at"`
	NextUpdate   time.Time `json:"next_update"`
	SHA256       string    `json:"sha256"`
	SourceSHA256 string    `json:"source_sha256"`
	Signer       string    `json:"signer"`
	SignerSHA256 string    `json:"signer_sha256"`
}

// sourceDigest digests everything a list is made from but its number and times.
func sourceDigest(reg Register, scheme Scheme, cert *x509.Certificate) (string, error) {
	reg.At = time.Time{}
	b, err := json.Marshal(struct {
		Register Register
		Scheme   Scheme
		Cert     []byte
	}{reg, scheme, cert.Raw})
	if err != nil {
		return "", errkind.Wrap(errkind.Internal, err, "digest the register")
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), nil
}

// BuildList turns a snapshot of the register into the national trusted list
// number seq issued at issued (L-15): each CSP a provider, each of its services
// with its whole status history (L-20), and a pointer to each foreign list a
// recognition agreement names (L-22).
//
// The register's statuses become TS 119 612's: granted is granted, withdrawn is
// withdrawn, and suspended is written as withdrawn, with the decision marked as a
// suspension: TS 119 612 v2 has no suspended status, the EU's lists record a
// suspension the same way, and a validator then finds the service not qualified
// while it is suspended; lifting it is a new grant. Lists carry whole seconds:
// a grant is rounded up to the next second and any other status down, so that
// the list never shows a service approved for longer than the register does.
func BuildList(reg Register, scheme Scheme, seq uint64, issued time.Time) (*trustlist.List, error) {
	issued = issued.UTC().Truncate(time.Second)
	l := &trustlist.List{Scheme: trustlist.SchemeInformation{
		SequenceNumber:              seq,
		Type:                        trustlist.NationalTSLType(Territory),
		OperatorName:                scheme.OperatorName,
		OperatorAddress:             scheme.OperatorAddress,
		Name:                        scheme.Name,
		InformationURI:              scheme.InformationURI,
		StatusDeterminationApproach: trustlist.NationalStatusDetermination(Territory),
		CommunityRules:              trustlist.MultiLang{{Lang: "en", Value: trustlist.NationalSchemeRules(Territory)}},
		Territory:                   Territory,
		LegalNotice:                 scheme.LegalNotice,
		HistoricalInformationPeriod: trustlist.HistoryUnlimited,
		IssueDateTime:               issued,
		NextUpdate:                  issued.Add(ListValidity),
	}}
	if scheme.DistributionPoint != "" {
		l.Scheme.DistributionPoints = []string{scheme.DistributionPoint}
	}
	for _, a := range reg.Agreements {
		for _, ptr := range a.Lists {
			certs, err := parseCerts(ptr.Certificates)
			if err != nil {
				return nil, errkind.Wrap(errkind.Internal, err, "agreement %s: the certificates of the list of %s", a.Reference, ptr.Territory)
			}
			tp := trustlist.Pointer{Location: ptr.Location, Certificates: certs, Territory: ptr.Territory,
				Type: foreignListType(ptr.Territory), Agreement: a.Reference}
			if ptr.OperatorName != "" {
				tp.OperatorName = trustlist.MultiLang{{Lang: "en", Value: ptr.OperatorName}}
			}
			l.Scheme.Pointers = append(l.Scheme.Pointers, tp)
		}
	}
	for _, rc := range reg.CSPs {
		var svcs []trustlist.Service
		for _, ts := range rc.Services {
			s, ok, err := listService(ts)
			if err != nil {
				return nil, err
			}
			if ok {
				svcs = append(svcs, s)
			}
		}
		if len(svcs) == 0 {
			continue // a CSP with no service yet has nothing to list
		}
		l.Providers = append(l.Providers, provider(rc.CSP, scheme, svcs))
	}
	return l, nil
}

func provider(c CSP, scheme Scheme, svcs []trustlist.Service) trustlist.Provider {
	info := trustlist.MultiLang{{Lang: "en", Value: c.InformationURI}}
	if c.InformationURI == "" {
		// The register holds no address of its own for the CSP: the scheme's page, which publishes the register.
		info = scheme.InformationURI
	}
	street, locality := c.Seat, c.Seat
	if i := strings.LastIndex(c.Seat, ","); i > 0 && strings.TrimSpace(c.Seat[i+1:]) != "" {
		street, locality = strings.TrimSpace(c.Seat[:i]), strings.TrimSpace(c.Seat[i+1:])
	}
	p := trustlist.Provider{
		Name: trustlist.MultiLang{{Lang: "en", Value: c.Name}},
		Address: trustlist.Address{
			Postal:     []trustlist.PostalAddress{{Lang: "en", Street: street, Locality: locality, CountryName: c.Country}},
			Electronic: info,
		},
		InformationURI: info,
		Services:       svcs,
	}
	// L-11 b: the registration number; the trade register in EN 319 412-1's form.
	switch c.IDKind {
	case IDKindRC:
		p.TradeName = trustlist.MultiLang{{Lang: "en", Value: "NTR" + c.Country + "-" + c.IDNumber}}
	case IDKindICE:
		p.TradeName = trustlist.MultiLang{{Lang: "en", Value: "ICE " + c.IDNumber}}
	case IDKindForeign:
		p.TradeName = trustlist.MultiLang{{Lang: "en", Value: c.IDNumber}}
	}
	return p
}

// listService writes a service and its history; ok is false for a service with
// no status in force at any second (granted and changed within one second).
func listService(ts TrustService) (trustlist.Service, bool, error) {
	certs, err := parseCerts(ts.Certificates)
	if err != nil {
		return trustlist.Service{}, false, errkind.Wrap(errkind.Internal, err, "service %s: its digital identity", ts.ID)
	}
	name := trustlist.MultiLang{{Lang: "en", Value: ts.Name}}
	var additional []string
	if ts.Type == TypeCAQC {
		for _, q := range ts.Qualifiers {
			switch q {
			case QualifiesESig:
				additional = append(additional, trustlist.ForeSignatures)
			case QualifiesESeal:
				additional = append(additional, trustlist.ForeSeals)
			}
		}
	}
	var timeline []trustlist.HistoryEntry
	for _, c := range ts.History {
		e := trustlist.HistoryEntry{Type: ts.Type, Name: name, Additional: additional, Decision: c.Decision}
		switch c.Status {
		case StatusGranted:
			e.Status = trustlist.StatusGranted
			e.StatusStarting = ceilSecond(c.From)
		case StatusSuspended:
			e.Status = trustlist.StatusWithdrawn
			e.StatusStarting = c.From.UTC().Truncate(time.Second)
			e.Decision = c.Decision + " (suspension)"
		case StatusWithdrawn:
			e.Status = trustlist.StatusWithdrawn
			e.StatusStarting = c.From.UTC().Truncate(time.Second)
		default:
			return trustlist.Service{}, false, errkind.New(errkind.Internal, law.L15, "service %s has an unknown status %q", ts.ID, c.Status)
		}
		// A status that starts no later than the one before, once in seconds, replaces it: that one was never in force for a whole second.
		for len(timeline) > 0 && !timeline[len(timeline)-1].StatusStarting.Before(e.StatusStarting) {
			timeline = timeline[:len(timeline)-1]
		}
		timeline = append(timeline, e)
	}
	if len(timeline) == 0 {
		return trustlist.Service{}, false, nil
	}
	cur := timeline[len(timeline)-1]
	return trustlist.Service{
		Type: ts.Type, Name: name, Certificates: certs, Status: cur.Status, StatusStarting: cur.StatusStarting,
		Additional: cur.Additional, Decision: cur.Decision, History: slices.Clone(timeline[:len(timeline)-1]),
	}, true, nil
}

func ceilSecond(t time.Time) time.Time {
	t = t.UTC()
	if s := t.Truncate(time.Second); !s.Equal(t) {
		return s.Add(time.Second)
	}
	return t
}

func parseCerts(ders [][]byte) ([]*x509.Certificate, error) {
	out := make([]*x509.Certificate, 0, len(ders))
	for _, d := range ders {
		c, err := x509.ParseCertificate(d)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// euStates are the EU's member states (ISO 3166-1, Greece as EL as the EU writes
// it): their lists are of the EU's type, every other country's of its national type.
var euStates = []string{"AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "EL", "ES", "FI", "FR", "HR", "HU", "IE",
	"IT", "LT", "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK"}

// foreignListType is the TSLType a foreign list of territory has (TS 119 612 D.5, D.6).
func foreignListType(territory string) string {
	if slices.Contains(euStates, territory) || territory == "GR" {
		return trustlist.TSLTypeEUGeneric
	}
	return trustlist.NationalTSLType(territory)
}
