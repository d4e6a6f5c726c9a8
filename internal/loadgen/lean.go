package loadgen

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/url"
	"strconv"
	"time"
)

// leanTarget is what the lean clients send to: the server's address and each
// request's line and headers, prepared once for the run.
type leanTarget struct {
	addr string
	head []byte // request line and headers, up to the Content-Length value
}

func newLeanTarget(rawURL, method, contentType string) (*leanTarget, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, err
	}
	if u.Scheme != "http" {
		return nil, fmt.Errorf("loadgen: the lean client speaks http only, not %q", u.Scheme)
	}
	host := u.Host
	if u.Port() == "" {
		host = net.JoinHostPort(u.Hostname(), "80")
	}
	var h bytes.Buffer
	fmt.Fprintf(&h, "%s %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: tawthiq-loadgen\r\n", method, u.RequestURI(), u.Host)
	if contentType != "" {
		fmt.Fprintf(&h, "Content-Type: %s\r\n", contentType)
	}
	return &leanTarget{addr: host, head: h.Bytes()}, nil
}

// appendRequest appends a whole request with body (a GET when body is nil) to dst,
// so that it goes out in one write.
func (t *leanTarget) appendRequest(dst, body []byte) []byte {
	dst = append(dst, t.head...)
	if body != nil {
		dst = append(dst, "Content-Length: "...)
		dst = strconv.AppendInt(dst, int64(len(body)), 10)
		dst = append(dst, "\r\n"...)
	}
	dst = append(dst, "\r\n"...)
	return append(dst, body...)
}

// leanConn is a minimal HTTP/1.1 client over one keep-alive connection, as wrk and
// h2load are: each request is one write of a prepared head and its body, each
// answer is read into a reused buffer, and nothing is allocated per request. It
// speaks only what a load run needs: Content-Length bodies, no chunking, no TLS.
type leanConn struct {
	t     *leanTarget
	conn  net.Conn
	rd    answerReader
	out   []byte
	until time.Time // the connection's deadline: the end of the run, plus grace
}

func newLeanConn(t *leanTarget, until time.Time) *leanConn {
	return &leanConn{t: t, until: until}
}

// do sends one request and reads the answer's body into buf.
func (c *leanConn) do(body, buf []byte) (int, []byte, error) {
	if c.conn == nil {
		conn, err := net.DialTimeout("tcp", c.t.addr, 5*time.Second)
		if err != nil {
			return 0, buf, err
		}
		_ = conn.SetDeadline(c.until)
		c.conn = conn
	}
	status, buf, keep, err := c.roundTrip(body, buf)
	if err != nil || !keep {
		c.close()
	}
	return status, buf, err
}

func (c *leanConn) close() {
	if c.conn != nil {
		c.conn.Close()
		c.conn = nil
	}
}

func (c *leanConn) roundTrip(body, buf []byte) (status int, _ []byte, keep bool, err error) {
	c.out = c.t.appendRequest(c.out[:0], body)
	if _, err := c.conn.Write(c.out); err != nil {
		return 0, buf, false, err
	}
	c.rd.begin(buf)
	for {
		n, err := c.conn.Read(c.rd.space())
		if n > 0 {
			done, perr := c.rd.advance(n)
			if perr != nil {
				return c.rd.status, c.rd.body, false, perr
			}
			if done {
				return c.rd.status, c.rd.body, c.rd.keep, nil
			}
		}
		if err == io.EOF {
			err = c.rd.eof()
		}
		if err != nil {
			return c.rd.status, c.rd.body, false, err
		}
	}
}
