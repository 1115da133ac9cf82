package prometheus_test

import (
	"github.com/prometheus/client_golang/api"

	"github.com/slipway-dev/slipway/metrics/prometheus"
)

// A source over request counters labelled by version, increase() over one
// period per point; hand it to canary.RunnerOptions.Metrics. It needs a
// Prometheus server, so it compiles but has no Output (TestSource and
// internal/integration's TestCanaryOnPrometheus run against a real one).
func Example() {
	client, err := api.NewClient(api.Config{Address: "http://prometheus:9090"})
	if err != nil {
		panic(err)
	}
	src, err := prometheus.New(client, prometheus.Config{Queries: prometheus.Queries{
		Invocations: `sum(increase(http_requests_total{job="checkout",version="{{version}}"}[{{period}}]))`,
		Errors:      `sum(increase(http_requests_total{job="checkout",version="{{version}}",code=~"5.."}[{{period}}]))`,
		P99:         `histogram_quantile(0.99, sum by (le) (increase(http_request_duration_seconds_bucket{job="checkout",version="{{version}}"}[{{period}}])))`,
	}})
	if err != nil {
		panic(err)
	}
	_ = src // canary.RunnerOptions{Provider: p, Metrics: src}
}
