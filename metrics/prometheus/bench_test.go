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
	src := newSource(b, srv.URL, config(func() time.Time { return now }, 0))
	for _, w := range []struct {
		name string
		span time.Duration
	}{{"1m", time.Minute}, {"1h", time.Hour}} {
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
