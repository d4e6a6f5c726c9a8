package api

import (
	"bytes"
	"encoding/hex"
	"testing"
	"time"

	"github.com/tawthiq/tawthiq/internal/errkind"
)

const sampleApplication = `{
 "profile": "qualified-signature",
 "subject": {"given_name": "Fatima", "surname": "Zahra", "country": "MA", "title": "Gérante"},
 "identity": {"type": "national-id-card", "number": "AB123456", "issuer": "DGSN", "country": "MA",
  "expiry": "2030-01-01T00:00:00Z", "method": "face-to-face",
  "evidence_sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"},
 "capacity": {"proof_kind": "employer-letter", "proof_sha256": "9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08"},
 "terms_version": "2025-01", "terms_accepted_at": "2025-02-01T10:00:00.123Z",
 "consent_directory": true, "consent_email": true, "contact_email": "f@example.ma", "language": "ar",
 "csr": "-----BEGIN CERTIFICATE REQUEST-----\nMIIB\n-----END CERTIFICATE REQUEST-----\n",
 "key_in_qscd": true, "limit_mad": 50000
}`

func TestDecodeApplication(t *testing.T) {
	a, err := decodeApplication(bytes.NewReader([]byte(sampleApplication)))
	if err != nil {
		t.Fatal(err)
	}
	if a.Identity.Number != "AB123456" || a.Capacity == nil || hex.EncodeToString(a.Capacity.ProofSHA256) != hex.EncodeToString(a.Identity.EvidenceSHA256) ||
		a.TermsAcceptedAt.Nanosecond() != 123e6 || !a.KeyInQSCD || a.LimitMAD != 50000 || a.Subject.Title != "Gérante" || len(a.CSR) == 0 {
		t.Errorf("decoded %+v", a)
	}
	// What the RA sets may not come from the request.
	if a.ID != "" || a.SubmittedBy != "" || a.Status != "" || a.Subject.SerialNumber != "" {
		t.Errorf("request set a server field: %+v", a)
	}
}

// FuzzDecodeApplication: untrusted bodies never panic, and every refusal is a 400 or 413 problem.
func FuzzDecodeApplication(f *testing.F) {
	for _, s := range []string{sampleApplication, `{}`, `null`, `[]`, `{"profile":1}`, `{"a":1}`,
		`{"identity":{"evidence_sha256":"0g"}}`, `{"capacity":null}`, `{"terms_accepted_at":"2025-13-01T00:00:00Z"}`,
		`{"subject":{"organization_identifier":"NTRMA-1"}}`, `{"limit_mad":1e40}`, "{\"csr\":\"\\u0000\"}"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		a, err := decodeApplication(bytes.NewReader(body))
		if err != nil {
			if !errkind.Is(err, errkind.Invalid) && !errkind.Is(err, errkind.TooLarge) {
				t.Fatalf("refusal of kind %v: %v", errkind.As(err).Kind, err)
			}
			if e := errkind.As(err); e.Detail == "" {
				t.Fatalf("refusal without detail: %v", err)
			}
			return
		}
		if a.ID != "" || a.SubmittedBy != "" || a.Status != "" || a.Subject.SerialNumber != "" || a.Subject.OrganizationIdentifier != "" {
			t.Fatalf("request set a server field: %+v", a)
		}
	})
}

// FuzzDecodeRevocationRequest: untrusted revocation bodies never panic, every refusal
// is a 400 or 413 problem with a detail, and what is accepted names no certificate or
// CA of its own (those come from the path and the certificate).
func FuzzDecodeRevocationRequest(f *testing.F) {
	for _, s := range []string{`{"ground":"holder-request"}`, `{"ground":"key-compromise","note":"stolen","invalidity_date":"2025-06-01T09:00:00+02:00"}`,
		`{"ground":"judicial-order","note":"n","order_ref":"TPI 2025/1"}`, `{}`, `null`, `[]`, `{"ground":1}`, `{"serial":"4a"}`,
		`{"ca":"signature"}`, `{"invalidity_date":"2025-13-01T00:00:00Z"}`, `{"invalidity_date":null}`, `{"ground":"x"}{}`, "{\"note\":\"\\u0000\"}"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := decodeRevocationRequest(bytes.NewReader(body))
		if err != nil {
			if !errkind.Is(err, errkind.Invalid) && !errkind.Is(err, errkind.TooLarge) {
				t.Fatalf("refusal of kind %v: %v", errkind.As(err).Kind, err)
			}
			if e := errkind.As(err); e.Detail == "" {
				t.Fatalf("refusal without detail: %v", err)
			}
			return
		}
		if req.Serial != "" || req.CA != "" {
			t.Fatalf("the body set a serial or CA: %+v", req)
		}
		if !req.InvalidityDate.IsZero() && req.InvalidityDate.Location() != time.UTC {
			t.Fatalf("invalidity date not in UTC: %v", req.InvalidityDate)
		}
	})
}
