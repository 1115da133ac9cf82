package main

import (
	"net/url"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/slipway-dev/slipway/notify"
)

// pagerDutyCfg, teamsCfg and slackBotCfg are notifications.pagerduty,
// .teams and .slack: the secrets are named by environment variable only.
type pagerDutyCfg struct {
	RoutingKeyEnv    string `yaml:"routingKeyEnv"`
	URL              string `yaml:"url"`
	Severity         string `yaml:"severity"`
	Source           string `yaml:"source"`
	TriggerOnFailure bool   `yaml:"triggerOnFailure"`
	KeysFile         string `yaml:"keysFile"`
}

type teamsCfg struct {
	WebhookURLEnv string `yaml:"webhookURLEnv"`
}

type slackBotCfg struct {
	TokenEnv string `yaml:"tokenEnv"`
	Channel  string `yaml:"channel"`
}

// buildNotify validates notifications.pagerduty, .teams and .slack,
// filling in the default variable names.
func (c *config) buildNotify(root *yaml.Node, bad func(string, ...any) func(...any) error) error {
	n := c.file.Notify
	if n == nil {
		return nil
	}
	envName := func(v *string, def string, path ...any) error {
		if *v == "" {
			*v = def
		}
		if !envNameRE.MatchString(*v) {
			return bad("%q is not an environment variable name (the secret itself never goes in the file)", path...)(*v)
		}
		return nil
	}
	if p := n.PagerDuty; p != nil {
		if err := envName(&p.RoutingKeyEnv, "PAGERDUTY_ROUTING_KEY", "notifications", "pagerduty", "routingKeyEnv"); err != nil {
			return err
		}
		if p.URL != "" {
			if u, err := url.Parse(p.URL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
				return bad("%q is not an http(s) URL", "notifications", "pagerduty", "url")(p.URL)
			}
		}
		switch p.Severity {
		case "", "critical", "error", "warning", "info":
		default:
			return bad("%q is not a severity: want critical, error, warning or info", "notifications", "pagerduty", "severity")(p.Severity)
		}
	}
	if t := n.Teams; t != nil {
		if err := envName(&t.WebhookURLEnv, "TEAMS_WEBHOOK_URL", "notifications", "teams", "webhookURLEnv"); err != nil {
			return err
		}
	}
	if s := n.Slack; s != nil {
		if err := envName(&s.TokenEnv, "SLACK_BOT_TOKEN", "notifications", "slack", "tokenEnv"); err != nil {
			return err
		}
		if s.Channel == "" {
			return bad("is empty: name the channel (ID like C0DEPLOYS or #name)", "notifications", "slack", "channel")()
		}
	}
	return nil
}

// notifiers builds the file's PagerDuty, Teams and Slack bot notifiers,
// reading their secrets from the environment; a missing variable is a
// usage error naming it (never its value).
func (c *config) notifiers(getenv func(string) string) ([]notify.Notifier, error) {
	if c == nil || c.file.Notify == nil {
		return nil, nil
	}
	n := c.file.Notify
	secret := func(name, field string) (notify.Secret, error) {
		v := getenv(name)
		if v == "" {
			return "", usageError("%s: notifications.%s: %s is not set in the environment", c.path, field, name)
		}
		return notify.Secret(v), nil
	}
	var out []notify.Notifier
	if p := n.PagerDuty; p != nil {
		key, err := secret(p.RoutingKeyEnv, "pagerduty.routingKeyEnv")
		if err != nil {
			return nil, err
		}
		pd := &notify.PagerDuty{RoutingKey: key, URL: p.URL, Severity: p.Severity, Source: p.Source, TriggerOnFailure: p.TriggerOnFailure, Timeout: 10 * time.Second}
		if p.KeysFile != "" {
			pd.Keys = &notify.FileKeys{Path: p.KeysFile}
		}
		out = append(out, pd)
	}
	if t := n.Teams; t != nil {
		u, err := secret(t.WebhookURLEnv, "teams.webhookURLEnv")
		if err != nil {
			return nil, err
		}
		out = append(out, &notify.Teams{WebhookURL: u, Timeout: 10 * time.Second})
	}
	if s := n.Slack; s != nil {
		tok, err := secret(s.TokenEnv, "slack.tokenEnv")
		if err != nil {
			return nil, err
		}
		out = append(out, &notify.SlackBot{Token: tok, Channel: s.Channel, Timeout: 10 * time.Second})
	}
	return out, nil
}
