package api

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tawthiq/tawthiq/client"
	"github.com/tawthiq/tawthiq/internal/access"
	"github.com/tawthiq/tawthiq/internal/auditlog"
	"github.com/tawthiq/tawthiq/internal/ca"
	"github.com/tawthiq/tawthiq/internal/errkind"
	"github.com/tawthiq/tawthiq/internal/issuance"
	"github.com/tawthiq/tawthiq/internal/law"
	"github.com/tawthiq/tawthiq/internal/ra"
)

// Grounds recorded with each read of personal data (L-24).
const (
	GroundHolderSelf   = "holder-self"
	GroundRAOfficer    = "ra-officer-file"
	GroundAuditor      = "auditor-review"
	GroundUserAdmin    = "user-administration"
	auditPageMax       = 1000
	caCertCacheSeconds = 86400
)

// DefaultTokenTTL is the lifetime of a token issued through the API when the request
// names none: a leaked or forgotten bearer token must not open the records forever
// (L-21-2), and a quarter lets staff renew it at a routine review.
const DefaultTokenTTL = 90 * 24 * time.Hour

// maxTokenTTL is the longest lifetime a request may ask for.
const maxTokenTTL = 10 * 365 * 24 * time.Hour

func (s *server) health(w http.ResponseWriter, _ *http.Request, _ *access.User) error {
	return writeJSON(w, http.StatusOK, client.Health{Status: "ok"})
}

// caCert serves a CA certificate freely and cacheably (L-11: where the CSP certificate can be had free).
func (s *server) caCert(w http.ResponseWriter, r *http.Request, _ *access.User) error {
	name, ok := strings.CutSuffix(r.PathValue("name"), ".crt")
	var der []byte
	if ok && name != "" && s.CACerts != nil {
		der, ok = s.CACerts(name)
	}
	if !ok || len(der) == 0 {
		return errkind.New(errkind.NotFound, law.L11, "no CA certificate named %q", r.PathValue("name"))
	}
	w.Header().Set("Content-Type", "application/pkix-cert")
	w.Header().Set("Cache-Control", "public, max-age="+strconv.Itoa(caCertCacheSeconds))
	w.Header().Set("Content-Length", strconv.Itoa(len(der)))
	_, _ = w.Write(der)
	return nil
}

// checkpoint serves the signed head of the audit log, so anyone can check later records (L-21-2).
func (s *server) checkpoint(w http.ResponseWriter, r *http.Request, _ *access.User) error {
	if s.Checkpoints == nil {
		return notWired("the audit log")
	}
	cp, err := s.Checkpoints.Latest(r.Context())
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	_, _ = w.Write(cp.Signed)
	return nil
}

func (s *server) terms(w http.ResponseWriter, r *http.Request, _ *access.User) error {
	if s.RA == nil {
		return notWired("the registration authority")
	}
	t, err := s.RA.CurrentTerms(r.Context())
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, wireTerms(t))
}

func (s *server) publishTerms(w http.ResponseWriter, r *http.Request, u *access.User) error {
	var in client.PublishTerms
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	if s.RA == nil {
		return notWired("the registration authority")
	}
	t, err := s.RA.PublishTerms(r.Context(), u.ID, in.Version, in.Text)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, wireTerms(t))
}

func (s *server) profiles(w http.ResponseWriter, _ *http.Request, _ *access.User) error {
	if s.CA == nil {
		return notWired("the certification authority")
	}
	ps := s.CA.Profiles()
	out := client.ProfileList{Profiles: make([]client.Profile, 0, len(ps))}
	for _, p := range ps {
		out.Profiles = append(out.Profiles, wireProfile(p))
	}
	slices.SortFunc(out.Profiles, func(a, b client.Profile) int { return strings.Compare(a.Name, b.Name) })
	return writeJSON(w, http.StatusOK, out)
}

// login records the opening of a session in the audit log (L-21-2).
func (s *server) login(w http.ResponseWriter, r *http.Request, u *access.User) error {
	if err := s.Access.Login(r.Context(), u, clientHost(r)); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, wireUser(u))
}

func (s *server) me(w http.ResponseWriter, _ *http.Request, u *access.User) error {
	return writeJSON(w, http.StatusOK, wireUser(u))
}

func (s *server) createUser(w http.ResponseWriter, r *http.Request, u *access.User) error {
	var in client.CreateUser
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	nu, err := s.Access.CreateUser(r.Context(), u.ID, access.User{
		Name: in.Name, Role: access.Role(in.Role), IDNumber: in.IDNumber, Email: in.Email})
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/users/"+url.PathEscape(nu.ID))
	return writeJSON(w, http.StatusCreated, wireUser(nu))
}

// listUsers shows staff and holders' ID numbers and e-mails: a recorded read (L-24).
func (s *server) listUsers(w http.ResponseWriter, r *http.Request, u *access.User) error {
	us, err := s.Access.Users(r.Context())
	if err != nil {
		return err
	}
	ground := GroundUserAdmin
	if u.Role == access.RoleAuditor {
		ground = GroundAuditor
	}
	if err := s.recordRead(r.Context(), u, "users", ground); err != nil {
		return err
	}
	out := client.UserList{Users: make([]client.User, 0, len(us))}
	for i := range us {
		out.Users = append(out.Users, wireUser(&us[i]))
	}
	return writeJSON(w, http.StatusOK, out)
}

// issueToken returns a new bearer token once; only its hash is kept. Every token
// issued here expires: DefaultTokenTTL unless the request names a lifetime.
func (s *server) issueToken(w http.ResponseWriter, r *http.Request, u *access.User) error {
	var in client.TokenRequest
	if r.ContentLength != 0 { // the body is optional: {} or none means DefaultTokenTTL
		if err := decodeJSON(r, &in); err != nil {
			return err
		}
	}
	if in.TTLSeconds < 0 || in.TTLSeconds > int64(maxTokenTTL/time.Second) {
		return errkind.New(errkind.Invalid, law.L21_2, "ttl_seconds must be between 0 (the default, %d days) and ten years",
			int(DefaultTokenTTL/(24*time.Hour)))
	}
	ttl := time.Duration(in.TTLSeconds) * time.Second
	if ttl == 0 {
		ttl = DefaultTokenTTL
	}
	id := r.PathValue("id")
	tok, err := s.Access.IssueToken(r.Context(), u.ID, id, ttl)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, client.Token{Token: tok, User: client.User{ID: id}})
}

// revokeTokens withdraws every token of a user at once; the access service records
// who did it (L-21-2).
func (s *server) revokeTokens(w http.ResponseWriter, r *http.Request, u *access.User) error {
	id := r.PathValue("id")
	n, err := s.Access.RevokeTokens(r.Context(), u.ID, id)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, client.TokenRevocation{User: id, Revoked: n})
}

func (s *server) submit(w http.ResponseWriter, r *http.Request, u *access.User) error {
	if err := checkJSON(r); err != nil {
		return err
	}
	a, err := decodeApplication(r.Body)
	if err != nil {
		return err
	}
	if s.RA == nil {
		return notWired("the registration authority")
	}
	got, err := s.RA.Submit(r.Context(), person(u), a)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/applications/"+url.PathEscape(got.ID))
	out := wireApplication(got)
	// Shown this once; the RA keeps only its hash (L-21-1).
	out.RevocationSecret = got.RevocationSecret
	return writeJSON(w, http.StatusCreated, out)
}

// application shows a registration record: to RA officers, and to a holder only
// his own; the read is recorded with its ground before anything is shown (L-24).
func (s *server) application(w http.ResponseWriter, r *http.Request, u *access.User) error {
	if s.RA == nil {
		return notWired("the registration authority")
	}
	id := r.PathValue("id")
	a, err := s.RA.Application(r.Context(), id)
	ground := GroundRAOfficer
	if u.Role == access.RoleHolder {
		// Someone else's application answers exactly like a missing one, so existence is not revealed.
		if errkind.Is(err, errkind.NotFound) || (err == nil && a.SubmittedBy != u.ID) {
			return errkind.New(errkind.NotFound, law.L24, "no application %q", id)
		}
		ground = GroundHolderSelf
	}
	if err != nil {
		return err
	}
	if err := s.recordRead(r.Context(), u, a.ID, ground); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, wireApplication(a))
}

func (s *server) approve(w http.ResponseWriter, r *http.Request, u *access.User) error {
	var in client.ApprovalRequest
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	if s.RA == nil {
		return notWired("the registration authority")
	}
	a, c, err := s.RA.Approve(r.Context(), person(u), r.PathValue("id"), in.Note)
	if err != nil {
		if a != nil && a.Status == ra.StatusApproved {
			// The approval stands; only issuance failed, and it can be retried.
			e := errkind.As(err)
			return &errkind.Error{Kind: e.Kind, Rule: e.Rule, Err: err, Detail: strings.TrimPrefix(e.Detail+
				"; the approval was recorded: retry issuance with POST /api/v1/applications/"+a.ID+"/issue", "; ")}
		}
		return err
	}
	// The answer shows the file again (identity, contact): a recorded read (L-24).
	if err := s.recordRead(r.Context(), u, a.ID, GroundRAOfficer); err != nil {
		return afterDecision(err, "the approval was recorded")
	}
	return writeJSON(w, http.StatusOK, approvalResult(a, c))
}

// afterDecision is the answer when a decision was recorded but its result cannot be
// shown: the caller must know the change stands, so that he does not repeat it.
func afterDecision(err error, done string) error {
	e := errkind.As(err)
	return &errkind.Error{Kind: e.Kind, Rule: e.Rule, Err: err, Detail: done + " (do not repeat it), but the read of " +
		"personal data could not be recorded, so the application is not shown; read it later with GET /api/v1/applications/{id}"}
}

// issue retries the issuance of an approved application (after a CA or HSM outage).
func (s *server) issue(w http.ResponseWriter, r *http.Request, u *access.User) error {
	if s.RA == nil {
		return notWired("the registration authority")
	}
	a, err := s.RA.Application(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	c, err := s.RA.IssueApproved(r.Context(), u.ID, a)
	if err != nil {
		return err
	}
	if err := s.recordRead(r.Context(), u, a.ID, GroundRAOfficer); err != nil {
		return afterDecision(err, "the certificate was issued")
	}
	return writeJSON(w, http.StatusOK, approvalResult(a, c))
}

func (s *server) reject(w http.ResponseWriter, r *http.Request, u *access.User) error {
	var in client.Rejection
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	if s.RA == nil {
		return notWired("the registration authority")
	}
	if err := s.RA.Reject(r.Context(), person(u), r.PathValue("id"), in.Reason); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *server) certificate(w http.ResponseWriter, r *http.Request, u *access.User) error {
	c, err := s.readCertificate(r.Context(), u, r.PathValue("serial"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, wireCertificate(c))
}

func (s *server) certificateDER(w http.ResponseWriter, r *http.Request, u *access.User) error {
	c, err := s.readCertificate(r.Context(), u, r.PathValue("serial"))
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/pkix-cert")
	w.Header().Set("Content-Disposition", `attachment; filename="`+c.Serial+`.crt"`)
	_, _ = w.Write(c.DER)
	return nil
}

// readCertificate loads an issued certificate the user may see and records the
// read: a certificate names its holder, and is not public without consent (L-21-2, L-24).
func (s *server) readCertificate(ctx context.Context, u *access.User, serial string) (*ca.Certificate, error) {
	if s.CA == nil || s.RA == nil {
		return nil, notWired("the certification authority")
	}
	hidden := errkind.New(errkind.NotFound, law.L24, "no issued certificate with serial %q", serial)
	c, err := s.CA.Certificate(ctx, serial)
	if errkind.Is(err, errkind.NotFound) {
		return nil, hidden
	}
	if err != nil {
		return nil, err
	}
	var ground string
	switch u.Role {
	case access.RoleHolder:
		// Ownership follows the registration record; another's certificate looks missing.
		a, err := s.RA.Application(ctx, c.ApplicationID)
		if errkind.Is(err, errkind.NotFound) || (err == nil && a.SubmittedBy != u.ID) {
			return nil, hidden
		}
		if err != nil {
			return nil, err
		}
		ground = GroundHolderSelf
	case access.RoleAuditor:
		ground = GroundAuditor
	default:
		ground = GroundRAOfficer
	}
	if c.Status != ca.StatusIssued || len(c.DER) == 0 {
		return nil, hidden
	}
	if err := s.recordRead(ctx, u, c.Serial, ground); err != nil {
		return nil, err
	}
	return c, nil
}

func (s *server) auditEntries(w http.ResponseWriter, r *http.Request, _ *access.User) error {
	if s.AuditEntries == nil {
		return notWired("the audit log reader")
	}
	size, err := s.AuditEntries.AuditSize(r.Context())
	if err != nil {
		return err
	}
	from, to, err := auditRange(r.URL.Query(), size)
	if err != nil {
		return err
	}
	out := client.AuditEntries{Size: size, From: from, To: to, Entries: []client.AuditEntry{}}
	if from < to {
		es, err := s.AuditEntries.AuditEntries(r.Context(), from, to)
		if err != nil {
			return err
		}
		for _, e := range es {
			out.Entries = append(out.Entries, wireEntry(e))
		}
	}
	return writeJSON(w, http.StatusOK, out)
}

// auditRange reads from and to, defaulting to a page from the start and clamping to the log.
func auditRange(q url.Values, size int64) (from, to int64, err error) {
	parse := func(name string, def int64) (int64, error) {
		v := q.Get(name)
		if v == "" {
			return def, nil
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			return 0, errkind.New(errkind.Invalid, "", "query parameter %q must be a non-negative integer", name)
		}
		return n, nil
	}
	if from, err = parse("from", 0); err != nil {
		return 0, 0, err
	}
	if to, err = parse("to", from+auditPageMax); err != nil {
		return 0, 0, err
	}
	if to < from {
		return 0, 0, errkind.New(errkind.Invalid, "", "query parameter \"to\" is below \"from\"")
	}
	to = min(to, from+auditPageMax, size)
	from = min(from, to)
	return from, to, nil
}

// auditVerify recomputes the log from its rows and checks every checkpoint (L-21-2).
func (s *server) auditVerify(w http.ResponseWriter, r *http.Request, _ *access.User) error {
	if s.Verifier == nil {
		return notWired("audit log verification")
	}
	rep, err := s.Verifier.Verify(r.Context())
	if err != nil {
		return err
	}
	out := client.AuditReport{OK: rep.OK(), Entries: rep.Entries, Checkpoints: rep.Checkpoints,
		Root: base64.StdEncoding.EncodeToString(rep.Root[:]), Problems: []client.AuditProblem{}}
	for _, p := range rep.Problems {
		out.Problems = append(out.Problems, client.AuditProblem{Seq: p.Seq, Reason: p.Reason})
	}
	return writeJSON(w, http.StatusOK, out)
}

// recordRead logs a read of personal data; when it cannot, nothing is shown (L-24).
func (s *server) recordRead(ctx context.Context, u *access.User, subject, ground string) error {
	if err := s.Access.RecordRead(ctx, u, subject, ground); err != nil {
		return &errkind.Error{Kind: errkind.Unavailable, Rule: law.L24, Err: err,
			Detail: "the read of personal data could not be recorded, so nothing is shown; try again later"}
	}
	return nil
}

func person(u *access.User) ra.Person {
	return ra.Person{ID: u.ID, IDNumber: u.IDNumber, OwnNameOnly: u.Role == access.RoleHolder}
}

// clientHost is the peer's address for the login record; the port says nothing.
func clientHost(r *http.Request) string {
	if h, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		return h
	}
	return r.RemoteAddr
}

// decodeApplication reads an application request strictly and converts it to the RA's form.
func decodeApplication(body io.Reader) (ra.Application, error) {
	var in client.ApplicationRequest
	if err := decodeStrict(body, &in); err != nil {
		return ra.Application{}, err
	}
	return applicationFromWire(in)
}

func applicationFromWire(in client.ApplicationRequest) (ra.Application, error) {
	if in.Subject.SerialNumber != "" || in.Subject.OrganizationIdentifier != "" {
		// The identifiers come from the verified document, never from the applicant's say-so.
		return ra.Application{}, errkind.New(errkind.Invalid, law.L21_3_1,
			"subject.serial_number and subject.organization_identifier are set by the RA from the identity document")
	}
	evidence, err := hexField("identity.evidence_sha256", in.Identity.EvidenceSHA256)
	if err != nil {
		return ra.Application{}, err
	}
	a := ra.Application{
		Profile: in.Profile,
		Subject: issuance.Subject{GivenName: in.Subject.GivenName, Surname: in.Subject.Surname, Pseudonym: in.Subject.Pseudonym,
			CommonName: in.Subject.CommonName, Title: in.Subject.Title, Country: in.Subject.Country,
			Organization: in.Subject.Organization, Email: in.Subject.Email},
		Identity: ra.IDDocument{Type: law.IDDocumentType(in.Identity.Type), Number: in.Identity.Number, Issuer: in.Identity.Issuer,
			Country: in.Identity.Country, Expiry: in.Identity.Expiry, Method: law.VettingMethod(in.Identity.Method), EvidenceSHA256: evidence},
		TermsVersion: in.TermsVersion, TermsAcceptedAt: in.TermsAcceptedAt,
		ConsentDirectory: in.ConsentDirectory, ConsentEmail: in.ConsentEmail,
		ContactEmail: in.ContactEmail, ContactPhone: in.ContactPhone, Language: in.Language,
		CSR: []byte(in.CSR), KeyInQSCD: in.KeyInQSCD, LimitMAD: in.LimitMAD,
	}
	if in.Capacity != nil {
		proof, err := hexField("capacity.proof_sha256", in.Capacity.ProofSHA256)
		if err != nil {
			return ra.Application{}, err
		}
		a.Capacity = &ra.Capacity{Title: in.Capacity.Title, ProofKind: in.Capacity.ProofKind, ProofSHA256: proof}
	}
	return a, nil
}

func hexField(name, v string) ([]byte, error) {
	if v == "" {
		return nil, nil
	}
	b, err := hex.DecodeString(v)
	if err != nil {
		return nil, errkind.New(errkind.Invalid, law.L21_3_1, "field %q must be hexadecimal", name)
	}
	return b, nil
}

func wireApplication(a *ra.Application) client.Application {
	out := client.Application{
		ApplicationRequest: client.ApplicationRequest{
			Profile: a.Profile,
			Subject: client.Subject{GivenName: a.Subject.GivenName, Surname: a.Subject.Surname, Pseudonym: a.Subject.Pseudonym,
				CommonName: a.Subject.CommonName, Title: a.Subject.Title, Country: a.Subject.Country,
				Organization: a.Subject.Organization, Email: a.Subject.Email,
				SerialNumber: a.Subject.SerialNumber, OrganizationIdentifier: a.Subject.OrganizationIdentifier},
			Identity: client.Identity{Type: string(a.Identity.Type), Number: a.Identity.Number, Issuer: a.Identity.Issuer,
				Country: a.Identity.Country, Expiry: a.Identity.Expiry, Method: string(a.Identity.Method),
				EvidenceSHA256: hex.EncodeToString(a.Identity.EvidenceSHA256)},
			TermsVersion: a.TermsVersion, TermsAcceptedAt: a.TermsAcceptedAt,
			ConsentDirectory: a.ConsentDirectory, ConsentEmail: a.ConsentEmail,
			ContactEmail: a.ContactEmail, ContactPhone: a.ContactPhone, Language: a.Language,
			KeyInQSCD: a.KeyInQSCD, LimitMAD: a.LimitMAD,
		},
		ID: a.ID, Status: string(a.Status), CreatedAt: client.Timestamp{Time: a.CreatedAt},
		Approvals: make([]client.Approval, 0, len(a.Approvals)), CertificateSerial: a.CertificateSerial,
	}
	if len(a.CSR) > 0 {
		out.CSR = string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: a.CSR}))
	}
	if a.Capacity != nil {
		out.Capacity = &client.Capacity{Title: a.Capacity.Title, ProofKind: a.Capacity.ProofKind,
			ProofSHA256: hex.EncodeToString(a.Capacity.ProofSHA256)}
	}
	for _, ap := range a.Approvals {
		out.Approvals = append(out.Approvals, client.Approval{Officer: ap.Officer, At: client.Timestamp{Time: ap.At}, Note: ap.Note})
	}
	return out
}

func approvalResult(a *ra.Application, c *ca.Certificate) client.ApprovalResult {
	out := client.ApprovalResult{Application: wireApplication(a)}
	if c != nil {
		wc := wireCertificate(c)
		out.Certificate = &wc
	}
	return out
}

func wireCertificate(c *ca.Certificate) client.Certificate {
	out := client.Certificate{Serial: c.Serial, CA: c.CA, Profile: c.Profile, Subject: c.Subject, Status: string(c.Status),
		NotBefore: client.Timestamp{Time: c.NotBefore}, NotAfter: client.Timestamp{Time: c.NotAfter}}
	if !c.IssuedAt.IsZero() {
		out.IssuedAt = &client.Timestamp{Time: c.IssuedAt}
	}
	if len(c.DER) > 0 {
		out.PEM = string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.DER}))
	}
	return out
}

func wireTerms(t *ra.Terms) client.Terms {
	return client.Terms{Version: t.Version, SHA256: hex.EncodeToString(t.SHA256), Text: t.Text,
		PublishedAt: client.Timestamp{Time: t.PublishedAt}}
}

func wireUser(u *access.User) client.User {
	return client.User{ID: u.ID, Name: u.Name, Role: string(u.Role), IDNumber: u.IDNumber, Email: u.Email}
}

func wireProfile(p issuance.Profile) client.Profile {
	return client.Profile{Name: p.Name, CA: p.CA, Kind: string(p.Kind), ValiditySeconds: int64(p.Validity / time.Second),
		Qualified: p.Qualified, RequireQSCD: p.RequireQSCD}
}

func wireEntry(e auditlog.Entry) client.AuditEntry {
	return client.AuditEntry{Seq: e.Seq, Time: client.Timestamp{Time: e.Time}, Actor: e.Actor, Action: string(e.Action),
		Subject: e.Subject, Ground: e.Ground, Data: e.Data}
}
