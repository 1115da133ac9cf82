package release_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/slipway-dev/slipway/canary"
	"github.com/slipway-dev/slipway/journal"
	"github.com/slipway-dev/slipway/provider"
	"github.com/slipway-dev/slipway/release"
	"github.com/slipway-dev/slipway/semver"
)

// End-to-end tests of issue 19's workflow steps, each on memory and on the
// Lambda adapter over the emulator (platforms_test.go).

func releaseOn(pl *platform, w *release.Workflow, req release.Request) (release.Result, error) {
	var res release.Result
	var err error
	pl.clock.Run(func() { res, err = w.Release(context.Background(), req) })
	return res, err
}

func pubReq(code string, level semver.Level) release.PublishRequest {
	return release.PublishRequest{Level: &level, Artifact: provider.Artifact{Zip: []byte(code)}}
}

func allAtOnce() *canary.Strategy {
	s := canary.AllAtOnce()
	return &s
}

// orderHandler is a version's code: it needs "customerId" when strict.
func orderHandler(strict bool) func(context.Context, []byte) ([]byte, error) {
	return func(_ context.Context, p []byte) ([]byte, error) {
		var ev map[string]any
		if err := json.Unmarshal(p, &ev); err != nil {
			return nil, err
		}
		if _, ok := ev["customerId"]; strict && !ok {
			return nil, errors.New("KeyError: customerId")
		}
		return []byte(`{"accepted":true}`), nil
	}
}

func serves(t *testing.T, pl *platform, alias string) string {
	t.Helper()
	r, err := pl.p.Route(context.Background(), e2eFn, alias)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Weights) != 1 {
		return fmt.Sprint(r.Weights)
	}
	return r.Primary()
}

func journalOf(t *testing.T, j journal.Journal, id string) []journal.Entry {
	t.Helper()
	var out []journal.Entry
	for e, err := range j.Entries(context.Background(), journal.Filter{}) {
		if err != nil {
			t.Fatal(err)
		}
		if e.Release == id {
			out = append(out, e)
		}
	}
	return out
}

func findEntry(es []journal.Entry, outcome string) (journal.Entry, bool) {
	for _, e := range es {
		if e.Outcome == outcome {
			return e, true
		}
	}
	return journal.Entry{}, false
}

var oldShape = release.RecordedEvent{Name: "order-v1.json", Payload: json.RawMessage(`{"orderId":"o-1"}`)}

// Proof: a candidate that rejects an old event shape stops before
// production; staging is put back and the replay is journaled.
func TestReleaseContract_OldEventShapeStopsBeforeProduction(t *testing.T) {
	for _, pl := range platforms(t) {
		t.Run(pl.name, func(t *testing.T) {
			j := &journal.MemoryJournal{}
			w := newE2EWorkflow(t, pl, j, nil)
			pl.handler(t, "1", orderHandler(false))
			pl.handler(t, "2", orderHandler(true)) // the candidate needs customerId
			contract := &release.Contract{Events: []release.RecordedEvent{oldShape,
				{Name: "order-v2.json", Payload: json.RawMessage(`{"orderId":"o-2","customerId":"c-9"}`), Expect: release.Expectation{Response: json.RawMessage(`{"accepted": true}`)}}}}
			if _, err := releaseOn(pl, w, release.Request{Function: e2eFn, ID: "r1", Publish: pubReq("v1", semver.Minor), Strategy: allAtOnce(), Contract: contract}); err != nil {
				t.Fatalf("first release: %v", err)
			}
			res, err := releaseOn(pl, w, release.Request{Function: e2eFn, ID: "r2", Publish: pubReq("v2", semver.Minor), Strategy: allAtOnce(), Contract: contract})
			if !errors.Is(err, release.ErrContractBroken) {
				t.Fatalf("release of a candidate that rejects an old event: %v", err)
			}
			if got := serves(t, pl, "production"); got != "1" {
				t.Errorf("production serves %s, want 1 (untouched)", got)
			}
			if got := serves(t, pl, "staging"); got != "1" {
				t.Errorf("staging serves %s, want 1 (put back)", got)
			}
			if res.Replay == nil || len(res.Replay.Failed()) != 1 || res.Replay.Failed()[0].Name != "order-v1.json" {
				t.Fatalf("replay report %+v", res.Replay)
			}
			e, ok := findEntry(journalOf(t, j, "r2"), "contract failed")
			if !ok || !strings.Contains(e.Reason, "order-v1.json: failed (function error Unhandled") || !strings.Contains(e.Reason, "KeyError: customerId") {
				t.Errorf("journal: %+v", journalOf(t, j, "r2"))
			}
			if !strings.Contains(res.Summary.Markdown(), "Contract replay | ❌ 1/2 events failed") {
				t.Errorf("summary:\n%s", res.Summary.Markdown())
			}
			for _, e := range journalOf(t, j, "r2") {
				if e.Alias == "production" && e.Kind != journal.EntryDecision {
					t.Errorf("production was touched: %+v", e)
				}
			}
		})
	}
}

const (
	inputV1 = `{"type":"object","required":["orderId","customerId"],"properties":{"orderId":{"type":"string"},"customerId":{"type":"string"}}}`
	inputV2 = `{"type":"object","required":["orderId"],"properties":{"orderId":{"type":"string"}}}`
	inputV3 = `{"type":"object","required":["orderId","region"],"properties":{"orderId":{"type":"string"},"region":{"type":"string"}}}`
)

// Proof: a schema diff that removes a required field makes the bump MAJOR,
// with the reason journaled (and in the summary); the replay validates the
// recorded events against the candidate's schema, so a schema that rejects
// an old event stops the release without invoking it.
func TestReleaseSchemaBump_RemovedRequiredFieldIsMajorAndJournaled(t *testing.T) {
	for _, pl := range platforms(t) {
		t.Run(pl.name, func(t *testing.T) {
			j := &journal.MemoryJournal{}
			w := newE2EWorkflow(t, pl, j, nil)
			for _, v := range []string{"1", "2", "3"} {
				pl.handler(t, v, orderHandler(false))
			}
			first := release.PublishRequest{Artifact: provider.Artifact{Zip: []byte("v1")}, Commits: []string{"feat: orders"},
				Schema: &release.InputSchema{Candidate: []byte(inputV1)}}
			if _, err := releaseOn(pl, w, release.Request{Function: e2eFn, ID: "r1", Publish: first, Strategy: allAtOnce()}); err != nil {
				t.Fatal(err)
			}
			second := release.PublishRequest{Artifact: provider.Artifact{Zip: []byte("v2")}, Commits: []string{"fix: tidy the handler"},
				Schema: &release.InputSchema{Previous: []byte(inputV1), Candidate: []byte(inputV2)}}
			res, err := releaseOn(pl, w, release.Request{Function: e2eFn, ID: "r2", Publish: second, Strategy: allAtOnce()})
			if err != nil {
				t.Fatal(err)
			}
			if res.Semver != "1.0.0" {
				t.Errorf("semver %s after 0.1.0 with a removed required field, want 1.0.0", res.Semver)
			}
			const why = "major: the input schema breaks callers (property removed at customerId); the commits call for patch"
			var pub journal.Entry
			for _, e := range journalOf(t, j, "r2") {
				if e.Kind == journal.EntryPublish {
					pub = e
				}
			}
			if !strings.Contains(pub.Reason, why) {
				t.Errorf("publish entry reason %q, want it to contain %q", pub.Reason, why)
			}
			if !strings.Contains(res.Summary.Markdown(), "Version bump | "+why) {
				t.Errorf("summary lacks the bump reason:\n%s", res.Summary.Markdown())
			}

			// The next candidate requires "region": the old event fails its
			// schema and is never sent.
			third := release.PublishRequest{Artifact: provider.Artifact{Zip: []byte("v3")}, Commits: []string{"feat: regions"},
				Schema: &release.InputSchema{Previous: []byte(inputV2), Candidate: []byte(inputV3)}}
			before := len(pl.invocations())
			res, err = releaseOn(pl, w, release.Request{Function: e2eFn, ID: "r3", Publish: third, Strategy: allAtOnce(),
				Contract: &release.Contract{Events: []release.RecordedEvent{oldShape}}})
			if !errors.Is(err, release.ErrContractBroken) || res.Replay == nil || res.Replay.Results[0].Outcome != release.ReplayRejected {
				t.Fatalf("schema-rejected event: %v %+v", err, res.Replay)
			}
			if n := len(pl.invocations()) - before; n != 0 {
				t.Errorf("%d invocations for an event the schema rejected", n)
			}
			if got := serves(t, pl, "production"); got != "2" {
				t.Errorf("production serves %s", got)
			}
		})
	}
}

// quietStrategy is a 10% canary for 10 minutes judged every 5 minutes by
// an error-rate threshold that needs 50 requests per window; two
// inconclusive windows roll it back.
func quietStrategy() *canary.Strategy {
	s := canary.Canary(1000, 10*time.Minute)
	s.Interval = 5 * time.Minute
	s.Analysis.Checks = []canary.CheckSpec{{Name: "errors", Check: canary.Threshold{Metric: canary.ErrorRate, Max: 0.05, MinSamples: 50}}}
	s.Analysis.InconclusiveLimit = 1
	s.Analysis.OnInconclusive = canary.RollBackOnInconclusive
	return &s
}

// Proof: a quiet function (1 request a minute) reaches a verdict with
// synthetic traffic and not without it; synthetic traffic is counted apart
// in the result, the journal and the summary.
func TestReleaseSynthetic_QuietFunctionReachesVerdict(t *testing.T) {
	for _, withSynthetic := range []bool{false, true} {
		for _, pl := range platforms(t) {
			t.Run(fmt.Sprintf("%s/synthetic=%v", pl.name, withSynthetic), func(t *testing.T) {
				j := &journal.MemoryJournal{}
				w := newE2EWorkflow(t, pl, j, func(o *release.Options) { o.Runner.MetricsLag = 2 * time.Minute })
				pl.handler(t, "1", orderHandler(false))
				pl.handler(t, "2", orderHandler(false))
				pl.load(t, "production", 1.0/60)
				if _, err := releaseOn(pl, w, release.Request{Function: e2eFn, ID: "r1", Publish: pubReq("v1", semver.Minor), Strategy: allAtOnce()}); err != nil {
					t.Fatal(err)
				}
				req := release.Request{Function: e2eFn, ID: "r2", Publish: pubReq("v2", semver.Minor), Strategy: quietStrategy()}
				if withSynthetic {
					req.Synthetic = &release.SyntheticTraffic{PerMinute: 12, Payload: json.RawMessage(`{"orderId":"synthetic"}`)}
				}
				res, err := releaseOn(pl, w, req)
				if !withSynthetic {
					if res.Outcome == release.OutcomePromoted || err == nil || !strings.Contains(res.Reason, "inconclusive") {
						t.Fatalf("a quiet function without synthetic traffic: %s %v (%s)", res.Outcome, err, res.Reason)
					}
					if got := serves(t, pl, "production"); got != "1" {
						t.Errorf("production serves %s", got)
					}
					return
				}
				if err != nil || res.Outcome != release.OutcomePromoted {
					t.Fatalf("with synthetic traffic: %s %v\nverdicts %+v\n%s", res.Outcome, err, res.Summary.Verdicts, res.Summary.Markdown())
				}
				if len(res.Synthetic) != 2 {
					t.Fatalf("tallies %+v", res.Synthetic)
				}
				for _, tl := range res.Synthetic {
					// 2 windows × 5 minutes × 12/min = 120 synthetic per
					// version; organic at most a few.
					if tl.Synthetic != 120 || tl.SyntheticErrors != 0 || tl.Organic > 20 {
						t.Errorf("tally %+v", tl)
					}
				}
				md := res.Summary.Markdown()
				if !strings.Contains(md, "### Synthetic traffic") || !strings.Contains(md, "| 2 | ") {
					t.Errorf("summary:\n%s", md)
				}
				if e, ok := findEntry(journalOf(t, j, "r2"), "synthetic traffic"); !ok || !strings.Contains(e.Reason, "+ 120 synthetic") {
					t.Errorf("journal lacks the synthetic tally: %+v", journalOf(t, j, "r2"))
				}
			})
		}
	}
}

// Promote runs synthetic traffic in its canary as Release does: a quiet
// function's staged version reaches a verdict, the setting is journaled
// (so a resume keeps it) and the tallies are in the result; without it the
// canary stays inconclusive and rolls back.
func TestPromoteSynthetic_QuietFunctionReachesVerdict(t *testing.T) {
	for _, withSynthetic := range []bool{false, true} {
		for _, pl := range platforms(t) {
			t.Run(fmt.Sprintf("%s/synthetic=%v", pl.name, withSynthetic), func(t *testing.T) {
				ctx := context.Background()
				j := &journal.MemoryJournal{}
				w := newE2EWorkflow(t, pl, j, func(o *release.Options) { o.Runner.MetricsLag = 2 * time.Minute })
				pl.handler(t, "1", orderHandler(false))
				pl.handler(t, "2", orderHandler(false))
				pl.load(t, "production", 1.0/60)
				if _, err := releaseOn(pl, w, release.Request{Function: e2eFn, ID: "r1", Publish: pubReq("v1", semver.Minor), Strategy: allAtOnce()}); err != nil {
					t.Fatal(err)
				}
				// Version 2 is published and staged outside the workflow.
				if _, err := release.Publish(ctx, pl.p, e2eFn, pubReq("v2", semver.Minor)); err != nil {
					t.Fatal(err)
				}
				staging, err := pl.p.Route(ctx, e2eFn, "staging")
				if err != nil {
					t.Fatal(err)
				}
				next := provider.To("staging", "2")
				next.Revision = staging.Revision
				if _, err := pl.p.SetRoute(ctx, e2eFn, next); err != nil {
					t.Fatal(err)
				}
				req := release.PromoteRequest{Function: e2eFn, ID: "p2", Strategy: quietStrategy()}
				if withSynthetic {
					req.Synthetic = &release.SyntheticTraffic{PerMinute: 12}
				}
				var res release.Result
				pl.clock.Run(func() { res, err = w.Promote(ctx, req) })
				if !withSynthetic {
					if res.Outcome == release.OutcomePromoted || err == nil || !strings.Contains(res.Reason, "inconclusive") {
						t.Fatalf("a quiet function promoted without synthetic traffic: %s %v (%s)", res.Outcome, err, res.Reason)
					}
					if len(res.Synthetic) != 0 {
						t.Errorf("tallies without synthetic traffic: %+v", res.Synthetic)
					}
					return
				}
				if err != nil || res.Outcome != release.OutcomePromoted {
					t.Fatalf("promote with synthetic traffic: %s %v (%s)", res.Outcome, err, res.Reason)
				}
				if got := serves(t, pl, "production"); got != "2" {
					t.Errorf("production serves %s", got)
				}
				if len(res.Synthetic) != 2 {
					t.Fatalf("tallies %+v", res.Synthetic)
				}
				for _, tl := range res.Synthetic {
					if tl.Synthetic != 120 || tl.SyntheticErrors != 0 || tl.Organic > 20 {
						t.Errorf("tally %+v", tl)
					}
				}
				if _, ok := findEntry(journalOf(t, j, "p2"), "synthetic traffic set"); !ok {
					t.Errorf("the promotion's synthetic setting is not journaled: %+v", journalOf(t, j, "p2"))
				}
			})
		}
	}
	// Refused before anything is touched: a bad rate.
	pl := platforms(t)[0]
	w := newE2EWorkflow(t, pl, &journal.MemoryJournal{}, nil)
	_, err := w.Promote(context.Background(), release.PromoteRequest{Function: e2eFn, Synthetic: &release.SyntheticTraffic{PerMinute: -1}})
	if !errors.Is(err, provider.ErrInvalid) {
		t.Errorf("Promote with a negative synthetic rate: %v, want ErrInvalid", err)
	}
}

// Proof: a failing infrastructure hook is reported and the traffic
// rollback still happens.
func TestReleaseRevertHook_FailureReportedRollbackStillHappens(t *testing.T) {
	for _, pl := range platforms(t) {
		t.Run(pl.name, func(t *testing.T) {
			j := &journal.MemoryJournal{}
			var got release.RevertContext
			w := newE2EWorkflow(t, pl, j, func(o *release.Options) {
				o.Runner.MetricsLag = 2 * time.Minute
				o.OnRollback = &release.RevertHook{Func: func(_ context.Context, rc release.RevertContext, out io.Writer) error {
					got = rc
					fmt.Fprintln(out, "terraform: applying previous.tfplan")
					fmt.Fprintln(out, "Error: state lock held by another run")
					return errors.New("exit status 1")
				}}
			})
			pl.load(t, "production", 20)
			pl.errorRate(t, "1", 0)
			pl.errorRate(t, "2", 0.5) // the candidate is bad
			if _, err := releaseOn(pl, w, release.Request{Function: e2eFn, ID: "r1", Publish: pubReq("v1", semver.Minor), Strategy: allAtOnce()}); err != nil {
				t.Fatal(err)
			}
			s := canary.Canary(5000, 5*time.Minute)
			s.Interval = 5 * time.Minute
			s.Analysis.Checks = []canary.CheckSpec{{Name: "errors", Check: canary.Threshold{Metric: canary.ErrorRate, Max: 0.05, MinSamples: 50}}}
			res, err := releaseOn(pl, w, release.Request{Function: e2eFn, ID: "r2", Publish: pubReq("v2", semver.Minor), Strategy: &s})
			if !errors.Is(err, canary.ErrRolledBack) || res.Outcome != release.OutcomeRolledBack {
				t.Fatalf("release: %s %v", res.Outcome, err)
			}
			if got := serves(t, pl, "production"); got != "1" {
				t.Errorf("production serves %s after the rollback", got)
			}
			if res.Revert == nil || res.Revert.Err != "exit status 1" || !strings.Contains(res.Revert.Output, "state lock held") {
				t.Errorf("revert result %+v", res.Revert)
			}
			if got.Release != "r2" || got.Candidate != "2" || got.Stable != "1" || got.Alias != "production" || got.Reason == "" {
				t.Errorf("hook context %+v", got)
			}
			e, ok := findEntry(journalOf(t, j, "r2"), "infrastructure revert failed")
			if !ok || !strings.Contains(e.Reason, "state lock held") {
				t.Errorf("journal: %+v", journalOf(t, j, "r2"))
			}
			md := res.Summary.Markdown()
			if !strings.Contains(md, "Infrastructure revert | ❌ failed: exit status 1") || !strings.Contains(md, "state lock held") {
				t.Errorf("summary:\n%s", md)
			}
		})
	}
}

// Lock-down and remap run after a promotion when configured (dry run
// here: planned and journaled, nothing changed).
func TestRelease_LockDownAndRemapAfterPromotion(t *testing.T) {
	for _, pl := range platforms(t) {
		t.Run(pl.name, func(t *testing.T) {
			j := &journal.MemoryJournal{}
			for _, dry := range []bool{true, false} {
				w := newE2EWorkflow(t, pl, j, func(o *release.Options) {
					o.LockDown = &release.LockDownOptions{DryRun: dry}
					o.Remap = &release.RemapOptions{DryRun: dry}
				})
				id := fmt.Sprintf("r%v", dry)
				if dry {
					if _, err := releaseOn(pl, w, release.Request{Function: e2eFn, ID: "r0", Publish: pubReq("v1", semver.Minor), Strategy: allAtOnce()}); err != nil {
						t.Fatal(err)
					}
					pl.grant(t, "1", "public", "*")
					pl.mapping(t, "1", "arn:aws:sqs:us-east-1:123456789012:orders")
				}
				code := fmt.Sprintf("v2-%v", dry)
				res, err := releaseOn(pl, w, release.Request{Function: e2eFn, ID: id, Publish: pubReq(code, semver.Minor), Strategy: allAtOnce()})
				if err != nil {
					t.Fatal(err)
				}
				if res.LockDown == nil || len(res.LockDown.Grants) != 1 || res.Remap == nil || len(res.Remap.Mappings) != 1 {
					t.Fatalf("dry=%v: lock-down %+v remap %+v", dry, res.LockDown, res.Remap)
				}
				public := len(pl.permissions(t, "1")) == 1
				if public != dry {
					t.Errorf("dry=%v: version 1 still public = %v", dry, public)
				}
				if !strings.Contains(res.Summary.Markdown(), "| Lock-down | ") {
					t.Errorf("summary:\n%s", res.Summary.Markdown())
				}
			}
		})
	}
}
