package main

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/slipway-dev/slipway/notify"
)

// TestConfigNotifiers: notifications.pagerduty, .teams and .slack become
// the notify package's notifiers, their secrets read from the variables
// the file names (defaults when it names none).
func TestConfigNotifiers(t *testing.T) {
	env := map[string]string{"PD_KEY": "pd-secret", "TEAMS_WEBHOOK_URL": "https://example.webhook.office.com/x", "SLACK_BOT_TOKEN": "xoxb-1"}
	for _, tc := range []struct {
		name, doc string
		want      []notify.Notifier
	}{
		{"none", "notifications:\n  webhook: https://example.com/hook\n", nil},
		{"all", `notifications:
  pagerduty:
    routingKeyEnv: PD_KEY
    url: https://events.example.com/v2/enqueue
    severity: error
    source: checkout
    triggerOnFailure: true
  teams: {}
  slack:
    channel: C0DEPLOYS
`, []notify.Notifier{
			&notify.PagerDuty{RoutingKey: "pd-secret", URL: "https://events.example.com/v2/enqueue", Severity: "error", Source: "checkout", TriggerOnFailure: true, Timeout: 10 * time.Second},
			&notify.Teams{WebhookURL: "https://example.webhook.office.com/x", Timeout: 10 * time.Second},
			&notify.SlackBot{Token: "xoxb-1", Channel: "C0DEPLOYS", Timeout: 10 * time.Second},
		}},
		{"keys file", "notifications:\n  pagerduty:\n    routingKeyEnv: PD_KEY\n    keysFile: keys.json\n", []notify.Notifier{
			&notify.PagerDuty{RoutingKey: "pd-secret", Keys: &notify.FileKeys{Path: "keys.json"}, Timeout: 10 * time.Second},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := schemaValidate(t, compileSchema(t), []byte(tc.doc)); err != nil {
				t.Errorf("the schema refuses it: %v", err)
			}
			c, err := parseConfig("x.yaml", []byte(tc.doc))
			if err != nil {
				t.Fatal(err)
			}
			got, err := c.notifiers(func(k string) string { return env[k] })
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got, cmpopts.IgnoreUnexported(notify.PagerDuty{}, notify.FileKeys{})); diff != "" {
				t.Errorf("notifiers (-want +got):\n%s", diff)
			}
		})
	}
	// A missing variable is named, its (absent) value never printed.
	c, err := parseConfig("x.yaml", []byte("notifications:\n  pagerduty: {}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.notifiers(func(string) string { return "" }); err == nil || !strings.Contains(err.Error(), "PAGERDUTY_ROUTING_KEY is not set") {
		t.Errorf("without the key: %v", err)
	}
}

// TestConfigNotifiersRejected: bad notification settings, file:line.
func TestConfigNotifiersRejected(t *testing.T) {
	s := compileSchema(t)
	for _, tc := range []struct{ name, doc, want string }{
		{"key in the file", "notifications:\n  pagerduty:\n    routingKeyEnv: R0123456789abcdef-key\n", `x.yaml:3: notifications.pagerduty.routingKeyEnv: "R0123456789abcdef-key" is not an environment variable name`},
		{"routing key", "notifications:\n  pagerduty:\n    routingKey: abc\n", "x.yaml:3: routingKey: unknown field"},
		{"severity", "notifications:\n  pagerduty:\n    severity: high\n", `x.yaml:3: notifications.pagerduty.severity: "high" is not a severity`},
		{"url", "notifications:\n  pagerduty:\n    url: events.pagerduty.com\n", `x.yaml:3: notifications.pagerduty.url: "events.pagerduty.com" is not an http(s) URL`},
		{"teams url", "notifications:\n  teams:\n    webhookURLEnv: https://x.webhook.office.com/y\n", "x.yaml:3: notifications.teams.webhookURLEnv"},
		{"slack channel", "notifications:\n  slack:\n    tokenEnv: SLACK_TOKEN\n", "x.yaml:3: notifications.slack.channel: is empty"},
		{"slack token", "notifications:\n  slack:\n    token: xoxb-1\n    channel: C1\n", "x.yaml:3: token: unknown field"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := schemaValidate(t, s, []byte(tc.doc)); err == nil {
				t.Errorf("the schema accepts:\n%s", tc.doc)
			}
			_, err := parseConfig("x.yaml", []byte(tc.doc))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("parseConfig = %v, want %q", err, tc.want)
			}
		})
	}
}
