package providertest

import (
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/google/go-cmp/cmp"

	"github.com/slipway-dev/slipway/provider"
)

// raceRounds is how many times the race clause races two writers.
const raceRounds = 20

func routeClauses() []clause {
	return []clause{
		{name: "Create", f: routesCreate},
		{name: "CreateExisting", f: routesCreateExisting},
		{name: "Update", f: routesUpdate},
		{name: "UpdateStaleRevision", f: routesUpdateStale},
		{name: "UpdateMissing", f: routesUpdateMissing},
		{name: "NotFound", f: routesNotFound},
		{name: "Ordered", f: routesOrdered},
		{name: "Split", f: routesSplit},
		{name: "Immutable", f: routesImmutable},
		{name: "Race", slow: true, f: routesRace},
		{name: "RaceIncrement", slow: true, f: routesRaceIncrement},
		{name: "FunctionsIsolated", f: routesFunctionsIsolated},
	}
}

// create creates r (which must not exist), checking the result.
func (e *env) create(r provider.Route) provider.Route {
	e.t.Helper()
	got, err := e.p.SetRoute(e.ctx, e.fn, r)
	if err != nil {
		e.t.Fatalf("SetRoute(%q, %s) creating the route: %v", e.fn, routeText(r), err)
	}
	e.checkSet(r, got)
	return got
}

// update sets r with the revision rev, checking the result.
func (e *env) update(r provider.Route, rev string) provider.Route {
	e.t.Helper()
	r.Revision = rev
	got, err := e.p.SetRoute(e.ctx, e.fn, r)
	if err != nil {
		e.t.Fatalf("SetRoute(%q, %s) with the current revision: %v", e.fn, routeText(r), err)
	}
	e.checkSet(r, got)
	if got.Revision == rev {
		e.t.Errorf("SetRoute(%q, %s) kept the revision %q: a changed route needs a new revision, or stale writers go unnoticed", e.fn, routeText(r), rev)
	}
	return got
}

// checkSet checks what SetRoute returned for the request r, and that the
// route reads back as returned.
func (e *env) checkSet(r, got provider.Route) {
	e.t.Helper()
	if got.Alias != r.Alias || !got.SameTraffic(r) {
		e.t.Errorf("SetRoute(%q, %s) returned %s, want the requested alias and traffic", e.fn, routeText(r), routeText(got))
	}
	if got.Revision == "" {
		e.t.Errorf("SetRoute(%q, %s) returned an empty revision", e.fn, routeText(r))
	}
	if got.Primary() != r.Primary() {
		e.t.Errorf("SetRoute(%q, %s) returned primary %q, want %q", e.fn, routeText(r), got.Primary(), r.Primary())
	}
	e.wantRoute(got)
}

// wantRoute checks that Route(want.Alias) returns want (same traffic,
// primary and revision).
func (e *env) wantRoute(want provider.Route) {
	e.t.Helper()
	got, err := e.p.Route(e.ctx, e.fn, want.Alias)
	if err != nil {
		e.t.Errorf("Route(%q, %q): %v", e.fn, want.Alias, err)
		return
	}
	if got.Alias != want.Alias || got.Revision != want.Revision || got.Primary() != want.Primary() || !got.SameTraffic(want) {
		e.t.Errorf("Route(%q, %q) = %s, want %s", e.fn, want.Alias, routeText(got), routeText(want))
	}
}

// wantNoRoute checks that alias does not exist.
func (e *env) wantNoRoute(alias string) {
	e.t.Helper()
	r, err := e.p.Route(e.ctx, e.fn, alias)
	if err == nil {
		e.t.Errorf("Route(%q, %q) = %s, want ErrNotFound", e.fn, alias, routeText(r))
		return
	}
	e.wantErr(fmt.Sprintf("Route(%q, %q)", e.fn, alias), err, provider.ErrNotFound, e.fn)
}

func routesCreate(e *env) {
	v := e.publishN(1)
	r := e.create(provider.To("stage", v[0]))
	i := slices.IndexFunc(e.routes(), func(x provider.Route) bool { return x.Alias == "stage" })
	if i < 0 {
		e.t.Errorf("Routes(%q) = %v, want it to list %q", e.fn, e.routes(), "stage")
	} else if got := e.routes()[i]; got.Revision != r.Revision || !got.SameTraffic(r) {
		e.t.Errorf("Routes(%q) lists %s, want %s", e.fn, routeText(got), routeText(r))
	}
}

func routesCreateExisting(e *env) {
	v := e.publishN(2)
	r := e.create(provider.To("stage", v[0]))
	req := provider.To("stage", v[1])
	_, err := e.p.SetRoute(e.ctx, e.fn, req)
	e.wantErr(fmt.Sprintf("SetRoute(%q, %s) on an existing route", e.fn, routeText(req)), err, provider.ErrConflict, e.fn)
	e.wantRoute(r)
}

func routesUpdate(e *env) {
	v := e.publishN(3)
	r := e.create(provider.To("stage", v[0]))
	r = e.update(provider.To("stage", v[1]), r.Revision)
	r = e.update(provider.To("stage", v[2]), r.Revision)
	// Back to an older version: routes may point at any published version.
	e.update(provider.To("stage", v[0]), r.Revision)
}

func routesUpdateStale(e *env) {
	v := e.publishN(3)
	r0 := e.create(provider.To("stage", v[0]))
	r1 := e.update(provider.To("stage", v[1]), r0.Revision)

	for _, rev := range []string{r0.Revision, "conformance-made-up-revision"} {
		req := provider.To("stage", v[2])
		req.Revision = rev
		_, err := e.p.SetRoute(e.ctx, e.fn, req)
		e.wantErr(fmt.Sprintf("SetRoute(%q, %s) with a stale revision (current %q)", e.fn, routeText(req), r1.Revision), err, provider.ErrConflict, e.fn)
		e.wantRoute(r1)
	}
	// The current revision still works.
	e.update(provider.To("stage", v[2]), r1.Revision)
}

func routesUpdateMissing(e *env) {
	v := e.publishN(1)
	other := e.create(provider.To("stage", v[0]))
	req := provider.To("nowhere", v[0])
	req.Revision = other.Revision
	_, err := e.p.SetRoute(e.ctx, e.fn, req)
	e.wantErr(fmt.Sprintf("SetRoute(%q, %s) on a route that does not exist", e.fn, routeText(req)), err, provider.ErrNotFound, e.fn)
	e.wantNoRoute("nowhere")
	e.wantRoute(other)
}

func routesNotFound(e *env) {
	v := e.publishN(1)
	e.wantNoRoute("nowhere")
	e.create(provider.To("stage", v[0]))
	e.wantNoRoute("nowhere")

	missing := e.missingFunction()
	_, err := e.p.Route(e.ctx, missing, "stage")
	e.wantErr(fmt.Sprintf("Route(%q, %q) of a function that does not exist", missing, "stage"), err, provider.ErrNotFound, missing)

	_, err = e.p.Route(e.ctx, e.fn, "")
	e.wantErr(fmt.Sprintf("Route(%q, \"\")", e.fn), err, provider.ErrInvalid, e.fn)
}

func routesOrdered(e *env) {
	v := e.publishN(3)
	want := map[string]provider.Route{}
	for i, alias := range []string{"gamma", "alpha", "delta", "beta"} {
		want[alias] = e.create(provider.To(alias, v[i%len(v)]))
	}
	rs := e.routes()
	aliases := make([]string, len(rs))
	for i, r := range rs {
		aliases[i] = r.Alias
	}
	if !slices.IsSorted(aliases) || len(slices.Compact(slices.Clone(aliases))) != len(aliases) {
		e.t.Errorf("Routes(%q) aliases = %q, want them sorted and distinct", e.fn, aliases)
	}
	for alias := range want {
		if !slices.Contains(aliases, alias) {
			e.t.Errorf("Routes(%q) aliases = %q, missing %q", e.fn, aliases, alias)
		}
	}
	// Every listed route, ours or the platform's own, reads back the same.
	for _, r := range rs {
		if w, ok := want[r.Alias]; ok && (r.Revision != w.Revision || !r.SameTraffic(w)) {
			e.t.Errorf("Routes(%q) lists %s, want %s", e.fn, routeText(r), routeText(w))
		}
		e.wantRoute(r)
	}
}

func routesSplit(e *env) {
	bp := e.canaryBP()
	if bp == 0 {
		e.t.Skipf("no route can split traffic across two versions: Capabilities %+v", e.caps)
	}
	v := e.publishN(2)
	alias := e.splitAlias()
	r := e.put(provider.Split(alias, v[0], v[1], bp))
	e.wantRoute(r)
	if got := e.route(alias); got.Share(v[1]) != bp || got.Share(v[0]) != provider.AllTraffic-bp {
		e.t.Errorf("Route(%q, %q) = %s, want %d basis points on %q", e.fn, alias, routeText(got), bp, v[1])
	}
	// Promote: all traffic on the candidate.
	r = e.update(provider.To(alias, v[1]), r.Revision)
	if got := e.route(alias); got.Share(v[0]) != 0 {
		e.t.Errorf("Route(%q, %q) = %s after promotion, want no traffic on %q", e.fn, alias, routeText(got), v[0])
	}
	// And back to a split with the stable version as primary.
	e.update(provider.Split(alias, v[0], v[1], bp), r.Revision)
}

func routesImmutable(e *env) {
	v := e.publishN(2)
	req := provider.To("stage", v[0])
	if bp := e.canaryBP(); bp > 0 {
		req = provider.Split(e.splitAlias(), v[0], v[1], bp)
	}
	set := e.put(req)
	want := set.Clone()

	mutate := func(r provider.Route) {
		for i := range r.Weights {
			r.Weights[i].Version = "mutated"
			r.Weights[i].BasisPoints = 1
		}
	}
	mutate(req)
	mutate(set)
	e.wantRoute(want)
	got := e.route(want.Alias)
	mutate(got)
	for _, r := range e.routes() {
		mutate(r)
	}
	e.wantRoute(want)
	if diff := cmp.Diff(want, e.route(want.Alias)); diff != "" {
		e.t.Errorf("mutating returned routes changed the stored route (-set +read):\n%s", diff)
	}
}

func routesRace(e *env) {
	v := e.publishN(3)
	for round := range raceRounds {
		alias := fmt.Sprintf("race-%d", round)
		base := e.create(provider.To(alias, v[0]))
		reqs := [2]provider.Route{provider.To(alias, v[1]), provider.To(alias, v[2])}
		var got [2]provider.Route
		var errs [2]error
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i := range reqs {
			reqs[i].Revision = base.Revision
			wg.Go(func() {
				<-start
				got[i], errs[i] = e.p.SetRoute(e.ctx, e.fn, reqs[i])
			})
		}
		close(start)
		wg.Wait()

		switch {
		case errs[0] == nil && errs[1] == nil:
			e.t.Fatalf("round %d: both writers from revision %q won (%s and %s): one update was lost", round, base.Revision, routeText(got[0]), routeText(got[1]))
		case errs[0] != nil && errs[1] != nil:
			e.t.Fatalf("round %d: both writers from revision %q failed: %v; %v", round, base.Revision, errs[0], errs[1])
		}
		win := 0
		if errs[0] != nil {
			win = 1
		}
		lose := 1 - win
		e.wantErr(fmt.Sprintf("round %d: the losing SetRoute(%q, %s)", round, e.fn, routeText(reqs[lose])), errs[lose], provider.ErrConflict, e.fn)
		if !got[win].SameTraffic(reqs[win]) || got[win].Revision == "" || got[win].Revision == base.Revision {
			e.t.Errorf("round %d: the winning SetRoute(%q, %s) returned %s", round, e.fn, routeText(reqs[win]), routeText(got[win]))
		}
		final := e.route(alias)
		if final.Revision != got[win].Revision || !final.SameTraffic(reqs[win]) {
			e.t.Errorf("round %d: Route(%q, %q) = %s after the race, want the winner's %s", round, e.fn, alias, routeText(final), routeText(got[win]))
		}
	}
}

// routesRaceIncrement has several writers each move the canary's weight up
// by one step, several times, with read-modify-write and a retry on
// ErrConflict. Compare-and-swap loses no step: the final weight is the sum.
func routesRaceIncrement(e *env) {
	bp := e.canaryBP()
	if bp == 0 {
		e.t.Skipf("no route can split traffic across two versions: Capabilities %+v", e.caps)
	}
	g := e.granularity()
	const writers = 8
	steps := 3
	for steps > 0 && writers*steps*g >= provider.AllTraffic {
		steps--
	}
	if steps == 0 {
		e.t.Skipf("granularity %d leaves no room for %d steps", g, writers)
	}
	v := e.publishN(2)
	alias := e.splitAlias()
	e.put(provider.To(alias, v[0]))

	var wg sync.WaitGroup
	errs := make([]error, writers)
	start := make(chan struct{})
	for i := range writers {
		wg.Go(func() {
			<-start
			for range steps {
				if errs[i] = e.increment(alias, v[0], v[1], g); errs[i] != nil {
					return
				}
			}
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			e.t.Errorf("writer %d: %v", i, err)
		}
	}
	want := writers * steps * g
	if got := e.route(alias); got.Share(v[1]) != want {
		e.t.Errorf("Route(%q, %q) = %s after %d writers each added %d×%d basis points, want %d on %q: updates were lost",
			e.fn, alias, routeText(got), writers, steps, g, want, v[1])
	}
}

// increment adds g basis points to candidate's share of alias, retrying
// on ErrConflict.
func (e *env) increment(alias, stable, candidate string, g int) error {
	for attempt := 0; attempt < 1000; attempt++ {
		cur, err := e.p.Route(e.ctx, e.fn, alias)
		if err != nil {
			return err
		}
		next := provider.Split(alias, stable, candidate, cur.Share(candidate)+g)
		next.Revision = cur.Revision
		_, err = e.p.SetRoute(e.ctx, e.fn, next)
		if err == nil {
			return nil
		}
		if !errors.Is(err, provider.ErrConflict) {
			return err
		}
	}
	return fmt.Errorf("no SetRoute of %q succeeded in 1000 attempts", alias)
}

// routesFunctionsIsolated checks that functions do not share versions or
// routes: one provider serves a fleet.
func routesFunctionsIsolated(e *env) {
	a := e.fn
	b := e.second()
	va := e.publishN(3)
	vb, err := e.p.Publish(e.ctx, b, e.input(0))
	if err != nil {
		e.t.Fatalf("Publish(%q): %v", b, err)
	}
	if got := ids(e.list(b)); !slices.Equal(got, []string{vb.ID}) {
		e.t.Errorf("Versions(%q) = %q, want only its own version %q", b, got, vb.ID)
	}
	e.create(provider.To("stage", va[0]))
	rs, err := e.p.Routes(e.ctx, b)
	if err != nil {
		e.t.Fatalf("Routes(%q): %v", b, err)
	}
	for _, r := range rs {
		if r.Alias == "stage" {
			e.t.Errorf("Routes(%q) lists %s, a route of function %q", b, routeText(r), a)
		}
	}
	// A version ID of function a that b does not have is unknown to b.
	for _, id := range va {
		if id == vb.ID {
			continue
		}
		req := provider.To("stage", id)
		_, err := e.p.SetRoute(e.ctx, b, req)
		e.wantErr(fmt.Sprintf("SetRoute(%q, %s) naming a version of function %q", b, routeText(req), a), err, provider.ErrInvalid, b)
		_, err = e.p.Version(e.ctx, b, id)
		e.wantErr(fmt.Sprintf("Version(%q, %q) of a version of function %q", b, id, a), err, provider.ErrNotFound, b)
	}
}
