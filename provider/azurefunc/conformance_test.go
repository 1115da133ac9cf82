package azurefunc_test

import (
	"testing"

	"github.com/slipway-dev/slipway/provider"
	"github.com/slipway-dev/slipway/provider/azurefunc/azuretest"
	"github.com/slipway-dev/slipway/provider/providertest"
)

// TestConformance runs the provider contract's suite against the adapter
// pointed at the emulator through the SDK's client options only (endpoint
// and transport), with the clients making one attempt per call as New
// configures them. Each subtest gets its own emulator; Setup creates the
// function app, as Publish needs an existing one. The plan allows 64
// slots: the Race clause creates 20 routes, each a slot.
func TestConformance(t *testing.T) {
	var srvs syncMap[*testing.T, *azuretest.Server]
	newP := func(t *testing.T) provider.Provider {
		c := newClock()
		srv := azuretest.NewServer(azuretest.Options{Now: c.Now, SwapPolls: 2, MaxSlots: 64})
		t.Cleanup(srv.Close)
		srvs.Store(t, srv)
		return newProvider(t, srv, c)
	}
	providertest.RunWith(t, newP, providertest.Options{
		Setup: func(t *testing.T, p provider.Provider, fn string) {
			srv, _ := srvs.Load(t)
			must(t, srv.CreateSite(fn, nil))
		},
	})
}
