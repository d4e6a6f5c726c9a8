// Package config is tawthiq's typed configuration: strict decoding (unknown keys
// are refused), validation at start, and safe zero values.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Config is the server's configuration.
type Config struct {
	Addr               string        `yaml:"addr"`                // listen address; default 127.0.0.1:8080
	Data               string        `yaml:"data"`                // data directory; default ./tawthiq-data
	DB                 string        `yaml:"db"`                  // postgres://... or a SQLite path; default {data}/tawthiq.db
	BaseURL            string        `yaml:"base_url"`            // public URL written into certificates; default http://{addr}
	Demo               *bool         `yaml:"demo"`                // run the demo ceremony on an empty data directory; default true
	PassphraseEnv      string        `yaml:"passphrase_env"`      // env var holding the key passphrase; default TAWTHIQ_KEY_PASSPHRASE
	PassphraseFile     string        `yaml:"passphrase_file"`     // or a file holding it (never inside the data directory)
	CheckpointInterval time.Duration `yaml:"checkpoint_interval"` // how often the audit log head is signed; default 10s
	MaxBodyBytes       int64         `yaml:"max_body_bytes"`      // request size limit; default 1 MiB
	Node               string        `yaml:"node"`                // this node's name in job leases; default the host name
	SMTP               SMTP          `yaml:"smtp"`                // where e-mail notices go; none: they wait in the outbox
	WebhookURL         string        `yaml:"webhook_url"`         // instead of SMTP: notices POSTed as JSON to this https URL
	Seals              []Seal        `yaml:"seals"`               // organisations' seals applied on the server (POST /api/v1/seals/{name})
	// TSAVerifyOneIn is how often the TSA verifies a token's signature before it
	// leaves: 1 every token; 0 the TSA's default (1 in 32, and every token after a fault).
	TSAVerifyOneIn   int    `yaml:"tsa_verify_one_in"`
	EvidenceSeal     string `yaml:"evidence_seal"`     // the seal (by name) that seals evidence bundles; none: bundles cannot be made
	RequireInsurance *bool  `yaml:"require_insurance"` // refuse issuance while no liability insurance is valid (L-21-3-6); default true
	AuthorityEmail   string `yaml:"authority_email"`   // where breach reports go at once (43-20 art. 40); none: held for the authority
	// SigningEngine signs with file: ECDSA keys: "libcrypto" (the system's OpenSSL 3,
	// required), "go", or empty for libcrypto when it loads and Go otherwise.
	SigningEngine string `yaml:"signing_engine"`
}

// Seal is an organisation's seal whose key the server holds for it (an HSM in
// production): applied only at the request of the users the organisation named.
type Seal struct {
	Name        string   `yaml:"name"`        // the name in the URL
	Key         string   `yaml:"key"`         // key URI: pkcs11:... or file:... (relative to the data directory)
	Certificate string   `yaml:"certificate"` // PEM: the seal certificate, then its issuing CA
	Users       []string `yaml:"users"`       // user IDs (usr_...) the organisation authorised
}

// SMTP is the mail server that delivers notices to holders who accepted e-mail (L-65-3).
type SMTP struct {
	Addr     string `yaml:"addr"` // host:port
	From     string `yaml:"from"`
	StartTLS bool   `yaml:"starttls"`
	Username string `yaml:"username"`
	// PasswordEnv names the variable holding the password: secrets stay out of files.
	PasswordEnv string `yaml:"password_env"`
}

// Defaults.
const (
	DefaultAddr               = "127.0.0.1:8080"
	DefaultData               = "tawthiq-data"
	DefaultPassphraseEnv      = "TAWTHIQ_KEY_PASSPHRASE"
	DefaultCheckpointInterval = 10 * time.Second
	DefaultMaxBodyBytes       = 1 << 20
)

// Load reads a YAML file strictly; an empty path gives the defaults.
func Load(path string) (Config, error) {
	var c Config
	if path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return c, err
		}
		if err := DecodeStrict(bytes.NewReader(b), &c); err != nil {
			return c, fmt.Errorf("%s: %w", path, err)
		}
	}
	return c, nil
}

// DecodeStrict decodes one YAML document, refusing unknown keys and trailing documents.
func DecodeStrict(r io.Reader, v any) error {
	dec := yaml.NewDecoder(r)
	dec.KnownFields(true)
	if err := dec.Decode(v); err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	var extra any
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return errors.New("more than one YAML document")
	}
	return nil
}

// FromEnv overrides fields from TAWTHIQ_* variables.
func (c *Config) FromEnv(getenv func(string) string) {
	set := func(dst *string, key string) {
		if v := getenv(key); v != "" {
			*dst = v
		}
	}
	set(&c.Addr, "TAWTHIQ_ADDR")
	set(&c.Data, "TAWTHIQ_DATA")
	set(&c.DB, "TAWTHIQ_DB")
	set(&c.BaseURL, "TAWTHIQ_BASE_URL")
	set(&c.PassphraseFile, "TAWTHIQ_PASSPHRASE_FILE")
	set(&c.SMTP.Addr, "TAWTHIQ_SMTP_ADDR")
	set(&c.SMTP.From, "TAWTHIQ_SMTP_FROM")
}

// Normalize fills defaults and validates. It is idempotent.
func (c *Config) Normalize() error {
	if c.Addr == "" {
		c.Addr = DefaultAddr
	}
	if c.Data == "" {
		c.Data = DefaultData
	}
	abs, err := filepath.Abs(c.Data)
	if err != nil {
		return err
	}
	c.Data = abs
	if c.DB == "" {
		c.DB = filepath.Join(c.Data, "tawthiq.db")
	}
	if c.BaseURL == "" {
		c.BaseURL = "http://" + c.Addr
	}
	c.BaseURL = strings.TrimRight(c.BaseURL, "/")
	if c.Demo == nil {
		t := true
		c.Demo = &t
	}
	if c.PassphraseEnv == "" {
		c.PassphraseEnv = DefaultPassphraseEnv
	}
	if c.CheckpointInterval == 0 {
		c.CheckpointInterval = DefaultCheckpointInterval
	}
	if c.MaxBodyBytes == 0 {
		c.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if c.Node == "" {
		c.Node, _ = os.Hostname()
	}
	var errs []error
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		errs = append(errs, fmt.Errorf("addr %q: %v", c.Addr, err))
	}
	if !strings.HasPrefix(c.BaseURL, "http://") && !strings.HasPrefix(c.BaseURL, "https://") {
		errs = append(errs, fmt.Errorf("base_url %q must start with http:// or https://", c.BaseURL))
	}
	if c.CheckpointInterval < time.Second {
		errs = append(errs, fmt.Errorf("checkpoint_interval %s is under one second", c.CheckpointInterval))
	}
	if c.MaxBodyBytes < 4096 {
		errs = append(errs, fmt.Errorf("max_body_bytes %d is under 4096", c.MaxBodyBytes))
	}
	if c.WebhookURL != "" && (c.SMTP.Addr != "" || !strings.HasPrefix(c.WebhookURL, "https://")) {
		errs = append(errs, fmt.Errorf("webhook_url must be https:// and is used instead of smtp, not with it"))
	}
	if a, err := mail.ParseAddress(c.AuthorityEmail); c.AuthorityEmail != "" && (err != nil || a.Address != c.AuthorityEmail) {
		errs = append(errs, fmt.Errorf("authority_email %q is not a bare e-mail address", c.AuthorityEmail))
	}
	if (c.SMTP.Addr == "") != (c.SMTP.From == "") {
		errs = append(errs, fmt.Errorf("smtp.addr and smtp.from go together"))
	}
	if c.SMTP.Addr != "" {
		if _, _, err := net.SplitHostPort(c.SMTP.Addr); err != nil {
			errs = append(errs, fmt.Errorf("smtp.addr %q: %v", c.SMTP.Addr, err))
		}
	}
	if c.TSAVerifyOneIn < 0 {
		errs = append(errs, fmt.Errorf("tsa_verify_one_in %d: 1 verifies every token, 0 takes the default", c.TSAVerifyOneIn))
	}
	if e := c.SigningEngine; e != "" && e != "go" && e != "libcrypto" {
		errs = append(errs, fmt.Errorf("signing_engine %q: go, libcrypto, or empty for libcrypto when it loads", e))
	}
	seen := map[string]bool{}
	for i, sl := range c.Seals {
		switch {
		case sl.Name == "" || strings.ContainsAny(sl.Name, "/?#% ") || seen[sl.Name]:
			errs = append(errs, fmt.Errorf("seals[%d]: name %q must be unique, non-empty, without / ? # %% or spaces", i, sl.Name))
		case sl.Key == "" || sl.Certificate == "":
			errs = append(errs, fmt.Errorf("seals[%d] (%s): key and certificate are required", i, sl.Name))
		case len(sl.Users) == 0:
			errs = append(errs, fmt.Errorf("seals[%d] (%s): no user may apply it; list the authorised user IDs", i, sl.Name))
		}
		seen[sl.Name] = true
	}
	if c.EvidenceSeal != "" && !seen[c.EvidenceSeal] {
		errs = append(errs, fmt.Errorf("evidence_seal %q names no configured seal", c.EvidenceSeal))
	}
	if c.PassphraseFile != "" {
		pf, _ := filepath.Abs(c.PassphraseFile)
		// A file named "..x" inside the data directory is inside too: only ".." itself climbs out.
		if rel, err := filepath.Rel(c.Data, pf); err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			errs = append(errs, fmt.Errorf("passphrase_file %s is inside the data directory: keep it apart from the keys", pf))
		}
	}
	return errors.Join(errs...)
}

// InsuranceRequired says whether issuance refuses to start while no liability
// insurance is valid (L-21-3-6): unless require_insurance is set to false.
func (c *Config) InsuranceRequired() bool { return c.RequireInsurance == nil || *c.RequireInsurance }

// IsPostgres reports whether DB names a PostgreSQL server.
func (c *Config) IsPostgres() bool {
	return strings.HasPrefix(c.DB, "postgres://") || strings.HasPrefix(c.DB, "postgresql://")
}
