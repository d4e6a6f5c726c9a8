package auditlog_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/tawthiq/tawthiq/internal/auditlog"
	"github.com/tawthiq/tawthiq/internal/clock"
	"github.com/tawthiq/tawthiq/internal/errkind"
	"github.com/tawthiq/tawthiq/internal/law"
	"github.com/tawthiq/tawthiq/internal/store"
)

const origin = "tawthiq/Test-CSP/audit"

var start = time.Date(2025, 5, 14, 9, 30, 0, 0, time.UTC)

type env struct {
	db  *store.DB
	clk *clock.Fake
	log *auditlog.Log
	n   int // entries appended by appendN, for distinct contents
}

func newKey(t testing.TB) ed25519.PrivateKey {
	t.Helper()
	_, k, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func newEnv(t *testing.T) *env {
	t.Helper()
	clk := clock.NewFake(start)
	db, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "t.db"), clk)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	l, err := auditlog.New(db, newKey(t), origin, clk, nil)
	if err != nil {
		t.Fatal(err)
	}
	return &env{db: db, clk: clk, log: l}
}

// appendN appends n entries, each with its own actor, subject and data.
func (e *env) appendN(t *testing.T, n int) {
	t.Helper()
	for range n {
		e.clk.Advance(time.Second)
		i := e.n
		e.n++
		ent := auditlog.NewEntry(e.clk.Now(), fmt.Sprintf("usr_%d", i), auditlog.ActionPersonalDataRead,
			fmt.Sprintf("app_%d", i), map[string]int{"i": i})
		ent.Ground = "review"
		if err := e.db.Append(context.Background(), ent); err != nil {
			t.Fatal(err)
		}
	}
}

func (e *env) size(t *testing.T) int64 {
	t.Helper()
	n, err := e.db.AuditSize(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func (e *env) checkpoint(t *testing.T) *auditlog.Checkpoint {
	t.Helper()
	e.clk.Advance(time.Second)
	cp, err := e.log.Checkpoint(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return cp
}

func (e *env) exec(t *testing.T, q string, args ...any) {
	t.Helper()
	if _, err := e.db.SQL().ExecContext(context.Background(), q, args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

type storeReader struct {
	ctx context.Context
	db  *store.DB
}

func (r storeReader) ReadHashes(idx []int64) ([]tlog.Hash, error) { return r.db.ReadHashes(r.ctx, idx) }

// memHashes is a tlog hash storage rebuilt from the entries alone.
type memHashes []tlog.Hash

func (m memHashes) ReadHashes(idx []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(idx))
	for i, x := range idx {
		if x >= int64(len(m)) {
			return nil, fmt.Errorf("hash %d not stored", x)
		}
		out[i] = m[x]
	}
	return out, nil
}

// rootFromEntries recomputes the tree head of the first n entries from their rows.
func rootFromEntries(t *testing.T, db *store.DB, n int64) tlog.Hash {
	t.Helper()
	es, err := db.AuditEntries(context.Background(), 0, n)
	if err != nil {
		t.Fatal(err)
	}
	var m memHashes
	for i, e := range es {
		hs, err := tlog.StoredHashes(int64(i), e.Encode(), m)
		if err != nil {
			t.Fatal(err)
		}
		m = append(m, hs...)
	}
	root, err := tlog.TreeHash(n, m)
	if err != nil {
		t.Fatal(err)
	}
	return root
}

func TestNew_L21_2(t *testing.T) {
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	rs, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	ed := newKey(t)
	tests := []struct {
		name     string
		key      crypto.Signer
		origin   string
		wantErr  string
		wantRule law.ID
	}{
		{"Ed25519", ed, origin, "", ""},
		{"ECDSA key refused", ec, origin, "must be Ed25519, not *ecdsa.PublicKey", law.L21_2},
		{"RSA key refused", rs, origin, "must be Ed25519, not *rsa.PublicKey", law.L21_2},
		{"empty origin", ed, "", `checkpoint origin ""`, ""},
		{"origin with a space", ed, "tawthiq demo", "not a valid note name", ""},
		{"origin with a plus", ed, "tawthiq+demo", "not a valid note name", ""},
		{"origin with a tab", ed, "tawthiq\tdemo", "not a valid note name", ""},
		{"origin with a newline", ed, "tawthiq\ndemo", "not a valid note name", ""},
		{"origin not UTF-8", ed, "tawthiq\xff", "not a valid note name", ""},
	}
	clk := clock.NewFake(start)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l, err := auditlog.New(nil, tc.key, tc.origin, clk, nil)
			if tc.wantErr != "" {
				if !errkind.Is(err, errkind.Invalid) || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("New = %v, want invalid %q", err, tc.wantErr)
				}
				if got := errkind.As(err).Rule; got != tc.wantRule {
					t.Errorf("rule = %q, want %q", got, tc.wantRule)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			v, err := note.NewVerifier(l.VerifierKey())
			if err != nil {
				t.Fatalf("VerifierKey %q does not parse: %v", l.VerifierKey(), err)
			}
			if v.Name() != tc.origin {
				t.Errorf("verifier name = %q, want %q", v.Name(), tc.origin)
			}
			// The key in the verifier key is the signer's public key.
			pub := tc.key.Public().(ed25519.PublicKey)
			if !strings.HasSuffix(l.VerifierKey(), "+"+base64.StdEncoding.EncodeToString(append([]byte{1}, pub...))) {
				t.Errorf("VerifierKey %q does not carry the public key", l.VerifierKey())
			}
		})
	}
}

func TestCheckpoint_L21_2(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	verifier, err := note.NewVerifier(e.log.VerifierKey())
	if err != nil {
		t.Fatal(err)
	}

	if _, err := e.log.Latest(ctx); !errkind.Is(err, errkind.NotFound) {
		t.Fatalf("Latest on a new log = %v, want not-found", err)
	}
	e.appendN(t, 5)
	cp := e.checkpoint(t)

	t.Run("signed note verifies", func(t *testing.T) {
		n, err := note.Open(cp.Signed, note.VerifierList(verifier))
		if err != nil {
			t.Fatalf("note.Open: %v", err)
		}
		if want := auditlog.FormatCheckpoint(origin, 5, cp.Root, e.clk.Now()); n.Text != want {
			t.Fatalf("signed text %q, want %q", n.Text, want)
		}
		if len(n.Sigs) != 1 || n.Sigs[0].Name != origin {
			t.Fatalf("signatures %+v, want one by %s", n.Sigs, origin)
		}
		if !cp.Time.Equal(law.Timestamp(e.clk.Now())) || cp.Size != 5 {
			t.Fatalf("checkpoint size %d time %s", cp.Size, cp.Time)
		}
	})
	t.Run("root is the tree hash of the stored hashes and of the rows", func(t *testing.T) {
		want, err := tlog.TreeHash(cp.Size, storeReader{ctx, e.db})
		if err != nil {
			t.Fatal(err)
		}
		if cp.Root != want {
			t.Fatalf("root %x, tlog.TreeHash %x", cp.Root, want)
		}
		if rows := rootFromEntries(t, e.db, cp.Size); cp.Root != rows {
			t.Fatalf("root %x, recomputed from the rows %x", cp.Root, rows)
		}
	})
	t.Run("stored and logged", func(t *testing.T) {
		latest, err := e.log.Latest(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if latest.Size != cp.Size || latest.Root != cp.Root || !latest.Time.Equal(cp.Time) || string(latest.Signed) != string(cp.Signed) {
			t.Fatalf("stored %+v, signed %+v", latest, cp)
		}
		es, err := e.db.AuditEntries(ctx, 5, 6)
		if err != nil || len(es) != 1 {
			t.Fatalf("AuditEntries = %v, %v", es, err)
		}
		var data map[string]string
		if err := json.Unmarshal(es[0].Data, &data); err != nil {
			t.Fatal(err)
		}
		if es[0].Action != auditlog.ActionCheckpoint || es[0].Actor != "system" || es[0].Subject != "5" ||
			data["root"] != base64.StdEncoding.EncodeToString(cp.Root[:]) {
			t.Fatalf("checkpoint entry %+v", es[0])
		}
	})
	t.Run("no new entries gives the same checkpoint", func(t *testing.T) {
		sizeBefore := e.size(t)
		for range 3 {
			again := e.checkpoint(t)
			if again.Size != cp.Size || string(again.Signed) != string(cp.Signed) {
				t.Fatalf("idle Checkpoint signed a new head at size %d", again.Size)
			}
		}
		if e.size(t) != sizeBefore {
			t.Fatalf("idle Checkpoints grew the log from %d to %d", sizeBefore, e.size(t))
		}
		if cps, _ := e.db.Checkpoints(ctx); len(cps) != 1 {
			t.Fatalf("%d checkpoints stored, want 1", len(cps))
		}
	})
	t.Run("new entries give a consistent new checkpoint", func(t *testing.T) {
		e.appendN(t, 3)
		cp2 := e.checkpoint(t)
		if cp2.Size != 9 { // 5 + the first checkpoint's entry + 3
			t.Fatalf("second checkpoint at size %d, want 9", cp2.Size)
		}
		r := storeReader{ctx, e.db}
		proof, err := tlog.ProveTree(cp2.Size, cp.Size, r)
		if err != nil {
			t.Fatal(err)
		}
		if err := tlog.CheckTree(proof, cp2.Size, cp2.Root, cp.Size, cp.Root); err != nil {
			t.Fatalf("the log did not only grow between checkpoints: %v", err)
		}
		if again := e.checkpoint(t); again.Size != cp2.Size {
			t.Fatalf("idle Checkpoint after the second one signed size %d", again.Size)
		}
	})
}

func TestCheckpointEmptyLog_L21_2(t *testing.T) {
	e := newEnv(t)
	cp := e.checkpoint(t)
	if cp.Size != 0 || cp.Root != tlog.Hash(sha256Empty()) {
		t.Fatalf("empty log checkpoint = size %d root %x", cp.Size, cp.Root)
	}
	if again := e.checkpoint(t); again.Size != 0 || e.size(t) != 1 {
		t.Fatalf("idle Checkpoint of the empty log: size %d, log %d entries", again.Size, e.size(t))
	}
}

func sha256Empty() [32]byte {
	h, _ := base64.StdEncoding.DecodeString("47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=")
	return [32]byte(h)
}

// TestCheckpointIdle checks that only the checkpoint's own entry counts as "nothing new".
func TestCheckpointIdle(t *testing.T) {
	tests := []struct {
		name    string
		next    func(e *env) auditlog.Entry // the one entry appended after the checkpoint
		wantNew bool
	}{
		{"its own entry", func(e *env) auditlog.Entry {
			return auditlog.NewEntry(e.clk.Now(), "system", auditlog.ActionCheckpoint, "2", nil)
		}, false},
		{"a user entry", func(e *env) auditlog.Entry {
			return auditlog.NewEntry(e.clk.Now(), "usr_1", auditlog.ActionLogin, "usr_1", nil)
		}, true},
		{"a checkpoint entry by another actor", func(e *env) auditlog.Entry {
			return auditlog.NewEntry(e.clk.Now(), "usr_1", auditlog.ActionCheckpoint, "2", nil)
		}, true},
		{"a checkpoint entry for another size", func(e *env) auditlog.Entry {
			return auditlog.NewEntry(e.clk.Now(), "system", auditlog.ActionCheckpoint, "1", nil)
		}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			ctx := context.Background()
			e.appendN(t, 2)
			root, err := tlog.TreeHash(2, storeReader{ctx, e.db})
			if err != nil {
				t.Fatal(err)
			}
			if err := e.db.PutCheckpoint(ctx, auditlog.Checkpoint{Size: 2, Root: root, Time: e.clk.Now(), Signed: []byte("x")}); err != nil {
				t.Fatal(err)
			}
			if err := e.db.Append(ctx, tc.next(e)); err != nil {
				t.Fatal(err)
			}
			cp := e.checkpoint(t)
			if gotNew := cp.Size != 2; gotNew != tc.wantNew {
				t.Fatalf("Checkpoint at size %d; want a new one: %v", cp.Size, tc.wantNew)
			}
		})
	}
}

// buildLog appends 10 entries, checkpoints (size 10, entry 10 is the checkpoint's),
// appends 10 more (11..20), checkpoints (size 21), then appends 5 (22..26): 27 entries.
func buildLog(t *testing.T) *env {
	t.Helper()
	e := newEnv(t)
	e.appendN(t, 10)
	if cp := e.checkpoint(t); cp.Size != 10 {
		t.Fatalf("first checkpoint at %d", cp.Size)
	}
	e.appendN(t, 10)
	if cp := e.checkpoint(t); cp.Size != 21 {
		t.Fatalf("second checkpoint at %d", cp.Size)
	}
	e.appendN(t, 5)
	if n := e.size(t); n != 27 {
		t.Fatalf("log has %d entries, want 27", n)
	}
	return e
}

func TestVerifyIntact_L21_2(t *testing.T) {
	e := buildLog(t)
	ctx := context.Background()
	for _, vkey := range []string{e.log.VerifierKey(), ""} {
		rep, err := auditlog.Verify(ctx, e.db, vkey)
		if err != nil {
			t.Fatal(err)
		}
		if !rep.OK() {
			t.Fatalf("intact log (vkey %q) has problems: %v", vkey, rep.Problems)
		}
		want, err := tlog.TreeHash(27, storeReader{ctx, e.db})
		if err != nil {
			t.Fatal(err)
		}
		if rep.Entries != 27 || rep.Checkpoints != 2 || rep.Root != want {
			t.Fatalf("report %+v, want 27 entries, 2 checkpoints, root %x", rep, want)
		}
	}
	if _, err := auditlog.Verify(ctx, e.db, "not a key"); err == nil {
		t.Fatal("Verify accepted a malformed verifier key")
	}
}

func TestVerifyTamper_L21_2(t *testing.T) {
	ctx := context.Background()
	dropTriggers := func(t *testing.T, e *env, names ...string) {
		for _, n := range names {
			e.exec(t, "DROP TRIGGER IF EXISTS "+n)
		}
	}
	changeActor := func(t *testing.T, e *env, seq int64) {
		dropTriggers(t, e, "audit_entries_immutable")
		e.exec(t, "UPDATE audit_entries SET actor = 'mallory' WHERE seq = ?", seq)
	}
	remove := func(t *testing.T, e *env, seq int64) {
		dropTriggers(t, e, "audit_entries_retained")
		e.exec(t, "DELETE FROM audit_entries WHERE seq = ?", seq)
	}
	swap := func(t *testing.T, e *env, a, b int64) {
		dropTriggers(t, e, "audit_entries_immutable")
		e.exec(t, "UPDATE audit_entries SET seq = 1000000 WHERE seq = ?", a)
		e.exec(t, "UPDATE audit_entries SET seq = ? WHERE seq = ?", a, b)
		e.exec(t, "UPDATE audit_entries SET seq = ? WHERE seq = 1000000", b)
	}
	// rewrite changes a row and its stored leaf hash consistently: only the signed roots can tell.
	rewrite := func(t *testing.T, e *env, seq int64) {
		dropTriggers(t, e, "audit_entries_immutable", "audit_hashes_immutable")
		changeActor(t, e, seq)
		es, err := e.db.AuditEntries(ctx, seq, seq+1)
		if err != nil || len(es) != 1 || es[0].Actor != "mallory" {
			t.Fatalf("reading back entry %d: %v %v", seq, es, err)
		}
		h := es[0].LeafHash()
		e.exec(t, "UPDATE audit_hashes SET hash = ? WHERE idx = ?", h[:], tlog.StoredHashIndex(0, seq))
	}

	tests := []struct {
		name    string
		tamper  func(t *testing.T, e *env)
		entries map[int64]string // entry -> reason it must be named for; exactly these
		global  []string         // log-wide problems, in order; exactly these
	}{
		{"changed row between checkpoints", func(t *testing.T, e *env) { changeActor(t, e, 14) },
			map[int64]string{14: "changed: its row (personal-data.read app_13 by mallory)"},
			[]string{"entries 10 to 20 differ from the signed checkpoint at size 21"}},
		{"changed row before both checkpoints", func(t *testing.T, e *env) { changeActor(t, e, 3) },
			map[int64]string{3: "changed"},
			[]string{"entries 0 to 9 differ from the signed checkpoint at size 10", "entries 0 to 20 differ from the signed checkpoint at size 21"}},
		{"changed row after the last checkpoint", func(t *testing.T, e *env) { changeActor(t, e, 24) },
			map[int64]string{24: "changed"}, nil},
		{"changed checkpoint entry", func(t *testing.T, e *env) { changeActor(t, e, 10) },
			map[int64]string{10: "changed"},
			[]string{"entries 10 to 20 differ from the signed checkpoint at size 21"}},
		{"removed row", func(t *testing.T, e *env) { remove(t, e, 14) },
			map[int64]string{14: "removed: no row holds this entry"}, nil},
		{"removed first row", func(t *testing.T, e *env) { remove(t, e, 0) },
			map[int64]string{0: "removed"}, nil},
		{"removed last row", func(t *testing.T, e *env) { remove(t, e, 26) },
			map[int64]string{26: "removed"}, nil},
		{"removed consecutive rows", func(t *testing.T, e *env) { remove(t, e, 15); remove(t, e, 16) },
			map[int64]string{15: "removed", 16: "removed"}, nil},
		{"two rows swapped", func(t *testing.T, e *env) { swap(t, e, 12, 15) },
			map[int64]string{12: "changed: its row (personal-data.read app_14 by usr_14)", 15: "changed: its row (personal-data.read app_11 by usr_11)"},
			[]string{"entries 10 to 20 differ from the signed checkpoint at size 21"}},
		{"row and leaf hash rewritten together", func(t *testing.T, e *env) { rewrite(t, e, 14) },
			nil, []string{"entries 10 to 20 differ from the signed checkpoint at size 21"}},
		{"row and leaf hash rewritten before both checkpoints", func(t *testing.T, e *env) { rewrite(t, e, 2) },
			nil, []string{"entries 0 to 9 differ from the signed checkpoint at size 10", "entries 0 to 20 differ from the signed checkpoint at size 21"}},
		{"checkpoint signed by another key", func(t *testing.T, e *env) {
			other, err := auditlog.New(e.db, newKey(t), origin, e.clk, nil)
			if err != nil {
				t.Fatal(err)
			}
			e.appendN(t, 1)
			if _, err := other.Checkpoint(ctx); err != nil {
				t.Fatal(err)
			}
		}, nil, []string{"checkpoint at size 28: signature does not verify"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := buildLog(t)
			tc.tamper(t, e)
			rep, err := auditlog.Verify(ctx, e.db, e.log.VerifierKey())
			if err != nil {
				t.Fatal(err)
			}
			if rep.OK() {
				t.Fatal("Verify found the tampered log intact")
			}
			var named []int64
			var global []string
			for _, p := range rep.Problems {
				if p.Seq < 0 {
					global = append(global, p.Reason)
					continue
				}
				named = append(named, p.Seq)
				want, ok := tc.entries[p.Seq]
				if !ok {
					t.Errorf("entry %d named wrongly: %s", p.Seq, p)
				} else if !strings.Contains(p.Reason, want) {
					t.Errorf("entry %d: reason %q, want %q", p.Seq, p.Reason, want)
				}
				if !strings.HasPrefix(p.String(), fmt.Sprintf("entry %d: ", p.Seq)) {
					t.Errorf("Problem.String() = %q", p.String())
				}
			}
			for seq := range tc.entries {
				if !slices.Contains(named, seq) {
					t.Errorf("entry %d not named; problems: %v", seq, rep.Problems)
				}
			}
			if len(named) != len(tc.entries) {
				t.Errorf("named entries %v, want exactly %v", named, tc.entries)
			}
			if len(global) != len(tc.global) {
				t.Fatalf("log-wide problems %q, want %q", global, tc.global)
			}
			for i := range global {
				if !strings.Contains(global[i], tc.global[i]) {
					t.Errorf("log-wide problem %d = %q, want %q", i, global[i], tc.global[i])
				}
			}
		})
	}
}

// TestVerifyOtherKey_L21_2 checks every checkpoint is judged by the key given, not by the one that signed it.
func TestVerifyOtherKey_L21_2(t *testing.T) {
	e := buildLog(t)
	other, err := auditlog.New(e.db, newKey(t), origin, e.clk, nil)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := auditlog.Verify(context.Background(), e.db, other.VerifierKey())
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range rep.Problems {
		if p.Seq >= 0 {
			t.Errorf("entry named under a wrong key: %s", p)
		}
		got = append(got, p.Reason)
	}
	if len(got) != 2 || !strings.Contains(got[0], "checkpoint at size 10: signature does not verify") ||
		!strings.Contains(got[1], "checkpoint at size 21: signature does not verify") {
		t.Fatalf("problems %q, want both checkpoints refused", got)
	}
}
