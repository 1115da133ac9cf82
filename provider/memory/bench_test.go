package memory

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/slipway-dev/slipway/provider"
)

// BenchmarkSetRouteParallel runs Route then a compare-and-swap SetRoute
// from 8 goroutines (SetParallelism over GOMAXPROCS), on one shared route
// (every loser of a race sees ErrConflict) and on one route per goroutine.
// One op is one Route plus one SetRoute. The clock is frozen, so the route
// history does not grow.
func BenchmarkSetRouteParallel(b *testing.B) {
	for _, shared := range []bool{true, false} {
		name := "own-route"
		if shared {
			name = "shared-route"
		}
		b.Run(name, func(b *testing.B) {
			ctx := context.Background()
			p, _ := newTest(b, Options{})
			mustPublish(b, p, "fn", "a")
			mustPublish(b, p, "fn", "b")
			mustSetRoute(b, p, "fn", provider.To("prod", "1"))
			var next, conflicts atomic.Int64
			procs := runtime.GOMAXPROCS(0)
			b.SetParallelism((8 + procs - 1) / procs)
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				alias := "prod"
				if !shared {
					alias = fmt.Sprintf("g%d", next.Add(1))
					mustSetRoute(b, p, "fn", provider.To(alias, "1"))
				}
				i := 0
				for pb.Next() {
					i++
					cur, err := p.Route(ctx, "fn", alias)
					if err != nil {
						b.Error(err)
						return
					}
					r := provider.Split(alias, "1", "2", 100*(i%50+1))
					r.Revision = cur.Revision
					if _, err := p.SetRoute(ctx, "fn", r); errors.Is(err, provider.ErrConflict) {
						conflicts.Add(1)
					} else if err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(conflicts.Load())/float64(b.N), "conflicts/op")
		})
	}
}

// BenchmarkObserve observes a 30-minute window of two versions in
// one-minute periods while the canary moved from 10% to 50% in steps of
// 10 points every 5 minutes; "busy" has 200 rps (order statistics drawn
// from their joint law), "quiet" 2 rps (latencies drawn one by one).
func BenchmarkObserve(b *testing.B) {
	for _, bc := range []struct {
		name string
		rps  float64
	}{{"busy", 200}, {"quiet", 2}} {
		b.Run(bc.name, func(b *testing.B) {
			ctx := context.Background()
			p, c := newTest(b, Options{Seed: 1})
			mustPublish(b, p, "fn", "a")
			mustPublish(b, p, "fn", "b")
			lat := Latency{Median: 50 * time.Millisecond, P99: 300 * time.Millisecond}
			p.SetBehavior("fn", "1", Behavior{ErrorRate: 0.001, Latency: lat})
			p.SetBehavior("fn", "2", Behavior{ErrorRate: 0.01, Latency: lat, ColdStart: ColdStart{Rate: 0.01, Spike: 5, SpikeFor: time.Minute, Init: 200 * time.Millisecond}})
			p.SetLoad("fn", "prod", bc.rps)
			r := mustSetRoute(b, p, "fn", provider.Split("prod", "1", "2", 1000))
			for bp := 2000; bp <= 5000; bp += 1000 {
				c.Advance(5 * time.Minute)
				next := provider.Split("prod", "1", "2", bp)
				next.Revision = r.Revision
				r = mustSetRoute(b, p, "fn", next)
			}
			c.Advance(10 * time.Minute)
			q := query("fn", "prod", 0, 30, "1", "2")
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if _, err := p.Observe(ctx, q); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
