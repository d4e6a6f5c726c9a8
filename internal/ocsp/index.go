package ocsp

import (
	"crypto/sha256"
	"encoding/base64"
	"sync"
	"time"
)

// entry is one certificate's pre-signed responses; never changed once in the index.
type entry struct {
	der        [numAlgs][]byte
	etag       [numAlgs]string
	status     Status
	thisUpdate time.Time
	nextUpdate time.Time
}

const shards = 64

// index maps a serial's INTEGER contents to its entry, sharded so that the
// poller's writes seldom meet a reader.
type index struct {
	shard [shards]struct {
		mu sync.RWMutex
		m  map[string]*entry
		_  [32]byte // keep shards on their own cache lines
	}
}

func (x *index) init() {
	for i := range x.shard {
		x.shard[i].m = map[string]*entry{}
	}
}

func shardOf(serial []byte) int { return int(serial[len(serial)-1]) % shards }

func (x *index) get(serial []byte) *entry {
	sh := &x.shard[shardOf(serial)]
	sh.mu.RLock()
	e := sh.m[string(serial)]
	sh.mu.RUnlock()
	return e
}

// put stores e unless the index holds a more recent response, or a revoked one of
// the same second (a revocation is final).
func (x *index) put(serial []byte, e *entry) bool {
	sh := &x.shard[shardOf(serial)]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if old := sh.m[string(serial)]; old != nil && (e.thisUpdate.Before(old.thisUpdate) ||
		e.thisUpdate.Equal(old.thisUpdate) && old.status == Revoked && e.status != Revoked) {
		return false
	}
	sh.m[string(serial)] = e
	return true
}

func (x *index) len() int {
	n := 0
	for i := range x.shard {
		sh := &x.shard[i]
		sh.mu.RLock()
		n += len(sh.m)
		sh.mu.RUnlock()
	}
	return n
}

func newEntry(r *Response) *entry {
	e := &entry{der: [numAlgs][]byte{r.DER, r.DERSHA256}, status: r.Status, thisUpdate: r.ThisUpdate, nextUpdate: r.NextUpdate}
	for i, d := range e.der {
		h := sha256.Sum256(d)
		e.etag[i] = `"` + base64.RawURLEncoding.EncodeToString(h[:12]) + `"`
	}
	return e
}

// learn puts a stored response in its issuer's index.
func (s *Service) learn(r *Response) {
	is := s.byName[r.CA]
	if is == nil {
		return // a CA this node does not answer for
	}
	serial, ok := serialBytes(r.Serial)
	if !ok {
		return
	}
	is.index.put(serial, newEntry(r))
}

// Indexed returns how many certificates have a pre-signed response in memory.
func (s *Service) Indexed() int {
	n := 0
	for _, is := range s.issuers {
		n += is.index.len()
	}
	return n
}
