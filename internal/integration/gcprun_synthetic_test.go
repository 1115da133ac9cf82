package integration_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slipway-dev/slipway/canary"
	"github.com/slipway-dev/slipway/journal"
	"github.com/slipway-dev/slipway/provider"
	"github.com/slipway-dev/slipway/release"
	"github.com/slipway-dev/slipway/semver"
)

// synthLedger is what the emulators' handlers ran (the synthetic requests:
// the organic load is modelled and runs no handler) and what the analysis
// saw, window by window, through the check.
type synthLedger struct {
	// raw, when set, is the platform's metrics source, read by the check
	// for each window it judges, into platform.
	raw provider.Metrics

	mu       sync.Mutex
	calls    map[string][]time.Time // by version: when a handler ran
	windows  []canary.MetricWindow  // as judged, with their Metrics
	platform map[string][2]int64    // by version: invocations and errors raw counted over the windows
}

func (l *synthLedger) call(v string, at time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls[v] = append(l.calls[v], at)
}

// handled counts the requests version v's handler ran within [from, to).
func (l *synthLedger) handled(v string, from, to time.Time) int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	var n int64
	for _, at := range l.calls[v] {
		if !at.Before(from) && at.Before(to) {
			n++
		}
	}
	return n
}

// check wraps c: it records each window it judges.
func (l *synthLedger) check(c canary.Check) canary.Check {
	return canary.CheckFunc(func(ctx context.Context, w canary.MetricWindow) (canary.Measurement, error) {
		var raw provider.Observation
		if l.raw != nil {
			var err error
			raw, err = l.raw.Observe(ctx, provider.Query{Function: w.Function, Alias: w.Alias, Versions: []string{w.Candidate, w.Stable},
				Start: w.Start, End: w.End, Period: l.raw.Resolution()})
			if err != nil {
				return canary.Measurement{}, err
			}
		}
		l.mu.Lock()
		l.windows = append(l.windows, w)
		for _, se := range raw.Series {
			tot := se.Total()
			c := l.platform[se.Version]
			l.platform[se.Version] = [2]int64{c[0] + tot.Invocations, c[1] + tot.Errors}
		}
		l.mu.Unlock()
		return c.Judge(ctx, w)
	})
}

// seen sums version v's invocations and errors over the judged windows.
func (l *synthLedger) seen(v string) (n, errs int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, w := range l.windows {
		if s, ok := w.Metrics.Of(v); ok {
			t := s.Total()
			n, errs = n+t.Invocations, errs+t.Errors
		}
	}
	return n, errs
}

// synthHandler is a version's code: it records the call and, when strict,
// rejects an event without customerId (500 on Cloud Run and Azure).
func synthHandler(l *synthLedger, v string, now func() time.Time, strict bool) func(context.Context, []byte) ([]byte, error) {
	return func(_ context.Context, b []byte) ([]byte, error) {
		l.call(v, now())
		var ev map[string]any
		if err := json.Unmarshal(b, &ev); err != nil {
			return nil, err
		}
		if _, ok := ev["customerId"]; strict && !ok {
			return nil, errors.New("KeyError: customerId")
		}
		return []byte(`{"accepted":true}`), nil
	}
}

// synthCase is one row of the quiet-function releases on the Cloud Run
// and Azure emulators (TestReleaseSyntheticQuietFunctionOnLambda's rows).
type synthCase struct {
	name      string
	synthetic bool
	strict    bool // the candidate rejects the synthetic payload
	outcome   string
}

var synthCases = []synthCase{
	{"without synthetic traffic", false, false, release.OutcomeRolledBack},
	{"with synthetic traffic", true, false, release.OutcomePromoted},
	{"with synthetic traffic, candidate fails it", true, true, release.OutcomeRolledBack},
}

// quietStrategy is the Lambda test's but 15 minutes long: a 10% canary
// judged every 5 minutes by an error-rate threshold that needs 50 requests
// a window, one inconclusive window allowed, rolled back on the next.
// A step that starts at 09:00 has three windows; publishing takes the
// Cloud Run emulator some seconds of the clock, so there the step starts
// after 09:00 and its windows are [09:05, 09:10) and [09:10, 09:15): at
// least two, so that a window holds the synthetic requests made when the
// one before was read.
func quietStrategy(l *synthLedger) (canary.Strategy, canary.Check) {
	s := canary.Canary(1000, 15*time.Minute)
	s.Interval = 5 * time.Minute
	check := l.check(canary.Threshold{Metric: canary.ErrorRate, Max: 0.05, MinSamples: 50})
	s.Analysis.Checks = []canary.CheckSpec{{Name: "errors", Check: check}}
	s.Analysis.InconclusiveLimit = 1
	s.Analysis.OnInconclusive = canary.RollBackOnInconclusive
	// A candidate that fails is rolled back on its second failed window,
	// so that the synthetic errors made when the first was read land in
	// a judged window too.
	s.Analysis.FailureLimit = 1
	return s, check
}

// checkSynthAccounting compares the release's tallies and the analysis's
// evidence with what the emulator served: for each version, over the
// judged windows, the organic requests the emulator served are its
// metrics' count less the requests the handlers ran (the synthetic ones,
// whenever they were made); the tally's Organic must be that, and the
// analysis must have seen each synthetic invocation once: organic +
// Synthetic. platform reads the platform's own count of v over [from, to).
// A version in unaddressable gets no synthetic invocation: each is
// refused as ErrUnsupported. counted says whether the platform's series
// hold the synthetic requests (Cloud Run) or not (Azure: they reach the
// staging slot, not a slot the production route's series read).
func checkSynthAccounting(t *testing.T, tt synthCase, l *synthLedger, res release.Result, unaddressable map[string]bool, counted bool, platform func(v string, from, to time.Time) (n, errs int64)) {
	t.Helper()
	if len(res.Synthetic) != 2 {
		t.Fatalf("tallies %+v", res.Synthetic)
	}
	from, to := l.windows[0].Start, l.windows[len(l.windows)-1].End
	windows := int64(len(l.windows))
	if windows < 2 {
		t.Errorf("%d windows judged, want 2 or more (the synthetic requests made when one is read land in the next)", windows)
	}
	landed := int64(0)
	for _, tl := range res.Synthetic {
		// 12 a minute over each judged 5-minute window.
		made, refused := 60*windows, int64(0)
		if unaddressable[tl.Version] {
			made, refused = 0, made
		}
		if tl.Synthetic != made || tl.Unaddressable != refused {
			t.Errorf("version %s: %d synthetic invocations, %d unaddressable; want %d and %d", tl.Version, tl.Synthetic, tl.Unaddressable, made, refused)
		}
		wantErrs := int64(0)
		if tt.strict && tl.Version == res.Candidate {
			wantErrs = tl.Synthetic
		}
		if tl.SyntheticErrors != wantErrs {
			t.Errorf("version %s: %d synthetic errors, want %d", tl.Version, tl.SyntheticErrors, wantErrs)
		}
		n, errs := platform(tl.Version, from, to)
		h := l.handled(tl.Version, from, to)
		landed += h
		if !counted {
			h = 0
		}
		hErrs := int64(0)
		if tt.strict && tl.Version == res.Candidate {
			hErrs = h
		}
		organic, organicErrs := n-h, errs-hErrs
		t.Logf("version %s over [%s, %s): the platform counted %d (%d errors), of which %d synthetic requests made in those windows; organic %d",
			tl.Version, from.Format("15:04"), to.Format("15:04"), n, errs, h, organic)
		if tl.Organic != organic || tl.OrganicErrors != organicErrs {
			t.Errorf("version %s: tally organic %d (%d errors), the emulator served %d (%d errors) organic requests",
				tl.Version, tl.Organic, tl.OrganicErrors, organic, organicErrs)
		}
		sn, serrs := l.seen(tl.Version)
		if sn != organic+tl.Synthetic || serrs != organicErrs+tl.SyntheticErrors {
			t.Errorf("version %s: the analysis saw %d invocations (%d errors), want organic %d + synthetic %d (%d + %d errors), each once",
				tl.Version, sn, serrs, organic, tl.Synthetic, organicErrs, tl.SyntheticErrors)
		}
	}
	if landed == 0 && !tt.strict {
		t.Error("no synthetic request was made inside a judged window: the test does not show they are counted once")
	}
}

// A quiet function on the Cloud Run emulator — 1 organic request a minute
// at the service (runtest's SetLoad) — released as on Lambda
// (TestReleaseSyntheticQuietFunctionOnLambda), with the stable revision
// tagged so that it can be invoked alone. Cloud Run counts a tag URL's
// requests in the revision's request_count, in the minute they arrive
// (TestGCPTagRequestsCountInTheRevisionSeries): the synthetic requests
// made when the first window is read land in the second. The analysis
// must still count each synthetic request once, and the tallies'
// organic must be what the emulator served without them.
func TestReleaseSyntheticQuietFunctionOnCloudRun(t *testing.T) {
	for _, tt := range synthCases {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			clk, srv, p := gcpEmulated(t, false)
			if !p.Capabilities().InvokesObserved {
				t.Fatal("gcprun does not say its metrics count its invocations")
			}
			l := &synthLedger{calls: map[string][]time.Time{}, platform: map[string][2]int64{}}
			s, check := quietStrategy(l)
			j := &journal.MemoryJournal{}
			w, err := release.New(release.Options{
				Runner:  canary.RunnerOptions{Provider: p, Metrics: p, Clock: clk, MetricsLag: 2 * time.Minute, Checks: map[string]canary.Check{"errors": check}},
				Journal: j, Actor: "e2e",
				Stages: release.Stages{Staging: "staging", Production: "production"},
				OnEvent: func(e release.Event) {
					if e.Kind == release.EventPublished {
						srv.SetHandler(e.Candidate, synthHandler(l, e.Candidate, clk.Now, tt.strict && e.Semver == "1.1.0"))
					}
				},
			})
			must(t, err)
			rel := func(sv string, st *canary.Strategy, syn *release.SyntheticTraffic) (release.Result, error) {
				v := semver.MustParse(sv)
				var (
					res release.Result
					err error
				)
				clk.Run(func() {
					res, err = w.Release(ctx, release.Request{Function: fn, ID: "r-" + sv, Strategy: st, Synthetic: syn,
						Publish: release.PublishRequest{Artifact: gcpZip("checkout " + sv), Config: gcpConfig(), Semver: &v}})
				})
				return res, err
			}
			all := canary.AllAtOnce()
			first, err := rel("1.0.0", &all, nil)
			must(t, err)
			// The stable revision gets a tag of its own: Cloud Run reaches
			// one revision only through a tag.
			clk.Run(func() { _, err = p.SetRoute(ctx, fn, provider.To("stable", first.Candidate)) })
			must(t, err)
			must(t, srv.SetLoad(fn, 1.0/60))

			res, err := rel("1.1.0", &s, quietSynthetic(tt.synthetic))
			t.Logf("%s: %s (%s); tallies %+v", tt.name, res.Outcome, res.Reason, res.Synthetic)
			if !checkQuietOutcome(t, p, fn, first.Candidate, res, err, tt.outcome, tt.synthetic) {
				return
			}
			// Let the last windows' points become visible, then read what
			// the platform counted, by revision.
			clk.Run(func() { _ = clk.Sleep(ctx, 4*time.Minute) })
			platform := func(v string, from, to time.Time) (n, errs int64) {
				var obs provider.Observation
				clk.Run(func() {
					obs, err = p.Observe(ctx, provider.Query{Function: fn, Alias: "production", Versions: []string{v}, Start: from, End: to, Period: time.Minute})
				})
				must(t, err)
				se, _ := obs.Of(v)
				tot := se.Total()
				return tot.Invocations, tot.Errors
			}
			checkSynthAccounting(t, tt, l, res, nil, true, platform)
			checkSynthReport(t, j, res)
		})
	}
}

// checkSynthReport checks the summary's table and the journal's
// "synthetic traffic" decision carry the tallies.
func checkSynthReport(t *testing.T, j *journal.MemoryJournal, res release.Result) {
	t.Helper()
	md := res.Summary.Markdown()
	var reason string
	for e, err := range j.Entries(context.Background(), journal.Filter{Function: fn}) {
		must(t, err)
		if e.Kind == journal.EntryDecision && e.Outcome == "synthetic traffic" && e.Release == res.Release {
			reason = e.Reason
		}
	}
	for _, tl := range res.Synthetic {
		row := fmt.Sprintf("| %s | %d | %d | %d | %d |", tl.Version, tl.Organic, tl.OrganicErrors, tl.Synthetic, tl.SyntheticErrors)
		if !strings.Contains(md, row) {
			t.Errorf("summary lacks the row %q:\n%s", row, md)
		}
		text := fmt.Sprintf("version %s %d organic (%d errors) + %d synthetic (%d errors)", tl.Version, tl.Organic, tl.OrganicErrors, tl.Synthetic, tl.SyntheticErrors)
		if !strings.Contains(reason, text) {
			t.Errorf("journal's synthetic traffic decision %q lacks %q", reason, text)
		}
	}
}
