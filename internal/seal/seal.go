// Package seal applies an organisation's electronic seal on the server: a
// remote seal whose key sits in the server's key store (an HSM in production)
// and is used only at the request of the users the organisation named. The key
// is the organisation's, certified to it; the CSP's own keys never seal here.
package seal

import (
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"encoding/hex"
	"strings"

	"github.com/tawthiq/tawthiq/internal/auditlog"
	"github.com/tawthiq/tawthiq/internal/clock"
	"github.com/tawthiq/tawthiq/internal/errkind"
	"github.com/tawthiq/tawthiq/internal/law"
	"github.com/tawthiq/tawthiq/internal/signature"
)

// ActionApply is the audit action of every seal applied.
const ActionApply auditlog.Action = "seal.apply"

// Seal is one organisation's seal: its key, its certificate chain (the seal
// certificate first, up to but not including the root) and who may apply it.
type Seal struct {
	Name   string
	Signer crypto.Signer
	Chain  []*x509.Certificate
	Users  []string // user IDs the organisation authorised
}

// Store records what was sealed, in the audit log, before the sealed document leaves.
type Store interface {
	Append(ctx context.Context, e ...auditlog.Entry) error
}

// Config are the service's dependencies.
type Config struct {
	Seals      []Seal
	Stamper    signature.Stamper          // the CSP's TSA, for B-T and above
	Revocation signature.RevocationSource // the seal certificate's status, from the CSP's records
	CACerts    []*x509.Certificate        // the root: B-LT carries its issuing CA's status too
	Store      Store
	Clock      clock.Clock
}

// Service applies seals.
type Service struct {
	cfg   Config
	seals map[string]*Seal
}

// New checks each seal's key against its certificate.
func New(cfg Config) (*Service, error) {
	s := &Service{cfg: cfg, seals: map[string]*Seal{}}
	for i := range cfg.Seals {
		sl := &cfg.Seals[i]
		if sl.Name == "" || len(sl.Chain) == 0 || sl.Signer == nil {
			return nil, errkind.New(errkind.Invalid, law.L6, "seal %q needs a name, a key and its certificate", sl.Name)
		}
		pub, ok := sl.Signer.Public().(interface{ Equal(crypto.PublicKey) bool })
		if !ok || !pub.Equal(sl.Chain[0].PublicKey) {
			return nil, errkind.New(errkind.Invalid, law.L6, "seal %q: the key does not match its certificate", sl.Name)
		}
		if _, dup := s.seals[sl.Name]; dup {
			return nil, errkind.New(errkind.Invalid, law.L6, "seal %q is configured twice", sl.Name)
		}
		s.seals[sl.Name] = sl
	}
	return s, nil
}

// Request is one document to seal.
type Request struct {
	Seal     string
	Format   string // cades or pades
	Level    signature.Level
	Detached bool // CAdES only
	Document []byte
}

// Result is the sealed document.
type Result struct {
	Bytes       []byte
	ContentType string
}

type applyRecord struct {
	Format         string `json:"format"`
	Level          string `json:"level"`
	DocumentSHA256 string `json:"documentSHA256"`
	SealedSHA256   string `json:"sealedSHA256"`
	Certificate    string `json:"certificateSerial"`
}

// Names lists the seals userID may apply.
func (s *Service) Names(userID string) []string {
	var out []string
	for name, sl := range s.seals {
		if allowed(sl, userID) {
			out = append(out, name)
		}
	}
	return out
}

// Apply seals req.Document for userID: exactly those bytes (L-9), with a
// certificate neither expired nor revoked (L-25), recorded before it is returned.
func (s *Service) Apply(ctx context.Context, userID string, req Request) (Result, error) {
	sl := s.seals[req.Seal]
	if sl == nil || !allowed(sl, userID) {
		// One answer for "no such seal" and "not yours": names are not disclosed.
		return Result{}, errkind.New(errkind.Forbidden, law.L6, "no seal %q that this user may apply", req.Seal)
	}
	if len(req.Document) == 0 {
		return Result{}, errkind.New(errkind.Invalid, law.L9, "an empty document")
	}
	now := s.cfg.Clock.Now()
	if len(sl.Chain) > 1 && s.cfg.Revocation != nil {
		if err := signature.CheckNotRevoked(ctx, append(sl.Chain[:len(sl.Chain):len(sl.Chain)], s.cfg.CACerts...), s.cfg.Revocation, now); err != nil {
			return Result{}, err
		}
	}
	var res Result
	var err error
	switch strings.ToLower(req.Format) {
	case "", "pades":
		res.ContentType = "application/pdf"
		res.Bytes, err = signature.SignPAdES(ctx, req.Document, sl.Signer, sl.Chain,
			signature.PAdESOptions{Level: req.Level, Stamper: s.cfg.Stamper, Revocation: s.cfg.Revocation, CACerts: s.cfg.CACerts, Now: s.cfg.Clock.Now})
	case "cades":
		res.ContentType = "application/pkcs7-signature"
		res.Bytes, err = signature.SignCAdES(ctx, req.Document, sl.Signer, sl.Chain,
			signature.Options{Detached: req.Detached, Level: req.Level, Stamper: s.cfg.Stamper, Revocation: s.cfg.Revocation, CACerts: s.cfg.CACerts, Now: s.cfg.Clock.Now})
	default:
		return Result{}, errkind.New(errkind.Invalid, law.L417_2, "unknown format %q: pades or cades", req.Format)
	}
	if err != nil {
		return Result{}, err
	}
	in, out := sha256.Sum256(req.Document), sha256.Sum256(res.Bytes)
	e := auditlog.NewEntry(now, userID, ActionApply, req.Seal, applyRecord{
		Format: strings.ToLower(req.Format), Level: req.Level.String(),
		DocumentSHA256: hex.EncodeToString(in[:]), SealedSHA256: hex.EncodeToString(out[:]),
		Certificate: hex.EncodeToString(sl.Chain[0].SerialNumber.Bytes()),
	})
	if err := s.cfg.Store.Append(ctx, e); err != nil {
		return Result{}, errkind.Wrap(errkind.Unavailable, err, "recording the seal")
	}
	return res, nil
}

func allowed(sl *Seal, userID string) bool {
	ok := 0
	for _, u := range sl.Users {
		ok |= subtle.ConstantTimeCompare([]byte(u), []byte(userID))
	}
	return ok == 1 && userID != ""
}
