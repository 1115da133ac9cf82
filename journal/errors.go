package journal

import (
	"errors"
	"fmt"
)

// Sentinel errors of the journal. A refused entry wraps provider.ErrInvalid;
// these name the journal's own failures.
var (
	// ErrCorrupt: a journal file holds a line that is not a journal entry
	// before its last line. A damaged audit trail is never skipped over.
	ErrCorrupt = errors.New("corrupt journal")
	// ErrClosed: the journal was closed.
	ErrClosed = errors.New("journal closed")
)

// TornError describes a final journal line that was cut short by a crash
// (or does not decode): the bytes from Offset to the end of the file. It is
// not returned by OpenFileJournal; FileJournal.Recovered reports it, and the
// next Append removes those bytes (see FileJournal).
type TornError struct {
	Path   string `json:"path"`
	Offset int64  `json:"offset"` // where the torn line starts
	Line   []byte `json:"line"`   // the torn bytes, as found
	Err    error  `json:"-"`      // the decoding error, nil when only the newline was missing
}

func (e *TornError) Error() string {
	msg := fmt.Sprintf("journal: %s: torn final line at offset %d (%d bytes)", e.Path, e.Offset, len(e.Line))
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

func (e *TornError) Unwrap() error { return e.Err }

// CorruptError is a journal line before the last one that does not decode.
// It matches ErrCorrupt under errors.Is.
type CorruptError struct {
	Path   string
	Line   int   // 1-based line number
	Offset int64 // where the line starts
	Err    error
}

func (e *CorruptError) Error() string {
	return fmt.Sprintf("journal: %s: line %d (offset %d) is not a journal entry: %v", e.Path, e.Line, e.Offset, e.Err)
}

// Is makes errors.Is(err, ErrCorrupt) true.
func (e *CorruptError) Is(target error) bool { return target == ErrCorrupt }

func (e *CorruptError) Unwrap() error { return e.Err }
