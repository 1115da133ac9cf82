package azurefunc_test

import (
	"context"
	"testing"

	"github.com/slipway-dev/slipway/provider"
	"github.com/slipway-dev/slipway/provider/azurefunc/azuretest"
)

// BenchmarkCanaryStep measures one canary step through the real SDK
// clients against the emulator over loopback HTTPS: Route, then SetRoute
// with a new share (three reads and one PATCH of the rule list). The
// emulator's cost is included; the figure is the adapter's overhead per
// step, not Azure's latency.
func BenchmarkCanaryStep(b *testing.B) {
	c := newClock()
	srv := azuretest.NewServer(azuretest.Options{Now: c.Now})
	b.Cleanup(srv.Close)
	if err := srv.CreateSite(fn, nil); err != nil {
		b.Fatal(err)
	}
	p := newProviderB(b, srv, c)
	ctx := context.Background()
	var ids []string
	for _, code := range []string{"v1", "v2"} {
		v, err := p.Publish(ctx, fn, zipIn(code))
		if err != nil {
			b.Fatal(err)
		}
		ids = append(ids, v.ID)
	}
	r, err := p.SetRoute(ctx, fn, provider.To("production", ids[0]))
	if err != nil {
		b.Fatal(err)
	}
	if r, err = p.SetRoute(ctx, fn, rev(provider.Split("production", ids[0], ids[1], 100), r.Revision)); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		cur, err := p.Route(ctx, fn, "production")
		if err != nil {
			b.Fatal(err)
		}
		bp := 100 + 100*(i%50)
		if _, err := p.SetRoute(ctx, fn, rev(provider.Split("production", ids[0], ids[1], bp), cur.Revision)); err != nil {
			b.Fatal(err)
		}
	}
}
