package semver

import (
	"fmt"
	"strings"
)

// LevelFromCommits returns the release level that the commit messages msgs
// call for under Conventional Commits 1.0.0
// (https://www.conventionalcommits.org), and false when none calls for a
// release. The level is the largest any message calls for:
//
//   - Major for a breaking change: "!" just before the header's colon
//     ("feat!: …", "fix(api)!: …"), or a line "BREAKING CHANGE: …" or
//     "BREAKING-CHANGE: …" after the header (upper case, as the
//     specification requires);
//   - Minor for type "feat";
//   - Patch for types "fix" and "perf";
//   - nothing for other types (build, chore, ci, docs, refactor, revert,
//     style, test …) and for messages whose first line is not a
//     Conventional Commits header ("<type>[(<scope>)][!]: <description>").
//
// Types are matched without regard to case ("Feat: …" is a feature). A
// breaking-change footer counts even when the header is not conventional.
//
// LevelFromCommits does not apply the 0.y.z rule, which depends on the
// current version; [Version.NextFromCommits] does.
func LevelFromCommits(msgs []string) (Level, bool) {
	var max Level
	for _, m := range msgs {
		if l := commitLevel(m); l > max {
			max = l
		}
	}
	return max, max != 0
}

// NextFromCommits returns the release after v that the commit messages
// msgs call for, as v.Bump(level) with the level from [LevelFromCommits],
// except that while v's major version is 0 a breaking change bumps the
// minor version (0.y.z is for initial development, where anything may
// change; leave it with an explicit Bump(Major)):
//
//	1.4.2 + "fix: …"            1.4.3
//	1.4.2 + "feat: …"           1.5.0
//	1.4.2 + "feat!: …"          2.0.0
//	0.4.2 + "feat!: …"          0.5.0
//	0.4.2 + "fix: …"            0.4.3
//	1.5.0-rc.2 + "feat: …"      1.5.0   (see Version.Bump)
//
// It returns an error wrapping [ErrNoRelease] when no message calls for a
// release, and one wrapping [ErrOverflow] if a number would pass
// math.MaxUint64.
func (v Version) NextFromCommits(msgs []string) (Version, error) {
	l, ok := LevelFromCommits(msgs)
	if !ok {
		return Version{}, fmt.Errorf("semver: next version after %s: none of %d commit messages is a feat, fix, perf or breaking change: %w", v, len(msgs), ErrNoRelease)
	}
	if l == Major && v.major == 0 {
		l = Minor
	}
	return v.bump(l)
}

// commitLevel returns the level one commit message calls for, or 0.
func commitLevel(msg string) Level {
	msg = strings.TrimLeft(msg, " \t\r\n")
	header, body, _ := strings.Cut(msg, "\n")
	header = strings.TrimRight(header, "\r")
	for line := range strings.Lines(body) {
		if strings.HasPrefix(line, "BREAKING CHANGE:") || strings.HasPrefix(line, "BREAKING-CHANGE:") {
			return Major
		}
	}
	typ, breaking, ok := parseHeader(header)
	switch {
	case !ok:
		return 0
	case breaking:
		return Major
	}
	switch strings.ToLower(typ) {
	case "feat":
		return Minor
	case "fix", "perf":
		return Patch
	}
	return 0
}

// parseHeader parses "<type>[(<scope>)][!]: <description>", where type is
// letters and scope is not empty.
func parseHeader(h string) (typ string, breaking, ok bool) {
	i := 0
	for i < len(h) && ('a' <= h[i] && h[i] <= 'z' || 'A' <= h[i] && h[i] <= 'Z') {
		i++
	}
	if i == 0 {
		return "", false, false
	}
	typ, h = h[:i], h[i:]
	if strings.HasPrefix(h, "(") {
		end := strings.IndexByte(h, ')')
		if end < 2 || strings.ContainsAny(h[1:end], "()\n") {
			return "", false, false
		}
		h = h[end+1:]
	}
	if strings.HasPrefix(h, "!") {
		breaking, h = true, h[1:]
	}
	if !strings.HasPrefix(h, ": ") || strings.TrimSpace(h[2:]) == "" {
		return "", false, false
	}
	return typ, breaking, true
}
