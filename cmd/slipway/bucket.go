package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"gocloud.dev/blob"
	_ "gocloud.dev/blob/azureblob" // azblob:// state URLs
	"gocloud.dev/blob/fileblob"
	_ "gocloud.dev/blob/gcsblob" // gs:// state URLs
	"gocloud.dev/blob/memblob"
	_ "gocloud.dev/blob/s3blob" // s3:// state URLs

	"github.com/slipway-dev/slipway/internal/blobcas"
	"github.com/slipway-dev/slipway/internal/filelock"
)

// openBucket opens the state URL: a directory path or file:// URL (with
// a lock file making create-if-absent atomic across processes, and the
// memory provider's state file next to it), mem:// (this process only: no
// memory provider state file either), or any URL gocloud.dev/blob opens
// (s3://, gs://, azblob://: their create-if-absent writes are conditional
// on the server). A directory is created unless create is false (a
// command that writes nothing when it finds nothing). memPath is where the memory provider keeps its state,
// "" for none.
func openBucket(ctx context.Context, state string, create bool) (b *blob.Bucket, memPath string, guard blobcas.Guard, err error) {
	dir := ""
	switch {
	case strings.HasPrefix(state, "mem://"):
		return memblob.OpenBucket(nil), "", nil, nil
	case strings.HasPrefix(state, "file://"):
		u, err := url.Parse(state)
		if err != nil {
			return nil, "", nil, usageError("--state %q: %v", state, err)
		}
		dir = u.Host + u.Path // file:///abs, or file://rel/dir
		if dir == "" {
			return nil, "", nil, usageError("--state %q names no directory", state)
		}
	case !strings.Contains(state, "://"):
		dir = state
	default:
		b, err := blob.OpenBucket(ctx, state)
		if err != nil {
			return nil, "", nil, usageError("--state %q: %v", state, err)
		}
		return b, "", nil, nil
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, "", nil, usageError("--state %q: %v", state, err)
	}
	if _, err := os.Stat(abs); !create && errors.Is(err, fs.ErrNotExist) {
		// Nothing was ever saved here, and a command that only reads
		// does not create the directory.
		return memblob.OpenBucket(nil), "", nil, nil
	}
	if err := os.MkdirAll(abs, 0o755); err != nil {
		return nil, "", nil, fmt.Errorf("state directory: %w", err)
	}
	b, err = fileblob.OpenBucket(abs, &fileblob.Options{NoTempDir: true, Metadata: fileblob.MetadataDontWrite})
	if err != nil {
		return nil, "", nil, fmt.Errorf("state directory: %w", err)
	}
	return b, filepath.Join(abs, "memory.json"), filelock.Guard(filepath.Join(abs, ".lock")), nil
}

// processAlive tells a lease whether its holder's process is alive, when
// the holder ran on this host: signal 0 reaches a live process (EPERM: it
// lives under another user).
func processAlive(host string, pid int) (alive, known bool) {
	me, err := os.Hostname()
	if err != nil || host != me || pid <= 0 {
		return false, false
	}
	err = syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM), true
}
