package providertest_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slipway-dev/slipway/provider"
	"github.com/slipway-dev/slipway/provider/memory"
	"github.com/slipway-dev/slipway/provider/providertest"
)

// newMemory returns a fresh in-memory provider or fails t.
func newMemory(t testing.TB, opts memory.Options) *memory.Provider {
	t.Helper()
	p, err := memory.New(opts)
	if err != nil {
		t.Fatalf("memory.New: %v", err)
	}
	return p
}

// platforms are capability sets modelled on the platforms of the provider
// package's concept table, so the suite's capability-dependent clauses run
// on each shape.
var platforms = []struct {
	name string
	caps *provider.Capabilities
}{
	{"Lambda", &provider.Capabilities{MaxRouteVersions: 2, Granularity: 1, DeleteVersions: true}},
	{"CloudRun", &provider.Capabilities{Granularity: 100, DeleteVersions: true, SplitRoutes: []string{"live"}}},
	{"Azure", &provider.Capabilities{MaxRouteVersions: 2, Granularity: 100, DeleteVersions: true, SplitRoutes: []string{"production"}}},
	{"NoSplit", &provider.Capabilities{MaxRouteVersions: 1, DeleteVersions: true}},
	{"NoDelete", &provider.Capabilities{MaxRouteVersions: 3, Granularity: 10}},
	{"Unlimited", &provider.Capabilities{DeleteVersions: true}},
}

func TestMemory(t *testing.T) {
	providertest.Run(t, func(t *testing.T) provider.Provider {
		return newMemory(t, memory.Options{})
	})
}

func TestMemoryPlatforms(t *testing.T) {
	for _, pl := range platforms {
		t.Run(pl.name, func(t *testing.T) {
			t.Parallel()
			providertest.RunWith(t, func(t *testing.T) provider.Provider {
				return newMemory(t, memory.Options{Capabilities: pl.caps})
			}, providertest.Options{Function: "fn-" + pl.name, Versions: 30})
		})
	}
}

// TestMemorySmallPages pages through many short pages, breaking the
// iteration on and beside page boundaries.
func TestMemorySmallPages(t *testing.T) {
	for _, size := range []int{1, 7, 50} {
		t.Run(fmt.Sprintf("PageSize%d", size), func(t *testing.T) {
			t.Parallel()
			providertest.RunWith(t, func(t *testing.T) provider.Provider {
				return newMemory(t, memory.Options{PageSize: size})
			}, providertest.Options{Versions: 3*size + 1})
		})
	}
}

// TestMemoryWithRetry runs the suite through provider.WithRetry: a wrapper
// must keep every clause of the contract.
func TestMemoryWithRetry(t *testing.T) {
	providertest.RunWith(t, func(t *testing.T) provider.Provider {
		return provider.WithRetry(newMemory(t, memory.Options{}), provider.RetryPolicy{})
	}, providertest.Options{Versions: 60})
}

// TestMemoryThrottledWithRetry runs the suite on a provider that throttles
// 30% of its calls, through provider.WithRetry: the retrying wrapper hides
// every throttle, so every clause holds. Waits are skipped (the policy's
// Sleep returns at once), so the test takes no wall time waiting. Listing
// pages are not throttled: a listing that fails after it yielded is passed
// to the caller by design.
func TestMemoryThrottledWithRetry(t *testing.T) {
	noWait := func(ctx context.Context, _ time.Duration) error { return ctx.Err() }
	providertest.RunWith(t, func(t *testing.T) provider.Provider {
		p := newMemory(t, memory.Options{Seed: 7})
		p.Inject(memory.Fault{
			Ops:  []string{memory.OpPublish, memory.OpVersion, memory.OpRoute, memory.OpRoutes, memory.OpSetRoute, memory.OpDeleteVersion},
			Rate: 0.3,
			Err:  &provider.ThrottleError{RetryAfter: time.Second},
		})
		return provider.WithRetry(p, provider.RetryPolicy{MaxAttempts: 40, Sleep: noWait})
	}, providertest.Options{Versions: 60})
}

// TestMemoryOptions runs the suite with a caller's artifacts, configuration
// and setup hook, as an adapter's test would, and checks that every subtest
// set up a function of its own.
func TestMemoryOptions(t *testing.T) {
	var mu sync.Mutex
	setups := map[string]int{}
	providertest.RunWith(t, func(t *testing.T) provider.Provider {
		return newMemory(t, memory.Options{})
	}, providertest.Options{
		Function: "custom",
		Artifact: func(i int) provider.Artifact {
			ref := fmt.Sprintf("registry.example/app:build-%d", i)
			sum := sha256.Sum256([]byte(ref))
			return provider.Artifact{Image: ref, SHA256: hex.EncodeToString(sum[:])}
		},
		Config: func(int) provider.Config {
			return provider.Config{Runtime: "go1.x", MemoryMB: 256, Environment: map[string]string{"STAGE": "test"}, Role: "arn:aws:iam::123456789012:role/fn"}
		},
		Setup: func(t *testing.T, p provider.Provider, fn string) {
			mu.Lock()
			defer mu.Unlock()
			setups[fn]++
		},
		SkipSlow: true,
	})
	if len(setups) < 40 {
		t.Errorf("Setup was called for %d functions, want one per clause (more than 40)", len(setups))
	}
	for fn, n := range setups {
		if n != 1 || !strings.HasPrefix(fn, "custom-") {
			t.Errorf("Setup(%q) called %d times, want once, for a name starting with %q", fn, n, "custom-")
		}
	}
}
