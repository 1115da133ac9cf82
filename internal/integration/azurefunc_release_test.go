package integration_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slipway-dev/slipway/canary"
	"github.com/slipway-dev/slipway/provider"
	"github.com/slipway-dev/slipway/provider/azurefunc"
	"github.com/slipway-dev/slipway/provider/azurefunc/azuretest"
	"github.com/slipway-dev/slipway/release"
	"github.com/slipway-dev/slipway/semver"
)

const azureApp = "checkout"

// calls counts the emulator's API calls between workflow events.
type azureCalls struct {
	mu    sync.Mutex
	srv   *azuretest.Server
	last  int
	steps []string
}

func (c *azureCalls) mark(what string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	ops := c.srv.Ops()
	c.steps = append(c.steps, fmt.Sprintf("%s: %d calls %v", what, len(ops)-c.last, ops[c.last:]))
	c.last = len(ops)
}

// TestReleaseWorkflowOnAzure runs slipway's release workflow on the
// emulator: publish (a deployment record and a package), stage (deploy to
// the staging slot), test, then a Canary10Percent5Minutes rollout on
// production — the candidate deployed to the ramp-up slot, a ramp-up rule
// sending 10%, per-slot Azure Monitor metrics judged every minute — and
// promotion by swap. A healthy candidate is promoted and the rule is gone;
// a faulty one (15% 5xx) is rolled back with the rule cleared, production
// untouched. Virtual time: the whole test takes no wall time waiting.
func TestReleaseWorkflowOnAzure(t *testing.T) {
	ctx := context.Background()
	vc := canary.NewVirtualClock(time.Date(2026, 3, 4, 9, 0, 0, 0, time.UTC))
	srv := azuretest.NewServer(azuretest.Options{Now: vc.Now, MetricsDelay: 2 * time.Minute, SwapPolls: 2, SwapRetryAfter: 1})
	t.Cleanup(srv.Close)
	must(t, srv.CreateSite(azureApp, map[string]string{"FUNCTIONS_EXTENSION_VERSION": "~4", "AzureWebJobsStorage": "UseDevelopmentStorage=true"}))
	must(t, srv.SetLoad(azureApp, 40))
	p, err := azurefunc.New(azuretest.Subscription, azuretest.ResourceGroup, srv.Credential(), azurefunc.Options{
		Packages: srv.Packages(), Now: vc.Now, Sleep: vc.Sleep, PollInterval: time.Second, MetricsDelay: 2 * time.Minute,
	}, srv.ClientOptions())
	must(t, err)

	faulty := map[string]bool{"1.2.0": true}
	strategy, err := canary.Preset("Canary10Percent5Minutes")
	must(t, err)
	strategy.Interval = time.Minute
	check := canary.Relative{Metric: canary.ErrorRate, Factor: 1.5, Slack: 0.01}
	strategy.Analysis.Checks = []canary.CheckSpec{{Name: "error rate", Check: check}}
	c := &azureCalls{srv: srv}
	inCanary := false
	w, err := release.New(release.Options{
		Runner: canary.RunnerOptions{Provider: p, Metrics: p, Clock: vc, Checks: map[string]canary.Check{"error rate": check}, MetricsLag: 3 * time.Minute},
		Actor:  "e2e", Strategy: strategy,
		OnEvent: func(e release.Event) {
			t.Log(e.String())
			if e.Kind == release.EventPublished && faulty[e.Semver] {
				v, err := p.Version(ctx, azureApp, e.Candidate)
				if err == nil {
					err = srv.SetBehavior(azureApp, v.CodeSHA256, azuretest.Behavior{ErrorRate: 0.15, ResponseTime: 80 * time.Millisecond})
				}
				if err != nil {
					t.Error(err)
				}
			}
			switch {
			case e.Kind == release.EventStepStarted && e.Step == release.StepCanary:
				c.mark("before the canary")
				inCanary = true
			case inCanary && (e.Kind == release.EventWeightSet || e.Kind == release.EventVerdict || e.Kind == release.EventPromoted || e.Kind == release.EventRolledBack):
				c.mark(fmt.Sprintf("%s %d bp", e.Kind, e.Weight))
				if e.Kind == release.EventPromoted || e.Kind == release.EventRolledBack {
					inCanary = false
				}
			}
		},
	})
	must(t, err)
	code := func(v string) provider.Artifact { return provider.Artifact{Zip: []byte("PK checkout " + v)} }
	cfg := provider.Config{Runtime: "custom", Environment: map[string]string{"LOG_LEVEL": "info"}}

	// The scene: v1.0.0 everywhere, all at once.
	first := semver.MustParse("1.0.0")
	all := canary.AllAtOnce()
	var res release.Result
	vc.Run(func() {
		res, err = w.Release(ctx, release.Request{Function: azureApp, Publish: release.PublishRequest{Artifact: code("1.0.0"), Config: cfg, Semver: &first}, Strategy: &all})
	})
	must(t, err)
	stable := res.Candidate

	rules := func() string {
		r, err := srv.RampUpRules(azureApp)
		must(t, err)
		return string(r)
	}
	running := func(slot string) string {
		s, err := srv.Settings(azureApp, slot)
		must(t, err)
		return s["SLIPWAY_VERSION"]
	}

	t.Run("healthy is promoted by swap", func(t *testing.T) {
		c.steps = nil
		start := vc.Now()
		vc.Run(func() {
			res, err = w.Release(ctx, release.Request{Function: azureApp, Publish: release.PublishRequest{Artifact: code("1.1.0"), Config: cfg, Commits: []string{"feat: one-click checkout"}}, Reason: "feat"})
		})
		if err != nil {
			t.Fatalf("Release: %v", err)
		}
		t.Logf("promoted v%s after %s", res.Semver, vc.Now().Sub(start))
		for _, s := range c.steps {
			t.Log(s)
		}
		if running("") != res.Candidate || running("canary") != stable || rules() != "[]" {
			t.Fatalf("after promotion production runs %s, canary %s, rules %s; want %s, %s, none", running(""), running("canary"), rules(), res.Candidate, stable)
		}
		r, err := p.Route(ctx, azureApp, "production")
		must(t, err)
		if !r.SameTraffic(provider.To("production", res.Candidate)) {
			t.Fatalf("production route %+v", r)
		}
		stable = res.Candidate
		if !strings.Contains(strings.Join(c.steps, "\n"), "SwapSlot") {
			t.Errorf("promotion did not swap: %v", c.steps)
		}
		// Each judged window: the runner's Route (GetConfiguration,
		// ListApplicationSettings, ListApplicationSettingsSlot) and Observe
		// (the two slots' settings, one Metrics - List per slot).
		for _, s := range c.steps {
			if strings.HasPrefix(s, "verdict") && !strings.HasPrefix(s, "verdict 1000 bp: 7 calls") {
				t.Errorf("a judged window cost %s, want 7 calls", s)
			}
		}
	})

	t.Run("faulty is rolled back with the rule cleared", func(t *testing.T) {
		c.steps = nil
		start := vc.Now()
		vc.Run(func() {
			res, err = w.Release(ctx, release.Request{Function: azureApp, Publish: release.PublishRequest{Artifact: code("1.2.0"), Config: cfg, Commits: []string{"feat: new payment provider"}}, Reason: "feat"})
		})
		if !errors.Is(err, canary.ErrRolledBack) {
			t.Fatalf("Release: %v, want ErrRolledBack", err)
		}
		back := vc.Now().Sub(start)
		t.Logf("rolled back v%s after %s: %s", res.Semver, back, res.Reason)
		for _, s := range c.steps {
			t.Log(s)
		}
		if running("") != stable || rules() != "[]" {
			t.Fatalf("after rollback production runs %s with rules %s; want %s and none", running(""), rules(), stable)
		}
		if running("canary") != res.Candidate {
			t.Errorf("the ramp-up slot runs %s, want the rolled-back %s left in place", running("canary"), res.Candidate)
		}
		for _, s := range c.steps {
			if strings.HasPrefix(s, "weight set 0 bp") && !strings.HasPrefix(s, "weight set 0 bp: 4 calls [GetConfiguration ListApplicationSettings ListApplicationSettingsSlot UpdateConfiguration]") {
				t.Errorf("the rollback cost %s, want a read and the rule cleared", s)
			}
		}
		if back > 6*time.Minute {
			t.Errorf("rollback took %s of virtual time, want it within the first judged windows", back)
		}
	})
}
