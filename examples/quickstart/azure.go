package main

import (
	"context"
	"time"

	"github.com/slipway-dev/slipway/canary"
	"github.com/slipway-dev/slipway/provider"
	"github.com/slipway-dev/slipway/provider/azurefunc"
	"github.com/slipway-dev/slipway/provider/azurefunc/azuretest"
	"github.com/slipway-dev/slipway/provider/memory"
)

// newAzurePlatform starts the App Service and Azure Monitor emulator and
// points the azurefunc adapter at it by client options only: versions are
// recorded packages, "staging" is a deployment slot, production's canary
// share goes to the ramp-up slot through a ramp-up rule and promotion is a
// slot swap. Production gets 40 requests a second; metrics are two
// minutes late.
func newAzurePlatform(ctx context.Context, clk canary.Clock) (*platform, error) {
	srv := azuretest.NewServer(azuretest.Options{Now: clk.Now, MetricsDelay: 2 * time.Minute})
	if err := srv.CreateSite(function, map[string]string{"FUNCTIONS_EXTENSION_VERSION": "~4"}); err != nil {
		srv.Close()
		return nil, err
	}
	if err := srv.SetLoad(function, 40); err != nil {
		srv.Close()
		return nil, err
	}
	p, err := azurefunc.New(azuretest.Subscription, azuretest.ResourceGroup, srv.Credential(), azurefunc.Options{
		Packages: srv.Packages(), Now: clk.Now, Sleep: clk.Sleep, PollInterval: time.Second, MetricsDelay: 2 * time.Minute,
	}, srv.ClientOptions())
	if err != nil {
		srv.Close()
		return nil, err
	}
	return &platform{
		p: p, m: p, code: code,
		config: provider.Config{Runtime: "custom", Environment: map[string]string{"PAYMENTS_URL": "https://payments.internal"}},
		// The emulator keys behaviour by the package's SHA-256, so it
		// follows the code through a swap.
		behave: func(v string, b memory.Behavior) {
			if ver, err := p.Version(ctx, function, v); err == nil {
				_ = srv.SetBehavior(function, ver.CodeSHA256, azuretest.Behavior{ErrorRate: b.ErrorRate, ResponseTime: b.Latency.Median})
			}
		},
		afterScene: func() error { return nil },
		close:      srv.Close,
	}, nil
}
