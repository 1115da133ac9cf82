package blobcas_test

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"

	"gocloud.dev/blob/fileblob"
	"gocloud.dev/blob/memblob"

	"github.com/slipway-dev/slipway/internal/blobcas"
	"github.com/slipway-dev/slipway/internal/filelock"
)

// Create writes a key once: a second Create of it is ErrExists and leaves
// the first document in place.
func TestCreateOnce(t *testing.T) {
	ctx := context.Background()
	b := memblob.OpenBucket(nil)
	defer b.Close()
	if err := blobcas.Create(ctx, b, nil, "log/000001.json", []byte(`{"n":1}`)); err != nil {
		t.Fatal(err)
	}
	err := blobcas.Create(ctx, b, nil, "log/000001.json", []byte(`{"n":"other"}`))
	if !errors.Is(err, blobcas.ErrExists) {
		t.Fatalf("second Create: %v, want ErrExists", err)
	}
	got, err := b.ReadAll(ctx, "log/000001.json")
	if err != nil || string(got) != `{"n":1}` {
		t.Fatalf("after the refused Create the object is %q, %v", got, err)
	}
	attrs, err := b.Attributes(ctx, "log/000001.json")
	if err != nil || attrs.ContentType != "application/json" {
		t.Errorf("content type %q, %v", attrs.ContentType, err)
	}
}

// The guard is held around the write and released after it; a guard that
// fails stops the write.
func TestCreateGuard(t *testing.T) {
	ctx := context.Background()
	b := memblob.OpenBucket(nil)
	defer b.Close()
	var calls []string
	guard := func(context.Context) (func(), error) {
		calls = append(calls, "lock")
		return func() { calls = append(calls, "unlock") }, nil
	}
	if err := blobcas.Create(ctx, b, guard, "k", []byte("x")); err != nil {
		t.Fatal(err)
	}
	if len(calls) != 2 || calls[0] != "lock" || calls[1] != "unlock" {
		t.Errorf("guard calls %v, want [lock unlock]", calls)
	}
	boom := errors.New("lock unavailable")
	err := blobcas.Create(ctx, b, func(context.Context) (func(), error) { return nil, boom }, "k2", []byte("y"))
	if !errors.Is(err, boom) {
		t.Fatalf("Create with a failing guard: %v", err)
	}
	if ok, _ := b.Exists(ctx, "k2"); ok {
		t.Error("written although the guard failed")
	}
}

// Many writers racing for the same numbers on a local directory, through
// the guard as the stores use it: every number is taken exactly once and
// no writer sees any error but ErrExists. (Within one process fileblob's
// IfNotExist is atomic by itself; the guard's part, across processes, is
// shown by filelock's tests and by cmd/slipway's two-process journal
// test.)
func TestCreateRaceOnFileblob(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	b, err := fileblob.OpenBucket(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	guard := filelock.Guard(filepath.Join(dir, ".lock"))
	const writers, keys = 8, 20
	var mu sync.Mutex
	won := map[string]int{}
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for k := range keys {
				key := "seq/" + string(rune('a'+k)) + ".json"
				err := blobcas.Create(ctx, b, guard, key, []byte{byte('0' + w)})
				switch {
				case err == nil:
					mu.Lock()
					won[key]++
					mu.Unlock()
				case !errors.Is(err, blobcas.ErrExists):
					t.Errorf("writer %d, %s: %v", w, key, err)
				}
			}
		})
	}
	wg.Wait()
	if len(won) != keys {
		t.Errorf("%d keys written, want %d", len(won), keys)
	}
	for k, n := range won {
		if n != 1 {
			t.Errorf("%s created %d times", k, n)
		}
	}
}
