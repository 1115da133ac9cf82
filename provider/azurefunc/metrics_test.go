package azurefunc_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/slipway-dev/slipway/provider"
	"github.com/slipway-dev/slipway/provider/azurefunc"
	"github.com/slipway-dev/slipway/provider/azurefunc/azuretest"
)

// Observe reads each version's series from the slot that runs it: the
// production slot serves 80% of 10 requests a second, the ramp-up slot the
// 20% the rule sends it, with the candidate's 10% errors. Periods are
// complete up to now − MetricsDelay (2m); cold starts are unknown.
func TestObservePerSlot(t *testing.T) {
	e := newEnv(t, azuretest.Options{})
	ctx := context.Background()
	vs := e.publishVersions(t, "v1", "v2", "v3")
	prod := e.set(t, provider.To("production", vs[0].ID))
	e.set(t, rev(provider.Split("production", vs[0].ID, vs[1].ID, 2000), prod.Revision))
	must(t, e.srv.SetBehavior(fn, vs[1].CodeSHA256, azuretest.Behavior{ErrorRate: 0.1}))
	must(t, e.srv.SetLoad(fn, 10))
	start := e.clock.Now()
	e.clock.Advance(5*time.Minute + 30*time.Second)

	e.srv.ResetOps()
	q := provider.Query{Function: fn, Alias: "production", Versions: []string{vs[0].ID, vs[1].ID, vs[2].ID}, Start: start, End: start.Add(5 * time.Minute), Period: time.Minute}
	obs, err := e.p.Observe(ctx, q)
	must(t, err)
	opsEqual(t, "Observe", e.srv.Ops(), "ListApplicationSettings", "ListApplicationSettingsSlot", "Metrics_List", "Metrics_List")
	if want := start.Add(3 * time.Minute); !obs.Through.Equal(want) {
		t.Errorf("Through = %s, want %s (now 5m30s − 2m, aligned down)", obs.Through, want)
	}
	pts := func(inv, errs int64) []provider.Point {
		var out []provider.Point
		for k := range 3 {
			out = append(out, provider.Point{Start: start.Add(time.Duration(k) * time.Minute), Invocations: inv, Errors: errs, ColdStarts: -1})
		}
		return out
	}
	want := []provider.Series{
		{Version: vs[0].ID, Points: pts(480, 0)},
		{Version: vs[1].ID, Points: pts(120, 12)},
		{Version: vs[2].ID, Points: pts(0, 0)}, // runs nowhere
	}
	if diff := cmp.Diff(want, obs.Series); diff != "" {
		t.Errorf("series (-want +got):\n%s", diff)
	}

	q.Period = 2 * time.Minute
	q.End = start.Add(4 * time.Minute)
	if _, err := e.p.Observe(ctx, q); !errors.Is(err, provider.ErrInvalid) {
		t.Errorf("Observe with a 2m period (no such Azure Monitor grain): %v, want ErrInvalid", err)
	}
}

// Options.InvocationsMetric picks FunctionExecutionCount (the emulator
// counts one execution per request); anything else is refused by New.
func TestInvocationsMetric(t *testing.T) {
	e := newEnv(t, azuretest.Options{})
	ctx := context.Background()
	v := e.publish(t, "v1")
	e.set(t, provider.To("production", v[0]))
	must(t, e.srv.SetLoad(fn, 2))
	start := e.clock.Now()
	e.clock.Advance(4 * time.Minute)
	p, err := azurefunc.New(azuretest.Subscription, azuretest.ResourceGroup, e.srv.Credential(),
		azurefunc.Options{Now: e.clock.Now, MetricsDelay: 2 * time.Minute, InvocationsMetric: "FunctionExecutionCount"}, e.srv.ClientOptions())
	must(t, err)
	obs, err := p.Observe(ctx, provider.Query{Function: fn, Alias: "production", Versions: v, Start: start, End: start.Add(2 * time.Minute), Period: time.Minute})
	must(t, err)
	if got := obs.Series[0].Total().Invocations; got != 240 {
		t.Errorf("FunctionExecutionCount over 2m at 2/s = %d, want 240", got)
	}
	if qs := e.srv.MetricsQueries(); len(qs) != 1 || !strings.Contains(qs[0], "metricnames=FunctionExecutionCount,Http5xx") {
		t.Errorf("Metrics - List queries %q, want metricnames=FunctionExecutionCount,Http5xx", qs)
	}
	if _, err := azurefunc.New(azuretest.Subscription, azuretest.ResourceGroup, e.srv.Credential(), azurefunc.Options{InvocationsMetric: "Invocations"}, e.srv.ClientOptions()); !errors.Is(err, provider.ErrInvalid) {
		t.Errorf("New with InvocationsMetric Invocations: %v, want ErrInvalid", err)
	}
}
