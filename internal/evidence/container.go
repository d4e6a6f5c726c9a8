package evidence

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/xml"
	"fmt"
	"hash/crc32"
	"io"
	"net/url"
	"path"
	"sort"
	"strings"
	"time"
)

// The fixed names and values of an ASiC-E container (ETSI EN 319 162-1 §4.4, §A.1).
const (
	MediaType    = "application/vnd.etsi.asic-e+zip"
	mimetypeName = "mimetype"
	ManifestName = "META-INF/ASiCManifest.xml"
	SealName     = "META-INF/signature.p7s"

	asicNS        = "http://uri.etsi.org/02918/v1.2.1#"
	dsigNS        = "http://www.w3.org/2000/09/xmldsig#"
	sha256URI     = "http://www.w3.org/2001/04/xmlenc#sha256"
	p7sMediaType  = "application/pkcs7-signature"
	maxNameLength = 255
)

// Limits bound what Verify reads from an untrusted container: a ZIP may claim
// small sizes and inflate to gigabytes (a zip bomb).
type Limits struct {
	MaxEntries    int   // entries in the central directory
	MaxEntryBytes int64 // uncompressed bytes of one entry
	MaxTotalBytes int64 // uncompressed bytes of all entries together
}

// DefaultLimits fit a contract with its annexes and their evidence.
var defaultLimits = Limits{MaxEntries: 2048, MaxEntryBytes: 64 << 20, MaxTotalBytes: 256 << 20}

func (l Limits) orDefault() Limits {
	if l.MaxEntries <= 0 {
		l.MaxEntries = defaultLimits.MaxEntries
	}
	if l.MaxEntryBytes <= 0 {
		l.MaxEntryBytes = defaultLimits.MaxEntryBytes
	}
	if l.MaxTotalBytes <= 0 {
		l.MaxTotalBytes = defaultLimits.MaxTotalBytes
	}
	return l
}

// object is one data object of a container.
type object struct {
	Name      string
	MediaType string
	Data      []byte
}

// validName accepts the relative, clean, slash-separated names this package
// writes; anything else (absolute, "..", backslashes, odd bytes) could escape a
// directory when a court clerk unzips the bundle, or alias another entry.
func validName(name string) bool {
	if name == "" || len(name) > maxNameLength || strings.HasPrefix(name, "/") || path.Clean(name) != name {
		return false
	}
	for _, seg := range strings.Split(name, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return false
		}
	}
	for _, r := range name {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("._-/+", r)
		if !ok {
			return false
		}
	}
	return true
}

// safeName turns a document's file name into one validName accepts.
func safeName(name string) string {
	name = path.Base(strings.ReplaceAll(name, "\\", "/"))
	var b strings.Builder
	for _, r := range name {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '-' || r == '_' {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	s := strings.TrimLeft(b.String(), ".")
	if s == "" {
		s = "document"
	}
	return s[:min(len(s), 100)]
}

// manifest writes the ASiCManifest (EN 319 162-1 §A.4) naming every data object
// with its SHA-256 digest; the seal signs exactly these bytes.
func manifest(objs []object) []byte {
	var b bytes.Buffer
	b.WriteString(`<?xml version="1.0" encoding="UTF-8" standalone="yes"?>` + "\n")
	b.WriteString(`<asic:ASiCManifest xmlns:asic="` + asicNS + `" xmlns:ds="` + dsigNS + `">` + "\n")
	b.WriteString(`  <asic:SigReference URI="` + SealName + `" MimeType="` + p7sMediaType + `"/>` + "\n")
	for _, o := range objs {
		sum := sha256.Sum256(o.Data)
		fmt.Fprintf(&b, "  <asic:DataObjectReference URI=\"%s\" MimeType=\"%s\">\n", xmlAttr(o.Name), xmlAttr(o.MediaType))
		b.WriteString(`    <ds:DigestMethod Algorithm="` + sha256URI + `"/>` + "\n")
		b.WriteString("    <ds:DigestValue>" + base64.StdEncoding.EncodeToString(sum[:]) + "</ds:DigestValue>\n")
		b.WriteString("  </asic:DataObjectReference>\n")
	}
	b.WriteString("</asic:ASiCManifest>\n")
	return b.Bytes()
}

func xmlAttr(s string) string {
	var b bytes.Buffer
	_ = xml.EscapeText(&b, []byte(s)) // writes to memory: no error
	return b.String()
}

// reference is one DataObjectReference as read back.
type reference struct {
	URI       string
	MediaType string
	Algorithm string
	Digest    []byte
}

type xmlManifest struct {
	XMLName xml.Name `xml:"http://uri.etsi.org/02918/v1.2.1# ASiCManifest"`
	SigRefs []struct {
		URI string `xml:"URI,attr"`
	} `xml:"http://uri.etsi.org/02918/v1.2.1# SigReference"`
	Refs []struct {
		URI      string `xml:"URI,attr"`
		MimeType string `xml:"MimeType,attr"`
		Method   struct {
			Algorithm string `xml:"Algorithm,attr"`
		} `xml:"http://www.w3.org/2000/09/xmldsig# DigestMethod"`
		Value string `xml:"http://www.w3.org/2000/09/xmldsig# DigestValue"`
	} `xml:"http://uri.etsi.org/02918/v1.2.1# DataObjectReference"`
}

// parseManifest reads an ASiCManifest: the signature it belongs to and its references.
func parseManifest(b []byte) (sigRef string, refs []reference, err error) {
	var m xmlManifest
	dec := xml.NewDecoder(bytes.NewReader(b))
	dec.Strict = true
	if err := dec.Decode(&m); err != nil {
		return "", nil, fmt.Errorf("not an ASiCManifest: %v", err)
	}
	if len(m.SigRefs) != 1 {
		return "", nil, fmt.Errorf("%d SigReference elements; one is required", len(m.SigRefs))
	}
	seen := map[string]bool{}
	for _, r := range m.Refs {
		uri, err := url.PathUnescape(r.URI)
		if err != nil {
			return "", nil, fmt.Errorf("reference %q: %v", r.URI, err)
		}
		if seen[uri] {
			return "", nil, fmt.Errorf("%s is referenced twice", uri)
		}
		seen[uri] = true
		d, err := base64.StdEncoding.DecodeString(strings.TrimSpace(r.Value))
		if err != nil {
			return "", nil, fmt.Errorf("%s: digest value: %v", uri, err)
		}
		refs = append(refs, reference{URI: uri, MediaType: r.MimeType, Algorithm: r.Method.Algorithm, Digest: d})
	}
	return m.SigRefs[0].URI, refs, nil
}

// writeContainer writes the ZIP: mimetype first, stored, without extra field
// (EN 319 162-1 §A.1, so that its media type sits at offset 38), then the objects.
func writeContainer(w io.Writer, objs []object, modified time.Time) error {
	zw := zip.NewWriter(w)
	mt := []byte(MediaType)
	hdr := &zip.FileHeader{Name: mimetypeName, Method: zip.Store, CRC32: crc32.ChecksumIEEE(mt), CreatorVersion: 20, ReaderVersion: 20,
		CompressedSize64: uint64(len(mt)), UncompressedSize64: uint64(len(mt))}
	fw, err := zw.CreateRaw(hdr)
	if err != nil {
		return err
	}
	if _, err := fw.Write(mt); err != nil {
		return err
	}
	for _, o := range objs {
		// Stored, not deflated: a deflate stream has bits no decoder reads, whose
		// change no digest would show; stored, every byte is the entry's.
		fw, err := zw.CreateHeader(&zip.FileHeader{Name: o.Name, Method: zip.Store, Modified: modified.UTC()})
		if err != nil {
			return err
		}
		if _, err := fw.Write(o.Data); err != nil {
			return err
		}
	}
	return zw.Close()
}

// container is a ZIP read within Limits. Problems name what is wrong with the
// container itself; entries holds what could be read.
type container struct {
	entries  map[string][]byte
	order    []string
	problems []Problem
}

// readContainer reads every entry of an untrusted ZIP within lim. A fatal error
// (not a ZIP at all, over a limit) is returned; anything else is a Problem.
func readContainer(b []byte, lim Limits) (*container, error) {
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		return nil, fmt.Errorf("not a ZIP container: %v", err)
	}
	if len(zr.File) > lim.MaxEntries {
		return nil, fmt.Errorf("%d entries, over the limit of %d", len(zr.File), lim.MaxEntries)
	}
	c := &container{entries: map[string][]byte{}}
	c.problems = append(c.problems, checkLayout(b, zr.File)...)
	var total int64
	lower := map[string]string{}
	for i, f := range zr.File {
		if strings.HasSuffix(f.Name, "/") && f.UncompressedSize64 == 0 && validName(strings.TrimSuffix(f.Name, "/")) {
			continue // a directory entry, as some zip tools add
		}
		if !validName(f.Name) {
			c.problems = append(c.problems, Problem{Entry: fmt.Sprintf("%q", f.Name), Reason: "refused: an absolute, parent (..) or otherwise unsafe name"})
			continue
		}
		if _, dup := c.entries[f.Name]; dup {
			c.problems = append(c.problems, Problem{Entry: f.Name, Reason: "refused: the name occurs twice in the container"})
			continue
		}
		if other, dup := lower[strings.ToLower(f.Name)]; dup {
			c.problems = append(c.problems, Problem{Entry: f.Name, Reason: "refused: differs from " + other + " only by case"})
			continue
		}
		if f.Method != zip.Store {
			c.problems = append(c.problems, Problem{Entry: f.Name, Reason: fmt.Sprintf("compressed (method %d): a bundle stores its entries, so that every byte is covered by a digest", f.Method)})
			continue
		}
		rc, err := f.Open()
		if err != nil {
			c.problems = append(c.problems, Problem{Entry: f.Name, Reason: "cannot be read: " + err.Error()})
			continue
		}
		data, err := io.ReadAll(io.LimitReader(rc, min(lim.MaxEntryBytes, lim.MaxTotalBytes-total)+1))
		rc.Close()
		if int64(len(data)) > min(lim.MaxEntryBytes, lim.MaxTotalBytes-total) {
			return nil, fmt.Errorf("%s inflates beyond the size limit", f.Name)
		}
		if err != nil {
			// A changed byte in compressed data fails the ZIP's CRC-32 or inflation.
			c.problems = append(c.problems, Problem{Entry: f.Name, Reason: "its stored bytes are damaged (" + err.Error() + ")"})
			continue
		}
		total += int64(len(data))
		c.entries[f.Name] = data
		c.order = append(c.order, f.Name)
		lower[strings.ToLower(f.Name)] = f.Name
		if f.Name == mimetypeName {
			switch {
			case i != 0:
				c.problems = append(c.problems, Problem{Entry: mimetypeName, Reason: "is not the first entry (EN 319 162-1 §A.1)"})
			case f.Method != zip.Store:
				c.problems = append(c.problems, Problem{Entry: mimetypeName, Reason: "is compressed; it must be stored (EN 319 162-1 §A.1)"})
			case string(data) != MediaType:
				c.problems = append(c.problems, Problem{Entry: mimetypeName, Reason: fmt.Sprintf("says %q, not %s", data, MediaType)})
			}
		}
	}
	if _, ok := c.entries[mimetypeName]; !ok {
		c.problems = append(c.problems, Problem{Entry: mimetypeName, Reason: "missing: not an ASiC-E container"})
	}
	return c, nil
}

// names returns the entry names in sorted order.
func (c *container) names() []string {
	out := append([]string(nil), c.order...)
	sort.Strings(out)
	return out
}
