package release

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/slipway-dev/slipway/provider"
	"github.com/slipway-dev/slipway/semver"
)

// ReleasedVersion is a published version of a function that carries a semantic
// version in its provider.LabelSemver label.
type ReleasedVersion struct {
	Semver  semver.Version   `json:"semver"`
	Version provider.Version `json:"version"`
}

// Releases returns the versions of fn that carry a semantic version, in
// ascending precedence; versions of equal precedence (which differ at most
// in build metadata) keep their publication order. The label is read with
// semver.ParseTolerant, so "v1.2.3" counts as 1.2.3; a version without the
// label, or whose label is not a version, is not a release and is left out
// (functions also hold versions published by hand).
//
// Errors are those of Provider.Versions, wrapped: provider.ErrNotFound when
// the function does not exist.
func Releases(ctx context.Context, p provider.Provider, fn string) ([]ReleasedVersion, error) {
	rs, _, err := scan(ctx, p, fn)
	return rs, err
}

// scan reads every version of fn once: the releases, sorted as Releases
// sorts them, and the set of all version IDs.
func scan(ctx context.Context, p provider.Provider, fn string) ([]ReleasedVersion, map[string]bool, error) {
	var rs []ReleasedVersion
	ids := make(map[string]bool)
	for v, err := range p.Versions(ctx, fn) {
		if err != nil {
			return nil, nil, fmt.Errorf("release: list versions of %s: %w", fn, err)
		}
		ids[v.ID] = true
		if sv, ok := labelSemver(v); ok {
			rs = append(rs, ReleasedVersion{Semver: sv, Version: v})
		}
	}
	slices.SortStableFunc(rs, func(a, b ReleasedVersion) int { return semver.Compare(a.Semver, b.Semver) })
	return rs, ids, nil
}

func labelSemver(v provider.Version) (semver.Version, bool) {
	s, ok := v.Labels[provider.LabelSemver]
	if !ok {
		return semver.Version{}, false
	}
	sv, err := semver.ParseTolerant(s)
	return sv, err == nil
}

// LastReleased returns the highest semantic version of fn that is not a
// prerelease, with the version that carries it; false when fn has no such
// release (the next release is then computed from 0.0.0). When two versions
// carry the same precedence the newest of them is returned. To include
// prereleases, take the last element of Releases.
//
// Errors are those of Provider.Versions, wrapped.
func LastReleased(ctx context.Context, p provider.Provider, fn string) (semver.Version, provider.Version, bool, error) {
	rs, err := Releases(ctx, p, fn)
	if err != nil {
		return semver.Version{}, provider.Version{}, false, err
	}
	r, ok := lastRelease(rs)
	return r.Semver, r.Version, ok, nil
}

// lastRelease returns the last element of rs (sorted by Releases) that is
// not a prerelease.
func lastRelease(rs []ReleasedVersion) (ReleasedVersion, bool) {
	for i := len(rs) - 1; i >= 0; i-- {
		if !rs[i].Semver.IsPrerelease() {
			return rs[i], true
		}
	}
	return ReleasedVersion{}, false
}

// NextVersion returns the release that follows last: last.Bump(level) when
// level is one of semver.Patch, Minor or Major, and otherwise (level is
// zero) the version the Conventional Commits messages call for,
// last.NextFromCommits(commits), with its 0.y.z rule:
//
//	1.4.2, Minor                      1.5.0
//	1.4.2, 0, ["fix: …", "feat: …"]   1.5.0
//	1.4.2, 0, ["feat!: …"]            2.0.0
//	0.4.2, 0, ["feat!: …"]            0.5.0
//	0.0.0, 0, ["feat: …"]             0.1.0   (a first release)
//	1.4.2, 0, ["docs: …"]             error wrapping semver.ErrNoRelease
//
// An explicit level wins over the commits. Errors: one wrapping
// semver.ErrNoRelease when no commit calls for a release ("no release
// needed": the caller should publish nothing), provider.ErrInvalid for a
// level that is not a Level, semver.ErrOverflow when a number would pass
// math.MaxUint64.
func NextVersion(last semver.Version, level semver.Level, commits []string) (semver.Version, error) {
	switch level {
	case 0:
		v, err := last.NextFromCommits(commits)
		if err != nil {
			return semver.Version{}, fmt.Errorf("release: %w", err)
		}
		return v, nil
	case semver.Patch, semver.Minor, semver.Major:
		return bump(last, level)
	}
	return semver.Version{}, provider.Invalid("next version", "level", fmt.Sprintf("is %d, not patch, minor or major", level))
}

// bump is last.Bump(level) with overflow reported as an error wrapping
// semver.ErrOverflow instead of a panic. Bump drops the prerelease of a
// version that is a prerelease of the bumped release (1.2.0-rc.1 by Minor
// is 1.2.0) without incrementing; otherwise the level's number goes up.
func bump(last semver.Version, level semver.Level) (semver.Version, error) {
	n := last.Patch()
	switch level {
	case semver.Major:
		n = last.Major()
	case semver.Minor:
		n = last.Minor()
	}
	dropsPre := last.IsPrerelease() && (level == semver.Patch ||
		level == semver.Minor && last.Patch() == 0 ||
		level == semver.Major && last.Minor() == 0 && last.Patch() == 0)
	if n == math.MaxUint64 && !dropsPre {
		return semver.Version{}, fmt.Errorf("release: next %s version after %s: %w", level, last, semver.ErrOverflow)
	}
	return last.Bump(level), nil
}

// nextPrerelease returns the next prerelease of the release core with
// identifier id (dot-separated identifiers, such as "rc"): core-id.0 when no
// existing version is a prerelease of core starting with id, and otherwise
// the highest such prerelease advanced by BumpPrerelease (core-id.3 after
// core-id.2).
func nextPrerelease(core semver.Version, id string, existing []ReleasedVersion) (semver.Version, error) {
	var top semver.Version
	found := false
	prefix := id + "."
	for _, r := range existing {
		v := r.Semver
		if v.IsPrerelease() && v.Core().Equal(core) && strings.HasPrefix(v.Prerelease(), prefix) && (!found || v.Compare(top) > 0) {
			top, found = v, true
		}
	}
	if !found {
		return core.WithPrerelease(id + ".0")
	}
	return top.BumpPrerelease(id)
}

// PublishRequest is what Publish releases: an artifact and its
// configuration, and how to number it.
//
// The semantic version is, in order of preference: Semver when set; else
// the release after the last one (LastReleased) at Level when set, else at
// the level Commits call for (NextVersion). With Prerelease set, the
// version is the next prerelease of that release: 1.3.0-rc.0, then
// 1.3.0-rc.1 when 1.3.0-rc.0 exists.
type PublishRequest struct {
	Artifact provider.Artifact `json:"artifact"`
	Config   provider.Config   `json:"config"`
	// Level is the explicit bump; nil means "infer it from Commits".
	Level *semver.Level `json:"level,omitempty"`
	// Commits are the commit messages since the last release, read as
	// Conventional Commits when Level is nil.
	Commits []string `json:"commits,omitempty"`
	// Commit is the commit the artifact was built from (a SHA), recorded
	// under provider.LabelCommit.
	Commit string `json:"commit,omitempty"`
	// Prerelease is a prerelease identifier, such as "rc" or "beta";
	// empty for a release.
	Prerelease string `json:"prerelease,omitempty"`
	// Semver, when set, is the version to publish, used as is: neither
	// Level, Commits nor Prerelease may be set with it. It may be lower
	// than the last release (a fix on an older line) but must not exist.
	Semver *semver.Version `json:"semver,omitempty"`
	// Schema, when set, is the JSON Schema of the function's input for the
	// last release and for this artifact: a breaking change makes the bump
	// MAJOR, a new optional property at least MINOR (see InputSchema).
	Schema *InputSchema `json:"schema,omitempty"`
}

// Validate checks the request before anything is read or published: the
// artifact and configuration (provider.PublishInput.Validate), a Level
// that is one of the three, a Prerelease that is valid prerelease text, and
// no Level, Commits or Prerelease alongside Semver. Errors wrap
// provider.ErrInvalid and name the field.
func (r PublishRequest) Validate() error {
	if err := (provider.PublishInput{Artifact: r.Artifact, Config: r.Config}).Validate(); err != nil {
		return err
	}
	if r.Level != nil && (*r.Level < semver.Patch || *r.Level > semver.Major) {
		return provider.Invalid("publish request", "level", fmt.Sprintf("is %d, not patch, minor or major", *r.Level))
	}
	if r.Prerelease != "" {
		if _, err := semver.New(0, 0, 0).WithPrerelease(r.Prerelease); err != nil {
			return provider.Invalid("publish request", "prerelease", fmt.Sprintf("%q is not a prerelease identifier: %v", r.Prerelease, err))
		}
	}
	if r.Semver != nil {
		switch {
		case r.Level != nil:
			return provider.Invalid("publish request", "level", "is set together with semver")
		case len(r.Commits) > 0:
			return provider.Invalid("publish request", "commits", "are set together with semver")
		case r.Prerelease != "":
			return provider.Invalid("publish request", "prerelease", "is set together with semver")
		case r.Schema != nil:
			return provider.Invalid("publish request", "schema", "is set together with semver")
		}
	}
	if r.Schema != nil {
		return r.Schema.Validate()
	}
	return nil
}

// Published is the outcome of Publish.
type Published struct {
	// Version is the published version, as the provider returned it.
	Version provider.Version `json:"version"`
	// Semver is its semantic version.
	Semver semver.Version `json:"semver"`
	// Last is the release it follows (see LastReleased); the zero version
	// for a function's first release.
	Last semver.Version `json:"last"`
	// Existing is true when the same artifact and configuration had
	// already been published: Version and Semver are that version's, and
	// nothing new was created.
	Existing bool `json:"existing,omitempty"`
	// Bump is how the level was chosen when the request carried an input
	// schema (PublishRequest.Schema); nil otherwise and when Existing.
	Bump *BumpDecision `json:"bump,omitempty"`
}

// Publish publishes req's artifact as a new immutable version of fn that
// carries the next semantic version in its labels (provider.LabelSemver,
// and provider.LabelCommit when req.Commit is set) and, as "v1.2.3", in its
// description.
//
// Publish is idempotent: when a version of fn already has the same code
// (Artifact.SHA256, or the SHA-256 of Artifact.Zip) and an equal
// configuration, Publish returns it and its semantic version with Existing
// set, and publishes nothing, even when the commits call for no release.
// For an artifact whose hash is unknown (a URI or image without SHA256) the
// provider's own idempotency answers: the version it returns is reported
// as Existing when it existed before.
//
// Errors, all before anything is published: provider.ErrInvalid when req
// does not pass Validate; one wrapping semver.ErrNoRelease when no commit
// calls for a release ("no release needed"); a *VersionExistsError
// (matching provider.ErrConflict) when another version of fn already
// carries a semantic version of the same precedence; an error wrapping
// provider.ErrConflict when the provider reports the artifact as an
// existing version that carries no semantic version (versions are
// immutable: it cannot be relabelled; change the artifact or its
// configuration); and the provider's errors, wrapped.
//
// Publish reads the versions and then publishes; it does not lock the
// function. Two callers publishing different artifacts of one function at
// the same time may compute the same number: serialise releases of a
// function (one CI job per function at a time, as a deploy pipeline does).
func Publish(ctx context.Context, p provider.Provider, fn string, req PublishRequest) (Published, error) {
	if err := provider.CheckName("function", fn); err != nil {
		return Published{}, err
	}
	if err := req.Validate(); err != nil {
		return Published{}, err
	}
	rs, known, err := scan(ctx, p, fn)
	if err != nil && !errors.Is(err, provider.ErrNotFound) {
		return Published{}, err
	}
	last, _ := lastRelease(rs)
	if r, ok := sameArtifact(rs, req); ok {
		return Published{Version: r.Version, Semver: r.Semver, Last: last.Semver, Existing: true}, nil
	}
	bumpDecision, err := req.schemaBump()
	if err != nil {
		return Published{}, err
	}
	next, err := req.next(last.Semver, rs, bumpDecision)
	if err != nil {
		return Published{}, err
	}
	for _, r := range rs {
		if r.Semver.Equal(next) {
			return Published{}, &VersionExistsError{Function: fn, Semver: next.String(), Version: r.Version.ID}
		}
	}
	labels := map[string]string{provider.LabelSemver: next.String()}
	if req.Commit != "" {
		labels[provider.LabelCommit] = req.Commit
	}
	// The description is short: on Lambda the labels travel in it too,
	// within 256 characters.
	v, err := p.Publish(ctx, fn, provider.PublishInput{
		Artifact:    req.Artifact,
		Config:      req.Config,
		Description: "v" + next.String(),
		Labels:      labels,
	})
	if err != nil {
		return Published{}, fmt.Errorf("release: publish %s %s: %w", fn, next, err)
	}
	out := Published{Version: v, Semver: next, Last: last.Semver, Existing: known[v.ID], Bump: bumpDecision}
	if out.Existing {
		sv, ok := labelSemver(v)
		if !ok {
			return Published{}, fmt.Errorf("release: %s: the artifact is already version %s, which carries no semantic version (published outside slipway): %w",
				fn, v.ID, provider.ErrConflict)
		}
		out.Semver, out.Bump = sv, nil
	}
	return out, nil
}

// next computes the semantic version req asks for after last.
func (req PublishRequest) next(last semver.Version, rs []ReleasedVersion, d *BumpDecision) (semver.Version, error) {
	if req.Semver != nil {
		return *req.Semver, nil
	}
	var level semver.Level
	if req.Level != nil {
		level = *req.Level
	}
	if d != nil {
		level = d.Level
	}
	v, err := NextVersion(last, level, req.Commits)
	if err != nil || req.Prerelease == "" {
		return v, err
	}
	pre, err := nextPrerelease(v, req.Prerelease, rs)
	if err != nil {
		return semver.Version{}, fmt.Errorf("release: prerelease %q of %s: %w", req.Prerelease, v, err)
	}
	return pre, nil
}

// sameArtifact returns the newest release with req's code hash and an
// equal configuration; false when req's hash is unknown.
func sameArtifact(rs []ReleasedVersion, req PublishRequest) (ReleasedVersion, bool) {
	hash := req.Artifact.SHA256
	if req.Artifact.Zip != nil {
		sum := sha256.Sum256(req.Artifact.Zip)
		hash = hex.EncodeToString(sum[:])
	}
	if hash == "" {
		return ReleasedVersion{}, false
	}
	var out ReleasedVersion
	found := false
	for _, r := range rs {
		if r.Version.CodeSHA256 == hash && r.Version.Config.Equal(req.Config) &&
			(!found || r.Version.Created.After(out.Version.Created)) {
			out, found = r, true
		}
	}
	return out, found
}
