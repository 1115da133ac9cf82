// Package blobcas is the one compare-and-swap that object storage offers
// everywhere: a create-if-absent write (gocloud.dev/blob WriterOptions.
// IfNotExist; a conditional write on S3, GCS and Azure Blob). The blob
// journal and the blob rollout store number their objects and create each
// number once, so two writers can never take one number.
package blobcas

import (
	"context"
	"errors"
	"fmt"

	"gocloud.dev/blob"
	"gocloud.dev/gcerrors"
)

// ErrExists is returned (wrapped) by Create when the key is taken.
var ErrExists = errors.New("object exists")

// Guard is held around a create-if-absent write when the bucket's
// IfNotExist is atomic only within one process (fileblob): see package
// internal/filelock. Nil means the bucket needs none.
type Guard func(ctx context.Context) (unlock func(), err error)

// Create writes doc at key in b only if no object is there; it returns an
// error matching ErrExists when one is, and writes nothing then.
func Create(ctx context.Context, b *blob.Bucket, guard Guard, key string, doc []byte) error {
	if guard != nil {
		unlock, err := guard(ctx)
		if err != nil {
			return err
		}
		defer unlock()
	}
	err := b.WriteAll(ctx, key, doc, &blob.WriterOptions{IfNotExist: true, ContentType: "application/json"})
	if gcerrors.Code(err) == gcerrors.FailedPrecondition {
		return fmt.Errorf("%w: %s: %w", ErrExists, key, err)
	}
	return err
}
