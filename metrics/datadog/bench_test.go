package datadog_test

import (
	"context"
	"testing"
	"time"

	"github.com/slipway-dev/slipway/metrics/datadog"
	"github.com/slipway-dev/slipway/metrics/datadog/datadogtest"
	"github.com/slipway-dev/slipway/provider"
)

// BenchmarkObserve reads one canary window (one minute, two versions,
// three templates: 6 requests) and a one-hour window from the emulator.
func BenchmarkObserve(b *testing.B) {
	srv := datadogtest.NewServer(datadogtest.Options{APIKey: creds.APIKey, AppKey: creds.AppKey})
	b.Cleanup(srv.Close)
	start := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	for _, v := range []string{"1", "2"} {
		tags := []string{"function:checkout", "version:" + v, "alias:live"}
		for k := range 120 {
			at := start.Add(time.Duration(k) * time.Minute)
			srv.Submit("slipway.requests", tags, datadogtest.Point{Time: at, Value: 600})
			srv.Submit("slipway.errors", tags, datadogtest.Point{Time: at, Value: 6})
			srv.Submit("slipway.duration.p99", tags, datadogtest.Point{Time: at, Value: 0.08})
		}
	}
	now := start.Add(2 * time.Hour)
	src, err := datadog.New(datadog.Config{Queries: queries(), URL: srv.URL(), Now: func() time.Time { return now }}, creds)
	if err != nil {
		b.Fatal(err)
	}
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
