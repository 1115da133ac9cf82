package providertest

import (
	"context"
	"sync"
	"time"
)

// Clock is a virtual clock for tests of a provider and of its emulator:
// hand Now to both and Sleep to the adapter, and waiting (for an update to
// settle, a retry's back-off, a canary step) advances the clock instead of
// taking real time. It is safe for concurrent use.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a clock that reads start until advanced.
func NewClock(start time.Time) *Clock { return &Clock{t: start} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// Sleep advances the clock by d unless ctx has ended, in which case it
// returns ctx's error and leaves the clock alone. It has the signature of
// the adapters' Options.Sleep.
func (c *Clock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.Advance(d)
	return nil
}
