package release

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/slipway-dev/slipway/provider"
)

// Journal is the append-only audit trail of a fleet's releases: every route
// change and every release decision, with when, who, why, the routes before
// and after (with their revision tokens), the versions and the outcome.
//
// The workflow appends an entry after each change it makes, so the
// journal's last route of an alias is what the alias should look like now:
// Verify reports routes that differ (changed out of band), LastRoute and
// PreviousGood answer from it, and a rollback after a process restart reads
// its target from it.
//
// Implementations are safe for concurrent use. Entries are returned in the
// order they were appended. An implementation may also implement
// IndexedJournal, so that those readers need not read a function's whole
// history.
type Journal interface {
	// Append records e. It fails with an error wrapping
	// provider.ErrInvalid when e does not pass Entry.Validate (nothing is
	// written), and with ErrClosed after the journal was closed. When
	// Append returns nil the entry is durable (for FileJournal: written and
	// fsynced).
	Append(ctx context.Context, e Entry) error

	// Entries yields the entries that match f, oldest first. Iteration
	// stops at the first error, which is yielded with a zero Entry. The
	// entries yielded are copies: changing them changes nothing in the
	// journal. Entries appended while iterating may or may not be seen.
	Entries(ctx context.Context, f Filter) iter.Seq2[Entry, error]
}

// EntryKind says what a journal entry records.
type EntryKind string

const (
	// EntryPublish: a version was published (Candidate, Semver).
	EntryPublish EntryKind = "publish"
	// EntryRoute: a route changed during a release (a traffic step), or was
	// created; After is the route as the provider returned it.
	EntryRoute EntryKind = "route"
	// EntryPromote: the route change that completed a release: after it the
	// alias sends all traffic to Candidate. Stable is the version it served
	// before the release began (empty for a first release); PreviousGood
	// returns it.
	EntryPromote EntryKind = "promote"
	// EntryRollback: a route change that put the alias back on Stable.
	EntryRollback EntryKind = "rollback"
	// EntryDecision: a release decision that changed no route (a step
	// judged, a release refused by a deploy window, an out-of-band change
	// noticed, a release abandoned). Outcome and Reason say which.
	EntryDecision EntryKind = "decision"
)

// changesRoute reports whether entries of kind k record a route change, so
// that After is required.
func (k EntryKind) changesRoute() bool {
	return k == EntryRoute || k == EntryPromote || k == EntryRollback
}

func (k EntryKind) valid() bool {
	return k == EntryPublish || k == EntryDecision || k.changesRoute()
}

// Entry is one record of the journal. It is plain data; its JSON form is one
// line of a FileJournal.
type Entry struct {
	// Time is when the change was made, from the caller's clock. Required.
	Time time.Time `json:"time"`
	// Release identifies the release (one Deploy, Promote or Rollback run)
	// the entry belongs to; entries of one run share it.
	Release string    `json:"release,omitempty"`
	Kind    EntryKind `json:"kind"`
	// Function is required; Alias is required for route changes.
	Function string `json:"function"`
	Alias    string `json:"alias,omitempty"`
	// Actor is who asked: a user, a CI job, a service. Supplied by the
	// caller; the journal does not authenticate it.
	Actor string `json:"actor,omitempty"`
	// Reason is why, in a sentence: the commit, a check's verdict, a
	// rollback's cause.
	Reason string `json:"reason,omitempty"`
	// Before is the route as read before the change, nil when the change
	// created it. After is the route the provider returned (with its new
	// revision token); required for route changes.
	Before *provider.Route `json:"before,omitempty"`
	After  *provider.Route `json:"after,omitempty"`
	// Candidate is the version being released, Stable the version it
	// replaces (version IDs); Semver is the candidate's semantic version.
	Candidate string `json:"candidate,omitempty"`
	Stable    string `json:"stable,omitempty"`
	Semver    string `json:"semver,omitempty"`
	// Outcome is the result of a decision or of the step: "promoted",
	// "rolled back", "failed", "blocked", "passed", "out of band"… Free
	// text, meant to be read.
	Outcome string `json:"outcome,omitempty"`
}

// Validate checks e: a known Kind, a Time, a Function; for route changes an
// Alias and an After route for that alias that passes Route.Validate (and a
// Before, when set, for the same alias). Errors wrap provider.ErrInvalid and
// name the field.
func (e Entry) Validate() error {
	switch {
	case !e.Kind.valid():
		return provider.Invalid("journal entry", "kind", fmt.Sprintf("%q is not a known kind", e.Kind))
	case e.Time.IsZero():
		return provider.Invalid("journal entry", "time", "is zero")
	case e.Function == "":
		return provider.Invalid("journal entry", "function", "is empty")
	}
	if !e.Kind.changesRoute() {
		return nil
	}
	if e.Alias == "" {
		return provider.Invalid("journal entry", "alias", "is empty for a route change")
	}
	if e.After == nil {
		return provider.Invalid("journal entry", "after", "is missing for a route change")
	}
	if e.After.Alias != e.Alias {
		return provider.Invalid("journal entry", "after.alias", fmt.Sprintf("is %q, not the entry's alias %q", e.After.Alias, e.Alias))
	}
	if err := e.After.Validate(); err != nil {
		return fmt.Errorf("release: journal entry after: %w", err)
	}
	if e.Before != nil && e.Before.Alias != e.Alias {
		return provider.Invalid("journal entry", "before.alias", fmt.Sprintf("is %q, not the entry's alias %q", e.Before.Alias, e.Alias))
	}
	return nil
}

// Clone returns a deep copy of e.
//
// Reading a journal is mostly cloning, so the copies of Before and After
// and of their weights share one allocation when the routes hold at most
// cloneWeights weights between them (a route change holds two or three);
// each copied Weights slice has no spare capacity, so appending to one
// never writes into the other.
func (e Entry) Clone() Entry {
	if e.Before == nil && e.After == nil {
		return e
	}
	n := 0
	for _, r := range []*provider.Route{e.Before, e.After} {
		if r != nil {
			n += len(r.Weights)
		}
	}
	if n > cloneWeights {
		if e.Before != nil {
			b := e.Before.Clone()
			e.Before = &b
		}
		if e.After != nil {
			a := e.After.Clone()
			e.After = &a
		}
		return e
	}
	blk := new(struct {
		routes  [2]provider.Route
		weights [cloneWeights]provider.Weight
	})
	k := 0
	clone := func(r, dst *provider.Route) *provider.Route {
		// As provider.Route.Clone: Weights is its only reference field.
		*dst = *r
		if r.Weights != nil {
			dst.Weights = blk.weights[k : k+len(r.Weights) : k+len(r.Weights)]
			k += copy(dst.Weights, r.Weights)
		}
		return dst
	}
	if e.Before != nil {
		e.Before = clone(e.Before, &blk.routes[0])
	}
	if e.After != nil {
		e.After = clone(e.After, &blk.routes[1])
	}
	return e
}

// cloneWeights is how many weights Entry.Clone copies with the routes in
// one allocation.
const cloneWeights = 4

// Filter selects journal entries. Zero fields match everything.
type Filter struct {
	Function string `json:"function,omitempty"`
	Alias    string `json:"alias,omitempty"`
	// Since keeps entries whose Time is not before it.
	Since time.Time `json:"since,omitzero"`
}

// Match reports whether e passes f.
func (f Filter) Match(e Entry) bool {
	return (f.Function == "" || e.Function == f.Function) &&
		(f.Alias == "" || e.Alias == f.Alias) &&
		(f.Since.IsZero() || !e.Time.Before(f.Since))
}

// IndexedJournal is a Journal that answers the questions a release asks of
// a function's history without reading all of it: the newest entries
// first, the last route change of each alias, whether a release ID is
// taken. It is optional, as fs.ReadFileFS is to fs.FS: LastRoute,
// PreviousGood, RollbackPoints, Verify and the workflow use it when the
// journal has it (found by type assertion) and read Entries otherwise, with
// the same answers. MemoryJournal and FileJournal implement it, so with
// them a release costs the same whatever the length of its function's
// history. A wrapper around a Journal should implement IndexedJournal
// only when what it wraps does, and forward to it.
//
// The methods see the entries appended before the call, like Entries, and
// what they yield or return are copies.
type IndexedJournal interface {
	Journal

	// Latest yields the entries that match f, newest first: what Entries
	// yields, in reverse order. Iteration stops at the first error, which
	// is yielded with a zero Entry.
	Latest(ctx context.Context, f Filter) iter.Seq2[Entry, error]

	// LastRoutes returns, for each alias of fn whose route the journal
	// recorded a change of (kinds route, promote, rollback), the newest
	// such entry, by alias: what LastRoute answers for each. It returns
	// an empty map when there is none.
	LastRoutes(ctx context.Context, fn string) (map[string]Entry, error)

	// HasRelease reports whether an entry of fn has Release id.
	HasRelease(ctx context.Context, fn, id string) (bool, error)
}

// MemoryJournal is a Journal kept in memory, for tests and for processes
// that persist nothing. The zero value is empty and ready to use; it must
// not be copied after first use.
//
// It keeps, per function, the positions of that function's entries (all
// of them, and those of each alias), the position of each alias's last
// route change and the set of its release IDs, so Entries and Latest with
// Filter.Function visit only that function's entries (with Filter.Alias,
// only that alias's), and LastRoutes and HasRelease read no history at
// all: a fleet's journal costs each function its own history, not
// everyone's, and a release's questions cost the same at any length.
type MemoryJournal struct {
	mu      sync.RWMutex
	entries []Entry
	byFunc  map[string]*memIndex
}

// memIndex is what a MemoryJournal knows of one function's entries. The
// position slices only grow and their elements are never written again.
type memIndex struct {
	pos       []int               // positions in entries, in append order
	byAlias   map[string][]int    // pos, per alias (the entries without one under "")
	lastRoute map[string]int      // per alias, the position of its newest route change
	releases  map[string]struct{} // the Release of every entry
}

var (
	_ Journal        = (*MemoryJournal)(nil)
	_ IndexedJournal = (*MemoryJournal)(nil)
)

// Append records a copy of e.
func (j *MemoryJournal) Append(ctx context.Context, e Entry) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("release: journal append: %w", err)
	}
	if err := e.Validate(); err != nil {
		return err
	}
	e = e.Clone()
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.byFunc == nil {
		j.byFunc = make(map[string]*memIndex)
	}
	ix := j.byFunc[e.Function]
	if ix == nil {
		ix = &memIndex{byAlias: map[string][]int{}, lastRoute: map[string]int{}, releases: map[string]struct{}{}}
		j.byFunc[e.Function] = ix
	}
	p := len(j.entries)
	ix.pos = append(ix.pos, p)
	ix.byAlias[e.Alias] = append(ix.byAlias[e.Alias], p)
	if e.Kind.changesRoute() {
		ix.lastRoute[e.Alias] = p
	}
	ix.releases[e.Release] = struct{}{}
	j.entries = append(j.entries, e)
	return nil
}

// Entries yields copies of the matching entries appended before the call.
// With f.Function set it visits that function's entries only (with
// f.Alias too, only those of that alias).
func (j *MemoryJournal) Entries(ctx context.Context, f Filter) iter.Seq2[Entry, error] {
	return j.read(ctx, f, false)
}

// Latest yields copies of the matching entries appended before the call,
// newest first; it visits what Entries visits.
func (j *MemoryJournal) Latest(ctx context.Context, f Filter) iter.Seq2[Entry, error] {
	return j.read(ctx, f, true)
}

func (j *MemoryJournal) read(ctx context.Context, f Filter, newestFirst bool) iter.Seq2[Entry, error] {
	return func(yield func(Entry, error) bool) {
		// The entries and the position slices only grow and their
		// elements are never written again, so the prefixes taken under
		// the lock can be read without it while Append goes on.
		j.mu.RLock()
		snap := j.entries[:len(j.entries):len(j.entries)]
		var pos []int
		if f.Function != "" {
			var p []int
			if ix := j.byFunc[f.Function]; ix != nil {
				p = ix.pos
				if f.Alias != "" {
					p = ix.byAlias[f.Alias]
				}
			}
			pos = p[:len(p):len(p)]
		}
		j.mu.RUnlock()
		n := len(snap)
		if f.Function != "" {
			n = len(pos)
		}
		for i := range n {
			if err := ctx.Err(); err != nil {
				yield(Entry{}, fmt.Errorf("release: journal entries: %w", err))
				return
			}
			k := i
			if newestFirst {
				k = n - 1 - i
			}
			if f.Function != "" {
				k = pos[k]
			}
			e := &snap[k]
			if f.Match(*e) && !yield(e.Clone(), nil) {
				return
			}
		}
	}
}

// LastRoutes returns copies of the newest route change of each alias of
// fn, from the index: it reads no other entry.
func (j *MemoryJournal) LastRoutes(ctx context.Context, fn string) (map[string]Entry, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("release: journal last routes: %w", err)
	}
	j.mu.RLock()
	defer j.mu.RUnlock()
	out := map[string]Entry{}
	if ix := j.byFunc[fn]; ix != nil {
		for alias, p := range ix.lastRoute {
			out[alias] = j.entries[p].Clone()
		}
	}
	return out, nil
}

// HasRelease reports whether an entry of fn has Release id, from the index.
func (j *MemoryJournal) HasRelease(ctx context.Context, fn, id string) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, fmt.Errorf("release: journal has release: %w", err)
	}
	j.mu.RLock()
	defer j.mu.RUnlock()
	ix := j.byFunc[fn]
	if ix == nil {
		return false, nil
	}
	_, ok := ix.releases[id]
	return ok, nil
}

// FileJournal is a Journal stored as JSON lines, one Entry per line, in a
// file opened with O_APPEND. Each Append writes one whole line with a single
// write and fsyncs the file before it returns, so an entry that Append
// acknowledged survives a crash. Appends from many goroutines are
// serialised by a mutex; the file must not be written by more than one
// FileJournal (or process) at a time.
//
// # Crashes
//
// A crash during Append can leave a torn final line: part of an entry
// without its newline, or bytes that do not decode. OpenFileJournal reads
// the whole file, keeps every complete entry and reports the torn tail
// through Recovered (a *TornError with its offset and bytes) instead of
// failing: the entry was never acknowledged, so nothing committed is lost.
// The file is not changed by opening it. The first Append after that
// truncates the file at the torn line's offset and then writes, so the file
// is again a sequence of whole lines; Recovered keeps reporting what was
// removed.
//
// A line that does not decode before the last line is not a torn write but
// damage: OpenFileJournal fails with a *CorruptError (ErrCorrupt) and the
// file must be repaired by hand.
//
// If a write or an fsync fails, the journal stops accepting appends (every
// later Append returns the first failure): after a failed fsync the file's
// state is unknown, and an audit trail with a hole is worse than a release
// that stops.
//
// # Index
//
// The journal keeps in memory, per function, where each of its entries'
// lines lies in the file (offset and length, 16 bytes an entry, and 8 more
// for its place in its alias's list; the function's alias names once),
// where the last route change of each alias lies, and the set of the
// function's release IDs: OpenFileJournal builds it from the entries it
// decodes (a torn tail is not indexed) and Append adds to it once the line
// is durable. Entries and Latest with Filter.Function read and decode only
// that function's lines (and, with Filter.Alias too, only those of that
// alias), so a fleet's journal costs a function its own history;
// LastRoutes reads one line per alias and HasRelease none, so a release's
// questions cost the same at any length of history. Without
// Filter.Function, Entries reads the whole file, and Latest too (keeping
// the matching entries in memory to yield them in reverse). Filter.Since is
// checked on each entry read: Append does not require entries in time
// order, so the journal cannot skip by time.
type FileJournal struct {
	path string
	f    *os.File

	mu        sync.Mutex
	size      int64      // end of the last whole line
	torn      *TornError // what Open found; nil when the file was clean
	truncated bool       // the torn tail has been removed
	err       error      // sticky write failure, or ErrClosed
	index     map[string]*fileIndex
}

// fileIndex locates the lines of one function's entries in a journal file.
// It is read under the journal's lock, except the prefixes of spans and of
// the lists in byAlias taken under it: those lists only grow and their
// elements are never written again.
type fileIndex struct {
	spans     []span              // in append order
	aliases   []string            // the function's aliases (and ""), each once
	byAlias   [][]int             // per alias (as in aliases), the positions of its spans in spans
	lastRoute []int               // per alias, the position in spans of its newest route change, or -1
	releases  map[string]struct{} // the Release of every entry
}

// span is where one entry's line lies: text [off, off+n), then a newline.
type span struct {
	off int64
	n   int64
}

// add indexes e, whose line (without its newline) is [off, off+n). The
// caller holds j.mu or owns j.
func (j *FileJournal) add(e *Entry, off, n int64) {
	if j.index == nil {
		j.index = make(map[string]*fileIndex)
	}
	fi := j.index[e.Function]
	if fi == nil {
		fi = &fileIndex{releases: map[string]struct{}{}}
		j.index[e.Function] = fi
	}
	a := slices.Index(fi.aliases, e.Alias)
	if a < 0 {
		a = len(fi.aliases)
		fi.aliases = append(fi.aliases, e.Alias)
		fi.byAlias = append(fi.byAlias, nil)
		fi.lastRoute = append(fi.lastRoute, -1)
	}
	p := len(fi.spans)
	fi.spans = append(fi.spans, span{off: off, n: n})
	fi.byAlias[a] = append(fi.byAlias[a], p)
	if e.Kind.changesRoute() {
		fi.lastRoute[a] = p
	}
	fi.releases[e.Release] = struct{}{}
}

var (
	_ Journal        = (*FileJournal)(nil)
	_ IndexedJournal = (*FileJournal)(nil)
)

// OpenFileJournal opens (creating it if needed, mode 0600) the journal file
// at path and checks its content. It fails with a *CorruptError when a line
// before the last does not decode; a torn last line is reported by
// Recovered, not as an error.
func OpenFileJournal(path string) (*FileJournal, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("release: open journal: %w", err)
	}
	j := &FileJournal{path: path, f: f}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("release: open journal: %w", err)
	}
	end := st.Size()
	var tail *TornError
	for line, err := range readLines(f, end) {
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("release: open journal %s: %w", path, err)
		}
		var e Entry
		derr := decodeEntry(line.text, &e)
		last := line.end >= end
		switch {
		case last && (!line.newline || derr != nil):
			tail = &TornError{Path: path, Offset: line.offset, Line: slices.Clone(line.text), Err: derr}
		case derr != nil:
			f.Close()
			return nil, &CorruptError{Path: path, Line: line.number, Offset: line.offset, Err: derr}
		default:
			j.add(&e, line.offset, int64(len(line.text)))
		}
	}
	j.size = end
	if tail != nil {
		j.size = tail.Offset
		j.torn = tail
	}
	return j, nil
}

// Path returns the file's path.
func (j *FileJournal) Path() string { return j.path }

// Recovered returns the torn final line OpenFileJournal found, or nil when
// the file ended with a whole entry. It keeps returning it after Append has
// removed the bytes, so a caller can log what was dropped.
func (j *FileJournal) Recovered() *TornError {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.torn
}

// Append writes e as one JSON line and fsyncs the file. See FileJournal for
// what happens to a torn tail left by a crash, and after a failed write.
func (j *FileJournal) Append(ctx context.Context, e Entry) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("release: journal append: %w", err)
	}
	if err := e.Validate(); err != nil {
		return err
	}
	line, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("release: journal append: %w", err)
	}
	line = append(line, '\n')

	j.mu.Lock()
	defer j.mu.Unlock()
	if j.err != nil {
		return j.err
	}
	if j.torn != nil && !j.truncated {
		if err := j.f.Truncate(j.size); err != nil {
			return j.fail("truncate torn tail", err)
		}
		if err := j.f.Sync(); err != nil {
			return j.fail("sync", err)
		}
		j.truncated = true
	}
	n, err := j.f.Write(line)
	if err != nil {
		if n > 0 {
			// Take the partial line back so the file stays whole lines; if
			// that fails too the journal is unusable.
			if terr := j.f.Truncate(j.size); terr != nil {
				return j.fail("write", errors.Join(err, terr))
			}
		}
		return j.fail("write", err)
	}
	if err := j.f.Sync(); err != nil {
		return j.fail("sync", err)
	}
	j.add(&e, j.size, int64(n)-1)
	j.size += int64(n)
	return nil
}

func (j *FileJournal) fail(op string, err error) error {
	j.err = fmt.Errorf("release: journal %s: %s: %w", j.path, op, err)
	return j.err
}

// Entries yields the matching entries appended before the call. With
// f.Function set it reads and decodes only the lines the index holds for
// that function, or with f.Alias too for that alias (see FileJournal);
// otherwise it reads the file from the start up to the end of the last
// entry appended before the call. It holds no lock while yielding, so the
// loop body may Append.
func (j *FileJournal) Entries(ctx context.Context, f Filter) iter.Seq2[Entry, error] {
	return j.read(ctx, f, false)
}

// Latest yields the matching entries appended before the call, newest
// first. With f.Function set it reads what Entries reads, from the end, and
// stops reading when the loop stops; otherwise it reads the whole file and
// keeps the matching entries to yield them in reverse. It holds no lock
// while yielding, so the loop body may Append.
func (j *FileJournal) Latest(ctx context.Context, f Filter) iter.Seq2[Entry, error] {
	return j.read(ctx, f, true)
}

func (j *FileJournal) read(ctx context.Context, f Filter, newestFirst bool) iter.Seq2[Entry, error] {
	return func(yield func(Entry, error) bool) {
		j.mu.Lock()
		end, err := j.size, j.err
		var spans []span
		var pos []int // with f.Alias: the positions in spans to visit
		if fi := j.index[f.Function]; f.Function != "" && fi != nil {
			spans = fi.spans[:len(fi.spans):len(fi.spans)]
			if a := slices.Index(fi.aliases, f.Alias); f.Alias != "" && a >= 0 {
				pos = fi.byAlias[a][:len(fi.byAlias[a]):len(fi.byAlias[a])]
			}
		}
		j.mu.Unlock()
		if errors.Is(err, ErrClosed) {
			yield(Entry{}, err)
			return
		}
		if f.Function != "" {
			j.indexed(ctx, f, spans, pos, newestFirst, yield)
			return
		}
		// No function: every line may match.
		if !newestFirst {
			j.scan(ctx, f, end, yield)
			return
		}
		var all []Entry
		failed := false
		j.scan(ctx, f, end, func(e Entry, err error) bool {
			if err != nil {
				failed = true
				yield(Entry{}, err)
				return false
			}
			all = append(all, e)
			return true
		})
		for i := len(all) - 1; i >= 0 && !failed; i-- {
			if err := ctx.Err(); err != nil {
				yield(Entry{}, fmt.Errorf("release: journal %s: %w", j.path, err))
				return
			}
			if !yield(all[i], nil) {
				return
			}
		}
	}
}

// scan yields the entries of the file's lines up to end that match f, in
// order.
func (j *FileJournal) scan(ctx context.Context, f Filter, end int64, yield func(Entry, error) bool) {
	for line, err := range readLines(j.f, end) {
		if err != nil {
			yield(Entry{}, j.readErr(err))
			return
		}
		if err := ctx.Err(); err != nil {
			yield(Entry{}, fmt.Errorf("release: journal %s: %w", j.path, err))
			return
		}
		var e Entry
		if err := decodeEntry(line.text, &e); err != nil {
			yield(Entry{}, &CorruptError{Path: j.path, Line: line.number, Offset: line.offset, Err: err})
			return
		}
		if f.Match(e) && !yield(e, nil) {
			return
		}
	}
}

// indexed yields the entries of f.Function at spans that match f, in
// order or newest first. With f.Alias it visits only spans[p] for each p
// of pos (those of that alias; none when pos is empty).
func (j *FileJournal) indexed(ctx context.Context, f Filter, spans []span, pos []int, newestFirst bool, yield func(Entry, error) bool) {
	n := len(spans)
	if f.Alias != "" {
		n = len(pos)
	}
	var buf []byte
	for i := range n {
		if err := ctx.Err(); err != nil {
			yield(Entry{}, fmt.Errorf("release: journal %s: %w", j.path, err))
			return
		}
		k := i
		if newestFirst {
			k = n - 1 - i
		}
		if f.Alias != "" {
			k = pos[k]
		}
		e, err := j.readSpan(&buf, spans[k], f.Function, f.Alias)
		if err != nil {
			yield(Entry{}, err)
			return
		}
		if f.Match(e) && !yield(e, nil) {
			return
		}
	}
}

// readSpan reads and decodes the entry whose line is at sp, which the
// index holds for an entry of fn (and of alias, unless alias is empty),
// reusing *buf. A line that is no longer the entry the index recorded
// means the file was changed behind the journal's back: it is reported as
// a *CorruptError.
func (j *FileJournal) readSpan(buf *[]byte, sp span, fn, alias string) (Entry, error) {
	if int64(cap(*buf)) < sp.n+1 {
		*buf = make([]byte, sp.n+1)
	}
	b := (*buf)[:sp.n+1]
	if _, err := j.f.ReadAt(b, sp.off); err != nil {
		return Entry{}, j.readErr(fmt.Errorf("read at offset %d: %w", sp.off, err))
	}
	var e Entry
	err := decodeEntry(b[:sp.n], &e)
	switch {
	case b[sp.n] != '\n':
		err = errors.New("the line does not end where the index says")
	case err == nil && e.Function != fn:
		err = fmt.Errorf("entry of function %q where the index has one of %q", e.Function, fn)
	case err == nil && alias != "" && e.Alias != alias:
		err = fmt.Errorf("entry of alias %q where the index has one of %q", e.Alias, alias)
	}
	if err != nil {
		return Entry{}, &CorruptError{Path: j.path, Line: j.lineAt(sp.off), Offset: sp.off, Err: err}
	}
	return e, nil
}

// LastRoutes returns the newest route change of each alias of fn, reading
// one line per alias where the index says it is.
func (j *FileJournal) LastRoutes(ctx context.Context, fn string) (map[string]Entry, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("release: journal %s: %w", j.path, err)
	}
	type last struct {
		alias string
		sp    span
	}
	var lasts []last
	j.mu.Lock()
	err := j.err
	if fi := j.index[fn]; fi != nil {
		for a, p := range fi.lastRoute {
			if p >= 0 {
				lasts = append(lasts, last{fi.aliases[a], fi.spans[p]})
			}
		}
	}
	j.mu.Unlock()
	if errors.Is(err, ErrClosed) {
		return nil, err
	}
	out := make(map[string]Entry, len(lasts))
	var buf []byte
	for _, l := range lasts {
		e, err := j.readSpan(&buf, l.sp, fn, l.alias)
		if err != nil {
			return nil, err
		}
		if !e.Kind.changesRoute() {
			return nil, &CorruptError{Path: j.path, Line: j.lineAt(l.sp.off), Offset: l.sp.off,
				Err: fmt.Errorf("entry of kind %q where the index has a route change", e.Kind)}
		}
		out[l.alias] = e
	}
	return out, nil
}

// HasRelease reports whether an entry of fn has Release id, from the
// index: it reads nothing.
func (j *FileJournal) HasRelease(ctx context.Context, fn, id string) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, fmt.Errorf("release: journal %s: %w", j.path, err)
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if errors.Is(j.err, ErrClosed) {
		return false, j.err
	}
	fi := j.index[fn]
	if fi == nil {
		return false, nil
	}
	_, ok := fi.releases[id]
	return ok, nil
}

// readErr wraps a failure to read the file; when Close caused it, it is
// the ErrClosed that Close recorded.
func (j *FileJournal) readErr(err error) error {
	j.mu.Lock()
	closed := j.err
	j.mu.Unlock()
	if errors.Is(err, os.ErrClosed) && errors.Is(closed, ErrClosed) {
		return closed
	}
	return fmt.Errorf("release: journal %s: %w", j.path, err)
}

// lineAt returns the 1-based number of the line starting at off, or 0 when
// the file cannot be read up to there. It reads the file from the start:
// it is for error reports only.
func (j *FileJournal) lineAt(off int64) int {
	n := 1
	for l, err := range readLines(j.f, off) {
		if err != nil {
			return 0
		}
		if l.newline {
			n++
		}
	}
	return n
}

// Close closes the file. Later calls fail with ErrClosed.
func (j *FileJournal) Close() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if errors.Is(j.err, ErrClosed) {
		return nil
	}
	j.err = fmt.Errorf("release: journal %s: %w", j.path, ErrClosed)
	if err := j.f.Close(); err != nil {
		return fmt.Errorf("release: close journal %s: %w", j.path, err)
	}
	return nil
}

// line is one line of a journal file, without its newline.
type line struct {
	text    []byte
	offset  int64 // where the line starts
	end     int64 // where the next line starts
	number  int
	newline bool
}

// readLines yields the lines of r[0:end). The text of a line is valid only
// until the next iteration.
func readLines(r io.ReaderAt, end int64) iter.Seq2[line, error] {
	return func(yield func(line, error) bool) {
		br := bufio.NewReaderSize(io.NewSectionReader(r, 0, end), 64<<10)
		var off int64
		for n := 1; off < end; n++ {
			text, err := br.ReadSlice('\n')
			var buf []byte
			for errors.Is(err, bufio.ErrBufferFull) {
				// A line longer than the buffer: gather it.
				buf = append(buf, text...)
				text, err = br.ReadSlice('\n')
			}
			if buf != nil {
				text = append(buf, text...)
			}
			if err != nil && err != io.EOF {
				yield(line{}, err)
				return
			}
			l := line{text: text, offset: off, number: n}
			if len(text) > 0 && text[len(text)-1] == '\n' {
				l.text, l.newline = text[:len(text)-1], true
			}
			off += int64(len(text))
			l.end = off
			if !yield(l, nil) || err == io.EOF {
				return
			}
		}
	}
}

// decodeEntry decodes one line strictly: one JSON object, no unknown
// fields, nothing after it, and a valid entry.
func decodeEntry(text []byte, e *Entry) error {
	dec := json.NewDecoder(bytes.NewReader(text))
	dec.DisallowUnknownFields()
	if err := dec.Decode(e); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("data after the entry")
	}
	return e.Validate()
}

// LastRoute returns the newest entry of the journal that changed the route
// alias of fn (kinds route, promote, rollback); its After is the route as the
// journal expects it to be now. It fails with an error wrapping
// provider.ErrNotFound when the journal recorded no change of that route.
//
// An empty alias matches every alias, as in Filter: the newest change of
// any route of fn.
//
// With an IndexedJournal it asks LastRoutes, which reads no history (for
// an empty alias it reads fn's entries newest first, down to the first
// route change); otherwise it reads the alias's entries.
func LastRoute(ctx context.Context, j Journal, fn, alias string) (Entry, error) {
	notFound := fmt.Errorf("release: journal has no route %q of %s: %w", alias, fn, provider.ErrNotFound)
	if ij, ok := j.(IndexedJournal); ok && alias != "" {
		last, err := ij.LastRoutes(ctx, fn)
		if err != nil {
			return Entry{}, err
		}
		if e, ok := last[alias]; ok {
			return e, nil
		}
		return Entry{}, notFound
	} else if ok {
		for e, err := range ij.Latest(ctx, Filter{Function: fn}) {
			if err != nil {
				return Entry{}, err
			}
			if e.Kind.changesRoute() {
				return e, nil
			}
		}
		return Entry{}, notFound
	}
	var last Entry
	found := false
	for e, err := range j.Entries(ctx, Filter{Function: fn, Alias: alias}) {
		if err != nil {
			return Entry{}, err
		}
		if e.Kind.changesRoute() {
			last, found = e, true
		}
	}
	if !found {
		return Entry{}, notFound
	}
	return last, nil
}

// PreviousGood returns the rollback target of alias: the version the alias
// sent its traffic to before the latest promotion (EntryPromote), with that
// promotion's entry. It is the promotion's Stable; when Stable is empty, the
// version with the largest share of the promotion's Before route other than
// the promoted Candidate.
//
// Rollbacks are not promotions, so after a rollback PreviousGood still
// answers the same version: rolling back twice is rolling back once.
// A promotion that created the alias (no previous version) has no target:
// the error wraps provider.ErrNotFound, as it does when the journal holds no
// promotion of alias.
//
// Because it reads the journal only, PreviousGood answers the same after a
// process restart when the journal is a FileJournal.
//
// With an IndexedJournal it reads the alias's entries newest first, down
// to its latest promotion; otherwise it reads all of them.
func PreviousGood(ctx context.Context, j Journal, fn, alias string) (string, Entry, error) {
	promo, found, err := lastPromotion(ctx, j, fn, alias)
	if err != nil {
		return "", Entry{}, err
	}
	if !found {
		return "", Entry{}, fmt.Errorf("release: journal has no promotion of %s alias %q: %w", fn, alias, provider.ErrNotFound)
	}
	if promo.Stable != "" {
		return promo.Stable, promo, nil
	}
	candidate := promo.Candidate
	if candidate == "" && promo.After != nil {
		candidate = promo.After.Primary()
	}
	best, share := "", 0
	if promo.Before != nil {
		for _, w := range promo.Before.Weights {
			if w.Version != candidate && w.BasisPoints > share {
				best, share = w.Version, w.BasisPoints
			}
		}
	}
	if best == "" {
		return "", promo, fmt.Errorf("release: %s alias %q had no version before its latest promotion (%s): %w",
			fn, alias, promo.Time.UTC().Format(time.RFC3339), provider.ErrNotFound)
	}
	return best, promo, nil
}

// lastPromotion returns the newest EntryPromote of alias of fn, and false
// when there is none.
func lastPromotion(ctx context.Context, j Journal, fn, alias string) (Entry, bool, error) {
	f := Filter{Function: fn, Alias: alias}
	if ij, ok := j.(IndexedJournal); ok {
		for e, err := range ij.Latest(ctx, f) {
			if err != nil {
				return Entry{}, false, err
			}
			if e.Kind == EntryPromote {
				return e, true, nil
			}
		}
		return Entry{}, false, nil
	}
	var promo Entry
	found := false
	for e, err := range j.Entries(ctx, f) {
		if err != nil {
			return Entry{}, false, err
		}
		if e.Kind == EntryPromote {
			promo, found = e, true
		}
	}
	return promo, found, nil
}

// releaseIDs returns a function reporting whether an entry of fn in j
// has a release ID, for IDs that start with prefix. With an
// IndexedJournal it asks HasRelease, which reads no history; otherwise it
// reads fn's entries once, now.
func releaseIDs(ctx context.Context, j Journal, fn, prefix string) (func(id string) (bool, error), error) {
	if ij, ok := j.(IndexedJournal); ok {
		return func(id string) (bool, error) { return ij.HasRelease(ctx, fn, id) }, nil
	}
	taken := map[string]bool{}
	for e, err := range j.Entries(ctx, Filter{Function: fn}) {
		if err != nil {
			return nil, err
		}
		if strings.HasPrefix(e.Release, prefix) {
			taken[e.Release] = true
		}
	}
	return func(id string) (bool, error) { return taken[id], nil }, nil
}
