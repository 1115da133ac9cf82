package prometheus_test

import (
	"context"
	"testing"
	"time"

	"github.com/slipway-dev/slipway/metrics/prometheus/promtest"
	"github.com/slipway-dev/slipway/provider"
)

// BenchmarkObserve reads one canary window (one minute, two versions,
// invocations, errors and three latency percentiles: 10 range queries)
// and a one-hour window at one-minute periods from a real Prometheus.
func BenchmarkObserve(b *testing.B) {
	start := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	var series []promtest.Series
	for i, v := range []string{"1", "2"} {
		series = append(series, promtest.Series{Function: "checkout", Version: v, Alias: "live",
			Segments: []promtest.Segment{{From: start, To: start.Add(2 * time.Hour), PerMinute: 600, ErrorsPerMinute: float64(6 * (i + 1)), Latency: 40 * time.Millisecond}}})
	}
	srv := promtest.Start(b, promtest.OpenMetrics(series))
	now := start.Add(2 * time.Hour)
	for _, w := range []struct {
		name        string
		span        time.Duration
		concurrency int
	}{{"1m/serial", time.Minute, 1}, {"1m/4", time.Minute, 4}, {"1h/serial", time.Hour, 1}, {"1h/4", time.Hour, 4}} {
		cfg := config(func() time.Time { return now }, 0)
		cfg.Concurrency = w.concurrency
		src := newSource(b, srv.URL, cfg)
		b.Run(w.name, func(b *testing.B) {
			q := provider.Query{Function: "checkout", Alias: "live", Versions: []string{"1", "2"}, Start: now.Add(-10*time.Minute - w.span), End: now.Add(-10 * time.Minute), Period: time.Minute}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := src.Observe(context.Background(), q); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
