// Package prometheus is a provider.Metrics source reading Prometheus (or
// any server speaking its HTTP query API: Thanos, Mimir, Cortex,
// VictoriaMetrics) through github.com/prometheus/client_golang's
// api/prometheus/v1 client. It depends on package provider only, so every
// check of package canary (Threshold, Relative, Judge) works on its points
// as on CloudWatch's.
//
// # Queries
//
// A Config holds one PromQL template per measure (Queries). Observe expands
// each template once per requested version and runs it as a range query
// whose evaluation instants are the ends of the query's periods: the value
// at Start + (k+1)·Period is period k's point. Templates therefore range
// over one period, e.g.
//
//	sum(increase(http_requests_total{job="checkout",version="{{version}}"}[{{period}}]))
//
// Placeholders, replaced before the query is sent:
//
//   - {{function}}: Query.Function, escaped for a double-quoted PromQL
//     string (use with = in a label matcher).
//   - {{version}}: the version, escaped likewise.
//   - {{alias}}: a regular expression (use with =~) matching exactly
//     Query.Alias, or ".*" when the query has no alias.
//   - {{period}}: the period as a PromQL duration ("1m", "300s").
//
// Any other {{…}} in a template is refused by Validate. A range of one
// period needs several scrapes in it: keep Resolution at least four scrape
// intervals (the default one minute suits a 15s scrape). increase()
// extrapolates to the range's edges, so counts read from live scrapes are
// estimates of the period's requests, exact only when samples fall on the
// period boundaries (as promtest writes them). Counts (invocations,
// errors, throttles, cold starts) are rounded to integers and summed when a
// query returns several series; latencies are in seconds, and the largest
// is kept when a query returns several. A query that returns nothing for a
// period (no series, or NaN as histogram_quantile gives without
// observations) gives zero.
//
// # Windows and completeness
//
// Observe refuses misaligned queries (provider.Query.Validate). A period is
// returned only once it ended Delay ago on the Config's clock (scrape
// interval plus rule evaluation: 1m by default), so Through is min(End,
// now − Delay aligned down to the period). A range query returns at most
// MaxPoints points per series (Prometheus refuses more than 11,000), so
// long windows are split into several range queries, each aligned to the
// period.
//
// # Errors
//
// Errors are *provider.Error values for operation "observe" wrapping a
// sentinel: provider.ErrInvalid for a query or template the server refuses
// (400 bad_data, 422 execution errors), provider.ErrThrottled for a 429 from
// a gateway (a *provider.ThrottleError carrying Retry-After),
// provider.ErrUnavailable for a 5xx, a server-side timeout or a transport
// failure, and the context's error when ctx ends. The client's *v1.Error
// stays in the chain. Prometheus holds series, not functions: an unknown
// function or version has no series, and its points are zeros, never
// provider.ErrNotFound.
//
// API calls: one range query per version, per non-empty template and per
// MaxPoints periods of the window, at most Concurrency (4) at a time.
package prometheus

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/api"
	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"
	"golang.org/x/sync/errgroup"

	"github.com/slipway-dev/slipway/metrics/internal/templates"
	"github.com/slipway-dev/slipway/provider"
)

// Queries are the PromQL templates of each measure of a provider.Point.
// Invocations and Errors are required; the others may be empty (Throttles
// and latencies are then zero, ColdStarts −1: unknown).
type Queries struct {
	Invocations string `json:"invocations" yaml:"invocations"`
	Errors      string `json:"errors" yaml:"errors"`
	Throttles   string `json:"throttles,omitempty" yaml:"throttles,omitempty"`
	// P50, P90, P99 give latency in seconds, e.g.
	// histogram_quantile(0.99, sum by (le) (increase(..._bucket{…}[{{period}}]))).
	P50        string `json:"p50,omitempty" yaml:"p50,omitempty"`
	P90        string `json:"p90,omitempty" yaml:"p90,omitempty"`
	P99        string `json:"p99,omitempty" yaml:"p99,omitempty"`
	ColdStarts string `json:"coldStarts,omitempty" yaml:"coldStarts,omitempty"`
}

// Config configures a Source. Queries is required; the zero value of every
// other field is the default.
type Config struct {
	Queries Queries `json:"queries" yaml:"queries"`
	// Resolution is the finest period (the scrape interval rounded up to a
	// whole period the caller trusts); 0 means one minute.
	Resolution time.Duration `json:"resolution,omitempty" yaml:"resolution,omitempty"`
	// Delay is how long after a period ends its data are complete; 0 means
	// one minute. Negative is invalid.
	Delay time.Duration `json:"delay,omitempty" yaml:"delay,omitempty"`
	// MaxPoints is the most points one range query may return per series;
	// 0 means 11000 (Prometheus's own limit).
	MaxPoints int `json:"maxPoints,omitempty" yaml:"maxPoints,omitempty"`
	// Concurrency is how many queries one Observe has in flight at most;
	// 0 means 4, and 1 sends them one after another in a fixed order
	// (versions, then templates, then the window's chunks).
	Concurrency int `json:"concurrency,omitempty" yaml:"concurrency,omitempty"`
	// Now is the clock; nil means time.Now.
	Now func() time.Time `json:"-" yaml:"-"`
}

// Validate checks the configuration: Invocations and Errors set, only known
// placeholders, non-negative durations and MaxPoints.
func (c Config) Validate() error {
	const what = "prometheus config"
	qs := templates.Queries(c.Queries)
	if err := qs.CheckRequired(what); err != nil {
		return err
	}
	if err := qs.CheckPlaceholders(what); err != nil {
		return err
	}
	if err := qs.CheckLatencies(what); err != nil {
		return err
	}
	if c.Resolution < 0 {
		return provider.Invalid(what, "resolution", "is negative")
	}
	if c.Resolution%time.Second != 0 {
		return provider.Invalid(what, "resolution", "is not a whole number of seconds")
	}
	if c.Delay < 0 {
		return provider.Invalid(what, "delay", "is negative")
	}
	if c.MaxPoints < 0 {
		return provider.Invalid(what, "maxPoints", "is negative")
	}
	if c.Concurrency < 0 {
		return provider.Invalid(what, "concurrency", "is negative")
	}
	return nil
}

// measures are the templates that are set and where their values go.
func (c Config) measures() []templates.Measure {
	return templates.Queries(c.Queries).Measures(time.Second)
}

// Source reads per-version metrics from Prometheus. It is safe for
// concurrent use.
type Source struct {
	api v1.API
	cfg Config
}

var _ provider.Metrics = (*Source)(nil)

// New returns a Source querying through client (api.NewClient with the
// server's address and, for a gateway, its round tripper). It fails with
// provider.ErrInvalid when cfg does not validate.
func New(client api.Client, cfg Config) (*Source, error) {
	if client == nil {
		return nil, provider.Invalid("prometheus", "client", "is nil")
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("prometheus: %w", err)
	}
	if cfg.Resolution == 0 {
		cfg.Resolution = time.Minute
	}
	if cfg.Delay == 0 {
		cfg.Delay = time.Minute
	}
	if cfg.Concurrency == 0 {
		cfg.Concurrency = 4
	}
	if cfg.MaxPoints == 0 {
		cfg.MaxPoints = 11000
	}
	return &Source{api: v1.NewAPI(statusClient{client}), cfg: cfg}, nil
}

// Resolution is Config.Resolution (one minute by default).
func (s *Source) Resolution() time.Duration { return s.cfg.Resolution }

func (s *Source) now() time.Time {
	if s.cfg.Now != nil {
		return s.cfg.Now()
	}
	return time.Now()
}

func fail(fn string, err error) error {
	return fmt.Errorf("prometheus: %w", &provider.Error{Op: "observe", Function: fn, Err: err})
}

// Observe runs the templates of each version over q's window; see the
// package documentation.
func (s *Source) Observe(ctx context.Context, q provider.Query) (provider.Observation, error) {
	if err := ctx.Err(); err != nil {
		return provider.Observation{}, fail(q.Function, err)
	}
	if err := q.Validate(s.cfg.Resolution); err != nil {
		return provider.Observation{}, fail(q.Function, err)
	}
	through := q.CompleteThrough(s.now(), s.cfg.Delay)
	obs := provider.Observation{Query: q, Through: through}
	obs.Query.Versions = append([]string(nil), q.Versions...)
	measures := s.cfg.measures()
	coldStarts := int64(-1) // unknown without a template
	if s.cfg.Queries.ColdStarts != "" {
		coldStarts = 0
	}
	obs.Series = q.EmptySeries(through, coldStarts)
	chunks := q.Chunks(through, s.cfg.MaxPoints)
	// One range query per version, template and chunk of MaxPoints
	// periods, at most Concurrency in flight; results are added under mu.
	var mu sync.Mutex
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(s.cfg.Concurrency)
	for i, v := range q.Versions {
		for _, m := range measures {
			expr := expand(m.Template, q, v)
			for _, c := range chunks {
				// Evaluated at the ends of the chunk's periods.
				r := v1.Range{Start: c.Start.Add(q.Period), End: c.End, Step: q.Period}
				g.Go(func() error {
					val, _, _, err := s.api.QueryRange(gctx, expr, r)
					if err != nil {
						return fmt.Errorf("%s query of version %q: %w", m.Name, v, translate(gctx, err))
					}
					mu.Lock()
					defer mu.Unlock()
					if err := collect(val, q, m, obs.Series[i].Points); err != nil {
						return fmt.Errorf("%s query of version %q: %w", m.Name, v, err)
					}
					return nil
				})
			}
		}
	}
	if err := g.Wait(); err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			err = ctxErr
		}
		return provider.Observation{}, fail(q.Function, err)
	}
	provider.ClearIdle(obs.Series)
	return obs, nil
}

// collect adds the samples of a range-query result to pts: the sample at
// Start + (k+1)·Period is period k's.
func collect(val model.Value, q provider.Query, m templates.Measure, pts []provider.Point) error {
	mat, ok := val.(model.Matrix)
	if !ok {
		return fmt.Errorf("%w: the server answered a range query with a %s, not a matrix", provider.ErrUnavailable, val.Type())
	}
	for _, ss := range mat {
		for _, sp := range ss.Values {
			t := sp.Timestamp.Time()
			off := t.Sub(q.Start)
			if off%q.Period != 0 {
				return fmt.Errorf("%w: sample at %s is not at the end of a period", provider.ErrUnavailable, t.UTC().Format(time.RFC3339))
			}
			k := int(off/q.Period) - 1
			if k < 0 || k >= len(pts) {
				continue
			}
			f := float64(sp.Value)
			if math.IsNaN(f) || math.IsInf(f, 0) || f < 0 {
				continue
			}
			m.Set(&pts[k], f)
		}
	}
	return nil
}

// expand fills the placeholders of template for version v of q.
func expand(template string, q provider.Query, v string) string {
	alias := ".*"
	if q.Alias != "" {
		alias = regexp.QuoteMeta(q.Alias)
	}
	return strings.NewReplacer(
		"{{function}}", promString(q.Function),
		"{{version}}", promString(v),
		"{{alias}}", promString(alias),
		"{{period}}", strconv.FormatInt(int64(q.Period/time.Second), 10)+"s",
	).Replace(template)
}

// promString escapes s for the inside of a double-quoted PromQL string.
func promString(s string) string {
	q := strconv.Quote(s)
	return q[1 : len(q)-1]
}

// translate maps a client error onto the provider's sentinels, keeping it
// in the chain.
func translate(ctx context.Context, err error) error {
	if ctxErr := ctx.Err(); ctxErr != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)) {
		return err
	}
	var te *provider.ThrottleError
	if errors.As(err, &te) || errors.Is(err, provider.ErrUnavailable) {
		return err
	}
	var ae *v1.Error
	if errors.As(err, &ae) {
		switch ae.Type {
		case v1.ErrBadData, v1.ErrExec:
			return fmt.Errorf("%w: %w", provider.ErrInvalid, err)
		case v1.ErrTimeout, v1.ErrCanceled, v1.ErrServer, v1.ErrBadResponse:
			return fmt.Errorf("%w: %w", provider.ErrUnavailable, err)
		}
		return err
	}
	// Transport failures: connection refused, reset, a client timeout.
	return fmt.Errorf("%w: %w", provider.ErrUnavailable, err)
}

// statusClient maps the HTTP statuses the v1 client folds into generic
// errors: 429 (a gateway's rate limit) and 5xx.
type statusClient struct{ api.Client }

func (c statusClient) Do(ctx context.Context, req *http.Request) (*http.Response, []byte, error) {
	resp, body, err := c.Client.Do(ctx, req)
	if err != nil || resp == nil {
		return resp, body, err
	}
	switch {
	case resp.StatusCode == http.StatusTooManyRequests:
		return resp, body, &provider.ThrottleError{RetryAfter: retryAfter(resp.Header.Get("Retry-After")), Err: httpError(resp, body)}
	case resp.StatusCode >= 500:
		return resp, body, fmt.Errorf("%w: %w", provider.ErrUnavailable, httpError(resp, body))
	}
	return resp, body, nil
}

func httpError(resp *http.Response, body []byte) error {
	msg := strings.TrimSpace(string(body))
	if len(msg) > 200 {
		msg = msg[:200] + "…"
	}
	return fmt.Errorf("HTTP %d: %s", resp.StatusCode, msg)
}

// retryAfter parses a Retry-After header in seconds; 0 when absent or a
// date.
func retryAfter(h string) time.Duration {
	if n, err := strconv.Atoi(strings.TrimSpace(h)); err == nil && n > 0 {
		return time.Duration(n) * time.Second
	}
	return 0
}
