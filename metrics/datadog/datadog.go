// Package datadog is a provider.Metrics source reading Datadog metrics
// through github.com/DataDog/datadog-api-client-go/v2 (v1 "Query
// timeseries points", GET /api/v1/query), one query per measure and
// version tag. It depends on package provider only, so every check of
// package canary (Threshold, Relative, Judge) works on its points as on
// CloudWatch's. Subpackage datadogtest emulates the endpoint for tests.
//
// # Queries
//
// A Config holds one Datadog query template per measure (Queries), e.g.
//
//	sum:trace.aws.lambda.hits{functionname:{{function}},version:{{version}}}.as_count().rollup(sum, {{period}})
//
// Placeholders, replaced before the query is sent:
//
//   - {{function}}: provider.Query.Function.
//   - {{version}}: the version.
//   - {{alias}}: provider.Query.Alias, or * (every value) when it is empty.
//   - {{period}}: the period in whole seconds.
//
// Any other {{…}} is refused by Validate. The template must roll up to the
// period (.rollup(<agg>, {{period}})): Datadog's buckets are aligned to
// multiples of the interval since the epoch, which is what makes them the
// query's periods; an answer at another interval is refused with
// provider.ErrInvalid. Counts are rounded and summed over the answer's
// series; latencies are read in LatencyUnit (seconds by default) and the
// largest is kept. Buckets Datadog leaves out (no data) are zero points.
//
// # Windows, completeness and paging
//
// Observe refuses misaligned queries (provider.Query.Validate). Through is
// min(End, now − Delay aligned down to the period): Datadog's metrics
// arrive late (one to several minutes for cloud integrations), so Delay
// defaults to two minutes. Datadog returns at most 1500 points per series
// and coarsens the interval of a longer query, so Observe splits a window
// into queries of at most MaxPoints periods.
//
// # Credentials
//
// The API and application keys are a Credentials value (CredentialsFromEnv
// reads DD_API_KEY and DD_APP_KEY), sent as the DD-API-KEY and
// DD-APPLICATION-KEY headers and never logged: Credentials formats as
// "[redacted]" under fmt and log/slog.
//
// # Errors
//
// Errors are *provider.Error values for operation "observe" wrapping a
// sentinel: provider.ErrThrottled for a 429 (a *provider.ThrottleError whose
// RetryAfter is X-RateLimit-Reset), provider.ErrUnavailable for a 5xx or a
// transport failure, provider.ErrInvalid for a 400 or an answer at the
// wrong interval, and the context's error when ctx ends; a 403 (bad keys,
// missing timeseries_query permission) wraps none. The client's
// datadog.GenericOpenAPIError stays in the chain. Datadog holds series,
// not functions: an unknown function has no series and zero points, never
// provider.ErrNotFound.
//
// API calls: one per version, per non-empty template and per MaxPoints
// periods of the window, at most Concurrency (4) at a time.
package datadog

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	dd "github.com/DataDog/datadog-api-client-go/v2/api/datadog"
	"github.com/DataDog/datadog-api-client-go/v2/api/datadogV1"
	"golang.org/x/sync/errgroup"

	"github.com/slipway-dev/slipway/metrics/internal/templates"
	"github.com/slipway-dev/slipway/provider"
)

// Queries are the query templates of each measure of a provider.Point.
// Invocations and Errors are required; the others may be empty (Throttles
// and latencies are then zero, ColdStarts −1: unknown). Latencies are
// given from the top: P99 alone, P90 and P99, or all three.
type Queries struct {
	Invocations string `json:"invocations" yaml:"invocations"`
	Errors      string `json:"errors" yaml:"errors"`
	Throttles   string `json:"throttles,omitempty" yaml:"throttles,omitempty"`
	P50         string `json:"p50,omitempty" yaml:"p50,omitempty"`
	P90         string `json:"p90,omitempty" yaml:"p90,omitempty"`
	P99         string `json:"p99,omitempty" yaml:"p99,omitempty"`
	ColdStarts  string `json:"coldStarts,omitempty" yaml:"coldStarts,omitempty"`
}

// Config configures a Source. Queries is required; the zero value of every
// other field is the default.
type Config struct {
	Queries Queries `json:"queries" yaml:"queries"`
	// Site is the Datadog site ("datadoghq.com", "datadoghq.eu",
	// "us5.datadoghq.com", …); "" means datadoghq.com.
	Site string `json:"site,omitempty" yaml:"site,omitempty"`
	// URL, when set, replaces the site's API address (a proxy, or the
	// datadogtest emulator): scheme and host, e.g. http://127.0.0.1:8125.
	URL string `json:"url,omitempty" yaml:"url,omitempty"`
	// Resolution is the finest period; 0 means one minute. Whole seconds.
	Resolution time.Duration `json:"resolution,omitempty" yaml:"resolution,omitempty"`
	// Delay is how long after a period ends its data are complete; 0 means
	// two minutes.
	Delay time.Duration `json:"delay,omitempty" yaml:"delay,omitempty"`
	// MaxPoints is the most periods one query spans; 0 means 1500.
	MaxPoints int `json:"maxPoints,omitempty" yaml:"maxPoints,omitempty"`
	// LatencyUnit is the unit of the latency queries' values; 0 means one
	// second (use time.Millisecond for metrics in ms).
	LatencyUnit time.Duration `json:"latencyUnit,omitempty" yaml:"latencyUnit,omitempty"`
	// HTTPClient sends the requests; nil means the client library's default.
	HTTPClient *http.Client `json:"-" yaml:"-"`
	// Concurrency is how many queries one Observe has in flight at most;
	// 0 means 4, and 1 sends them one after another in a fixed order
	// (versions, then templates, then the window's chunks).
	Concurrency int `json:"concurrency,omitempty" yaml:"concurrency,omitempty"`
	// Now is the clock; nil means time.Now.
	Now func() time.Time `json:"-" yaml:"-"`
}

// Validate checks the configuration.
func (c Config) Validate() error {
	const what = "datadog config"
	qs := templates.Queries(c.Queries)
	if err := qs.CheckRequired(what); err != nil {
		return err
	}
	if err := qs.CheckLatencies(what); err != nil {
		return err
	}
	if err := qs.CheckPlaceholders(what); err != nil {
		return err
	}
	if c.URL != "" {
		u, err := url.Parse(c.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") {
			return provider.Invalid(what, "url", fmt.Sprintf("%q is not scheme://host[:port]", c.URL))
		}
	}
	if c.Resolution < 0 || c.Resolution%time.Second != 0 {
		return provider.Invalid(what, "resolution", "is not a non-negative whole number of seconds")
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
	if c.LatencyUnit < 0 {
		return provider.Invalid(what, "latencyUnit", "is negative")
	}
	return nil
}

// measures are the templates that are set and where their values go.
func (c Config) measures() []templates.Measure {
	return templates.Queries(c.Queries).Measures(c.LatencyUnit)
}

// Credentials are the keys of a Datadog organisation. They format as
// "[redacted]" under fmt's verbs, log/slog and encoding/json, so logging a
// value holding them does not leak them.
type Credentials struct {
	APIKey string
	AppKey string
}

// CredentialsFromEnv reads DD_API_KEY and DD_APP_KEY (or
// DD_APPLICATION_KEY); it fails when either is missing.
func CredentialsFromEnv() (Credentials, error) {
	c := Credentials{APIKey: os.Getenv("DD_API_KEY"), AppKey: os.Getenv("DD_APP_KEY")}
	if c.AppKey == "" {
		c.AppKey = os.Getenv("DD_APPLICATION_KEY")
	}
	if c.APIKey == "" || c.AppKey == "" {
		return Credentials{}, fmt.Errorf("datadog: %w", provider.Invalid("environment", "DD_API_KEY/DD_APP_KEY", "is not set"))
	}
	return c, nil
}

func (Credentials) String() string             { return "[redacted]" }
func (Credentials) GoString() string           { return "datadog.Credentials{[redacted]}" }
func (Credentials) LogValue() slog.Value       { return slog.StringValue("[redacted]") }
func (Credentials) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte("[redacted]")) }

// MarshalJSON writes "[redacted]": keys are read from the environment, not
// stored with a configuration (and log handlers that marshal structs do
// not leak them).
func (Credentials) MarshalJSON() ([]byte, error) { return []byte(`"[redacted]"`), nil }

// Source reads per-version metrics from Datadog. It is safe for
// concurrent use.
type Source struct {
	api   *datadogV1.MetricsApi
	cfg   Config
	creds Credentials
}

var _ provider.Metrics = (*Source)(nil)

// New returns a Source. It fails with provider.ErrInvalid when cfg does
// not validate or a key is empty.
func New(cfg Config, creds Credentials) (*Source, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("datadog: %w", err)
	}
	if creds.APIKey == "" || creds.AppKey == "" {
		return nil, fmt.Errorf("datadog: %w", provider.Invalid("credentials", "apiKey/appKey", "is empty"))
	}
	if cfg.Resolution == 0 {
		cfg.Resolution = time.Minute
	}
	if cfg.Delay == 0 {
		cfg.Delay = 2 * time.Minute
	}
	if cfg.Concurrency == 0 {
		cfg.Concurrency = 4
	}
	if cfg.MaxPoints == 0 {
		cfg.MaxPoints = 1500
	}
	conf := dd.NewConfiguration()
	if cfg.HTTPClient != nil {
		conf.HTTPClient = cfg.HTTPClient
	}
	conf.RetryConfiguration.EnableRetry = false // one attempt; callers retry (provider.WithRetry, the canary's error limit)
	return &Source{api: datadogV1.NewMetricsApi(dd.NewAPIClient(conf)), cfg: cfg, creds: creds}, nil
}

// Resolution is Config.Resolution (one minute by default).
func (s *Source) Resolution() time.Duration { return s.cfg.Resolution }

func (s *Source) now() time.Time {
	if s.cfg.Now != nil {
		return s.cfg.Now()
	}
	return time.Now()
}

// requestContext adds the keys and the server address to ctx, as the
// client library reads them.
func (s *Source) requestContext(ctx context.Context) context.Context {
	ctx = context.WithValue(ctx, dd.ContextAPIKeys, map[string]dd.APIKey{
		"apiKeyAuth": {Key: s.creds.APIKey},
		"appKeyAuth": {Key: s.creds.AppKey},
	})
	switch {
	case s.cfg.URL != "":
		u, _ := url.Parse(s.cfg.URL) // checked by Validate
		ctx = context.WithValue(ctx, dd.ContextServerIndex, 1)
		ctx = context.WithValue(ctx, dd.ContextServerVariables, map[string]string{"protocol": u.Scheme, "name": u.Host})
	case s.cfg.Site != "":
		ctx = context.WithValue(ctx, dd.ContextServerVariables, map[string]string{"site": s.cfg.Site})
	}
	return ctx
}

func fail(fn string, err error) error {
	return fmt.Errorf("datadog: %w", &provider.Error{Op: "observe", Function: fn, Err: err})
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
	rctx := s.requestContext(ctx)
	coldStarts := int64(-1) // unknown without a template
	if s.cfg.Queries.ColdStarts != "" {
		coldStarts = 0
	}
	obs.Series = q.EmptySeries(through, coldStarts)
	chunks := q.Chunks(through, s.cfg.MaxPoints)
	// One query per version, template and chunk of MaxPoints periods, at
	// most Concurrency in flight; results are added under mu.
	var mu sync.Mutex
	g, gctx := errgroup.WithContext(rctx)
	g.SetLimit(s.cfg.Concurrency)
	for i, v := range q.Versions {
		for _, m := range s.cfg.measures() {
			expr := expand(m.Template, q, v)
			for _, c := range chunks {
				from, to := c.Start, c.End
				g.Go(func() error {
					resp, httpResp, err := s.api.QueryMetrics(gctx, from.Unix(), to.Unix(), expr)
					if err != nil {
						return fmt.Errorf("%s query of version %q: %w", m.Name, v, translate(gctx, httpResp, err))
					}
					mu.Lock()
					defer mu.Unlock()
					if err := collect(resp, q, m, obs.Series[i].Points); err != nil {
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

// collect adds the points of an answer to pts: the bucket starting at
// Start + k·Period is period k's.
func collect(resp datadogV1.MetricsQueryResponse, q provider.Query, m templates.Measure, pts []provider.Point) error {
	if resp.GetStatus() == "error" {
		return fmt.Errorf("%w: %s", provider.ErrInvalid, resp.GetError())
	}
	period := int64(q.Period / time.Second)
	for _, se := range resp.Series {
		if iv := se.GetInterval(); iv != period {
			return fmt.Errorf("%w: the answer's interval is %ds, not the period %ds: end the template with .rollup(<aggregator>, {{period}})", provider.ErrInvalid, iv, period)
		}
		for _, pair := range se.Pointlist {
			if len(pair) != 2 || pair[0] == nil || pair[1] == nil {
				continue
			}
			t := time.UnixMilli(int64(*pair[0]))
			off := t.Sub(q.Start)
			if off%q.Period != 0 {
				return fmt.Errorf("%w: a point at %s is not at the start of a period", provider.ErrUnavailable, t.UTC().Format(time.RFC3339))
			}
			k := int(off / q.Period)
			f := *pair[1]
			if k < 0 || k >= len(pts) || math.IsNaN(f) || math.IsInf(f, 0) || f < 0 {
				continue
			}
			m.Set(&pts[k], f)
		}
	}
	return nil
}

func expand(template string, q provider.Query, v string) string {
	alias := q.Alias
	if alias == "" {
		alias = "*"
	}
	return strings.NewReplacer(
		"{{function}}", q.Function,
		"{{version}}", v,
		"{{alias}}", alias,
		"{{period}}", strconv.FormatInt(int64(q.Period/time.Second), 10),
	).Replace(template)
}

// translate maps a failed call onto the provider's sentinels, keeping the
// client's error in the chain.
func translate(ctx context.Context, resp *http.Response, err error) error {
	if ctx.Err() != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)) {
		return err
	}
	if resp == nil {
		return fmt.Errorf("%w: %w", provider.ErrUnavailable, err)
	}
	detail := err
	var oe dd.GenericOpenAPIError
	if errors.As(err, &oe) && len(oe.ErrorBody) > 0 {
		detail = fmt.Errorf("%w: %s", err, strings.TrimSpace(string(oe.ErrorBody)))
	}
	switch {
	case resp.StatusCode == http.StatusTooManyRequests:
		var after time.Duration
		if n, perr := strconv.Atoi(resp.Header.Get("X-RateLimit-Reset")); perr == nil && n > 0 {
			after = time.Duration(n) * time.Second
		}
		return &provider.ThrottleError{RetryAfter: after, Err: detail}
	case resp.StatusCode >= 500:
		return fmt.Errorf("%w: %w", provider.ErrUnavailable, detail)
	case resp.StatusCode == http.StatusBadRequest:
		return fmt.Errorf("%w: %w", provider.ErrInvalid, detail)
	case resp.StatusCode == http.StatusForbidden || resp.StatusCode == http.StatusUnauthorized:
		return fmt.Errorf("forbidden (check the API and application keys and the timeseries_query permission): %w", detail)
	}
	return detail
}
