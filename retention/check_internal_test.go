package retention

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// scriptedReads is a read function for freshReads whose reads are numbered
// from 1, and each waits until the test releases it.
type scriptedReads struct {
	mu      sync.Mutex
	begun   int
	release chan struct{}
}

func (s *scriptedReads) read(ctx context.Context) (map[string]string, time.Time, error) {
	s.mu.Lock()
	s.begun++
	n := s.begun
	s.mu.Unlock()
	select {
	case <-s.release:
	case <-ctx.Done():
		return nil, time.Time{}, ctx.Err()
	}
	return map[string]string{"read": fmt.Sprint(n)}, time.Now(), nil
}

func (s *scriptedReads) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.begun
}

// TestFreshReadsBeginAfterTheAsk: a caller is never answered by a read that
// began before it asked; callers that ask while a read is in flight share
// the next read, which begins as soon as the current one ends.
func TestFreshReadsBeginAfterTheAsk(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		var (
			f  freshReads
			wg sync.WaitGroup
		)
		s := &scriptedReads{release: make(chan struct{})}
		got := make([]string, 4)
		ask := func(i int) {
			refs, _, err := f.get(ctx, &wg, noWait, s.read)
			if err != nil {
				t.Errorf("caller %d: %v", i, err)
			}
			got[i] = refs["read"]
		}
		var callers sync.WaitGroup
		callers.Go(func() { ask(0) })
		synctest.Wait() // read 1 has begun, caller 0 waits for it
		if n := s.count(); n != 1 {
			t.Fatalf("%d reads begun, want 1", n)
		}
		callers.Go(func() { ask(1) })
		callers.Go(func() { ask(2) })
		synctest.Wait() // callers 1 and 2 asked while read 1 is in flight
		if n := s.count(); n != 1 {
			t.Fatalf("%d reads begun while read 1 is in flight, want 1", n)
		}
		s.release <- struct{}{} // read 1 ends; read 2 begins for callers 1 and 2
		synctest.Wait()
		if n := s.count(); n != 2 {
			t.Fatalf("%d reads begun, want 2", n)
		}
		s.release <- struct{}{}
		callers.Wait()
		callers.Go(func() { ask(3) }) // no read in flight: one begins at once
		synctest.Wait()
		s.release <- struct{}{}
		callers.Wait()
		wg.Wait()
		if want := []string{"1", "2", "2", "3"}; fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("callers got reads %v, want %v", got, want)
		}
		if n := s.count(); n != 3 {
			t.Errorf("%d reads, want 3", n)
		}
	})
}

// TestFreshReadsCallerGivesUp: a caller whose context ends stops waiting;
// the read goes on for the others, and its goroutine ends.
func TestFreshReadsCallerGivesUp(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var (
			f  freshReads
			wg sync.WaitGroup
		)
		s := &scriptedReads{release: make(chan struct{})}
		ctx, cancel := context.WithCancel(context.Background())
		errc := make(chan error, 1)
		go func() {
			_, _, err := f.get(ctx, &wg, noWait, s.read)
			errc <- err
		}()
		synctest.Wait()
		cancel()
		if err := <-errc; !errors.Is(err, context.Canceled) {
			t.Errorf("get after cancel: %v, want context.Canceled", err)
		}
		wg.Wait() // the read saw the same context end
		if f.reading || f.next != nil {
			t.Errorf("reading %v, next %v after the reads ended", f.reading, f.next)
		}
	})
}

func noWait(ctx context.Context) error { return ctx.Err() }

// TestFreshReadsJoinWhileWaitingToBegin: callers that ask while a read waits
// for the budget (begin) join it; one that asks after it began waits for the
// next read.
func TestFreshReadsJoinWhileWaitingToBegin(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		var (
			f  freshReads
			wg sync.WaitGroup
		)
		s := &scriptedReads{release: make(chan struct{})}
		gate := make(chan struct{})
		begin := func(ctx context.Context) error {
			select {
			case <-gate:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		got := make([]string, 4)
		var callers sync.WaitGroup
		ask := func(i int) {
			callers.Go(func() {
				refs, _, err := f.get(ctx, &wg, begin, s.read)
				if err != nil {
					t.Errorf("caller %d: %v", i, err)
				}
				got[i] = refs["read"]
			})
		}
		ask(0)
		ask(1)
		ask(2)
		synctest.Wait() // three callers, the read waits to begin
		if n := s.count(); n != 0 {
			t.Fatalf("%d reads begun before begin returned, want 0", n)
		}
		gate <- struct{}{} // read 1 begins, for callers 0, 1 and 2
		synctest.Wait()
		ask(3) // asks after read 1 began
		synctest.Wait()
		s.release <- struct{}{} // read 1 answers; read 2 waits to begin
		synctest.Wait()
		gate <- struct{}{}
		s.release <- struct{}{}
		callers.Wait()
		wg.Wait()
		if want := []string{"1", "1", "1", "2"}; fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("callers got reads %v, want %v", got, want)
		}
	})
}

// TestFreshReadsBeginFails: when begin fails (the budget's wait ended with
// the context), every caller that joined gets its error and no read is made.
func TestFreshReadsBeginFails(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var (
			f  freshReads
			wg sync.WaitGroup
		)
		s := &scriptedReads{release: make(chan struct{})}
		boom := errors.New("no token")
		_, _, err := f.get(context.Background(), &wg, func(context.Context) error { return boom }, s.read)
		wg.Wait()
		if !errors.Is(err, boom) {
			t.Errorf("get: %v, want %v", err, boom)
		}
		if n := s.count(); n != 0 {
			t.Errorf("%d reads made after begin failed, want 0", n)
		}
	})
}
