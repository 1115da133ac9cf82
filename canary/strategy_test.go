package canary_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/slipway-dev/slipway/canary"
	"github.com/slipway-dev/slipway/provider"
)

func TestStrategyConstructors(t *testing.T) {
	tests := []struct {
		name string
		got  canary.Strategy
		want []canary.Step
	}{
		{"Canary", canary.Canary(500, 7*time.Minute), []canary.Step{{Weight: 500, Bake: 7 * time.Minute}, {Weight: 10000}}},
		{"Linear 30%", canary.Linear(3000, time.Minute), []canary.Step{
			{Weight: 3000, Bake: time.Minute}, {Weight: 6000, Bake: time.Minute}, {Weight: 9000, Bake: time.Minute}, {Weight: 10000},
		}},
		{"Linear 25%", canary.Linear(2500, 2*time.Minute), []canary.Step{
			{Weight: 2500, Bake: 2 * time.Minute}, {Weight: 5000, Bake: 2 * time.Minute}, {Weight: 7500, Bake: 2 * time.Minute}, {Weight: 10000},
		}},
		{"AllAtOnce", canary.AllAtOnce(), []canary.Step{{Weight: 10000}}},
		{"Custom", canary.Custom(canary.Step{Weight: 100, Bake: time.Minute}, canary.Step{Weight: 5000, Bake: time.Hour}),
			[]canary.Step{{Weight: 100, Bake: time.Minute}, {Weight: 5000, Bake: time.Hour}}},
		{"BlueGreen", canary.BlueGreenStrategy("test", 5*time.Minute, time.Hour), []canary.Step{{Weight: 10000, Bake: 5 * time.Minute}}},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, tt.got.Steps); diff != "" {
			t.Errorf("%s steps (-want +got):\n%s", tt.name, diff)
		}
		if err := tt.got.Validate(provider.Capabilities{}); err != nil {
			t.Errorf("%s: Validate: %v", tt.name, err)
		}
	}
}

func TestPresets(t *testing.T) {
	for _, name := range canary.Presets() {
		for _, spelling := range []string{name, "CodeDeployDefault.Lambda" + name} {
			st, err := canary.Preset(spelling)
			if err != nil {
				t.Fatalf("Preset(%q): %v", spelling, err)
			}
			if err := st.Validate(provider.Capabilities{MaxRouteVersions: 2, Granularity: 100}); err != nil {
				t.Errorf("Preset(%q).Validate: %v", spelling, err)
			}
		}
	}
	// Exact schedules, as CodeDeploy documents them.
	want := map[string][]canary.Step{
		"Canary10Percent5Minutes":  {{Weight: 1000, Bake: 5 * time.Minute}, {Weight: 10000}},
		"Canary10Percent10Minutes": {{Weight: 1000, Bake: 10 * time.Minute}, {Weight: 10000}},
		"Canary10Percent15Minutes": {{Weight: 1000, Bake: 15 * time.Minute}, {Weight: 10000}},
		"Canary10Percent30Minutes": {{Weight: 1000, Bake: 30 * time.Minute}, {Weight: 10000}},
		"AllAtOnce":                {{Weight: 10000}},
	}
	for _, n := range []int{1, 2, 3, 10} {
		name := fmt.Sprintf("Linear10PercentEvery%dMinutes", n)
		if n == 1 {
			name = "Linear10PercentEvery1Minute"
		}
		var steps []canary.Step
		for k := 1; k <= 9; k++ {
			steps = append(steps, canary.Step{Weight: k * 1000, Bake: time.Duration(n) * time.Minute})
		}
		want[name] = append(steps, canary.Step{Weight: 10000})
	}
	if len(want) != len(canary.Presets()) {
		t.Fatalf("%d presets listed, %d expected", len(canary.Presets()), len(want))
	}
	for name, steps := range want {
		st, err := canary.Preset(name)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(steps, st.Steps); diff != "" {
			t.Errorf("%s (-want +got):\n%s", name, diff)
		}
	}
	_, err := canary.Preset("Canary50Percent1Second")
	var ie *provider.InvalidError
	if !errors.Is(err, provider.ErrInvalid) || !errors.As(err, &ie) || ie.Field != "name" {
		t.Errorf("unknown preset: %v, want ErrInvalid naming the field", err)
	}
}

func TestStrategyValidate(t *testing.T) {
	check := []canary.CheckSpec{{Name: "errors", Check: mPass}}
	withChecks := func(s canary.Strategy) canary.Strategy {
		s.Analysis.Checks = check
		return s
	}
	lambda := provider.Capabilities{MaxRouteVersions: 2}
	cloudRun := provider.Capabilities{Granularity: 100}
	single := provider.Capabilities{MaxRouteVersions: 1}
	hook := func(name string, d time.Duration) *canary.HookSpec { return &canary.HookSpec{Name: name, Timeout: d} }
	tests := []struct {
		name  string
		s     canary.Strategy
		caps  provider.Capabilities
		field string // "" = valid; else the field an ErrInvalid names
		unsup bool   // an ErrUnsupported
	}{
		{name: "canary", s: canary.Canary(1000, 5*time.Minute), caps: lambda},
		{name: "implied final step", s: canary.Custom(canary.Step{Weight: 1000, Bake: time.Minute})},
		{name: "analysed linear", s: withChecks(canary.Linear(1000, time.Minute))},
		{name: "warm-up and interval fit", s: func() canary.Strategy {
			s := withChecks(canary.Canary(1000, 5*time.Minute))
			s.WarmUp, s.Interval = 2*time.Minute, 3*time.Minute
			return s
		}()},
		{name: "no steps", s: canary.Strategy{}, field: "steps"},
		{name: "zero weight", s: canary.Custom(canary.Step{Weight: 0}), field: "steps[0].weight"},
		{name: "weight above 10000", s: canary.Custom(canary.Step{Weight: 10001}), field: "steps[0].weight"},
		{name: "negative Linear", s: canary.Linear(-5, time.Minute), field: "steps[0].weight"},
		{name: "weights not increasing", s: canary.Custom(canary.Step{Weight: 2000}, canary.Step{Weight: 2000}), field: "steps[1].weight"},
		{name: "weights decreasing", s: canary.Custom(canary.Step{Weight: 5000}, canary.Step{Weight: 1000}), field: "steps[1].weight"},
		{name: "negative bake", s: canary.Custom(canary.Step{Weight: 1000, Bake: -time.Second}), field: "steps[0].bake"},
		{name: "negative interval", s: func() canary.Strategy { s := canary.AllAtOnce(); s.Interval = -1; return s }(), field: "interval"},
		{name: "negative warm-up", s: func() canary.Strategy { s := canary.AllAtOnce(); s.WarmUp = -1; return s }(), field: "warmUp"},
		{name: "granularity", s: canary.Canary(250, time.Minute), caps: cloudRun, unsup: true},
		{name: "whole percents on Cloud Run", s: canary.Canary(300, time.Minute), caps: cloudRun},
		{name: "platform without splits", s: canary.Canary(1000, time.Minute), caps: single, unsup: true},
		{name: "all at once without splits", s: canary.AllAtOnce(), caps: single},
		{name: "bake shorter than interval", s: func() canary.Strategy {
			s := withChecks(canary.Canary(1000, time.Minute))
			s.Interval = 2 * time.Minute
			return s
		}(), field: "steps[0].bake"},
		{name: "warm-up not shorter than bake", s: func() canary.Strategy {
			s := withChecks(canary.Canary(1000, 5*time.Minute))
			s.WarmUp = 5 * time.Minute
			return s
		}(), field: "steps[0].bake"},
		{name: "warm-up plus interval beyond bake", s: func() canary.Strategy {
			s := withChecks(canary.Canary(1000, 5*time.Minute))
			s.WarmUp = 4*time.Minute + time.Second
			return s
		}(), field: "steps[0].bake"},
		{name: "checks that would never run", s: withChecks(canary.AllAtOnce()), field: "steps"},
		{name: "blue/green", s: withChecks(canary.BlueGreenStrategy("test", 5*time.Minute, 10*time.Minute))},
		{name: "blue/green keep-for only", s: withChecks(canary.BlueGreenStrategy("test", 0, 10*time.Minute))},
		{name: "blue/green without test alias", s: canary.BlueGreenStrategy("", time.Minute, 0), field: "blueGreen.testAlias"},
		{name: "blue/green negative keep", s: canary.BlueGreenStrategy("t", time.Minute, -1), field: "blueGreen.keepFor"},
		{name: "blue/green short keep", s: withChecks(canary.BlueGreenStrategy("t", 5*time.Minute, 30*time.Second)), field: "blueGreen.keepFor"},
		{name: "blue/green with two steps", s: func() canary.Strategy {
			s := canary.Canary(1000, time.Minute)
			s.BlueGreen = &canary.BlueGreen{TestAlias: "t"}
			return s
		}(), field: "steps"},
		{name: "hooks", s: func() canary.Strategy {
			s := canary.AllAtOnce()
			s.PreTraffic, s.PostTraffic = hook("smoke", 0), hook("verify", time.Minute)
			s.Approval = &canary.ApprovalSpec{}
			return s
		}()},
		{name: "unnamed hook", s: func() canary.Strategy { s := canary.AllAtOnce(); s.PreTraffic = hook("", 0); return s }(), field: "preTraffic.name"},
		{name: "negative hook timeout", s: func() canary.Strategy { s := canary.AllAtOnce(); s.PostTraffic = hook("v", -1); return s }(), field: "postTraffic.timeout"},
		{name: "negative approval timeout", s: func() canary.Strategy {
			s := canary.AllAtOnce()
			s.Approval = &canary.ApprovalSpec{Timeout: -1}
			return s
		}(), field: "approval.timeout"},
		{name: "negative failure limit", s: func() canary.Strategy {
			s := withChecks(canary.Canary(1000, time.Minute))
			s.Analysis.FailureLimit = -1
			return s
		}(), field: "analysis.failureLimit"},
		{name: "negative inconclusive limit", s: func() canary.Strategy {
			s := withChecks(canary.Canary(1000, time.Minute))
			s.Analysis.InconclusiveLimit = -1
			return s
		}(), field: "analysis.inconclusiveLimit"},
		{name: "unknown inconclusive policy", s: func() canary.Strategy {
			s := withChecks(canary.Canary(1000, time.Minute))
			s.Analysis.OnInconclusive = 7
			return s
		}(), field: "analysis.onInconclusive"},
		{name: "negative retry delay", s: func() canary.Strategy {
			s := withChecks(canary.Canary(1000, time.Minute))
			s.Analysis.RetryDelay = -1
			return s
		}(), field: "analysis.retryDelay"},
		{name: "unnamed check", s: func() canary.Strategy {
			s := canary.Canary(1000, time.Minute)
			s.Analysis.Checks = []canary.CheckSpec{{Check: mPass}}
			return s
		}(), field: "analysis.checks[0].name"},
		{name: "duplicate check", s: func() canary.Strategy {
			s := canary.Canary(1000, time.Minute)
			s.Analysis.Checks = []canary.CheckSpec{{Name: "a", Check: mPass}, {Name: "a", Check: mPass}}
			return s
		}(), field: "analysis.checks[1].name"},
		{name: "nil check", s: func() canary.Strategy {
			s := canary.Canary(1000, time.Minute)
			s.Analysis.Checks = []canary.CheckSpec{{Name: "a"}}
			return s
		}(), field: "analysis.checks[0].check"},
		{name: "invalid check", s: func() canary.Strategy {
			s := canary.Canary(1000, time.Minute)
			s.Analysis.Checks = []canary.CheckSpec{{Name: "a", Check: canary.Threshold{Metric: canary.ErrorRate, Max: 2}}}
			return s
		}(), field: "max"},
		{name: "critical and non-critical", s: func() canary.Strategy {
			s := canary.Canary(1000, time.Minute)
			s.Analysis.Checks = []canary.CheckSpec{{Name: "a", Check: mPass, Critical: true, NonCritical: true}}
			return s
		}(), field: "analysis.checks[0]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.s.Validate(tt.caps)
			switch {
			case tt.field == "" && !tt.unsup:
				if err != nil {
					t.Errorf("Validate: %v, want nil", err)
				}
			case tt.unsup:
				if !errors.Is(err, provider.ErrUnsupported) {
					t.Errorf("Validate: %v, want ErrUnsupported", err)
				}
			default:
				var ie *provider.InvalidError
				if !errors.Is(err, provider.ErrInvalid) || !errors.As(err, &ie) || ie.Field != tt.field {
					t.Errorf("Validate: %v, want ErrInvalid naming %q", err, tt.field)
				}
			}
		})
	}
}

func TestStrategyPlan(t *testing.T) {
	st := canary.Custom(canary.Step{Weight: 1000, Bake: time.Minute})
	st.Analysis = canary.Analysis{ConsecutiveErrorLimit: -1}
	st.PreTraffic = &canary.HookSpec{Name: "smoke"}
	st.Approval = &canary.ApprovalSpec{}
	want := canary.Plan{
		Steps:          []canary.Step{{Weight: 1000, Bake: time.Minute}, {Weight: 10000}},
		Interval:       canary.DefaultInterval,
		RetryDelay:     canary.DefaultRetryDelay,
		PreTraffic:     &canary.HookSpec{Name: "smoke", Timeout: canary.DefaultHookTimeout},
		Approval:       &canary.ApprovalSpec{Timeout: canary.DefaultApprovalTimeout},
		OnInconclusive: canary.PauseOnInconclusive,
	}
	if diff := cmp.Diff(want, st.Plan()); diff != "" {
		t.Errorf("Plan (-want +got):\n%s", diff)
	}
	bg := canary.BlueGreenStrategy("preview", 5*time.Minute, time.Hour).Plan()
	wantBG := canary.Plan{
		Steps:                 []canary.Step{{Weight: 10000, Bake: 5 * time.Minute}, {Weight: 10000, Bake: time.Hour}},
		TestAlias:             "preview",
		Interval:              canary.DefaultInterval,
		RetryDelay:            canary.DefaultRetryDelay,
		ConsecutiveErrorLimit: canary.DefaultConsecutiveErrorLimit,
	}
	if diff := cmp.Diff(wantBG, bg, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("blue/green Plan (-want +got):\n%s", diff)
	}
}

// ExamplePreset prints a CodeDeploy-named schedule and validates it with
// checks against Cloud Run's whole-percent granularity.
func ExamplePreset() {
	st, err := canary.Preset("CodeDeployDefault.LambdaLinear10PercentEvery3Minutes")
	if err != nil {
		fmt.Println(err)
		return
	}
	at := time.Duration(0)
	for _, s := range st.Steps {
		fmt.Printf("t=%-5s %3d%%\n", at, s.Weight/100)
		at += s.Bake
	}
	st.Analysis.Checks = []canary.CheckSpec{{Name: "errors", Check: canary.Threshold{Metric: canary.ErrorRate, Max: 0.01}}}
	st.WarmUp = 30 * time.Second
	fmt.Println(st.Validate(provider.Capabilities{Granularity: 100}))
	st.WarmUp = 2*time.Minute + time.Second
	fmt.Println(st.Validate(provider.Capabilities{Granularity: 100}))
	// Output:
	// t=0s     10%
	// t=3m0s   20%
	// t=6m0s   30%
	// t=9m0s   40%
	// t=12m0s  50%
	// t=15m0s  60%
	// t=18m0s  70%
	// t=21m0s  80%
	// t=24m0s  90%
	// t=27m0s 100%
	// <nil>
	// canary: invalid argument: strategy: steps[0].bake is 3m0s, shorter than warm-up 2m1s plus one analysis interval 1m0s
}
