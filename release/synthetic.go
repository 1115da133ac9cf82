package release

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/slipway-dev/slipway/journal"
	"github.com/slipway-dev/slipway/provider"
)

// SyntheticTraffic makes a quiet function reach a verdict: during each
// analysis window of a production canary, the candidate and the stable
// version are each invoked PerMinute times per minute (provider.Invoker,
// by version ID), and the checks judge the organic traffic plus these
// invocations. They are counted apart: the summary's synthetic-traffic
// table, Result.Synthetic and the journal's "synthetic traffic" decision
// show, per version, what was organic and what was synthetic.
//
// The invocations of one metrics period are made when the analysis first
// reads that period complete, not spread through it: evidence, not load.
// The analysis sees them in the period they were made for, once, on every
// platform:
//
//   - Where the metrics do not count them (Lambda: invocations by version
//     land under the version's Resource dimension "fn:7", never in the
//     alias's series a canary reads; Azure: the candidate is invoked
//     through the staging slot's host, and the production route's series
//     are the production and ramp-up slots'; memory: its modelled metrics
//     do not count invocations), they are added to the period's
//     observation.
//   - Where the platform counts them in the very series Observe reads
//     (the workflow's provider.Capabilities.InvokesObserved, whatever the
//     metrics source: the adapter, the adapter behind
//     provider.WithRetryMetrics, or another reader of the platform's
//     request metrics; Cloud Run, where a tag URL reaches the revision and
//     request_count counts every request reaching it), they appear there
//     in the period they were made — a later one, since they are made
//     when the earlier period is read. Before adding a period's synthetic invocations, the step
//     subtracts from each period it reads those it made within that
//     period (by the workflow clock's time of each call): what remains is
//     organic, and each synthetic request is counted once, in the period
//     it was made for. Invocations and errors (Status ≥ 500) are
//     subtracted exactly. Latency percentiles cannot be separated: a
//     period with organic traffic keeps the platform's percentiles, which
//     may include synthetic requests made in it (a period with none takes
//     the synthetic calls' own). A throttled synthetic call is not
//     subtracted (Cloud Run counts it as a throttle, not a request); a
//     call within the clocks' skew of a period boundary may be subtracted
//     from the neighbouring period; and after Resume the calls the dead
//     process made are not known, so they count as organic in the period
//     they landed in.
//
// InvokesObserved speaks of the series of a route, which a canary's
// windows read; a window read across routes (the test alias of a
// blue/green strategy) may count synthetic invocations on a platform that
// says false (Lambda's direct invocations, Azure's staging slot), and is
// not corrected.
//
// A version the provider cannot invoke alone (ErrUnsupported) gets no
// synthetic traffic: see SyntheticTally.Unaddressable.
//
// The setting travels with the release: Release journals the one it
// starts the canary with (a decision "synthetic traffic set" whose reason
// carries the setting as JSON), and Resume continues with that one, not
// with the resuming workflow's Options.Synthetic — also when the release
// started without synthetic traffic, or when the resumer's options name
// another rate: a resume finishes the release that was started, as the
// strategy stored with the rollout does. Options.Synthetic is the default
// of new releases only; to change the rate of a running canary, abort it
// and release again.
//
// In the CLI's configuration file:
//
//	synthetic:
//	  perMinute: 20
//	  payload: {"synthetic": true}
type SyntheticTraffic struct {
	// PerMinute is the rate per version, 0 < PerMinute ≤ 1000. A period of
	// p gets floor(PerMinute·p/1m) invocations per version, with the
	// remainder carried to the next period.
	PerMinute float64 `json:"perMinute"`
	// Payload is the request body of every synthetic invocation; empty
	// means {}.
	Payload json.RawMessage `json:"payload,omitempty"`
}

// Validate checks the rate and the payload. Errors wrap
// provider.ErrInvalid.
func (s SyntheticTraffic) Validate() error {
	if !(s.PerMinute > 0 && s.PerMinute <= 1000) {
		return provider.Invalid("synthetic traffic", "perMinute", fmt.Sprintf("is %v, not in (0, 1000]", s.PerMinute))
	}
	if len(s.Payload) > 0 && !json.Valid(s.Payload) {
		return provider.Invalid("synthetic traffic", "payload", "is not JSON")
	}
	return nil
}

// SyntheticTally is the traffic of one version over a canary's windows,
// organic and synthetic apart.
type SyntheticTally struct {
	Version string `json:"version"`
	// Organic counts what the metrics source reported for the windows'
	// periods, less the synthetic invocations it counted in them where it
	// counts them (see SyntheticTraffic); Synthetic the synthetic
	// invocations made for those periods, SyntheticErrors those that
	// failed (function errors and refused invocations).
	Organic         int64 `json:"organic"`
	OrganicErrors   int64 `json:"organicErrors"`
	Synthetic       int64 `json:"synthetic"`
	SyntheticErrors int64 `json:"syntheticErrors"`
	// Unaddressable counts the synthetic invocations the provider refused
	// with provider.ErrUnsupported (it cannot reach this version alone):
	// not made, and counted neither in Synthetic nor as errors.
	Unaddressable int64 `json:"unaddressable,omitempty"`
}

type synthKey struct {
	version string
	start   time.Time
}

type synthPoint struct {
	organic, organicErrors int64
	n, errors              int64
	unaddressable          int64
	latencies              []time.Duration
}

// synthCall is one synthetic invocation as a platform that counts them
// (Capabilities.InvokesObserved) counts it: at the time it was made, as an
// invocation when Invoke returned an output, as an error too when its
// status was 500 or more.
type synthCall struct {
	at                time.Time
	invocation, error bool
}

// syntheticMetrics is the Metrics a production canary with synthetic
// traffic reads: the organic source plus the synthetic invocations, made
// once per (version, period) and remembered, so the runner's re-reads of a
// window do not invoke again. When observed is set, the source counts the
// invocations itself, in the period they were made: calls holds them, by
// version, to be subtracted from there.
type syntheticMetrics struct {
	inner    provider.Metrics
	inv      provider.Invoker
	fn       string
	cfg      SyntheticTraffic
	now      func() time.Time // the workflow's clock: latencies and times of synthetic calls
	observed bool

	mu     sync.Mutex
	points map[synthKey]*synthPoint
	carry  map[string]float64 // per version: the fraction of an invocation owed
	calls  map[string][]synthCall
}

func newSyntheticMetrics(inner provider.Metrics, inv provider.Invoker, fn string, cfg SyntheticTraffic, now func() time.Time) *syntheticMetrics {
	if len(cfg.Payload) == 0 {
		cfg.Payload = json.RawMessage("{}")
	}
	return &syntheticMetrics{inner: inner, inv: inv, fn: fn, cfg: cfg, now: now, observed: invokesObserved(inv),
		points: map[synthKey]*synthPoint{}, carry: map[string]float64{}, calls: map[string][]synthCall{}}
}

// invokesObserved reports whether the metrics source counts the
// invocations inv makes: what the provider inv is (or wraps, through
// Unwrap() provider.Provider, as provider.WithRetry's does) says in its
// Capabilities. The source is not consulted: the adapter itself, the same
// wrapped for retries (provider.WithRetryMetrics), or another source of
// the same platform's request metrics counts a request as the platform
// does.
func invokesObserved(inv provider.Invoker) bool {
	var x any = inv
	for x != nil {
		if p, ok := x.(provider.Provider); ok {
			return p.Capabilities().InvokesObserved
		}
		u, ok := x.(interface{ Unwrap() provider.Provider })
		if !ok {
			return false
		}
		x = u.Unwrap()
	}
	return false
}

// landed returns the synthetic invocations and errors made for version v
// within [from, to), as the platform counts them.
func (s *syntheticMetrics) landed(v string, from, to time.Time) (n, errs int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.calls[v] {
		if c.at.Before(from) || !c.at.Before(to) {
			continue
		}
		if c.invocation {
			n++
		}
		if c.error {
			errs++
		}
	}
	return n, errs
}

func (s *syntheticMetrics) Resolution() time.Duration { return s.inner.Resolution() }

// Observe reads the source's observation and adds, to each complete period
// of each version, that period's synthetic invocations (making them the
// first time the period is seen complete); when the source counts them
// itself (observed), it first takes out of each period the synthetic
// invocations made within it.
func (s *syntheticMetrics) Observe(ctx context.Context, q provider.Query) (provider.Observation, error) {
	obs, err := s.inner.Observe(ctx, q)
	if err != nil || q.Function != s.fn || q.Period <= 0 {
		return obs, err
	}
	for _, v := range q.Versions {
		i := slices.IndexFunc(obs.Series, func(x provider.Series) bool { return x.Version == v })
		if i < 0 {
			obs.Series = append(obs.Series, provider.Series{Version: v})
			i = len(obs.Series) - 1
		}
		series := &obs.Series[i]
		byStart := map[time.Time]int{}
		for j, p := range series.Points {
			byStart[p.Start] = j
		}
		for start := q.Start; !start.Add(q.Period).After(obs.Through) && start.Before(q.End); start = start.Add(q.Period) {
			j, ok := byStart[start]
			if !ok {
				series.Points = append(series.Points, provider.Point{Start: start, ColdStarts: -1})
				j = len(series.Points) - 1
			}
			p := &series.Points[j]
			if s.observed {
				n, errs := s.landed(v, start, start.Add(q.Period))
				p.Invocations, p.Errors = max(0, p.Invocations-n), max(0, p.Errors-errs)
				if p.Invocations == 0 && n > 0 {
					p.P50, p.P90, p.P99 = 0, 0, 0 // the platform's were the synthetic calls'
				}
			}
			sp, err := s.period(ctx, v, start, q.Period, *p)
			if err != nil {
				return obs, err
			}
			if p.Invocations == 0 && sp.n > 0 {
				p.P50, p.P90, p.P99 = percentile(sp.latencies, 0.5), percentile(sp.latencies, 0.9), percentile(sp.latencies, 0.99)
			}
			p.Invocations += sp.n
			p.Errors += sp.errors
		}
		sort.Slice(series.Points, func(a, b int) bool { return series.Points[a].Start.Before(series.Points[b].Start) })
	}
	return obs, nil
}

// period returns the synthetic traffic of one version's period, invoking
// it the first time.
func (s *syntheticMetrics) period(ctx context.Context, v string, start time.Time, period time.Duration, organic provider.Point) (synthPoint, error) {
	key := synthKey{v, start}
	s.mu.Lock()
	if sp, ok := s.points[key]; ok {
		out := *sp
		s.mu.Unlock()
		return out, nil
	}
	owed := s.carry[v] + s.cfg.PerMinute*period.Minutes()
	n := int64(owed)
	s.carry[v] = owed - float64(n)
	s.mu.Unlock()

	sp := &synthPoint{organic: organic.Invocations, organicErrors: organic.Errors}
	for range n {
		if err := ctx.Err(); err != nil {
			return synthPoint{}, err
		}
		began := s.now()
		out, err := s.inv.Invoke(ctx, s.fn, provider.InvokeInput{Qualifier: v, Payload: s.cfg.Payload})
		if errors.Is(err, provider.ErrUnsupported) {
			// The platform cannot address this version on its own (an
			// untagged Cloud Run revision, a version no Azure slot runs
			// alone): nothing ran, so it is no error of the version —
			// counting it as one would make a stable version look worse
			// than it is next to its candidate.
			sp.unaddressable++
			continue
		}
		sp.latencies = append(sp.latencies, s.now().Sub(began))
		sp.n++
		if err != nil || out.Failed() {
			sp.errors++
		}
		if s.observed {
			s.mu.Lock()
			s.calls[v] = append(s.calls[v], synthCall{at: began, invocation: err == nil, error: err == nil && out.Status >= 500})
			s.mu.Unlock()
		}
	}
	s.mu.Lock()
	s.points[key] = sp
	s.mu.Unlock()
	return *sp, nil
}

func percentile(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[min(len(s)-1, int(q*float64(len(s))))]
}

// tallies sums the periods seen, by version.
func (s *syntheticMetrics) tallies() []SyntheticTally {
	s.mu.Lock()
	defer s.mu.Unlock()
	by := map[string]*SyntheticTally{}
	for k, p := range s.points {
		t := by[k.version]
		if t == nil {
			t = &SyntheticTally{Version: k.version}
			by[k.version] = t
		}
		t.Organic += p.organic
		t.OrganicErrors += p.organicErrors
		t.Synthetic += p.n
		t.SyntheticErrors += p.errors
		t.Unaddressable += p.unaddressable
	}
	out := make([]SyntheticTally, 0, len(by))
	for _, t := range by {
		out = append(out, *t)
	}
	slices.SortFunc(out, func(a, b SyntheticTally) int {
		if len(a.Version) != len(b.Version) {
			return len(a.Version) - len(b.Version)
		}
		if a.Version < b.Version {
			return -1
		}
		if a.Version > b.Version {
			return 1
		}
		return 0
	})
	return out
}

// syntheticText is one line for the journal.
func syntheticText(ts []SyntheticTally) string {
	s := "synthetic traffic:"
	for i, t := range ts {
		if i > 0 {
			s += ";"
		}
		s += fmt.Sprintf(" version %s %d organic (%d errors) + %d synthetic (%d errors)", t.Version, t.Organic, t.OrganicErrors, t.Synthetic, t.SyntheticErrors)
		if t.Unaddressable > 0 {
			s += fmt.Sprintf(", %d not made: the provider cannot invoke this version alone", t.Unaddressable)
		}
	}
	return s
}

// outcomeSyntheticSet is the outcome of the journal decision that records
// the synthetic traffic a release's canary starts with.
const outcomeSyntheticSet = "synthetic traffic set"

// syntheticSetPrefix begins that decision's reason; the setting's JSON
// follows it.
const syntheticSetPrefix = "synthetic traffic per version during each analysis window: "

// journalSyntheticSet records the setting the canary starts with, before
// its first rollout state is saved, so that every resumable state has it.
func (r *run) journalSyntheticSet(ctx context.Context, cfg SyntheticTraffic) error {
	b, err := json.Marshal(cfg)
	if err != nil {
		return fmt.Errorf("release %s: synthetic traffic: %w", r.id, err)
	}
	return r.record(ctx, journal.Entry{Kind: journal.EntryDecision, Alias: r.alias, Outcome: outcomeSyntheticSet, Reason: syntheticSetPrefix + string(b)})
}

// syntheticOf returns the synthetic traffic release id started its canary
// with, from its journal entries e (nil when it had none). A malformed
// record is an error: resuming without it would judge the windows on
// other evidence than the release asked for.
func syntheticOf(id string, es []journal.Entry) (*SyntheticTraffic, error) {
	var out *SyntheticTraffic
	for _, e := range es {
		if e.Release != id || e.Kind != journal.EntryDecision || e.Outcome != outcomeSyntheticSet {
			continue
		}
		raw, ok := strings.CutPrefix(e.Reason, syntheticSetPrefix)
		var cfg SyntheticTraffic
		if !ok || json.Unmarshal([]byte(raw), &cfg) != nil || cfg.Validate() != nil {
			return nil, fmt.Errorf("release: resume %q: the journaled synthetic traffic %q does not parse: %w", id, e.Reason, provider.ErrInvalid)
		}
		out = &cfg // the last one wins: a release ID reused after a failed start
	}
	return out, nil
}
