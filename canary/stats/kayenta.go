package stats

import (
	"cmp"
	"fmt"
	"math"
	"slices"
)

// Defaults of KayentaConfig, used when a field is zero.
const (
	// DefaultConfidence is the confidence level of the tests: 95%.
	DefaultConfidence = 0.95
	// DefaultTolerance is Kayenta's tolerance: the Mann–Whitney interval
	// must clear ±25% of the Hodges–Lehmann estimate to count.
	DefaultTolerance = 0.25
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
		return nil, fmt.Errorf("stats: effect measure %d: %w", int(e), ErrInvalid)
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
		return fmt.Errorf("stats: unknown effect measure %q: %w", b, ErrInvalid)
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
		return nil, fmt.Errorf("stats: nan strategy %d: %w", int(s), ErrInvalid)
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
		return fmt.Errorf("stats: unknown nan strategy %q: %w", b, ErrInvalid)
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
// the field, which wraps ErrInvalid.
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
// wrapping ErrInvalid.
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
			return nil, fmt.Errorf("stats: kayenta: infinite value: %w", ErrInvalid)
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
