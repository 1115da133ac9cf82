// Package blobjournal is a release journal kept in object storage through
// gocloud.dev/blob (S3, GCS, Azure Blob, a local directory, memory), so the
// audit trail of a fleet outlives the CI job that wrote it and is shared by
// every job that releases the fleet.
//
// Each entry is one object, keyed by its sequence number
// ("journal/00000000000000000042.json"), and written create-if-absent
// (blob.WriterOptions.IfNotExist: a conditional write on S3, GCS and Azure
// Blob). Two writers can never take one number: the loser of a race gets a
// precondition failure and tries the next number. That is the journal's
// append-only guarantee and its compare-and-swap, with no lock server.
// Objects are never rewritten; reading the journal is listing the prefix in
// key order (the numbers are zero-padded, so key order is number order) and
// reading each object once (they are immutable, so a Journal keeps what it
// has read).
//
// A local directory (gocloud.dev/blob/fileblob) makes IfNotExist atomic only
// within one process (a process-wide mutex around a stat and a rename);
// give Options.Guard, an exclusive lock across processes (the slipway
// command uses flock(2) on a file in the directory), to make it atomic
// across processes too.
package blobjournal

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"slices"
	"strconv"
	"strings"
	"sync"

	"gocloud.dev/blob"
	"gocloud.dev/gcerrors"

	"github.com/slipway-dev/slipway/journal"
	"github.com/slipway-dev/slipway/provider"
)

// DefaultPrefix is where the entries live in the bucket.
const DefaultPrefix = "journal/"

// Options configures a Journal. The zero value uses DefaultPrefix and no
// guard.
type Options struct {
	// Prefix is the key prefix of the entries; it should end with "/".
	Prefix string
	// Guard, when set, is held around every create-if-absent write: it
	// makes the write atomic across processes for a bucket whose
	// IfNotExist is not (fileblob).
	Guard Guard
}

// Journal is a journal.Journal in a bucket. It is safe for concurrent use,
// and any number of Journals, in any number of processes, may append to
// one prefix. It does not own the bucket: Close does not close it.
type Journal struct {
	b      *blob.Bucket
	prefix string
	guard  Guard

	mu     sync.Mutex
	next   uint64                   // the number the next Append tries first
	cache  map[uint64]journal.Entry // entries read or written, by number
	closed bool
}

var _ journal.Journal = (*Journal)(nil)

// Open returns a journal over the entries under opts.Prefix in b. It lists
// the prefix once to find where appending starts.
func Open(ctx context.Context, b *blob.Bucket, opts Options) (*Journal, error) {
	if opts.Prefix == "" {
		opts.Prefix = DefaultPrefix
	}
	j := &Journal{b: b, prefix: opts.Prefix, guard: opts.Guard, cache: map[uint64]journal.Entry{}, next: 1}
	keys, err := j.list(ctx)
	if err != nil {
		return nil, err
	}
	if n := len(keys); n > 0 {
		j.next = keys[n-1].seq + 1
	}
	return j, nil
}

// Key returns the object key of entry number seq.
func (j *Journal) Key(seq uint64) string { return j.prefix + fmt.Sprintf("%020d", seq) + ".json" }

// Append implements journal.Journal: the entry is durable when the
// conditional write of its object has succeeded.
func (j *Journal) Append(ctx context.Context, e journal.Entry) error {
	if err := e.Validate(); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	doc, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("blobjournal: encode entry: %w: %w", provider.ErrInvalid, err)
	}
	j.mu.Lock()
	if j.closed {
		j.mu.Unlock()
		return journal.ErrClosed
	}
	n := j.next
	j.mu.Unlock()
	for {
		err := j.create(ctx, j.Key(n), doc)
		if err == nil {
			break
		}
		if !errors.Is(err, ErrExists) {
			return fmt.Errorf("blobjournal: append entry %d: %w", n, err)
		}
		n++ // another writer took n: try the next number
	}
	j.mu.Lock()
	j.cache[n] = e.Clone()
	j.next = max(j.next, n+1)
	j.mu.Unlock()
	return nil
}

// ErrExists is returned (wrapped) by a create-if-absent write that found
// the object.
var ErrExists = errors.New("object exists")

// Guard is held around a create-if-absent write when the bucket's
// IfNotExist is atomic only within one process (fileblob). Nil means the
// bucket needs none.
type Guard func(ctx context.Context) (unlock func(), err error)

// create writes doc at key only if nothing is there (ErrExists
// otherwise). (canary/blobstore has the same few lines: the journal
// imports nothing of ours but provider.)
func (j *Journal) create(ctx context.Context, key string, doc []byte) error {
	if j.guard != nil {
		unlock, err := j.guard(ctx)
		if err != nil {
			return err
		}
		defer unlock()
	}
	err := j.b.WriteAll(ctx, key, doc, &blob.WriterOptions{IfNotExist: true, ContentType: "application/json"})
	if gcerrors.Code(err) == gcerrors.FailedPrecondition {
		return fmt.Errorf("%w: %s: %w", ErrExists, key, err)
	}
	return err
}

type seqKey struct {
	seq uint64
	key string
}

// list returns the entry keys in number order. Keys under the prefix that
// are not entry keys are skipped.
func (j *Journal) list(ctx context.Context) ([]seqKey, error) {
	// A local directory lists the temporary file of a write in progress,
	// which can be renamed away before the listing stats it (fileblob with
	// NoTempDir): that listing is retried.
	for attempt := 1; ; attempt++ {
		keys, err := j.listOnce(ctx)
		if err == nil || gcerrors.Code(err) != gcerrors.NotFound || attempt == 5 {
			return keys, err
		}
	}
}

func (j *Journal) listOnce(ctx context.Context) ([]seqKey, error) {
	var out []seqKey
	it := j.b.List(&blob.ListOptions{Prefix: j.prefix})
	for {
		obj, err := it.Next(ctx)
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("blobjournal: list %s: %w", j.prefix, err)
		}
		if obj.IsDir {
			continue
		}
		name, ok := strings.CutSuffix(strings.TrimPrefix(obj.Key, j.prefix), ".json")
		if !ok || len(name) != 20 {
			continue
		}
		seq, err := strconv.ParseUint(name, 10, 64)
		if err != nil || seq == 0 {
			continue
		}
		out = append(out, seqKey{seq, obj.Key})
	}
	slices.SortFunc(out, func(a, b seqKey) int { return cmpUint(a.seq, b.seq) })
	return out, nil
}

func cmpUint(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// CorruptError is an object under the prefix that is not a journal entry.
// It matches journal.ErrCorrupt under errors.Is.
type CorruptError struct {
	Key string
	Err error
}

func (e *CorruptError) Error() string {
	return fmt.Sprintf("blobjournal: %s is not a journal entry: %v", e.Key, e.Err)
}

// Is makes errors.Is(err, journal.ErrCorrupt) true.
func (e *CorruptError) Is(target error) bool { return target == journal.ErrCorrupt }

func (e *CorruptError) Unwrap() error { return e.Err }

// read returns entry seq, from the cache or the bucket.
func (j *Journal) read(ctx context.Context, k seqKey) (journal.Entry, error) {
	j.mu.Lock()
	e, ok := j.cache[k.seq]
	j.mu.Unlock()
	if ok {
		return e.Clone(), nil
	}
	doc, err := j.b.ReadAll(ctx, k.key)
	if err != nil {
		return journal.Entry{}, fmt.Errorf("blobjournal: read %s: %w", k.key, err)
	}
	e, err = decode(doc)
	if err != nil {
		return journal.Entry{}, &CorruptError{Key: k.key, Err: err}
	}
	j.mu.Lock()
	j.cache[k.seq] = e
	j.mu.Unlock()
	return e.Clone(), nil
}

// decode reads one entry strictly: unknown fields and trailing data are
// errors, and the entry must validate.
func decode(doc []byte) (journal.Entry, error) {
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.DisallowUnknownFields()
	var e journal.Entry
	if err := dec.Decode(&e); err != nil {
		return journal.Entry{}, err
	}
	if dec.More() {
		return journal.Entry{}, errors.New("trailing data after the entry")
	}
	if err := e.Validate(); err != nil {
		return journal.Entry{}, err
	}
	return e, nil
}

// Entries implements journal.Journal: the entries in number order. An
// object that does not decode stops the iteration with a *CorruptError.
func (j *Journal) Entries(ctx context.Context, f journal.Filter) iter.Seq2[journal.Entry, error] {
	return func(yield func(journal.Entry, error) bool) {
		if err := ctx.Err(); err != nil {
			yield(journal.Entry{}, err)
			return
		}
		j.mu.Lock()
		closed := j.closed
		j.mu.Unlock()
		if closed {
			yield(journal.Entry{}, journal.ErrClosed)
			return
		}
		keys, err := j.list(ctx)
		if err != nil {
			yield(journal.Entry{}, err)
			return
		}
		for _, k := range keys {
			if err := ctx.Err(); err != nil {
				yield(journal.Entry{}, err)
				return
			}
			e, err := j.read(ctx, k)
			if err != nil {
				yield(journal.Entry{}, err)
				return
			}
			if f.Match(e) && !yield(e, nil) {
				return
			}
		}
	}
}

// Close makes later calls fail with journal.ErrClosed. The bucket stays
// open.
func (j *Journal) Close() error {
	j.mu.Lock()
	j.closed = true
	j.mu.Unlock()
	return nil
}

// Problem is one object Verify found wrong.
type Problem struct {
	Key string `json:"key"`
	// Seq is the entry number, 0 for a gap's report.
	Seq uint64 `json:"seq"`
	Err string `json:"error"`
}

// Report is what Verify found.
type Report struct {
	Entries  int       `json:"entries"`
	Last     uint64    `json:"last"`
	Gaps     []uint64  `json:"gaps,omitempty"` // numbers below Last with no object
	Problems []Problem `json:"problems,omitempty"`
}

// OK reports whether every object is a valid entry. Gaps are not problems:
// Repair leaves one where it moved a damaged object away.
func (r Report) OK() bool { return len(r.Problems) == 0 }

// Verify reads every object under the prefix and reports the ones that are
// not valid journal entries and the numbers missing below the last.
func (j *Journal) Verify(ctx context.Context) (Report, error) {
	keys, err := j.list(ctx)
	if err != nil {
		return Report{}, err
	}
	var r Report
	want := uint64(1)
	for _, k := range keys {
		for ; want < k.seq; want++ {
			r.Gaps = append(r.Gaps, want)
		}
		want = k.seq + 1
		r.Last = k.seq
		if _, err := j.read(ctx, k); err != nil {
			if !errors.Is(err, journal.ErrCorrupt) {
				return r, err
			}
			r.Problems = append(r.Problems, Problem{Key: k.key, Seq: k.seq, Err: err.Error()})
			continue
		}
		r.Entries++
	}
	return r, nil
}

// DamagedPrefix is where Repair moves objects that are not entries, under
// the journal's prefix's parent: "journal/…" goes to "journal-damaged/…".
func (j *Journal) DamagedPrefix() string { return strings.TrimSuffix(j.prefix, "/") + "-damaged/" }

// Repair moves each object Verify reports as damaged to DamagedPrefix
// (copy, then delete: nothing is lost) and returns the keys moved. The
// journal reads on past the gap each leaves.
func (j *Journal) Repair(ctx context.Context) ([]string, error) {
	r, err := j.Verify(ctx)
	if err != nil {
		return nil, err
	}
	var moved []string
	for _, p := range r.Problems {
		dst := j.DamagedPrefix() + strings.TrimPrefix(p.Key, j.prefix)
		if err := j.b.Copy(ctx, dst, p.Key, nil); err != nil {
			return moved, fmt.Errorf("blobjournal: repair: copy %s: %w", p.Key, err)
		}
		if err := j.b.Delete(ctx, p.Key); err != nil {
			return moved, fmt.Errorf("blobjournal: repair: delete %s: %w", p.Key, err)
		}
		moved = append(moved, p.Key)
	}
	return moved, nil
}
