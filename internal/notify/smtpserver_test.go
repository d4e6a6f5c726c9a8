package notify_test

import (
	"bufio"
	"bytes"
	"net"
	"net/mail"
	"strings"
	"sync"
	"testing"
)

// received is one message the test SMTP server accepted.
type received struct {
	From, To  string
	MessageID string
	Msg       *mail.Message
	Body      []byte
}

// smtpServer is a minimal SMTP receiver (EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP,
// QUIT) that records every message it acknowledges.
type smtpServer struct {
	ln net.Listener
	mu sync.Mutex
	// rejectNext refuses that many DATA transactions with a 451 before accepting.
	rejectNext int
	msgs       []received
}

func startSMTP(t *testing.T) *smtpServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &smtpServer{ln: ln}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go s.serve(c)
		}
	}()
	t.Cleanup(func() { ln.Close() })
	return s
}

func (s *smtpServer) Addr() string { return s.ln.Addr().String() }

func (s *smtpServer) received() []received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]received(nil), s.msgs...)
}

func (s *smtpServer) serve(c net.Conn) {
	defer c.Close()
	r := bufio.NewReader(c)
	w := bufio.NewWriter(c)
	reply := func(line string) bool {
		w.WriteString(line + "\r\n")
		return w.Flush() == nil
	}
	reply("220 test.invalid ESMTP")
	var from, to string
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		line = strings.TrimRight(line, "\r\n")
		verb := strings.ToUpper(strings.SplitN(line, " ", 2)[0])
		switch verb {
		case "EHLO":
			reply("250-test.invalid")
			reply("250 8BITMIME")
		case "HELO":
			reply("250 test.invalid")
		case "MAIL":
			from = strings.TrimPrefix(line[len("MAIL FROM:"):], " ")
			reply("250 OK")
		case "RCPT":
			to = strings.TrimPrefix(line[len("RCPT TO:"):], " ")
			reply("250 OK")
		case "DATA":
			reply("354 go ahead")
			var data bytes.Buffer
			for {
				l, err := r.ReadString('\n')
				if err != nil {
					return
				}
				if l == ".\r\n" {
					break
				}
				data.WriteString(strings.TrimPrefix(l, ".")) // dot-unstuffing
			}
			s.mu.Lock()
			reject := s.rejectNext > 0
			if reject {
				s.rejectNext--
			} else {
				m, err := mail.ReadMessage(bytes.NewReader(data.Bytes()))
				rec := received{From: strings.Trim(from, "<>"), To: strings.Trim(to, "<>"), Body: data.Bytes()}
				if err == nil {
					rec.Msg, rec.MessageID = m, m.Header.Get("Message-ID")
				}
				s.msgs = append(s.msgs, rec)
			}
			s.mu.Unlock()
			if reject {
				reply("451 try again later")
			} else {
				reply("250 queued")
			}
		case "RSET", "NOOP":
			reply("250 OK")
		case "QUIT":
			reply("221 bye")
			return
		default:
			reply("502 not implemented")
		}
	}
}
