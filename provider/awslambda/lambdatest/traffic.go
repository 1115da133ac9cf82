package lambdatest

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"time"
)

// The traffic model: load arrives at an alias at a rate set with SetLoad;
// the alias's routing at each instant (its history of CreateAlias /
// UpdateAlias calls on the emulator clock) splits it between versions; each
// executed version fails, is throttled and takes as long as its Behavior
// says. Everything is an integral over piecewise-constant functions of the
// emulator clock, so the metrics are deterministic: no randomness, and the
// same query gives the same answer.
//
// Counts are integers: the count in [a, b) is ⌊C(b)⌋ − ⌊C(a)⌋ where C is
// the cumulative expected count since the history began, so counts of
// adjacent periods add up to the count of their union.

// Behavior is how one version of a function behaves when invoked.
type Behavior struct {
	// ErrorRate is the fraction of invocations that fail (function errors:
	// the Errors metric). 0..1.
	ErrorRate float64 `json:"errorRate,omitempty"`
	// ThrottleRate is the fraction of invocation attempts that are
	// throttled (the Throttles metric; not counted as invocations). 0..1.
	ThrottleRate float64 `json:"throttleRate,omitempty"`
	// P50, P90 and P99 are the Duration percentiles. Other percentiles are
	// interpolated linearly; Average is reported as P50 and Maximum as P99.
	P50 time.Duration `json:"p50,omitempty"`
	P90 time.Duration `json:"p90,omitempty"`
	P99 time.Duration `json:"p99,omitempty"`
}

// Validate checks the rates are fractions and the latencies ordered.
func (b Behavior) Validate() error {
	if !(b.ErrorRate >= 0 && b.ErrorRate <= 1) {
		return fmt.Errorf("lambdatest: ErrorRate %v is outside 0..1", b.ErrorRate)
	}
	if !(b.ThrottleRate >= 0 && b.ThrottleRate <= 1) {
		return fmt.Errorf("lambdatest: ThrottleRate %v is outside 0..1", b.ThrottleRate)
	}
	if b.P50 < 0 || b.P90 < 0 || b.P99 < 0 {
		return fmt.Errorf("lambdatest: negative latency")
	}
	return nil
}

type routePoint struct {
	at         time.Time
	primary    string // "" when the alias was deleted
	additional map[string]float64
}

type loadPoint struct {
	at  time.Time
	rps float64
}

type behaviorPoint struct {
	at time.Time
	b  Behavior
}

type traffic struct {
	routes    map[string][]routePoint    // alias → history
	loads     map[string][]loadPoint     // alias → history
	behaviors map[string][]behaviorPoint // version → history
	calls     []call                     // real invocations, oldest first
}

// call is one invocation the emulator ran (Invoke with RequestResponse or
// Event; a DryRun runs nothing). The metrics count it beside the modeled
// load: Invocations one, Errors one when it ended in a function error
// (X-Amz-Function-Error), Duration its time on the emulator clock, all at
// the minute it started ("The timestamp on a metric reflects when the
// function was invoked", Lambda developer guide, "Working with Lambda
// function metrics"). Which series it counts in follows its qualifier:
//   - every invocation: {FunctionName} ("aggregate metrics for all versions
//     and aliases of a function", same page);
//   - through an alias: {FunctionName, Resource=fn:alias} and {FunctionName,
//     Resource=fn:alias, ExecutedVersion=N} for the version N that ran
//     ("By Executed Version – View metrics for a combination of alias and
//     version", same page; aws/aws-cdk#14248 shows a version behind an alias
//     measured under the alias's Resource with ExecutedVersion);
//   - through a version number: {FunctionName, Resource=fn:N} only ("By
//     Resource – View metrics for a version or alias of a function"); no
//     ExecutedVersion series (that dimension combines an alias and a
//     version);
//   - through "$LATEST": {FunctionName, Resource=fn:$LATEST} (a series
//     seen in Netflix/atlas#1005; unverified which invocations make it);
//     unqualified: {FunctionName} only (unverified).
type call struct {
	at       time.Time
	resource string // the qualifier as requested; "" when unqualified
	alias    bool   // resource names an alias
	version  string // the version that ran
	failed   bool
	ms       float64
}

func (t *traffic) routeChanged(alias string, at time.Time, primary string, additional map[string]float64) {
	if t.routes == nil {
		t.routes = map[string][]routePoint{}
	}
	t.routes[alias] = append(t.routes[alias], routePoint{at: at, primary: primary, additional: maps.Clone(additional)})
}

// SetLoad makes alias of fn receive rps invocation attempts per second from
// now on (emulator clock), until the next SetLoad. The alias need not exist
// yet: load on a missing alias is lost, as invocations of it would fail.
func (s *Server) SetLoad(fn, alias string, rps float64) error {
	if !(rps >= 0) || math.IsInf(rps, 0) {
		return fmt.Errorf("lambdatest: load %v is not a non-negative rate", rps)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	f, ok := s.funcs[fn]
	if !ok {
		return fmt.Errorf("lambdatest: set load: no function %q", fn)
	}
	if f.traffic.loads == nil {
		f.traffic.loads = map[string][]loadPoint{}
	}
	f.traffic.loads[alias] = append(f.traffic.loads[alias], loadPoint{at: s.now(), rps: rps})
	return nil
}

// SetBehavior sets how version (a version number, or "$LATEST") of fn
// behaves from now on (emulator clock). A version without a behavior
// serves every invocation successfully in zero time.
func (s *Server) SetBehavior(fn, version string, b Behavior) error {
	if err := b.Validate(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	f, ok := s.funcs[fn]
	if !ok {
		return fmt.Errorf("lambdatest: set behavior: no function %q", fn)
	}
	if f.traffic.behaviors == nil {
		f.traffic.behaviors = map[string][]behaviorPoint{}
	}
	f.traffic.behaviors[version] = append(f.traffic.behaviors[version], behaviorPoint{at: s.now(), b: b})
	return nil
}

// lastBefore returns the index of the last element whose time is ≤ t, or -1.
func lastBefore[T any](xs []T, at func(T) time.Time, t time.Time) int {
	i := -1
	for j, x := range xs {
		if at(x).After(t) {
			break
		}
		i = j
	}
	return i
}

// share returns the fraction of the alias's traffic that version v gets
// under r.
func (r routePoint) share(v string) float64 {
	if r.primary == "" {
		return 0
	}
	if w, ok := r.additional[v]; ok {
		return w
	}
	if r.primary == v {
		sum := 0.0
		for _, w := range r.additional {
			sum += w
		}
		return 1 - sum
	}
	return 0
}

// flow is the expected traffic of one executed version through one alias
// over an interval, before rounding.
type flow struct {
	attempts, invocations, errors, throttles float64
	// latency sums weighted by invocations
	p50, p90, p99 float64
}

func (a *flow) add(b flow) {
	a.attempts += b.attempts
	a.invocations += b.invocations
	a.errors += b.errors
	a.throttles += b.throttles
	a.p50 += b.p50
	a.p90 += b.p90
	a.p99 += b.p99
}

// integrate returns the expected traffic of version v through alias over
// [from, to).
func (t *traffic) integrate(alias, v string, from, to time.Time) flow {
	routes, loads, behs := t.routes[alias], t.loads[alias], t.behaviors[v]
	if len(routes) == 0 || len(loads) == 0 || !from.Before(to) {
		return flow{}
	}
	cuts := []time.Time{from, to}
	for _, r := range routes {
		if r.at.After(from) && r.at.Before(to) {
			cuts = append(cuts, r.at)
		}
	}
	for _, l := range loads {
		if l.at.After(from) && l.at.Before(to) {
			cuts = append(cuts, l.at)
		}
	}
	for _, b := range behs {
		if b.at.After(from) && b.at.Before(to) {
			cuts = append(cuts, b.at)
		}
	}
	slices.SortFunc(cuts, func(a, b time.Time) int { return a.Compare(b) })
	cuts = slices.Compact(cuts)
	var out flow
	for i := 0; i+1 < len(cuts); i++ {
		t0, t1 := cuts[i], cuts[i+1]
		ri := lastBefore(routes, func(r routePoint) time.Time { return r.at }, t0)
		li := lastBefore(loads, func(l loadPoint) time.Time { return l.at }, t0)
		if ri < 0 || li < 0 {
			continue
		}
		var b Behavior
		if bi := lastBefore(behs, func(b behaviorPoint) time.Time { return b.at }, t0); bi >= 0 {
			b = behs[bi].b
		}
		att := loads[li].rps * routes[ri].share(v) * t1.Sub(t0).Seconds()
		thr := att * b.ThrottleRate
		inv := att - thr
		out.add(flow{
			attempts: att, throttles: thr, invocations: inv, errors: inv * b.ErrorRate,
			p50: inv * ms(b.P50), p90: inv * ms(b.P90), p99: inv * ms(b.P99),
		})
	}
	return out
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// versionsOf returns every version alias has ever routed to, sorted.
func (t *traffic) versionsOf(alias string) []string {
	set := map[string]bool{}
	for _, r := range t.routes[alias] {
		if r.primary != "" {
			set[r.primary] = true
		}
		for v := range r.additional {
			set[v] = true
		}
	}
	return slices.Sorted(maps.Keys(set))
}

// origin is the start of the cumulative counts of an alias: its first
// routing change.
func (t *traffic) origin(alias string) (time.Time, bool) {
	rs := t.routes[alias]
	if len(rs) == 0 {
		return time.Time{}, false
	}
	return rs[0].at, true
}

// counts are the integer metrics of one series over one interval.
type counts struct {
	invocations, errors, throttles int64
	// latency sums of the modeled load weighted by (unrounded)
	// invocations, and that weight
	weight, p50, p90, p99 float64
	// durations of real invocations (calls), ms
	durs []float64
}

func (c *counts) add(o counts) {
	c.invocations += o.invocations
	c.errors += o.errors
	c.throttles += o.throttles
	c.weight += o.weight
	c.p50 += o.p50
	c.p90 += o.p90
	c.p99 += o.p99
	c.durs = append(c.durs, o.durs...)
}

// addCall counts one real invocation.
func (c *counts) addCall(k call) {
	c.invocations++
	if k.failed {
		c.errors++
	}
	c.durs = append(c.durs, k.ms)
}

// window returns the counts of version v through alias over [from, to),
// rounded with cumulative floors (see the top of this file).
func (t *traffic) window(alias, v string, from, to time.Time) counts {
	o, ok := t.origin(alias)
	if !ok || !to.After(o) {
		return counts{}
	}
	from = maxTime(from, o)
	before := t.integrate(alias, v, o, from)
	during := t.integrate(alias, v, from, to)
	after := before
	after.add(during)
	c := counts{
		invocations: int64(math.Floor(after.invocations+1e-9)) - int64(math.Floor(before.invocations+1e-9)),
		errors:      int64(math.Floor(after.errors+1e-9)) - int64(math.Floor(before.errors+1e-9)),
		throttles:   int64(math.Floor(after.throttles+1e-9)) - int64(math.Floor(before.throttles+1e-9)),
		weight:      during.invocations, p50: during.p50, p90: during.p90, p99: during.p99,
	}
	c.errors = min(c.errors, c.invocations)
	return c
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// percentile returns the pNN latency in milliseconds of c. The modeled
// load's is interpolated linearly through (0,0), (50,P50), (90,P90),
// (99,P99) and flat above 99; the real invocations' is the nearest-rank
// percentile of their durations; when a period has both, the two are
// averaged weighted by their invocations.
func (c counts) percentile(p float64) float64 {
	model := 0.0
	if c.weight > 0 {
		p50, p90, p99 := c.p50/c.weight, c.p90/c.weight, c.p99/c.weight
		switch {
		case p <= 50:
			model = p50 * p / 50
		case p <= 90:
			model = p50 + (p90-p50)*(p-50)/40
		case p <= 99:
			model = p90 + (p99-p90)*(p-90)/9
		default:
			model = p99
		}
	}
	if len(c.durs) == 0 {
		return model
	}
	ds := slices.Clone(c.durs)
	slices.Sort(ds)
	rank := int(math.Ceil(p/100*float64(len(ds)))) - 1
	real := ds[min(max(rank, 0), len(ds)-1)]
	return c.blend(model, real)
}

// blend averages a modeled and a real statistic weighted by invocations.
func (c counts) blend(model, real float64) float64 {
	w := max(c.weight, 0)
	n := float64(len(c.durs))
	if w+n == 0 {
		return 0
	}
	return (model*w + real*n) / (w + n)
}

// average is the Average of Duration: the modeled load's P50 (the model
// has no mean) blended with the real invocations' mean.
func (c counts) average() float64 {
	if len(c.durs) == 0 {
		return c.percentile(50)
	}
	sum := 0.0
	for _, d := range c.durs {
		sum += d
	}
	model := 0.0
	if c.weight > 0 {
		model = c.p50 / c.weight
	}
	return c.blend(model, sum/float64(len(c.durs)))
}

// maximum is the Maximum of Duration: the modeled load's P99 or the
// longest real invocation, whichever is larger.
func (c counts) maximum() float64 {
	m := 0.0
	if c.weight > 0 {
		m = c.p99 / c.weight
	}
	for _, d := range c.durs {
		m = max(m, d)
	}
	return m
}
