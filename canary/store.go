package canary

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"sync"

	"github.com/slipway-dev/slipway/provider"
)

// Store persists rollout states by rollout ID with compare-and-swap, so a
// crashed runner can be resumed and an operator in another goroutine or
// process can change a rollout (Runner.Pause and the other controls) without
// a lost update.
//
// Implementations are safe for concurrent use and honour ctx.
type Store interface {
	// Load returns the state saved for id and its revision. Errors: a
	// *StoreError wrapping provider.ErrNotFound when nothing is saved for
	// id, provider.ErrInvalid for a malformed id, and ErrDamaged with
	// provider.ErrInvalid for a saved state that does not pass
	// State.Validate (nothing may act on it).
	Load(ctx context.Context, id string) (s State, rev string, err error)

	// Save stores s for id if the stored revision is still expectedRev and
	// returns the new revision. An empty expectedRev creates: it fails when
	// a state exists. Errors: a *StoreError wrapping provider.ErrConflict
	// when expectedRev is not the current revision (nothing is written),
	// provider.ErrInvalid for a malformed id or a state that does not
	// encode.
	Save(ctx context.Context, id string, s State, expectedRev string) (rev string, err error)
}

// StoreError records a failed Store operation on one rollout.
type StoreError struct {
	Op  string // "load", "save"
	ID  string // the rollout ID
	Err error  // wraps provider.ErrNotFound, provider.ErrConflict, provider.ErrInvalid or an I/O error
}

func (e *StoreError) Error() string {
	return "canary: store " + e.Op + " " + strconv.Quote(e.ID) + ": " + e.Err.Error()
}

func (e *StoreError) Unwrap() error { return e.Err }

// storeCheckID accepts rollout IDs that are safe as file names everywhere:
// 1 to 200 characters from [A-Za-z0-9._-], not starting with a dot.
func storeCheckID(id string) error {
	if id == "" {
		return provider.Invalid("rollout", "id", "is empty")
	}
	if len(id) > 200 {
		return provider.Invalid("rollout", "id", fmt.Sprintf("is %d bytes long, more than 200", len(id)))
	}
	if id[0] == '.' {
		return provider.Invalid("rollout", "id", fmt.Sprintf("%q starts with a dot", id))
	}
	for i := range len(id) {
		c := id[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-') {
			return provider.Invalid("rollout", "id", fmt.Sprintf("%q has %q: use letters, digits, '.', '_' and '-'", id, c))
		}
	}
	return nil
}

// storeRevision is the content revision of an encoded record.
func storeRevision(doc []byte) string {
	sum := sha256.Sum256(doc)
	return hex.EncodeToString(sum[:16])
}

// storeRecord is what a store keeps for one rollout. Seq grows with every
// save, so a state that returns to an earlier value still gets a new
// revision (no ABA).
type storeRecord struct {
	Seq   uint64          `json:"seq"`
	State json.RawMessage `json:"state"`
}

func storeEncode(seq uint64, state []byte) ([]byte, error) {
	return json.MarshalIndent(storeRecord{Seq: seq, State: state}, "", "  ")
}

func storeDecode(doc []byte) (storeRecord, error) {
	var r storeRecord
	dec := json.NewDecoder(bytes.NewReader(doc))
	if err := dec.Decode(&r); err != nil {
		return storeRecord{}, err
	}
	if len(r.State) == 0 {
		return storeRecord{}, errors.New("record has no state")
	}
	return r, nil
}

// MemoryStore is a Store in memory. States are kept encoded as JSON, so a
// loaded state never aliases one that was saved, and a state that would not
// survive a FileStore does not survive a MemoryStore either. Revisions are
// save counters. The zero value is ready to use.
type MemoryStore struct {
	mu   sync.Mutex
	docs map[string]memoryDoc
}

type memoryDoc struct {
	seq   uint64
	state []byte
	rev   string
}

var (
	_ Store = (*MemoryStore)(nil)
	_ Store = (*FileStore)(nil)
)

// storeLoad decodes what load returned.
func storeLoad(id string, doc []byte, rev string, err error) (State, string, error) {
	if err != nil {
		return State{}, "", err
	}
	var s State
	if err := json.Unmarshal(doc, &s); err != nil {
		return State{}, "", &StoreError{Op: "load", ID: id, Err: fmt.Errorf("decode state: %w", err)}
	}
	if err := s.Validate(); err != nil {
		return State{}, "", &StoreError{Op: "load", ID: id, Err: fmt.Errorf("%w: %w", ErrDamaged, err)}
	}
	return s, rev, nil
}

// storeSave encodes s and calls save.
func storeSave(id string, s State, save func([]byte) (string, error)) (string, error) {
	doc, err := json.Marshal(s)
	if err != nil {
		return "", &StoreError{Op: "save", ID: id, Err: fmt.Errorf("%w: encode state: %w", provider.ErrInvalid, err)}
	}
	return save(doc)
}

// Load implements Store.
func (m *MemoryStore) Load(ctx context.Context, id string) (State, string, error) {
	doc, rev, err := m.load(ctx, id)
	return storeLoad(id, doc, rev, err)
}

// Save implements Store.
func (m *MemoryStore) Save(ctx context.Context, id string, s State, expectedRev string) (string, error) {
	return storeSave(id, s, func(doc []byte) (string, error) { return m.save(ctx, id, doc, expectedRev) })
}

// Revision returns the current revision of id without decoding its state,
// so a runner can poll for an operator's change cheaply. Errors as Load.
func (m *MemoryStore) Revision(ctx context.Context, id string) (string, error) {
	_, rev, err := m.load(ctx, id)
	return rev, err
}

func (m *MemoryStore) load(ctx context.Context, id string) ([]byte, string, error) {
	if err := storeCheckID(id); err != nil {
		return nil, "", &StoreError{Op: "load", ID: id, Err: err}
	}
	if err := ctx.Err(); err != nil {
		return nil, "", &StoreError{Op: "load", ID: id, Err: err}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	d, ok := m.docs[id]
	if !ok {
		return nil, "", &StoreError{Op: "load", ID: id, Err: provider.ErrNotFound}
	}
	return d.state, d.rev, nil
}

func (m *MemoryStore) save(ctx context.Context, id string, state []byte, expected string) (string, error) {
	if err := storeCheckID(id); err != nil {
		return "", &StoreError{Op: "save", ID: id, Err: err}
	}
	if err := ctx.Err(); err != nil {
		return "", &StoreError{Op: "save", ID: id, Err: err}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	d, ok := m.docs[id]
	if err := storeCompare(ok, d.rev, expected); err != nil {
		return "", &StoreError{Op: "save", ID: id, Err: err}
	}
	if m.docs == nil {
		m.docs = make(map[string]memoryDoc)
	}
	d.seq++
	d.state, d.rev = state, strconv.FormatUint(d.seq, 10)
	m.docs[id] = d
	return d.rev, nil
}

// storeCompare is the compare of compare-and-swap.
func storeCompare(exists bool, current, expected string) error {
	switch {
	case expected == "" && exists:
		return fmt.Errorf("%w: a state exists (revision %s) and the save expected none", provider.ErrConflict, current)
	case expected != "" && !exists:
		return fmt.Errorf("%w: no state exists and the save expected revision %s", provider.ErrConflict, expected)
	case expected != current:
		return fmt.Errorf("%w: the state is at revision %s, the save expected %s", provider.ErrConflict, current, expected)
	}
	return nil
}

// FileStore is a Store that keeps one JSON file per rollout, named
// "<id>.json", in a directory.
//
// Writes are atomic: the record goes to a temporary file in the same
// directory (named ".tmp-…", ignored by Load), which is synced and renamed
// over the old one, and the directory is synced. A crash leaves either the
// old or the new record, and at worst a temporary file. Files are opened
// through an os.Root, so no ID can reach outside the directory, and IDs are
// restricted to [A-Za-z0-9._-] without a leading dot.
//
// The revision is a hash of the file's content, which carries a sequence
// number. Compare-and-swap is atomic among the goroutines sharing one
// FileStore; use one FileStore per directory in a process. Two processes
// writing the same rollout at the same instant are not serialised (there is
// no portable file lock): one process should run a rollout, and an operator
// in another process should make its change with a single Save, which is
// detected as a conflict by the runner's next save unless both writes race
// within the same few microseconds.
type FileStore struct {
	root *os.Root
	mu   sync.Mutex
}

// OpenFileStore opens dir, which must exist, as a FileStore. Close releases
// it.
func OpenFileStore(dir string) (*FileStore, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("canary: open file store: %w", err)
	}
	return &FileStore{root: root}, nil
}

// Close releases the directory.
func (f *FileStore) Close() error { return f.root.Close() }

// Load implements Store.
func (f *FileStore) Load(ctx context.Context, id string) (State, string, error) {
	doc, rev, err := f.load(ctx, id)
	return storeLoad(id, doc, rev, err)
}

// Save implements Store.
func (f *FileStore) Save(ctx context.Context, id string, s State, expectedRev string) (string, error) {
	return storeSave(id, s, func(doc []byte) (string, error) { return f.save(ctx, id, doc, expectedRev) })
}

// Revision returns the current revision of id (a hash of the file) without
// decoding the state. Errors as Load.
func (f *FileStore) Revision(ctx context.Context, id string) (string, error) {
	_, rev, err := f.load(ctx, id)
	return rev, err
}

func storeFileName(id string) string { return id + ".json" }

func (f *FileStore) load(ctx context.Context, id string) ([]byte, string, error) {
	if err := storeCheckID(id); err != nil {
		return nil, "", &StoreError{Op: "load", ID: id, Err: err}
	}
	if err := ctx.Err(); err != nil {
		return nil, "", &StoreError{Op: "load", ID: id, Err: err}
	}
	doc, err := f.root.ReadFile(storeFileName(id))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, "", &StoreError{Op: "load", ID: id, Err: fmt.Errorf("%w: %w", provider.ErrNotFound, err)}
	}
	if err != nil {
		return nil, "", &StoreError{Op: "load", ID: id, Err: err}
	}
	r, err := storeDecode(doc)
	if err != nil {
		return nil, "", &StoreError{Op: "load", ID: id, Err: fmt.Errorf("decode %s: %w", storeFileName(id), err)}
	}
	return r.State, storeRevision(doc), nil
}

func (f *FileStore) save(ctx context.Context, id string, state []byte, expected string) (string, error) {
	if err := storeCheckID(id); err != nil {
		return "", &StoreError{Op: "save", ID: id, Err: err}
	}
	if err := ctx.Err(); err != nil {
		return "", &StoreError{Op: "save", ID: id, Err: err}
	}
	f.mu.Lock()
	defer f.mu.Unlock()

	name := storeFileName(id)
	var seq uint64
	old, err := f.root.ReadFile(name)
	exists := err == nil
	current := ""
	switch {
	case exists:
		current = storeRevision(old)
		r, derr := storeDecode(old)
		if derr != nil {
			return "", &StoreError{Op: "save", ID: id, Err: fmt.Errorf("decode %s: %w", name, derr)}
		}
		seq = r.Seq
	case !errors.Is(err, fs.ErrNotExist):
		return "", &StoreError{Op: "save", ID: id, Err: err}
	}
	if err := storeCompare(exists, current, expected); err != nil {
		return "", &StoreError{Op: "save", ID: id, Err: err}
	}
	doc, err := storeEncode(seq+1, state)
	if err != nil {
		return "", &StoreError{Op: "save", ID: id, Err: fmt.Errorf("%w: %w", provider.ErrInvalid, err)}
	}
	if err := f.writeAtomic(name, doc); err != nil {
		return "", &StoreError{Op: "save", ID: id, Err: err}
	}
	return storeRevision(doc), nil
}

// writeAtomic replaces name with doc: temporary file, fsync, rename, fsync
// of the directory.
func (f *FileStore) writeAtomic(name string, doc []byte) (err error) {
	tmp := ".tmp-" + name + "-" + rand.Text()
	file, err := f.root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_ = f.root.Remove(tmp)
		}
	}()
	if _, err = file.Write(doc); err != nil {
		_ = file.Close()
		return err
	}
	if err = file.Sync(); err != nil {
		_ = file.Close()
		return err
	}
	if err = file.Close(); err != nil {
		return err
	}
	if err = f.root.Rename(tmp, name); err != nil {
		return err
	}
	dir, err := f.root.Open(".")
	if err != nil {
		return err
	}
	err = dir.Sync()
	if cerr := dir.Close(); err == nil {
		err = cerr
	}
	return err
}
