package retention

import (
	"context"
	"fmt"
	"sync"

	"github.com/slipway-dev/slipway/provider"
)

// freshReads hands out reads of one function's references that began after
// the caller asked, sharing one read among the callers that asked while the
// previous read was in flight. At most one read of the function is in
// flight; the callers that ask meanwhile wait for the next one, which begins
// as soon as the current one ends. So k deletes of one function checking at
// about the same time cost one read, not k, and none of them is answered by
// a read that began before it asked.
type freshReads struct {
	mu sync.Mutex
	// next is the read the callers asking now will get. It has not begun:
	// the reading goroutine takes it (sets next to nil) right before it
	// begins the read.
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
	err  error
}

// get returns the outcome of a read that begins after get was called. The
// read runs in a goroutine tracked by wg (started when none is reading), so
// that a caller that gives up (ctx ended) leaves the read to the others.
// read is called with ctx; every caller passes the same ctx and read (those
// of one Apply).
func (f *freshReads) get(ctx context.Context, wg *sync.WaitGroup, read func(context.Context) (map[string]string, error)) (map[string]string, error) {
	f.mu.Lock()
	r := f.next
	if r == nil {
		r = &sharedRead{done: make(chan struct{})}
		f.next = r
	}
	if !f.reading {
		f.reading = true
		wg.Go(func() { f.run(ctx, read) })
	}
	f.mu.Unlock()
	select {
	case <-r.done:
		return r.refs, r.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// run performs the reads asked for, one after the other, until none is.
func (f *freshReads) run(ctx context.Context, read func(context.Context) (map[string]string, error)) {
	for {
		f.mu.Lock()
		r := f.next
		f.next = nil
		if r == nil {
			f.reading = false
			f.mu.Unlock()
			return
		}
		f.mu.Unlock()
		// Every caller that joined r did so before this point.
		r.refs, r.err = read(ctx)
		close(r.done)
	}
}

// readReferences reads fn's usage (unless the provider cannot tell,
// recorded in st.usageUnknown) and then its routes, each call taking a token
// of the budget, and returns why each referenced version is referenced. The
// routes are read last, as close to the deletes as can be: they are what
// moves at deploy speed. The calls are sent one after the other, so that
// the calls in flight stay within the deletes waiting for them. The caller
// serialises the reads of one function.
func (a *applier) readReferences(ctx context.Context, st *fnState) (map[string]string, error) {
	var us []provider.Usage
	if !st.usageUnknown {
		var err error
		if us, st.usageUnknown, err = usage(ctx, a.b, a.p, st.name); err != nil {
			return nil, fmt.Errorf("reading usage: %w", err)
		}
	}
	var routes []provider.Route
	err := a.b.call(ctx, func(ctx context.Context) (err error) {
		routes, err = a.p.Routes(ctx, st.name)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("reading routes: %w", err)
	}
	refs := map[string]string{}
	for _, rt := range routes {
		for _, w := range rt.Weights {
			if refs[w.Version] == "" {
				refs[w.Version] = fmt.Sprintf("alias %s (%s) references it now", rt.Alias, percent(w.BasisPoints))
			}
		}
	}
	for _, u := range us {
		if refs[u.Version] == "" {
			refs[u.Version] = "in use now: " + u.Reason
		}
	}
	return refs, nil
}
