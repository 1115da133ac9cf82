package providertest

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/google/go-cmp/cmp"

	"github.com/slipway-dev/slipway/provider"
)

func cancelClauses() []clause {
	return []clause{
		{name: "Publish", f: cancelPublish},
		{name: "Version", f: cancelVersion},
		{name: "Versions", f: cancelVersions},
		{name: "Route", f: cancelRoute},
		{name: "Routes", f: cancelRoutes},
		{name: "SetRoute", f: cancelSetRoute},
		{name: "DeleteVersion", f: cancelDeleteVersion},
	}
}

// cancelled returns a context that has already been cancelled.
func (e *env) cancelled() context.Context {
	ctx, cancel := context.WithCancel(e.ctx)
	cancel()
	return ctx
}

// state is everything a clause can observe of its function.
type state struct {
	Versions []provider.Version
	Routes   []provider.Route
}

// prepare publishes three versions and routes "stage" to the first.
func (e *env) prepare() ([]string, state) {
	e.t.Helper()
	v := e.publishN(3)
	e.create(provider.To("stage", v[0]))
	return v, e.state()
}

func (e *env) state() state {
	e.t.Helper()
	return state{Versions: e.list(e.fn), Routes: e.routes()}
}

// unchanged checks that the function's state is still before.
func (e *env) unchanged(call string, before state) {
	e.t.Helper()
	if diff := cmp.Diff(before, e.state()); diff != "" {
		e.t.Errorf("%s with a cancelled context changed the state (-before +after):\n%s", call, diff)
	}
}

func cancelPublish(e *env) {
	_, before := e.prepare()
	call := fmt.Sprintf("Publish(%q)", e.fn)
	_, err := e.p.Publish(e.cancelled(), e.fn, e.input(3))
	e.wantErr(call, err, context.Canceled, e.fn)
	e.unchanged(call, before)
}

func cancelVersion(e *env) {
	v, before := e.prepare()
	call := fmt.Sprintf("Version(%q, %q)", e.fn, v[0])
	_, err := e.p.Version(e.cancelled(), e.fn, v[0])
	e.wantErr(call, err, context.Canceled, e.fn)
	e.unchanged(call, before)
}

func cancelVersions(e *env) {
	_, before := e.prepare()
	call := fmt.Sprintf("Versions(%q)", e.fn)
	n := 0
	for v, err := range e.p.Versions(e.cancelled(), e.fn) {
		n++
		if err == nil {
			e.t.Errorf("%s with a cancelled context yielded version %q", call, v.ID)
			continue
		}
		e.wantErr(call, err, context.Canceled, e.fn)
	}
	if n == 0 {
		e.t.Errorf("%s with a cancelled context yielded nothing, want an error matching %v", call, context.Canceled)
	}
	e.unchanged(call, before)
}

func cancelRoute(e *env) {
	_, before := e.prepare()
	call := fmt.Sprintf("Route(%q, %q)", e.fn, "stage")
	_, err := e.p.Route(e.cancelled(), e.fn, "stage")
	e.wantErr(call, err, context.Canceled, e.fn)
	e.unchanged(call, before)
}

func cancelRoutes(e *env) {
	_, before := e.prepare()
	call := fmt.Sprintf("Routes(%q)", e.fn)
	_, err := e.p.Routes(e.cancelled(), e.fn)
	e.wantErr(call, err, context.Canceled, e.fn)
	e.unchanged(call, before)
}

func cancelSetRoute(e *env) {
	v, before := e.prepare()
	i := slices.IndexFunc(before.Routes, func(r provider.Route) bool { return r.Alias == "stage" })
	if i < 0 {
		e.t.Fatalf("Routes(%q) = %v, missing %q", e.fn, before.Routes, "stage")
	}
	update := provider.To("stage", v[1])
	update.Revision = before.Routes[i].Revision
	for _, req := range []provider.Route{update, provider.To("other", v[1])} {
		call := fmt.Sprintf("SetRoute(%q, %s)", e.fn, routeText(req))
		_, err := e.p.SetRoute(e.cancelled(), e.fn, req)
		e.wantErr(call, err, context.Canceled, e.fn)
		e.unchanged(call, before)
	}
}

func cancelDeleteVersion(e *env) {
	v, before := e.prepare()
	call := fmt.Sprintf("DeleteVersion(%q, %q)", e.fn, v[1])
	err := e.p.DeleteVersion(e.cancelled(), e.fn, v[1])
	want := context.Canceled
	if !e.caps.DeleteVersions && errors.Is(err, provider.ErrUnsupported) {
		// Refusing without any I/O is as good as noticing the context.
		want = provider.ErrUnsupported
	}
	e.wantErr(call, err, want, e.fn)
	e.unchanged(call, before)
}
