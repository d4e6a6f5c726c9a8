// Package directory is the public certificate directory: a search by name, e-mail or
// serial that lists a certificate only when its holder consented to publication
// (L-21-2). A certificate without consent is indistinguishable from one that does not
// exist: the same empty answer from the same query path. Every search is audit-logged.
package directory

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/mail"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/tawthiq/tawthiq/internal/auditlog"
	"github.com/tawthiq/tawthiq/internal/clock"
	"github.com/tawthiq/tawthiq/internal/errkind"
	"github.com/tawthiq/tawthiq/internal/issuance"
)

// By names what a query searches by.
type By string

// The kinds of query.
const (
	ByName   By = "name"   // case-insensitive substring of the common name, "given surname", "surname given" or pseudonym
	ByEmail  By = "email"  // the holder's contact e-mail, exactly (compared in lower case)
	BySerial By = "serial" // the certificate serial, exactly (hex; case, colons and leading zeros ignored)
)

// Limits of a query and of its answer.
const (
	MaxQueryLen    = 128 // characters
	MinNameLen     = 3   // characters: shorter names would list the directory wholesale
	DefaultLimit   = 50
	publicSearcher = "public"
)

// Query is one search.
type Query struct {
	By    By
	Value string
}

// Status is a listed certificate's status at the time of the search.
type Status string

// Certificate statuses as the directory shows them.
const (
	StatusValid   Status = "valid"
	StatusRevoked Status = "revoked"
	StatusExpired Status = "expired"
)

// Entry is one listed certificate.
type Entry struct {
	Serial    string
	CA        string
	Subject   string // RFC 4514
	NotBefore time.Time
	NotAfter  time.Time
	Status    Status
	RevokedAt time.Time // zero unless revoked
	DER       []byte
}

// Searcher is who searches: an authenticated user, or the public (empty UserID).
type Searcher struct {
	UserID string
}

// Store is what the directory needs from the database: a read, and the audit append.
type Store interface {
	// DirectorySearch returns at most limit issued certificates whose application
	// records consent to publication (L-21-2) and that match q, already normalised
	// (see Normalize); Status is left empty, RevokedAt set if revoked.
	DirectorySearch(ctx context.Context, q Query, limit int) ([]Entry, error)
	Append(ctx context.Context, e ...auditlog.Entry) error
}

// Service answers directory searches.
type Service struct {
	st    Store
	clk   clock.Clock
	limit int
}

// New returns the directory over st; limit <= 0 means DefaultLimit.
func New(st Store, clk clock.Clock, limit int) *Service {
	if limit <= 0 {
		limit = DefaultLimit
	}
	return &Service{st: st, clk: clk, limit: limit}
}

// Search returns the consenting holders' certificates that match q (L-21-2). The
// search is recorded in the audit log (kind, SHA-256 of the normalised query, number
// of results) before any result is returned: a search that cannot be logged fails.
func (s *Service) Search(ctx context.Context, by Searcher, q Query) ([]Entry, error) {
	q, err := Normalize(q)
	if err != nil {
		return nil, err
	}
	found, err := s.st.DirectorySearch(ctx, q, s.limit)
	if err != nil {
		return nil, err
	}
	now := s.clk.Now()
	for i := range found {
		found[i].Status = statusAt(found[i], now)
	}
	actor := by.UserID
	if actor == "" {
		actor = publicSearcher
	}
	h := sha256.Sum256([]byte(string(q.By) + "\x00" + q.Value))
	e := auditlog.NewEntry(now, actor, auditlog.ActionDirectorySearch, string(q.By), searchRecord{
		By: q.By, QuerySHA256: hex.EncodeToString(h[:]), Results: len(found),
	})
	if err := s.st.Append(ctx, e); err != nil {
		return nil, err
	}
	return found, nil
}

// searchRecord is what the audit log keeps of a search: never the query itself.
type searchRecord struct {
	By          By     `json:"by"`
	QuerySHA256 string `json:"query_sha256"`
	Results     int    `json:"results"`
}

func statusAt(e Entry, now time.Time) Status {
	switch {
	case !e.RevokedAt.IsZero():
		return StatusRevoked
	case !now.Before(e.NotAfter):
		return StatusExpired
	}
	return StatusValid
}

// Normalize checks a query and puts its value in the form the store compares.
func Normalize(q Query) (Query, error) {
	v := strings.TrimSpace(q.Value)
	if !utf8.ValidString(v) || utf8.RuneCountInString(v) > MaxQueryLen {
		return q, errkind.New(errkind.Invalid, "", "a directory query is at most %d characters of text", MaxQueryLen)
	}
	for _, r := range v {
		if unicode.IsControl(r) {
			return q, errkind.New(errkind.Invalid, "", "a directory query has no control characters")
		}
	}
	switch q.By {
	case ByName:
		v = strings.Join(strings.Fields(strings.ToLower(v)), " ")
		if utf8.RuneCountInString(v) < MinNameLen {
			return q, errkind.New(errkind.Invalid, "", "a name query has at least %d characters", MinNameLen)
		}
		// These are escaped in the stored JSON subject, where the store looks first.
		if strings.ContainsAny(v, "\"\\<>&") {
			return q, errkind.New(errkind.Invalid, "", "a name query has no quotes, backslashes, <, > or &")
		}
	case ByEmail:
		a, err := mail.ParseAddress(v)
		if err != nil || a.Address != v {
			return q, errkind.New(errkind.Invalid, "", "an e-mail query is one plain address")
		}
		v = strings.ToLower(v)
	case BySerial:
		v = strings.TrimLeft(strings.ToLower(strings.ReplaceAll(v, ":", "")), "0")
		if v == "" {
			v = "0"
		}
		if _, err := hex.DecodeString(evenHex(v)); err != nil {
			return q, errkind.New(errkind.Invalid, "", "a serial query is hexadecimal")
		}
	default:
		return q, errkind.New(errkind.Invalid, "", "search the directory by name, email or serial")
	}
	return Query{By: q.By, Value: v}, nil
}

func evenHex(s string) string {
	if len(s)%2 == 1 {
		return "0" + s
	}
	return s
}

// NameToken is the longest word of a normalised name query: the store looks for it
// first, then keeps the rows that MatchName accepts.
func NameToken(v string) string {
	best := ""
	for _, w := range strings.Fields(v) {
		if utf8.RuneCountInString(w) > utf8.RuneCountInString(best) {
			best = w
		}
	}
	return best
}

// MatchName reports whether the normalised name query v names the subject: a
// substring, ignoring case and repeated spaces, of its common name, "given surname",
// "surname given" or pseudonym.
func MatchName(v string, s issuance.Subject) bool {
	norm := func(parts ...string) string {
		return strings.Join(strings.Fields(strings.ToLower(strings.Join(parts, " "))), " ")
	}
	for _, name := range []string{
		norm(s.CommonName), norm(s.GivenName, s.Surname), norm(s.Surname, s.GivenName), norm(s.Pseudonym),
	} {
		if name != "" && strings.Contains(name, v) {
			return true
		}
	}
	return false
}
