package memory

import (
	"context"
	"slices"
	"strconv"

	"github.com/slipway-dev/slipway/provider"
)

// SetUsage sets what Usage reports for fn: versions in use for reasons
// other than a route (provisioned concurrency, pinned triggers).
// DeleteVersion refuses them with ErrInUse. It replaces the previous list.
// It panics on an empty fn (a test set-up error).
func (p *Provider) SetUsage(fn string, u []provider.Usage) {
	mustName("SetUsage", fn)
	p.mu.Lock()
	defer p.mu.Unlock()
	p.st.fnForWrite(fn).Usage = slices.Clone(u)
	_ = p.save() // see Sync
}

// SetEventSources sets what EventSources reports for fn, replacing the
// previous list. It panics on an empty fn.
func (p *Provider) SetEventSources(fn string, es []provider.EventSource) {
	mustName("SetEventSources", fn)
	p.mu.Lock()
	defer p.mu.Unlock()
	p.st.fnForWrite(fn).EventSources = slices.Clone(es)
	_ = p.save() // see Sync
}

// SetPermissions sets what Permissions reports for fn and qualifier ("" for
// the unqualified function, an alias or a version ID), replacing the
// previous list. It panics on an empty fn.
func (p *Provider) SetPermissions(fn, qualifier string, ps []provider.Permission) {
	mustName("SetPermissions", fn)
	p.mu.Lock()
	defer p.mu.Unlock()
	f := p.st.fnForWrite(fn)
	if f.Permissions == nil {
		f.Permissions = map[string][]provider.Permission{}
	}
	f.Permissions[qualifier] = slices.Clone(ps)
	_ = p.save() // see Sync
}

// Usage reports the list set by SetUsage (empty when none). ErrNotFound
// when the function does not exist.
func (p *Provider) Usage(ctx context.Context, fn string) ([]provider.Usage, error) {
	return readList(ctx, p, "usage", OpUsage, fn, func(f *fnState) ([]provider.Usage, error) {
		return f.Usage, nil
	})
}

// EventSources reports the list set by SetEventSources (empty when none).
// ErrNotFound when the function does not exist.
func (p *Provider) EventSources(ctx context.Context, fn string) ([]provider.EventSource, error) {
	return readList(ctx, p, "event sources", OpEventSources, fn, func(f *fnState) ([]provider.EventSource, error) {
		return f.EventSources, nil
	})
}

// Permissions reports the list set by SetPermissions for qualifier (empty
// when none). ErrNotFound when the function does not exist, or when
// qualifier is neither empty nor an existing alias or version.
func (p *Provider) Permissions(ctx context.Context, fn, qualifier string) ([]provider.Permission, error) {
	return readList(ctx, p, "permissions", OpPermissions, fn, func(f *fnState) ([]provider.Permission, error) {
		if qualifier != "" {
			_, isAlias := f.Routes[qualifier]
			if _, isVersion := f.versionIndex(qualifier); !isAlias && !isVersion {
				return nil, notFound("qualifier " + strconv.Quote(qualifier))
			}
		}
		return f.Permissions[qualifier], nil
	})
}

// readList is the shared body of the read-only optional interfaces.
func readList[T any](ctx context.Context, p *Provider, op, faultOp, fn string, get func(*fnState) ([]T, error)) ([]T, error) {
	if err := ctx.Err(); err != nil {
		return nil, opError(op, fn, err)
	}
	if err := provider.CheckName("function", fn); err != nil {
		return nil, opError(op, fn, err)
	}
	lost, err := p.inject(ctx, faultOp)
	if err != nil {
		return nil, opError(op, fn, err)
	}
	p.mu.RLock()
	defer p.mu.RUnlock()
	f, err := p.fnLocked(fn)
	if err != nil {
		return nil, opError(op, fn, err)
	}
	list, err := get(f)
	if err != nil {
		return nil, opError(op, fn, err)
	}
	if lost != nil {
		return nil, opError(op, fn, lost)
	}
	return append(make([]T, 0, len(list)), list...), nil
}

// mustName panics when a set-up method is given an empty function name.
func mustName(method, fn string) {
	if fn == "" {
		panic("memory: " + method + " with an empty function name")
	}
}
