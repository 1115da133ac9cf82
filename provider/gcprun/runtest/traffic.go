package runtest

import (
	"fmt"
	"math"
	"slices"
	"time"
)

// The traffic model: requests arrive at a service at a rate set with
// SetLoad; the split in force at each instant (traffic_statuses after each
// reconciliation, on the emulator clock) shares them between revisions;
// each revision answers 429, 5xx and takes as long as its Behavior says.
// Every count is an integral over piecewise-constant functions of the
// emulator clock, so metrics are deterministic: the count in [a, b) is
// ⌊C(b)⌋ − ⌊C(a)⌋ where C is the cumulative expected count, so counts of
// adjacent periods add up to the count of their union.

// Behavior is how one revision answers requests.
type Behavior struct {
	// ErrorRate is the fraction of served requests that fail with 500
	// (response_code_class "5xx"). 0..1.
	ErrorRate float64 `json:"errorRate,omitempty"`
	// ThrottleRate is the fraction of requests refused with 429 (no
	// instance available; response_code_class "4xx"). 0..1.
	ThrottleRate float64 `json:"throttleRate,omitempty"`
	// P50, P90 and P99 are the request latency percentiles.
	P50 time.Duration `json:"p50,omitempty"`
	P90 time.Duration `json:"p90,omitempty"`
	P99 time.Duration `json:"p99,omitempty"`
}

// Validate checks the rates are fractions and the latencies ordered.
func (b Behavior) Validate() error {
	if !(b.ErrorRate >= 0 && b.ErrorRate <= 1) {
		return fmt.Errorf("runtest: ErrorRate %v is outside 0..1", b.ErrorRate)
	}
	if !(b.ThrottleRate >= 0 && b.ThrottleRate <= 1) {
		return fmt.Errorf("runtest: ThrottleRate %v is outside 0..1", b.ThrottleRate)
	}
	if b.P50 < 0 || b.P90 < b.P50 || b.P99 < b.P90 {
		return fmt.Errorf("runtest: latencies must satisfy 0 <= P50 <= P90 <= P99")
	}
	return nil
}

type splitPoint struct {
	at    time.Time
	split map[string]int32 // revision ID → percent
}

type loadPoint struct {
	at  time.Time
	rps float64
}

type behaviorPoint struct {
	at time.Time
	b  Behavior
}

type model struct {
	splits    []splitPoint
	loads     []loadPoint
	behaviors map[string][]behaviorPoint
	calls     []call // real requests, oldest first
}

// call is one request the emulator served at the service URL or a tag URL
// (InvokeTransport). The metrics count it beside the modeled load, under
// the revision that answered it: request_count is the "Number of requests
// reaching the revision" and request_latencies the "Distribution of
// request latency in milliseconds reaching the revision" (Google Cloud
// metrics list, "run"), whichever URL they came through — the monitored
// resource cloud_run_revision has no tag or URL label. Its response_code
// is the status it was answered with, its latency its time on the
// emulator clock, at the period it started in.
type call struct {
	at       time.Time
	revision string
	status   int
	ms       float64
}

func (m *model) splitChanged(at time.Time, split map[string]int32) {
	m.splits = append(m.splits, splitPoint{at: at, split: split})
}

func (m *model) revisions() []string {
	seen := map[string]bool{}
	for _, p := range m.splits {
		for r := range p.split {
			seen[r] = true
		}
	}
	for _, c := range m.calls {
		seen[c.revision] = true
	}
	out := make([]string, 0, len(seen))
	for r := range seen {
		out = append(out, r)
	}
	slices.Sort(out)
	return out
}

// SetLoad makes fn's service receive rps requests per second from now on
// (emulator clock), until the next SetLoad.
func (s *Server) SetLoad(fn string, rps float64) error {
	if !(rps >= 0) || math.IsInf(rps, 0) {
		return fmt.Errorf("runtest: load %v is not a non-negative rate", rps)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.services[fn]
	if !ok {
		return fmt.Errorf("runtest: set load: no service %q", fn)
	}
	v.model.loads = append(v.model.loads, loadPoint{at: s.now(), rps: rps})
	return nil
}

// SetBehavior sets how revision (its ID, e.g. "fn-00002-abc") of fn's
// service answers from now on (emulator clock). A revision without a
// behavior answers every request with 200 in zero time.
func (s *Server) SetBehavior(fn, revision string, b Behavior) error {
	if err := b.Validate(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.services[fn]
	if !ok {
		return fmt.Errorf("runtest: set behavior: no service %q", fn)
	}
	if v.model.behaviors == nil {
		v.model.behaviors = map[string][]behaviorPoint{}
	}
	v.model.behaviors[revision] = append(v.model.behaviors[revision], behaviorPoint{at: s.now(), b: b})
	return nil
}

// counts are one revision's requests in a window.
type counts struct {
	ok, errors, throttled int64
	b                     Behavior // the behavior at the window's end
}

// cumulative returns the expected number of attempts, throttled requests
// and errors of revision r in [origin, t).
func (m *model) cumulative(r string, t time.Time) (attempts, throttled, errs float64) {
	// Breakpoints: every change of load, split or r's behavior before t.
	var points []time.Time
	for _, p := range m.loads {
		points = append(points, p.at)
	}
	for _, p := range m.splits {
		points = append(points, p.at)
	}
	for _, p := range m.behaviors[r] {
		points = append(points, p.at)
	}
	slices.SortFunc(points, func(a, b time.Time) int { return a.Compare(b) })
	for i, from := range points {
		if !from.Before(t) {
			break
		}
		to := t
		if i+1 < len(points) && points[i+1].Before(t) {
			to = points[i+1]
		}
		secs := to.Sub(from).Seconds()
		if secs <= 0 {
			continue
		}
		rps := m.loadAt(from)
		pct := float64(m.splitAt(from)[r]) / 100
		b := m.behaviorAt(r, from)
		a := rps * pct * secs
		attempts += a
		throttled += a * b.ThrottleRate
		errs += a * (1 - b.ThrottleRate) * b.ErrorRate
	}
	return attempts, throttled, errs
}

func (m *model) loadAt(t time.Time) float64 {
	rps := 0.0
	for _, p := range m.loads {
		if p.at.After(t) {
			break
		}
		rps = p.rps
	}
	return rps
}

func (m *model) splitAt(t time.Time) map[string]int32 {
	var split map[string]int32
	for _, p := range m.splits {
		if p.at.After(t) {
			break
		}
		split = p.split
	}
	return split
}

func (m *model) behaviorAt(r string, t time.Time) Behavior {
	var b Behavior
	for _, p := range m.behaviors[r] {
		if p.at.After(t) {
			break
		}
		b = p.b
	}
	return b
}

// window returns revision r's counts in [a, b).
func (m *model) window(r string, a, b time.Time) counts {
	a1, t1, e1 := m.cumulative(r, a)
	a2, t2, e2 := m.cumulative(r, b)
	fl := func(x float64) int64 { return int64(math.Floor(x + 1e-9)) }
	attempts := fl(a2) - fl(a1)
	throttled := fl(t2) - fl(t1)
	errs := fl(e2) - fl(e1)
	c := counts{throttled: throttled, errors: errs, b: m.behaviorAt(r, b.Add(-time.Nanosecond))}
	c.ok = max(attempts-throttled-errs, 0)
	return c
}

// callsIn returns revision r's real requests in [a, b).
func (m *model) callsIn(r string, a, b time.Time) []call {
	var out []call
	for _, c := range m.calls {
		if c.revision == r && !c.at.Before(a) && c.at.Before(b) {
			out = append(out, c)
		}
	}
	return out
}
