package blobjournal_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"
	"gocloud.dev/blob"
	"gocloud.dev/blob/fileblob"
	"gocloud.dev/blob/memblob"

	"github.com/slipway-dev/slipway/journal"
	"github.com/slipway-dev/slipway/journal/blobjournal"
	"github.com/slipway-dev/slipway/journal/journaltest"
	"github.com/slipway-dev/slipway/provider"
)

// The entries and the reading helper are journaltest's, as the
// conformance suite uses them.
var (
	routeEntry = journaltest.RouteEntry
	collect    = journaltest.Collect
)

// buckets are the drivers the journal is tested on: a fresh bucket (and
// the guard it needs) per call.
func buckets(t *testing.T, f func(t *testing.T, open func() (*blob.Bucket, blobjournal.Options))) {
	t.Run("memblob", func(t *testing.T) {
		b := memblob.OpenBucket(nil)
		t.Cleanup(func() { b.Close() })
		f(t, func() (*blob.Bucket, blobjournal.Options) { return b, blobjournal.Options{} })
	})
	t.Run("fileblob", func(t *testing.T) {
		dir := t.TempDir()
		f(t, func() (*blob.Bucket, blobjournal.Options) {
			b, err := fileblob.OpenBucket(dir, &fileblob.Options{NoTempDir: true, Metadata: fileblob.MetadataDontWrite})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { b.Close() })
			return b, blobjournal.Options{Guard: flockGuard(filepath.Join(dir, ".lock"))}
		})
	})
}

func reopen(t *testing.T, openB func() (*blob.Bucket, blobjournal.Options)) *blobjournal.Journal {
	t.Helper()
	b, opts := openB()
	return open(t, b, opts)
}

func open(t *testing.T, b *blob.Bucket, opts blobjournal.Options) *blobjournal.Journal {
	t.Helper()
	j, err := blobjournal.Open(context.Background(), b, opts)
	if err != nil {
		t.Fatal(err)
	}
	return j
}

// TestJournalContract is release's journal contract (TestJournalContract
// in package release) on both drivers, plus reopening.
func TestJournalContract(t *testing.T) {
	ctx := context.Background()
	buckets(t, func(t *testing.T, openB func() (*blob.Bucket, blobjournal.Options)) {
		j := reopen(t, openB)
		var want []journal.Entry
		for i := range 5 {
			e := routeEntry(i)
			if i == 3 {
				e.Function = "other"
			}
			if i == 4 {
				e.Alias, e.Before.Alias, e.After.Alias = "staging", "staging", "staging"
			}
			if err := j.Append(ctx, e); err != nil {
				t.Fatal(err)
			}
			want = append(want, e)
		}
		if diff := cmp.Diff(want, collect(t, j, journal.Filter{})); diff != "" {
			t.Errorf("all entries (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]journal.Entry{want[0], want[1], want[2]}, collect(t, j, journal.Filter{Function: "fn", Alias: "prod"})); diff != "" {
			t.Errorf("fn/prod (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]journal.Entry{want[2], want[4]}, collect(t, j, journal.Filter{Function: "fn", Since: want[2].Time})); diff != "" {
			t.Errorf("since (-want +got):\n%s", diff)
		}
		// A second journal over the same bucket (another process) reads
		// the same entries, from the objects.
		if diff := cmp.Diff(want, collect(t, reopen(t, openB), journal.Filter{})); diff != "" {
			t.Errorf("reopened (-want +got):\n%s", diff)
		}

		bad := routeEntry(9)
		bad.After = nil
		if err := j.Append(ctx, bad); !errors.Is(err, provider.ErrInvalid) {
			t.Errorf("Append(invalid) = %v, want ErrInvalid", err)
		}
		if got := len(collect(t, j, journal.Filter{})); got != 5 {
			t.Errorf("after refused append: %d entries, want 5", got)
		}

		for e := range j.Entries(ctx, journal.Filter{}) {
			e.After.Weights[0].Version = "mutated"
		}
		if diff := cmp.Diff(want, collect(t, j, journal.Filter{})); diff != "" {
			t.Errorf("after mutating yielded entries (-want +got):\n%s", diff)
		}

		n := 0
		for _, err := range j.Entries(ctx, journal.Filter{}) {
			if err != nil {
				t.Fatal(err)
			}
			if err := j.Append(ctx, routeEntry(10+n)); err != nil {
				t.Fatal(err)
			}
			if n++; n == 2 {
				break
			}
		}
		if got := len(collect(t, j, journal.Filter{})); got != 7 {
			t.Errorf("after appending in the loop: %d entries, want 7", got)
		}

		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if err := j.Append(cctx, routeEntry(20)); !errors.Is(err, context.Canceled) {
			t.Errorf("Append(cancelled) = %v", err)
		}
		for _, err := range j.Entries(cctx, journal.Filter{}) {
			if !errors.Is(err, context.Canceled) {
				t.Errorf("Entries(cancelled) yielded %v", err)
			}
			break
		}

		j.Close()
		if err := j.Append(ctx, routeEntry(21)); !errors.Is(err, journal.ErrClosed) {
			t.Errorf("Append after Close = %v, want ErrClosed", err)
		}
	})
}

// TestConcurrentJournalsNeverShareANumber: many journals over one bucket
// (as many processes would be) append at once; every entry gets its own
// number and none is lost.
func TestConcurrentJournalsNeverShareANumber(t *testing.T) {
	const writers, each = 8, 15
	buckets(t, func(t *testing.T, openB func() (*blob.Bucket, blobjournal.Options)) {
		var wg sync.WaitGroup
		errs := make(chan error, writers*each)
		for w := range writers {
			j := reopen(t, openB) // all open before any appends: same starting number
			wg.Go(func() {
				for i := range each {
					e := routeEntry(i)
					e.Actor = fmt.Sprintf("writer-%d", w)
					if err := j.Append(context.Background(), e); err != nil {
						errs <- err
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		checkPerWriter(t, collect(t, reopen(t, openB), journal.Filter{}), writers, each)
	})
}

func checkPerWriter(t *testing.T, entries []journal.Entry, writers, each int) {
	t.Helper()
	if len(entries) != writers*each {
		t.Errorf("%d entries, want %d", len(entries), writers*each)
	}
	per := map[string]int{}
	for _, e := range entries {
		per[e.Actor]++
	}
	for w := range writers {
		if got := per[fmt.Sprintf("writer-%d", w)]; got != each {
			t.Errorf("writer-%d: %d entries, want %d", w, got, each)
		}
	}
}

// TestTwoProcessesAppend runs two processes (this test binary, re-run as a
// writer) appending to one directory at once: fileblob's IfNotExist alone
// is atomic only within a process; with the guard no entry is lost.
func TestTwoProcessesAppend(t *testing.T) {
	if dir := os.Getenv("BLOBJOURNAL_WRITER_DIR"); dir != "" {
		writer(t, dir)
		return
	}
	const each = 300
	dir := t.TempDir()
	var cmds []*exec.Cmd
	for w := range 2 {
		cmd := exec.Command(os.Args[0], "-test.run=^TestTwoProcessesAppend$")
		cmd.Env = append(os.Environ(), "BLOBJOURNAL_WRITER_DIR="+dir, "BLOBJOURNAL_WRITER="+strconv.Itoa(w), "BLOBJOURNAL_EACH="+strconv.Itoa(each))
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmds = append(cmds, cmd)
	}
	for _, c := range cmds {
		if err := c.Wait(); err != nil {
			t.Fatalf("writer: %v", err)
		}
	}
	b, err := fileblob.OpenBucket(dir, &fileblob.Options{NoTempDir: true, Metadata: fileblob.MetadataDontWrite})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	entries := collect(t, open(t, b, blobjournal.Options{}), journal.Filter{})
	checkPerWriter(t, entries, 2, each)
}

func writer(t *testing.T, dir string) {
	w, _ := strconv.Atoi(os.Getenv("BLOBJOURNAL_WRITER"))
	each, _ := strconv.Atoi(os.Getenv("BLOBJOURNAL_EACH"))
	b, err := fileblob.OpenBucket(dir, &fileblob.Options{NoTempDir: true, Metadata: fileblob.MetadataDontWrite})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	j := open(t, b, blobjournal.Options{Guard: flockGuard(filepath.Join(dir, ".lock"))})
	for i := range each {
		e := routeEntry(i)
		e.Actor = fmt.Sprintf("writer-%d", w)
		if err := j.Append(context.Background(), e); err != nil {
			t.Fatal(err)
		}
	}
}

// TestVerifyAndRepair: an object that is not an entry is reported with its
// key, stops reading, and Repair moves it aside (nothing deleted) so the
// journal reads and appends again.
func TestVerifyAndRepair(t *testing.T) {
	ctx := context.Background()
	buckets(t, func(t *testing.T, openB func() (*blob.Bucket, blobjournal.Options)) {
		b, opts := openB()
		j := open(t, b, opts)
		for i := range 3 {
			if err := j.Append(ctx, routeEntry(i)); err != nil {
				t.Fatal(err)
			}
		}
		if err := b.WriteAll(ctx, j.Key(2), []byte(`{"kind":"route","nonsense":1}`), nil); err != nil {
			t.Fatal(err)
		}
		j = open(t, b, opts)
		var got error
		for _, err := range j.Entries(ctx, journal.Filter{}) {
			if err != nil {
				got = err
			}
		}
		var ce *blobjournal.CorruptError
		if !errors.As(got, &ce) || ce.Key != j.Key(2) || !errors.Is(got, journal.ErrCorrupt) {
			t.Fatalf("Entries over a damaged object: %v, want a CorruptError for %s", got, j.Key(2))
		}
		rep, err := j.Verify(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if rep.OK() || len(rep.Problems) != 1 || rep.Problems[0].Seq != 2 || rep.Entries != 2 {
			t.Fatalf("Verify = %+v", rep)
		}
		moved, err := j.Repair(ctx)
		if err != nil || len(moved) != 1 {
			t.Fatalf("Repair = %v, %v", moved, err)
		}
		if ok, _ := b.Exists(ctx, j.DamagedPrefix()+"00000000000000000002.json"); !ok {
			t.Error("the damaged object was not kept under the damaged prefix")
		}
		j = open(t, b, opts)
		if err := j.Append(ctx, routeEntry(5)); err != nil {
			t.Fatal(err)
		}
		if got := len(collect(t, j, journal.Filter{})); got != 3 {
			t.Errorf("after repair and append: %d entries, want 3", got)
		}
		rep, _ = j.Verify(ctx)
		if !rep.OK() || len(rep.Gaps) != 1 || rep.Gaps[0] != 2 || rep.Last != 4 {
			t.Errorf("Verify after repair = %+v, want OK with gap 2 and last 4", rep)
		}
	})
}

// TestConformance: the journal passes journaltest, the suite every journal
// passes, on both drivers.
func TestConformance(t *testing.T) {
	t.Run("memblob", func(t *testing.T) {
		journaltest.Run(t, func(t *testing.T) journal.Journal {
			b := memblob.OpenBucket(nil)
			t.Cleanup(func() { b.Close() })
			return open(t, b, blobjournal.Options{})
		})
	})
	t.Run("fileblob", func(t *testing.T) {
		journaltest.Run(t, func(t *testing.T) journal.Journal {
			dir := t.TempDir()
			b, err := fileblob.OpenBucket(dir, &fileblob.Options{NoTempDir: true, Metadata: fileblob.MetadataDontWrite})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { b.Close() })
			return open(t, b, blobjournal.Options{Guard: flockGuard(filepath.Join(dir, ".lock"))})
		})
	})
}

// flockGuard is an exclusive flock(2) on path, as the slipway command
// takes around each write to a local directory (internal/filelock; the
// journal's tests may import nothing of ours but provider and journal).
func flockGuard(path string) blobjournal.Guard {
	return func(ctx context.Context) (func(), error) {
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
		if err != nil {
			return nil, err
		}
		if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
			f.Close()
			return nil, err
		}
		return func() {
			_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
			f.Close()
		}, nil
	}
}
