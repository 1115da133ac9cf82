package canary_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/slipway-dev/slipway/canary"
	"github.com/slipway-dev/slipway/provider"
)

// mT0 is the virtual start of every scenario, aligned to the hour.
var mT0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

// mPass always passes; the machine never calls it (the simulated
// runner decides the verdicts), but a strategy needs a non-nil Check.
var mPass = canary.CheckFunc(func(context.Context, canary.MetricWindow) (canary.Measurement, error) {
	return canary.Measurement{Verdict: canary.Pass}, nil
})

// mPlatform is the alias table of the simulated platform: it enforces
// compare-and-swap on revisions as a provider does.
type mPlatform struct {
	routes map[string]provider.Route
	rev    int
	// fault, when set, may fail a write (after applying it, when applied
	// is true: a reply lost on the way back).
	fault func(r provider.Route) (applied bool, err error)
}

func (p *mPlatform) set(r provider.Route) (provider.Route, error) {
	if p.fault != nil {
		if applied, err := p.fault(r); err != nil {
			if applied {
				p.write(r)
			}
			return p.routes[r.Alias], err
		}
	}
	cur, ok := p.routes[r.Alias]
	switch {
	case !ok && r.Revision != "":
		return provider.Route{}, fmt.Errorf("set %q: %w", r.Alias, provider.ErrConflict)
	case ok && cur.Revision != r.Revision:
		return cur, fmt.Errorf("set %q: revision %q is stale: %w", r.Alias, r.Revision, provider.ErrConflict)
	}
	if err := r.Validate(); err != nil {
		return provider.Route{}, err
	}
	return p.write(r), nil
}

func (p *mPlatform) write(r provider.Route) provider.Route {
	p.rev++
	r = r.Clone()
	r.Revision = "r" + strconv.Itoa(p.rev)
	p.routes[r.Alias] = r
	return r
}

// mOp is something that happens at a virtual time during a scenario: an
// event fed to the machine, or a change made behind its back.
type mOp struct {
	at time.Duration
	ev canary.Event
	do func(*mSim)
}

// mSim drives the machine as a runner would, in virtual time, checks the
// machine's contract on every call, and records a transcript.
type mSim struct {
	t    *testing.T
	s    canary.State
	now  time.Time
	plat *mPlatform
	// judge returns the results of the n-th Measure (from 0); nil: every
	// check named passes.
	judge    func(n int, w canary.MetricWindow, checks []string) ([]canary.CheckResult, error)
	measures int
	// hook returns a hook's outcome; hookTakes is its virtual run time.
	hook      func(name string) error
	hookTakes time.Duration
	ops       []mOp
	performed int // actions performed
	trace     []string
	queue     []canary.Action
}

func mNewSim(t *testing.T, st canary.Strategy) *mSim {
	t.Helper()
	return mNewSimSpec(t, canary.Spec{Strategy: st})
}

// mNewSimSpec fills ID, Function, Route and Candidate of sp when empty:
// alias "live" on version "1", candidate "2".
func mNewSimSpec(t *testing.T, sp canary.Spec) *mSim {
	t.Helper()
	plat := &mPlatform{routes: map[string]provider.Route{}}
	stable, err := plat.set(provider.To("live", "1"))
	if err != nil {
		t.Fatal(err)
	}
	if sp.ID == "" {
		sp.ID = "r1"
	}
	if sp.Function == "" {
		sp.Function = "fn"
	}
	if sp.Route.Alias == "" {
		sp.Route = stable
	}
	if sp.Candidate == "" {
		sp.Candidate = "2"
	}
	s, err := canary.NewState(sp, provider.Capabilities{})
	if err != nil {
		t.Fatal(err)
	}
	return &mSim{t: t, s: s, now: mT0, plat: plat, hook: func(string) error { return nil }}
}

// at schedules an operator event.
func (m *mSim) at(d time.Duration, kind canary.EventKind) *mSim {
	m.ops = append(m.ops, mOp{at: d, ev: canary.Event{Kind: kind, Reason: "test"}})
	return m
}

// passAll is the default judgement: every requested check passes.
func (m *mSim) passAll(checks []string) []canary.CheckResult {
	if checks == nil {
		for _, c := range m.s.Checks {
			checks = append(checks, c.Name)
		}
	}
	var rs []canary.CheckResult
	for _, name := range checks {
		rs = append(rs, canary.CheckResult{Name: name, Measurement: canary.Measurement{Verdict: canary.Pass, Reason: "ok"}})
	}
	return rs
}

func (m *mSim) logf(format string, args ...any) {
	m.trace = append(m.trace, m.stamp()+" "+fmt.Sprintf(format, args...))
}

func (m *mSim) stamp() string { return "+" + m.now.Sub(mT0).String() }

// feed calls Next and checks its contract: the input state is not
// modified, a terminal state takes no event, at most one action is
// outstanding, every phase change is in the table and in the history, and
// the state survives JSON.
func (m *mSim) feed(ev canary.Event) {
	m.t.Helper()
	old := m.s
	before := old.Clone()
	next, acts := canary.Next(old, ev, m.now)
	if !mSameShared(before, old) {
		m.t.Fatalf("Next modified its input state (-before +after):\n%s", cmp.Diff(before, old))
	}
	if err := mCheckStep(before, next, acts); err != nil {
		m.t.Fatalf("%s after %s: %v", m.stamp(), ev.Kind, err)
	}
	m.s = next
	m.queue = append(m.queue, acts...)
}

// mCheckStep checks one transition's invariants.
func mCheckStep(before, after canary.State, acts []canary.Action) error {
	if before.Phase.Terminal() {
		if len(acts) != 0 || !mEqual(before, after) {
			return fmt.Errorf("terminal state %s changed or acted", before.Phase)
		}
		return nil
	}
	outstanding := 0
	for _, a := range acts {
		switch a.Kind {
		case canary.ActionSetRoute:
			outstanding++
			if err := mRouteOK(after, a.Route); err != nil {
				return err
			}
		case canary.ActionMeasure, canary.ActionRunHook:
			outstanding++
		case canary.ActionDone:
			if !after.Phase.Terminal() || a.Phase != after.Phase {
				return fmt.Errorf("Done(%s) in phase %s", a.Phase, after.Phase)
			}
		}
	}
	if outstanding > 1 {
		return fmt.Errorf("%d actions outstanding at once: %v", outstanding, acts)
	}
	if outstanding == 1 && after.Awaiting == canary.AwaitNothing {
		return fmt.Errorf("an action was emitted but the state awaits nothing")
	}
	h := after.History
	if len(h) < len(before.History) || !slices.Equal(h[:len(before.History)], before.History) {
		return fmt.Errorf("history was rewritten")
	}
	prev := before.Phase
	for _, tr := range h[len(before.History):] {
		if tr.From != prev || !canary.Allowed(tr.From, tr.To) || tr.Reason == "" {
			return fmt.Errorf("bad transition %+v after %s", tr, prev)
		}
		prev = tr.To
	}
	if prev != after.Phase {
		return fmt.Errorf("history ends in %s, phase is %s", prev, after.Phase)
	}
	if after.Phase == canary.PhaseRolledBack && !after.Route.SameTraffic(after.StableRoute) {
		return fmt.Errorf("rolled back but the route is %v, not the stable %v", after.Route, after.StableRoute)
	}
	b, err := json.Marshal(after)
	if err != nil {
		return fmt.Errorf("marshal: %v", err)
	}
	var back canary.State
	if err := json.Unmarshal(b, &back); err != nil {
		return fmt.Errorf("unmarshal: %v", err)
	}
	// Re-encoding the decoded state gives the same bytes (TestStateJSON
	// compares a state with every field set, field by field).
	if b2, err := json.Marshal(back); err != nil || !bytes.Equal(b, b2) {
		return fmt.Errorf("JSON round trip (-want +got):\n%s", cmp.Diff(after, back, cmpopts.EquateEmpty()))
	}
	return nil
}

// mEqual reports whether two states are equal, comparing the long slices
// element by element before the rest by reflection (much faster than
// reflect.DeepEqual on a long history). Nil and empty slices are equal.
func mEqual(a, b canary.State) bool {
	if !slices.Equal(a.History, b.History) || !slices.Equal(a.Checks, b.Checks) {
		return false
	}
	a.History, b.History, a.Checks, b.Checks = nil, nil, nil, nil
	for _, p := range []*[]provider.Weight{&a.Route.Weights, &b.Route.Weights, &a.Want.Weights, &b.Want.Weights,
		&a.StableRoute.Weights, &b.StableRoute.Weights, &a.TestRoute.Weights, &b.TestRoute.Weights} {
		if len(*p) == 0 {
			*p = nil
		}
	}
	return reflect.DeepEqual(a, b)
}

// mSameShared reports whether what a State shares with its copies (the
// elements of its slices, the values behind its pointers) is the same in
// a and b: all that Next could change in the state it is given.
func mSameShared(a, b canary.State) bool {
	ptrEq := func(x, y *canary.HookSpec) bool { return (x == nil) == (y == nil) && (x == nil || *x == *y) }
	return slices.Equal(a.History, b.History) && slices.Equal(a.Checks, b.Checks) &&
		slices.Equal(a.Route.Weights, b.Route.Weights) && slices.Equal(a.Want.Weights, b.Want.Weights) &&
		slices.Equal(a.StableRoute.Weights, b.StableRoute.Weights) && slices.Equal(a.TestRoute.Weights, b.TestRoute.Weights) &&
		slices.Equal(a.Plan.Steps, b.Plan.Steps) && ptrEq(a.Plan.PreTraffic, b.Plan.PreTraffic) &&
		ptrEq(a.Plan.PostTraffic, b.Plan.PostTraffic) &&
		(a.Plan.Approval == nil) == (b.Plan.Approval == nil) && (a.Plan.Approval == nil || *a.Plan.Approval == *b.Plan.Approval)
}

// mRouteOK reports whether r is a route the rollout may write: a step's
// route, all traffic to the candidate, or the stable route, with the
// alias's last seen revision.
func mRouteOK(s canary.State, r provider.Route) error {
	if s.Plan.TestAlias != "" && r.Alias == s.Plan.TestAlias {
		if !r.SameTraffic(provider.To(r.Alias, s.Candidate)) || r.Revision != s.TestRoute.Revision {
			return fmt.Errorf("bad test route %+v", r)
		}
		return nil
	}
	if r.Alias != s.Alias || r.Revision != s.Route.Revision {
		return fmt.Errorf("route %+v: want alias %q revision %q", r, s.Alias, s.Route.Revision)
	}
	if r.SameTraffic(s.StableRoute) {
		return nil
	}
	for _, st := range s.Plan.Steps {
		if r.SameTraffic(provider.Split(s.Alias, s.Stable, s.Candidate, st.Weight)) {
			return nil
		}
	}
	return fmt.Errorf("route %s is neither a step of the strategy nor the stable route", mTraffic(r))
}

// deliver feeds the scheduled operations due by now.
func (m *mSim) deliver() bool {
	fed := false
	for len(m.ops) > 0 && !mT0.Add(m.ops[0].at).After(m.now) {
		op := m.ops[0]
		m.ops = m.ops[1:]
		if op.do != nil {
			op.do(m)
			continue
		}
		m.logf("operator %s", op.ev.Kind)
		m.feed(op.ev)
		fed = true
	}
	return fed
}

// run feeds Start and performs actions until Done or nothing is left to do.
func (m *mSim) run() {
	m.t.Helper()
	m.feed(canary.Event{Kind: canary.EventStart})
	for range 100000 {
		if len(m.queue) == 0 {
			if m.s.Done() || len(m.ops) == 0 {
				return
			}
			m.now = mMaxTime(m.now, mT0.Add(m.ops[0].at))
			if m.deliver() && len(m.queue) == 0 && !m.s.Done() {
				m.feed(canary.Event{Kind: canary.EventTick})
			}
			continue
		}
		a := m.queue[0]
		m.queue = m.queue[1:]
		m.perform(a)
	}
	m.t.Fatal("scenario did not finish")
}

func (m *mSim) perform(a canary.Action) {
	m.t.Helper()
	m.performed++
	switch a.Kind {
	case canary.ActionSetRoute:
		m.logf("set %s %s", a.Route.Alias, mTraffic(a.Route))
		r, err := m.plat.set(a.Route)
		if err != nil {
			m.logf("set failed: %v", err)
			m.feed(canary.Event{Kind: canary.EventRouteFailed, Err: err, Route: r})
			return
		}
		m.feed(canary.Event{Kind: canary.EventRouteSet, Route: r})
	case canary.ActionMeasure:
		n := m.measures
		m.measures++
		var rs []canary.CheckResult
		var err error
		if m.judge != nil {
			rs, err = m.judge(n, a.Window, a.Checks)
		} else {
			rs = m.passAll(a.Checks)
		}
		m.logf("measure %s@%d [+%s,+%s) %s", a.Window.Alias, a.Window.Weight, a.Window.Start.Sub(mT0), a.Window.End.Sub(mT0), mResults(rs, err))
		m.feed(canary.Event{Kind: canary.EventMeasured, Start: a.Window.Start, End: a.Window.End, Results: rs, Err: err})
	case canary.ActionRunHook:
		m.logf("hook %s", a.Hook)
		if !m.now.Add(m.hookTakes).Before(a.Until) {
			m.now = a.Until
			m.logf("hook %s still running at its deadline", a.Hook)
			m.feed(canary.Event{Kind: canary.EventTick})
			return
		}
		m.now = m.now.Add(m.hookTakes)
		m.feed(canary.Event{Kind: canary.EventHookDone, Hook: a.Hook, Err: m.hook(a.Hook)})
	case canary.ActionWait:
		if len(m.ops) > 0 && !mT0.Add(m.ops[0].at).After(a.Until) {
			m.now = mMaxTime(m.now, mT0.Add(m.ops[0].at))
			m.deliver()
			if len(m.queue) == 0 && !m.s.Done() {
				m.feed(canary.Event{Kind: canary.EventTick})
			}
			return
		}
		m.now = mMaxTime(m.now, a.Until)
		m.feed(canary.Event{Kind: canary.EventTick})
	case canary.ActionDone:
		m.logf("done %s: %s", a.Phase, a.Reason)
	}
}

func mResults(rs []canary.CheckResult, err error) string {
	if err != nil {
		return "error: " + err.Error()
	}
	var parts []string
	for _, r := range rs {
		if r.Err != nil {
			parts = append(parts, r.Name+"=error")
			continue
		}
		parts = append(parts, r.Name+"="+r.Measurement.Verdict.String())
	}
	return strings.Join(parts, " ")
}

func mMaxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

func mTraffic(r provider.Route) string {
	var parts []string
	for _, w := range r.Weights {
		parts = append(parts, fmt.Sprintf("%s=%d", w.Version, w.BasisPoints))
	}
	return strings.Join(parts, ",")
}

// mRouteTimes returns the "+time set alias traffic" lines of a trace.
func mRouteTimes(trace []string) []string {
	var out []string
	for _, l := range trace {
		if strings.Contains(l, " set ") {
			out = append(out, l)
		}
	}
	return out
}

// TestPresetSchedules walks every preset with and without a passing check
// and asserts the exact route writes and their times.
func TestPresetSchedules(t *testing.T) {
	want := func(name string) []string {
		var lines []string
		add := func(at time.Duration, bp int) {
			tr := fmt.Sprintf("1=%d,2=%d", 10000-bp, bp)
			if bp == 10000 {
				tr = "2=10000"
			}
			lines = append(lines, fmt.Sprintf("+%s set live %s", at, tr))
		}
		var n int
		switch {
		case name == "AllAtOnce":
			add(0, 10000)
		case strings.HasPrefix(name, "Canary10Percent"):
			fmt.Sscanf(strings.TrimPrefix(name, "Canary10Percent"), "%dMinutes", &n)
			add(0, 1000)
			add(time.Duration(n)*time.Minute, 10000)
		default:
			fmt.Sscanf(strings.TrimPrefix(name, "Linear10PercentEvery"), "%dMinute", &n)
			for k := range 9 {
				add(time.Duration(k*n)*time.Minute, (k+1)*1000)
			}
			add(time.Duration(9*n)*time.Minute, 10000)
		}
		return lines
	}
	for _, name := range canary.Presets() {
		for _, analysed := range []bool{false, true} {
			if analysed && name == "AllAtOnce" {
				continue
			}
			t.Run(fmt.Sprintf("%s/analysed=%v", name, analysed), func(t *testing.T) {
				st, err := canary.Preset(name)
				if err != nil {
					t.Fatal(err)
				}
				if analysed {
					st.Analysis.Checks = []canary.CheckSpec{{Name: "errors", Check: mPass}}
				}
				m := mNewSim(t, st)
				m.run()
				if diff := cmp.Diff(want(name), mRouteTimes(m.trace)); diff != "" {
					t.Errorf("route writes (-want +got):\n%s", diff)
				}
				if m.s.Phase != canary.PhaseSucceeded {
					t.Errorf("phase = %s, want Succeeded; trace:\n%s", m.s.Phase, strings.Join(m.trace, "\n"))
				}
			})
		}
	}
}

var mUpdate = flag.Bool("update-transcripts", false, "rewrite canary/testdata/machine/*.txt from the scenarios")

// mScenarios are the transcript tests: each builds a simulation, runs it,
// and its trace, history and final routes are compared with
// testdata/machine/<name>.txt (regenerate with -update-transcripts).
func mScenarios(t *testing.T) map[string]func() *mSim {
	errorsCheck := canary.CheckSpec{Name: "errors", Check: mPass}
	withChecks := func(st canary.Strategy) canary.Strategy {
		st.Analysis.Checks = []canary.CheckSpec{errorsCheck}
		return st
	}
	failAt := func(m *mSim, windows ...int) {
		m.judge = mVerdicts(m, func(n int, _ string) string {
			for _, w := range windows {
				if n == w {
					return "fail"
				}
			}
			return "pass"
		})
	}
	oob := func(version string) func(*mSim) {
		return func(m *mSim) {
			m.logf("out of band: live -> %s", version)
			m.plat.write(provider.To("live", version))
		}
	}
	return map[string]func() *mSim{
		"canary-healthy": func() *mSim {
			st, _ := canary.Preset("Canary10Percent5Minutes")
			return mNewSim(t, withChecks(st))
		},
		"canary-bad": func() *mSim {
			st, _ := canary.Preset("Canary10Percent5Minutes")
			m := mNewSim(t, withChecks(st))
			failAt(m, 2)
			return m
		},
		"warm-up": func() *mSim {
			st := withChecks(canary.Canary(1000, 3*time.Minute))
			st.WarmUp = 30 * time.Second
			return mNewSim(t, st)
		},
		"misaligned-start": func() *mSim {
			st := withChecks(canary.Canary(1000, 150*time.Second))
			st.WarmUp, st.Interval = 30*time.Second, 2*time.Minute
			m := mNewSim(t, st)
			m.now = mT0.Add(20 * time.Second)
			return m
		},
		"pause-resume": func() *mSim {
			return mNewSim(t, withChecks(canary.Linear(2500, 2*time.Minute))).at(3*time.Minute, canary.EventPause).at(10*time.Minute, canary.EventResume)
		},
		"promote-now": func() *mSim {
			st, _ := canary.Preset("Linear10PercentEvery1Minute")
			return mNewSim(t, withChecks(st)).at(150*time.Second, canary.EventPromoteNow)
		},
		"promote-now-while-paused": func() *mSim {
			st, _ := canary.Preset("Linear10PercentEvery1Minute")
			return mNewSim(t, withChecks(st)).at(150*time.Second, canary.EventPause).at(5*time.Minute, canary.EventPromoteNow)
		},
		"abort": func() *mSim {
			st, _ := canary.Preset("Linear10PercentEvery1Minute")
			return mNewSim(t, withChecks(st)).at(4*time.Minute, canary.EventAbort)
		},
		"pre-traffic-hook-fails": func() *mSim {
			st := canary.Canary(1000, 5*time.Minute)
			st.PreTraffic = &canary.HookSpec{Name: "smoke"}
			m := mNewSim(t, st)
			m.hook = func(string) error { return errors.New("smoke test: 502") }
			return m
		},
		"post-traffic-hook-fails": func() *mSim {
			st := canary.Canary(1000, 5*time.Minute)
			st.PreTraffic = &canary.HookSpec{Name: "smoke"}
			st.PostTraffic = &canary.HookSpec{Name: "verify"}
			m := mNewSim(t, st)
			m.hookTakes = 20 * time.Second
			m.hook = func(name string) error {
				if name == "verify" {
					return errors.New("verify: orders missing")
				}
				return nil
			}
			return m
		},
		"hook-timeout": func() *mSim {
			st := canary.Canary(1000, 5*time.Minute)
			st.PreTraffic = &canary.HookSpec{Name: "smoke", Timeout: 5 * time.Minute}
			m := mNewSim(t, st)
			m.hookTakes = time.Hour
			return m
		},
		"approval-approved": func() *mSim {
			st := withChecks(canary.Canary(1000, 5*time.Minute))
			st.Approval = &canary.ApprovalSpec{Timeout: time.Hour}
			return mNewSim(t, st).at(7*time.Minute, canary.EventApproved)
		},
		"approval-rejected": func() *mSim {
			st := withChecks(canary.Canary(1000, 5*time.Minute))
			st.Approval = &canary.ApprovalSpec{Timeout: time.Hour}
			return mNewSim(t, st).at(7*time.Minute, canary.EventRejected)
		},
		"approval-timeout": func() *mSim {
			st := withChecks(canary.Canary(1000, 5*time.Minute))
			st.Approval = &canary.ApprovalSpec{Timeout: time.Hour}
			return mNewSim(t, st)
		},
		"approval-while-paused": func() *mSim {
			st := withChecks(canary.Canary(1000, 5*time.Minute))
			st.Approval = &canary.ApprovalSpec{Timeout: time.Hour}
			return mNewSim(t, st).at(6*time.Minute, canary.EventPause).at(7*time.Minute, canary.EventApproved).at(8*time.Minute, canary.EventResume)
		},
		"approval-all-at-once": func() *mSim {
			st := canary.AllAtOnce()
			st.Approval = &canary.ApprovalSpec{}
			return mNewSim(t, st).at(time.Minute, canary.EventApproved)
		},
		"blue-green": func() *mSim {
			return mNewSim(t, withChecks(canary.BlueGreenStrategy("preview", 3*time.Minute, 5*time.Minute)))
		},
		"blue-green-fails-after-switch": func() *mSim {
			m := mNewSim(t, withChecks(canary.BlueGreenStrategy("preview", 3*time.Minute, 5*time.Minute)))
			failAt(m, 4)
			return m
		},
		"blue-green-fails-on-test-alias": func() *mSim {
			m := mNewSim(t, withChecks(canary.BlueGreenStrategy("preview", 3*time.Minute, 5*time.Minute)))
			failAt(m, 1)
			return m
		},
		"out-of-band-stop": func() *mSim {
			m := mNewSim(t, withChecks(canary.Canary(1000, 5*time.Minute)))
			m.ops = append(m.ops, mOp{at: 150 * time.Second, do: oob("3")})
			return m
		},
		"out-of-band-roll-back": func() *mSim {
			m := mNewSimSpec(t, canary.Spec{Strategy: withChecks(canary.Canary(1000, 5*time.Minute)), OnConflict: canary.RollBackOnConflict})
			m.ops = append(m.ops, mOp{at: 150 * time.Second, do: oob("3")})
			return m
		},
		"cancelled-rolls-back": func() *mSim {
			return mNewSim(t, withChecks(canary.Canary(1000, 5*time.Minute))).at(2*time.Minute, canary.EventCancelled)
		},
		"cancelled-leaves": func() *mSim {
			m := mNewSimSpec(t, canary.Spec{Strategy: withChecks(canary.Canary(1000, 5*time.Minute)), OnCancel: canary.LeaveOnCancel})
			return m.at(2*time.Minute, canary.EventCancelled)
		},
		"rollback-write-keeps-failing": func() *mSim {
			m := mNewSim(t, withChecks(canary.Canary(1000, 5*time.Minute)))
			failAt(m, 0)
			m.plat.fault = func(r provider.Route) (bool, error) {
				if r.Primary() == "1" && len(r.Weights) == 1 {
					return false, fmt.Errorf("set: %w", provider.ErrUnavailable)
				}
				return false, nil
			}
			return m
		},
		"write-lost-reply": func() *mSim {
			m := mNewSim(t, canary.Canary(1000, 5*time.Minute))
			lost := false
			m.plat.fault = func(r provider.Route) (bool, error) {
				if !lost {
					lost = true
					return true, fmt.Errorf("set: timeout: %w", provider.ErrUnavailable)
				}
				return false, nil
			}
			return m
		},
		"no-traffic-pauses": func() *mSim {
			m := mNewSim(t, withChecks(canary.Canary(1000, 5*time.Minute)))
			m.judge = mVerdicts(m, func(int, string) string { return "inconclusive" })
			return m.at(time.Hour, canary.EventAbort)
		},
	}
}

func TestMachineTranscripts(t *testing.T) {
	scenarios := mScenarios(t)
	names := make([]string, 0, len(scenarios))
	for name := range scenarios {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			m := scenarios[name]()
			m.t = t
			m.run()
			got := m.transcript()
			path := filepath.Join("testdata", "machine", name+".txt")
			if *mUpdate {
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update-transcripts to create it)", err)
			}
			if diff := cmp.Diff(string(want), got); diff != "" {
				t.Errorf("transcript %s (-want +got):\n%s", path, diff)
			}
		})
	}
}

// transcript renders what a scenario did.
func (m *mSim) transcript() string {
	var b strings.Builder
	for _, l := range m.trace {
		b.WriteString(l + "\n")
	}
	b.WriteString("history:\n")
	for _, h := range m.s.History {
		fmt.Fprintf(&b, "  +%s step %d %s -> %s on %s: %s\n", h.At.Sub(mT0), h.Step, h.From, h.To, h.Event, h.Reason)
	}
	fmt.Fprintf(&b, "final: %s\n", m.s.Phase)
	aliases := slices.Sorted(maps.Keys(m.plat.routes))
	for _, a := range aliases {
		fmt.Fprintf(&b, "route %s: %s\n", a, mTraffic(m.plat.routes[a]))
	}
	for _, c := range m.s.Checks {
		fmt.Fprintf(&b, "check %s: %d passed, %d failed, %d inconclusive, %d errors\n", c.Name, c.Passes, c.Failures, c.Inconclusives, c.Errors)
	}
	return b.String()
}

// mRandomStrategy returns one of a spread of strategies covering every
// phase: steps without bake, hooks, gates, blue/green, limits.
func mRandomStrategy(r *rand.Rand) canary.Strategy {
	var st canary.Strategy
	switch r.IntN(7) {
	case 0:
		st = canary.Canary(1000, 3*time.Minute)
	case 1:
		st = canary.Linear(2500, 2*time.Minute)
	case 2:
		st = canary.AllAtOnce()
	case 3:
		st = canary.BlueGreenStrategy("preview", 2*time.Minute, time.Duration(r.IntN(2))*3*time.Minute)
	case 4:
		st = canary.Custom(canary.Step{Weight: 500}, canary.Step{Weight: 2000, Bake: 2 * time.Minute}, canary.Step{Weight: 10000})
	case 5:
		st = canary.Custom(canary.Step{Weight: 500}, canary.Step{Weight: 10000, Bake: 2 * time.Minute})
	default:
		st = canary.Custom(canary.Step{Weight: 5000, Bake: 2 * time.Minute}, canary.Step{Weight: 10000, Bake: 2 * time.Minute})
	}
	if slices.ContainsFunc(st.Steps, func(s canary.Step) bool { return s.Bake > 0 }) || st.BlueGreen != nil && st.BlueGreen.KeepFor > 0 {
		st.Analysis = canary.Analysis{
			Checks:                []canary.CheckSpec{{Name: "a", Check: mPass}, {Name: "b", Check: mPass, Critical: r.IntN(2) == 0}, {Name: "c", Check: mPass, NonCritical: true}},
			FailureLimit:          r.IntN(3),
			InconclusiveLimit:     r.IntN(3),
			OnInconclusive:        canary.InconclusivePolicy(r.IntN(2)),
			ConsecutiveErrorLimit: r.IntN(4) - 1,
		}
		if st.BlueGreen != nil && st.Steps[0].Bake > 0 {
			st.Analysis.Checks = st.Analysis.Checks[:1]
		}
	}
	if r.IntN(2) == 0 {
		st.PreTraffic = &canary.HookSpec{Name: "pre", Timeout: time.Minute}
	}
	if r.IntN(2) == 0 {
		st.PostTraffic = &canary.HookSpec{Name: "post", Timeout: time.Minute}
	}
	if r.IntN(2) == 0 {
		st.Approval = &canary.ApprovalSpec{Timeout: 10 * time.Minute}
	}
	return st
}

// mRandomEvent returns an event of any kind with fields that are right for
// the state about half of the time and arbitrary otherwise.
func mRandomEvent(r *rand.Rand, s canary.State) canary.Event {
	ev := canary.Event{Kind: canary.EventKind(r.IntN(int(canary.EventCancelled) + 1)), Reason: "random"}
	versions := []string{"1", "2", "3"}
	want, inflight := s.InFlight()
	switch ev.Kind {
	case canary.EventRouteSet, canary.EventRouteFailed:
		if inflight && want.Kind == canary.ActionSetRoute && r.IntN(2) == 0 {
			ev.Route = want.Route.Clone()
		} else {
			bp := r.IntN(3) * 5000
			ev.Route = provider.Split([]string{s.Alias, "preview"}[r.IntN(2)], versions[r.IntN(3)], versions[r.IntN(3)], bp)
			if err := ev.Route.Validate(); err != nil {
				ev.Route = provider.To(s.Alias, versions[r.IntN(3)])
			}
		}
		ev.Route.Revision = fmt.Sprintf("x%d", r.IntN(1000))
		if ev.Kind == canary.EventRouteFailed {
			ev.Err = []error{provider.ErrConflict, provider.ErrUnavailable, errors.New("boom")}[r.IntN(3)]
			ev.Conflict = r.IntN(3) == 0
			if r.IntN(3) == 0 {
				ev.Route = provider.Route{}
			}
		}
	case canary.EventMeasured:
		if inflight && want.Kind == canary.ActionMeasure && r.IntN(3) > 0 {
			ev.Start, ev.End = want.Window.Start, want.Window.End
		} else {
			ev.Start = mT0.Add(time.Duration(r.IntN(20)) * time.Minute)
			ev.End = ev.Start.Add(time.Minute)
		}
		if r.IntN(5) == 0 {
			ev.Err = errors.New("metrics unavailable")
		}
		for _, name := range []string{"a", "b", "c", "zzz"} {
			res := canary.CheckResult{Name: name, Measurement: canary.Measurement{Verdict: canary.Verdict(r.IntN(3))}}
			if r.IntN(5) == 0 {
				res.Err = errors.New("check failed to run")
			}
			if r.IntN(4) > 0 {
				ev.Results = append(ev.Results, res)
			}
		}
	case canary.EventHookDone:
		ev.Hook = []string{"pre", "post", "other"}[r.IntN(3)]
		if inflight && want.Kind == canary.ActionRunHook && r.IntN(2) == 0 {
			ev.Hook = want.Hook
		}
		if r.IntN(3) == 0 {
			ev.Err = errors.New("hook failed")
		}
	}
	return ev
}

// TestMachineRandomEvents feeds random event sequences (honest results of
// the actions mixed with arbitrary events at arbitrary times) to random
// rollouts. feed checks every step: no input modified, terminal phases
// stay terminal, only table edges, history intact, at most one action
// outstanding, routes only the stable route or a strategy weight with the
// last revision, JSON round trip. At the end every edge of the table and
// every (phase, event) cell must have been exercised.
func TestMachineRandomEvents(t *testing.T) {
	edges := map[[2]canary.Phase]bool{}
	cells := map[string]bool{}
	snaps := map[string][]mSnap{}
	const runs = 150 // enough to reach every edge and cell, with the walk below
	for seed := range runs {
		r := rand.New(rand.NewPCG(uint64(seed), 7))
		st := mRandomStrategy(r)
		m := mNewSimSpec(t, canary.Spec{Strategy: st, OnConflict: canary.ConflictPolicy(r.IntN(2)), OnCancel: canary.CancelPolicy(r.IntN(2))})
		m.judge = func(n int, w canary.MetricWindow, checks []string) ([]canary.CheckResult, error) {
			if r.IntN(8) == 0 {
				return nil, errors.New("metrics unavailable")
			}
			rs := m.passAll(checks)
			for i := range rs {
				switch r.IntN(12) {
				case 0:
					rs[i].Measurement.Verdict = canary.Fail
				case 1:
					rs[i].Measurement.Verdict = canary.Inconclusive
				case 2:
					rs[i].Err = errors.New("check error")
				}
			}
			return rs, nil
		}
		m.hook = func(string) error {
			if r.IntN(6) == 0 {
				return errors.New("hook failed")
			}
			return nil
		}
		m.plat.fault = func(provider.Route) (bool, error) {
			switch r.IntN(12) {
			case 0:
				return true, provider.ErrUnavailable
			case 1:
				return false, provider.ErrUnavailable
			case 2:
				m.plat.write(provider.To("live", "3"))
			}
			return false, nil
		}
		feed := func(ev canary.Event) {
			key := m.s.Phase.String()
			if m.s.Paused() {
				key += "/" + m.s.ResumeTo.String()
			}
			if len(snaps[key]) < 12 {
				snaps[key] = append(snaps[key], mSnap{m.s.Clone(), m.now})
			}
			cells[m.s.Phase.String()+"/"+ev.Kind.String()] = true
			before := len(m.s.History)
			m.feed(ev)
			for _, h := range m.s.History[before:] {
				edges[[2]canary.Phase{h.From, h.To}] = true
			}
		}
		// chaos sets how often something other than an action's honest
		// result happens: from every other step to one in thirty.
		chaos := []int{2, 6, 30}[r.IntN(3)]
		feed(canary.Event{Kind: canary.EventKind(r.IntN(int(canary.EventCancelled) + 1))})
		feed(canary.Event{Kind: canary.EventStart})
		for range 300 {
			if r.IntN(chaos) == 0 || len(m.queue) == 0 {
				m.now = m.now.Add(time.Duration(r.IntN(90)) * time.Second)
				feed(mRandomEvent(r, m.s))
				continue
			}
			a := m.queue[0]
			if (a.Kind == canary.ActionRunHook || a.Kind == canary.ActionWait) && r.IntN(chaos) == 0 {
				// The hook or the wait is still running: something else
				// happens first.
				m.now = m.now.Add(time.Duration(r.IntN(20)) * time.Second)
				feed(mRandomEvent(r, m.s))
				continue
			}
			m.queue = m.queue[1:]
			before := len(m.s.History)
			cells[m.s.Phase.String()+"/"+map[canary.ActionKind]string{
				canary.ActionSetRoute: "RouteSet", canary.ActionMeasure: "Measured", canary.ActionRunHook: "HookDone",
				canary.ActionWait: "Tick", canary.ActionDone: "Done"}[a.Kind]] = true
			m.perform(a)
			for _, h := range m.s.History[before:] {
				edges[[2]canary.Phase{h.From, h.To}] = true
			}
		}
		// Liveness: answering honestly from here (and resuming, approving
		// and starting when asked to wait for an operator) always ends.
		for i := 0; !m.s.Done(); i++ {
			if i > 2000 {
				t.Fatalf("seed %d: rollout stuck in %s (awaiting %s)", seed, m.s.Phase, m.s.Awaiting)
			}
			if len(m.queue) > 0 {
				a := m.queue[0]
				m.queue = m.queue[1:]
				m.perform(a)
				continue
			}
			m.now = m.now.Add(time.Minute)
			switch {
			case m.s.Paused():
				feed(canary.Event{Kind: canary.EventResume})
			case m.s.Phase == canary.PhaseAwaitingApproval:
				feed(canary.Event{Kind: canary.EventApproved})
			case m.s.Phase == canary.PhasePending:
				feed(canary.Event{Kind: canary.EventStart})
			default:
				m.resume()
			}
		}
		// A terminal state takes no event.
		if m.s.Done() {
			for k := range canary.EventCancelled + 1 {
				feed(canary.Event{Kind: k})
			}
		}
	}
	// Walk every cell: states seen in each phase get every kind of event,
	// in a right and a wrong form, now and an hour later.
	for _, ps := range snaps {
		for _, sn := range ps {
			if paused, _ := canary.Next(sn.s, canary.Event{Kind: canary.EventPause}, sn.now); paused.Paused() && !sn.s.Paused() {
				ps = append(ps, mSnap{paused, sn.now})
			}
		}
		for _, sn := range ps {
			for k := range canary.EventCancelled + 1 {
				for _, variant := range mCellEvents(sn.s, k) {
					for _, later := range []time.Duration{0, time.Hour} {
						cells[sn.s.Phase.String()+"/"+k.String()] = true
						next, acts := canary.Next(sn.s, variant, sn.now.Add(later))
						if err := mCheckStep(sn.s, next, acts); err != nil {
							t.Fatalf("%s in %s: %v", k, sn.s.Phase, err)
						}
						for _, h := range next.History[len(sn.s.History):] {
							edges[[2]canary.Phase{h.From, h.To}] = true
						}
					}
				}
			}
		}
	}
	for from := range canary.PhaseFailed + 1 {
		for to := range canary.PhaseFailed + 1 {
			if canary.Allowed(from, to) && !edges[[2]canary.Phase{from, to}] {
				t.Errorf("edge %s → %s is in the table but never taken", from, to)
			}
		}
		for k := range canary.EventCancelled + 1 {
			if !cells[from.String()+"/"+k.String()] {
				t.Errorf("event %s never fed in phase %s", k, from)
			}
		}
	}
}

// mSnap is a state seen during a random run and the time it was seen.
type mSnap struct {
	s   canary.State
	now time.Time
}

// mCellEvents returns events of kind k for state s: the result the state
// awaits (when k is a result), a failed or mismatched one, and the plain
// event.
func mCellEvents(s canary.State, k canary.EventKind) []canary.Event {
	a, _ := s.InFlight()
	switch k {
	case canary.EventRouteSet, canary.EventRouteFailed:
		ok := a.Route.Clone()
		ok.Revision = "next"
		other := provider.To(s.Alias, "3")
		other.Revision = "oob"
		return []canary.Event{
			{Kind: k, Route: ok, Err: provider.ErrUnavailable},
			{Kind: k, Route: other, Err: provider.ErrConflict, Conflict: true},
			{Kind: k, Err: errors.New("boom")},
		}
	case canary.EventMeasured:
		var pass, fail []canary.CheckResult
		for _, c := range s.Checks {
			pass = append(pass, canary.CheckResult{Name: c.Name, Measurement: canary.Measurement{Verdict: canary.Pass}})
			fail = append(fail, canary.CheckResult{Name: c.Name, Measurement: canary.Measurement{Verdict: canary.Fail}})
		}
		w := a.Window
		return []canary.Event{
			{Kind: k, Start: w.Start, End: w.End, Results: pass},
			{Kind: k, Start: w.Start, End: w.End, Results: fail},
			{Kind: k, Start: w.Start, End: w.End, Err: errors.New("source down")},
			{Kind: k, Start: w.Start.Add(-time.Minute), End: w.Start, Results: fail},
		}
	case canary.EventHookDone:
		return []canary.Event{{Kind: k, Hook: a.Hook}, {Kind: k, Hook: a.Hook, Err: errors.New("hook failed")}, {Kind: k, Hook: "other"}}
	}
	return []canary.Event{{Kind: k, Reason: "cell"}}
}

// resume continues after a simulated crash from the last persisted state,
// as InFlight documents: the outstanding action is redone, a route write
// first checked against the route as it now is.
func (m *mSim) resume() {
	m.queue = nil
	a, ok := m.s.InFlight()
	if !ok {
		m.logf("resume: tick")
		m.feed(canary.Event{Kind: canary.EventTick})
		return
	}
	m.logf("resume: redo %s", a.Kind)
	if a.Kind == canary.ActionSetRoute {
		if cur, exists := m.plat.routes[a.Route.Alias]; exists && cur.SameTraffic(a.Route) && cur.Revision != a.Route.Revision {
			m.feed(canary.Event{Kind: canary.EventRouteSet, Route: cur})
			return
		}
	}
	m.perform(a)
}

// TestMachineResumeAtEveryBoundary crashes a rollout at every action
// boundary (before the action, and after it took effect but before its
// result was persisted), resumes from the persisted state, and checks that
// the rollout ends as the uncrashed one did, with the history intact.
func TestMachineResumeAtEveryBoundary(t *testing.T) {
	build := func(t *testing.T) *mSim {
		st := canary.Linear(5000, 2*time.Minute)
		st.Analysis.Checks = []canary.CheckSpec{{Name: "errors", Check: mPass}}
		st.PreTraffic = &canary.HookSpec{Name: "pre"}
		st.PostTraffic = &canary.HookSpec{Name: "post"}
		return mNewSim(t, st)
	}
	ref := build(t)
	ref.run()
	if ref.s.Phase != canary.PhaseSucceeded {
		t.Fatalf("reference run ended %s", ref.s.Phase)
	}
	wantPhases := mPhases(ref.s.History)
	for k := 1; k < ref.performed; k++ {
		for _, after := range []bool{false, true} {
			t.Run(fmt.Sprintf("action%d/after=%v", k, after), func(t *testing.T) {
				m := build(t)
				m.feed(canary.Event{Kind: canary.EventStart})
				crashed := false
				for i := 1; len(m.queue) > 0; i++ {
					a := m.queue[0]
					m.queue = m.queue[1:]
					if i == k && !crashed && a.Kind != canary.ActionDone {
						crashed = true
						persisted := slices.Clone(m.s.History)
						if after {
							m.sideEffect(a)
						}
						m.logf("crash")
						m.resume()
						if len(m.s.History) < len(persisted) || !slices.Equal(m.s.History[:len(persisted)], persisted) {
							t.Fatal("history lost on resume")
						}
						continue
					}
					m.perform(a)
				}
				if m.s.Phase != canary.PhaseSucceeded || !m.plat.routes["live"].SameTraffic(provider.To("live", "2")) {
					t.Fatalf("ended %s with route %s\n%s", m.s.Phase, mTraffic(m.plat.routes["live"]), strings.Join(m.trace, "\n"))
				}
				if diff := cmp.Diff(wantPhases, mPhases(m.s.History)); diff != "" {
					t.Errorf("phases (-want +got):\n%s", diff)
				}
			})
		}
	}
}

// sideEffect does what action a does to the world, without reporting back:
// the crash comes before the result is persisted.
func (m *mSim) sideEffect(a canary.Action) {
	switch a.Kind {
	case canary.ActionSetRoute:
		if _, err := m.plat.set(a.Route); err == nil {
			m.logf("set %s %s (result lost)", a.Route.Alias, mTraffic(a.Route))
		}
	case canary.ActionWait:
		m.now = mMaxTime(m.now, a.Until)
	}
}

func mPhases(h []canary.Transition) []string {
	var out []string
	for _, tr := range h {
		out = append(out, tr.From.String()+"→"+tr.To.String())
	}
	return out
}

// mBaking returns a Canary10Percent5Minutes rollout with one check, baking
// at 10% since mT0, and the Measure action of its first window.
func mBaking(b *testing.B) (canary.State, canary.Action) {
	st, _ := canary.Preset("Canary10Percent5Minutes")
	st.Analysis.Checks = []canary.CheckSpec{{Name: "errors", Check: mPass}}
	route := provider.To("live", "1")
	route.Revision = "r1"
	s, err := canary.NewState(canary.Spec{ID: "r", Function: "fn", Route: route, Candidate: "2", Strategy: st}, provider.Capabilities{})
	if err != nil {
		b.Fatal(err)
	}
	s, acts := canary.Next(s, canary.Event{Kind: canary.EventStart}, mT0)
	set := acts[0].Route
	set.Revision = "r2"
	s, _ = canary.Next(s, canary.Event{Kind: canary.EventRouteSet, Route: set}, mT0)
	s, acts = canary.Next(s, canary.Event{Kind: canary.EventTick}, mT0.Add(time.Minute))
	if s.Phase != canary.PhaseBaking || len(acts) != 1 || acts[0].Kind != canary.ActionMeasure {
		b.Fatalf("setup: %s %v", s.Phase, acts)
	}
	return s, acts[0]
}

// BenchmarkNext measures single transitions: a Tick that only renews the
// Wait, and a passing Measured that moves to the next window.
func BenchmarkNext(b *testing.B) {
	measuring, measure := mBaking(b)
	waiting, _ := canary.Next(measuring, canary.Event{Kind: canary.EventMeasured, Start: measure.Window.Start, End: measure.Window.End,
		Results: []canary.CheckResult{{Name: "errors", Measurement: canary.Measurement{Verdict: canary.Pass}}}}, mT0.Add(time.Minute))
	b.Run("tick", func(b *testing.B) {
		ev := canary.Event{Kind: canary.EventTick}
		now := mT0.Add(90 * time.Second)
		b.ReportAllocs()
		for b.Loop() {
			if _, acts := canary.Next(waiting, ev, now); len(acts) != 1 {
				b.Fatal(acts)
			}
		}
	})
	b.Run("measured", func(b *testing.B) {
		ev := canary.Event{Kind: canary.EventMeasured, Start: measure.Window.Start, End: measure.Window.End,
			Results: []canary.CheckResult{{Name: "errors", Measurement: canary.Measurement{Verdict: canary.Pass, Reason: "0.1% errors"}}}}
		now := mT0.Add(time.Minute)
		b.ReportAllocs()
		for b.Loop() {
			if _, acts := canary.Next(measuring, ev, now); len(acts) != 1 {
				b.Fatal(acts)
			}
		}
	})
}

// BenchmarkPresetWalk runs a whole Linear10PercentEvery1Minute rollout with
// one check through the machine, answering every action at once.
func BenchmarkPresetWalk(b *testing.B) {
	st, _ := canary.Preset("Linear10PercentEvery1Minute")
	st.Analysis.Checks = []canary.CheckSpec{{Name: "errors", Check: mPass}}
	route := provider.To("live", "1")
	route.Revision = "r0"
	s0, err := canary.NewState(canary.Spec{ID: "r", Function: "fn", Route: route, Candidate: "2", Strategy: st}, provider.Capabilities{})
	if err != nil {
		b.Fatal(err)
	}
	revs := []string{"r1", "r2", "r3", "r4", "r5", "r6", "r7", "r8", "r9", "r10"}
	results := []canary.CheckResult{{Name: "errors", Measurement: canary.Measurement{Verdict: canary.Pass}}}
	b.ReportAllocs()
	transitions := 0
	for b.Loop() {
		s, acts := canary.Next(s0, canary.Event{Kind: canary.EventStart}, mT0)
		now, rev := mT0, 0
		for len(acts) > 0 {
			a := acts[0]
			var ev canary.Event
			switch a.Kind {
			case canary.ActionSetRoute:
				r := a.Route
				r.Revision = revs[rev]
				rev++
				ev = canary.Event{Kind: canary.EventRouteSet, Route: r}
			case canary.ActionWait:
				now = a.Until
				ev = canary.Event{Kind: canary.EventTick}
			case canary.ActionMeasure:
				ev = canary.Event{Kind: canary.EventMeasured, Start: a.Window.Start, End: a.Window.End, Results: results}
			case canary.ActionDone:
				acts = nil
				continue
			}
			s, acts = canary.Next(s, ev, now)
			transitions++
		}
		if s.Phase != canary.PhaseSucceeded {
			b.Fatal(s.Phase)
		}
	}
	b.ReportMetric(float64(transitions)/float64(b.N), "transitions/op")
}

// ExampleNext drives a rollout by hand, as a runner does: perform each
// action, feed its result back, persist the state in between.
func ExampleNext() {
	st := canary.Canary(2000, 2*time.Minute) // 20% for 2 minutes, then 100%
	st.Analysis.Checks = []canary.CheckSpec{{Name: "errors", Check: canary.CheckFunc(
		func(context.Context, canary.MetricWindow) (canary.Measurement, error) {
			return canary.Measurement{Verdict: canary.Pass, Reason: "0.1% errors"}, nil
		})}}
	current := provider.Route{Alias: "live", Weights: []provider.Weight{{Version: "6", BasisPoints: 10000}}, Revision: "a"}
	s, err := canary.NewState(canary.Spec{ID: "deploy-7", Function: "checkout", Route: current, Candidate: "7", Strategy: st},
		provider.Capabilities{MaxRouteVersions: 2})
	if err != nil {
		fmt.Println(err)
		return
	}
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	s, actions := canary.Next(s, canary.Event{Kind: canary.EventStart}, now)
	for len(actions) > 0 {
		a := actions[0]
		var ev canary.Event
		switch a.Kind {
		case canary.ActionSetRoute:
			fmt.Printf("%s set %v\n", now.Format("15:04"), a.Route.Weights)
			written := a.Route
			written.Revision += "'" // the provider returns a new revision
			ev = canary.Event{Kind: canary.EventRouteSet, Route: written}
		case canary.ActionWait:
			now = a.Until
			ev = canary.Event{Kind: canary.EventTick}
		case canary.ActionMeasure:
			m, _ := st.Analysis.Checks[0].Check.Judge(context.Background(), a.Window)
			fmt.Printf("%s judge [%s, %s) at %d bp: %s\n", now.Format("15:04"), a.Window.Start.Format("15:04"), a.Window.End.Format("15:04"), a.Window.Weight, m.Verdict)
			ev = canary.Event{Kind: canary.EventMeasured, Start: a.Window.Start, End: a.Window.End,
				Results: []canary.CheckResult{{Name: "errors", Measurement: m}}}
		case canary.ActionDone:
			fmt.Printf("%s %s: %s\n", now.Format("15:04"), a.Phase, a.Reason)
			actions = nil
			continue
		}
		s, actions = canary.Next(s, ev, now)
	}
	// Output:
	// 12:00 set [{6 8000} {7 2000}]
	// 12:01 judge [12:00, 12:01) at 2000 bp: Pass
	// 12:02 judge [12:01, 12:02) at 2000 bp: Pass
	// 12:02 set [{7 10000}]
	// 12:02 Succeeded: all traffic of "live" on version 7
}

// TestMachineResumeDuringMeasurement: resuming a pause restarts the bake;
// a measurement that was outstanding then belongs to the old bake, so the
// machine stops waiting for it, schedules the new first window, and
// ignores the old result when it comes.
func TestMachineResumeDuringMeasurement(t *testing.T) {
	measuring, old := mBakingT(t)
	s, acts := canary.Next(measuring, canary.Event{Kind: canary.EventPause}, mT0.Add(61*time.Second))
	if s.Phase != canary.PhasePaused || len(acts) != 0 {
		t.Fatalf("pause: %s %v", s.Phase, acts)
	}
	s, acts = canary.Next(s, canary.Event{Kind: canary.EventResume}, mT0.Add(10*time.Minute))
	want := []canary.Action{{Kind: canary.ActionWait, Until: mT0.Add(11 * time.Minute)}}
	if diff := cmp.Diff(want, acts, cmpopts.EquateEmpty()); diff != "" || s.Awaiting != canary.AwaitNothing {
		t.Fatalf("resume: awaiting %s, actions (-want +got):\n%s", s.Awaiting, diff)
	}
	late := canary.Event{Kind: canary.EventMeasured, Start: old.Window.Start, End: old.Window.End,
		Results: []canary.CheckResult{{Name: "errors", Measurement: canary.Measurement{Verdict: canary.Fail}}}}
	after, acts := canary.Next(s, late, mT0.Add(10*time.Minute+time.Second))
	if len(acts) != 0 || !mEqual(after, s) {
		t.Errorf("late result of the old bake was not ignored: %s %v", after.Phase, acts)
	}
}

// mBakingT is mBaking for tests.
func mBakingT(t *testing.T) (canary.State, canary.Action) {
	st, _ := canary.Preset("Canary10Percent5Minutes")
	st.Analysis.Checks = []canary.CheckSpec{{Name: "errors", Check: mPass}}
	m := mNewSim(t, st)
	m.feed(canary.Event{Kind: canary.EventStart})
	m.perform(m.queue[0]) // SetRoute
	m.queue = nil
	m.now = mT0.Add(time.Minute)
	m.feed(canary.Event{Kind: canary.EventTick})
	if len(m.queue) != 1 || m.queue[0].Kind != canary.ActionMeasure {
		t.Fatalf("setup: %v", m.queue)
	}
	return m.s, m.queue[0]
}

// TestMachineRouteFailedAdoptsOnlyLandedWrites: a failed write whose route
// read back has the requested traffic is adopted as the write's result only
// when the failure was not a conflict (a timeout whose write landed). On a
// conflict the route is someone else's even with that very traffic (a
// second rollout of the same candidate): the conflict policy applies.
func TestMachineRouteFailedAdoptsOnlyLandedWrites(t *testing.T) {
	for _, tc := range []struct {
		name       string
		onConflict canary.ConflictPolicy
		err        error
		conflict   bool
		wantPhase  canary.Phase
		// wantRoute is the revision of the production route the state
		// records afterwards: "oob" for the route read back, "r1" for the
		// stable route the rollout started from.
		wantRoute string
		// wantWrite: a SetRoute of the stable route over the route read
		// back follows.
		wantWrite bool
		// wrote: an earlier write of the rollout had taken effect.
		wrote bool
	}{
		{name: "timeout that landed", err: provider.ErrUnavailable, wantPhase: canary.PhaseBaking, wantRoute: "oob"},
		{name: "conflict flag, stop", err: errors.New("route changed"), conflict: true, wantPhase: canary.PhaseFailed, wantRoute: "r1"},
		{name: "ErrConflict, stop", err: fmt.Errorf("set live: %w", provider.ErrConflict), wantPhase: canary.PhaseFailed, wantRoute: "r1"},
		// Issue 13: a rollout whose first write conflicted never moved any
		// traffic; rolling back would write the stable route over the other
		// pipeline's canary. It stops instead, even under RollBackOnConflict.
		{name: "conflict before any write of its own, roll back policy", onConflict: canary.RollBackOnConflict, err: provider.ErrConflict, conflict: true,
			wantPhase: canary.PhaseFailed, wantRoute: "r1"},
		{name: "conflict after a write of its own, roll back", onConflict: canary.RollBackOnConflict, err: provider.ErrConflict, conflict: true,
			wrote: true, wantPhase: canary.PhaseRollingBack, wantRoute: "oob", wantWrite: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, _ := canary.Preset("Canary10Percent5Minutes")
			st.Analysis.Checks = []canary.CheckSpec{{Name: "errors", Check: mPass}}
			m := mNewSimSpec(t, canary.Spec{Strategy: st, OnConflict: tc.onConflict})
			m.feed(canary.Event{Kind: canary.EventStart})
			if len(m.queue) != 1 || m.queue[0].Kind != canary.ActionSetRoute || m.s.Route.Revision != "r1" {
				t.Fatalf("setup: route %q, actions %v; want one SetRoute over r1", m.s.Route.Revision, m.queue)
			}
			awaiting := m.s
			awaiting.Wrote = tc.wrote
			landed := m.queue[0].Route.Clone()
			landed.Revision = "oob"
			ev := canary.Event{Kind: canary.EventRouteFailed, Err: tc.err, Conflict: tc.conflict, Route: landed}
			got, acts := canary.Next(awaiting, ev, mT0.Add(time.Second))
			if err := mCheckStep(awaiting, got, acts); err != nil {
				t.Fatal(err)
			}
			if got.Phase != tc.wantPhase || got.Route.Revision != tc.wantRoute {
				t.Errorf("phase %s, route revision %q; want %s, %q", got.Phase, got.Route.Revision, tc.wantPhase, tc.wantRoute)
			}
			var writes []provider.Route
			for _, a := range acts {
				if a.Kind == canary.ActionSetRoute {
					writes = append(writes, a.Route)
				}
			}
			rollback := len(writes) == 1 && writes[0].Revision == "oob" && writes[0].Share("1") == 10000
			if tc.wantWrite && !rollback || !tc.wantWrite && len(writes) > 0 {
				t.Errorf("writes %v; want the stable route over \"oob\": %v", writes, tc.wantWrite)
			}
		})
	}
}
