package fastlane

import (
	"context"
	"io"
	"net"
	"sync"
	"sync/atomic"
)

// sniffSize is the replay buffer: one read of a request's start, enough to choose a lane.
const sniffSize = 256

// Connection states Shutdown looks at: it wakes sniffing and idle ones, waits for active ones.
const (
	stateSniff int32 = iota
	stateActive
	stateIdle
)

// conn replays the bytes read to choose a lane before reading the socket again.
type conn struct {
	net.Conn
	buf   [sniffSize]byte
	r, n  int // buf[r:n] is still to be replayed
	state atomic.Int32
	ctx   context.Context // the fast lane's per-connection context
}

func (c *conn) Read(p []byte) (int, error) {
	if c.r < c.n {
		k := copy(p, c.buf[c.r:c.n])
		c.r += k
		return k, nil
	}
	return c.Conn.Read(p)
}

// CloseWrite lets net/http half-close before closing, so a response is not lost to a reset.
func (c *conn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// ReadFrom keeps net/http's sendfile path.
func (c *conn) ReadFrom(r io.Reader) (int64, error) {
	if rf, ok := c.Conn.(io.ReaderFrom); ok {
		return rf.ReadFrom(r)
	}
	return io.Copy(c.Conn, r)
}

// handoff is the net.Listener hs.Serve runs on: Accept returns what the dispatcher pushes.
type handoff struct {
	ch   chan net.Conn
	done chan struct{}
	once sync.Once
	addr net.Addr
}

func newHandoff(addr net.Addr) *handoff {
	return &handoff{ch: make(chan net.Conn), done: make(chan struct{}), addr: addr}
}

func (l *handoff) Accept() (net.Conn, error) {
	select {
	case <-l.done:
		return nil, net.ErrClosed
	default:
	}
	select {
	case c := <-l.ch:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

// push hands c to hs; false once the listener is closed, and c is then the caller's.
func (l *handoff) push(c net.Conn) bool {
	select {
	case l.ch <- c:
		return true
	case <-l.done:
		return false
	}
}

func (l *handoff) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

func (l *handoff) Addr() net.Addr { return l.addr }
