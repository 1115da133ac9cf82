package integration_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/slipway-dev/slipway/provider"
	"github.com/slipway-dev/slipway/release"
)

// quietSynthetic is the synthetic traffic of the quiet-function tests on
// every platform (12 invocations a minute per version), nil when off.
func quietSynthetic(on bool) *release.SyntheticTraffic {
	if !on {
		return nil
	}
	return &release.SyntheticTraffic{PerMinute: 12, Payload: json.RawMessage(`{"orderId":"synthetic"}`)}
}

// checkQuietOutcome checks what every platform's quiet-function release
// must show: the outcome, production on the candidate when promoted and on
// the stable version otherwise, and — without synthetic traffic — an
// inconclusive rollback with no tallies. It reports whether the test has
// more to check (synthetic traffic was on).
func checkQuietOutcome(t *testing.T, p provider.Provider, fn, stable string, res release.Result, err error, want string, synthetic bool) bool {
	t.Helper()
	if res.Outcome != want {
		t.Fatalf("outcome %s (%v): %s, want %s", res.Outcome, err, res.Reason, want)
	}
	prod, rerr := p.Route(context.Background(), fn, "production")
	must(t, rerr)
	wantServing := stable
	if want == release.OutcomePromoted {
		wantServing = res.Candidate
	}
	if !prod.SameTraffic(provider.To("production", wantServing)) {
		t.Errorf("production serves %s, want %s", prod.Traffic(), wantServing)
	}
	if !synthetic {
		if !strings.Contains(res.Reason, "inconclusive") || len(res.Synthetic) != 0 {
			t.Errorf("reason %q, tallies %+v: want an inconclusive rollback and no synthetic traffic", res.Reason, res.Synthetic)
		}
		return false
	}
	return true
}
