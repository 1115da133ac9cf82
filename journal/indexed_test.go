package journal_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/slipway-dev/slipway/journal"
	"github.com/slipway-dev/slipway/journal/journaltest"
	"github.com/slipway-dev/slipway/provider"
)

func TestFileJournalIndexedAfterClose(t *testing.T) {
	j, err := journal.OpenFileJournal(filepath.Join(t.TempDir(), "j.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	if err := j.Append(context.Background(), journaltest.RouteEntry(0)); err != nil {
		t.Fatal(err)
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	for _, f := range []journal.Filter{{Function: "fn"}, {}} {
		n := 0
		for _, err := range j.Latest(context.Background(), f) {
			n++
			if !errors.Is(err, journal.ErrClosed) {
				t.Errorf("Latest(%+v) after Close yielded %v, want journal.ErrClosed", f, err)
			}
		}
		if n != 1 {
			t.Errorf("Latest(%+v) after Close yielded %d times, want once (the error)", f, n)
		}
	}
	if _, err := j.LastRoutes(context.Background(), "fn"); !errors.Is(err, journal.ErrClosed) {
		t.Errorf("LastRoutes after Close: %v, want journal.ErrClosed", err)
	}
	if _, err := j.HasRelease(context.Background(), "fn", "r1"); !errors.Is(err, journal.ErrClosed) {
		t.Errorf("HasRelease after Close: %v, want journal.ErrClosed", err)
	}
}

// A file changed behind the journal's back: LastRoutes and Latest report
// the line that is no longer what the index says as corruption, at the
// right line, instead of answering another function's entry.
func TestFileJournalIndexedDetectsRewrite(t *testing.T) {
	j, off := rewrittenJournal(t)
	check := func(what string, err error) {
		t.Helper()
		var ce *journal.CorruptError
		if !errors.As(err, &ce) || !errors.Is(err, journal.ErrCorrupt) {
			t.Fatalf("%s: %v, want a *journal.CorruptError", what, err)
		}
		if ce.Line != 3 || ce.Offset != int64(off) {
			t.Errorf("%s: CorruptError at line %d offset %d, want line 3 offset %d", what, ce.Line, ce.Offset, off)
		}
	}
	_, err := j.LastRoutes(context.Background(), "aa")
	check("LastRoutes(aa)", err)
	var got []error
	for _, err := range j.Latest(context.Background(), journal.Filter{Function: "aa", Alias: "prod"}) {
		got = append(got, err)
	}
	if len(got) != 1 {
		t.Fatalf("Latest(aa) yielded %v, want the error first (the newest line is the rewritten one)", got)
	}
	check("Latest(aa)", got[0])
}

// A journal read newest first, stopping at the first promotion found,
// and the questions a release asks answered from the index: the last
// route change of each alias and whether a release ID is taken. Callers
// that accept any Journal find these methods by type assertion.
func ExampleIndexedJournal() {
	ctx := context.Background()
	var j journal.Journal = &journal.MemoryJournal{}
	at := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	for i, v := range []string{"1", "2", "3"} {
		r := provider.To("prod", v)
		r.Revision = fmt.Sprint(i + 1)
		kind := journal.EntryPromote
		if v == "3" {
			kind = journal.EntryRollback
		}
		e := journal.Entry{Time: at.Add(time.Duration(i) * time.Hour), Release: "r" + v, Kind: kind,
			Function: "checkout", Alias: "prod", After: &r, Candidate: v}
		if err := j.Append(ctx, e); err != nil {
			fmt.Println(err)
			return
		}
	}
	ij, ok := j.(journal.IndexedJournal)
	if !ok {
		fmt.Println("a plain Journal: read Entries instead")
		return
	}
	for e, err := range ij.Latest(ctx, journal.Filter{Function: "checkout", Alias: "prod"}) {
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println(e.Release, e.Kind)
		if e.Kind == journal.EntryPromote {
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
