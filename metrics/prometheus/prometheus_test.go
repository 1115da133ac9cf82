package prometheus_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/prometheus/client_golang/api/prometheus/v1"

	"github.com/slipway-dev/slipway/metrics/prometheus"
	"github.com/slipway-dev/slipway/metrics/prometheus/promtest"
	"github.com/slipway-dev/slipway/provider"
)

func TestConfigValidate(t *testing.T) {
	good := prometheus.Queries{Invocations: "a", Errors: "b"}
	cases := []struct {
		name  string
		cfg   prometheus.Config
		field string // "" when valid
	}{
		{"minimal", prometheus.Config{Queries: good}, ""},
		{"all latencies", prometheus.Config{Queries: prometheus.Queries{Invocations: "a", Errors: "b", P50: "c", P90: "d", P99: "e"}}, ""},
		{"p99 alone", prometheus.Config{Queries: prometheus.Queries{Invocations: "a", Errors: "b", P99: "e"}}, ""},
		{"no invocations", prometheus.Config{Queries: prometheus.Queries{Errors: "b"}}, "queries.invocations"},
		{"no errors", prometheus.Config{Queries: prometheus.Queries{Invocations: "a"}}, "queries.errors"},
		{"p50 without p90", prometheus.Config{Queries: prometheus.Queries{Invocations: "a", Errors: "b", P50: "c", P99: "e"}}, "queries.p90"},
		{"p90 without p99", prometheus.Config{Queries: prometheus.Queries{Invocations: "a", Errors: "b", P90: "d"}}, "queries.p99"},
		{"unknown placeholder", prometheus.Config{Queries: prometheus.Queries{Invocations: `x{v="{{ver}}"}`, Errors: "b"}}, "queries.invocations"},
		{"text/template spelling", prometheus.Config{Queries: prometheus.Queries{Invocations: "a", Errors: `x{v="{{.Version}}"}`}}, "queries.errors"},
		{"negative delay", prometheus.Config{Queries: good, Delay: -time.Second}, "delay"},
		{"sub-second resolution", prometheus.Config{Queries: good, Resolution: 1500 * time.Millisecond}, "resolution"},
		{"negative max points", prometheus.Config{Queries: good, MaxPoints: -1}, "maxPoints"},
	}
	for _, c := range cases {
		err := c.cfg.Validate()
		var ie *provider.InvalidError
		switch {
		case c.field == "" && err != nil:
			t.Errorf("%s: Validate() = %v, want nil", c.name, err)
		case c.field != "" && !errors.As(err, &ie):
			t.Errorf("%s: Validate() = %v, want a *provider.InvalidError naming %s", c.name, err, c.field)
		case c.field != "" && ie.Field != c.field:
			t.Errorf("%s: Validate() names field %q, want %q (%v)", c.name, ie.Field, c.field, err)
		}
	}
}

// recorded is a Prometheus-API stand-in that records the range queries it
// is sent and answers each with one series holding value 1 at every
// instant; it is used only to see what the source asks for.
type recorded struct {
	mu      sync.Mutex
	queries []url.Values
}

func (r *recorded) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	_ = req.ParseForm()
	r.mu.Lock()
	r.queries = append(r.queries, req.Form)
	r.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write([]byte(`{"status":"success","data":{"resultType":"matrix","result":[]}}`))
}

// TestObserveRequests shows the expansion of every placeholder, the
// evaluation instants (the ends of the periods, step = period) and the
// split of a long window into range queries of at most MaxPoints points.
func TestObserveRequests(t *testing.T) {
	rec := &recorded{}
	srv := httptest.NewServer(rec)
	t.Cleanup(srv.Close)
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	cfg := prometheus.Config{
		Queries: prometheus.Queries{
			Invocations: `sum(increase(req_total{fn="{{function}}",v="{{version}}",alias=~"{{alias}}"}[{{period}}]))`,
			Errors:      `sum(increase(err_total{fn="{{function}}",v="{{version}}"}[{{period}}]))`,
		},
		MaxPoints:   4,
		Concurrency: 1, // in order, for the comparison below
		Now:         func() time.Time { return now },
	}
	src := newSource(t, srv.URL, cfg)
	start := now.Add(-time.Hour)
	q := provider.Query{Function: `say "hi"`, Alias: "prod.v2", Versions: []string{"7"}, Start: start, End: start.Add(10 * time.Minute), Period: time.Minute}
	obs, err := src.Observe(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	if len(obs.Series) != 1 || len(obs.Series[0].Points) != 10 {
		t.Fatalf("got %+v, want one series of 10 points", obs.Series)
	}
	for _, p := range obs.Series[0].Points {
		if p.Invocations != 0 || p.ColdStarts != -1 {
			t.Fatalf("empty answer gave point %+v, want zero counts and unknown cold starts", p)
		}
	}
	type call struct{ Query, Start, End, Step string }
	var got []call
	for _, f := range rec.queries {
		got = append(got, call{f.Get("query"), f.Get("start"), f.Get("end"), f.Get("step")})
	}
	unix := func(m int) string { return strconv.FormatInt(start.Add(time.Duration(m)*time.Minute).Unix(), 10) }
	inv := `sum(increase(req_total{fn="say \"hi\"",v="7",alias=~"prod\\.v2"}[60s]))`
	errq := `sum(increase(err_total{fn="say \"hi\"",v="7"}[60s]))`
	want := []call{
		{inv, unix(1), unix(4), "60"}, {inv, unix(5), unix(8), "60"}, {inv, unix(9), unix(10), "60"},
		{errq, unix(1), unix(4), "60"}, {errq, unix(5), unix(8), "60"}, {errq, unix(9), unix(10), "60"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("range queries (-want +got):\n%s", diff)
	}
}

// TestObserveInvalidQuery: the real server refuses a template that is not
// PromQL (400 bad_data): ErrInvalid, with the client's *v1.Error in the
// chain.
func TestObserveInvalidQuery(t *testing.T) {
	srv := promtest.Start(t, promtest.OpenMetrics(nil))
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	src := newSource(t, srv.URL, prometheus.Config{
		Queries: prometheus.Queries{Invocations: `sum(rate(x[{{period}}])`, Errors: `vector(0)`},
		Now:     func() time.Time { return now },
	})
	_, err := src.Observe(context.Background(), provider.Query{Function: "f", Versions: []string{"1"}, Start: now.Add(-5 * time.Minute), End: now, Period: time.Minute})
	var ae *v1.Error
	var pe *provider.Error
	if !errors.Is(err, provider.ErrInvalid) || !errors.As(err, &ae) || !errors.As(err, &pe) || pe.Function != "f" {
		t.Fatalf("Observe with a malformed template: %v; want ErrInvalid, a *v1.Error and a *provider.Error naming f", err)
	}
	if ae.Type != v1.ErrBadData {
		t.Errorf("server error type %q, want %q", ae.Type, v1.ErrBadData)
	}
}

// TestObserveUnreachable: a transport failure is ErrUnavailable.
func TestObserveUnreachable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	addr := srv.URL
	srv.Close()
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	src := newSource(t, addr, config(func() time.Time { return now }, 0))
	_, err := src.Observe(context.Background(), provider.Query{Function: "f", Versions: []string{"1"}, Start: now.Add(-5 * time.Minute), End: now, Period: time.Minute})
	if !errors.Is(err, provider.ErrUnavailable) {
		t.Fatalf("Observe against a closed port: %v, want ErrUnavailable", err)
	}
}

// TestThrottleRetryAfter: a gateway's 429 carries its Retry-After.
func TestThrottleRetryAfter(t *testing.T) {
	gw := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "7")
		w.WriteHeader(http.StatusTooManyRequests)
	}))
	t.Cleanup(gw.Close)
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	src := newSource(t, gw.URL, config(func() time.Time { return now }, 0))
	_, err := src.Observe(context.Background(), provider.Query{Function: "f", Versions: []string{"1"}, Start: now.Add(-5 * time.Minute), End: now, Period: time.Minute})
	if d, ok := provider.RetryAfter(err); !ok || d != 7*time.Second {
		t.Fatalf("RetryAfter(%v) = %s, %t; want 7s", err, d, ok)
	}
}
