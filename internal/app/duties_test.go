package app

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tawthiq/tawthiq/client"
	"github.com/tawthiq/tawthiq/internal/law"
)

func wantRule(t *testing.T, err error, status int, rule law.ID) {
	t.Helper()
	p, ok := err.(*client.Problem)
	if !ok || p.Status != status || p.Rule != string(rule) {
		t.Fatalf("got %v, want a %d problem naming %s", err, status, rule)
	}
}

// TestDuties runs the CSP's duties end to end on one demo server: the demo insurance,
// breach notices, a holder's data change and the revoked-key rule, then a CA compromise.
func TestDuties(t *testing.T) {
	ctx := context.Background()
	e := startEnv(t, filepath.Join(t.TempDir(), "data"), "")

	t.Run("demo insurance covers issuance_L21_3_6", func(t *testing.T) {
		st, err := e.admin.InsuranceStatus(ctx)
		if err != nil || !st.Covered || !st.Required || st.Current == nil || st.Warning != "" || st.WarningDays != 60 {
			t.Fatalf("insurance status %+v, %v", st, err)
		}
	})

	s1, _, h1 := issueOne(t, e, "BR111111")
	s2, _, h2 := issueOne(t, e, "BR222222")
	officer, _ := e.user(t, "Security Officer", "ra-officer", "SO000001")

	t.Run("breach notices_L24", func(t *testing.T) {
		req := client.BreachRequest{Kind: "data-leak", Description: "registration files copied by a contractor",
			DetectedAt: client.Timestamp{Time: time.Now().Add(-time.Hour)}, Certificates: []string{s1, s2},
			Holders: []client.BreachHolder{
				{HolderID: h1, Harm: true, Assessment: "identity document scan exposed"},
				{HolderID: h2, Harm: false, Assessment: "only the certificate, already public"},
			}}
		out, err := officer.RecordBreach(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		if !out.AuthorityQueued || out.HolderNotices != 1 || len(out.Revoked) != 0 {
			t.Fatalf("outcome %+v: want the authority told, one harmed holder told, nothing revoked", out)
		}
		again, err := officer.ResumeBreach(ctx, out.Breach.ID)
		if err != nil || again.AuthorityQueued || again.HolderNotices != 0 {
			t.Fatalf("resume queued again: %+v, %v", again, err)
		}
		b, err := e.admin.Breach(ctx, out.Breach.ID)
		if err != nil {
			t.Fatal(err)
		}
		kinds := map[string]int{}
		for _, n := range b.Notices {
			kinds[n.Kind]++
			if n.Kind == "breach-holder" && n.Recipient != h1 {
				t.Errorf("a holder notice went to %s, not the harmed holder", n.Recipient)
			}
		}
		if len(b.Notices) != 2 || kinds["breach-authority"] != 1 || kinds["breach-holder"] != 1 {
			t.Fatalf("notices %+v: want one to the authority and one to the harmed holder", b.Notices)
		}
	})

	t.Run("data change revokes untrue certificate_L25_L21_3_7", func(t *testing.T) {
		serial, _, holderID := issueOne(t, e, "DC333333")
		holder := holderClient(t, e, holderID)
		rep, err := holder.ReportDataChange(ctx, serial, client.DataChangeRequest{Field: "name", NewValue: "Amina Bennani",
			EvidenceSHA256: hexSum("marriage certificate")})
		if err != nil || rep.Status != "pending" {
			t.Fatalf("report: %+v, %v", rep, err)
		}
		_, err = holder.ReportDataChange(ctx, s1, client.DataChangeRequest{Field: "name", NewValue: "X", EvidenceSHA256: hexSum("x")})
		wantRule(t, err, 404, law.L25)
		q, err := officer.DataChanges(ctx, "pending")
		if err != nil || len(q) != 1 || q[0].ID != rep.ID {
			t.Fatalf("queue %+v, %v", q, err)
		}
		d, err := officer.ReviewDataChange(ctx, rep.ID, client.DataChangeReview{StillTrue: false, Note: "surname changed by marriage"})
		if err != nil || d.DataChange.Status != "revoked" || len(d.Revoked) != 1 {
			t.Fatalf("review: %+v, %v", d, err)
		}
		rv, err := officer.Revocation(ctx, serial)
		if err != nil || rv.Ground != string(law.GroundInformationChanged) {
			t.Fatalf("revocation %+v, %v; want ground %s", rv, err, law.GroundInformationChanged)
		}
		_, err = officer.ReviewDataChange(ctx, rep.ID, client.DataChangeReview{StillTrue: true, Note: "again"})
		wantRule(t, err, 409, law.L25)
	})

	t.Run("revoked key never certified again_L25", func(t *testing.T) {
		key := p256(t)
		csr := newCSR(t, key, "Holder")
		serial, _, holderID := issueFor(t, e, "RK444444", csr)
		holder := holderClient(t, e, holderID)
		// A revocation on the holder's own request, not for compromise: the key is still barred.
		if _, err := holder.Revoke(ctx, serial, client.RevocationRequest{Ground: string(law.GroundHolderRequest)}); err != nil {
			t.Fatal(err)
		}
		_, err := holder.SubmitApplication(ctx, application(t, holder, "RK444444", csr))
		wantRule(t, err, 400, law.L25)
	})

	t.Run("holder key compromise revokes his certificate_L25", func(t *testing.T) {
		serial, _, holderID := issueOne(t, e, "KC555555")
		_, err := e.admin.RecordBreach(ctx, client.BreachRequest{Kind: "key-compromise", Description: "token stolen",
			DetectedAt: client.Timestamp{Time: time.Now()}, Certificates: []string{serial}})
		wantRule(t, err, 403, law.L21_3_7)
		out, err := officer.RecordBreach(ctx, client.BreachRequest{Kind: "key-compromise", Description: "token stolen",
			DetectedAt: client.Timestamp{Time: time.Now().Add(-time.Minute)}, Certificates: []string{serial},
			Holders: []client.BreachHolder{{HolderID: holderID, Harm: true, Assessment: "signatures in his name may be forged"}}})
		if err != nil || len(out.Revoked) != 1 || out.Revoked[0].Serial != serial || out.Revoked[0].Ground != string(law.GroundKeyCompromise) {
			t.Fatalf("outcome %+v, %v: want %s revoked for key compromise", out, err, serial)
		}
		ns, err := holderClient(t, e, holderID).BreachNotices(ctx)
		if err != nil || len(ns) != 1 || ns[0].Ref != out.Breach.ID {
			t.Fatalf("holder's breach notices %+v, %v", ns, err)
		}
	})

	t.Run("CA key compromise revokes every certificate of the CA_L21_1", func(t *testing.T) {
		_, err := officer.RecordBreach(ctx, client.BreachRequest{Kind: "key-compromise", Description: "issuing CA key exposed",
			DetectedAt: client.Timestamp{Time: time.Now()}, CAs: []string{"signature"}})
		wantRule(t, err, 403, law.L21_1)
		out, err := e.admin.RecordBreach(ctx, client.BreachRequest{Kind: "key-compromise", Description: "issuing CA key exposed",
			DetectedAt: client.Timestamp{Time: time.Now()}, CAs: []string{"signature"}})
		if err != nil {
			t.Fatal(err)
		}
		// s1 and s2 were still valid; the data-change and revoked-key certificates were revoked before.
		got := map[string]string{}
		for _, r := range out.Revoked {
			got[r.Serial] = r.Ground
		}
		if len(got) != 2 || got[s1] != string(law.GroundCACompromise) || got[s2] != string(law.GroundCACompromise) {
			t.Fatalf("revoked %v: want %s and %s on ground %s", got, s1, s2, law.GroundCACompromise)
		}
		again, err := e.admin.ResumeBreach(ctx, out.Breach.ID)
		if err != nil || len(again.Revoked) != 0 {
			t.Fatalf("resume revoked again: %+v, %v", again, err)
		}
		rv, err := officer.Revocation(ctx, s1)
		if err != nil || !strings.EqualFold(rv.Ground, string(law.GroundCACompromise)) {
			t.Fatalf("revocation of %s: %+v, %v", s1, rv, err)
		}
	})
}

// holderClient issues a fresh token for an existing holder.
func holderClient(t *testing.T, e *testEnv, userID string) *client.Client {
	t.Helper()
	tok, err := e.admin.IssueToken(context.Background(), userID, 0)
	if err != nil {
		t.Fatal(err)
	}
	return client.New(e.base, tok.Token, nil)
}
