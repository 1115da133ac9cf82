package release_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/slipway-dev/slipway/provider"
	"github.com/slipway-dev/slipway/release"
)

var t0 = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)

func routeEntry(i int) release.Entry {
	before := provider.To("prod", "1")
	before.Revision = fmt.Sprintf("rev-%d", i)
	after := provider.Split("prod", "1", "2", 100*(i%100+1))
	after.Revision = fmt.Sprintf("rev-%d", i+1)
	return release.Entry{
		Time: t0.Add(time.Duration(i) * time.Second), Release: "r1", Kind: release.EntryRoute,
		Function: "fn", Alias: "prod", Actor: "ci", Reason: fmt.Sprintf("step %d", i),
		Before: &before, After: &after, Candidate: "2", Stable: "1", Semver: "1.1.0",
	}
}

func collect(t *testing.T, j release.Journal, f release.Filter) []release.Entry {
	t.Helper()
	var out []release.Entry
	for e, err := range j.Entries(context.Background(), f) {
		if err != nil {
			t.Fatalf("Entries: %v", err)
		}
		out = append(out, e)
	}
	return out
}

func TestEntryValidate(t *testing.T) {
	good := routeEntry(0)
	tests := []struct {
		name  string
		edit  func(*release.Entry)
		field string // "" = valid
	}{
		{"valid route", func(*release.Entry) {}, ""},
		{"valid decision without route", func(e *release.Entry) { e.Kind, e.Before, e.After, e.Alias = release.EntryDecision, nil, nil, "" }, ""},
		{"valid publish", func(e *release.Entry) { e.Kind, e.Before, e.After = release.EntryPublish, nil, nil }, ""},
		{"valid creation without before", func(e *release.Entry) { e.Before = nil }, ""},
		{"unknown kind", func(e *release.Entry) { e.Kind = "deploy" }, "kind"},
		{"zero time", func(e *release.Entry) { e.Time = time.Time{} }, "time"},
		{"no function", func(e *release.Entry) { e.Function = "" }, "function"},
		{"route without alias", func(e *release.Entry) { e.Alias = "" }, "alias"},
		{"route without after", func(e *release.Entry) { e.After = nil }, "after"},
		{"after for another alias", func(e *release.Entry) { e.After.Alias = "staging" }, "after.alias"},
		{"before for another alias", func(e *release.Entry) { e.Before.Alias = "staging" }, "before.alias"},
		{"after does not sum to 100%", func(e *release.Entry) { e.After.Weights[0].BasisPoints = 1 }, "weights"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := good.Clone()
			tt.edit(&e)
			err := e.Validate()
			if tt.field == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			var ie *provider.InvalidError
			if !errors.Is(err, provider.ErrInvalid) || !errors.As(err, &ie) || ie.Field != tt.field {
				t.Fatalf("Validate = %v, want ErrInvalid naming %q", err, tt.field)
			}
		})
	}
}

func TestFilterMatch(t *testing.T) {
	e := routeEntry(0)
	tests := []struct {
		f    release.Filter
		want bool
	}{
		{release.Filter{}, true},
		{release.Filter{Function: "fn"}, true},
		{release.Filter{Function: "other"}, false},
		{release.Filter{Function: "fn", Alias: "prod"}, true},
		{release.Filter{Alias: "staging"}, false},
		{release.Filter{Since: e.Time}, true},
		{release.Filter{Since: e.Time.Add(time.Nanosecond)}, false},
		{release.Filter{Since: e.Time.Add(-time.Hour)}, true},
	}
	for _, tt := range tests {
		if got := tt.f.Match(e); got != tt.want {
			t.Errorf("%+v.Match = %v, want %v", tt.f, got, tt.want)
		}
	}
}

// journals runs f against both implementations.
func journals(t *testing.T, f func(t *testing.T, j release.Journal)) {
	t.Run("memory", func(t *testing.T) { f(t, &release.MemoryJournal{}) })
	t.Run("file", func(t *testing.T) {
		j, err := release.OpenFileJournal(filepath.Join(t.TempDir(), "journal.jsonl"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { j.Close() })
		f(t, j)
	})
}

func TestJournalContract(t *testing.T) {
	ctx := context.Background()
	journals(t, func(t *testing.T, j release.Journal) {
		var want []release.Entry
		for i := range 5 {
			e := routeEntry(i)
			if i == 3 {
				e.Function = "other"
			}
			if i == 4 {
				e.Alias, e.Before.Alias, e.After.Alias = "staging", "staging", "staging"
			}
			if err := j.Append(ctx, e); err != nil {
				t.Fatal(err)
			}
			want = append(want, e)
		}
		if diff := cmp.Diff(want, collect(t, j, release.Filter{})); diff != "" {
			t.Errorf("all entries (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]release.Entry{want[0], want[1], want[2]}, collect(t, j, release.Filter{Function: "fn", Alias: "prod"})); diff != "" {
			t.Errorf("fn/prod (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]release.Entry{want[2], want[4]}, collect(t, j, release.Filter{Function: "fn", Since: want[2].Time})); diff != "" {
			t.Errorf("since (-want +got):\n%s", diff)
		}

		// Invalid entries are refused and not recorded.
		bad := routeEntry(9)
		bad.After = nil
		if err := j.Append(ctx, bad); !errors.Is(err, provider.ErrInvalid) {
			t.Errorf("Append(invalid) = %v, want ErrInvalid", err)
		}
		if got := len(collect(t, j, release.Filter{})); got != 5 {
			t.Errorf("after refused append: %d entries, want 5", got)
		}

		// Yielded entries are copies.
		for e := range j.Entries(ctx, release.Filter{}) {
			e.After.Weights[0].Version = "mutated"
		}
		if diff := cmp.Diff(want, collect(t, j, release.Filter{})); diff != "" {
			t.Errorf("after mutating yielded entries (-want +got):\n%s", diff)
		}

		// Stopping early is honoured, and appending inside the loop does
		// not deadlock.
		n := 0
		for _, err := range j.Entries(ctx, release.Filter{}) {
			if err != nil {
				t.Fatal(err)
			}
			if err := j.Append(ctx, routeEntry(10+n)); err != nil {
				t.Fatal(err)
			}
			if n++; n == 2 {
				break
			}
		}
		if got := len(collect(t, j, release.Filter{})); got != 7 {
			t.Errorf("after appending in the loop: %d entries, want 7", got)
		}

		// A cancelled context stops both calls.
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if err := j.Append(cctx, routeEntry(20)); !errors.Is(err, context.Canceled) {
			t.Errorf("Append(cancelled) = %v", err)
		}
		for _, err := range j.Entries(cctx, release.Filter{}) {
			if !errors.Is(err, context.Canceled) {
				t.Errorf("Entries(cancelled) yielded %v", err)
			}
			break
		}
	})
}

func TestMemoryJournalCopiesOnAppend(t *testing.T) {
	var j release.MemoryJournal
	e := routeEntry(0)
	if err := j.Append(context.Background(), e); err != nil {
		t.Fatal(err)
	}
	e.After.Weights[0].Version = "mutated"
	if got := collect(t, &j, release.Filter{})[0].After.Weights[0].Version; got != "1" {
		t.Errorf("stored entry changed with the caller's copy: version %q", got)
	}
}

func writeEntries(t *testing.T, path string, n int) []release.Entry {
	t.Helper()
	j, err := release.OpenFileJournal(path)
	if err != nil {
		t.Fatal(err)
	}
	var want []release.Entry
	for i := range n {
		e := routeEntry(i)
		if err := j.Append(context.Background(), e); err != nil {
			t.Fatal(err)
		}
		want = append(want, e)
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	return want
}

func appendRaw(t *testing.T, path string, b []byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// checkLines asserts that every line of the file ends with a newline and
// decodes as a valid entry, and returns how many there are.
func checkLines(t *testing.T, path string) int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) > 0 && b[len(b)-1] != '\n' {
		t.Fatalf("file does not end with a newline: ...%q", b[max(0, len(b)-40):])
	}
	n := 0
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		n++
		var e release.Entry
		dec := json.NewDecoder(bytes.NewReader(sc.Bytes()))
		dec.DisallowUnknownFields()
		err := dec.Decode(&e)
		if err == nil {
			err = e.Validate()
		}
		if err != nil {
			t.Fatalf("line %d does not decode: %v: %s", n, err, sc.Bytes())
		}
	}
	return n
}

func TestFileJournalTornTail(t *testing.T) {
	const n = 10
	half := func() []byte {
		b, _ := json.Marshal(routeEntry(99))
		return b[:len(b)/2]
	}
	whole := func() []byte {
		b, _ := json.Marshal(routeEntry(99))
		return b
	}
	tests := []struct {
		name      string
		tail      []byte
		decodeErr bool // the release.TornError carries a decoding error
	}{
		{"half a JSON line without newline", half(), true},
		{"garbage without newline", []byte("\x00\x00\x00\x00"), true},
		{"a whole entry without its newline", whole(), false},
		{"a final line that does not decode", []byte(`{"kind":"route","ti` + "\n"), true},
		{"a final blank line", []byte("\n"), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			path := filepath.Join(t.TempDir(), "j.jsonl")
			want := writeEntries(t, path, n)
			st, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			good := st.Size()
			appendRaw(t, path, tt.tail)

			j, err := release.OpenFileJournal(path)
			if err != nil {
				t.Fatalf("release.OpenFileJournal: %v", err)
			}
			defer j.Close()
			torn := j.Recovered()
			if torn == nil {
				t.Fatal("Recovered = nil, want the torn tail")
			}
			wantTorn := &release.TornError{Path: path, Offset: good, Line: bytes.TrimSuffix(tt.tail, []byte("\n"))}
			if diff := cmp.Diff(wantTorn, torn, cmp.FilterPath(func(p cmp.Path) bool { return p.Last().String() == ".Err" }, cmp.Ignore())); diff != "" {
				t.Errorf("Recovered (-want +got):\n%s", diff)
			}
			if (torn.Err != nil) != tt.decodeErr {
				t.Errorf("Recovered().Err = %v, want a decoding error: %v", torn.Err, tt.decodeErr)
			}
			if !strings.Contains(torn.Error(), fmt.Sprintf("offset %d", good)) {
				t.Errorf("release.TornError message %q does not give the offset", torn.Error())
			}
			// Opening changes nothing.
			if st, _ := os.Stat(path); st.Size() != good+int64(len(tt.tail)) {
				t.Errorf("file size after open %d, want %d (untouched)", st.Size(), good+int64(len(tt.tail)))
			}
			if diff := cmp.Diff(want, collect(t, j, release.Filter{})); diff != "" {
				t.Errorf("entries after reopen (-want +got):\n%s", diff)
			}

			next := routeEntry(n)
			if err := j.Append(ctx, next); err != nil {
				t.Fatalf("Append after reopen: %v", err)
			}
			if err := j.Append(ctx, routeEntry(n+1)); err != nil {
				t.Fatalf("second Append after reopen: %v", err)
			}
			if j.Recovered() == nil {
				t.Error("Recovered forgot the torn tail after Append")
			}
			j.Close()
			if got := checkLines(t, path); got != n+2 {
				t.Errorf("file has %d valid lines, want %d", got, n+2)
			}
			j2, err := release.OpenFileJournal(path)
			if err != nil {
				t.Fatal(err)
			}
			defer j2.Close()
			if j2.Recovered() != nil {
				t.Errorf("second reopen: Recovered = %v, want nil", j2.Recovered())
			}
			if diff := cmp.Diff(append(want, next, routeEntry(n+1)), collect(t, j2, release.Filter{})); diff != "" {
				t.Errorf("entries after append and reopen (-want +got):\n%s", diff)
			}
		})
	}
}

func TestFileJournalCleanReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "j.jsonl")
	want := writeEntries(t, path, 3)
	j, err := release.OpenFileJournal(path)
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	if j.Recovered() != nil {
		t.Errorf("Recovered = %v on a clean file", j.Recovered())
	}
	if diff := cmp.Diff(want, collect(t, j, release.Filter{})); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestFileJournalCorruptMiddle(t *testing.T) {
	path := filepath.Join(t.TempDir(), "j.jsonl")
	writeEntries(t, path, 2)
	appendRaw(t, path, []byte("not json\n"))
	b, _ := json.Marshal(routeEntry(5))
	appendRaw(t, path, append(b, '\n'))

	_, err := release.OpenFileJournal(path)
	var ce *release.CorruptError
	if !errors.Is(err, release.ErrCorrupt) || !errors.As(err, &ce) {
		t.Fatalf("release.OpenFileJournal = %v, want a *release.CorruptError", err)
	}
	if ce.Line != 3 {
		t.Errorf("release.CorruptError.Line = %d, want 3", ce.Line)
	}
}

func TestFileJournalUnknownFieldIsCorrupt(t *testing.T) {
	path := filepath.Join(t.TempDir(), "j.jsonl")
	writeEntries(t, path, 1)
	appendRaw(t, path, []byte(`{"time":"2026-03-02T10:00:00Z","kind":"decision","function":"fn","bogus":1}`+"\n"))
	b, _ := json.Marshal(routeEntry(5))
	appendRaw(t, path, append(b, '\n'))
	if _, err := release.OpenFileJournal(path); !errors.Is(err, release.ErrCorrupt) {
		t.Fatalf("release.OpenFileJournal = %v, want release.ErrCorrupt", err)
	}
}

func TestFileJournalLongLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "j.jsonl")
	j, err := release.OpenFileJournal(path)
	if err != nil {
		t.Fatal(err)
	}
	e := routeEntry(0)
	e.Reason = strings.Repeat("r", 200<<10) // longer than the read buffer
	if err := j.Append(context.Background(), e); err != nil {
		t.Fatal(err)
	}
	if err := j.Append(context.Background(), routeEntry(1)); err != nil {
		t.Fatal(err)
	}
	j.Close()
	j, err = release.OpenFileJournal(path)
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	if diff := cmp.Diff([]release.Entry{e, routeEntry(1)}, collect(t, j, release.Filter{})); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestFileJournalConcurrentWriters(t *testing.T) {
	const writers, each = 50, 20
	path := filepath.Join(t.TempDir(), "j.jsonl")
	j, err := release.OpenFileJournal(path)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, writers*each)
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				e := routeEntry(i)
				e.Actor = fmt.Sprintf("writer-%d", w)
				if err := j.Append(context.Background(), e); err != nil {
					errs <- err
				}
			}
		})
	}
	// A reader runs alongside the writers and must only ever see whole
	// entries.
	wg.Go(func() {
		for range 20 {
			for _, err := range j.Entries(context.Background(), release.Filter{}) {
				if err != nil {
					errs <- err
					return
				}
			}
		}
	})
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	if got := checkLines(t, path); got != writers*each {
		t.Fatalf("%d decodable lines, want %d", got, writers*each)
	}
	j, err = release.OpenFileJournal(path)
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	perWriter := map[string]int{}
	for _, e := range collect(t, j, release.Filter{}) {
		perWriter[e.Actor]++
	}
	for w := range writers {
		if got := perWriter[fmt.Sprintf("writer-%d", w)]; got != each {
			t.Errorf("writer-%d: %d entries, want %d", w, got, each)
		}
	}
}

func TestFileJournalClosed(t *testing.T) {
	j, err := release.OpenFileJournal(filepath.Join(t.TempDir(), "j.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	if err := j.Close(); err != nil {
		t.Errorf("second Close = %v", err)
	}
	if err := j.Append(context.Background(), routeEntry(0)); !errors.Is(err, release.ErrClosed) {
		t.Errorf("Append after Close = %v, want release.ErrClosed", err)
	}
	for _, err := range j.Entries(context.Background(), release.Filter{}) {
		if !errors.Is(err, release.ErrClosed) {
			t.Errorf("Entries after Close yielded %v, want release.ErrClosed", err)
		}
	}
}

func TestFileJournalWriteFailureIsSticky(t *testing.T) {
	// Writes to /dev/full fail with ENOSPC.
	if _, err := os.Stat("/dev/full"); err != nil {
		t.Skip("no /dev/full on this system")
	}
	j, err := release.OpenFileJournal("/dev/full")
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	err1 := j.Append(context.Background(), routeEntry(1))
	if err1 == nil {
		t.Fatal("Append to /dev/full succeeded")
	}
	if err2 := j.Append(context.Background(), routeEntry(2)); err2 == nil || err2.Error() != err1.Error() {
		t.Errorf("second Append = %v, want the first failure %v again", err2, err1)
	}
	// Reading still works: nothing was written.
	if got := len(collect(t, j, release.Filter{})); got != 0 {
		t.Errorf("%d entries after failed appends, want 0", got)
	}
}

// promotion journals a release of candidate over stable on prod: a canary
// step, then the promotion.
func promotion(stable, candidate string, at time.Time, rev int) []release.Entry {
	step := provider.Split("prod", stable, candidate, 1000)
	step.Revision = fmt.Sprint(rev + 1)
	final := provider.To("prod", candidate)
	final.Revision = fmt.Sprint(rev + 2)
	before := provider.To("prod", stable)
	before.Revision = fmt.Sprint(rev)
	return []release.Entry{
		{Time: at, Kind: release.EntryRoute, Function: "fn", Alias: "prod", Before: &before, After: &step, Candidate: candidate, Stable: stable},
		{Time: at.Add(time.Minute), Kind: release.EntryPromote, Function: "fn", Alias: "prod", Before: &step, After: &final, Candidate: candidate, Stable: stable, Outcome: "promoted"},
	}
}

func TestLastRouteAndPreviousGood(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "j.jsonl")
	j, err := release.OpenFileJournal(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := release.LastRoute(ctx, j, "fn", "prod"); !errors.Is(err, provider.ErrNotFound) {
		t.Errorf("release.LastRoute on an empty journal = %v, want ErrNotFound", err)
	}
	if _, _, err := release.PreviousGood(ctx, j, "fn", "prod"); !errors.Is(err, provider.ErrNotFound) {
		t.Errorf("release.PreviousGood on an empty journal = %v, want ErrNotFound", err)
	}
	var all []release.Entry
	all = append(all, promotion("1", "2", t0, 0)...)
	all = append(all, promotion("2", "3", t0.Add(time.Hour), 2)...)
	// A decision after the promotion changes no route.
	all = append(all, release.Entry{Time: t0.Add(2 * time.Hour), Kind: release.EntryDecision, Function: "fn", Alias: "prod", Outcome: "checked"})
	for _, e := range all {
		if err := j.Append(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	j.Close()

	// A new process opens the file.
	j, err = release.OpenFileJournal(path)
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	last, err := release.LastRoute(ctx, j, "fn", "prod")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(all[3], last); diff != "" {
		t.Errorf("release.LastRoute (-want +got):\n%s", diff)
	}
	target, promo, err := release.PreviousGood(ctx, j, "fn", "prod")
	if err != nil {
		t.Fatal(err)
	}
	if target != "2" || promo.Candidate != "3" {
		t.Errorf("release.PreviousGood = %q (promotion of %q), want 2 (promotion of 3)", target, promo.Candidate)
	}

	// A rollback is not a promotion: the target stays.
	back := provider.To("prod", "2")
	back.Revision = "5"
	if err := j.Append(ctx, release.Entry{Time: t0.Add(3 * time.Hour), Kind: release.EntryRollback, Function: "fn", Alias: "prod", Before: last.After, After: &back, Stable: "2", Candidate: "3"}); err != nil {
		t.Fatal(err)
	}
	if target, _, _ := release.PreviousGood(ctx, j, "fn", "prod"); target != "2" {
		t.Errorf("release.PreviousGood after rollback = %q, want 2", target)
	}
	if last, _ := release.LastRoute(ctx, j, "fn", "prod"); last.After.Revision != "5" {
		t.Errorf("release.LastRoute after rollback has revision %q, want 5", last.After.Revision)
	}
	if _, err := release.LastRoute(ctx, j, "fn", "staging"); !errors.Is(err, provider.ErrNotFound) {
		t.Errorf("release.LastRoute(staging) = %v, want ErrNotFound", err)
	}
}

func TestPreviousGoodWithoutStable(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name   string
		before *provider.Route
		want   string // "" = ErrNotFound
	}{
		{"largest other share of the split before", &provider.Route{Alias: "prod", Weights: []provider.Weight{{Version: "3", BasisPoints: 6000}, {Version: "2", BasisPoints: 4000}}}, "2"},
		{"single version before", &provider.Route{Alias: "prod", Weights: []provider.Weight{{Version: "2", BasisPoints: 10000}}}, "2"},
		{"alias created by the promotion", nil, ""},
		{"only the candidate before", &provider.Route{Alias: "prod", Weights: []provider.Weight{{Version: "3", BasisPoints: 10000}}}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var j release.MemoryJournal
			after := provider.To("prod", "3")
			if err := j.Append(ctx, release.Entry{Time: t0, Kind: release.EntryPromote, Function: "fn", Alias: "prod", Before: tt.before, After: &after}); err != nil {
				t.Fatal(err)
			}
			got, _, err := release.PreviousGood(ctx, &j, "fn", "prod")
			if tt.want == "" {
				if !errors.Is(err, provider.ErrNotFound) {
					t.Errorf("release.PreviousGood = %q, %v; want ErrNotFound", got, err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("release.PreviousGood = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func BenchmarkFileJournalAppend(b *testing.B) {
	j, err := release.OpenFileJournal(filepath.Join(b.TempDir(), "j.jsonl"))
	if err != nil {
		b.Fatal(err)
	}
	defer j.Close()
	e := routeEntry(0)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if err := j.Append(ctx, e); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkFileJournalEntries1000(b *testing.B) {
	path := filepath.Join(b.TempDir(), "j.jsonl")
	j, err := release.OpenFileJournal(path)
	if err != nil {
		b.Fatal(err)
	}
	defer j.Close()
	for i := range 1000 {
		if err := j.Append(context.Background(), routeEntry(i)); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		n := 0
		for _, err := range j.Entries(context.Background(), release.Filter{Function: "fn"}) {
			if err != nil {
				b.Fatal(err)
			}
			n++
		}
		if n != 1000 {
			b.Fatalf("%d entries", n)
		}
	}
}

// A release journals its route changes in a file. After a crash that tore
// the last line, a new process reopens the file, is told what was dropped,
// and still finds the rollback target.
func ExampleFileJournal() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "journal")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "releases.jsonl")

	j, err := release.OpenFileJournal(path)
	if err != nil {
		panic(err)
	}
	at := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	before := provider.Route{Alias: "prod", Weights: []provider.Weight{{Version: "6", BasisPoints: 10000}}, Revision: "a1"}
	step := provider.Route{Alias: "prod", Weights: []provider.Weight{{Version: "6", BasisPoints: 9000}, {Version: "7", BasisPoints: 1000}}, Revision: "a2"}
	final := provider.Route{Alias: "prod", Weights: []provider.Weight{{Version: "7", BasisPoints: 10000}}, Revision: "a3"}
	for _, e := range []release.Entry{
		{Time: at, Release: "r-42", Kind: release.EntryRoute, Function: "checkout", Alias: "prod", Actor: "ci", Reason: "canary 10%",
			Before: &before, After: &step, Candidate: "7", Stable: "6", Semver: "1.4.0"},
		{Time: at.Add(5 * time.Minute), Release: "r-42", Kind: release.EntryPromote, Function: "checkout", Alias: "prod", Actor: "ci", Reason: "all checks passed",
			Before: &step, After: &final, Candidate: "7", Stable: "6", Semver: "1.4.0", Outcome: "promoted"},
	} {
		if err := j.Append(ctx, e); err != nil {
			panic(err)
		}
	}
	j.Close()

	// The process dies in the middle of writing a third entry.
	f, _ := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	f.WriteString(`{"time":"2026-03-02T10:06:00Z","kind":"deci`)
	f.Close()

	j, err = release.OpenFileJournal(path)
	if err != nil {
		panic(err)
	}
	defer j.Close()
	if torn := j.Recovered(); torn != nil {
		fmt.Printf("dropped a torn line of %d bytes\n", len(torn.Line))
	}
	for e, err := range j.Entries(ctx, release.Filter{Function: "checkout", Alias: "prod"}) {
		if err != nil {
			panic(err)
		}
		fmt.Printf("%s %s by %s: %s (revision %s)\n", e.Time.Format(time.Kitchen), e.Kind, e.Actor, e.Reason, e.After.Revision)
	}
	target, promo, err := release.PreviousGood(ctx, j, "checkout", "prod")
	if err != nil {
		panic(err)
	}
	fmt.Printf("rollback of %s (%s) goes to version %s\n", promo.Candidate, promo.Semver, target)
	// Output:
	// dropped a torn line of 43 bytes
	// 10:00AM route by ci: canary 10% (revision a2)
	// 10:05AM promote by ci: all checks passed (revision a3)
	// rollback of 7 (1.4.0) goes to version 6
}

// randomEntry returns a valid entry of one of fns functions, on one of a
// few aliases (or none), of any kind, at a time that is not in append
// order: the index must not assume the journal is sorted by anything.
func randomEntry(r *rand.Rand, fns int) release.Entry {
	aliases := []string{"prod", "staging", "dev"}
	e := release.Entry{
		Time:     t0.Add(time.Duration(r.IntN(3600)) * time.Second),
		Release:  fmt.Sprintf("r-%d", r.IntN(1000)),
		Function: fmt.Sprintf("fn-%d", r.IntN(fns)),
		Actor:    "ci",
		Reason:   strings.Repeat("x", r.IntN(300)), // lines of varied length
	}
	switch k := r.IntN(5); k {
	case 0:
		e.Kind = release.EntryPublish
	case 1:
		e.Kind, e.Outcome = release.EntryDecision, "passed"
		if r.IntN(2) == 0 {
			e.Alias = aliases[r.IntN(len(aliases))]
		}
	default:
		e.Kind = []release.EntryKind{release.EntryRoute, release.EntryPromote, release.EntryRollback}[k-2]
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

// brute is what Entries(f) must yield: the entries of all that f matches,
// in append order.
func brute(all []release.Entry, f release.Filter) []release.Entry {
	var out []release.Entry
	for _, e := range all {
		if f.Match(e) {
			out = append(out, e)
		}
	}
	return out
}

// checkIndex compares Entries for every function, every function and
// alias, and a few Since bounds, with a brute-force filter over all, and
// the unfiltered read with all.
func checkIndex(t *testing.T, j release.Journal, all []release.Entry, fns int) {
	t.Helper()
	if diff := cmp.Diff(all, collect(t, j, release.Filter{})); diff != "" {
		t.Fatalf("all entries (-want +got):\n%s", diff)
	}
	for fn := range fns + 1 { // fn-<fns> has no entries
		for _, alias := range []string{"", "prod", "staging", "dev", "nowhere"} {
			for _, since := range []time.Time{{}, t0.Add(30 * time.Minute)} {
				f := release.Filter{Function: fmt.Sprintf("fn-%d", fn), Alias: alias, Since: since}
				if diff := cmp.Diff(brute(all, f), collect(t, j, f)); diff != "" {
					t.Fatalf("Entries(%+v) (-brute force +got):\n%s", f, diff)
				}
			}
		}
	}
	// An alias filter alone still reads everything.
	f := release.Filter{Alias: "staging"}
	if diff := cmp.Diff(brute(all, f), collect(t, j, f)); diff != "" {
		t.Fatalf("Entries(%+v) (-brute force +got):\n%s", f, diff)
	}
}

// appendRandom appends n random entries to j and returns all with them.
func appendRandom(t *testing.T, j release.Journal, r *rand.Rand, all []release.Entry, n, fns int) []release.Entry {
	t.Helper()
	for range n {
		e := randomEntry(r, fns)
		if err := j.Append(context.Background(), e); err != nil {
			t.Fatal(err)
		}
		all = append(all, e)
	}
	return all
}

func TestJournalIndexMatchesBruteForce(t *testing.T) {
	for seed := range uint64(4) {
		fns := []int{1, 3, 12, 40}[seed]
		t.Run(fmt.Sprintf("seed %d, %d functions", seed, fns), func(t *testing.T) {
			t.Run("memory", func(t *testing.T) {
				r := rand.New(rand.NewPCG(seed, 1))
				var j release.MemoryJournal
				var all []release.Entry
				for range 4 {
					all = appendRandom(t, &j, r, all, 60, fns)
					checkIndex(t, &j, all, fns)
				}
			})
			t.Run("file", func(t *testing.T) {
				r := rand.New(rand.NewPCG(seed, 2))
				path := filepath.Join(t.TempDir(), "j.jsonl")
				j, err := release.OpenFileJournal(path)
				if err != nil {
					t.Fatal(err)
				}
				defer func() { j.Close() }()
				all := appendRandom(t, j, r, nil, 80, fns)
				checkIndex(t, j, all, fns)

				// A new process builds the index from the file.
				reopen := func() {
					t.Helper()
					if err := j.Close(); err != nil {
						t.Fatal(err)
					}
					if j, err = release.OpenFileJournal(path); err != nil {
						t.Fatal(err)
					}
				}
				reopen()
				checkIndex(t, j, all, fns)
				all = appendRandom(t, j, r, all, 40, fns)
				checkIndex(t, j, all, fns)

				// A crash tears the next line: the reopened index leaves
				// it out, and the entries appended after the torn bytes
				// are removed are found where they now are.
				line, err := json.Marshal(randomEntry(r, fns))
				if err != nil {
					t.Fatal(err)
				}
				if seed%2 == 0 {
					line = line[:len(line)-7] // cut short
				} // else: whole but without its newline
				reopen()
				appendRaw(t, path, line)
				reopen()
				if j.Recovered() == nil {
					t.Fatal("Recovered = nil after a torn tail")
				}
				checkIndex(t, j, all, fns)
				all = appendRandom(t, j, r, all, 40, fns)
				checkIndex(t, j, all, fns)
				reopen()
				if j.Recovered() != nil {
					t.Fatalf("Recovered = %v after the tail was removed", j.Recovered())
				}
				checkIndex(t, j, all, fns)
			})
		})
	}
}

func TestJournalIndexedRead(t *testing.T) {
	ctx := context.Background()
	journals(t, func(t *testing.T, j release.Journal) {
		var want []release.Entry
		for i := range 6 {
			e := routeEntry(i)
			e.Function = []string{"a", "b"}[i%2]
			if err := j.Append(ctx, e); err != nil {
				t.Fatal(err)
			}
			want = append(want, e)
		}
		a := release.Filter{Function: "a"}
		if diff := cmp.Diff([]release.Entry{want[0], want[2], want[4]}, collect(t, j, a)); diff != "" {
			t.Errorf("function a (-want +got):\n%s", diff)
		}

		// Yielded entries are copies.
		for e := range j.Entries(ctx, a) {
			e.After.Weights[0].Version = "mutated"
		}
		if diff := cmp.Diff([]release.Entry{want[0], want[2], want[4]}, collect(t, j, a)); diff != "" {
			t.Errorf("after mutating yielded entries (-want +got):\n%s", diff)
		}

		// Appending to the function being read does not deadlock, and
		// stopping early is honoured.
		n := 0
		for _, err := range j.Entries(ctx, a) {
			if err != nil {
				t.Fatal(err)
			}
			e := routeEntry(10 + n)
			e.Function = "a"
			if err := j.Append(ctx, e); err != nil {
				t.Fatal(err)
			}
			if n++; n == 2 {
				break
			}
		}
		if got := len(collect(t, j, a)); got != 5 {
			t.Errorf("function a after appending in the loop: %d entries, want 5", got)
		}

		// A cancelled context stops the indexed read too.
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		for _, err := range j.Entries(cctx, a) {
			if !errors.Is(err, context.Canceled) {
				t.Errorf("Entries(cancelled) yielded %v", err)
			}
			break
		}
	})
}

func TestFileJournalIndexedReadAfterClose(t *testing.T) {
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
	n := 0
	for _, err := range j.Entries(context.Background(), release.Filter{Function: "fn"}) {
		n++
		if !errors.Is(err, release.ErrClosed) {
			t.Errorf("Entries after Close yielded %v, want release.ErrClosed", err)
		}
	}
	if n != 1 {
		t.Errorf("Entries after Close yielded %d times, want once (the error)", n)
	}
}

// rewrittenJournal opens a FileJournal of four route entries, of functions
// aa and bb in turn, and then rewrites line 3 (the second and last entry of
// aa) behind its back to say bb, keeping its length. off is the line's
// offset. The journal is closed with the test.
func rewrittenJournal(t *testing.T) (j *release.FileJournal, off int) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "j.jsonl")
	j, err := release.OpenFileJournal(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { j.Close() })
	for i := range 4 {
		e := routeEntry(i)
		e.Function = []string{"aa", "bb"}[i%2]
		if err := j.Append(context.Background(), e); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := bytes.SplitAfter(b, []byte("\n"))
	lines[2] = bytes.Replace(lines[2], []byte(`"function":"aa"`), []byte(`"function":"bb"`), 1)
	if err := os.WriteFile(path, bytes.Join(lines, nil), 0o600); err != nil {
		t.Fatal(err)
	}
	return j, len(lines[0]) + len(lines[1])
}

// A file changed behind the journal's back no longer holds what the index
// says: the indexed read reports it as corruption at the right line
// instead of yielding another function's entry.
func TestFileJournalIndexDetectsRewrite(t *testing.T) {
	j, off := rewrittenJournal(t)
	var got []error
	for _, err := range j.Entries(context.Background(), release.Filter{Function: "aa"}) {
		got = append(got, err)
	}
	var ce *release.CorruptError
	if len(got) != 2 || got[0] != nil || !errors.As(got[1], &ce) || !errors.Is(got[1], release.ErrCorrupt) {
		t.Fatalf("Entries(aa) yielded %v, want an entry then a *release.CorruptError", got)
	}
	if ce.Line != 3 || ce.Offset != int64(off) {
		t.Errorf("CorruptError at line %d offset %d, want line 3 offset %d", ce.Line, ce.Offset, off)
	}
}

// Writers append to their own functions while readers read single
// functions: every read of a function is a prefix of what its writer
// appended, in order. Run with -race.
func TestJournalConcurrentIndexedReads(t *testing.T) {
	const writers, each = 6, 25
	journals(t, func(t *testing.T, j release.Journal) {
		ctx := context.Background()
		seq := func(w, i int) release.Entry {
			e := routeEntry(i)
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
					for e, err := range j.Entries(ctx, release.Filter{Function: fmt.Sprintf("fn-%d", w), Alias: "prod"}) {
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
			if got := len(collect(t, j, release.Filter{Function: fmt.Sprintf("fn-%d", w)})); got != each {
				t.Errorf("fn-%d: %d entries, want %d", w, got, each)
			}
		}
	})
}

func TestEntryCloneIsDeep(t *testing.T) {
	split := provider.Split("prod", "1", "2", 1000)
	wide := provider.Route{Alias: "prod", Revision: "r9", Weights: []provider.Weight{
		{Version: "1", BasisPoints: 2500}, {Version: "2", BasisPoints: 2500}, {Version: "3", BasisPoints: 2500}, {Version: "4", BasisPoints: 2500}}}
	to := provider.To("prod", "1")
	tests := []struct {
		name          string
		before, after *provider.Route
	}{
		{"no routes", nil, nil},
		{"created", nil, &split},
		{"before only", &to, nil},
		{"step", &to, &split},
		{"more weights than share an allocation", &wide, &split},
		{"nil and empty weights kept apart", &provider.Route{Alias: "prod"}, &provider.Route{Alias: "prod", Weights: []provider.Weight{}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			orig := release.Entry{Time: t0, Kind: release.EntryDecision, Function: "fn", Alias: "prod"}
			if tt.before != nil {
				b := tt.before.Clone()
				orig.Before = &b
			}
			if tt.after != nil {
				a := tt.after.Clone()
				orig.After = &a
			}
			keep := release.Entry{Time: t0, Kind: release.EntryDecision, Function: "fn", Alias: "prod", Before: tt.before, After: tt.after}
			c := orig.Clone()
			if diff := cmp.Diff(keep, c); diff != "" {
				t.Fatalf("Clone (-want +got):\n%s", diff)
			}
			// Growing the clone's Before leaves its After alone; changing
			// or growing either leaves the original alone.
			if c.Before != nil {
				c.Before.Weights = append(c.Before.Weights, provider.Weight{Version: "appended"})
				if diff := cmp.Diff(keep.After, c.After); diff != "" {
					t.Errorf("clone's After after appending to its Before (-want +got):\n%s", diff)
				}
			}
			c = orig.Clone()
			for _, r := range []*provider.Route{c.Before, c.After} {
				if r == nil {
					continue
				}
				r.Revision = "changed"
				for i := range r.Weights {
					r.Weights[i].Version = "changed"
				}
				r.Weights = append(r.Weights, provider.Weight{Version: "appended"})
			}
			if diff := cmp.Diff(keep, orig); diff != "" {
				t.Errorf("original after changing the clone (-want +got):\n%s", diff)
			}
		})
	}
}

// Entry.Clone copies routes field by field and deep-copies Weights only:
// that is right while Weights is provider.Route's only field holding a
// reference.
func TestRouteHasNoOtherReferenceField(t *testing.T) {
	rt := reflect.TypeFor[provider.Route]()
	for i := range rt.NumField() {
		f := rt.Field(i)
		switch k := f.Type.Kind(); {
		case f.Name == "Weights":
			if f.Type.Elem() != reflect.TypeFor[provider.Weight]() {
				t.Errorf("Route.Weights is %v", f.Type)
			}
		case k == reflect.String || k == reflect.Int || k == reflect.Bool:
		default:
			t.Errorf("provider.Route.%s is a %v: Entry.Clone must deep-copy it", f.Name, f.Type)
		}
	}
	wt := reflect.TypeFor[provider.Weight]()
	for i := range wt.NumField() {
		if k := wt.Field(i).Type.Kind(); k != reflect.String && k != reflect.Int {
			t.Errorf("provider.Weight.%s is a %v: Entry.Clone copies weights by assignment", wt.Field(i).Name, wt.Field(i).Type)
		}
	}
}

// Closing the journal while an indexed read is under way ends the read
// with ErrClosed.
func TestFileJournalCloseDuringIndexedRead(t *testing.T) {
	j, err := release.OpenFileJournal(filepath.Join(t.TempDir(), "j.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if err := j.Append(context.Background(), routeEntry(i)); err != nil {
			t.Fatal(err)
		}
	}
	var got []error
	for _, err := range j.Entries(context.Background(), release.Filter{Function: "fn"}) {
		got = append(got, err)
		if len(got) == 1 {
			if err := j.Close(); err != nil {
				t.Fatal(err)
			}
		}
	}
	if len(got) != 2 || got[0] != nil || !errors.Is(got[1], release.ErrClosed) {
		t.Errorf("Entries closed after the first entry yielded %v, want an entry then release.ErrClosed", got)
	}
}
