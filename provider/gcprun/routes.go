package gcprun

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"cloud.google.com/go/run/apiv2/runpb"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"

	"github.com/slipway-dev/slipway/provider"
)

const (
	typeRevision = runpb.TrafficTargetAllocationType_TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION
	typeLatest   = runpb.TrafficTargetAllocationType_TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST
)

// routesOf reads the routes of a service: the split route (Options.Route)
// is every untagged target plus the percent of any tagged one, in the
// order of the traffic list, once an untagged target names a revision
// (see pinnedSplit); each tag is a route pinning its revision. A LATEST
// target stands for the latest ready revision; an empty traffic list is
// 100% to it (RUNPB Service.traffic).
//
// A route's revision token is "<writes>.<digest>": the route's write
// counter from AnnotationRoutes and a digest of its targets, so it changes
// on every write of that route (even one back to an earlier split) and on
// any change of its targets by other tools, and not when another route
// changes.
func (p *Provider) routesOf(svc *runpb.Service) map[string]provider.Route {
	latest := shortName(svc.GetLatestReadyRevision())
	seqs := routeSeqs(svc)
	traffic := svc.Traffic
	if len(traffic) == 0 {
		traffic = []*runpb.TrafficTarget{{Type: typeLatest, Percent: 100}}
	}
	out := map[string]provider.Route{}
	split := provider.Route{Alias: p.opts.Route}
	add := func(rev string, bp int) {
		for i := range split.Weights {
			if split.Weights[i].Version == rev {
				split.Weights[i].BasisPoints += bp
				return
			}
		}
		split.Weights = append(split.Weights, provider.Weight{Version: rev, BasisPoints: bp})
	}
	for _, t := range traffic {
		rev := t.Revision
		if t.Type == typeLatest {
			rev = latest
		}
		if rev == "" {
			continue
		}
		if t.Tag != "" {
			out[t.Tag] = provider.Route{Alias: t.Tag, Weights: []provider.Weight{{Version: rev, BasisPoints: provider.AllTraffic}}}
			if t.Percent > 0 {
				add(rev, int(t.Percent)*100)
			}
			continue
		}
		add(rev, int(t.Percent)*100)
	}
	// The primary is the first version with traffic.
	if i := slices.IndexFunc(split.Weights, func(w provider.Weight) bool { return w.BasisPoints > 0 }); i > 0 {
		w := split.Weights[i]
		split.Weights = slices.Insert(slices.Delete(split.Weights, i, i+1), 0, w)
	}
	if len(split.Weights) > 0 && pinnedSplit(traffic) {
		out[split.Alias] = split
	}
	for alias, r := range out {
		r.Revision = token(seqs[alias], r)
		out[alias] = r
	}
	return out
}

// pinnedSplit reports whether an untagged target names a revision. A
// service whose untagged traffic is all LATEST (the state of a new
// function, and of an empty traffic list) follows every deploy: it has no
// split route yet, so Publish cannot move a route, and SetRoute creates it
// by naming revisions.
func pinnedSplit(traffic []*runpb.TrafficTarget) bool {
	return slices.ContainsFunc(traffic, func(t *runpb.TrafficTarget) bool { return t.Tag == "" && t.Type == typeRevision })
}

func token(seq int64, r provider.Route) string {
	h := sha256.New()
	for _, w := range r.Weights {
		fmt.Fprintf(h, "%s=%d;", w.Version, w.BasisPoints)
	}
	return strconv.FormatInt(seq, 10) + "." + hex.EncodeToString(h.Sum(nil)[:4])
}

// Route returns one route of fn (GetService). ErrNotFound when the
// function or the route (tag) does not exist.
func (p *Provider) Route(ctx context.Context, fn, alias string) (provider.Route, error) {
	const op = "route"
	if err := checkFunction(ctx, op, fn); err != nil {
		return provider.Route{}, err
	}
	if err := provider.CheckName("alias", alias); err != nil {
		return provider.Route{}, fail(op, fn, err)
	}
	svc, err := p.service(ctx, fn)
	if err != nil {
		return provider.Route{}, fail(op, fn, err)
	}
	r, ok := p.routesOf(svc)[alias]
	if !ok {
		why := "no traffic tag of that name"
		if alias == p.opts.Route {
			why = "the service's traffic follows its latest revision: no split names revisions yet"
		}
		return provider.Route{}, fail(op, fn, fmt.Errorf("%w: route %q (%s)", provider.ErrNotFound, alias, why))
	}
	return r, nil
}

func (p *Provider) service(ctx context.Context, fn string) (*runpb.Service, error) {
	name, err := p.serviceOf(ctx, fn)
	if err != nil {
		return nil, err
	}
	return p.getService(ctx, name)
}

// Routes returns every route of fn ordered by alias (GetService).
func (p *Provider) Routes(ctx context.Context, fn string) ([]provider.Route, error) {
	const op = "routes"
	if err := checkFunction(ctx, op, fn); err != nil {
		return nil, err
	}
	svc, err := p.service(ctx, fn)
	if err != nil {
		return nil, fail(op, fn, err)
	}
	m := p.routesOf(svc)
	out := make([]provider.Route, 0, len(m))
	for _, r := range m {
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b provider.Route) int { return strings.Compare(a.Alias, b.Alias) })
	return out, nil
}

// SetRoute writes a route of fn with compare-and-swap on its revision
// token (see routesOf). The split route becomes the untagged REVISION
// targets, whole percents in the order of r.Weights (a zero weight is
// kept as a 0% target, so the version stays referenced); any other route
// becomes one 0% target with the route's name as tag. Other routes' targets
// are kept (a tagged target that carried traffic keeps it as an untagged
// target when its tag moves).
//
// Checked before any call: Capabilities().CheckRoute (ErrInvalid,
// ErrUnsupported: a weight that is not whole percents, or a split on a
// tag) and that a tag is a lowercase DNS label other than the split
// route's name (ErrInvalid). A revision that does not exist is refused by
// Cloud Run (INVALID_ARGUMENT → ErrInvalid).
//
// API calls: GetService; UpdateService with the service's etag and
// update_mask traffic,annotations; GetOperation and GetService every
// PollInterval until the operation is done and the service reconciled
// (traffic_statuses equal to traffic). A stale etag caused by a change of
// another route is re-read and retried; a change of this route is
// ErrConflict.
func (p *Provider) SetRoute(ctx context.Context, fn string, r provider.Route) (provider.Route, error) {
	const op = "set route"
	if err := checkFunction(ctx, op, fn); err != nil {
		return provider.Route{}, err
	}
	if err := p.caps.CheckRoute(r); err != nil {
		return provider.Route{}, fail(op, fn, err)
	}
	if r.Alias != p.opts.Route && !isTag(r.Alias) {
		return provider.Route{}, fail(op, fn, provider.Invalid(fmt.Sprintf("route %q", r.Alias), "alias", "is not a traffic tag (a lowercase DNS label)"))
	}
	for i, w := range r.Weights {
		if !isTag(w.Version) {
			return provider.Route{}, fail(op, fn, provider.Invalid(fmt.Sprintf("route %q", r.Alias), fmt.Sprintf("weights[%d].version", i), fmt.Sprintf("%q is not a revision name", w.Version)))
		}
	}
	svcName, err := p.serviceOf(ctx, fn)
	if err != nil {
		return provider.Route{}, fail(op, fn, err)
	}
	for range maxWrites {
		svc, err := p.getService(ctx, svcName)
		if err != nil {
			return provider.Route{}, fail(op, fn, err)
		}
		cur, exists := p.routesOf(svc)[r.Alias]
		switch {
		case r.Revision == "" && exists:
			return provider.Route{}, fail(op, fn, fmt.Errorf("%w: route %q exists (revision %s)", provider.ErrConflict, r.Alias, cur.Revision))
		case r.Revision != "" && !exists:
			return provider.Route{}, fail(op, fn, fmt.Errorf("%w: route %q", provider.ErrNotFound, r.Alias))
		case r.Revision != "" && r.Revision != cur.Revision:
			return provider.Route{}, fail(op, fn, fmt.Errorf("%w: route %q is at revision %s, not %s", provider.ErrConflict, r.Alias, cur.Revision, r.Revision))
		}
		next := proto.Clone(svc).(*runpb.Service)
		next.Traffic = p.traffic(svc, r)
		next.Annotations = annotations(svc)
		seqs := routeSeqs(svc)
		seqs[r.Alias]++
		setJSON(next.Annotations, AnnotationRoutes, seqs)
		p.debug(ctx, "set route", "function", fn, "route", r.Alias, "weights", r.Weights)
		out, err := p.updateService(ctx, next, "traffic", "annotations")
		if isCode(err, codes.Aborted) {
			continue // the service changed: re-read, re-check this route's token
		}
		if err != nil {
			return provider.Route{}, fail(op, fn, fmt.Errorf("update service traffic: %w", translate(ctx, err, conflictIsConflict)))
		}
		got, ok := p.routesOf(out)[r.Alias]
		if !ok {
			return provider.Route{}, fail(op, fn, fmt.Errorf("%w: route %q missing after the update", provider.ErrUnavailable, r.Alias))
		}
		return got, nil
	}
	return provider.Route{}, fail(op, fn, fmt.Errorf("%w: the service changed on every one of %d attempts", provider.ErrConflict, maxWrites))
}

// traffic returns svc's traffic list with route r written into it.
func (p *Provider) traffic(svc *runpb.Service, r provider.Route) []*runpb.TrafficTarget {
	cur := make([]*runpb.TrafficTarget, 0, len(svc.Traffic))
	for _, t := range svc.Traffic {
		cur = append(cur, proto.Clone(t).(*runpb.TrafficTarget))
	}
	if len(cur) == 0 {
		cur = []*runpb.TrafficTarget{{Type: typeLatest, Percent: 100}}
	}
	var out []*runpb.TrafficTarget
	if r.Alias == p.opts.Route {
		for _, w := range r.Weights {
			out = append(out, &runpb.TrafficTarget{Type: typeRevision, Revision: w.Version, Percent: int32(w.BasisPoints / 100)})
		}
		for _, t := range cur {
			if t.Tag != "" {
				t.Percent = 0
				out = append(out, t)
			}
		}
		return out
	}
	for _, t := range cur {
		if t.Tag == r.Alias {
			if t.Percent > 0 {
				// The tag moves; its traffic stays on the revision.
				out = append(out, &runpb.TrafficTarget{Type: t.Type, Revision: t.Revision, Percent: t.Percent})
			}
			continue
		}
		out = append(out, t)
	}
	out = append(merged(out), &runpb.TrafficTarget{Type: typeRevision, Revision: r.Weights[0].Version, Tag: r.Alias})
	return out
}

// DeleteVersion deletes revision id of fn (DeleteRevision). Before that it
// refuses, with ErrInUse, the service's latest revision and any revision a
// traffic target names (with any percent, or a tag, or the LATEST target's
// revision) — Cloud Run refuses those too (FAILED_PRECONDITION, also
// ErrInUse). ErrNotFound when the revision does not exist. Afterwards it
// drops the revision's record from the service's annotations (best effort:
// a record of a deleted revision is ignored).
//
// API calls: GetService, DeleteRevision, GetOperation until done,
// GetService and UpdateService (annotations).
func (p *Provider) DeleteVersion(ctx context.Context, fn, id string) error {
	const op = "delete version"
	if err := checkFunction(ctx, op, fn); err != nil {
		return err
	}
	if err := provider.CheckName("version", id); err != nil {
		return fail(op, fn, err)
	}
	svc, err := p.service(ctx, fn)
	if err != nil {
		return fail(op, fn, err)
	}
	if !isTag(id) {
		return fail(op, fn, fmt.Errorf("%w: version %q is not a revision name", provider.ErrNotFound, id))
	}
	if id == shortName(svc.LatestCreatedRevision) || id == shortName(svc.LatestReadyRevision) {
		return fail(op, fn, fmt.Errorf("%w: revision %s is the latest revision, which is never deleted", provider.ErrInUse, id))
	}
	var users []string
	for alias, r := range p.routesOf(svc) {
		if r.References(id) {
			users = append(users, alias)
		}
	}
	if len(users) > 0 {
		slices.Sort(users)
		return fail(op, fn, fmt.Errorf("%w: revision %s is routed to by %s", provider.ErrInUse, id, strings.Join(users, ", ")))
	}
	p.debug(ctx, "delete version", "function", fn, "version", id)
	dop, err := p.c.Revisions.DeleteRevision(ctx, &runpb.DeleteRevisionRequest{Name: svc.Name + "/revisions/" + id})
	if err != nil {
		return fail(op, fn, fmt.Errorf("delete revision %s: %w", id, translate(ctx, err, conflictIsInUse)))
	}
	if err := p.poll(ctx, "the deletion of "+id, func(ctx context.Context) (bool, error) {
		r, err := dop.Poll(ctx)
		return r != nil || dop.Done(), err
	}); err != nil {
		return fail(op, fn, fmt.Errorf("delete revision %s: %w", id, translate(ctx, err, conflictIsInUse)))
	}
	p.forget(ctx, svc.Name, id)
	return nil
}

// forget drops a deleted revision's record, best effort.
func (p *Provider) forget(ctx context.Context, svcName, id string) {
	for range maxWrites {
		svc, err := p.getService(ctx, svcName)
		if err != nil {
			return
		}
		recs := records(svc)
		if _, ok := recs[id]; !ok {
			return
		}
		delete(recs, id)
		next := proto.Clone(svc).(*runpb.Service)
		next.Annotations = annotations(svc)
		setJSON(next.Annotations, AnnotationVersions, recs)
		if _, err := p.updateService(ctx, next, "annotations"); !isCode(err, codes.Aborted) {
			return
		}
	}
}
