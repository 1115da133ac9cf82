// Package semver parses, compares and bumps Semantic Versions 2.0.0
// (https://semver.org), matches them against npm-style ranges, and infers
// the next version from Conventional Commits.
//
// # How it fits
//
// Every deploy slipway makes publishes an immutable function version and
// labels it with a semantic version, usually with the commit as build
// metadata (1.4.0+sha.5114f85). Package release picks the label: it bumps
// the last released [Version] by a [Level] given by the caller or inferred
// from the commit messages since ([Version.NextFromCommits]), and records
// the label on the published version. Version ranges ([ParseRange]) select
// among published versions, for example the newest 1.x to promote
// ([MaxSatisfying]). Retention policies and the release journal sort and
// store versions with [Compare], [Version.MarshalText] and the
// database/sql methods.
//
// semver imports nothing from slipway and has no global state; every
// function is safe for concurrent use, and Version and Range are immutable
// values.
//
// # Strictness
//
// [Parse] accepts exactly the SemVer 2.0.0 grammar: MAJOR.MINOR.PATCH with
// all three numbers (no "1.2"), no leading zeros in numbers or numeric
// prerelease identifiers, no empty identifiers, identifiers made of
// [0-9A-Za-z-], no surrounding whitespace. Numbers go up to math.MaxUint64;
// larger ones are rejected, except numeric prerelease identifiers, which
// the specification does not bound and which compare by value at any
// length. A parsed version prints back as its input, so Parse accepts
// only canonical text.
//
// # The "v" rule
//
// Parse rejects a leading "v": "v1.2.3" is a tag name, not a version.
// [ParseTolerant] accepts one leading "v" or "V" and drops it; the result
// prints without it. Write the prefix back yourself when you make a tag.
// Ranges ([ParseRange]) never accept it.
//
// # Precedence
//
// [Compare] implements semver.org §11 and ignores build metadata, so
// [Version.Equal] reports equal precedence; == compares build metadata too.
// slices.SortFunc(vs, semver.Compare) sorts by precedence.
//
// # Bumping
//
// [Version.Bump] follows node-semver's inc: bumping a prerelease to the
// release it precedes drops the prerelease (1.2.0-rc.1 by [Minor] is
// 1.2.0, not 1.3.0); otherwise the level's number goes up and the lower
// ones go to zero. [Version.BumpPre] and [Version.BumpPrerelease] make
// and advance prereleases: 1.2.3 → 1.3.0-rc.0 → 1.3.0-rc.1 → 1.3.0. Build
// metadata is always dropped.
//
// # Ranges
//
// [ParseRange] reads node-semver's range grammar (^, ~, ~>, x-ranges,
// partial versions, hyphen ranges, comparators, space-separated
// intersections, || unions) without its loose mode, and desugars it the
// way node-semver does, so [Range.String] gives node's canonical form:
// "^0.2.3" is ">=0.2.3 <0.3.0-0". Build metadata in a range is ignored.
//
// Prerelease rule: a version with a prerelease is in a range only if one
// comparator set contains it and some comparator in that set names the same
// MAJOR.MINOR.PATCH with a prerelease. So ">=1.2.3-rc.1 <2.0.0" contains
// 1.2.3-rc.2 but not 1.5.0-beta, and "*" or "^1.0.0" contain no
// prerelease at all: a release train never picks up a prerelease it did
// not ask for.
//
// # Conventional Commits
//
// [LevelFromCommits] reads commit messages: "feat" is [Minor]; "fix" and
// "perf" are [Patch]; "!" before the colon ("feat(api)!: …") or a
// "BREAKING CHANGE:" or "BREAKING-CHANGE:" footer is [Major]; other types
// (chore, docs, refactor, test, ci, build, style, revert …) call for no
// release. [Version.NextFromCommits] applies the 0.y.z rule: while the
// major version is 0 the public API is not stable, so a breaking change
// bumps the minor version; leaving 0.y.z is an explicit Bump(Major). When
// nothing calls for a release it returns [ErrNoRelease].
//
// # Errors
//
// Malformed input gives a *[ParseError] that says what was wrong and where
// and wraps [ErrInvalid]; a bump past math.MaxUint64 gives [ErrOverflow].
// MustParse and Bump panic only on programmer error (a constant that does
// not parse, a Level that is not one of the constants) or overflow.
package semver
