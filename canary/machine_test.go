package canary_test

import (
	"context"
		"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

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
}

func (p *mPlatform) set(r provider.Route) (provider.Route, error) {
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
	p.rev++
	r = r.Clone()
	r.Revision = "r" + strconv.Itoa(p.rev)
	p.routes[r.Alias] = r
	return r, nil
}

// mSim drives the machine as a runner would, in virtual time, and records
// what it did. judge returns the results of a window; hook the outcome of
// a hook.
type mSim struct {
	t      *testing.T
	s      canary.State
	now    time.Time
	plat   *mPlatform
	judge  func(w canary.Window, checks []string) ([]canary.CheckResult, error)
	hook   func(name string) error
	trace  []string
	queue  []canary.Action
	events []canary.Event // operator events injected at given times
	at     []time.Time
}

func mNewSim(t *testing.T, st canary.Strategy) *mSim {
	t.Helper()
	plat := &mPlatform{routes: map[string]provider.Route{}}
	stable, _ := plat.set(provider.To("live", "1"))
	s, err := canary.NewState(canary.Spec{ID: "r1", Function: "fn", Route: stable, Candidate: "2", Strategy: st}, provider.Capabilities{})
	if err != nil {
		t.Fatal(err)
	}
	return &mSim{t: t, s: s, now: mT0, plat: plat,
		judge: func(w canary.Window, checks []string) ([]canary.CheckResult, error) {
			var rs []canary.CheckResult
			for _, c := range s.Checks {
				rs = append(rs, canary.CheckResult{Name: c.Name, Measurement: canary.Measurement{Verdict: canary.Pass, Reason: "ok"}})
			}
			return rs, nil
		},
		hook: func(string) error { return nil },
	}
}

func (m *mSim) feed(ev canary.Event) {
	var acts []canary.Action
	before := m.s.Clone()
	m.s, acts = canary.Next(m.s, ev, m.now)
	if diff := cmp.Diff(before, m.s.Clone()); diff == "" && len(acts) == 0 && ev.Kind != canary.EventTick {
		m.trace = append(m.trace, fmt.Sprintf("%s %s ignored", m.stamp(), ev.Kind))
	}
	m.queue = append(m.queue, acts...)
}

func (m *mSim) stamp() string { return "+" + m.now.Sub(mT0).String() }

// run feeds Start and performs actions until Done or the step budget ends.
func (m *mSim) run() {
	m.feed(canary.Event{Kind: canary.EventStart})
	for range 10000 {
		if len(m.queue) == 0 {
			if len(m.events) > 0 {
				m.now = mMaxTime(m.now, m.at[0])
				ev := m.events[0]
				m.events, m.at = m.events[1:], m.at[1:]
				m.trace = append(m.trace, fmt.Sprintf("%s operator %s", m.stamp(), ev.Kind))
				m.feed(ev)
				continue
			}
			return
		}
		a := m.queue[0]
		m.queue = m.queue[1:]
		switch a.Kind {
		case canary.ActionSetRoute:
			m.trace = append(m.trace, fmt.Sprintf("%s set %s %s", m.stamp(), a.Route.Alias, mTraffic(a.Route)))
			r, err := m.plat.set(a.Route)
			if err != nil {
				m.feed(canary.Event{Kind: canary.EventRouteFailed, Err: err, Route: r})
				continue
			}
			m.feed(canary.Event{Kind: canary.EventRouteSet, Route: r})
		case canary.ActionMeasure:
			m.trace = append(m.trace, fmt.Sprintf("%s measure %s [+%s,+%s)", m.stamp(), a.Window.Alias, a.Window.Start.Sub(mT0), a.Window.End.Sub(mT0)))
			rs, err := m.judge(a.Window, a.Checks)
			m.feed(canary.Event{Kind: canary.EventMeasured, Start: a.Window.Start, End: a.Window.End, Results: rs, Err: err})
		case canary.ActionRunHook:
			m.trace = append(m.trace, fmt.Sprintf("%s hook %s", m.stamp(), a.Hook))
			m.feed(canary.Event{Kind: canary.EventHookDone, Hook: a.Hook, Err: m.hook(a.Hook)})
		case canary.ActionWait:
			if len(m.events) > 0 && !m.at[0].After(a.Until) {
				m.now = mMaxTime(m.now, m.at[0])
				ev := m.events[0]
				m.events, m.at = m.events[1:], m.at[1:]
				m.trace = append(m.trace, fmt.Sprintf("%s operator %s", m.stamp(), ev.Kind))
				m.feed(ev)
				if len(m.queue) == 0 && !m.s.Done() {
					m.feed(canary.Event{Kind: canary.EventTick})
				}
				continue
			}
			m.now = mMaxTime(m.now, a.Until)
			m.feed(canary.Event{Kind: canary.EventTick})
		case canary.ActionDone:
			m.trace = append(m.trace, fmt.Sprintf("%s done %s: %s", m.stamp(), a.Phase, a.Reason))
		}
	}
	m.t.Fatal("scenario did not finish")
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
