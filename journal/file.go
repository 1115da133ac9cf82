package journal

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
	"sync"
)

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
	if e.Kind.ChangesRoute() {
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
		return nil, fmt.Errorf("journal: open: %w", err)
	}
	j := &FileJournal{path: path, f: f}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("journal: open: %w", err)
	}
	end := st.Size()
	var tail *TornError
	for line, err := range readLines(f, end) {
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("journal: open %s: %w", path, err)
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
		return fmt.Errorf("journal: append: %w", err)
	}
	if err := e.Validate(); err != nil {
		return err
	}
	line, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("journal: append: %w", err)
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
	j.err = fmt.Errorf("journal: %s: %s: %w", j.path, op, err)
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
				yield(Entry{}, fmt.Errorf("journal: %s: %w", j.path, err))
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
			yield(Entry{}, fmt.Errorf("journal: %s: %w", j.path, err))
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
			yield(Entry{}, fmt.Errorf("journal: %s: %w", j.path, err))
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
		return nil, fmt.Errorf("journal: %s: %w", j.path, err)
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
		if !e.Kind.ChangesRoute() {
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
		return false, fmt.Errorf("journal: %s: %w", j.path, err)
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
	return fmt.Errorf("journal: %s: %w", j.path, err)
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
	j.err = fmt.Errorf("journal: %s: %w", j.path, ErrClosed)
	if err := j.f.Close(); err != nil {
		return fmt.Errorf("journal: close %s: %w", j.path, err)
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
