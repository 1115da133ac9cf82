package release

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/slipway-dev/slipway/provider"
)

type noMetrics struct{}

func (noMetrics) Resolution() time.Duration { return time.Minute }
func (noMetrics) Observe(_ context.Context, q provider.Query) (provider.Observation, error) {
	return provider.Observation{Query: q, Through: q.End}, nil
}

// unaddressable answers ErrUnsupported for version "1" (as gcprun does
// for an untagged revision), fails version "3" and runs the rest.
type unaddressable struct{ calls map[string]int }

func (u *unaddressable) Invoke(_ context.Context, _ string, in provider.InvokeInput) (provider.InvokeOutput, error) {
	u.calls[in.Qualifier]++
	switch in.Qualifier {
	case "1":
		return provider.InvokeOutput{}, fmt.Errorf("gcprun: invoke: revision 1 has no tag: %w", provider.ErrUnsupported)
	case "3":
		return provider.InvokeOutput{Status: 200, FunctionError: "HTTP 500"}, nil
	}
	return provider.InvokeOutput{Status: 200}, nil
}

// A synthetic invocation the provider cannot address (ErrUnsupported)
// did not run: it is counted apart, not as an invocation or an error of
// the version, while a failed invocation is an error.
func TestSyntheticUnaddressableIsNoError(t *testing.T) {
	inv := &unaddressable{calls: map[string]int{}}
	start := time.Date(2026, 3, 4, 9, 0, 0, 0, time.UTC)
	s := newSyntheticMetrics(noMetrics{}, inv, "fn", SyntheticTraffic{PerMinute: 6}, func() time.Time { return start })
	obs, err := s.Observe(context.Background(), provider.Query{Function: "fn", Alias: "production", Versions: []string{"1", "2", "3"},
		Start: start, End: start.Add(2 * time.Minute), Period: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][2]int64{}
	for _, se := range obs.Series {
		var n, e int64
		for _, p := range se.Points {
			n += p.Invocations
			e += p.Errors
		}
		got[se.Version] = [2]int64{n, e}
	}
	if diff := cmp.Diff(map[string][2]int64{"1": {0, 0}, "2": {12, 0}, "3": {12, 12}}, got); diff != "" {
		t.Errorf("observed (invocations, errors) (-want +got):\n%s", diff)
	}
	want := []SyntheticTally{{Version: "1", Unaddressable: 12}, {Version: "2", Synthetic: 12}, {Version: "3", Synthetic: 12, SyntheticErrors: 12}}
	if diff := cmp.Diff(want, s.tallies()); diff != "" {
		t.Errorf("tallies (-want +got):\n%s", diff)
	}
	if txt := syntheticText(s.tallies()); !strings.Contains(txt, "version 1 0 organic (0 errors) + 0 synthetic (0 errors), 12 not made: the provider cannot invoke this version alone") {
		t.Errorf("journal text %q", txt)
	}
	if errors.Is(err, provider.ErrUnsupported) {
		t.Error("Observe failed with ErrUnsupported")
	}
}

// platform is a metrics source and invoker in one, as an adapter is: each
// version serves organic requests a period, and, when counts is set, its
// Observe also counts the invocations made through Invoke in the period
// they were made (as Cloud Run's request_count does: a request to a 5xx
// status is an error too), a minute late. says is what its Capabilities
// report as InvokesObserved. Only Capabilities of provider.Provider is
// implemented (the embedded nil interface panics on anything else).
type platform struct {
	provider.Provider
	says, counts bool
	organic      int64
	now          *time.Time
	took         time.Duration // each Invoke advances *now by it

	calls map[string][]time.Time // by version
}

func (f *platform) Capabilities() provider.Capabilities {
	return provider.Capabilities{InvokesObserved: f.says}
}

func (f *platform) Resolution() time.Duration { return time.Minute }

func (f *platform) Invoke(_ context.Context, _ string, in provider.InvokeInput) (provider.InvokeOutput, error) {
	f.calls[in.Qualifier] = append(f.calls[in.Qualifier], *f.now)
	*f.now = f.now.Add(f.took)
	if in.Qualifier == "3" {
		return provider.InvokeOutput{Status: 500, FunctionError: "HTTP 500"}, nil
	}
	return provider.InvokeOutput{Status: 200}, nil
}

func (f *platform) Observe(_ context.Context, q provider.Query) (provider.Observation, error) {
	through := f.now.Add(-time.Minute).Truncate(q.Period)
	if through.After(q.End) {
		through = q.End
	}
	obs := provider.Observation{Query: q, Through: through}
	for _, v := range q.Versions {
		s := provider.Series{Version: v}
		for start := q.Start; !start.Add(q.Period).After(through); start = start.Add(q.Period) {
			p := provider.Point{Start: start, Invocations: f.organic, ColdStarts: -1}
			for _, at := range f.calls[v] {
				if f.counts && !at.Before(start) && at.Before(start.Add(q.Period)) {
					p.Invocations++
					if v == "3" {
						p.Errors++
					}
				}
			}
			if p.Invocations > 0 {
				p.P50, p.P90, p.P99 = 5*time.Millisecond, 5*time.Millisecond, 5*time.Millisecond
			}
			s.Points = append(s.Points, p)
		}
		obs.Series = append(obs.Series, s)
	}
	return obs, nil
}

// Two 5-minute windows of versions 2 (healthy) and 3 (failing every
// synthetic request), each serving 1 organic request a minute, with 6
// synthetic invocations a minute: each window is read a minute after it
// ends, so the invocations made for the first land in the second. Where
// the platform counts them and says so (Cloud Run), the step takes them
// out of the period they landed in and adds them to the period they were
// made for: each window holds 5 organic + 30 synthetic, the tallies 10 +
// 60, as where the platform does not count them (Lambda, memory). A
// platform that counts them but does not say so shows why the capability
// is needed: the second window holds the first's synthetic requests too.
func TestSyntheticCountedOnce(t *testing.T) {
	for _, tt := range []struct {
		name         string
		says, counts bool
		retry        bool // provider.WithRetry and WithRetryMetrics over the platform
		windows      [][2]int64
		tallies      []SyntheticTally
	}{
		{name: "counted by the platform", says: true, counts: true,
			windows: [][2]int64{{35, 0}, {35, 0}, {35, 30}, {35, 30}},
			tallies: []SyntheticTally{{Version: "2", Organic: 10, Synthetic: 60}, {Version: "3", Organic: 10, Synthetic: 60, SyntheticErrors: 60}}},
		{name: "counted by the platform, through retrying wrappers", says: true, counts: true, retry: true,
			windows: [][2]int64{{35, 0}, {35, 0}, {35, 30}, {35, 30}},
			tallies: []SyntheticTally{{Version: "2", Organic: 10, Synthetic: 60}, {Version: "3", Organic: 10, Synthetic: 60, SyntheticErrors: 60}}},
		{name: "not counted by the platform", says: false, counts: false,
			windows: [][2]int64{{35, 0}, {35, 0}, {35, 30}, {35, 30}},
			tallies: []SyntheticTally{{Version: "2", Organic: 10, Synthetic: 60}, {Version: "3", Organic: 10, Synthetic: 60, SyntheticErrors: 60}}},
		{name: "counted by the platform, which does not say so", says: false, counts: true,
			windows: [][2]int64{{35, 0}, {65, 0}, {35, 30}, {65, 60}},
			tallies: []SyntheticTally{{Version: "2", Organic: 40, Synthetic: 60}, {Version: "3", Organic: 40, OrganicErrors: 30, Synthetic: 60, SyntheticErrors: 60}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t0 := time.Date(2026, 3, 4, 9, 0, 0, 0, time.UTC)
			now := t0
			f := &platform{says: tt.says, counts: tt.counts, organic: 1, now: &now, calls: map[string][]time.Time{}}
			var (
				inv provider.Invoker = f
				m   provider.Metrics = f
			)
			if tt.retry {
				inv = provider.WithRetry(f, provider.RetryPolicy{}).(provider.Invoker)
				m = provider.WithRetryMetrics(f, provider.RetryPolicy{})
			}
			s := newSyntheticMetrics(m, inv, "fn", SyntheticTraffic{PerMinute: 6}, func() time.Time { return now })
			if s.observed != tt.says {
				t.Fatalf("observed = %v, want %v", s.observed, tt.says)
			}
			seen := map[string][][2]int64{} // per version, per window: invocations, errors
			for w := range 2 {
				start := t0.Add(time.Duration(w) * 5 * time.Minute)
				now = start.Add(6 * time.Minute)
				obs, err := s.Observe(context.Background(), provider.Query{Function: "fn", Alias: "live", Versions: []string{"2", "3"},
					Start: start, End: start.Add(5 * time.Minute), Period: time.Minute})
				if err != nil {
					t.Fatal(err)
				}
				for _, v := range []string{"2", "3"} {
					se, _ := obs.Of(v)
					tot := se.Total()
					seen[v] = append(seen[v], [2]int64{tot.Invocations, tot.Errors})
				}
			}
			got := append(seen["2"], seen["3"]...)
			if diff := cmp.Diff(tt.windows, got); diff != "" {
				t.Errorf("(invocations, errors) of 2's windows then 3's (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.tallies, s.tallies()); diff != "" {
				t.Errorf("tallies (-want +got):\n%s", diff)
			}
		})
	}
}

// Latency percentiles cannot be taken apart: on a platform that counts the
// synthetic invocations, a period whose requests were all synthetic ones
// that landed there keeps none of the platform's percentiles (5ms here,
// theirs), and a period holding synthetic invocations made for it and no
// organic ones takes those calls' own (1ms each on the workflow's clock).
// At 0.25 a minute, the first window's one invocation (owed by 09:03) is
// made when it is read at 09:06, and the second window's (owed by 09:07)
// at 09:11.
func TestSyntheticCountedLatencies(t *testing.T) {
	t0 := time.Date(2026, 3, 4, 9, 0, 0, 0, time.UTC)
	now := t0
	f := &platform{says: true, counts: true, now: &now, took: time.Millisecond, calls: map[string][]time.Time{}}
	s := newSyntheticMetrics(f, f, "fn", SyntheticTraffic{PerMinute: 0.25}, func() time.Time { return now })
	type pt struct {
		Start       string
		Invocations int64
		P50, P99    time.Duration
	}
	var got []pt
	for w := range 2 {
		start := t0.Add(time.Duration(w) * 5 * time.Minute)
		now = start.Add(6 * time.Minute)
		obs, err := s.Observe(context.Background(), provider.Query{Function: "fn", Alias: "live", Versions: []string{"2"},
			Start: start, End: start.Add(5 * time.Minute), Period: time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		se, _ := obs.Of("2")
		for _, p := range se.Points {
			got = append(got, pt{p.Start.Format("15:04"), p.Invocations, p.P50, p.P99})
		}
	}
	ms := time.Millisecond
	want := []pt{
		{"09:00", 0, 0, 0}, {"09:01", 0, 0, 0}, {"09:02", 0, 0, 0}, {"09:03", 1, ms, ms}, {"09:04", 0, 0, 0},
		{"09:05", 0, 0, 0}, {"09:06", 0, 0, 0}, {"09:07", 1, ms, ms}, {"09:08", 0, 0, 0}, {"09:09", 0, 0, 0},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("points (-want +got):\n%s", diff)
	}
}
