package providertest

import (
	"fmt"

	"github.com/google/go-cmp/cmp"

	"github.com/slipway-dev/slipway/provider"
)

// weightCase is one malformed or unsupported route request.
type weightCase struct {
	name string
	// skip returns why the case does not apply to these capabilities, or "".
	skip func(e *env) string
	// versions is how many versions the case needs published.
	versions func(e *env) int
	// pinned runs the case on a route that may not split.
	pinned bool
	// reqs builds the bad requests for alias over the published versions v.
	reqs func(e *env, alias string, v []string) []provider.Route
}

func three(*env) int { return 3 }

func never(*env) string { return "" }

func (e *env) granularity() int { return max(e.caps.Granularity, 1) }

func weights(alias string, ws ...provider.Weight) provider.Route {
	return provider.Route{Alias: alias, Weights: ws}
}

func w(version string, bp int) provider.Weight {
	return provider.Weight{Version: version, BasisPoints: bp}
}

func weightCases() []weightCase {
	return []weightCase{
		{name: "Negative", skip: never, versions: three, reqs: func(e *env, a string, v []string) []provider.Route {
			g := e.granularity()
			return []provider.Route{
				weights(a, w(v[0], provider.AllTraffic), w(v[1], g), w(v[2], -g)),
				weights(a, w(v[0], provider.AllTraffic+g), w(v[1], -g)),
			}
		}},
		{name: "Above10000", skip: never, versions: three, reqs: func(e *env, a string, v []string) []provider.Route {
			return []provider.Route{weights(a, w(v[0], provider.AllTraffic+e.granularity()))}
		}},
		{name: "SumNot10000", skip: never, versions: three, reqs: func(e *env, a string, v []string) []provider.Route {
			g := e.granularity()
			return []provider.Route{
				weights(a, w(v[0], provider.AllTraffic-g)),
				weights(a, w(v[0], provider.AllTraffic-2*g), w(v[1], g)),
				weights(a, w(v[0], provider.AllTraffic-g), w(v[1], 2*g)),
			}
		}},
		{name: "DuplicateVersion", skip: never, versions: three, reqs: func(e *env, a string, v []string) []provider.Route {
			return []provider.Route{
				weights(a, w(v[0], provider.AllTraffic/2), w(v[0], provider.AllTraffic/2)),
				weights(a, w(v[0], provider.AllTraffic), w(v[0], 0)),
			}
		}},
		{name: "UnknownVersion", skip: never, versions: three, reqs: func(e *env, a string, v []string) []provider.Route {
			rs := []provider.Route{provider.To(a, unknownVersion)}
			if bp := e.canaryBP(); bp > 0 {
				rs = append(rs, provider.Split(a, v[0], unknownVersion, bp), provider.Split(a, unknownVersion, v[0], bp))
			}
			return rs
		}},
		{name: "EmptyAlias", skip: never, versions: three, reqs: func(e *env, _ string, v []string) []provider.Route {
			return []provider.Route{provider.To("", v[0])}
		}},
		{name: "EmptyWeights", skip: never, versions: three, reqs: func(e *env, a string, v []string) []provider.Route {
			return []provider.Route{{Alias: a}, {Alias: a, Weights: []provider.Weight{}}}
		}},
		{name: "EmptyVersion", skip: never, versions: three, reqs: func(e *env, a string, v []string) []provider.Route {
			return []provider.Route{provider.To(a, ""), weights(a, w(v[0], provider.AllTraffic-e.granularity()), w("", e.granularity()))}
		}},
		{name: "PrimaryZero", skip: never, versions: three, reqs: func(e *env, a string, v []string) []provider.Route {
			return []provider.Route{weights(a, w(v[0], 0), w(v[1], provider.AllTraffic))}
		}},
		{
			name: "TooManyVersions",
			skip: func(e *env) string {
				m := e.caps.MaxRouteVersions
				switch {
				case m == 0:
					return "Capabilities().MaxRouteVersions is 0: any number of versions"
				case m > 20:
					return fmt.Sprintf("Capabilities().MaxRouteVersions is %d: too many versions to publish for this clause", m)
				case provider.AllTraffic-m*e.granularity() <= 0:
					return "no valid weights for MaxRouteVersions+1 versions at this granularity"
				}
				return ""
			},
			versions: func(e *env) int { return e.caps.MaxRouteVersions + 1 },
			reqs: func(e *env, a string, v []string) []provider.Route {
				g := e.granularity()
				r := weights(a, w(v[0], provider.AllTraffic-(len(v)-1)*g))
				for _, id := range v[1:] {
					r.Weights = append(r.Weights, w(id, g))
				}
				return []provider.Route{r}
			},
		},
		{
			name: "Granularity",
			skip: func(e *env) string {
				if e.granularity() == 1 {
					return "Capabilities().Granularity is 1: every integer weight is expressible"
				}
				return ""
			},
			versions: three,
			reqs: func(e *env, a string, v []string) []provider.Route {
				g := e.granularity()
				return []provider.Route{
					weights(a, w(v[0], provider.AllTraffic-1), w(v[1], 1)),
					weights(a, w(v[0], provider.AllTraffic-g-g/2), w(v[1], g+g/2)),
				}
			},
		},
		{
			name: "SplitNotAllowed",
			skip: func(e *env) string {
				if e.pinnedAlias() == "" {
					return "Capabilities().SplitRoutes is nil: every route may split"
				}
				return ""
			},
			versions: three,
			pinned:   true,
			reqs: func(e *env, a string, v []string) []provider.Route {
				g := e.granularity()
				bp := max(provider.AllTraffic/10/g*g, g)
				return []provider.Route{provider.Split(a, v[0], v[1], bp)}
			},
		},
	}
}

func weightClauses() []clause {
	var cs []clause
	for _, c := range weightCases() {
		cs = append(cs, clause{name: c.name, f: func(e *env) { runWeightCase(e, c) }})
	}
	return cs
}

// runWeightCase runs one case: every request, on update of an existing route
// and on create of a new one, must fail with the sentinel CheckRoute gives
// (ErrInvalid when it passes, as for an unknown version) and change
// nothing.
func runWeightCase(e *env, c weightCase) {
	if why := c.skip(e); why != "" {
		e.t.Skipf("%s", why)
	}
	alias := e.splitAlias()
	if c.pinned {
		alias = e.pinnedAlias()
	}
	if alias == "" {
		e.t.Skipf("no route may split on this platform: Capabilities %+v", e.caps)
	}
	v := e.publishN(c.versions(e))
	e.put(provider.To(alias, v[0]))
	before := e.routes()

	var fresh []string
	for _, bad := range c.reqs(e, alias, v) {
		cur := e.route(alias)
		update := bad.Clone()
		update.Revision = cur.Revision
		create := bad.Clone()
		if create.Alias != "" {
			create.Alias = fmt.Sprintf("fresh-%d", len(fresh))
			fresh = append(fresh, create.Alias)
		}
		for _, req := range []provider.Route{update, create} {
			want := provider.ErrInvalid
			if err := e.caps.CheckRoute(req); err != nil {
				want = sentinel(err)
			}
			got, err := e.p.SetRoute(e.ctx, e.fn, req)
			if err == nil {
				e.t.Errorf("SetRoute(%q, %s) = %s, want an error matching %v", e.fn, routeText(req), routeText(got), want)
				continue
			}
			e.wantErr(fmt.Sprintf("SetRoute(%q, %s)", e.fn, routeText(req)), err, want, e.fn)
		}
		after := e.routes()
		if diff := cmp.Diff(before, after); diff != "" {
			e.t.Errorf("a refused SetRoute(%q, %s) changed the routes (-before +after):\n%s", e.fn, routeText(bad), diff)
			before = after // report each request's changes once
		}
	}
	for _, a := range fresh {
		e.wantNoRoute(a)
	}
}
