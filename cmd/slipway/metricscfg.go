package main

import (
	"fmt"
	"net/url"

	"regexp"
	"time"

	"github.com/prometheus/client_golang/api"
	"go.yaml.in/yaml/v3"

	"github.com/slipway-dev/slipway/metrics/datadog"
	"github.com/slipway-dev/slipway/metrics/prometheus"
	"github.com/slipway-dev/slipway/provider"
)

// metricsConfig is the file's metrics: the source the checks read,
// instead of the provider's own metrics (docs/metrics-and-alerting.md).
type metricsConfig struct {
	Source     string   `yaml:"source"`
	Prometheus *promCfg `yaml:"prometheus"`
	Datadog    *ddCfg   `yaml:"datadog"`
}

type queriesCfg struct {
	Invocations string `yaml:"invocations"`
	Errors      string `yaml:"errors"`
	Throttles   string `yaml:"throttles"`
	P99         string `yaml:"p99"`
	P90         string `yaml:"p90"`
	P50         string `yaml:"p50"`
	ColdStarts  string `yaml:"coldStarts"`
}

type promCfg struct {
	Address    string     `yaml:"address"`
	Resolution string     `yaml:"resolution"`
	Delay      string     `yaml:"delay"`
	MaxPoints  int        `yaml:"maxPoints"`
	Queries    queriesCfg `yaml:"queries"`
}

type ddCfg struct {
	Site        string     `yaml:"site"`
	URL         string     `yaml:"url"`
	APIKeyEnv   string     `yaml:"apiKeyEnv"`
	AppKeyEnv   string     `yaml:"appKeyEnv"`
	Resolution  string     `yaml:"resolution"`
	Delay       string     `yaml:"delay"`
	MaxPoints   int        `yaml:"maxPoints"`
	LatencyUnit string     `yaml:"latencyUnit"`
	Queries     queriesCfg `yaml:"queries"`
}

// metricsSource is a validated metrics source: the library's
// configuration, and for Datadog the names of the environment variables
// holding the keys (the keys themselves are read only when opening).
type metricsSource struct {
	kind      string // "prometheus" or "datadog"
	address   string
	prom      prometheus.Config
	dd        datadog.Config
	apiKeyEnv string
	appKeyEnv string
}

var envNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

func (q queriesCfg) prom() prometheus.Queries {
	return prometheus.Queries{Invocations: q.Invocations, Errors: q.Errors, Throttles: q.Throttles, P99: q.P99, P90: q.P90, P50: q.P50, ColdStarts: q.ColdStarts}
}

func (q queriesCfg) dd() datadog.Queries {
	return datadog.Queries{Invocations: q.Invocations, Errors: q.Errors, Throttles: q.Throttles, P99: q.P99, P90: q.P90, P50: q.P50, ColdStarts: q.ColdStarts}
}

// buildMetrics validates the metrics section into c.metrics.
func (c *config) buildMetrics(root *yaml.Node, bad func(string, ...any) func(...any) error, dur func(string, ...any) (time.Duration, error)) error {
	m := c.file.Metrics
	if m == nil {
		return nil
	}
	switch m.Source {
	case "", "memory", "cloudwatch":
		// The provider's own metrics.
		if m.Source == "" && (m.Prometheus != nil || m.Datadog != nil) {
			return bad("is empty while a source is configured: want prometheus or datadog", "metrics", "source")()
		}
		return nil
	case "prometheus":
		p := m.Prometheus
		if p == nil {
			return bad("is prometheus but metrics.prometheus is missing", "metrics", "source")()
		}
		u, err := url.Parse(p.Address)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return bad("%q is not an http(s) URL", "metrics", "prometheus", "address")(p.Address)
		}
		src := &metricsSource{kind: "prometheus", address: p.Address, prom: prometheus.Config{Queries: p.Queries.prom(), MaxPoints: p.MaxPoints}}
		if src.prom.Resolution, err = dur(p.Resolution, "metrics", "prometheus", "resolution"); err != nil {
			return err
		}
		if src.prom.Delay, err = dur(p.Delay, "metrics", "prometheus", "delay"); err != nil {
			return err
		}
		if p.MaxPoints < 0 {
			return bad("%d is negative", "metrics", "prometheus", "maxPoints")(p.MaxPoints)
		}
		if err := src.prom.Validate(); err != nil {
			return bad("%v", "metrics", "prometheus", "queries")(err)
		}
		c.metrics = src
	case "datadog":
		d := m.Datadog
		if d == nil {
			return bad("is datadog but metrics.datadog is missing", "metrics", "source")()
		}
		src := &metricsSource{kind: "datadog", dd: datadog.Config{Queries: d.Queries.dd(), Site: d.Site, URL: d.URL, MaxPoints: d.MaxPoints},
			apiKeyEnv: d.APIKeyEnv, appKeyEnv: d.AppKeyEnv}
		if src.apiKeyEnv == "" {
			src.apiKeyEnv = "DD_API_KEY"
		}
		if src.appKeyEnv == "" {
			src.appKeyEnv = "DD_APP_KEY"
		}
		for name, v := range map[string]string{"apiKeyEnv": src.apiKeyEnv, "appKeyEnv": src.appKeyEnv} {
			if !envNameRE.MatchString(v) {
				return bad("%q is not an environment variable name (the key itself never goes in the file)", "metrics", "datadog", name)(v)
			}
		}
		var err error
		if src.dd.Resolution, err = dur(d.Resolution, "metrics", "datadog", "resolution"); err != nil {
			return err
		}
		if src.dd.Delay, err = dur(d.Delay, "metrics", "datadog", "delay"); err != nil {
			return err
		}
		if src.dd.LatencyUnit, err = dur(d.LatencyUnit, "metrics", "datadog", "latencyUnit"); err != nil {
			return err
		}
		if d.MaxPoints < 0 {
			return bad("%d is negative", "metrics", "datadog", "maxPoints")(d.MaxPoints)
		}
		if d.URL != "" {
			if err := (datadog.Config{Queries: datadog.Queries{Invocations: "x", Errors: "x"}, URL: d.URL}).Validate(); err != nil {
				return bad("%q is not scheme://host[:port]", "metrics", "datadog", "url")(d.URL)
			}
		}
		if err := src.dd.Validate(); err != nil {
			return bad("%v", "metrics", "datadog", "queries")(err)
		}
		c.metrics = src
	default:
		return bad("%q is not a metrics source: want one of memory, cloudwatch, prometheus, datadog", "metrics", "source")(m.Source)
	}
	return nil
}

// open builds the source; Datadog's keys are read from the environment
// here, never from the file, and never printed.
func (m *metricsSource) open(getenv func(string) string, now func() time.Time) (provider.Metrics, error) {
	switch m.kind {
	case "prometheus":
		client, err := api.NewClient(api.Config{Address: m.address})
		if err != nil {
			return nil, fmt.Errorf("%w: metrics.prometheus.address: %v", errUsage, err)
		}
		cfg := m.prom
		cfg.Now = now
		return prometheus.New(client, cfg)
	case "datadog":
		creds := datadog.Credentials{APIKey: getenv(m.apiKeyEnv), AppKey: getenv(m.appKeyEnv)}
		if creds.AppKey == "" && m.appKeyEnv == "DD_APP_KEY" {
			creds.AppKey = getenv("DD_APPLICATION_KEY")
		}
		if creds.APIKey == "" || creds.AppKey == "" {
			return nil, usageError("metrics.datadog: %s and %s must be set in the environment", m.apiKeyEnv, m.appKeyEnv)
		}
		cfg := m.dd
		cfg.Now = now
		return datadog.New(cfg, creds)
	}
	return nil, fmt.Errorf("metrics source %q", m.kind)
}
