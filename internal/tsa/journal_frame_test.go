package tsa

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

func testRecord(i int) Record {
	g := time.UnixMilli(1_780_000_000_000 + int64(i)).UTC()
	return Record{Serial: fmt.Sprintf("40%030x", i), GenTime: g, CreatedAt: g, HashAlg: "sha256",
		Imprint: bytes.Repeat([]byte{byte(i)}, 32), Policy: "2.16.504.99.1.1.2"}
}

func sameRecord(a, b Record) bool {
	return a.Serial == b.Serial && a.GenTime.Equal(b.GenTime) && a.CreatedAt.Equal(b.CreatedAt) &&
		a.HashAlg == b.HashAlg && bytes.Equal(a.Imprint, b.Imprint) && a.Policy == b.Policy
}

// TestJournalFraming: frames decode to what was written; a torn tail, a flipped
// bit, zeros or an absurd length end the log there, never anything after.
func TestJournalFraming(t *testing.T) {
	var b []byte
	var err error
	for i := range 5 {
		r := testRecord(i)
		if b, err = appendFrame(b, &r); err != nil {
			t.Fatal(err)
		}
	}
	whole := len(b)
	recs, end, err := decodeFrames(append(b, make([]byte, 64)...), -1)
	if err != nil || len(recs) != 5 || end != int64(whole) {
		t.Fatalf("decoded %d records to %d (%v), want 5 to %d", len(recs), end, err, whole)
	}
	for i, r := range recs {
		if !sameRecord(r, testRecord(i)) {
			t.Fatalf("record %d: %+v", i, r)
		}
	}
	// The offset where the fifth frame starts.
	r4 := testRecord(4)
	fifth := whole - len(must1(appendFrame(nil, &r4)))
	corrupt := func(f func(c []byte) []byte) []byte { return f(bytes.Clone(b)) }
	for name, c := range map[string][]byte{
		"torn mid-record": b[:whole-7],
		"torn mid-header": b[:fifth+5],
		"flipped bit":     corrupt(func(c []byte) []byte { c[whole-3] ^= 0x10; return c }),
		"flipped length":  corrupt(func(c []byte) []byte { c[fifth] ^= 1; return c }),
		"absurd length":   corrupt(func(c []byte) []byte { c[fifth+3] = 0x7f; return c }),
		"zeroed frame":    corrupt(func(c []byte) []byte { clear(c[fifth:]); return c }),
	} {
		recs, end, err := decodeFrames(c, -1)
		if err != nil || len(recs) != 4 || end != int64(fifth) {
			t.Errorf("%s: %d records to %d (%v), want 4 to %d", name, len(recs), end, err, fifth)
		}
	}
	if recs, _, _ := decodeFrames(b, 2); len(recs) != 2 {
		t.Errorf("a limit of 2 gave %d records", len(recs))
	}
	long := testRecord(0)
	long.Policy = string(make([]byte, 300))
	if _, err := appendFrame(nil, &long); err == nil {
		t.Error("an oversized field was framed")
	}
}

func must1[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// memSink is a BatchStore keyed by serial, counting how often each was offered.
type memSink struct {
	mu      sync.Mutex
	recs    map[string]Record
	offered int
	fail    bool
}

func (m *memSink) RecordTimestamps(_ context.Context, rs []Record) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail {
		return fmt.Errorf("store down")
	}
	if m.recs == nil {
		m.recs = map[string]Record{}
	}
	for _, r := range rs {
		if old, ok := m.recs[r.Serial]; ok && !sameRecord(old, r) {
			return fmt.Errorf("serial %s reused", r.Serial)
		}
		m.recs[r.Serial] = r
		m.offered++
	}
	return nil
}

func (m *memSink) len() int { m.mu.Lock(); defer m.mu.Unlock(); return len(m.recs) }

// TestJournalReplay: records appended while the store is down are durable in the
// journal, replayed at the next open (a torn tail ignored), rotation across
// segments keeps them all, and the drained segments are removed.
func TestJournalReplay(t *testing.T) {
	dir := t.TempDir()
	sink := &memSink{fail: true}
	opt := JournalOptions{SegmentSize: 4096, DrainEvery: time.Millisecond}
	j, err := OpenJournal(t.Context(), dir, sink, opt)
	if err != nil {
		t.Fatal(err)
	}
	const n = 200 // about 120 bytes a frame: several segments
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			if err := j.Append(testRecord(i)); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	segs, _ := j.segments()
	if len(segs) < 4 {
		t.Fatalf("%d segments for %d records of a 4 KiB segment", len(segs), n)
	}
	// A crash: the process is gone without Close; a torn frame follows the last one.
	j.mu.Lock()
	j.failed = errJournalClosed // the test's stand-in for a dead process
	j.mu.Unlock()
	close(j.stop)
	<-j.writerEnd
	<-j.drainEnd
	if p := <-j.next; p.f != nil { // the next segment, prepared ahead
		p.f.Close()
	}
	last := j.seg
	b, err := os.ReadFile(j.segPath(last))
	if err != nil {
		t.Fatal(err)
	}
	_, end, _ := decodeFrames(b, -1)
	extra := testRecord(n + 1)
	torn := must1(appendFrame(nil, &extra))
	copy(b[end:], torn[:len(torn)-10])
	if err := os.WriteFile(j.segPath(last), b, 0o600); err != nil {
		t.Fatal(err)
	}
	j.f.Close()
	if sink.len() != 0 {
		t.Fatal("a failing sink took records")
	}

	sink.fail = false
	j2, err := OpenJournal(t.Context(), dir, sink, opt)
	if err != nil {
		t.Fatal(err)
	}
	if sink.len() != n {
		t.Fatalf("replayed %d records, want %d", sink.len(), n)
	}
	for i := range n {
		if r, ok := sink.recs[testRecord(i).Serial]; !ok || !sameRecord(r, testRecord(i)) {
			t.Fatalf("record %d after replay: %+v %v", i, r, ok)
		}
	}
	if _, ok := sink.recs[extra.Serial]; ok {
		t.Fatal("the torn record was replayed")
	}
	// The drained segments are gone: the current one remains and, once its
	// background preparation ends, the one prepared ahead.
	if segs, _ := j2.segments(); len(segs) == 0 || segs[0] != j2.seg || len(segs) > 2 || len(segs) == 2 && segs[1] != j2.seg+1 {
		t.Fatalf("segments after replay: %v, current %d", segs, j2.seg)
	}
	// Running: appends drain in the background; Flush waits for them; a reopen replays nothing more.
	for i := range 50 {
		if err := j2.Append(testRecord(1000 + i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := j2.Flush(t.Context()); err != nil || sink.len() != n+50 {
		t.Fatalf("after Flush: %d records (%v)", sink.len(), err)
	}
	j2.Close()
	if err := j2.Append(testRecord(5000)); err == nil {
		t.Fatal("a closed journal took a record")
	}
	offered := sink.offered
	j3, err := OpenJournal(t.Context(), dir, sink, opt)
	if err != nil {
		t.Fatal(err)
	}
	defer j3.Close()
	if sink.offered != offered || sink.len() != n+50 {
		t.Fatalf("a clean reopen replayed %d records", sink.offered-offered)
	}
	if _, err := os.Stat(filepath.Join(dir, drainedFile)); err != nil {
		t.Fatal(err)
	}
}

// TestJournalGroupCommit: a burst of concurrent tokens shares fdatasyncs, every
// record is counted once, and each reaches the store.
func TestJournalGroupCommit(t *testing.T) {
	sink := &memSink{}
	j, err := OpenJournal(t.Context(), t.TempDir(), sink, JournalOptions{DrainEvery: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	const n = 64
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			if err := j.Append(testRecord(i)); err != nil {
				t.Error(err)
			}
		})
	}
	close(start)
	wg.Wait()
	st := j.Stats()
	if st.Records != n || st.Syncs < 1 || st.Syncs >= n || st.SyncTime <= 0 {
		t.Fatalf("stats %+v: want %d records in fewer syncs than records, with their time", st, n)
	}
	if err := j.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := sink.len(); got != n {
		t.Fatalf("%d records drained, want %d", got, n)
	}
}

// TestJournalReusesPreparedSegment: a restart writes into the segment prepared
// ahead before the stop, not into a new one; one with a byte in it is not reused.
func TestJournalReusesPreparedSegment(t *testing.T) {
	dir := t.TempDir()
	sink := &memSink{}
	opt := JournalOptions{SegmentSize: 64 << 10, DrainEvery: time.Millisecond}
	open := func() *Journal {
		t.Helper()
		j, err := OpenJournal(t.Context(), dir, sink, opt)
		if err != nil {
			t.Fatal(err)
		}
		return j
	}
	j := open()
	if err := j.Append(testRecord(1)); err != nil {
		t.Fatal(err)
	}
	used := j.seg
	j.Close()
	if j = open(); j.seg != used+1 {
		t.Fatalf("restarted on segment %d, want the one prepared ahead, %d", j.seg, used+1)
	}
	if err := j.Append(testRecord(2)); err != nil {
		t.Fatal(err)
	}
	used = j.seg
	j.Close()
	// A stray byte in the segment prepared ahead: it is not written into.
	f, err := os.OpenFile(j.segPath(used+1), os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte{7}, 100); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if j = open(); j.seg != used+2 {
		t.Fatalf("restarted on segment %d, want a fresh one, %d", j.seg, used+2)
	}
	defer j.Close()
	if err := j.Flush(t.Context()); err != nil || sink.len() != 2 {
		t.Fatalf("%d records in the store (%v), want 2", sink.len(), err)
	}
}
