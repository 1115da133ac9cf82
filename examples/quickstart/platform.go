package main

import (
	"archive/zip"
	"bytes"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/slipway-dev/slipway/canary"
	"github.com/slipway-dev/slipway/provider"
	"github.com/slipway-dev/slipway/provider/azurefunc"
	"github.com/slipway-dev/slipway/provider/azurefunc/azuretest"
	"github.com/slipway-dev/slipway/provider/gcprun"
	"github.com/slipway-dev/slipway/provider/gcprun/runtest"
	"github.com/slipway-dev/slipway/provider/memory"
)

// platform is where the quickstart runs: a provider, its metrics, and the
// simulation's knobs.
type platform struct {
	p      provider.Provider
	m      provider.Metrics
	config provider.Config
	code   func(v string) provider.Artifact
	// behave sets how a version's code behaves from now on.
	behave func(ctx context.Context, version string, b memory.Behavior) error
	// afterScene runs once the function exists (the emulated Cloud Run
	// service takes its load then).
	afterScene func() error
	close      func()
}

var platformNames = []string{"memory", "gcprun", "azurefunc"}

func platforms() []string { return slices.Clone(platformNames) }

func checkPlatform(name string) error {
	if !slices.Contains(platformNames, name) {
		return provider.Invalid("quickstart flags", "provider", fmt.Sprintf("%q is not one of %v", name, platformNames))
	}
	return nil
}

// newPlatform builds the named platform on clk: the in-memory provider, or
// a cloud adapter pointed at its in-process emulator by client options
// only (no credentials, no network beyond loopback).
func newPlatform(ctx context.Context, name string, clk canary.Clock) (*platform, error) {
	switch name {
	case "gcprun":
		return newGCPPlatform(ctx, clk)
	case "azurefunc":
		return newAzurePlatform(clk)
	}
	mem, err := memory.New(memory.Options{Now: clk.Now, Sleep: clk.Sleep, Seed: 42})
	if err != nil {
		return nil, err
	}
	// Production gets 40 requests a second, staging a trickle. The stable
	// code fails 0.2% of its invocations.
	mem.SetLoad(function, "production", 40)
	mem.SetLoad(function, "staging", 1)
	return &platform{
		p: mem, m: mem, config: config0(), code: code,
		behave: func(_ context.Context, v string, b memory.Behavior) error {
			mem.SetBehavior(function, v, b)
			return nil
		},
		afterScene: func() error { return nil },
		close:      func() {},
	}, nil
}

// newGCPPlatform starts the Cloud Run functions emulator and points the
// gcprun adapter at it by client options only. Production (the service's
// split) gets 40 requests a second once the function exists; metrics are
// a minute late.
func newGCPPlatform(ctx context.Context, clk canary.Clock) (*platform, error) {
	srv := runtest.NewServer(runtest.Options{Now: clk.Now, MetricsDelay: time.Minute})
	p, err := gcprun.New(ctx, gcprun.Options{
		Project: srv.Project(), Location: srv.Location(), Route: "production",
		Now: clk.Now, Sleep: clk.Sleep, MetricsDelay: time.Minute,
	}, srv.ClientOptions()...)
	if err != nil {
		srv.Close()
		return nil, err
	}
	return &platform{
		p: p, m: p, code: zipCode,
		config: provider.Config{Runtime: "go125", Handler: "Checkout", MemoryMB: 256, Timeout: 10 * time.Second,
			Environment: map[string]string{"PAYMENTS_URL": "https://payments.internal"}},
		behave: func(_ context.Context, v string, b memory.Behavior) error {
			return srv.SetBehavior(function, v, runtest.Behavior{ErrorRate: b.ErrorRate, P50: b.Latency.Median, P90: b.Latency.Median, P99: b.Latency.P99})
		},
		afterScene: func() error { return srv.SetLoad(function, 40) },
		close: func() {
			_ = p.Close()
			srv.Close()
		},
	}, nil
}

// newAzurePlatform starts the App Service and Azure Monitor emulator and
// points the azurefunc adapter at it: deployment slots, a ramp-up rule for
// the canary, promotion by slot swap.
func newAzurePlatform(clk canary.Clock) (*platform, error) {
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
		p: p, m: p, config: config0(), code: code,
		behave: func(ctx context.Context, version string, b memory.Behavior) error {
			v, err := p.Version(ctx, function, version)
			if err != nil {
				return err
			}
			return srv.SetBehavior(function, v.CodeSHA256, azuretest.Behavior{ErrorRate: b.ErrorRate, ResponseTime: b.Latency.Median})
		},
		afterScene: func() error { return nil },
		close:      srv.Close,
	}, nil
}

// zipCode is a version's source as the zip archive Cloud Functions builds.
func zipCode(v string) provider.Artifact {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, err := zw.CreateHeader(&zip.FileHeader{Name: "checkout.go", Method: zip.Store})
	if err == nil {
		_, err = fmt.Fprintf(w, "package checkout // %s\n", v)
	}
	if err == nil {
		err = zw.Close()
	}
	if err != nil {
		panic(err) // writing to a bytes.Buffer cannot fail
	}
	return provider.Artifact{Zip: buf.Bytes()}
}
