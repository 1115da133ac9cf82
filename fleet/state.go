package fleet

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/slipway-dev/slipway/release"
)

// Phase is where a fleet release is.
type Phase int

const (
	// PhasePending: created, waiting for EventStart.
	PhasePending Phase = iota
	// PhaseRunning: the current wave's targets are being released.
	PhaseRunning
	// PhaseBaking: every target of the wave succeeded; the wave bakes.
	PhaseBaking
	// PhaseJudging: the bake is over; each target of the wave is judged.
	PhaseJudging
	// PhaseAwaitingApproval: the next wave waits for EventApprove.
	PhaseAwaitingApproval
	// PhaseRollingBack: a target failed (or an operator aborted); targets
	// are being sent back by the plan's OnFailure scope.
	PhaseRollingBack
	// PhaseSucceeded (terminal): every target is on its candidate.
	PhaseSucceeded
	// PhaseFailed (terminal): a target failed and the release stopped;
	// the failing groups (or, by scope, every target) are back on their
	// previous versions unless a target's Reason says otherwise.
	PhaseFailed
	// PhaseAborted (terminal): an operator aborted the release.
	PhaseAborted
)

func (p Phase) String() string {
	switch p {
	case PhasePending:
		return "Pending"
	case PhaseRunning:
		return "Running"
	case PhaseBaking:
		return "Baking"
	case PhaseJudging:
		return "Judging"
	case PhaseAwaitingApproval:
		return "AwaitingApproval"
	case PhaseRollingBack:
		return "RollingBack"
	case PhaseSucceeded:
		return "Succeeded"
	case PhaseFailed:
		return "Failed"
	case PhaseAborted:
		return "Aborted"
	}
	return fmt.Sprintf("Phase(%d)", int(p))
}

// Terminal reports whether p is Succeeded, Failed or Aborted.
func (p Phase) Terminal() bool { return p == PhaseSucceeded || p == PhaseFailed || p == PhaseAborted }

// MarshalText encodes the phase by name.
func (p Phase) MarshalText() ([]byte, error) { return []byte(p.String()), nil }

// UnmarshalText decodes a phase name.
func (p *Phase) UnmarshalText(b []byte) error {
	for q := PhasePending; q <= PhaseAborted; q++ {
		if q.String() == string(b) {
			*p = q
			return nil
		}
	}
	return fmt.Errorf("fleet: unknown phase %q", b)
}

// TargetPhase is where one target is.
type TargetPhase int

const (
	// TargetWaiting: not started (its wave has not come, a bound holds it,
	// or its region's deploy policy blocks it until BlockedUntil).
	TargetWaiting TargetPhase = iota
	// TargetRunning: its canary is in flight.
	TargetRunning
	// TargetSucceeded: its alias is on the candidate.
	TargetSucceeded
	// TargetRolledBack: its canary failed and put the stable route back.
	TargetRolledBack
	// TargetFailed: it failed and its traffic is as its Reason says (its
	// canary stopped without a rollback, a bake check failed before the
	// revert, or a revert could not be written).
	TargetFailed
	// TargetReverting: it succeeded, its group failed: its previous
	// version is being restored.
	TargetReverting
	// TargetReverted: it succeeded and was sent back to its previous
	// version.
	TargetReverted
	// TargetSkipped: the release stopped before it started.
	TargetSkipped
)

func (p TargetPhase) String() string {
	switch p {
	case TargetWaiting:
		return "Waiting"
	case TargetRunning:
		return "Running"
	case TargetSucceeded:
		return "Succeeded"
	case TargetRolledBack:
		return "RolledBack"
	case TargetFailed:
		return "Failed"
	case TargetReverting:
		return "Reverting"
	case TargetReverted:
		return "Reverted"
	case TargetSkipped:
		return "Skipped"
	}
	return fmt.Sprintf("TargetPhase(%d)", int(p))
}

// MarshalText encodes the phase by name.
func (p TargetPhase) MarshalText() ([]byte, error) { return []byte(p.String()), nil }

// UnmarshalText decodes a phase name.
func (p *TargetPhase) UnmarshalText(b []byte) error {
	for q := TargetWaiting; q <= TargetSkipped; q++ {
		if q.String() == string(b) {
			*p = q
			return nil
		}
	}
	return fmt.Errorf("fleet: unknown target phase %q", b)
}

// TargetState is the record of one target in a release.
type TargetState struct {
	ID    string      `json:"id"`
	Wave  int         `json:"wave"`
	Phase TargetPhase `json:"phase"`
	// Stable and Candidate are the versions its canary moved between, as
	// reported when it ended.
	Stable    string `json:"stable,omitempty"`
	Candidate string `json:"candidate,omitempty"`
	// Revert marks a target whose group (or release) failed: when it
	// succeeds it is sent back.
	Revert bool `json:"revert,omitempty"`
	// Aborted marks a running target whose abort was asked for.
	Aborted bool `json:"aborted,omitempty"`
	// Judging marks a target whose wave verdict is awaited.
	Judging bool `json:"judging,omitempty"`
	// BlockedUntil is when its region's deploy policy next allows it
	// (zero when not blocked).
	BlockedUntil time.Time `json:"blockedUntil,omitzero"`
	Started      time.Time `json:"started,omitzero"`
	Ended        time.Time `json:"ended,omitzero"`
	Reason       string    `json:"reason,omitempty"`
}

// State is the whole of a fleet release: plain data that round-trips
// through encoding/json, so an executor persists it (or, on Temporal,
// carries it through continue-as-new) and resumes from it.
type State struct {
	Plan Plan `json:"plan"`
	// Waves are the plan's resolved waves: indices into Plan.Targets.
	Waves [][]int `json:"waves"`
	// Wave indexes Waves: the wave being released, baked or judged.
	Wave      int       `json:"wave"`
	Phase     Phase     `json:"phase"`
	Paused    bool      `json:"paused,omitempty"`
	Approved  []bool    `json:"approved,omitempty"`
	Aborting  bool      `json:"aborting,omitempty"`
	Started   time.Time `json:"started,omitzero"`
	BakeStart time.Time `json:"bakeStart,omitzero"`
	BakeUntil time.Time `json:"bakeUntil,omitzero"`
	// Targets are shared between the states Next returns: Next copies a
	// target before it changes it, never changes one in place.
	Targets []*TargetState `json:"targets"`
	Reason  string         `json:"reason,omitempty"`
}

// NewState validates the plan and returns its release's initial state, in
// PhasePending. Nothing is touched.
func NewState(p Plan) (State, error) {
	waves, err := p.Resolve()
	if err != nil {
		return State{}, err
	}
	s := State{Plan: p, Waves: waves, Approved: make([]bool, len(waves)), Targets: make([]*TargetState, len(p.Targets))}
	for w, ids := range waves {
		for _, i := range ids {
			s.Targets[i] = &TargetState{ID: p.Targets[i].ID(), Wave: w}
		}
	}
	return s, nil
}

// Count returns how many targets are in each phase.
func (s State) Count() map[TargetPhase]int {
	out := map[TargetPhase]int{}
	for _, t := range s.Targets {
		out[t.Phase]++
	}
	return out
}

// EventKind says what happened.
type EventKind int

const (
	// EventStart begins a pending release.
	EventStart EventKind = iota + 1
	// EventTick reports that time passed (a Wait ended).
	EventTick
	// EventTargetDone reports a target's canary ended: Outcome is
	// TargetSucceeded, TargetRolledBack or TargetFailed; Stable, Candidate
	// and Reason describe it.
	EventTargetDone
	// EventReverted reports a revert: Err is empty when the target is on
	// its previous version again.
	EventReverted
	// EventJudged reports a target's wave verdict: Pass, with Reason.
	EventJudged
	// EventApprove lets the wave waiting for approval start.
	EventApprove
	// EventAbort stops the release: targets in flight are aborted and,
	// with ScopeRelease, every target moved goes back.
	EventAbort
	// EventPause holds the release: no target and no wave starts until
	// EventResume; targets in flight go on.
	EventPause
	EventResume
)

func (k EventKind) String() string {
	switch k {
	case EventStart:
		return "Start"
	case EventTick:
		return "Tick"
	case EventTargetDone:
		return "TargetDone"
	case EventReverted:
		return "Reverted"
	case EventJudged:
		return "Judged"
	case EventApprove:
		return "Approve"
	case EventAbort:
		return "Abort"
	case EventPause:
		return "Pause"
	case EventResume:
		return "Resume"
	}
	return fmt.Sprintf("EventKind(%d)", int(k))
}

// Event is an input of Next. Errors travel as text, so events serialise.
type Event struct {
	Kind      EventKind   `json:"kind"`
	Target    int         `json:"target,omitempty"`
	Outcome   TargetPhase `json:"outcome,omitempty"`
	Stable    string      `json:"stable,omitempty"`
	Candidate string      `json:"candidate,omitempty"`
	Pass      bool        `json:"pass,omitempty"`
	Err       string      `json:"err,omitempty"`
	Reason    string      `json:"reason,omitempty"`
}

// ActionKind says what the executor must do.
type ActionKind int

const (
	// ActionStart: release target Action.Target (its canary); report
	// EventTargetDone.
	ActionStart ActionKind = iota + 1
	// ActionAbort: abort the canary of target Action.Target (it rolls
	// back); its EventTargetDone follows.
	ActionAbort
	// ActionRevert: send target Action.Target back to its previous version
	// (from the journal); report EventReverted.
	ActionRevert
	// ActionJudge: judge target Action.Target over [Start, End) (its
	// route still on the candidate; the plan's bake checks); report
	// EventJudged.
	ActionJudge
	// ActionWait: send EventTick at Until.
	ActionWait
	// ActionDone: the release ended in Phase.
	ActionDone
)

func (k ActionKind) String() string {
	switch k {
	case ActionStart:
		return "Start"
	case ActionAbort:
		return "Abort"
	case ActionRevert:
		return "Revert"
	case ActionJudge:
		return "Judge"
	case ActionWait:
		return "Wait"
	case ActionDone:
		return "Done"
	}
	return fmt.Sprintf("ActionKind(%d)", int(k))
}

// Action is an output of Next.
type Action struct {
	Kind   ActionKind `json:"kind"`
	Target int        `json:"target,omitempty"`
	Start  time.Time  `json:"start,omitzero"`
	End    time.Time  `json:"end,omitzero"`
	Until  time.Time  `json:"until,omitzero"`
	Phase  Phase      `json:"phase,omitempty"`
	Reason string     `json:"reason,omitempty"`
}

// Next is the fleet release's decision logic: given a state, an event and
// the time, it returns the next state and the actions to perform. It is
// pure (no I/O, no clock, s is not modified), so the in-process executor
// and the Temporal workflow run the very same decisions.
//
// The rules:
//   - waves run one after the other; a wave's targets start in plan order
//     as the wave's MaxParallel and each account's MaxParallel allow, and
//     when their region's deploy policy (read in the region's time zone)
//     allows: a blocked target waits until the policy's next opening (a
//     Wait), and one with no opening within a year fails;
//   - when every target of the wave succeeded, the wave bakes for its Bake,
//     then each target is judged (ActionJudge); a wave passes when all
//     pass, and the next wave starts (after EventApprove when it asks for
//     approval);
//   - a target that fails (its canary rolled back or stopped, its
//     verdict failed, its region never opens) fails its group: the
//     group's targets that succeeded are reverted, those in flight
//     aborted, and no target starts any more; with ScopeRelease every
//     target of the release is treated as in the group. When nothing is
//     in flight the release ends Failed (Aborted after EventAbort);
//   - Pause holds starts and the move to the next wave; rollbacks never
//     wait for anything.
//
// An event that does not apply (a result nobody awaits, a control with
// nothing to act on) returns s unchanged and no actions.
func Next(s State, ev Event, now time.Time) (State, []Action) {
	if s.Phase.Terminal() {
		return s, nil
	}
	s.Targets = slices.Clone(s.Targets)
	s.Approved = slices.Clone(s.Approved)
	m := &machine{s: s, now: now}
	if !m.handle(ev) {
		return s, nil
	}
	m.settle()
	return m.s, m.acts
}

type machine struct {
	s    State
	now  time.Time
	acts []Action
	// owned marks the targets already copied by this call.
	owned map[int]bool
}

// mut returns target k for writing: a copy made once per call, so the
// states Next was given and returned before stay as they were.
func (m *machine) mut(k int) *TargetState {
	if !m.owned[k] {
		c := *m.s.Targets[k]
		m.s.Targets[k] = &c
		if m.owned == nil {
			m.owned = map[int]bool{}
		}
		m.owned[k] = true
	}
	return m.s.Targets[k]
}

func (m *machine) emit(a Action) { m.acts = append(m.acts, a) }

func (m *machine) valid(i int) bool { return i >= 0 && i < len(m.s.Targets) }

func (m *machine) handle(ev Event) bool {
	s := &m.s
	switch ev.Kind {
	case EventStart:
		if s.Phase != PhasePending {
			return false
		}
		s.Started = m.now
		s.Phase = PhaseRunning
	case EventTick:
		return s.Phase != PhasePending
	case EventTargetDone:
		if !m.valid(ev.Target) || s.Targets[ev.Target].Phase != TargetRunning {
			return false
		}
		t := m.mut(ev.Target)
		t.Stable, t.Candidate, t.Reason, t.Ended = ev.Stable, ev.Candidate, ev.Reason, m.now
		switch ev.Outcome {
		case TargetSucceeded:
			t.Phase = TargetSucceeded
			if t.Revert {
				m.revert(ev.Target)
			}
		case TargetRolledBack, TargetFailed:
			t.Phase = ev.Outcome
			if !t.Aborted {
				m.fail(ev.Target, fmt.Sprintf("target %s %s: %s", t.ID, ev.Outcome, ev.Reason))
			}
		default:
			t.Phase = TargetFailed
			m.fail(ev.Target, fmt.Sprintf("target %s ended with outcome %s: %s", t.ID, ev.Outcome, ev.Reason))
		}
	case EventReverted:
		if !m.valid(ev.Target) || s.Targets[ev.Target].Phase != TargetReverting {
			return false
		}
		t := m.mut(ev.Target)
		if ev.Err != "" {
			t.Phase = TargetFailed
			t.Reason = "revert failed, traffic left on the candidate: " + ev.Err
		} else {
			t.Phase = TargetReverted
			t.Reason = note("reverted to "+t.Stable, ev.Reason)
		}
	case EventJudged:
		if !m.valid(ev.Target) || !s.Targets[ev.Target].Judging || s.Phase != PhaseJudging && s.Phase != PhaseRollingBack {
			return false
		}
		t := m.mut(ev.Target)
		t.Judging = false
		if !ev.Pass {
			t.Reason = "wave verdict: " + ev.Reason
			m.fail(ev.Target, fmt.Sprintf("target %s failed its wave verdict: %s", t.ID, ev.Reason))
		} else if t.Revert && t.Phase == TargetSucceeded {
			m.revert(ev.Target)
		}
	case EventApprove:
		if s.Phase != PhaseAwaitingApproval {
			return false
		}
		s.Approved[s.Wave] = true
	case EventAbort:
		if s.Aborting {
			return false
		}
		s.Aborting = true
		m.stop(-1, note("aborted", ev.Reason))
	case EventPause:
		if s.Paused || s.Phase == PhaseRollingBack {
			return false
		}
		s.Paused = true
	case EventResume:
		if !s.Paused {
			return false
		}
		s.Paused = false
	default:
		return false
	}
	return true
}

func note(reason, n string) string {
	if n == "" {
		return reason
	}
	return reason + ": " + n
}

// fail handles target i's failure: its group (by scope, the release) goes
// back.
func (m *machine) fail(i int, reason string) { m.stop(i, reason) }

// stop enters the rollback: i is the failing target, -1 an abort. Targets
// not started are skipped. In scope (the failing target's group; every
// target with ScopeRelease or on abort) a running target is aborted and
// sent back should it succeed all the same, and a target that succeeded
// is reverted (after its verdict, when one is awaited) — except on an
// abort with ScopeGroup, which stops the release but keeps what already
// succeeded.
func (m *machine) stop(i int, reason string) {
	s := &m.s
	if s.Phase != PhaseRollingBack {
		s.Phase = PhaseRollingBack
		s.Reason = reason
	}
	all := i < 0 || s.Plan.OnFailure == ScopeRelease
	revertDone := i >= 0 || s.Plan.OnFailure == ScopeRelease
	group := ""
	if i >= 0 {
		group = s.Plan.Targets[i].group()
	}
	for k, t := range s.Targets {
		inGroup := all || s.Plan.Targets[k].group() == group
		switch {
		case t.Phase == TargetWaiting:
			t = m.mut(k)
			t.Phase, t.Reason = TargetSkipped, "not started: "+s.Reason
		case !inGroup:
		case t.Phase == TargetRunning && (!t.Revert || !t.Aborted):
			t = m.mut(k)
			t.Revert = true
			if !t.Aborted {
				t.Aborted = true
				m.emit(Action{Kind: ActionAbort, Target: k, Reason: reason})
			}
		case t.Phase == TargetSucceeded && revertDone:
			m.mut(k).Revert = true
			if !t.Judging {
				m.revert(k)
			}
		}
	}
}

// revert asks to send target k back.
func (m *machine) revert(k int) {
	if m.s.Targets[k].Phase != TargetSucceeded {
		return
	}
	m.mut(k).Phase = TargetReverting
	m.emit(Action{Kind: ActionRevert, Target: k})
}

// settle advances the release as far as the state and the time allow.
func (m *machine) settle() {
	for range 4 * len(m.s.Waves) * 8 {
		if !m.advance() {
			return
		}
	}
	panic("fleet: machine did not settle")
}

// advance takes one step; it returns true when the phase changed.
func (m *machine) advance() bool {
	s := &m.s
	switch s.Phase {
	case PhaseRunning:
		return m.advanceRunning()
	case PhaseBaking:
		if m.now.Before(s.BakeUntil) {
			m.emit(Action{Kind: ActionWait, Until: s.BakeUntil})
			return false
		}
		s.Phase = PhaseJudging
		for _, k := range s.Waves[s.Wave] {
			m.mut(k).Judging = true
			m.emit(Action{Kind: ActionJudge, Target: k, Start: s.BakeStart, End: s.BakeUntil})
		}
		return true
	case PhaseJudging:
		for _, k := range s.Waves[s.Wave] {
			if s.Targets[k].Judging {
				return false
			}
		}
		if s.Paused {
			return false
		}
		if s.Wave+1 == len(s.Waves) {
			m.end(PhaseSucceeded, fmt.Sprintf("%d targets in %d waves on their candidates", len(s.Targets), len(s.Waves)))
			return false
		}
		s.Wave++
		s.BakeStart, s.BakeUntil = time.Time{}, time.Time{}
		s.Phase = PhaseRunning
		if s.Plan.Waves[s.Wave].Approval && !s.Approved[s.Wave] {
			s.Phase = PhaseAwaitingApproval
		}
		return true
	case PhaseAwaitingApproval:
		if !s.Approved[s.Wave] || s.Paused {
			return false
		}
		s.Phase = PhaseRunning
		return true
	case PhaseRollingBack:
		for _, t := range s.Targets {
			if t.Phase == TargetRunning || t.Phase == TargetReverting || t.Judging {
				return false
			}
		}
		if s.Aborting {
			m.end(PhaseAborted, s.Reason)
		} else {
			m.end(PhaseFailed, s.Reason)
		}
		return false
	}
	return false
}

func (m *machine) end(p Phase, reason string) {
	m.s.Phase, m.s.Reason = p, reason
	m.emit(Action{Kind: ActionDone, Phase: p, Reason: reason})
}

func (m *machine) advanceRunning() bool {
	s := &m.s
	wave := s.Waves[s.Wave]
	running, perAccount := 0, map[string]int{}
	for k, t := range s.Targets {
		if t.Phase == TargetRunning {
			perAccount[s.Plan.Targets[k].Provider]++
			if t.Wave == s.Wave {
				running++
			}
		}
	}
	var wake time.Time
	if !s.Paused {
		limit := s.Plan.Waves[s.Wave].MaxParallel
		for _, k := range wave {
			t := s.Targets[k]
			if t.Phase != TargetWaiting {
				continue
			}
			if limit > 0 && running >= limit {
				break
			}
			tg := s.Plan.Targets[k]
			if l := s.Plan.Accounts[tg.Provider].MaxParallel; l > 0 && perAccount[tg.Provider] >= l {
				continue
			}
			if !t.BlockedUntil.IsZero() && m.now.Before(t.BlockedUntil) {
				if wake.IsZero() || t.BlockedUntil.Before(wake) {
					wake = t.BlockedUntil
				}
				continue
			}
			if err := s.Plan.policy(tg.Region).Check(m.now); err != nil {
				var be *release.BlockedError
				if errors.As(err, &be) && !be.Until.IsZero() {
					t = m.mut(k)
					t.BlockedUntil = be.Until
					t.Reason = fmt.Sprintf("region %s: %v", tg.Region, err)
					if wake.IsZero() || be.Until.Before(wake) {
						wake = be.Until
					}
					continue
				}
				t = m.mut(k)
				t.Phase, t.Reason, t.Ended = TargetFailed, fmt.Sprintf("region %s: %v", tg.Region, err), m.now
				m.fail(k, fmt.Sprintf("target %s cannot start: %s", t.ID, t.Reason))
				return true
			}
			t = m.mut(k)
			t.Phase, t.Started, t.BlockedUntil, t.Reason = TargetRunning, m.now, time.Time{}, ""
			running++
			perAccount[tg.Provider]++
			m.emit(Action{Kind: ActionStart, Target: k})
		}
	}
	for _, k := range wave {
		if s.Targets[k].Phase != TargetSucceeded {
			if !wake.IsZero() {
				m.emit(Action{Kind: ActionWait, Until: wake})
			}
			return false
		}
	}
	s.Phase = PhaseBaking
	s.BakeStart = m.now
	s.BakeUntil = m.now.Add(s.Plan.Waves[s.Wave].Bake)
	return true
}

// Pending returns the actions the state awaits the results of, for an
// executor that takes over a state it did not produce (a Temporal run
// continued as new, which carries the state and none of the work in
// flight): a Start per running target (followed by an Abort when its
// abort was asked for), a Revert per reverting target, a Judge per target
// awaiting its verdict. Waits are not listed: send EventTick, which asks
// for them again.
func Pending(s State) []Action {
	var out []Action
	for k, t := range s.Targets {
		switch {
		case t.Phase == TargetRunning:
			out = append(out, Action{Kind: ActionStart, Target: k})
			if t.Aborted {
				out = append(out, Action{Kind: ActionAbort, Target: k, Reason: s.Reason})
			}
		case t.Phase == TargetReverting:
			out = append(out, Action{Kind: ActionRevert, Target: k})
		case t.Judging:
			out = append(out, Action{Kind: ActionJudge, Target: k, Start: s.BakeStart, End: s.BakeUntil})
		}
	}
	return out
}
