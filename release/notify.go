package release

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/slipway-dev/slipway/provider"
)

// Notifier tells people about a release's outcome: a promotion, a
// rollback, a failure. The workflow calls Notify after the outcome is
// journalled; a notification that fails does not change the outcome, and
// the workflow reports its error alongside.
//
// Implementations must be safe for concurrent use and must return when ctx
// ends.
type Notifier interface {
	Notify(ctx context.Context, n Notification) error
}

// NotifierFunc adapts a function to Notifier, as http.HandlerFunc does.
type NotifierFunc func(ctx context.Context, n Notification) error

// Notify calls f.
func (f NotifierFunc) Notify(ctx context.Context, n Notification) error { return f(ctx, n) }

// NotificationKind is what a notification announces.
type NotificationKind string

const (
	// NotifyPromoted: the alias now sends all traffic to the candidate.
	NotifyPromoted NotificationKind = "promoted"
	// NotifyRolledBack: the alias is back on the stable version, after a
	// failed check, a failed hook, a cancellation or an operator's abort.
	NotifyRolledBack NotificationKind = "rolled back"
	// NotifyFailed: the release stopped without completing (a platform
	// error, a blocked deploy window, a conflict with another writer);
	// Reason says why and where traffic was left.
	NotifyFailed NotificationKind = "failed"
)

// Notification is one release outcome, as sent. Its JSON form is the body
// a Webhook posts.
type Notification struct {
	Kind     NotificationKind `json:"kind"`
	Time     time.Time        `json:"time"`
	Function string           `json:"function"`
	Alias    string           `json:"alias,omitempty"`
	// Release identifies the release run (see Entry.Release).
	Release string `json:"release,omitempty"`
	// Candidate is the version ID being released, Stable the one it
	// replaces (or that traffic went back to); Semver is the candidate's
	// semantic version.
	Candidate string `json:"candidate,omitempty"`
	Stable    string `json:"stable,omitempty"`
	Semver    string `json:"semver,omitempty"`
	Actor     string `json:"actor,omitempty"`
	Reason    string `json:"reason,omitempty"`
	// URL links to more: the CI run, a dashboard.
	URL string `json:"url,omitempty"`
}

// Validate checks n: a known Kind, a Time and a Function. Errors wrap
// provider.ErrInvalid and name the field.
func (n Notification) Validate() error {
	switch {
	case n.Kind != NotifyPromoted && n.Kind != NotifyRolledBack && n.Kind != NotifyFailed:
		return provider.Invalid("notification", "kind", fmt.Sprintf("%q is not a known kind", n.Kind))
	case n.Time.IsZero():
		return provider.Invalid("notification", "time", "is zero")
	case n.Function == "":
		return provider.Invalid("notification", "function", "is empty")
	}
	return nil
}

// Text is n in one line of plain text, such as
//
//	orders production: promoted 1.1.0 (version 7), replacing version 6: all checks passed
func (n Notification) Text() string {
	var b strings.Builder
	b.WriteString(n.Function)
	if n.Alias != "" {
		b.WriteString(" " + n.Alias)
	}
	b.WriteString(": " + string(n.Kind))
	if what := n.what(); what != "" {
		b.WriteString(" " + what)
	}
	switch {
	case n.Stable == "":
	case n.Kind == NotifyPromoted:
		b.WriteString(", replacing version " + n.Stable)
	case n.Kind == NotifyRolledBack:
		b.WriteString(", back on version " + n.Stable)
	default:
		b.WriteString(", stable version " + n.Stable)
	}
	if n.Reason != "" {
		b.WriteString(": " + n.Reason)
	}
	return b.String()
}

// what names the candidate: "1.1.0 (version 7)", "version 7", "1.1.0".
func (n Notification) what() string {
	switch {
	case n.Semver != "" && n.Candidate != "":
		return n.Semver + " (version " + n.Candidate + ")"
	case n.Candidate != "":
		return "version " + n.Candidate
	}
	return n.Semver
}

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
		return fmt.Errorf("release: notify: %w", err)
	}
	return post(ctx, w.Client, w.URL, w.Header, w.Timeout, body)
}

// Slack posts each notification to a Slack incoming webhook (or any
// Slack-compatible endpoint: Mattermost, Rocket.Chat, Discord's /slack
// route) as a message with a plain-text fallback ("text") and Block Kit
// blocks: a section with the outcome in mrkdwn and a context line with the
// release, the actor, the time and the link. A response outside 2xx is an
// *HTTPError (Slack answers 4xx with a reason such as "invalid_payload").
//
// Like Webhook, errors name the endpoint's scheme and host only, never the
// secret path of the webhook URL.
type Slack struct {
	// WebhookURL is the incoming webhook's URL.
	WebhookURL string
	Client     *http.Client
	// Timeout bounds the request; 0 means 10 seconds.
	Timeout time.Duration
}

var _ Notifier = (*Slack)(nil)

// Notify posts n as a Slack message.
func (s *Slack) Notify(ctx context.Context, n Notification) error {
	if err := n.Validate(); err != nil {
		return err
	}
	body, err := json.Marshal(SlackMessage(n))
	if err != nil {
		return fmt.Errorf("release: notify: %w", err)
	}
	return post(ctx, s.Client, s.WebhookURL, nil, s.Timeout, body)
}

// SlackPayload is the JSON body of a Slack incoming-webhook message.
type SlackPayload struct {
	Text   string       `json:"text"`
	Blocks []SlackBlock `json:"blocks,omitempty"`
}

// SlackBlock is a Block Kit block: a section (Text) or a context
// (Elements).
type SlackBlock struct {
	Type     string      `json:"type"`
	Text     *SlackText  `json:"text,omitempty"`
	Elements []SlackText `json:"elements,omitempty"`
}

// SlackText is a Block Kit text object.
type SlackText struct {
	Type string `json:"type"` // "mrkdwn" or "plain_text"
	Text string `json:"text"`
}

// SlackMessage returns the message Slack posts for n: Text is n.Text()
// (the notification fallback), and the blocks say the same in mrkdwn, with
// the outcome's emoji, followed by a context line. Text from the
// notification is escaped as Slack requires (&, <, >).
func SlackMessage(n Notification) SlackPayload {
	emoji := map[NotificationKind]string{
		NotifyPromoted:   ":white_check_mark:",
		NotifyRolledBack: ":rewind:",
		NotifyFailed:     ":x:",
	}[n.Kind]
	var main strings.Builder
	fmt.Fprintf(&main, "%s *%s*", emoji, slackEscape(n.Function))
	if n.Alias != "" {
		fmt.Fprintf(&main, " `%s`", slackEscape(n.Alias))
	}
	fmt.Fprintf(&main, ": %s", n.Kind)
	if what := n.what(); what != "" {
		main.WriteString(" *" + slackEscape(what) + "*")
	}
	switch {
	case n.Stable == "":
	case n.Kind == NotifyPromoted:
		main.WriteString(", replacing version " + slackEscape(n.Stable))
	case n.Kind == NotifyRolledBack:
		main.WriteString(", back on version " + slackEscape(n.Stable))
	default:
		main.WriteString(", stable version " + slackEscape(n.Stable))
	}
	if n.Reason != "" {
		main.WriteString("\n>" + slackEscape(n.Reason))
	}
	var ctx []string
	if n.Release != "" {
		ctx = append(ctx, "release "+slackEscape(n.Release))
	}
	if n.Actor != "" {
		ctx = append(ctx, "by "+slackEscape(n.Actor))
	}
	ctx = append(ctx, n.Time.UTC().Format(time.RFC3339))
	if n.URL != "" {
		ctx = append(ctx, "<"+slackEscape(n.URL)+"|details>")
	}
	return SlackPayload{
		Text: n.Text(),
		Blocks: []SlackBlock{
			{Type: "section", Text: &SlackText{Type: "mrkdwn", Text: main.String()}},
			{Type: "context", Elements: []SlackText{{Type: "mrkdwn", Text: strings.Join(ctx, " · ")}}},
		},
	}
}

// slackEscape escapes the three characters Slack's mrkdwn reserves.
func slackEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

// Multi sends each notification to every notifier in it, concurrently, and
// waits for all of them. It returns nil when all succeeded, else the
// failures joined with errors.Join in the order of the notifiers (each
// wrapped with its index); one failing notifier does not stop the others.
type Multi []Notifier

var _ Notifier = Multi(nil)

// Notify calls every notifier with n.
func (m Multi) Notify(ctx context.Context, n Notification) error {
	errs := make([]error, len(m))
	var wg sync.WaitGroup
	for i, nt := range m {
		wg.Go(func() {
			if err := nt.Notify(ctx, n); err != nil {
				errs[i] = fmt.Errorf("notifier %d: %w", i, err)
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
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
		return fmt.Errorf("release: notify %s: %w", endpoint, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		// Delivered. Drain a little of the body so the connection can be
		// reused; a failure to read it does not undo the delivery.
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		return nil
	}
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	return &HTTPError{Endpoint: endpoint, StatusCode: resp.StatusCode, Status: resp.Status, Body: strings.TrimSpace(string(msg))}
}
