package journal_test

import (
	"path/filepath"
	"testing"

	"github.com/slipway-dev/slipway/journal"
	"github.com/slipway-dev/slipway/journal/journaltest"
)

func TestMemoryJournalConformance(t *testing.T) {
	journaltest.Run(t, func(t *testing.T) journal.Journal { return &journal.MemoryJournal{} })
}

func TestFileJournalConformance(t *testing.T) {
	journaltest.Run(t, func(t *testing.T) journal.Journal {
		j, err := journal.OpenFileJournal(filepath.Join(t.TempDir(), "journal.jsonl"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { j.Close() })
		return j
	})
}
