package tsa

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// BatchStore keeps journaled records: RecordTimestamps writes them all in one
// transaction, durable when it returns, and tolerates records already kept
// (a replay after a crash repeats some).
type BatchStore interface {
	RecordTimestamps(ctx context.Context, rs []Record) error
}

// DefaultSegmentSize is the size of one journal file, written with zeros before
// use so that an fdatasync carries data only, never the file's allocation.
const DefaultSegmentSize = 16 << 20

// JournalOptions tune a journal; zero values are the defaults.
type JournalOptions struct {
	SegmentSize int64                            // DefaultSegmentSize when 0
	DrainEvery  time.Duration                    // how long the drainer gathers records; 100ms when 0
	Logf        func(format string, args ...any) // drain errors (they are retried); nil: dropped
}

// Journal records tokens durably in an append-only file before their reply
// leaves (L-21-2): one writer takes every waiting record, writes them in one
// write and one fdatasync, then releases their waiters. A drainer copies the
// journal into the Store in batches and notes, durably, how far it got; Open
// replays what was not drained before anything is stamped.
//
// Files, in the journal's directory: NNNNNNNNNNNNNNNN.seg, the segments, each
// a run of frames (length, CRC32C, record) then zeros; "drained", the position
// up to which the Store holds every record. A frame that does not check ends
// its segment: the torn tail of a crash, never acknowledged.
type Journal struct {
	dir  string
	sink BatchStore
	opt  JournalOptions

	mu     sync.Mutex
	cur    *jbatch
	spare  []byte
	closed bool
	failed error // a failed write or sync: the journal refuses everything after it
	kick   chan struct{}

	// While writers come in groups, the writer lingers until the group the last
	// sync answered is back (expect records), for at most half the last sync:
	// one fdatasync for the group instead of two, and the CPU of one saved.
	expect   int           // records in flight when the last sync ended
	lastSync time.Duration // how long the last write and sync took
	linger   Linger

	// The writer's state; f, seg and off belong to the writer goroutine.
	f        *os.File
	seg      uint64
	off      int64
	next     chan prepared
	syncs    atomic.Int64         // fdatasyncs done: each costs ~0.1 ms of CPU on a VM
	records  atomic.Int64         // records made durable
	syncTime atomic.Int64         // nanoseconds spent writing and syncing batches
	durable  atomic.Pointer[jpos] // end of what is synced
	drained  atomic.Pointer[jpos] // end of what the Store holds
	dkick    chan struct{}
	savedAt  time.Time // when the drainer last noted its position (drainer only)

	stop      chan struct{}
	writerEnd chan struct{}
	drainEnd  chan struct{}
	closeOnce sync.Once
}

type jpos struct {
	seg uint64
	off int64
}

func (p jpos) before(q jpos) bool { return p.seg < q.seg || p.seg == q.seg && p.off < q.off }

type jbatch struct {
	n    int // records
	buf  []byte
	done chan struct{}
	err  error
}

type prepared struct {
	f   *os.File
	err error
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

const (
	frameHeader = 8    // uint32 length, uint32 CRC32C of the length and the record
	maxFrame    = 1024 // a record is far smaller
	drainedFile = "drained"
	maxDrain    = 4096 // records per Store transaction
)

var errJournalClosed = errors.New("tsa: the journal is closed")

// OpenJournal opens the journal in dir, replays into sink whatever it holds
// that sink may lack, and starts a fresh segment.
func OpenJournal(ctx context.Context, dir string, sink BatchStore, opt JournalOptions) (*Journal, error) {
	if opt.SegmentSize == 0 {
		opt.SegmentSize = DefaultSegmentSize
	}
	if opt.SegmentSize < 4096 {
		return nil, fmt.Errorf("tsa journal: segment size %d too small", opt.SegmentSize)
	}
	if opt.DrainEvery == 0 {
		opt.DrainEvery = 100 * time.Millisecond
	}
	if opt.Logf == nil {
		opt.Logf = func(string, ...any) {}
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	j := &Journal{dir: dir, sink: sink, opt: opt, kick: make(chan struct{}, 1), dkick: make(chan struct{}, 1),
		next: make(chan prepared, 1), stop: make(chan struct{}), writerEnd: make(chan struct{}), drainEnd: make(chan struct{})}
	last, err := j.replay(ctx)
	if err != nil {
		return nil, err
	}
	// The segment prepared ahead before the last stop is reused while it holds
	// only zeros: no start writes a segment it does not need.
	if j.f = j.unused(last); j.f != nil {
		j.seg = last
	} else {
		j.seg = last + 1
		if j.f, err = j.prepare(j.seg); err != nil {
			return nil, err
		}
	}
	start := jpos{seg: j.seg}
	if err := j.saveDrained(start); err != nil {
		j.f.Close()
		return nil, err
	}
	j.removeBefore(j.seg)
	j.durable.Store(&start)
	j.drained.Store(&start)
	j.cur = &jbatch{done: make(chan struct{})}
	go func() { j.next <- j.prepareResult(j.seg + 1) }()
	go j.writeLoop()
	go j.drainLoop()
	return j, nil
}

// replay copies every record after the drained position into the sink and
// returns the highest segment number seen.
func (j *Journal) replay(ctx context.Context) (uint64, error) {
	from := j.loadDrained()
	segs, err := j.segments()
	if err != nil {
		return 0, err
	}
	last := from.seg
	for _, s := range segs {
		last = max(last, s)
		if s < from.seg {
			continue
		}
		start := int64(0)
		if s == from.seg {
			start = from.off
		}
		b, err := os.ReadFile(j.segPath(s))
		if err != nil {
			return 0, err
		}
		if start > int64(len(b)) {
			continue
		}
		recs, _, err := decodeFrames(b[start:], -1)
		if err != nil {
			return 0, err
		}
		for len(recs) > 0 {
			n := min(len(recs), maxDrain)
			if err := j.sink.RecordTimestamps(ctx, recs[:n]); err != nil {
				return 0, fmt.Errorf("tsa journal: replaying segment %d: %w", s, err)
			}
			recs = recs[n:]
		}
	}
	return last, nil
}

func (j *Journal) segPath(s uint64) string {
	return filepath.Join(j.dir, fmt.Sprintf("%016x.seg", s))
}

// segments lists the segment numbers present, in order.
func (j *Journal) segments() ([]uint64, error) {
	ents, err := os.ReadDir(j.dir)
	if err != nil {
		return nil, err
	}
	var out []uint64
	for _, e := range ents {
		name, ok := strings.CutSuffix(e.Name(), ".seg")
		if !ok {
			continue
		}
		if s, err := strconv.ParseUint(name, 16, 64); err == nil {
			out = append(out, s)
		}
	}
	slices.Sort(out)
	return out, nil
}

// removeBefore deletes the drained segments, and unfinished preparations.
func (j *Journal) removeBefore(seg uint64) {
	ents, _ := os.ReadDir(j.dir)
	for _, e := range ents {
		if strings.HasSuffix(e.Name(), ".tmp") {
			_ = os.Remove(filepath.Join(j.dir, e.Name()))
		}
	}
	segs, _ := j.segments()
	for _, s := range segs {
		if s < seg {
			_ = os.Remove(j.segPath(s))
		}
	}
}

// unused opens segment seg for writing if it is whole and holds nothing but
// zeros (not even a torn frame, whose tail a later write could leave readable).
func (j *Journal) unused(seg uint64) *os.File {
	b, err := os.ReadFile(j.segPath(seg))
	if err != nil || int64(len(b)) != j.opt.SegmentSize {
		return nil
	}
	zeros := make([]byte, 64<<10)
	for len(b) > 0 {
		n := min(len(b), len(zeros))
		if !bytes.Equal(b[:n], zeros[:n]) {
			return nil
		}
		b = b[n:]
	}
	f, err := os.OpenFile(j.segPath(seg), os.O_RDWR, 0o600)
	if err != nil {
		return nil
	}
	return f
}

// prepare writes a segment full of zeros, syncs it, and names it.
func (j *Journal) prepare(seg uint64) (*os.File, error) {
	tmp := j.segPath(seg) + ".tmp"
	f, err := os.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, err
	}
	zeros := make([]byte, 1<<20)
	for off := int64(0); off < j.opt.SegmentSize && err == nil; off += int64(len(zeros)) {
		_, err = f.WriteAt(zeros[:min(int64(len(zeros)), j.opt.SegmentSize-off)], off)
	}
	if err == nil {
		err = f.Sync()
	}
	if err == nil {
		err = os.Rename(tmp, j.segPath(seg))
	}
	if err == nil {
		err = syncDir(j.dir)
	}
	if err != nil {
		f.Close()
		_ = os.Remove(tmp)
		return nil, fmt.Errorf("tsa journal: preparing segment %d: %w", seg, err)
	}
	return f, nil
}

func (j *Journal) prepareResult(seg uint64) prepared {
	f, err := j.prepare(seg)
	return prepared{f, err}
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// Append records r durably; it returns once r is synced to the journal.
func (j *Journal) Append(r Record) error {
	j.mu.Lock()
	if j.closed || j.failed != nil {
		err := j.failed
		j.mu.Unlock()
		return cmpErr(err, errJournalClosed)
	}
	b := j.cur
	first := len(b.buf) == 0
	var err error
	b.buf, err = appendFrame(b.buf, &r)
	if err == nil {
		b.n++
		j.linger.Arrived(b.n)
	}
	j.mu.Unlock()
	if err != nil {
		return err
	}
	if first {
		select {
		case j.kick <- struct{}{}:
		default:
		}
	}
	<-b.done
	return b.err
}

func cmpErr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

func (j *Journal) writeLoop() {
	defer close(j.writerEnd)
	for {
		stopping := false
		select {
		case <-j.kick:
		case <-j.stop:
			stopping = true
		}
		for {
			j.mu.Lock()
			if n := j.cur.n; n > 0 && n < j.expect && !stopping {
				j.linger.Wait(&j.mu, j.expect, min(j.lastSync/2, 500*time.Microsecond))
			}
			b := j.cur
			if len(b.buf) == 0 {
				j.mu.Unlock()
				break
			}
			j.cur = &jbatch{buf: j.spare[:0], done: make(chan struct{})}
			failed := j.failed
			j.mu.Unlock()
			b.err = failed
			if failed == nil {
				began := time.Now()
				b.err = j.write(b.buf)
				j.records.Add(int64(b.n))
				j.mu.Lock()
				if b.err != nil {
					j.failed = fmt.Errorf("tsa journal: %w", b.err)
				}
				j.lastSync = time.Since(began)
				j.syncTime.Add(int64(j.lastSync))
				j.expect = b.n + j.cur.n
				j.mu.Unlock()
			}
			close(b.done)
			j.spare = b.buf
		}
		if stopping {
			return
		}
	}
}

// write appends buf to the current segment, moving to the next when it is
// full; a batch may span segments, split between frames.
func (j *Journal) write(buf []byte) error {
	for len(buf) > 0 {
		n := 0 // the whole frames that fit
		for n < len(buf) {
			end := n + frameHeader + int(binary.LittleEndian.Uint32(buf[n:]))
			if j.off+int64(end) > j.opt.SegmentSize {
				break
			}
			n = end
		}
		if n == 0 {
			if j.off == 0 {
				return errors.New("a record larger than a segment")
			}
			if err := j.rotate(); err != nil {
				return err
			}
			continue
		}
		if _, err := j.f.WriteAt(buf[:n], j.off); err != nil {
			return err
		}
		if err := fdatasync(j.f); err != nil {
			return err
		}
		j.syncs.Add(1)
		j.off += int64(n)
		buf = buf[n:]
		j.durable.Store(&jpos{j.seg, j.off})
		select {
		case j.dkick <- struct{}{}:
		default:
		}
	}
	return nil
}

// rotate seals the current segment and moves to the prepared next one.
func (j *Journal) rotate() error {
	p := <-j.next
	if p.err != nil {
		go func(s uint64) { j.next <- j.prepareResult(s) }(j.seg + 1)
		return p.err
	}
	j.f.Close()
	j.f, j.seg, j.off = p.f, j.seg+1, 0
	go func(s uint64) { j.next <- j.prepareResult(s) }(j.seg + 1)
	return nil
}

func (j *Journal) drainLoop() {
	defer close(j.drainEnd)
	backoff := 50 * time.Millisecond
	for {
		select {
		case <-j.dkick:
		case <-j.stop:
			<-j.writerEnd
			if err := j.drain(context.Background(), true); err != nil {
				j.opt.Logf("tsa journal: last drain: %v (replayed at the next start)", err)
			}
			return
		}
		// Let records gather: one Store commit for many tokens.
		t := time.NewTimer(j.opt.DrainEvery)
		select {
		case <-t.C:
		case <-j.stop:
			t.Stop()
		}
		if err := j.drain(context.Background(), false); err != nil {
			j.opt.Logf("tsa journal: drain: %v (retried)", err)
			select {
			case j.dkick <- struct{}{}:
			default:
			}
			select {
			case <-time.After(backoff):
			case <-j.stop:
			}
			backoff = min(2*backoff, 2*time.Second)
			continue
		}
		backoff = 50 * time.Millisecond
	}
}

// drain copies the records between the drained and the durable positions into
// the sink, in batches, noting the drained position after each.
func (j *Journal) drain(ctx context.Context, final bool) error {
	for {
		from, to := *j.drained.Load(), *j.durable.Load()
		if !from.before(to) {
			if final {
				return j.saveDrained(from)
			}
			return nil
		}
		limit := int64(-1) // a sealed segment: read to its first zero frame
		if from.seg == to.seg {
			limit = to.off
		}
		recs, end, err := j.readSegment(from, limit)
		if err != nil {
			return err
		}
		if len(recs) > 0 {
			if err := j.sink.RecordTimestamps(ctx, recs); err != nil {
				return err
			}
		}
		if len(recs) == 0 && limit >= 0 {
			return fmt.Errorf("tsa journal: segment %d unreadable at %d", from.seg, from.off)
		}
		next := jpos{from.seg, from.off + end}
		if len(recs) == 0 { // the sealed segment is done
			next = jpos{from.seg + 1, 0}
		}
		// The position is noted durably when a segment is done, at most once a
		// second otherwise: a replay from an older one is only longer.
		if next.seg > from.seg || final || time.Since(j.savedAt) >= time.Second {
			if err := j.saveDrained(next); err != nil {
				return err
			}
			j.savedAt = time.Now()
		}
		j.drained.Store(&next)
		if next.seg > from.seg {
			_ = os.Remove(j.segPath(from.seg))
		}
	}
}

// readSegment decodes at most maxDrain records of segment p.seg from p.off, up
// to limit (or the segment's end when negative); end is the bytes consumed.
func (j *Journal) readSegment(p jpos, limit int64) ([]Record, int64, error) {
	f, err := os.Open(j.segPath(p.seg))
	if err != nil {
		return nil, 0, err
	}
	defer f.Close()
	size := j.opt.SegmentSize
	if limit >= 0 {
		size = limit
	}
	if size <= p.off {
		return nil, 0, nil
	}
	b := make([]byte, size-p.off)
	n, _ := f.ReadAt(b, p.off)
	return decodeFrames(b[:n], maxDrain)
}

// JournalStats is how the group commit went: records per sync and the time a
// sync takes under load are what bound the TSA's latency.
type JournalStats struct {
	Records, Syncs int64
	SyncTime       time.Duration // writing and syncing the batches, in all
}

// Stats returns the records made durable, the fdatasyncs that did it and their time.
func (j *Journal) Stats() JournalStats {
	return JournalStats{Records: j.records.Load(), Syncs: j.syncs.Load(), SyncTime: time.Duration(j.syncTime.Load())}
}

// Flush waits until every record appended before it is in the Store.
func (j *Journal) Flush(ctx context.Context) error {
	target := *j.durable.Load()
	for j.drained.Load().before(target) {
		select {
		case j.dkick <- struct{}{}:
		default:
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Millisecond):
		}
	}
	return nil
}

// Close refuses new records, writes those waiting, drains what it can and
// closes the files. What it could not drain is replayed at the next start.
func (j *Journal) Close() {
	j.closeOnce.Do(func() {
		j.mu.Lock()
		j.closed = true
		j.mu.Unlock()
		close(j.stop)
		<-j.writerEnd
		<-j.drainEnd
		j.f.Close()
		if p := <-j.next; p.f != nil { // the one preparation ahead, left for the next start
			p.f.Close()
		}
	})
}

// The drained position: segment, offset, CRC32C of both; a torn write reads
// as the start, and replaying everything is harmless.
func (j *Journal) saveDrained(p jpos) error {
	var b [20]byte
	binary.LittleEndian.PutUint64(b[0:], p.seg)
	binary.LittleEndian.PutUint64(b[8:], uint64(p.off))
	binary.LittleEndian.PutUint32(b[16:], crc32.Checksum(b[:16], castagnoli))
	f, err := os.OpenFile(filepath.Join(j.dir, drainedFile), os.O_WRONLY|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	if _, err = f.WriteAt(b[:], 0); err == nil {
		err = fdatasync(f)
	}
	if e := f.Close(); err == nil {
		err = e
	}
	return err
}

func (j *Journal) loadDrained() jpos {
	b, err := os.ReadFile(filepath.Join(j.dir, drainedFile))
	if err != nil || len(b) < 20 || crc32.Checksum(b[:16], castagnoli) != binary.LittleEndian.Uint32(b[16:]) {
		return jpos{}
	}
	return jpos{binary.LittleEndian.Uint64(b), int64(binary.LittleEndian.Uint64(b[8:]))}
}

// appendFrame appends r's frame: length, CRC32C of the length and the record,
// the record (version 1: serial, genTime and createdAt in ms, hash algorithm,
// imprint, policy; strings one length octet each).
func appendFrame(b []byte, r *Record) ([]byte, error) {
	if len(r.Serial) > 255 || len(r.HashAlg) > 255 || len(r.Imprint) > 255 || len(r.Policy) > 255 {
		return b, errors.New("tsa journal: a record field is too long")
	}
	start := len(b)
	b = append(b, make([]byte, frameHeader)...)
	b = append(b, 1)
	b = append(append(b, byte(len(r.Serial))), r.Serial...)
	b = binary.LittleEndian.AppendUint64(b, uint64(r.GenTime.UnixMilli()))
	b = binary.LittleEndian.AppendUint64(b, uint64(r.CreatedAt.UnixMilli()))
	b = append(append(b, byte(len(r.HashAlg))), r.HashAlg...)
	b = append(append(b, byte(len(r.Imprint))), r.Imprint...)
	b = append(append(b, byte(len(r.Policy))), r.Policy...)
	n := len(b) - start - frameHeader
	binary.LittleEndian.PutUint32(b[start:], uint32(n))
	c := crc32.Update(0, castagnoli, b[start:start+4])
	c = crc32.Update(c, castagnoli, b[start+frameHeader:])
	binary.LittleEndian.PutUint32(b[start+4:], c)
	return b, nil
}

// decodeFrames reads frames from b until a frame that does not check (zeros, a
// torn tail) or max records (max < 0: no limit); end is where it stopped.
func decodeFrames(b []byte, max int) (recs []Record, end int64, err error) {
	off := 0
	for max < 0 || len(recs) < max {
		if len(b)-off < frameHeader {
			break
		}
		n := int(binary.LittleEndian.Uint32(b[off:]))
		if n == 0 || n > maxFrame || len(b)-off-frameHeader < n {
			break
		}
		c := crc32.Update(0, castagnoli, b[off:off+4])
		c = crc32.Update(c, castagnoli, b[off+frameHeader:off+frameHeader+n])
		if c != binary.LittleEndian.Uint32(b[off+4:]) {
			break
		}
		r, ok := decodeRecord(b[off+frameHeader : off+frameHeader+n])
		if !ok {
			return recs, int64(off), fmt.Errorf("tsa journal: a record that checks does not decode at offset %d", off)
		}
		recs = append(recs, r)
		off += frameHeader + n
	}
	return recs, int64(off), nil
}

func decodeRecord(p []byte) (Record, bool) {
	var r Record
	if len(p) < 1 || p[0] != 1 {
		return r, false
	}
	p = p[1:]
	str := func() ([]byte, bool) {
		if len(p) < 1 || len(p) < 1+int(p[0]) {
			return nil, false
		}
		s := p[1 : 1+int(p[0])]
		p = p[1+int(p[0]):]
		return s, true
	}
	serial, ok := str()
	if !ok || len(p) < 16 {
		return r, false
	}
	r.Serial = string(serial)
	r.GenTime = time.UnixMilli(int64(binary.LittleEndian.Uint64(p))).UTC()
	r.CreatedAt = time.UnixMilli(int64(binary.LittleEndian.Uint64(p[8:]))).UTC()
	p = p[16:]
	alg, ok1 := str()
	imp, ok2 := str()
	pol, ok3 := str()
	if !ok1 || !ok2 || !ok3 || len(p) != 0 {
		return r, false
	}
	r.HashAlg, r.Imprint, r.Policy = string(alg), slices.Clone(imp), string(pol)
	return r, true
}
