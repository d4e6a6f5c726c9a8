package loadgen

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
)

// answerBufSize bounds an answer's status line and headers.
const answerBufSize = 16 << 10

// answerReader gathers one HTTP/1.1 answer at a time from the bytes a connection
// delivers, however they are read: the blocking lean client and the event loops
// share it, so that they parse answers alike. It reads Content-Length bodies only.
type answerReader struct {
	in     []byte // read buffer for the head; in[r:w] came in and is not parsed yet
	r, w   int
	inBody bool // the head is parsed: what comes now is body
	status int
	keep   bool // the connection may carry the next request
	length int
	body   []byte // the body so far; its capacity is at least length once inBody
}

// begin readies the reader for the next answer, whose body goes to buf.
func (a *answerReader) begin(buf []byte) {
	if a.in == nil {
		a.in = make([]byte, answerBufSize)
	}
	a.r, a.w, a.inBody, a.body = 0, 0, false, buf[:0]
}

// space is where the next read should go: once the head is parsed, straight into
// the body, so that a large body is not copied twice.
func (a *answerReader) space() []byte {
	if a.inBody {
		return a.body[len(a.body):a.length]
	}
	return a.in[a.w:]
}

// advance takes n bytes read into space and says whether the answer is whole.
func (a *answerReader) advance(n int) (done bool, err error) {
	if a.inBody {
		a.body = a.body[:len(a.body)+n]
		return len(a.body) == a.length, nil
	}
	a.w += n
	h, hn, err := parseHead(a.in[a.r:a.w])
	if err != nil {
		return false, err
	}
	if hn == 0 {
		if a.w == len(a.in) {
			return false, fmt.Errorf("loadgen: an answer head over %d bytes", len(a.in))
		}
		return false, nil
	}
	a.r += hn
	a.status, a.keep, a.length, a.inBody = h.status, h.keep, h.length, true
	if cap(a.body) < a.length {
		a.body = make([]byte, 0, 2*a.length)
	}
	k := copy(a.body[:a.length], a.in[a.r:a.w])
	a.body, a.r = a.body[:k], a.r+k
	if a.r != a.w {
		// One request is in flight: anything past its answer is the server's error.
		return false, fmt.Errorf("loadgen: %d bytes after an answer", a.w-a.r)
	}
	return k == a.length, nil
}

// eof is the error for a connection that ended before the answer did: io.EOF if
// none of it came, as when a server closes a keep-alive connection.
func (a *answerReader) eof() error {
	if !a.inBody && a.w == 0 {
		return io.EOF
	}
	return io.ErrUnexpectedEOF
}

// answerHead is what the lean clients take from an answer's head.
type answerHead struct {
	status int
	keep   bool
	length int
}

// parseHead parses the status line and headers at the start of b; n, the head's
// length, is 0 while b holds only part of it.
func parseHead(b []byte) (h answerHead, n int, err error) {
	line, n := nextLine(b, 0)
	if n == 0 {
		return h, 0, nil
	}
	// HTTP/1.1 200 OK
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) || line[8] != ' ' {
		return h, 0, fmt.Errorf("loadgen: bad status line %q", line)
	}
	if h.status, err = strconv.Atoi(string(line[9:12])); err != nil {
		return h, 0, fmt.Errorf("loadgen: bad status line %q", line)
	}
	h.keep, h.length = line[7] == '1', -1
	for {
		if line, n = nextLine(b, n); n == 0 {
			return answerHead{}, 0, nil
		}
		line = bytes.TrimRight(line, "\r\n")
		if len(line) == 0 {
			break
		}
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			return h, 0, fmt.Errorf("loadgen: bad header %q", line)
		}
		value = bytes.TrimSpace(value)
		switch {
		case asciiEqualFold(name, "Content-Length"):
			if h.length, err = strconv.Atoi(string(value)); err != nil || h.length < 0 {
				return h, 0, fmt.Errorf("loadgen: bad Content-Length %q", value)
			}
		case asciiEqualFold(name, "Transfer-Encoding"):
			return h, 0, errors.New("loadgen: the lean client reads Content-Length bodies only")
		case asciiEqualFold(name, "Connection"):
			if asciiEqualFold(value, "close") {
				h.keep = false
			}
		}
	}
	if h.length < 0 {
		return h, 0, errors.New("loadgen: an answer without Content-Length")
	}
	return h, n, nil
}

// nextLine returns the line of b that starts at off, with its end of line, and
// the offset after it; 0 if the line is not whole yet.
func nextLine(b []byte, off int) ([]byte, int) {
	i := bytes.IndexByte(b[off:], '\n')
	if i < 0 {
		return nil, 0
	}
	return b[off : off+i+1], off + i + 1
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
