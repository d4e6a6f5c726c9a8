package loadgen

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"testing"
)

// feed gives data to a as reads of at most step bytes would; rest is what was not
// taken when the answer was whole or failed.
func feed(a *answerReader, data []byte, step int) (done bool, rest int, err error) {
	a.begin(nil)
	for len(data) > 0 {
		n := copy(a.space(), data[:min(step, len(data))])
		data = data[n:]
		if done, err = a.advance(n); done && len(data) > 0 {
			// As the next read would find them.
			return false, len(data), fmt.Errorf("loadgen: %d bytes after an answer", len(data))
		}
		if done || err != nil {
			return done, len(data), err
		}
	}
	return false, 0, a.eof()
}

func TestAnswerReader(t *testing.T) {
	long := strings.Repeat("x", 40<<10)
	cases := []struct {
		name, in string
		status   int
		keep     bool
		body     string
		err      string // in the error, if any
	}{
		{"ok", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX: y\r\n\r\nhello", 200, true, "hello", ""},
		{"bare LF, no reason", "HTTP/1.1 404\nconTent-length:0\n\n", 404, true, "", ""},
		{"close", "HTTP/1.1 200 OK\r\nConnection: Close\r\nContent-Length: 2\r\n\r\nhi", 200, false, "hi", ""},
		{"HTTP/1.0", "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nhi", 200, false, "hi", ""},
		{"long body", "HTTP/1.1 200 OK\r\nContent-Length: 40960\r\n\r\n" + long, 200, true, long, ""},
		{"chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n", 0, false, "", "Content-Length bodies only"},
		{"no length", "HTTP/1.1 200 OK\r\n\r\n", 0, false, "", "without Content-Length"},
		{"bad length", "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", 0, false, "", "bad Content-Length"},
		{"bad status", "HTTP/2 200 OK\r\n\r\n", 0, false, "", "bad status line"},
		{"bad header", "HTTP/1.1 200 OK\r\nnocolon\r\n\r\n", 0, false, "", "bad header"},
		{"extra", "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nab", 0, false, "", "1 bytes after an answer"},
		{"head too long", "HTTP/1.1 200 OK\r\nX: " + long + "\r\n\r\n", 0, false, "", "head over"},
		{"cut in the head", "HTTP/1.1 200 OK\r\nContent-Le", 0, false, "", io.ErrUnexpectedEOF.Error()},
		{"cut in the body", "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nab", 0, false, "", io.ErrUnexpectedEOF.Error()},
		{"nothing", "", 0, false, "", io.EOF.Error()},
	}
	for _, tc := range cases {
		for _, step := range []int{1, 2, 7, 1 << 20} {
			var a answerReader
			done, _, err := feed(&a, []byte(tc.in), step)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Errorf("%s, reads of %d: error %v, want %q", tc.name, step, err, tc.err)
				}
				continue
			}
			if err != nil || !done || a.status != tc.status || a.keep != tc.keep || string(a.body) != tc.body {
				t.Errorf("%s, reads of %d: %v %v, status %d, keep %v, body %.20q", tc.name, step, done, err, a.status, a.keep, a.body)
			}
		}
	}
}

// FuzzAnswerReader: an answer reads the same however it is cut into reads.
func FuzzAnswerReader(f *testing.F) {
	f.Add([]byte("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"), 3)
	f.Add([]byte("HTTP/1.0 500 x\nConnection: close\ncontent-length: 1\n\nz"), 1)
	f.Fuzz(func(t *testing.T, in []byte, step int) {
		step = 1 + max(step, -step)%64
		var whole, cut answerReader
		done1, _, err1 := feed(&whole, in, len(in)+1)
		done2, _, err2 := feed(&cut, in, step)
		if done1 != done2 || (err1 == nil) != (err2 == nil) {
			t.Fatalf("whole: %v %v; in reads of %d: %v %v", done1, err1, step, done2, err2)
		}
		if done1 && (whole.status != cut.status || whole.keep != cut.keep || !bytes.Equal(whole.body, cut.body)) {
			t.Fatalf("whole: %d %v %q; in reads of %d: %d %v %q", whole.status, whole.keep, whole.body, step, cut.status, cut.keep, cut.body)
		}
	})
}
