package integration_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/slipway-dev/slipway/canary"
	"github.com/slipway-dev/slipway/notify"
	"github.com/slipway-dev/slipway/provider"
	"github.com/slipway-dev/slipway/provider/memory"
	"github.com/slipway-dev/slipway/release"
	"github.com/slipway-dev/slipway/semver"
)

// TestNotifierSecretsStayOutOfLogs runs two releases on the memory
// provider (the second rolled back) with PagerDuty, Teams and Slack
// notifiers whose secrets come from the environment and whose endpoints
// fail, echoing each request (and so the secret) in their answer. The
// workflow logs every notification failure; neither the log nor the
// results' errors may hold a secret, and a logged notifier shows
// [redacted].
func TestNotifierSecretsStayOutOfLogs(t *testing.T) {
	secrets := map[string]string{
		"PAGERDUTY_ROUTING_KEY": "PDSECRET0123456789abcdefABCDEF01",
		"SLACK_BOT_TOKEN":       "xoxb-SLACKSECRET-42",
	}
	echo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.WriteHeader(http.StatusInternalServerError)
		fmt.Fprintf(w, "cannot handle %s?%s %s auth=%s", r.URL.Path, r.URL.RawQuery, b, r.Header.Get("Authorization"))
	}))
	t.Cleanup(echo.Close)
	secrets["TEAMS_WEBHOOK_URL"] = echo.URL + "/workflows/x?sig=TEAMSSECRET"
	for k, v := range secrets {
		t.Setenv(k, v)
	}
	env := func(name string) notify.Secret {
		s, err := notify.SecretFromEnv(name)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	pd := &notify.PagerDuty{RoutingKey: env("PAGERDUTY_ROUTING_KEY"), URL: echo.URL + "/v2/enqueue"}
	teams := &notify.Teams{WebhookURL: env("TEAMS_WEBHOOK_URL")}
	slackBot := &notify.SlackBot{Token: env("SLACK_BOT_TOKEN"), Channel: "C0DEPLOYS", APIURL: echo.URL + "/api/"}

	var logs bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	logger.Info("notifiers configured", "pagerduty", pd, "teams", teams, "slack", slackBot)

	ctx := context.Background()
	clock := canary.NewVirtualClock(time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC))
	mem, err := memory.New(memory.Options{Now: clock.Now, Sleep: clock.Sleep, Seed: 1})
	must(t, err)
	mem.SetLoad("checkout", "production", 50)
	mem.SetBehavior("checkout", "2", memory.Behavior{ErrorRate: 0.5})
	strategy := canary.Canary(1000, 5*time.Minute)
	strategy.Analysis.Checks = []canary.CheckSpec{{Name: "error rate", Check: canary.Relative{Metric: canary.ErrorRate, Factor: 1.5, Slack: 0.01}}}
	w, err := release.New(release.Options{
		Runner:   canary.RunnerOptions{Provider: mem, Metrics: mem, Clock: clock, Logger: logger},
		Actor:    "ci",
		Strategy: strategy,
		Logger:   logger,
		Notifier: notify.Multi{pd, teams, slackBot},
	})
	must(t, err)
	minor := semver.Minor
	var notifyErrs []string
	for _, code := range []string{"v1", "v2"} {
		var res release.Result
		clock.Run(func() {
			res, _ = w.Release(ctx, release.Request{
				Function: "checkout",
				Publish:  release.PublishRequest{Artifact: provider.Artifact{Zip: []byte(code)}, Level: &minor},
				Test:     func(context.Context, release.Target) error { return nil },
			})
		})
		if res.NotifyErr != nil {
			notifyErrs = append(notifyErrs, res.NotifyErr.Error())
		}
		t.Logf("%s: %s", res.Release, res.Outcome)
	}
	out := logs.String() + strings.Join(notifyErrs, "\n")
	if !strings.Contains(logs.String(), "notification failed") || len(notifyErrs) != 2 {
		t.Fatalf("want both releases' notification failures logged and returned; got %d errors, log:\n%s", len(notifyErrs), logs.String())
	}
	if !strings.Contains(logs.String(), "[redacted]") {
		t.Errorf("the logged notifiers do not show [redacted]:\n%s", logs.String())
	}
	for name, s := range secrets {
		for _, part := range []string{s, "PDSECRET", "SLACKSECRET", "TEAMSSECRET"} {
			if strings.Contains(out, part) && strings.Contains(s, part) {
				t.Errorf("%s (%q) appears in the logs or errors:\n%s", name, part, out)
			}
		}
	}
}
