package journaltest_test

import (
	"context"
	"fmt"
	"iter"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/slipway-dev/slipway/journal"
	"github.com/slipway-dev/slipway/journal/journaltest"
)

// sliceJournal is a plain journal in a slice, honest unless told to break
// one rule. It implements IndexedJournal only when indexed is set.
type sliceJournal struct {
	broken  string // "" or the rule it breaks (see TestSuiteFailsBrokenJournals)
	mu      sync.Mutex
	entries []journal.Entry
}

func (j *sliceJournal) Append(ctx context.Context, e journal.Entry) error {
	if err := ctx.Err(); err != nil && j.broken != "ignores cancel" {
		return err
	}
	if err := e.Validate(); err != nil && j.broken != "skips validation" {
		return err
	}
	if j.broken != "keeps the caller's entry" {
		e = e.Clone()
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	j.entries = append(j.entries, e)
	return nil
}

func (j *sliceJournal) snapshot() []journal.Entry {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.entries[:len(j.entries):len(j.entries)]
}

func (j *sliceJournal) read(ctx context.Context, f journal.Filter, all []journal.Entry) iter.Seq2[journal.Entry, error] {
	return func(yield func(journal.Entry, error) bool) {
		for _, e := range all {
			if err := ctx.Err(); err != nil && j.broken != "ignores cancel" {
				yield(journal.Entry{}, err)
				return
			}
			if j.broken == "ignores since" {
				f.Since = e.Time
			}
			if !f.Match(e) {
				continue
			}
			if j.broken != "yields its own entries" {
				e = e.Clone()
			}
			if !yield(e, nil) {
				return
			}
		}
	}
}

func (j *sliceJournal) Entries(ctx context.Context, f journal.Filter) iter.Seq2[journal.Entry, error] {
	return j.read(ctx, f, j.snapshot())
}

// indexedSlice adds the IndexedJournal methods, by scanning.
type indexedSlice struct{ *sliceJournal }

func (j indexedSlice) Latest(ctx context.Context, f journal.Filter) iter.Seq2[journal.Entry, error] {
	all := slices.Clone(j.snapshot())
	if j.broken != "latest oldest first" {
		slices.Reverse(all)
	}
	return j.read(ctx, f, all)
}

func (j indexedSlice) LastRoutes(ctx context.Context, fn string) (map[string]journal.Entry, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	out := map[string]journal.Entry{}
	for _, e := range j.snapshot() {
		if e.Function == fn && e.Kind.ChangesRoute() {
			out[e.Alias] = e.Clone()
		}
	}
	return out, nil
}

func (j indexedSlice) HasRelease(ctx context.Context, fn, id string) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	for _, e := range j.snapshot() {
		if e.Function == fn && e.Release == id {
			return true, nil
		}
	}
	return j.broken == "knows every release", nil
}

func newSlice(broken string, indexed bool) func(t *testing.T) journal.Journal {
	return func(*testing.T) journal.Journal {
		j := &sliceJournal{broken: broken}
		if indexed {
			return indexedSlice{j}
		}
		return j
	}
}

// An honest journal passes; without IndexedJournal the Indexed clauses
// are skipped, not failed.
func TestHonestJournalsPass(t *testing.T) {
	t.Run("plain", func(t *testing.T) { journaltest.Run(t, newSlice("", false)) })
	t.Run("indexed", func(t *testing.T) { journaltest.Run(t, newSlice("", true)) })
}

// childEnv names the broken journal TestBrokenJournalChild runs the suite
// against, in a child process of TestSuiteFailsBrokenJournals.
const childEnv = "JOURNALTEST_BROKEN"

func TestBrokenJournalChild(t *testing.T) {
	broken := os.Getenv(childEnv)
	if broken == "" {
		t.Skip("run by TestSuiteFailsBrokenJournals")
	}
	journaltest.Run(t, newSlice(broken, true))
}

// Each broken journal fails the suite in the clause that states the rule
// it breaks. The suite runs in a child process (the test binary itself),
// so its failures are read from the output instead of failing this test.
func TestSuiteFailsBrokenJournals(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the test binary once per broken journal")
	}
	for _, tt := range []struct {
		broken string
		clause string // a subtest of the suite that must fail
	}{
		{"skips validation", "AppendRefusesInvalid"},
		{"keeps the caller's entry", "AppendCopies"},
		{"yields its own entries", "EntriesYieldCopies"},
		{"yields its own entries", "FunctionRead"},
		{"yields its own entries", "Indexed/YieldCopies"},
		{"ignores since", "AppendThenEntries"},
		{"ignores cancel", "Cancelled"},
		{"latest oldest first", "Indexed/Latest"},
		{"knows every release", "Indexed/HasRelease"},
	} {
		t.Run(fmt.Sprintf("%s fails %s", tt.broken, tt.clause), func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run", "^TestBrokenJournalChild$", "-test.v", "-test.count=1")
			cmd.Env = append(os.Environ(), childEnv+"="+tt.broken)
			out, err := cmd.CombinedOutput()
			if err == nil {
				t.Fatalf("the suite passed a journal that %s:\n%s", tt.broken, out)
			}
			if want := "--- FAIL: TestBrokenJournalChild/" + tt.clause + " "; !strings.Contains(string(out), want) {
				t.Errorf("output lacks %q:\n%s", want, out)
			}
		})
	}
}
