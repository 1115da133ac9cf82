package canary

import (
	"fmt"
	"slices"
	"time"

	"github.com/slipway-dev/slipway/provider"
)

// Phase is where a rollout is. The machine moves between phases only along
// the edges Allowed reports; Succeeded, RolledBack and Failed are terminal.
type Phase int

const (
	// PhasePending: created, waiting for the Start event.
	PhasePending Phase = iota
	// PhasePreTraffic: the pre-traffic hook runs; no traffic has moved.
	PhasePreTraffic
	// PhaseShifting: a SetRoute to the current step's weight is in flight.
	PhaseShifting
	// PhaseBaking: the current step's weight is in place; the step bakes
	// and its windows are analysed.
	PhaseBaking
	// PhasePaused: an operator (or an inconclusive analysis) paused the
	// rollout; traffic stays where it is until Resume, Abort or PromoteNow.
	PhasePaused
	// PhaseAwaitingApproval: the confirm-promotion gate waits for Approved
	// or Rejected.
	PhaseAwaitingApproval
	// PhasePromoting: PromoteNow skipped the remaining steps; the route is
	// being set to send all traffic to the candidate.
	PhasePromoting
	// PhasePostTraffic: all traffic is on the candidate; the post-traffic
	// hook runs.
	PhasePostTraffic
	// PhaseSucceeded (terminal): the alias sends all traffic to the
	// candidate.
	PhaseSucceeded
	// PhaseRollingBack: the route is being restored to StableRoute.
	PhaseRollingBack
	// PhaseRolledBack (terminal): the alias's route is StableRoute again
	// (or was never changed).
	PhaseRolledBack
	// PhaseFailed (terminal): the rollout stopped without finishing and
	// without restoring the stable route: the route changed out of band, a
	// cancellation asked to leave traffic as it is, or the rollback itself
	// could not be written. State.Reason says which; traffic is as the
	// route shows and needs an owner.
	PhaseFailed

	phaseCount // number of phases; keep last
)

func (p Phase) String() string {
	switch p {
	case PhasePending:
		return "Pending"
	case PhasePreTraffic:
		return "PreTraffic"
	case PhaseShifting:
		return "Shifting"
	case PhaseBaking:
		return "Baking"
	case PhasePaused:
		return "Paused"
	case PhaseAwaitingApproval:
		return "AwaitingApproval"
	case PhasePromoting:
		return "Promoting"
	case PhasePostTraffic:
		return "PostTraffic"
	case PhaseSucceeded:
		return "Succeeded"
	case PhaseRollingBack:
		return "RollingBack"
	case PhaseRolledBack:
		return "RolledBack"
	case PhaseFailed:
		return "Failed"
	}
	return fmt.Sprintf("Phase(%d)", int(p))
}

// Terminal reports whether p is Succeeded, RolledBack or Failed.
func (p Phase) Terminal() bool {
	return p == PhaseSucceeded || p == PhaseRolledBack || p == PhaseFailed
}

// MarshalText encodes the phase by name.
func (p Phase) MarshalText() ([]byte, error) {
	if p < 0 || p >= phaseCount {
		return nil, fmt.Errorf("canary: invalid phase %d", int(p))
	}
	return []byte(p.String()), nil
}

// UnmarshalText decodes a phase name.
func (p *Phase) UnmarshalText(b []byte) error {
	for q := range phaseCount {
		if q.String() == string(b) {
			*p = q
			return nil
		}
	}
	return fmt.Errorf("canary: unknown phase %q", b)
}

// Allowed reports whether the machine may move from one phase to another.
// It is the one table of transitions; Next never takes an edge it does not
// list (a test walks every cell). Shifting → Shifting is a step with no
// bake followed by the next step; every other edge changes phase. Rolled
// back is reached only through RollingBack; nothing leaves a terminal
// phase.
func Allowed(from, to Phase) bool {
	if from.Terminal() || from < 0 || from >= phaseCount {
		return false
	}
	in := func(ps ...Phase) bool {
		for _, p := range ps {
			if p == from {
				return true
			}
		}
		return false
	}
	switch to {
	case PhasePending:
		return in(PhasePaused)
	case PhasePreTraffic:
		return in(PhasePending, PhasePaused)
	case PhaseShifting:
		return in(PhasePending, PhasePreTraffic, PhaseShifting, PhaseBaking, PhaseAwaitingApproval, PhasePaused)
	case PhaseBaking:
		return in(PhaseShifting, PhasePaused)
	case PhasePaused:
		return in(PhasePending, PhasePreTraffic, PhaseShifting, PhaseBaking, PhaseAwaitingApproval, PhasePromoting, PhasePostTraffic)
	case PhaseAwaitingApproval:
		return in(PhasePending, PhasePreTraffic, PhaseShifting, PhaseBaking, PhasePaused)
	case PhasePromoting:
		return in(PhasePending, PhasePreTraffic, PhaseShifting, PhaseBaking, PhaseAwaitingApproval, PhasePaused)
	case PhasePostTraffic:
		return in(PhaseShifting, PhaseBaking, PhasePromoting, PhasePaused)
	case PhaseSucceeded:
		return in(PhaseShifting, PhaseBaking, PhasePromoting, PhasePostTraffic)
	case PhaseRollingBack:
		return from != PhaseRollingBack
	case PhaseRolledBack:
		return in(PhaseRollingBack)
	case PhaseFailed:
		return true
	}
	return false
}

// ConflictPolicy is what the machine does when a route write fails with
// provider.ErrConflict: someone changed the alias out of band.
type ConflictPolicy int

const (
	// StopOnConflict (the zero value) stops the rollout in PhaseFailed and
	// does not overwrite the route.
	StopOnConflict ConflictPolicy = iota
	// RollBackOnConflict restores StableRoute over the other writer's route,
	// using the revision the runner read after the conflict — but only when
	// this rollout's own writes had moved traffic (State.Wrote): a rollout
	// that never wrote the route stops like StopOnConflict, so it cannot
	// write "stable" over another pipeline's canary.
	RollBackOnConflict
)

func (p ConflictPolicy) String() string {
	switch p {
	case StopOnConflict:
		return "Stop"
	case RollBackOnConflict:
		return "RollBack"
	}
	return fmt.Sprintf("ConflictPolicy(%d)", int(p))
}

// MarshalText encodes the policy by name.
func (p ConflictPolicy) MarshalText() ([]byte, error) {
	if p != StopOnConflict && p != RollBackOnConflict {
		return nil, fmt.Errorf("canary: invalid conflict policy %d", int(p))
	}
	return []byte(p.String()), nil
}

// UnmarshalText decodes a policy name.
func (p *ConflictPolicy) UnmarshalText(b []byte) error {
	switch string(b) {
	case "Stop":
		*p = StopOnConflict
	case "RollBack":
		*p = RollBackOnConflict
	default:
		return fmt.Errorf("canary: unknown conflict policy %q", b)
	}
	return nil
}

// CancelPolicy is what the machine does on a Cancelled event (the caller's
// context ended, e.g. SIGTERM in CI).
type CancelPolicy int

const (
	// RollBackOnCancel (the zero value) restores StableRoute.
	RollBackOnCancel CancelPolicy = iota
	// LeaveOnCancel stops in PhaseFailed with traffic left as it is.
	LeaveOnCancel
)

func (p CancelPolicy) String() string {
	switch p {
	case RollBackOnCancel:
		return "RollBack"
	case LeaveOnCancel:
		return "Leave"
	}
	return fmt.Sprintf("CancelPolicy(%d)", int(p))
}

// MarshalText encodes the policy by name.
func (p CancelPolicy) MarshalText() ([]byte, error) {
	if p != RollBackOnCancel && p != LeaveOnCancel {
		return nil, fmt.Errorf("canary: invalid cancel policy %d", int(p))
	}
	return []byte(p.String()), nil
}

// UnmarshalText decodes a policy name.
func (p *CancelPolicy) UnmarshalText(b []byte) error {
	switch string(b) {
	case "RollBack":
		*p = RollBackOnCancel
	case "Leave":
		*p = LeaveOnCancel
	default:
		return fmt.Errorf("canary: unknown cancel policy %q", b)
	}
	return nil
}

// Awaiting is the result the machine waits for: the outcome of the action
// it last asked for. At most one action is outstanding at a time.
type Awaiting int

const (
	AwaitNothing Awaiting = iota // no action outstanding
	AwaitRoute                   // a SetRoute: RouteSet or RouteFailed
	AwaitMeasure                 // a Measure: Measured
	AwaitHook                    // a RunHook: HookDone
)

func (a Awaiting) String() string {
	switch a {
	case AwaitNothing:
		return "Nothing"
	case AwaitRoute:
		return "Route"
	case AwaitMeasure:
		return "Measure"
	case AwaitHook:
		return "Hook"
	}
	return fmt.Sprintf("Awaiting(%d)", int(a))
}

// MarshalText encodes the value by name.
func (a Awaiting) MarshalText() ([]byte, error) {
	if a < AwaitNothing || a > AwaitHook {
		return nil, fmt.Errorf("canary: invalid awaiting %d", int(a))
	}
	return []byte(a.String()), nil
}

// UnmarshalText decodes a name.
func (a *Awaiting) UnmarshalText(b []byte) error {
	for q := AwaitNothing; q <= AwaitHook; q++ {
		if q.String() == string(b) {
			*a = q
			return nil
		}
	}
	return fmt.Errorf("canary: unknown awaiting %q", b)
}

// Plan is the serialisable form of a Strategy that a State carries: the
// schedule with defaults resolved and the implied steps made explicit.
// Steps always end with weight 10000 on the rollout's alias. For
// blue/green, Steps[0] runs on TestAlias and Steps[1] is the switch of the
// alias, baked for KeepFor. Checks are named in State.Checks.
type Plan struct {
	Steps     []Step        `json:"steps"`
	TestAlias string        `json:"testAlias,omitempty"`
	Interval  time.Duration `json:"interval"`
	WarmUp    time.Duration `json:"warmUp,omitempty"`
	// Limits, resolved (see Analysis).
	FailureLimit          int                `json:"failureLimit"`
	InconclusiveLimit     int                `json:"inconclusiveLimit"`
	ConsecutiveErrorLimit int                `json:"consecutiveErrorLimit"`
	OnInconclusive        InconclusivePolicy `json:"onInconclusive"`
	RetryDelay            time.Duration      `json:"retryDelay"`
	// Hooks and gate, with timeouts resolved; nil when absent.
	PreTraffic  *HookSpec     `json:"preTraffic,omitempty"`
	PostTraffic *HookSpec     `json:"postTraffic,omitempty"`
	Approval    *ApprovalSpec `json:"approval,omitempty"`
}

// Windows returns how many analysis windows the bake of the given step
// judges when the rollout has checks: floor((Bake−WarmUp)/Interval), the
// number that fits when the warm-up ends on a multiple of Interval, and at
// least one (a judged step is never left without a window); zero for a step
// without a bake. The count does not depend on when the step starts, so a
// step started mid-interval judges as much traffic as one started on a
// boundary (see BakeEnd).
func (p Plan) Windows(step int) int {
	b := p.Steps[step].Bake
	if b <= 0 || p.Interval <= 0 {
		return 0
	}
	return max(1, int((b-p.WarmUp)/p.Interval))
}

// firstWindowEnd returns the end of the first analysis window of a step
// started at started: the window starts at the first multiple of Interval
// (since the Unix epoch) at or after started+WarmUp.
func (p Plan) firstWindowEnd(started time.Time) time.Time {
	iv := p.Interval
	start := started.Add(p.WarmUp)
	if a := provider.AlignDown(start, iv); !a.Equal(start) {
		start = a.Add(iv)
	}
	return start.Add(iv)
}

// BakeEnd returns when the bake of the given step, started (its weight
// confirmed) at started, ends. Without checks (judged false) or without a
// bake it is started+Bake. With checks the step judges Windows(step) whole
// windows, the first aligned as firstWindowEnd describes, and the bake lasts
// until the later of started+Bake and the end of the last of them: a step
// whose warm-up ends on a multiple of Interval ends at started+Bake, any
// other at most one Interval later (less than one: Canary10Percent5Minutes
// started at 09:00:17 judges [09:01,09:02) … [09:05,09:06) and ends at
// 09:06, not 09:05:17).
func (p Plan) BakeEnd(step int, started time.Time, judged bool) time.Time {
	end := started.Add(p.Steps[step].Bake)
	n := p.Windows(step)
	if !judged || n == 0 {
		return end
	}
	if last := p.firstWindowEnd(started).Add(time.Duration(n-1) * p.Interval); last.After(end) {
		return last
	}
	return end
}

// MaxBake returns the longest the bake of the given step can last with
// checks, whenever it starts: Bake, plus one Interval for the alignment of
// its windows when it has any (BakeEnd is always earlier than
// started+MaxBake for a judged step).
func (p Plan) MaxBake(step int) time.Duration {
	b := p.Steps[step].Bake
	if p.Windows(step) == 0 {
		return b
	}
	return max(b, p.WarmUp+time.Duration(p.Windows(step))*p.Interval) + p.Interval
}

// Plan returns the serialisable plan of s (see Plan). It does not validate.
func (s Strategy) Plan() Plan {
	p := Plan{
		Steps:                 slices.Clone(s.Steps),
		Interval:              s.interval(),
		WarmUp:                s.WarmUp,
		FailureLimit:          s.Analysis.FailureLimit,
		InconclusiveLimit:     s.Analysis.InconclusiveLimit,
		ConsecutiveErrorLimit: s.Analysis.consecutiveErrorLimit(),
		OnInconclusive:        s.Analysis.OnInconclusive,
		RetryDelay:            s.Analysis.RetryDelay,
	}
	if p.RetryDelay == 0 {
		p.RetryDelay = DefaultRetryDelay
	}
	if bg := s.BlueGreen; bg != nil {
		p.TestAlias = bg.TestAlias
		p.Steps = append(p.Steps, Step{Weight: provider.AllTraffic, Bake: bg.KeepFor})
	} else if n := len(p.Steps); n == 0 || p.Steps[n-1].Weight < provider.AllTraffic {
		p.Steps = append(p.Steps, Step{Weight: provider.AllTraffic})
	}
	hook := func(h *HookSpec) *HookSpec {
		if h == nil {
			return nil
		}
		c := *h
		if c.Timeout == 0 {
			c.Timeout = DefaultHookTimeout
		}
		return &c
	}
	p.PreTraffic = hook(s.PreTraffic)
	p.PostTraffic = hook(s.PostTraffic)
	if s.Approval != nil {
		a := *s.Approval
		if a.Timeout == 0 {
			a.Timeout = DefaultApprovalTimeout
		}
		p.Approval = &a
	}
	return p
}

// gate returns the index of the step the approval gate stands before: the
// first step that sends all of the alias's traffic to the candidate.
func (p *Plan) gate() int {
	for i, st := range p.Steps {
		if st.Weight == provider.AllTraffic && !p.onTest(i) {
			return i
		}
	}
	return len(p.Steps) - 1
}

// onTest reports whether step i runs on the blue/green test alias.
func (p *Plan) onTest(i int) bool { return p.TestAlias != "" && i == 0 }

// Transition is one entry of a rollout's history.
type Transition struct {
	At     time.Time `json:"at"`
	From   Phase     `json:"from"`
	To     Phase     `json:"to"`
	Step   int       `json:"step"`
	Event  EventKind `json:"event"`
	Reason string    `json:"reason"`
}

// State is the whole of a rollout: everything the machine needs to decide
// the next step, and nothing it does not. It is plain data that round-trips
// through encoding/json; the runner persists it after every transition and
// a new process resumes from it.
//
// Treat a State as a value: Next never modifies the State it is given (it
// copies before it changes a slice), so old states stay valid snapshots.
type State struct {
	ID       string `json:"id"`
	Function string `json:"function"`
	Alias    string `json:"alias"`
	// Stable is the primary version of StableRoute; Candidate the version
	// being rolled out.
	Stable    string `json:"stable"`
	Candidate string `json:"candidate"`
	// StableRoute is the alias's route exactly as it was before the
	// rollout. A rollback writes these weights back.
	StableRoute provider.Route `json:"stableRoute"`
	Plan        Plan           `json:"plan"`
	Checks      []CheckState   `json:"checks,omitempty"`
	OnConflict  ConflictPolicy `json:"onConflict"`
	OnCancel    CancelPolicy   `json:"onCancel"`

	Phase Phase `json:"phase"`
	// ResumeTo is the phase a paused rollout returns to on Resume.
	ResumeTo Phase `json:"resumeTo,omitempty"`
	// Step indexes Plan.Steps: the step being shifted to or baked.
	Step int `json:"step"`
	// Started is when the Start event arrived (zero before).
	Started time.Time `json:"started,omitzero"`
	// StepStarted is when the current step's weight was confirmed (or its
	// bake restarted by a resume).
	StepStarted time.Time `json:"stepStarted,omitzero"`
	// NextAnalysis is the end of the next window to measure (it can be
	// measured from then on); zero when the step has no window left. A
	// baking step with checks judges Plan.Windows(Step) windows and bakes
	// until Plan.BakeEnd(Step, StepStarted, true).
	NextAnalysis time.Time `json:"nextAnalysis,omitzero"`
	// RetryAt, when set, is when a window whose measurement failed is
	// measured again.
	RetryAt time.Time `json:"retryAt,omitzero"`

	// Route is the alias's route as last seen, with its revision: the
	// route before the rollout, then each route the machine wrote as
	// confirmed by RouteSet. Route.Share(Candidate) is the candidate's
	// current weight; every write uses Route.Revision as its expected
	// revision.
	Route provider.Route `json:"route"`
	// TestRoute is, for blue/green, the test alias's route as last seen
	// (no weights and an empty revision before it exists).
	TestRoute provider.Route `json:"testRoute,omitzero"`
	// Wrote reports that a route write of this rollout to Alias took
	// effect. A rollout that never wrote the alias has nothing of its own
	// to roll back: on a conflict it stops (PhaseFailed) even under
	// RollBackOnConflict, rather than write StableRoute over another
	// writer's route.
	Wrote bool `json:"wrote,omitempty"`

	// Awaiting is the outstanding action's kind; Want is the route
	// requested when it is AwaitRoute.
	Awaiting Awaiting       `json:"awaiting"`
	Want     provider.Route `json:"want,omitzero"`
	// Deadline bounds the running hook or the approval gate.
	Deadline time.Time `json:"deadline,omitzero"`

	PreTrafficDone  bool `json:"preTrafficDone,omitempty"`
	PostTrafficDone bool `json:"postTrafficDone,omitempty"`
	Approved        bool `json:"approved,omitempty"`
	// PromoteNow records an operator's PromoteNow: remaining steps,
	// analysis and the approval gate are skipped (hooks still run).
	PromoteNow bool `json:"promoteNow,omitempty"`
	// RollbackAttempts counts failed rollback writes.
	RollbackAttempts int `json:"rollbackAttempts,omitempty"`
	// Reason says why the rollout is in its phase (the last transition's
	// reason).
	Reason  string       `json:"reason,omitempty"`
	History []Transition `json:"history,omitempty"`
}

// MaxRollbackAttempts is how many times the machine writes the stable route
// after failed attempts (the runner retries throttling underneath each)
// before it gives up in PhaseFailed.
const MaxRollbackAttempts = 5

// Spec describes a rollout to start.
type Spec struct {
	// ID identifies the rollout (for the runner's store and logs).
	ID       string `json:"id"`
	Function string `json:"function"`
	// Route is the alias's current route, as read from the provider with
	// its revision: it names the alias and the stable version (its
	// primary) and is what a rollback restores.
	Route     provider.Route `json:"route"`
	Candidate string         `json:"candidate"`
	Strategy  Strategy       `json:"strategy"`
	// TestRevision is, for blue/green, the test alias's current revision
	// ("" when it does not exist yet and is to be created).
	TestRevision string         `json:"testRevision,omitempty"`
	OnConflict   ConflictPolicy `json:"onConflict,omitempty"`
	OnCancel     CancelPolicy   `json:"onCancel,omitempty"`
}

// NewState validates sp against the platform's capabilities and returns the
// rollout's initial state, in PhasePending. Nothing is touched: errors wrap
// provider.ErrInvalid or provider.ErrUnsupported and name the field.
//
// Besides Strategy.Validate it checks that the route is well formed, has a
// revision, does not already split traffic (another rollout may own it)
// and does not route to the candidate, and that every route the plan will
// write passes caps.CheckRoute (so an alias that may not split, or a
// platform limit, is caught now).
func NewState(sp Spec, caps provider.Capabilities) (State, error) {
	for _, f := range []struct{ field, v string }{{"id", sp.ID}, {"function", sp.Function}, {"candidate", sp.Candidate}} {
		if f.v == "" {
			return State{}, rolloutInvalid(f.field, "is empty")
		}
	}
	if err := sp.Strategy.Validate(caps); err != nil {
		return State{}, err
	}
	r := sp.Route
	if err := r.Validate(); err != nil {
		return State{}, fmt.Errorf("canary: rollout: %w", err)
	}
	if r.Revision == "" {
		return State{}, rolloutInvalid("route.revision", "is empty: read the route from the provider first")
	}
	for i, w := range r.Weights[1:] {
		if w.BasisPoints > 0 {
			return State{}, rolloutInvalid(fmt.Sprintf("route.weights[%d]", i+1), fmt.Sprintf("sends %d basis points to %q: the route already splits traffic (another rollout may own it)", w.BasisPoints, w.Version))
		}
	}
	if r.References(sp.Candidate) {
		return State{}, rolloutInvalid("candidate", fmt.Sprintf("%q is already named by route %q", sp.Candidate, r.Alias))
	}
	if sp.OnConflict != StopOnConflict && sp.OnConflict != RollBackOnConflict {
		return State{}, rolloutInvalid("onConflict", fmt.Sprintf("is %d", int(sp.OnConflict)))
	}
	if sp.OnCancel != RollBackOnCancel && sp.OnCancel != LeaveOnCancel {
		return State{}, rolloutInvalid("onCancel", fmt.Sprintf("is %d", int(sp.OnCancel)))
	}
	s := State{
		ID:          sp.ID,
		Function:    sp.Function,
		Alias:       r.Alias,
		Stable:      r.Primary(),
		Candidate:   sp.Candidate,
		StableRoute: r.Clone(),
		Plan:        sp.Strategy.Plan(),
		OnConflict:  sp.OnConflict,
		OnCancel:    sp.OnCancel,
		Route:       r.Clone(),
	}
	if s.Plan.TestAlias != "" {
		s.TestRoute = provider.Route{Alias: s.Plan.TestAlias, Revision: sp.TestRevision}
	}
	if s.Plan.TestAlias == s.Alias {
		return State{}, rolloutInvalid("strategy.blueGreen.testAlias", fmt.Sprintf("is %q, the rollout's own alias", s.Alias))
	}
	for i := range s.Plan.Steps {
		if err := caps.CheckRoute(s.stepRoute(i)); err != nil {
			return State{}, fmt.Errorf("canary: rollout: step %d: %w", i, err)
		}
	}
	for _, c := range sp.Strategy.Analysis.Checks {
		s.Checks = append(s.Checks, CheckState{Name: c.Name, Critical: c.Critical, NonCritical: c.NonCritical})
	}
	return s, nil
}

func rolloutInvalid(field, msg string) error {
	return fmt.Errorf("canary: %w", provider.Invalid("rollout", field, msg))
}

// stepRoute returns the route step i writes (without a revision).
func (s *State) stepRoute(i int) provider.Route {
	w := s.Plan.Steps[i].Weight
	if s.Plan.onTest(i) {
		return provider.To(s.Plan.TestAlias, s.Candidate)
	}
	return provider.Split(s.Alias, s.Stable, s.Candidate, w)
}

// Clone returns a deep copy of s.
func (s State) Clone() State {
	s.StableRoute = s.StableRoute.Clone()
	s.Want = s.Want.Clone()
	s.Route = s.Route.Clone()
	s.TestRoute = s.TestRoute.Clone()
	s.Plan.Steps = slices.Clone(s.Plan.Steps)
	if s.Plan.PreTraffic != nil {
		h := *s.Plan.PreTraffic
		s.Plan.PreTraffic = &h
	}
	if s.Plan.PostTraffic != nil {
		h := *s.Plan.PostTraffic
		s.Plan.PostTraffic = &h
	}
	if s.Plan.Approval != nil {
		a := *s.Plan.Approval
		s.Plan.Approval = &a
	}
	s.Checks = slices.Clone(s.Checks)
	s.History = slices.Clone(s.History)
	return s
}

// Paused reports whether the rollout is paused.
func (s State) Paused() bool { return s.Phase == PhasePaused }

// Done reports whether the rollout has ended (its phase is terminal).
func (s State) Done() bool { return s.Phase.Terminal() }

// window returns the window being measured next: [NextAnalysis-Interval,
// NextAnalysis).
func (s *State) window() MetricWindow {
	alias, weight := s.Alias, s.Plan.Steps[s.Step].Weight
	if s.Plan.onTest(s.Step) {
		alias = s.Plan.TestAlias
	}
	return MetricWindow{
		Function:  s.Function,
		Alias:     alias,
		Candidate: s.Candidate,
		Stable:    s.Stable,
		Weight:    weight,
		Start:     s.NextAnalysis.Add(-s.Plan.Interval),
		End:       s.NextAnalysis,
		Started:   s.Started,
	}
}

// Validate checks the invariants every state the machine produces holds,
// so that a state read back from a store (a file edited by hand, damaged on
// disk) is refused before anything acts on it: function, alias and
// candidate named; Pending only before the start; the stable route valid,
// of the rollout's alias, its primary the stable version and not naming the
// candidate; a plan of at least one step, each of weight 1..10000
// and a bake not negative, the last of all traffic; the current step within
// the plan; no negative durations or limits; every route the state holds
// (as last seen, before the rollout, wanted, the test alias's) well formed
// where it has weights; every check named. Errors wrap provider.ErrInvalid
// and name the field.
func (s State) Validate() error {
	switch {
	case s.Function == "":
		return stateInvalid("function", "is empty")
	case s.Alias == "":
		return stateInvalid("alias", "is empty")
	case s.Candidate == "":
		return stateInvalid("candidate", "is empty")
	case s.Phase == PhasePending && (!s.Started.IsZero() || s.Awaiting != AwaitNothing):
		// Start moves a rollout out of Pending at once.
		return stateInvalid("phase", "is Pending, but the rollout has started")
	}
	p := s.Plan
	if len(p.Steps) == 0 {
		return stateInvalid("plan.steps", "is empty")
	}
	for i, st := range p.Steps {
		if st.Weight < 1 || st.Weight > provider.AllTraffic {
			return stateInvalid(fmt.Sprintf("plan.steps[%d].weight", i), fmt.Sprintf("is %d, outside 1..%d", st.Weight, provider.AllTraffic))
		}
		if st.Bake < 0 {
			return stateInvalid(fmt.Sprintf("plan.steps[%d].bake", i), "is negative")
		}
	}
	if w := p.Steps[len(p.Steps)-1].Weight; w != provider.AllTraffic {
		return stateInvalid("plan.steps", fmt.Sprintf("end at %d basis points, not all traffic", w))
	}
	if s.Step < 0 || s.Step >= len(p.Steps) {
		return stateInvalid("step", fmt.Sprintf("is %d, outside the plan's %d steps", s.Step, len(p.Steps)))
	}
	switch {
	case p.Interval < 0:
		return stateInvalid("plan.interval", "is negative")
	case p.WarmUp < 0:
		return stateInvalid("plan.warmUp", "is negative")
	case p.RetryDelay < 0:
		return stateInvalid("plan.retryDelay", "is negative")
	case p.FailureLimit < 0:
		return stateInvalid("plan.failureLimit", "is negative")
	case p.InconclusiveLimit < 0:
		return stateInvalid("plan.inconclusiveLimit", "is negative")
	case p.ConsecutiveErrorLimit < 0:
		return stateInvalid("plan.consecutiveErrorLimit", "is negative")
	}
	if err := s.StableRoute.Validate(); err != nil {
		return stateInvalid("stableRoute", err.Error())
	}
	switch {
	case s.StableRoute.Alias != s.Alias:
		return stateInvalid("stableRoute.alias", fmt.Sprintf("is %q, not the rollout's alias %q", s.StableRoute.Alias, s.Alias))
	case s.Stable != s.StableRoute.Primary():
		return stateInvalid("stable", fmt.Sprintf("is %q, not the stable route's primary %q", s.Stable, s.StableRoute.Primary()))
	case s.StableRoute.References(s.Candidate):
		return stateInvalid("candidate", fmt.Sprintf("%q is named by the stable route", s.Candidate))
	case p.TestAlias == s.Alias:
		return stateInvalid("plan.testAlias", fmt.Sprintf("is %q, the rollout's own alias", s.Alias))
	}
	// With the stable version named, the candidate not, and every step's
	// weight in 1..10000, every step's route is valid.
	if err := validRoute("route", s.Route); err != nil {
		return err
	}
	if err := validRoute("want", s.Want); err != nil {
		return err
	}
	if err := validRoute("testRoute", s.TestRoute); err != nil {
		return err
	}
	for i := range s.Checks {
		if s.Checks[i].Name == "" {
			return stateInvalid(fmt.Sprintf("checks[%d].name", i), "is empty")
		}
	}
	return nil
}

// validRoute validates a route of a state where it has weights.
func validRoute(field string, r provider.Route) error {
	if len(r.Weights) == 0 {
		return nil
	}
	if err := r.Validate(); err != nil {
		return stateInvalid(field, err.Error())
	}
	return nil
}

func stateInvalid(field, msg string) error {
	return fmt.Errorf("canary: %w", provider.Invalid("rollout state", field, msg))
}
