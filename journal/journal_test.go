package journal_test

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
	"github.com/slipway-dev/slipway/journal"
	"github.com/slipway-dev/slipway/journal/journaltest"
	"github.com/slipway-dev/slipway/provider"
)

var t0 = journaltest.T0

func TestEntryValidate(t *testing.T) {
	good := journaltest.RouteEntry(0)
	tests := []struct {
		name  string
		edit  func(*journal.Entry)
		field string // "" = valid
	}{
		{"valid route", func(*journal.Entry) {}, ""},
		{"valid decision without route", func(e *journal.Entry) { e.Kind, e.Before, e.After, e.Alias = journal.EntryDecision, nil, nil, "" }, ""},
		{"valid publish", func(e *journal.Entry) { e.Kind, e.Before, e.After = journal.EntryPublish, nil, nil }, ""},
		{"valid creation without before", func(e *journal.Entry) { e.Before = nil }, ""},
		{"unknown kind", func(e *journal.Entry) { e.Kind = "deploy" }, "kind"},
		{"zero time", func(e *journal.Entry) { e.Time = time.Time{} }, "time"},
		{"no function", func(e *journal.Entry) { e.Function = "" }, "function"},
		{"route without alias", func(e *journal.Entry) { e.Alias = "" }, "alias"},
		{"route without after", func(e *journal.Entry) { e.After = nil }, "after"},
		{"after for another alias", func(e *journal.Entry) { e.After.Alias = "staging" }, "after.alias"},
		{"before for another alias", func(e *journal.Entry) { e.Before.Alias = "staging" }, "before.alias"},
		{"after does not sum to 100%", func(e *journal.Entry) { e.After.Weights[0].BasisPoints = 1 }, "weights"},
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
	e := journaltest.RouteEntry(0)
	tests := []struct {
		f    journal.Filter
		want bool
	}{
		{journal.Filter{}, true},
		{journal.Filter{Function: "fn"}, true},
		{journal.Filter{Function: "other"}, false},
		{journal.Filter{Function: "fn", Alias: "prod"}, true},
		{journal.Filter{Alias: "staging"}, false},
		{journal.Filter{Since: e.Time}, true},
		{journal.Filter{Since: e.Time.Add(time.Nanosecond)}, false},
		{journal.Filter{Since: e.Time.Add(-time.Hour)}, true},
	}
	for _, tt := range tests {
		if got := tt.f.Match(e); got != tt.want {
			t.Errorf("%+v.Match = %v, want %v", tt.f, got, tt.want)
		}
	}
}

func writeEntries(t *testing.T, path string, n int) []journal.Entry {
	t.Helper()
	j, err := journal.OpenFileJournal(path)
	if err != nil {
		t.Fatal(err)
	}
	var want []journal.Entry
	for i := range n {
		e := journaltest.RouteEntry(i)
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
		var e journal.Entry
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
		b, _ := json.Marshal(journaltest.RouteEntry(99))
		return b[:len(b)/2]
	}
	whole := func() []byte {
		b, _ := json.Marshal(journaltest.RouteEntry(99))
		return b
	}
	tests := []struct {
		name      string
		tail      []byte
		decodeErr bool // the journal.TornError carries a decoding error
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

			j, err := journal.OpenFileJournal(path)
			if err != nil {
				t.Fatalf("journal.OpenFileJournal: %v", err)
			}
			defer j.Close()
			torn := j.Recovered()
			if torn == nil {
				t.Fatal("Recovered = nil, want the torn tail")
			}
			wantTorn := &journal.TornError{Path: path, Offset: good, Line: bytes.TrimSuffix(tt.tail, []byte("\n"))}
			if diff := cmp.Diff(wantTorn, torn, cmp.FilterPath(func(p cmp.Path) bool { return p.Last().String() == ".Err" }, cmp.Ignore())); diff != "" {
				t.Errorf("Recovered (-want +got):\n%s", diff)
			}
			if (torn.Err != nil) != tt.decodeErr {
				t.Errorf("Recovered().Err = %v, want a decoding error: %v", torn.Err, tt.decodeErr)
			}
			if !strings.Contains(torn.Error(), fmt.Sprintf("offset %d", good)) {
				t.Errorf("journal.TornError message %q does not give the offset", torn.Error())
			}
			// Opening changes nothing.
			if st, _ := os.Stat(path); st.Size() != good+int64(len(tt.tail)) {
				t.Errorf("file size after open %d, want %d (untouched)", st.Size(), good+int64(len(tt.tail)))
			}
			if diff := cmp.Diff(want, journaltest.Collect(t, j, journal.Filter{})); diff != "" {
				t.Errorf("entries after reopen (-want +got):\n%s", diff)
			}

			next := journaltest.RouteEntry(n)
			if err := j.Append(ctx, next); err != nil {
				t.Fatalf("Append after reopen: %v", err)
			}
			if err := j.Append(ctx, journaltest.RouteEntry(n+1)); err != nil {
				t.Fatalf("second Append after reopen: %v", err)
			}
			if j.Recovered() == nil {
				t.Error("Recovered forgot the torn tail after Append")
			}
			j.Close()
			if got := checkLines(t, path); got != n+2 {
				t.Errorf("file has %d valid lines, want %d", got, n+2)
			}
			j2, err := journal.OpenFileJournal(path)
			if err != nil {
				t.Fatal(err)
			}
			defer j2.Close()
			if j2.Recovered() != nil {
				t.Errorf("second reopen: Recovered = %v, want nil", j2.Recovered())
			}
			if diff := cmp.Diff(append(want, next, journaltest.RouteEntry(n+1)), journaltest.Collect(t, j2, journal.Filter{})); diff != "" {
				t.Errorf("entries after append and reopen (-want +got):\n%s", diff)
			}
		})
	}
}

func TestFileJournalCleanReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "j.jsonl")
	want := writeEntries(t, path, 3)
	j, err := journal.OpenFileJournal(path)
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	if j.Recovered() != nil {
		t.Errorf("Recovered = %v on a clean file", j.Recovered())
	}
	if diff := cmp.Diff(want, journaltest.Collect(t, j, journal.Filter{})); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestFileJournalCorruptMiddle(t *testing.T) {
	path := filepath.Join(t.TempDir(), "j.jsonl")
	writeEntries(t, path, 2)
	appendRaw(t, path, []byte("not json\n"))
	b, _ := json.Marshal(journaltest.RouteEntry(5))
	appendRaw(t, path, append(b, '\n'))

	_, err := journal.OpenFileJournal(path)
	var ce *journal.CorruptError
	if !errors.Is(err, journal.ErrCorrupt) || !errors.As(err, &ce) {
		t.Fatalf("journal.OpenFileJournal = %v, want a *journal.CorruptError", err)
	}
	if ce.Line != 3 {
		t.Errorf("journal.CorruptError.Line = %d, want 3", ce.Line)
	}
}

func TestFileJournalUnknownFieldIsCorrupt(t *testing.T) {
	path := filepath.Join(t.TempDir(), "j.jsonl")
	writeEntries(t, path, 1)
	appendRaw(t, path, []byte(`{"time":"2026-03-02T10:00:00Z","kind":"decision","function":"fn","bogus":1}`+"\n"))
	b, _ := json.Marshal(journaltest.RouteEntry(5))
	appendRaw(t, path, append(b, '\n'))
	if _, err := journal.OpenFileJournal(path); !errors.Is(err, journal.ErrCorrupt) {
		t.Fatalf("journal.OpenFileJournal = %v, want journal.ErrCorrupt", err)
	}
}

func TestFileJournalLongLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "j.jsonl")
	j, err := journal.OpenFileJournal(path)
	if err != nil {
		t.Fatal(err)
	}
	e := journaltest.RouteEntry(0)
	e.Reason = strings.Repeat("r", 200<<10) // longer than the read buffer
	if err := j.Append(context.Background(), e); err != nil {
		t.Fatal(err)
	}
	if err := j.Append(context.Background(), journaltest.RouteEntry(1)); err != nil {
		t.Fatal(err)
	}
	j.Close()
	j, err = journal.OpenFileJournal(path)
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	if diff := cmp.Diff([]journal.Entry{e, journaltest.RouteEntry(1)}, journaltest.Collect(t, j, journal.Filter{})); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestFileJournalConcurrentWriters(t *testing.T) {
	const writers, each = 50, 20
	path := filepath.Join(t.TempDir(), "j.jsonl")
	j, err := journal.OpenFileJournal(path)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, writers*each)
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				e := journaltest.RouteEntry(i)
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
			for _, err := range j.Entries(context.Background(), journal.Filter{}) {
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
	j, err = journal.OpenFileJournal(path)
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	perWriter := map[string]int{}
	for _, e := range journaltest.Collect(t, j, journal.Filter{}) {
		perWriter[e.Actor]++
	}
	for w := range writers {
		if got := perWriter[fmt.Sprintf("writer-%d", w)]; got != each {
			t.Errorf("writer-%d: %d entries, want %d", w, got, each)
		}
	}
}

func TestFileJournalClosed(t *testing.T) {
	j, err := journal.OpenFileJournal(filepath.Join(t.TempDir(), "j.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	if err := j.Close(); err != nil {
		t.Errorf("second Close = %v", err)
	}
	if err := j.Append(context.Background(), journaltest.RouteEntry(0)); !errors.Is(err, journal.ErrClosed) {
		t.Errorf("Append after Close = %v, want journal.ErrClosed", err)
	}
	for _, err := range j.Entries(context.Background(), journal.Filter{}) {
		if !errors.Is(err, journal.ErrClosed) {
			t.Errorf("Entries after Close yielded %v, want journal.ErrClosed", err)
		}
	}
}

func TestFileJournalWriteFailureIsSticky(t *testing.T) {
	// Writes to /dev/full fail with ENOSPC.
	if _, err := os.Stat("/dev/full"); err != nil {
		t.Skip("no /dev/full on this system")
	}
	j, err := journal.OpenFileJournal("/dev/full")
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	err1 := j.Append(context.Background(), journaltest.RouteEntry(1))
	if err1 == nil {
		t.Fatal("Append to /dev/full succeeded")
	}
	if err2 := j.Append(context.Background(), journaltest.RouteEntry(2)); err2 == nil || err2.Error() != err1.Error() {
		t.Errorf("second Append = %v, want the first failure %v again", err2, err1)
	}
	// Reading still works: nothing was written.
	if got := len(journaltest.Collect(t, j, journal.Filter{})); got != 0 {
		t.Errorf("%d entries after failed appends, want 0", got)
	}
}

// promotion journals a release of candidate over stable on prod: a canary
// step, then the promotion.
func promotion(stable, candidate string, at time.Time, rev int) []journal.Entry {
	step := provider.Split("prod", stable, candidate, 1000)
	step.Revision = fmt.Sprint(rev + 1)
	final := provider.To("prod", candidate)
	final.Revision = fmt.Sprint(rev + 2)
	before := provider.To("prod", stable)
	before.Revision = fmt.Sprint(rev)
	return []journal.Entry{
		{Time: at, Kind: journal.EntryRoute, Function: "fn", Alias: "prod", Before: &before, After: &step, Candidate: candidate, Stable: stable},
		{Time: at.Add(time.Minute), Kind: journal.EntryPromote, Function: "fn", Alias: "prod", Before: &step, After: &final, Candidate: candidate, Stable: stable, Outcome: "promoted"},
	}
}

func TestLastRouteAndPreviousGood(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "j.jsonl")
	j, err := journal.OpenFileJournal(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := journal.LastRoute(ctx, j, "fn", "prod"); !errors.Is(err, provider.ErrNotFound) {
		t.Errorf("journal.LastRoute on an empty journal = %v, want ErrNotFound", err)
	}
	if _, _, err := journal.PreviousGood(ctx, j, "fn", "prod"); !errors.Is(err, provider.ErrNotFound) {
		t.Errorf("journal.PreviousGood on an empty journal = %v, want ErrNotFound", err)
	}
	var all []journal.Entry
	all = append(all, promotion("1", "2", t0, 0)...)
	all = append(all, promotion("2", "3", t0.Add(time.Hour), 2)...)
	// A decision after the promotion changes no route.
	all = append(all, journal.Entry{Time: t0.Add(2 * time.Hour), Kind: journal.EntryDecision, Function: "fn", Alias: "prod", Outcome: "checked"})
	for _, e := range all {
		if err := j.Append(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	j.Close()

	// A new process opens the file.
	j, err = journal.OpenFileJournal(path)
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	last, err := journal.LastRoute(ctx, j, "fn", "prod")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(all[3], last); diff != "" {
		t.Errorf("journal.LastRoute (-want +got):\n%s", diff)
	}
	target, promo, err := journal.PreviousGood(ctx, j, "fn", "prod")
	if err != nil {
		t.Fatal(err)
	}
	if target != "2" || promo.Candidate != "3" {
		t.Errorf("journal.PreviousGood = %q (promotion of %q), want 2 (promotion of 3)", target, promo.Candidate)
	}

	// A rollback is not a promotion: the target stays.
	back := provider.To("prod", "2")
	back.Revision = "5"
	if err := j.Append(ctx, journal.Entry{Time: t0.Add(3 * time.Hour), Kind: journal.EntryRollback, Function: "fn", Alias: "prod", Before: last.After, After: &back, Stable: "2", Candidate: "3"}); err != nil {
		t.Fatal(err)
	}
	if target, _, _ := journal.PreviousGood(ctx, j, "fn", "prod"); target != "2" {
		t.Errorf("journal.PreviousGood after rollback = %q, want 2", target)
	}
	if last, _ := journal.LastRoute(ctx, j, "fn", "prod"); last.After.Revision != "5" {
		t.Errorf("journal.LastRoute after rollback has revision %q, want 5", last.After.Revision)
	}
	if _, err := journal.LastRoute(ctx, j, "fn", "staging"); !errors.Is(err, provider.ErrNotFound) {
		t.Errorf("journal.LastRoute(staging) = %v, want ErrNotFound", err)
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
			var j journal.MemoryJournal
			after := provider.To("prod", "3")
			if err := j.Append(ctx, journal.Entry{Time: t0, Kind: journal.EntryPromote, Function: "fn", Alias: "prod", Before: tt.before, After: &after}); err != nil {
				t.Fatal(err)
			}
			got, _, err := journal.PreviousGood(ctx, &j, "fn", "prod")
			if tt.want == "" {
				if !errors.Is(err, provider.ErrNotFound) {
					t.Errorf("journal.PreviousGood = %q, %v; want ErrNotFound", got, err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("journal.PreviousGood = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func BenchmarkFileJournalAppend(b *testing.B) {
	j, err := journal.OpenFileJournal(filepath.Join(b.TempDir(), "j.jsonl"))
	if err != nil {
		b.Fatal(err)
	}
	defer j.Close()
	e := journaltest.RouteEntry(0)
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
	j, err := journal.OpenFileJournal(path)
	if err != nil {
		b.Fatal(err)
	}
	defer j.Close()
	for i := range 1000 {
		if err := j.Append(context.Background(), journaltest.RouteEntry(i)); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		n := 0
		for _, err := range j.Entries(context.Background(), journal.Filter{Function: "fn"}) {
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

	j, err := journal.OpenFileJournal(path)
	if err != nil {
		panic(err)
	}
	at := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	before := provider.Route{Alias: "prod", Weights: []provider.Weight{{Version: "6", BasisPoints: 10000}}, Revision: "a1"}
	step := provider.Route{Alias: "prod", Weights: []provider.Weight{{Version: "6", BasisPoints: 9000}, {Version: "7", BasisPoints: 1000}}, Revision: "a2"}
	final := provider.Route{Alias: "prod", Weights: []provider.Weight{{Version: "7", BasisPoints: 10000}}, Revision: "a3"}
	for _, e := range []journal.Entry{
		{Time: at, Release: "r-42", Kind: journal.EntryRoute, Function: "checkout", Alias: "prod", Actor: "ci", Reason: "canary 10%",
			Before: &before, After: &step, Candidate: "7", Stable: "6", Semver: "1.4.0"},
		{Time: at.Add(5 * time.Minute), Release: "r-42", Kind: journal.EntryPromote, Function: "checkout", Alias: "prod", Actor: "ci", Reason: "all checks passed",
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

	j, err = journal.OpenFileJournal(path)
	if err != nil {
		panic(err)
	}
	defer j.Close()
	if torn := j.Recovered(); torn != nil {
		fmt.Printf("dropped a torn line of %d bytes\n", len(torn.Line))
	}
	for e, err := range j.Entries(ctx, journal.Filter{Function: "checkout", Alias: "prod"}) {
		if err != nil {
			panic(err)
		}
		fmt.Printf("%s %s by %s: %s (revision %s)\n", e.Time.Format(time.Kitchen), e.Kind, e.Actor, e.Reason, e.After.Revision)
	}
	target, promo, err := journal.PreviousGood(ctx, j, "checkout", "prod")
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

func TestJournalIndexMatchesBruteForce(t *testing.T) {
	for seed := range uint64(4) {
		fns := []int{1, 3, 12, 40}[seed]
		t.Run(fmt.Sprintf("seed %d, %d functions", seed, fns), func(t *testing.T) {
			t.Run("memory", func(t *testing.T) {
				r := rand.New(rand.NewPCG(seed, 1))
				var j journal.MemoryJournal
				var all []journal.Entry
				for range 4 {
					all = journaltest.AppendRandom(t, &j, r, all, 60, fns)
					journaltest.CheckAgainst(t, &j, all, fns)
				}
			})
			t.Run("file", func(t *testing.T) {
				r := rand.New(rand.NewPCG(seed, 2))
				path := filepath.Join(t.TempDir(), "j.jsonl")
				j, err := journal.OpenFileJournal(path)
				if err != nil {
					t.Fatal(err)
				}
				defer func() { j.Close() }()
				all := journaltest.AppendRandom(t, j, r, nil, 80, fns)
				journaltest.CheckAgainst(t, j, all, fns)

				// A new process builds the index from the file.
				reopen := func() {
					t.Helper()
					if err := j.Close(); err != nil {
						t.Fatal(err)
					}
					if j, err = journal.OpenFileJournal(path); err != nil {
						t.Fatal(err)
					}
				}
				reopen()
				journaltest.CheckAgainst(t, j, all, fns)
				all = journaltest.AppendRandom(t, j, r, all, 40, fns)
				journaltest.CheckAgainst(t, j, all, fns)

				// A crash tears the next line: the reopened index leaves
				// it out, and the entries appended after the torn bytes
				// are removed are found where they now are.
				line, err := json.Marshal(journaltest.RandomEntry(r, fns))
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
				journaltest.CheckAgainst(t, j, all, fns)
				all = journaltest.AppendRandom(t, j, r, all, 40, fns)
				journaltest.CheckAgainst(t, j, all, fns)
				reopen()
				if j.Recovered() != nil {
					t.Fatalf("Recovered = %v after the tail was removed", j.Recovered())
				}
				journaltest.CheckAgainst(t, j, all, fns)
			})
		})
	}
}

func TestFileJournalIndexedReadAfterClose(t *testing.T) {
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
	n := 0
	for _, err := range j.Entries(context.Background(), journal.Filter{Function: "fn"}) {
		n++
		if !errors.Is(err, journal.ErrClosed) {
			t.Errorf("Entries after Close yielded %v, want journal.ErrClosed", err)
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
func rewrittenJournal(t *testing.T) (j *journal.FileJournal, off int) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "j.jsonl")
	j, err := journal.OpenFileJournal(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { j.Close() })
	for i := range 4 {
		e := journaltest.RouteEntry(i)
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
	for _, err := range j.Entries(context.Background(), journal.Filter{Function: "aa"}) {
		got = append(got, err)
	}
	var ce *journal.CorruptError
	if len(got) != 2 || got[0] != nil || !errors.As(got[1], &ce) || !errors.Is(got[1], journal.ErrCorrupt) {
		t.Fatalf("Entries(aa) yielded %v, want an entry then a *journal.CorruptError", got)
	}
	if ce.Line != 3 || ce.Offset != int64(off) {
		t.Errorf("CorruptError at line %d offset %d, want line 3 offset %d", ce.Line, ce.Offset, off)
	}
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
			orig := journal.Entry{Time: t0, Kind: journal.EntryDecision, Function: "fn", Alias: "prod"}
			if tt.before != nil {
				b := tt.before.Clone()
				orig.Before = &b
			}
			if tt.after != nil {
				a := tt.after.Clone()
				orig.After = &a
			}
			keep := journal.Entry{Time: t0, Kind: journal.EntryDecision, Function: "fn", Alias: "prod", Before: tt.before, After: tt.after}
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
	j, err := journal.OpenFileJournal(filepath.Join(t.TempDir(), "j.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if err := j.Append(context.Background(), journaltest.RouteEntry(i)); err != nil {
			t.Fatal(err)
		}
	}
	var got []error
	for _, err := range j.Entries(context.Background(), journal.Filter{Function: "fn"}) {
		got = append(got, err)
		if len(got) == 1 {
			if err := j.Close(); err != nil {
				t.Fatal(err)
			}
		}
	}
	if len(got) != 2 || got[0] != nil || !errors.Is(got[1], journal.ErrClosed) {
		t.Errorf("Entries closed after the first entry yielded %v, want an entry then journal.ErrClosed", got)
	}
}
