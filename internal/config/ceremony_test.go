package config

import (
	"encoding/asn1"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

func TestDemoCeremonyValidates(t *testing.T) {
	c := DemoCeremony()
	if err := c.Validate(); err != nil {
		t.Fatalf("DemoCeremony does not validate: %v", err)
	}
	// The demo's policy OID must survive DER encoding, where a certificate carries it.
	oid, err := ParseOID(c.CSP.PolicyOID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := asn1.Marshal(oid); err != nil {
		t.Fatalf("demo policy OID %s does not encode: %v", oid, err)
	}
}

// authority returns the index of the named authority in c.
func authority(t *testing.T, c *Ceremony, name string) *AuthoritySpec {
	t.Helper()
	for i := range c.Authorities {
		if c.Authorities[i].Name == name {
			return &c.Authorities[i]
		}
	}
	t.Fatalf("no authority %q in the demo ceremony", name)
	return nil
}

func TestCeremonyValidate(t *testing.T) {
	tests := []struct {
		name    string
		mutate  func(t *testing.T, c *Ceremony)
		wantErr []string // the one refusal must contain each
		wantN   int      // number of refusals; 0 means 1
	}{
		{"missing name", func(t *testing.T, c *Ceremony) { c.CSP.Name = "" }, []string{"csp.name", "L-11 b"}, 0},
		{"organization identifier without prefix", func(t *testing.T, c *Ceremony) { c.CSP.OrganizationIdentifier = "123456" },
			[]string{"csp.organization_identifier", `"123456"`}, 0},
		{"organization identifier of a natural person", func(t *testing.T, c *Ceremony) { c.CSP.OrganizationIdentifier = "IDCMA-AB1" },
			[]string{"csp.organization_identifier"}, 0},
		{"policy OID with one arc", func(t *testing.T, c *Ceremony) { c.CSP.PolicyOID = "2" }, []string{"csp.policy_oid", "two arcs"}, 0},
		{"policy OID not numeric", func(t *testing.T, c *Ceremony) { c.CSP.PolicyOID = "2.16.x.1" }, []string{"csp.policy_oid", `arc "x"`}, 0},
		{"policy OID missing", func(t *testing.T, c *Ceremony) { c.CSP.PolicyOID = "" }, []string{"csp.policy_oid"}, 0},
		{"PDS over http", func(t *testing.T, c *Ceremony) { c.CSP.PDS["fr"] = "http://example.ma/pds-fr" }, []string{"csp.pds.fr", "https"}, 0},
		{"PDS language missing", func(t *testing.T, c *Ceremony) { delete(c.CSP.PDS, "ar") }, []string{"csp.pds.ar", "L-21-3-4"}, 0},
		{"no PDS", func(t *testing.T, c *Ceremony) { c.CSP.PDS = nil }, []string{"csp.pds.ar", "csp.pds.fr", "csp.pds.en"}, 3},
		{"missing audit key", func(t *testing.T, c *Ceremony) { c.AuditKey = "" }, []string{"audit_key", "L-21-2"}, 0},
		{"missing terms version", func(t *testing.T, c *Ceremony) { c.Terms.Version = "" }, []string{"terms.version", "L-21-3-3"}, 0},
		{"blank terms text", func(t *testing.T, c *Ceremony) { c.Terms.Text = " \n\t" }, []string{"terms.text"}, 0},
		{"duplicate authority name", func(t *testing.T, c *Ceremony) { authority(t, c, "tsa").Name = "seal" },
			[]string{"authorities[5] (seal)", "name used twice"}, 0},
		{"authority name with a slash", func(t *testing.T, c *Ceremony) {
			authority(t, c, "tsa").Name = "../tsa"
		}, []string{"authorities[5] (../tsa)", "simple word"}, 0},
		{"unknown role", func(t *testing.T, c *Ceremony) { authority(t, c, "tsa").Role = "timestamp" },
			[]string{"authorities[5] (tsa)", `role "timestamp"`}, 0},
		{"parent listed after child", func(t *testing.T, c *Ceremony) {
			a := c.Authorities
			a[1], a[3] = a[3], a[1] // ocsp-signature now comes before signature
		}, []string{"authorities[1] (ocsp-signature)", `parent "signature" must be listed before it`}, 0},
		{"unknown parent", func(t *testing.T, c *Ceremony) { authority(t, c, "seal").Parent = "nowhere" },
			[]string{"authorities[2] (seal)", `parent "nowhere"`}, 0},
		{"parent not a CA", func(t *testing.T, c *Ceremony) { authority(t, c, "tsa").Parent = "ocsp-seal" },
			[]string{"authorities[5] (tsa)", `parent "ocsp-seal" is not a CA`}, 0},
		{"root with a parent", func(t *testing.T, c *Ceremony) {
			c.Authorities = append(c.Authorities, AuthoritySpec{Name: "root2", Role: "root", Parent: "root",
				CommonName: "R2", Key: "file:keys/r2.key", Algorithm: "ecdsa-p384", ValidityYears: 20})
		}, []string{"authorities[6] (root2)", "a root has no parent"}, 0},
		{"no root", func(t *testing.T, c *Ceremony) { c.Authorities = c.Authorities[1:2]; c.Authorities[0].Parent = "" },
			[]string{"authorities[0] (signature)", "authorities: a root is required"}, 2},
		{"no authorities", func(t *testing.T, c *Ceremony) { c.Authorities = nil }, []string{"a root is required"}, 0},
		{"missing key", func(t *testing.T, c *Ceremony) { authority(t, c, "signature").Key = "" },
			[]string{"authorities[1] (signature)", "common_name, key and algorithm are required"}, 0},
		{"missing common name", func(t *testing.T, c *Ceremony) { authority(t, c, "root").CommonName = "" },
			[]string{"authorities[0] (root)", "common_name"}, 0},
		{"validity zero", func(t *testing.T, c *Ceremony) { authority(t, c, "tsa").ValidityYears = 0 },
			[]string{"authorities[5] (tsa)", "validity_years 0 out of 1..30"}, 0},
		{"validity 31", func(t *testing.T, c *Ceremony) { authority(t, c, "root").ValidityYears = 31 },
			[]string{"authorities[0] (root)", "validity_years 31 out of 1..30"}, 0},
		{"validity 30 accepted", func(t *testing.T, c *Ceremony) { authority(t, c, "root").ValidityYears = 30 }, nil, 0},
		{"VAT identifier accepted", func(t *testing.T, c *Ceremony) { c.CSP.OrganizationIdentifier = "VATMA-1234" }, nil, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := DemoCeremony()
			tc.mutate(t, &c)
			err := c.Validate()
			if len(tc.wantErr) == 0 {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate accepted the ceremony, want %q", tc.wantErr)
			}
			for _, w := range tc.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			want := max(tc.wantN, 1)
			var joined interface{ Unwrap() []error }
			if !errors.As(err, &joined) || len(joined.Unwrap()) != want {
				t.Errorf("got refusals %q, want exactly %d", err, want)
			}
		})
	}
}

func TestLoadCeremony(t *testing.T) {
	dir := t.TempDir()
	good, err := yaml.Marshal(DemoCeremony())
	if err != nil {
		t.Fatal(err)
	}
	bad := DemoCeremony()
	bad.AuditKey = ""
	badYAML, err := yaml.Marshal(bad)
	if err != nil {
		t.Fatal(err)
	}
	nested := []byte(strings.Replace(string(good), "- name: root\n", "- name: root\n      curve: p384\n", 1))
	if string(nested) == string(good) {
		t.Fatal("the marshalled demo has no root authority to add a key to")
	}
	tests := []struct {
		name    string
		body    []byte
		wantErr []string
	}{
		{"demo round-trips", good, nil},
		{"unknown key", append([]byte("extra_ca: yes\n"), good...), []string{"unknown.yaml", "extra_ca"}},
		{"unknown nested key", nested, []string{"curve"}},
		{"invalid ceremony", badYAML, []string{"invalid.yaml", "audit_key is required"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			name := map[string]string{"unknown key": "unknown.yaml", "invalid ceremony": "invalid.yaml"}[tc.name]
			if name == "" {
				name = "c.yaml"
			}
			path := filepath.Join(dir, name)
			if err := os.WriteFile(path, tc.body, 0o600); err != nil {
				t.Fatal(err)
			}
			c, err := LoadCeremony(path)
			if len(tc.wantErr) == 0 {
				if err != nil {
					t.Fatalf("LoadCeremony: %v", err)
				}
				if !reflect.DeepEqual(c, DemoCeremony()) {
					t.Fatalf("LoadCeremony = %+v, want the demo", c)
				}
				return
			}
			if err == nil {
				t.Fatal("LoadCeremony accepted the file")
			}
			for _, w := range tc.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not name %q", err, w)
				}
			}
		})
	}
	t.Run("missing file", func(t *testing.T) {
		if _, err := LoadCeremony(filepath.Join(dir, "absent.yaml")); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("LoadCeremony error = %v, want os.ErrNotExist", err)
		}
	})
}

func TestParseOID(t *testing.T) {
	tests := []struct {
		in      string
		want    asn1.ObjectIdentifier
		wantErr string
	}{
		{"2.16.504.99.1.1", asn1.ObjectIdentifier{2, 16, 504, 99, 1, 1}, ""},
		{"0.4.0.194112.1.2", asn1.ObjectIdentifier{0, 4, 0, 194112, 1, 2}, ""},
		{"1.3", asn1.ObjectIdentifier{1, 3}, ""},
		{"2.999", asn1.ObjectIdentifier{2, 999}, ""},
		{"", nil, "at least two arcs"},
		{"2", nil, "at least two arcs"},
		{"2..1", nil, `arc ""`},
		{"2.16.", nil, `arc ""`},
		{".2.16", nil, `arc ""`},
		{"2.-1", nil, `arc "-1"`},
		{"2.+1", nil, `arc "+1"`},
		{"2. 1", nil, `arc " 1"`},
		{"2.16.abc", nil, `arc "abc"`},
		{"2.99999999999999999999999", nil, "arc"},
		{"3.1", nil, "arcs 3.1 are not allowed"},
		{"1.40", nil, "arcs 1.40 are not allowed"},
		{"0.39", asn1.ObjectIdentifier{0, 39}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseOID(tc.in)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("ParseOID(%q) = %v, %v; want error %q", tc.in, got, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseOID(%q): %v", tc.in, err)
			}
			if !got.Equal(tc.want) {
				t.Fatalf("ParseOID(%q) = %v, want %v", tc.in, got, tc.want)
			}
			if got.String() != tc.in {
				t.Errorf("ParseOID(%q).String() = %q", tc.in, got.String())
			}
			// Whatever ParseOID accepts must be encodable into a certificate.
			if _, err := asn1.Marshal(got); err != nil {
				t.Errorf("accepted OID %s does not DER-encode: %v", got, err)
			}
		})
	}
}
