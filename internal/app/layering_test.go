package app

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
)

// TestImportRule checks DESIGN.md's rule that imports point down only.
func TestImportRule(t *testing.T) {
	const mod = "github.com/tawthiq/tawthiq/"
	out, err := exec.Command("go", "list", "-json=ImportPath,Imports", mod+"...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	layer := func(p string) string {
		p = strings.TrimPrefix(p, mod)
		switch {
		case p == "client", p == "internal/law", p == "internal/clock", p == "internal/errkind":
			return "leaf"
		case p == "cmd/tawthiq":
			return "cmd"
		case p == "internal/app":
			return "app"
		case strings.HasPrefix(p, "internal/api"), strings.HasPrefix(p, "internal/web"), strings.HasPrefix(p, "internal/store"):
			return "adapter"
		case p == "internal/config", p == "internal/testpki":
			return "support"
		}
		for _, m := range []string{"keys", "lint", "issuance", "signature", "timestamp", "validation", "trustlist", "evidence"} {
			if p == "internal/"+m || strings.HasPrefix(p, "internal/"+m+"/") {
				return "mechanism"
			}
		}
		return "service"
	}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	checked := 0
	for dec.More() {
		var pkg struct {
			ImportPath string
			Imports    []string
		}
		if err := dec.Decode(&pkg); err != nil {
			t.Fatal(err)
		}
		from := layer(pkg.ImportPath)
		for _, imp := range pkg.Imports {
			if !strings.HasPrefix(imp, mod) {
				switch {
				case from == "leaf" && strings.Contains(strings.SplitN(imp, "/", 2)[0], ".") && !strings.HasPrefix(imp, "golang.org/x/"):
					t.Errorf("leaf %s imports %s: leaves use the standard library and golang.org/x only", pkg.ImportPath, imp)
				case from == "mechanism" && (imp == "net/http" || imp == "database/sql"):
					t.Errorf("mechanism %s imports %s: mechanisms use no database and no net/http", pkg.ImportPath, imp)
				}
				continue
			}
			to := layer(imp)
			bad := false
			switch from {
			case "leaf":
				bad = to != "leaf"
			case "mechanism":
				bad = to != "leaf" && to != "mechanism"
			case "service":
				bad = to == "adapter" || to == "app" || to == "cmd"
			case "adapter":
				// api, web and store import services, never each other (their own subpackages excepted).
				bad = to == "app" || to == "cmd" || (to == "adapter" && !sameRoot(pkg.ImportPath, imp))
			case "cmd":
				bad = imp != mod+"internal/app" && imp != mod+"client"
			case "support":
				bad = to == "app" || to == "cmd" || to == "adapter"
			}
			if bad {
				t.Errorf("%s (%s) imports %s (%s): imports point down only (DESIGN.md)", pkg.ImportPath, from, imp, to)
			}
			checked++
		}
	}
	if checked == 0 {
		t.Fatal("no project imports seen: go list returned nothing useful")
	}
}

func sameRoot(a, b string) bool {
	root := func(p string) string {
		parts := strings.Split(p, "/")
		if len(parts) > 4 {
			return strings.Join(parts[:5], "/")
		}
		return p
	}
	return root(a) == root(b)
}
