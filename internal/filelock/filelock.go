// Package filelock holds an exclusive advisory lock on a file across
// processes (flock(2) on Unix). The kernel drops the lock when its holder
// dies, so a crashed process never leaves it held.
//
// It exists for gocloud.dev/blob/fileblob, whose WriterOptions.IfNotExist is
// atomic only among the goroutines of one process (a process-wide mutex
// around a stat and a rename, fileblob.go in gocloud.dev v0.49.0): the blob
// journal and rollout store hold this lock around each create-if-absent
// write to a local directory, which makes the write atomic across processes
// too. S3, GCS, Azure Blob and memblob need no such lock.
package filelock

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
)

// Guard returns a function that takes the lock on the file at path
// (created when missing, with its directory) and returns its unlock. It
// waits for the lock or for ctx; an ended ctx takes no lock.
func Guard(path string) func(ctx context.Context) (unlock func(), err error) {
	return func(ctx context.Context) (func(), error) {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("filelock: %w", err)
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return nil, fmt.Errorf("filelock: %w", err)
		}
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
		if err != nil {
			return nil, fmt.Errorf("filelock: %w", err)
		}
		if err := lock(ctx, f); err != nil {
			f.Close()
			return nil, fmt.Errorf("filelock: %s: %w", path, err)
		}
		return func() {
			unlock(f)
			f.Close()
		}, nil
	}
}
