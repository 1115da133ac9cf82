package canary_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/slipway-dev/slipway/canary"
	"github.com/slipway-dev/slipway/provider"
	"github.com/slipway-dev/slipway/provider/memory"
)

// alarmBook is an AlarmReader over fixed alarms: it filters their changes
// by since as the contract says, and refuses unknown names.
type alarmBook map[string]provider.Alarm

func (b alarmBook) Alarms(ctx context.Context, names []string, since time.Time) ([]provider.Alarm, error) {
	var out []provider.Alarm
	for _, n := range names {
		al, ok := b[n]
		if !ok {
			return nil, &provider.Error{Op: "alarms", Err: fmt.Errorf("alarm %q: %w", n, provider.ErrNotFound)}
		}
		var kept []provider.AlarmChange
		for _, c := range al.Changes {
			if !c.Time.Before(since) {
				kept = append(kept, c)
			}
		}
		al.Changes = kept
		out = append(out, al)
	}
	return out, nil
}

// TestAlarms walks the rule: windows [10:10, 10:11) of a rollout started at
// 10:00; times are minutes after 10:00.
func TestAlarms(t *testing.T) {
	base := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	m := func(min float64) time.Time { return base.Add(time.Duration(min * float64(time.Minute))) }
	ch := func(at float64, from, to provider.AlarmState) provider.AlarmChange {
		return provider.AlarmChange{Time: m(at), From: from, To: to}
	}
	const (
		ok   = provider.AlarmOK
		fire = provider.AlarmFiring
		nd   = provider.AlarmInsufficientData
	)
	cases := []struct {
		name  string
		alarm provider.Alarm
		want  canary.Verdict
	}{
		{"quiet all along", provider.Alarm{State: ok, Since: m(-100)}, canary.Pass},
		{"insufficient data", provider.Alarm{State: nd, Since: m(-5)}, canary.Pass},
		{"firing before the rollout, still firing (SAM #716)", provider.Alarm{State: fire, Since: m(-30)}, canary.Pass},
		{"firing before, cleared during the rollout", provider.Alarm{State: ok, Since: m(3), Changes: []provider.AlarmChange{ch(3, fire, ok)}}, canary.Pass},
		{"firing before, cleared, fired again in an earlier window and still firing", provider.Alarm{State: fire, Since: m(5), Changes: []provider.AlarmChange{ch(3, fire, ok), ch(5, ok, fire)}}, canary.Fail},
		{"entered ALARM in the window", provider.Alarm{State: fire, Since: m(10.5), Changes: []provider.AlarmChange{ch(10.5, ok, fire)}}, canary.Fail},
		{"flapped inside the window", provider.Alarm{State: ok, Since: m(10.6), Changes: []provider.AlarmChange{ch(10.2, ok, fire), ch(10.6, fire, ok)}}, canary.Fail},
		{"entered after the rollout started, before the window, still firing", provider.Alarm{State: fire, Since: m(4), Changes: []provider.AlarmChange{ch(4, ok, fire)}}, canary.Fail},
		{"fired and cleared before the window", provider.Alarm{State: ok, Since: m(8), Changes: []provider.AlarmChange{ch(4, ok, fire), ch(8, fire, ok)}}, canary.Pass},
		{"cleared exactly at the window's start", provider.Alarm{State: ok, Since: m(10), Changes: []provider.AlarmChange{ch(4, ok, fire), ch(10, fire, ok)}}, canary.Pass},
		{"entered exactly at the window's end", provider.Alarm{State: fire, Since: m(11), Changes: []provider.AlarmChange{ch(11, ok, fire)}}, canary.Pass},
		{"fired after the window (read late)", provider.Alarm{State: fire, Since: m(12), Changes: []provider.AlarmChange{ch(12, ok, fire)}}, canary.Pass},
		{"entered exactly at the rollout's start", provider.Alarm{State: fire, Since: m(0), Changes: []provider.AlarmChange{ch(0, ok, fire)}}, canary.Fail},
		{"change before the rollout is no evidence", provider.Alarm{State: ok, Since: m(-1), Changes: []provider.AlarmChange{ch(-2, ok, fire), ch(-1, fire, ok)}}, canary.Pass},
	}
	w := canary.MetricWindow{Function: "f", Alias: "live", Candidate: "2", Stable: "1", Start: m(10), End: m(11), Started: m(0)}
	for _, c := range cases {
		c.alarm.Name = "errors"
		check := canary.Alarms{Reader: alarmBook{"errors": c.alarm, "latency": {Name: "latency", State: ok}}, Names: []string{"latency", "errors"}}
		got, err := check.Judge(context.Background(), w)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if got.Verdict != c.want {
			t.Errorf("%s: %s (%s), want %s", c.name, got.Verdict, got.Reason, c.want)
		}
		if c.want == canary.Fail && got.Value != 1 {
			t.Errorf("%s: Value %v, want 1 alarm", c.name, got.Value)
		}
	}
}

func TestAlarmsErrors(t *testing.T) {
	w := canary.MetricWindow{Start: time.Unix(600, 0), End: time.Unix(660, 0)}
	if _, err := (canary.Alarms{Names: []string{"a"}}).Judge(context.Background(), w); !errors.Is(err, provider.ErrInvalid) {
		t.Errorf("no reader: %v, want ErrInvalid", err)
	}
	if _, err := (canary.Alarms{Reader: alarmBook{}}).Judge(context.Background(), w); !errors.Is(err, provider.ErrInvalid) {
		t.Errorf("no names: %v, want ErrInvalid", err)
	}
	if _, err := (canary.Alarms{Reader: alarmBook{}, Names: []string{"missing"}}).Judge(context.Background(), w); !errors.Is(err, provider.ErrNotFound) {
		t.Errorf("unknown alarm: %v, want ErrNotFound", err)
	}
}

// TestWindowCarriesStarted: every window a check judges carries the
// rollout's start, which Alarms measures from.
func TestWindowCarriesStarted(t *testing.T) {
	ctx := context.Background()
	t0 := time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC)
	clock := canary.NewVirtualClock(t0)
	mem, err := memory.New(memory.Options{Now: clock.Now, Sleep: clock.Sleep, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	for _, code := range []string{"v1", "v2"} {
		if _, err := mem.Publish(ctx, "checkout", provider.PublishInput{Artifact: provider.Artifact{Zip: []byte(code)}}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := mem.SetRoute(ctx, "checkout", provider.To("prod", "1")); err != nil {
		t.Fatal(err)
	}
	mem.SetLoad("checkout", "prod", 50)
	var starts []time.Time
	strategy, err := canary.Preset("Canary10Percent5Minutes")
	if err != nil {
		t.Fatal(err)
	}
	strategy.Analysis.Checks = []canary.CheckSpec{{Name: "started", Check: canary.CheckFunc(func(_ context.Context, w canary.MetricWindow) (canary.Measurement, error) {
		starts = append(starts, w.Started)
		return canary.Measurement{Verdict: canary.Pass, Reason: "recorded"}, nil
	})}}
	runner, err := canary.NewRunner(canary.RunnerOptions{Provider: mem, Metrics: mem, Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := runner.Start(ctx, canary.Rollout{ID: "r", Function: "checkout", Alias: "prod", Candidate: "2", Strategy: strategy}); err != nil {
		t.Fatal(err)
	}
	if len(starts) < 2 {
		t.Fatalf("%d windows judged, want several", len(starts))
	}
	for i, s := range starts {
		if !s.Equal(t0) {
			t.Errorf("window %d: Started = %s, want the rollout's start %s", i, s, t0)
		}
	}
}
