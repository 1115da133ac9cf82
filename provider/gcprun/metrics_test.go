package gcprun_test

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/slipway-dev/slipway/provider"
	"github.com/slipway-dev/slipway/provider/gcprun/runtest"
	"github.com/slipway-dev/slipway/provider/providertest"
)

// canaryEnv publishes two versions, routes 90% to the first and 10% to
// the second, and sends 10 requests a second for 15 minutes: 540 a minute
// to the stable revision and 60 to the candidate, which fails half of the
// requests it serves after 10% are throttled.
func canaryEnv(t *testing.T, opts runtest.Options) (*env, [2]string) {
	t.Helper()
	e := newEnv(t, opts)
	ctx := t.Context()
	var ids [2]string
	for i := range ids {
		v, err := e.p.Publish(ctx, fn, input(i))
		if err != nil {
			t.Fatal(err)
		}
		ids[i] = v.ID
	}
	// The split route does not exist until it is written (a new
	// function's traffic follows its latest revision).
	if _, err := e.p.SetRoute(ctx, fn, provider.Split("live", ids[0], ids[1], 1000)); err != nil {
		t.Fatal(err)
	}
	// Start the traffic on a whole minute.
	e.clock.Advance(provider.AlignDown(e.clock.Now(), time.Minute).Add(time.Minute).Sub(e.clock.Now()))
	if err := e.srv.SetLoad(fn, 10); err != nil {
		t.Fatal(err)
	}
	if err := e.srv.SetBehavior(fn, ids[0], runtest.Behavior{P50: 20 * time.Millisecond, P90: 40 * time.Millisecond, P99: 80 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	if err := e.srv.SetBehavior(fn, ids[1], runtest.Behavior{ErrorRate: 0.5, ThrottleRate: 0.1, P50: 100 * time.Millisecond, P90: 400 * time.Millisecond, P99: 900 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(15 * time.Minute)
	return e, ids
}

func TestMetricsConformance(t *testing.T) {
	e, ids := canaryEnv(t, runtest.Options{MetricsDelay: 2 * time.Minute, MaxPointsPerPage: 4})
	providertest.RunMetrics(t, e.p, providertest.MetricsOptions{
		Function: fn, Versions: ids[:], Alias: "live", Now: e.clock.Now, WantTraffic: true,
	})
}

// TestObserveCounts checks the numbers against the emulator's model: per
// minute 540 requests to the stable revision; 60 to the candidate, of
// which 6 are throttled (429) and half of the 54 served fail (5xx).
// Through stops where the default MetricsDelay (3 minutes) says data may
// still be incomplete.
func TestObserveCounts(t *testing.T) {
	e, ids := canaryEnv(t, runtest.Options{MaxPointsPerPage: 3})
	end := provider.AlignDown(e.clock.Now(), 5*time.Minute)
	q := provider.Query{Function: fn, Alias: "live", Versions: ids[:], Start: end.Add(-10 * time.Minute), End: end, Period: 5 * time.Minute}
	e.srv.ResetRequests()
	obs, err := e.p.Observe(t.Context(), q)
	if err != nil {
		t.Fatal(err)
	}
	if want := end.Add(-5 * time.Minute); !obs.Through.Equal(want) {
		t.Errorf("Through = %s, want %s (the 3-minute delay leaves the last 5-minute period incomplete)", obs.Through, want)
	}
	stable, _ := obs.Of(ids[0])
	cand, _ := obs.Of(ids[1])
	if len(stable.Points) != 1 || len(cand.Points) != 1 {
		t.Fatalf("points = %d and %d, want one 5-minute period each", len(stable.Points), len(cand.Points))
	}
	got := [2]provider.Point{stable.Points[0], cand.Points[0]}
	for i := range got { // latencies checked below
		got[i].P50, got[i].P90, got[i].P99 = 0, 0, 0
	}
	want := [2]provider.Point{
		{Start: q.Start, Invocations: 2700, ColdStarts: -1},
		{Start: q.Start, Invocations: 270, Errors: 135, Throttles: 30, ColdStarts: -1},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("points (-want +got):\n%s", diff)
	}
	// Latency percentiles come from the merged distributions, within the
	// 10% width of the emulator's exponential buckets.
	for _, c := range []struct {
		name      string
		got, want time.Duration
	}{
		{"stable p50", stable.Points[0].P50, 20 * time.Millisecond},
		{"stable p99", stable.Points[0].P99, 80 * time.Millisecond},
		{"candidate p50", cand.Points[0].P50, 100 * time.Millisecond},
		{"candidate p90", cand.Points[0].P90, 400 * time.Millisecond},
		{"candidate p99", cand.Points[0].P99, 900 * time.Millisecond},
	} {
		if lo, hi := c.want*90/100, c.want*111/100; c.got < lo || c.got > hi {
			t.Errorf("%s = %s, want within [%s, %s]", c.name, c.got, lo, hi)
		}
	}
	// Two queries (counts, latencies), the first paged: 3 points a page.
	n := 0
	for _, r := range e.srv.Requests() {
		if r.Method == "ListTimeSeries" {
			n++
		}
	}
	if n < 3 {
		t.Errorf("%d ListTimeSeries calls, want the counts query paged over several", n)
	}
}

// TestObserveThrottled: RESOURCE_EXHAUSTED with RetryInfo reaches the
// caller as a ThrottleError carrying the delay.
func TestObserveThrottled(t *testing.T) {
	e, ids := canaryEnv(t, runtest.Options{Throttle: func(m string) (time.Duration, bool) { return 7 * time.Second, m == "ListTimeSeries" }})
	end := provider.AlignDown(e.clock.Now(), time.Minute)
	_, err := e.p.Observe(t.Context(), provider.Query{Function: fn, Versions: ids[:], Start: end.Add(-5 * time.Minute), End: end, Period: time.Minute})
	if !errors.Is(err, provider.ErrThrottled) {
		t.Fatalf("Observe: %v, want ErrThrottled", err)
	}
	if d, ok := provider.RetryAfter(err); !ok || d != 7*time.Second {
		t.Errorf("RetryAfter = %s, %v, want 7s from RetryInfo", d, ok)
	}
}

func input(i int) provider.PublishInput {
	a := zipOf("v" + string(rune('0'+i)))
	return provider.PublishInput{Artifact: a, Config: config(i), Description: "version", Labels: map[string]string{provider.LabelSemver: "1.0." + string(rune('0'+i))}}
}
