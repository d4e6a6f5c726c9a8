package loadgen

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strconv"
	"time"
)

// leanConn is a minimal HTTP/1.1 client over one keep-alive connection, as wrk and
// h2load are: each request is one write of a prepared head and its body, each
// answer is read into a reused buffer, and nothing is allocated per request. It
// speaks only what a load run needs: Content-Length bodies, no chunking, no TLS.
type leanConn struct {
	addr  string
	head  []byte // request line and headers, up to the Content-Length value
	conn  net.Conn
	br    *bufio.Reader
	out   []byte
	until time.Time // the connection's deadline: the end of the run, plus grace
}

func newLeanConn(rawURL, method, contentType string, until time.Time) (*leanConn, error) {
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
	return &leanConn{addr: host, head: h.Bytes(), until: until}, nil
}

// do sends one request and reads the answer's body into buf.
func (c *leanConn) do(body, buf []byte) (int, []byte, error) {
	if c.conn == nil {
		conn, err := net.DialTimeout("tcp", c.addr, 5*time.Second)
		if err != nil {
			return 0, buf, err
		}
		_ = conn.SetDeadline(c.until)
		c.conn, c.br = conn, bufio.NewReaderSize(conn, 16<<10)
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
		c.conn, c.br = nil, nil
	}
}

func (c *leanConn) roundTrip(body, buf []byte) (status int, _ []byte, keep bool, err error) {
	c.out = append(c.out[:0], c.head...)
	if body != nil {
		c.out = append(c.out, "Content-Length: "...)
		c.out = strconv.AppendInt(c.out, int64(len(body)), 10)
		c.out = append(c.out, "\r\n"...)
	}
	c.out = append(c.out, "\r\n"...)
	c.out = append(c.out, body...)
	if _, err := c.conn.Write(c.out); err != nil {
		return 0, buf, false, err
	}
	line, err := c.br.ReadSlice('\n')
	if err != nil {
		return 0, buf, false, err
	}
	// HTTP/1.1 200 OK
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) || line[8] != ' ' {
		return 0, buf, false, fmt.Errorf("loadgen: bad status line %q", line)
	}
	status, err = strconv.Atoi(string(line[9:12]))
	if err != nil {
		return 0, buf, false, fmt.Errorf("loadgen: bad status line %q", line)
	}
	keep = line[7] == '1'
	length := -1
	for {
		line, err = c.br.ReadSlice('\n')
		if err != nil {
			return status, buf, false, err
		}
		line = bytes.TrimRight(line, "\r\n")
		if len(line) == 0 {
			break
		}
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			return status, buf, false, fmt.Errorf("loadgen: bad header %q", line)
		}
		value = bytes.TrimSpace(value)
		switch {
		case asciiEqualFold(name, "Content-Length"):
			if length, err = strconv.Atoi(string(value)); err != nil || length < 0 {
				return status, buf, false, fmt.Errorf("loadgen: bad Content-Length %q", value)
			}
		case asciiEqualFold(name, "Transfer-Encoding"):
			return status, buf, false, errors.New("loadgen: the lean client reads Content-Length bodies only")
		case asciiEqualFold(name, "Connection"):
			if asciiEqualFold(value, "close") {
				keep = false
			}
		}
	}
	if length < 0 {
		return status, buf, false, errors.New("loadgen: an answer without Content-Length")
	}
	if cap(buf) < length {
		buf = make([]byte, length, 2*length)
	}
	buf = buf[:length]
	if _, err := io.ReadFull(c.br, buf); err != nil {
		return status, buf, false, err
	}
	return status, buf, keep, nil
}

func asciiEqualFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range len(s) {
		x, y := b[i], s[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}
