package revocation_test

import (
	"crypto/sha256"
	"crypto/x509"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tawthiq/tawthiq/internal/errkind"
	"github.com/tawthiq/tawthiq/internal/law"
	"github.com/tawthiq/tawthiq/internal/revocation"
	"github.com/tawthiq/tawthiq/internal/testpki"
)

func TestRevokeRules_L21_3_7(t *testing.T) {
	holder := revocation.Actor{ID: "holder-1", Role: revocation.RoleHolder}
	other := revocation.Actor{ID: "holder-2", Role: revocation.RoleHolder}
	officer := revocation.Actor{ID: "officer-9", Role: revocation.RoleOfficer}
	admin := revocation.Actor{ID: "admin-1", Role: revocation.RoleAdmin}
	auditor := revocation.Actor{ID: "aud", Role: "auditor"}
	tests := []struct {
		name string
		by   revocation.Actor
		req  revocation.Request
		kind errkind.Kind // 0 (Internal) means allowed
		rule law.ID
	}{
		{"holder, own, holder-request", holder, revocation.Request{Ground: law.GroundHolderRequest}, -1, ""},
		{"holder, own, key-compromise", holder, revocation.Request{Ground: law.GroundKeyCompromise}, -1, ""},
		{"holder, own, capacity-change", holder, revocation.Request{Ground: law.GroundCapacityChange}, -1, ""},
		{"holder, own, false-information", holder, revocation.Request{Ground: law.GroundFalseInformation}, errkind.Forbidden, law.L21_3_7},
		{"holder, own, cessation", holder, revocation.Request{Ground: law.GroundCessation}, errkind.Forbidden, law.L21_3_7},
		{"holder, another's", other, revocation.Request{Ground: law.GroundHolderRequest}, errkind.Forbidden, law.L21_1},
		{"holder, ca-compromise", holder, revocation.Request{Ground: law.GroundCACompromise, CA: "signature", Note: "x"}, errkind.Forbidden, law.L21_1},
		{"officer, false-information with note", officer, revocation.Request{Ground: law.GroundFalseInformation, Note: "forged ID"}, -1, ""},
		{"officer, information changed with note", officer, revocation.Request{Ground: law.GroundInformationChanged, Note: "moved"}, -1, ""},
		{"officer, cessation with note", officer, revocation.Request{Ground: law.GroundCessation, Note: "L-23 plan"}, -1, ""},
		{"officer, no note", officer, revocation.Request{Ground: law.GroundFalseInformation}, errkind.Invalid, law.L21_3_7},
		{"officer, judicial order with reference", officer, revocation.Request{Ground: law.GroundJudicialOrder, Note: "court", OrderRef: "TPI-Rabat-2026/123"}, -1, ""},
		{"officer, judicial order without reference", officer, revocation.Request{Ground: law.GroundJudicialOrder, Note: "court"}, errkind.Invalid, law.L21_3_7},
		{"officer, ca-compromise", officer, revocation.Request{Ground: law.GroundCACompromise, CA: "signature", Note: "x"}, errkind.Forbidden, law.L21_1},
		{"admin, holder-request", admin, revocation.Request{Ground: law.GroundHolderRequest, Note: "x"}, errkind.Forbidden, law.L21_3_7},
		{"auditor", auditor, revocation.Request{Ground: law.GroundHolderRequest, Note: "x"}, errkind.Forbidden, law.L21_3_7},
		{"unknown ground", officer, revocation.Request{Ground: "whim", Note: "x"}, errkind.Invalid, law.L21_3_7},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, 0)
			c := e.issue(t, "holder-1", nil, 365*24*time.Hour)
			tc.req.Serial = c.Serial
			rs, err := e.svc.Revoke(t.Context(), tc.by, tc.req)
			if tc.kind == -1 {
				must(t, err)
				rule, _ := law.LookupGround(tc.req.Ground)
				if len(rs) != 1 || rs[0].Serial != c.Serial || rs[0].Reason != rule.Reason || rs[0].RequestedBy != tc.by.ID {
					t.Fatalf("revocations %+v", rs)
				}
				got, err := e.svc.Revocation(t.Context(), c.Serial)
				must(t, err)
				if got.Ground != tc.req.Ground || got.OrderRef != tc.req.OrderRef {
					t.Fatalf("stored %+v", got)
				}
				return
			}
			wantKind(t, err, tc.kind, tc.rule)
			if _, err := e.svc.Revocation(t.Context(), c.Serial); !errkind.Is(err, errkind.NotFound) {
				t.Fatalf("refused revocation recorded: %v", err)
			}
		})
	}
}

func TestRevokeFinal_L21_rev(t *testing.T) {
	e := newEnv(t, 0)
	c := e.issue(t, "holder-1", nil, 365*24*time.Hour)
	holder := revocation.Actor{ID: "holder-1", Role: revocation.RoleHolder}
	_, err := e.svc.Revoke(t.Context(), holder, revocation.Request{Serial: c.Serial, Ground: law.GroundHolderRequest})
	must(t, err)
	_, err = e.svc.Revoke(t.Context(), holder, revocation.Request{Serial: c.Serial, Ground: law.GroundKeyCompromise})
	wantKind(t, err, errkind.Conflict, law.L21Rev)
	_, err = e.svc.Revoke(t.Context(), revocation.Actor{ID: "o", Role: revocation.RoleOfficer}, revocation.Request{Serial: c.Serial, Ground: law.GroundFalseInformation, Note: "n"})
	wantKind(t, err, errkind.Conflict, law.L21Rev)
	_, err = e.svc.RevokeWithSecret(t.Context(), c.Serial, c.Secret)
	wantKind(t, err, errkind.Conflict, law.L21Rev)
	// Un-revoking behind the service's back is refused by the database.
	_, err = e.db.SQL().ExecContext(t.Context(), "DELETE FROM revocations")
	if err == nil {
		t.Fatal("the database let a revocation be deleted")
	}
	_, err = e.svc.Revoke(t.Context(), holder, revocation.Request{Serial: "0123", Ground: law.GroundHolderRequest})
	wantKind(t, err, errkind.NotFound, "")
}

func TestRevocationTimes_L21_1(t *testing.T) {
	e := newEnv(t, 0)
	c := e.issue(t, "holder-1", nil, 365*24*time.Hour)
	e.clk.Set(start.Add(1234567 * time.Microsecond)) // sub-millisecond part to drop
	rs, err := e.svc.Revoke(t.Context(), revocation.Actor{ID: "holder-1", Role: revocation.RoleHolder},
		revocation.Request{Serial: c.Serial, Ground: law.GroundKeyCompromise})
	must(t, err)
	got, err := e.svc.Revocation(t.Context(), c.Serial)
	must(t, err)
	for name, tm := range map[string]time.Time{"requested": got.RequestedAt, "revoked": got.RevokedAt, "invalidity": got.InvalidityDate} {
		if tm.Location() != time.UTC || !tm.Equal(tm.Truncate(time.Millisecond)) || tm.IsZero() {
			t.Errorf("%s time %v is not UTC to the millisecond", name, tm)
		}
	}
	want := start.Add(1234 * time.Millisecond)
	if !got.RevokedAt.Equal(want) || !rs[0].RevokedAt.Equal(want) || !got.RequestedAt.Equal(want) {
		t.Fatalf("revoked at %v, requested at %v, want %v", got.RevokedAt, got.RequestedAt, want)
	}
	if !got.CRLPublishedAt.IsZero() {
		t.Fatal("published before any CRL")
	}
	e.clk.Advance(time.Second)
	_, err = e.svc.PublishCRL(t.Context(), "signature")
	must(t, err)
	got, err = e.svc.Revocation(t.Context(), c.Serial)
	must(t, err)
	if !got.CRLPublishedAt.Equal(want.Add(time.Second)) {
		t.Fatalf("CRL publication at %v, want %v", got.CRLPublishedAt, want.Add(time.Second))
	}
}

func TestKeyCompromiseCascade_L25(t *testing.T) {
	e := newEnv(t, 0)
	c1 := e.issue(t, "holder-1", nil, 365*24*time.Hour)
	c2 := e.issue(t, "holder-1", c1.Key, 365*24*time.Hour) // the same key, certified again
	c3 := e.issue(t, "holder-1", nil, 365*24*time.Hour)    // another key
	e.clk.Advance(time.Minute)
	inval := start.Add(-time.Hour)
	rs, err := e.svc.Revoke(t.Context(), revocation.Actor{ID: "holder-1", Role: revocation.RoleHolder},
		revocation.Request{Serial: c1.Serial, Ground: law.GroundKeyCompromise, InvalidityDate: inval})
	must(t, err)
	if len(rs) != 2 || rs[0].Serial != c1.Serial || rs[1].Serial != c2.Serial {
		t.Fatalf("revocations %+v, want %s then %s", rs, c1.Serial, c2.Serial)
	}
	for _, s := range []string{c1.Serial, c2.Serial} {
		r, err := e.svc.Revocation(t.Context(), s)
		must(t, err)
		if r.Ground != law.GroundKeyCompromise || r.Reason != law.ReasonKeyCompromise || !r.InvalidityDate.Equal(inval) {
			t.Fatalf("%s: %+v", s, r)
		}
	}
	if _, err := e.svc.Revocation(t.Context(), c3.Serial); !errkind.Is(err, errkind.NotFound) {
		t.Fatalf("a certificate of another key was revoked: %v", err)
	}
	spki := sha(t, c1)
	bad, err := e.db.KeyCompromised(t.Context(), spki)
	must(t, err)
	if !bad {
		t.Fatal("the key is not recorded as compromised (ra.Submit would accept it again)")
	}
	// An invalidity date in the future is refused.
	_, err = e.svc.Revoke(t.Context(), revocation.Actor{ID: "holder-1", Role: revocation.RoleHolder},
		revocation.Request{Serial: c3.Serial, Ground: law.GroundKeyCompromise, InvalidityDate: e.clk.Now().Add(time.Hour)})
	wantKind(t, err, errkind.Invalid, law.L21_1)
}

func TestRevokeWithSecret_L21_1(t *testing.T) {
	e := newEnv(t, 0)
	c := e.issue(t, "holder-1", nil, 365*24*time.Hour)
	d := e.issue(t, "holder-1", nil, 365*24*time.Hour)
	_, err := e.svc.RevokeWithSecret(t.Context(), c.Serial, "AAAAAAAAAAAAAAAAAAAAAAAAAA")
	wantKind(t, err, errkind.Unauthorized, law.L21_1)
	_, err = e.svc.RevokeWithSecret(t.Context(), c.Serial, d.Secret) // another certificate's secret
	wantKind(t, err, errkind.Unauthorized, law.L21_1)
	_, err = e.svc.RevokeWithSecret(t.Context(), "0123", c.Secret) // unknown serial: the same answer
	wantKind(t, err, errkind.Unauthorized, law.L21_1)
	if _, err := e.svc.Revocation(t.Context(), c.Serial); !errkind.Is(err, errkind.NotFound) {
		t.Fatal("a wrong secret revoked")
	}
	// As the holder may type it: lower case, grouped with dashes.
	typed := strings.ToLower(c.Secret[:5] + "-" + c.Secret[5:])
	rs, err := e.svc.RevokeWithSecret(t.Context(), c.Serial, typed)
	must(t, err)
	if rs[0].Ground != law.GroundHolderRequest || rs[0].RequestedBy != revocation.RequestedBySecret {
		t.Fatalf("revocation %+v", rs[0])
	}
}

func TestCACompromise_L21_1(t *testing.T) {
	e := newEnv(t, 0)
	a := e.issue(t, "holder-1", nil, 365*24*time.Hour)
	b := e.issue(t, "holder-2", nil, 365*24*time.Hour)
	_, err := e.svc.Revoke(t.Context(), revocation.Actor{ID: "holder-1", Role: revocation.RoleHolder},
		revocation.Request{Serial: a.Serial, Ground: law.GroundHolderRequest})
	must(t, err)
	admin := revocation.Actor{ID: "admin-1", Role: revocation.RoleAdmin}
	_, err = e.svc.Revoke(t.Context(), admin, revocation.Request{Ground: law.GroundCACompromise, CA: "nope", Note: "x"})
	wantKind(t, err, errkind.NotFound, law.L21_1)
	rs, err := e.svc.Revoke(t.Context(), admin, revocation.Request{Ground: law.GroundCACompromise, CA: "signature", Note: "HSM breach"})
	must(t, err)
	if len(rs) != 1 || rs[0].Serial != b.Serial || rs[0].Reason != law.ReasonCACompromise {
		t.Fatalf("revocations %+v, want only %s (the other was already revoked)", rs, b.Serial)
	}
	e.clk.Advance(time.Second)
	crls, err := e.svc.PublishCRL(t.Context(), "signature")
	must(t, err) // cACompromise passes the CRL lints (acknowledged CA/B Forum TLS list)
	text := opensslCRLText(t, e, crls[0].DER)
	if !strings.Contains(text, "CA Compromise") {
		t.Fatalf("no CA Compromise reason:\n%s", text)
	}
}

func sha(t *testing.T, c issued) []byte {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(c.Key.Public())
	must(t, err)
	h := sha256.Sum256(der)
	return h[:]
}

// opensslCRLText verifies a CRL with openssl against the CA and returns its text.
func opensslCRLText(t *testing.T, e *env, der []byte) string {
	t.Helper()
	dir := t.TempDir()
	crl := filepath.Join(dir, "x.crl")
	must(t, os.WriteFile(crl, der, 0o600))
	caPEM := testpki.WritePEM(t, dir, "ca.pem", "CERTIFICATE", e.ca.Signature.Cert.Raw)
	out := testpki.OpenSSL(t, "crl", "-inform", "DER", "-in", crl, "-CAfile", caPEM, "-noout", "-verify")
	if !strings.Contains(out, "verify OK") {
		t.Fatalf("openssl crl -verify: %s", out)
	}
	return testpki.OpenSSL(t, "crl", "-inform", "DER", "-in", crl, "-noout", "-text")
}
