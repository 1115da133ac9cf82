package memory

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"iter"
	"slices"
	"strconv"

	"github.com/slipway-dev/slipway/provider"
)

// Publish creates version Published+1 of fn ("1", "2", … as on Lambda),
// creating the function when it does not exist yet. See
// provider.Provider.Publish for the contract.
//
// The code hash is the SHA-256 of Zip (which must equal Artifact.SHA256
// when that is set, else ErrInvalid), or Artifact.SHA256 for URI and Image,
// or, when that is empty, the SHA-256 of the URI or image reference itself
// (so a mutable image tag republished is the same version: set SHA256 to
// the digest to tell them apart). Publishing the same hash and an Equal
// Config returns the newest such version unchanged.
func (p *Provider) Publish(ctx context.Context, fn string, in provider.PublishInput) (provider.Version, error) {
	const op = "publish"
	if err := ctx.Err(); err != nil {
		return provider.Version{}, opError(op, fn, err)
	}
	if err := provider.CheckName("function", fn); err != nil {
		return provider.Version{}, opError(op, fn, err)
	}
	if err := in.Validate(); err != nil {
		return provider.Version{}, opError(op, fn, err)
	}
	hash, err := codeHash(in.Artifact)
	if err != nil {
		return provider.Version{}, opError(op, fn, err)
	}
	lost, err := p.inject(ctx, OpPublish)
	if err != nil {
		return provider.Version{}, opError(op, fn, err)
	}

	p.mu.Lock()
	defer p.mu.Unlock()
	f := p.st.fnForWrite(fn)
	for _, v := range slices.Backward(f.Versions) {
		if v.CodeSHA256 == hash && v.Config.Equal(in.Config) {
			if lost != nil {
				return provider.Version{}, opError(op, fn, lost)
			}
			return v.Clone(), nil
		}
	}
	v := provider.Version{
		ID:          strconv.Itoa(f.Published + 1),
		CodeSHA256:  hash,
		Config:      in.Config,
		Description: in.Description,
		Labels:      in.Labels,
		Created:     p.now(),
	}.Clone()
	f.Published++
	f.Versions = append(f.Versions, v)
	if err := p.save(); err != nil {
		f.Versions = f.Versions[:len(f.Versions)-1]
		f.Published--
		return provider.Version{}, opError(op, fn, err)
	}
	if lost != nil {
		return provider.Version{}, opError(op, fn, lost)
	}
	return v.Clone(), nil
}

func codeHash(a provider.Artifact) (string, error) {
	switch {
	case a.Zip != nil:
		sum := sha256.Sum256(a.Zip)
		h := hex.EncodeToString(sum[:])
		if a.SHA256 != "" && a.SHA256 != h {
			return "", provider.Invalid("publish", "artifact.sha256",
				fmt.Sprintf("%s does not match the zip's SHA-256 %s", a.SHA256, h))
		}
		return h, nil
	case a.SHA256 != "":
		return a.SHA256, nil
	case a.URI != "":
		sum := sha256.Sum256([]byte("uri:" + a.URI))
		return hex.EncodeToString(sum[:]), nil
	default:
		sum := sha256.Sum256([]byte("image:" + a.Image))
		return hex.EncodeToString(sum[:]), nil
	}
}

// Version returns a copy of version id of fn. ErrNotFound when the function
// or the version does not exist (deleted versions do not).
func (p *Provider) Version(ctx context.Context, fn, id string) (provider.Version, error) {
	const op = "version"
	if err := ctx.Err(); err != nil {
		return provider.Version{}, opError(op, fn, err)
	}
	if err := provider.CheckName("function", fn); err != nil {
		return provider.Version{}, opError(op, fn, err)
	}
	if err := provider.CheckName("version", id); err != nil {
		return provider.Version{}, opError(op, fn, err)
	}
	lost, err := p.inject(ctx, OpVersion)
	if err != nil {
		return provider.Version{}, opError(op, fn, err)
	}
	p.mu.RLock()
	defer p.mu.RUnlock()
	f, err := p.fnLocked(fn)
	if err != nil {
		return provider.Version{}, opError(op, fn, err)
	}
	i, ok := f.versionIndex(id)
	if !ok {
		return provider.Version{}, opError(op, fn, notFound("version "+strconv.Quote(id)))
	}
	if lost != nil {
		return provider.Version{}, opError(op, fn, lost)
	}
	return f.Versions[i].Clone(), nil
}

// Versions yields the versions of fn oldest first, reading PageSize of
// them per page under the lock and yielding them without it, as a paged
// API does: a version deleted while the iteration is on an earlier page is
// not yielded, one published meanwhile is. Each page is one "Versions"
// operation for fault injection; the context is checked before each page.
func (p *Provider) Versions(ctx context.Context, fn string) iter.Seq2[provider.Version, error] {
	const op = "list versions"
	return func(yield func(provider.Version, error) bool) {
		if err := ctx.Err(); err != nil {
			yield(provider.Version{}, opError(op, fn, err))
			return
		}
		if err := provider.CheckName("function", fn); err != nil {
			yield(provider.Version{}, opError(op, fn, err))
			return
		}
		after := 0 // the number of the last version yielded
		for {
			if err := ctx.Err(); err != nil {
				yield(provider.Version{}, opError(op, fn, err))
				return
			}
			page, more, err := p.versionsPage(ctx, fn, after)
			if err != nil {
				yield(provider.Version{}, opError(op, fn, err))
				return
			}
			for _, v := range page {
				if !yield(v, nil) {
					return
				}
				after, _ = versionNumber(v.ID)
			}
			if !more {
				return
			}
		}
	}
}

// versionsPage returns up to pageSize versions numbered above after, and
// whether more follow.
func (p *Provider) versionsPage(ctx context.Context, fn string, after int) ([]provider.Version, bool, error) {
	lost, err := p.inject(ctx, OpVersions)
	if err != nil {
		return nil, false, err
	}
	p.mu.RLock()
	defer p.mu.RUnlock()
	f, err := p.fnLocked(fn)
	if err != nil {
		return nil, false, err
	}
	if lost != nil {
		return nil, false, lost
	}
	i, _ := slices.BinarySearchFunc(f.Versions, after+1, func(v provider.Version, n int) int {
		m, _ := versionNumber(v.ID)
		return m - n
	})
	end := min(i+p.pageSize, len(f.Versions))
	page := make([]provider.Version, 0, end-i)
	for _, v := range f.Versions[i:end] {
		page = append(page, v.Clone())
	}
	return page, end < len(f.Versions), nil
}

// DeleteVersion deletes version id of fn. In order it fails with
// ErrUnsupported when Capabilities().DeleteVersions is false, ErrNotFound
// for an unknown function or version, and ErrInUse for the newest version,
// for a version any route names (primary, weighted, or with weight 0) and
// for a version listed by SetUsage.
func (p *Provider) DeleteVersion(ctx context.Context, fn, id string) error {
	const op = "delete version"
	if err := ctx.Err(); err != nil {
		return opError(op, fn, err)
	}
	if err := provider.CheckName("function", fn); err != nil {
		return opError(op, fn, err)
	}
	if err := provider.CheckName("version", id); err != nil {
		return opError(op, fn, err)
	}
	if !p.caps.DeleteVersions {
		return opError(op, fn, fmt.Errorf("%w: this provider's capabilities do not allow deleting versions", provider.ErrUnsupported))
	}
	lost, err := p.inject(ctx, OpDeleteVersion)
	if err != nil {
		return opError(op, fn, err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	f, err := p.fnLocked(fn)
	if err != nil {
		return opError(op, fn, err)
	}
	i, ok := f.versionIndex(id)
	if !ok {
		return opError(op, fn, notFound("version "+strconv.Quote(id)))
	}
	if i == len(f.Versions)-1 {
		return opError(op, fn, fmt.Errorf("%w: version %q is the newest version", provider.ErrInUse, id))
	}
	for _, alias := range sortedKeys(f.Routes) {
		if f.Routes[alias].References(id) {
			return opError(op, fn, fmt.Errorf("%w: version %q is referenced by route %q", provider.ErrInUse, id, alias))
		}
	}
	for _, u := range f.Usage {
		if u.Version == id {
			return opError(op, fn, fmt.Errorf("%w: version %q is in use: %s", provider.ErrInUse, id, u.Reason))
		}
	}
	v := f.Versions[i]
	f.Versions = slices.Delete(f.Versions, i, i+1)
	if err := p.save(); err != nil {
		f.Versions = slices.Insert(f.Versions, i, v)
		return opError(op, fn, err)
	}
	if lost != nil {
		return opError(op, fn, lost)
	}
	return nil
}
