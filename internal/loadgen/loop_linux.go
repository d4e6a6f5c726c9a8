//go:build linux

// The lean clients of a run on Linux are driven by epoll event loops, as wrk's
// are, not by a goroutine each: the load generator shares the server's cores
// (tawthiq bench runs both on one machine), and with a goroutine per client each
// request also pays for Go's netpoller (a goroutine parked and woken, futex
// wake-ups between threads, an epoll_wait of its own), CPU the server then lacks.
// A loop is one goroutine locked to its thread that waits on its own epoll set
// for all its connections and reads and writes their raw non-blocking sockets.

package loadgen

import (
	"context"
	"fmt"
	"net"
	"os"
	"runtime"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// dialTimeout is the lean clients' connect timeout, as net.DialTimeout's in leanConn.
const dialTimeout = 5 * time.Second

// runEventLoops runs cfg.Concurrency lean clients, perLoop to an event loop, until
// ctx ends, then lets the requests in flight finish until the deadline until.
func runEventLoops(ctx context.Context, cfg *Config, t *leanTarget, until time.Time, judge judgeFunc, perLoop int) []clientResult {
	results := make([]clientResult, cfg.Concurrency)
	fail := func(err error) []clientResult {
		for i := range results {
			results[i].fail(err)
		}
		return results
	}
	ta, err := net.ResolveTCPAddr("tcp", t.addr)
	if err != nil {
		return fail(err)
	}
	// The run's end wakes every loop through one eventfd, as a channel cannot.
	efd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		return fail(os.NewSyscallError("eventfd", err))
	}
	var mu sync.Mutex // keeps the eventfd open while the run's end is told through it
	stop := context.AfterFunc(ctx, func() {
		mu.Lock()
		defer mu.Unlock()
		if efd >= 0 {
			_, _ = unix.Write(efd, []byte{1, 0, 0, 0, 0, 0, 0, 0})
		}
	})
	defer func() {
		stop()
		mu.Lock()
		defer mu.Unlock()
		unix.Close(efd)
		efd = -1
	}()
	var loops []*eventLoop
	defer func() {
		for _, l := range loops {
			unix.Close(l.epfd)
		}
	}()
	for lo := 0; lo < len(results); lo += perLoop {
		sa, family, err := sockaddr(ta) // a loop's own: connect writes into it
		if err != nil {
			return fail(err)
		}
		epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
		if err != nil {
			return fail(os.NewSyscallError("epoll_create1", err))
		}
		l := &eventLoop{cfg: cfg, target: t, judge: judge, sa: sa, family: family, until: until, epfd: epfd}
		loops = append(loops, l)
		for i := lo; i < min(lo+perLoop, len(results)); i++ {
			results[i].lat = make([]time.Duration, 0, 1<<16)
			l.conns = append(l.conns, &loopConn{id: i, slot: int32(len(l.conns)), fd: -1, res: &results[i]})
		}
		ev := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLET, Fd: -1}
		if err := unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, efd, &ev); err != nil {
			return fail(os.NewSyscallError("epoll_ctl", err))
		}
	}
	var wg sync.WaitGroup
	for _, l := range loops {
		wg.Go(func() { l.run(ctx) })
	}
	wg.Wait()
	return results
}

// sockaddr is the server's address, resolved once for the run, as connect takes it.
func sockaddr(ta *net.TCPAddr) (unix.Sockaddr, int, error) {
	if ip4 := ta.IP.To4(); ip4 != nil {
		sa := &unix.SockaddrInet4{Port: ta.Port}
		copy(sa.Addr[:], ip4)
		return sa, unix.AF_INET, nil
	}
	sa := &unix.SockaddrInet6{Port: ta.Port}
	copy(sa.Addr[:], ta.IP.To16())
	if ta.Zone != "" {
		ifi, err := net.InterfaceByName(ta.Zone)
		if err != nil {
			return nil, 0, err
		}
		sa.ZoneId = uint32(ifi.Index)
	}
	return sa, unix.AF_INET6, nil
}

// connState is where a connection's request is.
type connState int

const (
	idle    connState = iota // no request in flight
	dialing                  // connecting, the request waiting
	writing                  // part of the request is sent
	reading                  // the request is sent; the answer is coming
)

// loopConn is one lean client of an event loop, with one request in flight.
type loopConn struct {
	id     int   // the client, for NextBody
	slot   int32 // its index in the loop's conns, which epoll hands back
	fd     int   // -1 when there is no connection
	state  connState
	dialBy time.Time // a connect not done by then fails, as leanConn's
	out    []byte    // the request
	sent   int       // bytes of out written
	req    []byte    // its body, for CheckReply
	next   []byte    // NextBody's buffer
	rd     answerReader
	t0     time.Time
	res    *clientResult
}

// eventLoop drives its connections from one goroutine on one OS thread.
type eventLoop struct {
	cfg     *Config
	target  *leanTarget
	judge   judgeFunc
	sa      unix.Sockaddr
	family  int
	until   time.Time // the end of the run plus grace: in-flight requests are given up then
	epfd    int
	conns   []*loopConn
	ending  bool        // the run is over: no new requests
	busy    int         // requests in flight
	dialing int         // connections in state dialing
	retry   []*loopConn // clients whose request failed, started again after the batch of events
}

func (l *eventLoop) run(ctx context.Context) {
	// One thread for the loop: the Go scheduler has nothing to hand between threads.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	defer func() {
		for _, c := range l.conns {
			l.hangUp(c)
		}
	}()
	if ctx.Err() != nil {
		return
	}
	for _, c := range l.conns {
		l.start(c)
	}
	events := make([]unix.EpollEvent, len(l.conns)+1)
	for {
		// Failed requests start again here, not from fail: a dead server is
		// retried at the loop's pace, between waits that notice the run's end.
		k := len(l.retry)
		for i := range k {
			l.start(l.retry[i])
		}
		l.retry = append(l.retry[:0], l.retry[k:]...)
		if l.ending && l.busy == 0 {
			return
		}
		n, err := unix.EpollWait(l.epfd, events, l.timeout())
		if err != nil {
			if err == unix.EINTR {
				continue
			}
			for _, c := range l.conns {
				c.res.fail(os.NewSyscallError("epoll_wait", err))
			}
			return
		}
		for _, ev := range events[:n] {
			if ev.Fd < 0 {
				l.end()
				continue
			}
			l.handle(l.conns[ev.Fd], ev.Events)
		}
		if l.ending || l.dialing > 0 {
			l.expire(time.Now())
		}
	}
}

// timeout is how long epoll_wait may wait, in ms: until the next deadline.
func (l *eventLoop) timeout() int {
	if len(l.retry) > 0 {
		return 0
	}
	var by time.Time
	if l.ending {
		by = l.until
	}
	if l.dialing > 0 {
		for _, c := range l.conns {
			if c.state == dialing && (by.IsZero() || c.dialBy.Before(by)) {
				by = c.dialBy
			}
		}
	}
	if by.IsZero() {
		return -1
	}
	return int(max(0, (time.Until(by)+time.Millisecond-1)/time.Millisecond))
}

// end stops the run: the requests in flight may still finish, until l.until.
func (l *eventLoop) end() {
	l.ending = true
	l.retry = l.retry[:0]
}

// expire fails the connects that took too long and, after the grace, the requests
// still in flight.
func (l *eventLoop) expire(now time.Time) {
	for _, c := range l.conns {
		switch {
		case c.state == idle:
		case l.ending && !now.Before(l.until):
			l.fail(c, os.ErrDeadlineExceeded)
		case c.state == dialing && !now.Before(c.dialBy):
			l.fail(c, fmt.Errorf("loadgen: dial tcp %s: %w", l.target.addr, os.ErrDeadlineExceeded))
		}
	}
}

// start sends client c's next request, connecting first if need be.
func (l *eventLoop) start(c *loopConn) {
	if l.ending {
		l.hangUp(c)
		return
	}
	body := l.cfg.Body
	if l.cfg.NextBody != nil {
		c.next = l.cfg.NextBody(c.id, c.next[:0])
		body = c.next
	}
	c.req, c.out, c.sent = body, l.target.appendRequest(c.out[:0], body), 0
	c.rd.begin(c.rd.body)
	l.busy++
	c.t0 = time.Now() // as leanConn's, the latency counts a reconnect
	if c.fd < 0 {
		if err := l.dial(c); err != nil {
			l.fail(c, err)
			return
		}
		if c.state == dialing {
			return
		}
	}
	c.state = writing
	l.flush(c)
}

// dial opens c's connection; the request waits in state dialing unless the
// connect is done at once, as it may be over loopback.
func (l *eventLoop) dial(c *loopConn) error {
	fd, err := unix.Socket(l.family, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, unix.IPPROTO_TCP)
	if err != nil {
		return os.NewSyscallError("socket", err)
	}
	// Small requests go out at once, as net.Dial's connections do.
	if err := unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1); err != nil {
		unix.Close(fd)
		return os.NewSyscallError("setsockopt", err)
	}
	connErr := unix.Connect(fd, l.sa)
	if connErr != nil && connErr != unix.EINPROGRESS {
		unix.Close(fd)
		return fmt.Errorf("loadgen: dial tcp %s: %w", l.target.addr, os.NewSyscallError("connect", connErr))
	}
	// Edge-triggered, both ways, once for the connection's life: no epoll_ctl per
	// request, and an edge comes only when there is something new to read or room
	// to write after a write that did not fit.
	ev := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLOUT | unix.EPOLLET, Fd: c.slot}
	if err := unix.EpollCtl(l.epfd, unix.EPOLL_CTL_ADD, fd, &ev); err != nil {
		unix.Close(fd)
		return os.NewSyscallError("epoll_ctl", err)
	}
	c.fd = fd
	if connErr != nil {
		c.state, c.dialBy = dialing, c.t0.Add(dialTimeout)
		l.dialing++
	}
	return nil
}

// handle acts on the events epoll reported for c.
func (l *eventLoop) handle(c *loopConn, events uint32) {
	switch c.state {
	case dialing:
		if events&(unix.EPOLLOUT|unix.EPOLLERR|unix.EPOLLHUP) == 0 {
			return
		}
		l.dialing--
		c.state = writing
		if soErr, err := unix.GetsockoptInt(c.fd, unix.SOL_SOCKET, unix.SO_ERROR); err != nil || soErr != 0 {
			if err == nil {
				err = unix.Errno(soErr)
			}
			l.fail(c, fmt.Errorf("loadgen: dial tcp %s: %w", l.target.addr, os.NewSyscallError("connect", err)))
			return
		}
		if l.flush(c) {
			l.read(c)
		}
	case writing:
		// The answer may have come while the request went out in pieces, its edge
		// reported before: look for it once the request is all out.
		if l.flush(c) {
			l.read(c)
		}
	case reading:
		if events&(unix.EPOLLIN|unix.EPOLLERR|unix.EPOLLHUP) != 0 {
			l.read(c)
		}
	}
}

// flush writes what is left of c's request and says whether it is all out.
func (l *eventLoop) flush(c *loopConn) bool {
	for c.sent < len(c.out) {
		n, err := unix.Write(c.fd, c.out[c.sent:])
		switch err {
		case nil:
			c.sent += n
		case unix.EINTR:
		case unix.EAGAIN:
			return false // the socket is full: its EPOLLOUT edge calls again
		default:
			l.fail(c, os.NewSyscallError("write", err))
			return false
		}
	}
	c.state = reading
	return true
}

// read takes what has come of c's answer and finishes the request once it is whole.
func (l *eventLoop) read(c *loopConn) {
	for {
		n, err := unix.Read(c.fd, c.rd.space())
		switch {
		case err == unix.EINTR:
			continue
		case err == unix.EAGAIN:
			return
		case err != nil:
			l.fail(c, os.NewSyscallError("read", err))
			return
		case n == 0:
			l.fail(c, c.rd.eof())
			return
		}
		done, err := c.rd.advance(n)
		if err != nil {
			l.fail(c, err)
			return
		}
		if done {
			l.finish(c)
			return
		}
		// On to EAGAIN: a short read does not mean the socket is empty, as the FIN
		// may be behind the data, and no edge would come for it.
	}
}

// finish records c's answer and sends its next request.
func (l *eventLoop) finish(c *loopConn) {
	lat := time.Since(c.t0) // the round trip alone: judging is the client's own work
	l.busy--
	c.state = idle
	if !c.rd.keep {
		l.hangUp(c)
	}
	err := l.judge(c.rd.status, c.req, c.rd.body)
	switch {
	case err == nil:
		c.res.lat = append(c.res.lat, lat)
	case !l.ending:
		c.res.fail(err)
	}
	l.start(c)
}

// fail ends c's request with err, counted unless the run is over, and closes its
// connection; the client starts again after the batch of events.
func (l *eventLoop) fail(c *loopConn, err error) {
	l.hangUp(c)
	l.busy--
	if l.ending {
		return
	}
	c.res.fail(err)
	l.retry = append(l.retry, c)
}

// hangUp closes c's connection, which takes it out of the epoll set.
func (l *eventLoop) hangUp(c *loopConn) {
	if c.state == dialing {
		l.dialing--
	}
	c.state = idle
	if c.fd >= 0 {
		unix.Close(c.fd)
		c.fd = -1
	}
}
