//go:build unix

package filelock_test

import (
	"bufio"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/slipway-dev/slipway/internal/filelock"
)

// flock locks belong to open file descriptions, so two Guards on one path
// exclude each other within a process as across processes: the second
// waits until the first unlocks, or gives up with its context.
func TestGuardExcludes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state", "sub", ".lock") // directories made on demand
	first, err := filelock.Guard(path)(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	if _, err := filelock.Guard(path)(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("second Guard while the first holds: %v, want context.DeadlineExceeded", err)
	}
	got := make(chan error, 1)
	go func() {
		unlock, err := filelock.Guard(path)(context.Background())
		if err == nil {
			unlock()
		}
		got <- err
	}()
	select {
	case err := <-got:
		t.Fatalf("a waiter took the lock while it was held (err %v)", err)
	case <-time.After(20 * time.Millisecond):
	}
	first()
	if err := <-got; err != nil {
		t.Fatalf("the waiter after the unlock: %v", err)
	}
}

func TestGuardCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := filelock.Guard(filepath.Join(t.TempDir(), ".lock"))(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Guard with a cancelled context: %v, want context.Canceled", err)
	}
	if _, err := filelock.Guard(filepath.Join("/dev/null", "x", ".lock"))(context.Background()); err == nil {
		t.Fatal("Guard under a file that is not a directory: no error")
	}
}

// The kernel drops a lock when its holder dies: a process killed with
// SIGKILL while holding it does not leave it held. The holder is this test
// binary run again with FILELOCK_HOLD set.
func TestGuardReleasedWhenHolderDies(t *testing.T) {
	if path := os.Getenv("FILELOCK_HOLD"); path != "" {
		if _, err := filelock.Guard(path)(context.Background()); err != nil {
			os.Exit(3)
		}
		os.Stdout.WriteString("locked\n")
		time.Sleep(time.Minute)
		os.Exit(0)
	}
	path := filepath.Join(t.TempDir(), ".lock")
	cmd := exec.Command(os.Args[0], "-test.run=^TestGuardReleasedWhenHolderDies$")
	cmd.Env = append(os.Environ(), "FILELOCK_HOLD="+path)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	if line, err := bufio.NewReader(out).ReadString('\n'); err != nil || line != "locked\n" {
		t.Fatalf("holder said %q, %v", line, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	if _, err := filelock.Guard(path)(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Guard while another process holds the lock: %v, want context.DeadlineExceeded", err)
	}
	if err := cmd.Process.Signal(os.Kill); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	ctx2, cancel2 := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel2()
	unlock, err := filelock.Guard(path)(ctx2)
	if err != nil {
		t.Fatalf("Guard after the holder was killed: %v", err)
	}
	unlock()
}
