package render

import (
	"bytes"
	"html/template"
	"io"
)

// pageHTML is self-contained: inline CSS, no script, no external resource, so that
// the page can be archived with the evidence and opened offline. Values sit in
// <bdi> so that a Latin name keeps its direction in Arabic text and vice versa.
const pageHTML = `<!DOCTYPE html>
<html lang="{{.Lang}}" dir="{{.Dir}}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title>
<style>
body{font-family:"DejaVu Sans","Noto Naskh Arabic","Noto Sans",Arial,sans-serif;max-width:52rem;margin:1.5rem auto;padding:0 1rem;color:#1a1a1a;line-height:1.5}
h1{font-size:1.5rem;margin-bottom:.5rem}
h2{font-size:1.2rem;margin-top:2rem;border-bottom:1px solid #ccc}
h3{font-size:1rem;margin:1.2rem 0 .3rem}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.2rem 1rem;margin:0}
dt{font-weight:bold;color:#444}
dd{margin:0;overflow-wrap:anywhere}
code{font-family:"DejaVu Sans Mono",monospace;font-size:.9em}
.summary{padding:.8rem 1rem;border-inline-start:.4rem solid;margin:.8rem 0;font-size:1.05rem}
.good{border-color:#1b7f3b;background:#eaf6ee}
.bad{border-color:#b3261e;background:#fcecea}
.unknown{border-color:#b26a00;background:#fff4e0}
li.good,li.bad{border-inline-start:.25rem solid;padding:.2rem .5rem;margin:.3rem 0;list-style:none}
.detail{color:#555;font-size:.9em}
footer{margin-top:2rem;color:#666;font-size:.85em}
</style>
</head>
<body>
<h1>{{.Title}}</h1>
<section>
<h2>{{.Document}}</h2>
{{template "fields" .DocFields}}
{{- if .Notes}}
<h3>{{.NotesTitle}}</h3>
<ul>{{range .Notes}}<li><bdi>{{.}}</bdi></li>{{end}}</ul>
{{- end}}
{{- if .NoSignatures}}
<p>{{.NoSignatures}}</p>
{{- end}}
</section>
{{- range .Signatures}}
<section>
<h2>{{.Heading}}</h2>
<p class="summary {{.Tone}}">{{.Summary}}</p>
{{- range .Sections}}
<h3>{{.Title}}</h3>
{{- if .Text}}
<p>{{.Text}}</p>
{{- end}}
{{- if .Fields}}
{{template "fields" .Fields}}
{{- end}}
{{- if .Items}}
<ul>
{{- range .Items}}
<li{{if .Tone}} class="{{.Tone}}"{{end}}>{{if .Head}}<strong>{{.Head}}</strong><br>{{.Text}}{{if .Detail}}<br><span class="detail">{{.Detail}}</span>{{end}}{{else}}<bdi>{{.Text}}</bdi>{{end}}</li>
{{- end}}
</ul>
{{- end}}
{{- end}}
</section>
{{- end}}
<footer>{{.Footer}}</footer>
</body>
</html>
{{define "fields"}}<dl>
{{- range .}}
<dt>{{.Label}}</dt><dd><bdi>{{if .Code}}<code>{{.Value}}</code>{{else}}{{.Value}}{{end}}</bdi>{{if .Meaning}} — {{.Meaning}}{{end}}</dd>
{{- end}}
</dl>{{end}}
`

// pageTemplate parses once per call: a page is rendered rarely and a package-level
// template would be mutable shared state.
func pageTemplate() (*template.Template, error) {
	return template.New("page").Parse(pageHTML)
}

// HTML writes d's reports as one self-contained HTML page in lang ("ar", "fr" or "en");
// Arabic pages are laid out right to left.
func HTML(w io.Writer, d Document, lang string) error {
	p, err := buildPage(d, lang)
	if err != nil {
		return err
	}
	tmpl, err := pageTemplate()
	if err != nil {
		return err
	}
	// Render fully before writing, so that a failure leaves w without half a page.
	var buf bytes.Buffer
	if err := tmpl.Execute(&buf, p); err != nil {
		return err
	}
	_, err = w.Write(buf.Bytes())
	return err
}
