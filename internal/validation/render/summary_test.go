package render

import (
	"fmt"
	"strings"
	"testing"

	"github.com/tawthiq/tawthiq/internal/validation"
)

// TestSummaryCases checks that each combination of outcome, qualification and time
// proof gets the sentences that say which presumption applies (DOC 417-3) and whether
// the date is opposable (DOC 425).
func TestSummaryCases(t *testing.T) {
	tsNotQualified := reportQualified()
	tsNotQualified.TimeStamp.Qualified = false
	claimedOnly := reportQualified()
	claimedOnly.TimeStamp, claimedOnly.ProvenBy, claimedOnly.ProvenTime = nil, validation.ByValidationTime, validatedAt
	noDate := claimedOnly
	noDate.ClaimedTime = nil
	notQualified := claimedOnly
	notQualified.Qualified = false
	archive := claimedOnly
	archive.ProvenBy, archive.ProvenTime = validation.ByArchiveTimeStamp, signedAt
	archive.ArchiveTimeStamps = []validation.TimeStamp{{GenTime: signedAt, TSA: "CN=Archive TSA", Trusted: true}}

	tx := &textEN
	head := func(tmpl string) string { return strings.SplitN(tmpl, "%", 2)[0] }
	for _, c := range []struct {
		name string
		r    validation.Report
		want []string
		not  []string
	}{
		{"qualified, qualified time-stamp", reportQualified(), []string{head(tx.SumQualified), head(tx.SumDateProven), head(tx.SumQualifiedCertain)}, []string{tx.SumQualifiedNoTS}},
		{"qualified, time-stamp not qualified", tsNotQualified, []string{head(tx.SumQualified), head(tx.SumDateProven), tx.SumQualifiedTSNotQualified}, []string{head(tx.SumQualifiedCertain)}},
		{"qualified, claimed date only", claimedOnly, []string{head(tx.SumQualified), head(tx.SumDateClaimed), tx.SumQualifiedNoTS}, []string{head(tx.SumDateProven)}},
		{"qualified, no date at all", noDate, []string{head(tx.SumDateNone), tx.SumQualifiedNoTS}, nil},
		{"valid, not qualified", notQualified, []string{head(tx.SumValidNotQualified), head(tx.SumDateClaimed)}, []string{head(tx.SumQualified), tx.SumQualifiedNoTS}},
		{"archive time-stamp", archive, []string{head(tx.SumDateArchive), "2026-03-14 09:26:53 UTC", tx.SumQualifiedLaterTS}, []string{head(tx.SumDateClaimed), tx.SumQualifiedNoTS}},
		{"hash failure", reportHashFailure(), []string{fmt.Sprintf(tx.SumFailed, tx.SubIndication[validation.HashFailure])}, []string{head(tx.SumQualified)}},
		{"revoked, no proof of existence", reportRevokedNoPOE(), []string{fmt.Sprintf(tx.SumIndeterminate, tx.SubIndication[validation.RevokedNoPOE])}, nil},
	} {
		got := strings.NewReplacer(string(fsi), "", string(pdi), "").Replace(summary(tx, c.r))
		for _, w := range c.want {
			if !strings.Contains(got, w) {
				t.Errorf("%s: summary lacks %q:\n%s", c.name, w, got)
			}
		}
		for _, w := range c.not {
			if strings.Contains(got, w) {
				t.Errorf("%s: summary says %q:\n%s", c.name, w, got)
			}
		}
	}
}
