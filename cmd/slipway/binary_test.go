package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/slipway-dev/slipway/journal"

	"github.com/slipway-dev/slipway/provider/memory"
)

// The tests in this file drive the built binary, as a CI job does: go build
// into a temporary directory, then exec.Command, with real signals.

var binary struct {
	once sync.Once
	path string
	err  error
}

// slipwayBin builds the command once per test run.
func slipwayBin(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	binary.once.Do(func() {
		dir, err := os.MkdirTemp("", "slipway-bin-")
		if err != nil {
			binary.err = err
			return
		}
		binary.path = filepath.Join(dir, "slipway")
		out, err := exec.Command("go", "build", "-o", binary.path, ".").CombinedOutput()
		if err != nil {
			binary.err = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if binary.err != nil {
		t.Fatal(binary.err)
	}
	return binary.path
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binary.path != "" {
		os.RemoveAll(filepath.Dir(binary.path))
	}
	os.Exit(code)
}

// job is a CI job's workspace for the binary: a directory with a
// slipway.yaml, where each step runs.
type job struct {
	t   *testing.T
	bin string
	dir string
	env []string
}

// rehearsalConfig is a config with a canary that bakes for bake at 10%,
// judged every second (the memory provider's resolution is set to 1s).
func rehearsalConfig(bake string) string {
	return `# a rehearsal on the memory provider
provider: memory
functions:
  - name: checkout
strategy:
  steps:
    - weight: 10
      bake: ` + bake + `
  interval: 1s
checks:
  errorRate:
    factor: 1.5
    slack: 0.01
`
}

func newJob(t *testing.T, config string) *job {
	t.Helper()
	j := &job{t: t, bin: slipwayBin(t), dir: t.TempDir()}
	if config != "" {
		if err := os.WriteFile(filepath.Join(j.dir, "slipway.yaml"), []byte(config), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	j.env = append(os.Environ(), "SLIPWAY_MEMORY_RESOLUTION=1s", "SLIPWAY_LOAD=5000", "SLIPWAY_ACTOR=ci-bot",
		"GITHUB_STEP_SUMMARY=", "GITHUB_OUTPUT=", "GITHUB_ACTOR=", "GITHUB_RUN_ID=", "SLIPWAY_FUNCTION=")
	return j
}

func (j *job) command(args ...string) *exec.Cmd {
	cmd := exec.Command(j.bin, args...)
	cmd.Dir, cmd.Env = j.dir, j.env
	return cmd
}

// run runs a step to its end.
func (j *job) run(args ...string) step {
	j.t.Helper()
	cmd := j.command(args...)
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		j.t.Fatal(err)
	}
	return step{code: code, stdout: out.String(), stderr: errb.String()}
}

func (j *job) must(code int, args ...string) step {
	j.t.Helper()
	s := j.run(args...)
	if s.code != code {
		j.t.Fatalf("slipway %s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), s.code, code, s.stdout, s.stderr)
	}
	return s
}

// background is a step running in the background.
type background struct {
	cmd  *exec.Cmd
	out  strings.Builder
	mu   sync.Mutex
	done chan struct{}
}

// start starts a step and returns once its stdout shows marker.
func (j *job) start(marker string, args ...string) *background {
	j.t.Helper()
	cmd := j.command(args...)
	pr, err := cmd.StdoutPipe()
	if err != nil {
		j.t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	b := &background{cmd: cmd, done: make(chan struct{})}
	if err := cmd.Start(); err != nil {
		j.t.Fatal(err)
	}
	found := make(chan struct{})
	go func() {
		defer close(b.done)
		sc := bufio.NewScanner(pr)
		seen := false
		for sc.Scan() {
			b.mu.Lock()
			b.out.WriteString(sc.Text() + "\n")
			b.mu.Unlock()
			if !seen && strings.Contains(sc.Text(), marker) {
				seen = true
				close(found)
			}
		}
		_, _ = io.Copy(io.Discard, pr)
	}()
	select {
	case <-found:
	case <-b.done:
		_ = cmd.Wait()
		j.t.Fatalf("slipway %s ended before %q:\n%s", strings.Join(args, " "), marker, b.output())
	case <-time.After(2 * time.Minute): // a hang, not a timing assertion
		_ = cmd.Process.Kill()
		j.t.Fatalf("slipway %s: no %q:\n%s", strings.Join(args, " "), marker, b.output())
	}
	return b
}

func (b *background) output() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.out.String()
}

// wait waits for the step's end and returns its exit code.
func (b *background) wait(t *testing.T) int {
	t.Helper()
	<-b.done
	err := b.cmd.Wait()
	if ee, ok := err.(*exec.ExitError); ok {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return -int(ws.Signal())
		}
		return ee.ExitCode()
	}
	if err != nil {
		t.Fatal(err)
	}
	return 0
}

// route reads an alias from the memory provider's state file.
func (j *job) route(alias string) string {
	j.t.Helper()
	mem, err := memory.New(memory.Options{Path: filepath.Join(j.dir, ".slipway", "memory.json"), Seed: 1})
	if err != nil {
		j.t.Fatal(err)
	}
	r, err := mem.Route(context.Background(), "checkout", alias)
	if err != nil {
		j.t.Fatal(err)
	}
	return r.Traffic()
}

// journal reads the state directory's journal.
func (j *job) journal() []journal.Entry {
	j.t.Helper()
	p := &pipeline{t: j.t, dir: filepath.Join(j.dir, ".slipway")}
	return p.journal()
}

// staged publishes and promotes v1 (0.1.0), then publishes v2 (0.2.0) to
// staging, in virtual time: production is on 1, staging on 2.
func (j *job) staged() {
	j.t.Helper()
	j.must(exitOK, "publish", "--code", "v1", "--level", "minor")
	j.must(exitOK, "promote")
	j.must(exitOK, "publish", "--code", "v2", "--level", "minor")
}

const bakeMarker = "step 1 of 2 bakes"

// TestBinaryKillMidCanary: a promote killed with SIGKILL during its bake
// leaves production split; status names the unfinished canary, who
// started it, its step, traffic and verdicts, the crashed writer's stale
// lease and what to run, and exits 6 with --fail-on-unfinished; resume
// finishes the canary and status is clean again.
func TestBinaryKillMidCanary(t *testing.T) {
	j := newJob(t, rehearsalConfig("10m"))
	j.staged()
	b := j.start("verdict at 10%: error rate pass", "promote", "--real-time")
	// Killed after the second verdict: the state saved after the first is
	// in the store by then (an event is printed before its state is saved).
	for deadline := time.Now().Add(time.Minute); strings.Count(b.output(), "verdict at 10%") < 2 && time.Now().Before(deadline); {
		time.Sleep(50 * time.Millisecond)
	}
	if err := b.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if code := b.wait(t); code != -int(syscall.SIGKILL) {
		t.Fatalf("promote ended with %d, want killed\n%s", code, b.output())
	}
	if got := j.route("production"); got != "1=90% 2=10%" {
		t.Fatalf("production after the kill: %s, want split", got)
	}

	s := j.must(exitUnfinished, "status", "--fail-on-unfinished")
	for _, want := range []string{
		"unfinished canaries:",
		"2 of checkout on production, stable 1",
		"by ci-bot; phase Baking, step 1 of 2; traffic 1=90% 2=10%",
		"run: slipway resume --function checkout",
		"slipway abort --function checkout",
		"STALE: its process is gone (crashed writer)",
		"error rate candidate ", // the small chart of candidate vs stable
		"stable    ",
		fmt.Sprintf("pid %d", b.cmd.Process.Pid),
	} {
		if !strings.Contains(s.stdout, want) {
			t.Errorf("status lacks %q:\n%s", want, s.stdout)
		}
	}
	if !strings.Contains(s.stderr, "unfinished canary") {
		t.Errorf("status --fail-on-unfinished stderr: %q", s.stderr)
	}

	r := j.must(exitOK, "resume")
	for _, want := range []string{"taking over the lease of ci-bot", "its process is gone", "resuming from Baking", "slipway: resume checkout: promoted 2 (v0.2.0) on production (stable 1)"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("resume lacks %q:\n%s", want, r.stdout)
		}
	}
	if got := j.route("production"); got != "2=100%" {
		t.Errorf("production after resume: %s, want all on 2", got)
	}
	s = j.must(exitOK, "status", "--fail-on-unfinished")
	if !strings.Contains(s.stdout, "unfinished canaries:\n  none") || !strings.Contains(s.stdout, "released") {
		t.Errorf("status after resume:\n%s", s.stdout)
	}
}

// TestBinarySIGTERMRollsBack: a cancelled job (SIGTERM to the installed
// binary, not to go run) rolls the canary back before it exits 3.
func TestBinarySIGTERMRollsBack(t *testing.T) {
	j := newJob(t, rehearsalConfig("10m"))
	j.staged()
	b := j.start(bakeMarker, "promote", "--real-time")
	if err := b.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := b.wait(t); code != exitRolledBack {
		t.Fatalf("promote after SIGTERM: exit %d, want %d\n%s", code, exitRolledBack, b.output())
	}
	if got := j.route("production"); got != "1=100%" {
		t.Errorf("production after SIGTERM: %s, want all on 1", got)
	}
	if out := b.output(); !strings.Contains(out, "rolled back: back on 1") {
		t.Errorf("promote's output:\n%s", out)
	}
	s := j.must(exitOK, "status", "--fail-on-unfinished")
	if !strings.Contains(s.stdout, "unfinished canaries:\n  none") {
		t.Errorf("status after the rollback:\n%s", s.stdout)
	}
}

// TestBinaryConcurrentResumes: two resumes of one killed canary start at
// once on one state URL: exactly one drives it (the lease), the other is
// refused as busy (exit 5) or, if it looks after the first finished, finds
// nothing to resume; the journal has one promotion.
func TestBinaryConcurrentResumes(t *testing.T) {
	j := newJob(t, rehearsalConfig("6s"))
	j.staged()
	b := j.start(bakeMarker, "promote", "--real-time")
	_ = b.cmd.Process.Signal(syscall.SIGKILL)
	b.wait(t)

	var wg sync.WaitGroup
	steps := make([]step, 2)
	for i := range steps {
		wg.Go(func() { steps[i] = j.run("resume", "--real-time") })
	}
	wg.Wait()
	drove, other := 0, 0
	for _, s := range steps {
		switch {
		case s.code == exitOK && strings.Contains(s.stdout, "resuming from"):
			drove++
		case s.code == exitBusy && strings.Contains(s.stderr, "another process drives the production canary of checkout"):
			other++
		case s.code == exitOK && strings.Contains(s.stdout, "nothing to resume"):
			other++
		default:
			t.Errorf("a resume: exit %d\n%s\n%s", s.code, s.stdout, s.stderr)
		}
	}
	if drove != 1 || other != 1 {
		t.Errorf("%d resumes drove the canary and %d did not, want 1 and 1\n%+v", drove, other, steps)
	}
	promotions := 0
	for _, e := range j.journal() {
		if e.Kind == journal.EntryPromote && e.Alias == "production" && e.Candidate == "2" {
			promotions++
		}
	}
	if promotions != 1 {
		t.Errorf("%d promotions of 2 journaled, want 1", promotions)
	}
	if got := j.route("production"); got != "2=100%" {
		t.Errorf("production: %s, want all on 2", got)
	}
}

// TestBinaryConfigErrors: an unknown key and bad values in slipway.yaml
// are errors naming the file, the line and the field, before anything is
// touched (no state directory appears).
func TestBinaryConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		name, config, want string
	}{
		{"unknown key", "functions:\n  - name: checkout\nstratgy:\n  preset: AllAtOnce\n", "slipway.yaml:3: stratgy: unknown field"},
		{"unknown nested key", "functions:\n  - name: checkout\nstrategy:\n  preset: AllAtOnce\n  bakee: 5m\n", "slipway.yaml:5: bakee: unknown field"},
		{"weight over 100", "functions:\n  - name: checkout\nstrategy:\n  steps:\n    - weight: 150\n      bake: 1m\n", "slipway.yaml:5: strategy.steps[0].weight: 150 is not a percentage"},
		{"bad duration", "functions:\n  - name: checkout\nstrategy:\n  steps:\n    - weight: 10\n      bake: soon\n", `slipway.yaml:6: strategy.steps[0].bake: "soon" is not a duration`},
		{"bad provider", "provider: heroku\nfunctions:\n  - name: checkout\n", `slipway.yaml:1: provider: "heroku" is not a provider`},
		{"bad type", "functions:\n  - name: checkout\nretention:\n  keepLast: many\n", "slipway.yaml:4: cannot unmarshal"},
		{"bad window", "functions:\n  - name: checkout\nwindows:\n  - days: [Mon, Funday]\n    start: \"09:00\"\n    end: \"17:00\"\n", `slipway.yaml:4: windows[0].days[1]: "Funday" is not a weekday`},
		{"bad hook", "functions:\n  - name: checkout\nhooks:\n  preTraffic: [no-such-command-xyz]\n", `slipway.yaml:4: hooks.preTraffic[0]: command "no-such-command-xyz" not found`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			j := newJob(t, tc.config)
			s := j.must(exitUsage, "publish", "--code", "v1", "--level", "minor")
			if !strings.Contains(s.stderr, tc.want) {
				t.Errorf("stderr lacks %q:\n%s", tc.want, s.stderr)
			}
			if _, err := os.Stat(filepath.Join(j.dir, ".slipway")); err == nil {
				t.Error("the state directory was created")
			}
		})
	}
	// Flags and the environment override the file.
	j := newJob(t, "functions:\n  - name: checkout\nstrategy:\n  preset: Canary10Percent5Minutes\n")
	j.must(exitOK, "publish", "--code", "v1", "--level", "minor")
	j.must(exitOK, "promote")
	j.must(exitOK, "publish", "--code", "v2", "--level", "minor")
	j.env = append(j.env, "SLIPWAY_STRATEGY=AllAtOnce")
	if s := j.must(exitOK, "promote"); strings.Contains(s.stdout, "10%") {
		t.Errorf("SLIPWAY_STRATEGY did not override the file's preset:\n%s", s.stdout)
	}
}

// TestBinaryBackwardsSemver: a version number never goes backwards without
// --force (then journaled); a number that exists is refused even with it.
func TestBinaryBackwardsSemver(t *testing.T) {
	j := newJob(t, "functions:\n  - name: checkout\n")
	j.must(exitOK, "release", "--code", "v1", "--semver", "1.2.0")
	s := j.must(exitError, "publish", "--code", "v2", "--semver", "1.1.0")
	if !strings.Contains(s.stderr, "--semver 1.1.0 is below 1.2.0, the highest released version of checkout") {
		t.Errorf("stderr: %s", s.stderr)
	}
	j.must(exitError, "publish", "--code", "v3", "--semver", "0.0.1")
	j.must(exitError, "publish", "--code", "v4", "--semver", "1.2.0") // exists
	j.must(exitOK, "publish", "--code", "v2", "--semver", "1.1.0", "--force")
	forced := 0
	for _, e := range j.journal() {
		if e.Outcome == outcomeForced && strings.Contains(e.Reason, "semver 1.1.0 published below the highest released 1.2.0") && e.Actor == "ci-bot" {
			forced++
		}
	}
	if forced != 1 {
		t.Errorf("%d forced entries journaled, want 1", forced)
	}
}

// TestBinaryRepromoteRolledBack: a version production was rolled back from
// is promoted again only with --force, which is journaled.
func TestBinaryRepromoteRolledBack(t *testing.T) {
	j := newJob(t, "functions:\n  - name: checkout\n")
	j.staged()
	j.must(exitRolledBack, "promote", "--simulate-error-rate", "0.3")
	s := j.must(exitError, "promote", "--strategy", "AllAtOnce")
	if !strings.Contains(s.stderr, "version 2 of checkout was rolled back from production") {
		t.Errorf("stderr: %s", s.stderr)
	}
	if got := j.route("production"); got != "1=100%" {
		t.Errorf("production: %s", got)
	}
	j.must(exitOK, "promote", "--strategy", "AllAtOnce", "--force")
	if got := j.route("production"); got != "2=100%" {
		t.Errorf("production after --force: %s", got)
	}
	es := j.journal()
	found := false
	for _, e := range es {
		found = found || (e.Outcome == outcomeForced && e.Candidate == "2" && strings.Contains(e.Reason, "promoted again with --force"))
	}
	if !found {
		t.Error("the forced re-promotion is not journaled")
	}
}

// TestBinaryUnknownFunction: resume and abort of a misspelt function fail.
func TestBinaryUnknownFunction(t *testing.T) {
	j := newJob(t, "")
	j.env = append(j.env, "SLIPWAY_FUNCTION=checkout")
	j.staged()
	for _, cmd := range []string{"resume", "abort"} {
		s := j.must(exitError, cmd, "--function", "chekout")
		if !strings.Contains(s.stderr, `function "chekout" does not exist`) || strings.Count(s.stderr, "\n") != 1 {
			t.Errorf("%s: stderr %q, want the error once", cmd, s.stderr)
		}
	}
	s := j.must(exitOK, "abort", "--reason", "errors in eu-west")
	if !strings.Contains(s.stdout, "reason: errors in eu-west") {
		t.Errorf("abort does not echo its reason:\n%s", s.stdout)
	}
}

// TestBinaryStateURLs: the state named by a file:// URL is shared by
// steps; mem:// lives in one process only, so release (publish and promote
// in one process) works on it and the next process finds nothing: a
// rehearsal that leaves nothing behind.
func TestBinaryStateURLs(t *testing.T) {
	j := newJob(t, "functions:\n  - name: checkout\n")
	url := "file://" + filepath.Join(j.dir, "shared-state")
	j.must(exitOK, "release", "--code", "v1", "--semver", "1.0.0", "--state", url)
	j.must(exitOK, "release", "--code", "v2", "--semver", "1.1.0", "--state", url)
	s := j.must(exitOK, "journal", "verify", "--state", url)
	if !strings.Contains(s.stdout, "0 damaged") || strings.Contains(s.stdout, " 0 entries") {
		t.Errorf("journal verify:\n%s", s.stdout)
	}
	st := j.must(exitOK, "status", "--state", url)
	if !strings.Contains(st.stdout, "production   2=100%") {
		t.Errorf("status over file://:\n%s", st.stdout)
	}
	if _, err := os.Stat(filepath.Join(j.dir, "shared-state", "journal")); err != nil {
		t.Errorf("no journal under the file:// URL's directory: %v", err)
	}

	m := j.must(exitOK, "release", "--code", "v1", "--semver", "1.0.0", "--state", "mem://")
	if !strings.Contains(m.stdout, "slipway: release checkout: promoted 1 (v1.0.0) on production") {
		t.Errorf("release over mem://:\n%s", m.stdout)
	}
	if s := j.must(exitError, "status", "--state", "mem://"); !strings.Contains(s.stderr, "not") {
		t.Errorf("a second process over mem:// saw state:\n%s\n%s", s.stdout, s.stderr)
	}
}

// TestBinaryHooks: the config file's pre-traffic command runs before any
// traffic moves and learns the rollout from its environment; its failure
// rolls the canary back, and the rollback command runs after.
func TestBinaryHooks(t *testing.T) {
	j := newJob(t, `functions:
  - name: checkout
strategy:
  preset: Canary10Percent5Minutes
hooks:
  preTraffic: [sh, -c, "echo $SLIPWAY_HOOK $SLIPWAY_FUNCTION $SLIPWAY_ALIAS $SLIPWAY_CANDIDATE $SLIPWAY_STABLE > pre.txt; echo smoke test failed; exit 1"]
  onRollback: [sh, -c, "echo rolled back $SLIPWAY_CANDIDATE to $SLIPWAY_STABLE > rollback.txt"]
  timeout: 1m
`)
	j.staged()
	s := j.must(exitRolledBack, "promote")
	if got := j.route("production"); got != "1=100%" {
		t.Errorf("production: %s, want all on 1", got)
	}
	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join(j.dir, name))
		if err != nil {
			t.Fatalf("%s: %v\n%s", name, err, s.stdout)
		}
		return strings.TrimSpace(string(b))
	}
	if got := read("pre.txt"); !strings.Contains(got, "checkout production 2 1") {
		t.Errorf("the pre-traffic hook saw %q", got)
	}
	if got := read("rollback.txt"); got != "rolled back 2 to 1" {
		t.Errorf("the rollback hook wrote %q", got)
	}
	if !strings.Contains(s.stdout, "smoke test failed") {
		t.Errorf("the hook's output is not in the log:\n%s", s.stdout)
	}
	for _, e := range j.journal() {
		if e.Kind == journal.EntryRoute && e.Candidate == "2" {
			t.Errorf("traffic moved before the pre-traffic hook passed: %+v", e)
		}
	}
}

// TestBinaryStatusWatch: status --watch, not on a terminal, prints each
// changed line once with the time: it shows the canary split while another
// process bakes it, then production on the candidate, and stops on SIGINT.
func TestBinaryStatusWatch(t *testing.T) {
	j := newJob(t, rehearsalConfig("6s"))
	j.staged()
	promote := j.start(bakeMarker, "promote", "--real-time")
	watch := j.start("production   1=90% 2=10%", "status", "--watch")
	if code := promote.wait(t); code != exitOK {
		t.Fatalf("promote: exit %d\n%s", code, promote.output())
	}
	deadline := time.Now().Add(time.Minute) // a hang, not a timing assertion
	for !strings.Contains(watch.output(), "production   2=100%") && time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
	}
	if err := watch.cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	if code := watch.wait(t); code != exitOK {
		t.Errorf("status --watch after SIGINT: exit %d", code)
	}
	out := watch.output()
	split, whole := strings.Index(out, "production   1=90% 2=10%"), strings.Index(out, "production   2=100%")
	if split < 0 || whole < split {
		t.Errorf("the watch did not show the split and then the promotion:\n%s", out)
	}
	if n := strings.Count(out, "unfinished canaries:"); n != 1 {
		t.Errorf("an unchanged line was printed %d times:\n%s", n, out)
	}
	if strings.Contains(out, "\x1b[") {
		t.Errorf("terminal escapes when not on a terminal:\n%s", out)
	}
}
