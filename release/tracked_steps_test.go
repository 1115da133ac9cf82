package release

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/slipway-dev/slipway/canary"
	"github.com/slipway-dev/slipway/provider"
	"github.com/slipway-dev/slipway/provider/memory"
)

func TestTrackedForwardsInvokeAndFixes(t *testing.T) {
	ctx := context.Background()
	mem, err := memory.New(memory.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Publish(ctx, mem, fn, artifact("v1")); err != nil {
		t.Fatal(err)
	}
	mem.SetHandler(fn, "1", func(context.Context, []byte) ([]byte, error) { return []byte(`"hi"`), nil })
	mem.SetPermissions(fn, "1", []provider.Permission{{ID: "s1", Principal: "*", Public: true}})
	mem.SetEventSources(fn, []provider.EventSource{{ID: "m1", Qualifier: "1"}})
	if _, err := mem.SetRoute(ctx, fn, provider.To("live", "1")); err != nil {
		t.Fatal(err)
	}
	f := newFixture(t, nil)
	var p provider.Provider = &tracked{Provider: mem, r: &run{w: f.w, fn: fn}}
	out, err := p.(provider.Invoker).Invoke(ctx, fn, provider.InvokeInput{Qualifier: "1"})
	if err != nil || string(out.Body) != `"hi"` {
		t.Errorf("Invoke: %+v %v", out, err)
	}
	if err := p.(provider.PermissionRemover).RemovePermission(ctx, fn, "1", "s1"); err != nil {
		t.Errorf("RemovePermission: %v", err)
	}
	if es, err := p.(provider.EventSourceUpdater).UpdateEventSource(ctx, fn, "m1", "live"); err != nil || es.Qualifier != "live" {
		t.Errorf("UpdateEventSource: %+v %v", es, err)
	}
	bare := &tracked{Provider: struct{ provider.Provider }{mem}, r: &run{w: f.w, fn: fn}}
	if _, err := bare.Invoke(ctx, fn, provider.InvokeInput{Qualifier: "1"}); !errors.Is(err, provider.ErrUnsupported) {
		t.Errorf("Invoke without the power: %v", err)
	}
	if err := bare.RemovePermission(ctx, fn, "1", "s1"); !errors.Is(err, provider.ErrUnsupported) {
		t.Errorf("RemovePermission without the power: %v", err)
	}
	if _, err := bare.UpdateEventSource(ctx, fn, "m1", "1"); !errors.Is(err, provider.ErrUnsupported) {
		t.Errorf("UpdateEventSource without the power: %v", err)
	}
}

// A canary with synthetic traffic whose process died is resumed with the
// options' synthetic traffic, and still reaches its verdict.
func TestResumeKeepsSyntheticTraffic(t *testing.T) {
	ctx := context.Background()
	fs, err := canary.OpenFileStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	quiet := canary.Canary(1000, 10*time.Minute)
	quiet.Interval = 5 * time.Minute
	quiet.Analysis.Checks = []canary.CheckSpec{{Name: "errors", Check: canary.Threshold{Metric: canary.ErrorRate, Max: 0.05, MinSamples: 50}}}
	quiet.Analysis.InconclusiveLimit = 1
	quiet.Analysis.OnInconclusive = canary.RollBackOnInconclusive
	synthetic := func(o *Options) {
		o.Strategy = quiet
		o.Synthetic = &SyntheticTraffic{PerMinute: 12}
		o.Runner.Checks = map[string]canary.Check{"errors": quiet.Analysis.Checks[0].Check}
	}
	f := newFixture(t, synthetic)
	f.mem.SetLoad(fn, "production", 1.0/60)
	f.store = fs
	f.w = f.workflow(synthetic)
	f.first()
	f.store = &crashStore{Store: fs, after: 3}
	f.w = f.workflow(synthetic)
	if _, err := f.release(ctx, Request{Function: fn, Publish: artifact("v2"), ID: "rel-2"}); !errors.Is(err, errCrash) {
		t.Fatalf("Release with a crashing store: %v", err)
	}
	f.store = fs
	f.w = f.workflow(synthetic)
	var res Result
	f.clock.Run(func() { res, err = f.w.Resume(ctx, "rel-2") })
	if err != nil || res.Outcome != OutcomePromoted {
		t.Fatalf("Resume: %s %v (%s)", res.Outcome, err, res.Reason)
	}
	if len(res.Synthetic) != 2 || res.Synthetic[0].Synthetic == 0 {
		t.Errorf("tallies %+v", res.Synthetic)
	}
}
