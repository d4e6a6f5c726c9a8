package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestContractCLIRefusals: the contract commands reach the API and turn its
// problems into one line naming the rule: an excluded category (L-2-1), an
// unknown offer or order, a draft without lines.
func TestContractCLIRefusals(t *testing.T) {
	srv := startServer(t)
	t.Setenv("TAWTHIQ_TOKEN", srv.adminToken)
	out, err := cli("user", "add", "--name", "Karim Souk", "--role", "holder", "--id-number", "BK100001", "--server", srv.base)
	if err != nil {
		t.Fatalf("user add: %v\n%s", err, out)
	}
	t.Setenv("TAWTHIQ_TOKEN", strings.TrimSpace(strings.TrimPrefix(out[strings.Index(out, "token "):], "token ")))
	offer := filepath.Join(t.TempDir(), "offer.json")
	if err := os.WriteFile(offer, []byte(`{"title": "Acte de mariage", "category": "family-code", "seal": "souk",
		"items": {"characteristics": "c", "conditions": "c", "steps": "s", "error_correction": "e", "languages": ["ar"], "archiving": "a", "rules": "none"},
		"lines": [{"sku": "A", "name": "Acte", "unit_price_centimes": 100}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"offer", "publish", offer}, "L-2-1: DOC 2-1: documents applying the Family Code"},
		{[]string{"offer", "show", "ofr_nosuch"}, "no offer"},
		{[]string{"order", "draft", "--offer", "ofr_nosuch", "--line", "A=1"}, "no offer"},
		{[]string{"order", "draft", "--offer", "ofr_nosuch", "--line", "A"}, "SKU=QUANTITY"},
		{[]string{"order", "confirm", "ord_nosuch", "--review-sha256", "00"}, "no order"},
		{[]string{"original", "get", "ord_nosuch"}, "no order"},
	} {
		out, err := cli(append(c.args, "--server", srv.base)...)
		if err == nil || !strings.Contains(oneLine(err), c.want) {
			t.Errorf("tawthiq %s: %v (out %q), want an error with %q", strings.Join(c.args, " "), err, out, c.want)
		}
	}
}
