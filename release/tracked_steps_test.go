package release

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/slipway-dev/slipway/canary"
	"github.com/slipway-dev/slipway/journal"
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
// synthetic traffic its release started with, journaled then: the
// resumer's Options.Synthetic — none, another rate, the same — changes
// nothing. At the resumer's 1 a minute the quiet function could not reach
// the 50 samples a window needs and would roll back; at the release's 12 a
// minute it is promoted, and every resumed period was invoked 12 times a
// minute per version.
func TestResumeKeepsSyntheticTraffic(t *testing.T) {
	for _, tt := range []struct {
		name    string
		resumer *SyntheticTraffic
	}{
		{"resumer has none", nil},
		{"resumer has another rate", &SyntheticTraffic{PerMinute: 1}},
		{"resumer has the same", &SyntheticTraffic{PerMinute: 12}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			fs, err := canary.OpenFileStore(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			f := newFixture(t, quietOpts(nil))
			f.mem.SetLoad(fn, "production", 1.0/60)
			calls := map[string]int{}
			for _, v := range []string{"1", "2"} {
				f.mem.SetHandler(fn, v, func(context.Context, []byte) ([]byte, error) {
					f.mu.Lock()
					calls[v]++
					f.mu.Unlock()
					return []byte("{}"), nil
				})
			}
			f.store = fs
			f.w = f.workflow(quietOpts(nil))
			f.first()
			f.store = &crashStore{Store: fs, after: 3}
			f.w = f.workflow(quietOpts(nil))
			req := Request{Function: fn, Publish: artifact("v2"), ID: "rel-2", Synthetic: &SyntheticTraffic{PerMinute: 12}}
			if _, err := f.release(ctx, req); !errors.Is(err, errCrash) {
				t.Fatalf("Release with a crashing store: %v", err)
			}
			var set []string
			for _, e := range f.entries() {
				if e.Release == "rel-2" && e.Outcome == outcomeSyntheticSet {
					set = append(set, e.Reason)
				}
			}
			if want := syntheticSetPrefix + `{"perMinute":12}`; len(set) != 1 || set[0] != want {
				t.Fatalf("journaled settings %q, want one: %q", set, want)
			}
			f.mu.Lock()
			before := calls["2"]
			f.mu.Unlock()

			f.store = fs
			f.w = f.workflow(quietOpts(tt.resumer))
			var res Result
			f.clock.Run(func() { res, err = f.w.Resume(ctx, "rel-2") })
			if err != nil || res.Outcome != OutcomePromoted {
				t.Fatalf("Resume: %s %v (%s)", res.Outcome, err, res.Reason)
			}
			if len(res.Synthetic) != 2 {
				t.Fatalf("tallies %+v", res.Synthetic)
			}
			// The resumed canary judges the windows the dead process had
			// not: each tally covers whole 5-minute windows at 12 a minute.
			for _, tl := range res.Synthetic {
				if tl.Synthetic == 0 || tl.Synthetic%60 != 0 {
					t.Errorf("tally %+v: want a positive multiple of 60 (5 minutes × 12)", tl)
				}
			}
			f.mu.Lock()
			resumed := calls["2"] - before
			f.mu.Unlock()
			if int64(resumed) != res.Synthetic[1].Synthetic {
				t.Errorf("the candidate ran %d times after the resume, the tally says %d", resumed, res.Synthetic[1].Synthetic)
			}
		})
	}
}

// A resumed release that did not start with synthetic traffic does not
// get the resumer's: the quiet function stays inconclusive and rolls back,
// and nothing is invoked.
func TestResumeWithoutSyntheticIgnoresOptions(t *testing.T) {
	ctx := context.Background()
	fs, err := canary.OpenFileStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	f := newFixture(t, quietOpts(nil))
	f.mem.SetLoad(fn, "production", 1.0/60)
	invoked := 0
	f.mem.SetHandler(fn, "2", func(context.Context, []byte) ([]byte, error) {
		f.mu.Lock()
		invoked++
		f.mu.Unlock()
		return []byte("{}"), nil
	})
	f.store = fs
	f.w = f.workflow(quietOpts(nil))
	f.first()
	f.store = &crashStore{Store: fs, after: 3}
	f.w = f.workflow(quietOpts(nil))
	if _, err := f.release(ctx, Request{Function: fn, Publish: artifact("v2"), ID: "rel-2"}); !errors.Is(err, errCrash) {
		t.Fatalf("Release with a crashing store: %v", err)
	}
	f.store = fs
	f.w = f.workflow(quietOpts(&SyntheticTraffic{PerMinute: 12}))
	var res Result
	f.clock.Run(func() { res, err = f.w.Resume(ctx, "rel-2") })
	if res.Outcome != OutcomeRolledBack || len(res.Synthetic) != 0 {
		t.Fatalf("Resume: %s %v (%s), tallies %+v", res.Outcome, err, res.Reason, res.Synthetic)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if invoked != 0 {
		t.Errorf("the candidate was invoked %d times", invoked)
	}
}

// A journaled setting that does not parse stops the resume: the canary is
// not judged on other evidence than its release asked for.
func TestSyntheticOfRefusesAMalformedRecord(t *testing.T) {
	es := []journal.Entry{{Release: "r", Kind: journal.EntryDecision, Outcome: outcomeSyntheticSet, Reason: syntheticSetPrefix + `{"perMinute":0}`}}
	if _, err := syntheticOf("r", es); !errors.Is(err, provider.ErrInvalid) {
		t.Errorf("syntheticOf: %v, want ErrInvalid", err)
	}
	es[0].Reason = syntheticSetPrefix + `{"perMinute":3,"payload":{"a":1}}`
	got, err := syntheticOf("r", es)
	if err != nil || got == nil || got.PerMinute != 3 || string(got.Payload) != `{"a":1}` {
		t.Errorf("syntheticOf: %+v %v", got, err)
	}
	if got, err := syntheticOf("other", es); got != nil || err != nil {
		t.Errorf("another release's record: %+v %v", got, err)
	}
}

// quietOpts sets the workflow's strategy to a 10% canary of 10 minutes
// judged every 5 by an error-rate threshold needing 50 requests a window
// (two inconclusive windows roll it back), with synthetic traffic syn.
func quietOpts(syn *SyntheticTraffic) func(*Options) {
	quiet := canary.Canary(1000, 10*time.Minute)
	quiet.Interval = 5 * time.Minute
	quiet.Analysis.Checks = []canary.CheckSpec{{Name: "errors", Check: canary.Threshold{Metric: canary.ErrorRate, Max: 0.05, MinSamples: 50}}}
	quiet.Analysis.InconclusiveLimit = 1
	quiet.Analysis.OnInconclusive = canary.RollBackOnInconclusive
	return func(o *Options) {
		o.Strategy = quiet
		o.Synthetic = syn
		o.Runner.Checks = map[string]canary.Check{"errors": quiet.Analysis.Checks[0].Check}
	}
}
