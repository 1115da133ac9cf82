package canary

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/slipway-dev/slipway/canary/stats"
	"github.com/slipway-dev/slipway/provider"
)

// DefaultAlpha is the false-rollback probability the default judgement
// allows over a whole rollout: 5%.
const DefaultAlpha = 0.05

// DefaultCheckName is the name of the Sequential check in DefaultAnalysis,
// in a stored rollout state and in Runner.Resume's lookup.
const DefaultCheckName = "sequential"

// DefaultAnalysis is the default judgement of a rollout: one Sequential
// check with its defaults (error rate and p99 latency against the stable
// version, α = 5% over the whole rollout) under the Analysis defaults
// (roll back at its first Fail, pause at its first Inconclusive). It is
// what examples/quickstart and the CI example use; JudgedPreset adds it to
// a preset. Kayenta's fixed-horizon judgement stays available as Judge.
func DefaultAnalysis() Analysis {
	return Analysis{Checks: []CheckSpec{{Name: DefaultCheckName, Check: Sequential{}}}}
}

// DefaultChecks returns the checks of DefaultAnalysis by name, for
// RunnerOptions.Checks (Resume finds a check by name). Resume also falls
// back to them for DefaultCheckName when RunnerOptions.Checks has no entry
// of that name.
func DefaultChecks() map[string]Check {
	return map[string]Check{DefaultCheckName: Sequential{}}
}

// JudgedPreset is Preset(name) judged by DefaultAnalysis. AllAtOnce keeps
// no analysis: with all traffic on the candidate there is no stable share
// to compare it with.
func JudgedPreset(name string) (Strategy, error) {
	s, err := Preset(name)
	if err != nil {
		return s, err
	}
	if len(s.Steps) > 0 && s.Steps[0].Weight < provider.AllTraffic {
		s.Analysis = DefaultAnalysis()
	}
	return s, nil
}

// Sequential is the default judgement: an anytime-valid comparison of the
// candidate with the stable version whose evidence accumulates over the
// whole rollout, so the probability of rolling back a candidate that is no
// worse than the stable version is at most Alpha in total — however many
// windows the rollout has and however often it is looked at — while a
// clear fault still fails the first window that shows it. (Judge, by
// contrast, spends its whole α on every window: with FailureLimit 0 its
// false-rollback rate grows with the number of windows; see the package
// documentation's table.)
//
// For each metric a test martingale of package stats is fed, period by
// period (the metric source's resolution):
//
//   - rates (ErrorRate, ThrottleRate, ColdStartRate): stats.CountEvidence —
//     of the period's events, is the candidate's share larger than its share
//     of the requests? The null hypothesis is "the candidate's rate is at
//     most AllowedIncrease times the stable one's";
//   - latencies (LatencyP50, P90, P99): stats.QuantileEvidence — is the
//     candidate's percentile above AllowedIncrease × (1 + LatencyMargin)
//     times the stable one's more often than the exact, sample-size-aware
//     null probability stats.QuantileExceedance says it would be by chance?
//     One trial a period, so a period gives at most a factor 1/p0 of
//     evidence (≈ 2.4 for a p99 at a 10% canary): its mixture uses
//     stats.PriorSaturating, which puts most weight where that bound is
//     reached; rate tests use stats.PriorUniform.
//
// The metrics' e-values are mixed with fixed weights (stats.Mix) into one
// test martingale M: 1 for a rate, 9 for a latency. An error fault gives
// e^20 in a minute and can afford to reach 10/α on its own; a latency
// test gains at most a factor ≈ 2.4 a minute and need only reach
// 1/(0.9·α) = 22.2 (with ErrorRate and LatencyP99). The weights are fixed
// before any data, so M is a test supermartingale whatever they are: they
// move power between the metrics, never the false-rollback bound. The
// verdict of a window is
//
//   - Fail when M has reached 1/Alpha at some period of the rollout (the
//     sequential p-value min(1, 1/max M) is at most Alpha);
//   - else Inconclusive when the window has no requests on either side, or
//     the rollout so far has fewer than MinSamples requests on either side
//     (no evidence, no Pass), or there is no stable version;
//   - else Pass: no regression shown, with evidence in this window.
//
// Worked example (TestSequentialWorkedExample): a 10% canary with 1,200
// requests a minute, the candidate failing 18 of its 120 requests (15%)
// against the stable version's 11 of 1,080 (1%): 18 of the minute's 29
// errors are the candidate's where 10% (2.9) are expected by chance; the
// error martingale's log reaches 21.4 (M ≈ 2·10^9, weighted 1/10 against
// the latency test's 9/10: p ≈ 5e-9 ≪ 0.05): Fail in the first window. The
// same minute with 1 candidate error passes. A +30% p99 at 600 against
// 5,400 requests a minute, error rates equal, fails in the fourth window
// (TestSequentialLatencyWeight: latency e-value 30.8, M = 27.7 ≥ 20).
//
// The state of the test travels with the rollout: Judge reads it from
// w.Carry and returns it, updated, in Measurement.Carry; the machine keeps
// it in CheckState.Carry, so it is saved with every state and a resumed
// rollout continues the same test. Periods are never counted twice (the
// state remembers the end of the last period it saw).
//
// Validity rests on the stated models: errors that, given the period's
// total, fall on the candidate at most in proportion to its requests
// (Poisson or per-request binomial errors, see stats), and latencies
// whose percentiles are the nearest-rank order statistics of independent
// requests. Latency percentiles from sources that approximate them, and
// traffic that is not split at random between versions, weaken the
// guarantee accordingly.
//
// A Sequential is a value; it is safe for concurrent use.
type Sequential struct {
	// Metrics are judged together; empty means ErrorRate and LatencyP99.
	Metrics []Metric `json:"metrics,omitempty"`
	// Alpha is the false-rollback probability over the whole rollout, in
	// (0, 1); zero means DefaultAlpha.
	Alpha float64 `json:"alpha,omitempty"`
	// AllowedIncrease is the ratio candidate/stable tolerated (of rates; of
	// latencies, as a scale factor); zero means 1, otherwise at least 1.
	AllowedIncrease float64 `json:"allowedIncrease,omitempty"`
	// MinSamples is the number of requests per side the rollout must have
	// seen before a window can pass; zero means DefaultMinInvocations.
	MinSamples int64 `json:"minSamples,omitempty"`
	// LatencyMargin is how much higher than AllowedIncrease × the stable
	// percentile the candidate's must be for a period to count as "the
	// candidate slower": 0.05 (zero means DefaultLatencyMargin) counts a
	// period only when the candidate is more than 5% slower. A margin only
	// makes the test more conservative (the null probability of a slower
	// period can only fall). It is not needed when percentiles are exact
	// nearest-rank order statistics (the memory provider's are: without it
	// healthy rollouts were rolled back in 2.9–4.1% of 1,000 seeds a preset,
	// within α, with it 0.2–0.6%);
	// it is there for real sources, whose percentiles are estimates —
	// interpolated within histogram buckets (Cloud Monitoring's
	// distributions, Prometheus histograms) or approximated by the
	// service — with biases that depend on the sample size, so the
	// candidate's estimate and the stable one's differ systematically by a
	// few percent even when the versions behave alike; the distribution-free
	// null probability assumes they do not. The margin turns such biases
	// into non-evidence. It costs power: a +30% p99 at 600 against 5,400
	// requests counts in 96.8% of periods with it, 99.1% without (caught
	// within 5 windows in 86.9% of seeds instead of 95.7%). A negative
	// value means no margin.
	LatencyMargin float64 `json:"latencyMargin,omitempty"`
}

// DefaultLatencyMargin is Sequential's default LatencyMargin: 5%.
const DefaultLatencyMargin = 0.05

var _ Check = Sequential{}

// SequentialState is the state a Sequential check carries from window to
// window (as JSON in Measurement.Carry and CheckState.Carry).
type SequentialState struct {
	// Evidence holds each metric's test, in the order of Metrics.
	Evidence []stats.Evidence `json:"evidence"`
	// LogMax is the log of the largest combined e-value seen.
	LogMax float64 `json:"logMax"`
	// Requests counts the requests seen, candidate then stable.
	Requests [2]int64 `json:"requests"`
	// Through is the end of the last period included.
	Through time.Time `json:"through"`
}

// Validate reports a configuration error: a *provider.InvalidError naming
// the field, which wraps provider.ErrInvalid.
func (s Sequential) Validate() error {
	for i, m := range s.Metrics {
		if !m.valid() {
			return checkInvalid("sequential", fmt.Sprintf("metrics[%d]", i), "is %d, not a known metric", int(m))
		}
		if slices.Contains(s.Metrics[:i], m) {
			return checkInvalid("sequential", fmt.Sprintf("metrics[%d]", i), "repeats %s", m)
		}
	}
	if s.Alpha != 0 && !(s.Alpha > 0 && s.Alpha < 1) {
		return checkInvalid("sequential", "alpha", "is %v, outside (0, 1)", s.Alpha)
	}
	if s.AllowedIncrease != 0 && !(s.AllowedIncrease >= 1 && !math.IsInf(s.AllowedIncrease, 0)) {
		return checkInvalid("sequential", "allowedIncrease", "is %v, not a finite ratio of at least 1", s.AllowedIncrease)
	}
	if s.MinSamples < 0 {
		return checkInvalid("sequential", "minSamples", "is %d, negative", s.MinSamples)
	}
	if math.IsNaN(s.LatencyMargin) || math.IsInf(s.LatencyMargin, 0) {
		return checkInvalid("sequential", "latencyMargin", "is %v, not finite", s.LatencyMargin)
	}
	return nil
}

func (s Sequential) metrics() []Metric {
	if len(s.Metrics) == 0 {
		return []Metric{ErrorRate, LatencyP99}
	}
	return s.Metrics
}

// Judge adds the window's periods to the test carried in w.Carry and
// judges the rollout so far. A carried state that does not decode, or that
// belongs to a different set of metrics, is an error wrapping
// provider.ErrInvalid.
func (s Sequential) Judge(ctx context.Context, w MetricWindow) (Measurement, error) {
	if err := ctx.Err(); err != nil {
		return Measurement{}, fmt.Errorf("canary: sequential: %w", err)
	}
	if err := s.Validate(); err != nil {
		return Measurement{}, err
	}
	ms := s.metrics()
	var st SequentialState
	if w.Carry != "" {
		if err := json.Unmarshal([]byte(w.Carry), &st); err != nil {
			return Measurement{}, fmt.Errorf("canary: sequential: carried state: %v: %w", err, provider.ErrInvalid)
		}
		if len(st.Evidence) != len(ms) {
			return Measurement{}, fmt.Errorf("canary: sequential: carried state has %d tests, the check %d metrics: %w", len(st.Evidence), len(ms), provider.ErrInvalid)
		}
	} else {
		st.Evidence = make([]stats.Evidence, len(ms))
		for k, metric := range ms {
			st.Evidence[k].Prior = sequentialPrior(metric)
		}
	}
	weights := sequentialWeights(ms)
	alpha := cmp.Or(s.Alpha, DefaultAlpha)
	ratio := cmp.Or(s.AllowedIncrease, 1)
	margin := max(0, cmp.Or(s.LatencyMargin, DefaultLatencyMargin))
	m := Measurement{Unit: "p-value"}
	if w.Stable == "" {
		m.Verdict, m.Reason, m.Value = Inconclusive, "no stable version to compare the candidate with", stats.Evidence{}.PValue()
		return m, nil
	}
	cand, _ := w.Metrics.Of(w.Candidate)
	stable, _ := w.Metrics.Of(w.Stable)
	byStart := make(map[time.Time]provider.Point, len(stable.Points))
	for i, p := range stable.Points {
		if err := sequentialPoint(w.Stable, i, p); err != nil {
			return Measurement{}, err
		}
		byStart[p.Start] = p
	}
	var window [2]int64
	for i, c := range cand.Points {
		if err := sequentialPoint(w.Candidate, i, c); err != nil {
			return Measurement{}, err
		}
		sp, ok := byStart[c.Start]
		if !ok || (!st.Through.IsZero() && c.Start.Before(st.Through)) {
			continue
		}
		window[0] += c.Invocations
		window[1] += sp.Invocations
		for k, metric := range ms {
			e, err := sequentialUpdate(st.Evidence[k], metric, c, sp, ratio, margin)
			if errors.Is(err, stats.ErrInvalid) {
				return Measurement{}, statsError("sequential", err)
			}
			if err != nil {
				return Measurement{}, err
			}
			st.Evidence[k] = e
		}
		st.LogMax = max(st.LogMax, stats.Mix(weights, st.Evidence...))
		if end := c.Start.Add(w.Metrics.Query.Period); end.After(st.Through) {
			st.Through = end
		}
	}
	st.Requests[0] += window[0]
	st.Requests[1] += window[1]
	carry, err := json.Marshal(st)
	if err != nil {
		return Measurement{}, fmt.Errorf("canary: sequential: %w", err)
	}
	m.Carry = Carry(carry)
	p := math.Min(1, math.Exp(-st.LogMax))
	m.Value = p
	parts := make([]string, len(ms))
	for k, metric := range ms {
		e := st.Evidence[k]
		parts[k] = fmt.Sprintf("%s e=%.3g (%d of %d %s)", metric.label(), e.EValue(), e.Successes, e.Trials, sequentialTrials(metric))
	}
	evidence := fmt.Sprintf("sequential p = %.3g over the rollout (α = %g): %s; requests so far %d candidate, %d stable",
		p, alpha, strings.Join(parts, ", "), st.Requests[0], st.Requests[1])
	st2 := &Stats{PValue: p, EffectSize: math.Exp(stats.Mix(weights, st.Evidence...)), Samples: [2]int{int(st.Requests[0]), int(st.Requests[1])}}
	m.Stats = st2
	minN := cmp.Or(s.MinSamples, DefaultMinInvocations)
	switch {
	case st.LogMax >= -math.Log(alpha):
		m.Verdict, st2.Label = Fail, string(stats.KayentaHigh)
		m.Reason = "High: " + evidence
	case window[0] == 0 || window[1] == 0:
		m.Verdict, st2.Label = Inconclusive, string(stats.KayentaNodata)
		m.Reason = fmt.Sprintf("no requests in this window (candidate %d, stable %d): %s", window[0], window[1], evidence)
	case st.Requests[0] < minN || st.Requests[1] < minN:
		m.Verdict, st2.Label = Inconclusive, string(stats.KayentaNodata)
		m.Reason = fmt.Sprintf("fewer than %d requests a side so far: %s", minN, evidence)
	default:
		m.Verdict, st2.Label = Pass, string(stats.KayentaPass)
		m.Reason = "Pass: " + evidence
	}
	return m, nil
}

// sequentialLatencyWeight is the weight of a latency test in the mixture
// of a Sequential's e-values, a rate test's being 1 (see Sequential).
const sequentialLatencyWeight = 9

// sequentialWeights are the fixed weights of the metrics' e-values in the
// combined test: 1 for a rate, sequentialLatencyWeight for a latency.
func sequentialWeights(ms []Metric) []float64 {
	ws := make([]float64, len(ms))
	for k, m := range ms {
		ws[k] = 1
		if !m.IsRate() {
			ws[k] = sequentialLatencyWeight
		}
	}
	return ws
}

// sequentialPrior is the prior of a metric's test: a latency test has one
// trial a period, whose evidence saturates at 1/p0.
func sequentialPrior(m Metric) stats.Prior {
	if m.IsRate() {
		return stats.PriorUniform
	}
	return stats.PriorSaturating
}

// sequentialTrials says what the trials of metric's test counted: "3 of 5
// events the candidate's", "2 of 3 periods the candidate slower".
func sequentialTrials(m Metric) string {
	if m.IsRate() {
		return "events the candidate's"
	}
	return "periods the candidate slower"
}

func sequentialPoint(version string, i int, p provider.Point) error {
	if p.Invocations < 0 || p.Errors < 0 || p.Throttles < 0 || p.ColdStarts < -1 ||
		p.Errors > p.Invocations || p.ColdStarts > p.Invocations || p.P50 < 0 || p.P90 < 0 || p.P99 < 0 {
		return fmt.Errorf("canary: sequential: malformed metrics for version %q, point %d (%+v): %w", version, i, p, provider.ErrInvalid)
	}
	return nil
}

// sequentialUpdate feeds one period of metric to e.
func sequentialUpdate(e stats.Evidence, metric Metric, c, s provider.Point, ratio, margin float64) (stats.Evidence, error) {
	switch metric {
	case ErrorRate:
		return stats.CountEvidence(e, c.Errors, c.Invocations, s.Errors, s.Invocations, ratio)
	case ThrottleRate:
		return stats.CountEvidence(e, c.Throttles, c.Invocations+c.Throttles, s.Throttles, s.Invocations+s.Throttles, ratio)
	case ColdStartRate:
		if c.ColdStarts < 0 || s.ColdStarts < 0 {
			return e, fmt.Errorf("canary: sequential: the metrics source does not count cold starts: %w", provider.ErrUnsupported)
		}
		return stats.CountEvidence(e, c.ColdStarts, c.Invocations, s.ColdStarts, s.Invocations, ratio)
	}
	q := map[Metric]float64{LatencyP50: 0.5, LatencyP90: 0.9, LatencyP99: 0.99}[metric]
	cq, sq := metric.percentile(c), metric.percentile(s)
	if c.Invocations == 0 || s.Invocations == 0 {
		return e, nil
	}
	return stats.QuantileEvidence(e, cq.Seconds(), c.Invocations, sq.Seconds(), s.Invocations, q, ratio*(1+margin))
}
