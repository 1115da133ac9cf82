package canary_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/slipway-dev/slipway/canary"
	"github.com/slipway-dev/slipway/provider"
	"github.com/slipway-dev/slipway/provider/memory"
)

// TestNoEvidenceNoPromotion: a candidate that gets no traffic for the whole
// bake has only inconclusive windows; with InconclusiveLimit 1000 they do
// not pause the analysis, but the rollout is still never promoted: it
// pauses (or, with RollBackOnInconclusive, rolls back) at the end of the
// bake instead of shifting all traffic to the candidate. Before issue 13
// it was promoted after 5 minutes with zero passing windows.
func TestNoEvidenceNoPromotion(t *testing.T) {
	for _, tc := range []struct {
		name  string
		check canary.Check
	}{
		{"sequential", canary.Sequential{}},
		{"judge", canary.Judge{Metric: canary.ErrorRate}},
	} {
		for _, policy := range []canary.InconclusivePolicy{canary.PauseOnInconclusive, canary.RollBackOnInconclusive} {
			t.Run(tc.name+"/"+policy.String(), func(t *testing.T) {
				s, err := canary.Preset("Canary10Percent5Minutes")
				if err != nil {
					t.Fatal(err)
				}
				s.Analysis = canary.Analysis{Checks: []canary.CheckSpec{{Name: "c", Check: tc.check}}, InconclusiveLimit: 1000, OnInconclusive: policy}
				o := simRolloutAt(t, s, simStable, 1, 0)
				want := canary.PhasePaused
				if policy == canary.RollBackOnInconclusive {
					want = canary.PhaseRolledBack
				}
				if o.phase != want || o.maxShare == provider.AllTraffic {
					t.Errorf("phase %s, candidate's largest share %d bp; want %s, never all traffic (reason %q)", o.phase, o.maxShare, want, o.reason)
				}
			})
		}
	}
}

// TestValidateMetricsRefusesUndecidable: a latency Judge needs 3 periods a
// side; a 1-minute window on a 1-minute source holds one, so every window
// would be inconclusive and the rollout would pause forever. The strategy
// is refused before anything is touched.
func TestValidateMetricsRefusesUndecidable(t *testing.T) {
	s, err := canary.Preset("Canary10Percent5Minutes")
	if err != nil {
		t.Fatal(err)
	}
	s.Analysis.Checks = []canary.CheckSpec{{Name: "p99", Check: canary.Judge{Metric: canary.LatencyP99}}}
	if err := s.ValidateMetrics(time.Minute); !errors.Is(err, provider.ErrInvalid) {
		t.Errorf("1-minute windows at 1-minute resolution: %v, want ErrInvalid", err)
	}
	if err := s.ValidateMetrics(20 * time.Second); err != nil {
		t.Errorf("3 periods of 20s: %v, want nil", err)
	}
	ok := s
	ok.Analysis.Checks = []canary.CheckSpec{{Name: "seq", Check: canary.Sequential{}}, {Name: "rate", Check: canary.Judge{Metric: canary.ErrorRate}}}
	if err := ok.ValidateMetrics(time.Minute); err != nil {
		t.Errorf("sequential and rate judge: %v, want nil", err)
	}

	// Through the runner: refused before any route write. (Without the
	// refusal the rollout would pause for ever; the deadline ends it.)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	mem, before := runnerFixture(t, memory.Options{Seed: 1})
	r, err := canary.NewRunner(canary.RunnerOptions{Provider: mem, Metrics: mem, Clock: canary.NewVirtualClock(simEpoch)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Start(ctx, canary.Rollout{ID: "r", Function: "fn", Alias: "live", Candidate: "2", Strategy: s}); !errors.Is(err, provider.ErrInvalid) {
		t.Errorf("Start = %v, want ErrInvalid", err)
	}
	if after, _ := mem.Route(ctx, "fn", "live"); after.Revision != before.Revision {
		t.Errorf("route written: %+v → %+v", before, after)
	}
}

// runnerFixture is a memory provider with fn's versions 1 and 2 and alias
// live on 1; it returns the route.
func runnerFixture(t *testing.T, opts memory.Options) (*memory.Provider, provider.Route) {
	t.Helper()
	ctx := context.Background()
	mem, err := memory.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	for _, code := range []string{"v1", "v2"} {
		if _, err := mem.Publish(ctx, "fn", provider.PublishInput{Artifact: provider.Artifact{Zip: []byte(code)}}); err != nil {
			t.Fatal(err)
		}
	}
	r, err := mem.SetRoute(ctx, "fn", provider.To("live", "1"))
	if err != nil {
		t.Fatal(err)
	}
	return mem, r
}

// TestRunnerStartUnpublishedCandidate: a candidate that is not a published
// version is refused with the provider's error in the chain, before any
// route write.
func TestRunnerStartUnpublishedCandidate(t *testing.T) {
	ctx := context.Background()
	mem, before := runnerFixture(t, memory.Options{Seed: 1})
	r, err := canary.NewRunner(canary.RunnerOptions{Provider: mem, Metrics: mem})
	if err != nil {
		t.Fatal(err)
	}
	s, _ := canary.JudgedPreset("Canary10Percent5Minutes")
	for _, cand := range []string{"7", "$LATEST", "not-a-version"} {
		_, err := r.Start(ctx, canary.Rollout{ID: "r-" + cand[:1], Function: "fn", Alias: "live", Candidate: cand, Strategy: s})
		if !errors.Is(err, provider.ErrNotFound) && !errors.Is(err, provider.ErrInvalid) {
			t.Errorf("candidate %q: Start = %v, want ErrNotFound or ErrInvalid", cand, err)
		}
		var re *canary.RolloutError
		if errors.As(err, &re) {
			t.Errorf("candidate %q: a rollout was started and ended (%v); want a refusal before it starts", cand, err)
		}
	}
	if after, _ := mem.Route(ctx, "fn", "live"); after.Revision != before.Revision {
		t.Errorf("route written: %+v → %+v", before, after)
	}
}

// slowProvider adds a fixed round trip to every call the runner makes on
// the route and the metrics, in the calling goroutine's (virtual) time:
// half on the request's way there (the call takes effect, or the source
// answers, when it arrives), half on the response's way back. It counts the
// calls, records when the alias's route was put back on version 1, and
// counts the metrics reads that reached the source no later than the end of
// the window they asked for (reads sent ahead).
type slowProvider struct {
	*memory.Provider
	rtt time.Duration

	mu                    sync.Mutex
	restoredAt            time.Time
	routes, writes, reads int
	ahead                 int
}

func (p *slowProvider) Route(ctx context.Context, fn, alias string) (provider.Route, error) {
	time.Sleep(p.rtt / 2)
	p.mu.Lock()
	p.routes++
	p.mu.Unlock()
	r, err := p.Provider.Route(ctx, fn, alias)
	time.Sleep(p.rtt / 2)
	return r, err
}

func (p *slowProvider) SetRoute(ctx context.Context, fn string, r provider.Route) (provider.Route, error) {
	time.Sleep(p.rtt / 2) // the request's way there: the route changes now
	got, err := p.Provider.SetRoute(ctx, fn, r)
	p.mu.Lock()
	p.writes++
	if err == nil && got.Share("1") == provider.AllTraffic {
		p.restoredAt = time.Now()
	}
	p.mu.Unlock()
	time.Sleep(p.rtt / 2) // and the response's way back
	return got, err
}

func (p *slowProvider) Observe(ctx context.Context, q provider.Query) (provider.Observation, error) {
	time.Sleep(p.rtt / 2) // the source answers with what it has now
	p.mu.Lock()
	p.reads++
	if !time.Now().After(q.End) {
		p.ahead++
	}
	p.mu.Unlock()
	obs, err := p.Provider.Observe(ctx, q)
	time.Sleep(p.rtt / 2)
	return obs, err
}

// TestRunnerRollbackLatency: with a 2 s round trip per API call, a
// candidate failing 15% of requests (against 1%) fails its first window,
// and all traffic is back on the stable version one round trip after the
// window's end: the window's metrics read is sent half a round trip
// (measured on the canary's route write) before the window ends, reaches
// the source as the window closes (a source publishes only complete
// periods: no sooner is useful), its answer is back half a round trip
// later, and the rollback write takes effect half a round trip after that.
// One metrics read for the one window, no route read. Before issue 13 the
// runner read the route, then the metrics, then wrote (3 round trips, 6 s);
// reading at the window's end it is 1.5 round trips (3 s). In virtual time
// (synctest).
func TestRunnerRollbackLatency(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		mem, _ := runnerFixture(t, memory.Options{Seed: 3})
		mem.SetLoad("fn", "live", simLoad)
		mem.SetBehavior("fn", "1", simStable)
		mem.SetBehavior("fn", "2", simErrors)
		const rtt = 2 * time.Second
		p := &slowProvider{Provider: mem, rtt: rtt}
		r, err := canary.NewRunner(canary.RunnerOptions{Provider: p, Metrics: p})
		if err != nil {
			t.Fatal(err)
		}
		s, _ := canary.JudgedPreset("Canary10Percent5Minutes")
		start := time.Now()
		st, err := r.Start(ctx, canary.Rollout{ID: "r", Function: "fn", Alias: "live", Candidate: "2", Strategy: s})
		if !errors.Is(err, canary.ErrRolledBack) || st.Phase != canary.PhaseRolledBack {
			t.Fatalf("Start = %s, %v; want rolled back", st.Phase, err)
		}
		// The canary's route lands after Version, Route and half a SetRoute:
		// 2s + 2s + 1s; its first window is the first whole minute after
		// that, [+1m, +2m).
		shifted := start.Add(rtt + rtt + rtt/2)
		windowEnd := shifted.Truncate(time.Minute).Add(2 * time.Minute)
		late := p.restoredAt.Sub(windowEnd)
		t.Logf("canary shifted at +%s, first window ended at +%s, stable restored at +%s: %s after the window's end (%s per call); calls: %d route reads, %d writes, %d metrics reads (%d sent ahead)",
			shifted.Sub(start), windowEnd.Sub(start), p.restoredAt.Sub(start), late, rtt, p.routes, p.writes, p.reads, p.ahead)
		if late > rtt {
			t.Errorf("stable restored %s after the faulty window ended; want at most one round trip, %s", late, rtt)
		}
		if p.reads != 1 || p.ahead != 1 || p.writes != 2 || p.routes != 1 {
			t.Errorf("calls: %d metrics reads (%d ahead), %d writes, %d route reads; want 1 read (sent ahead), 2 writes (canary, rollback), 1 route read (Start's)",
				p.reads, p.ahead, p.writes, p.routes)
		}
	})
}

// TestRunnerReadAheadCalls: reading a window's metrics ahead of its end
// adds no API call to a prompt source. A healthy candidate through
// Canary10Percent5Minutes with a 2 s round trip: one metrics read per
// window, each sent ahead and complete. On a source that publishes 90 s
// late (memory's MetricsLag), the first read sent ahead comes back
// incomplete, the runner stops reading ahead and reads at each window's end
// and after, as it did before reading ahead existed: the one read sent
// ahead is all it costs in the whole rollout.
func TestRunnerReadAheadCalls(t *testing.T) {
	for _, tc := range []struct {
		name   string
		lag    time.Duration
		prompt bool
	}{{"prompt source", 0, true}, {"source 90s late", 90 * time.Second, false}} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ctx := context.Background()
				mem, _ := runnerFixture(t, memory.Options{Seed: 5, MetricsLag: tc.lag})
				mem.SetLoad("fn", "live", simLoad)
				mem.SetBehavior("fn", "1", simStable)
				mem.SetBehavior("fn", "2", simStable)
				p := &slowProvider{Provider: mem, rtt: 2 * time.Second}
				r, err := canary.NewRunner(canary.RunnerOptions{Provider: p, Metrics: p})
				if err != nil {
					t.Fatal(err)
				}
				s, _ := canary.JudgedPreset("Canary10Percent5Minutes")
				st, err := r.Start(ctx, canary.Rollout{ID: "r", Function: "fn", Alias: "live", Candidate: "2", Strategy: s})
				if err != nil || st.Phase != canary.PhaseSucceeded {
					t.Fatalf("Start = %s, %v; want succeeded", st.Phase, err)
				}
				windows := st.Checks[0].Passes + st.Checks[0].Failures + st.Checks[0].Inconclusives
				t.Logf("%d windows: %d metrics reads (%d sent ahead), %d route reads, %d writes", windows, p.reads, p.ahead, p.routes, p.writes)
				switch {
				case windows < 4:
					t.Errorf("%d windows judged, want at least 4", windows)
				case tc.prompt && (p.reads != windows || p.ahead != windows):
					t.Errorf("%d metrics reads (%d sent ahead) for %d windows; want one per window, sent ahead", p.reads, p.ahead, windows)
				case !tc.prompt && p.ahead != 1:
					t.Errorf("%d metrics reads sent ahead to a source that lags; want 1 (the first, then no more)", p.ahead)
				}
			})
		})
	}
}

// TestRunnerRollBackOnConflictNeverWrote: two pipelines start on the same
// alias; the other one's canary lands between this runner's read of the
// route and its first write. Under RollBackOnConflict this runner, which
// never moved any traffic, stops without writing: the other canary stays.
// Before issue 13 it wrote the stable route over it.
func TestRunnerRollBackOnConflictNeverWrote(t *testing.T) {
	ctx := context.Background()
	mem, _ := runnerFixture(t, memory.Options{Seed: 1})
	if _, err := mem.Publish(ctx, "fn", provider.PublishInput{Artifact: provider.Artifact{Zip: []byte("v3")}}); err != nil {
		t.Fatal(err)
	}
	p := &racingProvider{Provider: mem}
	r, err := canary.NewRunner(canary.RunnerOptions{Provider: p, Metrics: mem, Clock: canary.NewVirtualClock(simEpoch), OnOutOfBand: canary.RollBackOnConflict})
	if err != nil {
		t.Fatal(err)
	}
	s, _ := canary.Preset("Canary10Percent5Minutes")
	st, err := r.Start(ctx, canary.Rollout{ID: "mine", Function: "fn", Alias: "live", Candidate: "2", Strategy: s})
	if st.Phase != canary.PhaseFailed || !errors.Is(err, canary.ErrStopped) {
		t.Errorf("Start = %s, %v; want Failed (stopped)", st.Phase, err)
	}
	got, _ := mem.Route(ctx, "fn", "live")
	if !got.SameTraffic(p.theirs) {
		t.Errorf("route %+v; want the other pipeline's canary %+v left in place", got, p.theirs)
	}
}

// racingProvider lets another pipeline's canary (10% on version 3) land
// just before the first SetRoute it forwards.
type racingProvider struct {
	*memory.Provider
	once   sync.Once
	theirs provider.Route
}

func (p *racingProvider) SetRoute(ctx context.Context, fn string, r provider.Route) (provider.Route, error) {
	p.once.Do(func() {
		cur, err := p.Provider.Route(ctx, fn, r.Alias)
		if err != nil {
			panic(err)
		}
		theirs := provider.Split(r.Alias, "1", "3", 1000)
		theirs.Revision = cur.Revision
		if p.theirs, err = p.Provider.SetRoute(ctx, fn, theirs); err != nil {
			panic(err)
		}
	})
	return p.Provider.SetRoute(ctx, fn, r)
}
