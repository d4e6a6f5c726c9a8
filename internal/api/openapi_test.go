package api

import (
	"os"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// openAPIPath is the API description kept in the repository.
const openAPIPath = "../../api/openapi.yaml"

type openAPIOperation struct {
	Security *[]map[string][]string `yaml:"security"`
	Roles    []string               `yaml:"x-roles"`
}

type openAPIDoc struct {
	OpenAPI string                                 `yaml:"openapi"`
	Paths   map[string]map[string]openAPIOperation `yaml:"paths"`
}

// TestOpenAPIMatchesRoutes keeps api/openapi.yaml and the route table in step:
// same operations, same public ones, same roles.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	raw, err := os.ReadFile(openAPIPath)
	if err != nil {
		t.Fatal(err)
	}
	var doc openAPIDoc
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("%s: %v", openAPIPath, err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Fatalf("openapi version %q", doc.OpenAPI)
	}
	documented := map[string]openAPIOperation{}
	for path, ops := range doc.Paths {
		for method, op := range ops {
			switch method {
			case "get", "put", "post", "delete", "patch", "head", "options", "trace":
				documented[strings.ToUpper(method)+" "+path] = op
			}
		}
	}
	routed := map[string]bool{}
	for _, rt := range newServer(Deps{}).routes() {
		key := rt.Method + " " + rt.Pattern
		routed[key] = true
		t.Run(key, func(t *testing.T) {
			op, ok := documented[key]
			if !ok {
				t.Fatalf("route is not in %s", openAPIPath)
			}
			public := op.Security != nil && len(*op.Security) == 0
			if public != rt.Public {
				t.Errorf("public in route table %v, in OpenAPI (security: []) %v", rt.Public, public)
			}
			want := make([]string, len(rt.Roles))
			for i, r := range rt.Roles {
				want[i] = string(r)
			}
			got := slices.Clone(op.Roles)
			slices.Sort(want)
			slices.Sort(got)
			if !slices.Equal(got, want) {
				t.Errorf("x-roles %v, route table %v", got, want)
			}
		})
	}
	for key := range documented {
		if !routed[key] {
			t.Errorf("%s is documented in %s but has no route", key, openAPIPath)
		}
	}
}
