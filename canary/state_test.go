package canary_test

import (
	"encoding"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/slipway-dev/slipway/canary"
	"github.com/slipway-dev/slipway/provider"
)

func TestNewStateValidation(t *testing.T) {
	stable := provider.Route{Alias: "live", Weights: []provider.Weight{{Version: "1", BasisPoints: 10000}}, Revision: "r1"}
	good := canary.Spec{ID: "r", Function: "fn", Route: stable, Candidate: "2", Strategy: canary.Canary(1000, time.Minute)}
	tests := []struct {
		name  string
		edit  func(*canary.Spec)
		caps  provider.Capabilities
		field string
		unsup bool
	}{
		{name: "valid", edit: func(*canary.Spec) {}},
		{name: "no id", edit: func(s *canary.Spec) { s.ID = "" }, field: "id"},
		{name: "no function", edit: func(s *canary.Spec) { s.Function = "" }, field: "function"},
		{name: "no candidate", edit: func(s *canary.Spec) { s.Candidate = "" }, field: "candidate"},
		{name: "candidate is stable", edit: func(s *canary.Spec) { s.Candidate = "1" }, field: "candidate"},
		{name: "candidate named with weight 0", edit: func(s *canary.Spec) {
			s.Route.Weights = []provider.Weight{{Version: "1", BasisPoints: 10000}, {Version: "2"}}
		}, field: "candidate"},
		{name: "route already split", edit: func(s *canary.Spec) {
			s.Route.Weights = []provider.Weight{{Version: "1", BasisPoints: 9000}, {Version: "3", BasisPoints: 1000}}
		}, field: "route.weights[1]"},
		{name: "route without revision", edit: func(s *canary.Spec) { s.Route.Revision = "" }, field: "route.revision"},
		{name: "malformed route", edit: func(s *canary.Spec) { s.Route.Weights = nil }, field: "weights"},
		{name: "invalid strategy", edit: func(s *canary.Spec) { s.Strategy = canary.Strategy{} }, field: "steps"},
		{name: "conflict policy", edit: func(s *canary.Spec) { s.OnConflict = 9 }, field: "onConflict"},
		{name: "cancel policy", edit: func(s *canary.Spec) { s.OnCancel = 9 }, field: "onCancel"},
		{name: "test alias is the alias", edit: func(s *canary.Spec) {
			s.Strategy = canary.BlueGreenStrategy("live", time.Minute, 0)
		}, field: "strategy.blueGreen.testAlias"},
		{name: "alias may not split", edit: func(*canary.Spec) {}, caps: provider.Capabilities{SplitRoutes: []string{"other"}}, unsup: true},
		{name: "all at once on an alias that may not split", edit: func(s *canary.Spec) { s.Strategy = canary.AllAtOnce() },
			caps: provider.Capabilities{SplitRoutes: []string{"other"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sp := good
			sp.Route = good.Route.Clone()
			tt.edit(&sp)
			s, err := canary.NewState(sp, tt.caps)
			switch {
			case tt.unsup:
				if !errors.Is(err, provider.ErrUnsupported) {
					t.Errorf("NewState: %v, want ErrUnsupported", err)
				}
			case tt.field != "":
				var ie *provider.InvalidError
				if !errors.Is(err, provider.ErrInvalid) || !errors.As(err, &ie) || ie.Field != tt.field {
					t.Errorf("NewState: %v, want ErrInvalid naming %q", err, tt.field)
				}
			case err != nil:
				t.Errorf("NewState: %v", err)
			case s.Phase != canary.PhasePending || s.Stable != "1" || !s.Route.SameTraffic(stable) || s.Route.Revision != "r1":
				t.Errorf("initial state %+v", s)
			}
		})
	}
}

// TestStateJSON round-trips a state with every field set.
func TestStateJSON(t *testing.T) {
	at := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	st := canary.Linear(2500, 2*time.Minute)
	st.WarmUp = 30 * time.Second
	st.PreTraffic = &canary.HookSpec{Name: "smoke"}
	st.PostTraffic = &canary.HookSpec{Name: "verify", Timeout: time.Minute}
	st.Approval = &canary.ApprovalSpec{Timeout: time.Hour}
	st.Analysis = canary.Analysis{FailureLimit: 1, InconclusiveLimit: 2, OnInconclusive: canary.RollBackOnInconclusive,
		Checks: []canary.CheckSpec{{Name: "errors", Check: mPass, Critical: true}, {Name: "cold", Check: mPass, NonCritical: true}}}
	s, err := canary.NewState(canary.Spec{
		ID: "r", Function: "fn", Candidate: "2", Strategy: st, OnConflict: canary.RollBackOnConflict, OnCancel: canary.LeaveOnCancel,
		Route: provider.Route{Alias: "live", Weights: []provider.Weight{{Version: "1", BasisPoints: 10000}}, Revision: "r1"},
	}, provider.Capabilities{})
	if err != nil {
		t.Fatal(err)
	}
	s.Phase, s.ResumeTo, s.Step = canary.PhasePaused, canary.PhaseBaking, 2
	s.Started, s.StepStarted, s.NextAnalysis, s.RetryAt, s.Deadline = at, at.Add(time.Minute), at.Add(2*time.Minute), at.Add(3*time.Minute), at.Add(4*time.Minute)
	s.Route = provider.Split("live", "1", "2", 7500)
	s.Route.Revision = "r9"
	s.Awaiting, s.Want = canary.AwaitRoute, provider.Split("live", "1", "2", 10000)
	s.PreTrafficDone, s.PostTrafficDone, s.Approved, s.PromoteNow, s.RollbackAttempts = true, true, true, true, 2
	s.Checks[0] = canary.CheckState{Name: "errors", Critical: true, Passes: 3, Failures: 1, Inconclusives: 2, ConsecutiveErrors: 1,
		Errors: 4, Done: true, Last: canary.Fail, LastReason: "5% > 1%"}
	s.Reason = "paused"
	s.History = []canary.Transition{{At: at, From: canary.PhasePending, To: canary.PhaseShifting, Event: canary.EventStart, Reason: "go"}}
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	var back canary.State
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(s, back, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("round trip (-want +got):\n%s\n%s", diff, b)
	}
}

func TestEnumText(t *testing.T) {
	type textual interface {
		encoding.TextMarshaler
		String() string
	}
	var all []textual
	for p := canary.PhasePending; p <= canary.PhaseFailed; p++ {
		all = append(all, p)
	}
	for k := canary.EventStart; k <= canary.EventCancelled; k++ {
		all = append(all, k)
	}
	for a := canary.AwaitNothing; a <= canary.AwaitHook; a++ {
		all = append(all, a)
	}
	all = append(all, canary.PauseOnInconclusive, canary.RollBackOnInconclusive, canary.StopOnConflict, canary.RollBackOnConflict,
		canary.RollBackOnCancel, canary.LeaveOnCancel)
	for _, v := range all {
		b, err := v.MarshalText()
		if err != nil || string(b) != v.String() {
			t.Errorf("%v: MarshalText = %q, %v", v, b, err)
		}
	}
	roundTrip := func(name string, dst encoding.TextUnmarshaler, src textual) {
		b, _ := src.MarshalText()
		if err := dst.UnmarshalText(b); err != nil {
			t.Errorf("%s: UnmarshalText(%q): %v", name, b, err)
		}
		if err := dst.UnmarshalText([]byte("Bogus")); err == nil {
			t.Errorf("%s: UnmarshalText(Bogus) succeeded", name)
		}
	}
	var p canary.Phase
	roundTrip("phase", &p, canary.PhaseAwaitingApproval)
	var k canary.EventKind
	roundTrip("event", &k, canary.EventPromoteNow)
	var a canary.Awaiting
	roundTrip("awaiting", &a, canary.AwaitMeasure)
	var ip canary.InconclusivePolicy
	roundTrip("inconclusive", &ip, canary.RollBackOnInconclusive)
	var cp canary.ConflictPolicy
	roundTrip("conflict", &cp, canary.RollBackOnConflict)
	var xp canary.CancelPolicy
	roundTrip("cancel", &xp, canary.LeaveOnCancel)
	if p != canary.PhaseAwaitingApproval || k != canary.EventPromoteNow || a != canary.AwaitMeasure ||
		ip != canary.RollBackOnInconclusive || cp != canary.RollBackOnConflict || xp != canary.LeaveOnCancel {
		t.Errorf("decoded %v %v %v %v %v %v", p, k, a, ip, cp, xp)
	}
	for _, bad := range []textual{canary.Phase(99), canary.EventKind(-1), canary.Awaiting(9), canary.InconclusivePolicy(5), canary.ConflictPolicy(5), canary.CancelPolicy(5)} {
		if _, err := bad.MarshalText(); err == nil {
			t.Errorf("%v: MarshalText succeeded", bad)
		}
	}
}

// TestAllowedTable checks the shape of the transition table cell by cell:
// nothing leaves a terminal phase, every live phase can fail and roll back,
// RolledBack is reached only through RollingBack, Succeeded only with all
// traffic on the candidate (from a shift, a bake, promoting or the
// post-traffic hook), and a pause returns only to where it came from.
func TestAllowedTable(t *testing.T) {
	pausable := map[canary.Phase]bool{}
	for from := range canary.PhaseFailed + 1 {
		if canary.Allowed(from, canary.PhasePaused) {
			pausable[from] = true
		}
	}
	for from := range canary.PhaseFailed + 1 {
		for to := range canary.PhaseFailed + 1 {
			got := canary.Allowed(from, to)
			var want bool
			switch {
			case from.Terminal():
				want = false
			case to == canary.PhaseFailed:
				want = true
			case to == canary.PhaseRollingBack:
				want = from != canary.PhaseRollingBack
			case to == canary.PhaseRolledBack:
				want = from == canary.PhaseRollingBack
			case to == canary.PhaseSucceeded:
				want = from == canary.PhaseShifting || from == canary.PhaseBaking || from == canary.PhasePromoting || from == canary.PhasePostTraffic
			case from == canary.PhasePaused:
				want = pausable[to] // resume to the phase paused
			case from == canary.PhaseRollingBack:
				want = false
			default:
				continue // forward edges: exercised by TestMachineRandomEvents
			}
			if got != want {
				t.Errorf("Allowed(%s, %s) = %v, want %v", from, to, got, want)
			}
		}
	}
	if len(pausable) != 7 || pausable[canary.PhaseRollingBack] || pausable[canary.PhasePaused] {
		t.Errorf("pausable phases %v", pausable)
	}
	if canary.Allowed(canary.Phase(-1), canary.PhaseFailed) || canary.Allowed(canary.PhasePending, canary.Phase(42)) {
		t.Error("phases out of range allowed")
	}
}
