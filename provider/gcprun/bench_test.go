package gcprun_test

import (
	"testing"
	"time"

	"github.com/slipway-dev/slipway/provider"
	"github.com/slipway-dev/slipway/provider/gcprun/runtest"
)

// BenchmarkSetRoute moves the split between two revisions: GetService,
// UpdateService with the etag, GetOperation polls, over gRPC on loopback.
func BenchmarkSetRoute(b *testing.B) {
	e := newEnv(b, runtest.Options{Polls: 1})
	ctx := b.Context()
	var ids [2]string
	for i := range ids {
		v, err := e.p.Publish(ctx, fn, input(i))
		if err != nil {
			b.Fatal(err)
		}
		ids[i] = v.ID
	}
	r, err := e.p.SetRoute(ctx, fn, provider.Split("live", ids[0], ids[1], 1000))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		next := provider.Split("live", ids[0], ids[1], 100*(1+i%90))
		next.Revision = r.Revision
		if r, err = e.p.SetRoute(ctx, fn, next); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkObserve reads ten one-minute periods of two revisions: two
// ListTimeSeries queries.
func BenchmarkObserve(b *testing.B) {
	e := newEnv(b, runtest.Options{Polls: -1})
	ctx := b.Context()
	var ids [2]string
	for i := range ids {
		v, err := e.p.Publish(ctx, fn, input(i))
		if err != nil {
			b.Fatal(err)
		}
		ids[i] = v.ID
	}
	if _, err := e.p.SetRoute(ctx, fn, provider.Split("live", ids[0], ids[1], 1000)); err != nil {
		b.Fatal(err)
	}
	if err := e.srv.SetLoad(fn, 10); err != nil {
		b.Fatal(err)
	}
	e.clock.Advance(20 * time.Minute)
	end := provider.AlignDown(e.clock.Now(), time.Minute).Add(-5 * time.Minute)
	q := provider.Query{Function: fn, Versions: ids[:], Start: end.Add(-10 * time.Minute), End: end, Period: time.Minute}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := e.p.Observe(ctx, q); err != nil {
			b.Fatal(err)
		}
	}
}
