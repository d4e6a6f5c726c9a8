// Package law holds the rules of Morocco's Law 53-05 (as amended by Law 43-20 and
// Decree 2-22-687) that tawthiq enforces, as typed data and pure functions. Every
// rule carries the ID used in LAW.md, so `grep -r L-21-3-5` finds the rule, the
// code that applies it and the test that proves it.
package law

import "time"

// ID names one rule of LAW.md, such as "L-21-3-5".
type ID string

// The rules tawthiq cites.
const (
	L6        ID = "L-6"
	L9        ID = "L-9"
	L11       ID = "L-11"
	L13       ID = "L-13"
	L15       ID = "L-15"
	L20       ID = "L-20"
	L21_1     ID = "L-21-1"
	L21_2     ID = "L-21-2"
	L21_3_1   ID = "L-21-3-1"
	L21_3_2   ID = "L-21-3-2"
	L21_3_3   ID = "L-21-3-3"
	L21_3_4   ID = "L-21-3-4"
	L21_3_5   ID = "L-21-3-5"
	L21_3_6   ID = "L-21-3-6"
	L21_3_7   ID = "L-21-3-7"
	L21Rev    ID = "L-21-rev"
	L22       ID = "L-22"
	L23       ID = "L-23"
	L24       ID = "L-24"
	L25       ID = "L-25"
	L2_1      ID = "L-2-1"
	L65_3     ID = "L-65-3"
	L65_4     ID = "L-65-4"
	L65_5     ID = "L-65-5"
	L417_1    ID = "L-417-1"
	L417_2    ID = "L-417-2"
	L417_3    ID = "L-417-3"
	L425      ID = "L-425"
	L443      ID = "L-443"
	LInternal ID = "" // no rule: a technical failure
)

// Rule is one duty of the law as LAW.md states it.
type Rule struct {
	ID      ID
	Article string // 53-05 article [43-20 article]
	Duty    string // in plain words, for error messages and reports
}

var rules = map[ID]Rule{
	L6:      {L6, "53-05 art. 6 [43-20 art. 5, 6]", "a secured signature is made with means under the signer's sole control and any later change is detectable"},
	L9:      {L9, "53-05 art. 9 [43-20 art. 8]", "the creation device protects the key and signs exactly what was shown"},
	L11:     {L11, "53-05 art. 11 [43-20 art. 9; Decree 2-22-687 art. 2]", "a secured (qualified) certificate carries every content the law lists"},
	L13:     {L13, "53-05 art. 13-14 [43-20 art. 46-47]", "cryptography means are declared or authorised"},
	L15:     {L15, "53-05 art. 15-19 [43-20 art. 52-57]", "the authority approves and supervises CSPs"},
	L20:     {L20, "53-05 art. 20 [43-20 art. 32]", "only approved CSPs issue secured (qualified) certificates"},
	L21_1:   {L21_1, "53-05 art. 21-1 [43-20 art. 33]", "the CSP uses reliable systems and cryptography, checks that private and public key match, and records issuance and revocation times precisely"},
	L21_2:   {L21_2, "53-05 art. 21-2 [43-20 art. 33; Decree art. 18]", "certificate records are kept at least 7 years, written only by authorised people, changes are apparent, and no certificate is public without the holder's consent"},
	L21_3_1: {L21_3_1, "53-05 art. 21-3-1 [43-20 art. 33]", "identity is verified from an official ID document, and a claimed capacity from its proof"},
	L21_3_2: {L21_3_2, "53-05 art. 21-3-2", "at issuance the data are accurate and the holder holds the matching private key"},
	L21_3_3: {L21_3_3, "53-05 art. 21-3-3 [43-20 art. 33]", "the applicant is informed in writing of the conditions of use before the contract"},
	L21_3_4: {L21_3_4, "53-05 art. 21-3-4", "relying parties get the useful part of the conditions of use"},
	L21_3_5: {L21_3_5, "53-05 art. 21-3-5", "holders are told at least 60 days before expiry"},
	L21_3_6: {L21_3_6, "53-05 art. 21-3-6 [43-20 art. 33]", "the CSP holds professional liability insurance"},
	L21_3_7: {L21_3_7, "53-05 art. 21-3-7 [43-20 art. 33]", "the CSP revokes on false information, untrue information, breached confidentiality or a judicial order"},
	L21Rev:  {L21Rev, "53-05 art. 21 [43-20 art. 33]", "revocation is opposable once published and status stays available after expiry"},
	L22:     {L22, "53-05 art. 22 [43-20 art. 36]", "foreign certificates have the same value under a recognition agreement"},
	L23:     {L23, "53-05 art. 23 [43-20 art. 37]", "the authority is told at least two months before cessation"},
	L24:     {L24, "53-05 art. 24 [43-20 art. 38-40]", "professional secrecy: personal data are read only on a recorded ground"},
	L25:     {L25, "53-05 art. 25-28 [43-20 art. 41-44]", "a revoked or compromised key may not sign nor be certified again"},
	L2_1:    {L2_1, "DOC 2-1", "some acts may not be made electronically"},
	L65_3:   {L65_3, "DOC 65-3", "e-mail is used only with the recipient's express acceptance"},
	L65_4:   {L65_4, "DOC 65-4", "a binding offer states seven items"},
	L65_5:   {L65_5, "DOC 65-5", "the order is reviewed before confirmation and acknowledged without undue delay"},
	L65_6:   {L65_6, "DOC 65-6", "a form can be fetched, filled and returned electronically"},
	L65_7:   {L65_7, "DOC 65-7", "each party can get its original or access it"},
	L440:    {L440, "DOC 440", "a copy of an electronic act is admissible when each party can get one"},
	L417_1:  {L417_1, "DOC 417-1", "an electronic writing is kept in conditions that guarantee its integrity"},
	L417_2:  {L417_2, "DOC 417-2", "the signature identifies the signer"},
	L417_3:  {L417_3, "DOC 417-3", "a secured (qualified) signature is presumed reliable"},
	L425:    {L425, "DOC 425", "the date is opposable when it results from such a signature"},
	L443:    {L443, "DOC 443", "acts over 10,000 dirhams need a written deed"},
}

// Describe returns the rule with the given ID; an unknown ID gives a rule with an empty duty.
func Describe(id ID) Rule {
	if r, ok := rules[id]; ok {
		return r
	}
	return Rule{ID: id}
}

// All returns every rule, for documentation and the API's /rules listing.
func All() []Rule {
	out := make([]Rule, 0, len(rules))
	for _, r := range rules {
		out = append(out, r)
	}
	return out
}

// RetentionYears is the minimum time certificate records are kept (L-21-2; Decree 2-22-687 art. 18).
const RetentionYears = 7

// RetentionEnd is the first instant a record created at t may be deleted (L-21-2).
func RetentionEnd(created time.Time) time.Time {
	return created.AddDate(RetentionYears, 0, 0)
}

// ExpiryNoticeDays is how long before expiry a holder must be told (L-21-3-5).
const ExpiryNoticeDays = 60

// CessationNoticeMonths is the minimum notice to the authority before ceasing (L-23).
const CessationNoticeMonths = 2

// WitnessThresholdMAD is the value above which an act needs a written deed (L-443).
const WitnessThresholdMAD = 10000

// RequiredApprovals is the number of distinct RA officers who must approve an
// application: the dual control that makes the identity check reliable (L-21-3-1, L-21-1).
const RequiredApprovals = 2

// Timestamp is how issuance and revocation times are kept: UTC to the millisecond (L-21-1).
func Timestamp(t time.Time) time.Time {
	return t.UTC().Truncate(time.Millisecond)
}
