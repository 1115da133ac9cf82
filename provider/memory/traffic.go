package memory

import (
	"context"
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"time"

	"github.com/slipway-dev/slipway/provider"
)

// Behavior is how one version behaves when invoked. The zero value is a
// perfect version: no errors, no throttles, zero latency, no cold starts.
type Behavior struct {
	// ErrorRate is the probability in 0..1 that an invocation fails.
	ErrorRate float64 `json:"errorRate,omitempty"`
	// ThrottleRate is the probability in 0..1 that a request is throttled
	// (counted in Throttles, not in Invocations).
	ThrottleRate float64   `json:"throttleRate,omitempty"`
	Latency      Latency   `json:"latency,omitzero"`
	ColdStart    ColdStart `json:"coldStart,omitzero"`
}

// Latency is a log-normal latency distribution fitted to its median and
// 99th percentile: μ = ln(Median), σ = ln(P99/Median)/2.3263. P99 at or
// below Median means no spread. The zero value reports zero latencies.
type Latency struct {
	Median time.Duration `json:"median,omitempty"`
	P99    time.Duration `json:"p99,omitempty"`
}

// ColdStart is a version's cold-start profile.
type ColdStart struct {
	// Rate is the probability in 0..1 that an invocation starts a new
	// instance.
	Rate float64 `json:"rate,omitempty"`
	// Spike multiplies Rate (capped at 1) for SpikeFor after the version
	// first received traffic from any route, when every instance is new.
	// 0 means no spike.
	Spike    float64       `json:"spike,omitempty"`
	SpikeFor time.Duration `json:"spikeFor,omitempty"`
	// Init is the median initialisation time of a cold start; the
	// reported InitDuration is the longest of the period's cold starts,
	// drawn log-normally around it (σ = 0.25).
	Init time.Duration `json:"init,omitempty"`
}

// Validate checks the rates are probabilities and the durations and the
// spike non-negative.
func (b Behavior) Validate() error {
	rate := func(field string, r float64) error {
		if math.IsNaN(r) || r < 0 || r > 1 {
			return provider.Invalid("behavior", field, fmt.Sprintf("%v is outside 0..1", r))
		}
		return nil
	}
	if err := rate("errorRate", b.ErrorRate); err != nil {
		return err
	}
	if err := rate("throttleRate", b.ThrottleRate); err != nil {
		return err
	}
	if err := rate("coldStart.rate", b.ColdStart.Rate); err != nil {
		return err
	}
	c := b.ColdStart
	if math.IsNaN(c.Spike) || math.IsInf(c.Spike, 0) || c.Spike < 0 {
		return provider.Invalid("behavior", "coldStart.spike", fmt.Sprintf("%v is not a non-negative number", c.Spike))
	}
	for _, d := range []struct {
		field string
		d     time.Duration
	}{{"latency.median", b.Latency.Median}, {"latency.p99", b.Latency.P99}, {"coldStart.spikeFor", c.SpikeFor}, {"coldStart.init", c.Init}} {
		if d.d < 0 {
			return provider.Invalid("behavior", d.field, "is negative")
		}
	}
	return nil
}

// SetLoad sets the request rate (requests per second) arriving at route
// alias of fn from now on; the rate before was whatever was set last (0
// initially). Load may be set before the function or the route exists; it
// produces metrics only while the route exists. SetLoad panics on an empty
// name or a negative, infinite or NaN rate (test set-up errors).
func (p *Provider) SetLoad(fn, alias string, rps float64) {
	if fn == "" || alias == "" {
		panic("memory: SetLoad with an empty function or alias")
	}
	if math.IsNaN(rps) || math.IsInf(rps, 0) || rps < 0 {
		panic(fmt.Sprintf("memory: SetLoad rate %v is not a non-negative number", rps))
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	f := p.st.fnForWrite(fn)
	if f.Loads == nil {
		f.Loads = map[string][]stamped[float64]{}
	}
	now := p.now()
	f.Loads[alias] = record(f.Loads[alias], now, rps)
	_ = p.save() // see Sync
}

// SetBehavior sets how version versionID of fn behaves from now on; the
// version may be published later. It panics when b does not validate (a
// test set-up error).
func (p *Provider) SetBehavior(fn, versionID string, b Behavior) {
	if fn == "" || versionID == "" {
		panic("memory: SetBehavior with an empty function or version")
	}
	if err := b.Validate(); err != nil {
		panic(fmt.Sprintf("memory: SetBehavior: %v", err))
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	f := p.st.fnForWrite(fn)
	if f.Behaviors == nil {
		f.Behaviors = map[string][]stamped[Behavior]{}
	}
	now := p.now()
	f.Behaviors[versionID] = record(f.Behaviors[versionID], now, b)
	_ = p.save() // see Sync
}

// maxPoints bounds the points of one series, as CloudWatch's
// GetMetricData bounds a response (100,800 data points).
const maxPoints = 100_800

// Observe returns synthetic metrics computed from the recorded history of
// routes, loads and behaviors; see the package documentation for the
// model. It checks the context, q.Validate(Resolution()) (ErrInvalid), the
// number of periods (at most 100,800, ErrInvalid), that the function, the
// alias (when set) and the versions exist or existed (ErrNotFound). Only
// periods that ended at or before the clock's now minus MetricsLag are
// returned; Through is the end of the last of them (min(End, now − lag
// aligned down to the period)).
func (p *Provider) Observe(ctx context.Context, q provider.Query) (provider.Observation, error) {
	const op = "observe"
	if err := ctx.Err(); err != nil {
		return provider.Observation{}, opError(op, q.Function, err)
	}
	if err := q.Validate(p.res); err != nil {
		return provider.Observation{}, opError(op, q.Function, err)
	}
	if n := q.End.Sub(q.Start) / q.Period; n > maxPoints {
		return provider.Observation{}, opError(op, q.Function, provider.Invalid("metrics query", "end",
			fmt.Sprintf("the window holds %d periods, more than %d", n, maxPoints)))
	}
	lost, err := p.inject(ctx, OpObserve)
	if err != nil {
		return provider.Observation{}, opError(op, q.Function, err)
	}
	p.mu.RLock()
	defer p.mu.RUnlock()
	f, err := p.fnLocked(q.Function)
	if err != nil {
		return provider.Observation{}, opError(op, q.Function, err)
	}
	aliases := sortedKeys(f.RouteHistory)
	if q.Alias != "" {
		if _, ok := f.Routes[q.Alias]; !ok {
			return provider.Observation{}, opError(op, q.Function, notFound("route "+strconv.Quote(q.Alias)))
		}
		aliases = []string{q.Alias}
	}
	for _, v := range q.Versions {
		if n, ok := versionNumber(v); !ok || n > f.Published {
			return provider.Observation{}, opError(op, q.Function, notFound("version "+strconv.Quote(v)))
		}
	}
	if lost != nil {
		return provider.Observation{}, opError(op, q.Function, lost)
	}

	through := provider.AlignDown(p.now().Add(-p.lag), q.Period)
	if through.After(q.End) {
		through = q.End
	}
	q.Versions = slices.Clone(q.Versions)
	obs := provider.Observation{Query: q, Through: through, Series: make([]provider.Series, 0, len(q.Versions))}
	for _, v := range q.Versions {
		s := provider.Series{Version: v, Points: []provider.Point{}}
		for start := q.Start; !start.Add(q.Period).After(through); start = start.Add(q.Period) {
			e := f.expect(aliases, v, start, start.Add(q.Period))
			s.Points = append(s.Points, e.sample(p.periodRand(q, v, start), start))
		}
		obs.Series = append(obs.Series, s)
	}
	return obs, nil
}

// periodRand returns the generator of one period's sample, seeded from
// (Seed, function, alias, version, period start, period) only, so the same
// query always gives the same answer.
func (p *Provider) periodRand(q provider.Query, version string, start time.Time) *rand.Rand {
	h := fnv.New64a()
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], uint64(p.seed))
	h.Write(b[:])
	for _, s := range []string{q.Function, q.Alias, version} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	binary.LittleEndian.PutUint64(b[:], uint64(start.UnixNano()))
	h.Write(b[:])
	binary.LittleEndian.PutUint64(b[:], uint64(q.Period))
	h.Write(b[:])
	s := h.Sum64()
	return rand.New(rand.NewPCG(s, s^0x9e3779b97f4a7c15))
}

// expectation is the expected traffic of one version in one period.
type expectation struct {
	arrivals  float64 // requests routed to the version
	throttles float64 // of which throttled
	errors    float64 // of the invoked ones, failed
	colds     float64 // of the invoked ones, cold
	behavior  Behavior
}

// expect integrates the piecewise-constant load × weight × rates of
// version over [start, end) across the given aliases. The behavior kept
// for latencies is that of the segment with the most invocations.
func (f *fnState) expect(aliases []string, version string, start, end time.Time) expectation {
	var e expectation
	var cuts []time.Time
	best := -1.0
	behaviors := f.Behaviors[version]
	first, routed := f.FirstRouted[version]
	for _, alias := range aliases {
		routes, loads := f.RouteHistory[alias], f.Loads[alias]
		cuts := append(cuts[:0], start, end)
		cuts = changesIn(cuts, routes, start, end)
		cuts = changesIn(cuts, loads, start, end)
		cuts = changesIn(cuts, behaviors, start, end)
		var spikeEnd time.Time
		if routed {
			spikeEnd = first.Add(valueAt(behaviors, first).ColdStart.SpikeFor)
			for _, t := range []time.Time{first, spikeEnd} {
				if t.After(start) && t.Before(end) {
					cuts = append(cuts, t)
				}
			}
		}
		slices.SortFunc(cuts, time.Time.Compare)
		cuts = slices.CompactFunc(cuts, time.Time.Equal)
		for i := 0; i+1 < len(cuts); i++ {
			a, b := cuts[i], cuts[i+1]
			w := provider.Route{Weights: valueAt(routes, a)}.Share(version)
			rps := valueAt(loads, a)
			if w == 0 || rps == 0 {
				continue
			}
			beh := valueAt(behaviors, a)
			arr := rps * float64(w) / provider.AllTraffic * b.Sub(a).Seconds()
			inv := arr * (1 - beh.ThrottleRate)
			cold := beh.ColdStart.Rate
			if beh.ColdStart.Spike > 0 && routed && !a.Before(first) && a.Before(spikeEnd) {
				cold = min(1, cold*beh.ColdStart.Spike)
			}
			e.arrivals += arr
			e.throttles += arr * beh.ThrottleRate
			e.errors += inv * beh.ErrorRate
			e.colds += inv * cold
			if inv > best {
				best, e.behavior = inv, beh
			}
		}
	}
	return e
}
