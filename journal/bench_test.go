package journal_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/slipway-dev/slipway/journal"
	"github.com/slipway-dev/slipway/provider"
)

// fleetEntry returns the i-th entry of a journal shared by a fleet of fns
// functions written round-robin: entry i belongs to function i%fns and is,
// in turn, a publish, a route change on prod, a decision, a route change on
// staging and a promotion on prod.
func fleetEntry(i, fns int) journal.Entry {
	fn := fmt.Sprintf("fn-%03d", i%fns)
	n := i / fns
	e := journal.Entry{
		Time: t0.Add(time.Duration(i) * time.Second), Release: fmt.Sprintf("r-%d", n), Function: fn,
		Actor: "ci", Reason: fmt.Sprintf("release %d of %s", n, fn), Candidate: fmt.Sprint(n + 2), Stable: fmt.Sprint(n + 1),
		Semver: fmt.Sprintf("1.%d.0", n),
	}
	route := func(alias string, kind journal.EntryKind) {
		before := provider.To(alias, e.Stable)
		before.Revision = fmt.Sprintf("rev-%d", 2*n)
		after := provider.Split(alias, e.Stable, e.Candidate, 1000)
		if kind == journal.EntryPromote {
			after = provider.To(alias, e.Candidate)
		}
		after.Revision = fmt.Sprintf("rev-%d", 2*n+1)
		e.Kind, e.Alias, e.Before, e.After = kind, alias, &before, &after
	}
	switch n % 5 {
	case 0:
		e.Kind = journal.EntryPublish
	case 1:
		route("prod", journal.EntryRoute)
	case 2:
		e.Kind, e.Alias, e.Outcome = journal.EntryDecision, "prod", "passed"
	case 3:
		route("staging", journal.EntryRoute)
	case 4:
		route("prod", journal.EntryPromote)
		e.Outcome = "promoted"
	}
	return e
}

// BenchmarkJournalEntries reads the history of one function from a journal
// holding 200 functions × 50 entries each, written round-robin: the read
// the workflow makes several times per release (Verify, LastRoute,
// PreviousGood, RollbackPoints).
func BenchmarkJournalEntries(b *testing.B) {
	const fns, each = 200, 50
	run := func(b *testing.B, j journal.Journal) {
		ctx := context.Background()
		f := journal.Filter{Function: "fn-123"}
		b.ReportAllocs()
		for b.Loop() {
			n := 0
			for _, err := range j.Entries(ctx, f) {
				if err != nil {
					b.Fatal(err)
				}
				n++
			}
			if n != each {
				b.Fatalf("%d entries, want %d", n, each)
			}
		}
	}
	b.Run("memory", func(b *testing.B) { run(b, fleetMemoryJournal(b, fns*each, fns)) })
	b.Run("file", func(b *testing.B) { run(b, fleetFileJournal(b, fns*each, fns)) })
}

// fleetMemoryJournal is a MemoryJournal of the first n fleetEntry entries.
func fleetMemoryJournal(b *testing.B, n, fns int) *journal.MemoryJournal {
	var j journal.MemoryJournal
	for i := range n {
		if err := j.Append(context.Background(), fleetEntry(i, fns)); err != nil {
			b.Fatal(err)
		}
	}
	return &j
}

// fleetFileJournal opens a FileJournal of the first n fleetEntry entries:
// the lines Append would write, written without an fsync each, then opened
// as a process opens the fleet's journal. It is closed with the benchmark.
func fleetFileJournal(b *testing.B, n, fns int) *journal.FileJournal {
	var buf bytes.Buffer
	for i := range n {
		line, err := json.Marshal(fleetEntry(i, fns))
		if err != nil {
			b.Fatal(err)
		}
		buf.Write(append(line, '\n'))
	}
	path := filepath.Join(b.TempDir(), "j.jsonl")
	if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		b.Fatal(err)
	}
	j, err := journal.OpenFileJournal(path)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { j.Close() })
	return j
}

// plainJournal hides a journal's IndexedJournal methods, so that the
// package's readers take their forward scan.
type plainJournal struct{ journal.Journal }

// BenchmarkJournalLastRoute asks what a rollback and a resume ask of one
// function's journal (LastRoute and PreviousGood of its production alias)
// at two lengths of its history, through IndexedJournal and through the
// forward scan a journal without it gets: the indexed answers should cost
// the same at both lengths.
func BenchmarkJournalLastRoute(b *testing.B) {
	ctx := context.Background()
	for _, history := range []int{200, 2000} {
		build := map[string]func(b *testing.B) journal.Journal{
			"memory": func(b *testing.B) journal.Journal { return fleetMemoryJournal(b, history, 1) },
			"file":   func(b *testing.B) journal.Journal { return fleetFileJournal(b, history, 1) },
		}
		for _, kind := range []string{"memory", "file"} {
			for _, plain := range []bool{false, true} {
				name := fmt.Sprintf("%s/indexed/history=%d", kind, history)
				if plain {
					name = fmt.Sprintf("%s/scan/history=%d", kind, history)
				}
				b.Run(name, func(b *testing.B) {
					j := build[kind](b)
					if plain {
						j = plainJournal{j}
					}
					b.ReportAllocs()
					for b.Loop() {
						last, err := journal.LastRoute(ctx, j, "fn-000", "prod")
						if err != nil || last.Kind != journal.EntryPromote {
							b.Fatalf("LastRoute: %s, %v", last.Kind, err)
						}
						if _, _, err := journal.PreviousGood(ctx, j, "fn-000", "prod"); err != nil {
							b.Fatal(err)
						}
					}
				})
			}
		}
	}
}
