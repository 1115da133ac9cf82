package release_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/slipway-dev/slipway/canary"
	"github.com/slipway-dev/slipway/journal"
	"github.com/slipway-dev/slipway/provider"
	"github.com/slipway-dev/slipway/release"
	"github.com/slipway-dev/slipway/semver"
)

func TestLoadEvents(t *testing.T) {
	fsys := fstest.MapFS{
		"contract/a-order.json":        {Data: []byte(`{"orderId":"o-1"}`)},
		"contract/a-order.expect.json": {Data: []byte(`{"response":{"accepted":true}}`)},
		"contract/b-bad.json":          {Data: []byte(`{"orderId":7}`)},
		"contract/b-bad.expect.json":   {Data: []byte(`{"functionError":true}`)},
		"contract/notes.txt":           {Data: []byte(`not an event`)},
	}
	evs, err := release.LoadEvents(fsys, "contract/*.json")
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 2 || evs[0].Name != "a-order.json" || string(evs[0].Expect.Response) != `{"accepted":true}` || !evs[1].Expect.FunctionError {
		t.Errorf("events %+v", evs)
	}
	if _, err := release.LoadEvents(fsys, "nothing/*.json"); !errors.Is(err, provider.ErrInvalid) {
		t.Errorf("no match: %v", err)
	}
	fsys["contract/c.json"] = &fstest.MapFile{Data: []byte(`{`)}
	if _, err := release.LoadEvents(fsys, "contract/*.json"); !errors.Is(err, provider.ErrInvalid) {
		t.Errorf("non-JSON event: %v", err)
	}
}

func TestReplay_Expectations(t *testing.T) {
	pl := memoryPlatform(t)
	pl.publish(t, 1)
	pl.handler(t, "1", func(_ context.Context, p []byte) ([]byte, error) {
		if strings.Contains(string(p), "bad") {
			return nil, errors.New("rejected")
		}
		return []byte(`{"b": 2, "a": 1}`), nil
	})
	c := release.Contract{Events: []release.RecordedEvent{
		{Name: "same json, other order", Payload: json.RawMessage(`{}`), Expect: release.Expectation{Response: json.RawMessage(`{"a":1,"b":2}`)}},
		{Name: "meant to fail", Payload: json.RawMessage(`{"x":"bad"}`), Expect: release.Expectation{FunctionError: true}},
		{Name: "other response", Payload: json.RawMessage(`{}`), Expect: release.Expectation{Response: json.RawMessage(`{"a":2}`)}},
		{Name: "should fail but passes", Payload: json.RawMessage(`{}`), Expect: release.Expectation{FunctionError: true}},
		{Name: "other status", Payload: json.RawMessage(`{}`), Expect: release.Expectation{Status: 202}},
	}}
	rep, err := release.Replay(context.Background(), pl.p.(provider.Invoker), e2eFn, "1", c)
	if !errors.Is(err, release.ErrContractBroken) {
		t.Fatalf("Replay: %v", err)
	}
	var got []string
	for _, r := range rep.Results {
		got = append(got, r.Outcome)
	}
	want := []string{release.ReplayPassed, release.ReplayPassed, release.ReplayFailed, release.ReplayFailed, release.ReplayFailed}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("outcomes %v, want %v (%+v)", got, want, rep.Results)
	}
	if _, err := release.Replay(context.Background(), pl.p.(provider.Invoker), e2eFn, "1", release.Contract{}); !errors.Is(err, provider.ErrInvalid) {
		t.Errorf("empty contract: %v", err)
	}
	rep, err = release.Replay(context.Background(), pl.p.(provider.Invoker), e2eFn, "9", release.Contract{Events: c.Events[:1]})
	if !errors.Is(err, release.ErrContractBroken) || rep.Results[0].Outcome != release.ReplayError {
		t.Errorf("missing version: %v %+v", err, rep.Results)
	}
}

// The command form of the hook: run without a shell, with the release's
// context in the environment, output captured, a non-zero exit reported —
// here after an explicit Rollback of production, which still happens.
func TestRevertHook_CommandAfterExplicitRollback(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	for _, pl := range platforms(t) {
		t.Run(pl.name, func(t *testing.T) {
			j := &journal.MemoryJournal{}
			w := newE2EWorkflow(t, pl, j, func(o *release.Options) {
				o.OnRollback = &release.RevertHook{Command: []string{sh, "-c", `echo "reverting $SLIPWAY_FUNCTION $SLIPWAY_ALIAS from $SLIPWAY_CANDIDATE to $SLIPWAY_STABLE"; echo oops >&2; exit 3`}}
			})
			for _, code := range []string{"v1", "v2"} {
				if _, err := releaseOn(pl, w, release.Request{Function: e2eFn, Publish: pubReq(code, semver.Minor), Strategy: allAtOnce()}); err != nil {
					t.Fatal(err)
				}
			}
			res, err := w.RollbackWith(context.Background(), release.RollbackRequest{Function: e2eFn, ID: "rb"})
			if err != nil {
				t.Fatal(err)
			}
			if got := serves(t, pl, "production"); got != "1" || res.Outcome != release.OutcomeRolledBack {
				t.Fatalf("production serves %s (%s)", got, res.Outcome)
			}
			if res.Revert == nil || res.Revert.Err != "exit status 3" || !strings.Contains(res.Revert.Output, "reverting orders production from 2 to 1") || !strings.Contains(res.Revert.Output, "oops") {
				t.Errorf("revert %+v", res.Revert)
			}
			if _, ok := findEntry(journalOf(t, j, "rb"), "infrastructure revert failed"); !ok {
				t.Errorf("journal %+v", journalOf(t, j, "rb"))
			}
		})
	}
}

func TestRevertHook_Validate(t *testing.T) {
	for _, h := range []release.RevertHook{{}, {Command: []string{""}}, {Command: []string{"x"}, Timeout: -1},
		{Command: []string{"x"}, Func: func(context.Context, release.RevertContext, io.Writer) error { return nil }}} {
		if err := h.Validate(); !errors.Is(err, provider.ErrInvalid) {
			t.Errorf("Validate(%+v) = %v", h, err)
		}
	}
	pl := memoryPlatform(t)
	if _, err := release.New(release.Options{Runner: canary.RunnerOptions{Provider: pl.p}, OnRollback: &release.RevertHook{}}); !errors.Is(err, provider.ErrInvalid) {
		t.Errorf("New with an empty hook: %v", err)
	}
	res, err := release.RevertHook{Func: func(context.Context, release.RevertContext, io.Writer) error { panic("boom") }}.Run(context.Background(), release.RevertContext{})
	if err == nil || !strings.Contains(res.Err, "panicked: boom") {
		t.Errorf("a panicking hook: %v %+v", err, res)
	}
}

// A drill killed mid-way resumes from a FileJournal reopened by another
// process.
func TestDrill_ResumedFromAFileJournal(t *testing.T) {
	pl := memoryPlatform(t)
	vs, mj := drillSetup(t, pl, false)
	path := filepath.Join(t.TempDir(), "journal.jsonl")
	fj, err := journal.OpenFileJournal(path)
	if err != nil {
		t.Fatal(err)
	}
	for e, err := range mj.Entries(context.Background(), journal.Filter{}) {
		if err != nil {
			t.Fatal(err)
		}
		if err := fj.Append(context.Background(), e); err != nil {
			t.Fatal(err)
		}
	}
	killed := newE2EWorkflow(t, pl, fj, func(o *release.Options) {
		o.Runner.Provider = &dying{Provider: pl.p, inv: pl.p.(provider.Invoker), n: 1}
		o.Runner.Retry = provider.RetryPolicy{MaxAttempts: 1}
	})
	if _, err := killed.Drill(context.Background(), release.DrillRequest{Function: e2eFn, ID: "d", Probe: []byte(`{}`)}); err == nil {
		t.Fatal("the killed drill succeeded")
	}
	if err := fj.Close(); err != nil {
		t.Fatal(err)
	}
	reopened, err := journal.OpenFileJournal(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { reopened.Close() })
	res, err := newE2EWorkflow(t, pl, reopened, nil).ResumeDrill(context.Background(), e2eFn, "d")
	if err != nil || !res.Resumed {
		t.Fatalf("ResumeDrill: %+v %v", res, err)
	}
	if got := stagingServes(t, pl); got != vs[1] {
		t.Errorf("staging serves %s", got)
	}
}

func TestContractSourceLoad(t *testing.T) {
	fsys := fstest.MapFS{
		"contract/a.json":   {Data: []byte(`{"orderId":"o-1"}`)},
		"schema/input.json": {Data: []byte(inputV2)},
		"schema/bad.json":   {Data: []byte(`{"type":1}`)},
	}
	c, err := release.ContractSource{Events: "contract/*.json", Schema: "schema/input.json"}.Load(fsys)
	if err != nil || len(c.Events) != 1 || string(c.Schema) != inputV2 {
		t.Fatalf("Load: %+v %v", c, err)
	}
	if _, err := (release.ContractSource{Events: "contract/*.json", Schema: "schema/bad.json"}).Load(fsys); !errors.Is(err, provider.ErrInvalid) {
		t.Errorf("bad schema: %v", err)
	}
	if _, err := (release.ContractSource{Events: "contract/*.json", Schema: "schema/none.json"}).Load(fsys); err == nil {
		t.Error("missing schema file loaded")
	}
}

// Without a staging stage the contract is replayed on the candidate
// version before the canary; a failure leaves production alone.
func TestReleaseContract_NoStagingStage(t *testing.T) {
	pl := memoryPlatform(t)
	j := &journal.MemoryJournal{}
	w := newE2EWorkflow(t, pl, j, func(o *release.Options) { o.Stages = release.Stages{Production: "production"} })
	pl.handler(t, "1", orderHandler(false))
	pl.handler(t, "2", orderHandler(true))
	c := &release.Contract{Events: []release.RecordedEvent{oldShape}}
	if _, err := releaseOn(pl, w, release.Request{Function: e2eFn, ID: "r1", Publish: pubReq("v1", semver.Minor), Strategy: allAtOnce(), Contract: c}); err != nil {
		t.Fatal(err)
	}
	res, err := releaseOn(pl, w, release.Request{Function: e2eFn, ID: "r2", Publish: pubReq("v2", semver.Minor), Strategy: allAtOnce(), Contract: c})
	if !errors.Is(err, release.ErrContractBroken) || res.Replay.Qualifier != "2" {
		t.Fatalf("Release: %v %+v", err, res.Replay)
	}
	if got := serves(t, pl, "production"); got != "1" {
		t.Errorf("production serves %s", got)
	}
	if e, ok := findEntry(journalOf(t, j, "r2"), "contract failed"); !ok || e.Alias != "" {
		t.Errorf("journal entry %+v", e)
	}
}
