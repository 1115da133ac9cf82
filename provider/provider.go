package provider

import (
	"context"
	"iter"
	"maps"
	"slices"
	"time"
)

// Provider manages the versions and routes of functions on one platform.
//
// Functions are named per call, so one Provider value serves a fleet. Every
// method is safe for concurrent use. Every method that does I/O takes a
// context first and, when the context ends, returns an error wrapping
// ctx.Err() with the platform state as it was or as the platform left it
// after the last call that completed.
//
// Errors wrap the sentinels of this package (see ErrNotFound and the others)
// and, for adapters, the platform's own error as well, so both
// errors.Is(err, provider.ErrConflict) and errors.As(err, &sdkErr) work.
type Provider interface {
	// Capabilities reports the platform's limits. Callers validate a route
	// against it (Capabilities.CheckRoute) before they call SetRoute. It does
	// no I/O and never changes for a given Provider value.
	Capabilities() Capabilities

	// Publish turns an artifact plus configuration into an immutable version.
	// It waits until the platform has settled (for example Lambda's
	// LastUpdateStatus becoming Successful) before it returns.
	//
	// Publish is idempotent: when a version with the same code hash and the
	// same configuration already exists, the newest such version is returned
	// unchanged (its Description and Labels are those it was published with)
	// and nothing new is created. A retried CI step therefore never publishes
	// twice.
	//
	// Errors: ErrInvalid for bad input (checked before any call), ErrNotFound
	// when the function does not exist on a platform where functions must be
	// created outside slipway, ErrConflict when the platform refused because
	// of a concurrent update, ErrThrottled.
	Publish(ctx context.Context, fn string, in PublishInput) (Version, error)

	// Version returns one published version. ErrNotFound when the function
	// or the version does not exist.
	Version(ctx context.Context, fn, id string) (Version, error)

	// Versions yields every published version of fn, oldest first, paging
	// underneath. Iteration stops at the first error, which is yielded with a
	// zero Version; ErrNotFound when the function does not exist.
	Versions(ctx context.Context, fn string) iter.Seq2[Version, error]

	// Route returns one route (alias, stage). ErrNotFound when it does not
	// exist.
	Route(ctx context.Context, fn, alias string) (Route, error)

	// Routes returns every route of fn ordered by alias.
	Routes(ctx context.Context, fn string) ([]Route, error)

	// SetRoute creates or replaces a route with compare-and-swap on
	// r.Revision: an empty Revision creates the route and fails with
	// ErrConflict when it exists; a non-empty Revision must equal the route's
	// current revision, else SetRoute fails with ErrConflict and changes
	// nothing. The returned Route carries the new revision.
	//
	// Before any call SetRoute checks r.Validate and Capabilities.CheckRoute
	// (ErrInvalid, ErrUnsupported); every version named must be published
	// (ErrInvalid otherwise: a route never points at unpublished code).
	SetRoute(ctx context.Context, fn string, r Route) (Route, error)

	// DeleteVersion deletes a published version. It fails with ErrInUse while
	// any route references the version (as primary or weighted target) and
	// for the newest published version, which is never deleted; with
	// ErrUnsupported when Capabilities().DeleteVersions is false; with
	// ErrNotFound when the version does not exist.
	DeleteVersion(ctx context.Context, fn, id string) error
}

// Artifact is the code of a function. Exactly one of Zip, URI and Image is
// set.
type Artifact struct {
	// Zip is a deployment package uploaded as bytes.
	Zip []byte `json:"zip,omitempty"`
	// URI names a package in an object store (s3://bucket/key,
	// gs://bucket/object, https://account.blob.core.windows.net/c/pkg.zip).
	URI string `json:"uri,omitempty"`
	// Image is a container image reference (registry/repo@sha256:… or :tag).
	Image string `json:"image,omitempty"`
	// SHA256 is the expected hex SHA-256 of the code. For Zip it is computed
	// and, when set, checked; for URI and Image the caller should set it (a
	// provider that cannot see the bytes records it as the code hash). A
	// platform that supports it publishes only when its own hash matches
	// (Lambda's CodeSha256 precondition).
	SHA256 string `json:"sha256,omitempty"`
}

// Config is a version's runtime configuration. Zero fields mean "the
// platform default"; a Config is part of a version's identity, so two
// publishes with equal code and equal Config are the same version.
type Config struct {
	Runtime     string            `json:"runtime,omitempty"`     // e.g. "go1.x", "provided.al2023", "nodejs22.x"
	Handler     string            `json:"handler,omitempty"`     // entry point, where the platform has one
	MemoryMB    int               `json:"memoryMB,omitempty"`    // memory size in MiB
	Timeout     time.Duration     `json:"timeout,omitempty"`     // per-invocation timeout
	Environment map[string]string `json:"environment,omitempty"` // environment variables
	Role        string            `json:"role,omitempty"`        // execution role / service identity
}

// Equal reports whether two configurations are the same, treating a nil and
// an empty Environment alike.
func (c Config) Equal(o Config) bool {
	return c.Runtime == o.Runtime && c.Handler == o.Handler && c.MemoryMB == o.MemoryMB &&
		c.Timeout == o.Timeout && c.Role == o.Role && maps.Equal(c.Environment, o.Environment)
}

// PublishInput is what Publish turns into a version.
type PublishInput struct {
	Artifact Artifact `json:"artifact"`
	Config   Config   `json:"config"`
	// Description is a human-readable note (Lambda keeps at most 256
	// characters).
	Description string `json:"description,omitempty"`
	// Labels are recorded with the version; slipway's release package stores
	// the semantic version under LabelSemver and the commit under
	// LabelCommit.
	Labels map[string]string `json:"labels,omitempty"`
}

// Label keys used by slipway itself.
const (
	LabelSemver = "slipway.dev/semver"
	LabelCommit = "slipway.dev/commit"
)

// Version is an immutable published version of a function.
type Version struct {
	// ID is the platform's identifier: "7" on Lambda, "svc-00007-xiz" on
	// Cloud Run.
	ID string `json:"id"`
	// CodeSHA256 is the hex SHA-256 of the code (see Artifact.SHA256).
	CodeSHA256  string            `json:"codeSHA256"`
	Config      Config            `json:"config"`
	Description string            `json:"description,omitempty"`
	Labels      map[string]string `json:"labels,omitempty"`
	// Created is when the version was published, as the platform reports it.
	Created time.Time `json:"created"`
}

// Route is an alias (stage) and the traffic it sends to each version.
type Route struct {
	Alias string `json:"alias"`
	// Weights lists the versions the route sends traffic to. Weights[0] is
	// the primary version (Lambda's FunctionVersion); a platform without the
	// notion returns the largest share first. Basis points are 0..10000 and
	// sum to 10000; each version appears once.
	Weights []Weight `json:"weights"`
	// Revision is the opaque concurrency token of the route as last read or
	// written. Empty in a SetRoute request means "create".
	Revision string `json:"revision,omitempty"`
}

// Weight is one version's share of a route's traffic in basis points
// (1/100 of a percent: 10000 is all traffic).
type Weight struct {
	Version     string `json:"version"`
	BasisPoints int    `json:"basisPoints"`
}

// AllTraffic is 100% in basis points.
const AllTraffic = 10000

// To returns a route request that sends all traffic of alias to version.
func To(alias, version string) Route {
	return Route{Alias: alias, Weights: []Weight{{Version: version, BasisPoints: AllTraffic}}}
}

// Split returns a route request that sends bp basis points to candidate and
// the rest to stable (stable is primary). bp == 0 or bp == AllTraffic give a
// single-version route.
func Split(alias, stable, candidate string, bp int) Route {
	switch bp {
	case 0:
		return To(alias, stable)
	case AllTraffic:
		return To(alias, candidate)
	}
	return Route{Alias: alias, Weights: []Weight{
		{Version: stable, BasisPoints: AllTraffic - bp},
		{Version: candidate, BasisPoints: bp},
	}}
}

// Primary returns the primary version of r, or "" for an empty route.
func (r Route) Primary() string {
	if len(r.Weights) == 0 {
		return ""
	}
	return r.Weights[0].Version
}

// Share returns the basis points r sends to version (0 if none).
func (r Route) Share(version string) int {
	for _, w := range r.Weights {
		if w.Version == version {
			return w.BasisPoints
		}
	}
	return 0
}

// References reports whether r sends traffic to version, or names it with a
// zero weight.
func (r Route) References(version string) bool {
	return slices.ContainsFunc(r.Weights, func(w Weight) bool { return w.Version == version })
}

// SameTraffic reports whether r and o send the same share to every version,
// whatever their order, revision or alias. Zero-weight entries count as
// absent.
func (r Route) SameTraffic(o Route) bool {
	for _, w := range r.Weights {
		if o.Share(w.Version) != w.BasisPoints {
			return false
		}
	}
	for _, w := range o.Weights {
		if r.Share(w.Version) != w.BasisPoints {
			return false
		}
	}
	return true
}

// Clone returns a deep copy of r.
func (r Route) Clone() Route {
	r.Weights = slices.Clone(r.Weights)
	return r
}

// Clone returns a deep copy of v.
func (v Version) Clone() Version {
	v.Labels = maps.Clone(v.Labels)
	v.Config.Environment = maps.Clone(v.Config.Environment)
	return v
}
