package notify_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tawthiq/tawthiq/internal/clock"
	"github.com/tawthiq/tawthiq/internal/notify"
)

// The mail's Date is the injected clock's time, not the machine's (STYLE #9).
func TestSMTPDateFromClock(t *testing.T) {
	srv := startSMTP(t)
	at := time.Date(2031, 3, 4, 5, 6, 7, 0, time.UTC)
	snd, err := notify.NewSMTP(notify.SMTPConfig{Addr: srv.Addr(), From: "notices@tawthiq.test", Clock: clock.NewFake(at)})
	must(t, err)
	n := notify.Notice{ID: "n1", Channel: notify.ChannelEmail, Recipient: "a@example.ma", Language: "fr",
		Subject: "s", Body: "b", MessageID: "<n1@tawthiq.test>"}
	must(t, snd.Send(t.Context(), n))
	msgs := srv.received()
	if len(msgs) != 1 {
		t.Fatalf("received %d messages", len(msgs))
	}
	got, err := msgs[0].Msg.Header.Date()
	must(t, err)
	if !got.Equal(at) {
		t.Fatalf("Date %s, want %s", got, at)
	}
}

// A webhook's errors become the notice's stored last error: they must not carry
// the credential a URL may hold in its user, path or query.
func TestWebhookErrorsRedactURL(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "no", http.StatusBadGateway)
	}))
	t.Cleanup(srv.Close)
	dead := httptest.NewServer(http.NotFoundHandler())
	deadURL := dead.URL
	dead.Close()
	const secret = "s3cr3t-token"
	n := notify.Notice{ID: "n1", MessageID: "<n1@tawthiq.test>"}
	for _, tc := range []struct{ name, url, site string }{
		{"refused answer", strings.Replace(srv.URL, "://", "://user:"+secret+"@", 1) + "/hook/" + secret + "?key=" + secret, srv.URL},
		{"unreachable", deadURL + "/hook?key=" + secret, deadURL},
		{"unusable", "http://host/%zz?key=" + secret, "(unparsable URL)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := (&notify.Webhook{URL: tc.url}).Send(t.Context(), n)
			if err == nil {
				t.Fatal("no error")
			}
			if strings.Contains(err.Error(), secret) || !strings.Contains(err.Error(), tc.site) {
				t.Fatalf("error %q: want %s named without the credential", err, tc.site)
			}
		})
	}
}
