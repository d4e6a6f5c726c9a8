package api

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/http"
	"slices"
	"strings"

	"github.com/tawthiq/tawthiq/internal/access"
	"github.com/tawthiq/tawthiq/internal/errkind"
	"github.com/tawthiq/tawthiq/internal/law"
)

// handlerFunc serves one route; u is nil on public routes. A returned error is
// written as a problem by writeProblem, nowhere else.
type handlerFunc func(w http.ResponseWriter, r *http.Request, u *access.User) error

// route is one endpoint: either Public or open to the listed Roles.
type route struct {
	Method  string
	Pattern string // net/http ServeMux path pattern, also the OpenAPI path
	Public  bool
	Limited bool // each call costs a durable write or guesses a secret: rate-limited per client
	Roles   []access.Role
	Handle  handlerFunc
}

// routes is the one table of endpoints and who may call them.
func (s *server) routes() []route {
	admin := []access.Role{access.RoleAdmin}
	adminAuditor := []access.Role{access.RoleAdmin, access.RoleAuditor}
	officer := []access.Role{access.RoleRAOfficer}
	anyUser := []access.Role{access.RoleAdmin, access.RoleRAOfficer, access.RoleAuditor, access.RoleHolder}
	return []route{
		{Method: "GET", Pattern: "/healthz", Public: true, Handle: s.health},
		{Method: "GET", Pattern: "/ca/{name}", Public: true, Handle: s.caCert},
		{Method: "GET", Pattern: "/checkpoint", Public: true, Handle: s.checkpoint},
		{Method: "GET", Pattern: "/api/v1/terms", Public: true, Handle: s.terms},
		{Method: "GET", Pattern: "/api/v1/profiles", Public: true, Handle: s.profiles},

		{Method: "POST", Pattern: "/api/v1/login", Roles: anyUser, Handle: s.login},
		{Method: "GET", Pattern: "/api/v1/me", Roles: anyUser, Handle: s.me},

		{Method: "POST", Pattern: "/api/v1/users", Roles: admin, Handle: s.createUser},
		{Method: "GET", Pattern: "/api/v1/users", Roles: []access.Role{access.RoleAdmin, access.RoleAuditor}, Handle: s.listUsers},
		{Method: "POST", Pattern: "/api/v1/users/{id}/tokens", Roles: admin, Handle: s.issueToken},
		{Method: "DELETE", Pattern: "/api/v1/users/{id}/tokens", Roles: admin, Handle: s.revokeTokens},
		{Method: "POST", Pattern: "/api/v1/terms", Roles: admin, Handle: s.publishTerms},

		{Method: "POST", Pattern: "/api/v1/applications", Roles: []access.Role{access.RoleHolder, access.RoleRAOfficer}, Handle: s.submit},
		{Method: "GET", Pattern: "/api/v1/applications/{id}", Roles: []access.Role{access.RoleRAOfficer, access.RoleHolder}, Handle: s.application},
		{Method: "POST", Pattern: "/api/v1/applications/{id}/approvals", Roles: officer, Handle: s.approve},
		{Method: "POST", Pattern: "/api/v1/applications/{id}/issue", Roles: officer, Handle: s.issue},
		{Method: "POST", Pattern: "/api/v1/applications/{id}/rejection", Roles: officer, Handle: s.reject},

		{Method: "GET", Pattern: "/api/v1/certificates/{serial}", Roles: []access.Role{access.RoleHolder, access.RoleRAOfficer, access.RoleAuditor}, Handle: s.certificate},
		{Method: "GET", Pattern: "/api/v1/certificates/{serial}/der", Roles: []access.Role{access.RoleHolder, access.RoleRAOfficer, access.RoleAuditor}, Handle: s.certificateDER},

		{Method: "GET", Pattern: "/api/v1/grounds", Public: true, Handle: s.grounds},
		{Method: "POST", Pattern: "/api/v1/certificates/{serial}/revocation", Roles: []access.Role{access.RoleHolder, access.RoleRAOfficer, access.RoleAdmin}, Handle: s.revoke},
		{Method: "GET", Pattern: "/api/v1/certificates/{serial}/revocation", Roles: []access.Role{access.RoleHolder, access.RoleRAOfficer, access.RoleAuditor}, Handle: s.revocationRecord},
		// The holder revokes with his secret at any hour, without an account (L-21-1).
		{Method: "POST", Pattern: "/api/v1/revocations", Public: true, Limited: true, Handle: s.revokeWithSecret},
		{Method: "GET", Pattern: "/api/v1/directory", Public: true, Limited: true, Handle: s.directorySearch},
		{Method: "GET", Pattern: "/api/v1/notices", Roles: []access.Role{access.RoleHolder}, Handle: s.notices},

		{Method: "POST", Pattern: "/api/v1/crls/{ca}", Roles: admin, Handle: s.publishCRL},

		// Judicial orders and disclosures (L-21-3-7 b, L-24): the CSP's administrator records and executes them.
		{Method: "POST", Pattern: "/api/v1/orders", Roles: admin, Handle: s.recordOrder},
		{Method: "GET", Pattern: "/api/v1/orders/{ref}", Roles: adminAuditor, Handle: s.showOrder},
		{Method: "POST", Pattern: "/api/v1/orders/{ref}/execution", Roles: admin, Handle: s.executeOrder},

		// Electronic contracts (L-65-4 .. L-65-7, L-443): anyone reads a published offer; the
		// contract service lets only an order's parties see or move it.
		{Method: "POST", Pattern: "/api/v1/offers", Roles: []access.Role{access.RoleHolder}, Handle: s.publishOffer},
		{Method: "GET", Pattern: "/api/v1/offers/{id}", Public: true, Handle: s.showOffer},
		{Method: "GET", Pattern: "/api/v1/offers/{id}/form", Public: true, Handle: s.offerForm},
		{Method: "POST", Pattern: "/api/v1/contract-orders", Roles: []access.Role{access.RoleHolder}, Handle: s.draftOrder},
		{Method: "GET", Pattern: "/api/v1/contract-orders/{id}", Roles: []access.Role{access.RoleHolder}, Handle: s.showContractOrder},
		{Method: "POST", Pattern: "/api/v1/contract-orders/{id}/review", Roles: []access.Role{access.RoleHolder}, Handle: s.reviewOrder},
		{Method: "POST", Pattern: "/api/v1/contract-orders/{id}/confirmation", Roles: []access.Role{access.RoleHolder}, Handle: s.confirmOrder},
		{Method: "GET", Pattern: "/api/v1/contract-orders/{id}/document", Roles: []access.Role{access.RoleHolder}, Handle: s.orderDocument},
		{Method: "POST", Pattern: "/api/v1/contract-orders/{id}/signatures", Roles: []access.Role{access.RoleHolder}, Handle: s.signOrder},
		{Method: "GET", Pattern: "/api/v1/contract-orders/{id}/original", Roles: []access.Role{access.RoleHolder}, Handle: s.orderOriginal},
		{Method: "GET", Pattern: "/api/v1/contract-orders/{id}/copy", Roles: []access.Role{access.RoleHolder}, Handle: s.orderCopy},
		{Method: "POST", Pattern: "/api/v1/disclosures", Roles: admin, Handle: s.recordDisclosure},
		{Method: "GET", Pattern: "/api/v1/disclosures/{ref}", Roles: adminAuditor, Handle: s.showDisclosure},
		{Method: "GET", Pattern: "/api/v1/holders/{id}/records", Roles: anyUser, Handle: s.holderRecords},
		// The seal service checks that the user is one the organisation authorised (L-6).
		{Method: "POST", Pattern: "/api/v1/seals/{name}", Roles: anyUser, Handle: s.applySeal},
		// Anyone holding a signed file may have it extended with the CSP's TSA (L-417-3).
		{Method: "POST", Pattern: "/api/v1/extend", Roles: anyUser, Handle: s.extend},
		// Anyone holding a signed file may have the CSP validate it (EN 319 102-1; L-417-2, L-417-3, L-425).
		{Method: "POST", Pattern: "/api/v1/validate", Roles: anyUser, Handle: s.validate},

		// The national authority's register (L-15): its administrators write, its auditors read.
		{Method: "GET", Pattern: "/api/v1/authority/csps", Roles: adminAuditor, Handle: s.authorityCSPs},
		{Method: "POST", Pattern: "/api/v1/authority/csps", Roles: admin, Handle: s.authorityRegisterCSP},
		{Method: "GET", Pattern: "/api/v1/authority/csps/{id}", Roles: adminAuditor, Handle: s.authorityDossier},
		{Method: "PUT", Pattern: "/api/v1/authority/csps/{id}", Roles: admin, Handle: s.authorityUpdateCSP},
		{Method: "POST", Pattern: "/api/v1/authority/services", Roles: admin, Handle: s.authorityAddService},
		{Method: "GET", Pattern: "/api/v1/authority/services/{id}", Roles: adminAuditor, Handle: s.authorityService},
		{Method: "POST", Pattern: "/api/v1/authority/services/{id}/status", Roles: admin, Handle: s.authorityChangeStatus},
		{Method: "GET", Pattern: "/api/v1/authority/services/{id}/status", Roles: adminAuditor, Handle: s.authorityStatusAt},
		{Method: "POST", Pattern: "/api/v1/authority/insurances", Roles: admin, Handle: s.authorityInsurance},
		{Method: "GET", Pattern: "/api/v1/authority/insurance-warnings", Roles: adminAuditor, Handle: s.authorityWarnings},
		{Method: "POST", Pattern: "/api/v1/authority/audits", Roles: admin, Handle: s.authorityAudit},
		{Method: "POST", Pattern: "/api/v1/authority/sanctions", Roles: admin, Handle: s.authoritySanction},
		{Method: "POST", Pattern: "/api/v1/authority/crypto-declarations", Roles: admin, Handle: s.authorityCrypto},
		{Method: "POST", Pattern: "/api/v1/authority/agreements", Roles: admin, Handle: s.authorityAgreement},
		{Method: "GET", Pattern: "/api/v1/authority/agreements", Roles: adminAuditor, Handle: s.authorityAgreements},
		{Method: "GET", Pattern: "/api/v1/authority/register", Roles: adminAuditor, Handle: s.authorityRegister},
		{Method: "GET", Pattern: "/api/v1/authority/register/{year}", Roles: adminAuditor, Handle: s.authorityExport},

		// The CSP's own duties: insurance (L-21-3-6), breaches (L-24), holders' data changes (L-25).
		{Method: "POST", Pattern: "/api/v1/insurance/policies", Roles: admin, Handle: s.addInsurancePolicy},
		{Method: "GET", Pattern: "/api/v1/insurance", Roles: adminAuditor, Handle: s.insuranceStatus},
		{Method: "POST", Pattern: "/api/v1/breaches", Roles: []access.Role{access.RoleAdmin, access.RoleRAOfficer}, Handle: s.recordBreach},
		{Method: "GET", Pattern: "/api/v1/breaches", Roles: []access.Role{access.RoleAdmin, access.RoleRAOfficer, access.RoleAuditor}, Handle: s.listBreaches},
		{Method: "GET", Pattern: "/api/v1/breaches/{id}", Roles: []access.Role{access.RoleAdmin, access.RoleRAOfficer, access.RoleAuditor}, Handle: s.getBreach},
		{Method: "POST", Pattern: "/api/v1/breaches/{id}/resume", Roles: []access.Role{access.RoleAdmin, access.RoleRAOfficer}, Handle: s.resumeBreach},
		{Method: "GET", Pattern: "/api/v1/breach-notices", Roles: []access.Role{access.RoleHolder}, Handle: s.breachNotices},
		{Method: "POST", Pattern: "/api/v1/certificates/{serial}/data-change", Roles: []access.Role{access.RoleHolder}, Handle: s.reportDataChange},
		{Method: "GET", Pattern: "/api/v1/data-changes", Roles: []access.Role{access.RoleRAOfficer, access.RoleAuditor}, Handle: s.dataChanges},
		{Method: "POST", Pattern: "/api/v1/data-changes/{id}/review", Roles: officer, Handle: s.reviewDataChange},

		// Cessation of activity (L-23): the administrator runs it, auditors follow its deadlines.
		{Method: "POST", Pattern: "/api/v1/cessation/plan", Roles: admin, Handle: s.planCessation},
		{Method: "GET", Pattern: "/api/v1/cessation", Roles: adminAuditor, Handle: s.cessationStatus},
		{Method: "POST", Pattern: "/api/v1/cessation/warnings", Roles: admin, Handle: s.warnHolders},
		{Method: "POST", Pattern: "/api/v1/cessation/revocations", Roles: admin, Handle: s.revokeForCessation},

		{Method: "GET", Pattern: "/api/v1/audit/entries", Roles: []access.Role{access.RoleAuditor, access.RoleAdmin}, Handle: s.auditEntries},
		{Method: "GET", Pattern: "/api/v1/audit/verify", Roles: []access.Role{access.RoleAuditor}, Handle: s.auditVerify},
	}
}

// handler mounts the routes on a ServeMux behind the common middleware.
func (s *server) handler(rs []route) http.Handler {
	mux := http.NewServeMux()
	allowed := map[string][]string{} // path pattern -> methods, for the wrong-method answer
	for _, rt := range rs {
		mux.Handle(rt.Method+" "+rt.Pattern, s.endpoint(rt))
		allowed[rt.Pattern] = append(allowed[rt.Pattern], rt.Method)
	}
	for p, methods := range allowed {
		// A method-less pattern is less specific than "GET /x", so it only catches other methods.
		mux.Handle(p, s.wrongMethod(methods))
	}
	mux.Handle("/", s.notFound())
	return s.middleware(mux)
}

// endpoint authenticates and authorises, then runs the route's handler.
func (s *server) endpoint(rt route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if rt.Limited {
			if err := s.limit(r); err != nil {
				s.writeProblem(w, r, err)
				return
			}
		}
		var u *access.User
		if !rt.Public {
			var err error
			if u, err = s.authenticate(r); err != nil {
				s.writeProblem(w, r, err)
				return
			}
			setUser(r, u)
			if !slices.Contains(rt.Roles, u.Role) {
				s.writeProblem(w, r, errkind.New(errkind.Forbidden, accessRule(r), "this request needs the role %s; yours is %s", roleList(rt.Roles), u.Role))
				return
			}
		}
		if err := rt.Handle(w, r, u); err != nil {
			s.writeProblem(w, r, err)
		}
	})
}

// authenticate reads the bearer token and asks the access service whose it is.
func (s *server) authenticate(r *http.Request) (*access.User, error) {
	h := r.Header.Get("Authorization")
	scheme, tok, ok := strings.Cut(h, " ")
	if h == "" {
		return nil, errkind.New(errkind.Unauthorized, accessRule(r), "a bearer token is required (Authorization: Bearer tw_...)")
	}
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(tok) == "" {
		return nil, errkind.New(errkind.Unauthorized, accessRule(r), "the Authorization header must be \"Bearer <token>\"")
	}
	if s.Access == nil {
		return nil, notWired("access control")
	}
	u, err := s.Access.Authenticate(r.Context(), strings.TrimSpace(tok))
	if err != nil {
		if e := errkind.As(err); e.Kind == errkind.Unauthorized && e.Rule == "" {
			return nil, &errkind.Error{Kind: e.Kind, Rule: accessRule(r), Detail: e.Detail, Err: err}
		}
		return nil, err
	}
	if u == nil {
		return nil, errkind.New(errkind.Unauthorized, accessRule(r), "no valid bearer token")
	}
	return u, nil
}

// accessRule names the rule access control enforces: only authorised people write
// the records (L-21-2), and personal data are read only by the roles that need them (L-24).
func accessRule(r *http.Request) law.ID {
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		return law.L24
	}
	return law.L21_2
}

func roleList(rs []access.Role) string {
	names := make([]string, len(rs))
	for i, r := range rs {
		names[i] = string(r)
	}
	return strings.Join(names, " or ")
}

func (s *server) wrongMethod(methods []string) http.Handler {
	methods = slices.Sorted(slices.Values(methods))
	allow := strings.Join(methods, ", ")
	if slices.Contains(methods, http.MethodGet) {
		allow += ", HEAD"
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", allow)
		s.writeProblem(w, r, errkind.New(errkind.Invalid, "", "method %s is not allowed here; use %s", r.Method, allow))
	})
}

func (s *server) notFound() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.writeProblem(w, r, errkind.New(errkind.NotFound, "", "no such resource"))
	})
}

// requestInfo is what the request log needs to know after the handler ran.
type requestInfo struct {
	id     string
	user   *access.User
	status int
}

type infoKey struct{}

func info(r *http.Request) *requestInfo {
	if ri, ok := r.Context().Value(infoKey{}).(*requestInfo); ok {
		return ri
	}
	return &requestInfo{}
}

func setUser(r *http.Request, u *access.User) { info(r).user = u }

// statusWriter remembers the status for the request log.
type statusWriter struct {
	http.ResponseWriter
	ri *requestInfo
}

func (w *statusWriter) WriteHeader(code int) {
	if w.ri.status == 0 {
		w.ri.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.ri.status == 0 {
		w.ri.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// middleware sets the security headers, limits the body and logs the request
// without its token, path parameters or personal data.
func (s *server) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := s.Clock.Now()
		ri := &requestInfo{id: requestID()}
		r = r.WithContext(context.WithValue(r.Context(), infoKey{}, ri))
		h := w.Header()
		h.Set("X-Request-Id", ri.id)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		if strings.HasPrefix(r.URL.Path, "/api/") {
			// Answers carry personal data and tokens: never kept by a cache (L-24).
			h.Set("Cache-Control", "no-store")
			h.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
		}
		if r.Body != nil {
			limit := s.MaxBodyBytes
			if documentRoute(r) {
				limit = s.MaxDocumentBytes // a whole document, not a JSON request
			}
			r.Body = http.MaxBytesReader(w, r.Body, limit)
		}
		sw := &statusWriter{ResponseWriter: w, ri: ri}
		next.ServeHTTP(sw, r)
		attrs := []slog.Attr{
			slog.String("id", ri.id), slog.String("method", r.Method), slog.String("route", routeName(r)),
			slog.Int("status", ri.status), slog.Duration("duration", s.Clock.Now().Sub(start)),
		}
		if ri.user != nil {
			// The opaque user ID and role only: never a name, e-mail or ID number.
			attrs = append(attrs, slog.String("user", ri.user.ID), slog.String("role", string(ri.user.Role)))
		}
		s.Logger.LogAttrs(r.Context(), slog.LevelInfo, "request", attrs...)
	})
}

// routeName is the matched pattern, so IDs and serials stay out of the log.
func routeName(r *http.Request) string {
	if r.Pattern != "" {
		return r.Pattern
	}
	return "unmatched"
}

func requestID() string {
	var b [8]byte
	_, _ = rand.Read(b[:]) // crypto/rand does not fail on supported platforms
	return hex.EncodeToString(b[:])
}

// notWired is the answer of an endpoint whose service the server was built without.
func notWired(what string) error {
	return errkind.New(errkind.Unavailable, "", "%s is not available on this server", what)
}
