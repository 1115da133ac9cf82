package canary_test

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"testing"
	"time"

	"github.com/slipway-dev/slipway/canary"
	"github.com/slipway-dev/slipway/provider"
)

// seqWindow is a window of one-minute periods starting at start.
func seqWindow(start time.Time, cand, stable []provider.Point) canary.MetricWindow {
	for i := range cand {
		cand[i].Start = start.Add(time.Duration(i) * time.Minute)
		stable[i].Start = cand[i].Start
	}
	end := start.Add(time.Duration(len(cand)) * time.Minute)
	return canary.MetricWindow{Function: "checkout", Alias: "live", Candidate: "2", Stable: "1", Weight: 1000, Start: start, End: end,
		Metrics: provider.Observation{Query: provider.Query{Period: time.Minute, Start: start, End: end}, Through: end,
			Series: []provider.Series{{Version: "2", Points: cand}, {Version: "1", Points: stable}}}}
}

// TestSequentialWorkedExample runs the worked example of Sequential's doc:
// a 10% canary with 1,200 requests a minute, 18 candidate errors of 120
// against 11 stable errors of 1,080, fails its first window; the same
// minute with the candidate as good as the stable version passes.
func TestSequentialWorkedExample(t *testing.T) {
	ctx := context.Background()
	p99 := 200 * time.Millisecond
	w := seqWindow(simEpoch, []provider.Point{{Invocations: 120, Errors: 18, P99: p99}}, []provider.Point{{Invocations: 1080, Errors: 11, P99: p99}})
	m, err := canary.Sequential{}.Judge(ctx, w)
	if err != nil {
		t.Fatal(err)
	}
	var st canary.SequentialState
	if err := json.Unmarshal([]byte(m.Carry), &st); err != nil {
		t.Fatal(err)
	}
	if m.Verdict != canary.Fail || m.Stats.PValue > 1e-6 || st.Evidence[0].LogE() < 18 {
		t.Errorf("15%% against 1%%: %s, p = %v, log e(errors) = %v; want Fail, p < 1e-6, log e ≥ 18 (%s)", m.Verdict, m.Stats.PValue, st.Evidence[0].LogE(), m.Reason)
	}
	t.Logf("log e-value of the errors %.2f, p = %.3g", st.Evidence[0].LogE(), m.Value)

	w = seqWindow(simEpoch, []provider.Point{{Invocations: 120, Errors: 1, P99: p99}}, []provider.Point{{Invocations: 1080, Errors: 11, P99: p99}})
	m, err = canary.Sequential{}.Judge(ctx, w)
	if err != nil || m.Verdict != canary.Pass {
		t.Errorf("healthy minute: %s, %v (%s); want Pass", m.Verdict, err, m.Reason)
	}
}

// TestSequentialLatencyWeight runs the worked example of the latency
// test's weight: a 10% canary at 100 requests a second (600 against 5,400
// a minute, p0 = stats.QuantileExceedance(600, 5400, 0.99) = 0.41), error
// rates equal (6 of 600 against 54 of 5,400), the candidate's p99 30%
// higher every minute. Its test reaches 30.8 after four minutes (the
// saturating prior); weighted 9 against the errors' 1 the mixture is
// 0.9·30.8 + 0.1·0.019 = 27.7 ≥ 20 = 1/α: Fail in the fourth window; the
// plain average, 15.4, is not there yet.
func TestSequentialLatencyWeight(t *testing.T) {
	ctx := context.Background()
	var carry canary.Carry
	for i := range 4 {
		w := seqWindow(simEpoch.Add(time.Duration(i)*time.Minute),
			[]provider.Point{{Invocations: 600, Errors: 6, P99: 260 * time.Millisecond}},
			[]provider.Point{{Invocations: 5400, Errors: 54, P99: 200 * time.Millisecond}})
		w.Carry = carry
		m, err := canary.Sequential{}.Judge(ctx, w)
		if err != nil {
			t.Fatal(err)
		}
		carry = m.Carry
		var st canary.SequentialState
		if err := json.Unmarshal([]byte(carry), &st); err != nil {
			t.Fatal(err)
		}
		lat := st.Evidence[1].EValue()
		t.Logf("minute %d: %s, latency e = %.3g, errors e = %.3g, p = %.3g", i+1, m.Verdict, lat, st.Evidence[0].EValue(), m.Value)
		want := canary.Pass
		if i == 3 {
			want = canary.Fail
			if math.Abs(lat-30.8) > 0.05 {
				t.Errorf("latency e-value after 4 minutes %.3g, want 30.8", lat)
			}
			if 0.5*lat+0.5*st.Evidence[0].EValue() >= 20 {
				t.Errorf("the plain average %.3g already reaches 20: the example shows nothing", 0.5*lat+0.5*st.Evidence[0].EValue())
			}
		}
		if m.Verdict != want {
			t.Errorf("minute %d: %s, want %s (%s)", i+1, m.Verdict, want, m.Reason)
		}
	}
}

// TestSequentialCarry: judging two windows one after the other, carrying
// the state, gives the same test as one window over both; a window seen
// twice adds nothing; the state survives a JSON round trip.
func TestSequentialCarry(t *testing.T) {
	ctx := context.Background()
	c := []provider.Point{{Invocations: 100, Errors: 3, P99: 210 * time.Millisecond}, {Invocations: 110, Errors: 5, P99: 190 * time.Millisecond}}
	s := []provider.Point{{Invocations: 900, Errors: 9, P99: 200 * time.Millisecond}, {Invocations: 880, Errors: 12, P99: 200 * time.Millisecond}}
	whole, err := canary.Sequential{}.Judge(ctx, seqWindow(simEpoch, append([]provider.Point(nil), c...), append([]provider.Point(nil), s...)))
	if err != nil {
		t.Fatal(err)
	}
	first, err := canary.Sequential{}.Judge(ctx, seqWindow(simEpoch, c[:1:1], s[:1:1]))
	if err != nil {
		t.Fatal(err)
	}
	w2 := seqWindow(simEpoch.Add(time.Minute), c[1:], s[1:])
	w2.Carry = first.Carry
	second, err := canary.Sequential{}.Judge(ctx, w2)
	if err != nil {
		t.Fatal(err)
	}
	if second.Carry != whole.Carry {
		t.Errorf("carried state\n%s\nwant\n%s", second.Carry, whole.Carry)
	}
	w2.Carry = second.Carry
	again, err := canary.Sequential{}.Judge(ctx, w2)
	if err != nil || again.Carry != second.Carry {
		t.Errorf("the same window judged twice changed the state: %v\n%s\n%s", err, again.Carry, second.Carry)
	}
	b, err := json.Marshal(canary.CheckState{Name: "s", Carry: second.Carry})
	if err != nil {
		t.Fatal(err)
	}
	var back canary.CheckState
	if err := json.Unmarshal(b, &back); err != nil || back.Carry != second.Carry {
		t.Errorf("CheckState round trip: %v, %s", err, back.Carry)
	}
	w2.Carry = "{"
	if _, err := (canary.Sequential{}).Judge(ctx, w2); !errors.Is(err, provider.ErrInvalid) {
		t.Errorf("corrupt carry: %v, want ErrInvalid", err)
	}
}

func TestSequentialValidate(t *testing.T) {
	for _, s := range []canary.Sequential{
		{Metrics: []canary.Metric{canary.Metric(99)}},
		{Metrics: []canary.Metric{canary.ErrorRate, canary.ErrorRate}},
		{Alpha: 1},
		{AllowedIncrease: 0.5},
		{MinSamples: -1},
		{LatencyMargin: math.NaN()},
	} {
		if err := s.Validate(); !errors.Is(err, provider.ErrInvalid) {
			t.Errorf("%+v: %v, want ErrInvalid", s, err)
		}
	}
	if err := (canary.Sequential{}).Validate(); err != nil {
		t.Errorf("zero value: %v", err)
	}
}
