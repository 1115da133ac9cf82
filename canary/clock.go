package canary

import (
	"container/heap"
	"context"
	"sync"
	"time"

	"github.com/slipway-dev/slipway/provider"
)

// Clock is the runner's source of time. The runner reads the time only
// through Now and waits only through Sleep, so a rollout whose schedule
// spans half an hour runs in milliseconds on a VirtualClock.
type Clock = provider.Clock

// RealClock returns the wall clock: time.Now and a time.Timer.
// RunnerOptions.Clock left nil means RealClock().
func RealClock() Clock { return provider.WallClock() }

// VirtualClock is a Clock whose time moves only when every goroutine using it
// is asleep: it then jumps to the earliest wake-up time at once. A 30-minute
// rollout therefore takes no wall time, and what each goroutine observes
// depends only on the virtual schedule, never on the machine's speed.
//
// Participants: functions started with Run are the clock's participants,
// and time advances only when all of them are inside Sleep. While no Run is
// in progress the caller of Sleep is taken to be the only participant, so a
// single goroutine's Sleep advances the clock at once. During a Run only its
// participants may call Sleep.
//
// Waking is one participant at a time: when several sleepers are due at the
// same instant they wake in the order they went to sleep, each after the one
// before has gone back to sleep or returned. This makes a simulation of many
// concurrent rollouts deterministic.
//
// A participant that blocks on anything other than Sleep (a channel, a
// network call) holds virtual time still until it unblocks; it never
// advances the clock by itself. A hook run under a VirtualClock that must
// take virtual time should therefore wait with Sleep.
//
// The zero value is not usable; call NewVirtualClock.
type VirtualClock struct {
	mu      sync.Mutex
	now     time.Time
	waiters clockHeap
	seq     uint64
	running int // participants started by Run that have not returned
	asleep  int // participants currently in Sleep (timers excluded)
}

var _ Clock = (*VirtualClock)(nil)

// NewVirtualClock returns a VirtualClock reading start.
func NewVirtualClock(start time.Time) *VirtualClock {
	return &VirtualClock{now: start}
}

// Now returns the virtual time.
func (c *VirtualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Sleep waits until the virtual time is at least Now()+d or ctx ends. When
// this call makes every participant asleep, the clock advances to the
// earliest wake-up time (possibly this one) before Sleep blocks.
func (c *VirtualClock) Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	w := c.pushLocked(ctx, c.now.Add(d), nil)
	c.asleep++
	c.advanceLocked()
	c.mu.Unlock()

	select {
	case <-w.woken:
	case <-ctx.Done():
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	switch w.state {
	case clockWoken:
		return nil
	case clockWaiting:
		heap.Remove(&c.waiters, w.index)
		c.asleep--
		w.state = clockCancelled
	}
	return ctx.Err()
}

// Run calls each of fs in its own goroutine as the clock's participants (see
// VirtualClock) and returns when all of them have returned. All of them are
// participants before any starts, so none can advance the clock while
// another has not yet begun. Time does not advance while a participant runs
// outside Sleep. Run must not be called by a participant of the same clock.
func (c *VirtualClock) Run(fs ...func()) {
	var wg sync.WaitGroup
	c.mu.Lock()
	c.running += len(fs)
	c.mu.Unlock()
	for _, f := range fs {
		wg.Go(func() {
			defer func() {
				c.mu.Lock()
				c.running--
				c.advanceLocked()
				c.mu.Unlock()
			}()
			f()
		})
	}
	wg.Wait()
}

// Go calls f in its own goroutine as a participant of the clock, without
// waiting for it to return: a participant (or a caller outside any Run)
// starts others this way, for work that fans out as it goes (a fleet
// release starting a canary per target). The participant counts from the
// call until f returns, so time does not advance before f has had the
// chance to sleep. A goroutine that waits for Go's participants other
// than by Sleep must not itself be a participant.
func (c *VirtualClock) Go(f func()) {
	c.mu.Lock()
	c.running++
	c.mu.Unlock()
	go func() {
		defer func() {
			c.mu.Lock()
			c.running--
			c.advanceLocked()
			c.mu.Unlock()
		}()
		f()
	}()
}

// afterFunc calls f once the virtual time reaches Now()+d, unless stop is
// called first. A timer is not a participant: it fires when the clock
// advances past it, which happens only while every participant sleeps. f
// runs on the advancing goroutine and must not block.
func (c *VirtualClock) afterFunc(d time.Duration, f func()) (stop func()) {
	c.mu.Lock()
	w := c.pushLocked(context.Background(), c.now.Add(d), f)
	c.advanceLocked()
	c.mu.Unlock()
	return func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		if w.state == clockWaiting {
			heap.Remove(&c.waiters, w.index)
			w.state = clockCancelled
		}
	}
}

func (c *VirtualClock) pushLocked(ctx context.Context, when time.Time, f func()) *clockWaiter {
	c.seq++
	w := &clockWaiter{when: when, seq: c.seq, ctx: ctx, fire: f}
	if f == nil {
		w.woken = make(chan struct{})
	}
	heap.Push(&c.waiters, w)
	return w
}

// advanceLocked moves time forward while every participant is asleep. It
// wakes one sleeper at a time; timers fire (and may cancel a sleeper's
// context, which is then treated as awake) without ending the loop.
func (c *VirtualClock) advanceLocked() {
	for len(c.waiters) > 0 && c.asleep >= max(c.running, 1) {
		w := c.waiters[0]
		if w.fire == nil && w.ctx.Err() != nil {
			// Its context ended: that participant is awake, whether or not
			// its goroutine has noticed yet.
			heap.Pop(&c.waiters)
			w.state = clockCancelled
			c.asleep--
			continue
		}
		heap.Pop(&c.waiters)
		if w.when.After(c.now) {
			c.now = w.when
		}
		w.state = clockWoken
		if w.fire != nil {
			c.mu.Unlock()
			w.fire()
			c.mu.Lock()
			c.reapLocked()
			continue
		}
		c.asleep--
		close(w.woken)
	}
}

// reapLocked takes every sleeper whose context has ended off the heap: a
// timer that just fired may have cancelled one that is not the earliest.
func (c *VirtualClock) reapLocked() {
	for i := 0; i < len(c.waiters); {
		w := c.waiters[i]
		if w.fire != nil || w.ctx.Err() == nil {
			i++
			continue
		}
		heap.Remove(&c.waiters, i)
		w.state = clockCancelled
		c.asleep--
		i = 0
	}
}

// withClockTimeout returns a context that ends when ctx does or when d has
// passed on clk, with context.DeadlineExceeded as its error in the latter
// case.
func withClockTimeout(ctx context.Context, clk Clock, d time.Duration) (context.Context, context.CancelFunc) {
	if clk == RealClock() {
		return context.WithTimeout(ctx, d)
	}
	switch c := clk.(type) {
	case *VirtualClock:
		tctx, cancel := context.WithCancelCause(ctx)
		stop := c.afterFunc(d, func() { cancel(context.DeadlineExceeded) })
		return clockCauseContext{tctx}, func() { stop(); cancel(context.Canceled) }
	}
	tctx, cancel := context.WithCancelCause(ctx)
	go func() {
		if clk.Sleep(tctx, d) == nil {
			cancel(context.DeadlineExceeded)
		}
	}()
	return clockCauseContext{tctx}, func() { cancel(context.Canceled) }
}

// clockCauseContext reports the cancellation cause as its error, so a
// virtual deadline reads as context.DeadlineExceeded like a real one.
type clockCauseContext struct{ context.Context }

func (c clockCauseContext) Err() error {
	if c.Context.Err() == nil {
		return nil
	}
	if cause := context.Cause(c.Context); cause != nil {
		return cause
	}
	return c.Context.Err()
}

type clockState int

const (
	clockWaiting clockState = iota
	clockWoken
	clockCancelled
)

type clockWaiter struct {
	when  time.Time
	seq   uint64
	ctx   context.Context // the sleeper's; unused for timers
	fire  func()          // set for timers
	woken chan struct{}   // set for sleepers
	state clockState
	index int
}

// clockHeap orders waiters by wake-up time, then by arrival.
type clockHeap []*clockWaiter

func (h clockHeap) Len() int { return len(h) }
func (h clockHeap) Less(i, j int) bool {
	if !h[i].when.Equal(h[j].when) {
		return h[i].when.Before(h[j].when)
	}
	return h[i].seq < h[j].seq
}
func (h clockHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index = i
	h[j].index = j
}
func (h *clockHeap) Push(x any) {
	w := x.(*clockWaiter)
	w.index = len(*h)
	*h = append(*h, w)
}
func (h *clockHeap) Pop() any {
	old := *h
	w := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	w.index = -1
	return w
}
