package provider

import (
	"context"
	"fmt"
	"time"
)

// Metrics reads per-version traffic metrics of functions. It is separate
// from Provider because the source may be another service (CloudWatch,
// Cloud Monitoring, Azure Monitor) with its own credentials and quotas.
// Implementations are safe for concurrent use.
type Metrics interface {
	// Resolution is the finest period the source aggregates to (CloudWatch
	// and Cloud Monitoring: one minute). Query periods are multiples of it.
	Resolution() time.Duration

	// Observe returns one series per requested version, each with one point
	// per whole period of the query window. See Query for alignment and
	// Observation for how partial and empty periods are treated.
	// ErrInvalid for a malformed or misaligned query (checked before any
	// call), ErrNotFound for an unknown function, ErrThrottled, ErrUnavailable.
	Observe(ctx context.Context, q Query) (Observation, error)
}

// Query asks for the metrics of some versions of a function over a window.
//
// The window [Start, End) must be aligned: Start and End are multiples of
// Period since the Unix epoch (use AlignDown), Period is a positive multiple
// of the source's Resolution, and End is after Start. A misaligned query is
// rejected with ErrInvalid rather than silently widened, so a candidate and
// its stable version are always compared over exactly the same periods.
type Query struct {
	Function string `json:"function"`
	// Alias is the route whose traffic is observed (Lambda's Resource
	// dimension "fn:alias"); the series then hold the part of that route's
	// traffic each version served. Empty observes each version's traffic by
	// whatever route reached it.
	Alias    string        `json:"alias,omitempty"`
	Versions []string      `json:"versions"`
	Start    time.Time     `json:"start"`
	End      time.Time     `json:"end"`
	Period   time.Duration `json:"period"`
}

// Validate checks q against a source of the given resolution.
func (q Query) Validate(resolution time.Duration) error {
	if q.Function == "" {
		return invalid("metrics query", "function", "is empty")
	}
	if len(q.Versions) == 0 {
		return invalid("metrics query", "versions", "is empty")
	}
	for i, v := range q.Versions {
		if v == "" {
			return invalid("metrics query", fmt.Sprintf("versions[%d]", i), "is empty")
		}
	}
	if q.Period <= 0 {
		return invalid("metrics query", "period", "is not positive")
	}
	if resolution > 0 && q.Period%resolution != 0 {
		return invalid("metrics query", "period", fmt.Sprintf("%s is not a multiple of the source's resolution %s", q.Period, resolution))
	}
	if !q.End.After(q.Start) {
		return invalid("metrics query", "end", "is not after start")
	}
	if !AlignDown(q.Start, q.Period).Equal(q.Start) {
		return invalid("metrics query", "start", fmt.Sprintf("%s is not aligned to the %s period", q.Start.UTC().Format(time.RFC3339Nano), q.Period))
	}
	if !AlignDown(q.End, q.Period).Equal(q.End) {
		return invalid("metrics query", "end", fmt.Sprintf("%s is not aligned to the %s period", q.End.UTC().Format(time.RFC3339Nano), q.Period))
	}
	return nil
}

// AlignDown returns the start of the period (counted from the Unix epoch)
// that contains t.
func AlignDown(t time.Time, period time.Duration) time.Time {
	if period <= 0 {
		return t
	}
	ns := t.UnixNano()
	r := ns % int64(period)
	if r < 0 {
		r += int64(period)
	}
	return time.Unix(0, ns-r).In(t.Location())
}

// CompleteThrough returns the Observation.Through of a source whose data
// for a period are complete delay after the period ends, asked q at now:
// now − delay aligned down to q.Period, within [q.Start, q.End].
func (q Query) CompleteThrough(now time.Time, delay time.Duration) time.Time {
	through := AlignDown(now.Add(-delay), q.Period)
	if through.After(q.End) {
		through = q.End
	}
	if through.Before(q.Start) {
		through = q.Start
	}
	return through
}

// EmptySeries returns the series of an observation of q complete through
// through, before the source's data are added: one per version of q, in
// order, each with one zero Point per whole period in [q.Start, through)
// whose Start is set and whose ColdStarts is coldStarts (−1 for a source
// that cannot tell, 0 for one that counts them).
func (q Query) EmptySeries(through time.Time, coldStarts int64) []Series {
	n := int(through.Sub(q.Start) / q.Period)
	out := make([]Series, 0, len(q.Versions))
	for _, v := range q.Versions {
		s := Series{Version: v, Points: make([]Point, n)}
		for k := range s.Points {
			s.Points[k] = Point{Start: q.Start.Add(time.Duration(k) * q.Period), ColdStarts: coldStarts}
		}
		out = append(out, s)
	}
	return out
}

// Chunks splits the whole periods of q's window before through into
// queries of at most maxPeriods periods each, in time order, for a source
// whose API answers at most that many points a request. Each chunk is q
// with Start and End narrowed; none is empty. maxPeriods < 1 means one
// chunk.
func (q Query) Chunks(through time.Time, maxPeriods int) []Query {
	n := int(through.Sub(q.Start) / q.Period)
	if maxPeriods < 1 {
		maxPeriods = max(n, 1)
	}
	var out []Query
	for lo := 0; lo < n; lo += maxPeriods {
		hi := min(lo+maxPeriods, n)
		c := q
		c.Start, c.End = q.Start.Add(time.Duration(lo)*q.Period), q.Start.Add(time.Duration(hi)*q.Period)
		out = append(out, c)
	}
	return out
}

// ClearIdle enforces on series what a period without invocations cannot
// have: latencies, and cold starts where the source counts them (a
// ColdStarts of −1, unknown, stays).
func ClearIdle(series []Series) {
	for _, s := range series {
		for k := range s.Points {
			if p := &s.Points[k]; p.Invocations == 0 {
				p.P50, p.P90, p.P99 = 0, 0, 0
				if p.ColdStarts > 0 {
					p.ColdStarts = 0
				}
			}
		}
	}
}

// Observation is the answer to a Query.
//
// Partial periods: a source publishes a period only once it is complete
// (CloudWatch and Cloud Monitoring lag by a minute or more). Through is the
// time up to which the source's data is complete; periods that end after
// Through are left out, never returned half-filled. Every whole period in
// [Start, min(End, Through)) has exactly one point per series, in ascending
// time order; a period in which a version served no traffic has a point with
// zero counts (sources that omit empty periods are filled in by the
// adapter).
type Observation struct {
	Query   Query     `json:"query"`
	Through time.Time `json:"through"`
	Series  []Series  `json:"series"`
}

// Series returns the series of one version and whether it is present.
func (o Observation) Of(version string) (Series, bool) {
	for _, s := range o.Series {
		if s.Version == version {
			return s, true
		}
	}
	return Series{}, false
}

// Series is the points of one version.
type Series struct {
	Version string  `json:"version"`
	Points  []Point `json:"points"`
}

// Total sums the counts of s over its points. Latency fields of the result
// are the maximum of the per-period values (a conservative summary; checks
// that need distributions use the points).
func (s Series) Total() Point {
	var t Point
	for i, p := range s.Points {
		if i == 0 {
			t.Start = p.Start
		}
		t.Invocations += p.Invocations
		t.Errors += p.Errors
		t.Throttles += p.Throttles
		t.ColdStarts += p.ColdStarts
		t.P50 = max(t.P50, p.P50)
		t.P90 = max(t.P90, p.P90)
		t.P99 = max(t.P99, p.P99)
		t.InitDuration = max(t.InitDuration, p.InitDuration)
	}
	return t
}

// Point is one period of one version's traffic.
type Point struct {
	// Start is the start of the period; the period's length is the query's.
	Start time.Time `json:"start"`
	// Invocations counts requests served, including failed ones, excluding
	// throttled ones.
	Invocations int64 `json:"invocations"`
	// Errors counts failed invocations (function errors, timeouts, 5xx).
	Errors int64 `json:"errors"`
	// Throttles counts invocations refused by throttling.
	Throttles int64 `json:"throttles"`
	// P50, P90, P99 are latency percentiles over the period's invocations;
	// zero when there were none, or when the source has no percentiles.
	P50 time.Duration `json:"p50,omitempty"`
	P90 time.Duration `json:"p90,omitempty"`
	P99 time.Duration `json:"p99,omitempty"`
	// ColdStarts counts invocations that started a new instance; -1 when the
	// source cannot tell.
	ColdStarts int64 `json:"coldStarts"`
	// InitDuration is the longest (or, where the source has only averages,
	// the mean) initialisation time of the period's cold starts.
	InitDuration time.Duration `json:"initDuration,omitempty"`
}

// ErrorRate returns Errors/Invocations, or 0 with ok false when there were
// no invocations.
func (p Point) ErrorRate() (rate float64, ok bool) {
	if p.Invocations == 0 {
		return 0, false
	}
	return float64(p.Errors) / float64(p.Invocations), true
}
