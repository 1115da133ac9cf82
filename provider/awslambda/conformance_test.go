package awslambda_test

import (
	"sync"
	"testing"
	"time"

	"github.com/slipway-dev/slipway/provider"
	"github.com/slipway-dev/slipway/provider/awslambda"
	"github.com/slipway-dev/slipway/provider/awslambda/awslambdatest"
	"github.com/slipway-dev/slipway/provider/awslambda/lambdatest"
	"github.com/slipway-dev/slipway/provider/providertest"
)

// TestConformance runs the provider contract's suite against the adapter
// pointed at the emulator by endpoint only, with the SDK clients making a
// single attempt per call as New configures them. Each subtest gets its
// own emulator; Setup creates the function, as Publish needs an existing
// one on Lambda.
func TestConformance(t *testing.T) {
	var (
		mu      sync.Mutex
		servers = map[*testing.T]*lambdatest.Server{}
	)
	server := func(t *testing.T) *lambdatest.Server {
		mu.Lock()
		defer mu.Unlock()
		return servers[t]
	}
	newProvider := func(t *testing.T) provider.Provider {
		c := providertest.NewClock(awslambdatest.Start)
		srv := lambdatest.NewServer(lambdatest.Options{Now: c.Now, SettlePolls: 2})
		t.Cleanup(srv.Close)
		mu.Lock()
		servers[t] = srv
		mu.Unlock()
		return awslambda.NewFromClients(srv.LambdaClient(awslambdatest.NoRetry), srv.CloudWatchClient(awslambdatest.NoRetryCW), awslambda.Options{Now: c.Now, Sleep: c.Sleep})
	}
	providertest.RunWith(t, newProvider, providertest.Options{
		Setup: func(t *testing.T, p provider.Provider, fn string) {
			if err := server(t).CreateFunction(fn, lambdatest.FunctionSpec{Runtime: "provided.al2023", Handler: "bootstrap", Role: role}); err != nil {
				t.Fatal(err)
			}
		},
		Config: func(i int) provider.Config {
			return provider.Config{Runtime: "provided.al2023", Handler: "bootstrap", MemoryMB: 128, Timeout: 3 * time.Second, Role: role}
		},
	})
}
