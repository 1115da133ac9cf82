package providertest_test

import (
	"context"
	"testing"
	"time"

	"github.com/slipway-dev/slipway/provider"
	"github.com/slipway-dev/slipway/provider/memory"
	"github.com/slipway-dev/slipway/provider/providertest"
)

// memoryFixture is the in-memory provider as a seeded metrics source: one
// alias per version ("v1", "v2") routed to it alone, loaded at the plan's
// rate, with the plan's error fraction as the version's error rate.
func memoryFixture(t *testing.T) providertest.MetricsFixture {
	t.Helper()
	clk := &clock{now: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)}
	p := newMemory(t, memory.Options{Now: clk.Now, Seed: 7, MetricsLag: time.Minute})
	const fn = "source"
	var ids []string
	for i := range 3 {
		v, err := p.Publish(t.Context(), fn, provider.PublishInput{Artifact: provider.Artifact{Image: "registry.example/app:" + string(rune('a'+i))}})
		if err != nil {
			t.Fatalf("Publish: %v", err)
		}
		ids = append(ids, v.ID)
	}
	return providertest.MetricsFixture{
		Metrics: p, Function: fn, Versions: ids, Now: clk.Now, Sampled: true,
		Seed: func(t *testing.T, plan providertest.Plan) {
			clk.Advance(plan.Start.Add(-plan.Quiet).Sub(clk.Now()))
			for i, tr := range plan.Traffic {
				alias := "v" + ids[i]
				if _, err := p.SetRoute(t.Context(), fn, provider.To(alias, ids[i])); err != nil {
					t.Fatalf("SetRoute: %v", err)
				}
				p.SetBehavior(fn, ids[i], memory.Behavior{ErrorRate: float64(tr.Errors) / float64(tr.Invocations),
					Latency: memory.Latency{Median: 40 * time.Millisecond, P99: 200 * time.Millisecond}})
			}
			clk.Advance(plan.Start.Sub(clk.Now()))
			for i, tr := range plan.Traffic {
				p.SetLoad(fn, "v"+ids[i], float64(tr.Invocations)/plan.Resolution.Seconds())
			}
			clk.Advance(plan.End().Sub(clk.Now()))
			for i := range plan.Traffic {
				p.SetLoad(fn, "v"+ids[i], 0)
			}
			clk.Advance(plan.Quiet + 2*time.Minute)
		},
		PagePeriods: 100, // memory answers in one call; the clause checks a long window all the same
		Failing: func(t *testing.T, target error) (provider.Metrics, bool) {
			var err error
			switch target {
			case provider.ErrThrottled:
				err = &provider.ThrottleError{RetryAfter: time.Second}
			case provider.ErrUnavailable:
				err = provider.ErrUnavailable
			default:
				return nil, false
			}
			f := newMemory(t, memory.Options{Now: clk.Now})
			for i := range 3 {
				if _, perr := f.Publish(t.Context(), fn, provider.PublishInput{Artifact: provider.Artifact{Image: "registry.example/app:" + string(rune('a'+i))}}); perr != nil {
					t.Fatal(perr)
				}
			}
			f.Inject(memory.Fault{Ops: []string{memory.OpObserve}, Err: err})
			return f, true
		},
	}
}

func TestMemorySource(t *testing.T) {
	providertest.RunSource(t, memoryFixture(t))
}

// swapping returns each version's series under the other's name.
type swapping struct{ provider.Metrics }

func (m swapping) Observe(ctx context.Context, q provider.Query) (provider.Observation, error) {
	obs, err := m.Metrics.Observe(ctx, q)
	if err == nil && len(obs.Series) > 1 {
		obs.Series[0].Points, obs.Series[1].Points = obs.Series[1].Points, obs.Series[0].Points
	}
	return obs, err
}

// pageLoss drops the periods past the first page, as a source that ignores
// a next-page token would.
type pageLoss struct {
	provider.Metrics
	page int
}

func (m pageLoss) Observe(ctx context.Context, q provider.Query) (provider.Observation, error) {
	obs, err := m.Metrics.Observe(ctx, q)
	for i, s := range obs.Series {
		for k := m.page; k < len(s.Points); k++ {
			obs.Series[i].Points[k] = provider.Point{Start: s.Points[k].Start}
		}
	}
	return obs, err
}

// emptyDropping leaves out periods without traffic instead of zero points.
type emptyDropping struct{ provider.Metrics }

func (m emptyDropping) Observe(ctx context.Context, q provider.Query) (provider.Observation, error) {
	obs, err := m.Metrics.Observe(ctx, q)
	for i, s := range obs.Series {
		var kept []provider.Point
		for _, p := range s.Points {
			if p.Invocations > 0 {
				kept = append(kept, p)
			}
		}
		obs.Series[i].Points = kept
	}
	return obs, err
}

// sentinelless returns the platform's failure without the sentinel.
type sentinelless struct{ provider.Metrics }

func (m sentinelless) Observe(ctx context.Context, q provider.Query) (provider.Observation, error) {
	obs, err := m.Metrics.Observe(ctx, q)
	if err != nil {
		return obs, &provider.Error{Op: "observe", Function: q.Function, Err: context.DeadlineExceeded}
	}
	return obs, nil
}

// TestStrictSource shows RunSource fails sources that each break one
// clause, and passes the memory provider they wrap.
func TestStrictSource(t *testing.T) {
	cases := []struct {
		name     string
		wrap     func(provider.Metrics) provider.Metrics
		mustFail string
	}{
		{"Control", func(m provider.Metrics) provider.Metrics { return m }, ""},
		{"Swapping", func(m provider.Metrics) provider.Metrics { return swapping{m} }, "Source/Totals"},
		{"PageLoss", func(m provider.Metrics) provider.Metrics { return pageLoss{m, 50} }, "Source/Paging"},
		{"EmptyDropping", func(m provider.Metrics) provider.Metrics { return emptyDropping{m} }, "Source/Empty"},
		{"BareErrors", func(m provider.Metrics) provider.Metrics { return sentinelless{m} }, "Source/Errors"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := memoryFixture(t)
			f.Metrics = c.wrap(f.Metrics)
			failing := f.Failing
			f.Failing = func(t *testing.T, target error) (provider.Metrics, bool) {
				m, ok := failing(t, target)
				return c.wrap(m), ok
			}
			rep := providertest.RunSourceRecorded(t, f)
			failed := rep.Names(providertest.Failed)
			if c.mustFail == "" {
				if len(failed) > 0 {
					t.Errorf("control failed %q", failed)
					for _, n := range failed {
						t.Logf("%s: %q", n, rep.Messages(n))
					}
				}
				return
			}
			if o, ran := rep.Outcome(c.mustFail); !ran || o != providertest.Failed {
				t.Errorf("clause %s ran %t, %v; want failed (failed: %q)", c.mustFail, ran, o, failed)
			}
		})
	}
}
