package app

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"slices"
	"sync"
	"time"

	"github.com/tawthiq/tawthiq/internal/api"
	"github.com/tawthiq/tawthiq/internal/auditlog"
	"github.com/tawthiq/tawthiq/internal/clock"
	"github.com/tawthiq/tawthiq/internal/errkind"
	"github.com/tawthiq/tawthiq/internal/law"
	"github.com/tawthiq/tawthiq/internal/store"
	"github.com/tawthiq/tawthiq/internal/trustlist"
	"github.com/tawthiq/tawthiq/internal/validation"
	"github.com/tawthiq/tawthiq/internal/validation/render"
)

// ActionValidate is the audit action of every signed file validated through the API.
const ActionValidate auditlog.Action = "signature.validate"

// validator validates signed files sent to the API (POST /api/v1/validate) as
// `tawthiq verify --local` does: the CSP's roots, its records for the status of its
// own certificates, its authority's trusted list, and what the file carries. It
// follows no URL an uploaded file names, so status for others' certificates comes
// from the file alone; the foreign lists the authority's list points to are cached.
type validator struct {
	db    *store.DB
	data  string
	clock clock.Clock

	// The trusted lists, with the foreign ones the local list points to: fetched again
	// when the authority publishes a new list, else at most every trustRefresh, not per call.
	mu        sync.Mutex
	lists     trustlist.Lists
	listWarns []string
	listSeq   int64
	listsAt   time.Time
}

// trustRefresh bounds how long the foreign trusted lists are reused.
const trustRefresh = 10 * time.Minute

// trustedLists returns the lists to validate with, and what could not be used of them.
func (x *validator) trustedLists(ctx context.Context) (trustlist.Lists, []string, error) {
	seq := int64(-1) // no list published yet
	pub, err := x.db.LatestTrustList(ctx)
	switch {
	case err == nil:
		seq = int64(pub.Seq)
	case !errkind.Is(err, errkind.NotFound):
		return nil, nil, err
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	now := x.clock.Now()
	if x.listsAt.IsZero() || seq != x.listSeq || now.Sub(x.listsAt) >= trustRefresh {
		var warns []string
		// Not the caller's context: a cancelled call must not leave the cache half-filled.
		lists, err := localTrustList(context.WithoutCancel(ctx), x.db, x.data, func(w string) { warns = append(warns, w) })
		if err != nil {
			return nil, nil, err
		}
		x.lists, x.listWarns, x.listSeq, x.listsAt = lists, warns, seq, now
	}
	return x.lists, slices.Clone(x.listWarns), nil
}

var _ api.Validator = (*validator)(nil)

type validateRecord struct {
	Kind           string                `json:"kind"`
	Indication     validation.Indication `json:"indication"`
	Signatures     int                   `json:"signatures"`
	DocumentSHA256 string                `json:"documentSHA256,omitempty"`
}

// Validate validates req.File and records who had which file validated, with the
// outcome, before the report leaves.
func (x *validator) Validate(ctx context.Context, userID string, req api.ValidateRequest) (api.ValidateResult, error) {
	if req.Report != "json" && !slices.Contains(render.Languages(), req.Lang) {
		return api.ValidateResult{}, errkind.New(errkind.Invalid, law.L417_2, "lang must be one of ar, fr, en")
	}
	if req.Document != nil && isPDF(req.File) {
		return api.ValidateResult{}, errkind.New(errkind.Invalid, law.L417_2, "a signed PDF carries its document: send it without a document part")
	}
	status, roots, err := storeStatus(ctx, x.db)
	if err != nil {
		return api.ValidateResult{}, errkind.Wrap(errkind.Unavailable, err, "reading the CSP's anchors")
	}
	lists, warnings, err := x.trustedLists(ctx)
	if err != nil {
		return api.ValidateResult{}, errkind.Wrap(errkind.Unavailable, err, "reading the trusted lists")
	}
	opts := validation.Options{Roots: roots, Status: status, Now: x.clock.Now()}
	withLists(&opts, lists)
	rep := verifyRaw(ctx, req.Name, req.File, req.Document, opts, warnings)

	var res api.ValidateResult
	switch req.Report {
	case "json":
		res.ContentType = "application/json"
		res.Bytes, err = json.Marshal(rep)
	default:
		res.ContentType = map[string]string{"html": "text/html; charset=utf-8", "pdf": "application/pdf"}[req.Report]
		var buf bytes.Buffer
		err = rep.WriteReport(&buf, req.Report, req.Lang)
		res.Bytes = buf.Bytes()
	}
	if err != nil {
		return api.ValidateResult{}, errkind.Wrap(errkind.Internal, err, "writing the validation report")
	}
	rec := validateRecord{Kind: rep.Kind, Indication: rep.Indication, Signatures: len(rep.Signatures)}
	if req.Document != nil {
		d := sha256.Sum256(req.Document)
		rec.DocumentSHA256 = hex.EncodeToString(d[:])
	}
	e := auditlog.NewEntry(x.clock.Now(), userID, ActionValidate, rep.SHA256, rec)
	if err := x.db.Append(ctx, e); err != nil {
		return api.ValidateResult{}, errkind.Wrap(errkind.Unavailable, err, "recording the validation")
	}
	return res, nil
}
