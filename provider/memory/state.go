package memory

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"github.com/slipway-dev/slipway/provider"
)

// stateVersion is the version of the persisted JSON layout.
const stateVersion = 1

// state is everything a Provider knows; it is what Path holds.
type state struct {
	Version int `json:"version"`
	// Revisions counts route revisions issued; each new revision token is
	// the next count, so a token is never reused.
	Revisions uint64              `json:"revisions"`
	Functions map[string]*fnState `json:"functions"`
}

// fnState is one function. It exists (for the Provider methods) once a
// version has been published; the synthetic traffic settings may be set
// before that.
type fnState struct {
	// Published counts the versions ever published; the next ID is
	// Published+1.
	Published int                       `json:"published"`
	Versions  []provider.Version        `json:"versions,omitempty"` // ascending ID
	Routes    map[string]provider.Route `json:"routes,omitempty"`
	// RouteHistory records every traffic change of each alias.
	RouteHistory map[string][]stamped[[]provider.Weight] `json:"routeHistory,omitempty"`
	// FirstRouted is when each version first received a positive weight.
	FirstRouted  map[string]time.Time             `json:"firstRouted,omitempty"`
	Loads        map[string][]stamped[float64]    `json:"loads,omitempty"`
	Behaviors    map[string][]stamped[Behavior]   `json:"behaviors,omitempty"`
	Usage        []provider.Usage                 `json:"usage,omitempty"`
	EventSources []provider.EventSource           `json:"eventSources,omitempty"`
	Permissions  map[string][]provider.Permission `json:"permissions,omitempty"`
}

// stamped is a value in force from At until the next change of its
// history. Histories are ordered by strictly increasing At.
type stamped[T any] struct {
	At    time.Time `json:"at"`
	Value T         `json:"value"`
}

func newState() state {
	return state{Version: stateVersion, Functions: map[string]*fnState{}}
}

// fnForWrite returns the state of fn, creating an empty one; the caller
// holds mu for writing.
func (st *state) fnForWrite(fn string) *fnState {
	f := st.Functions[fn]
	if f == nil {
		f = &fnState{}
		st.Functions[fn] = f
	}
	return f
}

// versionIndex returns the index of version id in f.Versions.
func (f *fnState) versionIndex(id string) (int, bool) {
	n, ok := versionNumber(id)
	if !ok {
		return 0, false
	}
	return slices.BinarySearchFunc(f.Versions, n, func(v provider.Version, n int) int {
		m, _ := versionNumber(v.ID)
		return m - n
	})
}

// record appends v, in force from at, to h. A change at or before the
// last one's time replaces the last value and keeps its time: at the same
// instant the earlier value was never in force, and a clock that went
// backwards is treated as having stood still. The last element may be
// changed in place.
func record[T any](h []stamped[T], at time.Time, v T) []stamped[T] {
	if n := len(h); n > 0 && !at.After(h[n-1].At) {
		h[n-1].Value = v
		return h
	}
	return append(h, stamped[T]{At: at, Value: v})
}

// valueAt returns the value of h in force at t (the zero value before the
// first change).
func valueAt[T any](h []stamped[T], t time.Time) T {
	i, found := slices.BinarySearchFunc(h, t, func(c stamped[T], t time.Time) int { return c.At.Compare(t) })
	if !found {
		i--
	}
	if i < 0 {
		var zero T
		return zero
	}
	return h[i].Value
}

// changesIn appends to cuts the times of h's changes strictly inside
// (start, end).
func changesIn[T any](cuts []time.Time, h []stamped[T], start, end time.Time) []time.Time {
	i, _ := slices.BinarySearchFunc(h, start, func(c stamped[T], t time.Time) int {
		if c.At.After(t) {
			return 1
		}
		return -1
	})
	for ; i < len(h) && h[i].At.Before(end); i++ {
		cuts = append(cuts, h[i].At)
	}
	return cuts
}

// load reads the state at path. It returns nil, nil when the file does not
// exist.
func load(path string) (*state, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("memory: read state: %w", err)
	}
	var st state
	if err := json.Unmarshal(data, &st); err != nil {
		return nil, fmt.Errorf("memory: state file %s is corrupt: %w", path, err)
	}
	if err := st.check(); err != nil {
		return nil, fmt.Errorf("memory: state file %s is corrupt: %w", path, err)
	}
	return &st, nil
}

// check verifies a loaded state is one this package could have written.
func (st *state) check() error {
	if st.Version != stateVersion {
		return fmt.Errorf("version %d, want %d", st.Version, stateVersion)
	}
	if st.Functions == nil {
		st.Functions = map[string]*fnState{}
	}
	for name, f := range st.Functions {
		if name == "" || f == nil {
			return fmt.Errorf("function %q has no state", name)
		}
		prev := 0
		for _, v := range f.Versions {
			n, ok := versionNumber(v.ID)
			if !ok || n <= prev || n > f.Published {
				return fmt.Errorf("function %q: version %q out of order", name, v.ID)
			}
			prev = n
		}
		if f.Published > 0 && (len(f.Versions) == 0 || prev != f.Published) {
			return fmt.Errorf("function %q: newest version %d is missing", name, f.Published)
		}
		for alias, r := range f.Routes {
			if alias != r.Alias || r.Validate() != nil || r.Revision == "" {
				return fmt.Errorf("function %q: route %q is malformed", name, alias)
			}
			for _, w := range r.Weights {
				if _, ok := f.versionIndex(w.Version); !ok {
					return fmt.Errorf("function %q: route %q names unknown version %q", name, alias, w.Version)
				}
			}
		}
		for v, h := range f.Behaviors {
			for _, c := range h {
				if err := c.Value.Validate(); err != nil {
					return fmt.Errorf("function %q: version %q: %w", name, v, err)
				}
			}
		}
	}
	return nil
}

// save writes the state to p.path atomically; the caller holds mu.
func (p *Provider) save() error {
	if p.path == "" {
		return nil
	}
	data, err := json.MarshalIndent(&p.st, "", "\t")
	if err != nil {
		return fmt.Errorf("memory: encode state: %w", err)
	}
	if err := writeFileAtomic(p.path, data); err != nil {
		return fmt.Errorf("memory: write state: %w", err)
	}
	return nil
}

// Sync writes the state to Path now (a no-op without Path). Methods that
// change state write it themselves and return the error; the Set* methods,
// which have no error result, leave a failed write to be repeated by the
// next change or by Sync.
func (p *Provider) Sync() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.save()
}

// writeFileAtomic replaces path with data so a crash leaves either the old
// or the new content: write a temporary file in the same directory, fsync
// it, rename it over path, fsync the directory.
func writeFileAtomic(path string, data []byte) (err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			_ = os.Remove(tmp)
		}
	}()
	if _, err = f.Write(data); err != nil {
		_ = f.Close()
		return err
	}
	if err = f.Sync(); err != nil {
		_ = f.Close()
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	if err = os.Rename(tmp, path); err != nil {
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// nextRevision returns a new route revision token; the caller holds mu.
func (st *state) nextRevision() string {
	st.Revisions++
	return strconv.FormatUint(st.Revisions, 10)
}
