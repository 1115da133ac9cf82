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
