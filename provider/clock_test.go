package provider_test

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/slipway-dev/slipway/provider"
)

func TestSleep(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := provider.WallClock()
		start := c.Now()
		if err := c.Sleep(context.Background(), 90*time.Second); err != nil {
			t.Fatalf("Sleep: %v", err)
		}
		if got := c.Now().Sub(start); got != 90*time.Second {
			t.Errorf("slept %v, want 90s", got)
		}

		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := provider.Sleep(ctx, time.Hour); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Sleep past the deadline: %v, want DeadlineExceeded", err)
		}
		if got := c.Now().Sub(start); got != 100*time.Second {
			t.Errorf("the interrupted sleep ended at +%v, want +100s (the deadline)", got)
		}

		if err := provider.Sleep(context.Background(), -time.Second); err != nil {
			t.Errorf("Sleep of a negative duration: %v, want nil", err)
		}
		if err := provider.Sleep(ctx, 0); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Sleep(0) on an ended context: %v, want its error", err)
		}
	})
}

func TestOptionDefaults(t *testing.T) {
	at := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	if got := provider.NowOr(func() time.Time { return at }); !got.Equal(at) {
		t.Errorf("NowOr(set) = %v, want %v", got, at)
	}
	if got := provider.NowOr(nil); time.Since(got) > time.Hour || time.Since(got) < -time.Hour {
		t.Errorf("NowOr(nil) = %v, not the wall clock", got)
	}
	var slept time.Duration
	if err := provider.SleepOr(context.Background(), func(_ context.Context, d time.Duration) error { slept = d; return nil }, 3*time.Second); err != nil || slept != 3*time.Second {
		t.Errorf("SleepOr(set) slept %v (%v), want 3s", slept, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := provider.SleepOr(ctx, nil, time.Hour); !errors.Is(err, context.Canceled) {
		t.Errorf("SleepOr(nil) on an ended context = %v, want context.Canceled", err)
	}
	for _, tt := range []struct{ d, def, want time.Duration }{
		{0, time.Second, time.Second},
		{-time.Minute, time.Second, time.Second},
		{time.Minute, time.Second, time.Minute},
	} {
		if got := provider.DurationOr(tt.d, tt.def); got != tt.want {
			t.Errorf("DurationOr(%v, %v) = %v, want %v", tt.d, tt.def, got, tt.want)
		}
	}
}
