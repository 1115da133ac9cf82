package release

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/slipway-dev/slipway/journal"
	"github.com/slipway-dev/slipway/provider"
	"github.com/slipway-dev/slipway/provider/memory"
	"github.com/slipway-dev/slipway/retention"
)

// plainJournal hides the IndexedJournal methods of the journal it wraps:
// through it, LastRoute, PreviousGood, RollbackPoints, Verify and the
// workflow take their fallback and read Entries in order, as they did
// before IndexedJournal existed.
type plainJournal struct{ journal.Journal }

var indexT0 = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)

var indexAliases = []string{"prod", "staging", "dev", "canary"}

// randomRoute returns a valid route of alias over versions "1".."6": one
// version, or two with a random split (either may be primary).
func randomRoute(r *rand.Rand, alias string) provider.Route {
	v := func() string { return fmt.Sprint(1 + r.IntN(6)) }
	rt := provider.Split(alias, v(), v(), 100*r.IntN(100))
	if rt.Weights[0].Version == rt.Weights[len(rt.Weights)-1].Version {
		rt = provider.To(alias, rt.Weights[0].Version)
	}
	rt.Revision = fmt.Sprint(r.IntN(1 << 16))
	return rt
}

// randomHistoryEntry returns a valid entry of one of fns functions: a
// publish, a decision (a step judged, an out-of-band change noticed, with
// or without an alias), or a route change, a promotion or a rollback of one
// of four aliases, whose Before is absent, empty or a route, whose
// Candidate and Stable may be empty, over a few versions, so that rollback
// points repeat and promotions without Stable occur. Release IDs repeat
// and carry "-2", "-3" suffixes as derived IDs do; times are not in append
// order.
func randomHistoryEntry(r *rand.Rand, fns int) journal.Entry {
	fn := fmt.Sprintf("fn-%d", r.IntN(fns))
	e := journal.Entry{
		Time:     indexT0.Add(time.Duration(r.IntN(3600)) * time.Second),
		Function: fn,
		Actor:    "ci",
	}
	switch k := r.IntN(8); {
	case k == 0:
	case k < 3:
		e.Release = fmt.Sprintf("%s-promote-%d", fn, r.IntN(6))
	default:
		e.Release = fmt.Sprintf("%s-promote-%d-%d", fn, r.IntN(6), 2+r.IntN(3))
	}
	alias := indexAliases[r.IntN(len(indexAliases))]
	switch k := r.IntN(10); {
	case k == 0:
		e.Kind, e.Candidate = journal.EntryPublish, fmt.Sprint(1+r.IntN(6))
	case k < 3:
		e.Kind, e.Outcome = journal.EntryDecision, []string{"passed", "out of band", "promoted", "failed"}[r.IntN(4)]
		if r.IntN(3) > 0 {
			e.Alias = alias
		}
	default:
		e.Kind = []journal.EntryKind{journal.EntryRoute, journal.EntryRoute, journal.EntryPromote, journal.EntryPromote, journal.EntryRollback}[r.IntN(5)]
		e.Alias = alias
		after := randomRoute(r, alias)
		if e.Kind != journal.EntryRoute {
			after = provider.To(alias, after.Primary())
			after.Revision = fmt.Sprint(r.IntN(1 << 16))
		}
		e.After = &after
		switch r.IntN(4) {
		case 0:
		case 1:
			e.Before = &provider.Route{Alias: alias}
		default:
			before := randomRoute(r, alias)
			e.Before = &before
		}
		if r.IntN(3) > 0 {
			e.Candidate = after.Primary()
		}
		if r.IntN(2) == 0 && e.Before != nil && len(e.Before.Weights) > 0 {
			e.Stable = e.Before.Primary()
		}
	}
	return e
}

// checkFastPaths compares, for every function of the fleet (and one with
// no entries), what the package's readers answer from j through
// IndexedJournal with what they answer through plainJournal, the forward
// scan: Latest with Entries reversed, LastRoutes, LastRoute, PreviousGood,
// RollbackPoints and the workflow's bounded rollback points, Verify
// against p, and the release IDs claimID sees as taken.
func checkFastPaths(t *testing.T, p provider.Provider, j journal.Journal, fns int) {
	t.Helper()
	ctx := context.Background()
	ij, ok := j.(journal.IndexedJournal)
	if !ok {
		t.Fatalf("%T does not implement IndexedJournal", j)
	}
	pj := plainJournal{j}
	aliases := append([]string{""}, indexAliases...)
	aliases = append(aliases, "nowhere")
	latest := func(f journal.Filter) {
		t.Helper()
		want := readAll(t, j.Entries(ctx, f))
		slices.Reverse(want)
		// reflect.DeepEqual first: cmp.Diff of long equal slices is slow.
		if got := readAll(t, ij.Latest(ctx, f)); !reflect.DeepEqual(want, got) {
			t.Fatalf("Latest(%+v) (-Entries reversed +got):\n%s", f, cmp.Diff(want, got))
		}
	}
	since := indexT0.Add(30 * time.Minute)
	latest(journal.Filter{})
	latest(journal.Filter{Alias: "staging", Since: since})
	for i := range fns + 1 { // fn-<fns> has no entries
		fn := fmt.Sprintf("fn-%d", i)
		for _, alias := range aliases {
			latest(journal.Filter{Function: fn, Alias: alias})
		}
		latest(journal.Filter{Function: fn, Since: since})
		latest(journal.Filter{Function: fn, Alias: "prod", Since: since})
		fast, err := ij.LastRoutes(ctx, fn)
		if err != nil {
			t.Fatal(err)
		}
		slow, err := lastRoutes(ctx, pj, fn)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(slow, fast); diff != "" {
			t.Fatalf("LastRoutes(%s) (-scan +indexed):\n%s", fn, diff)
		}
		for _, alias := range aliases {
			e1, err1 := journal.LastRoute(ctx, j, fn, alias)
			e2, err2 := journal.LastRoute(ctx, pj, fn, alias)
			sameAnswer(t, fmt.Sprintf("LastRoute(%s, %q)", fn, alias), []any{e2, err2}, []any{e1, err1})
			v1, p1, err1 := journal.PreviousGood(ctx, j, fn, alias)
			v2, p2, err2 := journal.PreviousGood(ctx, pj, fn, alias)
			sameAnswer(t, fmt.Sprintf("PreviousGood(%s, %q)", fn, alias), []any{v2, p2, err2}, []any{v1, p1, err1})
		}
		h1, err1 := RollbackPoints(ctx, j, fn)
		h2, err2 := RollbackPoints(ctx, pj, fn)
		sameAnswer(t, fmt.Sprintf("RollbackPoints(%s)", fn), []any{h2, err2}, []any{h1, err1})
		for _, limit := range []int{-1, 1, 3} {
			h1, err1 := rollbackPoints(ctx, j, fn, limit)
			h2, err2 := rollbackPoints(ctx, pj, fn, limit)
			sameAnswer(t, fmt.Sprintf("rollbackPoints(%s, %d)", fn, limit), []any{h2, err2}, []any{h1, err1})
			// The bounded answer is the first limit of the whole one.
			for alias, vs := range h2 {
				if limit > 0 && len(vs) > limit {
					vs = vs[:limit]
				}
				if got := h1[alias]; !slices.Equal(got, vs) {
					t.Fatalf("rollbackPoints(%s, %d)[%s] = %v, RollbackPoints truncated = %v", fn, limit, alias, got, vs)
				}
			}
		}
		d1, err1 := Verify(ctx, p, j, fn)
		d2, err2 := Verify(ctx, p, pj, fn)
		sameAnswer(t, fmt.Sprintf("Verify(%s)", fn), []any{d2, err2}, []any{d1, err1})
		// Every ID asked for below has this prefix, so one scan serves.
		prefix := fn + "-promote-"
		fastTaken, err := releaseIDs(ctx, j, fn, prefix)
		if err != nil {
			t.Fatal(err)
		}
		slowTaken, err := releaseIDs(ctx, pj, fn, prefix)
		if err != nil {
			t.Fatal(err)
		}
		for k := range 7 {
			base := fmt.Sprintf("%s%d", prefix, k)
			for n := 1; n <= 5; n++ {
				id := base
				if n > 1 {
					id = fmt.Sprintf("%s-%d", base, n)
				}
				b1, err1 := fastTaken(id)
				b2, err2 := slowTaken(id)
				sameAnswer(t, fmt.Sprintf("release ID %s taken", id), []any{b2, err2}, []any{b1, err1})
			}
		}
	}
}

// sameAnswer fails t unless got equals want, errors compared by message.
func sameAnswer(t *testing.T, what string, want, got []any) {
	t.Helper()
	for _, vs := range [][]any{want, got} {
		for i, v := range vs {
			if err, ok := v.(error); ok {
				vs[i] = "error: " + err.Error()
			}
		}
	}
	// reflect.DeepEqual first: cmp.Diff is slow, and this runs often.
	if !reflect.DeepEqual(want, got) {
		t.Fatalf("%s (-scan +indexed):\n%s", what, cmp.Diff(want, got))
	}
}

func readAll(t *testing.T, seq func(func(journal.Entry, error) bool)) []journal.Entry {
	t.Helper()
	var out []journal.Entry
	for e, err := range seq {
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, e)
	}
	return out
}

// indexFleet builds a memory provider where each of fns functions has
// versions "1".."6" and routes on some of the aliases, and returns it with
// the entries that journal a few of those routes as they are (so Verify
// finds no drift for them, next to out-of-band, unknown and missing
// routes).
func indexFleet(t *testing.T, r *rand.Rand, fns int) (*memory.Provider, []journal.Entry) {
	t.Helper()
	ctx := context.Background()
	p, err := memory.New(memory.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var journaled []journal.Entry
	for i := range fns {
		fn := fmt.Sprintf("fn-%d", i)
		for v := range 6 {
			in := provider.PublishInput{Artifact: provider.Artifact{Zip: []byte(fmt.Sprint(v))}, Config: provider.Config{Runtime: "go1.x", Handler: "main"}}
			if _, err := p.Publish(ctx, fn, in); err != nil {
				t.Fatal(err)
			}
		}
		for _, alias := range indexAliases {
			if r.IntN(3) == 0 {
				continue
			}
			rt, err := p.SetRoute(ctx, fn, provider.To(alias, fmt.Sprint(1+r.IntN(6))))
			if err != nil {
				t.Fatal(err)
			}
			if r.IntN(2) == 0 {
				journaled = append(journaled, journal.Entry{Time: indexT0, Kind: journal.EntryRoute, Function: fn, Alias: alias, After: &rt})
			}
		}
	}
	return p, journaled
}

// appendHistory appends n random entries of fns functions to j, and, with
// probability one in ten each, one of the entries of journaled not yet
// appended (which it returns, shortened).
func appendHistory(t *testing.T, j journal.Journal, r *rand.Rand, n, fns int, journaled []journal.Entry) []journal.Entry {
	t.Helper()
	for range n {
		e := randomHistoryEntry(r, fns)
		if len(journaled) > 0 && r.IntN(10) == 0 {
			e, journaled = journaled[0], journaled[1:]
		}
		if err := j.Append(context.Background(), e); err != nil {
			t.Fatal(err)
		}
	}
	return journaled
}

// TestIndexedJournalMatchesScan checks, on random histories of fleets of
// 1 to 12 functions, that the answers read through IndexedJournal are
// those of the forward scan, for MemoryJournal and for FileJournal (as
// written, after reopening, after appending more, and after a torn tail
// was recovered and appended past). -short runs the
// three smallest fleets.
func TestIndexedJournalMatchesScan(t *testing.T) {
	seeds := uint64(6)
	if testing.Short() {
		seeds = 3
	}
	for seed := range seeds {
		fns := []int{1, 2, 3, 5, 7, 10}[seed]
		t.Run(fmt.Sprintf("seed %d, %d functions", seed, fns), func(t *testing.T) {
			t.Run("memory", func(t *testing.T) {
				r := rand.New(rand.NewPCG(seed, 11))
				p, journaled := indexFleet(t, r, fns)
				var j journal.MemoryJournal
				for range 3 {
					journaled = appendHistory(t, &j, r, 50*fns, fns, journaled)
					checkFastPaths(t, p, &j, fns)
				}
			})
			if fns > 5 {
				return // the smaller fleets exercise the file's index; decoding is slow under -race
			}
			t.Run("file", func(t *testing.T) {
				r := rand.New(rand.NewPCG(seed, 12))
				p, journaled := indexFleet(t, r, fns)
				path := filepath.Join(t.TempDir(), "j.jsonl")
				j, err := journal.OpenFileJournal(path)
				if err != nil {
					t.Fatal(err)
				}
				defer func() { j.Close() }()
				journaled = appendHistory(t, j, r, 40*fns, fns, journaled)
				checkFastPaths(t, p, j, fns)
				if err := j.Close(); err != nil {
					t.Fatal(err)
				}
				if j, err = journal.OpenFileJournal(path); err != nil {
					t.Fatal(err)
				}
				checkFastPaths(t, p, j, fns)
				journaled = appendHistory(t, j, r, 15*fns, fns, journaled)
				checkFastPaths(t, p, j, fns)

				// A crash tore the next line: the reopened index leaves it
				// out, and the entries appended once the torn bytes are
				// removed are found where they now are.
				if err := j.Close(); err != nil {
					t.Fatal(err)
				}
				raw, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := raw.WriteString(`{"time":"2026-03-02T10:00:00Z","release":"fn-0-promote-1","kind":"rou`); err != nil {
					t.Fatal(err)
				}
				if err := raw.Close(); err != nil {
					t.Fatal(err)
				}
				if j, err = journal.OpenFileJournal(path); err != nil {
					t.Fatal(err)
				}
				if j.Recovered() == nil {
					t.Fatal("Recovered = nil after a torn tail")
				}
				checkFastPaths(t, p, j, fns)
				appendHistory(t, j, r, 10*fns, fns, journaled)
				checkFastPaths(t, p, j, fns)
			})
		})
	}
}

// indexScenario runs a random sequence of workflow operations on a fresh
// fixture, with the fixture's MemoryJournal as it is or behind
// plainJournal, and returns what a caller can see: each operation's result
// (as JSON) and error, the journal, and the routes and versions left.
func indexScenario(t *testing.T, seed uint64, plain bool) []string {
	t.Helper()
	ctx := context.Background()
	f := newFixture(t, func(o *Options) {
		o.Retention = &retention.Policy{KeepLast: 2}
		// One delete at a time: the virtual time a prune takes (and so
		// every later timestamp) does not depend on goroutine scheduling.
		o.Prune = retention.ApplyOptions{Concurrency: 1}
		o.RollbackPoints = 2
		if plain {
			o.Journal = plainJournal{o.Journal}
		}
	})
	rng := rand.New(rand.NewPCG(seed, 21))
	var seen []string
	see := func(op string, res any, err error) {
		b, jerr := json.Marshal(res)
		if jerr != nil {
			t.Fatal(jerr)
		}
		seen = append(seen, fmt.Sprintf("%s: %s; error: %v", op, b, err))
	}
	f.first()
	code := 1
	for op := range 14 {
		faulty := false
		f.w.opts.OnEvent = func(e Event) {
			if faulty && e.Kind == EventPublished {
				f.mem.SetBehavior(fn, e.Candidate, memory.Behavior{ErrorRate: 0.25})
			}
		}
		var res Result
		var err error
		switch k := rng.IntN(10); {
		case k < 4: // a release with a derived ID, healthy or faulty
			code++
			faulty = rng.IntN(3) == 0
			res, err = f.release(ctx, Request{Function: fn, Publish: artifact(fmt.Sprintf("v%d", code))})
			see(fmt.Sprintf("%d release (faulty %v)", op, faulty), res, err)
		case k < 6: // a rollback of production or staging, in the same second as the operation before
			alias := []string{"production", "staging"}[rng.IntN(2)]
			res, err = f.w.RollbackWith(ctx, RollbackRequest{Function: fn, Alias: alias})
			see(fmt.Sprintf("%d rollback %s", op, alias), res, err)
		case k < 7: // staging promoted to production
			f.clock.Run(func() { res, err = f.w.Promote(ctx, PromoteRequest{Function: fn}) })
			see(fmt.Sprintf("%d promote", op), res, err)
		case k < 9: // someone points production at another version by hand
			cur := f.route("production")
			want := provider.To("production", fmt.Sprint(1+rng.IntN(code)))
			want.Revision = cur.Revision
			got, err := f.mem.SetRoute(ctx, fn, want)
			see(fmt.Sprintf("%d out of band", op), got, err)
		default:
			plan, rep, err := f.w.Prune(ctx, fn, rng.IntN(2) == 0)
			see(fmt.Sprintf("%d prune plan", op), plan, err)
			see(fmt.Sprintf("%d prune report", op), rep, nil)
		}
		drift, err := Verify(ctx, f.mem, f.journal, fn)
		see(fmt.Sprintf("%d verify", op), drift, err)
		points, err := RollbackPoints(ctx, f.journal, fn)
		see(fmt.Sprintf("%d rollback points", op), points, err)
	}
	see("journal", f.entries(), nil)
	routes, err := f.mem.Routes(ctx, fn)
	see("routes", routes, err)
	var versions []provider.Version
	for v, err := range f.mem.Versions(ctx, fn) {
		if err != nil {
			t.Fatal(err)
		}
		versions = append(versions, v)
	}
	see("versions", versions, nil)
	return seen
}

// TestWorkflowSameWithoutIndexedJournal runs the same random operations
// (releases with derived IDs, healthy and faulty, rollbacks in the same
// second, promotions, out-of-band changes, prunes) with the
// MemoryJournal's IndexedJournal methods used and hidden: every result,
// drift report, rollback point, journal entry, route and version is the
// same.
func TestWorkflowSameWithoutIndexedJournal(t *testing.T) {
	seeds := 12
	if testing.Short() {
		seeds = 4
	}
	var all strings.Builder
	for seed := range uint64(seeds) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			indexed := indexScenario(t, seed, false)
			plain := indexScenario(t, seed, true)
			if diff := cmp.Diff(plain, indexed); diff != "" {
				t.Fatalf("(-plain journal +indexed journal):\n%s", diff)
			}
			all.WriteString(strings.Join(indexed, "\n"))
		})
	}
	// The scenarios reach what the indexed reads answer differently from a
	// plain scan if anything does.
	for _, want := range []string{
		`Z-2","kind"`,             // a derived ID taken, the next suffix claimed
		`"kind":"out of band"`,    // a drift found by Verify
		`"outcome":"rolled back"`, // a faulty release or a rollback
		`"outcome":"pruned"`,      // retention kept the rollback points
		`rollback points: {"production":["`,
	} {
		if !strings.Contains(all.String(), want) {
			t.Errorf("no scenario shows %s", want)
		}
	}
}
