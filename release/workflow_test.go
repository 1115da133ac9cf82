package release

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/slipway-dev/slipway/canary"
	"github.com/slipway-dev/slipway/journal"
	"github.com/slipway-dev/slipway/notify"
	"github.com/slipway-dev/slipway/provider"
	"github.com/slipway-dev/slipway/provider/memory"
	"github.com/slipway-dev/slipway/retention"
	"github.com/slipway-dev/slipway/semver"
)

// start is a Wednesday morning.
var start = time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC)

const fn = "checkout"

// fixture is a workflow on the memory provider in virtual time, recording
// what it reports.
type fixture struct {
	t       testing.TB
	clock   *canary.VirtualClock
	mem     *memory.Provider
	journal journal.Journal
	store   canary.Store
	w       *Workflow

	mu     sync.Mutex
	events []Event
	notes  []notify.Notification
}

func newFixture(t testing.TB, edit func(*Options)) *fixture {
	t.Helper()
	clock := canary.NewVirtualClock(start)
	mem, err := memory.New(memory.Options{Now: clock.Now, Sleep: clock.Sleep, Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{t: t, clock: clock, mem: mem, journal: &journal.MemoryJournal{}, store: &canary.MemoryStore{}}
	mem.SetLoad(fn, "production", 50)
	f.w = f.workflow(edit)
	return f
}

// workflow builds a workflow over the fixture's provider, journal and store
// (a new one after a "restart").
func (f *fixture) workflow(edit func(*Options)) *Workflow {
	f.t.Helper()
	opts := Options{
		Runner:  canary.RunnerOptions{Provider: f.mem, Metrics: f.mem, Store: f.store, Clock: f.clock},
		Journal: f.journal, Strategy: healthyStrategy(), Actor: "ci",
		Notifier: notify.NotifierFunc(func(_ context.Context, n notify.Notification) error {
			f.mu.Lock()
			f.notes = append(f.notes, n)
			f.mu.Unlock()
			return nil
		}),
		OnEvent: func(e Event) {
			f.mu.Lock()
			f.events = append(f.events, e)
			f.mu.Unlock()
		},
	}
	if edit != nil {
		edit(&opts)
	}
	w, err := New(opts)
	if err != nil {
		f.t.Fatal(err)
	}
	return w
}

// healthyStrategy is 10% for 5 minutes, judged every minute on the error
// rate relative to the stable version.
func healthyStrategy() canary.Strategy {
	s := canary.Canary(1000, 5*time.Minute)
	s.Analysis.Checks = []canary.CheckSpec{{Name: "error rate", Check: canary.Relative{Metric: canary.ErrorRate, Factor: 1.5, Slack: 0.01}}}
	return s
}

func artifact(code string) PublishRequest {
	return PublishRequest{Level: level(semver.Minor), Artifact: provider.Artifact{Zip: []byte(code)}, Config: provider.Config{Runtime: "go1.x", Handler: "main", MemoryMB: 128, Timeout: 3 * time.Second}}
}

func level(l semver.Level) *semver.Level { return &l }

// release runs req in the fixture's virtual time.
func (f *fixture) release(ctx context.Context, req Request) (Result, error) {
	var res Result
	var err error
	f.clock.Run(func() { res, err = f.w.Release(ctx, req) })
	return res, err
}

// first releases v1.0.0 (code "v1"), creating the aliases.
func (f *fixture) first() Result {
	f.t.Helper()
	res, err := f.release(context.Background(), Request{Function: fn, Publish: artifact("v1")})
	if err != nil {
		f.t.Fatalf("first release: %v", err)
	}
	return res
}

// stage publishes code and points staging at it, as a publish step of CI
// does before a promotion.
func (f *fixture) stage(code string) {
	f.t.Helper()
	ctx := context.Background()
	pub, err := Publish(ctx, f.mem, fn, artifact(code))
	if err != nil {
		f.t.Fatal(err)
	}
	want := provider.To("staging", pub.Version.ID)
	want.Revision = f.route("staging").Revision
	if _, err := f.mem.SetRoute(ctx, fn, want); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) route(alias string) provider.Route {
	f.t.Helper()
	r, err := f.mem.Route(context.Background(), fn, alias)
	if err != nil {
		f.t.Fatal(err)
	}
	return r
}

func (f *fixture) entries() []journal.Entry {
	f.t.Helper()
	var out []journal.Entry
	for e, err := range f.journal.Entries(context.Background(), journal.Filter{Function: fn}) {
		if err != nil {
			f.t.Fatal(err)
		}
		out = append(out, e)
	}
	return out
}

// brief is an entry reduced to what the tests compare.
type brief struct {
	Kind    journal.EntryKind
	Alias   string
	Traffic string
	Outcome string
}

func briefs(es []journal.Entry, release string) []brief {
	var out []brief
	for _, e := range es {
		if release != "" && e.Release != release {
			continue
		}
		b := brief{Kind: e.Kind, Alias: e.Alias, Outcome: e.Outcome}
		if e.After != nil {
			b.Traffic = traffic(e.After)
		}
		out = append(out, b)
	}
	return out
}

func (f *fixture) kinds(release string) []EventKind {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []EventKind
	for _, e := range f.events {
		if e.Release == release {
			out = append(out, e.Kind)
		}
	}
	return out
}

func (f *fixture) notified() []notify.Kind {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []notify.Kind
	for _, n := range f.notes {
		out = append(out, n.Kind)
	}
	return out
}

func TestReleaseFirstCreatesAliases(t *testing.T) {
	f := newFixture(t, nil)
	res := f.first()
	if res.Outcome != OutcomePromoted || res.Semver != "0.1.0" || res.Candidate != "1" {
		t.Fatalf("first release: outcome %q semver %q candidate %q", res.Outcome, res.Semver, res.Candidate)
	}
	for _, alias := range []string{"staging", "production"} {
		if r := f.route(alias); r.Share("1") != provider.AllTraffic {
			t.Errorf("%s: %s, want all on 1", alias, r.String())
		}
	}
	want := []brief{
		{Kind: journal.EntryPublish, Outcome: "published"},
		{Kind: journal.EntryPromote, Alias: "staging", Traffic: "1: 100%"},
		{Kind: journal.EntryPromote, Alias: "production", Traffic: "1: 100%"},
		{Kind: journal.EntryDecision, Alias: "production", Outcome: OutcomePromoted},
	}
	if d := cmp.Diff(want, briefs(f.entries(), res.Release)); d != "" {
		t.Errorf("journal (-want +got):\n%s", d)
	}
	if _, _, err := journal.PreviousGood(context.Background(), f.journal, fn, "production"); !errors.Is(err, provider.ErrNotFound) {
		t.Errorf("PreviousGood after a first release: %v, want ErrNotFound (nothing to roll back to)", err)
	}
}

func TestReleaseHealthyPromotes(t *testing.T) {
	f := newFixture(t, nil)
	f.first()
	tested := 0
	res, err := f.release(context.Background(), Request{
		Function: fn, Publish: artifact("v2"), Actor: "alice", Reason: "feat: faster checkout",
		Test: func(_ context.Context, tg Target) error {
			tested++
			if tg.Alias != "staging" || tg.Version != "2" || tg.Semver != "0.2.0" {
				return fmt.Errorf("tests ran against %+v", tg)
			}
			return nil
		},
	})
	if err != nil {
		t.Fatalf("Release: %v", err)
	}
	if tested != 1 {
		t.Errorf("integration tests ran %d times, want 1", tested)
	}
	if res.Outcome != OutcomePromoted || res.Candidate != "2" || res.Stable != "1" || res.Semver != "0.2.0" {
		t.Errorf("result: %q candidate %q stable %q semver %q", res.Outcome, res.Candidate, res.Stable, res.Semver)
	}
	if res.Rollout == nil || res.Rollout.Phase != canary.PhaseSucceeded {
		t.Errorf("rollout: %+v", res.Rollout)
	}
	if got := f.route("production"); got.Share("2") != provider.AllTraffic {
		t.Errorf("production: %s", got.String())
	}
	want := []brief{
		{Kind: journal.EntryPublish, Outcome: "published"},
		{Kind: journal.EntryPromote, Alias: "staging", Traffic: "2: 100%"},
		{Kind: journal.EntryRoute, Alias: "production", Traffic: "1: 90% · 2: 10%"},
		{Kind: journal.EntryPromote, Alias: "production", Traffic: "2: 100%"},
		{Kind: journal.EntryDecision, Alias: "production", Outcome: OutcomePromoted},
	}
	es := f.entries()
	if d := cmp.Diff(want, briefs(es, res.Release)); d != "" {
		t.Errorf("journal (-want +got):\n%s", d)
	}
	for _, e := range es {
		if e.Release != res.Release {
			continue
		}
		if e.Actor != "alice" || e.Candidate != "2" || e.Semver != "0.2.0" {
			t.Errorf("entry %s %s: actor %q candidate %q semver %q", e.Kind, e.Alias, e.Actor, e.Candidate, e.Semver)
		}
		if e.Kind == journal.EntryPromote && e.Alias == "production" {
			if e.Stable != "1" || e.Before == nil || e.Before.Share("2") != 1000 || e.After.Revision == e.Before.Revision {
				t.Errorf("promotion entry: stable %q before %v after %v", e.Stable, e.Before, e.After)
			}
			if !e.Time.Equal(start.Add(5 * time.Minute)) {
				t.Errorf("promotion at %s, want after the 5-minute bake", e.Time)
			}
		}
	}
	if prev, _, err := journal.PreviousGood(context.Background(), f.journal, fn, "production"); err != nil || prev != "1" {
		t.Errorf("PreviousGood = %q, %v; want 1", prev, err)
	}
	wantKinds := []EventKind{EventPublished, EventStepStarted, EventWeightSet, EventStepStarted, EventTestsPassed,
		EventStepStarted, EventWeightSet, EventWaiting, EventVerdict, EventVerdict, EventVerdict, EventVerdict, EventVerdict, EventWeightSet, EventPromoted}
	if d := cmp.Diff(wantKinds, f.kinds(res.Release)); d != "" {
		t.Errorf("events (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]notify.Kind{notify.Promoted, notify.Promoted}, f.notified()); d != "" {
		t.Errorf("notifications (-want +got):\n%s", d)
	}
	if len(res.Summary.Verdicts) != 5 || res.Summary.Verdicts[0].Verdict != "pass" {
		t.Errorf("summary verdicts: %+v", res.Summary.Verdicts)
	}
	md := res.Summary.Markdown()
	for _, want := range []string{"promoted", "0.2.0", "error rate", "1: 90% · 2: 10%"} {
		if !strings.Contains(md, want) {
			t.Errorf("summary Markdown lacks %q:\n%s", want, md)
		}
	}
	if drift, err := Verify(context.Background(), f.mem, f.journal, fn); err != nil || len(drift) != 0 {
		t.Errorf("Verify after the release: %v, %v; want no drift", drift, err)
	}
}

func TestReleaseFaultyRollsBack(t *testing.T) {
	f := newFixture(t, nil)
	f.first()
	f.mem.SetBehavior(fn, "2", memory.Behavior{ErrorRate: 0.2})
	res, err := f.release(context.Background(), Request{Function: fn, Publish: artifact("v2")})
	if !errors.Is(err, canary.ErrRolledBack) {
		t.Fatalf("Release of a faulty version: %v, want ErrRolledBack", err)
	}
	if res.Outcome != OutcomeRolledBack || res.Rollout == nil || res.Rollout.Phase != canary.PhaseRolledBack {
		t.Fatalf("result: %q rollout %+v", res.Outcome, res.Rollout)
	}
	if got := f.route("production"); got.Share("1") != provider.AllTraffic {
		t.Errorf("production after the rollback: %s", got.String())
	}
	want := []brief{
		{Kind: journal.EntryPublish, Outcome: "published"},
		{Kind: journal.EntryPromote, Alias: "staging", Traffic: "2: 100%"},
		{Kind: journal.EntryRoute, Alias: "production", Traffic: "1: 90% · 2: 10%"},
		{Kind: journal.EntryRollback, Alias: "production", Traffic: "1: 100%"},
		{Kind: journal.EntryDecision, Alias: "production", Outcome: OutcomeRolledBack},
	}
	if d := cmp.Diff(want, briefs(f.entries(), res.Release)); d != "" {
		t.Errorf("journal (-want +got):\n%s", d)
	}
	// The window that failed was the first: rolled back at 10:01 plus
	// the metrics lag, not after the whole bake.
	for _, e := range f.entries() {
		if e.Release == res.Release && e.Kind == journal.EntryRollback && !e.Time.Before(start.Add(5*time.Minute)) {
			t.Errorf("rolled back at %s, after the bake", e.Time)
		}
	}
	if d := cmp.Diff([]notify.Kind{notify.Promoted, notify.RolledBack}, f.notified()); d != "" {
		t.Errorf("notifications (-want +got):\n%s", d)
	}
	fails := 0
	for _, v := range res.Summary.Verdicts {
		if v.Verdict == "fail" {
			fails++
		}
	}
	if fails == 0 {
		t.Errorf("summary has no failed verdict: %+v", res.Summary.Verdicts)
	}
	if !strings.Contains(res.Summary.Markdown(), "rolled back") {
		t.Errorf("summary does not say rolled back")
	}
}

func TestReleaseSameArtifactAgainIsUnchanged(t *testing.T) {
	f := newFixture(t, nil)
	f.first()
	res, err := f.release(context.Background(), Request{Function: fn, Publish: artifact("v1"), ID: "retry"})
	if err != nil {
		t.Fatalf("Release again: %v", err)
	}
	if res.Outcome != OutcomeUnchanged || res.Published == nil || !res.Published.Existing || res.Candidate != "1" {
		t.Fatalf("result: %q published %+v", res.Outcome, res.Published)
	}
	for _, e := range f.entries() {
		if e.Release == "retry" && e.Kind.ChangesRoute() {
			t.Errorf("a retried release changed a route: %+v", e)
		}
	}
	n := 0
	for _, err := range f.mem.Versions(context.Background(), fn) {
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n != 1 {
		t.Errorf("%d versions after publishing the same artifact twice, want 1", n)
	}
}

func TestRollbackAfterRestart(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "journal.jsonl")
	j, err := journal.OpenFileJournal(path)
	if err != nil {
		t.Fatal(err)
	}
	f := newFixture(t, nil)
	f.journal = j
	f.w = f.workflow(nil)
	f.first()
	if _, err := f.release(ctx, Request{Function: fn, Publish: artifact("v2")}); err != nil {
		t.Fatal(err)
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}

	// A new process: a new journal value over the same file, a new
	// workflow; only the file remembers the releases.
	j2, err := journal.OpenFileJournal(path)
	if err != nil {
		t.Fatal(err)
	}
	defer j2.Close()
	f.journal = j2
	f.w = f.workflow(nil)
	res, err := f.w.Rollback(ctx, fn, "production")
	if err != nil {
		t.Fatalf("Rollback: %v", err)
	}
	if res.Outcome != OutcomeRolledBack || res.Stable != "1" || res.Candidate != "2" {
		t.Errorf("result: %q stable %q candidate %q", res.Outcome, res.Stable, res.Candidate)
	}
	if got := f.route("production"); got.Share("1") != provider.AllTraffic {
		t.Errorf("production after Rollback: %s", got.String())
	}
	last, err := journal.LastRoute(ctx, j2, fn, "production")
	if err != nil || last.Kind != journal.EntryRollback || last.Stable != "1" || last.Before.Share("2") != provider.AllTraffic || last.Actor != "ci" {
		t.Errorf("journal's last production change: %+v, %v", last, err)
	}
	if drift, err := Verify(ctx, f.mem, j2, fn); err != nil || len(drift) != 0 {
		t.Errorf("Verify after Rollback: %v, %v", drift, err)
	}
	// Rolling back twice is rolling back once.
	again, err := f.w.Rollback(ctx, fn, "production")
	if err != nil || again.Outcome != OutcomeUnchanged {
		t.Errorf("second Rollback: %q, %v; want unchanged", again.Outcome, err)
	}
	if d := cmp.Diff([]notify.Kind{notify.Promoted, notify.Promoted, notify.RolledBack}, f.notified()); d != "" {
		t.Errorf("notifications (-want +got):\n%s", d)
	}
}

func TestRollbackErrors(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, nil)
	if _, err := f.w.Rollback(ctx, "", "production"); !errors.Is(err, provider.ErrInvalid) {
		t.Errorf("empty function: %v", err)
	}
	f.first()
	if _, err := f.w.Rollback(ctx, fn, "production"); !errors.Is(err, provider.ErrNotFound) {
		t.Errorf("rollback with no previous version: %v, want ErrNotFound", err)
	}
	if got := f.route("production"); got.Share("1") != provider.AllTraffic {
		t.Errorf("a refused rollback changed production: %s", got.String())
	}
	if _, err := f.w.RollbackWith(ctx, RollbackRequest{Function: fn, To: "9"}); !errors.Is(err, provider.ErrNotFound) {
		t.Errorf("rollback to a version that does not exist: %v", err)
	}
}

// An alias left mid-canary by a process that died is rolled back to the
// version the release was moving away from, not to the one before.
func TestRollbackOfAnUnfinishedCanary(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, func(o *Options) { o.Runner.CancelPolicy = canary.LeaveOnCancel })
	f.first()
	if _, err := f.release(ctx, Request{Function: fn, Publish: artifact("v2")}); err != nil {
		t.Fatal(err)
	}
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	f.w.opts.OnEvent = func(e Event) {
		if e.Kind == EventWeightSet && e.Alias == "production" && e.Weight == 1000 {
			cancel()
		}
	}
	_, err := f.release(cctx, Request{Function: fn, Publish: artifact("v3")})
	if !errors.Is(err, canary.ErrStopped) || !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled release with LeaveOnCancel: %v", err)
	}
	if got := f.route("production"); got.Share("3") != 1000 {
		t.Fatalf("production: %s, want left at 10%% on 3", got.String())
	}
	res, err := f.w.Rollback(ctx, fn, "production")
	if err != nil || res.Stable != "2" {
		t.Fatalf("Rollback: stable %q, %v; want 2", res.Stable, err)
	}
	if got := f.route("production"); got.Share("2") != provider.AllTraffic {
		t.Errorf("production: %s", got.String())
	}
}

func TestReleaseOutOfBandChangeDetected(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, nil)
	f.first()
	// Someone moves production back by hand during the canary's first
	// analysis window.
	moved := false
	f.w.opts.OnEvent = func(e Event) {
		if moved || e.Kind != EventWaiting || e.Alias != "production" {
			return
		}
		moved = true
		cur := f.route("production")
		want := provider.To("production", "1")
		want.Revision = cur.Revision
		if _, err := f.mem.SetRoute(ctx, fn, want); err != nil {
			t.Error(err)
		}
	}
	res, err := f.release(ctx, Request{Function: fn, Publish: artifact("v2")})
	var ce *canary.ConflictError
	if !errors.Is(err, canary.ErrStopped) || !errors.As(err, &ce) {
		t.Fatalf("Release with an out-of-band change: %v, want ErrStopped with a *canary.ConflictError", err)
	}
	if res.Outcome != OutcomeFailed {
		t.Errorf("outcome %q", res.Outcome)
	}
	if got := f.route("production"); got.Share("1") != provider.AllTraffic {
		t.Errorf("the person's change was overwritten: %s", got.String())
	}
	outcomes := map[string]bool{}
	for _, e := range f.entries() {
		if e.Release == res.Release {
			outcomes[e.Outcome] = true
		}
	}
	if !outcomes["out of band"] || !outcomes[OutcomeFailed] {
		t.Errorf("journal outcomes %v lack the out-of-band decision", outcomes)
	}
	drift, err := Verify(ctx, f.mem, f.journal, fn)
	if err != nil || len(drift) != 1 || drift[0].Kind != DriftOutOfBand || drift[0].Alias != "production" {
		t.Errorf("Verify: %v, %v; want production out of band", drift, err)
	}
	if d := cmp.Diff([]notify.Kind{notify.Promoted, notify.Failed}, f.notified()); d != "" {
		t.Errorf("notifications (-want +got):\n%s", d)
	}
}

func TestReleaseHookFailureRollsBack(t *testing.T) {
	f := newFixture(t, func(o *Options) {
		o.Runner.Hooks = map[string]canary.HookFunc{"smoke": func(_ context.Context, in canary.HookInput) error {
			if in.Stage == canary.StagePostTraffic && in.Candidate == "2" {
				return errors.New("checkout returns 500")
			}
			return nil
		}}
		o.Strategy.PostTraffic = &canary.HookSpec{Name: "smoke"}
	})
	f.first()
	res, err := f.release(context.Background(), Request{Function: fn, Publish: artifact("v2")})
	var he *canary.HookError
	if !errors.Is(err, canary.ErrRolledBack) || !errors.As(err, &he) {
		t.Fatalf("Release with a failing post-traffic hook: %v", err)
	}
	if got := f.route("production"); got.Share("1") != provider.AllTraffic {
		t.Errorf("production: %s", got.String())
	}
	want := []brief{
		{Kind: journal.EntryPublish, Outcome: "published"},
		{Kind: journal.EntryPromote, Alias: "staging", Traffic: "2: 100%"},
		{Kind: journal.EntryRoute, Alias: "production", Traffic: "1: 90% · 2: 10%"},
		{Kind: journal.EntryPromote, Alias: "production", Traffic: "2: 100%"},
		{Kind: journal.EntryRollback, Alias: "production", Traffic: "1: 100%"},
		{Kind: journal.EntryDecision, Alias: "production", Outcome: OutcomeRolledBack},
	}
	if d := cmp.Diff(want, briefs(f.entries(), res.Release)); d != "" {
		t.Errorf("journal (-want +got):\n%s", d)
	}
	if !strings.Contains(res.Reason, "checkout returns 500") {
		t.Errorf("reason %q does not name the hook's error", res.Reason)
	}
}

func TestReleaseCancellationRollsBack(t *testing.T) {
	f := newFixture(t, nil)
	f.first()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	f.w.opts.OnEvent = func(e Event) {
		if e.Kind == EventVerdict {
			cancel() // SIGTERM in the middle of the bake
		}
	}
	res, err := f.release(ctx, Request{Function: fn, Publish: artifact("v2")})
	if !errors.Is(err, canary.ErrRolledBack) || !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled Release: %v", err)
	}
	if got := f.route("production"); got.Share("1") != provider.AllTraffic {
		t.Errorf("production: %s", got.String())
	}
	kinds := briefs(f.entries(), res.Release)
	if n := len(kinds); n < 2 || kinds[n-2].Kind != journal.EntryRollback || kinds[n-1].Outcome != OutcomeRolledBack {
		t.Errorf("journal after cancellation: %+v", kinds)
	}
	if d := cmp.Diff([]notify.Kind{notify.Promoted, notify.RolledBack}, f.notified()); d != "" {
		t.Errorf("notifications (-want +got):\n%s", d)
	}
}

func TestReleaseIntegrationTestsFail(t *testing.T) {
	f := newFixture(t, nil)
	f.first()
	boom := errors.New("order flow: 3 of 40 cases failed")
	res, err := f.release(context.Background(), Request{Function: fn, Publish: artifact("v2"),
		Test: func(context.Context, Target) error { return boom }})
	if !errors.Is(err, ErrTestsFailed) || !errors.Is(err, boom) {
		t.Fatalf("Release with failing tests: %v", err)
	}
	if res.Outcome != OutcomeFailed || res.Rollout != nil {
		t.Errorf("outcome %q, rollout %v", res.Outcome, res.Rollout)
	}
	for _, alias := range []string{"staging", "production"} {
		if got := f.route(alias); got.Share("1") != provider.AllTraffic {
			t.Errorf("%s: %s, want put back on 1", alias, got.String())
		}
	}
	want := []brief{
		{Kind: journal.EntryPublish, Outcome: "published"},
		{Kind: journal.EntryPromote, Alias: "staging", Traffic: "2: 100%"},
		{Kind: journal.EntryRollback, Alias: "staging", Traffic: "1: 100%"},
		{Kind: journal.EntryDecision, Alias: "production", Outcome: OutcomeFailed},
	}
	if d := cmp.Diff(want, briefs(f.entries(), res.Release)); d != "" {
		t.Errorf("journal (-want +got):\n%s", d)
	}
}

// weekdayMornings allows releases 10:00–10:03 UTC on weekdays.
func weekdayMornings() *DeployPolicy {
	return &DeployPolicy{Windows: []DeployWindow{{
		Days:  []time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday},
		Start: TimeOfDay{Hour: 10}, End: TimeOfDay{Hour: 10, Minute: 3}, TimeZone: "UTC",
	}}}
}

func TestReleaseBlockedBeforeStart(t *testing.T) {
	f := newFixture(t, nil)
	f.first()
	f.w = f.workflow(func(o *Options) { o.Policy = weekdayMornings() })
	f.clock.Run(func() { _ = f.clock.Sleep(context.Background(), 2*time.Hour) }) // 12:00: outside
	res, err := f.release(context.Background(), Request{Function: fn, Publish: artifact("v2")})
	var be *BlockedError
	if !errors.As(err, &be) || !be.Until.Equal(start.Add(24*time.Hour)) {
		t.Fatalf("Release outside the window: %v, want blocked until the next morning", err)
	}
	if res.Outcome != OutcomeBlocked || res.Candidate != "" {
		t.Errorf("result %q candidate %q", res.Outcome, res.Candidate)
	}
	if _, err := f.mem.Version(context.Background(), fn, "2"); !errors.Is(err, provider.ErrNotFound) {
		t.Errorf("a blocked release published: %v", err)
	}

	// The policy guards production: staging may change outside it, a
	// promotion to production may not, and a rollback always may.
	ctx := context.Background()
	pub, err := Publish(ctx, f.mem, fn, artifact("v2"))
	if err != nil {
		t.Fatal(err)
	}
	dev := provider.To("development", pub.Version.ID)
	if _, err := f.mem.SetRoute(ctx, fn, dev); err != nil {
		t.Fatal(err)
	}
	all := canary.AllAtOnce()
	var staged, promoted Result
	var serr, perr error
	f.clock.Run(func() {
		staged, serr = f.w.Promote(ctx, PromoteRequest{Function: fn, From: "development", To: "staging", Strategy: &all})
		promoted, perr = f.w.Promote(ctx, PromoteRequest{Function: fn, Strategy: &all})
	})
	if serr != nil || staged.Outcome != OutcomePromoted {
		t.Errorf("Promote to staging outside the window: %q, %v", staged.Outcome, serr)
	}
	if !errors.Is(perr, ErrBlocked) || promoted.Outcome != OutcomeBlocked {
		t.Errorf("Promote to production outside the window: %q, %v", promoted.Outcome, perr)
	}
	if got := f.route("production"); got.Share("1") != provider.AllTraffic {
		t.Errorf("production: %s", got.String())
	}
	rb, err := f.w.RollbackWith(ctx, RollbackRequest{Function: fn, Alias: "staging"})
	if err != nil || rb.Outcome != OutcomeRolledBack || f.route("staging").Share("1") != provider.AllTraffic {
		t.Errorf("Rollback of staging outside the window: %q, %v", rb.Outcome, err)
	}
}

func TestReleaseWindowClosesDuringCanary(t *testing.T) {
	t.Run("rolls back without MaxHold", func(t *testing.T) {
		f := newFixture(t, nil)
		f.first()
		f.w = f.workflow(func(o *Options) { o.Policy = weekdayMornings() })
		res, err := f.release(context.Background(), Request{Function: fn, Publish: artifact("v2")})
		if !errors.Is(err, canary.ErrRolledBack) {
			t.Fatalf("Release whose window closes at 10:03 before the 10:05 step: %v", err)
		}
		if got := f.route("production"); got.Share("1") != provider.AllTraffic {
			t.Errorf("production: %s", got.String())
		}
		// The rollback itself happened outside the window: never blocked.
		var rolled, blocked bool
		for _, e := range f.entries() {
			if e.Release != res.Release {
				continue
			}
			blocked = blocked || e.Outcome == OutcomeBlocked
			rolled = rolled || e.Kind == journal.EntryRollback && e.Time.After(start.Add(3*time.Minute))
		}
		if !blocked || !rolled {
			t.Errorf("journal: blocked %v, rolled back outside the window %v", blocked, rolled)
		}
	})
	t.Run("holds with MaxHold", func(t *testing.T) {
		f := newFixture(t, nil)
		f.first()
		f.w = f.workflow(func(o *Options) { o.Policy = weekdayMornings(); o.MaxHold = 48 * time.Hour })
		res, err := f.release(context.Background(), Request{Function: fn, Publish: artifact("v2")})
		if err != nil {
			t.Fatalf("Release: %v", err)
		}
		last, err := journal.LastRoute(context.Background(), f.journal, fn, "production")
		if err != nil || last.Kind != journal.EntryPromote || !last.Time.Equal(start.Add(24*time.Hour)) {
			t.Errorf("promotion %+v, %v; want the next morning at 10:00", last, err)
		}
		held := false
		for _, e := range f.entries() {
			held = held || e.Release == res.Release && e.Outcome == "held"
		}
		if !held {
			t.Error("no held decision journaled")
		}
	})
}

func TestReleasePrunesAfterPromotion(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, func(o *Options) {
		o.Retention = &retention.Policy{KeepLast: 2}
		o.Strategy = canary.AllAtOnce()
	})
	f.first()
	for _, code := range []string{"v2", "v3", "v4", "v5"} {
		if _, err := f.release(ctx, Request{Function: fn, Publish: artifact(code)}); err != nil {
			t.Fatal(err)
		}
	}
	var ids []string
	for v, err := range f.mem.Versions(ctx, fn) {
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, v.ID)
	}
	// 5 and 4 are the last two; 4 is also the rollback point; 1–3 go.
	if d := cmp.Diff([]string{"4", "5"}, ids); d != "" {
		t.Errorf("versions after pruning (-want +got):\n%s", d)
	}
	points, err := RollbackPoints(ctx, f.journal, fn)
	if err != nil || len(points["production"]) == 0 || points["production"][0] != "4" {
		t.Errorf("RollbackPoints: %v, %v", points, err)
	}
}

func TestPruneKeepsRollbackPoints(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		points int
		want   []string
	}{
		// 3 serves both aliases; 2 is the last rollback point of each; 1
		// is an older one: kept only when every point is.
		{0, []string{"2", "3"}},
		{-1, []string{"1", "2", "3"}},
	} {
		f := newFixture(t, func(o *Options) {
			o.Retention = &retention.Policy{AllowDeleteAllUnreferenced: true}
			o.RollbackPoints = c.points
			o.Strategy = canary.AllAtOnce()
		})
		f.first()
		for _, code := range []string{"v2", "v3"} {
			if _, err := f.release(ctx, Request{Function: fn, Publish: artifact(code)}); err != nil {
				t.Fatal(err)
			}
		}
		plan, _, err := f.w.Prune(ctx, fn, true)
		if err != nil {
			t.Fatal(err)
		}
		var kept []string
		for _, d := range plan.Functions[0].Versions {
			if d.Action == retention.Keep {
				kept = append(kept, d.Version)
			}
		}
		if d := cmp.Diff(c.want, kept); d != "" {
			t.Errorf("RollbackPoints %d: kept (-want +got):\n%s", c.points, d)
		}
	}
}

func TestPromoteBetweenStages(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, func(o *Options) { o.Stages = Stages{Staging: "staging", Production: "production"} })
	f.first()
	f.stage("v2")
	var (
		res Result
		err error
	)
	f.clock.Run(func() { res, err = f.w.Promote(ctx, PromoteRequest{Function: fn, Actor: "bob"}) })
	if err != nil || res.Outcome != OutcomePromoted || res.Candidate != "2" || res.Semver != "0.2.0" {
		t.Fatalf("Promote: %q candidate %q semver %q, %v", res.Outcome, res.Candidate, res.Semver, err)
	}
	if got := f.route("production"); got.Share("2") != provider.AllTraffic {
		t.Errorf("production: %s", got.String())
	}
	var saw10 bool
	for _, e := range f.entries() {
		saw10 = saw10 || e.Release == res.Release && e.After != nil && e.After.Share("2") == 1000
	}
	if !saw10 {
		t.Error("Promote did not go through the canary's 10% step")
	}
	if _, err := f.w.Promote(ctx, PromoteRequest{Function: fn, From: "production", To: "production"}); !errors.Is(err, provider.ErrInvalid) {
		t.Errorf("Promote to itself: %v", err)
	}
}

// A release whose process stopped mid-canary (here its store failed) is
// resumed by a new workflow and ends as Release would.
func TestResumeAfterCrash(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	fs, err := canary.OpenFileStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	f := newFixture(t, nil)
	f.store = fs
	f.w = f.workflow(nil)
	f.first()
	crashing := &crashStore{Store: fs, after: 3}
	f.store = crashing
	f.w = f.workflow(nil)
	res, err := f.release(ctx, Request{Function: fn, Publish: artifact("v2"), ID: "rel-2"})
	if err == nil || !errors.Is(err, errCrash) {
		t.Fatalf("Release with a crashing store: %v", err)
	}
	if got := f.route("production"); got.Share("2") != 1000 {
		t.Fatalf("production after the crash: %s, want 10%% on 2", got.String())
	}
	f.store = fs
	f.w = f.workflow(func(o *Options) {
		o.Runner.Checks = map[string]canary.Check{"error rate": healthyStrategy().Analysis.Checks[0].Check}
	})
	f.clock.Run(func() { res, err = f.w.Resume(ctx, "rel-2") })
	if err != nil || res.Outcome != OutcomePromoted || res.Candidate != "2" || res.Semver != "0.2.0" {
		t.Fatalf("Resume: %q candidate %q semver %q, %v", res.Outcome, res.Candidate, res.Semver, err)
	}
	if got := f.route("production"); got.Share("2") != provider.AllTraffic {
		t.Errorf("production after Resume: %s", got.String())
	}
	last, err := journal.LastRoute(ctx, f.journal, fn, "production")
	if err != nil || last.Kind != journal.EntryPromote || last.Release != "rel-2" || last.Stable != "1" {
		t.Errorf("last production entry: %+v, %v", last, err)
	}
	if _, err := f.w.Resume(ctx, "nope"); !errors.Is(err, provider.ErrNotFound) {
		t.Errorf("Resume of an unknown release: %v", err)
	}
}

var errCrash = errors.New("disk gone")

// crashStore fails every Save of a production rollout after the first
// after ones, as a process that died would stop saving.
type crashStore struct {
	canary.Store
	mu    sync.Mutex
	after int
}

func (c *crashStore) Save(ctx context.Context, id string, s canary.State, rev string) (string, error) {
	if !strings.HasSuffix(id, ".production") {
		return c.Store.Save(ctx, id, s, rev)
	}
	c.mu.Lock()
	c.after--
	n := c.after
	c.mu.Unlock()
	if n < 0 {
		return "", errCrash
	}
	return c.Store.Save(ctx, id, s, rev)
}

func TestAbortFromAnotherGoroutine(t *testing.T) {
	f := newFixture(t, nil)
	f.first()
	f.w.opts.OnEvent = func(e Event) {
		if e.Kind == EventVerdict {
			if _, err := f.w.Abort(context.Background(), "rel-2"); err != nil {
				t.Error(err)
			}
		}
	}
	_, err := f.release(context.Background(), Request{Function: fn, Publish: artifact("v2"), ID: "rel-2"})
	if !errors.Is(err, canary.ErrRolledBack) {
		t.Fatalf("aborted Release: %v", err)
	}
	if got := f.route("production"); got.Share("1") != provider.AllTraffic {
		t.Errorf("production: %s", got.String())
	}
}

// A journal that cannot record a route change stops the canary: it rolls
// back rather than moving traffic the audit trail does not show.
func TestReleaseJournalFailureRollsBack(t *testing.T) {
	f := newFixture(t, nil)
	f.first()
	fj := &failingJournal{Journal: f.journal, failKind: journal.EntryRoute}
	f.journal = fj
	f.w = f.workflow(nil)
	_, err := f.release(context.Background(), Request{Function: fn, Publish: artifact("v2")})
	if !errors.Is(err, errJournal) {
		t.Fatalf("Release with a failing journal: %v", err)
	}
	if got := f.route("production"); got.Share("1") != provider.AllTraffic {
		t.Errorf("production: %s", got.String())
	}
}

var errJournal = errors.New("journal disk full")

type failingJournal struct {
	journal.Journal
	failKind journal.EntryKind
}

func (j *failingJournal) Append(ctx context.Context, e journal.Entry) error {
	if e.Kind == j.failKind {
		return errJournal
	}
	return j.Journal.Append(ctx, e)
}

func TestNewAndReleaseValidate(t *testing.T) {
	mem, err := memory.New(memory.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for name, o := range map[string]Options{
		"no provider":        {},
		"negative hold":      {Runner: canary.RunnerOptions{Provider: mem}, MaxHold: -time.Second},
		"no production":      {Runner: canary.RunnerOptions{Provider: mem}, Stages: Stages{Staging: "staging"}},
		"stages share alias": {Runner: canary.RunnerOptions{Provider: mem}, Stages: Stages{Staging: "live", Production: "live"}},
		"checks no metrics":  {Runner: canary.RunnerOptions{Provider: mem}, Strategy: healthyStrategy()},
		"missing hook":       {Runner: canary.RunnerOptions{Provider: mem}, Strategy: canary.Strategy{Steps: []canary.Step{{Weight: 10000}}, PreTraffic: &canary.HookSpec{Name: "x"}}},
		"bad retention":      {Runner: canary.RunnerOptions{Provider: mem}, Retention: &retention.Policy{}},
		"bad policy":         {Runner: canary.RunnerOptions{Provider: mem}, Policy: &DeployPolicy{Windows: []DeployWindow{{TimeZone: "Mars/Olympus"}}}},
	} {
		if _, err := New(o); !errors.Is(err, provider.ErrInvalid) {
			t.Errorf("%s: New = %v, want ErrInvalid", name, err)
		}
	}
	f := newFixture(t, nil)
	calls := 0
	f.mem.Inject(memory.Fault{Before: func(string) error { calls++; return nil }})
	bad := canary.Canary(1000, time.Minute)
	bad.Steps[0].Weight = 20000
	for name, req := range map[string]Request{
		"no function":  {Publish: artifact("v1")},
		"bad artifact": {Function: fn},
		"bad strategy": {Function: fn, Publish: artifact("v1"), Strategy: &bad},
		"bad id":       {Function: fn, Publish: artifact("v1"), ID: "a/b"},
		"level+semver": {Function: fn, Publish: PublishRequest{Artifact: artifact("v1").Artifact, Level: level(semver.Minor), Semver: &semver.Version{}}},
		"bad level":    {Function: fn, Publish: PublishRequest{Artifact: artifact("v1").Artifact, Level: level(semver.Level(9))}},
		"no level":     {Function: fn, Publish: PublishRequest{Artifact: artifact("v1").Artifact, Prerelease: "not valid!"}},
	} {
		if _, err := f.w.Release(context.Background(), req); !errors.Is(err, provider.ErrInvalid) {
			t.Errorf("%s: Release = %v, want ErrInvalid", name, err)
		}
	}
	if calls != 0 {
		t.Errorf("invalid requests made %d provider calls", calls)
	}
}

func TestEventString(t *testing.T) {
	at := start.Add(90 * time.Second)
	for _, c := range []struct {
		e    Event
		want string
	}{
		{Event{Time: at, Kind: EventWeightSet, Step: StepCanary, Alias: "production", Candidate: "7", Semver: "1.1.0", Weight: 1000},
			"10:01:30 canary   production  weight set: 10% to 7 (v1.1.0)"},
		{Event{Time: at, Kind: EventVerdict, Step: StepCanary, Alias: "production", Weight: 250,
			Verdicts: []CheckVerdict{{Check: "error rate", Verdict: "pass", Detail: "0.1% ≤ 1%"}}},
			"10:01:30 canary   production  verdict at 2.5%: error rate pass (0.1% ≤ 1%)"},
		{Event{Time: at, Kind: EventWaiting, Step: StepCanary, Alias: "production", Until: start.Add(5 * time.Minute), Message: "step 1 of 2 bakes"},
			"10:01:30 canary   production  waiting until 10:05:00: step 1 of 2 bakes"},
		{Event{Time: at, Kind: EventRolledBack, Step: StepCanary, Alias: "production", Stable: "6", Message: "error rate failed"},
			"10:01:30 canary   production  rolled back: back on 6: error rate failed"},
	} {
		if got := c.e.String(); got != c.want {
			t.Errorf("String:\n got %q\nwant %q", got, c.want)
		}
	}
}

func TestReleaseReportsDriftAndSafety(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, nil)
	f.first()
	// Someone re-saves production by hand: same traffic, new revision,
	// not in the journal.
	cur := f.route("production")
	if _, err := f.mem.SetRoute(ctx, fn, cur); err != nil {
		t.Fatal(err)
	}
	req := artifact("v2")
	req.Config.MemoryMB = 512
	req.Config.Environment = map[string]string{"PAYMENTS_API_TOKEN": "sk_live_0123456789abcdef"}
	res, err := f.release(ctx, Request{Function: fn, Publish: req})
	if err != nil {
		t.Fatalf("Release: %v", err)
	}
	if len(res.Summary.Drift) != 1 || res.Summary.Drift[0].Kind != DriftOutOfBand || res.Summary.Drift[0].Alias != "production" {
		t.Errorf("summary drift: %+v", res.Summary.Drift)
	}
	var journaled bool
	for _, e := range f.entries() {
		journaled = journaled || e.Release == res.Release && e.Outcome == "out of band" && e.Alias == "production"
	}
	if !journaled {
		t.Error("the out-of-band change found at the start was not journaled")
	}
	s := res.Summary.Safety
	if s == nil || s.AVersion != "2" || s.BVersion != "1" {
		t.Fatalf("summary safety: %+v", s)
	}
	var memory, secret bool
	for _, d := range s.Differences {
		memory = memory || strings.Contains(d.String(), "512")
	}
	for _, fd := range s.Findings {
		secret = secret || fd.Kind == FindingPlainSecret
	}
	if !memory || !secret {
		t.Errorf("safety report: memory difference %v, plain-text secret %v:\n%s", memory, secret, s)
	}
	if strings.Contains(res.Summary.Markdown(), "sk_live_0123456789abcdef") {
		t.Error("the summary shows the secret's value")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	var drifts, findings int
	for _, e := range f.events {
		if e.Release != res.Release {
			continue
		}
		if e.Kind == EventDrift {
			drifts++
		}
		if strings.HasPrefix(e.Message, "safety: ") {
			findings++
		}
	}
	if drifts != 1 || findings == 0 {
		t.Errorf("events: %d drift, %d safety findings", drifts, findings)
	}
}

func TestReleaseBlueGreen(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, func(o *Options) {
		o.Strategy = canary.BlueGreenStrategy("preview", 5*time.Minute, 10*time.Minute)
		o.Strategy.Analysis.Checks = []canary.CheckSpec{{Name: "error rate", Check: canary.Threshold{Metric: canary.ErrorRate, Max: 0.05}}}
	})
	f.mem.SetLoad(fn, "preview", 20)
	f.first()
	res, err := f.release(ctx, Request{Function: fn, Publish: artifact("v2")})
	if err != nil {
		t.Fatalf("blue/green Release: %v", err)
	}
	for _, e := range f.entries() {
		if e.Release == res.Release && e.Alias == "production" && e.After != nil && len(e.After.Weights) > 1 {
			t.Errorf("blue/green split production's traffic: %s", traffic(e.After))
		}
	}
	if got := f.route("preview"); got.Share("2") != provider.AllTraffic {
		t.Errorf("preview: %s", got.String())
	}
	// The previous version is still there: a rollback is one write.
	rb, err := f.w.Rollback(ctx, fn, "production")
	if err != nil || rb.Stable != "1" {
		t.Fatalf("Rollback after blue/green: %q, %v", rb.Stable, err)
	}
	if got := f.route("production"); got.Share("1") != provider.AllTraffic {
		t.Errorf("production: %s", got.String())
	}
}

func TestReleaseApprovalGate(t *testing.T) {
	for _, approve := range []bool{true, false} {
		t.Run(fmt.Sprint(approve), func(t *testing.T) {
			var asked []canary.Approval
			f := newFixture(t, func(o *Options) {
				o.Strategy.Approval = &canary.ApprovalSpec{Timeout: time.Hour}
				o.Runner.Approve = func(_ context.Context, a canary.Approval) (bool, error) {
					asked = append(asked, a)
					return approve, nil
				}
			})
			f.first()
			res, err := f.release(context.Background(), Request{Function: fn, Publish: artifact("v2")})
			if len(asked) != 1 || asked[0].Candidate != "2" || asked[0].Weight != 1000 {
				t.Errorf("approvals asked: %+v", asked)
			}
			want := "2"
			if approve {
				if err != nil || res.Outcome != OutcomePromoted {
					t.Errorf("approved: %q, %v", res.Outcome, err)
				}
			} else {
				want = "1"
				if !errors.Is(err, canary.ErrRolledBack) {
					t.Errorf("rejected: %v, want ErrRolledBack", err)
				}
			}
			if got := f.route("production"); got.Share(want) != provider.AllTraffic {
				t.Errorf("production: %s, want all on %s", got.String(), want)
			}
		})
	}
}

// A process that died between a route write and its journal entry leaves
// the write unjournaled; Resume journals it before going on.
func TestResumeJournalsAWriteThatLandedBeforeTheCrash(t *testing.T) {
	ctx := context.Background()
	fs, err := canary.OpenFileStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	f := newFixture(t, nil)
	f.store = fs
	f.w = f.workflow(nil)
	f.first()
	good := f.journal
	f.store = &crashStore{Store: fs, after: 2} // saves the start and the shift, not the step in place
	f.journal = &failingJournal{Journal: good, failKind: journal.EntryRoute}
	f.w = f.workflow(nil)
	if _, err := f.release(ctx, Request{Function: fn, Publish: artifact("v2"), ID: "rel-2"}); !errors.Is(err, errCrash) {
		t.Fatalf("Release: %v", err)
	}
	if got := f.route("production"); got.Share("2") != 1000 {
		t.Fatalf("production after the crash: %s", got.String())
	}
	if last, _ := journal.LastRoute(ctx, good, fn, "production"); last.After.Share("2") != 0 {
		t.Fatalf("the 10%% write was journaled before the resume: %+v", last)
	}
	if drift, _ := Verify(ctx, f.mem, good, fn); len(drift) != 1 {
		t.Fatalf("Verify before the resume: %v, want the unjournaled write", drift)
	}

	f.store, f.journal = fs, good
	f.w = f.workflow(func(o *Options) {
		o.Runner.Checks = map[string]canary.Check{"error rate": healthyStrategy().Analysis.Checks[0].Check}
	})
	var res Result
	f.clock.Run(func() { res, err = f.w.Resume(ctx, "rel-2") })
	if err != nil || res.Outcome != OutcomePromoted {
		t.Fatalf("Resume: %q, %v", res.Outcome, err)
	}
	var steps []string
	for _, e := range f.entries() {
		if e.Release == "rel-2" && e.Alias == "production" && e.Kind.ChangesRoute() {
			steps = append(steps, string(e.Kind)+" "+traffic(e.After))
		}
	}
	if d := cmp.Diff([]string{"route 1: 90% · 2: 10%", "promote 2: 100%"}, steps); d != "" {
		t.Errorf("journaled production changes (-want +got):\n%s", d)
	}
	if drift, err := Verify(ctx, f.mem, good, fn); err != nil || len(drift) != 0 {
		t.Errorf("Verify after the resume: %v, %v", drift, err)
	}
}

// Two runs of one function in the same second get distinct derived IDs:
// a rollout saved under the derived ID (another promote of the function in
// that second) makes Promote take the "-2" name and run, where it used to
// fail to create its rollout; a journal entry bearing the name does too.
func TestDerivedIDsOfOneSecondDiffer(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, func(o *Options) { o.Stages = Stages{Staging: "staging", Production: "production"} })
	f.first()
	f.stage("v2")
	base := fn + "-promote-" + f.clock.Now().UTC().Format("20060102T150405Z")
	if _, err := f.store.Save(ctx, rolloutID(base, "production"), canary.State{Function: fn, Alias: "production", Stable: "1", Candidate: "2",
		StableRoute: provider.To("production", "1"), Plan: canary.Plan{Steps: []canary.Step{{Weight: provider.AllTraffic}}}}, ""); err != nil {
		t.Fatal(err)
	}
	if err := f.journal.Append(ctx, journal.Entry{Time: f.clock.Now(), Release: base + "-2", Kind: journal.EntryDecision, Function: fn, Outcome: "passed"}); err != nil {
		t.Fatal(err)
	}
	// A damaged state under -3 (it fails State.Validate) takes the name too.
	if _, err := f.store.Save(ctx, rolloutID(base+"-3", "production"), canary.State{Function: fn}, ""); err != nil {
		t.Fatal(err)
	}
	var (
		res Result
		err error
	)
	f.clock.Run(func() { res, err = f.w.Promote(ctx, PromoteRequest{Function: fn}) })
	if err != nil || res.Outcome != OutcomePromoted {
		t.Fatalf("Promote: %q, %v", res.Outcome, err)
	}
	if want := base + "-4"; res.Release != want {
		t.Errorf("release ID %q, want %q (the base, -2 and -3 are taken)", res.Release, want)
	}

	// A caller's own ID is kept as given, taken or not.
	var again Result
	f.clock.Run(func() { again, err = f.w.RollbackWith(ctx, RollbackRequest{Function: fn, ID: res.Release}) })
	if err != nil || again.Release != res.Release {
		t.Errorf("RollbackWith a given ID: release %q, %v; want %q", again.Release, err, res.Release)
	}
}

// A derived ID stays within the 150 characters of an ID with room for the
// largest suffix, whatever the function's name and version.
func TestDerivedIDLength(t *testing.T) {
	long := strings.Repeat("f", 140)
	ver := "v1.2.3-" + strings.Repeat("rc.", 40) + "1"
	id, derived, err := releaseID("", long, ver, start)
	if err != nil || !derived {
		t.Fatalf("releaseID: %q derived %v, %v", id, derived, err)
	}
	if n := len(id) + len(fmt.Sprintf("-%d", maxIDSuffix)); n > 150 {
		t.Errorf("derived ID %q with suffix is %d characters, more than 150", id, n)
	}
	if _, derived, err := releaseID("given", long, ver, start); err != nil || derived {
		t.Errorf("releaseID of a given ID: derived %v, %v", derived, err)
	}
}

// Resume of a release whose outcome is journaled finishes nothing again:
// ErrFinished with that outcome, and no entry, notification or deletion.
func TestResumeOfAFinishedRelease(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, nil)
	f.first()
	res, err := f.release(ctx, Request{Function: fn, Publish: artifact("v2"), ID: "rel-2"})
	if err != nil || res.Outcome != OutcomePromoted {
		t.Fatalf("Release: %q, %v", res.Outcome, err)
	}
	entries, notes := len(f.entries()), len(f.notified())
	versions := func() int {
		n := 0
		for _, err := range f.mem.Versions(ctx, fn) {
			if err != nil {
				t.Fatal(err)
			}
			n++
		}
		return n
	}
	before := versions()
	var again Result
	f.clock.Run(func() { again, err = f.w.Resume(ctx, "rel-2") })
	if !errors.Is(err, ErrFinished) || again.Outcome != OutcomePromoted || again.Candidate != "2" {
		t.Fatalf("Resume of a promoted release: %q candidate %q, %v; want ErrFinished and promoted", again.Outcome, again.Candidate, err)
	}
	if n := len(f.entries()); n != entries {
		t.Errorf("Resume wrote %d journal entries, want none", n-entries)
	}
	if n := len(f.notified()); n != notes {
		t.Errorf("Resume sent %d notifications, want none", n-notes)
	}
	if n := versions(); n != before {
		t.Errorf("Resume changed the versions: %d, then %d", before, n)
	}
}

// AbortWith journals who stopped the release and why, then the canary
// rolls back; on an ended canary it journals nothing.
func TestAbortWithJournalsWhoAndWhy(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, nil)
	f.first()
	var once sync.Once
	f.w.opts.OnEvent = func(e Event) {
		if e.Kind == EventVerdict {
			once.Do(func() {
				if _, err := f.w.AbortWith(ctx, AbortRequest{ID: "rel-2", Actor: "alice", Reason: "pager fired"}); err != nil {
					t.Error(err)
				}
			})
		}
	}
	if _, err := f.release(ctx, Request{Function: fn, Publish: artifact("v2"), ID: "rel-2"}); !errors.Is(err, canary.ErrRolledBack) {
		t.Fatalf("aborted Release: %v", err)
	}
	var asked *journal.Entry
	for _, e := range f.entries() {
		if e.Release == "rel-2" && e.Outcome == OutcomeAbortRequested {
			asked = &e
		}
	}
	if asked == nil || asked.Actor != "alice" || asked.Reason != "pager fired" || asked.Kind != journal.EntryDecision ||
		asked.Alias != "production" || asked.Candidate != "2" || asked.Stable != "1" || asked.Semver != "0.2.0" {
		t.Fatalf("abort request in the journal: %+v", asked)
	}
	if got := f.route("production"); got.Share("1") != provider.AllTraffic {
		t.Errorf("production: %s", got.String())
	}
	n := len(f.entries())
	if _, err := f.w.AbortWith(ctx, AbortRequest{ID: "rel-2", Actor: "bob"}); !errors.Is(err, canary.ErrIgnored) {
		t.Errorf("AbortWith of an ended canary: %v, want ErrIgnored", err)
	}
	if _, err := f.w.AbortWith(ctx, AbortRequest{}); !errors.Is(err, provider.ErrInvalid) {
		t.Errorf("AbortWith without an ID: %v, want ErrInvalid", err)
	}
	if got := len(f.entries()); got != n {
		t.Errorf("refused aborts journaled %d entries", got-n)
	}
}

// TestReleaseUnalignedCanaryJudgesWholeWindows: a canary whose step starts
// mid-minute (here after 17 s of integration tests) judges as many whole
// windows as one started on a boundary, and the waiting event says when its
// bake really ends (canary.Plan.BakeEnd): the end of its fifth window, not
// StepStarted + 5m.
func TestReleaseUnalignedCanaryJudgesWholeWindows(t *testing.T) {
	f := newFixture(t, nil)
	f.first()
	res, err := f.release(context.Background(), Request{
		Function: fn, Publish: artifact("v2"),
		Test: func(ctx context.Context, _ Target) error { return f.clock.Sleep(ctx, 17*time.Second) },
	})
	if err != nil || res.Outcome != OutcomePromoted {
		t.Fatalf("Release = %q, %v", res.Outcome, err)
	}
	bakeEnd := provider.AlignDown(start, time.Minute).Add(6 * time.Minute)
	var waiting []time.Time
	var promoted time.Time
	f.mu.Lock()
	for _, e := range f.events {
		if e.Release != res.Release || e.Alias != "production" {
			continue
		}
		switch {
		case e.Kind == EventWaiting:
			waiting = append(waiting, e.Until)
		case e.Kind == EventWeightSet && e.Weight == provider.AllTraffic:
			promoted = e.Time
		}
	}
	f.mu.Unlock()
	if d := cmp.Diff([]time.Time{bakeEnd}, waiting); d != "" {
		t.Errorf("waiting until (-want +got):\n%s", d)
	}
	if !promoted.Equal(bakeEnd) {
		t.Errorf("promoted at %s, want %s, when the fifth window ended", promoted, bakeEnd)
	}
	if len(res.Summary.Verdicts) != 5 {
		t.Errorf("%d verdicts, want 5 whole windows: %+v", len(res.Summary.Verdicts), res.Summary.Verdicts)
	}
}
