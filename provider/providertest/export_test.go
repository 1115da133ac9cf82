package providertest

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/slipway-dev/slipway/provider"
)

// Outcome is how one recorded subtest ended.
type Outcome int

const (
	Passed Outcome = iota
	Failed
	Skipped
)

func (o Outcome) String() string {
	switch o {
	case Passed:
		return "passed"
	case Failed:
		return "failed"
	case Skipped:
		return "skipped"
	}
	return "unknown"
}

// Report is the result of RunRecorded: the outcome and messages of every
// subtest, keyed by name ("Routes/UpdateStaleRevision").
type Report struct {
	mu       sync.Mutex
	outcome  map[string]Outcome
	messages map[string][]string
}

// Outcome returns how the subtest named name ended, and whether it ran.
func (r *Report) Outcome(name string) (Outcome, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	o, ok := r.outcome[name]
	return o, ok
}

// Messages returns what the subtest named name logged.
func (r *Report) Messages(name string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.messages[name])
}

// Names returns the subtests that ended with o, sorted. Only leaves are
// listed: a group fails when one of its clauses does.
func (r *Report) Names(o Outcome) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for name, got := range r.outcome {
		if got == o && strings.Contains(name, "/") {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}

// RunRecorded runs the suite with a recorder in place of *testing.T, so a
// test can run it against a deliberately broken provider and inspect which
// clauses failed without failing itself. opts.Setup is not used.
func RunRecorded(newProvider func() provider.Provider, opts Options) *Report {
	rep := &Report{outcome: map[string]Outcome{}, messages: map[string][]string{}}
	s := &suite{opts: opts, newProvider: func(tester) provider.Provider { return newProvider() }}
	root := &recorder{report: rep, ctx: context.Background()}
	s.run(root)
	return rep
}

// recorder is a tester that records instead of reporting. Subtests run one
// after another (Parallel does nothing); Fatalf and Skipf end the
// subtest's goroutine as they do in package testing.
type recorder struct {
	name   string
	report *Report
	ctx    context.Context

	mu       sync.Mutex
	failed   bool
	skipped  bool
	cleanups []func()
}

func (r *recorder) log(format string, args ...any) {
	r.report.mu.Lock()
	defer r.report.mu.Unlock()
	r.report.messages[r.name] = append(r.report.messages[r.name], fmt.Sprintf(format, args...))
}

func (r *recorder) Helper()                           {}
func (r *recorder) Parallel()                         {}
func (r *recorder) Name() string                      { return r.name }
func (r *recorder) Context() context.Context          { return r.ctx }
func (r *recorder) Logf(format string, args ...any)   { r.log(format, args...) }
func (r *recorder) Errorf(format string, args ...any) { r.log(format, args...); r.fail() }

func (r *recorder) Fatalf(format string, args ...any) {
	r.log(format, args...)
	r.fail()
	runtime.Goexit()
}

func (r *recorder) Skipf(format string, args ...any) {
	r.log(format, args...)
	r.mu.Lock()
	r.skipped = true
	r.mu.Unlock()
	runtime.Goexit()
}

func (r *recorder) Cleanup(f func()) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.cleanups = append(r.cleanups, f)
}

func (r *recorder) fail() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.failed = true
}

func (r *recorder) run(name string, f func(t tester)) bool {
	full := name
	if r.name != "" {
		full = r.name + "/" + name
	}
	ctx, cancel := context.WithCancel(r.ctx)
	child := &recorder{name: full, report: r.report, ctx: ctx}
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer func() {
			cancel()
			for i := len(child.cleanups) - 1; i >= 0; i-- {
				child.cleanups[i]()
			}
		}()
		f(child)
	}()
	<-done

	child.mu.Lock()
	failed, skipped := child.failed, child.skipped
	child.mu.Unlock()
	o := Passed
	switch {
	case failed:
		o = Failed
		r.fail()
	case skipped:
		o = Skipped
	}
	r.report.mu.Lock()
	r.report.outcome[full] = o
	r.report.mu.Unlock()
	return !failed
}

// Clauses returns the name of every clause of the suite, "Group/Clause".
func Clauses() []string {
	var out []string
	for _, g := range (&suite{}).groups() {
		for _, c := range g.clauses {
			out = append(out, g.name+"/"+c.name)
		}
	}
	return out
}

// RunMetricsRecorded is RunMetrics with a recorder in place of *testing.T.
func RunMetricsRecorded(m provider.Metrics, opts MetricsOptions) *Report {
	rep := &Report{outcome: map[string]Outcome{}, messages: map[string][]string{}}
	root := &recorder{report: rep, ctx: context.Background()}
	root.run("Metrics", func(t tester) { runMetrics(t, m, opts) })
	return rep
}

// RunSourceRecorded is RunSource with a recorder in place of *testing.T
// for the clauses; t is handed to the fixture's Seed and Failing.
func RunSourceRecorded(t *testing.T, f MetricsFixture) *Report {
	rep := &Report{outcome: map[string]Outcome{}, messages: map[string][]string{}}
	root := &recorder{report: rep, ctx: context.Background()}
	root.run("Source", func(r tester) {
		runSource(r, f, func(p Plan) { f.Seed(t, p) }, func(target error) (provider.Metrics, bool) { return f.Failing(t, target) })
	})
	return rep
}
