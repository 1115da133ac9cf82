package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"gocloud.dev/blob/fileblob"

	"github.com/slipway-dev/slipway/internal/filelock"
	"github.com/slipway-dev/slipway/journal"
	"github.com/slipway-dev/slipway/journal/blobjournal"
	"github.com/slipway-dev/slipway/notify"
	"github.com/slipway-dev/slipway/provider"
	"github.com/slipway-dev/slipway/provider/memory"
)

const fn = "checkout"

// pipeline is a CI job's workspace: a state directory and the files
// GitHub Actions gives a step, shared by the steps (run calls) of a test.
type pipeline struct {
	t       *testing.T
	dir     string
	env     map[string]string
	summary string // $GITHUB_STEP_SUMMARY
	output  string // $GITHUB_OUTPUT
}

func newPipeline(t *testing.T) *pipeline {
	t.Helper()
	dir := t.TempDir()
	p := &pipeline{t: t, dir: filepath.Join(dir, "state"), summary: filepath.Join(dir, "summary.md"), output: filepath.Join(dir, "output.txt")}
	p.env = map[string]string{
		"SLIPWAY_FUNCTION":    fn,
		"SLIPWAY_STATE_DIR":   p.dir,
		"GITHUB_STEP_SUMMARY": p.summary,
		"GITHUB_OUTPUT":       p.output,
	}
	return p
}

// step is one process's run: its exit code and what it printed.
type step struct {
	code           int
	stdout, stderr string
}

// run runs the command in-process, as a new process would: nothing is
// shared with earlier steps but the files.
func (p *pipeline) run(args ...string) step {
	p.t.Helper()
	return p.runCtx(context.Background(), nil, args...)
}

func (p *pipeline) runCtx(ctx context.Context, stdout io.Writer, args ...string) step {
	p.t.Helper()
	var out, errb bytes.Buffer
	w := io.Writer(&out)
	if stdout != nil {
		w = io.MultiWriter(&out, stdout)
	}
	code := run(ctx, args, func(k string) string { return p.env[k] }, w, &errb)
	return step{code: code, stdout: out.String(), stderr: errb.String()}
}

// must runs a step that must exit with code.
func (p *pipeline) must(code int, args ...string) step {
	p.t.Helper()
	s := p.run(args...)
	if s.code != code {
		p.t.Fatalf("%v: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", args, s.code, code, s.stdout, s.stderr)
	}
	return s
}

// open opens a memory provider on the state file, as another process
// would (without a clock: reads only, or an out-of-band change).
func (p *pipeline) open() *memory.Provider {
	p.t.Helper()
	mem, err := memory.New(memory.Options{Path: filepath.Join(p.dir, "memory.json"), Seed: 1})
	if err != nil {
		p.t.Fatal(err)
	}
	return mem
}

func (p *pipeline) route(alias string) provider.Route {
	p.t.Helper()
	r, err := p.open().Route(context.Background(), fn, alias)
	if err != nil {
		p.t.Fatal(err)
	}
	return r
}

func (p *pipeline) versions() []string {
	p.t.Helper()
	var ids []string
	for v, err := range p.open().Versions(context.Background(), fn) {
		if err != nil {
			p.t.Fatal(err)
		}
		ids = append(ids, v.ID)
	}
	return ids
}

func (p *pipeline) journal() []journal.Entry {
	p.t.Helper()
	j, err := p.openJournal()
	if err != nil {
		p.t.Fatal(err)
	}
	defer j.Close()
	var out []journal.Entry
	for e, err := range j.Entries(context.Background(), journal.Filter{}) {
		if err != nil {
			p.t.Fatal(err)
		}
		out = append(out, e)
	}
	return out
}

// openJournal opens the state directory's journal, as another process
// would.
func (p *pipeline) openJournal() (*blobjournal.Journal, error) {
	p.t.Helper()
	b, err := fileblob.OpenBucket(p.dir, &fileblob.Options{NoTempDir: true, Metadata: fileblob.MetadataDontWrite, CreateDir: true})
	if err != nil {
		return nil, err
	}
	p.t.Cleanup(func() { b.Close() })
	return blobjournal.Open(context.Background(), b, blobjournal.Options{Guard: filelock.Guard(filepath.Join(p.dir, ".lock"))})
}

func (p *pipeline) read(path string) string {
	p.t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		p.t.Fatal(err)
	}
	return string(b)
}

// allOn fails unless r sends all its traffic to version.
func allOn(t *testing.T, r provider.Route, version string) {
	t.Helper()
	if r.Share(version) != provider.AllTraffic {
		t.Errorf("%s: %s, want all on %s", r.Alias, r.Traffic(), version)
	}
}

// first publishes and promotes version 1 (v0.1.0), creating the aliases.
func (p *pipeline) first() {
	p.t.Helper()
	p.must(exitOK, "publish", "--code", "v1", "--level", "minor")
	p.must(exitOK, "promote")
}

func TestPublishPromoteHealthy(t *testing.T) {
	p := newPipeline(t)
	p.first()
	allOn(t, p.route("production"), "1")

	var mu sync.Mutex
	var notes []notify.Notification
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var n notify.Notification
		if err := json.NewDecoder(r.Body).Decode(&n); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		mu.Lock()
		notes = append(notes, n)
		mu.Unlock()
	}))
	defer hook.Close()
	for k, v := range map[string]string{
		"GITHUB_ACTOR": "octocat", "GITHUB_RUN_ID": "4242", "GITHUB_RUN_ATTEMPT": "2",
		"GITHUB_SERVER_URL": "https://github.example", "GITHUB_REPOSITORY": "acme/checkout",
		"GITHUB_SHA": "c0ffee1", "SLIPWAY_WEBHOOK_URL": hook.URL + "/hooks/secret",
	} {
		p.env[k] = v
	}
	os.Remove(p.summary)
	os.Remove(p.output)

	pub := p.must(exitOK, "publish", "--code", "v2", "--level", "minor")
	if !strings.Contains(pub.stdout, "published 2 (v0.2.0); staging promoted") {
		t.Errorf("publish's last line:\n%s", pub.stdout)
	}
	allOn(t, p.route("staging"), "2")
	allOn(t, p.route("production"), "1")

	prom := p.must(exitOK, "promote")
	allOn(t, p.route("production"), "2")
	for _, want := range []string{"weight set: 10% to 2 (v0.2.0)", "verdict at 10%: error rate pass", "promoted: 2 (v0.2.0)", "slipway: promote checkout: promoted 2 (v0.2.0) on production (stable 1)"} {
		if !strings.Contains(prom.stdout, want) {
			t.Errorf("promote's log lacks %q:\n%s", want, prom.stdout)
		}
	}

	sum := p.read(p.summary)
	for _, want := range []string{"staging`: promoted", "production`: promoted", "**0.2.0** (version 2)", "octocat"} {
		if !strings.Contains(sum, want) {
			t.Errorf("step summary lacks %q:\n%s", want, sum)
		}
	}
	out := p.read(p.output)
	for _, want := range []string{"outcome=promoted\nrelease=checkout-gh4242.2-promote\nalias=production\nversion=2\nsemver=0.2.0\nstable=1\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("outputs lack %q:\n%s", want, out)
		}
	}

	// The journal records who, which run and which commit.
	var promote *journal.Entry
	for _, e := range p.journal() {
		if e.Kind == journal.EntryPromote && e.Alias == "production" && e.Candidate == "2" {
			promote = &e
		}
	}
	if promote == nil {
		t.Fatal("no promotion of version 2 to production in the journal")
	}
	if promote.Actor != "octocat" || promote.Release != "checkout-gh4242.2-promote" || promote.Stable != "1" || promote.Semver != "0.2.0" {
		t.Errorf("promotion entry: actor %q release %q stable %q semver %q", promote.Actor, promote.Release, promote.Stable, promote.Semver)
	}
	v, err := p.open().Version(context.Background(), fn, "2")
	if err != nil {
		t.Fatal(err)
	}
	if v.Labels[provider.LabelCommit] != "c0ffee1" {
		t.Errorf("version 2's commit label: %q, want GITHUB_SHA", v.Labels[provider.LabelCommit])
	}

	mu.Lock()
	defer mu.Unlock()
	if len(notes) != 1 || notes[0].Kind != notify.Promoted || notes[0].Candidate != "2" ||
		notes[0].URL != "https://github.example/acme/checkout/actions/runs/4242" || notes[0].Actor != "octocat" {
		t.Errorf("notifications: %+v, want one promotion of 2 linking the run", notes)
	}
}

func TestPublishZipKeepsTheConfiguration(t *testing.T) {
	p := newPipeline(t)
	zip := filepath.Join(t.TempDir(), "checkout.zip")
	pkg := []byte("PK\x03\x04 a deployment package")
	if err := os.WriteFile(zip, pkg, 0o644); err != nil {
		t.Fatal(err)
	}
	p.must(exitOK, "publish", "--zip", zip, "--level", "minor", "--timeout", "30s")
	p.must(exitOK, "promote")
	// A second promotion of the same version changes nothing.
	if s := p.must(exitOK, "promote"); !strings.Contains(s.stdout, "promote checkout: unchanged 1 (v0.1.0) on production") {
		t.Errorf("second promote:\n%s", s.stdout)
	}
	p.must(exitOK, "publish", "--code", "v2", "--level", "patch", "--memory-mb", "256")

	mem := p.open()
	v1, err := mem.Version(context.Background(), fn, "1")
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(pkg)
	if v1.CodeSHA256 != hex.EncodeToString(sum[:]) {
		t.Errorf("version 1's code hash %s, want the zip's", v1.CodeSHA256)
	}
	want := provider.Config{Runtime: "provided.al2023", Handler: "bootstrap", MemoryMB: 128, Timeout: 30 * time.Second}
	if !v1.Config.Equal(want) {
		t.Errorf("version 1's configuration %+v, want %+v", v1.Config, want)
	}
	// Version 2 keeps production's configuration but for the flag given.
	v2, err := mem.Version(context.Background(), fn, "2")
	if err != nil {
		t.Fatal(err)
	}
	want.MemoryMB = 256
	if !v2.Config.Equal(want) {
		t.Errorf("version 2's configuration %+v, want %+v", v2.Config, want)
	}
}

func TestFaultyCandidateRollsBack(t *testing.T) {
	p := newPipeline(t)
	p.first()
	p.must(exitOK, "publish", "--code", "v2", "--level", "minor")
	os.Remove(p.summary)
	os.Remove(p.output)

	s := p.must(exitRolledBack, "promote", "--simulate-error-rate", "0.2")
	allOn(t, p.route("production"), "1")
	allOn(t, p.route("staging"), "2")
	if !strings.Contains(s.stdout, "rolling back: check \"error rate\" failed") || !strings.Contains(s.stdout, "rolled back: back on 1") {
		t.Errorf("promote's log:\n%s", s.stdout)
	}
	// Printed once: the reason is the verdict's detail, referred to after;
	// the last line says what happened and nothing is repeated on stderr.
	if s.stderr != "" {
		t.Errorf("stderr repeats the outcome: %q", s.stderr)
	}
	if n := strings.Count(s.stdout, "against stable"); n != 1 {
		t.Errorf("the check's reason is printed %d times, want once:\n%s", n, s.stdout)
	}
	if !strings.Contains(s.stdout, "slipway: promote checkout: rolled back 2 (v0.2.0) on production (stable 1): check \"error rate\" failed") {
		t.Errorf("promote's last line:\n%s", s.stdout)
	}
	if sum := p.read(p.summary); !strings.Contains(sum, "production`: rolled back") || !strings.Contains(sum, "fail") {
		t.Errorf("step summary:\n%s", sum)
	}
	if out := p.read(p.output); !strings.Contains(out, "outcome=rolled back\n") {
		t.Errorf("outputs:\n%s", out)
	}
	var kinds []journal.EntryKind
	for _, e := range p.journal() {
		if e.Alias == "production" && e.Candidate == "2" {
			kinds = append(kinds, e.Kind)
		}
	}
	want := []journal.EntryKind{journal.EntryRoute, journal.EntryRollback, journal.EntryDecision}
	if !slices.Equal(kinds, want) {
		t.Errorf("journal of production for 2: %v, want %v (canary step, rollback, outcome)", kinds, want)
	}
}

func TestReleaseInOneStep(t *testing.T) {
	p := newPipeline(t)
	p.must(exitOK, "release", "--code", "v1", "--semver", "1.0.0")
	p.must(exitOK, "release", "--code", "v2", "--level", "minor", "--strategy", "Linear10PercentEvery1Minute")
	allOn(t, p.route("production"), "2")
	p.must(exitRolledBack, "release", "--code", "v3", "--level", "minor", "--simulate-error-rate", "0.3")
	allOn(t, p.route("production"), "2")
	allOn(t, p.route("staging"), "3")
}

func TestRollbackInANewProcess(t *testing.T) {
	p := newPipeline(t)
	p.first()
	p.must(exitOK, "publish", "--code", "v2", "--level", "minor")
	p.must(exitOK, "promote")
	allOn(t, p.route("production"), "2")

	p.env["GITHUB_ACTOR"] = "oncall"
	s := p.must(exitOK, "rollback", "--reason", "checkout errors in eu-west")
	allOn(t, p.route("production"), "1")
	if !strings.Contains(s.stdout, "rolled back: back on 1") {
		t.Errorf("rollback's log:\n%s", s.stdout)
	}
	es := p.journal()
	last := es[len(es)-2] // the route change; the outcome decision follows it
	if last.Kind != journal.EntryRollback || last.Alias != "production" || last.Actor != "oncall" ||
		last.Reason != "checkout errors in eu-west" || last.After == nil || last.After.Share("1") != provider.AllTraffic {
		t.Errorf("rollback entry: %+v", last)
	}
	// Rolling back twice is rolling back once.
	s = p.must(exitOK, "rollback")
	if !strings.Contains(s.stdout, "unchanged") {
		t.Errorf("second rollback:\n%s", s.stdout)
	}
	allOn(t, p.route("production"), "1")
}

func TestRollbackAfterAJobDiedMidCanary(t *testing.T) {
	p := newPipeline(t)
	p.first()
	p.must(exitOK, "publish", "--code", "v2", "--level", "minor")

	// What a promote killed during its first step leaves behind: the
	// split route, journaled, and no outcome.
	mem := p.open()
	before := p.route("production")
	split := provider.Split("production", "1", "2", 1000)
	split.Revision = before.Revision
	after, err := mem.SetRoute(context.Background(), fn, split)
	if err != nil {
		t.Fatal(err)
	}
	es := p.journal()
	last := es[len(es)-1].Time
	j, err := p.openJournal()
	if err != nil {
		t.Fatal(err)
	}
	if err := j.Append(context.Background(), journal.Entry{
		Time: last.Add(time.Second), Release: "checkout-gh7.1-promote", Kind: journal.EntryRoute, Function: fn, Alias: "production",
		Actor: "ci", Before: &before, After: &after, Candidate: "2", Stable: "1", Semver: "0.2.0",
	}); err != nil {
		t.Fatal(err)
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	if s := p.must(exitOK, "status"); !strings.Contains(s.stdout, "production   1=90% 2=10%") || !strings.Contains(s.stdout, "none: every route") {
		t.Errorf("status of the split:\n%s", s.stdout)
	}

	s := p.must(exitOK, "rollback")
	allOn(t, p.route("production"), "1")
	if !strings.Contains(s.stdout, "rolled back: back on 1") {
		t.Errorf("rollback:\n%s", s.stdout)
	}
}

func TestPrune(t *testing.T) {
	p := newPipeline(t)
	for i, code := range []string{"v1", "v2", "v3", "v4", "v5"} {
		p.must(exitOK, "publish", "--code", code, "--level", "patch")
		p.must(exitOK, "promote", "--strategy", "AllAtOnce")
		allOn(t, p.route("production"), []string{"1", "2", "3", "4", "5"}[i])
	}
	journal := len(p.journal())

	s := p.must(exitOK, "prune", "--keep-last", "1", "--dry-run")
	for _, want := range []string{"delete", "rollback point 1 of alias production", "3 to delete"} {
		if !strings.Contains(s.stdout, want) {
			t.Errorf("plan lacks %q:\n%s", want, s.stdout)
		}
	}
	if got := p.versions(); !slices.Equal(got, []string{"1", "2", "3", "4", "5"}) {
		t.Errorf("after a dry run: versions %v, want all five", got)
	}
	if n := len(p.journal()); n != journal {
		t.Errorf("a dry run journaled %d entries", n-journal)
	}

	s = p.must(exitOK, "prune", "--keep-last", "1")
	// 5 is routed and the newest; 4 is the rollback point of both aliases.
	if got := p.versions(); !slices.Equal(got, []string{"4", "5"}) {
		t.Errorf("after pruning: versions %v, want [4 5]\n%s", got, s.stdout)
	}
	if !strings.Contains(s.stdout, "deleted [1,2,3]") {
		t.Errorf("prune's last line:\n%s", s.stdout)
	}
	// The rollback point kept is what a rollback restores.
	p.must(exitOK, "rollback")
	allOn(t, p.route("production"), "4")
}

func TestStatusReportsDrift(t *testing.T) {
	p := newPipeline(t)
	p.first()
	p.must(exitOK, "publish", "--code", "v2", "--level", "minor")
	p.must(exitOK, "promote")

	s := p.must(exitOK, "status")
	for _, want := range []string{"production   2=100%", "staging      2=100%", "1    v0.1.0", "2    v0.2.0", "none: every route is as the journal left it", "promote  production"} {
		if !strings.Contains(s.stdout, want) {
			t.Errorf("status lacks %q:\n%s", want, s.stdout)
		}
	}

	// Someone moves production back by hand, behind the journal's back.
	mem := p.open()
	r := p.route("production")
	back := provider.To("production", "1")
	back.Revision = r.Revision
	if _, err := mem.SetRoute(context.Background(), fn, back); err != nil {
		t.Fatal(err)
	}

	os.Remove(p.summary)
	s = p.must(exitOK, "status")
	if !strings.Contains(s.stdout, `alias "production" changed out of band`) || !strings.Contains(s.stdout, "production   1=100%") {
		t.Errorf("status after an out-of-band change:\n%s", s.stdout)
	}
	if sum := p.read(p.summary); !strings.Contains(sum, "out of band") {
		t.Errorf("status summary lacks the drift:\n%s", sum)
	}
	p.must(exitDrift, "status", "--fail-on-drift")
}

func TestNoReleaseNeededAndCommits(t *testing.T) {
	p := newPipeline(t)
	p.must(exitOK, "publish", "--code", "v1", "--semver", "1.0.0")
	commits := filepath.Join(t.TempDir(), "commits.txt")

	// Full messages, NUL-separated: a breaking-change footer counts.
	if err := os.WriteFile(commits, []byte("fix: rounding\n\x00feat: new API\n\nBREAKING CHANGE: drops v1 fields\n\x00"), 0o644); err != nil {
		t.Fatal(err)
	}
	s := p.must(exitOK, "publish", "--code", "v2", "--commits-file", commits)
	if !strings.Contains(s.stdout, "published 2 (v2.0.0)") {
		t.Errorf("publish:\n%s", s.stdout)
	}
	for _, e := range p.journal() {
		if e.Kind == journal.EntryPublish && e.Candidate == "2" && e.Reason != "fix: rounding" {
			t.Errorf("publish entry's reason: %q, want the first commit's subject", e.Reason)
		}
	}

	// Subjects, one per line, that call for no release.
	if err := os.WriteFile(commits, []byte("docs: readme\nci: cache\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	os.Remove(p.output)
	s = p.must(exitOK, "publish", "--code", "v3", "--commits-file", commits)
	if !strings.Contains(s.stdout, "no release needed") || !strings.Contains(p.read(p.output), "outcome=no release") {
		t.Errorf("publish:\n%s", s.stdout)
	}
	if got := p.versions(); !slices.Equal(got, []string{"1", "2"}) {
		t.Errorf("versions %v: nothing should have been published", got)
	}
}

// cancelOn is a writer that cancels a context when a line containing
// marker is written: a SIGTERM arriving at that moment of the log.
type cancelOn struct {
	marker string
	cancel context.CancelFunc
}

func (c cancelOn) Write(b []byte) (int, error) {
	if bytes.Contains(b, []byte(c.marker)) {
		c.cancel()
	}
	return len(b), nil
}

func TestInterruptRollsBack(t *testing.T) {
	p := newPipeline(t)
	p.first()
	p.must(exitOK, "publish", "--code", "v2", "--level", "minor")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// The signal arrives while the first step bakes.
	s := p.runCtx(ctx, cancelOn{marker: "step 1 of 2 bakes", cancel: cancel}, "promote")
	if s.code != exitRolledBack {
		t.Fatalf("exit %d, want %d\n%s\n%s", s.code, exitRolledBack, s.stdout, s.stderr)
	}
	allOn(t, p.route("production"), "1")
	if !strings.Contains(s.stdout, "context canceled") {
		t.Errorf("stdout: %q", s.stdout)
	}
}

func TestUsageErrors(t *testing.T) {
	zip := filepath.Join(t.TempDir(), "fn.zip")
	if err := os.WriteFile(zip, []byte("PK"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		args []string
		env  map[string]string
		want string // in stderr
	}{
		{"no subcommand", nil, nil, "no subcommand"},
		{"unknown subcommand", []string{"deploy"}, nil, `unknown command "deploy"`},
		{"no function", []string{"status"}, map[string]string{"SLIPWAY_FUNCTION": ""}, "--function"},
		{"unknown flag", []string{"promote", "--canary", "10"}, nil, "unknown flag: --canary"},
		{"stray argument", []string{"status", "extra"}, nil, `unknown command "extra"`},
		{"no artifact", []string{"publish", "--level", "minor"}, nil, "needs the artifact"},
		{"two artifacts", []string{"publish", "--zip", zip, "--code", "x", "--level", "minor"}, nil, "one of --zip and --code"},
		{"missing zip", []string{"publish", "--zip", "/nonexistent.zip", "--level", "minor"}, nil, "--zip"},
		{"no version", []string{"publish", "--code", "x"}, nil, "--level, --semver or --commits-file"},
		{"negative memory", []string{"publish", "--code", "x", "--level", "minor", "--memory-mb", "-1"}, nil, "--memory-mb"},
		{"bad level", []string{"publish", "--code", "x", "--level", "huge"}, nil, `--level "huge"`},
		{"bad semver", []string{"publish", "--code", "x", "--semver", "1.2"}, nil, "--semver"},
		{"semver and level", []string{"publish", "--code", "x", "--semver", "1.2.0", "--level", "minor"}, nil, "level"},
		{"bad strategy", []string{"promote", "--strategy", "Canary50Percent"}, nil, `--strategy "Canary50Percent"`},
		{"error rate out of range", []string{"promote", "--simulate-error-rate", "1.5"}, nil, "--simulate-error-rate"},
		{"bad env value", []string{"promote"}, map[string]string{"SLIPWAY_LOAD": "lots"}, "SLIPWAY_LOAD"},
		{"bad env bool", []string{"status"}, map[string]string{"SLIPWAY_REAL_TIME": "perhaps"}, "SLIPWAY_REAL_TIME"},
		{"webhook not http", []string{"promote", "--webhook", "ftp://hooks.example/secret"}, nil, "--webhook is not an http(s) URL"},
		{"prune without policy", []string{"prune", "--dry-run"}, nil, "--keep-last"},
		{"negative keep", []string{"prune", "--keep-last", "-1"}, nil, "negative"},
		{"unknown provider", []string{"status", "--provider", "gcpx"}, nil, `--provider "gcpx"`},
		{"memory flag on aws", []string{"promote", "--provider", "aws", "--load", "5"}, nil, "--load works with the memory provider only"},
		{"azure without resource group", []string{"status", "--provider", "azurefunc", "--subscription", "00000000-0000-0000-0000-000000000000"}, nil, "--resource-group"},
		{"memory flag on azure", []string{"promote", "--provider", "azure", "--subscription", "s", "--resource-group", "rg", "--load", "5"}, nil, "--load works with the memory provider only"},
		{"package url on memory", []string{"publish", "--package-url", "https://acct.blob.core.windows.net/p/fn.zip", "--level", "minor"}, nil, "--package-url is the azurefunc provider's artifact"},
		{"same aliases", []string{"promote", "--staging", "live", "--production", "live"}, nil, "both"},
		{"bad id", []string{"rollback", "--id", "run #7"}, nil, "--id"},
		{"bad release", []string{"resume", "--release", "../checkout"}, nil, `--release "../checkout"`},
		{"bad release env", []string{"abort"}, map[string]string{"SLIPWAY_RELEASE": "run #7"}, "--release"},
		{"release too long", []string{"resume", "--release", strings.Repeat("r", 151)}, nil, "--release"},
		{"resume error rate", []string{"resume", "--error-rate-factor", "0"}, nil, "--error-rate-factor"},
		{"resume negative keep", []string{"resume", "--keep-last", "-1"}, nil, "negative"},
		{"resume bad webhook", []string{"resume", "--slack-webhook", "hooks.example/secret"}, nil, "--slack-webhook is not an http(s) URL"},
		{"abort strategy", []string{"abort", "--strategy", "AllAtOnce"}, nil, "unknown flag"},
		{"resume id", []string{"resume", "--id", "run7"}, nil, "unknown flag"},
		{"abort on aws with load", []string{"abort", "--provider", "aws", "--load", "5"}, nil, "unknown flag"},
		{"resume on aws with simulation", []string{"resume", "--provider", "aws", "--simulate-error-rate", "0.1"}, nil, "--simulate-error-rate works with the memory provider only"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newPipeline(t)
			for k, v := range tc.env {
				p.env[k] = v
			}
			s := p.run(tc.args...)
			if s.code != exitUsage {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", s.code, exitUsage, s.stdout, s.stderr)
			}
			if !strings.Contains(s.stderr, tc.want) {
				t.Errorf("stderr lacks %q:\n%s", tc.want, s.stderr)
			}
			if strings.Contains(s.stderr, "secret") {
				t.Errorf("stderr shows a webhook URL's secret:\n%s", s.stderr)
			}
			for _, path := range []string{p.dir, p.summary, p.output} {
				if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
					t.Errorf("%s was written (%v)", path, err)
				}
			}
		})
	}
}

func TestHelp(t *testing.T) {
	p := newPipeline(t)
	s := p.run("promote", "--help")
	if s.code != exitOK {
		t.Fatalf("exit %d", s.code)
	}
	for _, want := range []string{"--strategy", "SLIPWAY_STRATEGY", "GITHUB_STEP_SUMMARY", "Exit codes"} {
		if !strings.Contains(s.stdout, want) {
			t.Errorf("help lacks %q:\n%s", want, s.stderr)
		}
	}
}

// TestRealTimeContinuesAStateAhead: a --real-time step after steps that
// ran ahead in virtual time continues from the journal's last entry (the
// README's kill-mid-canary recipe failed here: -real-time refused).
func TestRealTimeContinuesAStateAhead(t *testing.T) {
	p := newPipeline(t)
	p.first()
	j, err := p.openJournal()
	if err != nil {
		t.Fatal(err)
	}
	// A virtual-time step that ran an hour-long canary left the journal
	// ahead of the wall clock.
	ahead := time.Now().Add(time.Hour)
	if err := j.Append(context.Background(), journal.Entry{Time: ahead, Kind: journal.EntryDecision, Function: fn, Outcome: "held"}); err != nil {
		t.Fatal(err)
	}
	before := len(p.journal())
	p.must(exitOK, "publish", "--code", "v2", "--level", "minor", "--real-time")
	p.must(exitOK, "publish", "--code", "v3", "--level", "minor")
	es := p.journal()
	if len(es) == before {
		t.Fatal("publish journaled nothing")
	}
	for _, e := range es[before:] {
		if e.Time.Before(ahead) {
			t.Errorf("entry %s %s at %s, before the journal's last entry at %s", e.Kind, e.Alias, e.Time, ahead)
		}
	}
}

// TestGCPRunWithoutProject: -provider gcprun without a project or a
// location is a usage error before any client is built or anything is
// written.
func TestGCPRunWithoutProject(t *testing.T) {
	t.Setenv("GOOGLE_CLOUD_PROJECT", "")
	for _, tc := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"SLIPWAY_REGION": "us-central1"}, "needs a project"},
		{map[string]string{"SLIPWAY_PROJECT": "p"}, "needs a location"},
	} {
		for _, k := range []string{"AWS_REGION", "AWS_DEFAULT_REGION"} {
			t.Setenv(k, "")
		}
		p := newPipeline(t)
		p.env["SLIPWAY_PROVIDER"] = "gcprun"
		p.env["SLIPWAY_REGION"] = ""
		for k, v := range tc.env {
			p.env[k] = v
		}
		s := p.must(exitUsage, "status")
		if !strings.Contains(s.stderr, tc.want) {
			t.Errorf("stderr: %s, want %q", s.stderr, tc.want)
		}
		if _, err := os.Stat(p.dir); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("the state directory was created (%v)", err)
		}
	}
}

func TestAWSWithoutRegion(t *testing.T) {
	dir := t.TempDir()
	for _, k := range []string{"AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE", "AWS_DEFAULT_PROFILE"} {
		t.Setenv(k, "")
	}
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "none"))
	p := newPipeline(t)
	p.env["SLIPWAY_PROVIDER"] = "aws"
	s := p.must(exitUsage, "status")
	if !strings.Contains(s.stderr, "region") {
		t.Errorf("stderr: %s", s.stderr)
	}
	if _, err := os.Stat(p.dir); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the state directory was created (%v)", err)
	}
}
