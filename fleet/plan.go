package fleet

import (
	"fmt"
	"regexp"
	"slices"
	"time"

	"github.com/slipway-dev/slipway/canary"
	"github.com/slipway-dev/slipway/provider"
	"github.com/slipway-dev/slipway/release"
)

// DefaultAlias is the alias a Plan releases when its Alias is empty.
const DefaultAlias = "production"

// Target is one function in one region of one provider account: the unit a
// fleet release moves, with its own canary.
type Target struct {
	Function string `json:"function"`
	// Region names the region the function runs in; its deploy windows and
	// time zone are Plan.Regions[Region]. Required.
	Region string `json:"region"`
	// Provider names the provider account (and region, where the platform's
	// API limits are regional) that serves the function: the key of the
	// executor's providers and the unit of Plan.Accounts' limits. Required.
	Provider string `json:"provider"`
	// Group names the targets that share one verdict: when one of them
	// fails, every one of them goes back to its previous version. "" makes
	// the target a group of its own. A group is never split across waves.
	Group string `json:"group,omitempty"`
	// Candidate is the version to release. "" means: publish Plan.Publish
	// to the function and release the version it returns (Publish is
	// idempotent, so a retried target publishes once).
	Candidate string `json:"candidate,omitempty"`
}

// ID names the target in the journal, in stores and in workflow IDs:
// provider/region/function. A function's name repeats across regions, so
// the journal records a fleet's changes under the target's ID.
func (t Target) ID() string { return t.Provider + "/" + t.Region + "/" + t.Function }

// group returns the target's group name; a target without one is alone.
func (t Target) group() string {
	if t.Group == "" {
		return "\x00" + t.ID()
	}
	return t.Group
}

// Wave selects targets released together, then baked and judged together
// before the next wave starts.
//
// A target is in the first wave that selects it: by ID (Targets), by
// region (Regions), or by share (Percent: the wave takes targets, in plan
// order, until the waves so far hold Percent percent of all targets,
// rounded up). A wave may combine them. The last wave takes every target
// no earlier wave took ("the rest"), whatever it selects. A group joins
// the wave of its first member.
type Wave struct {
	Name    string   `json:"name"`
	Targets []string `json:"targets,omitempty"`
	Regions []string `json:"regions,omitempty"`
	Percent int      `json:"percent,omitempty"`
	// Bake is how long the wave's targets stay on their candidates, after
	// the last of them succeeded, before the wave is judged and the next
	// one starts.
	Bake time.Duration `json:"bake,omitempty"`
	// MaxParallel bounds the wave's targets in flight at once; 0 means no
	// bound (Accounts' bounds still apply).
	MaxParallel int `json:"maxParallel,omitempty"`
	// Approval makes the wave wait for an operator's Approve before it
	// starts.
	Approval bool `json:"approval,omitempty"`
}

// Region is where targets run: its time zone and the deploy policy read in
// it.
type Region struct {
	// TimeZone is an IANA zone name; windows of Policy without a TimeZone
	// of their own are read in it. "" is UTC.
	TimeZone string `json:"timeZone,omitempty"`
	// Policy's windows and freezes apply to the region's targets (with the
	// plan's Freezes).
	Policy release.DeployPolicy `json:"policy,omitzero"`
}

// Limit bounds the calls made to one provider account.
type Limit struct {
	// MaxParallel bounds the account's targets in flight at once (across
	// waves); 0 means no bound.
	MaxParallel int `json:"maxParallel,omitempty"`
	// Rate bounds the provider calls per second made for the account
	// (golang.org/x/time/rate); 0 means no bound. Burst is the bucket's
	// size; 0 means 1.
	Rate  float64 `json:"rate,omitempty"`
	Burst int     `json:"burst,omitempty"`
}

// Scope is how much of a release a failure sends back.
type Scope int

const (
	// ScopeGroup (the zero value): the failing target's group goes back
	// to its previous versions; targets of other groups keep their
	// candidates, those in flight finish, and no further target starts.
	ScopeGroup Scope = iota
	// ScopeRelease: every target the release moved goes back, in every
	// wave done so far; targets in flight are aborted (their canaries roll
	// back).
	ScopeRelease
)

func (s Scope) String() string {
	switch s {
	case ScopeGroup:
		return "group"
	case ScopeRelease:
		return "release"
	}
	return fmt.Sprintf("Scope(%d)", int(s))
}

// MarshalText encodes the scope by name.
func (s Scope) MarshalText() ([]byte, error) {
	if s != ScopeGroup && s != ScopeRelease {
		return nil, fmt.Errorf("fleet: invalid scope %d", int(s))
	}
	return []byte(s.String()), nil
}

// UnmarshalText decodes "group" or "release".
func (s *Scope) UnmarshalText(b []byte) error {
	switch string(b) {
	case "group":
		*s = ScopeGroup
	case "release":
		*s = ScopeRelease
	default:
		return fmt.Errorf("fleet: unknown scope %q (group, release)", b)
	}
	return nil
}

// Plan is a fleet release: which targets move to which candidate, in
// which waves, by which canary strategy, under which limits and deploy
// windows. It is plain data that round-trips through encoding/json
// (checks are named in Strategy and supplied as code by the executor).
type Plan struct {
	// ID names the release; 1–100 characters from [A-Za-z0-9._-], not
	// starting with a dot. Rollout and workflow IDs derive from it.
	ID string `json:"id"`
	// Alias is the alias moved on every target; "" means DefaultAlias.
	Alias string `json:"alias,omitempty"`
	// Strategy is every target's canary. Its checks are named only: the
	// executor gets their code by name (CheckSpec.Check is not
	// serialised).
	Strategy canary.Strategy `json:"strategy"`
	// Publish is published to each target whose Candidate is empty.
	Publish *provider.PublishInput `json:"publish,omitempty"`
	Targets []Target               `json:"targets"`
	Waves   []Wave                 `json:"waves"`
	// Regions holds the time zone and deploy policy of each region named
	// by a target. A region not listed is UTC with no policy.
	Regions map[string]Region `json:"regions,omitempty"`
	// Freezes apply to every region.
	Freezes []release.Freeze `json:"freezes,omitempty"`
	// Accounts bounds each provider account (by Target.Provider).
	Accounts map[string]Limit `json:"accounts,omitempty"`
	// OnFailure is how much a failure sends back (ScopeGroup by default).
	OnFailure Scope `json:"onFailure,omitempty"`
	// BakeChecks name checks (of the executor's) that judge each target
	// of a wave over its bake, the candidate alone (use absolute
	// thresholds: the stable version has no traffic left). None means a
	// wave passes when its canaries succeeded and its routes are still on
	// their candidates after the bake.
	BakeChecks []string `json:"bakeChecks,omitempty"`
	// Actor is recorded in the journal as who released.
	Actor string `json:"actor,omitempty"`
}

var idPattern = regexp.MustCompile(`^[A-Za-z0-9_-][A-Za-z0-9._-]{0,99}$`)

// alias returns the plan's alias with its default.
func (p *Plan) alias() string {
	if p.Alias == "" {
		return DefaultAlias
	}
	return p.Alias
}

// Validate checks the plan before anything is touched: an ID; at least
// one target, each with function, region and provider, unique by ID, with
// a candidate or Plan.Publish; at least one wave, named uniquely, whose
// selections name known targets and regions, whose Percent is 0..100 and
// whose bake and bounds are not negative; no group split across waves by
// explicit selection; every wave but the last selecting at least one
// target that no earlier wave took (an empty wave is a mistake); valid
// regions, policies, freezes and limits; the strategy (its checks named
// and unique; their code is the executor's) and the bake checks named.
// Errors wrap provider.ErrInvalid and name the field.
func (p Plan) Validate() error {
	_, err := p.Resolve()
	return err
}

// Resolve validates the plan (see Validate) and returns its waves as
// indices into Targets, every target in exactly one wave.
func (p Plan) Resolve() ([][]int, error) {
	if !idPattern.MatchString(p.ID) {
		return nil, invalid("id", fmt.Sprintf("%q is not 1-100 characters of [A-Za-z0-9._-] not starting with a dot", p.ID))
	}
	if len(p.Targets) == 0 {
		return nil, invalid("targets", "is empty")
	}
	byID := make(map[string]int, len(p.Targets))
	for i, t := range p.Targets {
		field := fmt.Sprintf("targets[%d]", i)
		for _, f := range []struct{ name, v string }{{"function", t.Function}, {"region", t.Region}, {"provider", t.Provider}} {
			if f.v == "" {
				return nil, invalid(field+"."+f.name, "is empty")
			}
		}
		if j, ok := byID[t.ID()]; ok {
			return nil, invalid(field, fmt.Sprintf("%q repeats targets[%d]", t.ID(), j))
		}
		byID[t.ID()] = i
		if t.Candidate == "" && p.Publish == nil {
			return nil, invalid(field+".candidate", "is empty and the plan has nothing to publish")
		}
	}
	if err := p.validateStrategy(); err != nil {
		return nil, err
	}
	for name, r := range p.Regions {
		if _, err := time.LoadLocation(r.TimeZone); err != nil {
			return nil, invalid("regions["+name+"].timeZone", err.Error())
		}
		if err := p.policy(name).Validate(); err != nil {
			return nil, fmt.Errorf("fleet: plan: regions[%s]: %w", name, err)
		}
	}
	if err := (release.DeployPolicy{Freezes: p.Freezes}).Validate(); err != nil {
		return nil, fmt.Errorf("fleet: plan: %w", err)
	}
	for name, l := range p.Accounts {
		if l.MaxParallel < 0 || l.Rate < 0 || l.Burst < 0 {
			return nil, invalid("accounts["+name+"]", "has a negative bound")
		}
	}
	for i, c := range p.BakeChecks {
		if c == "" {
			return nil, invalid(fmt.Sprintf("bakeChecks[%d]", i), "is empty")
		}
	}
	return p.resolveWaves(byID)
}

// validateStrategy validates the strategy with placeholder checks: their
// code is the executor's, supplied by name.
func (p Plan) validateStrategy() error {
	s := p.Strategy
	s.Analysis.Checks = slices.Clone(s.Analysis.Checks)
	for i := range s.Analysis.Checks {
		if s.Analysis.Checks[i].Check == nil {
			s.Analysis.Checks[i].Check = canary.CheckFunc(nil)
		}
	}
	// Capabilities are the target provider's; the strategy's own shape is
	// checked here against the loosest (any split), the rest by the
	// executor before the target starts.
	if err := s.Validate(provider.Capabilities{Granularity: 1}); err != nil {
		return fmt.Errorf("fleet: plan: %w", err)
	}
	return nil
}

func (p Plan) resolveWaves(byID map[string]int) ([][]int, error) {
	if len(p.Waves) == 0 {
		return nil, invalid("waves", "is empty")
	}
	n := len(p.Targets)
	wave := make([]int, n) // wave index+1 of each target; 0 = not yet
	members := map[string][]int{}
	for i, t := range p.Targets {
		members[t.group()] = append(members[t.group()], i)
	}
	regions := map[string]bool{}
	for _, t := range p.Targets {
		regions[t.Region] = true
	}
	names := map[string]bool{}
	taken := 0
	out := make([][]int, len(p.Waves))
	for w, wv := range p.Waves {
		field := fmt.Sprintf("waves[%d]", w)
		switch {
		case wv.Name == "":
			return nil, invalid(field+".name", "is empty")
		case names[wv.Name]:
			return nil, invalid(field+".name", fmt.Sprintf("%q repeats an earlier wave", wv.Name))
		case wv.Percent < 0 || wv.Percent > 100:
			return nil, invalid(field+".percent", fmt.Sprintf("is %d, outside 0..100", wv.Percent))
		case wv.Bake < 0:
			return nil, invalid(field+".bake", "is negative")
		case wv.MaxParallel < 0:
			return nil, invalid(field+".maxParallel", "is negative")
		}
		names[wv.Name] = true
		take := func(i int) {
			for _, m := range members[p.Targets[i].group()] {
				if wave[m] == 0 {
					wave[m] = w + 1
					out[w] = append(out[w], m)
					taken++
				}
			}
		}
		for k, id := range wv.Targets {
			i, ok := byID[id]
			if !ok {
				return nil, invalid(fmt.Sprintf("%s.targets[%d]", field, k), fmt.Sprintf("%q names no target", id))
			}
			if wave[i] != 0 && wave[i] != w+1 {
				return nil, invalid(fmt.Sprintf("%s.targets[%d]", field, k), fmt.Sprintf("%q is already in wave %q (with its group)", id, p.Waves[wave[i]-1].Name))
			}
			take(i)
		}
		for k, r := range wv.Regions {
			if !regions[r] {
				return nil, invalid(fmt.Sprintf("%s.regions[%d]", field, k), fmt.Sprintf("%q is the region of no target", r))
			}
			for i, t := range p.Targets {
				if t.Region == r && wave[i] == 0 {
					take(i)
				}
			}
		}
		if wv.Percent > 0 {
			want := (wv.Percent*n + 99) / 100
			for i := 0; i < n && taken < want; i++ {
				if wave[i] == 0 {
					take(i)
				}
			}
		}
		if w == len(p.Waves)-1 {
			for i := range n {
				if wave[i] == 0 {
					take(i)
				}
			}
		}
		if len(out[w]) == 0 {
			return nil, invalid(field, "selects no target that an earlier wave did not take")
		}
		slices.Sort(out[w])
	}
	return out, nil
}

// policy returns the deploy policy of region: its windows read in its time
// zone, its freezes and the plan's.
func (p Plan) policy(region string) release.DeployPolicy {
	r := p.Regions[region]
	pol := release.DeployPolicy{Windows: slices.Clone(r.Policy.Windows)}
	for i := range pol.Windows {
		if pol.Windows[i].TimeZone == "" {
			pol.Windows[i].TimeZone = r.TimeZone
		}
	}
	pol.Freezes = append(slices.Clone(r.Policy.Freezes), p.Freezes...)
	return pol
}

// RolloutID is the canary rollout (store) ID of target i of the release:
// the plan's ID and the target's index.
func (p Plan) RolloutID(i int) string { return Job{Release: p.ID, Index: i}.RolloutID() }

// StrategyWith returns the plan's strategy with the checks' code filled in
// from checks by name; an error wrapping provider.ErrInvalid names a check
// that has none.
func (p Plan) StrategyWith(checks map[string]canary.Check) (canary.Strategy, error) {
	s := p.Strategy
	s.Analysis.Checks = slices.Clone(s.Analysis.Checks)
	for i, c := range s.Analysis.Checks {
		if c.Check != nil {
			continue
		}
		chk := checks[c.Name]
		if chk == nil {
			return s, invalid(fmt.Sprintf("strategy.analysis.checks[%d]", i), fmt.Sprintf("%q has no code among the executor's checks", c.Name))
		}
		s.Analysis.Checks[i].Check = chk
	}
	return s, nil
}

func invalid(field, msg string) error {
	return fmt.Errorf("fleet: %w", provider.Invalid("plan", field, msg))
}
