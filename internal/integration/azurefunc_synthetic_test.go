package integration_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/slipway-dev/slipway/canary"
	"github.com/slipway-dev/slipway/journal"
	"github.com/slipway-dev/slipway/provider"
	"github.com/slipway-dev/slipway/provider/azurefunc"
	"github.com/slipway-dev/slipway/provider/azurefunc/azuretest"
	"github.com/slipway-dev/slipway/release"
	"github.com/slipway-dev/slipway/semver"
)

// A quiet function on the Azure emulator — 1 organic request a minute at
// the production host (azuretest's SetLoad) — released as on Lambda and
// Cloud Run (TestReleaseSyntheticQuietFunctionOnCloudRun). During the
// canary the candidate runs in the ramp-up slot, whose Requests and
// Http5xx the adapter's Observe reads for the production route, and alone
// in the staging slot, whose host the adapter invokes: Azure counts the
// synthetic requests in the staging slot's metrics, not in the series the
// canary reads (azurefunc's Capabilities: InvokesObserved false), so
// synthetic traffic is added to them as on Lambda, and the test checks the
// requests did reach staging and never a slot the canary reads. The stable
// version runs in the production slot, which splits: no host reaches it
// alone, so its synthetic invocations are refused (Unaddressable). Each
// judged window's platform counts are read by the check itself, while the
// slots still run what they ran (a swap moves a version's past metrics to
// the other slot).
func TestReleaseSyntheticQuietFunctionOnAzure(t *testing.T) {
	for _, tt := range synthCases {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			vc := canary.NewVirtualClock(time.Date(2026, 3, 4, 9, 0, 0, 0, time.UTC))
			srv := azuretest.NewServer(azuretest.Options{Now: vc.Now, MetricsDelay: time.Minute, SwapPolls: 2, SwapRetryAfter: 1})
			t.Cleanup(srv.Close)
			must(t, srv.CreateSite(azureApp, map[string]string{"FUNCTIONS_EXTENSION_VERSION": "~4", "AzureWebJobsStorage": "UseDevelopmentStorage=true"}))
			p, err := azurefunc.New(azuretest.Subscription, azuretest.ResourceGroup, srv.Credential(), azurefunc.Options{
				Packages: srv.Packages(), Now: vc.Now, Sleep: vc.Sleep, PollInterval: time.Second, MetricsDelay: 2 * time.Minute,
				InvokePath: "/api/checkout", InvokeClient: &http.Client{Transport: srv.InvokeTransport()},
			}, srv.ClientOptions())
			must(t, err)
			if p.Capabilities().InvokesObserved {
				t.Fatal("azurefunc says its production route's series count its invocations")
			}
			l := &synthLedger{raw: p, calls: map[string][]time.Time{}, platform: map[string][2]int64{}}
			s, check := quietStrategy(l)
			j := &journal.MemoryJournal{}
			w, err := release.New(release.Options{
				Runner:  canary.RunnerOptions{Provider: p, Metrics: p, Clock: vc, MetricsLag: 2 * time.Minute, Checks: map[string]canary.Check{"errors": check}},
				Journal: j, Actor: "e2e",
				OnEvent: func(e release.Event) {
					if e.Kind == release.EventPublished {
						srv.SetHandler(azureApp, e.Candidate, synthHandler(l, e.Candidate, vc.Now, tt.strict && e.Semver == "1.1.0"))
					}
				},
			})
			must(t, err)
			cfg := provider.Config{Runtime: "custom", Environment: map[string]string{"LOG_LEVEL": "info"}}
			rel := func(sv string, st *canary.Strategy, syn *release.SyntheticTraffic) (release.Result, error) {
				v := semver.MustParse(sv)
				var (
					res release.Result
					err error
				)
				vc.Run(func() {
					res, err = w.Release(ctx, release.Request{Function: azureApp, ID: "r-" + sv, Strategy: st, Synthetic: syn,
						Publish: release.PublishRequest{Artifact: provider.Artifact{Zip: []byte("PK checkout " + sv)}, Config: cfg, Semver: &v}})
				})
				return res, err
			}
			all := canary.AllAtOnce()
			first, err := rel("1.0.0", &all, nil)
			must(t, err)
			must(t, srv.SetLoad(azureApp, 1.0/60))

			res, err := rel("1.1.0", &s, quietSynthetic(tt.synthetic))
			t.Logf("%s: %s (%s); tallies %+v", tt.name, res.Outcome, res.Reason, res.Synthetic)
			if !checkQuietOutcome(t, p, azureApp, first.Candidate, res, err, tt.outcome, tt.synthetic) {
				return
			}
			for _, in := range srv.Invocations() {
				if in.Slot != "staging" || in.Version != res.Candidate {
					t.Errorf("a synthetic request reached slot %q running %s, want the staging slot running the candidate %s", in.Slot, in.Version, res.Candidate)
				}
			}
			platform := func(v string, _, _ time.Time) (n, errs int64) {
				l.mu.Lock()
				defer l.mu.Unlock()
				return l.platform[v][0], l.platform[v][1]
			}
			checkSynthAccounting(t, tt, l, res, map[string]bool{first.Candidate: true}, false, platform)
			checkSynthReport(t, j, res)
		})
	}
}
