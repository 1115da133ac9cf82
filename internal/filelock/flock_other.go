//go:build !unix

package filelock

import (
	"context"
	"os"
)

// lock is a no-op where flock(2) is missing: conditional writes to a local
// directory are then atomic only within one process.
func lock(ctx context.Context, f *os.File) error { return ctx.Err() }

func unlock(f *os.File) {}
