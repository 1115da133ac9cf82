package release_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/slipway-dev/slipway/provider"
	"github.com/slipway-dev/slipway/release"
)

// latest collects what Latest yields for f, failing t on an error.
func latest(t *testing.T, j release.IndexedJournal, f release.Filter) []release.Entry {
	t.Helper()
	var out []release.Entry
	for e, err := range j.Latest(context.Background(), f) {
		if err != nil {
			t.Fatalf("Latest: %v", err)
		}
		out = append(out, e)
	}
	return out
}

// The IndexedJournal methods of both journals keep the contract: Latest
// is Entries newest first and yields copies, may be stopped and may be
// appended to while it runs; LastRoutes returns copies of each alias's
// newest route change; HasRelease knows a function's release IDs only;
// all fail with the context's error when it is done.
func TestIndexedJournalContract(t *testing.T) {
	ctx := context.Background()
	journals(t, func(t *testing.T, j release.Journal) {
		ij, ok := j.(release.IndexedJournal)
		if !ok {
			t.Fatalf("%T does not implement release.IndexedJournal", j)
		}
		var want []release.Entry // of function a
		for i := range 8 {
			e := routeEntry(i)
			e.Function = []string{"a", "b"}[i%2]
			e.Release = fmt.Sprintf("r-%s-%d", e.Function, i)
			switch i {
			case 4:
				e.Kind, e.Alias, e.Before, e.After, e.Outcome = release.EntryDecision, "prod", nil, nil, "passed"
			case 6:
				e.Alias, e.Before.Alias, e.After.Alias = "staging", "staging", "staging"
			}
			if err := j.Append(ctx, e); err != nil {
				t.Fatal(err)
			}
			if e.Function == "a" {
				want = append(want, e)
			}
		}
		rev := slices.Clone(want)
		slices.Reverse(rev)
		a := release.Filter{Function: "a"}
		if diff := cmp.Diff(rev, latest(t, ij, a)); diff != "" {
			t.Errorf("Latest(a) (-want +got):\n%s", diff)
		}
		prod := release.Filter{Function: "a", Alias: "prod"}
		if diff := cmp.Diff([]release.Entry{want[2], want[1], want[0]}, latest(t, ij, prod)); diff != "" {
			t.Errorf("Latest(a, prod) (-want +got):\n%s", diff)
		}
		if got := latest(t, ij, release.Filter{Function: "a", Alias: "nowhere"}); len(got) != 0 {
			t.Errorf("Latest(a, nowhere) = %v, want nothing", got)
		}
		if got := latest(t, ij, release.Filter{Function: "c"}); len(got) != 0 {
			t.Errorf("Latest(c) = %v, want nothing", got)
		}
		since := release.Filter{Function: "a", Since: want[1].Time}
		if diff := cmp.Diff(rev[:3], latest(t, ij, since)); diff != "" {
			t.Errorf("Latest(a, since entry 1) (-want +got):\n%s", diff)
		}

		last, err := ij.LastRoutes(ctx, "a")
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(map[string]release.Entry{"prod": want[1], "staging": want[3]}, last); diff != "" {
			t.Errorf("LastRoutes(a) (-want +got):\n%s", diff)
		}
		if last, err := ij.LastRoutes(ctx, "c"); err != nil || len(last) != 0 {
			t.Errorf("LastRoutes(c) = %v, %v; want an empty map", last, err)
		}

		// What they return are copies.
		for e := range ij.Latest(ctx, a) {
			if e.After != nil {
				e.After.Weights[0].Version = "mutated"
			}
		}
		last["prod"].After.Weights[0].Version = "mutated"
		if diff := cmp.Diff(rev, latest(t, ij, a)); diff != "" {
			t.Errorf("after mutating what was read (-want +got):\n%s", diff)
		}

		for _, c := range []struct {
			fn, id string
			want   bool
		}{{"a", "r-a-2", true}, {"a", "r-b-3", false}, {"b", "r-b-3", true}, {"a", "r-a", false}, {"c", "r-a-2", false}} {
			if got, err := ij.HasRelease(ctx, c.fn, c.id); err != nil || got != c.want {
				t.Errorf("HasRelease(%s, %s) = %v, %v; want %v", c.fn, c.id, got, err, c.want)
			}
		}

		// Appending to the function being read does not deadlock, the new
		// entries are in the index at once, and stopping early is honoured.
		n := 0
		for _, err := range ij.Latest(ctx, a) {
			if err != nil {
				t.Fatal(err)
			}
			e := routeEntry(20 + n)
			e.Function, e.Release = "a", fmt.Sprintf("r-new-%d", n)
			if err := j.Append(ctx, e); err != nil {
				t.Fatal(err)
			}
			if n++; n == 2 {
				break
			}
		}
		if got := len(latest(t, ij, a)); got != len(want)+2 {
			t.Errorf("function a after appending in the loop: %d entries, want %d", got, len(want)+2)
		}
		if ok, err := ij.HasRelease(ctx, "a", "r-new-1"); err != nil || !ok {
			t.Errorf("HasRelease of an entry just appended = %v, %v", ok, err)
		}
		if last, err := ij.LastRoutes(ctx, "a"); err != nil || last["prod"].Release != "r-new-1" {
			t.Errorf("LastRoutes(a) after appending: prod is %q, %v; want r-new-1", last["prod"].Release, err)
		}

		cctx, cancel := context.WithCancel(ctx)
		cancel()
		for _, f := range []release.Filter{a, prod, {}} {
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
	})
}

func TestFileJournalIndexedAfterClose(t *testing.T) {
	j, err := release.OpenFileJournal(filepath.Join(t.TempDir(), "j.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	if err := j.Append(context.Background(), routeEntry(0)); err != nil {
		t.Fatal(err)
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	for _, f := range []release.Filter{{Function: "fn"}, {}} {
		n := 0
		for _, err := range j.Latest(context.Background(), f) {
			n++
			if !errors.Is(err, release.ErrClosed) {
				t.Errorf("Latest(%+v) after Close yielded %v, want release.ErrClosed", f, err)
			}
		}
		if n != 1 {
			t.Errorf("Latest(%+v) after Close yielded %d times, want once (the error)", f, n)
		}
	}
	if _, err := j.LastRoutes(context.Background(), "fn"); !errors.Is(err, release.ErrClosed) {
		t.Errorf("LastRoutes after Close: %v, want release.ErrClosed", err)
	}
	if _, err := j.HasRelease(context.Background(), "fn", "r1"); !errors.Is(err, release.ErrClosed) {
		t.Errorf("HasRelease after Close: %v, want release.ErrClosed", err)
	}
}

// A file changed behind the journal's back: LastRoutes and Latest report
// the line that is no longer what the index says as corruption, at the
// right line, instead of answering another function's entry.
func TestFileJournalIndexedDetectsRewrite(t *testing.T) {
	j, off := rewrittenJournal(t)
	check := func(what string, err error) {
		t.Helper()
		var ce *release.CorruptError
		if !errors.As(err, &ce) || !errors.Is(err, release.ErrCorrupt) {
			t.Fatalf("%s: %v, want a *release.CorruptError", what, err)
		}
		if ce.Line != 3 || ce.Offset != int64(off) {
			t.Errorf("%s: CorruptError at line %d offset %d, want line 3 offset %d", what, ce.Line, ce.Offset, off)
		}
	}
	_, err := j.LastRoutes(context.Background(), "aa")
	check("LastRoutes(aa)", err)
	var got []error
	for _, err := range j.Latest(context.Background(), release.Filter{Function: "aa", Alias: "prod"}) {
		got = append(got, err)
	}
	if len(got) != 1 {
		t.Fatalf("Latest(aa) yielded %v, want the error first (the newest line is the rewritten one)", got)
	}
	check("Latest(aa)", got[0])
}

// Writers append to their own functions while readers ask the index:
// every Latest of a function is a prefix of what its writer appended, in
// reverse; LastRoutes answers an entry appended already; HasRelease knows
// every release appended before it was asked. Run with -race.
func TestIndexedJournalConcurrent(t *testing.T) {
	const writers, each = 6, 25
	journals(t, func(t *testing.T, j release.Journal) {
		ij := j.(release.IndexedJournal)
		ctx := context.Background()
		seq := func(w, i int) release.Entry {
			e := routeEntry(i)
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
					if err := j.Append(ctx, seq(w, i)); err != nil {
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
					for e, err := range ij.Latest(ctx, release.Filter{Function: fn, Alias: "prod"}) {
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
	})
}

// A journal read newest first, stopping at the first promotion found,
// and the questions a release asks answered from the index: the last
// route change of each alias and whether a release ID is taken. Callers
// that accept any Journal find these methods by type assertion.
func ExampleIndexedJournal() {
	ctx := context.Background()
	var j release.Journal = &release.MemoryJournal{}
	at := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	for i, v := range []string{"1", "2", "3"} {
		r := provider.To("prod", v)
		r.Revision = fmt.Sprint(i + 1)
		kind := release.EntryPromote
		if v == "3" {
			kind = release.EntryRollback
		}
		e := release.Entry{Time: at.Add(time.Duration(i) * time.Hour), Release: "r" + v, Kind: kind,
			Function: "checkout", Alias: "prod", After: &r, Candidate: v}
		if err := j.Append(ctx, e); err != nil {
			fmt.Println(err)
			return
		}
	}
	ij, ok := j.(release.IndexedJournal)
	if !ok {
		fmt.Println("a plain Journal: read Entries instead")
		return
	}
	for e, err := range ij.Latest(ctx, release.Filter{Function: "checkout", Alias: "prod"}) {
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println(e.Release, e.Kind)
		if e.Kind == release.EntryPromote {
			break
		}
	}
	last, err := ij.LastRoutes(ctx, "checkout")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("prod: version %s, revision %s\n", last["prod"].After.Primary(), last["prod"].After.Revision)
	for _, id := range []string{"r2", "r4"} {
		taken, err := ij.HasRelease(ctx, "checkout", id)
		fmt.Println(id, "taken:", taken, err)
	}
	// Output:
	// r3 rollback
	// r2 promote
	// prod: version 3, revision 3
	// r2 taken: true <nil>
	// r4 taken: false <nil>
}
