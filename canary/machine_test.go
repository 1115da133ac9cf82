package canary_test

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"maps"
	"os"
	"path/filepath"
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
var mPass = canary.CheckFunc(func(context.Context, canary.Window) (canary.Measurement, error) {
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
	judge    func(n int, w canary.Window, checks []string) ([]canary.CheckResult, error)
	measures int
	// hook returns a hook's outcome; hookTakes is its virtual run time.
	hook      func(name string) error
	hookTakes time.Duration
	ops       []mOp
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
	if diff := cmp.Diff(before, old); diff != "" {
		m.t.Fatalf("Next modified its input state (-before +after):\n%s", diff)
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
		if len(acts) != 0 || !cmp.Equal(before, after) {
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
	if len(h) < len(before.History) || !cmp.Equal(h[:len(before.History)], before.History, cmpopts.EquateEmpty()) {
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
	if diff := cmp.Diff(after, back, cmpopts.EquateEmpty()); diff != "" {
		return fmt.Errorf("JSON round trip (-want +got):\n%s", diff)
	}
	return nil
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
