package canary

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"time"

	"github.com/slipway-dev/slipway/provider"
)

// Metric names a quantity the built-in checks read from a window's
// provider.Observation.
//
// Rates are fractions in [0, 1], computed over the window's totals:
//
//	ErrorRate      Σ Errors / Σ Invocations
//	ThrottleRate   Σ Throttles / Σ (Invocations + Throttles)   (invocations exclude throttled requests)
//	ColdStartRate  Σ ColdStarts / Σ Invocations                 (unsupported when the source reports −1)
//
// Latencies are the per-period percentiles P50, P90 and P99, in seconds.
// A period counts as a latency sample only when it served invocations and
// its percentile is non-zero (a zero percentile means the period had no
// traffic, or the source has no percentiles).
type Metric int

const (
	ErrorRate Metric = iota
	ThrottleRate
	LatencyP50
	LatencyP90
	LatencyP99
	ColdStartRate
)

var judgeMetricNames = [...]string{
	ErrorRate:     "ErrorRate",
	ThrottleRate:  "ThrottleRate",
	LatencyP50:    "LatencyP50",
	LatencyP90:    "LatencyP90",
	LatencyP99:    "LatencyP99",
	ColdStartRate: "ColdStartRate",
}

var judgeMetricLabels = [...]string{
	ErrorRate:     "error rate",
	ThrottleRate:  "throttle rate",
	LatencyP50:    "p50 latency",
	LatencyP90:    "p90 latency",
	LatencyP99:    "p99 latency",
	ColdStartRate: "cold-start rate",
}

func (m Metric) valid() bool { return m >= ErrorRate && m <= ColdStartRate }

func (m Metric) String() string {
	if !m.valid() {
		return fmt.Sprintf("Metric(%d)", int(m))
	}
	return judgeMetricNames[m]
}

// label is the metric in words, for reasons.
func (m Metric) label() string {
	if !m.valid() {
		return m.String()
	}
	return judgeMetricLabels[m]
}

// MarshalText encodes the metric by name ("ErrorRate", "LatencyP99", …).
func (m Metric) MarshalText() ([]byte, error) {
	if !m.valid() {
		return nil, fmt.Errorf("canary: metric %d: %w", int(m), provider.ErrInvalid)
	}
	return []byte(m.String()), nil
}

// UnmarshalText decodes a metric name.
func (m *Metric) UnmarshalText(b []byte) error {
	for i, n := range judgeMetricNames {
		if n == string(b) {
			*m = Metric(i)
			return nil
		}
	}
	return fmt.Errorf("canary: unknown metric %q: %w", b, provider.ErrInvalid)
}

// IsRate reports whether the metric is a fraction of requests (ErrorRate,
// ThrottleRate, ColdStartRate) rather than a latency.
func (m Metric) IsRate() bool { return m == ErrorRate || m == ThrottleRate || m == ColdStartRate }

func (m Metric) unit() string {
	if m.IsRate() {
		return "ratio"
	}
	return "s"
}

// percentile returns the metric's latency for one period.
func (m Metric) percentile(p provider.Point) time.Duration {
	switch m {
	case LatencyP50:
		return p.P50
	case LatencyP90:
		return p.P90
	}
	return p.P99
}

// DefaultMinInvocations is the minimum number of requests (per side, for
// comparisons) below which Threshold, Relative and the rate judgements of
// Judge are Inconclusive when MinSamples is zero. At 50 requests one error
// moves the rate by 2 percentage points: fewer than that and a single
// unlucky request decides the verdict.
const DefaultMinInvocations = 50

// judgeSide is what the checks read from one version's series.
type judgeSide struct {
	present bool
	// events and trials of the rate metric (errors of invocations, …).
	events, trials int64
	invocations    int64
	// latencies holds, per period with traffic and a percentile, the
	// metric's latency in seconds.
	latencies []float64
}

// judgeRead extracts metric m from the series of version (absent: a side
// with no traffic). A malformed series (negative counts, more errors than
// invocations) is an error wrapping provider.ErrInvalid; cold starts
// unknown to the source are an error wrapping provider.ErrUnsupported.
func judgeRead(w MetricWindow, version string, m Metric, what string) (judgeSide, error) {
	s, ok := w.Metrics.Of(version)
	side := judgeSide{present: ok}
	for i, p := range s.Points {
		if p.Invocations < 0 || p.Errors < 0 || p.Throttles < 0 || p.ColdStarts < -1 ||
			p.Errors > p.Invocations || p.ColdStarts > p.Invocations || p.P50 < 0 || p.P90 < 0 || p.P99 < 0 {
			return side, fmt.Errorf("canary: %s: malformed metrics for version %q, point %d (%+v): %w", what, version, i, p, provider.ErrInvalid)
		}
		side.invocations += p.Invocations
		switch m {
		case ErrorRate:
			side.events += p.Errors
			side.trials += p.Invocations
		case ThrottleRate:
			side.events += p.Throttles
			side.trials += p.Invocations + p.Throttles
		case ColdStartRate:
			if p.Invocations > 0 && p.ColdStarts < 0 {
				return side, fmt.Errorf("canary: %s: the metrics source does not report cold starts for version %q: %w", what, version, provider.ErrUnsupported)
			}
			side.events += max(p.ColdStarts, 0)
			side.trials += p.Invocations
		default:
			if d := m.percentile(p); p.Invocations > 0 && d > 0 {
				side.latencies = append(side.latencies, d.Seconds())
			}
		}
	}
	if !m.IsRate() {
		side.trials = side.invocations
	}
	return side, nil
}

// rate returns events/trials (0 without trials).
func (s judgeSide) rate() float64 {
	if s.trials == 0 {
		return 0
	}
	return float64(s.events) / float64(s.trials)
}

// worst returns the largest per-period latency, in seconds.
func (s judgeSide) worst() float64 {
	w := 0.0
	for _, v := range s.latencies {
		w = max(w, v)
	}
	return w
}

// value is the side's measured value of m: the rate, or the worst period's
// latency.
func (s judgeSide) value(m Metric) float64 {
	if m.IsRate() {
		return s.rate()
	}
	return s.worst()
}

// describe renders the side's value of m for a reason: "2.50% (5/200)" or
// "812ms (worst of 10 periods)".
func (s judgeSide) describe(m Metric) string {
	if m.IsRate() {
		return fmt.Sprintf("%s (%d/%d)", judgeFmtRate(s.rate()), s.events, s.trials)
	}
	return fmt.Sprintf("%s (worst of %d periods)", judgeFmtSeconds(s.worst()), len(s.latencies))
}

// judgeShortfall returns a reason when the side has fewer than min trials.
func judgeShortfall(s judgeSide, who string, m Metric, min int64) (string, bool) {
	if !s.present || s.invocations == 0 && s.trials == 0 {
		return fmt.Sprintf("%s served no traffic in the window: nothing to judge %s on", who, m.label()), true
	}
	if s.trials < min {
		return fmt.Sprintf("%s served %d requests, fewer than the %d needed to judge %s", who, s.trials, min, m.label()), true
	}
	return "", false
}

// judgeNoPercentiles is the error for a latency check on a source that
// serves traffic but reports no percentiles.
func judgeNoPercentiles(what, version string, m Metric) error {
	return fmt.Errorf("canary: %s: version %q served requests but the metrics source reports no %s: %w", what, version, m.label(), provider.ErrUnsupported)
}

func judgeFmtRate(r float64) string { return fmt.Sprintf("%.2f%%", 100*r) }

func judgeFmtSeconds(s float64) string {
	return time.Duration(math.Round(s * float64(time.Second))).Round(time.Microsecond).String()
}

func judgeFmtValue(m Metric, v float64) string {
	if m.IsRate() {
		return judgeFmtRate(v)
	}
	return judgeFmtSeconds(v)
}

// checkInvalid is the error of a check's Validate: a
// *provider.InvalidError naming the configuration field at fault (by its
// JSON name), so errors.Is(err, provider.ErrInvalid) holds and errors.As
// reads the field: "canary: invalid argument: threshold: max is 1.5, a
// rate outside [0, 1]".
func checkInvalid(what, field, format string, args ...any) error {
	return fmt.Errorf("canary: %w", provider.Invalid(what, field, fmt.Sprintf(format, args...)))
}

func judgeCheckFinite(what, field string, v float64) error {
	if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
		return checkInvalid(what, field, "is %v, not a finite non-negative number", v)
	}
	return nil
}

// Threshold is an absolute limit on the candidate's metric in the window:
// it passes when the candidate's value is at most Max.
//
// For a rate the value is the window's total (ErrorRate 6 errors in 400
// invocations = 1.5%: Pass against Max 0.02, Fail against Max 0.01). For a
// latency it is the worst whole period of the window (periods of 0.40s,
// 0.45s and 0.62s p99 measure 0.62s), the conservative summary
// provider.Series.Total also uses: a threshold is an alarm line, and one
// period over it is over it. A latency threshold therefore reacts to one
// noisy period; Judge weighs every period against the stable version's
// instead.
//
// Below MinSamples requests (zero means DefaultMinInvocations) the verdict
// is Inconclusive, never Pass; for ThrottleRate requests include the
// throttled ones.
//
// Trade-off: an absolute threshold ignores what production does. If the
// stable version already fails 20% of requests, a fix that brings it to 5%
// still fails Max 0.01 and cannot be rolled out; Relative and Judge
// compare with the stable version and let it through.
type Threshold struct {
	Metric Metric `json:"metric"`
	// Max is the largest acceptable value: a rate in [0, 1], or a latency
	// in seconds.
	Max        float64 `json:"max"`
	MinSamples int64   `json:"minSamples,omitempty"`
}

var _ Check = Threshold{}

// Validate reports a configuration error: a *provider.InvalidError naming
// the field, which wraps provider.ErrInvalid.
func (t Threshold) Validate() error {
	if !t.Metric.valid() {
		return checkInvalid("threshold", "metric", "is %d, not a known metric", int(t.Metric))
	}
	if err := judgeCheckFinite("threshold", "max", t.Max); err != nil {
		return err
	}
	if t.Metric.IsRate() && t.Max > 1 {
		return checkInvalid("threshold", "max", "is %v, a rate outside [0, 1]", t.Max)
	}
	if t.MinSamples < 0 {
		return checkInvalid("threshold", "minSamples", "is %d, negative", t.MinSamples)
	}
	return nil
}

// Judge measures the candidate's metric in w against Max.
func (t Threshold) Judge(ctx context.Context, w MetricWindow) (Measurement, error) {
	if err := ctx.Err(); err != nil {
		return Measurement{}, fmt.Errorf("canary: threshold: %w", err)
	}
	if err := t.Validate(); err != nil {
		return Measurement{}, err
	}
	cand, err := judgeRead(w, w.Candidate, t.Metric, "threshold")
	if err != nil {
		return Measurement{}, err
	}
	m := Measurement{Unit: t.Metric.unit(), Value: cand.value(t.Metric)}
	if reason, short := judgeShortfall(cand, "candidate "+w.Candidate, t.Metric, cmp.Or(t.MinSamples, DefaultMinInvocations)); short {
		m.Verdict, m.Reason = Inconclusive, reason
		return m, nil
	}
	if !t.Metric.IsRate() && len(cand.latencies) == 0 {
		return Measurement{}, judgeNoPercentiles("threshold", w.Candidate, t.Metric)
	}
	if m.Value <= t.Max {
		m.Verdict = Pass
		m.Reason = fmt.Sprintf("%s %s is within the maximum %s", t.Metric.label(), cand.describe(t.Metric), judgeFmtValue(t.Metric, t.Max))
	} else {
		m.Verdict = Fail
		m.Reason = fmt.Sprintf("%s %s exceeds the maximum %s", t.Metric.label(), cand.describe(t.Metric), judgeFmtValue(t.Metric, t.Max))
	}
	return m, nil
}

// Relative limits the candidate's metric relative to the stable version's
// over the same window: it passes when
//
//	candidate ≤ stable × Factor + Slack
//
// with values measured as Threshold measures them (rates over the window's
// totals, latencies as the worst period). Factor zero means 1; Slack is in
// the metric's unit (a rate, or seconds) and keeps a stable version with
// no errors at all from failing every candidate that has one: stable 0/4000
// errors, candidate 1/200 = 0.5%, Factor 1.5 fails without Slack, and
// passes with Slack 0.01 (bound 0% × 1.5 + 1% = 1%).
//
// Judging relative to the stable version means an error rate already high
// in production does not block the fix: stable at 20%, candidate at 5%,
// Factor 1 → 5% ≤ 20%: Pass, where Threshold{Max: 0.01} fails. The price is
// that a candidate no worse than a bad stable version passes too, so pair
// it with a generous absolute Threshold when that matters.
//
// Both sides need MinSamples requests (zero means DefaultMinInvocations);
// without a stable version, or below the minimum on either side, the
// verdict is Inconclusive.
type Relative struct {
	Metric     Metric  `json:"metric"`
	Factor     float64 `json:"factor,omitempty"`
	Slack      float64 `json:"slack,omitempty"`
	MinSamples int64   `json:"minSamples,omitempty"`
}

var _ Check = Relative{}

// Validate reports a configuration error: a *provider.InvalidError naming
// the field, which wraps provider.ErrInvalid.
func (r Relative) Validate() error {
	if !r.Metric.valid() {
		return checkInvalid("relative", "metric", "is %d, not a known metric", int(r.Metric))
	}
	if err := judgeCheckFinite("relative", "factor", r.Factor); err != nil {
		return err
	}
	if err := judgeCheckFinite("relative", "slack", r.Slack); err != nil {
		return err
	}
	if r.MinSamples < 0 {
		return checkInvalid("relative", "minSamples", "is %d, negative", r.MinSamples)
	}
	return nil
}

// Judge compares the candidate's metric in w with the stable version's.
func (r Relative) Judge(ctx context.Context, w MetricWindow) (Measurement, error) {
	if err := ctx.Err(); err != nil {
		return Measurement{}, fmt.Errorf("canary: relative: %w", err)
	}
	if err := r.Validate(); err != nil {
		return Measurement{}, err
	}
	cand, stable, m, done, err := judgePair(w, r.Metric, "relative", cmp.Or(r.MinSamples, DefaultMinInvocations))
	if done || err != nil {
		return m, err
	}
	if !r.Metric.IsRate() {
		if len(cand.latencies) == 0 {
			return Measurement{}, judgeNoPercentiles("relative", w.Candidate, r.Metric)
		}
		if len(stable.latencies) == 0 {
			return Measurement{}, judgeNoPercentiles("relative", w.Stable, r.Metric)
		}
	}
	factor := r.Factor
	if factor == 0 {
		factor = 1
	}
	c, s := cand.value(r.Metric), stable.value(r.Metric)
	bound := s*factor + r.Slack
	m.Value = c
	rel := fmt.Sprintf("%s %s against stable %s × %g + %s = %s", r.Metric.label(), cand.describe(r.Metric), stable.describe(r.Metric), factor, judgeFmtValue(r.Metric, r.Slack), judgeFmtValue(r.Metric, bound))
	if c <= bound {
		m.Verdict, m.Reason = Pass, rel+": within"
	} else {
		m.Verdict, m.Reason = Fail, rel+": exceeded"
	}
	return m, nil
}

// judgePair reads both sides for a comparison. done is true when the
// returned measurement is final (Inconclusive for lack of a stable version
// or of samples).
func judgePair(w MetricWindow, metric Metric, what string, min int64) (cand, stable judgeSide, m Measurement, done bool, err error) {
	m.Unit = metric.unit()
	cand, err = judgeRead(w, w.Candidate, metric, what)
	if err != nil {
		return cand, stable, Measurement{}, true, err
	}
	m.Value = cand.value(metric)
	if reason, short := judgeShortfall(cand, "candidate "+w.Candidate, metric, min); short {
		m.Verdict, m.Reason = Inconclusive, reason
		return cand, stable, m, true, nil
	}
	if w.Stable == "" {
		m.Verdict, m.Reason = Inconclusive, fmt.Sprintf("no stable version to compare the candidate's %s with", metric.label())
		return cand, stable, m, true, nil
	}
	stable, err = judgeRead(w, w.Stable, metric, what)
	if err != nil {
		return cand, stable, Measurement{}, true, err
	}
	if reason, short := judgeShortfall(stable, "stable "+w.Stable, metric, min); short {
		m.Verdict, m.Reason = Inconclusive, reason
		return cand, stable, m, true, nil
	}
	return cand, stable, m, false, nil
}
