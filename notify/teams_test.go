package notify_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/slipway-dev/slipway/notify"
)

// TestTeams: the Adaptive Card message a Teams incoming webhook takes
// (learn.microsoft.com, "Create an Incoming Webhook" and "Send Adaptive
// Cards using an Incoming Webhook": type message, one attachment of
// contentType application/vnd.microsoft.card.adaptive with contentUrl
// null and the card as content).
func TestTeams(t *testing.T) {
	rec := newRecorder(t, http.StatusAccepted, "1")
	tm := &notify.Teams{WebhookURL: notify.Secret(rec.srv.URL + "/workflows/abc/triggers/manual/paths/invoke?sig=SIGSECRET")}
	if err := tm.Notify(context.Background(), rolledBack); err != nil {
		t.Fatal(err)
	}
	reqs := rec.requests()
	if len(reqs) != 1 || reqs[0].ContentType != "application/json" || reqs[0].Method != "POST" {
		t.Fatalf("requests %+v", reqs)
	}
	var got map[string]any
	if err := json.Unmarshal([]byte(reqs[0].Body), &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"type": "message",
		"attachments": []any{map[string]any{
			"contentType": "application/vnd.microsoft.card.adaptive",
			"contentUrl":  nil,
			"content": map[string]any{
				"$schema": "http://adaptivecards.io/schemas/adaptive-card.json", "type": "AdaptiveCard", "version": "1.4",
				"msteams": map[string]any{"width": "Full"},
				"body": []any{
					map[string]any{"type": "TextBlock", "text": "orders production: rolled back 1.2.0 (version 8)", "weight": "Bolder", "size": "Medium", "color": "Attention", "wrap": true},
					map[string]any{"type": "TextBlock", "text": rolledBack.Reason, "wrap": true},
					map[string]any{"type": "FactSet", "facts": []any{
						map[string]any{"title": "Release", "value": "r-42"}, map[string]any{"title": "Candidate", "value": "8"},
						map[string]any{"title": "Stable", "value": "7"}, map[string]any{"title": "Version", "value": "1.2.0"},
						map[string]any{"title": "Actor", "value": "ci <bot>"}, map[string]any{"title": "Time", "value": "2026-03-02T10:00:00Z"},
					}},
				},
				"actions": []any{map[string]any{"type": "Action.OpenUrl", "title": "Open details", "url": "https://ci.example/run/42"}},
			},
		}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("message (-want +got):\n%s", diff)
	}
}

// TestTeamsErrorHidesURL: the webhook URL (its sig= query) appears in no
// error, also when the endpoint echoes it.
func TestTeamsErrorHidesURL(t *testing.T) {
	rec := newRecorder(t, http.StatusBadRequest, "")
	url := rec.srv.URL + "/workflows/abc?sig=SIGSECRET"
	rec.body = "bad request to " + url
	err := (&notify.Teams{WebhookURL: notify.Secret(url)}).Notify(context.Background(), rolledBack)
	var he *notify.HTTPError
	if !errors.As(err, &he) || he.StatusCode != 400 {
		t.Fatalf("Notify = %v, want an *HTTPError 400", err)
	}
	if strings.Contains(err.Error(), "SIGSECRET") {
		t.Errorf("error shows the webhook's secret: %v", err)
	}
}
