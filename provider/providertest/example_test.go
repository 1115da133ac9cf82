package providertest_test

import (
	"testing"

	"github.com/slipway-dev/slipway/provider"
	"github.com/slipway-dev/slipway/provider/memory"
	"github.com/slipway-dev/slipway/provider/providertest"
)

// A provider's test file runs the whole contract with one call. The factory
// returns a fresh provider for every subtest. This example needs a
// *testing.T, so it is compiled but has no output; TestMemory in this
// package runs exactly this.
func ExampleRun() {
	testConformance := func(t *testing.T) {
		providertest.Run(t, func(t *testing.T) provider.Provider {
			p, err := memory.New(memory.Options{})
			if err != nil {
				t.Fatal(err)
			}
			return p
		})
	}
	_ = testConformance
}

// An adapter pointed at an emulator or a cloud account shares one platform
// between subtests: each subtest uses its own function name under
// Options.Function, Setup creates it where Publish needs an existing
// function, and Config gives a configuration the platform accepts.
func ExampleRunWith() {
	testAdapter := func(t *testing.T) {
		providertest.RunWith(t, func(t *testing.T) provider.Provider {
			p, err := memory.New(memory.Options{Capabilities: &provider.Capabilities{
				MaxRouteVersions: 2, Granularity: 100, DeleteVersions: true, SplitRoutes: []string{"production"},
			}})
			if err != nil {
				t.Fatal(err)
			}
			return p
		}, providertest.Options{
			Function: "ci-conformance",
			Config: func(int) provider.Config {
				return provider.Config{Runtime: "go1.x", MemoryMB: 256, Role: "arn:aws:iam::123456789012:role/conformance"}
			},
			Setup: func(t *testing.T, p provider.Provider, fn string) {
				t.Logf("the platform's test harness would create function %s here", fn)
			},
			SkipSlow: testing.Short(),
		})
	}
	_ = testAdapter
}
