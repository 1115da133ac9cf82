package integration_test

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/prometheus/client_golang/api"

	"github.com/slipway-dev/slipway/canary"
	"github.com/slipway-dev/slipway/metrics/prometheus"
	"github.com/slipway-dev/slipway/metrics/prometheus/promtest"
	"github.com/slipway-dev/slipway/provider"
	"github.com/slipway-dev/slipway/provider/memory"
)

// The canary judged on Prometheus data: the in-memory provider carries the
// routes, a real Prometheus server (metrics/prometheus/promtest, skipped
// only where the binary is absent) holds the traffic the rollout's
// schedule sends to each version, and the runner reads it through
// metrics/prometheus.

const (
	promAlias = "prod"
	rpm       = 3000.0 // requests per minute arriving at prod
)

var t0 = time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC)

// version is how one version behaves in the data written to Prometheus.
type version struct {
	errorRate float64
	latency   time.Duration
}

// schedule writes the traffic Canary10Percent5Minutes sends from t0: 10% of
// prod to the candidate for five minutes, then all of it, until the hour
// ends (a rollback reads only the first windows).
func schedule(stable, candidate version) []promtest.Series {
	shift := t0.Add(5 * time.Minute)
	end := t0.Add(time.Hour)
	seg := func(from, to time.Time, share float64, v version) promtest.Segment {
		return promtest.Segment{From: from, To: to, PerMinute: rpm * share, ErrorsPerMinute: rpm * share * v.errorRate, Latency: v.latency}
	}
	return []promtest.Series{
		{Function: fn, Version: "1", Alias: promAlias, Until: end, Segments: []promtest.Segment{
			seg(t0.Add(-time.Hour), t0, 1, stable), seg(t0, shift, 0.9, stable), seg(shift, end, 0, stable)}},
		{Function: fn, Version: "2", Alias: promAlias, Until: end, Segments: []promtest.Segment{
			seg(t0, shift, 0.1, candidate), seg(shift, end, 1, candidate)}},
	}
}

// TestCanaryOnPrometheus runs one rollout of version 2 on the memory
// provider per case, judged every minute by an error-rate comparison with
// version 1 and a p99 threshold, both read from the real server: the
// healthy candidate is promoted, the faulty one rolled back in the first
// window, and the measured error rates are the ones written.
func TestCanaryOnPrometheus(t *testing.T) {
	stable := version{errorRate: 0.01, latency: 40 * time.Millisecond}
	cases := []struct {
		name      string
		candidate version
		phase     canary.Phase
		weight    int // prod's share for version 2 after the rollout
		rate      float64
	}{
		{"healthy", version{errorRate: 0.01, latency: 40 * time.Millisecond}, canary.PhaseSucceeded, 10000, 0.01},
		{"faulty", version{errorRate: 0.10, latency: 40 * time.Millisecond}, canary.PhaseRolledBack, 0, 0.10},
		{"slow", version{errorRate: 0.01, latency: 400 * time.Millisecond}, canary.PhaseRolledBack, 0, 0.01},
	}
	var series []promtest.Series
	for _, c := range cases {
		for _, s := range schedule(stable, c.candidate) {
			s.Function = fn + "-" + c.name
			series = append(series, s)
		}
	}
	srv := promtest.Start(t, promtest.OpenMetrics(series))
	client, err := api.NewClient(api.Config{Address: srv.URL})
	if err != nil {
		t.Fatal(err)
	}

	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ctx := context.Background()
			name := fn + "-" + c.name
			clock := canary.NewVirtualClock(t0)
			mem, err := memory.New(memory.Options{Now: clock.Now, Sleep: clock.Sleep})
			if err != nil {
				t.Fatal(err)
			}
			for _, code := range []string{"v1", "v2"} {
				if _, err := mem.Publish(ctx, name, provider.PublishInput{Artifact: provider.Artifact{Zip: []byte(code)}}); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := mem.SetRoute(ctx, name, provider.To(promAlias, "1")); err != nil {
				t.Fatal(err)
			}
			src, err := prometheus.New(client, prometheus.Config{
				Queries: prometheus.Queries{Invocations: promtest.Queries.Invocations, Errors: promtest.Queries.Errors, P99: promtest.Queries.P99},
				Now:     clock.Now,
			})
			if err != nil {
				t.Fatal(err)
			}
			var windows []canary.ProgressEvent
			runner, err := canary.NewRunner(canary.RunnerOptions{
				Provider: mem, Metrics: src, Clock: clock, MetricsLag: time.Minute,
				OnEvent: func(e canary.ProgressEvent) {
					if e.Results != nil {
						windows = append(windows, e)
					}
				},
			})
			if err != nil {
				t.Fatal(err)
			}
			strategy, err := canary.Preset("Canary10Percent5Minutes")
			if err != nil {
				t.Fatal(err)
			}
			strategy.Analysis.Checks = []canary.CheckSpec{
				{Name: "error rate", Check: canary.Relative{Metric: canary.ErrorRate, Factor: 1.5, Slack: 0.01}},
				{Name: "p99", Check: canary.Threshold{Metric: canary.LatencyP99, Max: 0.2}},
			}
			st, err := runner.Start(ctx, canary.Rollout{ID: name + "-2", Function: name, Alias: promAlias, Candidate: "2", Strategy: strategy})
			if err != nil && c.phase == canary.PhaseSucceeded {
				t.Fatalf("Start: %v", err)
			}
			if st.Phase != c.phase {
				t.Fatalf("rollout ended %s, want %s (windows: %+v)", st.Phase, c.phase, windows)
			}
			route, err := mem.Route(ctx, name, promAlias)
			if err != nil {
				t.Fatal(err)
			}
			if got := route.Share("2"); got != c.weight {
				t.Errorf("prod sends %d bp to version 2, want %d", got, c.weight)
			}
			if len(windows) == 0 {
				t.Fatal("no window was analysed")
			}
			// The first window's error-rate measurement is the candidate's
			// rate as written to Prometheus.
			first := windows[0].Results[0]
			if first.Name != "error rate" || math.Abs(first.Measurement.Value-c.rate) > 1e-9 {
				t.Errorf("first window: %s measured %v (%s), want the candidate's written error rate %v", first.Name, first.Measurement.Value, first.Measurement.Reason, c.rate)
			}
			if c.phase == canary.PhaseRolledBack && len(windows) != 1 {
				t.Errorf("rolled back after %d windows, want the first", len(windows))
			}
			t.Logf("%s: %s after %d windows; first: %s", c.name, st.Phase, len(windows), first.Measurement.Reason)
		})
	}
}
