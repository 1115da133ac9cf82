package canary_test

import (
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/slipway-dev/slipway/canary"
	"github.com/slipway-dev/slipway/provider"
)

// kayentaCase is one case of testdata/kayenta/classifier-cases.json.
type kayentaCase struct {
	Name                   string     `json:"name"`
	Experiment             []float64  `json:"experiment"`
	Control                []float64  `json:"control"`
	Classifier             string     `json:"classifier"`
	Tolerance              float64    `json:"tolerance"`
	ConfLevel              float64    `json:"confLevel"`
	EffectSizeThresholds   [2]float64 `json:"effectSizeThresholds"`
	CriticalThresholds     [2]float64 `json:"criticalThresholds"`
	EffectSizeMeasure      string     `json:"effectSizeMeasure"`
	Direction              string     `json:"direction"`
	NaNStrategy            string     `json:"nanStrategy"`
	IsCriticalMetric       bool       `json:"isCriticalMetric"`
	ExpectedClassification *string    `json:"expectedClassification"`
	ExpectedCritical       *bool      `json:"expectedCritical"`
	ExpectedDeviationIsNaN bool       `json:"expectedDeviationIsNaN"`
	ExpectedDeviation      *float64   `json:"expectedDeviation"`
	ExpectedReasonNonEmpty bool       `json:"expectedReasonNonEmpty"`
}

func (c kayentaCase) config(t *testing.T) canary.KayentaConfig {
	t.Helper()
	cfg := canary.KayentaConfig{
		Confidence:       c.ConfLevel,
		Tolerance:        c.Tolerance,
		AllowedDecrease:  c.EffectSizeThresholds[0],
		AllowedIncrease:  c.EffectSizeThresholds[1],
		CriticalDecrease: c.CriticalThresholds[0],
		CriticalIncrease: c.CriticalThresholds[1],
		Critical:         c.IsCriticalMetric,
	}
	for _, f := range []struct {
		dst  interface{ UnmarshalText([]byte) error }
		text string
	}{
		{&cfg.EffectSize, c.EffectSizeMeasure},
		{&cfg.Direction, c.Direction},
		{&cfg.NaN, c.NaNStrategy},
	} {
		if err := f.dst.UnmarshalText([]byte(f.text)); err != nil {
			t.Fatal(err)
		}
	}
	return cfg
}

// TestClassifyKayentaConformance runs every Mann–Whitney case of Kayenta's
// ClassifierSuite (testdata/kayenta) through Classify.
func TestClassifyKayentaConformance(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("testdata", "kayenta", "classifier-cases.json"))
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Cases []kayentaCase `json:"cases"`
	}
	if err := json.Unmarshal(raw, &file); err != nil {
		t.Fatal(err)
	}
	var mw, labelled, skipped int
	for _, c := range file.Cases {
		if c.Classifier != "MannWhitneyClassifier" {
			skipped++
			continue
		}
		mw++
		if c.ExpectedClassification != nil {
			labelled++
		}
		t.Run(c.Name, func(t *testing.T) {
			got, err := canary.Classify(c.Experiment, c.Control, c.config(t))
			if err != nil {
				t.Fatalf("Classify: %v", err)
			}
			if c.ExpectedClassification != nil && string(got.Label) != *c.ExpectedClassification {
				t.Errorf("label = %s, want %s (reason %q, mw %+v, deviation %v)", got.Label, *c.ExpectedClassification, got.Reason, got.MW, got.Deviation)
			}
			if c.ExpectedCritical != nil && got.Critical != *c.ExpectedCritical {
				t.Errorf("critical = %v, want %v (reason %q)", got.Critical, *c.ExpectedCritical, got.Reason)
			}
			if c.ExpectedDeviationIsNaN && !math.IsNaN(got.Deviation) {
				t.Errorf("deviation = %v, want NaN", got.Deviation)
			}
			if c.ExpectedDeviation != nil && got.Deviation != *c.ExpectedDeviation {
				t.Errorf("deviation = %v, want %v", got.Deviation, *c.ExpectedDeviation)
			}
			if c.ExpectedReasonNonEmpty && got.Reason == "" {
				t.Error("reason is empty")
			}
		})
	}
	if mw != 34 || labelled != 33 {
		t.Errorf("read %d Mann–Whitney cases, %d labelled; the README promises 34 and 33", mw, labelled)
	}
	t.Logf("%d Mann–Whitney cases (%d with a label) run; %d mean-inequality cases skipped: slipway has no MeanInequalityClassifier", mw, labelled, skipped)
}

func TestClassifyValidation(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  canary.KayentaConfig
	}{
		{"confidence 1", canary.KayentaConfig{Confidence: 1}},
		{"negative confidence", canary.KayentaConfig{Confidence: -0.5}},
		{"negative tolerance", canary.KayentaConfig{Tolerance: -0.1}},
		{"NaN increase", canary.KayentaConfig{AllowedIncrease: math.NaN()}},
		{"direction", canary.KayentaConfig{Direction: canary.Direction(7)}},
		{"effect measure", canary.KayentaConfig{EffectSize: canary.EffectMeasure(9)}},
		{"nan strategy", canary.KayentaConfig{NaN: canary.NaNStrategy(4)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := canary.Classify([]float64{1, 2}, []float64{3, 4}, tc.cfg)
			if !errors.Is(err, provider.ErrInvalid) {
				t.Fatalf("err = %v, want ErrInvalid", err)
			}
			if !strings.HasPrefix(err.Error(), "canary: ") {
				t.Errorf("message %q lacks the package prefix", err)
			}
		})
	}
	if _, err := canary.Classify([]float64{math.Inf(1)}, []float64{1}, canary.KayentaConfig{}); !errors.Is(err, provider.ErrInvalid) {
		t.Errorf("infinite value: err = %v, want ErrInvalid", err)
	}
}

// TestClassifyRules covers the rules of Classify the Kayenta cases leave
// implicit, with hand-checked numbers.
func TestClassifyRules(t *testing.T) {
	high := []float64{20, 22, 21, 25, 30}
	low := []float64{1, 2.2, 1.1, 2.5, 3}
	for _, tc := range []struct {
		name     string
		x, y     []float64
		cfg      canary.KayentaConfig
		label    canary.KayentaLabel
		critical bool
	}{
		{"high, either", high, low, canary.KayentaConfig{Direction: canary.Either}, canary.KayentaHigh, false},
		{"high, but only decreases matter", high, low, canary.KayentaConfig{Direction: canary.Decrease}, canary.KayentaPass, false},
		{"low, but only increases matter", low, high, canary.KayentaConfig{Direction: canary.Increase}, canary.KayentaPass, false},
		{"low, decrease", low, high, canary.KayentaConfig{Direction: canary.Decrease}, canary.KayentaLow, false},
		// Mean ratio 12.04: below an allowed increase of 13 it passes.
		{"effect below allowed", high, low, canary.KayentaConfig{AllowedIncrease: 13}, canary.KayentaPass, false},
		{"must have data", nil, low, canary.KayentaConfig{MustHaveData: true}, canary.KayentaNodataFailMetric, false},
		{"must have data, critical", nil, low, canary.KayentaConfig{MustHaveData: true, Critical: true}, canary.KayentaNodata, true},
		{"NaN removed to nothing", []float64{math.NaN(), math.NaN()}, low, canary.KayentaConfig{}, canary.KayentaNodata, false},
		{"NaN replaced by zero", []float64{math.NaN(), math.NaN()}, []float64{0, 0}, canary.KayentaConfig{NaN: canary.NaNReplace}, canary.KayentaPass, false},
		// Constant sides that differ: Kayenta's noise limit, estimate 9 > 0.25·9.
		{"constant sides", []float64{10, 10, 10}, []float64{1, 1, 1}, canary.KayentaConfig{}, canary.KayentaHigh, false},
		{"constant sides, lower", []float64{1, 1, 1}, []float64{10, 10, 10}, canary.KayentaConfig{Direction: canary.Either}, canary.KayentaLow, false},
		{"critical high", high, low, canary.KayentaConfig{Critical: true, CriticalIncrease: 12}, canary.KayentaHigh, true},
		{"high, not critical enough", high, low, canary.KayentaConfig{Critical: true, CriticalIncrease: 12.5}, canary.KayentaHigh, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := canary.Classify(tc.x, tc.y, tc.cfg)
			if err != nil {
				t.Fatal(err)
			}
			if got.Label != tc.label || got.Critical != tc.critical {
				t.Errorf("got %s critical %v, want %s critical %v (reason %q)", got.Label, got.Critical, tc.label, tc.critical, got.Reason)
			}
			if got.Reason == "" {
				t.Error("empty reason")
			}
		})
	}
}

func TestClassifyConstantSidesInterval(t *testing.T) {
	got, err := canary.Classify([]float64{10, 10, 10, 10, 10}, []float64{1, 1, 1, 1, 1}, canary.KayentaConfig{Tolerance: 0.1})
	if err != nil {
		t.Fatal(err)
	}
	want := canary.MWResult{W: 25, Estimate: 9, Lower: 9, Upper: 9}
	// p-value of R's wilcox.test(rep(10,5), rep(1,5), exact = FALSE):
	// z = (12.5 − 0.5)/sqrt(25/12·(11 − 240/90)) = 2.8800, p = 0.0039768.
	if math.Abs(got.MW.PValue-0.00397675171) > 1e-9 {
		t.Errorf("p-value = %v, want 0.00397675171", got.MW.PValue)
	}
	got.MW.PValue = 0
	if diff := cmp.Diff(want, got.MW); diff != "" {
		t.Errorf("interval (-want +got):\n%s", diff)
	}
	if got.Deviation != 10 {
		t.Errorf("mean ratio = %v, want 10", got.Deviation)
	}
}

func TestClassifyCLES(t *testing.T) {
	// Kayenta's StatisticSuite: identical samples have CLES 0.5, samples
	// with no overlap 0 (experiment lower) or 1.
	for _, tc := range []struct {
		name string
		x, y []float64
		want float64
	}{
		{"overlap with ties", []float64{1, 2, 3, 4, 5}, []float64{1, 2, 3, 4, 6}, 12.0 / 25},
		{"no overlap, lower", []float64{1, 2, 3}, []float64{10, 11, 12}, 0},
		{"no overlap, higher", []float64{10, 11, 12}, []float64{1, 2, 3}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := canary.Classify(tc.x, tc.y, canary.KayentaConfig{EffectSize: canary.CLES, AllowedIncrease: 0.8, AllowedDecrease: 0.2, Direction: canary.Either})
			if err != nil {
				t.Fatal(err)
			}
			if got.Deviation != tc.want {
				t.Errorf("CLES = %v, want %v", got.Deviation, tc.want)
			}
		})
	}
}

func TestEnumsText(t *testing.T) {
	type enum interface {
		MarshalText() ([]byte, error)
	}
	for _, tc := range []struct {
		v    enum
		text string
		back interface{ UnmarshalText([]byte) error }
	}{
		{canary.Increase, "Increase", new(canary.Direction)},
		{canary.Decrease, "Decrease", new(canary.Direction)},
		{canary.Either, "Either", new(canary.Direction)},
		{canary.MeanRatio, "meanRatio", new(canary.EffectMeasure)},
		{canary.CLES, "cles", new(canary.EffectMeasure)},
		{canary.NaNRemove, "Remove", new(canary.NaNStrategy)},
		{canary.NaNReplace, "Replace", new(canary.NaNStrategy)},
		{canary.ErrorRate, "ErrorRate", new(canary.Metric)},
		{canary.ThrottleRate, "ThrottleRate", new(canary.Metric)},
		{canary.LatencyP50, "LatencyP50", new(canary.Metric)},
		{canary.LatencyP90, "LatencyP90", new(canary.Metric)},
		{canary.LatencyP99, "LatencyP99", new(canary.Metric)},
		{canary.ColdStartRate, "ColdStartRate", new(canary.Metric)},
	} {
		b, err := tc.v.MarshalText()
		if err != nil || string(b) != tc.text {
			t.Errorf("%v.MarshalText() = %q, %v; want %q", tc.v, b, err, tc.text)
			continue
		}
		if err := tc.back.UnmarshalText(b); err != nil {
			t.Errorf("UnmarshalText(%q): %v", b, err)
			continue
		}
		if got := tc.back.(interface{ MarshalText() ([]byte, error) }); got != nil {
			again, _ := got.MarshalText()
			if string(again) != tc.text {
				t.Errorf("round trip of %q gave %q", tc.text, again)
			}
		}
	}
	for _, bad := range []interface{ UnmarshalText([]byte) error }{new(canary.Direction), new(canary.EffectMeasure), new(canary.NaNStrategy), new(canary.Metric)} {
		if err := bad.UnmarshalText([]byte("Sideways")); !errors.Is(err, provider.ErrInvalid) {
			t.Errorf("%T.UnmarshalText(Sideways) = %v, want ErrInvalid", bad, err)
		}
	}
	if _, err := canary.Metric(42).MarshalText(); !errors.Is(err, provider.ErrInvalid) {
		t.Errorf("Metric(42).MarshalText() = %v, want ErrInvalid", err)
	}
	if got := canary.Metric(42).String(); got != "Metric(42)" {
		t.Errorf("Metric(42).String() = %q", got)
	}
	// A Judge serialises with names.
	b, err := json.Marshal(canary.Judge{Metric: canary.LatencyP99, Direction: canary.Either})
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"metric":"LatencyP99","direction":"Either"}`; string(b) != want {
		t.Errorf("json = %s, want %s", b, want)
	}
	var j canary.Judge
	if err := json.Unmarshal(b, &j); err != nil || j.Metric != canary.LatencyP99 || j.Direction != canary.Either {
		t.Errorf("json round trip = %+v, %v", j, err)
	}
}
