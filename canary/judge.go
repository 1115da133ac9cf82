package canary

import (
	"cmp"
	"context"
	"fmt"
	"math"

	"github.com/slipway-dev/slipway/canary/stats"
)

// Judge is the statistical check: it compares the candidate with the
// stable version over the same window and fails only on evidence — a
// difference in the direction of concern that is both significant at the
// Confidence level and larger than the allowed effect size — so a 5%
// canary is judged on every period of the window, not on one noisy minute.
//
// Rates (ErrorRate, ThrottleRate, ColdStartRate) are compared with the
// two-proportion test over the window's totals (stats.TwoProportion, with Yates'
// correction, R's prop.test; one-sided for Increase and Decrease,
// two-sided for Either). The label is High when the candidate's rate is
// higher with p-value below 1 − Confidence and the ratio candidate/stable
// is at least AllowedIncrease (a stable rate of zero makes the ratio
// unbounded, which counts as reaching it); Low mirrors it with
// AllowedDecrease. Worked example: 30 errors in 400 candidate requests
// against 120 in 4000 stable ones is a ratio of 7.5%/3% = 2.5 with
// one-sided p = 2.3e-6: High, so Fail, unless AllowedIncrease exceeds 2.5.
// Tolerance does not apply to rates.
//
// Latencies are compared per period with Classify (Kayenta's Mann–Whitney
// classifier, effect size MeanRatio): the candidate's per-period P50, P90
// or P99 values against the stable version's. Worked example (a row of
// TestJudgeWorkedExamples): ten one-minute periods with a stable p99 of
// 195–204ms and a candidate p99 of 295–304ms (every candidate minute about
// 100ms slower) give p = 1.8e-4 and put the 95% interval of the shift at
// [+96.9ms, +103.1ms] around the estimate +100ms, clear of the ±25ms
// tolerance band (25% of the estimate), with a mean ratio of 1.5: High, so
// Fail — while the error rates of the same window may be identical and
// the mean latency may barely have moved (TestJudgeLatencyOnlyRegression:
// a tail regression).
//
// Labels map to verdicts: High or Low (only reported in the direction of
// concern) → Fail, Pass → Pass. A verdict needs enough evidence, else it is
// Inconclusive, never Pass: MinSamples requests per side for every metric
// (zero means DefaultMinInvocations, 50), and for latencies also
// MinPeriods periods with latency data per side (zero means
// DefaultMinPeriods, 3). Without a stable version the verdict is
// Inconclusive too.
//
// Because it judges relative to the stable version, an error rate already
// high in production does not block the fix: stable 20%, candidate 5% is
// lower, not higher, and passes with Direction Increase, where an absolute
// Threshold would fail it.
//
// The Measurement's Value is the candidate's rate, or the median of its
// per-period latencies in seconds; Stats carries the label, the p-value,
// the estimate of the difference (candidate − stable: of rates, or the
// Hodges–Lehmann shift in seconds) with its interval, the effect size
// (0 when undefined) and the sample counts (requests for rates, periods
// for latencies).
//
// A Judge is a value; it is safe for concurrent use.
type Judge struct {
	Metric Metric `json:"metric"`
	// Confidence is the confidence level, in (0, 1); zero means
	// DefaultConfidence.
	Confidence float64 `json:"confidence,omitempty"`
	// Direction is the direction of concern; the zero value, Increase,
	// fits error rates and latencies.
	Direction Direction `json:"direction,omitempty"`
	// AllowedIncrease and AllowedDecrease bound the ratio candidate/stable
	// (Kayenta's meanRatio effect size) that is tolerated even when
	// significant: 1.2 lets a candidate be up to 20% higher, 0.8 up to 20%
	// lower. Zero means 1.
	AllowedIncrease float64 `json:"allowedIncrease,omitempty"`
	AllowedDecrease float64 `json:"allowedDecrease,omitempty"`
	// Tolerance is Kayenta's band for latencies (see Classify); zero means
	// DefaultTolerance.
	Tolerance float64 `json:"tolerance,omitempty"`
	// MinSamples is the minimum number of requests per side; zero means
	// DefaultMinInvocations.
	MinSamples int64 `json:"minSamples,omitempty"`
	// MinPeriods is the minimum number of periods with latency data per
	// side, for latency metrics; zero means DefaultMinPeriods.
	MinPeriods int `json:"minPeriods,omitempty"`
}

var _ Check = Judge{}

// Validate reports a configuration error: a *provider.InvalidError naming
// the field, which wraps provider.ErrInvalid.
func (j Judge) Validate() error {
	if !j.Metric.valid() {
		return checkInvalid("judge", "metric", "is %d, not a known metric", int(j.Metric))
	}
	if j.Confidence != 0 && !(j.Confidence > 0 && j.Confidence < 1) {
		return checkInvalid("judge", "confidence", "is %v, outside (0, 1)", j.Confidence)
	}
	if !j.Direction.Valid() {
		return checkInvalid("judge", "direction", "is %d, not a known direction", int(j.Direction))
	}
	if err := judgeCheckFinite("judge", "allowedIncrease", j.AllowedIncrease); err != nil {
		return err
	}
	if err := judgeCheckFinite("judge", "allowedDecrease", j.AllowedDecrease); err != nil {
		return err
	}
	if j.AllowedIncrease != 0 && j.AllowedIncrease < 1 {
		return checkInvalid("judge", "allowedIncrease", "is %v, a ratio below 1", j.AllowedIncrease)
	}
	if j.AllowedDecrease > 1 {
		return checkInvalid("judge", "allowedDecrease", "is %v, a ratio above 1", j.AllowedDecrease)
	}
	if err := judgeCheckFinite("judge", "tolerance", j.Tolerance); err != nil {
		return err
	}
	if j.MinSamples < 0 {
		return checkInvalid("judge", "minSamples", "is %d, negative", j.MinSamples)
	}
	if j.MinPeriods < 0 {
		return checkInvalid("judge", "minPeriods", "is %d, negative", j.MinPeriods)
	}
	return nil
}

// Judge compares the candidate with the stable version in w.
func (j Judge) Judge(ctx context.Context, w MetricWindow) (Measurement, error) {
	if err := ctx.Err(); err != nil {
		return Measurement{}, fmt.Errorf("canary: judge: %w", err)
	}
	if err := j.Validate(); err != nil {
		return Measurement{}, err
	}
	if j.Metric.IsRate() {
		return j.judgeRate(w)
	}
	return j.judgeLatency(w)
}

func (j Judge) judgeRate(w MetricWindow) (Measurement, error) {
	cand, stable, m, done, err := judgePair(w, j.Metric, "judge", cmp.Or(j.MinSamples, DefaultMinInvocations))
	if done || err != nil {
		return m, err
	}
	conf := cmp.Or(j.Confidence, DefaultConfidence)
	alpha := 1 - conf
	x1, n1, x2, n2 := cand.events, cand.trials, stable.events, stable.trials
	_, p := stats.TwoProportion(x1, n1, x2, n2, j.Direction, true)
	lo, hi := stats.TwoProportionInterval(x1, n1, x2, n2, conf, j.Direction, true)
	r1, r2 := cand.rate(), stable.rate()
	ratio, unbounded := 1.0, false
	switch {
	case r2 > 0:
		ratio = r1 / r2
	case r1 > 0:
		unbounded = true
	}
	allowInc, allowDec := cmp.Or(j.AllowedIncrease, 1), cmp.Or(j.AllowedDecrease, 1)
	significant := p < alpha
	label := stats.KayentaPass
	switch {
	case j.Direction != Decrease && significant && r1 > r2 && (unbounded || ratio >= allowInc):
		label = stats.KayentaHigh
	case j.Direction != Increase && significant && r1 < r2 && ratio <= allowDec:
		label = stats.KayentaLow
	}
	st := &Stats{Label: string(label), PValue: p, Estimate: r1 - r2, Lower: lo, Upper: hi, Samples: [2]int{int(n1), int(n2)}}
	ratioText := fmt.Sprintf("ratio %.3g", ratio)
	if unbounded {
		ratioText = "ratio unbounded (stable rate 0)"
	} else {
		st.EffectSize = ratio
	}
	m.Stats = st
	m.Verdict = Pass
	if label != stats.KayentaPass {
		m.Verdict = Fail
	}
	m.Reason = fmt.Sprintf("%s: %s %s against stable %s, p = %.3g (%s, α = %.3g), %s (allowed %g–%g)",
		label, j.Metric.label(), cand.describe(j.Metric), stable.describe(j.Metric), p, j.Direction, alpha, ratioText, allowDec, allowInc)
	return m, nil
}

func (j Judge) judgeLatency(w MetricWindow) (Measurement, error) {
	cand, stable, m, done, err := judgePair(w, j.Metric, "judge", cmp.Or(j.MinSamples, DefaultMinInvocations))
	if done || err != nil {
		return m, err
	}
	if len(cand.latencies) == 0 {
		return Measurement{}, judgeNoPercentiles("judge", w.Candidate, j.Metric)
	}
	if len(stable.latencies) == 0 {
		return Measurement{}, judgeNoPercentiles("judge", w.Stable, j.Metric)
	}
	m.Value = stats.Median(cand.latencies)
	minPeriods := cmp.Or(j.MinPeriods, DefaultMinPeriods)
	for _, side := range [2]struct {
		who string
		n   int
	}{{"candidate " + w.Candidate, len(cand.latencies)}, {"stable " + w.Stable, len(stable.latencies)}} {
		if side.n < minPeriods {
			m.Verdict = Inconclusive
			m.Reason = fmt.Sprintf("%s has %d periods with %s, fewer than the %d needed", side.who, side.n, j.Metric.label(), minPeriods)
			return m, nil
		}
	}
	res, err := stats.Classify(cand.latencies, stable.latencies, stats.KayentaConfig{
		Confidence:      j.Confidence,
		Tolerance:       j.Tolerance,
		EffectSize:      stats.MeanRatio,
		AllowedIncrease: j.AllowedIncrease,
		AllowedDecrease: j.AllowedDecrease,
		Direction:       j.Direction,
	})
	if err != nil {
		return Measurement{}, statsError("judge", err)
	}
	st := &Stats{Label: string(res.Label), PValue: res.MW.PValue, Estimate: res.MW.Estimate, Lower: res.MW.Lower, Upper: res.MW.Upper, Samples: res.Samples}
	if !math.IsNaN(res.Deviation) {
		st.EffectSize = res.Deviation
	}
	m.Stats = st
	switch res.Label {
	case stats.KayentaPass:
		m.Verdict = Pass
	case stats.KayentaHigh, stats.KayentaLow:
		m.Verdict = Fail
	default:
		m.Verdict = Inconclusive
	}
	m.Reason = fmt.Sprintf("%s: %s median %s over %d periods against stable median %s over %d, p = %.3g: %s",
		res.Label, j.Metric.label(), judgeFmtSeconds(m.Value), len(cand.latencies),
		judgeFmtSeconds(stats.Median(stable.latencies)), len(stable.latencies), res.MW.PValue, res.Reason)
	return m, nil
}

var _ WindowChecker = Judge{}

// CheckWindow reports that a latency judgement can never be reached when a
// window holds fewer periods than MinPeriods (each side needs that many
// periods with latency data); rates need one period.
func (j Judge) CheckWindow(periods int) error {
	if j.Metric.IsRate() {
		return nil
	}
	if need := cmp.Or(j.MinPeriods, DefaultMinPeriods); periods < need {
		return checkInvalid("judge", "minPeriods", "is %d, but a window holds only %d period(s): every window would be inconclusive", need, periods)
	}
	return nil
}
