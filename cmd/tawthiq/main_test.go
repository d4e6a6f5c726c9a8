package main

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"

	"github.com/tawthiq/tawthiq/internal/app"
	"github.com/tawthiq/tawthiq/internal/store/pgtest"
)

const passEnv = "TAWTHIQ_KEY_PASSPHRASE"

// cli runs the tawthiq command in-process and returns its output and error.
func cli(args ...string) (string, error) {
	r := root()
	var out bytes.Buffer
	r.SetOut(&out)
	r.SetErr(&out)
	r.SetArgs(args)
	err := r.ExecuteContext(context.Background())
	return out.String(), err
}

// TestAuditVerifyNamesChangedRow_L21_2 edits one stored audit row directly in the
// database, as a rogue administrator would, and `tawthiq audit verify` names it.
func TestAuditVerifyNamesChangedRow_L21_2(t *testing.T) {
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			t.Setenv(passEnv, "correct-horse-battery-staple")
			data := t.TempDir()
			dsn := ""
			if backend == "postgres" {
				dsn = pgtest.Start(t)
			}
			cfg := app.Config{Data: data, DB: dsn}
			a, err := app.Open(context.Background(), cfg, app.Options{Out: io.Discard})
			if err != nil {
				t.Fatal(err)
			}
			args := []string{"audit", "verify", "--data", data}
			if dsn != "" {
				args = append(args, "--db", dsn)
			}
			out, err := cli(args...)
			if err != nil {
				a.Close()
				t.Fatalf("audit verify on an intact log: %v\n%s", err, out)
			}
			if !strings.HasPrefix(out, "ok:") {
				t.Errorf("intact log: %q", out)
			}
			// The demo TSA stamped the first checkpoint; verify checked its token.
			if !strings.Contains(out, " 1 time-stamped,") || !strings.Contains(out, "latest time-stamp: checkpoint at size ") {
				t.Errorf("intact log: the stamped checkpoint is not reported: %q", out)
			}
			// The database refuses the change (L-21-2): the rogue administrator drops the trigger first.
			db := a.DB.SQL()
			if _, err := db.Exec(`UPDATE audit_entries SET actor = 'mallory' WHERE seq = 3`); err == nil {
				t.Fatal("the database let an audit row be changed")
			}
			if _, err := db.Exec(`DROP TRIGGER audit_entries_immutable` + map[string]string{"sqlite": "", "postgres": " ON audit_entries"}[backend]); err != nil {
				t.Fatal(err)
			}
			if _, err := db.Exec(`UPDATE audit_entries SET actor = 'mallory' WHERE seq = 3`); err != nil {
				t.Fatal(err)
			}
			a.Close()
			out, err = cli(args...)
			if err == nil {
				t.Fatalf("audit verify passed a changed log:\n%s", out)
			}
			if !strings.Contains(out, "entry 3: changed") || !strings.Contains(err.Error(), "entry 3") {
				t.Errorf("audit verify does not name entry 3:\nerr: %v\n%s", err, out)
			}
			if strings.Contains(out, "entry 2:") || strings.Contains(out, "entry 4:") {
				t.Errorf("audit verify blames untouched entries:\n%s", out)
			}
		})
	}
}

// TestCLIOneLineErrors: the CLI reports a bad invocation in one plain line.
func TestCLIOneLineErrors(t *testing.T) {
	_, err := cli("ceremony")
	if err == nil || strings.Contains(oneLine(err), "\n") {
		t.Fatalf("want a one-line error, got %v", err)
	}
	_, err = cli("config", "check", "--config", "/nonexistent.yaml")
	if err == nil {
		t.Fatal("config check accepted a missing file")
	}
}
