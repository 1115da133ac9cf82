// Package notify tells people about a release's outcome: the Notifier
// interface (one method), NotifierFunc, Multi to fan out, and the HTTP
// implementations beside it, Webhook (the Notification as JSON), Slack (a
// Block Kit message to an incoming webhook), SlackBot (the same message
// through Slack's Web API, github.com/slack-go/slack), Teams (an Adaptive
// Card to a Microsoft Teams incoming webhook) and PagerDuty (Events API v2:
// a rollback triggers an alert with a dedup key per release, the next
// promotion resolves it). A response outside 2xx is an *HTTPError; errors
// never carry a webhook URL's secret path. Credentials are Secret values
// (SecretFromEnv), redacted under fmt, log/slog and encoding/json and
// scrubbed from the error bodies endpoints echo.
//
// The package imports provider only of this module (for its sentinels): the
// release workflow builds a Notification from its outcome and calls
// Notify; notifications know nothing of the workflow.
package notify
