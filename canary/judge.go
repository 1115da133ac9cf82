package canary

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"

	"github.com/slipway-dev/slipway/provider"
)

// Defaults of Judge and KayentaConfig, used when a field is zero.
const (
	// DefaultConfidence is the confidence level of the tests: 95%.
	DefaultConfidence = 0.95
	// DefaultTolerance is Kayenta's tolerance: the Mann–Whitney interval
	// must clear ±25% of the Hodges–Lehmann estimate to count.
	DefaultTolerance = 0.25
	// DefaultMinPeriods is the minimum number of periods with latency data
	// per side for the Mann–Whitney judgement of a latency. With 3 periods
	// a side, a candidate slower in every period is the one arrangement in
	// C(6,3) = 20 that is completely separated: 5%, the one-sided error a
	// 95% judgement allows; fewer periods cannot say anything.
	DefaultMinPeriods = 3
)

// EffectMeasure is how Classify measures the size of a difference, once
// the rank test has found one (Kayenta's effectSizeMeasure).
type EffectMeasure int

const (
	// MeanRatio is mean(experiment)/mean(control): 1.25 means 25% higher.
	// Undefined (NaN) when either mean is zero.
	MeanRatio EffectMeasure = iota
	// CLES is the common-language effect size: the probability that a
	// random experiment value exceeds a random control value, ties counting
	// half. 0.5 is no effect; Kayenta's thresholds for it are typically
	// 0.2 (decrease) and 0.8 (increase).
	CLES
)

func (e EffectMeasure) String() string {
	switch e {
	case MeanRatio:
		return "meanRatio"
	case CLES:
		return "cles"
	}
	return fmt.Sprintf("EffectMeasure(%d)", int(e))
}

// MarshalText encodes the measure by Kayenta's name ("meanRatio", "cles").
func (e EffectMeasure) MarshalText() ([]byte, error) {
	if e != MeanRatio && e != CLES {
		return nil, fmt.Errorf("canary: effect measure %d: %w", int(e), provider.ErrInvalid)
	}
	return []byte(e.String()), nil
}

// UnmarshalText decodes Kayenta's name of an effect measure.
func (e *EffectMeasure) UnmarshalText(b []byte) error {
	switch string(b) {
	case "meanRatio":
		*e = MeanRatio
	case "cles":
		*e = CLES
	default:
		return fmt.Errorf("canary: unknown effect measure %q: %w", b, provider.ErrInvalid)
	}
	return nil
}

// NaNStrategy is what Classify does with NaN values (Kayenta's
// nanStrategy): remove them, or replace them with zero (for counts, where
// a missing value means nothing happened).
type NaNStrategy int

const (
	NaNRemove NaNStrategy = iota
	NaNReplace
)

func (s NaNStrategy) String() string {
	switch s {
	case NaNRemove:
		return "Remove"
	case NaNReplace:
		return "Replace"
	}
	return fmt.Sprintf("NaNStrategy(%d)", int(s))
}

// MarshalText encodes the strategy by name ("Remove", "Replace").
func (s NaNStrategy) MarshalText() ([]byte, error) {
	if s != NaNRemove && s != NaNReplace {
		return nil, fmt.Errorf("canary: nan strategy %d: %w", int(s), provider.ErrInvalid)
	}
	return []byte(s.String()), nil
}

// UnmarshalText decodes a strategy name (Kayenta's lower case accepted).
func (s *NaNStrategy) UnmarshalText(b []byte) error {
	switch string(b) {
	case "Remove", "remove":
		*s = NaNRemove
	case "Replace", "replace":
		*s = NaNReplace
	default:
		return fmt.Errorf("canary: unknown nan strategy %q: %w", b, provider.ErrInvalid)
	}
	return nil
}

// KayentaLabel is Kayenta's classification of a metric.
type KayentaLabel string

const (
	// KayentaPass: no difference that matters.
	KayentaPass KayentaLabel = "Pass"
	// KayentaHigh: the experiment is higher than the control.
	KayentaHigh KayentaLabel = "High"
	// KayentaLow: the experiment is lower than the control.
	KayentaLow KayentaLabel = "Low"
	// KayentaNodata: a side has no values; the metric is not judged.
	KayentaNodata KayentaLabel = "Nodata"
	// KayentaNodataFailMetric: a side has no values and the metric must
	// have data (MustHaveData, not Critical): it counts as a failure.
	KayentaNodataFailMetric KayentaLabel = "NodataFailMetric"
)

// KayentaConfig parameterises Classify like the settings of one metric of
// a Kayenta canary config. Zero fields take the defaults noted.
type KayentaConfig struct {
	// Confidence is the confidence level of the Mann–Whitney interval
	// (Kayenta's confLevel); zero means DefaultConfidence (0.95).
	Confidence float64 `json:"confidence,omitempty"`
	// Tolerance is the fraction of |Hodges–Lehmann estimate| the interval
	// must clear (Kayenta's tolerance); zero means DefaultTolerance (0.25).
	Tolerance float64 `json:"tolerance,omitempty"`
	// EffectSize is the measure compared with the thresholds below.
	EffectSize EffectMeasure `json:"effectSize,omitempty"`
	// AllowedIncrease and AllowedDecrease are Kayenta's
	// effectSizeThresholds (allowedIncrease, allowedDecrease): a
	// significant increase is High only when the effect size is at least
	// AllowedIncrease, a decrease Low only when it is at most
	// AllowedDecrease. Zero means 1.
	AllowedIncrease float64 `json:"allowedIncrease,omitempty"`
	AllowedDecrease float64 `json:"allowedDecrease,omitempty"`
	// CriticalIncrease and CriticalDecrease are Kayenta's
	// criticalThresholds: a Critical metric classified High with an
	// effect size of at least CriticalIncrease (Low, at most
	// CriticalDecrease) is marked critical. Zero means 1.
	CriticalIncrease float64 `json:"criticalIncrease,omitempty"`
	CriticalDecrease float64 `json:"criticalDecrease,omitempty"`
	// Direction is the direction of concern: Increase only reports High,
	// Decrease only Low, Either both.
	Direction Direction   `json:"direction,omitempty"`
	NaN       NaNStrategy `json:"nanStrategy,omitempty"`
	// Critical marks a metric whose failure fails the whole canary
	// (Kayenta's critical); MustHaveData one whose missing data counts as a
	// failure (Kayenta's mustHaveData, NodataFailMetric).
	Critical     bool `json:"critical,omitempty"`
	MustHaveData bool `json:"mustHaveData,omitempty"`
}

// Validate reports a configuration error: a *provider.InvalidError naming
// the field, which wraps provider.ErrInvalid.
func (c KayentaConfig) Validate() error {
	if c.Confidence != 0 && !(c.Confidence > 0 && c.Confidence < 1) {
		return checkInvalid("kayenta", "confidence", "is %v, outside (0, 1)", c.Confidence)
	}
	for _, f := range []struct {
		name string
		v    float64
	}{
		{"tolerance", c.Tolerance},
		{"allowedIncrease", c.AllowedIncrease},
		{"allowedDecrease", c.AllowedDecrease},
		{"criticalIncrease", c.CriticalIncrease},
		{"criticalDecrease", c.CriticalDecrease},
	} {
		if err := judgeCheckFinite("kayenta", f.name, f.v); err != nil {
			return err
		}
	}
	if c.EffectSize != MeanRatio && c.EffectSize != CLES {
		return checkInvalid("kayenta", "effectSize", "is %d, not a known measure", int(c.EffectSize))
	}
	if !c.Direction.valid() {
		return checkInvalid("kayenta", "direction", "is %d, not a known direction", int(c.Direction))
	}
	if c.NaN != NaNRemove && c.NaN != NaNReplace {
		return checkInvalid("kayenta", "nanStrategy", "is %d, not a known strategy", int(c.NaN))
	}
	return nil
}

// KayentaResult is Classify's answer.
type KayentaResult struct {
	Label KayentaLabel `json:"label"`
	// Critical is set for a Critical metric that failed beyond its
	// critical thresholds, and for a Critical metric without data.
	Critical bool   `json:"critical"`
	Reason   string `json:"reason"`
	// Deviation is the effect size (Kayenta's "ratio" / deviation): the
	// mean ratio or the CLES. It is 1 when Classify stops before measuring
	// (no data, identical data) and NaN when the mean ratio is undefined.
	Deviation float64 `json:"deviation"`
	// MW holds the rank test behind the label. It is zero when no test was
	// run (no data; identical samples: p-value 1, shift 0).
	MW MWResult `json:"mw"`
	// Samples counts the values used, experiment then control, after NaN
	// handling.
	Samples [2]int `json:"samples"`
}

// Classify compares an experiment sample (the canary's values of a metric)
// with a control sample (the baseline's) and labels the experiment High,
// Low or Pass — or Nodata — exactly as Kayenta's MannWhitneyClassifier
// (kayenta-judge, NetflixACAJudge) does:
//
//  1. NaNs are removed, or replaced by 0 (cfg.NaN).
//  2. A side left empty is Nodata (Critical carried over), or
//     NodataFailMetric when MustHaveData and not Critical; with NaNReplace
//     an empty side is a Pass.
//  3. Identical samples (equal once sorted), or one value repeated on both
//     sides, Pass with deviation 1.
//  4. The shift experiment − control is estimated with the two-sided
//     Mann–Whitney interval at cfg.Confidence, by the normal approximation
//     with tie and continuity corrections, for every sample size — that is
//     Kayenta's method; R's wilcox.test (MannWhitney) would use the exact
//     distribution for small untied samples — and the Hodges–Lehmann
//     estimate from the same corrected function.
//  5. With tolerance band ±t·|estimate|: High when the direction allows it,
//     the interval's lower end is above +t·|estimate| and the effect size is
//     at least AllowedIncrease (or undefined); Low when the upper end is
//     below −t·|estimate| and the effect size is at most AllowedDecrease (or
//     undefined); else Pass.
//  6. A Critical metric labelled High with effect size ≥ CriticalIncrease
//     (Low with ≤ CriticalDecrease, undefined counting as beyond) is
//     marked critical.
//
// Worked example (Kayenta's "Mean Ratio Effect Size: High" case):
// experiment 20, 22, 21, 25, 30 against control 1, 2.2, 1.1, 2.5, 3,
// tolerance 0.1, 95%: the samples are completely separated. At the
// smallest shift tried, 17 = min(x) − max(y), one pair ties (3 = 3), so
// W = 24.5 and z = (24.5 − 12.5 − 0.5)/√(25/12·(11 − 6/90)) = 2.410 >
// 1.960: the lower end lies above 17, and the root finder puts it at the
// step where z falls below 1.960, the third smallest difference, 17.8; the
// upper end at the third largest, 27.8; the estimate is 20 (R's
// wilcox.test(x, y, conf.int = TRUE, exact = FALSE) gives 20 and
// [17.80004, 27.79994], as ExampleClassify prints). The lower end clears
// 0.1 × 20 = 2, and the mean ratio 23.6/1.96 = 12.04 ≥ 1.2: High.
//
// Where Kayenta is not deterministic, Classify is: when each side is
// constant but the two differ (1,1,1 against 2,2,2), Kayenta adds Gaussian
// noise of a 1e-5 relative spread so the rank test can run, which makes the
// samples completely separated; Classify takes that limit directly — the
// estimate and both interval ends are the difference of the two values —
// and reports R's p-value of the untouched data. Kayenta's p-value (Apache
// Commons Math's, without tie or continuity correction) is not used by its
// classifier; MW.PValue here is R's asymptotic one, consistent with the
// interval.
//
// The error is a configuration error or a non-finite value other than NaN,
// wrapping provider.ErrInvalid.
func Classify(experiment, control []float64, cfg KayentaConfig) (KayentaResult, error) {
	if err := cfg.Validate(); err != nil {
		return KayentaResult{}, err
	}
	x, err := judgeCleanKayenta(experiment, cfg.NaN)
	if err != nil {
		return KayentaResult{}, err
	}
	y, err := judgeCleanKayenta(control, cfg.NaN)
	if err != nil {
		return KayentaResult{}, err
	}
	res := KayentaResult{Deviation: 1, Samples: [2]int{len(x), len(y)}}

	if len(x) == 0 || len(y) == 0 {
		if cfg.NaN == NaNReplace {
			res.Label, res.Reason = KayentaPass, fmt.Sprintf("missing data (experiment %d values, control %d) counts as zero: pass", len(x), len(y))
			return res, nil
		}
		res.Reason = fmt.Sprintf("missing data: experiment has %d values, control %d", len(x), len(y))
		if cfg.MustHaveData && !cfg.Critical {
			res.Label = KayentaNodataFailMetric
			return res, nil
		}
		res.Label, res.Critical = KayentaNodata, cfg.Critical
		return res, nil
	}

	sx, sy := slices.Sorted(slices.Values(x)), slices.Sorted(slices.Values(y))
	if slices.Equal(sx, sy) {
		res.Label, res.Reason = KayentaPass, "the experiment and control data are identical"
		res.MW = MWResult{W: float64(len(x)*len(y)) / 2, PValue: 1}
		return res, nil
	}
	xConst, yConst := sx[0] == sx[len(sx)-1], sy[0] == sy[len(sy)-1]
	if xConst && yConst && sx[0] == sy[0] {
		res.Label, res.Reason = KayentaPass, fmt.Sprintf("every value on both sides is %v", sx[0])
		res.MW = MWResult{W: float64(len(x)*len(y)) / 2, PValue: 1}
		return res, nil
	}

	conf := cmp.Or(cfg.Confidence, DefaultConfidence)
	s := &mwShift{x: sx, y: sy, nx: float64(len(sx)), ny: float64(len(sy))}
	if xConst && yConst {
		// Kayenta's noise limit: completely separated samples at the
		// distance of the two values.
		d := sx[0] - sy[0]
		u, ties := s.rankSum(0)
		z := (u - s.nx*s.ny/2 - statCorrection(u-s.nx*s.ny/2, Either)) / s.sigma(ties)
		res.MW = MWResult{W: u, PValue: 2 * min(statPnorm(z), statPnormUpper(z)), Estimate: d, Lower: d, Upper: d}
	} else {
		res.MW, err = s.asymptotic(conf, Either, true)
		if err != nil {
			return KayentaResult{}, err
		}
	}

	if cfg.EffectSize == CLES {
		u, _ := s.rankSum(0)
		res.Deviation = u / (s.nx * s.ny)
	} else {
		res.Deviation = judgeMeanRatio(x, y)
	}
	tol := cmp.Or(cfg.Tolerance, DefaultTolerance)
	bound := tol * math.Abs(res.MW.Estimate)
	allowInc, allowDec := cmp.Or(cfg.AllowedIncrease, 1), cmp.Or(cfg.AllowedDecrease, 1)
	undefined := math.IsNaN(res.Deviation)
	interval := fmt.Sprintf("the %g%% interval of the shift [%.6g, %.6g] (estimate %.6g)", 100*conf, res.MW.Lower, res.MW.Upper, res.MW.Estimate)
	effect := fmt.Sprintf("%s %.4g", cfg.EffectSize, res.Deviation)
	switch {
	case cfg.Direction != Decrease && res.MW.Lower > bound && (undefined || res.Deviation >= allowInc):
		res.Label = KayentaHigh
		res.Reason = fmt.Sprintf("classified as High: %s lies above +%.6g and %s reaches the allowed increase %g", interval, bound, effect, allowInc)
		if cfg.Critical && (undefined || res.Deviation >= cmp.Or(cfg.CriticalIncrease, 1)) {
			res.Critical = true
			res.Reason += " (critical)"
		}
	case cfg.Direction != Increase && res.MW.Upper < -bound && (undefined || res.Deviation <= allowDec):
		res.Label = KayentaLow
		res.Reason = fmt.Sprintf("classified as Low: %s lies below -%.6g and %s reaches the allowed decrease %g", interval, bound, effect, allowDec)
		if cfg.Critical && (undefined || res.Deviation <= cmp.Or(cfg.CriticalDecrease, 1)) {
			res.Critical = true
			res.Reason += " (critical)"
		}
	default:
		res.Label = KayentaPass
		res.Reason = fmt.Sprintf("classified as Pass: %s, tolerance band ±%.6g, %s", interval, bound, effect)
	}
	return res, nil
}

func judgeCleanKayenta(v []float64, nan NaNStrategy) ([]float64, error) {
	out := make([]float64, 0, len(v))
	for _, f := range v {
		switch {
		case math.IsNaN(f):
			if nan == NaNReplace {
				out = append(out, 0)
			}
		case math.IsInf(f, 0):
			return nil, fmt.Errorf("canary: kayenta: infinite value: %w", provider.ErrInvalid)
		default:
			out = append(out, f)
		}
	}
	return out, nil
}

// judgeMeanRatio is Kayenta's meanRatio, NaN when either mean is zero.
func judgeMeanRatio(experiment, control []float64) float64 {
	me, mc := judgeMean(experiment), judgeMean(control)
	if me == 0 || mc == 0 {
		return math.NaN()
	}
	return me / mc
}

func judgeMean(v []float64) float64 {
	s := 0.0
	for _, f := range v {
		s += f
	}
	return s / float64(len(v))
}

// Judge is the statistical check: it compares the candidate with the
// stable version over the same window and fails only on evidence — a
// difference in the direction of concern that is both significant at the
// Confidence level and larger than the allowed effect size — so a 5%
// canary is judged on every period of the window, not on one noisy minute.
//
// Rates (ErrorRate, ThrottleRate, ColdStartRate) are compared with the
// two-proportion test over the window's totals (TwoProportion, with Yates'
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
	if !j.Direction.valid() {
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
func (j Judge) Judge(ctx context.Context, w Window) (Measurement, error) {
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

func (j Judge) judgeRate(w Window) (Measurement, error) {
	cand, stable, m, done, err := judgePair(w, j.Metric, "judge", cmp.Or(j.MinSamples, DefaultMinInvocations))
	if done || err != nil {
		return m, err
	}
	conf := cmp.Or(j.Confidence, DefaultConfidence)
	alpha := 1 - conf
	x1, n1, x2, n2 := cand.events, cand.trials, stable.events, stable.trials
	_, p := TwoProportion(x1, n1, x2, n2, j.Direction, true)
	lo, hi := TwoProportionInterval(x1, n1, x2, n2, conf, j.Direction, true)
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
	label := KayentaPass
	switch {
	case j.Direction != Decrease && significant && r1 > r2 && (unbounded || ratio >= allowInc):
		label = KayentaHigh
	case j.Direction != Increase && significant && r1 < r2 && ratio <= allowDec:
		label = KayentaLow
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
	if label != KayentaPass {
		m.Verdict = Fail
	}
	m.Reason = fmt.Sprintf("%s: %s %s against stable %s, p = %.3g (%s, α = %.3g), %s (allowed %g–%g)",
		label, j.Metric.label(), cand.describe(j.Metric), stable.describe(j.Metric), p, j.Direction, alpha, ratioText, allowDec, allowInc)
	return m, nil
}

func (j Judge) judgeLatency(w Window) (Measurement, error) {
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
	m.Value = statMedianSorted(slices.Sorted(slices.Values(cand.latencies)))
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
	res, err := Classify(cand.latencies, stable.latencies, KayentaConfig{
		Confidence:      j.Confidence,
		Tolerance:       j.Tolerance,
		EffectSize:      MeanRatio,
		AllowedIncrease: j.AllowedIncrease,
		AllowedDecrease: j.AllowedDecrease,
		Direction:       j.Direction,
	})
	if err != nil {
		return Measurement{}, err
	}
	st := &Stats{Label: string(res.Label), PValue: res.MW.PValue, Estimate: res.MW.Estimate, Lower: res.MW.Lower, Upper: res.MW.Upper, Samples: res.Samples}
	if !math.IsNaN(res.Deviation) {
		st.EffectSize = res.Deviation
	}
	m.Stats = st
	switch res.Label {
	case KayentaPass:
		m.Verdict = Pass
	case KayentaHigh, KayentaLow:
		m.Verdict = Fail
	default:
		m.Verdict = Inconclusive
	}
	m.Reason = fmt.Sprintf("%s: %s median %s over %d periods against stable median %s over %d, p = %.3g: %s",
		res.Label, j.Metric.label(), judgeFmtSeconds(m.Value), len(cand.latencies),
		judgeFmtSeconds(statMedianSorted(slices.Sorted(slices.Values(stable.latencies)))), len(stable.latencies), res.MW.PValue, res.Reason)
	return m, nil
}
