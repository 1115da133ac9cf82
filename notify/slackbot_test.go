package notify_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/slack-go/slack/slacktest"

	"github.com/slipway-dev/slipway/notify"
	"github.com/slipway-dev/slipway/provider"
)

const botToken = "xoxb-123456-SECRETTOKEN"

// slackAPI is slacktest's in-process Slack Web API with chat.postMessage
// bound to a handler that records each call's form and bearer token and
// answers as Slack does (the token as a bearer header or a token form
// field, both of which Slack accepts): ok with channel and ts, channel_not_found for an
// unknown channel, invalid_auth for another token, and 429 with
// Retry-After once when asked.
type slackAPI struct {
	srv      *slacktest.Server
	mu       sync.Mutex
	posts    []url.Values
	limitOne bool
}

func newSlackAPI(t *testing.T) *slackAPI {
	s := &slackAPI{}
	s.srv = slacktest.NewTestServer(func(c slacktest.Customize) {
		c.Handle("/chat.postMessage", func(w http.ResponseWriter, r *http.Request) {
			_ = r.ParseForm()
			w.Header().Set("Content-Type", "application/json")
			s.mu.Lock()
			limit := s.limitOne
			s.limitOne = false
			s.mu.Unlock()
			switch {
			case limit:
				w.Header().Set("Retry-After", "30")
				w.WriteHeader(http.StatusTooManyRequests)
				return
			case r.Header.Get("Authorization") != "Bearer "+botToken && r.Form.Get("token") != botToken:
				json.NewEncoder(w).Encode(map[string]any{"ok": false, "error": "invalid_auth"})
				return
			case r.Form.Get("channel") != "C0DEPLOYS":
				json.NewEncoder(w).Encode(map[string]any{"ok": false, "error": "channel_not_found"})
				return
			}
			s.mu.Lock()
			s.posts = append(s.posts, r.Form)
			s.mu.Unlock()
			json.NewEncoder(w).Encode(map[string]any{"ok": true, "channel": "C0DEPLOYS", "ts": "1772445600.000100"})
		})
	})
	s.srv.Start()
	t.Cleanup(s.srv.Stop)
	return s
}

func TestSlackBot(t *testing.T) {
	api := newSlackAPI(t)
	bot := &notify.SlackBot{Token: botToken, Channel: "C0DEPLOYS", APIURL: api.srv.GetAPIURL()}
	if err := bot.Notify(context.Background(), rolledBack); err != nil {
		t.Fatal(err)
	}
	api.mu.Lock()
	posts := api.posts
	api.mu.Unlock()
	if len(posts) != 1 {
		t.Fatalf("%d posts, want 1", len(posts))
	}
	if got := posts[0].Get("text"); got != rolledBack.Text() {
		t.Errorf("text = %q, want the fallback %q", got, rolledBack.Text())
	}
	var blocks []map[string]any
	if err := json.Unmarshal([]byte(posts[0].Get("blocks")), &blocks); err != nil {
		t.Fatal(err)
	}
	want := notify.SlackMessage(rolledBack)
	if len(blocks) != 2 || blocks[0]["type"] != "section" || blocks[1]["type"] != "context" {
		t.Fatalf("blocks %v", blocks)
	}
	if got := blocks[0]["text"].(map[string]any)["text"]; got != want.Blocks[0].Text.Text {
		t.Errorf("section text %q, want %q", got, want.Blocks[0].Text.Text)
	}
	els := blocks[1]["elements"].([]any)
	if diff := cmp.Diff(map[string]any{"type": "mrkdwn", "text": want.Blocks[1].Elements[0].Text}, els[0]); diff != "" {
		t.Errorf("context (-want +got):\n%s", diff)
	}
}

func TestSlackBotErrors(t *testing.T) {
	api := newSlackAPI(t)
	ctx := context.Background()
	wrongChannel := &notify.SlackBot{Token: botToken, Channel: "C0NOPE", APIURL: api.srv.GetAPIURL()}
	if err := wrongChannel.Notify(ctx, rolledBack); err == nil || !strings.Contains(err.Error(), "channel_not_found") {
		t.Errorf("unknown channel: %v, want channel_not_found", err)
	}
	wrongToken := &notify.SlackBot{Token: "xoxb-other-SECRET2", Channel: "C0DEPLOYS", APIURL: api.srv.GetAPIURL()}
	if err := wrongToken.Notify(ctx, rolledBack); err == nil || !strings.Contains(err.Error(), "invalid_auth") || strings.Contains(err.Error(), "SECRET2") {
		t.Errorf("wrong token: %v, want invalid_auth without the token", err)
	}
	api.mu.Lock()
	api.limitOne = true
	api.mu.Unlock()
	bot := &notify.SlackBot{Token: botToken, Channel: "C0DEPLOYS", APIURL: api.srv.GetAPIURL()}
	err := bot.Notify(ctx, rolledBack)
	if d, ok := provider.RetryAfter(err); !errors.Is(err, provider.ErrThrottled) || !ok || d != 30*time.Second {
		t.Errorf("rate limited: %v (retry after %s, %t), want ErrThrottled after 30s", err, d, ok)
	}
	for _, b := range []*notify.SlackBot{{Channel: "C"}, {Token: botToken}} {
		if err := b.Notify(ctx, rolledBack); !errors.Is(err, provider.ErrInvalid) {
			t.Errorf("%+v: %v, want ErrInvalid", b, err)
		}
	}
}
