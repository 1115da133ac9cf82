// Package blobstore keeps canary rollout states in object storage through
// gocloud.dev/blob (S3, GCS, Azure Blob, a local directory, memory), so a
// canary a killed CI job left behind can be resumed by another job on
// another machine, and records who drives each canary (leases).
//
// # Rollout states
//
// Store is a canary.Store. Each save of a rollout is a new object keyed by
// the rollout ID and a save number ("rollouts/<id>/00000000000000000007.json"),
// written create-if-absent (blob.WriterOptions.IfNotExist). The revision is
// the save number: a Save expecting revision n writes number n+1, which only
// one writer can create, so two runners can never both save after the same
// state (the loser gets provider.ErrConflict and nothing is written).
// Loading a rollout lists its prefix and reads the highest number. Earlier
// saves are kept (the trail of a rollout's states).
//
// # Leases
//
// A lease says which process drives the canaries of one key (the command
// uses "<function>.<alias>"). Leases are numbered objects too
// ("leases/<key>/00000000000000000003.json", create-if-absent): taking a
// lease is creating the number after the newest, so exactly one of two
// processes racing for a free or stale lease gets it. Its holder renews it
// (an unconditional heartbeat object next to it) and releases it (a
// create-if-absent release marker). A lease whose holder stopped renewing
// for longer than its TTL, or whose holder's process is known dead, is
// stale: the holder crashed, and the next taker takes it over. Leases lists
// them all, stale ones included, for a status report.
package blobstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"gocloud.dev/blob"
	"gocloud.dev/gcerrors"

	"github.com/slipway-dev/slipway/canary"
	"github.com/slipway-dev/slipway/internal/blobcas"
	"github.com/slipway-dev/slipway/provider"
)

// Options configures a Store. The zero value is ready to use.
type Options struct {
	// Prefix is put before every key ("" or ending with "/").
	Prefix string
	// Guard, when set, is held around every create-if-absent write: it
	// makes the write atomic across processes for a bucket whose
	// IfNotExist is not (fileblob; see internal/filelock).
	Guard blobcas.Guard
	// Now is the wall clock of leases (nil: time.Now). Leases are about
	// processes, so they use real time even when a canary runs in virtual
	// time.
	Now func() time.Time
	// Alive reports whether the process pid on host is alive, when the
	// caller can tell (the same host); ok false means it cannot. Nil: never
	// known, staleness is by TTL only.
	Alive func(host string, pid int) (alive, ok bool)
}

// Store is a canary.Store in a bucket, plus leases. It is safe for
// concurrent use by any number of processes. It does not own the bucket.
type Store struct {
	b    *blob.Bucket
	opts Options
}

var _ canary.Store = (*Store)(nil)

// New returns a store over b.
func New(b *blob.Bucket, opts Options) *Store {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Store{b: b, opts: opts}
}

func (s *Store) rolloutPrefix(id string) string { return s.opts.Prefix + "rollouts/" + id + "/" }

func seqName(n uint64) string { return fmt.Sprintf("%020d", n) }

// checkID is canary's rule for rollout IDs: 1 to 200 characters from
// [A-Za-z0-9._-], not starting with a dot.
func checkID(what, id string) error {
	switch {
	case id == "":
		return provider.Invalid(what, "id", "is empty")
	case len(id) > 200:
		return provider.Invalid(what, "id", fmt.Sprintf("is %d bytes long, more than 200", len(id)))
	case id[0] == '.':
		return provider.Invalid(what, "id", fmt.Sprintf("%q starts with a dot", id))
	}
	for i := range len(id) {
		c := id[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-') {
			return provider.Invalid(what, "id", fmt.Sprintf("%q has %q: use letters, digits, '.', '_' and '-'", id, c))
		}
	}
	return nil
}

// numbered lists the numbered objects directly under prefix ("<20
// digits><suffix>"), in number order.
func (s *Store) numbered(ctx context.Context, prefix, suffix string) ([]uint64, error) {
	return retryList(func() ([]uint64, error) { return s.numberedOnce(ctx, prefix, suffix) })
}

func (s *Store) numberedOnce(ctx context.Context, prefix, suffix string) ([]uint64, error) {
	var out []uint64
	it := s.b.List(&blob.ListOptions{Prefix: prefix, Delimiter: "/"})
	for {
		obj, err := it.Next(ctx)
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		name, ok := strings.CutSuffix(strings.TrimPrefix(obj.Key, prefix), suffix)
		if obj.IsDir || !ok || len(name) != 20 {
			continue
		}
		if n, err := strconv.ParseUint(name, 10, 64); err == nil && n > 0 {
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return out, nil
}

// record is one saved state: the state and who saved it when.
type record struct {
	Seq   uint64          `json:"seq"`
	State json.RawMessage `json:"state"`
}

// Load implements canary.Store.
func (s *Store) Load(ctx context.Context, id string) (canary.State, string, error) {
	doc, rev, err := s.load(ctx, id)
	if err != nil {
		return canary.State{}, "", err
	}
	var r record
	if err := json.Unmarshal(doc, &r); err != nil || len(r.State) == 0 {
		return canary.State{}, "", &canary.StoreError{Op: "load", ID: id, Err: fmt.Errorf("%w: %w: decode record %s: %v", canary.ErrDamaged, provider.ErrInvalid, rev, err)}
	}
	var st canary.State
	if err := json.Unmarshal(r.State, &st); err != nil {
		return canary.State{}, "", &canary.StoreError{Op: "load", ID: id, Err: fmt.Errorf("%w: %w: decode state: %v", canary.ErrDamaged, provider.ErrInvalid, err)}
	}
	if err := st.Validate(); err != nil {
		return canary.State{}, "", &canary.StoreError{Op: "load", ID: id, Err: fmt.Errorf("%w: %w", canary.ErrDamaged, err)}
	}
	return st, rev, nil
}

// Revision returns the current revision of id without reading its state
// (one listing), so a runner can poll for an operator's change cheaply.
// Errors as Load.
func (s *Store) Revision(ctx context.Context, id string) (string, error) {
	if err := checkID("rollout", id); err != nil {
		return "", &canary.StoreError{Op: "load", ID: id, Err: err}
	}
	nums, err := s.numbered(ctx, s.rolloutPrefix(id), ".json")
	if err != nil {
		return "", &canary.StoreError{Op: "load", ID: id, Err: err}
	}
	if len(nums) == 0 {
		return "", &canary.StoreError{Op: "load", ID: id, Err: provider.ErrNotFound}
	}
	return strconv.FormatUint(nums[len(nums)-1], 10), nil
}

func (s *Store) load(ctx context.Context, id string) ([]byte, string, error) {
	if err := ctx.Err(); err != nil {
		return nil, "", &canary.StoreError{Op: "load", ID: id, Err: err}
	}
	rev, err := s.Revision(ctx, id)
	if err != nil {
		return nil, "", err
	}
	n, _ := strconv.ParseUint(rev, 10, 64)
	doc, err := s.b.ReadAll(ctx, s.rolloutPrefix(id)+seqName(n)+".json")
	if err != nil {
		return nil, "", &canary.StoreError{Op: "load", ID: id, Err: err}
	}
	return doc, rev, nil
}

// Save implements canary.Store: it creates save number expectedRev+1 (1
// for an empty expectedRev), which fails with provider.ErrConflict when
// another save took that number or expectedRev is not the newest.
func (s *Store) Save(ctx context.Context, id string, st canary.State, expectedRev string) (string, error) {
	fail := func(err error) (string, error) { return "", &canary.StoreError{Op: "save", ID: id, Err: err} }
	if err := checkID("rollout", id); err != nil {
		return fail(err)
	}
	if err := ctx.Err(); err != nil {
		return fail(err)
	}
	state, err := json.Marshal(st)
	if err != nil {
		return fail(fmt.Errorf("%w: encode state: %w", provider.ErrInvalid, err))
	}
	var n uint64 = 1
	if expectedRev != "" {
		prev, err := strconv.ParseUint(expectedRev, 10, 64)
		if err != nil || prev == 0 {
			return fail(fmt.Errorf("%w: revision %q is not one of this store's", provider.ErrConflict, expectedRev))
		}
		ok, err := s.b.Exists(ctx, s.rolloutPrefix(id)+seqName(prev)+".json")
		if err != nil {
			return fail(err)
		}
		if !ok {
			return fail(fmt.Errorf("%w: no save %d exists", provider.ErrConflict, prev))
		}
		n = prev + 1
	}
	doc, err := json.Marshal(record{Seq: n, State: state})
	if err != nil {
		return fail(fmt.Errorf("%w: %w", provider.ErrInvalid, err))
	}
	err = blobcas.Create(ctx, s.b, s.opts.Guard, s.rolloutPrefix(id)+seqName(n)+".json", doc)
	if errors.Is(err, blobcas.ErrExists) {
		if expectedRev == "" {
			return fail(fmt.Errorf("%w: a state exists and the save expected none", provider.ErrConflict))
		}
		return fail(fmt.Errorf("%w: the state has moved past revision %s", provider.ErrConflict, expectedRev))
	}
	if err != nil {
		return fail(err)
	}
	return strconv.FormatUint(n, 10), nil
}

// IDs returns the IDs of the saved rollouts, sorted.
func (s *Store) IDs(ctx context.Context) ([]string, error) {
	return retryList(func() ([]string, error) { return s.dirs(ctx, s.opts.Prefix+"rollouts/", "rollout") })
}

// retryList retries, up to five times, a listing that failed with
// NotFound: a local directory lists the temporary file of a write in
// progress, which can be renamed away before the listing stats it
// (fileblob with NoTempDir).
func retryList[T any](list func() ([]T, error)) ([]T, error) {
	for attempt := 1; ; attempt++ {
		out, err := list()
		if err == nil || gcerrors.Code(err) != gcerrors.NotFound || attempt == 5 {
			return out, err
		}
	}
}

// dirs lists the names of the "directories" directly under prefix that
// are valid IDs.
func (s *Store) dirs(ctx context.Context, prefix, what string) ([]string, error) {
	var ids []string
	it := s.b.List(&blob.ListOptions{Prefix: prefix, Delimiter: "/"})
	for {
		obj, err := it.Next(ctx)
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("blobstore: list %s: %w", prefix, err)
		}
		if !obj.IsDir {
			continue
		}
		id := strings.TrimSuffix(strings.TrimPrefix(obj.Key, prefix), "/")
		if checkID(what, id) == nil {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids, nil
}

// Holder says who holds a lease.
type Holder struct {
	// Who is the actor (a user, a CI job), Host and PID the process,
	// Command what it runs ("promote", "resume"), Release the release it
	// drives, when known.
	Who     string `json:"who"`
	Host    string `json:"host,omitempty"`
	PID     int    `json:"pid,omitempty"`
	Command string `json:"command,omitempty"`
	Release string `json:"release,omitempty"`
	// URL links to the CI run.
	URL string `json:"url,omitempty"`
}

// LeaseInfo is the newest lease of a key.
type LeaseInfo struct {
	Key    string `json:"key"`
	Number uint64 `json:"number"`
	Holder
	Since   time.Time     `json:"since"`
	Renewed time.Time     `json:"renewed"` // the last heartbeat (Since when none)
	TTL     time.Duration `json:"ttl"`
	// Released: the holder gave it up. Stale: it did not and stopped
	// renewing more than TTL ago, or its process is known dead; Dead says
	// the latter.
	Released bool `json:"released,omitempty"`
	Stale    bool `json:"stale,omitempty"`
	Dead     bool `json:"dead,omitempty"`
}

// Held reports whether the lease stops another process from taking it.
func (l LeaseInfo) Held() bool { return !l.Released && !l.Stale }

// BusyError is a lease held by another process.
type BusyError struct{ Lease LeaseInfo }

func (e *BusyError) Error() string {
	l := e.Lease
	return fmt.Sprintf("blobstore: %s is held by %s (pid %d on %s, %s) since %s, renewed %s",
		l.Key, l.Who, l.PID, l.Host, l.Command, l.Since.UTC().Format(time.RFC3339), l.Renewed.UTC().Format(time.RFC3339))
}

// ErrBusy matches a *BusyError under errors.Is.
var ErrBusy = errors.New("lease held by another process")

func (e *BusyError) Is(target error) bool { return target == ErrBusy }

type leaseDoc struct {
	Holder
	Since time.Time     `json:"since"`
	TTL   time.Duration `json:"ttl"`
}

type beatDoc struct {
	Renewed time.Time `json:"renewed"`
}

func (s *Store) leasePrefix(key string) string { return s.opts.Prefix + "leases/" + key + "/" }

// lease reads the newest lease of key; ok false when there is none.
func (s *Store) lease(ctx context.Context, key string) (LeaseInfo, bool, error) {
	p := s.leasePrefix(key)
	nums, err := s.numbered(ctx, p, ".json")
	if err != nil || len(nums) == 0 {
		return LeaseInfo{}, false, err
	}
	n := nums[len(nums)-1]
	name := p + seqName(n)
	doc, err := s.b.ReadAll(ctx, name+".json")
	if err != nil {
		return LeaseInfo{}, false, err
	}
	var d leaseDoc
	if err := json.Unmarshal(doc, &d); err != nil {
		return LeaseInfo{}, false, fmt.Errorf("blobstore: lease %s: %w", name, err)
	}
	l := LeaseInfo{Key: key, Number: n, Holder: d.Holder, Since: d.Since, Renewed: d.Since, TTL: d.TTL}
	if b, err := s.b.ReadAll(ctx, name+".beat"); err == nil {
		var bd beatDoc
		if json.Unmarshal(b, &bd) == nil && bd.Renewed.After(l.Renewed) {
			l.Renewed = bd.Renewed
		}
	} else if gcerrors.Code(err) != gcerrors.NotFound {
		return LeaseInfo{}, false, err
	}
	if ok, err := s.b.Exists(ctx, name+".released"); err != nil {
		return LeaseInfo{}, false, err
	} else {
		l.Released = ok
	}
	if !l.Released {
		if s.opts.Alive != nil {
			if alive, known := s.opts.Alive(l.Host, l.PID); known && !alive {
				l.Dead, l.Stale = true, true
			}
		}
		if l.TTL > 0 && s.opts.Now().Sub(l.Renewed) > l.TTL {
			l.Stale = true
		}
	}
	return l, true, nil
}

// Lease is a lease this process holds.
type Lease struct {
	s    *Store
	info LeaseInfo
	name string
	// Took is the stale lease this one took over, if any.
	Took *LeaseInfo
}

// Info returns the lease as taken.
func (l *Lease) Info() LeaseInfo { return l.info }

// Acquire takes the lease of key for h, valid for ttl between renewals
// (Renew). It fails with a *BusyError (ErrBusy) when another holder has it
// and it is neither released nor stale, or when another process took it in
// the same instant. A stale lease is taken over (Lease.Took says whose).
func (s *Store) Acquire(ctx context.Context, key string, h Holder, ttl time.Duration) (*Lease, error) {
	if err := checkID("lease", key); err != nil {
		return nil, err
	}
	cur, ok, err := s.lease(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("blobstore: read lease %s: %w", key, err)
	}
	var n uint64 = 1
	var took *LeaseInfo
	if ok {
		if cur.Held() {
			return nil, &BusyError{Lease: cur}
		}
		n = cur.Number + 1
		if cur.Stale {
			c := cur
			took = &c
		}
	}
	now := s.opts.Now()
	doc, err := json.Marshal(leaseDoc{Holder: h, Since: now, TTL: ttl})
	if err != nil {
		return nil, err
	}
	name := s.leasePrefix(key) + seqName(n)
	err = blobcas.Create(ctx, s.b, s.opts.Guard, name+".json", doc)
	if errors.Is(err, blobcas.ErrExists) {
		if other, ok, rerr := s.lease(ctx, key); rerr == nil && ok {
			return nil, &BusyError{Lease: other}
		}
		return nil, &BusyError{Lease: LeaseInfo{Key: key, Number: n}}
	}
	if err != nil {
		return nil, fmt.Errorf("blobstore: take lease %s: %w", key, err)
	}
	return &Lease{s: s, name: name, Took: took,
		info: LeaseInfo{Key: key, Number: n, Holder: h, Since: now, Renewed: now, TTL: ttl}}, nil
}

// Renew records a heartbeat. It fails with ErrLost when another process
// has taken the lease over since (this one was seen as stale).
func (l *Lease) Renew(ctx context.Context) error {
	if ok, err := l.s.b.Exists(ctx, l.s.leasePrefix(l.info.Key)+seqName(l.info.Number+1)+".json"); err != nil {
		return err
	} else if ok {
		return fmt.Errorf("blobstore: lease %s: %w", l.info.Key, ErrLost)
	}
	now := l.s.opts.Now()
	doc, _ := json.Marshal(beatDoc{Renewed: now})
	if err := l.s.b.WriteAll(ctx, l.name+".beat", doc, nil); err != nil {
		return err
	}
	l.info.Renewed = now
	return nil
}

// ErrLost is a lease another process took over.
var ErrLost = errors.New("lease taken over by another process")

// Release gives the lease up.
func (l *Lease) Release(ctx context.Context) error {
	err := blobcas.Create(ctx, l.s.b, l.s.opts.Guard, l.name+".released", []byte("{}"))
	if errors.Is(err, blobcas.ErrExists) {
		return nil
	}
	return err
}

// Leases returns the newest lease of every key, held, stale or released,
// sorted by key.
func (s *Store) Leases(ctx context.Context) ([]LeaseInfo, error) {
	keys, err := retryList(func() ([]string, error) { return s.dirs(ctx, s.opts.Prefix+"leases/", "lease") })
	if err != nil {
		return nil, err
	}
	slices.Sort(keys)
	var out []LeaseInfo
	for _, k := range keys {
		l, ok, err := s.lease(ctx, k)
		if err != nil {
			return nil, fmt.Errorf("blobstore: lease %s: %w", k, err)
		}
		if ok {
			out = append(out, l)
		}
	}
	return out, nil
}

// Lease returns the newest lease of key; ok false when there was never one.
func (s *Store) Lease(ctx context.Context, key string) (LeaseInfo, bool, error) {
	return s.lease(ctx, key)
}
