package canary_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"testing/synctest"

	"github.com/slipway-dev/slipway/canary"
	"github.com/slipway-dev/slipway/provider/memory"
)

// A rolled-back rollout's error says why it rolled back (the failed
// check), not only that the stable route is in place. In virtual time
// (synctest).
func TestRolloutErrorSaysWhy(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		mem, _ := runnerFixture(t, memory.Options{Seed: 3})
		mem.SetLoad("fn", "live", simLoad)
		mem.SetBehavior("fn", "1", simStable)
		mem.SetBehavior("fn", "2", simErrors)
		r, err := canary.NewRunner(canary.RunnerOptions{Provider: mem, Metrics: mem})
		if err != nil {
			t.Fatal(err)
		}
		s, _ := canary.JudgedPreset("Canary10Percent5Minutes")
		_, err = r.Start(context.Background(), canary.Rollout{ID: "r", Function: "fn", Alias: "live", Candidate: "2", Strategy: s})
		var re *canary.RolloutError
		if !errors.As(err, &re) || re.Phase != canary.PhaseRolledBack {
			t.Fatalf("Start = %v, want a rolled-back *RolloutError", err)
		}
		if !strings.Contains(re.Cause, `check "sequential" failed`) || !strings.HasPrefix(re.Reason, "stable route in place") {
			t.Errorf("Cause %q, Reason %q: want the failed check and the stable route", re.Cause, re.Reason)
		}
		if msg := err.Error(); !strings.Contains(msg, `check "sequential" failed`) || !strings.Contains(msg, "stable route in place") {
			t.Errorf("error %q: want both why and where it ended", msg)
		}
	})
}
