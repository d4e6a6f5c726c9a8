package config

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestDecodeStrict(t *testing.T) {
	tests := []struct {
		name    string
		yaml    string
		want    Config
		wantErr string
	}{
		{"empty input gives zero values", "", Config{}, ""},
		{"one document", "addr: 127.0.0.1:9000\ncheckpoint_interval: 30s\nmax_body_bytes: 8192\n",
			Config{Addr: "127.0.0.1:9000", CheckpointInterval: 30 * time.Second, MaxBodyBytes: 8192}, ""},
		{"explicit document start", "---\ndata: /srv/tawthiq\n", Config{Data: "/srv/tawthiq"}, ""},
		{"unknown key refused", "addr: 127.0.0.1:9000\nadress: typo\n", Config{}, "field adress not found"},
		{"second document refused", "addr: a:1\n---\naddr: b:2\n", Config{}, "more than one YAML document"},
		{"empty second document refused", "addr: a:1\n---\n---\n", Config{}, "more than one YAML document"},
		{"wrong type refused", "max_body_bytes: lots\n", Config{}, "cannot unmarshal"},
		{"bad duration refused", "checkpoint_interval: soon\n", Config{}, "into time.Duration"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var c Config
			err := DecodeStrict(strings.NewReader(tc.yaml), &c)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("DecodeStrict error = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("DecodeStrict: %v", err)
			}
			if !reflect.DeepEqual(c, tc.want) {
				t.Fatalf("decoded %+v, want %+v", c, tc.want)
			}
		})
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		name    string
		path    string
		want    Config
		wantErr []string // every substring must appear
	}{
		{"empty path gives defaults to fill", "", Config{}, nil},
		{"good file", write("good.yaml", "base_url: https://csp.example.ma\ndemo: false\n"),
			Config{BaseURL: "https://csp.example.ma", Demo: new(bool)}, nil},
		{"unknown key names the key and the file", write("typo.yaml", "addr: 127.0.0.1:1\nmax_body: 10\n"),
			Config{}, []string{"typo.yaml", "max_body"}},
		{"two documents", write("two.yaml", "addr: a:1\n---\naddr: b:1\n"), Config{}, []string{"two.yaml", "more than one YAML document"}},
		{"missing file", filepath.Join(dir, "absent.yaml"), Config{}, []string{"absent.yaml"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Load(tc.path)
			if len(tc.wantErr) > 0 {
				if err == nil {
					t.Fatalf("Load accepted %s: %+v", tc.path, c)
				}
				for _, w := range tc.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q does not name %q", err, w)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if !reflect.DeepEqual(c, tc.want) {
				t.Fatalf("Load = %+v, want %+v", c, tc.want)
			}
		})
	}
	t.Run("missing file is fs.ErrNotExist", func(t *testing.T) {
		if _, err := Load(filepath.Join(dir, "absent.yaml")); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("Load error = %v, want os.ErrNotExist", err)
		}
	})
}

func TestNormalizeDefaults(t *testing.T) {
	cwd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	var c Config
	if err := c.Normalize(); err != nil {
		t.Fatalf("Normalize of the zero Config: %v", err)
	}
	data := filepath.Join(cwd, DefaultData)
	want := Config{
		Addr:               DefaultAddr,
		Data:               data,
		DB:                 filepath.Join(data, "tawthiq.db"),
		BaseURL:            "http://" + DefaultAddr,
		Demo:               c.Demo,
		PassphraseEnv:      DefaultPassphraseEnv,
		CheckpointInterval: DefaultCheckpointInterval,
		MaxBodyBytes:       DefaultMaxBodyBytes,
	}
	want.Node, _ = os.Hostname()
	if !reflect.DeepEqual(c, want) {
		t.Fatalf("Normalize defaults:\n got %+v\nwant %+v", c, want)
	}
	if c.Demo == nil || !*c.Demo {
		t.Fatalf("Demo default = %v, want true", c.Demo)
	}
	if c.IsPostgres() {
		t.Fatal("the default SQLite path is taken for PostgreSQL")
	}
	// Idempotent: a second pass changes nothing.
	again := c
	if err := again.Normalize(); err != nil || !reflect.DeepEqual(again, c) {
		t.Fatalf("second Normalize = %+v, %v; want %+v", again, err, c)
	}
}

func TestNormalize(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	no := false
	tests := []struct {
		name    string
		in      Config
		check   func(t *testing.T, c Config)
		wantErr string
	}{
		{"relative data made absolute", Config{Data: "rel/data"}, func(t *testing.T, c Config) {
			if !filepath.IsAbs(c.Data) || !strings.HasSuffix(c.Data, filepath.Join("rel", "data")) {
				t.Errorf("Data = %q, want an absolute path ending rel/data", c.Data)
			}
			if c.DB != filepath.Join(c.Data, "tawthiq.db") {
				t.Errorf("DB = %q, want inside %q", c.DB, c.Data)
			}
		}, ""},
		{"base_url follows addr and loses its slash", Config{Addr: "0.0.0.0:9443", Data: data}, func(t *testing.T, c Config) {
			if c.BaseURL != "http://0.0.0.0:9443" {
				t.Errorf("BaseURL = %q", c.BaseURL)
			}
		}, ""},
		{"trailing slashes trimmed", Config{Data: data, BaseURL: "https://csp.example.ma//"}, func(t *testing.T, c Config) {
			if c.BaseURL != "https://csp.example.ma" {
				t.Errorf("BaseURL = %q", c.BaseURL)
			}
		}, ""},
		{"explicit values kept", Config{Data: data, DB: "postgres://u@h/db", Demo: &no, PassphraseEnv: "K",
			CheckpointInterval: time.Minute, MaxBodyBytes: 4096}, func(t *testing.T, c Config) {
			if c.DB != "postgres://u@h/db" || !c.IsPostgres() || *c.Demo || c.PassphraseEnv != "K" ||
				c.CheckpointInterval != time.Minute || c.MaxBodyBytes != 4096 {
				t.Errorf("explicit values changed: %+v", c)
			}
		}, ""},
		{"passphrase file beside the data directory", Config{Data: data, PassphraseFile: filepath.Join(dir, "data-pass")}, nil, ""},
		{"passphrase file above the data directory", Config{Data: data, PassphraseFile: filepath.Join(dir, "pass")}, nil, ""},

		{"bad addr", Config{Data: data, Addr: "localhost"}, nil, `addr "localhost"`},
		{"base_url without scheme", Config{Data: data, BaseURL: "csp.example.ma"}, nil, `base_url "csp.example.ma" must start with http:// or https://`},
		{"base_url with another scheme", Config{Data: data, BaseURL: "ftp://csp.example.ma"}, nil, "base_url"},
		{"interval under a second", Config{Data: data, CheckpointInterval: 999 * time.Millisecond}, nil, "checkpoint_interval 999ms is under one second"},
		{"negative interval", Config{Data: data, CheckpointInterval: -time.Second}, nil, "checkpoint_interval"},
		{"negative TSA verification rate", Config{Data: data, TSAVerifyOneIn: -1}, nil, "tsa_verify_one_in -1"},
		{"unknown signing engine", Config{Data: data, SigningEngine: "boringssl"}, nil, `signing_engine "boringssl"`},
		{"body under 4096", Config{Data: data, MaxBodyBytes: 4095}, nil, "max_body_bytes 4095 is under 4096"},
		{"negative body", Config{Data: data, MaxBodyBytes: -1}, nil, "max_body_bytes -1"},
		{"passphrase file inside the data directory", Config{Data: data, PassphraseFile: filepath.Join(data, "pass")}, nil, "passphrase_file"},
		{"passphrase file deep inside the data directory", Config{Data: data, PassphraseFile: filepath.Join(data, "keys", "pass")}, nil, "passphrase_file"},
		{"passphrase file named ..x inside the data directory", Config{Data: data, PassphraseFile: filepath.Join(data, "..pass")}, nil, "passphrase_file"},
		{"passphrase file is the data directory", Config{Data: data, PassphraseFile: data + "/"}, nil, "passphrase_file"},
		{"passphrase file reached through ..", Config{Data: data, PassphraseFile: filepath.Join(dir, "other", "..", "data", "pass")}, nil, "inside the data directory"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := tc.in
			err := c.Normalize()
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Normalize error = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Normalize: %v", err)
			}
			if tc.check != nil {
				tc.check(t, c)
			}
		})
	}
	t.Run("every refusal reported at once", func(t *testing.T) {
		c := Config{Data: data, Addr: "nope", BaseURL: "x", CheckpointInterval: time.Millisecond, MaxBodyBytes: 1}
		err := c.Normalize()
		for _, w := range []string{"addr", "base_url", "checkpoint_interval", "max_body_bytes"} {
			if err == nil || !strings.Contains(err.Error(), w) {
				t.Errorf("error %v does not report %s", err, w)
			}
		}
	})
}

func TestFromEnv(t *testing.T) {
	base := Config{Addr: "127.0.0.1:1", Data: "/d", DB: "/d/x.db", BaseURL: "http://a", PassphraseFile: "/p", PassphraseEnv: "KEEP"}
	tests := []struct {
		name string
		env  map[string]string
		want Config
	}{
		{"no variables change nothing", nil, base},
		{"empty variables change nothing", map[string]string{"TAWTHIQ_ADDR": "", "TAWTHIQ_DB": ""}, base},
		{"every variable", map[string]string{
			"TAWTHIQ_ADDR": ":8443", "TAWTHIQ_DATA": "/srv", "TAWTHIQ_DB": "postgres://db/t",
			"TAWTHIQ_BASE_URL": "https://csp.ma", "TAWTHIQ_PASSPHRASE_FILE": "/run/secret",
		}, Config{Addr: ":8443", Data: "/srv", DB: "postgres://db/t", BaseURL: "https://csp.ma", PassphraseFile: "/run/secret", PassphraseEnv: "KEEP"}},
		{"one variable", map[string]string{"TAWTHIQ_BASE_URL": "https://x"},
			Config{Addr: "127.0.0.1:1", Data: "/d", DB: "/d/x.db", BaseURL: "https://x", PassphraseFile: "/p", PassphraseEnv: "KEEP"}},
		{"unrelated variables ignored", map[string]string{"TAWTHIQ_KEY_PASSPHRASE": "secret", "ADDR": ":1"}, base},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := base
			c.FromEnv(func(k string) string { return tc.env[k] })
			if !reflect.DeepEqual(c, tc.want) {
				t.Fatalf("FromEnv = %+v, want %+v", c, tc.want)
			}
		})
	}
}

func TestIsPostgres(t *testing.T) {
	tests := []struct {
		db   string
		want bool
	}{
		{"postgres://u@h/db", true},
		{"postgresql://u@h/db", true},
		{"/var/lib/tawthiq.db", false},
		{"sqlite:/x.db", false},
		{"", false},
	}
	for _, tc := range tests {
		t.Run(tc.db, func(t *testing.T) {
			if got := (&Config{DB: tc.db}).IsPostgres(); got != tc.want {
				t.Fatalf("IsPostgres(%q) = %v, want %v", tc.db, got, tc.want)
			}
		})
	}
}
