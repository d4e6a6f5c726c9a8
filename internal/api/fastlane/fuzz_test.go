package fastlane

import (
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
)

// FuzzDispatch sends arbitrary first bytes, half-closes, and wants a response or a
// closed connection in time, from a server that survives it all.
func FuzzDispatch(f *testing.F) {
	for _, seed := range []string{
		post("/tsa", queryType, "q"),
		post("/tsa", queryType, "q") + get("/other") + post("/tsa", "text/plain", "x"),
		get("/healthz"),
		"PO",
		"POST /tsa",
		"POST /tsa?x HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nab",
		"POST /tsa HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Type: " + queryType + "\r\n\r\n1\r\nq\r\n0\r\n\r\n",
		"POST /tsa HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n",
		"POST /tsa HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999\r\n\r\n",
		"POST /tsa HTTP/1.0\r\n\r\n",
		"POST /tsa HTTP/9.9\r\nHost: x\r\n\r\n",
		"POST /tsa \r\n\r\n",
		"\x16\x03\x01\x00\x05hello",
		"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
		"",
	} {
		f.Add([]byte(seed))
	}
	fx := start(f, options{headerTimeout: 2 * time.Second, quiet: true})
	f.Fuzz(func(t *testing.T, in []byte) {
		if len(in) > 8<<10 {
			return
		}
		c, err := net.Dial("tcp", fx.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		// The server may answer and close before reading all of in: not a failure.
		_, _ = c.Write(in)
		_ = c.(*net.TCPConn).CloseWrite()
		_, err = io.Copy(io.Discard, c)
		if os.IsTimeout(err) {
			t.Fatalf("neither answered nor closed within 10s for %q", in)
		}
		if err != nil && !errors.Is(err, syscall.ECONNRESET) && !strings.Contains(err.Error(), "reset") {
			t.Fatalf("reading: %v", err)
		}
	})
}
