package api

import (
	"encoding/pem"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/tawthiq/tawthiq/client"
	"github.com/tawthiq/tawthiq/internal/access"
	"github.com/tawthiq/tawthiq/internal/directory"
	"github.com/tawthiq/tawthiq/internal/errkind"
	"github.com/tawthiq/tawthiq/internal/law"
	"github.com/tawthiq/tawthiq/internal/notify"
	"github.com/tawthiq/tawthiq/internal/revocation"
)

// reasonNames are RFC 5280 §5.3.1's names of the CRLReason codes the grounds use.
var reasonNames = map[int]string{
	law.ReasonUnspecified:          "unspecified",
	law.ReasonKeyCompromise:        "keyCompromise",
	law.ReasonCACompromise:         "cACompromise",
	law.ReasonAffiliationChanged:   "affiliationChanged",
	law.ReasonSuperseded:           "superseded",
	law.ReasonCessationOfOperation: "cessationOfOperation",
	law.ReasonPrivilegeWithdrawn:   "privilegeWithdrawn",
}

// grounds lists the grounds of revocation, so anyone can see why a certificate may be revoked.
func (s *server) grounds(w http.ResponseWriter, _ *http.Request, _ *access.User) error {
	gs := law.Grounds()
	out := client.GroundList{Grounds: make([]client.Ground, 0, len(gs))}
	for _, g := range gs {
		out.Grounds = append(out.Grounds, client.Ground{Ground: string(g.Ground), Rule: string(g.Rule),
			Article: law.Describe(g.Rule).Article, Reason: g.Reason, ReasonName: reasonNames[g.Reason],
			NeedsOrderRef: g.NeedsReference, CompromisesKey: g.CompromisesKey, Description: g.Description})
	}
	return writeJSON(w, http.StatusOK, out)
}

// revoke asks the revocation service, which decides who may revoke on which ground
// (L-21-1, L-21-3-7); here the user only becomes an actor.
func (s *server) revoke(w http.ResponseWriter, r *http.Request, u *access.User) error {
	if err := checkJSON(r); err != nil {
		return err
	}
	req, err := decodeRevocationRequest(r.Body)
	if err != nil {
		return err
	}
	if s.Revocations == nil {
		return notWired("revocation")
	}
	req.Serial = normalSerial(r.PathValue("serial"))
	if req.Ground == law.GroundCACompromise && u.Role == access.RoleAdmin {
		// The certificate names the compromised CA; all it issued are revoked (L-21-1).
		if s.CA == nil {
			return notWired("the certification authority")
		}
		c, err := s.CA.Certificate(r.Context(), req.Serial)
		if errkind.Is(err, errkind.NotFound) {
			return errkind.New(errkind.NotFound, law.L21_1, "no certificate with serial %q", req.Serial)
		}
		if err != nil {
			return err
		}
		req.Serial, req.CA = "", c.CA
	}
	rs, err := s.Revocations.Revoke(r.Context(), revocation.Actor{ID: u.ID, Role: revocation.Role(u.Role)}, req)
	if e := errkind.As(err); err != nil && e.Kind == errkind.NotFound && e.Rule == "" {
		// The store's bare "not found" still names the duty the request invoked.
		return &errkind.Error{Kind: errkind.NotFound, Rule: law.L21_3_7, Err: err,
			Detail: "no issued certificate with serial " + strconv.Quote(req.Serial)}
	}
	if err != nil {
		return err
	}
	return writeRevocations(w, rs)
}

// revokeWithSecret is the holder's path at any hour, without an account (L-21-1).
// Any wrong serial or secret gets the service's one answer: no oracle.
func (s *server) revokeWithSecret(w http.ResponseWriter, r *http.Request, _ *access.User) error {
	if err := checkJSON(r); err != nil {
		return err
	}
	in, err := decodeSecretRevocation(r.Body)
	if err != nil {
		return err
	}
	if s.Revocations == nil {
		return notWired("revocation")
	}
	rs, err := s.Revocations.RevokeWithSecret(r.Context(), normalSerial(in.Serial), in.Secret)
	if err != nil {
		return err
	}
	return writeRevocations(w, rs)
}

func writeRevocations(w http.ResponseWriter, rs []revocation.Revocation) error {
	out := client.RevocationList{Revocations: make([]client.Revocation, 0, len(rs))}
	for i := range rs {
		out.Revocations = append(out.Revocations, wireRevocation(&rs[i]))
	}
	if len(rs) > 0 && rs[0].Serial != "" {
		w.Header().Set("Location", "/api/v1/certificates/"+url.PathEscape(rs[0].Serial)+"/revocation")
	}
	return writeJSON(w, http.StatusCreated, out)
}

// revocationRecord shows a certificate's revocation to whoever may read the
// certificate (a holder only his own), recording the read (L-24).
func (s *server) revocationRecord(w http.ResponseWriter, r *http.Request, u *access.User) error {
	if s.Revocations == nil {
		return notWired("revocation")
	}
	c, err := s.readCertificate(r.Context(), u, normalSerial(r.PathValue("serial")))
	if err != nil {
		return err
	}
	rv, err := s.Revocations.Revocation(r.Context(), c.Serial)
	if errkind.Is(err, errkind.NotFound) {
		return errkind.New(errkind.NotFound, law.L21Rev, "certificate %s is not revoked", c.Serial)
	}
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, wireRevocation(rv))
}

// directorySearch is the public directory (L-21-2): exactly one of name, email or
// serial. The service lists only consenting holders and logs the search.
func (s *server) directorySearch(w http.ResponseWriter, r *http.Request, _ *access.User) error {
	q, err := directoryQuery(r.URL.Query())
	if err != nil {
		return err
	}
	if s.Directory == nil {
		return notWired("the directory")
	}
	es, err := s.Directory.Search(r.Context(), directory.Searcher{}, q)
	if err != nil {
		return err
	}
	out := client.DirectoryResult{Entries: make([]client.DirectoryEntry, 0, len(es))}
	for _, e := range es {
		out.Entries = append(out.Entries, wireDirectoryEntry(e))
	}
	return writeJSON(w, http.StatusOK, out)
}

// directoryQuery takes exactly one search parameter, given once, and nothing else.
func directoryQuery(v url.Values) (directory.Query, error) {
	var q directory.Query
	for key, vals := range v {
		by := directory.By(key)
		if by != directory.ByName && by != directory.ByEmail && by != directory.BySerial {
			return q, errkind.New(errkind.Invalid, law.L21_2, "unknown query parameter %q: search the directory by name, email or serial", key)
		}
		if q.By != "" || len(vals) != 1 {
			return q, errkind.New(errkind.Invalid, law.L21_2, "search the directory by exactly one of name, email or serial")
		}
		q = directory.Query{By: by, Value: vals[0]}
	}
	if q.By == "" {
		return q, errkind.New(errkind.Invalid, law.L21_2, "search the directory by exactly one of name, email or serial")
	}
	return q, nil
}

// notices lists the holder's own notices, recording the read (L-24).
func (s *server) notices(w http.ResponseWriter, r *http.Request, u *access.User) error {
	if s.Notices == nil {
		return notWired("notices")
	}
	ns, err := s.Notices.Notices(r.Context(), u.ID)
	if err != nil {
		return err
	}
	if err := s.recordRead(r.Context(), u, "notices:"+u.ID, GroundHolderSelf); err != nil {
		return err
	}
	out := client.NoticeList{Notices: make([]client.Notice, 0, len(ns))}
	for i := range ns {
		out.Notices = append(out.Notices, wireNotice(&ns[i]))
	}
	return writeJSON(w, http.StatusOK, out)
}

// decodeRevocationRequest reads a revocation request strictly and converts it to the service's form.
func decodeRevocationRequest(body io.Reader) (revocation.Request, error) {
	var in client.RevocationRequest
	if err := decodeStrict(body, &in); err != nil {
		return revocation.Request{}, err
	}
	req := revocation.Request{Ground: law.Ground(strings.TrimSpace(in.Ground)), Note: in.Note, OrderRef: in.OrderRef}
	if in.InvalidityDate != nil {
		req.InvalidityDate = in.InvalidityDate.UTC()
	}
	return req, nil
}

// decodeSecretRevocation reads {serial, secret} strictly.
func decodeSecretRevocation(body io.Reader) (client.SecretRevocation, error) {
	var in client.SecretRevocation
	err := decodeStrict(body, &in)
	return in, err
}

// normalSerial is a serial as the CA records it: lower-case hex, without the colons
// or spaces that openssl and copies add.
func normalSerial(s string) string {
	return strings.ToLower(strings.NewReplacer(":", "", " ", "").Replace(strings.TrimSpace(s)))
}

func optTime(t time.Time) *client.Timestamp {
	if t.IsZero() {
		return nil
	}
	return &client.Timestamp{Time: t}
}

func wireRevocation(r *revocation.Revocation) client.Revocation {
	rule, _ := law.LookupGround(r.Ground)
	return client.Revocation{Serial: r.Serial, CA: r.CA, Ground: string(r.Ground), Rule: string(rule.Rule), Reason: r.Reason,
		RequestedAt: client.Timestamp{Time: r.RequestedAt}, RevokedAt: client.Timestamp{Time: r.RevokedAt},
		InvalidityDate: optTime(r.InvalidityDate), RequestedBy: r.RequestedBy, Note: r.Note, OrderRef: r.OrderRef,
		CRLPublishedAt: optTime(r.CRLPublishedAt), OCSPPublishedAt: optTime(r.OCSPPublishedAt)}
}

func wireDirectoryEntry(e directory.Entry) client.DirectoryEntry {
	out := client.DirectoryEntry{Serial: e.Serial, CA: e.CA, Subject: e.Subject, Status: string(e.Status),
		NotBefore: client.Timestamp{Time: e.NotBefore}, NotAfter: client.Timestamp{Time: e.NotAfter}, RevokedAt: optTime(e.RevokedAt)}
	if len(e.DER) > 0 {
		out.PEM = string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: e.DER}))
	}
	return out
}

func wireNotice(n *notify.Notice) client.Notice {
	return client.Notice{ID: n.ID, Kind: string(n.Kind), Channel: string(n.Channel), Serial: n.Serial, Language: n.Language,
		Subject: n.Subject, Body: n.Body, State: string(n.State), CreatedAt: client.Timestamp{Time: n.CreatedAt}, SentAt: optTime(n.SentAt)}
}

// publishCRL publishes a CA's CRLs now (an operator's rebuild; the schedule does the rest).
func (s *server) publishCRL(w http.ResponseWriter, r *http.Request, _ *access.User) error {
	if s.CRLs == nil {
		return notWired("CRL publication")
	}
	crls, err := s.CRLs.PublishCRL(r.Context(), r.PathValue("ca"))
	if err != nil {
		return err
	}
	out := client.CRLList{CRLs: make([]client.CRL, 0, len(crls))}
	for _, c := range crls {
		out.CRLs = append(out.CRLs, client.CRL{CA: c.CA, Name: c.Name, Number: c.Number, Entries: c.Entries,
			ThisUpdate: client.Timestamp{Time: c.ThisUpdate}, NextUpdate: client.Timestamp{Time: c.NextUpdate}})
	}
	return writeJSON(w, http.StatusOK, out)
}
