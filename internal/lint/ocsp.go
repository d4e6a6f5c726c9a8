package lint

import (
	"bytes"
	"crypto/sha1"
	"encoding/asn1"
	"sort"

	"github.com/zmap/zlint/v3"
	zl "github.com/zmap/zlint/v3/lint"
	xocsp "golang.org/x/crypto/ocsp"

	"github.com/tawthiq/tawthiq/internal/errkind"
	"github.com/tawthiq/tawthiq/internal/law"
)

// SourceOCSP names the source of tawthiq's own OCSP response checks in findings.
//
// zlint v3.7.3 has only three OCSP response lints (the ECDSA and RSA signature
// AlgorithmIdentifier encodings, and thisUpdate not after producedAt); ours add
// what it leaves out for a pre-signed RFC 6960 response.
const SourceOCSP = "MA_L21_REV"

// OCSPResponse lints a signed OCSPResponse with every zlint OCSP response lint and
// tawthiq's own checks before it is stored or served (STYLE #7, L-21-rev): nil when
// none reports a warning, an error or a fatal result; otherwise an *errkind.Error
// naming every failing lint. A response that is not successful, does not parse, or
// whose signature does not verify against its included responder certificate is refused.
func (l *Linter) OCSPResponse(der []byte) error {
	r, err := parseOCSP(der)
	if err != nil {
		return err
	}
	return l.OCSPResponseParsed(r)
}

// OCSPResponseParsed lints a response already parsed (and its signature checked) by
// x/crypto/ocsp, so that the responder, which parses each response anyway, parses once.
func (l *Linter) OCSPResponseParsed(r *xocsp.Response) error {
	return refusal("OCSP response", law.L21Rev, l.ocspFindings(r))
}

// OCSPResponseFindings returns every OCSP response lint's outcome, sorted by name.
// It parses with x/crypto/ocsp, as zlint's OCSP lints expect, which verifies the
// signature against the included responder certificate; a response for several
// certificates does not parse there.
func (l *Linter) OCSPResponseFindings(der []byte) ([]Finding, error) {
	r, err := parseOCSP(der)
	if err != nil {
		return nil, err
	}
	out := l.ocspFindings(r)
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func parseOCSP(der []byte) (*xocsp.Response, error) {
	r, err := xocsp.ParseResponse(der, nil)
	if err != nil {
		return nil, errkind.Wrap(errkind.Invalid, err, "OCSP response does not parse for linting (%s)", law.L21Rev)
	}
	return r, nil
}

func (l *Linter) ocspFindings(r *xocsp.Response) []Finding {
	rs := zlint.LintOcspResponseEx(r, l.registry)
	out := make([]Finding, 0, len(rs.Results)+len(ocspChecks))
	for name, res := range rs.Results {
		f := Finding{Name: name, Status: res.Status.String(), Details: res.Details, Rule: law.L21Rev}
		if m := l.registry.ByName(name); m != nil {
			f.Source = string(m.Source)
		}
		out = append(out, f)
	}
	for _, c := range ocspChecks {
		status, details := c.check(r)
		out = append(out, Finding{Name: c.name, Status: status.String(), Details: details, Source: SourceOCSP, Rule: law.L21Rev})
	}
	return out
}

// ocspCheck is one of tawthiq's own OCSP response checks.
type ocspCheck struct {
	name  string
	check func(r *xocsp.Response) (zl.LintStatus, string)
}

var ocspChecks = []ocspCheck{
	// RFC 6960 §4.2.2.2: the responder must be identifiable from the response, and a
	// relying party looks for the signer among the included certificates by responderID.
	{"e_ma_ocsp_responder_id_matches_signer", func(r *xocsp.Response) (zl.LintStatus, string) {
		if r.Certificate == nil {
			return zl.Error, "no responder certificate included"
		}
		if len(r.ResponderKeyHash) > 0 {
			var spki struct {
				Algorithm asn1.RawValue
				PublicKey asn1.BitString
			}
			if _, err := asn1.Unmarshal(r.Certificate.RawSubjectPublicKeyInfo, &spki); err != nil {
				return zl.Fatal, "cannot read the responder's subjectPublicKey"
			}
			h := sha1.Sum(spki.PublicKey.RightAlign())
			if !bytes.Equal(h[:], r.ResponderKeyHash) {
				return zl.Error, "responderID byKey is not the SHA-1 of the responder certificate's key"
			}
			return zl.Pass, ""
		}
		if !bytes.Equal(r.RawResponderName, r.Certificate.RawSubject) {
			return zl.Error, "responderID byName is not the responder certificate's subject"
		}
		return zl.Pass, ""
	}},
	// RFC 6960 §4.2.2.1 / RFC 5019 §2.2.4: nextUpdate after thisUpdate; our responses
	// are valid for no longer than law.OCSPValidity (L-21-rev).
	{"e_ma_ocsp_next_update_within_validity", func(r *xocsp.Response) (zl.LintStatus, string) {
		if r.NextUpdate.IsZero() {
			if r.Status == xocsp.Unknown {
				return zl.NA, "" // an unknown answer may omit nextUpdate: the serial may be issued later
			}
			return zl.Error, "a good or revoked response has no nextUpdate"
		}
		if !r.NextUpdate.After(r.ThisUpdate) {
			return zl.Error, "nextUpdate is not after thisUpdate"
		}
		if r.NextUpdate.Sub(r.ThisUpdate) > law.OCSPValidity {
			return zl.Error, "nextUpdate is more than " + law.OCSPValidity.String() + " after thisUpdate"
		}
		return zl.Pass, ""
	}},
}
