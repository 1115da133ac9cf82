package canary_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/slipway-dev/slipway/canary"
	"github.com/slipway-dev/slipway/provider"
	"github.com/slipway-dev/slipway/provider/memory"
)

// bakeRun drives canary.Next for strategy s started at start, every window
// passing, and returns the windows measured ("09:01:00-09:02:00") and the
// times of the route writes after the first.
func bakeRun(t *testing.T, s canary.Strategy, start time.Time) (windows []string, shifts []time.Time) {
	t.Helper()
	ctx := context.Background()
	now := start
	mem, err := memory.New(memory.Options{Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	for _, code := range []string{"v1", "v2"} {
		if _, err := mem.Publish(ctx, "fn", provider.PublishInput{Artifact: provider.Artifact{Zip: []byte(code)}}); err != nil {
			t.Fatal(err)
		}
	}
	route, err := mem.SetRoute(ctx, "fn", provider.To("live", "1"))
	if err != nil {
		t.Fatal(err)
	}
	st, err := canary.NewState(canary.Spec{ID: "r", Function: "fn", Route: route, Candidate: "2", Strategy: s}, mem.Capabilities())
	if err != nil {
		t.Fatal(err)
	}
	st, acts := canary.Next(st, canary.Event{Kind: canary.EventStart}, now)
	writes := 0
	for range 1000 {
		if st.Phase.Terminal() {
			return windows, shifts
		}
		ev := canary.Event{Kind: canary.EventTick}
		for _, a := range acts {
			switch a.Kind {
			case canary.ActionSetRoute:
				r, err := mem.SetRoute(ctx, "fn", a.Route)
				if err != nil {
					t.Fatal(err)
				}
				if writes++; writes > 1 {
					shifts = append(shifts, now)
				}
				ev = canary.Event{Kind: canary.EventRouteSet, Route: r}
			case canary.ActionWait:
				now = a.Until
			case canary.ActionMeasure:
				w := a.Window
				windows = append(windows, w.Start.Format("15:04:05")+"-"+w.End.Format("15:04:05"))
				ev = canary.Event{Kind: canary.EventMeasured, Start: w.Start, End: w.End}
				for _, c := range st.Checks {
					ev.Results = append(ev.Results, canary.CheckResult{Name: c.Name, Measurement: canary.Measurement{Verdict: canary.Pass}})
				}
			default:
				continue
			}
			break
		}
		st, acts = canary.Next(st, ev, now)
	}
	t.Fatalf("rollout did not end: %s", st.Phase)
	return nil, nil
}

// TestBakeWindows is the bake's schedule: a judged step measures
// Plan.Windows whole windows whenever it starts, and bakes until the later
// of StepStarted+Bake and the end of its last window (Plan.BakeEnd). A
// start on a boundary is unchanged; a start mid-interval bakes less than one
// interval longer instead of judging a window fewer.
func TestBakeWindows(t *testing.T) {
	day := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	at := func(hms string) time.Time {
		tm, err := time.Parse("15:04:05", hms)
		if err != nil {
			t.Fatal(err)
		}
		return day.Add(time.Duration(tm.Hour())*time.Hour + time.Duration(tm.Minute())*time.Minute + time.Duration(tm.Second())*time.Second)
	}
	judged := func(s canary.Strategy, warmUp, interval time.Duration) canary.Strategy {
		s.Analysis.Checks = []canary.CheckSpec{{Name: "c", Check: mPass}}
		s.WarmUp, s.Interval = warmUp, interval
		return s
	}
	five := canary.Canary(1000, 5*time.Minute)
	two := canary.Canary(1000, 2*time.Minute)
	two.Steps = []canary.Step{{Weight: 1000, Bake: 2 * time.Minute}, {Weight: 2000, Bake: 2 * time.Minute}}
	for _, tc := range []struct {
		name    string
		s       canary.Strategy
		start   string
		windows []string
		shifts  []string
	}{{
		name:  "aligned",
		s:     judged(five, 0, 0),
		start: "09:00:00",
		windows: []string{"09:00:00-09:01:00", "09:01:00-09:02:00", "09:02:00-09:03:00", "09:03:00-09:04:00",
			"09:04:00-09:05:00"},
		shifts: []string{"09:05:00"},
	}, {
		name:  "one second late",
		s:     judged(five, 0, 0),
		start: "09:00:01",
		windows: []string{"09:01:00-09:02:00", "09:02:00-09:03:00", "09:03:00-09:04:00", "09:04:00-09:05:00",
			"09:05:00-09:06:00"},
		shifts: []string{"09:06:00"},
	}, {
		name:  "mid-minute",
		s:     judged(five, 0, 0),
		start: "09:00:17",
		windows: []string{"09:01:00-09:02:00", "09:02:00-09:03:00", "09:03:00-09:04:00", "09:04:00-09:05:00",
			"09:05:00-09:06:00"},
		shifts: []string{"09:06:00"},
	}, {
		name:    "no checks: bake only",
		s:       five,
		start:   "09:00:17",
		windows: nil,
		shifts:  []string{"09:05:17"},
	}, {
		// The strategy doc's example: 4 windows, the same on a boundary.
		name:    "warm-up 30s, aligned step",
		s:       judged(five, 30*time.Second, 0),
		start:   "12:00:00",
		windows: []string{"12:01:00-12:02:00", "12:02:00-12:03:00", "12:03:00-12:04:00", "12:04:00-12:05:00"},
		shifts:  []string{"12:05:00"},
	}, {
		// The warm-up ends on a boundary: 4 windows end by StepStarted+Bake.
		name:    "warm-up 30s, warm-up ends on a boundary",
		s:       judged(five, 30*time.Second, 0),
		start:   "12:00:30",
		windows: []string{"12:01:00-12:02:00", "12:02:00-12:03:00", "12:03:00-12:04:00", "12:04:00-12:05:00"},
		shifts:  []string{"12:05:30"},
	}, {
		name:    "warm-up 30s, started 12:00:45",
		s:       judged(five, 30*time.Second, 0),
		start:   "12:00:45",
		windows: []string{"12:02:00-12:03:00", "12:03:00-12:04:00", "12:04:00-12:05:00", "12:05:00-12:06:00"},
		shifts:  []string{"12:06:00"},
	}, {
		name:    "2-minute interval, started 12:01:10",
		s:       judged(canary.Canary(1000, 6*time.Minute), 0, 2*time.Minute),
		start:   "12:01:10",
		windows: []string{"12:02:00-12:04:00", "12:04:00-12:06:00", "12:06:00-12:08:00"},
		shifts:  []string{"12:08:00"},
	}, {
		// Two judged steps: the first starts mid-minute, the second on
		// the boundary where the first ended.
		name:    "two steps, started mid-minute",
		s:       judged(two, 0, 0),
		start:   "09:00:17",
		windows: []string{"09:01:00-09:02:00", "09:02:00-09:03:00", "09:03:00-09:04:00", "09:04:00-09:05:00"},
		shifts:  []string{"09:03:00", "09:05:00"},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			windows, shifts := bakeRun(t, tc.s, at(tc.start))
			var got []string
			for _, s := range shifts {
				got = append(got, s.Format("15:04:05"))
			}
			if diff := cmp.Diff(tc.windows, windows); diff != "" {
				t.Errorf("windows (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.shifts, got); diff != "" {
				t.Errorf("shifts (-want +got):\n%s", diff)
			}
			p := tc.s.Plan()
			if len(tc.s.Analysis.Checks) > 0 {
				if n := p.Windows(0); len(windows) != n*(len(tc.shifts)) {
					t.Errorf("%d windows judged, want Plan.Windows(0) = %d a step", len(windows), n)
				}
			}
			end := p.BakeEnd(0, at(tc.start), len(tc.s.Analysis.Checks) > 0)
			if got := end.Format("15:04:05"); got != tc.shifts[0] {
				t.Errorf("Plan.BakeEnd = %s, want the first shift %s", got, tc.shifts[0])
			}
			if max := at(tc.start).Add(p.MaxBake(0)); !end.Before(max) && len(tc.s.Analysis.Checks) > 0 {
				t.Errorf("Plan.BakeEnd = %s, not before start+MaxBake = %s", end, max)
			}
		})
	}
}

// TestBakeWindowsEveryOffset starts a judged step at every second of the
// interval: the number of windows never changes and the bake never lasts a
// whole interval longer than Bake.
func TestBakeWindowsEveryOffset(t *testing.T) {
	day := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	for _, warmUp := range []time.Duration{0, 30 * time.Second, 90 * time.Second} {
		s := canary.Canary(1000, 5*time.Minute)
		s.WarmUp = warmUp
		s.Analysis.Checks = []canary.CheckSpec{{Name: "c", Check: mPass}}
		want := s.Plan().Windows(0)
		for off := range 60 {
			t.Run(fmt.Sprintf("warmUp=%s/+%ds", warmUp, off), func(t *testing.T) {
				start := day.Add(time.Duration(off) * time.Second)
				windows, shifts := bakeRun(t, s, start)
				if len(windows) != want {
					t.Errorf("%d windows, want %d: %v", len(windows), want, windows)
				}
				if len(shifts) != 1 {
					t.Fatalf("shifts %v", shifts)
				}
				if d := shifts[0].Sub(start); d < 5*time.Minute || d >= 6*time.Minute {
					t.Errorf("bake lasted %s, want [5m, 6m)", d)
				}
			})
		}
	}
}
