package tsa_test

import (
	"bufio"
	"crypto"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tawthiq/tawthiq/internal/store"
	"github.com/tawthiq/tawthiq/internal/timestamp"
	"github.com/tawthiq/tawthiq/internal/tsa"
)

const crashDir = "TAWTHIQ_TSA_CRASH_DIR"

// TestJournalCrashChild is the child of TestJournalCrash_L21_2: it stamps from 16
// goroutines until killed and prints each granted token's serial once its reply
// is in hand.
func TestJournalCrashChild(t *testing.T) {
	dir := os.Getenv(crashDir)
	if dir == "" {
		t.Skip("the child of TestJournalCrash_L21_2")
	}
	f := newFixtureIn(t, dir, &tsa.JournalOptions{SegmentSize: 64 << 10, DrainEvery: 5 * time.Millisecond})
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			for {
				req, _ := tsa.BuildRequest(crypto.SHA256, imprint(), nil, false, nil)
				rep := f.svc.Stamp(t.Context(), req)
				tok, err := timestamp.CheckReply(rep.DER, f.tsa.Cert)
				if err != nil || tok.Status != tsa.StatusGranted {
					fmt.Fprintln(os.Stderr, "stamp:", err, rep.Reason)
					os.Exit(3)
				}
				mu.Lock()
				fmt.Fprintln(os.Stdout, hex.EncodeToString(tok.Serial))
				mu.Unlock()
			}
		})
	}
	wg.Wait()
}

// TestJournalCrash_L21_2 kills a process stamping under load at a random moment;
// after a restart every token it replied with is in tsa_tokens, once, and the
// torn tail of the journal is ignored.
func TestJournalCrash_L21_2(t *testing.T) {
	for round := range 3 {
		t.Run(fmt.Sprint(round), func(t *testing.T) {
			dir := t.TempDir()
			cmd := exec.Command(os.Args[0], "-test.run=^TestJournalCrashChild$", "-test.count=1")
			cmd.Env = append(os.Environ(), crashDir+"="+dir)
			cmd.Stderr = os.Stderr
			out, err := cmd.StdoutPipe()
			must(t, err)
			must(t, cmd.Start())
			replied := map[string]bool{}
			lines := make(chan string, 1024)
			go func() {
				sc := bufio.NewScanner(out)
				for sc.Scan() {
					lines <- sc.Text()
				}
				close(lines)
			}()
			// Wait for the first replies (the child starts with keys and a store), then a random moment.
			for len(replied) < 100 {
				s, ok := <-lines
				if !ok {
					t.Fatalf("the child ended: %v", cmd.Wait())
				}
				replied[s] = true
			}
			deadline := time.After(time.Duration(50+rand.IntN(400)) * time.Millisecond)
		read:
			for {
				select {
				case s := <-lines:
					replied[s] = true
				case <-deadline:
					must(t, cmd.Process.Signal(syscall.SIGKILL))
					break read
				}
			}
			for s := range lines { // what the pipe still held had been replied
				if s != "" && len(s) == 32 {
					replied[s] = true
				}
			}
			_ = cmd.Wait()

			// A torn frame after the journal's last record, as a crash mid-write leaves it.
			jdir := filepath.Join(dir, "journal")
			segs, _ := filepath.Glob(filepath.Join(jdir, "*.seg"))
			tornAt := tearTail(t, segs)

			db, err := store.Open(t.Context(), filepath.Join(dir, "tawthiq.db"), nil)
			must(t, err)
			defer db.Close()
			before, err := db.CountTimestamps(t.Context())
			must(t, err)
			j, err := tsa.OpenJournal(t.Context(), jdir, db, tsa.JournalOptions{})
			must(t, err)
			j.Close()
			after, err := db.CountTimestamps(t.Context())
			must(t, err)
			for s := range replied {
				if _, err := db.TimestampRecord(t.Context(), s); err != nil {
					t.Fatalf("token %s was replied but is not recorded: %v", s, err)
				}
			}
			if after < int64(len(replied)) {
				t.Fatalf("%d records for %d replied tokens", after, len(replied))
			}
			// A second start replays nothing more: nothing doubled.
			j, err = tsa.OpenJournal(t.Context(), jdir, db, tsa.JournalOptions{})
			must(t, err)
			j.Close()
			again, err := db.CountTimestamps(t.Context())
			must(t, err)
			if again != after {
				t.Fatalf("a second start changed the records: %d then %d", after, again)
			}
			t.Logf("%d replied, %d recorded before replay, %d after (torn frame at %s)", len(replied), before, after, tornAt)
		})
	}
}

// tearTail writes half a frame after the last valid frame of the newest
// non-empty segment: a length that promises more than follows, bytes that do not check.
func tearTail(t *testing.T, segs []string) string {
	t.Helper()
	for i := len(segs) - 1; i >= 0; i-- {
		b, err := os.ReadFile(segs[i])
		must(t, err)
		end := tsa.FramesEnd(b)
		if end == 0 {
			continue
		}
		frame := append([]byte{200, 0, 0, 0, 1, 2, 3, 4}, make([]byte, 60)...)
		for k := range frame[8:] {
			frame[8+k] = byte(k + 1)
		}
		f, err := os.OpenFile(segs[i], os.O_WRONLY, 0)
		must(t, err)
		_, err = f.WriteAt(frame, int64(end))
		must(t, err)
		must(t, f.Close())
		return fmt.Sprintf("%s+%d", filepath.Base(segs[i]), end)
	}
	return "none"
}
