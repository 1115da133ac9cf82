package notify

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/slack-go/slack"

	"github.com/slipway-dev/slipway/provider"
)

// SlackBot posts each notification to a Slack channel through the Web API
// (chat.postMessage with a bot token, github.com/slack-go/slack), where the
// Slack webhook notifier cannot: any channel the bot is in, chosen per
// notifier, with Slack's own error codes (channel_not_found,
// not_in_channel, invalid_auth) and rate limits (429 with Retry-After,
// returned as a *provider.ThrottleError). The message is SlackMessage's:
// the plain-text fallback and the same Block Kit section and context,
// built with slack-go's block types.
//
// The token is a Secret: never logged, never in an error.
type SlackBot struct {
	// Token is the bot token (xoxb-…), typically
	// SecretFromEnv("SLACK_BOT_TOKEN").
	Token Secret `json:"token"`
	// Channel is the channel ID or name to post to.
	Channel string `json:"channel"`
	// APIURL is the Web API's base URL ending in "/"; "" means Slack's
	// (https://slack.com/api/). Tests point it at slacktest.
	APIURL  string        `json:"apiURL,omitempty"`
	Client  *http.Client  `json:"-"`
	Timeout time.Duration `json:"timeout,omitempty"`
}

var _ Notifier = (*SlackBot)(nil)

// Notify posts n to the channel.
func (s *SlackBot) Notify(ctx context.Context, n Notification) error {
	if err := n.Validate(); err != nil {
		return err
	}
	if s.Token == "" {
		return provider.Invalid("slack bot", "token", "is empty")
	}
	if s.Channel == "" {
		return provider.Invalid("slack bot", "channel", "is empty")
	}
	opts := []slack.Option{}
	if s.APIURL != "" {
		opts = append(opts, slack.OptionAPIURL(s.APIURL))
	}
	if s.Client != nil {
		opts = append(opts, slack.OptionHTTPClient(s.Client))
	}
	api := slack.New(s.Token.Reveal(), opts...)
	timeout := s.Timeout
	if timeout <= 0 {
		timeout = defaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	msg := SlackMessage(n)
	var blocks []slack.Block
	for _, b := range msg.Blocks {
		switch b.Type {
		case "section":
			blocks = append(blocks, slack.NewSectionBlock(slack.NewTextBlockObject(b.Text.Type, b.Text.Text, false, false), nil, nil))
		case "context":
			var els []slack.MixedElement
			for _, e := range b.Elements {
				els = append(els, slack.NewTextBlockObject(e.Type, e.Text, false, false))
			}
			blocks = append(blocks, slack.NewContextBlock("", els...))
		}
	}
	_, _, err := api.PostMessageContext(ctx, s.Channel, slack.MsgOptionText(msg.Text, false), slack.MsgOptionBlocks(blocks...))
	if err == nil {
		return nil
	}
	var rl *slack.RateLimitedError
	if errors.As(err, &rl) {
		return &provider.ThrottleError{RetryAfter: rl.RetryAfter, Err: fmt.Errorf("notify: slack chat.postMessage: %w", scrubError(err, s.Token))}
	}
	return fmt.Errorf("notify: slack chat.postMessage to %s: %w", s.Channel, scrubError(err, s.Token))
}
