package memory_test

import (
	"path/filepath"
	"testing"

	"github.com/slipway-dev/slipway/provider"
	"github.com/slipway-dev/slipway/provider/memory"
	"github.com/slipway-dev/slipway/provider/providertest"
)

// TestConformance runs the provider conformance suite on the default
// options, on the capability shapes of Cloud Run and of a platform that
// cannot delete, and with persistence to a file (every change written).
func TestConformance(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts func(t *testing.T) memory.Options
	}{
		{"Default", func(*testing.T) memory.Options { return memory.Options{} }},
		{"CloudRunShape", func(*testing.T) memory.Options {
			return memory.Options{Capabilities: &provider.Capabilities{Granularity: 100, DeleteVersions: true, SplitRoutes: []string{"live"}}}
		}},
		{"NoDelete", func(*testing.T) memory.Options {
			return memory.Options{Capabilities: &provider.Capabilities{MaxRouteVersions: 3, Granularity: 10}}
		}},
		{"Persisted", func(t *testing.T) memory.Options {
			return memory.Options{Path: filepath.Join(t.TempDir(), "state.json"), PageSize: 7}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			providertest.Run(t, func(t *testing.T) provider.Provider {
				p, err := memory.New(tc.opts(t))
				if err != nil {
					t.Fatal(err)
				}
				return p
			})
		})
	}
}
