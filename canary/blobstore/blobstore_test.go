package blobstore_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"gocloud.dev/blob"
	"gocloud.dev/blob/fileblob"
	"gocloud.dev/blob/memblob"

	"github.com/slipway-dev/slipway/canary"
	"github.com/slipway-dev/slipway/canary/blobstore"
	"github.com/slipway-dev/slipway/internal/filelock"
	"github.com/slipway-dev/slipway/provider"
)

func state(t *testing.T, id string) canary.State {
	t.Helper()
	r := provider.To("production", "1")
	r.Revision = "r1"
	s, err := canary.NewState(canary.Spec{ID: id, Function: "fn", Route: r, Candidate: "2", Strategy: canary.Canary(1000, time.Minute)}, provider.Capabilities{})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func fileBucket(t *testing.T, dir string) *blob.Bucket {
	t.Helper()
	b, err := fileblob.OpenBucket(dir, &fileblob.Options{NoTempDir: true, Metadata: fileblob.MetadataDontWrite, CreateDir: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// stores runs f on a memblob and a fileblob store; newStore gives another
// Store over the same bucket (another process's view).
func stores(t *testing.T, f func(t *testing.T, newStore func(blobstore.Options) *blobstore.Store)) {
	t.Run("memblob", func(t *testing.T) {
		b := memblob.OpenBucket(nil)
		t.Cleanup(func() { b.Close() })
		f(t, func(o blobstore.Options) *blobstore.Store { return blobstore.New(b, o) })
	})
	t.Run("fileblob", func(t *testing.T) {
		dir := t.TempDir()
		f(t, func(o blobstore.Options) *blobstore.Store {
			o.Guard = filelock.Guard(filepath.Join(dir, ".lock"))
			return blobstore.New(fileBucket(t, dir), o)
		})
	})
}

// TestStoreContract is canary.Store's contract: not found, create, compare
// and swap, no ABA, damaged states refused, IDs listed.
func TestStoreContract(t *testing.T) {
	ctx := context.Background()
	stores(t, func(t *testing.T, newStore func(blobstore.Options) *blobstore.Store) {
		s := newStore(blobstore.Options{})
		if _, _, err := s.Load(ctx, "r1.production"); !errors.Is(err, provider.ErrNotFound) {
			t.Fatalf("Load of a missing rollout = %v, want ErrNotFound", err)
		}
		if _, err := s.Save(ctx, "r1.production", state(t, "r1.production"), "7"); !errors.Is(err, provider.ErrConflict) {
			t.Fatalf("Save expecting a revision of a missing rollout = %v, want ErrConflict", err)
		}
		st := state(t, "r1.production")
		rev1, err := s.Save(ctx, "r1.production", st, "")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Save(ctx, "r1.production", st, ""); !errors.Is(err, provider.ErrConflict) {
			t.Fatalf("create over an existing rollout = %v, want ErrConflict", err)
		}
		rev2, err := s.Save(ctx, "r1.production", st, rev1) // same content: new revision
		if err != nil {
			t.Fatal(err)
		}
		if rev1 == rev2 {
			t.Fatalf("revisions %q %q not distinct", rev1, rev2)
		}
		if _, err := s.Save(ctx, "r1.production", st, rev1); !errors.Is(err, provider.ErrConflict) {
			t.Fatalf("Save with a stale revision = %v, want ErrConflict", err)
		}
		other := newStore(blobstore.Options{})
		got, rev, err := other.Load(ctx, "r1.production")
		if err != nil || rev != rev2 {
			t.Fatalf("Load from another store = rev %q, %v; want %q", rev, err, rev2)
		}
		if diff := cmp.Diff(st, got); diff != "" {
			t.Errorf("loaded state (-want +got):\n%s", diff)
		}
		if r, err := other.Revision(ctx, "r1.production"); err != nil || r != rev2 {
			t.Errorf("Revision = %q, %v; want %q", r, err, rev2)
		}
		if _, err := s.Save(ctx, "../x", st, ""); !errors.Is(err, provider.ErrInvalid) {
			t.Errorf("Save of a malformed ID = %v, want ErrInvalid", err)
		}
		damaged := st
		damaged.Plan.Steps = nil
		if _, err := s.Save(ctx, "r2.production", damaged, ""); err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.Load(ctx, "r2.production"); !errors.Is(err, canary.ErrDamaged) || !errors.Is(err, provider.ErrInvalid) {
			t.Errorf("Load of a damaged state = %v, want ErrDamaged and ErrInvalid", err)
		}
		ids, err := s.IDs(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]string{"r1.production", "r2.production"}, ids); diff != "" {
			t.Errorf("IDs (-want +got):\n%s", diff)
		}
	})
}

// TestConcurrentSavesOneWins: stores of one bucket save after the same
// revision at once: exactly one succeeds.
func TestConcurrentSavesOneWins(t *testing.T) {
	ctx := context.Background()
	stores(t, func(t *testing.T, newStore func(blobstore.Options) *blobstore.Store) {
		st := state(t, "r1.production")
		rev, err := newStore(blobstore.Options{}).Save(ctx, "r1.production", st, "")
		if err != nil {
			t.Fatal(err)
		}
		const n = 8
		var wg sync.WaitGroup
		var mu sync.Mutex
		wins, conflicts := 0, 0
		for range n {
			s := newStore(blobstore.Options{})
			wg.Go(func() {
				_, err := s.Save(ctx, "r1.production", st, rev)
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					wins++
				case errors.Is(err, provider.ErrConflict):
					conflicts++
				default:
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if wins != 1 || conflicts != n-1 {
			t.Errorf("%d wins and %d conflicts, want 1 and %d", wins, conflicts, n-1)
		}
	})
}

// TestLeases: a lease is exclusive while held; released it is free; a
// holder that stops renewing past the TTL, or whose process is dead, is
// stale and taken over, and the old holder learns it lost the lease.
func TestLeases(t *testing.T) {
	ctx := context.Background()
	stores(t, func(t *testing.T, newStore func(blobstore.Options) *blobstore.Store) {
		now := time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)
		clock := func() time.Time { return now }
		a := newStore(blobstore.Options{Now: clock})
		b := newStore(blobstore.Options{Now: clock})
		la, err := a.Acquire(ctx, "fn.production", blobstore.Holder{Who: "alice", Host: "h1", PID: 10, Command: "promote"}, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		_, err = b.Acquire(ctx, "fn.production", blobstore.Holder{Who: "bob", Host: "h2", PID: 20, Command: "resume"}, time.Minute)
		var busy *blobstore.BusyError
		if !errors.As(err, &busy) || busy.Lease.Who != "alice" || !errors.Is(err, blobstore.ErrBusy) {
			t.Fatalf("second Acquire = %v, want busy with alice", err)
		}
		now = now.Add(50 * time.Second)
		if err := la.Renew(ctx); err != nil {
			t.Fatal(err)
		}
		now = now.Add(50 * time.Second) // 50 s after the renewal: still held
		if _, err := b.Acquire(ctx, "fn.production", blobstore.Holder{Who: "bob"}, time.Minute); !errors.Is(err, blobstore.ErrBusy) {
			t.Fatalf("Acquire of a renewed lease = %v, want ErrBusy", err)
		}
		if err := la.Release(ctx); err != nil {
			t.Fatal(err)
		}
		lb, err := b.Acquire(ctx, "fn.production", blobstore.Holder{Who: "bob", Host: "h2", PID: 20}, time.Minute)
		if err != nil || lb.Took != nil {
			t.Fatalf("Acquire of a released lease = %v (took %v)", err, lb)
		}
		// bob's process dies without releasing; the TTL passes.
		now = now.Add(2 * time.Minute)
		ls, err := a.Leases(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(ls) != 1 || !ls[0].Stale || ls[0].Who != "bob" || ls[0].Held() {
			t.Fatalf("Leases = %+v, want bob's, stale", ls)
		}
		lc, err := a.Acquire(ctx, "fn.production", blobstore.Holder{Who: "carol"}, time.Minute)
		if err != nil || lc.Took == nil || lc.Took.Who != "bob" {
			t.Fatalf("Acquire of a stale lease = %v, %+v; want it taken over from bob", err, lc)
		}
		if err := lb.Renew(ctx); !errors.Is(err, blobstore.ErrLost) {
			t.Errorf("bob's Renew after the takeover = %v, want ErrLost", err)
		}
		// A holder known dead is stale at once.
		dead := newStore(blobstore.Options{Now: clock, Alive: func(host string, pid int) (bool, bool) { return false, host == "" }})
		if _, err := dead.Acquire(ctx, "fn.production", blobstore.Holder{Who: "dave"}, time.Hour); err != nil {
			t.Errorf("Acquire of a lease whose holder is dead = %v", err)
		}
	})
}

// TestTwoProcessesSave: two processes (this test binary re-run) save after
// the same revision of one rollout in a directory at once, many times:
// exactly one wins each round.
func TestTwoProcessesSave(t *testing.T) {
	if dir := os.Getenv("BLOBSTORE_DIR"); dir != "" {
		saver(t, dir)
		return
	}
	dir := t.TempDir()
	ctx := context.Background()
	const rounds = 60
	s := blobstore.New(fileBucket(t, dir), blobstore.Options{})
	for i := range rounds {
		if _, err := s.Save(ctx, "r"+itoa(i), state(t, "r"+itoa(i)), ""); err != nil {
			t.Fatal(err)
		}
	}
	var outs []*strings.Builder
	var cmds []*exec.Cmd
	for range 2 {
		cmd := exec.Command(os.Args[0], "-test.run=^TestTwoProcessesSave$", "-test.v")
		cmd.Env = append(os.Environ(), "BLOBSTORE_DIR="+dir)
		out := &strings.Builder{}
		cmd.Stdout, cmd.Stderr = out, out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmds, outs = append(cmds, cmd), append(outs, out)
	}
	for i, c := range cmds {
		if err := c.Wait(); err != nil {
			t.Fatalf("saver: %v\n%s", err, outs[i])
		}
	}
	wins := strings.Count(outs[0].String(), "WIN ") + strings.Count(outs[1].String(), "WIN ")
	if wins != rounds {
		t.Errorf("%d saves won over %d rounds, want exactly one per round\n%s\n%s", wins, rounds, outs[0], outs[1])
	}
	for i := range rounds {
		if rev, err := s.Revision(ctx, "r"+itoa(i)); err != nil || rev != "2" {
			t.Errorf("r%d: revision %q, %v; want 2", i, rev, err)
		}
	}
}

func itoa(i int) string { return string(rune('a'+i/26)) + string(rune('a'+i%26)) }

func saver(t *testing.T, dir string) {
	b, err := fileblob.OpenBucket(dir, &fileblob.Options{NoTempDir: true, Metadata: fileblob.MetadataDontWrite})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	s := blobstore.New(b, blobstore.Options{Guard: filelock.Guard(filepath.Join(dir, ".lock"))})
	ctx := context.Background()
	for i := range 60 {
		id := "r" + itoa(i)
		st := state(t, id)
		_, err := s.Save(ctx, id, st, "1")
		switch {
		case err == nil:
			t.Logf("WIN %s", id)
		case !errors.Is(err, provider.ErrConflict):
			t.Fatal(err)
		}
	}
}
