package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/slipway-dev/slipway/canary"
	"github.com/slipway-dev/slipway/canary/blobstore"
)

// leasePoll is how often --wait looks at a held lease.
const leasePoll = 3 * time.Second

// leaseKey is the key of the lease on the function's production canary.
func (s *settings) leaseKey() string { return sanitizeID(s.function) + "." + s.production }

// drive takes the lease on the function's production canary for this
// process (so that no other process drives it at the same time), keeps it
// renewed, prints progress while a step bakes in real time, and returns
// the function that stops both and releases the lease. A lease another
// live process holds is an error matching blobstore.ErrBusy (exit 5); a
// stale one (its holder crashed) is taken over, and said so.
func (st *state) drive(ctx context.Context, releaseID string) (func(), error) {
	s := st.s
	host, _ := os.Hostname()
	holder := blobstore.Holder{Who: s.actor, Host: host, PID: os.Getpid(), Command: s.cmd, Release: releaseID, URL: s.runURL}
	l, err := st.store.Acquire(ctx, s.leaseKey(), holder, s.leaseTTL)
	// --wait: queue behind the process driving the canary (CI runs queue
	// on the lease instead of cancelling each other).
	var busy *blobstore.BusyError
	for deadline, said := time.Now().Add(s.wait), false; errors.As(err, &busy) && time.Now().Before(deadline); {
		if !said {
			b := busy.Lease
			st.printer(st.out).line("slipway: %s %s: waiting for %s (pid %d on %s, %s %s) to finish the %s canary",
				s.cmd, s.function, b.Who, b.PID, b.Host, b.Command, b.Release, s.production)
			said = true
		}
		if serr := canary.RealClock().Sleep(ctx, leasePoll); serr != nil {
			return nil, serr
		}
		l, err = st.store.Acquire(ctx, s.leaseKey(), holder, s.leaseTTL)
	}
	if errors.As(err, &busy) {
		b := busy.Lease
		return nil, fmt.Errorf("%w: another process drives the %s canary of %s: %s (pid %d on %s, %s %s) since %s, renewed %s; wait for it, or run abort to have it roll back",
			blobstore.ErrBusy, s.production, s.function, b.Who, b.PID, b.Host, b.Command, b.Release,
			b.Since.UTC().Format(time.RFC3339), b.Renewed.UTC().Format(time.RFC3339))
	}
	if err != nil {
		return nil, err
	}
	if t := l.Took; t != nil {
		why := "stopped renewing it"
		if t.Dead {
			why = "its process is gone"
		}
		st.printer(st.out).line("slipway: %s %s: taking over the lease of %s (pid %d on %s, %s %s, since %s): %s",
			s.cmd, s.function, t.Who, t.PID, t.Host, t.Command, t.Release, t.Since.UTC().Format(time.RFC3339), why)
	}
	st.lease = l
	bg, stop := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(s.leaseTTL / 3)
		defer t.Stop()
		for {
			select {
			case <-bg.Done():
				return
			case <-t.C:
			}
			if err := l.Renew(bg); err != nil && bg.Err() == nil {
				st.printer(st.out).line("slipway: %s %s: renewing the lease: %v", s.cmd, s.function, err)
			}
		}
	})
	if _, virtual := st.clock.(*canary.VirtualClock); !virtual {
		every := s.strategy.Interval
		if every <= 0 {
			every = canary.DefaultInterval
		}
		wg.Go(func() { st.printer(st.out).progress(bg, every) })
	}
	return func() {
		stop()
		wg.Wait()
		if err := l.Release(context.WithoutCancel(ctx)); err != nil {
			st.printer(st.out).line("slipway: %s %s: releasing the lease: %v", s.cmd, s.function, err)
		}
		st.lease = nil
	}, nil
}
