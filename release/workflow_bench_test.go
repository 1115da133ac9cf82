package release

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/slipway-dev/slipway/journal"
	"github.com/slipway-dev/slipway/retention"
)

// BenchmarkRelease measures one whole release (publish, stage, tests,
// a 10%-for-5-minutes canary judged every minute, promotion) on the
// memory provider in virtual time, then retention keeping the last five
// versions: the workflow's own CPU cost, with the journal of a real run.
//
// Each sub-benchmark first releases the function history times (not
// timed), so a release's cost can be compared at two lengths of the
// function's journal: it should not grow with it.
func BenchmarkRelease(b *testing.B) {
	for _, history := range []int{200, 1000} {
		b.Run(fmt.Sprintf("history=%d", history), func(b *testing.B) {
			benchmarkRelease(b, history, nil)
		})
	}
}

// BenchmarkReleaseFileJournal is BenchmarkRelease with a FileJournal: each
// release also writes and fsyncs its journal lines, and reads back the
// lines LastRoutes and Latest point at.
func BenchmarkReleaseFileJournal(b *testing.B) {
	for _, history := range []int{200, 1000} {
		b.Run(fmt.Sprintf("history=%d", history), func(b *testing.B) {
			j, err := journal.OpenFileJournal(filepath.Join(b.TempDir(), "journal.jsonl"))
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { j.Close() })
			benchmarkRelease(b, history, j)
		})
	}
}

// benchmarkRelease releases the fixture's function history times, then
// once per iteration; j, when not nil, is the workflow's journal.
func benchmarkRelease(b *testing.B, history int, j journal.Journal) {
	f := newFixture(b, func(o *Options) {
		o.OnEvent, o.Notifier = nil, nil
		o.Retention = &retention.Policy{KeepLast: 5}
		if j != nil {
			o.Journal = j
		}
	})
	ctx := context.Background()
	n := 0
	release := func() error {
		var err error
		f.clock.Run(func() {
			_, err = f.w.Release(ctx, Request{Function: fn, Publish: artifact(fmt.Sprint("v", n))})
		})
		n++
		return err
	}
	for range history + 1 {
		if err := release(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := release(); err != nil {
			b.Fatal(err)
		}
	}
}
