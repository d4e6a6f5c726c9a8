package orders

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"strings"
	"time"

	"github.com/tawthiq/tawthiq/internal/auditlog"
	"github.com/tawthiq/tawthiq/internal/errkind"
	"github.com/tawthiq/tawthiq/internal/issuance"
	"github.com/tawthiq/tawthiq/internal/law"
	"github.com/tawthiq/tawthiq/internal/notify"
	"github.com/tawthiq/tawthiq/internal/ra"
)

// ExportFormat names the JSON document a disclosure envelops.
const ExportFormat = "tawthiq-creation-data/1"

// Export is the JSON document sealed in a disclosure: the certificate creation
// data of the named holders, meaning their registration and issuance records,
// never a private key, which the CSP never holds (L-24).
type Export struct {
	Format      string          `json:"format"`
	CSP         string          `json:"csp,omitempty"`
	Order       ExportOrder     `json:"order"`
	GeneratedAt time.Time       `json:"generated_at"`
	Holders     []HolderRecords `json:"holders"`
}

// ExportOrder is the prosecutor's order as the export states it.
type ExportOrder struct {
	Ref    string    `json:"ref"`
	Office string    `json:"office"`
	Date   time.Time `json:"date"`
}

// HolderRecords are one holder's registration and issuance records.
type HolderRecords struct {
	HolderID     string              `json:"holder_id"`
	Applications []ApplicationRecord `json:"applications"`
}

// ApplicationRecord is a registration record: identity evidence (by hash), the
// documents' metadata, terms accepted, consents and approvals (L-21-3-1, L-21-3-3).
type ApplicationRecord struct {
	ID               string              `json:"id"`
	Profile          string              `json:"profile"`
	Status           string              `json:"status"`
	CreatedAt        time.Time           `json:"created_at"`
	Subject          issuance.Subject    `json:"subject"`
	Identity         ra.IDDocument       `json:"identity"`
	Capacity         *ra.Capacity        `json:"capacity,omitempty"`
	TermsVersion     string              `json:"terms_version"`
	TermsAcceptedAt  time.Time           `json:"terms_accepted_at"`
	ConsentDirectory bool                `json:"consent_directory"`
	ConsentEmail     bool                `json:"consent_email"`
	ContactEmail     string              `json:"contact_email,omitempty"`
	ContactPhone     string              `json:"contact_phone,omitempty"`
	Language         string              `json:"language"`
	CSR              []byte              `json:"csr"` // the holder's request: his public key only
	KeyInQSCD        bool                `json:"key_in_qscd"`
	LimitMAD         int64               `json:"limit_mad,omitempty"`
	Approvals        []ApprovalRecord    `json:"approvals"`
	Certificates     []CertificateRecord `json:"certificates"`
}

// ApprovalRecord is one RA officer's decision.
type ApprovalRecord struct {
	Officer string    `json:"officer"`
	At      time.Time `json:"at"`
	Note    string    `json:"note,omitempty"`
}

// CertificateRecord is an issuance record (L-21-1: times to the millisecond).
type CertificateRecord struct {
	Serial     string    `json:"serial"`
	CA         string    `json:"ca"`
	Profile    string    `json:"profile"`
	Status     string    `json:"status"`
	ReservedAt time.Time `json:"reserved_at"`
	IssuedAt   time.Time `json:"issued_at,omitzero"`
	NotBefore  time.Time `json:"not_before"`
	NotAfter   time.Time `json:"not_after"`
	DER        []byte    `json:"der,omitempty"`
}

// HolderRecords returns the creation data of one holder. The caller has recorded
// the read and its ground (L-24).
func (s *Service) HolderRecords(ctx context.Context, holderID string) (*HolderRecords, error) {
	apps, err := s.store.HolderApplications(ctx, holderID)
	if err != nil {
		return nil, err
	}
	if len(apps) == 0 {
		return nil, errkind.New(errkind.NotFound, law.L24, "no records of holder %q", holderID)
	}
	out := &HolderRecords{HolderID: holderID, Applications: make([]ApplicationRecord, 0, len(apps))}
	for _, a := range apps {
		r := ApplicationRecord{ID: a.ID, Profile: a.Profile, Status: string(a.Status), CreatedAt: a.CreatedAt,
			Subject: a.Subject, Identity: a.Identity, Capacity: a.Capacity, TermsVersion: a.TermsVersion,
			TermsAcceptedAt: a.TermsAcceptedAt, ConsentDirectory: a.ConsentDirectory, ConsentEmail: a.ConsentEmail,
			ContactEmail: a.ContactEmail, ContactPhone: a.ContactPhone, Language: a.Language, CSR: a.CSR,
			KeyInQSCD: a.KeyInQSCD, LimitMAD: a.LimitMAD, Approvals: []ApprovalRecord{}, Certificates: []CertificateRecord{}}
		for _, ap := range a.Approvals {
			r.Approvals = append(r.Approvals, ApprovalRecord{Officer: ap.Officer, At: ap.At, Note: ap.Note})
		}
		certs, err := s.store.ApplicationCertificates(ctx, a.ID)
		if err != nil {
			return nil, err
		}
		for _, c := range certs {
			r.Certificates = append(r.Certificates, CertificateRecord{Serial: c.Serial, CA: c.CA, Profile: c.Profile,
				Status: string(c.Status), ReservedAt: c.ReservedAt, IssuedAt: c.IssuedAt, NotBefore: c.NotBefore,
				NotAfter: c.NotAfter, DER: c.DER})
		}
		out.Applications = append(out.Applications, r)
	}
	return out, nil
}

// RecordDisclosure records the King's prosecutor's order, builds the export of the
// named holders' creation data, seals and time-stamps it as the CSP, records it with
// one read entry per holder on ground prosecutor-order, then queues a notice to each
// holder without delay (L-24).
func (s *Service) RecordDisclosure(ctx context.Context, actor string, d Disclosure) (*Disclosure, error) {
	d.Ref, d.Office, d.Holders = strings.TrimSpace(d.Ref), strings.TrimSpace(d.Office), clean(d.Holders)
	switch {
	case d.Ref == "" || d.Office == "":
		return nil, errkind.New(errkind.Invalid, law.L24, "a disclosure needs the order's reference and the prosecutor's office")
	case d.Date.IsZero():
		return nil, errkind.New(errkind.Invalid, law.L24, "a disclosure needs the order's date")
	case len(d.Holders) == 0:
		return nil, errkind.New(errkind.Invalid, law.L24, "the prosecutor's order names the holders concerned")
	case len(d.Holders) > maxScope:
		return nil, errkind.New(errkind.TooLarge, law.L24, "a disclosure names at most %d holders", maxScope)
	}
	if s.seal == nil {
		return nil, errkind.New(errkind.Unavailable, law.L24, "no CSP seal: the export cannot be signed")
	}
	if old, err := s.store.Disclosure(ctx, d.Ref); err == nil {
		// A crash may have come between the record and its notices: queue what is missing.
		if err := s.renotify(ctx, old); err != nil {
			return nil, err
		}
		return nil, errkind.New(errkind.Conflict, law.L24, "disclosure %q is already recorded", d.Ref)
	} else if !errkind.Is(err, errkind.NotFound) {
		return nil, err
	}
	now := law.Timestamp(s.clock.Now())
	if d.Date = law.Timestamp(d.Date); d.Date.After(now) {
		return nil, errkind.New(errkind.Invalid, law.L24, "the order's date is in the future")
	}
	ex := Export{Format: ExportFormat, CSP: s.csp, Order: ExportOrder{Ref: d.Ref, Office: d.Office, Date: d.Date},
		GeneratedAt: now, Holders: make([]HolderRecords, 0, len(d.Holders))}
	for _, h := range d.Holders {
		r, err := s.HolderRecords(ctx, h)
		if errkind.Is(err, errkind.NotFound) {
			return nil, errkind.New(errkind.Invalid, law.L24, "the CSP holds no records of holder %q", h)
		}
		if err != nil {
			return nil, err
		}
		ex.Holders = append(ex.Holders, *r)
	}
	content, err := json.MarshalIndent(ex, "", "  ")
	if err != nil {
		return nil, errkind.Wrap(errkind.Internal, err, "encoding the export")
	}
	p7s, err := s.seal.Seal(ctx, content)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(p7s)
	d.RecordedBy, d.RecordedAt, d.Export, d.ExportSHA256 = actor, now, p7s, sum[:]
	entries := []auditlog.Entry{auditlog.NewEntry(now, actor, ActionDisclosureRecord, d.Ref, map[string]any{
		"office": d.Office, "date": d.Date.Format(time.RFC3339), "holders": d.Holders, "export_sha256": sum[:]})}
	for _, h := range d.Holders {
		e := auditlog.NewEntry(now, actor, auditlog.ActionPersonalDataRead, h, map[string]string{"reference": d.Ref})
		e.Ground = string(law.ReadProsecutorOrder)
		entries = append(entries, e)
	}
	if err := s.store.PutDisclosure(ctx, d, entries); err != nil {
		return nil, err
	}
	if err := s.notifyDisclosure(ctx, &d, ex.Holders); err != nil {
		return &d, err
	}
	return &d, nil
}

// Disclosure returns a recorded disclosure.
func (s *Service) Disclosure(ctx context.Context, ref string) (*Disclosure, error) {
	return s.store.Disclosure(ctx, ref)
}

func (s *Service) renotify(ctx context.Context, d *Disclosure) error {
	var hs []HolderRecords
	for _, h := range d.Holders {
		r, err := s.HolderRecords(ctx, h)
		if err != nil {
			return err
		}
		hs = append(hs, *r)
	}
	return s.notifyDisclosure(ctx, d, hs)
}

// notifyDisclosure queues one notice per holder, once (dedup key: reference and holder).
func (s *Service) notifyDisclosure(ctx context.Context, d *Disclosure, hs []HolderRecords) error {
	for _, h := range hs {
		a, serial := noticeFile(h)
		if serial == "" {
			continue // no certificate, so no notice row can name one; the holder reads it in the export only
		}
		subject, body := disclosureText(a.Language, d)
		if _, err := s.notify.EnqueueHolder(ctx, notify.HolderNotice{Kind: notify.KindDisclosure,
			DedupKey: DisclosureNoticeKey(d.Ref, h.HolderID), HolderID: h.HolderID, ApplicationID: a.ID, Serial: serial,
			ConsentEmail: a.ConsentEmail, ContactEmail: a.ContactEmail, Language: a.Language,
			Subject: subject, Body: body}); err != nil {
			return err
		}
	}
	return nil
}

// noticeFile picks the holder's latest application with a certificate, to file the notice under.
func noticeFile(h HolderRecords) (ApplicationRecord, string) {
	for i := len(h.Applications) - 1; i >= 0; i-- {
		if a := h.Applications[i]; len(a.Certificates) > 0 {
			return a, a.Certificates[len(a.Certificates)-1].Serial
		}
	}
	return ApplicationRecord{}, ""
}

// DisclosureNoticeKey is the dedup key of a disclosure's notice to a holder.
func DisclosureNoticeKey(ref, holderID string) string {
	return string(notify.KindDisclosure) + ":" + ref + ":" + holderID
}
