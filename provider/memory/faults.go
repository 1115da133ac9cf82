package memory

import (
	"context"
	"fmt"
	"math"
	"slices"
	"time"
)

// Operation names accepted in Fault.Ops.
const (
	OpPublish       = "Publish"
	OpVersion       = "Version"
	OpVersions      = "Versions" // one call per page
	OpRoute         = "Route"
	OpRoutes        = "Routes"
	OpSetRoute      = "SetRoute"
	OpDeleteVersion = "DeleteVersion"
	OpObserve       = "Observe"
	OpUsage         = "Usage"
	OpEventSources  = "EventSources"
	OpPermissions   = "Permissions"
	// OpInvoke, OpRemovePermission and OpUpdateEventSource are the
	// operations of invoke.go.
	OpInvoke            = "Invoke"
	OpRemovePermission  = "RemovePermission"
	OpUpdateEventSource = "UpdateEventSource"
)

// Ops lists every operation name a Fault may name.
func Ops() []string {
	return []string{OpPublish, OpVersion, OpVersions, OpRoute, OpRoutes, OpSetRoute,
		OpDeleteVersion, OpObserve, OpUsage, OpEventSources, OpPermissions,
		OpInvoke, OpRemovePermission, OpUpdateEventSource}
}

// Fault is a failure injected into chosen operations.
//
// On each call of a matching operation (after the context and the arguments
// were checked) the fault fires with probability Rate, drawn from the
// provider's seeded generator, unless a fault injected before it fired on
// that call (see Inject: at most one fault fires per call). A fault that fires, in order: waits Delay
// (returning the context's error if it ends first), calls Before (whose
// non-nil error fails the call), and fails the call with Err; with
// LostResponse it performs the operation first and then returns Err, as a
// platform does when it committed a change but the response was lost. A
// call that fails because of a fault changes nothing unless LostResponse
// is set. Errors are returned wrapped in a *provider.Error, so
// errors.Is(err, provider.ErrThrottled) works for a *provider.ThrottleError.
type Fault struct {
	// Ops names the operations (see Ops); empty means all of them.
	Ops []string
	// Rate is the probability in 0..1 that the fault fires on a matching
	// call. 0 means every call (as Count 0 means no limit).
	Rate float64
	// Err is the error a firing fault returns (nil: the call proceeds after
	// Delay and Before).
	Err error
	// Delay is latency added to a firing call, waited with Options.Sleep.
	Delay time.Duration
	// Count is how many times the fault fires before it expires; 0 means
	// no limit.
	Count int
	// Before, when set, is called with the operation name each time the
	// fault fires, without any lock held (it may call the Provider, for
	// example to change a route behind the caller's back). A non-nil result
	// fails the call with that error.
	Before func(op string) error
	// LostResponse applies the operation and then returns Err. It requires
	// Err.
	LostResponse bool
}

// Validate checks f: known operation names, Rate in 0..1, non-negative
// Delay and Count, Err set when LostResponse is.
func (f Fault) Validate() error {
	known := Ops()
	for _, op := range f.Ops {
		if !slices.Contains(known, op) {
			return fmt.Errorf("memory: fault names unknown operation %q (known: %v)", op, known)
		}
	}
	if math.IsNaN(f.Rate) || f.Rate < 0 || f.Rate > 1 {
		return fmt.Errorf("memory: fault rate %v is outside 0..1", f.Rate)
	}
	if f.Delay < 0 {
		return fmt.Errorf("memory: fault delay %v is negative", f.Delay)
	}
	if f.Count < 0 {
		return fmt.Errorf("memory: fault count %d is negative", f.Count)
	}
	if f.LostResponse && f.Err == nil {
		return fmt.Errorf("memory: fault with LostResponse has no Err")
	}
	return nil
}

type faultState struct {
	f    Fault
	left int // firings left when f.Count > 0
}

// Inject adds a fault. Faults accumulate until ClearFaults. At most one
// fault fires per call: the matching faults are drawn in the order
// injected, and the first whose Rate draw hits fires (and spends one of its
// Count); the faults after it are not drawn and keep their Count. Inject
// panics when f does not validate: a fault is test set-up, and a malformed
// one is a programming error.
func (p *Provider) Inject(f Fault) {
	if err := f.Validate(); err != nil {
		panic(err)
	}
	f.Ops = slices.Clone(f.Ops)
	p.faultMu.Lock()
	defer p.faultMu.Unlock()
	p.faults = append(p.faults, &faultState{f: f, left: f.Count})
}

// ClearFaults removes every injected fault.
func (p *Provider) ClearFaults() {
	p.faultMu.Lock()
	defer p.faultMu.Unlock()
	p.faults = nil
}

// inject runs the fault of op that fires, if any. It returns err to fail
// the call before it acts, or lost to return after the call has acted
// (LostResponse).
func (p *Provider) inject(ctx context.Context, op string) (lost, err error) {
	f, ok := p.draw(op)
	if !ok {
		return nil, nil
	}
	if f.Delay > 0 {
		if err := p.sleep(ctx, f.Delay); err != nil {
			return nil, err
		}
	}
	if f.Before != nil {
		if err := f.Before(op); err != nil {
			return nil, err
		}
	}
	if f.LostResponse {
		return f.Err, nil
	}
	return nil, f.Err
}

// draw picks the fault that fires on a call of op: the first, in the order
// injected, that names op, has firings left and whose Rate draw hits. It
// spends one of that fault's Count; the faults after it are not drawn.
func (p *Provider) draw(op string) (Fault, bool) {
	p.faultMu.Lock()
	defer p.faultMu.Unlock()
	for _, fs := range p.faults {
		f := fs.f
		if len(f.Ops) > 0 && !slices.Contains(f.Ops, op) {
			continue
		}
		if f.Count > 0 && fs.left == 0 {
			continue
		}
		if f.Rate > 0 && p.rng.Float64() >= f.Rate {
			continue
		}
		if f.Count > 0 {
			fs.left--
		}
		return f, true
	}
	return Fault{}, false
}
