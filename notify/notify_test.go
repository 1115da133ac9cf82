package notify_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/slipway-dev/slipway/notify"
	"github.com/slipway-dev/slipway/provider"
)

// recorder is an httptest server that records the requests it gets and
// answers with a status and body.
type recorder struct {
	srv    *httptest.Server
	mu     sync.Mutex
	reqs   []recorded
	status int
	body   string
}

type recorded struct {
	Method, Path, ContentType, UserAgent, Auth string
	Body                                       string
}

func newRecorder(t *testing.T, status int, body string) *recorder {
	t.Helper()
	r := &recorder{status: status, body: body}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.reqs = append(r.reqs, recorded{Method: req.Method, Path: req.URL.Path, ContentType: req.Header.Get("Content-Type"),
			UserAgent: req.Header.Get("User-Agent"), Auth: req.Header.Get("Authorization"), Body: string(b)})
		r.mu.Unlock()
		w.WriteHeader(r.status)
		io.WriteString(w, r.body)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *recorder) requests() []recorded {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]recorded(nil), r.reqs...)
}

var t0 = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)

var rolledBack = notify.Notification{
	Kind: notify.RolledBack, Time: t0, Function: "orders", Alias: "production", Release: "r-42",
	Candidate: "8", Stable: "7", Semver: "1.2.0", Actor: "ci <bot>",
	Reason: "check error-rate failed: 4.1% > 1% & rising", URL: "https://ci.example/run/42",
}

func TestWebhook(t *testing.T) {
	rec := newRecorder(t, http.StatusNoContent, "")
	w := &notify.Webhook{URL: rec.srv.URL + "/hooks/s3cr3t", Header: http.Header{"Authorization": {"Bearer x"}}}
	if err := w.Notify(context.Background(), rolledBack); err != nil {
		t.Fatalf("Notify: %v", err)
	}
	want := []recorded{{
		Method: "POST", Path: "/hooks/s3cr3t", ContentType: "application/json", UserAgent: "slipway", Auth: "Bearer x",
		Body: `{"kind":"rolled back","time":"2026-03-02T10:00:00Z","function":"orders","alias":"production","release":"r-42",` +
			`"candidate":"8","stable":"7","semver":"1.2.0","actor":"ci \u003cbot\u003e",` +
			`"reason":"check error-rate failed: 4.1% \u003e 1% \u0026 rising","url":"https://ci.example/run/42"}`,
	}}
	if diff := cmp.Diff(want, rec.requests()); diff != "" {
		t.Errorf("requests (-want +got):\n%s", diff)
	}
	// Omitted fields are left out of the body.
	min := notify.Notification{Kind: notify.Promoted, Time: t0, Function: "orders"}
	if err := w.Notify(context.Background(), min); err != nil {
		t.Fatal(err)
	}
	if got := rec.requests()[1].Body; got != `{"kind":"promoted","time":"2026-03-02T10:00:00Z","function":"orders"}` {
		t.Errorf("body = %s", got)
	}
}

func TestWebhookHTTPError(t *testing.T) {
	rec := newRecorder(t, http.StatusInternalServerError, "  boom: "+strings.Repeat("x", 600))
	for _, n := range []notify.Notifier{
		&notify.Webhook{URL: rec.srv.URL + "/hooks/s3cr3t?token=abc"},
		&notify.Slack{WebhookURL: rec.srv.URL + "/hooks/s3cr3t?token=abc"},
	} {
		err := n.Notify(context.Background(), rolledBack)
		var he *notify.HTTPError
		if !errors.As(err, &he) {
			t.Fatalf("Notify = %v, want an *HTTPError", err)
		}
		wantBody := ("boom: " + strings.Repeat("x", 600))[:512-2]
		want := notify.HTTPError{Endpoint: rec.srv.URL, StatusCode: 500, Status: "500 Internal Server Error", Body: wantBody}
		if diff := cmp.Diff(want, *he); diff != "" {
			t.Errorf("HTTPError (-want +got):\n%s", diff)
		}
		if strings.Contains(err.Error(), "s3cr3t") || strings.Contains(err.Error(), "abc") {
			t.Errorf("error shows the URL's path or query: %v", err)
		}
	}
}

// Failures before a response (a refused connection, a timeout) name the
// endpoint but not the secret path, and keep the cause in the chain.
func TestWebhookTransportErrors(t *testing.T) {
	release1 := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release1:
		}
	}))
	t.Cleanup(slow.Close)
	t.Cleanup(func() { close(release1) })
	closed := httptest.NewServer(http.NotFoundHandler())
	closedURL := closed.URL
	closed.Close()

	t.Run("timeout", func(t *testing.T) {
		// The server never answers; the deadline ends the request.
		w := &notify.Webhook{URL: slow.URL + "/hooks/s3cr3t", Timeout: time.Millisecond}
		err := w.Notify(context.Background(), rolledBack)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Notify = %v, want context.DeadlineExceeded", err)
		}
		if strings.Contains(err.Error(), "s3cr3t") || !strings.Contains(err.Error(), slow.URL) {
			t.Errorf("error = %v, want the endpoint %s without its path", err, slow.URL)
		}
	})
	t.Run("cancelled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		s := &notify.Slack{WebhookURL: slow.URL + "/hooks/s3cr3t"}
		if err := s.Notify(ctx, rolledBack); !errors.Is(err, context.Canceled) || strings.Contains(err.Error(), "s3cr3t") {
			t.Fatalf("Notify = %v, want context.Canceled without the path", err)
		}
	})
	t.Run("connection refused", func(t *testing.T) {
		w := &notify.Webhook{URL: closedURL + "/hooks/s3cr3t"}
		err := w.Notify(context.Background(), rolledBack)
		if err == nil || strings.Contains(err.Error(), "s3cr3t") || !strings.HasPrefix(err.Error(), "notify: "+closedURL+": ") {
			t.Fatalf("Notify = %v, want an error naming %s without the path", err, closedURL)
		}
	})
	t.Run("invalid", func(t *testing.T) {
		for _, n := range []notify.Notifier{
			&notify.Webhook{},
			&notify.Webhook{URL: "ftp://example.com/x"},
			&notify.Webhook{URL: "https:///nohost"},
			&notify.Slack{WebhookURL: "://bad/s3cr3t"},
		} {
			err := n.Notify(context.Background(), rolledBack)
			if !errors.Is(err, provider.ErrInvalid) || strings.Contains(err.Error(), "s3cr3t") {
				t.Errorf("Notify(%+v) = %v, want ErrInvalid without the URL", n, err)
			}
		}
		w := &notify.Webhook{URL: slow.URL}
		for _, bad := range []notify.Notification{
			{Kind: "deployed", Time: t0, Function: "f"},
			{Kind: notify.Failed, Function: "f"},
			{Kind: notify.Failed, Time: t0},
		} {
			if err := w.Notify(context.Background(), bad); !errors.Is(err, provider.ErrInvalid) {
				t.Errorf("Notify(%+v) = %v, want ErrInvalid", bad, err)
			}
		}
	})
}

func TestSlack(t *testing.T) {
	tests := []struct {
		name string
		n    notify.Notification
		body string
	}{
		{"rolled back", rolledBack,
			`{"text":"orders production: rolled back 1.2.0 (version 8), back on version 7: check error-rate failed: 4.1% \u003e 1% \u0026 rising",` +
				`"blocks":[{"type":"section","text":{"type":"mrkdwn","text":":rewind: *orders* ` + "`production`" +
				`: rolled back *1.2.0 (version 8)*, back on version 7\n\u003echeck error-rate failed: 4.1% \u0026gt; 1% \u0026amp; rising"}},` +
				`{"type":"context","elements":[{"type":"mrkdwn","text":"release r-42 · by ci \u0026lt;bot\u0026gt; · 2026-03-02T10:00:00Z · \u003chttps://ci.example/run/42|details\u003e"}]}]}`},
		{"promoted", notify.Notification{Kind: notify.Promoted, Time: t0, Function: "orders", Alias: "production", Candidate: "8", Stable: "7", Semver: "1.2.0"},
			`{"text":"orders production: promoted 1.2.0 (version 8), replacing version 7",` +
				`"blocks":[{"type":"section","text":{"type":"mrkdwn","text":":white_check_mark: *orders* ` + "`production`" + `: promoted *1.2.0 (version 8)*, replacing version 7"}},` +
				`{"type":"context","elements":[{"type":"mrkdwn","text":"2026-03-02T10:00:00Z"}]}]}`},
		{"failed", notify.Notification{Kind: notify.Failed, Time: t0, Function: "orders", Candidate: "8", Stable: "7", Reason: "blocked by freeze"},
			`{"text":"orders: failed version 8, stable version 7: blocked by freeze",` +
				`"blocks":[{"type":"section","text":{"type":"mrkdwn","text":":x: *orders*: failed *version 8*, stable version 7\n\u003eblocked by freeze"}},` +
				`{"type":"context","elements":[{"type":"mrkdwn","text":"2026-03-02T10:00:00Z"}]}]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := newRecorder(t, http.StatusOK, "ok")
			s := &notify.Slack{WebhookURL: rec.srv.URL + "/services/T0/B0/XXXX"}
			if err := s.Notify(context.Background(), tt.n); err != nil {
				t.Fatalf("Notify: %v", err)
			}
			reqs := rec.requests()
			if len(reqs) != 1 || reqs[0].Method != "POST" || reqs[0].Path != "/services/T0/B0/XXXX" || reqs[0].ContentType != "application/json" {
				t.Fatalf("requests = %+v, want one JSON POST to the webhook path", reqs)
			}
			if diff := cmp.Diff(tt.body, reqs[0].Body); diff != "" {
				t.Errorf("payload (-want +got):\n%s", diff)
			}
		})
	}
}

func TestMulti(t *testing.T) {
	ok := newRecorder(t, http.StatusOK, "ok")
	bad := newRecorder(t, http.StatusForbidden, "invalid_token")
	var calls []string
	var mu sync.Mutex
	m := notify.Multi{
		&notify.Webhook{URL: bad.srv.URL + "/a"},
		&notify.Slack{WebhookURL: ok.srv.URL + "/b"},
		notify.NotifierFunc(func(ctx context.Context, n notify.Notification) error {
			mu.Lock()
			calls = append(calls, n.Text())
			mu.Unlock()
			return errors.New("pager down")
		}),
	}
	err := m.Notify(context.Background(), rolledBack)
	var he *notify.HTTPError
	if !errors.As(err, &he) || he.StatusCode != 403 || he.Body != "invalid_token" {
		t.Errorf("Multi.Notify = %v, want the 403 in the chain", err)
	}
	want := "notifier 0: notify: " + bad.srv.URL + ": 403 Forbidden: invalid_token\nnotifier 2: pager down"
	if err == nil || err.Error() != want {
		t.Errorf("Multi.Notify error =\n%v\nwant\n%s", err, want)
	}
	if n := len(ok.requests()); n != 1 {
		t.Errorf("the healthy notifier got %d requests, want 1", n)
	}
	if len(calls) != 1 || calls[0] != rolledBack.Text() {
		t.Errorf("func notifier calls = %q", calls)
	}
	if err := (notify.Multi{&notify.Slack{WebhookURL: ok.srv.URL}}).Notify(context.Background(), rolledBack); err != nil {
		t.Errorf("Multi of one healthy notifier = %v", err)
	}
	if err := (notify.Multi{}).Notify(context.Background(), rolledBack); err != nil {
		t.Errorf("empty Multi = %v", err)
	}
}

// An endpoint that echoes the request in its error body (some do, with the
// URL and the Authorization header) does not put the secret path, query or
// header value in the error.
func TestWebhookHTTPErrorEchoScrubbed(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, "bad request to %s (hook %s) with token %s, auth %q", r.URL.String(), path.Base(r.URL.Path), r.URL.Query().Get("token"), r.Header.Get("Authorization"))
	}))
	t.Cleanup(srv.Close)
	for _, n := range []notify.Notifier{
		&notify.Webhook{URL: srv.URL + "/hooks/T000/B111/s3cr3tpathXXXXXXXXXXXX?token=qu3rytoken", Header: http.Header{"Authorization": {"Bearer h3adertoken"}}},
		&notify.Slack{WebhookURL: srv.URL + "/services/T000/B111/s3cr3tpathXXXXXXXXXXXX?token=qu3rytoken"},
	} {
		err := n.Notify(context.Background(), rolledBack)
		var he *notify.HTTPError
		if !errors.As(err, &he) || he.StatusCode != http.StatusBadRequest {
			t.Fatalf("Notify = %v, want a 400 *HTTPError", err)
		}
		for _, secret := range []string{"s3cr3tpath", "qu3rytoken", "h3adertoken", "T000/B111"} {
			if strings.Contains(err.Error(), secret) {
				t.Errorf("error shows %q: %v", secret, err)
			}
		}
		if !strings.Contains(he.Body, "bad request to [redacted]") {
			t.Errorf("body %q: want the echo kept with the secret redacted", he.Body)
		}
	}
}
