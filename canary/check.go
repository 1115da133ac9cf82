package canary

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/slipway-dev/slipway/provider"
)

// Verdict is a check's judgement of one window.
type Verdict int

const (
	// Inconclusive: not enough evidence either way (too few samples, no
	// data). Never counted as a pass: a canary that got no traffic is not
	// promoted.
	Inconclusive Verdict = iota
	// Pass: the candidate is acceptable in this window.
	Pass
	// Fail: the candidate is worse than allowed in this window.
	Fail
)

func (v Verdict) String() string {
	switch v {
	case Inconclusive:
		return "Inconclusive"
	case Pass:
		return "Pass"
	case Fail:
		return "Fail"
	}
	return fmt.Sprintf("Verdict(%d)", int(v))
}

// MarshalText encodes the verdict by name, so journals and states read well.
func (v Verdict) MarshalText() ([]byte, error) { return []byte(v.String()), nil }

// UnmarshalText decodes a verdict name.
func (v *Verdict) UnmarshalText(b []byte) error {
	switch string(b) {
	case "Inconclusive":
		*v = Inconclusive
	case "Pass":
		*v = Pass
	case "Fail":
		*v = Fail
	default:
		return fmt.Errorf("canary: unknown verdict %q", b)
	}
	return nil
}

// MetricWindow is what a check judges: one analysis window of a rollout, with the
// metrics of the candidate and of the stable version over exactly the same
// whole periods (see provider.Observation).
type MetricWindow struct {
	Function  string `json:"function"`
	Alias     string `json:"alias"`
	Candidate string `json:"candidate"` // version ID
	Stable    string `json:"stable"`    // version ID; "" when there is none
	// Weight is the candidate's share of the route during the window, in
	// basis points.
	Weight int       `json:"weight"`
	Start  time.Time `json:"start"`
	End    time.Time `json:"end"`
	// Started is when the rollout started (zero when unknown): checks that
	// judge relative to the rollout, like Alarms, ignore what began before.
	Started time.Time `json:"started,omitzero"`
	// Metrics holds the candidate's and the stable version's series for
	// [Start, End), already fetched by the runner (one Observe call serves
	// every check of the window). Checks that measure something else (an
	// HTTP probe) do their own I/O with the context they are given.
	Metrics provider.Observation `json:"metrics"`
	// Carry is what this check returned in Measurement.Carry for its last
	// verdict in this rollout (empty before the first): the state a
	// sequential check (Sequential) accumulates over the whole rollout. The
	// machine keeps it in CheckState.Carry, so it is saved with the
	// rollout's state and survives Resume.
	Carry Carry `json:"carry,omitempty"`
}

// Series returns the candidate's and the stable version's series (empty
// series when absent).
func (w MetricWindow) Series() (candidate, stable provider.Series) {
	candidate, _ = w.Metrics.Of(w.Candidate)
	if w.Stable != "" {
		stable, _ = w.Metrics.Of(w.Stable)
	}
	return candidate, stable
}

// Measurement is a check's result for one window. An error in measuring (a
// failing metrics source, a probe that could not connect) is not a
// Measurement: Check.Judge returns it as an error, and the analysis counts it
// against the consecutive-error limit, not as a failure.
type Measurement struct {
	Verdict Verdict `json:"verdict"`
	// Reason is a human-readable sentence: what was measured against what.
	Reason string `json:"reason"`
	// Value is the measured quantity (an error rate, a latency in seconds,
	// a p-value…), NaN-free; Unit names it.
	Value float64 `json:"value"`
	Unit  string  `json:"unit,omitempty"`
	// Stats is set by statistical checks.
	Stats *Stats `json:"stats,omitempty"`
	// Carry is the check's state after this window, handed back in the
	// next window's MetricWindow.Carry (empty: keep the previous one). It is
	// kept only with a verdict, never with an error.
	Carry Carry `json:"carry,omitempty"`
}

// Stats are the figures of a statistical judgement.
type Stats struct {
	// Label is Kayenta's classification: "Pass", "High", "Low", "Nodata".
	Label  string  `json:"label"`
	PValue float64 `json:"pValue"`
	// Estimate is the Hodges–Lehmann estimate of the shift
	// (candidate − stable), with its confidence interval [Lower, Upper].
	// With heavily tied data Lower can exceed Upper, as in R; it is not
	// re-ordered.
	Estimate   float64 `json:"estimate"`
	Lower      float64 `json:"lower"`
	Upper      float64 `json:"upper"`
	EffectSize float64 `json:"effectSize"`
	Samples    [2]int  `json:"samples"` // candidate, stable
}

// Check judges one window of a rollout. It is the only thing the analysis
// knows about a check: the built-in ones (Threshold, Relative, Judge), the
// HTTPProbe example and any caller's value or function (CheckFunc) are
// called the same way, once per analysis window.
//
// Judge returns a Measurement with a verdict — Pass, Fail, or Inconclusive
// when there is not enough evidence (a window without traffic is never a
// Pass) — and a Reason a person can read. A failure to measure (the
// metrics source is down, the source lacks the metric, ctx was cancelled,
// the check is misconfigured) is an error, never a verdict: the analysis
// counts errors against its consecutive-error limit, verdicts against its
// failure and inconclusive limits. Configuration errors wrap
// provider.ErrInvalid, a missing metric provider.ErrUnsupported.
//
// Implementations must be safe for concurrent use, return promptly when
// ctx is done, and must not modify w (its slices are shared between the
// checks of a window).
type Check interface {
	Judge(ctx context.Context, w MetricWindow) (Measurement, error)
}

// CheckFunc adapts a plain function to Check, as http.HandlerFunc adapts
// one to http.Handler: CheckFunc(f).Judge(ctx, w) calls f(ctx, w). It is
// the shortest way to a custom check — a business metric read from the
// caller's own store, a synthetic transaction, a manual flag — and it is
// safe for concurrent use when f is.
type CheckFunc func(ctx context.Context, w MetricWindow) (Measurement, error)

// Judge calls f.
func (f CheckFunc) Judge(ctx context.Context, w MetricWindow) (Measurement, error) { return f(ctx, w) }

// Carry is the state a check carries from window to window of one rollout:
// JSON text, opaque to the machine, encoded inside the rollout's state as
// the JSON value it is (not as a string). The empty Carry is no state. It
// is a string so that Measurement and CheckState stay comparable.
type Carry string

// MarshalJSON writes c as raw JSON (null when empty). It is an error when
// c is not valid JSON.
func (c Carry) MarshalJSON() ([]byte, error) {
	if c == "" {
		return []byte("null"), nil
	}
	if !json.Valid([]byte(c)) {
		return nil, fmt.Errorf("canary: carried state is not JSON: %.40q", string(c))
	}
	return []byte(c), nil
}

// UnmarshalJSON keeps the raw JSON (null as empty).
func (c *Carry) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*c = ""
		return nil
	}
	*c = Carry(b)
	return nil
}
