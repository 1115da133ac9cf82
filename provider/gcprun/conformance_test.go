package gcprun_test

import (
	"testing"

	"github.com/slipway-dev/slipway/provider"
	"github.com/slipway-dev/slipway/provider/gcprun/runtest"
	"github.com/slipway-dev/slipway/provider/providertest"
)

// TestConformance runs the provider contract's suite against the adapter
// pointed at the emulator by client options only, with operations that
// finish after two polls (so every write goes through GetOperation and a
// reconciling service). Each subtest gets its own emulator. The first
// Publish creates the function, as the adapter does on Cloud Functions.
func TestConformance(t *testing.T) {
	providertest.RunWith(t, func(t *testing.T) provider.Provider {
		return newEnv(t, runtest.Options{Polls: 2}).p
	}, providertest.Options{Config: config})
}
