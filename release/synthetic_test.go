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
