package canary

import (
	"fmt"
	"time"

	"github.com/slipway-dev/slipway/provider"
)

// DefaultInterval is the analysis interval of a strategy with checks and a
// zero Interval: one minute, the resolution of CloudWatch and Cloud
// Monitoring.
const DefaultInterval = time.Minute

// Step is one stage of a rollout: the candidate receives Weight basis points
// of the alias's traffic (10000 is all of it) for Bake, while the analysis
// judges it every interval.
type Step struct {
	Weight int           `json:"weight"`
	Bake   time.Duration `json:"bake"`
}

// Strategy says how traffic moves from the stable version to the candidate
// and how the candidate is judged on the way. It is plain data: build it
// with a constructor (Canary, Linear, AllAtOnce, BlueGreenStrategy, Custom)
// or a preset (Preset), adjust fields, and call Validate; the zero value is
// not valid (it has no steps).
//
// The schedule: the route is set to Steps[0].Weight, and after
// Steps[0].Bake to Steps[1].Weight, and so on. When the last step's weight
// is below 10000, a final shift to 10000 with no bake is implied. Weights
// are strictly increasing. Worked example, Canary10Percent5Minutes:
//
//	t=0     route 90% stable / 10% candidate (Steps[0] = {1000, 5m})
//	t=5m    route 100% candidate             (Steps[1] = {10000, 0})
//
// Analysis windows: every step with a bake is judged in windows of Interval
// (DefaultInterval when zero), aligned to multiples of Interval since the
// Unix epoch (so metric queries cover whole periods). The first window of a
// step starts at the first multiple of Interval at or after
// StepStarted+WarmUp, and the step judges Plan.Windows =
// floor((Bake−WarmUp)/Interval) windows back to back, however its start
// falls: it bakes until the later of StepStarted+Bake and the end of its
// last window (Plan.BakeEnd), less than one Interval longer than Bake. With
// Interval 1m, WarmUp 30s and a 5m bake, a step started at 12:00:00 judges
// [12:01,12:02), [12:02,12:03), [12:03,12:04) and [12:04,12:05) and ends at
// 12:05; one started at 12:00:45 judges [12:02,12:03) … [12:05,12:06) and
// ends at 12:06. The partial period before the first window is never
// judged.
type Strategy struct {
	Steps []Step `json:"steps"`
	// Interval is the length of one analysis window (see above). Zero means
	// DefaultInterval when the analysis has checks.
	Interval time.Duration `json:"interval,omitempty"`
	// WarmUp is ignored at the start of every step before the first
	// window, so the candidate's cold starts do not fail a healthy release.
	WarmUp time.Duration `json:"warmUp,omitempty"`
	// BlueGreen, when set, makes this a blue/green rollout: the single step
	// (weight 10000) is run on BlueGreen.TestAlias, then the alias is
	// switched to the candidate at once and watched for BlueGreen.KeepFor.
	BlueGreen *BlueGreen `json:"blueGreen,omitempty"`
	// Analysis judges each window. With no checks, steps only bake.
	Analysis Analysis `json:"analysis"`
	// PreTraffic runs before any traffic reaches the candidate,
	// PostTraffic after all traffic has (CodeDeploy's BeforeAllowTraffic and
	// AfterAllowTraffic). A hook failure rolls back.
	PreTraffic  *HookSpec `json:"preTraffic,omitempty"`
	PostTraffic *HookSpec `json:"postTraffic,omitempty"`
	// Approval, when set, is a confirm-promotion gate: before the alias
	// first sends all its traffic to the candidate, the rollout waits for
	// an Approved event (Rejected, or the timeout, rolls back).
	Approval *ApprovalSpec `json:"approval,omitempty"`
}

// BlueGreen configures a blue/green rollout (see Strategy.BlueGreen).
//
// Its schedule, with BlueGreenStrategy("preview", 3m, 5m) started at 12:00:
//
//	12:00  route "preview" → 100% candidate; windows judged on "preview"
//	12:03  the alias → 100% candidate (the approval gate, if any, first)
//	12:08  succeeded; a failure in 12:03–12:08 restores the stable route
//
// The stable version serves no traffic of the test alias, so checks that
// compare the candidate with the stable version have nothing to compare
// during the test: use absolute thresholds there, or expect Inconclusive.
// A rollback restores the alias only; the test alias is left on the
// candidate for inspection.
type BlueGreen struct {
	// TestAlias is the separate alias (stage) that is pointed at the
	// candidate and judged before the switch. It must differ from the
	// rollout's alias.
	TestAlias string `json:"testAlias"`
	// KeepFor is how long, after the switch, the candidate is still judged
	// with the stable route kept ready: a failure in that window restores
	// the stable route at once. Zero ends the rollout at the switch.
	KeepFor time.Duration `json:"keepFor,omitempty"`
}

// HookSpec names a hook the runner calls (the runner maps names to code)
// and bounds its run time.
type HookSpec struct {
	Name string `json:"name"`
	// Timeout bounds the hook; zero means DefaultHookTimeout. A hook that
	// has not reported by then has failed.
	Timeout time.Duration `json:"timeout,omitempty"`
}

// ApprovalSpec configures the confirm-promotion gate.
type ApprovalSpec struct {
	// Timeout is how long the gate waits for a decision before it rolls
	// back; zero means DefaultApprovalTimeout.
	Timeout time.Duration `json:"timeout,omitempty"`
}

// Defaults for hooks and the approval gate.
const (
	// DefaultHookTimeout is CodeDeploy's limit for a lifecycle hook.
	DefaultHookTimeout = time.Hour
	// DefaultApprovalTimeout is how long a confirm-promotion gate waits.
	DefaultApprovalTimeout = 24 * time.Hour
)

// Canary returns a strategy that sends weightBP basis points to the
// candidate for bake, then all traffic: Steps {weightBP, bake}, {10000, 0}.
func Canary(weightBP int, bake time.Duration) Strategy {
	return Strategy{Steps: []Step{{Weight: weightBP, Bake: bake}, {Weight: provider.AllTraffic}}}
}

// Linear returns a strategy that adds stepBP basis points every interval
// of every: weights stepBP, 2·stepBP, … while below 10000, each baked for
// every, then 10000 with no bake. Linear(1000, time.Minute) is
// 10%, 20%, …, 90% a minute apart, then 100% at t=9m. A non-positive stepBP
// yields a strategy that fails Validate.
func Linear(stepBP int, every time.Duration) Strategy {
	var steps []Step
	if stepBP > 0 {
		for w := stepBP; w < provider.AllTraffic; w += stepBP {
			steps = append(steps, Step{Weight: w, Bake: every})
		}
	} else {
		steps = append(steps, Step{Weight: stepBP, Bake: every})
	}
	steps = append(steps, Step{Weight: provider.AllTraffic})
	return Strategy{Steps: steps}
}

// AllAtOnce returns a strategy that shifts all traffic at once: one step
// {10000, 0}.
func AllAtOnce() Strategy {
	return Strategy{Steps: []Step{{Weight: provider.AllTraffic}}}
}

// BlueGreenStrategy returns a blue/green strategy: the candidate gets all
// the traffic of testAlias and is judged there for validate; then the
// rollout's alias switches to it at once and it is judged for keepFor more,
// with the stable route restored at once on a failure.
func BlueGreenStrategy(testAlias string, validate, keepFor time.Duration) Strategy {
	return Strategy{
		Steps:     []Step{{Weight: provider.AllTraffic, Bake: validate}},
		BlueGreen: &BlueGreen{TestAlias: testAlias, KeepFor: keepFor},
	}
}

// Custom returns a strategy with the given steps.
func Custom(steps ...Step) Strategy {
	return Strategy{Steps: append([]Step(nil), steps...)}
}

// interval returns the analysis window length: Interval, or
// DefaultInterval when zero.
func (s Strategy) interval() time.Duration {
	if s.Interval > 0 {
		return s.Interval
	}
	return DefaultInterval
}

// Validate checks the strategy on its own and against a platform's
// capabilities, before anything is touched. Errors wrap provider.ErrInvalid
// (as a *provider.InvalidError naming the field, e.g. "steps[1].weight") for
// a malformed strategy and provider.ErrUnsupported for one the platform
// cannot express (a weight finer than its granularity, a split on a
// platform that routes to one version only).
//
// The rules: at least one step; weights strictly increasing within
// 1..10000; durations not negative; when the analysis has checks, every
// step with a bake has WarmUp < Bake and WarmUp+Interval ≤ Bake (room for
// one whole window), and some step (or the blue/green KeepFor) bakes, else
// the checks would never run; blue/green has exactly one step of weight
// 10000 and a test alias; hooks are named; and Analysis.Validate.
func (s Strategy) Validate(caps provider.Capabilities) error {
	if len(s.Steps) == 0 {
		return strategyInvalid("steps", "is empty")
	}
	if s.Interval < 0 {
		return strategyInvalid("interval", "is negative")
	}
	if s.WarmUp < 0 {
		return strategyInvalid("warmUp", "is negative")
	}
	if err := s.Analysis.Validate(); err != nil {
		return err
	}
	analysed := len(s.Analysis.Checks) > 0
	iv := s.interval()
	baked := false
	prev := 0
	for i, st := range s.Steps {
		field := fmt.Sprintf("steps[%d]", i)
		if st.Weight <= 0 || st.Weight > provider.AllTraffic {
			return strategyInvalid(field+".weight", fmt.Sprintf("is %d, outside 1..%d basis points", st.Weight, provider.AllTraffic))
		}
		if st.Weight <= prev {
			return strategyInvalid(field+".weight", fmt.Sprintf("is %d, not above the previous step's %d", st.Weight, prev))
		}
		prev = st.Weight
		if err := caps.CheckWeight(st.Weight); err != nil {
			return fmt.Errorf("canary: strategy: %s.weight: %w", field, err)
		}
		if st.Weight < provider.AllTraffic && caps.MaxRouteVersions == 1 {
			return fmt.Errorf("canary: strategy: %s.weight: %w: the platform routes to one version only, so only 10000 basis points can be expressed", field, provider.ErrUnsupported)
		}
		if st.Bake < 0 {
			return strategyInvalid(field+".bake", "is negative")
		}
		if err := checkBake(analysed, field+".bake", st.Bake, s.WarmUp, iv); err != nil {
			return err
		}
		baked = baked || st.Bake > 0
	}
	if bg := s.BlueGreen; bg != nil {
		if len(s.Steps) != 1 || s.Steps[0].Weight != provider.AllTraffic {
			return strategyInvalid("steps", "must be exactly one step of weight 10000 for blue/green (it runs on the test alias)")
		}
		if bg.TestAlias == "" {
			return strategyInvalid("blueGreen.testAlias", "is empty")
		}
		if bg.KeepFor < 0 {
			return strategyInvalid("blueGreen.keepFor", "is negative")
		}
		if err := checkBake(analysed, "blueGreen.keepFor", bg.KeepFor, s.WarmUp, iv); err != nil {
			return err
		}
		baked = baked || bg.KeepFor > 0
	}
	if analysed && !baked {
		return strategyInvalid("steps", "have no bake, so the analysis's checks would never run")
	}
	for _, h := range []struct {
		field string
		spec  *HookSpec
	}{{"preTraffic", s.PreTraffic}, {"postTraffic", s.PostTraffic}} {
		if h.spec == nil {
			continue
		}
		if h.spec.Name == "" {
			return strategyInvalid(h.field+".name", "is empty")
		}
		if h.spec.Timeout < 0 {
			return strategyInvalid(h.field+".timeout", "is negative")
		}
	}
	if s.Approval != nil && s.Approval.Timeout < 0 {
		return strategyInvalid("approval.timeout", "is negative")
	}
	return nil
}

// checkBake applies the analysis rules to one bake duration.
func checkBake(analysed bool, field string, bake, warmUp, interval time.Duration) error {
	if !analysed || bake == 0 {
		return nil
	}
	if warmUp >= bake {
		return strategyInvalid(field, fmt.Sprintf("is %s, not longer than the warm-up %s", bake, warmUp))
	}
	if warmUp+interval > bake {
		return strategyInvalid(field, fmt.Sprintf("is %s, shorter than warm-up %s plus one analysis interval %s", bake, warmUp, interval))
	}
	return nil
}

func strategyInvalid(field, msg string) error {
	return fmt.Errorf("canary: %w", provider.Invalid("strategy", field, msg))
}

// WindowChecker is implemented by checks that can tell, from the number of
// metric periods an analysis window holds, that they could never return a
// verdict: CheckWindow returns an error wrapping provider.ErrInvalid then.
// Judge implements it (its latency judgement needs MinPeriods periods a
// side); Sequential needs one period and does not.
type WindowChecker interface {
	CheckWindow(periods int) error
}

// ValidateMetrics checks the analysis against a metrics source of the given
// resolution (provider.Metrics.Resolution; zero means unknown and checks
// nothing): every check that implements WindowChecker must be decidable in
// the windows this strategy measures, which hold Interval/resolution
// periods when the interval is a multiple of the resolution and one period
// otherwise. Runner.Start calls it before touching anything, so a strategy
// whose checks would leave every window inconclusive (a latency Judge
// needing 3 periods in a 1-period window pauses forever) is refused up
// front. Errors wrap provider.ErrInvalid and name the check.
func (s Strategy) ValidateMetrics(resolution time.Duration) error {
	if resolution <= 0 || len(s.Analysis.Checks) == 0 {
		return nil
	}
	iv := s.interval()
	periods := 1
	if iv%resolution == 0 {
		periods = int(iv / resolution)
	}
	for i, c := range s.Analysis.Checks {
		wc, ok := c.Check.(WindowChecker)
		if !ok {
			continue
		}
		if err := wc.CheckWindow(periods); err != nil {
			return fmt.Errorf("canary: strategy: analysis.checks[%d].check (%q) in windows of %s at a metrics resolution of %s: %w", i, c.Name, iv, resolution, err)
		}
	}
	return nil
}
