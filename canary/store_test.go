package canary

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/slipway-dev/slipway/provider"
)

// storeDocs is the byte-level core both stores share.
type storeDocs interface {
	load(ctx context.Context, id string) ([]byte, string, error)
	save(ctx context.Context, id string, state []byte, expected string) (string, error)
}

// storeCompact returns doc without insignificant space.
func storeCompact(doc []byte) string {
	var b bytes.Buffer
	if err := json.Compact(&b, doc); err != nil {
		return string(doc)
	}
	return b.String()
}

func storeImpls(t *testing.T) map[string]func(t *testing.T) storeDocs {
	return map[string]func(t *testing.T) storeDocs{
		"memory": func(*testing.T) storeDocs { return &MemoryStore{} },
		"file": func(t *testing.T) storeDocs {
			fs, err := OpenFileStore(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = fs.Close() })
			return fs
		},
	}
}

func TestStoreDocsCompareAndSwap(t *testing.T) {
	ctx := context.Background()
	for name, open := range storeImpls(t) {
		t.Run(name, func(t *testing.T) {
			s := open(t)
			if _, _, err := s.load(ctx, "r1"); !errors.Is(err, provider.ErrNotFound) {
				t.Fatalf("load of a missing rollout = %v, want ErrNotFound", err)
			}
			if _, err := s.save(ctx, "r1", []byte(`{"n":1}`), "bogus"); !errors.Is(err, provider.ErrConflict) {
				t.Fatalf("save expecting a revision of a missing rollout = %v, want ErrConflict", err)
			}
			rev1, err := s.save(ctx, "r1", []byte(`{"n":1}`), "")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.save(ctx, "r1", []byte(`{"n":9}`), ""); !errors.Is(err, provider.ErrConflict) {
				t.Fatalf("create over an existing rollout = %v, want ErrConflict", err)
			}
			rev2, err := s.save(ctx, "r1", []byte(`{"n":2}`), rev1)
			if err != nil {
				t.Fatal(err)
			}
			// The same content again still gets a new revision (no ABA).
			rev3, err := s.save(ctx, "r1", []byte(`{"n":1}`), rev2)
			if err != nil {
				t.Fatal(err)
			}
			if rev1 == rev2 || rev2 == rev3 || rev1 == rev3 {
				t.Fatalf("revisions %q %q %q are not distinct", rev1, rev2, rev3)
			}
			_, err = s.save(ctx, "r1", []byte(`{"n":4}`), rev1)
			var se *StoreError
			if !errors.Is(err, provider.ErrConflict) || !errors.As(err, &se) || se.ID != "r1" || se.Op != "save" {
				t.Fatalf("stale save = %v, want *StoreError{save r1} wrapping ErrConflict", err)
			}
			doc, rev, err := s.load(ctx, "r1")
			if err != nil || storeCompact(doc) != `{"n":1}` || rev != rev3 {
				t.Fatalf("load = %s, %q, %v; want {\"n\":1}, %q, nil", doc, rev, err, rev3)
			}
		})
	}
}

func TestStoreDocsRejectBadIDs(t *testing.T) {
	ctx := context.Background()
	bad := []string{"", ".hidden", "../escape", "a/b", `a\b`, "a b", strings.Repeat("x", 201), "ü"}
	for name, open := range storeImpls(t) {
		t.Run(name, func(t *testing.T) {
			s := open(t)
			for _, id := range bad {
				if _, err := s.save(ctx, id, []byte(`{}`), ""); !errors.Is(err, provider.ErrInvalid) {
					t.Errorf("save(%q) = %v, want ErrInvalid", id, err)
				}
				if _, _, err := s.load(ctx, id); !errors.Is(err, provider.ErrInvalid) {
					t.Errorf("load(%q) = %v, want ErrInvalid", id, err)
				}
			}
		})
	}
}

func TestStoreDocsHonourContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for name, open := range storeImpls(t) {
		t.Run(name, func(t *testing.T) {
			s := open(t)
			if _, err := s.save(ctx, "r", []byte(`{}`), ""); !errors.Is(err, context.Canceled) {
				t.Errorf("save with an ended context = %v", err)
			}
			if _, _, err := s.load(ctx, "r"); !errors.Is(err, context.Canceled) {
				t.Errorf("load with an ended context = %v", err)
			}
		})
	}
}

// TestStoreDocsConcurrentCAS has 8 writers each add 25 increments to one
// counter by load / modify / save, retrying on conflict: every increment
// lands exactly once.
func TestStoreDocsConcurrentCAS(t *testing.T) {
	ctx := context.Background()
	for name, open := range storeImpls(t) {
		t.Run(name, func(t *testing.T) {
			s := open(t)
			if _, err := s.save(ctx, "ctr", []byte(`0`), ""); err != nil {
				t.Fatal(err)
			}
			const writers, each = 8, 25
			var wg sync.WaitGroup
			var mu sync.Mutex
			conflicts := 0
			for range writers {
				wg.Go(func() {
					for range each {
						for {
							doc, rev, err := s.load(ctx, "ctr")
							if err != nil {
								t.Error(err)
								return
							}
							var n int
							fmt.Sscan(storeCompact(doc), &n)
							_, err = s.save(ctx, "ctr", fmt.Appendf(nil, "%d", n+1), rev)
							if err == nil {
								break
							}
							if !errors.Is(err, provider.ErrConflict) {
								t.Error(err)
								return
							}
							mu.Lock()
							conflicts++
							mu.Unlock()
						}
					}
				})
			}
			wg.Wait()
			doc, _, err := s.load(ctx, "ctr")
			if err != nil {
				t.Fatal(err)
			}
			if got, want := storeCompact(doc), fmt.Sprint(writers*each); got != want {
				t.Fatalf("counter = %s, want %s (lost updates; %d conflicts seen)", got, want, conflicts)
			}
		})
	}
}

func TestFileStoreCrashLeftovers(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	fs, err := OpenFileStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer fs.Close()
	rev, err := fs.save(ctx, "r1", []byte(`{"step":1}`), "")
	if err != nil {
		t.Fatal(err)
	}
	// A crash during the next write leaves a half-written temporary file
	// beside the record: it is ignored, and the next save succeeds.
	leftover := filepath.Join(dir, ".tmp-r1.json-CRASHED")
	if err := os.WriteFile(leftover, []byte(`{"seq":2,"sta`), 0o600); err != nil {
		t.Fatal(err)
	}
	doc, got, err := fs.load(ctx, "r1")
	if err != nil || storeCompact(doc) != `{"step":1}` || got != rev {
		t.Fatalf("load beside a leftover temp file = %s, %q, %v", doc, got, err)
	}
	if _, err := fs.save(ctx, "r1", []byte(`{"step":2}`), rev); err != nil {
		t.Fatal(err)
	}
	// A new store on the same directory (the next process) reads the record.
	fs2, err := OpenFileStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer fs2.Close()
	doc, _, err = fs2.load(ctx, "r1")
	if err != nil || storeCompact(doc) != `{"step":2}` {
		t.Fatalf("load from a reopened store = %s, %v", doc, err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if want := []string{".tmp-r1.json-CRASHED", "r1.json"}; strings.Join(names, " ") != strings.Join(want, " ") {
		t.Fatalf("directory holds %q, want %q (no temporary file of a successful save left behind)", names, want)
	}
}

func TestFileStoreCorruptRecord(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	fs, err := OpenFileStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer fs.Close()
	if err := os.WriteFile(filepath.Join(dir, "r1.json"), []byte(`{"seq":1,`), 0o600); err != nil {
		t.Fatal(err)
	}
	var se *StoreError
	if _, _, err := fs.load(ctx, "r1"); !errors.As(err, &se) || errors.Is(err, provider.ErrNotFound) {
		t.Fatalf("load of a corrupt record = %v, want a *StoreError that is not ErrNotFound", err)
	}
	if _, err := fs.save(ctx, "r1", []byte(`{}`), ""); err == nil {
		t.Fatal("save over a corrupt record succeeded")
	}
}

func TestOpenFileStoreMissingDir(t *testing.T) {
	if _, err := OpenFileStore(filepath.Join(t.TempDir(), "absent")); err == nil {
		t.Fatal("OpenFileStore of a missing directory succeeded")
	}
}

func TestStoreStateRoundTrip(t *testing.T) {
	ctx := context.Background()
	st, err := NewState(Spec{
		ID:        "r1",
		Function:  "checkout",
		Route:     provider.Route{Alias: "prod", Weights: []provider.Weight{{Version: "3", BasisPoints: provider.AllTraffic}}, Revision: "7"},
		Candidate: "4",
		Strategy:  Canary(1000, 5*time.Minute),
	}, provider.Capabilities{})
	if err != nil {
		t.Fatal(err)
	}
	st, _ = Next(st, Event{Kind: EventStart}, clockEpoch)
	stores := map[string]Store{"memory": &MemoryStore{}}
	fs, err := OpenFileStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer fs.Close()
	stores["file"] = fs
	for name, s := range stores {
		t.Run(name, func(t *testing.T) {
			rev, err := s.Save(ctx, st.ID, st, "")
			if err != nil {
				t.Fatal(err)
			}
			got, gotRev, err := s.Load(ctx, st.ID)
			if err != nil {
				t.Fatal(err)
			}
			if gotRev != rev {
				t.Errorf("Load revision %q, Save returned %q", gotRev, rev)
			}
			if diff := cmp.Diff(st, got); diff != "" {
				t.Errorf("state after a round trip (-want +got):\n%s", diff)
			}
			if len(got.History) == 0 {
				t.Error("the round-tripped state has no history")
			}
			r, err := s.(interface {
				Revision(context.Context, string) (string, error)
			}).Revision(ctx, st.ID)
			if err != nil || r != rev {
				t.Errorf("Revision = %q, %v; want %q", r, err, rev)
			}
		})
	}
}
