package memory

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strconv"
	"sync"

	"github.com/slipway-dev/slipway/provider"
)

// Handler is the code of one version as the memory provider runs it: the
// caller's Go func. It gets the invocation's payload and returns the
// response body, or an error, which Invoke reports as a function error
// (InvokeOutput.FunctionError "Unhandled", Body an error document
// {"errorType": …, "errorMessage": …}; a *FunctionError chooses the type).
type Handler func(ctx context.Context, payload []byte) ([]byte, error)

// FunctionError is an error a Handler returns to choose the errorType of
// the error document.
type FunctionError struct {
	Type    string
	Message string
}

func (e *FunctionError) Error() string { return e.Type + ": " + e.Message }

// handlers holds the Handler of each version, by function.
type handlers struct {
	mu sync.RWMutex
	m  map[string]map[string]Handler
}

// SetHandler sets the code version versionID of fn runs when invoked (the
// version may be published later); nil removes it. A version without a
// handler answers the body "null", as a function that returns nothing
// does. Handlers live in memory only: they are not written to Path. It
// panics on an empty fn or versionID (a test set-up error).
func (p *Provider) SetHandler(fn, versionID string, h Handler) {
	mustName("SetHandler", fn)
	if versionID == "" {
		panic("memory: SetHandler with an empty version ID")
	}
	p.handlers.mu.Lock()
	defer p.handlers.mu.Unlock()
	if p.handlers.m == nil {
		p.handlers.m = map[string]map[string]Handler{}
	}
	if p.handlers.m[fn] == nil {
		p.handlers.m[fn] = map[string]Handler{}
	}
	if h == nil {
		delete(p.handlers.m[fn], versionID)
		return
	}
	p.handlers.m[fn][versionID] = h
}

func (p *Provider) handler(fn, versionID string) Handler {
	p.handlers.mu.RLock()
	defer p.handlers.mu.RUnlock()
	return p.handlers.m[fn][versionID]
}

// Invoke runs the Handler of the version in.Qualifier names: a version ID,
// or an alias, whose route picks one of its versions by weight with the
// provider's seeded generator (so a split route sends each version its
// share of invocations, deterministically for a given Seed). Status is
// 200; ExecutedVersion is the version that ran. The memory provider
// enforces no payload limit. Errors: ErrInvalid for an empty qualifier,
// ErrNotFound for a missing function or qualifier, injected faults
// (OpInvoke) as any operation's.
func (p *Provider) Invoke(ctx context.Context, fn string, in provider.InvokeInput) (provider.InvokeOutput, error) {
	const op = "invoke"
	if err := ctx.Err(); err != nil {
		return provider.InvokeOutput{}, opError(op, fn, err)
	}
	if err := provider.CheckName("function", fn); err != nil {
		return provider.InvokeOutput{}, opError(op, fn, err)
	}
	if err := in.Validate(); err != nil {
		return provider.InvokeOutput{}, opError(op, fn, err)
	}
	lost, err := p.inject(ctx, OpInvoke)
	if err != nil {
		return provider.InvokeOutput{}, opError(op, fn, err)
	}
	version, err := p.resolve(fn, in.Qualifier)
	if err != nil {
		return provider.InvokeOutput{}, opError(op, fn, err)
	}
	out := provider.InvokeOutput{Status: 200, ExecutedVersion: version, Body: []byte("null")}
	if h := p.handler(fn, version); h != nil {
		body, herr := h(ctx, slices.Clone(in.Payload))
		if herr != nil {
			out.FunctionError = "Unhandled"
			out.Body = errorDocument(herr)
		} else {
			out.Body = body
		}
	}
	if lost != nil {
		return provider.InvokeOutput{}, opError(op, fn, lost)
	}
	return out, nil
}

// errorDocument is the body of a failed invocation, shaped as Lambda's
// runtimes report one.
func errorDocument(err error) []byte {
	doc := struct {
		ErrorType    string `json:"errorType"`
		ErrorMessage string `json:"errorMessage"`
	}{"Error", err.Error()}
	var fe *FunctionError
	if errors.As(err, &fe) {
		doc.ErrorType, doc.ErrorMessage = fe.Type, fe.Message
	}
	b, _ := json.Marshal(doc) // two strings always marshal
	return b
}

// resolve returns the version a qualifier names, drawing from an alias's
// weights.
func (p *Provider) resolve(fn, qualifier string) (string, error) {
	p.mu.RLock()
	f, err := p.fnLocked(fn)
	if err != nil {
		p.mu.RUnlock()
		return "", err
	}
	if _, ok := f.versionIndex(qualifier); ok {
		p.mu.RUnlock()
		return qualifier, nil
	}
	rt, ok := f.Routes[qualifier]
	weights := slices.Clone(rt.Weights)
	p.mu.RUnlock()
	if !ok {
		return "", notFound("qualifier " + strconv.Quote(qualifier))
	}
	p.faultMu.Lock()
	draw := p.rng.IntN(provider.AllTraffic)
	p.faultMu.Unlock()
	for _, w := range weights {
		if draw < w.BasisPoints {
			return w.Version, nil
		}
		draw -= w.BasisPoints
	}
	return rt.Primary(), nil
}

// RemovePermission removes the statement id from the list SetPermissions set
// for qualifier. ErrNotFound when the function, the qualifier or the
// statement does not exist.
func (p *Provider) RemovePermission(ctx context.Context, fn, qualifier, id string) error {
	const op = "remove permission"
	if err := p.checkWrite(ctx, op, OpRemovePermission, fn); err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	f, err := p.fnLocked(fn)
	if err != nil {
		return opError(op, fn, err)
	}
	if err := f.checkQualifier(qualifier); err != nil {
		return opError(op, fn, err)
	}
	ps := f.Permissions[qualifier]
	i := slices.IndexFunc(ps, func(x provider.Permission) bool { return x.ID == id })
	if i < 0 {
		return opError(op, fn, notFound("statement "+strconv.Quote(id)))
	}
	f.Permissions[qualifier] = slices.Delete(slices.Clone(ps), i, i+1)
	_ = p.save() // see Sync
	return nil
}

// UpdateEventSource points the mapping id (set by SetEventSources) at
// qualifier. ErrNotFound when the function, the mapping or the qualifier
// does not exist.
func (p *Provider) UpdateEventSource(ctx context.Context, fn, id, qualifier string) (provider.EventSource, error) {
	const op = "update event source"
	if err := p.checkWrite(ctx, op, OpUpdateEventSource, fn); err != nil {
		return provider.EventSource{}, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	f, err := p.fnLocked(fn)
	if err != nil {
		return provider.EventSource{}, opError(op, fn, err)
	}
	if err := f.checkQualifier(qualifier); err != nil {
		return provider.EventSource{}, opError(op, fn, err)
	}
	i := slices.IndexFunc(f.EventSources, func(e provider.EventSource) bool { return e.ID == id })
	if i < 0 {
		return provider.EventSource{}, opError(op, fn, notFound("event source "+strconv.Quote(id)))
	}
	f.EventSources = slices.Clone(f.EventSources)
	f.EventSources[i].Qualifier = qualifier
	_ = p.save() // see Sync
	return f.EventSources[i], nil
}

// checkWrite checks the context and the name and draws the injected
// faults of a write. A LostResponse fault is not modelled for these
// writes: it fails them before they change anything.
func (p *Provider) checkWrite(ctx context.Context, op, faultOp, fn string) error {
	if err := ctx.Err(); err != nil {
		return opError(op, fn, err)
	}
	if err := provider.CheckName("function", fn); err != nil {
		return opError(op, fn, err)
	}
	lost, err := p.inject(ctx, faultOp)
	if err == nil {
		err = lost
	}
	if err != nil {
		return opError(op, fn, err)
	}
	return nil
}

// checkQualifier: "" (the unqualified function), an alias or a version.
func (f *fnState) checkQualifier(q string) error {
	if q == "" {
		return nil
	}
	if _, ok := f.Routes[q]; ok {
		return nil
	}
	if _, ok := f.versionIndex(q); ok {
		return nil
	}
	return notFound("qualifier " + strconv.Quote(q))
}
