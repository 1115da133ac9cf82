package retention

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/slipway-dev/slipway/provider"
)

// Policy says which published versions to keep. It is a plain value: it
// serialises to JSON (KeepWithin as a Go duration string such as "720h"),
// compares with cmp.Diff, and is checked by Validate before any call.
//
// A version is kept when at least one rule keeps it. The policy rules are
// KeepLast, KeepWithin and KeepLabels. Whatever they say, these versions are
// always kept (the safety rules):
//   - every version a route references, as primary or weighted target, even
//     with a zero weight;
//   - the newest published version;
//   - the versions pinned in Pinned;
//   - the rollback points in RollbackPoints (see KeepRollbackPoints);
//   - the versions the provider reports as otherwise in use
//     (provider.UsageReporter: provisioned concurrency, event-source mappings
//     pinned to a version, …), where the provider can tell.
//
// The zero Policy is invalid: with no policy rule it would delete every
// version that the safety rules do not keep, so a caller who wants exactly
// that says so with AllowDeleteAllUnreferenced.
type Policy struct {
	// KeepLast keeps the KeepLast most recently published versions of each
	// function (in creation order; the newest counts as one of them).
	// 0 disables the rule.
	KeepLast int `json:"keepLast,omitempty"`
	// KeepWithin keeps versions published less than KeepWithin before the
	// plan's time. 0 disables the rule.
	KeepWithin time.Duration `json:"keepWithin,omitempty"`
	// KeepLabels keeps versions matched by any of the rules.
	KeepLabels []LabelRule `json:"keepLabels,omitempty"`

	// Pinned maps a function name to version IDs that are always kept.
	Pinned map[string][]string `json:"pinned,omitempty"`
	// RollbackPoints maps a function name to the history of its routes:
	// for each alias, the versions it pointed at before its current
	// target, most recent first. slipway's release journal supplies it;
	// versions that no longer exist are ignored.
	RollbackPoints map[string]RouteHistory `json:"rollbackPoints,omitempty"`
	// KeepRollbackPoints is how many distinct rollback points of each
	// alias are always kept (the first ones of its RouteHistory entry).
	// 0 keeps every rollback point supplied.
	KeepRollbackPoints int `json:"keepRollbackPoints,omitempty"`

	// AllowDeleteAllUnreferenced must be set for a policy without any of
	// KeepLast, KeepWithin and KeepLabels: such a policy deletes every
	// version the safety rules do not keep.
	AllowDeleteAllUnreferenced bool `json:"allowDeleteAllUnreferenced,omitempty"`
}

// RouteHistory maps an alias to the versions it pointed at before its
// current target, most recent first.
type RouteHistory map[string][]string

// LabelRule keeps versions by one of their labels (provider.Version.Labels).
// The conditions that are set must all hold:
//   - Equals: the label's value is exactly Equals;
//   - Range: the label's value is a semantic version (semver.Parse) inside
//     the range (semver.ParseRange syntax: "^1.2", "1.x", ">=1.0.0 <2.0.0",
//     "1.2 - 1.4 || ^2");
//   - Latest: the version has the highest semantic version (semver.Compare)
//     of its group among the versions of the function that meet the other
//     conditions, grouping by major ("major": "the latest 1.x, the latest
//     2.x, …"), by major.minor ("minor": "the latest patch of each minor"),
//     or by major.minor.patch ("patch": the release itself when it was
//     published, else its highest prerelease). When two versions carry the
//     same precedence (build metadata is ignored), the one published later
//     is the latest.
//
// A label value that is not a semantic version never meets Range or Latest.
// At least one of Key, Equals, Range and Latest must be set; a rule with only
// Key keeps every version that carries the label.
type LabelRule struct {
	// Key is the label's key; empty means provider.LabelSemver.
	Key    string `json:"key,omitempty"`
	Equals string `json:"equals,omitempty"`
	Range  string `json:"range,omitempty"`
	// Latest is "", "major", "minor" or "patch".
	Latest string `json:"latest,omitempty"`
}

// Groupings accepted by LabelRule.Latest.
const (
	LatestOfMajor = "major"
	LatestOfMinor = "minor"
	LatestOfPatch = "patch"
)

func (r LabelRule) key() string {
	if r.Key == "" {
		return provider.LabelSemver
	}
	return r.Key
}

// hasRule reports whether any policy rule (as opposed to a safety rule) is
// set.
func (p Policy) hasRule() bool {
	return p.KeepLast > 0 || p.KeepWithin > 0 || len(p.KeepLabels) > 0
}

// Validate checks the policy. Errors wrap provider.ErrInvalid (as a
// *provider.InvalidError naming the field) and start with "retention:".
func (p Policy) Validate() error {
	bad := func(field, msg string) error {
		return fmt.Errorf("retention: %w", provider.Invalid("policy", field, msg))
	}
	if p.KeepLast < 0 {
		return bad("keepLast", fmt.Sprintf("is %d, must not be negative", p.KeepLast))
	}
	if p.KeepWithin < 0 {
		return bad("keepWithin", fmt.Sprintf("is %s, must not be negative", p.KeepWithin))
	}
	if p.KeepRollbackPoints < 0 {
		return bad("keepRollbackPoints", fmt.Sprintf("is %d, must not be negative", p.KeepRollbackPoints))
	}
	for i, r := range p.KeepLabels {
		if err := r.validate(); err != nil {
			return bad(fmt.Sprintf("keepLabels[%d]%s", i, err.field), err.msg)
		}
	}
	for fn, ids := range p.Pinned {
		if fn == "" {
			return bad("pinned", "has an empty function name")
		}
		for i, id := range ids {
			if id == "" {
				return bad(fmt.Sprintf("pinned[%q][%d]", fn, i), "is empty")
			}
		}
	}
	for fn, h := range p.RollbackPoints {
		if fn == "" {
			return bad("rollbackPoints", "has an empty function name")
		}
		for alias, ids := range h {
			if alias == "" {
				return bad(fmt.Sprintf("rollbackPoints[%q]", fn), "has an empty alias")
			}
			for i, id := range ids {
				if id == "" {
					return bad(fmt.Sprintf("rollbackPoints[%q][%q][%d]", fn, alias, i), "is empty")
				}
			}
		}
	}
	if !p.hasRule() && !p.AllowDeleteAllUnreferenced {
		return bad("", "sets none of keepLast, keepWithin, keepLabels: it would delete every version "+
			"no route, pin, rollback point or usage keeps; set allowDeleteAllUnreferenced to mean that")
	}
	return nil
}

type ruleError struct{ field, msg string }

func (r LabelRule) validate() *ruleError {
	if r.Key == "" && r.Equals == "" && r.Range == "" && r.Latest == "" {
		return &ruleError{"", "is empty: set key, equals, range or latest"}
	}
	switch r.Latest {
	case "", LatestOfMajor, LatestOfMinor, LatestOfPatch:
	default:
		return &ruleError{".latest", fmt.Sprintf("is %q, want %q, %q or %q", r.Latest, LatestOfMajor, LatestOfMinor, LatestOfPatch)}
	}
	if r.Range != "" {
		if _, err := parseRange(r.Range); err != nil {
			return &ruleError{".range", fmt.Sprintf("%q is not a semver range: %v", r.Range, err)}
		}
	}
	return nil
}

// MarshalJSON encodes the policy with KeepWithin as a duration string
// ("720h0m0s").
func (p Policy) MarshalJSON() ([]byte, error) {
	type plain Policy
	var within string
	if p.KeepWithin != 0 {
		within = p.KeepWithin.String()
	}
	return json.Marshal(struct {
		plain
		KeepWithin string `json:"keepWithin,omitempty"`
	}{plain(p), within})
}

// UnmarshalJSON decodes a policy; keepWithin may be a duration string
// ("720h", "90m") or a number of nanoseconds.
func (p *Policy) UnmarshalJSON(b []byte) error {
	type plain Policy
	var aux struct {
		*plain
		KeepWithin json.RawMessage `json:"keepWithin,omitempty"`
	}
	aux.plain = (*plain)(p)
	if err := json.Unmarshal(b, &aux); err != nil {
		return err
	}
	p.KeepWithin = 0
	if len(aux.KeepWithin) == 0 || string(aux.KeepWithin) == "null" {
		return nil
	}
	var s string
	if err := json.Unmarshal(aux.KeepWithin, &s); err == nil {
		d, err := time.ParseDuration(s)
		if err != nil {
			return fmt.Errorf("retention: %w", provider.Invalid("policy", "keepWithin", fmt.Sprintf("%q is not a duration", s)))
		}
		p.KeepWithin = d
		return nil
	}
	n, err := strconv.ParseInt(string(aux.KeepWithin), 10, 64)
	if err != nil {
		return fmt.Errorf("retention: %w", provider.Invalid("policy", "keepWithin", fmt.Sprintf("%s is neither a duration string nor nanoseconds", aux.KeepWithin)))
	}
	p.KeepWithin = time.Duration(n)
	return nil
}
