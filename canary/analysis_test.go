package canary_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/slipway-dev/slipway/canary"
)

// mVerdicts returns a judge that gives every requested check the verdict
// of verdict(n, name), where n counts measurements; an "error" verdict
// string makes that check's result an error, "source" fails the whole
// measurement.
func mVerdicts(m *mSim, verdict func(n int, name string) string) func(int, canary.MetricWindow, []string) ([]canary.CheckResult, error) {
	return func(n int, _ canary.MetricWindow, checks []string) ([]canary.CheckResult, error) {
		if checks == nil {
			for _, c := range m.s.Checks {
				checks = append(checks, c.Name)
			}
		}
		var rs []canary.CheckResult
		for _, name := range checks {
			v := verdict(n, name)
			r := canary.CheckResult{Name: name}
			switch v {
			case "source":
				return nil, errors.New("metrics source unavailable")
			case "error":
				r.Err = errors.New("query failed")
			case "pass":
				r.Measurement = canary.Measurement{Verdict: canary.Pass, Reason: name + " ok"}
			case "fail":
				r.Measurement = canary.Measurement{Verdict: canary.Fail, Reason: name + " too high"}
			case "inconclusive":
				r.Measurement = canary.Measurement{Verdict: canary.Inconclusive, Reason: name + " too few samples"}
			default:
				panic("unknown verdict " + v)
			}
			rs = append(rs, r)
		}
		return rs, nil
	}
}

// mAnalysed is Canary(10%, 10m) judged every minute by the given checks.
func mAnalysed(a canary.Analysis, checks ...canary.CheckSpec) canary.Strategy {
	st := canary.Canary(1000, 10*time.Minute)
	a.Checks = checks
	st.Analysis = a
	return st
}

// mLastSet returns the time and traffic of the last route write.
func mLastSet(trace []string) string {
	w := mRouteTimes(trace)
	if len(w) == 0 {
		return ""
	}
	return w[len(w)-1]
}

func TestAnalysisLimits(t *testing.T) {
	errorsCheck := canary.CheckSpec{Name: "errors", Check: mPass}
	rollbackAt := func(d time.Duration) string { return fmt.Sprintf("+%s set live 1=10000", d) }
	promoted := "+10m0s set live 2=10000"
	tests := []struct {
		name     string
		analysis canary.Analysis
		checks   []canary.CheckSpec
		verdict  func(n int, name string) string
		phase    canary.Phase
		lastSet  string
		measures int
	}{{
		// Argo's default failure limit 0: the first failed window (ending
		// at +3m) rolls back at once.
		name:     "failure limit 0 fails at the first failure",
		checks:   []canary.CheckSpec{errorsCheck},
		verdict:  func(n int, _ string) string { return map[bool]string{true: "fail", false: "pass"}[n == 2] },
		phase:    canary.PhaseRolledBack,
		lastSet:  rollbackAt(3 * time.Minute),
		measures: 3,
	}, {
		name:     "failure limit 2 tolerates two failures and fails at the third",
		analysis: canary.Analysis{FailureLimit: 2},
		checks:   []canary.CheckSpec{errorsCheck},
		verdict:  func(n int, _ string) string { return map[bool]string{true: "fail", false: "pass"}[n%2 == 1] },
		phase:    canary.PhaseRolledBack,
		lastSet:  rollbackAt(6 * time.Minute), // failures in windows 2, 4, 6
		measures: 6,
	}, {
		name:     "failure limit 2 with two failures promotes",
		analysis: canary.Analysis{FailureLimit: 2},
		checks:   []canary.CheckSpec{errorsCheck},
		verdict:  func(n int, _ string) string { return map[bool]string{true: "fail", false: "pass"}[n == 0 || n == 9] },
		phase:    canary.PhaseSucceeded,
		lastSet:  promoted,
		measures: 10,
	}, {
		// Flagger's threshold: 5 rolls back at the fifth failed check;
		// FailureLimit 4 is the same.
		name:     "Flagger threshold 5 is failure limit 4",
		analysis: canary.Analysis{FailureLimit: 4},
		checks:   []canary.CheckSpec{errorsCheck},
		verdict:  func(int, string) string { return "fail" },
		phase:    canary.PhaseRolledBack,
		lastSet:  rollbackAt(5 * time.Minute),
		measures: 5,
	}, {
		name:     "a critical check fails at once whatever the limit",
		analysis: canary.Analysis{FailureLimit: 5},
		checks:   []canary.CheckSpec{errorsCheck, {Name: "p99", Check: mPass, Critical: true}},
		verdict: func(n int, name string) string {
			return map[bool]string{true: "fail", false: "pass"}[name == "p99" && n == 1]
		},
		phase:    canary.PhaseRolledBack,
		lastSet:  rollbackAt(2 * time.Minute),
		measures: 2,
	}, {
		name:   "a non-critical check never decides",
		checks: []canary.CheckSpec{errorsCheck, {Name: "cold starts", Check: mPass, NonCritical: true}},
		verdict: func(_ int, name string) string {
			return map[bool]string{true: "fail", false: "pass"}[name == "cold starts"]
		},
		phase:    canary.PhaseSucceeded,
		lastSet:  promoted,
		measures: 10,
	}, {
		name:   "a non-critical check's errors and inconclusives never decide",
		checks: []canary.CheckSpec{errorsCheck, {Name: "probe", Check: mPass, NonCritical: true}},
		verdict: func(n int, name string) string {
			return map[bool]string{true: "pass", false: "error"}[name == "errors"]
		},
		phase:    canary.PhaseSucceeded,
		lastSet:  promoted,
		measures: 10,
	}, {
		// Inconclusive limit 0 (Argo's default) and the Rollback policy:
		// a canary that gets no traffic is rolled back, never promoted.
		name:     "no traffic is never promoted",
		analysis: canary.Analysis{OnInconclusive: canary.RollBackOnInconclusive},
		checks:   []canary.CheckSpec{errorsCheck},
		verdict:  func(int, string) string { return "inconclusive" },
		phase:    canary.PhaseRolledBack,
		lastSet:  rollbackAt(time.Minute),
		measures: 1,
	}, {
		name:     "inconclusive limit 3 acts on the fourth",
		analysis: canary.Analysis{InconclusiveLimit: 3, OnInconclusive: canary.RollBackOnInconclusive},
		checks:   []canary.CheckSpec{errorsCheck},
		verdict:  func(n int, _ string) string { return map[bool]string{true: "inconclusive", false: "pass"}[n%2 == 0] },
		phase:    canary.PhaseRolledBack,
		lastSet:  rollbackAt(7 * time.Minute), // windows 1, 3, 5, 7
		measures: 7,
	}, {
		// Four errors in a row are within Argo's default limit of 4: each
		// window is measured again 10s later until it has a verdict.
		name:     "four consecutive errors are tolerated",
		checks:   []canary.CheckSpec{errorsCheck},
		verdict:  func(n int, _ string) string { return map[bool]string{true: "source", false: "pass"}[n >= 1 && n <= 4] },
		phase:    canary.PhaseSucceeded,
		lastSet:  promoted,
		measures: 14,
	}, {
		name:     "the fifth consecutive error fails",
		checks:   []canary.CheckSpec{errorsCheck},
		verdict:  func(n int, _ string) string { return map[bool]string{true: "error", false: "pass"}[n >= 1] },
		phase:    canary.PhaseRolledBack,
		lastSet:  rollbackAt(2*time.Minute + 40*time.Second),
		measures: 6,
	}, {
		name:     "a negative consecutive error limit tolerates none",
		analysis: canary.Analysis{ConsecutiveErrorLimit: -1},
		checks:   []canary.CheckSpec{errorsCheck},
		verdict:  func(n int, _ string) string { return map[bool]string{true: "source", false: "pass"}[n == 3] },
		phase:    canary.PhaseRolledBack,
		lastSet:  rollbackAt(4 * time.Minute),
		measures: 4,
	}, {
		// A flaky source (errors on every third call) neither rolls back
		// nor promotes a window without a verdict: 10 windows need 14 calls.
		name:     "a flaky source promotes only judged windows",
		checks:   []canary.CheckSpec{errorsCheck},
		verdict:  func(n int, _ string) string { return map[bool]string{true: "source", false: "pass"}[n%3 == 2] },
		phase:    canary.PhaseSucceeded,
		lastSet:  promoted,
		measures: 14,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := mNewSim(t, mAnalysed(tt.analysis, tt.checks...))
			m.judge = mVerdicts(m, tt.verdict)
			m.run()
			if m.s.Phase != tt.phase || mLastSet(m.trace) != tt.lastSet || m.measures != tt.measures {
				t.Errorf("phase %s, last route write %q, %d measurements; want %s, %q, %d\n%s",
					m.s.Phase, mLastSet(m.trace), m.measures, tt.phase, tt.lastSet, tt.measures, strings.Join(m.trace, "\n"))
			}
		})
	}
}

// TestAnalysisRetriesOnlyUnjudgedChecks: when one check errs and another
// passes, the window is measured again for the erring check only, and the
// passing one is not counted twice.
func TestAnalysisRetriesOnlyUnjudgedChecks(t *testing.T) {
	m := mNewSim(t, mAnalysed(canary.Analysis{}, canary.CheckSpec{Name: "a", Check: mPass}, canary.CheckSpec{Name: "b", Check: mPass}))
	var asked [][]string
	m.judge = func(n int, w canary.MetricWindow, checks []string) ([]canary.CheckResult, error) {
		asked = append(asked, checks)
		rs := m.passAll(checks)
		if n == 0 {
			rs[1] = canary.CheckResult{Name: "b", Err: errors.New("timeout")}
		}
		return rs, nil
	}
	m.run()
	if diff := cmp.Diff([][]string{nil, {"b"}, nil}, asked[:3]); diff != "" {
		t.Errorf("checks asked (-want +got):\n%s", diff)
	}
	got := []int{m.s.Checks[0].Passes, m.s.Checks[1].Passes, m.s.Checks[1].Errors, m.s.Checks[1].ConsecutiveErrors}
	if diff := cmp.Diff([]int{10, 10, 1, 0}, got); diff != "" {
		t.Errorf("a.passes, b.passes, b.errors, b.consecutive (-want +got):\n%s", diff)
	}
	if m.s.Phase != canary.PhaseSucceeded {
		t.Errorf("phase %s, want Succeeded", m.s.Phase)
	}
}

// TestAnalysisInconclusivePauses: with Argo's default policy an
// inconclusive window pauses the rollout with traffic where it is; Resume
// restarts the step's bake with fresh counts.
func TestAnalysisInconclusivePauses(t *testing.T) {
	m := mNewSim(t, mAnalysed(canary.Analysis{}, canary.CheckSpec{Name: "errors", Check: mPass}))
	m.judge = mVerdicts(m, func(n int, _ string) string { return map[bool]string{true: "inconclusive", false: "pass"}[n == 1] })
	m.at(30*time.Minute, canary.EventResume)
	m.run()
	want := []string{
		"+0s set live 1=9000,2=1000",
		"+40m0s set live 2=10000", // resumed at +30m, baked 10 more minutes
	}
	if diff := cmp.Diff(want, mRouteTimes(m.trace)); diff != "" {
		t.Errorf("route writes (-want +got):\n%s\n%s", diff, strings.Join(m.trace, "\n"))
	}
	var phases []string
	for _, h := range m.s.History {
		phases = append(phases, fmt.Sprintf("+%s %s→%s", h.At.Sub(mT0), h.From, h.To))
	}
	wantPhases := []string{
		"+0s Pending→Shifting", "+0s Shifting→Baking", "+2m0s Baking→Paused", "+30m0s Paused→Baking",
		"+40m0s Baking→Shifting", "+40m0s Shifting→Succeeded",
	}
	if diff := cmp.Diff(wantPhases, phases); diff != "" {
		t.Errorf("history (-want +got):\n%s", diff)
	}
	if c := m.s.Checks[0]; c.Inconclusives != 0 || c.Passes != 11 {
		t.Errorf("counts %+v: want inconclusives reset by Resume and 11 passes", c)
	}
}
