package azurefunc_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/slipway-dev/slipway/provider"
	"github.com/slipway-dev/slipway/provider/azurefunc"
	"github.com/slipway-dev/slipway/provider/azurefunc/azuretest"
)

// publish publishes one version per code and returns their IDs.
func (e *env) publish(t *testing.T, codes ...string) []string {
	t.Helper()
	var ids []string
	for _, v := range e.publishVersions(t, codes...) {
		ids = append(ids, v.ID)
	}
	return ids
}

// publishVersions publishes one version per code and returns them.
func (e *env) publishVersions(t *testing.T, codes ...string) []provider.Version {
	t.Helper()
	var vs []provider.Version
	for _, c := range codes {
		v, err := e.p.Publish(context.Background(), fn, zipIn(c))
		must(t, err)
		vs = append(vs, v)
	}
	return vs
}

func (e *env) set(t *testing.T, r provider.Route) provider.Route {
	t.Helper()
	got, err := e.p.SetRoute(context.Background(), fn, r)
	if err != nil {
		t.Fatalf("SetRoute(%+v): %v", r, err)
	}
	return got
}

func (e *env) settings(t *testing.T, slot string) map[string]string {
	t.Helper()
	s, err := e.srv.Settings(fn, slot)
	must(t, err)
	return s
}

func opsEqual(t *testing.T, what string, got []string, want ...string) {
	t.Helper()
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("%s: API calls (-want +got):\n%s", what, diff)
	}
}

// A canary on Azure: the candidate goes to the ramp-up slot and a ramp-up
// rule sends its share; steps rewrite the rule only; promotion clears the
// rule and swaps; going back after a promotion swaps again. Each write is
// preceded by a read of what it depends on. The exact calls are the
// cost model the adapter documents.
func TestProductionRouteLifecycle(t *testing.T) {
	e := newEnv(t, azuretest.Options{SwapPolls: 2})
	v := e.publish(t, "v1", "v2")
	ctx := context.Background()
	prod := e.set(t, provider.To("production", v[0]))

	e.srv.ResetOps()
	r := e.set(t, rev(provider.Split("production", v[0], v[1], 1000), prod.Revision))
	opsEqual(t, "first canary step", e.srv.Ops(),
		"GetConfiguration", "ListApplicationSettings", "ListApplicationSettingsSlot", // read: no ramp-up slot yet (404)
		"GetDeployment",                                                              // the candidate's record
		"GetConfiguration", "ListApplicationSettings", "ListApplicationSettingsSlot", // re-read before the first write
		"Get", "CreateOrUpdateSlot", "UpdateApplicationSettingsSlot", // create the slot, deploy
		"GetConfiguration", "ListApplicationSettings", "ListApplicationSettingsSlot", "UpdateConfiguration") // re-read, rule
	if got := e.settings(t, "canary"); got["SLIPWAY_VERSION"] != v[1] || got["MODE"] != "v2" || !e.srv.Packages().Has(got["WEBSITE_RUN_FROM_PACKAGE"]) {
		t.Errorf("canary slot settings %v, want version %s with its package and environment", got, v[1])
	}

	e.srv.ResetOps()
	got, err := e.p.Route(ctx, fn, "production")
	must(t, err)
	if got.Revision != r.Revision || got.Share(v[1]) != 1000 || got.Primary() != v[0] {
		t.Fatalf("Route = %+v, want %+v", got, r)
	}
	r = e.set(t, rev(provider.Split("production", v[0], v[1], 2500), r.Revision))
	opsEqual(t, "read and a later canary step", e.srv.Ops(),
		"GetConfiguration", "ListApplicationSettings", "ListApplicationSettingsSlot",
		"GetConfiguration", "ListApplicationSettings", "ListApplicationSettingsSlot", "UpdateConfiguration")
	rules, err := e.srv.RampUpRules(fn)
	must(t, err)
	if want := `[{"name":"canary","actionHostName":"checkout-canary.azurewebsites.net","reroutePercentage":25}]`; string(rules) != want {
		t.Errorf("rampUpRules = %s, want %s", rules, want)
	}

	e.srv.ResetOps()
	promoted := e.set(t, rev(provider.To("production", v[1]), r.Revision))
	opsEqual(t, "promotion", e.srv.Ops(),
		"GetConfiguration", "ListApplicationSettings", "ListApplicationSettingsSlot", "UpdateConfiguration", // clear the rule
		"GetConfiguration", "ListApplicationSettings", "ListApplicationSettingsSlot", "SwapSlot",
		"GetOperationResult", "GetOperationResult") // two polls: 202, then 200
	if e.settings(t, "")["SLIPWAY_VERSION"] != v[1] || e.settings(t, "canary")["SLIPWAY_VERSION"] != v[0] {
		t.Fatalf("after promotion production runs %s and canary %s", e.settings(t, "")["SLIPWAY_VERSION"], e.settings(t, "canary")["SLIPWAY_VERSION"])
	}
	if rules, _ := e.srv.RampUpRules(fn); string(rules) != "[]" {
		t.Errorf("rampUpRules after promotion = %s, want none", rules)
	}

	// Rolling back a promotion: the old version is in the ramp-up slot, so
	// it is swapped back.
	e.srv.ResetOps()
	back := e.set(t, rev(provider.To("production", v[0]), promoted.Revision))
	opsEqual(t, "going back after a promotion", e.srv.Ops(),
		"GetConfiguration", "ListApplicationSettings", "ListApplicationSettingsSlot", "SwapSlot", "GetOperationResult", "GetOperationResult")
	if back.Primary() != v[0] || e.settings(t, "")["SLIPWAY_VERSION"] != v[0] {
		t.Fatalf("after going back production runs %s", e.settings(t, "")["SLIPWAY_VERSION"])
	}
}

// Rollback of a canary is one write: the rule cleared; the ramp-up slot
// keeps the candidate, which no route references any more.
func TestRollbackClearsRule(t *testing.T) {
	e := newEnv(t, azuretest.Options{})
	v := e.publish(t, "v1", "v2")
	prod := e.set(t, provider.To("production", v[0]))
	r := e.set(t, rev(provider.Split("production", v[0], v[1], 500), prod.Revision))
	e.srv.ResetOps()
	back := e.set(t, rev(provider.To("production", v[0]), r.Revision))
	opsEqual(t, "rollback", e.srv.Ops(), "GetConfiguration", "ListApplicationSettings", "ListApplicationSettingsSlot", "UpdateConfiguration")
	if rules, _ := e.srv.RampUpRules(fn); string(rules) != "[]" {
		t.Errorf("rampUpRules after rollback = %s, want none", rules)
	}
	if back.Revision != prod.Revision {
		t.Errorf("revision after rollback %q, want the pre-canary %q (the token is derived from the routing)", back.Revision, prod.Revision)
	}
	if err := e.p.DeleteVersion(context.Background(), fn, v[0]); !errors.Is(err, provider.ErrInUse) {
		t.Errorf("DeleteVersion of production's version: %v, want ErrInUse", err)
	}
}

// Settings are written whole by read-modify-write: the app's own settings
// stay, the previous version's environment goes.
func TestDeployKeepsOtherSettings(t *testing.T) {
	e := newEnv(t, azuretest.Options{})
	ctx := context.Background()
	a, err := e.p.Publish(ctx, fn, provider.PublishInput{Artifact: provider.Artifact{Zip: zipOf("a")}, Config: provider.Config{Environment: map[string]string{"OLD": "1", "SHARED": "a"}}})
	must(t, err)
	b, err := e.p.Publish(ctx, fn, provider.PublishInput{Artifact: provider.Artifact{Zip: zipOf("b")}, Config: provider.Config{Runtime: "python", Environment: map[string]string{"SHARED": "b"}}})
	must(t, err)
	r := e.set(t, provider.To("production", a.ID))
	// Someone adds a setting out of band; it is not slipway's to remove.
	s := e.settings(t, "")
	s["TEAM_SETTING"] = "keep"
	must(t, e.srv.PutSettings(fn, "", s))
	e.set(t, rev(provider.To("production", b.ID), r.Revision))
	got := e.settings(t, "")
	delete(got, "WEBSITE_RUN_FROM_PACKAGE")
	want := map[string]string{
		"AzureWebJobsStorage": "UseDevelopmentStorage=true", "FUNCTIONS_EXTENSION_VERSION": "~4", "TEAM_SETTING": "keep",
		"SHARED": "b", "FUNCTIONS_WORKER_RUNTIME": "python", "SLIPWAY_VERSION": b.ID, "SLIPWAY_PACKAGE_OWNED": "true", "SLIPWAY_MANAGED_SETTINGS": "FUNCTIONS_WORKER_RUNTIME,SHARED",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("production settings after deploying b over a (-want +got):\n%s", diff)
	}
}

// A stale revision is refused, and so is a change another client makes
// between SetRoute's read and a later write of the same call.
func TestConflicts(t *testing.T) {
	t.Run("stale revision from another adapter", func(t *testing.T) {
		e := newEnv(t, azuretest.Options{})
		v := e.publish(t, "v1", "v2")
		prod := e.set(t, provider.To("production", v[0]))
		other := newProvider(t, e.srv, e.clock)
		_, err := other.SetRoute(context.Background(), fn, rev(provider.Split("production", v[0], v[1], 100), prod.Revision))
		must(t, err)
		_, err = e.p.SetRoute(context.Background(), fn, rev(provider.Split("production", v[0], v[1], 200), prod.Revision))
		if !errors.Is(err, provider.ErrConflict) {
			t.Fatalf("SetRoute with a stale revision: %v, want ErrConflict", err)
		}
	})
	t.Run("changed between the reads of one SetRoute", func(t *testing.T) {
		var armed atomic.Bool
		var srv *azuretest.Server
		e := newEnv(t, azuretest.Options{SwapPolls: 1, Throttle: func(op string) (time.Duration, bool) {
			// The hook runs before each request: after the rule is cleared
			// for a promotion, another client deploys to production.
			if op == "UpdateConfiguration" && armed.CompareAndSwap(true, false) {
				s, _ := srv.Settings(fn, "")
				s["SLIPWAY_VERSION"] = "0123456789ab"
				_ = srv.PutSettings(fn, "", s)
			}
			return 0, false
		}})
		srv = e.srv
		v := e.publish(t, "v1", "v2")
		prod := e.set(t, provider.To("production", v[0]))
		r := e.set(t, rev(provider.Split("production", v[0], v[1], 1000), prod.Revision))
		armed.Store(true)
		e.srv.ResetOps()
		_, err := e.p.SetRoute(context.Background(), fn, rev(provider.To("production", v[1]), r.Revision))
		if !errors.Is(err, provider.ErrConflict) {
			t.Fatalf("promotion while another client deployed: %v, want ErrConflict", err)
		}
		if slices.Contains(e.srv.Ops(), "SwapSlot") {
			t.Errorf("the adapter swapped after the route moved: %v", e.srv.Ops())
		}
	})
}

func TestThrottledCarriesRetryAfter(t *testing.T) {
	var n atomic.Int32
	e := newEnv(t, azuretest.Options{Throttle: func(op string) (time.Duration, bool) {
		return 2 * time.Second, op == "GetConfiguration" && n.Add(1) == 1
	}})
	_, err := e.p.Route(context.Background(), fn, "production")
	if !errors.Is(err, provider.ErrThrottled) {
		t.Fatalf("Route while throttled: %v, want ErrThrottled", err)
	}
	if d, ok := provider.RetryAfter(err); !ok || d != 2*time.Second {
		t.Errorf("RetryAfter = %v, %v; want 2s from the Retry-After header", d, ok)
	}
	var pe *provider.Error
	if !errors.As(err, &pe) || pe.Function != fn {
		t.Errorf("error %v is not a *provider.Error for %s", err, fn)
	}
	// provider.WithRetry waits the hint and succeeds.
	p := provider.WithRetry(e.p, provider.RetryPolicy{Sleep: e.clock.Sleep})
	before := e.clock.Now()
	n.Store(0)
	_, err = p.Route(context.Background(), fn, "production")
	if !errors.Is(err, provider.ErrNotFound) { // no version in production yet
		t.Fatalf("Route through WithRetry: %v, want ErrNotFound after the retry", err)
	}
	if waited := e.clock.Now().Sub(before); waited < 2*time.Second {
		t.Errorf("WithRetry waited %s, want at least the 2s hint", waited)
	}
}

// The ramp-up slot is production's, not a route of its own; slots cannot
// split.
func TestAliasRules(t *testing.T) {
	e := newEnv(t, azuretest.Options{})
	v := e.publish(t, "v1", "v2")
	ctx := context.Background()
	for _, r := range []provider.Route{provider.To("canary", v[0]), provider.To("Bad_Slot", v[0]), provider.To("stage", "$LATEST")} {
		if _, err := e.p.SetRoute(ctx, fn, r); !errors.Is(err, provider.ErrInvalid) {
			t.Errorf("SetRoute(%+v): %v, want ErrInvalid", r, err)
		}
	}
	if _, err := e.p.SetRoute(ctx, fn, provider.Split("stage", v[0], v[1], 100)); !errors.Is(err, provider.ErrUnsupported) {
		t.Errorf("a split on a slot: %v, want ErrUnsupported", err)
	}
	if len(e.srv.Ops()) != 4 { // the two publishes' ListDeployments + CreateDeployment
		t.Errorf("refused routes made calls: %v", e.srv.Ops())
	}
}

// Deleting a version removes its record, and its package only when no
// slot runs it; a package kept that way goes when a later deploy replaces
// it in its slot.
func TestDeleteVersionKeepsWhatSlotsRun(t *testing.T) {
	e := newEnv(t, azuretest.Options{})
	ctx := context.Background()
	v := e.publish(t, "v1", "v2", "v3", "v4")
	prod := e.set(t, provider.To("production", v[0]))
	r := e.set(t, rev(provider.Split("production", v[0], v[1], 1000), prod.Revision))
	r = e.set(t, rev(provider.To("production", v[0]), r.Revision)) // rolled back: v2 stays in the canary slot
	pkg2 := e.settings(t, "canary")["WEBSITE_RUN_FROM_PACKAGE"]
	must(t, e.p.DeleteVersion(ctx, fn, v[1]))
	if _, err := e.p.Version(ctx, fn, v[1]); !errors.Is(err, provider.ErrNotFound) {
		t.Errorf("Version after delete: %v, want ErrNotFound", err)
	}
	if !e.srv.Packages().Has(pkg2) || e.settings(t, "canary")["SLIPWAY_VERSION"] != v[1] {
		t.Fatalf("deleting v2 touched what the canary slot runs")
	}
	// The next canary replaces v2 in the slot: its package goes now.
	r = e.set(t, rev(provider.Split("production", v[0], v[2], 1000), r.Revision))
	if e.srv.Packages().Has(pkg2) {
		t.Errorf("v2's package outlived its record and its slot")
	}
	pkg3 := e.settings(t, "canary")["WEBSITE_RUN_FROM_PACKAGE"]
	r = e.set(t, rev(provider.To("production", v[0]), r.Revision))
	// A version nothing runs: record and package go at once.
	e.set(t, rev(provider.Split("production", v[0], v[3], 1000), r.Revision))
	must(t, e.p.DeleteVersion(ctx, fn, v[2]))
	if e.srv.Packages().Has(pkg3) {
		t.Errorf("v3's package outlived its record though no slot runs it")
	}
	if got := e.srv.Packages().List(); len(got) != 2 || !strings.HasPrefix(got[0], fn+"/") {
		t.Errorf("packages left = %q, want v1's and v4's, named {app}/{sha}.zip", got)
	}
}

func rev(r provider.Route, revision string) provider.Route {
	r.Revision = revision
	return r
}

// A promotion whose context ends while the swap is polled returns the
// context's error. The rule was cleared first, so until the swap lands
// production's traffic is all on the known-good version; the swap itself
// runs on (Azure does not cancel it), so afterwards production runs the
// candidate.
func TestPromotionCancelledDuringSwap(t *testing.T) {
	c := newClock()
	srv := azuretest.NewServer(azuretest.Options{Now: c.Now, SwapPolls: 3, SwapDuration: 30 * time.Second})
	t.Cleanup(srv.Close)
	must(t, srv.CreateSite(fn, nil))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	p, err := azurefunc.New(azuretest.Subscription, azuretest.ResourceGroup, srv.Credential(), azurefunc.Options{
		Packages: srv.Packages(), Now: c.Now,
		Sleep: func(ctx context.Context, d time.Duration) error { cancel(); return ctx.Err() },
	}, srv.ClientOptions())
	must(t, err)
	e := &env{clock: c, srv: srv, p: p}
	v := e.publish(t, "v1", "v2")
	prod := e.set(t, provider.To("production", v[0]))
	r := e.set(t, rev(provider.Split("production", v[0], v[1], 1000), prod.Revision))
	_, err = p.SetRoute(ctx, fn, rev(provider.To("production", v[1]), r.Revision))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("SetRoute with the context cancelled during the swap: %v, want context.Canceled", err)
	}
	got, err := p.Route(context.Background(), fn, "production")
	must(t, err)
	if !got.SameTraffic(provider.To("production", v[0])) {
		t.Errorf("production after a cancelled promotion: %+v, want all on %s", got.Weights, v[0])
	}
	c.Advance(30 * time.Second)
	got, err = p.Route(context.Background(), fn, "production")
	must(t, err)
	if !got.SameTraffic(provider.To("production", v[1])) {
		t.Errorf("production once the swap ran to its end: %+v, want all on %s", got.Weights, v[1])
	}
}
