// Package journaltest is the conformance suite of journal.Journal, in the
// manner of provider/providertest and testing/fstest: a journal
// implementation passes it to show it keeps the contract the release
// workflow relies on.
//
//	func TestConformance(t *testing.T) {
//		journaltest.Run(t, func(t *testing.T) journal.Journal {
//			return &journal.MemoryJournal{}
//		})
//	}
//
// Each clause of the contract is a named subtest with a fresh journal.
// The clauses of journal.IndexedJournal run under "Indexed" when the
// journal implements it (found by type assertion), and are skipped
// otherwise.
package journaltest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/slipway-dev/slipway/journal"
	"github.com/slipway-dev/slipway/provider"
)

// Run runs the suite against the journals newJournal returns. newJournal
// is called once per subtest with the subtest's t and must return a fresh,
// empty journal; closing it, if it needs closing, is newJournal's job (with
// t.Cleanup).
func Run(t *testing.T, newJournal func(t *testing.T) journal.Journal) {
	t.Helper()
	for _, c := range clauses {
		t.Run(c.name, func(t *testing.T) { c.run(t, newJournal(t)) })
	}
	t.Run("Indexed", func(t *testing.T) {
		for _, c := range indexedClauses {
			t.Run(c.name, func(t *testing.T) {
				j := newJournal(t)
				ij, ok := j.(journal.IndexedJournal)
				if !ok {
					t.Skipf("%T does not implement journal.IndexedJournal", j)
				}
				c.run(t, ij)
			})
		}
	})
}

var clauses = []struct {
	name string
	run  func(t *testing.T, j journal.Journal)
}{
	{"AppendThenEntries", appendThenEntries},
	{"AppendRefusesInvalid", appendRefusesInvalid},
	{"AppendCopies", appendCopies},
	{"EntriesYieldCopies", entriesYieldCopies},
	{"AppendWhileReading", appendWhileReading},
	{"Cancelled", cancelled},
	{"FunctionRead", functionRead},
	{"ConcurrentFunctionReads", concurrentFunctionReads},
	{"MatchesBruteForce", matchesBruteForce},
}

var indexedClauses = []struct {
	name string
	run  func(t *testing.T, j journal.IndexedJournal)
}{
	{"Latest", indexedLatest},
	{"LastRoutes", indexedLastRoutes},
	{"YieldCopies", indexedCopies},
	{"HasRelease", indexedHasRelease},
	{"AppendWhileReading", indexedAppendWhileReading},
	{"Cancelled", indexedCancelled},
	{"Concurrent", indexedConcurrent},
	{"SameAsEntries", indexedSameAsEntries},
}

// T0 is the time of the suite's first entry.
var T0 = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)

// RouteEntry returns the i-th of a sequence of valid route changes of
// function "fn", alias "prod", release "r1": version 2 at 100*(i%100+1)
// basis points, at T0 + i seconds, with Reason "step i".
func RouteEntry(i int) journal.Entry {
	before := provider.To("prod", "1")
	before.Revision = fmt.Sprintf("rev-%d", i)
	after := provider.Split("prod", "1", "2", 100*(i%100+1))
	after.Revision = fmt.Sprintf("rev-%d", i+1)
	return journal.Entry{
		Time: T0.Add(time.Duration(i) * time.Second), Release: "r1", Kind: journal.EntryRoute,
		Function: "fn", Alias: "prod", Actor: "ci", Reason: fmt.Sprintf("step %d", i),
		Before: &before, After: &after, Candidate: "2", Stable: "1", Semver: "1.1.0",
	}
}

// RandomEntry returns a valid entry of one of fns functions ("fn-0"…), on
// one of the aliases prod, staging, dev (or none), of any kind, at a time
// that is not in append order: an index must not assume the journal is
// sorted by anything.
func RandomEntry(r *rand.Rand, fns int) journal.Entry {
	aliases := []string{"prod", "staging", "dev"}
	e := journal.Entry{
		Time:     T0.Add(time.Duration(r.IntN(3600)) * time.Second),
		Release:  fmt.Sprintf("r-%d", r.IntN(1000)),
		Function: fmt.Sprintf("fn-%d", r.IntN(fns)),
		Actor:    "ci",
		Reason:   strings.Repeat("x", r.IntN(300)), // lines of varied length
	}
	switch k := r.IntN(5); k {
	case 0:
		e.Kind = journal.EntryPublish
	case 1:
		e.Kind, e.Outcome = journal.EntryDecision, "passed"
		if r.IntN(2) == 0 {
			e.Alias = aliases[r.IntN(len(aliases))]
		}
	default:
		e.Kind = []journal.EntryKind{journal.EntryRoute, journal.EntryPromote, journal.EntryRollback}[k-2]
		e.Alias = aliases[r.IntN(len(aliases))]
		after := provider.Split(e.Alias, "1", "2", 100*r.IntN(100))
		after.Revision = fmt.Sprint(r.IntN(1 << 20))
		e.After = &after
		if r.IntN(3) > 0 {
			before := provider.To(e.Alias, "1")
			e.Before = &before
		}
	}
	return e
}

// Collect returns what j.Entries(f) yields, failing t on an error.
func Collect(t *testing.T, j journal.Journal, f journal.Filter) []journal.Entry {
	t.Helper()
	var out []journal.Entry
	for e, err := range j.Entries(context.Background(), f) {
		if err != nil {
			t.Fatalf("Entries: %v", err)
		}
		out = append(out, e)
	}
	return out
}

// CollectLatest returns what j.Latest(f) yields, failing t on an error.
func CollectLatest(t *testing.T, j journal.IndexedJournal, f journal.Filter) []journal.Entry {
	t.Helper()
	var out []journal.Entry
	for e, err := range j.Latest(context.Background(), f) {
		if err != nil {
			t.Fatalf("Latest: %v", err)
		}
		out = append(out, e)
	}
	return out
}

// Brute is what Entries(f) must yield: the entries of all that f matches,
// in append order.
func Brute(all []journal.Entry, f journal.Filter) []journal.Entry {
	var out []journal.Entry
	for _, e := range all {
		if f.Match(e) {
			out = append(out, e)
		}
	}
	return out
}

// CheckAgainst compares Entries for every function of fns ("fn-0"…, and
// one more without entries), every function and alias, and a few Since
// bounds, with Brute over all, and the unfiltered read with all.
func CheckAgainst(t *testing.T, j journal.Journal, all []journal.Entry, fns int) {
	t.Helper()
	if diff := cmp.Diff(all, Collect(t, j, journal.Filter{})); diff != "" {
		t.Fatalf("all entries (-want +got):\n%s", diff)
	}
	for fn := range fns + 1 { // fn-<fns> has no entries
		for _, alias := range []string{"", "prod", "staging", "dev", "nowhere"} {
			for _, since := range []time.Time{{}, T0.Add(30 * time.Minute)} {
				f := journal.Filter{Function: fmt.Sprintf("fn-%d", fn), Alias: alias, Since: since}
				if diff := cmp.Diff(Brute(all, f), Collect(t, j, f)); diff != "" {
					t.Fatalf("Entries(%+v) (-brute force +got):\n%s", f, diff)
				}
			}
		}
	}
	// An alias filter alone still reads everything.
	f := journal.Filter{Alias: "staging"}
	if diff := cmp.Diff(Brute(all, f), Collect(t, j, f)); diff != "" {
		t.Fatalf("Entries(%+v) (-brute force +got):\n%s", f, diff)
	}
}

// AppendRandom appends n entries of RandomEntry(r, fns) to j and returns
// all with them.
func AppendRandom(t *testing.T, j journal.Journal, r *rand.Rand, all []journal.Entry, n, fns int) []journal.Entry {
	t.Helper()
	for range n {
		e := RandomEntry(r, fns)
		if err := j.Append(context.Background(), e); err != nil {
			t.Fatal(err)
		}
		all = append(all, e)
	}
	return all
}

// fiveEntries appends five route changes: of fn/prod, except the fourth
// (of function "other") and the fifth (of alias staging). It returns
// copies of them.
func fiveEntries(t *testing.T, j journal.Journal) []journal.Entry {
	t.Helper()
	var want []journal.Entry
	for i := range 5 {
		e := RouteEntry(i)
		if i == 3 {
			e.Function = "other"
		}
		if i == 4 {
			e.Alias, e.Before.Alias, e.After.Alias = "staging", "staging", "staging"
		}
		if err := j.Append(context.Background(), e); err != nil {
			t.Fatal(err)
		}
		want = append(want, e.Clone()) // shares nothing with what the journal keeps
	}
	return want
}

// Entries yields what was appended, oldest first, filtered by function,
// alias and time.
func appendThenEntries(t *testing.T, j journal.Journal) {
	want := fiveEntries(t, j)
	if diff := cmp.Diff(want, Collect(t, j, journal.Filter{})); diff != "" {
		t.Errorf("all entries (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]journal.Entry{want[0], want[1], want[2]}, Collect(t, j, journal.Filter{Function: "fn", Alias: "prod"})); diff != "" {
		t.Errorf("fn/prod (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]journal.Entry{want[2], want[4]}, Collect(t, j, journal.Filter{Function: "fn", Since: want[2].Time})); diff != "" {
		t.Errorf("since (-want +got):\n%s", diff)
	}
}

// Invalid entries are refused with provider.ErrInvalid and not recorded.
func appendRefusesInvalid(t *testing.T, j journal.Journal) {
	fiveEntries(t, j)
	bad := RouteEntry(9)
	bad.After = nil
	if err := j.Append(context.Background(), bad); !errors.Is(err, provider.ErrInvalid) {
		t.Errorf("Append(invalid) = %v, want ErrInvalid", err)
	}
	if got := len(Collect(t, j, journal.Filter{})); got != 5 {
		t.Errorf("after refused append: %d entries, want 5", got)
	}
}

// Append records a copy: changing the caller's entry afterwards changes
// nothing in the journal.
func appendCopies(t *testing.T, j journal.Journal) {
	e := RouteEntry(0)
	if err := j.Append(context.Background(), e); err != nil {
		t.Fatal(err)
	}
	e.After.Weights[0].Version = "mutated"
	if got := Collect(t, j, journal.Filter{})[0].After.Weights[0].Version; got != "1" {
		t.Errorf("stored entry changed with the caller's copy: version %q", got)
	}
}

// The entries Entries yields are copies.
func entriesYieldCopies(t *testing.T, j journal.Journal) {
	want := fiveEntries(t, j)
	for e := range j.Entries(context.Background(), journal.Filter{}) {
		e.After.Weights[0].Version = "mutated"
	}
	if diff := cmp.Diff(want, Collect(t, j, journal.Filter{})); diff != "" {
		t.Errorf("after mutating yielded entries (-want +got):\n%s", diff)
	}
}

// Stopping early is honoured, and appending inside the loop does not
// deadlock.
func appendWhileReading(t *testing.T, j journal.Journal) {
	ctx := context.Background()
	fiveEntries(t, j)
	n := 0
	for _, err := range j.Entries(ctx, journal.Filter{}) {
		if err != nil {
			t.Fatal(err)
		}
		if err := j.Append(ctx, RouteEntry(10+n)); err != nil {
			t.Fatal(err)
		}
		if n++; n == 2 {
			break
		}
	}
	if got := len(Collect(t, j, journal.Filter{})); got != 7 {
		t.Errorf("after appending in the loop: %d entries, want 7", got)
	}
}

// A cancelled context stops Append and Entries, with or without a
// function (the indexed read).
func cancelled(t *testing.T, j journal.Journal) {
	fiveEntries(t, j)
	cctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := j.Append(cctx, RouteEntry(20)); !errors.Is(err, context.Canceled) {
		t.Errorf("Append(cancelled) = %v", err)
	}
	for _, f := range []journal.Filter{{}, {Function: "fn"}} {
		for _, err := range j.Entries(cctx, f) {
			if !errors.Is(err, context.Canceled) {
				t.Errorf("Entries(cancelled, %+v) yielded %v", f, err)
			}
			break
		}
	}
}

// Entries of one function: only its entries, copies, appendable to while
// read, stoppable.
func functionRead(t *testing.T, j journal.Journal) {
	ctx := context.Background()
	var want []journal.Entry
	for i := range 6 {
		e := RouteEntry(i)
		e.Function = []string{"a", "b"}[i%2]
		if err := j.Append(ctx, e); err != nil {
			t.Fatal(err)
		}
		want = append(want, e)
	}
	a := journal.Filter{Function: "a"}
	if diff := cmp.Diff([]journal.Entry{want[0], want[2], want[4]}, Collect(t, j, a)); diff != "" {
		t.Errorf("function a (-want +got):\n%s", diff)
	}

	// Yielded entries are copies.
	for e := range j.Entries(ctx, a) {
		e.After.Weights[0].Version = "mutated"
	}
	if diff := cmp.Diff([]journal.Entry{want[0], want[2], want[4]}, Collect(t, j, a)); diff != "" {
		t.Errorf("after mutating yielded entries (-want +got):\n%s", diff)
	}

	// Appending to the function being read does not deadlock, and
	// stopping early is honoured.
	n := 0
	for _, err := range j.Entries(ctx, a) {
		if err != nil {
			t.Fatal(err)
		}
		e := RouteEntry(10 + n)
		e.Function = "a"
		if err := j.Append(ctx, e); err != nil {
			t.Fatal(err)
		}
		if n++; n == 2 {
			break
		}
	}
	if got := len(Collect(t, j, a)); got != 5 {
		t.Errorf("function a after appending in the loop: %d entries, want 5", got)
	}

	// A cancelled context stops the read of a function too.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	for _, err := range j.Entries(cctx, a) {
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Entries(cancelled) yielded %v", err)
		}
		break
	}
}

// Writers append to their own functions while readers read single
// functions: every read of a function is a prefix of what its writer
// appended, in order. Run with -race.
func concurrentFunctionReads(t *testing.T, j journal.Journal) {
	const writers, each = 6, 25
	ctx := context.Background()
	seq := func(w, i int) journal.Entry {
		e := RouteEntry(i)
		e.Function = fmt.Sprintf("fn-%d", w)
		return e
	}
	var wg sync.WaitGroup
	errs := make(chan error, 4*writers)
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				if err := j.Append(ctx, seq(w, i)); err != nil {
					errs <- err
					return
				}
			}
		})
		wg.Go(func() {
			for range 10 {
				i := 0
				for e, err := range j.Entries(ctx, journal.Filter{Function: fmt.Sprintf("fn-%d", w), Alias: "prod"}) {
					if err != nil {
						errs <- err
						return
					}
					if diff := cmp.Diff(seq(w, i), e); diff != "" {
						errs <- fmt.Errorf("fn-%d entry %d (-want +got):\n%s", w, i, diff)
						return
					}
					i++
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	for w := range writers {
		if got := len(Collect(t, j, journal.Filter{Function: fmt.Sprintf("fn-%d", w)})); got != each {
			t.Errorf("fn-%d: %d entries, want %d", w, got, each)
		}
	}
}

// On random histories of 1 to 40 functions, every filtered read is the
// brute-force filter of what was appended.
func matchesBruteForce(t *testing.T, j journal.Journal) {
	r := rand.New(rand.NewPCG(7, 1))
	var all []journal.Entry
	fns := 0
	for _, n := range []int{1, 3, 12, 40} {
		fns = max(fns, n)
		all = AppendRandom(t, j, r, all, 60, n)
		CheckAgainst(t, j, all, fns)
	}
}

// indexedEntries appends eight entries alternating between functions a
// and b (release "r-<fn>-<i>"): route changes of prod, but a decision on
// prod at 4 and a route change of staging at 6. It returns those of a.
func indexedEntries(t *testing.T, j journal.Journal) []journal.Entry {
	t.Helper()
	var want []journal.Entry // of function a
	for i := range 8 {
		e := RouteEntry(i)
		e.Function = []string{"a", "b"}[i%2]
		e.Release = fmt.Sprintf("r-%s-%d", e.Function, i)
		switch i {
		case 4:
			e.Kind, e.Alias, e.Before, e.After, e.Outcome = journal.EntryDecision, "prod", nil, nil, "passed"
		case 6:
			e.Alias, e.Before.Alias, e.After.Alias = "staging", "staging", "staging"
		}
		if err := j.Append(context.Background(), e); err != nil {
			t.Fatal(err)
		}
		if e.Function == "a" {
			want = append(want, e.Clone())
		}
	}
	return want
}

// Latest is Entries newest first, filtered alike.
func indexedLatest(t *testing.T, ij journal.IndexedJournal) {
	want := indexedEntries(t, ij)
	rev := slices.Clone(want)
	slices.Reverse(rev)
	a := journal.Filter{Function: "a"}
	if diff := cmp.Diff(rev, CollectLatest(t, ij, a)); diff != "" {
		t.Errorf("Latest(a) (-want +got):\n%s", diff)
	}
	prod := journal.Filter{Function: "a", Alias: "prod"}
	if diff := cmp.Diff([]journal.Entry{want[2], want[1], want[0]}, CollectLatest(t, ij, prod)); diff != "" {
		t.Errorf("Latest(a, prod) (-want +got):\n%s", diff)
	}
	if got := CollectLatest(t, ij, journal.Filter{Function: "a", Alias: "nowhere"}); len(got) != 0 {
		t.Errorf("Latest(a, nowhere) = %v, want nothing", got)
	}
	if got := CollectLatest(t, ij, journal.Filter{Function: "c"}); len(got) != 0 {
		t.Errorf("Latest(c) = %v, want nothing", got)
	}
	since := journal.Filter{Function: "a", Since: want[1].Time}
	if diff := cmp.Diff(rev[:3], CollectLatest(t, ij, since)); diff != "" {
		t.Errorf("Latest(a, since entry 1) (-want +got):\n%s", diff)
	}
}

// LastRoutes returns each alias's newest route change, and an empty map
// for a function without any.
func indexedLastRoutes(t *testing.T, ij journal.IndexedJournal) {
	want := indexedEntries(t, ij)
	last, err := ij.LastRoutes(context.Background(), "a")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]journal.Entry{"prod": want[1], "staging": want[3]}, last); diff != "" {
		t.Errorf("LastRoutes(a) (-want +got):\n%s", diff)
	}
	if last, err := ij.LastRoutes(context.Background(), "c"); err != nil || len(last) != 0 {
		t.Errorf("LastRoutes(c) = %v, %v; want an empty map", last, err)
	}
}

// What Latest yields and LastRoutes returns are copies.
func indexedCopies(t *testing.T, ij journal.IndexedJournal) {
	ctx := context.Background()
	want := indexedEntries(t, ij)
	rev := slices.Clone(want)
	slices.Reverse(rev)
	a := journal.Filter{Function: "a"}
	last, err := ij.LastRoutes(ctx, "a")
	if err != nil {
		t.Fatal(err)
	}
	for e := range ij.Latest(ctx, a) {
		if e.After != nil {
			e.After.Weights[0].Version = "mutated"
		}
	}
	last["prod"].After.Weights[0].Version = "mutated"
	if diff := cmp.Diff(rev, CollectLatest(t, ij, a)); diff != "" {
		t.Errorf("after mutating what was read (-want +got):\n%s", diff)
	}
}

// HasRelease knows a function's release IDs, and only its own.
func indexedHasRelease(t *testing.T, ij journal.IndexedJournal) {
	indexedEntries(t, ij)
	for _, c := range []struct {
		fn, id string
		want   bool
	}{{"a", "r-a-2", true}, {"a", "r-b-3", false}, {"b", "r-b-3", true}, {"a", "r-a", false}, {"c", "r-a-2", false}} {
		if got, err := ij.HasRelease(context.Background(), c.fn, c.id); err != nil || got != c.want {
			t.Errorf("HasRelease(%s, %s) = %v, %v; want %v", c.fn, c.id, got, err, c.want)
		}
	}
}

// Appending to the function being read newest first does not deadlock,
// the new entries are in the index at once, and stopping early is
// honoured.
func indexedAppendWhileReading(t *testing.T, ij journal.IndexedJournal) {
	ctx := context.Background()
	want := indexedEntries(t, ij)
	a := journal.Filter{Function: "a"}
	n := 0
	for _, err := range ij.Latest(ctx, a) {
		if err != nil {
			t.Fatal(err)
		}
		e := RouteEntry(20 + n)
		e.Function, e.Release = "a", fmt.Sprintf("r-new-%d", n)
		if err := ij.Append(ctx, e); err != nil {
			t.Fatal(err)
		}
		if n++; n == 2 {
			break
		}
	}
	if got := len(CollectLatest(t, ij, a)); got != len(want)+2 {
		t.Errorf("function a after appending in the loop: %d entries, want %d", got, len(want)+2)
	}
	if ok, err := ij.HasRelease(ctx, "a", "r-new-1"); err != nil || !ok {
		t.Errorf("HasRelease of an entry just appended = %v, %v", ok, err)
	}
	if last, err := ij.LastRoutes(ctx, "a"); err != nil || last["prod"].Release != "r-new-1" {
		t.Errorf("LastRoutes(a) after appending: prod is %q, %v; want r-new-1", last["prod"].Release, err)
	}
}

// All three fail with the context's error when it is done.
func indexedCancelled(t *testing.T, ij journal.IndexedJournal) {
	indexedEntries(t, ij)
	a := journal.Filter{Function: "a"}
	prod := journal.Filter{Function: "a", Alias: "prod"}
	cctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, f := range []journal.Filter{a, prod, {}} {
		for _, err := range ij.Latest(cctx, f) {
			if !errors.Is(err, context.Canceled) {
				t.Errorf("Latest(cancelled, %+v) yielded %v", f, err)
			}
			break
		}
	}
	if _, err := ij.LastRoutes(cctx, "a"); !errors.Is(err, context.Canceled) {
		t.Errorf("LastRoutes(cancelled) = %v", err)
	}
	if _, err := ij.HasRelease(cctx, "a", "r-a-0"); !errors.Is(err, context.Canceled) {
		t.Errorf("HasRelease(cancelled) = %v", err)
	}
}

// Writers append to their own functions while readers ask the index:
// every Latest of a function is a prefix of what its writer appended, in
// reverse; LastRoutes answers an entry appended already; HasRelease knows
// every release appended before it was asked. Run with -race.
func indexedConcurrent(t *testing.T, ij journal.IndexedJournal) {
	const writers, each = 6, 25
	ctx := context.Background()
	seq := func(w, i int) journal.Entry {
		e := RouteEntry(i)
		e.Function, e.Release = fmt.Sprintf("fn-%d", w), fmt.Sprintf("r-%d", i)
		return e
	}
	var wg sync.WaitGroup
	errs := make(chan error, 4*writers)
	var appended [writers]int // per writer, how many Append calls returned
	var mu sync.Mutex
	for w := range writers {
		fn := fmt.Sprintf("fn-%d", w)
		wg.Go(func() {
			for i := range each {
				if err := ij.Append(ctx, seq(w, i)); err != nil {
					errs <- err
					return
				}
				mu.Lock()
				appended[w] = i + 1
				mu.Unlock()
			}
		})
		wg.Go(func() {
			for range 10 {
				mu.Lock()
				done := appended[w]
				mu.Unlock()
				n := -1
				for e, err := range ij.Latest(ctx, journal.Filter{Function: fn, Alias: "prod"}) {
					if err != nil {
						errs <- err
						return
					}
					if n < 0 { // the newest: its index is in its Reason
						if _, err := fmt.Sscanf(e.Reason, "step %d", &n); err != nil {
							errs <- fmt.Errorf("%s: newest entry's reason %q: %v", fn, e.Reason, err)
							return
						}
					}
					if diff := cmp.Diff(seq(w, n), e); diff != "" {
						errs <- fmt.Errorf("%s entry %d (-want +got):\n%s", fn, n, diff)
						return
					}
					n--
				}
				if n > 0 {
					errs <- fmt.Errorf("%s: Latest ended at entry %d, not 0", fn, n)
				}
				if done > 0 {
					if ok, err := ij.HasRelease(ctx, fn, fmt.Sprintf("r-%d", done-1)); err != nil || !ok {
						errs <- fmt.Errorf("%s: HasRelease(r-%d) after its Append returned: %v, %v", fn, done-1, ok, err)
					}
					last, err := ij.LastRoutes(ctx, fn)
					k := -1
					if err == nil {
						_, err = fmt.Sscanf(last["prod"].Reason, "step %d", &k)
					}
					if err != nil || k < done-1 {
						errs <- fmt.Errorf("%s: LastRoutes after %d appends: entry %d, %v", fn, done, k, err)
					}
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// On a random history, Latest of every function and alias is Entries
// reversed, LastRoutes is the newest route change of each alias by a
// forward scan, and HasRelease knows exactly the release IDs Entries
// shows.
func indexedSameAsEntries(t *testing.T, ij journal.IndexedJournal) {
	ctx := context.Background()
	const fns = 5
	all := AppendRandom(t, ij, rand.New(rand.NewPCG(7, 2)), nil, 200, fns)
	for fn := range fns + 1 {
		name := fmt.Sprintf("fn-%d", fn)
		for _, alias := range []string{"", "prod", "staging", "dev", "nowhere"} {
			f := journal.Filter{Function: name, Alias: alias}
			want := Brute(all, f)
			slices.Reverse(want)
			if diff := cmp.Diff(want, CollectLatest(t, ij, f)); diff != "" {
				t.Fatalf("Latest(%+v) (-Entries reversed +got):\n%s", f, diff)
			}
		}
		wantLast := map[string]journal.Entry{}
		releases := map[string]bool{}
		for _, e := range Brute(all, journal.Filter{Function: name}) {
			if e.Kind.ChangesRoute() {
				wantLast[e.Alias] = e
			}
			releases[e.Release] = true
		}
		last, err := ij.LastRoutes(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(wantLast, last); diff != "" {
			t.Errorf("LastRoutes(%s) (-forward scan +got):\n%s", name, diff)
		}
		for i := range 1000 {
			id := fmt.Sprintf("r-%d", i)
			if got, err := ij.HasRelease(ctx, name, id); err != nil || got != releases[id] {
				t.Fatalf("HasRelease(%s, %s) = %v, %v; want %v", name, id, got, err, releases[id])
			}
		}
	}
}
