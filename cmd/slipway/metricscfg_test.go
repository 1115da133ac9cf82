package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/slipway-dev/slipway/metrics/datadog"
	"github.com/slipway-dev/slipway/metrics/datadog/datadogtest"
	"github.com/slipway-dev/slipway/metrics/prometheus"
)

// TestConfigMetricsSources: metrics.* is parsed into the library's
// configuration, with the names (never the values) of the secrets.
func TestConfigMetricsSources(t *testing.T) {
	for _, tc := range []struct {
		name, doc string
		want      *metricsSource
	}{
		{"none", "provider: memory\n", nil},
		{"provider's own", "metrics:\n  source: cloudwatch\n", nil},
		{"prometheus", `metrics:
  source: prometheus
  prometheus:
    address: http://prometheus:9090
    resolution: 30s
    delay: 2m
    maxPoints: 500
    queries:
      invocations: 'sum(a{version="{{version}}"})'
      errors: 'sum(b{version="{{version}}"})'
      p99: 'q99'
      p90: 'q90'
`, &metricsSource{kind: "prometheus", address: "http://prometheus:9090", prom: prometheus.Config{
			Resolution: 30 * time.Second, Delay: 2 * time.Minute, MaxPoints: 500,
			Queries: prometheus.Queries{Invocations: `sum(a{version="{{version}}"})`, Errors: `sum(b{version="{{version}}"})`, P99: "q99", P90: "q90"},
		}}},
		{"datadog defaults", `metrics:
  source: datadog
  datadog:
    queries: {invocations: 'i{v:{{version}}}', errors: 'e'}
`, &metricsSource{kind: "datadog", apiKeyEnv: "DD_API_KEY", appKeyEnv: "DD_APP_KEY", dd: datadog.Config{Queries: datadog.Queries{Invocations: "i{v:{{version}}}", Errors: "e"}}}},
		{"datadog all", `metrics:
  source: datadog
  datadog:
    site: datadoghq.eu
    url: http://127.0.0.1:8125
    apiKeyEnv: MY_DD_API
    appKeyEnv: MY_DD_APP
    resolution: 2m
    delay: 3m
    maxPoints: 100
    latencyUnit: 1ms
    queries: {invocations: 'i', errors: 'e', throttles: 't', p99: 'p', coldStarts: 'c'}
`, &metricsSource{kind: "datadog", apiKeyEnv: "MY_DD_API", appKeyEnv: "MY_DD_APP", dd: datadog.Config{
			Site: "datadoghq.eu", URL: "http://127.0.0.1:8125", Resolution: 2 * time.Minute, Delay: 3 * time.Minute, MaxPoints: 100, LatencyUnit: time.Millisecond,
			Queries: datadog.Queries{Invocations: "i", Errors: "e", Throttles: "t", P99: "p", ColdStarts: "c"},
		}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := schemaValidate(t, compileSchema(t), []byte(tc.doc)); err != nil {
				t.Errorf("the schema refuses it: %v", err)
			}
			c, err := parseConfig("x.yaml", []byte(tc.doc))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, c.metrics, cmp.AllowUnexported(metricsSource{})); diff != "" {
				t.Errorf("metrics (-want +got):\n%s", diff)
			}
		})
	}
}

// TestConfigMetricsRejected: bad metrics values are refused by the schema
// and by the command, with file:line, before anything runs.
func TestConfigMetricsRejected(t *testing.T) {
	s := compileSchema(t)
	q := "    queries: {invocations: i, errors: e}\n"
	for _, tc := range []struct{ name, doc, want string }{
		{"unknown source", "metrics:\n  source: graphite\n", `x.yaml:2: metrics.source: "graphite" is not a metrics source`},
		{"unknown key", "metrics:\n  source: datadog\n  datadog:\n    apiKey: abc\n" + q, "x.yaml:4: apiKey: unknown field"},
		{"secret in the file", "metrics:\n  source: datadog\n  datadog:\n    apiKeyEnv: 0123-abcd-key\n" + q, `x.yaml:4: metrics.datadog.apiKeyEnv: "0123-abcd-key" is not an environment variable name`},
		{"bad delay", "metrics:\n  source: datadog\n  datadog:\n    delay: soon\n" + q, `x.yaml:4: metrics.datadog.delay: "soon" is not a duration`},
		{"bad unit", "metrics:\n  source: datadog\n  datadog:\n    latencyUnit: ms\n" + q, `x.yaml:4: metrics.datadog.latencyUnit: "ms" is not a duration`},
		{"negative points", "metrics:\n  source: datadog\n  datadog:\n    maxPoints: -1\n" + q, "x.yaml:4: metrics.datadog.maxPoints: -1 is negative"},
		{"bad url", "metrics:\n  source: datadog\n  datadog:\n    url: ftp://x/y\n" + q, `x.yaml:4: metrics.datadog.url: "ftp://x/y" is not scheme://host[:port]`},
		{"no errors query", "metrics:\n  source: datadog\n  datadog:\n    queries:\n      invocations: i\n", "x.yaml:5: metrics.datadog.queries: invalid argument: datadog config: queries.errors is empty"},
		{"missing section", "metrics:\n  source: datadog\n", "x.yaml:2: metrics.source: is datadog but metrics.datadog is missing"},
		{"bad address", "metrics:\n  source: prometheus\n  prometheus:\n    address: prometheus:9090\n" + q, `x.yaml:4: metrics.prometheus.address: "prometheus:9090" is not an http(s) URL`},
		{"bad resolution", "metrics:\n  source: prometheus\n  prometheus:\n    address: http://p:9090\n    resolution: 1 minute\n" + q, `x.yaml:5: metrics.prometheus.resolution: "1 minute" is not a duration`},
		{"unknown placeholder", "metrics:\n  source: prometheus\n  prometheus:\n    address: http://p:9090\n    queries: {invocations: 'a{{fn}}', errors: e}\n", "x.yaml:5: metrics.prometheus.queries: invalid argument: prometheus config: queries.invocations has unknown placeholder {{fn}}"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := schemaValidate(t, s, []byte(tc.doc)); err == nil && tc.name != "unknown placeholder" {
				t.Errorf("the schema accepts:\n%s", tc.doc)
			}
			_, err := parseConfig("x.yaml", []byte(tc.doc))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("parseConfig = %v, want %q", err, tc.want)
			}
		})
	}
}

// TestReleaseJudgedThroughDatadog: with metrics.source datadog, the
// canary is judged on Datadog's numbers (the emulator's), not the
// provider's: the memory provider's candidate is healthy, Datadog says it
// fails every other call, and the release rolls back. The keys come from
// the environment variables the file names and are never printed.
func TestReleaseJudgedThroughDatadog(t *testing.T) {
	const apiKey, appKey = "secret-api-0f9e", "secret-app-7c1d"
	dd := datadogtest.NewServer(datadogtest.Options{APIKey: apiKey, AppKey: appKey})
	defer dd.Close()
	p := newPipeline(t)
	p.must(exitOK, "release", "--code", "v1", "--semver", "1.0.0")

	cfg := filepath.Join(t.TempDir(), "slipway.yaml")
	doc := `metrics:
  source: datadog
  datadog:
    url: ` + dd.URL() + `
    apiKeyEnv: TEAM_DD_API
    appKeyEnv: TEAM_DD_APP
    delay: 1s
    queries:
      invocations: 'sum:inv{fn:{{function}},v:{{version}}}.as_count().rollup(sum, {{period}})'
      errors: 'sum:err{fn:{{function}},v:{{version}}}.as_count().rollup(sum, {{period}})'
`
	if err := os.WriteFile(cfg, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	p.env["SLIPWAY_CONFIG"] = cfg
	p.env["TEAM_DD_API"], p.env["TEAM_DD_APP"] = apiKey, appKey

	// Datadog's series: from now for six hours (the virtual clock starts
	// at about now), 1000 calls a minute on each version; version 2 fails
	// half of them.
	start := time.Now().Truncate(time.Minute).Add(-10 * time.Minute)
	var inv1, inv2, err1, err2 []datadogtest.Point
	for m := range 6 * 60 {
		at := start.Add(time.Duration(m) * time.Minute)
		inv1 = append(inv1, datadogtest.Point{Time: at, Value: 1000})
		inv2 = append(inv2, datadogtest.Point{Time: at, Value: 1000})
		err1 = append(err1, datadogtest.Point{Time: at, Value: 0})
		err2 = append(err2, datadogtest.Point{Time: at, Value: 500})
	}
	dd.Submit("inv", []string{"fn:" + fn, "v:1"}, inv1...)
	dd.Submit("inv", []string{"fn:" + fn, "v:2"}, inv2...)
	dd.Submit("err", []string{"fn:" + fn, "v:1"}, err1...)
	dd.Submit("err", []string{"fn:" + fn, "v:2"}, err2...)

	s := p.run("release", "--code", "v2", "--level", "minor")
	if s.code != exitRolledBack {
		t.Errorf("release judged through Datadog: exit %d, want %d (rolled back)\nstdout:\n%s\nstderr:\n%s", s.code, exitRolledBack, s.stdout, s.stderr)
	}
	allOn(t, p.route("production"), "1")
	if len(dd.Requests()) == 0 {
		t.Error("no query reached Datadog")
	}
	for _, r := range dd.Requests() {
		if r.Status != 200 {
			t.Errorf("Datadog answered %d to %q", r.Status, r.Query)
		}
	}
	for _, secret := range []string{apiKey, appKey} {
		if strings.Contains(s.stdout+s.stderr, secret) {
			t.Errorf("a key is printed:\n%s\n%s", s.stdout, s.stderr)
		}
	}

	// Without the keys in the environment the release fails before
	// anything is touched, naming the variables.
	delete(p.env, "TEAM_DD_APP")
	s = p.run("release", "--code", "v3", "--level", "minor")
	if s.code == exitOK || !strings.Contains(s.stderr+s.stdout, "TEAM_DD_APP") {
		t.Errorf("release without the app key: exit %d\nstdout:\n%s\nstderr:\n%s", s.code, s.stdout, s.stderr)
	}
	if got := p.versions(); len(got) != 2 {
		t.Errorf("versions after the refused release: %v, want 2 of them", got)
	}
}
