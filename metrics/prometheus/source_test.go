package prometheus_test

import (
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/api"

	"github.com/slipway-dev/slipway/metrics/prometheus"
	"github.com/slipway-dev/slipway/metrics/prometheus/promtest"
	"github.com/slipway-dev/slipway/provider"
	"github.com/slipway-dev/slipway/provider/providertest"
)

// fixedClock is a clock set once the plan is seeded.
type fixedClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fixedClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fixedClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

func config(clk func() time.Time, maxPoints int) prometheus.Config {
	return prometheus.Config{
		Queries: prometheus.Queries{
			Invocations: promtest.Queries.Invocations, Errors: promtest.Queries.Errors,
			P50: promtest.Queries.P50, P90: promtest.Queries.P90, P99: promtest.Queries.P99,
		},
		Now:       clk,
		MaxPoints: maxPoints,
	}
}

func newSource(t testing.TB, addr string, cfg prometheus.Config) *prometheus.Source {
	t.Helper()
	c, err := api.NewClient(api.Config{Address: addr})
	if err != nil {
		t.Fatal(err)
	}
	s, err := prometheus.New(c, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestSource runs the metric-source clauses against a real Prometheus
// holding the plan's traffic, backfilled by promtool: per version a
// counter of requests and of errors, and a latency histogram, sampled
// every 15s. The source reaches the server through a reverse proxy (its
// address is known before the server starts); range queries hold at most
// 20 points, so the paging clause's window takes several.
func TestSource(t *testing.T) {
	const fn = "checkout"
	clk := &fixedClock{}
	var target struct {
		sync.Mutex
		u *url.URL
	}
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		target.Lock()
		u := target.u
		target.Unlock()
		if u == nil {
			http.Error(w, "not started", http.StatusServiceUnavailable)
			return
		}
		httputil.NewSingleHostReverseProxy(u).ServeHTTP(w, r)
	}))
	t.Cleanup(proxy.Close)
	src := newSource(t, proxy.URL, config(clk.Now, 20))
	providertest.RunSource(t, providertest.MetricsFixture{
		Metrics: src, Function: fn, Versions: []string{"1", "2", "3"}, Now: clk.Now,
		UnknownIsEmpty: true,
		PagePeriods:    20,
		Seed: func(t *testing.T, plan providertest.Plan) {
			var series []promtest.Series
			for i, tr := range plan.Traffic {
				v := []string{"1", "2"}[i]
				series = append(series, promtest.Series{
					Function: fn, Version: v, Alias: "v" + v,
					Segments: []promtest.Segment{{
						From: plan.Start, To: plan.End(),
						PerMinute:       float64(tr.Invocations) / plan.Resolution.Minutes(),
						ErrorsPerMinute: float64(tr.Errors) / plan.Resolution.Minutes(),
						Latency:         time.Duration(i+1) * 40 * time.Millisecond,
					}},
					Until: plan.End().Add(plan.Quiet),
				})
			}
			srv := promtest.Start(t, promtest.OpenMetrics(series))
			u, err := url.Parse(srv.URL)
			if err != nil {
				t.Fatal(err)
			}
			target.Lock()
			target.u = u
			target.Unlock()
			clk.Set(plan.End().Add(plan.Quiet + 2*time.Minute))
		},
		Failing: func(t *testing.T, target error) (provider.Metrics, bool) {
			var h http.HandlerFunc
			switch target {
			case provider.ErrThrottled:
				h = func(w http.ResponseWriter, r *http.Request) {
					w.Header().Set("Retry-After", "3")
					http.Error(w, "rate limit exceeded", http.StatusTooManyRequests)
				}
			case provider.ErrUnavailable:
				h = func(w http.ResponseWriter, r *http.Request) {
					w.Header().Set("Content-Type", "application/json")
					w.WriteHeader(http.StatusServiceUnavailable)
					_, _ = w.Write([]byte(`{"status":"error","errorType":"unavailable","error":"too many queries"}`))
				}
			default:
				return nil, false
			}
			gw := httptest.NewServer(h)
			t.Cleanup(gw.Close)
			return newSource(t, gw.URL, config(clk.Now, 0)), true
		},
	})
}
