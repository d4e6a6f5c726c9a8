package render

import (
	"bytes"
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/tawthiq/tawthiq/internal/law"
	"github.com/tawthiq/tawthiq/internal/validation"
)

// constantsOf reads the validation package's source (report.go and its siblings) and
// returns the values of the constants declared with the given type: a code added
// there without words here fails this test instead of reaching a page unexplained.
func constantsOf(t *testing.T, typeName string) []string {
	t.Helper()
	files, err := filepath.Glob("../*.go")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, name := range files {
		if !strings.HasSuffix(name, "_test.go") {
			out = append(out, constantsIn(t, name, typeName)...)
		}
	}
	if len(out) == 0 {
		t.Fatalf("no %s constants found in the validation package", typeName)
	}
	return out
}

func constantsIn(t *testing.T, name, typeName string) []string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), name, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, d := range f.Decls {
		gd, ok := d.(*ast.GenDecl)
		if !ok || gd.Tok != token.CONST {
			continue
		}
		for _, s := range gd.Specs {
			vs := s.(*ast.ValueSpec)
			if id, ok := vs.Type.(*ast.Ident); !ok || id.Name != typeName {
				continue
			}
			for _, v := range vs.Values {
				lit, ok := v.(*ast.BasicLit)
				if !ok || lit.Kind != token.STRING {
					t.Fatalf("%s constant %v is not a string literal", typeName, v)
				}
				s, _ := strconv.Unquote(lit.Value)
				out = append(out, s)
			}
		}
	}
	return out
}

func TestEveryCodeHasPlainWords(t *testing.T) {
	subs := constantsOf(t, "SubIndication")
	if len(subs) < 13 {
		t.Fatalf("found only %d sub-indications: %v", len(subs), subs)
	}
	inds := constantsOf(t, "Indication")
	sources := constantsOf(t, "TimeSource")
	for _, lang := range Languages() {
		tx := catalog[lang]
		for _, s := range subs {
			if tx.SubIndication[validation.SubIndication(s)] == "" {
				t.Errorf("%s: sub-indication %s has no plain-words explanation", lang, s)
			}
		}
		for _, s := range inds {
			if tx.Indication[validation.Indication(s)] == "" {
				t.Errorf("%s: indication %s has no plain-words explanation", lang, s)
			}
		}
		for _, s := range sources {
			if tx.TimeSource[validation.TimeSource(s)] == "" {
				t.Errorf("%s: time source %s has no plain-words explanation", lang, s)
			}
		}
		if len(tx.SubIndication) != len(subs) {
			t.Errorf("%s: %d sub-indication texts for %d constants: a text for an unknown code", lang, len(tx.SubIndication), len(subs))
		}
	}
}

var verb = regexp.MustCompile(`%\[\d\][sd]`)

// TestTablesComplete checks that no language lacks a string, and that every template
// takes the same arguments as the English one.
func TestTablesComplete(t *testing.T) {
	if got := slices.Sorted(func(yield func(string) bool) {
		for k := range catalog {
			if !yield(k) {
				return
			}
		}
	}); !slices.Equal(got, slices.Sorted(slices.Values(Languages()))) {
		t.Fatalf("catalog has %v, Languages says %v", got, Languages())
	}
	en := reflect.ValueOf(textEN)
	for _, lang := range Languages() {
		v := reflect.ValueOf(*catalog[lang])
		for i := 0; i < v.NumField(); i++ {
			name := v.Type().Field(i).Name
			f := v.Field(i)
			if f.Kind() != reflect.String {
				continue
			}
			if f.String() == "" {
				t.Errorf("%s: %s is empty", lang, name)
			}
			want := slices.Sorted(slices.Values(verb.FindAllString(en.Field(i).String(), -1)))
			got := slices.Sorted(slices.Values(verb.FindAllString(f.String(), -1)))
			if !slices.Equal(got, want) {
				t.Errorf("%s: %s takes %v, English takes %v", lang, name, got, want)
			}
			if strings.Count(f.String(), "%") != len(got) {
				t.Errorf("%s: %s has a %% that is not an indexed verb", lang, name)
			}
		}
		for _, id := range []law.ID{law.L417_2, law.L20, law.L417_3, law.L425} {
			r := catalog[lang].Rules[id]
			if r.Cite == "" || r.Holds == "" || r.HoldsNot == "" {
				t.Errorf("%s: rule %s lacks words", lang, id)
			}
		}
	}
}

func TestUnknownLanguage(t *testing.T) {
	for name, render := range map[string]func(*bytes.Buffer) error{
		"HTML": func(b *bytes.Buffer) error { return HTML(b, sampleDocument(), "de") },
		"PDF":  func(b *bytes.Buffer) error { return PDF(b, sampleDocument(), "de") },
	} {
		var b bytes.Buffer
		err := render(&b)
		if err == nil || !strings.Contains(err.Error(), `"de"`) || !strings.Contains(err.Error(), "ar, fr, en") {
			t.Errorf("%s: err = %v, want one naming de and the supported languages", name, err)
		}
		if b.Len() != 0 {
			t.Errorf("%s wrote %d bytes before failing", name, b.Len())
		}
	}
}
