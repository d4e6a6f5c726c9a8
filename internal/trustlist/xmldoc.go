package trustlist

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"strings"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"

	"github.com/tawthiq/tawthiq/internal/errkind"
	"github.com/tawthiq/tawthiq/internal/law"
)

// MaxListSize bounds the lists Load reads: the largest national lists are a few megabytes.
const MaxListSize = 32 << 20

// Shape limits far above any real list (about 16 levels, a dozen namespaces):
// name lookups walk up the tree and the canonicaliser copies the namespaces in
// scope at every element, so depth and scope bound the work per element.
const (
	maxDepth             = 64
	maxNamespacesInScope = 64
)

// parseDoc reads a document strictly: UTF-8 only, no DTD, no processing
// instructions but the XML declaration, no duplicate attributes. Anything a
// canonicaliser might read differently from us is refused rather than guessed.
func parseDoc(b []byte, rule law.ID) (*etree.Document, error) {
	if len(b) > MaxListSize {
		return nil, errkind.New(errkind.TooLarge, rule, "the trusted list is over %d bytes", MaxListSize)
	}
	refuseCharset := func(charset string, _ io.Reader) (io.Reader, error) {
		return nil, errors.New("encoding " + charset + " is not UTF-8")
	}
	// encoding/xml's strict decoder checks well-formedness that etree's raw tokens
	// skip (etree's own ValidateInput also refuses a trailing newline).
	dec := xml.NewDecoder(bytes.NewReader(b))
	dec.CharsetReader = refuseCharset
	for {
		_, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, &errkind.Error{Kind: errkind.Invalid, Rule: rule, Detail: "the trusted list is not well-formed XML", Err: err}
		}
	}
	doc := etree.NewDocument()
	doc.ReadSettings = etree.ReadSettings{CharsetReader: refuseCharset, PreserveDuplicateAttrs: true, MaxDepth: maxDepth}
	if err := doc.ReadFromBytes(b); err != nil {
		return nil, &errkind.Error{Kind: errkind.Invalid, Rule: rule, Detail: "the trusted list is not well-formed XML", Err: err}
	}
	roots := 0
	for i, t := range doc.Child {
		switch t := t.(type) {
		case *etree.Element:
			roots++
		case *etree.ProcInst:
			if i != 0 || t.Target != "xml" {
				return nil, errkind.New(errkind.Invalid, rule, "the trusted list has a processing instruction")
			}
		case *etree.CharData:
			if !t.IsWhitespace() {
				return nil, errkind.New(errkind.Invalid, rule, "the trusted list has text outside its root element")
			}
		case *etree.Comment:
		default:
			return nil, errkind.New(errkind.Invalid, rule, "the trusted list has a DTD or directive")
		}
	}
	if roots != 1 {
		return nil, errkind.New(errkind.Invalid, rule, "the trusted list has %d root elements", roots)
	}
	if msg := checkTree(doc.Root(), 0); msg != "" {
		return nil, errkind.New(errkind.Invalid, rule, "the trusted list %s", msg)
	}
	return doc, nil
}

// checkTree refuses inside the root what parseDoc refuses around it; inScope
// counts the namespace declarations of el's ancestors.
func checkTree(el *etree.Element, inScope int) string {
	seen := make(map[string]bool, len(el.Attr))
	for _, a := range el.Attr {
		k := a.Space + ":" + a.Key
		if seen[k] {
			return "repeats an attribute"
		}
		seen[k] = true
		if _, ok := nsDecl(a); ok {
			inScope++
		}
	}
	if inScope > maxNamespacesInScope {
		return "declares too many namespaces"
	}
	for _, t := range el.Child {
		switch t := t.(type) {
		case *etree.Element:
			if msg := checkTree(t, inScope); msg != "" {
				return msg
			}
		case *etree.ProcInst:
			return "has a processing instruction"
		case *etree.Directive:
			return "has a directive"
		}
	}
	return ""
}

// is reports whether el is the element {ns}tag.
func is(el *etree.Element, ns, tag string) bool {
	return el != nil && el.Tag == tag && el.NamespaceURI() == ns
}

// excC14N canonicalises el (exclusive XML canonicalisation 1.0, without comments)
// as it stands in its document: the namespaces declared on its ancestors are
// brought onto a detached copy first, as the canonicaliser sees only the copy.
func excC14N(el *etree.Element) ([]byte, error) {
	c := el.Copy()
	declared := map[string]bool{}
	for _, a := range c.Attr {
		if p, ok := nsDecl(a); ok {
			declared[p] = true
		}
	}
	for anc := el.Parent(); anc != nil; anc = anc.Parent() {
		for _, a := range anc.Attr {
			if p, ok := nsDecl(a); ok && !declared[p] {
				declared[p] = true
				c.Attr = append(c.Attr, a)
			}
		}
	}
	return dsig.MakeC14N10ExclusiveCanonicalizerWithPrefixList("").Canonicalize(c)
}

// nsDecl returns the prefix a namespace declaration binds ("" for the default namespace).
func nsDecl(a etree.Attr) (string, bool) {
	switch {
	case a.Space == "xmlns":
		return a.Key, true
	case a.Space == "" && a.Key == "xmlns":
		return "", true
	}
	return "", false
}

// leafText is the character data of an element that must hold text only.
func leafText(el *etree.Element) (string, bool) {
	var b strings.Builder
	for _, t := range el.Child {
		switch t := t.(type) {
		case *etree.CharData:
			b.WriteString(t.Data)
		case *etree.Element:
			return "", false
		}
	}
	return b.String(), true
}
