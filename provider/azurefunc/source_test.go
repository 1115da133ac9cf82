package azurefunc_test

import (
	"testing"
	"time"

	"github.com/slipway-dev/slipway/provider"
	"github.com/slipway-dev/slipway/provider/azurefunc"
	"github.com/slipway-dev/slipway/provider/azurefunc/azuretest"
	"github.com/slipway-dev/slipway/provider/providertest"
)

// TestSource runs the seeded metrics-source clauses against the adapter's
// Azure Monitor reader pointed at the emulator: the first version runs in
// the production slot and the second in a slot "blue", each loaded at the
// plan's rate on its own host name; the third runs nowhere. Metrics - List
// answers a window in one call, so the paging clause checks a long window
// in one piece.
func TestSource(t *testing.T) {
	e := newEnv(t, azuretest.Options{})
	vs := e.publishVersions(t, "v1", "v2", "v3")
	slots := []string{"", "blue"}
	providertest.RunSource(t, providertest.MetricsFixture{
		Metrics: e.p, Function: fn, Versions: []string{vs[0].ID, vs[1].ID, vs[2].ID}, Now: e.clock.Now,
		Start:       e.clock.Now(),
		PagePeriods: 20,
		Seed: func(t *testing.T, plan providertest.Plan) {
			e.clock.Advance(plan.Start.Add(-plan.Quiet).Sub(e.clock.Now()))
			e.set(t, provider.To("production", vs[0].ID))
			e.set(t, provider.To("blue", vs[1].ID))
			for i, tr := range plan.Traffic {
				must(t, e.srv.SetBehavior(fn, vs[i].CodeSHA256, azuretest.Behavior{ErrorRate: float64(tr.Errors) / float64(tr.Invocations), ResponseTime: 30 * time.Millisecond}))
			}
			e.clock.Advance(plan.Start.Sub(e.clock.Now()))
			for i, tr := range plan.Traffic {
				must(t, e.srv.SetSlotLoad(fn, slots[i], float64(tr.Invocations)/plan.Resolution.Seconds()))
			}
			e.clock.Advance(plan.End().Sub(e.clock.Now()))
			for i := range plan.Traffic {
				must(t, e.srv.SetSlotLoad(fn, slots[i], 0))
			}
			e.clock.Advance(plan.Quiet + 2*time.Minute)
		},
		Failing: func(t *testing.T, target error) (provider.Metrics, bool) {
			opts := azuretest.Options{Now: e.clock.Now}
			switch target {
			case provider.ErrThrottled:
				opts.Throttle = func(string) (time.Duration, bool) { return time.Second, true }
			case provider.ErrUnavailable:
				opts.Fault = func(string) (int, bool) { return 503, true }
			default:
				return nil, false
			}
			srv := azuretest.NewServer(opts)
			t.Cleanup(srv.Close)
			must(t, srv.CreateSite(fn, nil))
			p, err := azurefunc.New(azuretest.Subscription, azuretest.ResourceGroup, srv.Credential(), azurefunc.Options{Now: e.clock.Now, MetricsDelay: 2 * time.Minute}, srv.ClientOptions())
			must(t, err)
			return p, true
		},
	})
}
