package evidence

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/tawthiq/tawthiq/internal/law"
	"github.com/tawthiq/tawthiq/internal/signature"
	"github.com/tawthiq/tawthiq/internal/validation"
)

// Entry name prefixes and files of the bundle.
const (
	dirDocuments   = "documents/"
	dirSignatures  = "signatures/"
	dirValidation  = "validation/"
	dirTimeStamps  = "timestamps/"
	checkpointFile = "audit/checkpoint.note"
	checkpointTST  = "audit/checkpoint.tst"
	logKeyFile     = "audit/log.vkey"
	entryPrefix    = "audit/entry-"
	proofPrefix    = "audit/proof-"
	reportJSON     = "report.json"
	reportPDF      = "report.pdf"
)

func hexSum(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// validationData gathers the certificates, CRLs and OCSP responses the bundle carries.
func validationData(entries map[string][]byte) signature.ValidationData {
	var vd signature.ValidationData
	names := make([]string, 0, len(entries))
	for n := range entries {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if !strings.HasPrefix(n, dirValidation) {
			continue
		}
		switch {
		case strings.HasSuffix(n, ".cer"):
			vd.Certs = append(vd.Certs, entries[n])
		case strings.HasSuffix(n, ".crl"):
			vd.CRLs = append(vd.CRLs, entries[n])
		case strings.HasSuffix(n, ".ocsp"):
			vd.OCSPs = append(vd.OCSPs, entries[n])
		}
	}
	return vd
}

// proves says what an entry of the bundle is evidence of, and under which rule.
func proves(name string) (string, law.ID) {
	switch {
	case strings.HasPrefix(name, dirDocuments):
		return "the document as it was signed and archived", law.L417_1
	case strings.HasPrefix(name, dirSignatures):
		return "the signature over the document: it identifies the signer and shows consent", law.L417_2
	case strings.HasSuffix(name, ".cer"):
		return "a certificate of a certification path: who signed, certified by whom", law.L417_2
	case strings.HasSuffix(name, ".crl"), strings.HasSuffix(name, ".ocsp"):
		return "revocation status: the certificate was not revoked when it was used", law.L417_3
	case strings.HasPrefix(name, dirTimeStamps):
		return "a time-stamp token: a date proven by a time-stamping authority", law.L425
	case strings.HasPrefix(name, entryPrefix):
		return "the audit log's record that the item was archived under its SHA-256", law.L417_1
	case strings.HasPrefix(name, proofPrefix):
		return "the inclusion of that record in the signed audit-log checkpoint", law.L417_1
	case name == checkpointFile:
		return "the signed head of the CSP's audit log: any later change to the records is apparent", law.L21_2
	case name == checkpointTST:
		return "the time-stamp of the log head: the archive existed at that date", law.L425
	case name == logKeyFile:
		return "the public key that checks the log head's signature", law.L21_2
	case name == reportJSON, name == reportPDF:
		return "the readable report of these conclusions, as stated when the bundle was made", ""
	}
	return "", ""
}

// analysis is what the data objects show, computed the same way by Build and Verify.
type analysis struct {
	docs     []DocumentResult
	log      *LogCheck
	problems []Problem
}

func analyze(ctx context.Context, entries map[string][]byte, opts validation.Options) analysis {
	var a analysis
	opts.Extra = validationData(entries)
	head, archived := a.checkLog(ctx, entries, opts)
	_ = head
	var names []string
	for n := range entries {
		if strings.HasPrefix(n, dirDocuments) {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	for _, n := range names {
		content := entries[n]
		d := DocumentResult{Name: n, SHA256: hexSum(content)}
		sigName := dirSignatures + strings.TrimPrefix(n, dirDocuments) + ".p7s"
		if sig, ok := entries[sigName]; ok {
			d.Signature, d.Kind = sigName, "CAdES"
			r := validation.Validate(ctx, sig, content, opts)
			d.Indication, d.Signatures = r.Indication, []validation.Report{r}
		} else {
			d.Kind = "PAdES"
			p := validation.ValidatePAdES(ctx, content, opts)
			d.Indication, d.PDF = p.Indication, &p
			for _, s := range p.Signatures {
				d.Signatures = append(d.Signatures, s.Report)
			}
		}
		for _, item := range []string{n, d.Signature} {
			if item == "" {
				continue
			}
			for _, c := range archived[hexSum(entries[item])] {
				c.Item = item
				d.Archive = append(d.Archive, c)
			}
		}
		d.Conclusions = conclude(d, a.log)
		a.docs = append(a.docs, d)
	}
	return a
}

// checkLog checks the log head and every archive entry's inclusion proof; it
// returns the checks by the SHA-256 each entry records.
func (a *analysis) checkLog(ctx context.Context, entries map[string][]byte, opts validation.Options) (*checkedHead, map[string][]ArchiveCheck) {
	out := map[string][]ArchiveCheck{}
	signed, ok := entries[checkpointFile]
	if !ok {
		return nil, out
	}
	head, err := openCheckpoint(signed, string(entries[logKeyFile]))
	if err != nil {
		a.problems = append(a.problems, Problem{Entry: checkpointFile, Reason: err.Error()})
		return nil, out
	}
	a.log = &LogCheck{Origin: head.Origin, Size: head.Size, Root: base64.StdEncoding.EncodeToString(head.Root[:]),
		SignedAt: head.Time, Verified: true}
	if tok, ok := entries[checkpointTST]; ok {
		ts := validation.ValidateTimeStamp(ctx, tok, signed, opts)
		a.log.TimeStamp = &ts
		if ts.Ignored != "" {
			a.problems = append(a.problems, Problem{Entry: checkpointTST, Reason: "does not prove the checkpoint's date: " + ts.Ignored})
		}
	}
	var names []string
	for n := range entries {
		if strings.HasPrefix(n, entryPrefix) {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	for _, n := range names {
		e, err := decodeEntry(entries[n])
		if err != nil {
			a.problems = append(a.problems, Problem{Entry: n, Reason: err.Error()})
			continue
		}
		if n != entryPrefix+strconv.FormatInt(e.Seq, 10)+".txt" {
			a.problems = append(a.problems, Problem{Entry: n, Reason: fmt.Sprintf("holds entry %d", e.Seq)})
			continue
		}
		c := ArchiveCheck{Seq: e.Seq, Time: e.Time}
		pn := proofPrefix + strconv.FormatInt(e.Seq, 10) + ".json"
		pf, proof, err := decodeProof(entries[pn])
		switch {
		case entries[pn] == nil:
			c.Why = "no inclusion proof"
			a.problems = append(a.problems, Problem{Entry: pn, Reason: "missing: the inclusion proof of " + n})
		case err != nil:
			c.Why = "unreadable inclusion proof"
			a.problems = append(a.problems, Problem{Entry: pn, Reason: "unreadable: " + err.Error()})
		case pf.Index != e.Seq || pf.TreeSize != head.Size || e.Seq >= head.Size:
			c.Why = "the proof is for another entry or log size"
			a.problems = append(a.problems, Problem{Entry: pn, Reason: fmt.Sprintf("proves entry %d in a log of %d, not entry %d in the checkpoint's %d", pf.Index, pf.TreeSize, e.Seq, head.Size)})
		default:
			if err := tlog.CheckRecord(proof, head.Size, head.Root, e.Seq, e.LeafHash()); err != nil {
				c.Why = "the entry is not in the signed log"
				a.problems = append(a.problems, Problem{Entry: n, Reason: "its inclusion proof does not lead to the signed checkpoint's root: the entry or its proof was changed"})
			} else {
				c.Included = true
				c.Why = fmt.Sprintf("entry %d (%s by %s at %s) is included in the checkpoint of %d entries signed by %s",
					e.Seq, e.Action, e.Actor, stamp(e.Time), head.Size, head.Origin)
			}
		}
		if sum := ArchivedSHA256(e.Data); sum != "" {
			out[sum] = append(out[sum], c)
		}
	}
	return &head, out
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// conclude states each document's legal conclusions from its validation and archive proofs.
func conclude(d DocumentResult, log *LogCheck) []validation.Conclusion {
	var out []validation.Conclusion
	intact := d.Indication == validation.TotalPassed && (d.PDF == nil || !d.PDF.ChangedAfterSigning)
	var kept *ArchiveCheck
	for i := range d.Archive {
		if d.Archive[i].Item == d.Name && d.Archive[i].Included {
			kept = &d.Archive[i]
			break
		}
	}
	stamped := ""
	if log != nil && log.TimeStamp != nil && log.TimeStamp.Ignored == "" && log.TimeStamp.Trusted {
		stamped = fmt.Sprintf("; the checkpoint was time-stamped at %s by %s", stamp(log.TimeStamp.GenTime), log.TimeStamp.TSA)
	}
	switch {
	case !intact:
		out = append(out, validation.Conclusion{Rule: law.L417_1, Holds: false,
			Why: fmt.Sprintf("the document's signatures do not show it unchanged (%s): its integrity is not established", d.Indication)})
	case kept == nil:
		out = append(out, validation.Conclusion{Rule: law.L417_1, Holds: false,
			Why: "the signatures show the document unchanged since signing, but no archive record in a signed audit log shows how it was kept"})
	default:
		out = append(out, validation.Conclusion{Rule: law.L417_1, Holds: true,
			Why: fmt.Sprintf("the document (SHA-256 %s) is intact under its signatures and was archived at %s: %s%s",
				d.SHA256, stamp(kept.Time), kept.Why, stamped)})
	}
	for _, rule := range []law.ID{law.L417_2, law.L417_3, law.L425} {
		c := validation.Conclusion{Rule: rule, Holds: len(d.Signatures) > 0}
		var whys []string
		for i, r := range d.Signatures {
			for _, rc := range r.Conclusions {
				if rc.Rule != rule {
					continue
				}
				c.Holds = c.Holds && rc.Holds
				if len(d.Signatures) > 1 {
					whys = append(whys, fmt.Sprintf("signature %d: %s", i+1, rc.Why))
				} else {
					whys = append(whys, rc.Why)
				}
			}
		}
		if len(whys) == 0 {
			c.Holds, whys = false, []string{"no signature validated"}
		}
		c.Why = strings.Join(whys, "; ")
		out = append(out, c)
	}
	copyHolds := out[0].Holds && out[1].Holds
	why := "this container is a copy of the electronic act with its evidence attached (the document, its signatures, their certificates and status data, time-stamps and the audit-log proofs), sealed so that any change is apparent; each party can be given one"
	if !copyHolds {
		why = "a copy is admissible only when DOC 417-1 and 417-2 hold, and here they do not both hold"
	}
	out = append(out, validation.Conclusion{Rule: law.L440, Holds: copyHolds, Why: why})
	return out
}

// sameConclusions compares what two results conclude, rule by rule.
func sameConclusions(built, found []DocumentResult) []string {
	var diff []string
	byName := map[string]DocumentResult{}
	for _, d := range built {
		byName[d.Name] = d
	}
	for _, d := range found {
		b, ok := byName[d.Name]
		if !ok {
			diff = append(diff, d.Name+": not in report.json")
			continue
		}
		want := map[law.ID]bool{}
		for _, c := range b.Conclusions {
			want[c.Rule] = c.Holds
		}
		for _, c := range d.Conclusions {
			if w, ok := want[c.Rule]; !ok || w != c.Holds {
				diff = append(diff, fmt.Sprintf("%s: %s %s now, report.json says %s", d.Name, c.Rule, holds(c.Holds), holds(w)))
			}
		}
	}
	return diff
}

func holds(b bool) string {
	if b {
		return "holds"
	}
	return "does not hold"
}

// isPDF reports whether b starts like a PDF file.
func isPDF(b []byte) bool { return bytes.Contains(b[:min(len(b), 1024)], []byte("%PDF-")) }
