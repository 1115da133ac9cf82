package retention

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/slipway-dev/slipway/provider"
)

// freshReads hands out reads of one function's references that began after
// the caller asked, sharing one read among the callers that ask while it
// waits to begin. At most one read of the function is in flight or waiting;
// a read waits for the rate budget (begin) before it begins, and every
// caller that asks until then joins it. The callers that ask after it began
// wait for the next one, which starts waiting as soon as the current one
// ends. So k deletes of one function checking within about one wait for the
// budget cost one read, not k, and none of them is answered by a read that
// began before it asked.
type freshReads struct {
	mu sync.Mutex
	// next is the read the callers asking now will get. It has not begun:
	// the reading goroutine takes it (sets next to nil) right before it
	// begins the read, once begin has returned.
	next *sharedRead
	// reading is set while a goroutine performs reads; it stops when it
	// finds next nil.
	reading bool
}

// sharedRead is the outcome of one read, shared by the callers that joined
// it; refs and err are written before done is closed.
type sharedRead struct {
	done chan struct{}
	refs map[string]string
	at   time.Time // when the read began
	err  error
}

// get returns the outcome of a read that begins after get was called. The
// reads run in a goroutine tracked by wg (started when none is reading), so
// that a caller that gives up (ctx ended) leaves the read to the others.
// Each read first calls begin, which waits until the read may begin (its
// token of the rate budget), then read, which performs it. Every caller
// passes the same ctx, begin and read (those of one Apply).
func (f *freshReads) get(ctx context.Context, wg *sync.WaitGroup, begin func(context.Context) error,
	read func(context.Context) (map[string]string, time.Time, error)) (map[string]string, time.Time, error) {
	f.mu.Lock()
	r := f.next
	if r == nil {
		r = &sharedRead{done: make(chan struct{})}
		f.next = r
	}
	if !f.reading {
		f.reading = true
		wg.Go(func() { f.run(ctx, begin, read) })
	}
	f.mu.Unlock()
	select {
	case <-r.done:
		return r.refs, r.at, r.err
	case <-ctx.Done():
		return nil, time.Time{}, ctx.Err()
	}
}

// run performs the reads asked for, one after the other, until none is.
func (f *freshReads) run(ctx context.Context, begin func(context.Context) error,
	read func(context.Context) (map[string]string, time.Time, error)) {
	for {
		f.mu.Lock()
		if f.next == nil {
			f.reading = false
			f.mu.Unlock()
			return
		}
		f.mu.Unlock()
		// Callers asking while the read waits to begin join it.
		err := begin(ctx)
		f.mu.Lock()
		r := f.next
		f.next = nil
		f.mu.Unlock()
		// Every caller that joined r did so before this point.
		if err == nil {
			r.refs, r.at, r.err = read(ctx)
		} else {
			r.err = err
		}
		close(r.done)
	}
}

// readReferences reads fn's usage (unless the provider cannot tell,
// recorded in st.usageUnknown) and then its routes, each call taking a token
// of the budget (except the first, when held: its caller took its tokens),
// and returns why each referenced version is referenced and when the read
// began (its first call was sent). The routes are read last, as close to
// the deletes as can be: they are what moves at deploy speed. The calls are sent one after the other, so that
// the calls in flight stay within the deletes waiting for them. The caller
// serialises the reads of one function.
func (a *applier) readReferences(ctx context.Context, st *fnState, held bool) (map[string]string, time.Time, error) {
	// call sends the next call, which takes n tokens, on the held tokens
	// first.
	call := func(ctx context.Context, n int, op func(context.Context) error) error {
		h := held
		held = false
		return a.b.callHolding(ctx, n, h, op)
	}
	var (
		began time.Time
		us    []provider.Usage
	)
	// sent marks the read as begun when its first call is sent.
	sent := func() {
		if began.IsZero() {
			began = a.b.clock.Now()
		}
	}
	if !st.usageUnknown {
		var err error
		if us, st.usageUnknown, err = usage(ctx, call, sent, a.p, st.name); err != nil {
			return nil, time.Time{}, fmt.Errorf("reading usage: %w", err)
		}
	}
	var routes []provider.Route
	err := call(ctx, 1, func(ctx context.Context) (err error) {
		sent()
		routes, err = a.p.Routes(ctx, st.name)
		return err
	})
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("reading routes: %w", err)
	}
	refs := map[string]string{}
	for _, rt := range routes {
		for _, w := range rt.Weights {
			if refs[w.Version] == "" {
				refs[w.Version] = fmt.Sprintf("alias %s (%s) references it now", rt.Alias, provider.Percent(w.BasisPoints))
			}
		}
	}
	for _, u := range us {
		if refs[u.Version] == "" {
			refs[u.Version] = "in use now: " + u.Reason
		}
	}
	return refs, began, nil
}
