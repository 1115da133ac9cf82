package release

import (
	"fmt"

	"github.com/slipway-dev/slipway/provider"
	"github.com/slipway-dev/slipway/schemadiff"
	"github.com/slipway-dev/slipway/semver"
)

// InputSchema is the JSON Schema of a function's input: the one the last
// release accepted (Previous) and the candidate's. Publish classifies the
// change (schemadiff.Diff: a removed property, a new required one, a
// narrowed type or enum → MAJOR; a new optional property → MINOR; else
// PATCH) and bumps by the larger of that and the level the request
// otherwise asks for (its Level, or the Conventional Commits level of its
// Commits). The reason is in Published.Bump, the journal's publish entry
// and the summary.
//
// Previous nil means the function had no schema before (a first release):
// nothing is compared. An unchanged schema with commits that call for no
// release is still no release (semver.ErrNoRelease). The contract replay (Contract) validates recorded
// events against Candidate.
type InputSchema struct {
	Previous  []byte `json:"previous,omitempty"`
	Candidate []byte `json:"candidate"`
}

// Validate checks that Candidate (and Previous, when set) compile as JSON
// Schema. Errors wrap provider.ErrInvalid.
func (s InputSchema) Validate() error {
	if len(s.Candidate) == 0 {
		return provider.Invalid("publish request", "schema.candidate", "is empty")
	}
	if _, err := schemadiff.Compile(s.Candidate); err != nil {
		return provider.Invalid("publish request", "schema.candidate", err.Error())
	}
	if s.Previous != nil {
		if _, err := schemadiff.Compile(s.Previous); err != nil {
			return provider.Invalid("publish request", "schema.previous", err.Error())
		}
	}
	return nil
}

// BumpDecision is how Publish chose the level of a release with an input
// schema.
type BumpDecision struct {
	// Level is the level used.
	Level semver.Level `json:"level"`
	// Schema is the classified schema change.
	Schema schemadiff.Report `json:"schema"`
	// Reason is one line, e.g. "major: the input schema breaks callers
	// (property removed at customer.id); the commits call for minor".
	Reason string `json:"reason"`
}

// schemaBump decides the level from the schema; nil when the request has
// no schema to compare (none, no Previous, or an explicit Semver).
func (req PublishRequest) schemaBump() (*BumpDecision, error) {
	if req.Schema == nil || req.Schema.Previous == nil || req.Semver != nil {
		return nil, nil
	}
	rep, err := schemadiff.Diff(req.Schema.Previous, req.Schema.Candidate)
	if err != nil {
		return nil, provider.Invalid("publish request", "schema", err.Error())
	}
	d := schemadiff.Bump(rep, req.Commits)
	if req.Level == nil && d.Commits == 0 && len(rep.Changes) == 0 {
		return nil, nil // nothing calls for a release: NextVersion says so
	}
	out := &BumpDecision{Level: d.Level, Schema: rep, Reason: d.Reason}
	if req.Level != nil {
		out.Level = max(*req.Level, rep.Level)
		if rep.Level > *req.Level {
			out.Reason = fmt.Sprintf("%s: the input schema overrides the requested %s (%s)", out.Level, *req.Level, rep.Reason())
		} else {
			out.Reason = fmt.Sprintf("%s: as requested; the input schema: %s", out.Level, rep.Reason())
		}
	}
	return out, nil
}
