package notify

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"
)

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
		return fmt.Errorf("notify: %w", err)
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
	emoji := map[Kind]string{
		Promoted:   ":white_check_mark:",
		RolledBack: ":rewind:",
		Failed:     ":x:",
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
	case n.Kind == Promoted:
		main.WriteString(", replacing version " + slackEscape(n.Stable))
	case n.Kind == RolledBack:
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
