package providertest_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/slipway-dev/slipway/provider"
	"github.com/slipway-dev/slipway/provider/memory"
	"github.com/slipway-dev/slipway/provider/providertest"
)

// clock is a virtual clock safe for concurrent use.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// trafficMemory returns a memory provider that served 20 minutes of a 10%
// canary at 50 requests per second on a virtual clock, and the options
// that observe it.
func trafficMemory(t *testing.T) (*memory.Provider, providertest.MetricsOptions) {
	t.Helper()
	clk := &clock{now: time.Date(2026, 3, 1, 12, 0, 30, 0, time.UTC)}
	p := newMemory(t, memory.Options{Now: clk.Now, Seed: 42})
	ctx := t.Context()
	const fn = "metrics"
	var ids []string
	for i := range 2 {
		v, err := p.Publish(ctx, fn, provider.PublishInput{Artifact: provider.Artifact{Image: "registry.example/app:" + string(rune('a'+i))}})
		if err != nil {
			t.Fatalf("Publish: %v", err)
		}
		ids = append(ids, v.ID)
	}
	if _, err := p.SetRoute(ctx, fn, provider.Split("live", ids[0], ids[1], 1000)); err != nil {
		t.Fatalf("SetRoute: %v", err)
	}
	p.SetLoad(fn, "live", 50)
	p.SetBehavior(fn, ids[0], memory.Behavior{ErrorRate: 0.001, Latency: memory.Latency{Median: 40 * time.Millisecond, P99: 200 * time.Millisecond}})
	p.SetBehavior(fn, ids[1], memory.Behavior{ErrorRate: 0.05, ThrottleRate: 0.01, Latency: memory.Latency{Median: 60 * time.Millisecond, P99: 900 * time.Millisecond},
		ColdStart: memory.ColdStart{Rate: 0.02, Init: 300 * time.Millisecond}})
	clk.Advance(20 * time.Minute)
	return p, providertest.MetricsOptions{Function: fn, Versions: ids, Alias: "live", Now: clk.Now, Periods: 12, WantTraffic: true}
}

func TestMemoryMetrics(t *testing.T) {
	p, opts := trafficMemory(t)
	providertest.RunMetrics(t, p, opts)
}

// misaligning widens a misaligned query to whole periods instead of
// refusing it, so a candidate and its baseline may be compared over
// different windows.
type misaligning struct{ provider.Metrics }

func (m misaligning) Observe(ctx context.Context, q provider.Query) (provider.Observation, error) {
	if q.Period > 0 {
		q.Start = provider.AlignDown(q.Start, q.Period)
		q.End = provider.AlignDown(q.End, q.Period)
	}
	return m.Metrics.Observe(ctx, q)
}

// halfPeriods reports the period in progress as if it were complete.
type halfPeriods struct {
	provider.Metrics
	now func() time.Time
}

func (m halfPeriods) Observe(ctx context.Context, q provider.Query) (provider.Observation, error) {
	obs, err := m.Metrics.Observe(ctx, q)
	if err != nil || !obs.Through.Before(q.End) {
		return obs, err
	}
	for i := range obs.Series {
		obs.Series[i].Points = append(obs.Series[i].Points, provider.Point{Start: obs.Through, Invocations: 1})
	}
	obs.Through = m.now()
	return obs, nil
}

func TestStrictMetrics(t *testing.T) {
	p, opts := trafficMemory(t)
	if rep := providertest.RunMetricsRecorded(p, opts); len(rep.Names(providertest.Failed)) > 0 {
		for _, name := range rep.Names(providertest.Failed) {
			t.Errorf("control: memory failed %s: %q", name, rep.Messages(name))
		}
	}
	cases := []struct {
		name     string
		m        provider.Metrics
		mustFail string
	}{
		{"Misaligning", misaligning{p}, "Metrics/Invalid"},
		{"HalfPeriods", halfPeriods{p, opts.Now}, "Metrics/Future"},
	}
	for _, c := range cases {
		rep := providertest.RunMetricsRecorded(c.m, opts)
		if o, ran := rep.Outcome(c.mustFail); !ran || o != providertest.Failed {
			t.Errorf("%s: clause %s ran %t, %v; want failed (failed: %q)", c.name, c.mustFail, ran, o, rep.Names(providertest.Failed))
		}
		t.Logf("%s: %q", c.name, rep.Messages(c.mustFail))
	}
}
