package app

import (
	"context"
	"crypto/x509"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/tawthiq/tawthiq/internal/config"
	"github.com/tawthiq/tawthiq/internal/errkind"
	"github.com/tawthiq/tawthiq/internal/issuance"
	"github.com/tawthiq/tawthiq/internal/keys"
	"github.com/tawthiq/tawthiq/internal/law"
	"github.com/tawthiq/tawthiq/internal/signature"
)

// Sign is a signature made with the holder's own key (tawthiq sign): the key
// stays on his machine or token (L-6); the CSP only time-stamps.
type Sign struct {
	File     string   // the document, signed exactly as read (L-9)
	Out      string   // where the signed file goes
	Key      string   // key URI: file:holder.key (encrypted PKCS#8) or pkcs11:...
	Cert     string   // the signer's certificate (PEM or DER)
	Chain    []string // its issuers; empty: fetched through the certificate's AIA URLs
	Level    string   // B-B, B-T, B-LT or B-LTA; default B-T
	Format   string   // cades or pades; default pades for a .pdf, else cades
	Detached bool     // CAdES: leave the document out of the signature
	TSA      string   // the time-stamping authority's URL
	// ContentTimeStamp stamps the document before signing (EN 319 122-1
	// §5.2.8): proof that the signature was made after that time.
	ContentTimeStamp bool
	Getenv           func(string) string
}

// SignResult says what was made.
type SignResult struct {
	Out    string
	Format string
	Level  string
	Signer string
}

// RunSign signs s.File and writes s.Out.
func RunSign(ctx context.Context, s Sign) (SignResult, error) {
	level, err := parseLevel(s.Level)
	if err != nil {
		return SignResult{}, err
	}
	format, err := formatOf(s.File, s.Format)
	if err != nil {
		return SignResult{}, err
	}
	if level != signature.BB && s.TSA == "" {
		return SignResult{}, errkind.New(errkind.Invalid, law.L417_3, "level %s needs a time-stamping authority (--tsa)", level)
	}
	doc, err := os.ReadFile(s.File)
	if err != nil {
		return SignResult{}, err
	}
	cert, err := readCert(s.Cert)
	if err != nil {
		return SignResult{}, fmt.Errorf("signer's certificate %s: %w", s.Cert, err)
	}
	f := newFetcher()
	chain := []*x509.Certificate{cert}
	for _, p := range s.Chain {
		c, err := readCert(p)
		if err != nil {
			return SignResult{}, fmt.Errorf("chain %s: %w", p, err)
		}
		chain = append(chain, c)
	}
	// The root travels too, so that a B-LT signature carries its issuing CA's status.
	chain, root, err := f.completeChain(ctx, chain)
	if err != nil {
		return SignResult{}, errkind.Wrap(errkind.Unavailable, err, "the signer's certificate chain could not be completed; give it with --chain")
	}
	getenv := s.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	reg := keys.NewRegistry(keys.Options{PassphraseEnv: config.DefaultPassphraseEnv, Getenv: getenv})
	defer reg.Close()
	signer, err := reg.Open(ctx, cliKeyURI(s.Key))
	if err != nil {
		return SignResult{}, err
	}
	// L-25: a revoked certificate may not sign; its status (and its CAs') comes from its CSP now.
	if err := signature.CheckNotRevoked(ctx, append(chain[:len(chain):len(chain)], root), f, time.Now()); err != nil {
		return SignResult{}, err
	}
	cas := []*x509.Certificate{root}
	var out []byte
	switch format {
	case "cades":
		opts := signature.Options{Detached: s.Detached, Level: level, Revocation: f, CACerts: cas, ContentTimeStamp: s.ContentTimeStamp}
		if s.TSA != "" {
			opts.Stamper = remoteStamper{f: f, url: s.TSA}
		}
		out, err = signature.SignCAdES(ctx, doc, signer, chain, opts)
	case "pades":
		opts := signature.PAdESOptions{Level: level, Revocation: f, CACerts: cas, ContentTimeStamp: s.ContentTimeStamp}
		if s.TSA != "" {
			opts.Stamper = remoteStamper{f: f, url: s.TSA}
		}
		out, err = signature.SignPAdES(ctx, doc, signer, chain, opts)
	}
	if err != nil {
		return SignResult{}, err
	}
	if err := writeNew(s.Out, out); err != nil {
		return SignResult{}, err
	}
	return SignResult{Out: s.Out, Format: format, Level: level.String(), Signer: issuance.SubjectName(cert)}, nil
}

// formatOf is the signature format asked for, or by default pades for a .pdf file and cades otherwise.
func formatOf(file, asked string) (string, error) {
	format := strings.ToLower(asked)
	if format == "" {
		format = "cades"
		if strings.EqualFold(filepath.Ext(file), ".pdf") {
			format = "pades"
		}
	}
	if format != "cades" && format != "pades" {
		return "", errkind.New(errkind.Invalid, law.L417_2, "unknown format %q: cades or pades", asked)
	}
	return format, nil
}

func parseLevel(s string) (signature.Level, error) {
	switch strings.ToUpper(s) {
	case "", "B-T", "BT":
		return signature.BT, nil
	case "B-B", "BB":
		return signature.BB, nil
	case "B-LT", "BLT":
		return signature.BLT, nil
	case "B-LTA", "BLTA":
		return signature.BLTA, nil
	}
	return 0, errkind.New(errkind.Invalid, law.L417_3, "unknown level %q: B-B, B-T, B-LT or B-LTA", s)
}

// writeNew writes a file that must not exist yet, all or nothing.
func writeNew(path string, b []byte) error {
	if _, err := os.Stat(path); err == nil {
		return fmt.Errorf("%s exists; not overwritten", path)
	}
	tmp, err := writeTemp(path, b, 0o644)
	if err != nil {
		return err
	}
	defer os.Remove(tmp)
	return os.Link(tmp, path) // fails if path appeared meanwhile: never overwrite
}

// cliKeyURI reads a relative file: key from the working directory, as the document and
// certificate are: the path is escaped into an absolute URI, its query kept.
func cliKeyURI(uri string) string {
	rest, ok := strings.CutPrefix(uri, "file:")
	if !ok || strings.HasPrefix(rest, "/") {
		return uri
	}
	path, query, _ := strings.Cut(rest, "?")
	abs, err := filepath.Abs(path)
	if err != nil {
		return uri
	}
	return (&url.URL{Scheme: "file", Path: abs, RawQuery: query}).String()
}
