package canary

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/slipway-dev/slipway/provider"
)

// EventKind says what happened: a result of an action, the passing of time,
// or an operator's control.
type EventKind int

const (
	// EventStart begins a Pending rollout.
	EventStart EventKind = iota
	// EventRouteSet reports a successful SetRoute; Event.Route is the route
	// as written, with its new revision.
	EventRouteSet
	// EventRouteFailed reports a SetRoute that failed for good (the runner
	// retries throttling first). Event.Err is the error; Event.Conflict (or
	// errors.Is(Err, provider.ErrConflict)) marks an out-of-band change.
	// Event.Route, when the runner read the route after the failure, is the
	// route as it now is, with its revision. A failure that is not a
	// conflict, whose route has the requested traffic, counts as the write
	// having landed (its response was lost); a conflict never does, even
	// when the other writer's route has that traffic.
	EventRouteFailed
	// EventTick reports that time passed (a Wait ended).
	EventTick
	// EventMeasured reports a window's measurement: Event.Start and
	// Event.End name the window, Event.Results hold each check's result,
	// and Event.Err, when set, is a failure of the metrics source that
	// counts as an error of every check.
	EventMeasured
	// EventHookDone reports that the hook Event.Hook finished; Event.Err is
	// its failure.
	EventHookDone
	// EventApproved and EventRejected resolve the confirm-promotion gate.
	EventApproved
	EventRejected
	// EventPause, EventResume, EventAbort and EventPromoteNow are operator
	// controls. Abort rolls back now; PromoteNow skips the remaining steps,
	// the analysis and the approval gate (hooks still run).
	EventPause
	EventResume
	EventAbort
	EventPromoteNow
	// EventCancelled reports that the caller's context ended; State.OnCancel
	// says whether to roll back or leave traffic as it is.
	EventCancelled

	eventCount // number of event kinds; keep last
)

func (k EventKind) String() string {
	switch k {
	case EventStart:
		return "Start"
	case EventRouteSet:
		return "RouteSet"
	case EventRouteFailed:
		return "RouteFailed"
	case EventTick:
		return "Tick"
	case EventMeasured:
		return "Measured"
	case EventHookDone:
		return "HookDone"
	case EventApproved:
		return "Approved"
	case EventRejected:
		return "Rejected"
	case EventPause:
		return "Pause"
	case EventResume:
		return "Resume"
	case EventAbort:
		return "Abort"
	case EventPromoteNow:
		return "PromoteNow"
	case EventCancelled:
		return "Cancelled"
	}
	return fmt.Sprintf("EventKind(%d)", int(k))
}

// MarshalText encodes the kind by name.
func (k EventKind) MarshalText() ([]byte, error) {
	if k < 0 || k >= eventCount {
		return nil, fmt.Errorf("canary: invalid event kind %d", int(k))
	}
	return []byte(k.String()), nil
}

// UnmarshalText decodes a kind name.
func (k *EventKind) UnmarshalText(b []byte) error {
	for q := range eventCount {
		if q.String() == string(b) {
			*k = q
			return nil
		}
	}
	return fmt.Errorf("canary: unknown event kind %q", b)
}

// Event is an input of the machine. Kind says which fields matter (see the
// EventKind constants); the rest are zero.
type Event struct {
	Kind EventKind
	// Route: RouteSet, RouteFailed.
	Route provider.Route
	// Err: RouteFailed, HookDone, Measured.
	Err error
	// Conflict: RouteFailed.
	Conflict bool
	// Start, End and Results: Measured.
	Start, End time.Time
	Results    []CheckResult
	// Hook: HookDone.
	Hook string
	// Reason is a note for the history (who approved, why aborted).
	Reason string
}

// ActionKind says what the runner must do.
type ActionKind int

const (
	// ActionSetRoute: write Action.Route with provider.SetRoute. Its
	// Revision is the expected current revision (compare-and-swap). Report
	// EventRouteSet or EventRouteFailed.
	ActionSetRoute ActionKind = iota + 1
	// ActionMeasure: fetch the metrics of Action.Window, judge it with the
	// checks named in Action.Checks (nil: every check) and report
	// EventMeasured with the window's Start and End.
	ActionMeasure
	// ActionRunHook: run the hook Action.Hook, bounded by Action.Until,
	// and report EventHookDone.
	ActionRunHook
	// ActionWait: send EventTick at Action.Until (or as soon as possible
	// after it).
	ActionWait
	// ActionDone: the rollout ended in Action.Phase (terminal) for
	// Action.Reason.
	ActionDone
)

func (k ActionKind) String() string {
	switch k {
	case ActionSetRoute:
		return "SetRoute"
	case ActionMeasure:
		return "Measure"
	case ActionRunHook:
		return "RunHook"
	case ActionWait:
		return "Wait"
	case ActionDone:
		return "Done"
	}
	return fmt.Sprintf("ActionKind(%d)", int(k))
}

// Action is an output of the machine, performed by the runner. Kind says
// which fields matter.
type Action struct {
	Kind ActionKind
	// Route: SetRoute.
	Route provider.Route
	// Window and Checks: Measure. Window.Metrics is empty: the runner
	// fetches it.
	Window MetricWindow
	Checks []string
	// Hook: RunHook.
	Hook string
	// Until: the end of a Wait; the deadline of a RunHook.
	Until time.Time
	// Phase and Reason: Done.
	Phase  Phase
	Reason string
}

// Next is the rollout machine: given a state, an event and the current time,
// it returns the next state and the actions the runner must perform, in
// order. It is a pure function: no I/O, no clock, no goroutines, and s is
// not modified (slices are copied before they change).
//
// Contract with the runner:
//   - persist the returned state before performing its actions;
//   - at most one of SetRoute, Measure and RunHook is outstanding at a
//     time (State.Awaiting); report its result with the matching event;
//   - an event that does not apply is not accepted: a result that does not
//     match what the state awaits (a late hook after an abort, a
//     measurement of a window no longer awaited) or a control that means
//     nothing in the phase (Resume when not paused). Next then returns s
//     unchanged and no actions, and the runner goes on with what it was
//     doing;
//   - otherwise no actions means: wait for the outstanding result or, with
//     nothing outstanding (Pending before Start, Paused), for an operator
//     event;
//   - after a Wait, send EventTick at or after Until;
//   - after a crash, State.InFlight says which action to redo.
//
// Terminal states accept no event. A state that does not pass
// State.Validate (damaged: a file edited by hand; the stores refuse to load
// one) ends in PhaseFailed on any event, with the damage as its reason and
// traffic left as it is, since its routes cannot be trusted to restore.
// Every phase change is appended to State.History with its reason.
//
// What Next returns shares with s only the slices it did not change, and
// it never writes those; what it changed (the history, the checks, a route's
// weights) and the actions are in storage of the call's own, so calling
// Next twice on one state gives equal, independent results. A returned
// history has no spare capacity: appending to it copies.
func Next(s State, ev Event, now time.Time) (State, []Action) {
	if s.Phase.Terminal() {
		return s, nil
	}
	if err := s.Validate(); err != nil {
		return damaged(s, ev, now, err)
	}
	m := machine{s: s, now: now, ev: ev.Kind}
	if !m.handle(ev) {
		return s, nil
	}
	m.settle()
	// The history's spare room (see grow) stays unreachable: an append to
	// the returned history copies, as it did before this call.
	m.s.History = slices.Clip(m.s.History)
	return m.s, m.acts
}

// damaged ends a state that does not pass Validate in PhaseFailed, outside
// the transition table (which assumes valid states).
func damaged(s State, ev Event, now time.Time, err error) (State, []Action) {
	reason := "damaged state, traffic left as it is: " + err.Error()
	h := make([]Transition, len(s.History)+1)
	copy(h, s.History)
	h[len(s.History)] = Transition{At: now, From: s.Phase, To: PhaseFailed, Step: s.Step, Event: ev.Kind, Reason: reason}
	s.History = h
	s.Phase, s.Reason = PhaseFailed, reason
	s.Awaiting, s.Want, s.Deadline = AwaitNothing, provider.Route{}, time.Time{}
	s.NextAnalysis, s.RetryAt = time.Time{}, time.Time{}
	return s, []Action{{Kind: ActionDone, Phase: PhaseFailed, Reason: reason}}
}

// InFlight returns the action the state awaits the result of (a SetRoute,
// Measure or RunHook), for a runner resuming after a crash. For a SetRoute
// the runner first reads the route: if it already has the requested
// traffic, the write happened before the crash and the runner reports
// EventRouteSet with the route as read; if its revision is still the
// expected one it performs the write again; otherwise the route changed out
// of band and it reports EventRouteFailed with Conflict and the route read.
// With nothing outstanding it returns false: send EventTick to continue.
func (s State) InFlight() (Action, bool) {
	if s.Phase.Terminal() {
		return Action{}, false
	}
	switch s.Awaiting {
	case AwaitRoute:
		return Action{Kind: ActionSetRoute, Route: s.Want.Clone()}, true
	case AwaitMeasure:
		return s.measureAction(), true
	case AwaitHook:
		if h := s.hook(); h != nil {
			return Action{Kind: ActionRunHook, Hook: h.Name, Until: s.Deadline}, true
		}
	}
	return Action{}, false
}

// machine is one call of Next.
type machine struct {
	s    State
	now  time.Time
	ev   EventKind
	acts []Action
	// checksOwned reports that s.Checks is already a private copy.
	checksOwned bool
	// histOwned reports that s.History is this call's own array, with
	// room to append (see grow).
	histOwned bool
	// act and weights, when not nil, are room for the call's first action
	// and for the weights of its route write, in an allocation the call
	// made already (see out).
	act     *[1]Action
	weights *[2]provider.Weight
}

// out is the room for what a call of Next usually returns besides its
// history: one action and, for a SetRoute, a route's two weights (a step's
// split). A call allocates it with the first slice it changes: the checks
// (ownChecks) or the history (grow); a call that changes neither, alone
// (writeTo) or as a one-action slice (emit). So a call that changes phase
// allocates twice: this block and its reason. Nothing in it is written
// after the call returns: the action and the state's Want share the
// weights, as nothing changes weights in place.
type out struct {
	act     [1]Action
	weights [2]provider.Weight
}

// room offers o's storage to the call's first action and route write.
func (m *machine) room(o *out) {
	if m.act == nil && m.acts == nil {
		m.act = &o.act
	}
	if m.weights == nil {
		m.weights = &o.weights
	}
}

// effective returns the phase the rollout is in, looking through a pause.
func (s *State) effective() Phase {
	if s.Phase == PhasePaused {
		return s.ResumeTo
	}
	return s.Phase
}

// hook returns the hook of the (effective) hook phase, or nil.
func (s *State) hook() *HookSpec {
	switch s.effective() {
	case PhasePreTraffic:
		return s.Plan.PreTraffic
	case PhasePostTraffic:
		return s.Plan.PostTraffic
	}
	return nil
}

// emit appends an action to the call's output, the first into the room an
// allocation of the call left for it.
func (m *machine) emit(a Action) {
	if m.acts == nil && m.act != nil {
		m.acts = m.act[:0]
		m.act = nil
	}
	m.acts = append(m.acts, a)
}

// to moves to phase p, recording the transition.
func (m *machine) to(p Phase, reason string) {
	s := &m.s
	if !Allowed(s.Phase, p) {
		panic(fmt.Sprintf("canary: transition %s → %s is not in the table", s.Phase, p))
	}
	t := Transition{At: m.now, From: s.Phase, To: p, Step: s.Step, Event: m.ev, Reason: reason}
	if m.histOwned {
		s.History = append(s.History, t)
	} else {
		s.History = m.grow(s.History, t)
	}
	s.Phase = p
	s.Reason = reason
	if p.Terminal() {
		s.Awaiting = AwaitNothing
		s.Want = provider.Route{}
		s.Deadline = time.Time{}
		s.NextAnalysis, s.RetryAt = time.Time{}, time.Time{}
		m.emit(Action{Kind: ActionDone, Phase: p, Reason: reason})
	}
}

// grow returns old with t appended, in a new array that only this call's
// result references (old may be shared with other states: it is never
// written). Unless the call has its out already (ownChecks), the array is
// allocated together with one (room), its length rounded up to a size class
// so that a dozen types cover every history up to 64 entries; a longer one
// is allocated alone. The spare entries serve further transitions of the
// same call and are clipped off before Next returns, so no later call, of
// Next or of append, writes into an array a returned state holds. (Room
// kept across calls would not do: two calls of Next on one state would
// append into the same spare entry.)
func (m *machine) grow(old []Transition, t Transition) []Transition {
	m.histOwned = true
	var h []Transition
	switch n := len(old) + 1; {
	case m.act != nil || m.acts != nil: // the call has its out already
		h = make([]Transition, 0, n)
	case n <= 1:
		h = withOut(m, func(a *[1]Transition) []Transition { return a[:0] })
	case n <= 2:
		h = withOut(m, func(a *[2]Transition) []Transition { return a[:0] })
	case n <= 3:
		h = withOut(m, func(a *[3]Transition) []Transition { return a[:0] })
	case n <= 4:
		h = withOut(m, func(a *[4]Transition) []Transition { return a[:0] })
	case n <= 6:
		h = withOut(m, func(a *[6]Transition) []Transition { return a[:0] })
	case n <= 8:
		h = withOut(m, func(a *[8]Transition) []Transition { return a[:0] })
	case n <= 12:
		h = withOut(m, func(a *[12]Transition) []Transition { return a[:0] })
	case n <= 16:
		h = withOut(m, func(a *[16]Transition) []Transition { return a[:0] })
	case n <= 24:
		h = withOut(m, func(a *[24]Transition) []Transition { return a[:0] })
	case n <= 32:
		h = withOut(m, func(a *[32]Transition) []Transition { return a[:0] })
	case n <= 48:
		h = withOut(m, func(a *[48]Transition) []Transition { return a[:0] })
	case n <= 64:
		h = withOut(m, func(a *[64]Transition) []Transition { return a[:0] })
	default:
		h = make([]Transition, 0, n)
	}
	return append(append(h, old...), t)
}

// withOut allocates an array A (of transitions or checks) together with an
// out, offers the out to the call (room) and returns the array as a slice,
// empty.
func withOut[A, E any](m *machine, slice func(*A) []E) []E {
	b := new(struct {
		out
		a A
	})
	m.room(&b.out)
	return slice(&b.a)
}

// ownChecks makes s.Checks a private copy before it is changed. A call that
// has allocated nothing yet (a window judged) allocates the copy together
// with an out, rounded up to a size class as grow does, for the action
// that usually follows; the copy's capacity is its length.
func (m *machine) ownChecks() []CheckState {
	if m.checksOwned {
		return m.s.Checks
	}
	m.checksOwned = true
	old := m.s.Checks
	n := len(old)
	var c []CheckState
	switch {
	case n == 0:
		return old
	case m.act != nil || m.acts != nil:
		c = make([]CheckState, 0, n)
	case n <= 1:
		c = withOut(m, func(a *[1]CheckState) []CheckState { return a[:0] })
	case n <= 2:
		c = withOut(m, func(a *[2]CheckState) []CheckState { return a[:0] })
	case n <= 4:
		c = withOut(m, func(a *[4]CheckState) []CheckState { return a[:0] })
	case n <= 8:
		c = withOut(m, func(a *[8]CheckState) []CheckState { return a[:0] })
	default:
		c = make([]CheckState, 0, n)
	}
	m.s.Checks = append(c[:0:n], old...)
	return m.s.Checks
}

// clearDone marks every check as not yet judged in the window, copying
// s.Checks only when one is marked.
func (m *machine) clearDone() {
	for i, c := range m.s.Checks {
		if c.Done {
			m.ownChecks()[i].Done = false
		}
	}
}

// handle applies the event to the state and reports whether it was
// accepted. Time-driven progress is left to settle.
func (m *machine) handle(ev Event) bool {
	s := &m.s
	switch ev.Kind {
	case EventTick:
		return true
	case EventStart:
		if s.effective() != PhasePending || !s.Started.IsZero() {
			return false
		}
		s.Started = m.now
	case EventRouteSet:
		if s.Awaiting != AwaitRoute {
			return false
		}
		m.routeSet(ev.Route)
	case EventRouteFailed:
		if s.Awaiting != AwaitRoute {
			return false
		}
		m.routeFailed(ev)
	case EventMeasured:
		if s.Awaiting != AwaitMeasure {
			return false
		}
		if w := s.window(); !ev.Start.Equal(w.Start) || !ev.End.Equal(w.End) {
			return false
		}
		m.measured(ev)
	case EventHookDone:
		h := s.hook()
		if s.Awaiting != AwaitHook || h == nil || h.Name != ev.Hook {
			return false
		}
		m.hookDone(h, ev.Err)
	case EventApproved:
		if s.effective() != PhaseAwaitingApproval {
			return false
		}
		s.Approved = true
		if s.Phase == PhaseAwaitingApproval {
			m.to(PhaseShifting, note("approved", ev.Reason)+fmt.Sprintf(": shifting to step %d", s.Step))
		}
	case EventRejected:
		if s.effective() != PhaseAwaitingApproval {
			return false
		}
		m.rollback(note("promotion rejected", ev.Reason))
	case EventPause:
		if s.Phase == PhasePaused || s.Phase == PhaseRollingBack {
			return false
		}
		s.ResumeTo = s.Phase
		m.to(PhasePaused, note("paused", ev.Reason))
	case EventResume:
		if s.Phase != PhasePaused {
			return false
		}
		m.resume(note("resumed", ev.Reason))
	case EventAbort:
		if s.Phase == PhaseRollingBack {
			return false
		}
		m.rollback(note("aborted", ev.Reason))
	case EventPromoteNow:
		if s.Phase == PhaseRollingBack || s.effective() == PhasePostTraffic {
			return false
		}
		s.PromoteNow = true
		if s.Phase == PhasePaused {
			m.resume(note("resumed to promote now", ev.Reason))
		}
	case EventCancelled:
		if s.Phase == PhaseRollingBack {
			return false
		}
		if s.OnCancel == LeaveOnCancel {
			m.to(PhaseFailed, note(fmt.Sprintf("cancelled; traffic left as it is (%d basis points to the candidate)", s.Route.Share(s.Candidate)), ev.Reason))
		} else {
			m.rollback(note("cancelled", ev.Reason))
		}
	default:
		return false
	}
	return true
}

// note appends an operator's note to a reason.
func note(reason, n string) string {
	if n == "" {
		return reason
	}
	return reason + ": " + n
}

// resume leaves a pause, restarting a bake and an approval deadline.
func (m *machine) resume(reason string) {
	s := &m.s
	checks := m.ownChecks()
	for i := range checks {
		checks[i].Inconclusives = 0
	}
	switch s.ResumeTo {
	case PhaseBaking:
		m.startBake()
	case PhaseAwaitingApproval:
		s.Deadline = m.now.Add(s.Plan.Approval.Timeout)
	}
	p := s.ResumeTo
	s.ResumeTo = PhasePending
	m.to(p, reason)
}

// routeSet records a successful write of the awaited route.
func (m *machine) routeSet(r provider.Route) {
	s := &m.s
	if r.Alias != s.Want.Alias || !r.SameTraffic(s.Want) {
		m.conflict(r, fmt.Sprintf("route %q was written as %s, not as requested (%s)", r.Alias, describe(r), describe(s.Want)))
		return
	}
	if len(r.Weights) > 0 && slices.Equal(r.Weights, s.Want.Weights) {
		// The weights requested are already the state's own: share them
		// rather than copy the runner's (Next never changes weights in
		// place).
		r.Weights = s.Want.Weights
	} else {
		r = r.Clone()
	}
	s.Awaiting = AwaitNothing
	s.Want = provider.Route{}
	if r.Alias == s.Alias {
		s.Route = r
		s.Wrote = true
	} else {
		s.TestRoute = r
	}
}

// routeFailed handles a failed write of the awaited route. A write that
// failed otherwise than by a conflict (a timeout, a lost response) may have
// landed: when the route read back has the requested traffic it is adopted
// as the write's result. A conflict never is: the route is someone else's,
// even with the very traffic this rollout wanted (a second rollout of the
// same candidate), so it goes to the conflict handling.
func (m *machine) routeFailed(ev Event) {
	s := &m.s
	conflicted := ev.Conflict || errors.Is(ev.Err, provider.ErrConflict)
	if !conflicted && ev.Route.Alias == s.Want.Alias && len(ev.Route.Weights) > 0 && ev.Route.SameTraffic(s.Want) {
		// The write took effect after all (reported failed, e.g. a
		// timeout): the route read says so.
		m.routeSet(ev.Route)
		return
	}
	errText := "unknown error"
	if ev.Err != nil {
		errText = ev.Err.Error()
	}
	if conflicted {
		m.conflict(ev.Route, fmt.Sprintf("route %q changed out of band: %s", s.Want.Alias, errText))
		return
	}
	want := s.Want.Alias
	s.Awaiting = AwaitNothing
	s.Want = provider.Route{}
	if s.Phase == PhaseRollingBack {
		s.RollbackAttempts++
		if s.RollbackAttempts >= MaxRollbackAttempts {
			m.to(PhaseFailed, fmt.Sprintf("rollback of route %q failed %d times, traffic left as it is: %s", want, s.RollbackAttempts, errText))
		}
		return // settle writes again
	}
	m.rollback(fmt.Sprintf("writing route %q failed: %s", want, errText))
}

// conflict handles a route changed by someone else. cur is the route as the
// runner read it (zero when it did not).
func (m *machine) conflict(cur provider.Route, reason string) {
	s := &m.s
	want := s.Want.Alias
	s.Awaiting = AwaitNothing
	s.Want = provider.Route{}
	if want != s.Alias {
		// The blue/green test alias: production was never touched by it.
		m.rollback(reason)
		return
	}
	if s.OnConflict != RollBackOnConflict || cur.Alias != s.Alias || cur.Revision == "" {
		m.to(PhaseFailed, reason+"; not overwritten")
		return
	}
	if !s.Wrote {
		// Another writer got there first (a second pipeline's canary):
		// this rollout never moved any traffic, and "rolling back" would
		// put the stable route over theirs.
		m.to(PhaseFailed, reason+"; not overwritten: this rollout never wrote the route, so it has nothing to roll back")
		return
	}
	s.Route = cur.Clone()
	if s.Phase == PhaseRollingBack {
		s.RollbackAttempts++
		if s.RollbackAttempts >= MaxRollbackAttempts {
			m.to(PhaseFailed, fmt.Sprintf("%s; rollback gave up after %d attempts", reason, s.RollbackAttempts))
		}
		return
	}
	m.rollback(reason + "; rolling back over it")
}

// rollback starts restoring the stable route. An outstanding measurement
// or hook is abandoned; an outstanding route write is awaited first.
func (m *machine) rollback(reason string) {
	s := &m.s
	if s.Awaiting != AwaitRoute {
		s.Awaiting = AwaitNothing
	}
	s.PromoteNow = false
	s.Deadline = time.Time{}
	s.NextAnalysis, s.RetryAt = time.Time{}, time.Time{}
	s.ResumeTo = PhasePending
	if s.Phase != PhaseRollingBack {
		m.to(PhaseRollingBack, reason)
	}
}

// measured applies the awaited window's results.
func (m *machine) measured(ev Event) {
	s := &m.s
	s.Awaiting = AwaitNothing
	checks := m.ownChecks()
	outcome, reason := judgeWindow(checks, ev.Results, ev.Err, &s.Plan)
	switch outcome {
	case outcomeFail:
		m.rollback(reason)
	case outcomeInconclusive:
		if s.Plan.OnInconclusive == RollBackOnInconclusive {
			m.rollback(reason)
			return
		}
		m.windowDone()
		if s.Phase != PhasePaused {
			s.ResumeTo = s.Phase
			m.to(PhasePaused, reason)
		}
	case outcomeRetry:
		s.RetryAt = m.now.Add(s.Plan.RetryDelay)
	case outcomeContinue:
		m.windowDone()
	}
}

// windowDone moves the analysis to the next window of the step, if one
// fits in the bake.
func (m *machine) windowDone() {
	s := &m.s
	m.clearDone()
	s.RetryAt = time.Time{}
	next := s.NextAnalysis.Add(s.Plan.Interval)
	if next.After(s.Plan.BakeEnd(s.Step, s.StepStarted, true)) {
		next = time.Time{}
	}
	s.NextAnalysis = next
}

// hookDone records the awaited hook's outcome.
func (m *machine) hookDone(h *HookSpec, err error) {
	s := &m.s
	s.Awaiting = AwaitNothing
	s.Deadline = time.Time{}
	if err != nil {
		m.rollback(fmt.Sprintf("hook %q failed: %v", h.Name, err))
		return
	}
	if s.effective() == PhasePreTraffic {
		s.PreTrafficDone = true
	} else {
		s.PostTrafficDone = true
	}
}

// startBake starts (or restarts) the current step's bake at now and places
// its first analysis window.
func (m *machine) startBake() {
	s := &m.s
	s.StepStarted = m.now
	s.RetryAt = time.Time{}
	s.NextAnalysis = time.Time{}
	if s.Awaiting == AwaitMeasure {
		// A measurement of the bake being restarted: its result, when it
		// comes, names a window that is no longer awaited and is ignored.
		s.Awaiting = AwaitNothing
	}
	m.clearDone()
	if len(s.Checks) == 0 || s.Plan.Steps[s.Step].Bake == 0 {
		return
	}
	s.NextAnalysis = s.Plan.firstWindowEnd(s.StepStarted)
}

// settle advances the rollout as far as the state and the time allow,
// emitting the actions to wait on.
func (m *machine) settle() {
	for range 4 * int(phaseCount) {
		if m.s.Phase.Terminal() || m.s.Phase == PhasePaused || !m.advance() {
			return
		}
	}
	panic("canary: machine did not settle")
}

// advance takes one step from the current phase. It returns true when the
// phase changed (advance again), false when the rollout waits.
func (m *machine) advance() bool {
	s := &m.s
	switch s.Phase {
	case PhasePending:
		switch {
		case s.Started.IsZero():
			return false
		case s.Plan.PreTraffic != nil && !s.PreTrafficDone:
			m.to(PhasePreTraffic, fmt.Sprintf("running pre-traffic hook %q", s.Plan.PreTraffic.Name))
		default:
			m.begin(0)
		}
		return true
	case PhasePreTraffic, PhasePostTraffic:
		return m.advanceHook()
	case PhaseShifting:
		return m.advanceShifting()
	case PhaseBaking:
		return m.advanceBaking()
	case PhaseAwaitingApproval:
		switch {
		case s.PromoteNow:
			m.to(PhasePromoting, "promoting now: approval skipped")
		case s.Approved:
			m.to(PhaseShifting, fmt.Sprintf("approved: shifting to step %d", s.Step))
		case !m.now.Before(s.Deadline):
			m.rollback(fmt.Sprintf("no approval within %s", s.Plan.Approval.Timeout))
		default:
			m.emit(Action{Kind: ActionWait, Until: s.Deadline})
			return false
		}
		return true
	case PhasePromoting:
		if s.Awaiting == AwaitRoute {
			return false
		}
		if s.Route.Share(s.Candidate) == provider.AllTraffic {
			m.finish()
			return true
		}
		m.write(provider.To(s.Alias, s.Candidate), s.Route.Revision)
		return false
	case PhaseRollingBack:
		if s.Awaiting == AwaitRoute {
			return false
		}
		if s.Route.SameTraffic(s.StableRoute) {
			m.to(PhaseRolledBack, "stable route in place: "+describe(s.StableRoute))
			return true
		}
		m.write(s.StableRoute, s.Route.Revision)
		return false
	}
	return false
}

// write asks for a route write of r's traffic with the expected revision.
// It copies r's weights: when they fit a step's two, into the call's out
// (allocating one, with the action, when the call has none yet and this is
// its first action). The state's Want and the action share them, as nothing
// changes weights in place.
func (m *machine) write(r provider.Route, revision string) { m.writeTo(r.Alias, r.Weights, revision) }

// writeTo is write with the route's parts apart, so that the caller's
// weights can stay on its stack.
func (m *machine) writeTo(alias string, weights []provider.Weight, revision string) {
	m.s.Awaiting = AwaitRoute
	if m.weights == nil && weights != nil && len(weights) <= 2 && m.acts == nil {
		m.room(new(out))
	}
	if weights == nil || len(weights) > 2 || m.weights == nil {
		want := provider.Route{Alias: alias, Weights: slices.Clone(weights), Revision: revision}
		m.s.Want = want
		m.emit(Action{Kind: ActionSetRoute, Route: want})
		return
	}
	n := copy(m.weights[:], weights)
	want := provider.Route{Alias: alias, Weights: m.weights[:n:n], Revision: revision}
	m.weights = nil
	m.s.Want = want
	m.emit(Action{Kind: ActionSetRoute, Route: want})
}

// begin moves to step i: the approval gate first when it stands before it,
// else shifting (or promoting when an operator asked to).
func (m *machine) begin(i int) {
	s := &m.s
	s.Step = i
	switch {
	case s.PromoteNow:
		m.to(PhasePromoting, "promoting now: remaining steps skipped")
	case s.Plan.Approval != nil && !s.Approved && i == s.Plan.gate():
		s.Deadline = m.now.Add(s.Plan.Approval.Timeout)
		m.to(PhaseAwaitingApproval, fmt.Sprintf("waiting up to %s for approval before step %d sends all traffic to the candidate", s.Plan.Approval.Timeout, i))
	default:
		var buf [reasonBuf]byte
		b := append(buf[:0], "shifting to step "...)
		b = strconv.AppendInt(b, int64(i), 10)
		b = m.appendStep(append(b, ": "...), i)
		m.to(PhaseShifting, string(b))
	}
}

// finish ends a rollout whose alias sends all traffic to the candidate.
func (m *machine) finish() {
	s := &m.s
	if s.Plan.PostTraffic != nil && !s.PostTrafficDone {
		m.to(PhasePostTraffic, fmt.Sprintf("all traffic on the candidate; running post-traffic hook %q", s.Plan.PostTraffic.Name))
		return
	}
	var buf [reasonBuf]byte
	b := strconv.AppendQuote(append(buf[:0], "all traffic of "...), s.Alias)
	b = append(append(b, " on version "...), s.Candidate...)
	m.to(PhaseSucceeded, string(b))
}

func (m *machine) advanceHook() bool {
	s := &m.s
	h := s.hook()
	done := s.PreTrafficDone
	if s.Phase == PhasePostTraffic {
		done = s.PostTrafficDone
	}
	switch {
	case s.Awaiting == AwaitHook:
		if !m.now.Before(s.Deadline) {
			s.Awaiting = AwaitNothing
			m.rollback(fmt.Sprintf("hook %q did not finish within %s", h.Name, h.Timeout))
			return true
		}
		return false
	case !done:
		s.Awaiting = AwaitHook
		s.Deadline = m.now.Add(h.Timeout)
		m.emit(Action{Kind: ActionRunHook, Hook: h.Name, Until: s.Deadline})
		return false
	case s.Phase == PhasePostTraffic:
		m.to(PhaseSucceeded, fmt.Sprintf("post-traffic hook %q passed; all traffic of %q on version %s", h.Name, s.Alias, s.Candidate))
	case s.PromoteNow:
		m.to(PhasePromoting, "pre-traffic hook passed; promoting now")
	default:
		m.begin(0)
	}
	return true
}

func (m *machine) advanceShifting() bool {
	s := &m.s
	if s.Awaiting == AwaitRoute {
		return false
	}
	if s.PromoteNow {
		m.to(PhasePromoting, "promoting now: remaining steps skipped")
		return true
	}
	st := s.Plan.Steps[s.Step]
	if !m.stepInPlace() {
		// State.stepRoute, spelt out so that its weights stay on the
		// stack until writeTo copies them.
		if s.Plan.onTest(s.Step) {
			r := provider.To(s.Plan.TestAlias, s.Candidate)
			m.writeTo(s.Plan.TestAlias, r.Weights, s.TestRoute.Revision)
		} else {
			r := provider.Split(s.Alias, s.Stable, s.Candidate, st.Weight)
			m.writeTo(s.Alias, r.Weights, s.Route.Revision)
		}
		return false
	}
	m.startBake()
	if st.Bake == 0 {
		m.next()
		return true
	}
	var buf [reasonBuf]byte
	b := append(buf[:0], "step "...)
	b = strconv.AppendInt(b, int64(s.Step), 10)
	b = m.appendStep(append(b, " in place ("...), s.Step)
	b = appendDuration(append(b, "): baking for "...), st.Bake)
	m.to(PhaseBaking, string(b))
	return true
}

// stepInPlace reports whether the current step's route is in place.
func (m *machine) stepInPlace() bool {
	s := &m.s
	w := s.Plan.Steps[s.Step].Weight
	if s.Plan.onTest(s.Step) {
		return s.TestRoute.Share(s.Candidate) == provider.AllTraffic
	}
	return s.Route.Share(s.Candidate) == w && (w == provider.AllTraffic || s.Route.Share(s.Stable) == provider.AllTraffic-w)
}

// next leaves the current step, whose bake is over.
func (m *machine) next() {
	s := &m.s
	if s.Step+1 < len(s.Plan.Steps) {
		m.begin(s.Step + 1)
		return
	}
	m.finish()
}

func (m *machine) advanceBaking() bool {
	s := &m.s
	if s.PromoteNow {
		if s.Awaiting == AwaitMeasure {
			s.Awaiting = AwaitNothing
		}
		s.NextAnalysis, s.RetryAt = time.Time{}, time.Time{}
		m.to(PhasePromoting, "promoting now: analysis and remaining steps skipped")
		return true
	}
	if s.Awaiting == AwaitMeasure {
		return false
	}
	if !s.NextAnalysis.IsZero() {
		due := s.NextAnalysis
		if s.RetryAt.After(due) {
			due = s.RetryAt
		}
		if m.now.Before(due) {
			m.emit(Action{Kind: ActionWait, Until: due})
			return false
		}
		s.Awaiting = AwaitMeasure
		m.emit(s.measureAction())
		return false
	}
	end := s.Plan.BakeEnd(s.Step, s.StepStarted, len(s.Checks) > 0)
	if m.now.Before(end) {
		m.emit(Action{Kind: ActionWait, Until: end})
		return false
	}
	if reason, ok := s.unproven(); ok && (s.Step+1 >= len(s.Plan.Steps) || s.Step+1 == s.Plan.gate()) {
		// No evidence, no promotion: the next move would send all traffic
		// to the candidate (or end the rollout) on no Pass at all.
		if s.Plan.OnInconclusive == RollBackOnInconclusive {
			m.rollback(reason)
			return true
		}
		s.ResumeTo = s.Phase
		m.to(PhasePaused, reason)
		return true
	}
	m.next()
	return true
}

// unproven reports a decisive check that has never returned Pass in this
// rollout, with the reason to give: such a rollout is never promoted,
// whatever InconclusiveLimit allows (Verdict: an inconclusive verdict is
// never a pass).
func (s *State) unproven() (string, bool) {
	for _, c := range s.Checks {
		if c.decisive() && c.Passes == 0 {
			return fmt.Sprintf("no evidence, no promotion: check %q has not passed a single window (%d inconclusive, %d failed): %s",
				c.Name, c.Inconclusives, c.Failures, c.LastReason), true
		}
	}
	return "", false
}

// measureAction returns the Measure action of the window being measured:
// every check on a first attempt, the ones without a verdict on a retry.
func (s *State) measureAction() Action {
	a := Action{Kind: ActionMeasure, Window: s.window()}
	for _, c := range s.Checks {
		if c.Done {
			a.Checks = make([]string, 0, len(s.Checks))
			break
		}
	}
	if a.Checks != nil {
		for _, c := range s.Checks {
			if !c.Done {
				a.Checks = append(a.Checks, c.Name)
			}
		}
	}
	return a
}

// reasonBuf is the size of the stack buffer the reasons of a walk's
// transitions are built in (with strconv's Append functions rather than
// fmt, so that each costs one allocation: the string); a longer reason
// grows the buffer onto the heap.
const reasonBuf = 160

// appendStep appends the traffic of step i, "10% to 2" or "all traffic of
// test alias "test" to 2".
func (m *machine) appendStep(b []byte, i int) []byte {
	s := &m.s
	if s.Plan.onTest(i) {
		b = strconv.AppendQuote(append(b, "all traffic of test alias "...), s.Plan.TestAlias)
	} else {
		b = provider.AppendPercent(b, s.Plan.Steps[i].Weight)
	}
	return append(append(b, " to "...), s.Candidate...)
}

// appendDuration appends d as time.Duration.String spells it.
func appendDuration(b []byte, d time.Duration) []byte {
	return append(b, d.String()...)
}

// describe formats a route's traffic, "3=90% 4=10%" (provider.Route.Traffic),
// or "no traffic".
func describe(r provider.Route) string {
	if t := r.Traffic(); t != "" {
		return t
	}
	return "no traffic"
}
