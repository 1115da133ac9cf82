package main

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/slipway-dev/slipway/journal"
	"github.com/slipway-dev/slipway/provider/memory"
)

// The release steps through the built binary, in virtual time unless a
// test kills a step mid-way.

// writeConfig replaces the job's slipway.yaml.
func (j *job) writeConfig(doc string) {
	j.t.Helper()
	if err := os.WriteFile(filepath.Join(j.dir, "slipway.yaml"), []byte(doc), 0o644); err != nil {
		j.t.Fatal(err)
	}
}

// decisions are the journal's decision entries with outcome.
func decisions(es []journal.Entry, outcome string) []journal.Entry {
	var out []journal.Entry
	for _, e := range es {
		if e.Kind == journal.EntryDecision && e.Outcome == outcome {
			out = append(out, e)
		}
	}
	return out
}

// TestBinaryContractStopsBeforeProduction: a release whose candidate
// schema (publish.schema.candidate) rejects an event recorded before it
// (contract.events) exits 1 before any production traffic: production
// stays on the old version, staging is put back, the bump the schema
// diff chose (MAJOR: a new required property) is journaled with its
// reason, and the failed replay is in the journal, the log and the
// summary.
func TestBinaryContractStopsBeforeProduction(t *testing.T) {
	j := newJob(t, "functions:\n  - name: checkout\n")
	stepFiles(t, j.dir)
	j.must(exitOK, "release", "--code", "v1", "--semver", "1.0.0")
	summary := filepath.Join(j.dir, "summary.md")
	j.env = append(j.env, "SLIPWAY_SUMMARY_FILE="+summary)
	if err := os.WriteFile(filepath.Join(j.dir, "commits.txt"), []byte("fix: accept orders from the new checkout\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	j.writeConfig(`functions:
  - name: checkout
publish:
  schema:
    previous: schema/v1.json
    candidate: schema/v2.json
contract:
  events: contract/*.json
`)
	s := j.must(exitError, "release", "--code", "v2", "--commits-file", "commits.txt")
	if got := j.route("production"); got != "1=100%" {
		t.Errorf("production: %s, want untouched on 1", got)
	}
	if got := j.route("staging"); got != "1=100%" {
		t.Errorf("staging: %s, want put back on 1", got)
	}
	out := s.stdout + s.stderr
	if !strings.Contains(out, "order-v1.json: rejected by schema") {
		t.Errorf("the log does not name the rejected event:\n%s", out)
	}
	es := j.journal()
	failed := decisions(es, "contract failed")
	if len(failed) != 1 || !strings.Contains(failed[0].Reason, "1/2 events failed: order-v1.json: rejected by schema") || failed[0].Candidate != "2" {
		t.Errorf("contract failed entries: %+v", failed)
	}
	bumped := false
	for _, e := range es {
		if e.Kind == journal.EntryPublish && e.Candidate == "2" {
			bumped = e.Semver == "2.0.0" && strings.Contains(e.Reason, "version bump major") && strings.Contains(e.Reason, "customerId")
			if !bumped {
				t.Errorf("publish entry: semver %s, reason %q", e.Semver, e.Reason)
			}
		}
		if e.Alias == "production" && e.After != nil && e.After.Share("2") > 0 {
			t.Errorf("production was touched: %+v", e)
		}
	}
	if !bumped {
		t.Error("no publish entry of version 2")
	}
	md, err := os.ReadFile(summary)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Contract replay | ❌ 1/2 events failed", "Version bump | major"} {
		if !strings.Contains(string(md), want) {
			t.Errorf("the summary lacks %q:\n%s", want, md)
		}
	}
	// A candidate that still accepts the old events is released, with the
	// contract passed and a MINOR bump for a new optional property.
	compatible := `{"type":"object","properties":{"orderId":{"type":"string"},"customerId":{"type":"string"}},"required":["orderId"]}`
	if err := os.WriteFile(filepath.Join(j.dir, "schema", "v2.json"), []byte(compatible), 0o644); err != nil {
		t.Fatal(err)
	}
	j.must(exitOK, "release", "--code", "v3", "--commits-file", "commits.txt", "--strategy", "AllAtOnce")
	if got := j.route("production"); got != "3=100%" {
		t.Errorf("production after the compatible release: %s", got)
	}
	es = j.journal()
	if passed := decisions(es, "contract passed"); len(passed) != 1 || !strings.Contains(passed[0].Reason, "2/2 events passed") {
		t.Errorf("contract passed entries: %+v", passed)
	}
}

// drillConfig is a rehearsal with a drill of staging verified by a probe
// and one window of the absolute error-rate check.
func drillConfig(window string) string {
	return rehearsalConfig("10m") + `  maxErrorRate: 0.2
drill:
  probe: {ping: true}
  checks: [maxErrorRate]
  window: ` + window + `
`
}

// TestBinaryDrill: slipway drill moves staging to its rollback point,
// verifies it, moves it back and journals both times; a drill killed
// mid-way is finished by the next slipway drill, which puts the alias back
// as it was found; no drill runs in a freeze.
func TestBinaryDrill(t *testing.T) {
	j := newJob(t, drillConfig("2s"))
	j.staged() // production on 1, staging on 2
	s := j.must(exitOK, "drill")
	// Virtual time: the window starts at the next whole second.
	times := regexp.MustCompile(`rolled back from 2 to 1 in (2(\.[0-9]+)?s), restored in (0s|[0-9.]+m?s)`)
	m := times.FindStringSubmatch(s.stdout)
	if m == nil || !strings.Contains(s.stdout, "slipway: drill checkout: passed on staging: ") {
		t.Errorf("drill output:\n%s", s.stdout)
	}
	if got := j.route("staging"); got != "2=100%" {
		t.Errorf("staging after the drill: %s, want as found", got)
	}
	es := j.journal()
	fin := decisions(es, "drill finished")
	if len(fin) != 1 || !times.MatchString(fin[0].Reason) ||
		!strings.Contains(fin[0].Reason, "probe answered by version 1") || !strings.Contains(fin[0].Reason, "check max error rate passed") {
		t.Errorf("drill finished entries: %+v", fin)
	}
	var moves []string
	for _, e := range es {
		if e.Release == fin[0].Release && e.After != nil {
			moves = append(moves, string(e.Kind)+" "+e.After.Traffic())
		}
	}
	if got, want := strings.Join(moves, ", "), "rollback 1=100%, route 2=100%"; got != want {
		t.Errorf("the drill's route changes: %s, want %s", got, want)
	}
	if got := j.route("production"); got != "1=100%" {
		t.Errorf("production: %s, want untouched", got)
	}

	// Killed while it verifies (in real time, a 30s window): the next drill
	// finishes it.
	kill := j.command("drill", "--real-time", "--window", "30s")
	if err := kill.Start(); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(time.Minute); j.routeOrEmpty("staging") != "1=100%" && time.Now().Before(deadline); {
		time.Sleep(50 * time.Millisecond)
	}
	if err := kill.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = kill.Wait()
	if got := j.route("staging"); got != "1=100%" {
		t.Fatalf("staging after the kill: %s, want on the rollback point", got)
	}
	r := j.must(exitOK, "drill")
	if !strings.Contains(r.stdout, "left unfinished by a process that stopped") || !strings.Contains(r.stdout, "restored after a restart on staging: back on 2") {
		t.Errorf("the resumed drill's output:\n%s", r.stdout)
	}
	if got := j.route("staging"); got != "2=100%" {
		t.Errorf("staging after the resumed drill: %s, want as found", got)
	}
	if fin := decisions(j.journal(), "drill finished"); len(fin) != 2 || !strings.Contains(fin[1].Reason, "after the process that began it stopped") {
		t.Errorf("drill finished entries: %+v", fin)
	}

	// A freeze refuses a drill before anything moves.
	j.writeConfig(drillConfig("2s") + "freezes:\n  - name: year-end\n    start: 2000-01-01\n    end: 2999-01-01\n")
	before := len(j.journal())
	f := j.must(exitError, "drill")
	if !strings.Contains(f.stderr, `freeze "year-end": no drill during a freeze`) {
		t.Errorf("drill in a freeze: %s", f.stderr)
	}
	if n := len(j.journal()); n != before {
		t.Errorf("a refused drill journaled %d entries", n-before)
	}
}

// routeOrEmpty reads an alias, "" while it cannot be read (the state
// file is being written, or the alias does not exist yet).
func (j *job) routeOrEmpty(alias string) string {
	mem, err := memory.New(memory.Options{Path: filepath.Join(j.dir, ".slipway", "memory.json"), Seed: 1})
	if err != nil {
		return ""
	}
	r, err := mem.Route(context.Background(), "checkout", alias)
	if err != nil {
		return ""
	}
	return r.Traffic()
}

// TestBinaryOnRollbackFails: an onRollback command that fails after a
// canary rolled back is reported (log, journal, summary), with its output
// and without the secrets of the environment, and the traffic rollback
// stands (exit 3, production on the stable version).
func TestBinaryOnRollbackFails(t *testing.T) {
	j := newJob(t, rehearsalConfig("10m")+`onRollback:
  command: [sh, -c, 'echo reverting $SLIPWAY_CANDIDATE to $SLIPWAY_STABLE; echo "token=$DEPLOY_TOKEN"; exit 3']
  timeout: 1m
`)
	summary := filepath.Join(j.dir, "summary.md")
	j.env = append(j.env, "SLIPWAY_SUMMARY_FILE="+summary, "DEPLOY_TOKEN=tf-secret-value-0042")
	j.staged()
	s := j.must(exitRolledBack, "promote", "--simulate-error-rate", "0.3")
	if got := j.route("production"); got != "1=100%" {
		t.Errorf("production: %s, want rolled back to 1", got)
	}
	if !strings.Contains(s.stdout, "onRollback failed (the traffic rollback stands): onRollback sh: exit status 3") {
		t.Errorf("the failure is not reported:\n%s", s.stdout)
	}
	es := j.journal()
	failed := decisions(es, "infrastructure revert failed")
	if len(failed) != 1 || !strings.Contains(failed[0].Reason, "reverting 2 to 1") || !strings.Contains(failed[0].Reason, "token=[redacted $DEPLOY_TOKEN]") {
		t.Errorf("revert entries: %+v", failed)
	}
	rolledBack := false
	for _, e := range es {
		rolledBack = rolledBack || (e.Alias == "production" && e.After != nil && e.After.Traffic() == "1=100%" && e.Candidate == "2")
	}
	if !rolledBack {
		t.Error("the rollback of production is not journaled")
	}
	md, err := os.ReadFile(summary)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(md), "Infrastructure revert | ❌ failed") || !strings.Contains(string(md), "reverting 2 to 1") {
		t.Errorf("the summary lacks the revert:\n%s", md)
	}
	all := s.stdout + s.stderr + string(md)
	for _, e := range es {
		all += e.Reason
	}
	if strings.Contains(all, "tf-secret-value-0042") {
		t.Error("the secret reached the log, the journal or the summary")
	}
}
