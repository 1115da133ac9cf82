package main

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/slipway-dev/slipway/journal"
	"github.com/slipway-dev/slipway/provider"
)

// dieOn is a writer that ends the goroutine writing a line containing
// marker, as SIGKILL ends a process: nothing after that line runs. (The
// deferred calls run, closing the journal and the store as the kernel
// would close their files; they write nothing.)
type dieOn struct {
	marker string
	died   *atomic.Bool
}

func (d dieOn) Write(b []byte) (int, error) {
	if bytes.Contains(b, []byte(d.marker)) {
		d.died.Store(true)
		runtime.Goexit()
	}
	return len(b), nil
}

// killedRelease is the release ID of the promote killedPromote kills.
const killedRelease = "checkout-gh7.1-promote"

// killedPromote publishes version 2 (v0.2.0) over version 1 and runs a
// promote of it, in CI run 7, that dies when its first step starts to
// bake: production is split 90/10 with no owner, the canary's state is in
// the store, and the journal has the step without an outcome. Later steps
// run in CI run 8.
func (p *pipeline) killedPromote(args ...string) {
	p.t.Helper()
	p.killedPromoteAt("step 1 of 2 bakes", args...)
	r := p.route("production")
	if r.Share("1") != 9000 || r.Share("2") != 1000 {
		p.t.Fatalf("production after the killed promote: %s, want 1=90%% 2=10%%", r.Traffic())
	}
	for _, e := range p.journal() {
		if e.Release == killedRelease && e.Kind == journal.EntryDecision && slices.Contains(finalOutcomes, e.Outcome) {
			p.t.Fatalf("the killed promote journaled an outcome: %+v", e)
		}
	}
}

// killedPromoteAt is killedPromote dying when its log reaches marker.
func (p *pipeline) killedPromoteAt(marker string, args ...string) {
	p.t.Helper()
	p.first()
	p.must(exitOK, "publish", "--code", "v2", "--level", "minor")
	p.env["GITHUB_RUN_ID"], p.env["GITHUB_RUN_ATTEMPT"] = "7", "1"
	var died atomic.Bool
	p.runCtx(context.Background(), dieOn{marker: marker, died: &died}, append([]string{"promote"}, args...)...)
	if !died.Load() {
		p.t.Fatalf("the promote never logged %q", marker)
	}
	p.env["GITHUB_RUN_ID"] = "8"
}

// releaseEntries returns the journal's entries of release id on
// production, as "kind outcome" strings.
func (p *pipeline) releaseEntries(id string) []string {
	p.t.Helper()
	var out []string
	for _, e := range p.journal() {
		if e.Release == id && e.Alias == "production" {
			out = append(out, strings.TrimSpace(string(e.Kind)+" "+e.Outcome))
		}
	}
	return out
}

// files returns the state directory's files and their contents.
func (p *pipeline) files() map[string]string {
	p.t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(p.dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		out[path] = string(b)
		return err
	})
	if err != nil {
		p.t.Fatal(err)
	}
	return out
}

func TestResumeAfterAJobDiedMidCanary(t *testing.T) {
	p := newPipeline(t)
	p.killedPromote()
	os.Remove(p.summary)
	os.Remove(p.output)

	s := p.must(exitOK, "resume")
	allOn(t, p.route("production"), "2")
	allOn(t, p.route("staging"), "2")
	for _, want := range []string{
		"resume checkout: release " + killedRelease + ": its canary stopped in phase Baking at step 1 of 2 (1=90% 2=10%)",
		"resuming from Baking, step 1",
		"verdict at 10%: error rate pass",
		"slipway: resume checkout: promoted 2 (v0.2.0) on production (stable 1)",
	} {
		if !strings.Contains(s.stdout, want) {
			t.Errorf("resume's log lacks %q:\n%s", want, s.stdout)
		}
	}
	if out := p.read(p.output); !strings.Contains(out, "outcome=promoted\nrelease="+killedRelease+"\nalias=production\nversion=2\nsemver=0.2.0\nstable=1\n") {
		t.Errorf("outputs:\n%s", out)
	}
	if sum := p.read(p.summary); !strings.Contains(sum, "production`: promoted") {
		t.Errorf("step summary:\n%s", sum)
	}
	// The release's journal: the killed job's 10% step, then the resumed
	// canary's promotion and the outcome.
	want := []string{"route", "promote", "decision promoted"}
	if got := p.releaseEntries(killedRelease); !slices.Equal(got, want) {
		t.Errorf("journal of %s: %q, want %q", killedRelease, got, want)
	}
	if s := p.must(exitOK, "status"); !strings.Contains(s.stdout, "none: every route is as the journal left it") {
		t.Errorf("status after resume:\n%s", s.stdout)
	}

	// Resumed once is resumed: a second resume finds nothing and writes
	// nothing.
	before := p.files()
	if s := p.must(exitOK, "resume"); !strings.Contains(s.stdout, "nothing to resume") {
		t.Errorf("second resume:\n%s", s.stdout)
	}
	if after := p.files(); !maps.Equal(before, after) {
		t.Error("a resume that found nothing changed the state directory")
	}
}

func TestResumeRollsBackAFaultyCandidate(t *testing.T) {
	p := newPipeline(t)
	// The candidate's behaviour is kept in the state: the resumed canary
	// judges the same faulty version.
	p.killedPromote("--simulate-error-rate", "0.3")
	os.Remove(p.output)

	s := p.must(exitRolledBack, "resume", "--release", killedRelease)
	allOn(t, p.route("production"), "1")
	allOn(t, p.route("staging"), "2")
	for _, want := range []string{"verdict at 10%: error rate fail", "slipway: resume checkout: rolled back 2 (v0.2.0) on production (stable 1)"} {
		if !strings.Contains(s.stdout, want) {
			t.Errorf("resume's log lacks %q:\n%s", want, s.stdout)
		}
	}
	if out := p.read(p.output); !strings.Contains(out, "outcome=rolled back\nrelease="+killedRelease+"\n") {
		t.Errorf("outputs:\n%s", out)
	}
	want := []string{"route", "rollback", "decision rolled back"}
	if got := p.releaseEntries(killedRelease); !slices.Equal(got, want) {
		t.Errorf("journal of %s: %q, want %q", killedRelease, got, want)
	}
}

func TestResumeWithSimulatedFaults(t *testing.T) {
	p := newPipeline(t)
	p.killedPromote()
	// A healthy candidate made faulty for the rest of the canary.
	p.must(exitRolledBack, "resume", "--simulate-error-rate", "0.5")
	allOn(t, p.route("production"), "1")
}

func TestAbortAfterAJobDiedMidCanary(t *testing.T) {
	p := newPipeline(t)
	p.killedPromote()
	os.Remove(p.output)
	p.env["GITHUB_ACTOR"] = "oncall"

	s := p.must(exitOK, "abort", "--reason", "checkout errors in eu-west")
	allOn(t, p.route("production"), "1")
	allOn(t, p.route("staging"), "2")
	if !strings.Contains(s.stdout, "slipway: abort checkout: rolled back 2 (v0.2.0) on production (stable 1)") {
		t.Errorf("abort's log:\n%s", s.stdout)
	}
	if out := p.read(p.output); !strings.Contains(out, "outcome=rolled back\nrelease="+killedRelease+"\n") {
		t.Errorf("outputs:\n%s", out)
	}
	want := []string{"route", "decision abort requested", "rollback", "decision rolled back"}
	if got := p.releaseEntries(killedRelease); !slices.Equal(got, want) {
		t.Errorf("journal of %s: %q, want %q", killedRelease, got, want)
	}
	for _, e := range p.journal() {
		switch {
		case e.Release != killedRelease:
		case e.Outcome == "abort requested" && (e.Actor != "oncall" || e.Reason != "checkout errors in eu-west"):
			t.Errorf("abort request entry: actor %q reason %q", e.Actor, e.Reason)
		case e.Kind == journal.EntryRollback && (e.After == nil || e.After.Share("1") != provider.AllTraffic):
			t.Errorf("rollback entry's route: %+v", e.After)
		}
	}
	if s := p.must(exitOK, "status"); !strings.Contains(s.stdout, "production   1=100%") || !strings.Contains(s.stdout, "none: every route is as the journal left it") {
		t.Errorf("status after abort:\n%s", s.stdout)
	}
	// Nothing is left to resume or abort.
	p.must(exitOK, "resume")
	if s := p.must(exitOK, "abort"); !strings.Contains(s.stdout, "nothing to abort") {
		t.Errorf("second abort:\n%s", s.stdout)
	}
	allOn(t, p.route("production"), "1")
}

func TestAbortRequestOnlyThenResume(t *testing.T) {
	p := newPipeline(t)
	p.killedPromote()

	// The request alone moves no traffic: the canary's runner does.
	s := p.must(exitOK, "abort", "--request-only")
	if !strings.Contains(s.stdout, "abort of release "+killedRelease+" recorded (now RollingBack") {
		t.Errorf("abort -request-only:\n%s", s.stdout)
	}
	if r := p.route("production"); r.Share("2") != 1000 {
		t.Errorf("production after the request: %s, want still split", r.Traffic())
	}
	// A later resume drives the aborted canary back.
	p.must(exitRolledBack, "resume")
	allOn(t, p.route("production"), "1")
}

func TestResumeNothingUnfinished(t *testing.T) {
	t.Run("no state", func(t *testing.T) {
		// No state: the function is unknown, which is an error (a typo
		// in --function must not pass as "nothing to do").
		p := newPipeline(t)
		for _, cmd := range []string{"resume", "abort"} {
			if s := p.must(exitError, cmd); !strings.Contains(s.stderr, `function "checkout" does not exist`) {
				t.Errorf("%s:\n%s", cmd, s.stderr)
			}
		}
		if _, err := os.Stat(p.dir); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("the state directory was created (%v)", err)
		}
	})
	t.Run("promoted", func(t *testing.T) {
		p := newPipeline(t)
		p.first()
		p.must(exitOK, "publish", "--code", "v2", "--level", "minor")
		p.must(exitOK, "promote")
		before := p.files()
		for _, cmd := range []string{"resume", "abort"} {
			os.Remove(p.output)
			s := p.must(exitOK, cmd)
			if !strings.Contains(s.stdout, "nothing to "+cmd+": no saved canary of checkout on \"production\" is unfinished") {
				t.Errorf("%s:\n%s", cmd, s.stdout)
			}
			if out := p.read(p.output); !strings.Contains(out, "outcome=nothing to "+cmd+"\n") {
				t.Errorf("%s's outputs:\n%s", cmd, out)
			}
		}
		if after := p.files(); !maps.Equal(before, after) {
			t.Error("resume or abort changed the state directory")
		}
		allOn(t, p.route("production"), "2")
	})
	t.Run("finished release named", func(t *testing.T) {
		p := newPipeline(t)
		p.first()
		p.must(exitOK, "publish", "--code", "v2", "--level", "minor", "--id", "run9")
		p.must(exitOK, "promote", "--id", "run9")
		s := p.must(exitOK, "resume", "--release", "run9-promote")
		if !strings.Contains(s.stdout, "its canary ended (Succeeded) and the release's outcome is journaled (promoted)") {
			t.Errorf("resume of a finished release:\n%s", s.stdout)
		}
	})
	t.Run("superseded by a rollback", func(t *testing.T) {
		// The killed job's canary state stays in the store for good; the
		// rollback done by hand since owns production now.
		p := newPipeline(t)
		p.killedPromote()
		p.must(exitOK, "rollback")
		allOn(t, p.route("production"), "1")
		before := p.files()
		for _, cmd := range []string{"resume", "abort"} {
			if s := p.must(exitOK, cmd); !strings.Contains(s.stdout, "nothing to "+cmd) {
				t.Errorf("%s:\n%s", cmd, s.stdout)
			}
			s := p.must(exitOK, cmd, "--release", killedRelease)
			if !strings.Contains(s.stdout, "superseded") {
				t.Errorf("%s -release:\n%s", cmd, s.stdout)
			}
		}
		if after := p.files(); !maps.Equal(before, after) {
			t.Error("resume or abort of a superseded canary changed the state directory")
		}
	})
}

func TestResumeUnknownRelease(t *testing.T) {
	p := newPipeline(t)
	p.first()
	s := p.must(exitError, "resume", "--release", "checkout-gh99.1-promote")
	if !strings.Contains(s.stderr, "release checkout-gh99.1-promote has no canary of checkout") {
		t.Errorf("stderr: %s", s.stderr)
	}
}

// TestResumeOrphanedSplit: the killed job's canary state was lost (a CI
// cache not saved), but its split route was journaled. Resume cannot
// drive a canary it has no state of and says so; abort rolls production
// back from the journal.
func TestResumeOrphanedSplit(t *testing.T) {
	p := newPipeline(t)
	p.killedPromote()
	if err := os.RemoveAll(filepath.Join(p.dir, "rollouts")); err != nil {
		t.Fatal(err)
	}

	s := p.must(exitError, "resume")
	if !strings.Contains(s.stderr, `"production" of checkout is split (1=90% 2=10%) and no saved canary owns it`) {
		t.Errorf("resume's stderr: %s", s.stderr)
	}
	if r := p.route("production"); r.Share("2") != 1000 {
		t.Errorf("resume changed production: %s", r.Traffic())
	}
	s = p.must(exitOK, "abort")
	allOn(t, p.route("production"), "1")
	if !strings.Contains(s.stdout, "putting it back on its primary version 1") || !strings.Contains(s.stdout, "rolled back: back on 1") {
		t.Errorf("abort's log:\n%s", s.stdout)
	}
}

// TestAbortOrphanedSplitWithoutItsJournal: the journal was lost with the
// state (an older copy restored): it knows neither the split nor a
// version before the one it last promoted. Abort still restores the
// version the canary was moving away from.
func TestAbortOrphanedSplitWithoutItsJournal(t *testing.T) {
	p := newPipeline(t)
	p.killedPromote()
	if err := os.RemoveAll(filepath.Join(p.dir, "rollouts")); err != nil {
		t.Fatal(err)
	}
	des, err := os.ReadDir(filepath.Join(p.dir, "journal"))
	if err != nil {
		t.Fatal(err)
	}
	for _, de := range des {
		path := filepath.Join(p.dir, "journal", de.Name())
		if strings.Contains(p.read(path), killedRelease) {
			if err := os.Remove(path); err != nil {
				t.Fatal(err)
			}
		}
	}
	p.must(exitError, "rollback") // the journal has no version before 1
	p.must(exitOK, "abort")
	allOn(t, p.route("production"), "1")
}

func TestResumeAndAbortHelp(t *testing.T) {
	p := newPipeline(t)
	for cmd, wants := range map[string][]string{
		"resume": {"--release", "SLIPWAY_RELEASE", "--error-rate-factor", "--simulate-error-rate", "--keep-last", "--webhook"},
		"abort":  {"--release", "SLIPWAY_RELEASE", "--reason", "--request-only", "SLIPWAY_ABORT_REQUEST_ONLY", "--webhook"},
	} {
		s := p.must(exitOK, cmd, "--help")
		for _, want := range wants {
			if !strings.Contains(s.stdout, want) {
				t.Errorf("%s -h lacks %q:\n%s", cmd, want, s.stdout)
			}
		}
	}
	if s := p.run(); !strings.Contains(s.stderr, "resume") || !strings.Contains(s.stderr, "abort") {
		t.Errorf("usage lacks resume and abort:\n%s", s.stderr)
	}
}

// TestResumeAfterTheLastWrite: the job died right after production's
// final write, before its canary saved the write: the route already has
// the traffic the saved state waits for, and resume takes it as written.
func TestResumeAfterTheLastWrite(t *testing.T) {
	p := newPipeline(t)
	p.killedPromoteAt("weight set: 100% to 2")
	allOn(t, p.route("production"), "2")

	s := p.must(exitOK, "resume")
	if !strings.Contains(s.stdout, "right after writing 2=100%") || !strings.Contains(s.stdout, "resume checkout: promoted 2 (v0.2.0) on production (stable 1)") {
		t.Errorf("resume:\n%s", s.stdout)
	}
	allOn(t, p.route("production"), "2")
	want := []string{"route", "promote", "decision promoted"}
	if got := p.releaseEntries(killedRelease); !slices.Equal(got, want) {
		t.Errorf("journal of %s: %q, want %q (the final write journaled once)", killedRelease, got, want)
	}
}

// TestResumeFinishesAnEndedCanary: the job died after its canary promoted
// and before the release's outcome was journaled (during retention):
// resume only finishes the release, moving no traffic.
func TestResumeFinishesAnEndedCanary(t *testing.T) {
	p := newPipeline(t)
	p.killedPromoteAt("prune    production  step started", "--keep-last", "1")
	allOn(t, p.route("production"), "2")
	if got, want := p.releaseEntries(killedRelease), []string{"route", "promote"}; !slices.Equal(got, want) {
		t.Fatalf("journal of the killed promote: %q, want %q", got, want)
	}

	s := p.must(exitOK, "resume", "--keep-last", "1")
	if !strings.Contains(s.stdout, "its canary ended (Succeeded) but the release's outcome was never journaled") ||
		!strings.Contains(s.stdout, "resume checkout: promoted 2 (v0.2.0) on production (stable 1)") {
		t.Errorf("resume:\n%s", s.stdout)
	}
	allOn(t, p.route("production"), "2")
	want := []string{"route", "promote", "decision pruned", "decision promoted"}
	if got := p.releaseEntries(killedRelease); !slices.Equal(got, want) {
		t.Errorf("journal of %s: %q, want %q", killedRelease, got, want)
	}
	// Abort has no canary to roll back: production stays promoted.
	if s := p.must(exitOK, "abort"); !strings.Contains(s.stdout, "nothing to abort") {
		t.Errorf("abort after resume:\n%s", s.stdout)
	}
}
