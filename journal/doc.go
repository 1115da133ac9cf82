// Package journal is the append-only audit trail of a fleet's releases:
// the Journal contract, the optional IndexedJournal that answers a
// release's questions without reading a function's whole history, and two
// implementations, MemoryJournal (for tests and processes that persist
// nothing) and FileJournal (JSON lines, fsynced, recovering a torn tail
// left by a crash). LastRoute and PreviousGood read any Journal.
//
// The package imports provider (for routes and its sentinel errors) and
// nothing else of this module: the release workflow writes and reads a
// journal, the journal knows nothing of the workflow. Package
// journal/journaltest holds the conformance suite every implementation
// passes.
//
// Errors: a refused entry wraps provider.ErrInvalid and names the field
// (*provider.InvalidError); a damaged file is a *CorruptError (ErrCorrupt);
// a closed journal answers ErrClosed; a torn final line is reported by
// FileJournal.Recovered as a *TornError.
package journal
