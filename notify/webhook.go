package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/slipway-dev/slipway/provider"
)

// defaultTimeout bounds one notification request when no Timeout is set.
const defaultTimeout = 10 * time.Second

// Webhook posts each notification as JSON (the Notification's JSON form)
// to URL. A response outside 2xx is an *HTTPError. Each Notify is one
// request, bounded by Timeout; Webhook does not retry.
//
// Errors never contain the URL's path or query, where webhook services put
// their secret: they name the scheme and host only. The zero value has no
// URL and fails with provider.ErrInvalid.
type Webhook struct {
	URL string
	// Header holds extra request headers (Authorization, for example).
	Header http.Header
	// Client sends the request; nil means http.DefaultClient.
	Client *http.Client
	// Timeout bounds the request, including reading the response; 0
	// means 10 seconds.
	Timeout time.Duration
}

var _ Notifier = (*Webhook)(nil)

// Notify posts n.
func (w *Webhook) Notify(ctx context.Context, n Notification) error {
	if err := n.Validate(); err != nil {
		return err
	}
	body, err := json.Marshal(n)
	if err != nil {
		return fmt.Errorf("notify: %w", err)
	}
	return post(ctx, w.Client, w.URL, w.Header, w.Timeout, body)
}

// maxErrorBody is how much of a failed response's body HTTPError keeps.
const maxErrorBody = 512

// post sends body as JSON to rawURL and checks the response status.
func post(ctx context.Context, client *http.Client, rawURL string, header http.Header, timeout time.Duration, body []byte) error {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return provider.Invalid("notifier", "url", "is not an http or https URL")
	}
	endpoint := u.Scheme + "://" + u.Host
	if timeout <= 0 {
		timeout = defaultTimeout
	}
	if client == nil {
		client = http.DefaultClient
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, rawURL, bytes.NewReader(body))
	if err != nil {
		return provider.Invalid("notifier", "url", "cannot make a request of it")
	}
	for k, vs := range header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	req.Header.Set("Content-Type", "application/json")
	if req.Header.Get("User-Agent") == "" {
		req.Header.Set("User-Agent", "slipway")
	}
	resp, err := client.Do(req)
	if err != nil {
		// *url.Error quotes the whole URL, secret path included: keep
		// only its cause.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("notify: %s: %w", endpoint, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		// Delivered. Drain a little of the body so the connection can be
		// reused; a failure to read it does not undo the delivery.
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		return nil
	}
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	return &HTTPError{Endpoint: endpoint, StatusCode: resp.StatusCode, Status: resp.Status,
		Body: scrub(strings.TrimSpace(string(msg)), requestSecrets(u, header)...)}
}

// requestSecrets are the parts of a request a failed response may echo
// that must not reach an error: the URL's path and query (and each query
// value) and the extra headers' values (an Authorization token, say).
func requestSecrets(u *url.URL, header http.Header) []Secret {
	var out []Secret
	if u.Path != "" && u.Path != "/" {
		out = append(out, Secret(u.Path), Secret(u.EscapedPath()), Secret(strings.TrimPrefix(u.Path, "/")))
		// A long segment is a token (Slack's last one has 24 characters):
		// an echo of it alone is redacted too.
		for seg := range strings.SplitSeq(u.Path, "/") {
			if len(seg) >= 16 {
				out = append(out, Secret(seg))
			}
		}
	}
	if u.RawQuery != "" {
		out = append(out, Secret(u.RawQuery))
		for _, vs := range u.Query() {
			for _, v := range vs {
				out = append(out, Secret(v))
			}
		}
	}
	for _, vs := range header {
		for _, v := range vs {
			out = append(out, Secret(v))
			// "Bearer <token>": the token alone may be echoed too.
			if _, tok, ok := strings.Cut(v, " "); ok {
				out = append(out, Secret(tok))
			}
		}
	}
	// Longest first, so a secret that contains another is replaced whole.
	slices.SortFunc(out, func(a, b Secret) int { return len(b) - len(a) })
	return out
}

// HTTPError is a notification endpoint's answer outside 2xx.
type HTTPError struct {
	// Endpoint is the scheme and host of the URL; the path is left out
	// because webhook URLs (Slack's among them) carry their secret there.
	Endpoint   string `json:"endpoint"`
	StatusCode int    `json:"statusCode"`
	Status     string `json:"status"`
	// Body is the first bytes of the response body (at most 512), with
	// whatever of the request's secrets it echoes (the URL's path and
	// query, the extra headers' values) replaced by [redacted].
	Body string `json:"body,omitempty"`
}

func (e *HTTPError) Error() string {
	msg := "notify: " + e.Endpoint + ": " + e.Status
	if e.Body != "" {
		msg += ": " + e.Body
	}
	return msg
}
