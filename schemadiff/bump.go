package schemadiff

import (
	"fmt"

	"github.com/slipway-dev/slipway/semver"
)

// Decision is the bump level of a release that has an input schema, and
// why.
type Decision struct {
	// Level is the larger of Schema.Level and Commits.
	Level semver.Level `json:"level"`
	// Schema is the schema diff; Commits the level the commit messages call
	// for (0 when none does).
	Schema  Report       `json:"schema"`
	Commits semver.Level `json:"commits,omitempty"`
	// Reason is one line for the journal and the summary, e.g. "major: the
	// input schema breaks callers (property removed at customer.id); the
	// commits call for minor".
	Reason string `json:"reason"`
}

// Bump decides the level of a release from the schema diff and the commit
// messages since the last release (read as Conventional Commits by
// semver.LevelFromCommits): the larger of the two.
func Bump(schema Report, commits []string) Decision {
	cl, _ := semver.LevelFromCommits(commits)
	d := Decision{Level: max(schema.Level, cl), Schema: schema, Commits: cl}
	commitText := "no commit calls for a release"
	if cl != 0 {
		commitText = "the commits call for " + cl.String()
	}
	switch {
	case schema.Level > cl:
		d.Reason = fmt.Sprintf("%s: the input schema %s; %s", d.Level, schemaText(schema), commitText)
	default:
		d.Reason = fmt.Sprintf("%s: %s; the input schema %s", d.Level, commitText, schemaText(schema))
	}
	return d
}

func schemaText(r Report) string {
	reason := r.Reason()
	detail := reason[len(r.Level.String())+2:]
	switch r.Level {
	case semver.Major:
		return "breaks callers (" + detail + ")"
	case semver.Minor:
		return "adds to what callers may send (" + detail + ")"
	}
	if len(r.Changes) == 0 {
		return "is unchanged"
	}
	return "changed compatibly (" + detail + ")"
}
