package notify

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/http"
	"net/mail"
	"net/smtp"
	"net/url"
	"strings"
	"time"

	"github.com/tawthiq/tawthiq/internal/clock"
	"github.com/tawthiq/tawthiq/internal/errkind"
)

// SMTPConfig says where and how notices are mailed.
type SMTPConfig struct {
	Addr     string // host:port of the mail server
	From     string // envelope and header sender, a plain address
	HeloName string // name given in EHLO (default "localhost")
	// StartTLS is required when set: a server that does not offer it is refused.
	StartTLS  bool
	TLSConfig *tls.Config // for StartTLS; default verifies the server's name
	Username  string      // PLAIN authentication, only over TLS (or to localhost)
	Password  string
	Timeout   time.Duration // per message, on top of the claim's lease (default 30 seconds)
	Clock     clock.Clock   // dates the messages (default the system clock)
}

// SMTP sends notices through one mail server, one connection per message.
type SMTP struct {
	cfg  SMTPConfig
	from string
	clk  clock.Clock
}

var _ Sender = (*SMTP)(nil)

// NewSMTP checks cfg and returns its sender.
func NewSMTP(cfg SMTPConfig) (*SMTP, error) {
	if _, _, err := net.SplitHostPort(cfg.Addr); err != nil {
		return nil, errkind.Wrap(errkind.Invalid, err, "the mail server address %q is not host:port", cfg.Addr)
	}
	from, err := mail.ParseAddress(cfg.From)
	if err != nil || from.Address != cfg.From {
		return nil, errkind.New(errkind.Invalid, "", "the notice sender %q is not a plain e-mail address", cfg.From)
	}
	if cfg.HeloName == "" {
		cfg.HeloName = "localhost"
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	clk := cfg.Clock
	if clk == nil {
		clk = clock.Real{}
	}
	return &SMTP{cfg: cfg, from: from.Address, clk: clk}, nil
}

// Send mails n to its recipient and returns once the server accepted it.
func (s *SMTP) Send(ctx context.Context, n Notice) error {
	if n.Channel != ChannelEmail {
		return errkind.New(errkind.Invalid, "", "notice %s is not for e-mail", n.ID)
	}
	to, err := mail.ParseAddress(n.Recipient)
	if err != nil || to.Address != n.Recipient {
		return errkind.New(errkind.Invalid, "", "notice %s has no plain recipient address", n.ID)
	}
	msg, err := Message(n, s.from, s.clk.Now())
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	var dialer net.Dialer
	conn, err := dialer.DialContext(ctx, "tcp", s.cfg.Addr)
	if err != nil {
		return fmt.Errorf("smtp: dial %s: %w", s.cfg.Addr, err)
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	host, _, _ := net.SplitHostPort(s.cfg.Addr)
	c, err := smtp.NewClient(conn, host)
	if err != nil {
		return fmt.Errorf("smtp: greeting: %w", err)
	}
	defer c.Close()
	if err := c.Hello(s.cfg.HeloName); err != nil {
		return fmt.Errorf("smtp: hello: %w", err)
	}
	if s.cfg.StartTLS {
		if ok, _ := c.Extension("STARTTLS"); !ok {
			return fmt.Errorf("smtp: %s does not offer STARTTLS", s.cfg.Addr)
		}
		tc := s.cfg.TLSConfig
		if tc == nil {
			tc = &tls.Config{ServerName: host}
		}
		if err := c.StartTLS(tc); err != nil {
			return fmt.Errorf("smtp: starttls: %w", err)
		}
	}
	if s.cfg.Username != "" {
		if err := c.Auth(smtp.PlainAuth("", s.cfg.Username, s.cfg.Password, host)); err != nil {
			return fmt.Errorf("smtp: auth: %w", err)
		}
	}
	if err := c.Mail(s.from); err != nil {
		return fmt.Errorf("smtp: MAIL: %w", err)
	}
	if err := c.Rcpt(to.Address); err != nil {
		return fmt.Errorf("smtp: RCPT: %w", err)
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("smtp: DATA: %w", err)
	}
	if _, err := w.Write(msg); err != nil {
		return fmt.Errorf("smtp: DATA: %w", err)
	}
	// Close waits for the server's reply to the final dot: the message is accepted.
	if err := w.Close(); err != nil {
		return fmt.Errorf("smtp: DATA: %w", err)
	}
	c.Quit() // the message is accepted; a failed QUIT changes nothing
	return nil
}

// Message is the RFC 5322 message of a notice: UTF-8 text, quoted-printable, with
// the notice's stable Message-ID.
func Message(n Notice, from string, at time.Time) ([]byte, error) {
	for _, h := range []string{from, n.Recipient, n.MessageID} {
		if strings.ContainsAny(h, "\r\n") {
			return nil, errkind.New(errkind.Invalid, "", "notice %s: a header holds a line break", n.ID)
		}
	}
	var b bytes.Buffer
	header := func(k, v string) { fmt.Fprintf(&b, "%s: %s\r\n", k, v) }
	header("From", from)
	header("To", n.Recipient)
	header("Subject", mime.QEncoding.Encode("utf-8", n.Subject))
	header("Date", at.UTC().Format(time.RFC1123Z))
	header("Message-ID", n.MessageID)
	header("Content-Language", n.Language)
	header("MIME-Version", "1.0")
	header("Content-Type", "text/plain; charset=utf-8")
	header("Content-Transfer-Encoding", "quoted-printable")
	header("Auto-Submitted", "auto-generated")
	b.WriteString("\r\n")
	qp := quotedprintable.NewWriter(&b)
	body := strings.ReplaceAll(strings.ReplaceAll(n.Body, "\r\n", "\n"), "\n", "\r\n")
	if _, err := io.WriteString(qp, body); err != nil {
		return nil, err
	}
	if err := qp.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// Webhook posts notices as JSON to a URL, for a relay or an SMS gateway. The
// Idempotency-Key header carries the notice's Message-ID so the receiver can drop a
// duplicate; any 2xx answer is acceptance.
type Webhook struct {
	URL    string
	Client *http.Client // default: a client with a 30-second timeout
}

var _ Sender = (*Webhook)(nil)

// webhookNotice is the JSON a webhook receives.
type webhookNotice struct {
	ID        string `json:"id"`
	MessageID string `json:"message_id"`
	Kind      Kind   `json:"kind"`
	Serial    string `json:"serial"`
	To        string `json:"to"`
	Language  string `json:"language"`
	Subject   string `json:"subject"`
	Body      string `json:"body"`
}

// Send posts n and returns once the receiver answered 2xx.
func (w *Webhook) Send(ctx context.Context, n Notice) error {
	raw, err := json.Marshal(webhookNotice{ID: n.ID, MessageID: n.MessageID, Kind: n.Kind, Serial: n.Serial,
		To: n.Recipient, Language: n.Language, Subject: n.Subject, Body: n.Body})
	if err != nil {
		return err
	}
	// Errors are stored as the notice's last error: they name the receiver by
	// scheme and host only, as the URL's user, path or query may hold a credential.
	site := redactURL(w.URL)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.URL, bytes.NewReader(raw))
	if err != nil {
		return errkind.Wrap(errkind.Invalid, withoutURL(err), "the notice webhook URL %s is not usable", site)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", n.MessageID)
	client := w.Client
	if client == nil {
		client = &http.Client{Timeout: 30 * time.Second}
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("webhook: post to %s: %w", site, withoutURL(err))
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("webhook: %s answered %s", site, resp.Status)
	}
	return nil
}

// withoutURL drops the *url.Error around err, whose message holds the whole URL.
func withoutURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// redactURL is raw's scheme://host, or a placeholder when raw does not parse.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return "(unparsable URL)"
	}
	return u.Scheme + "://" + u.Host
}
