package release

import (
	"context"
	"fmt"
	"testing"

	"github.com/slipway-dev/slipway/retention"
)

// BenchmarkRelease measures one whole release (publish, stage, tests,
// a 10%-for-5-minutes canary judged every minute, promotion) on the
// memory provider in virtual time, then retention keeping the last five
// versions: the workflow's own CPU cost, with the journal of a real run.
func BenchmarkRelease(b *testing.B) {
	f := newFixture(b, func(o *Options) {
		o.OnEvent, o.Notifier = nil, nil
		o.Retention = &retention.Policy{KeepLast: 5}
	})
	ctx := context.Background()
	f.clock.Run(func() {
		if _, err := f.w.Release(ctx, Request{Function: fn, Publish: artifact("v0")}); err != nil {
			b.Fatal(err)
		}
	})
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		n++
		var err error
		f.clock.Run(func() {
			_, err = f.w.Release(ctx, Request{Function: fn, Publish: artifact(fmt.Sprint("v", n))})
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}
