package datadog_test

import (
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/slipway-dev/slipway/metrics/datadog"
	"github.com/slipway-dev/slipway/metrics/datadog/datadogtest"
	"github.com/slipway-dev/slipway/provider"
	"github.com/slipway-dev/slipway/provider/providertest"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

var creds = datadog.Credentials{APIKey: "dd-api-secret-1234", AppKey: "dd-app-secret-5678"}

func queries() datadog.Queries {
	tags := "{function:{{function}},version:{{version}},alias:{{alias}}}"
	return datadog.Queries{
		Invocations: "sum:slipway.requests" + tags + ".as_count().rollup(sum, {{period}})",
		Errors:      "sum:slipway.errors" + tags + ".as_count().rollup(sum, {{period}})",
		P99:         "max:slipway.duration.p99" + tags + ".rollup(max, {{period}})",
	}
}

func newEmulator(t *testing.T, opts datadogtest.Options) *datadogtest.Server {
	t.Helper()
	opts.APIKey, opts.AppKey = creds.APIKey, creds.AppKey
	s := datadogtest.NewServer(opts)
	t.Cleanup(s.Close)
	return s
}

func newSource(t *testing.T, s *datadogtest.Server, cfg datadog.Config) *datadog.Source {
	t.Helper()
	cfg.URL = s.URL()
	src, err := datadog.New(cfg, creds)
	if err != nil {
		t.Fatal(err)
	}
	return src
}

// TestSource runs the metric-source clauses against the source pointed at
// the emulator: per minute, per version, a count of requests and errors
// and a p99 gauge, tagged function/version/alias; queries span at most 20
// periods and the emulator coarsens any query of more than 20 points, so
// the paging clause's window takes several requests.
func TestSource(t *testing.T) {
	clk := &clock{}
	srv := newEmulator(t, datadogtest.Options{Now: clk.Now, MaxPoints: 20})
	const fn = "checkout"
	src := newSource(t, srv, datadog.Config{Queries: queries(), MaxPoints: 20, Now: clk.Now})
	providertest.RunSource(t, providertest.MetricsFixture{
		Metrics: src, Function: fn, Versions: []string{"1", "2", "3"}, Now: clk.Now,
		UnknownIsEmpty: true, PagePeriods: 20,
		Seed: func(t *testing.T, plan providertest.Plan) {
			for i, tr := range plan.Traffic {
				v := []string{"1", "2"}[i]
				tags := []string{"function:" + fn, "version:" + v, "alias:v" + v}
				for k := range plan.Periods {
					at := plan.Start.Add(time.Duration(k) * plan.Resolution)
					srv.Submit("slipway.requests", tags, datadogtest.Point{Time: at, Value: float64(tr.Invocations)})
					srv.Submit("slipway.errors", tags, datadogtest.Point{Time: at, Value: float64(tr.Errors)})
					srv.Submit("slipway.duration.p99", tags, datadogtest.Point{Time: at.Add(30 * time.Second), Value: 0.08 * float64(i+1)})
				}
			}
			clk.Set(plan.End().Add(plan.Quiet + 3*time.Minute))
		},
		Failing: func(t *testing.T, target error) (provider.Metrics, bool) {
			var opts datadogtest.Options
			opts.Now = clk.Now
			switch target {
			case provider.ErrThrottled:
				opts.RateLimit = 1 // the second query of an observation is refused
			case provider.ErrUnavailable:
				opts.Fault = func() (int, string) { return http.StatusServiceUnavailable, "Service Unavailable" }
			default:
				return nil, false
			}
			return newSource(t, newEmulator(t, opts), datadog.Config{Queries: queries(), Now: clk.Now}), true
		},
	})
}
