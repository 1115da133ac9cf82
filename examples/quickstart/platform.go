package main

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/slipway-dev/slipway/canary"
	"github.com/slipway-dev/slipway/provider"
	"github.com/slipway-dev/slipway/provider/azurefunc"
	"github.com/slipway-dev/slipway/provider/azurefunc/azuretest"
	"github.com/slipway-dev/slipway/provider/memory"
)

// platform is the simulated platform the quickstart runs on: a provider,
// its metrics, a way to give a version's code a behaviour, and its
// teardown.
type platform struct {
	p           provider.Provider
	m           provider.Metrics
	setBehavior func(ctx context.Context, version string, b memory.Behavior) error
	close       func()
}

var platformNames = []string{"memory", "azurefunc"}

func platforms() []string { return slices.Clone(platformNames) }

func checkPlatform(name string) error {
	if !slices.Contains(platformNames, name) {
		return provider.Invalid("quickstart", "-provider", fmt.Sprintf("%q is not one of %v", name, platformNames))
	}
	return nil
}

// newPlatform builds the named platform on clk. memory is the in-memory
// provider; azurefunc is the Azure Functions adapter on its in-process
// App Service and Azure Monitor emulator (deployment slots, a ramp-up rule
// for the canary, promotion by slot swap), with no credentials and no
// network.
func newPlatform(name string, clk canary.Clock) (platform, error) {
	switch name {
	case "azurefunc":
		srv := azuretest.NewServer(azuretest.Options{Now: clk.Now, MetricsDelay: 2 * time.Minute})
		if err := srv.CreateSite(function, map[string]string{"FUNCTIONS_EXTENSION_VERSION": "~4"}); err != nil {
			srv.Close()
			return platform{}, err
		}
		if err := srv.SetLoad(function, 40); err != nil {
			srv.Close()
			return platform{}, err
		}
		p, err := azurefunc.New(azuretest.Subscription, azuretest.ResourceGroup, srv.Credential(), azurefunc.Options{
			Packages: srv.Packages(), Now: clk.Now, Sleep: clk.Sleep, PollInterval: time.Second, MetricsDelay: 2 * time.Minute,
		}, srv.ClientOptions())
		if err != nil {
			srv.Close()
			return platform{}, err
		}
		return platform{p: p, m: p, close: srv.Close,
			setBehavior: func(ctx context.Context, version string, b memory.Behavior) error {
				v, err := p.Version(ctx, function, version)
				if err != nil {
					return err
				}
				return srv.SetBehavior(function, v.CodeSHA256, azuretest.Behavior{ErrorRate: b.ErrorRate, ResponseTime: b.Latency.Median})
			}}, nil
	default:
		mem, err := memory.New(memory.Options{Now: clk.Now, Sleep: clk.Sleep, Seed: 42})
		if err != nil {
			return platform{}, err
		}
		mem.SetLoad(function, "production", 40)
		mem.SetLoad(function, "staging", 1)
		return platform{p: mem, m: mem, close: func() {},
			setBehavior: func(_ context.Context, version string, b memory.Behavior) error {
				mem.SetBehavior(function, version, b)
				return nil
			}}, nil
	}
}
