package retention

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/slipway-dev/slipway/provider"
)

// Plan is the dry run: every version of every function planned, with the
// decision taken and the reasons for it. It is what Apply executes, and it
// serialises to JSON and prints as a table (String, WriteTo) for a person.
type Plan struct {
	Policy Policy `json:"policy"`
	// Time is the instant the plan was made for (KeepWithin is measured
	// from it).
	Time time.Time `json:"time"`
	// Functions are ordered by name.
	Functions []FunctionPlan `json:"functions"`
}

// FunctionPlan is the plan for one function.
type FunctionPlan struct {
	Function string `json:"function"`
	// Versions are in creation order, oldest first.
	Versions []Decision `json:"versions"`
	// Notes say what the plan could not check or what in the policy did not
	// apply (usage not reported, a pinned version that does not exist).
	Notes []string `json:"notes,omitempty"`
	// Error is set when the function could not be read; Versions is then
	// empty and nothing of the function is deleted.
	Error string `json:"error,omitempty"`
}

// Decision is what the plan does with one version and why.
type Decision struct {
	Version string    `json:"version"`
	Created time.Time `json:"created"`
	// Semver is the version's provider.LabelSemver label, if any.
	Semver string `json:"semver,omitempty"`
	Action Action `json:"action"`
	// Reasons lists every rule that keeps the version, or (for Delete) one
	// reason with Rule == RuleNone saying which rules it fell out of.
	Reasons []Reason `json:"reasons"`
}

// Action is a Decision's verdict.
type Action string

// Actions.
const (
	Keep   Action = "keep"
	Delete Action = "delete"
)

// Reason is one rule's say on a version.
type Reason struct {
	Rule   Rule   `json:"rule"`
	Detail string `json:"detail"`
}

// Rule names the rule behind a Reason.
type Rule string

// Rules. The first five are the safety rules: a version any of them keeps is
// never deleted whatever the policy says.
const (
	RuleRoute    Rule = "route"    // a route references the version
	RuleNewest   Rule = "newest"   // the newest published version
	RulePinned   Rule = "pinned"   // Policy.Pinned
	RuleRollback Rule = "rollback" // a rollback point (Policy.RollbackPoints)
	RuleUsage    Rule = "usage"    // in use according to provider.UsageReporter
	RuleLast     Rule = "last"     // Policy.KeepLast
	RuleWithin   Rule = "within"   // Policy.KeepWithin
	RuleLabel    Rule = "label"    // Policy.KeepLabels
	RuleNone     Rule = "none"     // no rule keeps the version: it may be deleted
)

// Safety reports whether r is one of the rules that keep a version whatever
// the policy says.
func (r Rule) Safety() bool {
	switch r {
	case RuleRoute, RuleNewest, RulePinned, RuleRollback, RuleUsage:
		return true
	}
	return false
}

// Snapshot is what the planner reads about one function: the input of
// Decide.
type Snapshot struct {
	Function string
	// Versions in any order; Decide sorts them by Created, keeping the
	// given order for equal times (providers list oldest first).
	Versions []provider.Version
	Routes   []provider.Route
	Usage    []provider.Usage
	// UsageUnknown is true when the provider cannot report usage
	// (provider.UsageReporter absent or ErrUnsupported).
	UsageUnknown bool
}

// Decide plans one function: the pure core of Planner.Plan. pol must be
// valid (Policy.Validate); a label rule with a malformed range matches
// nothing. Decide does no I/O and reads no clock.
func Decide(s Snapshot, pol Policy, now time.Time) FunctionPlan {
	vs := slices.Clone(s.Versions)
	slices.SortStableFunc(vs, func(a, b provider.Version) int { return a.Created.Compare(b.Created) })
	fp := FunctionPlan{Function: s.Function, Versions: make([]Decision, len(vs))}
	index := make(map[string]int, len(vs))
	for i, v := range vs {
		index[v.ID] = i
		fp.Versions[i] = Decision{Version: v.ID, Created: v.Created, Semver: v.Labels[provider.LabelSemver]}
	}
	keep := func(id string, r Rule, detail string) bool {
		i, ok := index[id]
		if ok {
			fp.Versions[i].Reasons = append(fp.Versions[i].Reasons, Reason{r, detail})
		}
		return ok
	}

	routes := slices.Clone(s.Routes)
	slices.SortStableFunc(routes, func(a, b provider.Route) int { return cmp.Compare(a.Alias, b.Alias) })
	for _, rt := range routes {
		for _, w := range rt.Weights {
			keep(w.Version, RuleRoute, fmt.Sprintf("alias %s (%s)", rt.Alias, provider.Percent(w.BasisPoints)))
		}
	}
	if n := len(vs); n > 0 {
		keep(vs[n-1].ID, RuleNewest, "newest version")
	}
	for _, id := range pol.Pinned[s.Function] {
		if !keep(id, RulePinned, "pinned") {
			fp.Notes = append(fp.Notes, fmt.Sprintf("pinned version %s does not exist", id))
		}
	}
	hist := pol.RollbackPoints[s.Function]
	for _, alias := range sortedKeys(hist) {
		var seen []string
		for _, id := range hist[alias] {
			if slices.Contains(seen, id) {
				continue
			}
			if pol.KeepRollbackPoints > 0 && len(seen) == pol.KeepRollbackPoints {
				break
			}
			seen = append(seen, id)
			if !keep(id, RuleRollback, fmt.Sprintf("rollback point %d of alias %s", len(seen), alias)) {
				fp.Notes = append(fp.Notes, fmt.Sprintf("rollback point %d of alias %s, version %s, no longer exists", len(seen), alias, id))
			}
		}
	}
	if len(hist) == 0 && len(pol.RollbackPoints) > 0 {
		fp.Notes = append(fp.Notes, "no rollback points supplied for this function")
	}
	if s.UsageUnknown {
		fp.Notes = append(fp.Notes, "usage not checked: the provider cannot report versions in use outside routes")
	}
	for _, u := range s.Usage {
		keep(u.Version, RuleUsage, "in use: "+u.Reason)
	}

	n := len(vs)
	if pol.KeepLast > 0 {
		for i := max(0, n-pol.KeepLast); i < n; i++ {
			keep(vs[i].ID, RuleLast, fmt.Sprintf("#%d of the last %d", n-i, pol.KeepLast))
		}
	}
	if pol.KeepWithin > 0 {
		for _, v := range vs {
			if age := now.Sub(v.Created); age < pol.KeepWithin {
				keep(v.ID, RuleWithin, fmt.Sprintf("age %s, within %s", formatAge(age), formatSpan(pol.KeepWithin)))
			}
		}
	}
	for i, details := range labelKeeps(pol.KeepLabels, vs) {
		for _, d := range details {
			keep(vs[i].ID, RuleLabel, d)
		}
	}

	for i := range fp.Versions {
		d := &fp.Versions[i]
		if len(d.Reasons) > 0 {
			d.Action = Keep
			continue
		}
		d.Action = Delete
		d.Reasons = []Reason{{RuleNone, whyDeletable(pol, now.Sub(d.Created))}}
	}
	return fp
}

func whyDeletable(pol Policy, age time.Duration) string {
	var why []string
	if pol.KeepLast > 0 {
		why = append(why, fmt.Sprintf("older than the last %d", pol.KeepLast))
	}
	if pol.KeepWithin > 0 {
		why = append(why, fmt.Sprintf("age %s, over %s", formatAge(age), formatSpan(pol.KeepWithin)))
	}
	if len(pol.KeepLabels) > 0 {
		why = append(why, "no label rule matches")
	}
	if len(why) == 0 {
		return "not routed, pinned, a rollback point or in use"
	}
	return strings.Join(why, "; ")
}

// formatAge prints an age rounded down to a readable unit: days from two
// days up, hours from two hours up, else minutes.
func formatAge(d time.Duration) string {
	switch {
	case d >= 2*day:
		return fmt.Sprintf("%dd", d/day)
	case d >= 2*time.Hour:
		return fmt.Sprintf("%dh", d/time.Hour)
	case d > 0:
		return fmt.Sprintf("%dm", d/time.Minute)
	default:
		return "0m"
	}
}

// formatSpan prints a policy duration exactly, in the largest unit that
// divides it: 720h "30d", 36h "36h", 90m "90m", 90s "1m30s".
func formatSpan(d time.Duration) string {
	switch {
	case d%day == 0:
		return fmt.Sprintf("%dd", d/day)
	case d%time.Hour == 0:
		return fmt.Sprintf("%dh", d/time.Hour)
	case d%time.Minute == 0:
		return fmt.Sprintf("%dm", d/time.Minute)
	default:
		return d.String()
	}
}

const day = 24 * time.Hour

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// Deletions returns the IDs of the versions the plan deletes, in creation
// order.
func (f FunctionPlan) Deletions() []string {
	var ids []string
	for _, d := range f.Versions {
		if d.Action == Delete {
			ids = append(ids, d.Version)
		}
	}
	return ids
}

// Counts returns how many versions the plan covers, keeps and deletes.
func (p Plan) Counts() (versions, kept, deleted int) {
	for _, f := range p.Functions {
		for _, d := range f.Versions {
			versions++
			if d.Action == Delete {
				deleted++
			} else {
				kept++
			}
		}
	}
	return versions, kept, deleted
}

// Validate checks that the plan is consistent, as Apply does before any
// call, so that a plan edited by hand or decoded from a damaged file cannot
// delete what the safety rules keep: every function named once, every
// version named once, every Action keep or delete, no deletion of a version
// with a safety reason, of the newest version or of a version pinned by the
// plan's policy. Errors wrap provider.ErrInvalid.
func (p Plan) Validate() error {
	bad := func(field, msg string) error {
		return fmt.Errorf("retention: %w", provider.Invalid("plan", field, msg))
	}
	fns := map[string]bool{}
	for fi, f := range p.Functions {
		if f.Function == "" {
			return bad(fmt.Sprintf("functions[%d].function", fi), "is empty")
		}
		if fns[f.Function] {
			return bad(fmt.Sprintf("functions[%d].function", fi), fmt.Sprintf("%q appears twice", f.Function))
		}
		fns[f.Function] = true
		ids := map[string]bool{}
		for vi, d := range f.Versions {
			field := fmt.Sprintf("functions[%d].versions[%d]", fi, vi)
			if d.Version == "" {
				return bad(field+".version", "is empty")
			}
			if ids[d.Version] {
				return bad(field+".version", fmt.Sprintf("%q appears twice", d.Version))
			}
			ids[d.Version] = true
			switch d.Action {
			case Keep:
				continue
			case Delete:
			default:
				return bad(field+".action", fmt.Sprintf("is %q, want %q or %q", d.Action, Keep, Delete))
			}
			if f.Error != "" {
				return bad(field+".action", "deletes a version of a function that could not be planned")
			}
			for _, r := range d.Reasons {
				if r.Rule.Safety() {
					return bad(field+".action", fmt.Sprintf("deletes version %s of %s which rule %q keeps", d.Version, f.Function, r.Rule))
				}
			}
			if vi == len(f.Versions)-1 {
				return bad(field+".action", fmt.Sprintf("deletes version %s, the newest of %s", d.Version, f.Function))
			}
			if slices.Contains(p.Policy.Pinned[f.Function], d.Version) {
				return bad(field+".action", fmt.Sprintf("deletes version %s of %s which is pinned", d.Version, f.Function))
			}
		}
	}
	return nil
}
