package canary

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var clockEpoch = time.Date(2026, 1, 2, 3, 0, 0, 0, time.UTC)

func TestVirtualClockSingleGoroutineAdvancesAtOnce(t *testing.T) {
	c := NewVirtualClock(clockEpoch)
	ctx := context.Background()
	for _, d := range []time.Duration{5 * time.Minute, time.Second, 0, -time.Second, 90 * time.Second} {
		if err := c.Sleep(ctx, d); err != nil {
			t.Fatalf("Sleep(%s) = %v", d, err)
		}
	}
	if got, want := c.Now(), clockEpoch.Add(5*time.Minute+time.Second+90*time.Second); !got.Equal(want) {
		t.Fatalf("Now() = %s, want %s", got, want)
	}
}

func TestVirtualClockSleepEndedContext(t *testing.T) {
	c := NewVirtualClock(clockEpoch)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := c.Sleep(ctx, time.Minute); !errors.Is(err, context.Canceled) {
		t.Fatalf("Sleep with an ended context = %v, want context.Canceled", err)
	}
	if !c.Now().Equal(clockEpoch) {
		t.Fatalf("Now() = %s after a cancelled Sleep, want unchanged %s", c.Now(), clockEpoch)
	}
}

// clockTrace runs participants with fixed sleep schedules and returns what
// each saw, in the order it happened.
func clockTrace() []string {
	c := NewVirtualClock(clockEpoch)
	var mu sync.Mutex
	var trace []string
	schedules := map[string][]time.Duration{
		"a": {time.Minute, time.Minute, time.Minute},
		"b": {90 * time.Second, 30 * time.Second, 2 * time.Minute},
		"c": {2 * time.Minute, time.Second},
	}
	var fs []func()
	for _, name := range []string{"a", "b", "c"} {
		fs = append(fs, func() {
			for _, d := range schedules[name] {
				if err := c.Sleep(context.Background(), d); err != nil {
					panic(err)
				}
				mu.Lock()
				trace = append(trace, fmt.Sprintf("%s@%s", name, c.Now().Sub(clockEpoch)))
				mu.Unlock()
			}
		})
	}
	c.Run(fs...)
	return trace
}

func TestVirtualClockParticipantsAreDeterministic(t *testing.T) {
	// Ties (a and c both due at 2m, then b at 2m) wake in arrival order: a
	// went to sleep for its second minute at 1m, c at 0s, b at 1m30s.
	want := []string{"a@1m0s", "b@1m30s", "c@2m0s", "a@2m0s", "b@2m0s", "c@2m1s", "a@3m0s", "b@4m0s"}
	for i := range 50 {
		if diff := cmp.Diff(want, clockTrace()); diff != "" {
			t.Fatalf("run %d: trace (-want +got):\n%s", i, diff)
		}
	}
}

func TestVirtualClockTimeoutCancelsSleeper(t *testing.T) {
	c := NewVirtualClock(clockEpoch)
	ctx, cancel := withClockTimeout(context.Background(), c, time.Minute)
	defer cancel()
	err := c.Sleep(ctx, 10*time.Minute)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Sleep past the timeout = %v, want context.DeadlineExceeded", err)
	}
	if !errors.Is(ctx.Err(), context.DeadlineExceeded) {
		t.Fatalf("ctx.Err() = %v, want context.DeadlineExceeded", ctx.Err())
	}
	if got, want := c.Now(), clockEpoch.Add(time.Minute); !got.Equal(want) {
		t.Fatalf("Now() = %s, want the timeout %s", got, want)
	}
}

func TestVirtualClockTimeoutCancelsLaterSleeperAmongMany(t *testing.T) {
	// Participant "hook" sleeps 10m under a 1m timeout while participant
	// "other" sleeps 5m: the timeout fires at 1m and the hook wakes at 1m,
	// not at 5m when the other participant is due.
	c := NewVirtualClock(clockEpoch)
	var hookErr error
	var hookWoke time.Duration
	c.Run(func() {
		ctx, cancel := withClockTimeout(context.Background(), c, time.Minute)
		defer cancel()
		hookErr = c.Sleep(ctx, 10*time.Minute)
		hookWoke = c.Now().Sub(clockEpoch)
	}, func() {
		if err := c.Sleep(context.Background(), 5*time.Minute); err != nil {
			panic(err)
		}
	})
	if !errors.Is(hookErr, context.DeadlineExceeded) || hookWoke != time.Minute {
		t.Fatalf("hook sleep = %v at %s, want context.DeadlineExceeded at 1m0s", hookErr, hookWoke)
	}
}

func TestVirtualClockTimeoutStoppedDoesNotFire(t *testing.T) {
	c := NewVirtualClock(clockEpoch)
	ctx, cancel := withClockTimeout(context.Background(), c, time.Minute)
	if err := c.Sleep(ctx, 30*time.Second); err != nil {
		t.Fatalf("Sleep within the timeout = %v", err)
	}
	cancel()
	if err := c.Sleep(context.Background(), 5*time.Minute); err != nil {
		t.Fatal(err)
	}
	if !errors.Is(ctx.Err(), context.Canceled) {
		t.Fatalf("ctx.Err() after cancel = %v, want context.Canceled", ctx.Err())
	}
}

func TestRealClock(t *testing.T) {
	c := RealClock()
	if err := c.Sleep(context.Background(), 0); err != nil {
		t.Fatalf("Sleep(0) = %v", err)
	}
	if err := c.Sleep(context.Background(), time.Nanosecond); err != nil {
		t.Fatalf("Sleep(1ns) = %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := c.Sleep(ctx, time.Hour); !errors.Is(err, context.Canceled) {
		t.Fatalf("Sleep(1h) with an ended context = %v, want context.Canceled", err)
	}
	tctx, tcancel := withClockTimeout(context.Background(), c, time.Hour)
	defer tcancel()
	if _, ok := tctx.Deadline(); !ok {
		t.Fatal("withClockTimeout on the real clock has no deadline")
	}
}

// gateClock is a Clock whose sleepers wait until the test opens the gate.
type gateClock struct {
	gate chan struct{}
}

func (gateClock) Now() time.Time { return clockEpoch }

func (g gateClock) Sleep(ctx context.Context, d time.Duration) error {
	select {
	case <-g.gate:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func TestWithClockTimeoutOtherClock(t *testing.T) {
	g := gateClock{gate: make(chan struct{})}
	ctx, cancel := withClockTimeout(context.Background(), g, time.Minute)
	defer cancel()
	if ctx.Err() != nil {
		t.Fatalf("ctx ended before the clock's time passed: %v", ctx.Err())
	}
	close(g.gate)
	<-ctx.Done()
	if !errors.Is(ctx.Err(), context.DeadlineExceeded) {
		t.Fatalf("ctx.Err() = %v, want context.DeadlineExceeded", ctx.Err())
	}

	ctx2, cancel2 := withClockTimeout(context.Background(), gateClock{gate: make(chan struct{})}, time.Minute)
	cancel2()
	<-ctx2.Done()
	if !errors.Is(ctx2.Err(), context.Canceled) {
		t.Fatalf("ctx.Err() after cancel = %v, want context.Canceled", ctx2.Err())
	}
}
