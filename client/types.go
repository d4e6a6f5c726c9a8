// Package client is the Go client of tawthiq's REST API; its types are the API's
// wire format (JSON), shared by the server so the two cannot disagree.
package client

import (
	"encoding/json"
	"strconv"
	"strings"
	"time"
)

// timestampLayout keeps milliseconds even when they are zero (L-21-1).
const timestampLayout = "2006-01-02T15:04:05.000Z07:00"

// Timestamp is a time the CSP records: RFC 3339 in UTC, always with milliseconds.
type Timestamp struct{ time.Time }

// MarshalJSON writes the time as "2025-01-02T03:04:05.000Z".
func (t Timestamp) MarshalJSON() ([]byte, error) {
	return []byte(`"` + t.UTC().Format(timestampLayout) + `"`), nil
}

// UnmarshalJSON reads any RFC 3339 time.
func (t *Timestamp) UnmarshalJSON(b []byte) error { return t.Time.UnmarshalJSON(b) }

// String formats the time as it travels.
func (t Timestamp) String() string { return t.UTC().Format(timestampLayout) }

// Problem is an RFC 9457 problem detail, extended with the rule of the law that
// refused the request.
type Problem struct {
	Type     string `json:"type"`
	Title    string `json:"title"`
	Status   int    `json:"status"`
	Detail   string `json:"detail,omitempty"`
	Instance string `json:"instance,omitempty"`
	Rule     string `json:"rule,omitempty"`      // the LAW.md ID, e.g. "L-21-3-3"
	RuleText string `json:"rule_text,omitempty"` // the duty in plain words
}

// Error returns one plain line: "L-21-3-3: the applicant must accept ...".
func (p *Problem) Error() string {
	prefix := p.Rule
	if prefix == "" {
		prefix = p.Title
	}
	if prefix == "" {
		prefix = "HTTP " + strconv.Itoa(p.Status)
	}
	msg := p.Detail
	if msg == "" {
		msg = p.Title
	}
	s := prefix
	if msg != "" && msg != prefix {
		s += ": " + msg
	}
	return strings.Join(strings.Fields(s), " ")
}

// Subject is the identity to certify. SerialNumber and OrganizationIdentifier are
// set by the RA from the verified identity document (L-21-3-1), never by the applicant.
type Subject struct {
	GivenName              string `json:"given_name,omitempty"`
	Surname                string `json:"surname,omitempty"`
	Pseudonym              string `json:"pseudonym,omitempty"`
	CommonName             string `json:"common_name,omitempty"`
	Title                  string `json:"title,omitempty"`
	Country                string `json:"country,omitempty"`
	Organization           string `json:"organization,omitempty"`
	Email                  string `json:"email,omitempty"`
	SerialNumber           string `json:"serial_number,omitempty"`           // response only
	OrganizationIdentifier string `json:"organization_identifier,omitempty"` // response only
}

// Identity records how the holder's identity was verified (L-21-3-1).
type Identity struct {
	Type           string    `json:"type"` // national-id-card, passport, residence-card, trade-register, ice
	Number         string    `json:"number"`
	Issuer         string    `json:"issuer"`
	Country        string    `json:"country,omitempty"`
	Expiry         time.Time `json:"expiry"`
	Method         string    `json:"method"`          // face-to-face, remote-national-eid, qualified-certificate, equivalent
	EvidenceSHA256 string    `json:"evidence_sha256"` // hex
}

// Capacity is the proof of a claimed title (L-21-3-1, L-11 d).
type Capacity struct {
	Title       string `json:"title,omitempty"`
	ProofKind   string `json:"proof_kind"`
	ProofSHA256 string `json:"proof_sha256"` // hex
}

// ApplicationRequest is what an applicant or an RA officer submits.
type ApplicationRequest struct {
	Profile          string    `json:"profile"`
	Subject          Subject   `json:"subject"`
	Identity         Identity  `json:"identity"`
	Capacity         *Capacity `json:"capacity,omitempty"`
	TermsVersion     string    `json:"terms_version"`
	TermsAcceptedAt  time.Time `json:"terms_accepted_at"`
	ConsentDirectory bool      `json:"consent_directory"`
	ConsentEmail     bool      `json:"consent_email"`
	ContactEmail     string    `json:"contact_email,omitempty"`
	ContactPhone     string    `json:"contact_phone,omitempty"`
	Language         string    `json:"language,omitempty"` // ar, fr or en
	CSR              string    `json:"csr"`                // PEM
	KeyInQSCD        bool      `json:"key_in_qscd"`
	LimitMAD         int64     `json:"limit_mad,omitempty"`
}

// Approval is one RA officer's decision.
type Approval struct {
	Officer string    `json:"officer"`
	At      Timestamp `json:"at"`
	Note    string    `json:"note,omitempty"`
}

// Application is a recorded application with its state.
type Application struct {
	ApplicationRequest
	ID                string     `json:"id"`
	Status            string     `json:"status"` // pending, approved, issued, rejected
	CreatedAt         Timestamp  `json:"created_at"`
	Approvals         []Approval `json:"approvals"`
	CertificateSerial string     `json:"certificate_serial,omitempty"`
	// RevocationSecret revokes the certificate without an account (L-21-1). It is in
	// the submit answer only, once: the CSP keeps only its hash.
	RevocationSecret string `json:"revocation_secret,omitempty"`
}

// ApprovalRequest carries an officer's note.
type ApprovalRequest struct {
	Note string `json:"note,omitempty"`
}

// Rejection carries the reason an application is closed.
type Rejection struct {
	Reason string `json:"reason"`
}

// ApprovalResult is the application after an approval, with the certificate when
// that approval (the second) issued it.
type ApprovalResult struct {
	Application Application  `json:"application"`
	Certificate *Certificate `json:"certificate,omitempty"`
}

// Certificate is an issued (or reserved) certificate.
type Certificate struct {
	Serial    string     `json:"serial"` // lower-case hex
	CA        string     `json:"ca"`
	Profile   string     `json:"profile"`
	Subject   string     `json:"subject"` // RFC 4514
	Status    string     `json:"status"`  // reserved, issued, abandoned
	NotBefore Timestamp  `json:"not_before"`
	NotAfter  Timestamp  `json:"not_after"`
	IssuedAt  *Timestamp `json:"issued_at,omitempty"` // L-21-1: UTC to the millisecond
	PEM       string     `json:"pem,omitempty"`
}

// Terms is a version of the subscriber terms (L-21-3-3).
type Terms struct {
	Version     string    `json:"version"`
	SHA256      string    `json:"sha256"` // hex of the text
	Text        string    `json:"text"`
	PublishedAt Timestamp `json:"published_at"`
}

// PublishTerms publishes a new version of the terms.
type PublishTerms struct {
	Version string `json:"version"`
	Text    string `json:"text"`
}

// User is a person with access to the CSP.
type User struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Role     string `json:"role"` // admin, ra-officer, auditor, holder
	IDNumber string `json:"id_number,omitempty"`
	Email    string `json:"email,omitempty"`
}

// CreateUser adds a user.
type CreateUser struct {
	Name     string `json:"name"`
	Role     string `json:"role"`
	IDNumber string `json:"id_number,omitempty"`
	Email    string `json:"email,omitempty"`
}

// TokenRequest asks for a bearer token; zero TTLSeconds means the server's default
// lifetime (90 days). Tokens issued through the API always expire.
type TokenRequest struct {
	TTLSeconds int64 `json:"ttl_seconds,omitempty"`
}

// Token is a bearer token, shown only once.
type Token struct {
	Token string `json:"token"`
	User  User   `json:"user"`
}

// TokenRevocation says how many tokens of a user were revoked.
type TokenRevocation struct {
	User    string `json:"user"`
	Revoked int    `json:"revoked"`
}

// Profile is a kind of certificate the CSP issues.
type Profile struct {
	Name            string `json:"name"`
	CA              string `json:"ca"`
	Kind            string `json:"kind"` // natural or legal
	ValiditySeconds int64  `json:"validity_seconds"`
	Qualified       bool   `json:"qualified"`
	RequireQSCD     bool   `json:"require_qscd"`
}

// ProfileList lists the profiles.
type ProfileList struct {
	Profiles []Profile `json:"profiles"`
}

// UserList lists the users.
type UserList struct {
	Users []User `json:"users"`
}

// AuditEntry is one record of the audit log (L-21-2).
type AuditEntry struct {
	Seq     int64           `json:"seq"`
	Time    Timestamp       `json:"time"`
	Actor   string          `json:"actor"`
	Action  string          `json:"action"`
	Subject string          `json:"subject"`
	Ground  string          `json:"ground,omitempty"` // L-24: why personal data was read
	Data    json.RawMessage `json:"data,omitempty"`
}

// AuditEntries is a page of the audit log: entries with From <= seq < To.
type AuditEntries struct {
	Size    int64        `json:"size"` // entries in the whole log
	From    int64        `json:"from"`
	To      int64        `json:"to"`
	Entries []AuditEntry `json:"entries"`
}

// AuditProblem is one inconsistency found in the stored log.
type AuditProblem struct {
	Seq    int64  `json:"seq"` // -1 for the log as a whole
	Reason string `json:"reason"`
}

// AuditReport is the result of recomputing the audit log.
type AuditReport struct {
	OK          bool           `json:"ok"`
	Entries     int64          `json:"entries"`
	Checkpoints int            `json:"checkpoints"`
	Root        string         `json:"root"` // base64, as in checkpoints
	Problems    []AuditProblem `json:"problems"`
}

// Health is the answer of GET /healthz.
type Health struct {
	Status string `json:"status"`
}

// Ground is a ground of revocation the law gives, with what relying parties see.
type Ground struct {
	Ground         string `json:"ground"`          // e.g. holder-request, key-compromise
	Rule           string `json:"rule"`            // the LAW.md ID
	Article        string `json:"article"`         // the article of Law 53-05 [43-20]
	Reason         int    `json:"reason"`          // RFC 5280 CRLReason code
	ReasonName     string `json:"reason_name"`     // RFC 5280 name of the code
	NeedsOrderRef  bool   `json:"needs_order_ref"` // a judicial order's reference is required
	CompromisesKey bool   `json:"compromises_key"` // every certificate of the key is revoked (L-25)
	Description    string `json:"description"`
}

// GroundList lists the grounds of revocation.
type GroundList struct {
	Grounds []Ground `json:"grounds"`
}

// RevocationRequest asks for the revocation of a certificate. For ca-compromise
// (admin), every certificate of the certificate's issuing CA is revoked.
type RevocationRequest struct {
	Ground         string     `json:"ground"`
	Note           string     `json:"note,omitempty"`            // required of RA officers
	OrderRef       string     `json:"order_ref,omitempty"`       // required for judicial-order
	InvalidityDate *time.Time `json:"invalidity_date,omitempty"` // key-compromise: since when the key is unsafe
}

// SecretRevocation is the holder's revocation by his revocation secret, without an
// account (L-21-1).
type SecretRevocation struct {
	Serial string `json:"serial"`
	Secret string `json:"secret"`
}

// Revocation is the record of one revoked certificate; times are UTC to the millisecond (L-21-1).
type Revocation struct {
	Serial          string     `json:"serial"`
	CA              string     `json:"ca"`
	Ground          string     `json:"ground"`
	Rule            string     `json:"rule"`   // the rule behind the ground
	Reason          int        `json:"reason"` // RFC 5280 CRLReason code
	RequestedAt     Timestamp  `json:"requested_at"`
	RevokedAt       Timestamp  `json:"revoked_at"` // the decision: the CRL's revocationDate
	InvalidityDate  *Timestamp `json:"invalidity_date,omitempty"`
	RequestedBy     string     `json:"requested_by"`
	Note            string     `json:"note,omitempty"`
	OrderRef        string     `json:"order_ref,omitempty"`
	CRLPublishedAt  *Timestamp `json:"crl_published_at,omitempty"`  // first CRL that lists it
	OCSPPublishedAt *Timestamp `json:"ocsp_published_at,omitempty"` // first OCSP response that says revoked
}

// RevocationList is the answer of a revocation: the requested certificate first,
// then any other certificate of the same key (L-25) or CA.
type RevocationList struct {
	Revocations []Revocation `json:"revocations"`
}

// DirectoryEntry is a certificate whose holder consented to publication (L-21-2).
type DirectoryEntry struct {
	Serial    string     `json:"serial"`
	CA        string     `json:"ca"`
	Subject   string     `json:"subject"` // RFC 4514
	NotBefore Timestamp  `json:"not_before"`
	NotAfter  Timestamp  `json:"not_after"`
	Status    string     `json:"status"` // valid, revoked, expired (at the time of the search)
	RevokedAt *Timestamp `json:"revoked_at,omitempty"`
	PEM       string     `json:"pem"`
}

// DirectoryResult is the answer of a directory search; empty when nothing is listed.
type DirectoryResult struct {
	Entries []DirectoryEntry `json:"entries"`
}

// Notice is a notice to a holder: an expiry warning (L-21-3-5) or a revocation (L-21-3-7).
type Notice struct {
	ID        string     `json:"id"`
	Kind      string     `json:"kind"`    // expiry, revocation
	Channel   string     `json:"channel"` // email, account
	Serial    string     `json:"serial"`
	Language  string     `json:"language"`
	Subject   string     `json:"subject"`
	Body      string     `json:"body"`
	State     string     `json:"state"` // queued, sending, sent, held
	CreatedAt Timestamp  `json:"created_at"`
	SentAt    *Timestamp `json:"sent_at,omitempty"`
}

// NoticeList lists a holder's notices, newest first.
type NoticeList struct {
	Notices []Notice `json:"notices"`
}

// CRL describes one published CRL (GET /crl/{name}.crl serves it).
type CRL struct {
	CA         string    `json:"ca"`
	Name       string    `json:"name"`
	Number     int64     `json:"number"`
	Entries    int       `json:"entries"`
	ThisUpdate Timestamp `json:"this_update"`
	NextUpdate Timestamp `json:"next_update"`
}

// CRLList is the answer of a CRL publication: the full CRL and its shards.
type CRLList struct {
	CRLs []CRL `json:"crls"`
}
