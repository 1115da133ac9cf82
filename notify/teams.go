package notify

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/slipway-dev/slipway/provider"
)

// Teams posts each notification to a Microsoft Teams incoming webhook (a
// Workflows "post to a channel when a webhook request is received" URL, or
// a legacy Office 365 connector) as a message carrying one Adaptive Card
// (version 1.4): a title with the outcome, the reason, a fact set
// (release, candidate, stable, actor, time) and an "Open details" action
// when the notification has a URL. An answer outside 2xx is an
// *HTTPError.
//
// The webhook URL holds its own credential (the sig= query parameter of
// Workflows URLs, the path of connector URLs), so it is a Secret: errors
// name the scheme and host only, and response bodies are scrubbed of it.
type Teams struct {
	// WebhookURL is the incoming webhook's URL, typically
	// SecretFromEnv("TEAMS_WEBHOOK_URL").
	WebhookURL Secret        `json:"webhookURL"`
	Client     *http.Client  `json:"-"`
	Timeout    time.Duration `json:"timeout,omitempty"`
}

var _ Notifier = (*Teams)(nil)

// Notify posts n as an Adaptive Card message.
func (t *Teams) Notify(ctx context.Context, n Notification) error {
	if err := n.Validate(); err != nil {
		return err
	}
	if t.WebhookURL == "" {
		return provider.Invalid("teams", "webhookURL", "is empty")
	}
	body, err := json.Marshal(TeamsMessage(n))
	if err != nil {
		return fmt.Errorf("notify: %w", err)
	}
	return scrubError(post(ctx, t.Client, t.WebhookURL.Reveal(), nil, t.Timeout, body), urlSecrets(t.WebhookURL)...)
}

// TeamsPayload is the body of a Teams incoming-webhook message with one
// Adaptive Card attachment.
type TeamsPayload struct {
	Type        string            `json:"type"` // "message"
	Attachments []TeamsAttachment `json:"attachments"`
}

// TeamsAttachment wraps an Adaptive Card.
type TeamsAttachment struct {
	ContentType string       `json:"contentType"` // application/vnd.microsoft.card.adaptive
	ContentURL  *string      `json:"contentUrl"`  // null
	Content     AdaptiveCard `json:"content"`
}

// AdaptiveCard is the part of the Adaptive Card schema Teams messages use.
type AdaptiveCard struct {
	Schema  string         `json:"$schema"`
	Type    string         `json:"type"` // "AdaptiveCard"
	Version string         `json:"version"`
	Body    []CardElement  `json:"body"`
	Actions []CardAction   `json:"actions,omitempty"`
	MSTeams map[string]any `json:"msteams,omitempty"`
}

// CardElement is a TextBlock (Text) or a FactSet (Facts).
type CardElement struct {
	Type   string     `json:"type"`
	Text   string     `json:"text,omitempty"`
	Weight string     `json:"weight,omitempty"`
	Size   string     `json:"size,omitempty"`
	Color  string     `json:"color,omitempty"`
	Wrap   bool       `json:"wrap,omitempty"`
	Facts  []CardFact `json:"facts,omitempty"`
}

// CardFact is one title/value row of a FactSet.
type CardFact struct {
	Title string `json:"title"`
	Value string `json:"value"`
}

// CardAction is an Action.OpenUrl.
type CardAction struct {
	Type  string `json:"type"`
	Title string `json:"title"`
	URL   string `json:"url"`
}

// TeamsMessage returns the message Teams posts for n.
func TeamsMessage(n Notification) TeamsPayload {
	color := map[Kind]string{Promoted: "Good", RolledBack: "Attention", Failed: "Warning"}[n.Kind]
	title := n.Function
	if n.Alias != "" {
		title += " " + n.Alias
	}
	title += ": " + string(n.Kind)
	if what := n.what(); what != "" {
		title += " " + what
	}
	body := []CardElement{{Type: "TextBlock", Text: title, Weight: "Bolder", Size: "Medium", Color: color, Wrap: true}}
	if n.Reason != "" {
		body = append(body, CardElement{Type: "TextBlock", Text: n.Reason, Wrap: true})
	}
	var facts []CardFact
	for _, f := range []CardFact{{"Release", n.Release}, {"Candidate", n.Candidate}, {"Stable", n.Stable}, {"Version", n.Semver}, {"Actor", n.Actor}} {
		if f.Value != "" {
			facts = append(facts, f)
		}
	}
	facts = append(facts, CardFact{"Time", n.Time.UTC().Format(time.RFC3339)})
	body = append(body, CardElement{Type: "FactSet", Facts: facts})
	card := AdaptiveCard{
		Schema: "http://adaptivecards.io/schemas/adaptive-card.json", Type: "AdaptiveCard", Version: "1.4",
		Body: body, MSTeams: map[string]any{"width": "Full"},
	}
	if n.URL != "" {
		card.Actions = []CardAction{{Type: "Action.OpenUrl", Title: "Open details", URL: n.URL}}
	}
	return TeamsPayload{Type: "message", Attachments: []TeamsAttachment{{ContentType: "application/vnd.microsoft.card.adaptive", Content: card}}}
}
