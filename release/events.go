package release

import (
	"fmt"
	"strings"
	"time"

	"github.com/slipway-dev/slipway/provider"
)

// Step names a step of the workflow.
type Step string

const (
	StepPublish  Step = "publish"
	StepStage    Step = "stage"     // the staging alias is pointed at the candidate
	StepTest     Step = "test"      // the caller's integration tests run against staging
	StepCanary   Step = "canary"    // production traffic shifts to the candidate
	StepRollback Step = "rollback"  // an explicit Rollback
	StepPrune    Step = "prune"     // retention after a promotion
	StepReplay   Step = "replay"    // recorded events replayed against the candidate (Request.Contract)
	StepLockDown Step = "lock-down" // grants of unrouted versions removed (Options.LockDown)
	StepRemap    Step = "remap"     // pinned event sources repointed (Options.Remap)
	StepRevert   Step = "revert"    // infrastructure reverted after a rollback (Options.OnRollback)
)

// EventKind says what a progress Event reports.
type EventKind string

const (
	// EventStepStarted: a step of the workflow began (Event.Step).
	EventStepStarted EventKind = "step started"
	// EventPublished: the candidate version exists (Candidate, Semver);
	// Message says whether it was published now or already existed.
	EventPublished EventKind = "published"
	// EventWeightSet: an alias now sends Weight basis points of its
	// traffic to the candidate (0 after a rollback).
	EventWeightSet EventKind = "weight set"
	// EventVerdict: the checks judged an analysis window (Verdicts).
	EventVerdict EventKind = "verdict"
	// EventWaiting: the workflow waits until Until: a step's bake, a
	// deploy window to open, an approval.
	EventWaiting EventKind = "waiting"
	// EventTestsPassed: the integration tests passed against staging.
	EventTestsPassed EventKind = "tests passed"
	// EventRollingBack: the canary failed (Message says why) and traffic
	// is being moved back to the stable version.
	EventRollingBack EventKind = "rolling back"
	// EventPromoted: the alias sends all its traffic to the candidate.
	EventPromoted EventKind = "promoted"
	// EventRolledBack: the alias is back on the stable version.
	EventRolledBack EventKind = "rolled back"
	// EventBlocked: a deploy policy refused the release or a traffic
	// increase (Message says why, Until when it opens).
	EventBlocked EventKind = "blocked"
	// EventPruned: retention ran after the promotion (Message counts).
	EventPruned EventKind = "pruned"
	// EventLockedDown, EventRemapped, EventReverted: the lock-down, the
	// remap and the infrastructure revert ran; Message says what they did.
	EventLockedDown EventKind = "locked down"
	EventRemapped   EventKind = "remapped"
	EventReverted   EventKind = "infrastructure reverted"
	// EventDrift: a route of the function is not as the journal left it
	// (Message is the Drift); the release goes on from the route as it is.
	EventDrift EventKind = "drift"
	// EventFailed: the release stopped without completing; Message says
	// why and where traffic was left.
	EventFailed EventKind = "failed"
)

// Event is one step of a release as it happens, for a CI log, a chat
// message or a UI (Options.OnEvent). Events are delivered on the
// workflow's goroutine, in order.
type Event struct {
	Time     time.Time `json:"time"`
	Kind     EventKind `json:"kind"`
	Step     Step      `json:"step"`
	Release  string    `json:"release,omitempty"`
	Function string    `json:"function"`
	Alias    string    `json:"alias,omitempty"`
	// Candidate and Stable are version IDs; Semver is the candidate's.
	Candidate string `json:"candidate,omitempty"`
	Stable    string `json:"stable,omitempty"`
	Semver    string `json:"semver,omitempty"`
	// Weight is the candidate's share of Alias in basis points, for
	// EventWeightSet and EventVerdict.
	Weight int `json:"weight,omitempty"`
	// Verdicts are the checks' judgements of one window (EventVerdict).
	Verdicts []CheckVerdict `json:"verdicts,omitempty"`
	// Until is the end of a wait (EventWaiting) or when a block lifts
	// (EventBlocked, zero when unknown).
	Until   time.Time `json:"until,omitzero"`
	Message string    `json:"message,omitempty"`
}

// String renders e as one log line, such as
//
//	10:05:00 canary    production  weight set: 25% to 7 (v1.1.0)
func (e Event) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %-8s %-11s %s", e.Time.UTC().Format("15:04:05"), e.Step, e.Alias, e.Kind)
	switch e.Kind {
	case EventWeightSet:
		fmt.Fprintf(&b, ": %s to %s", provider.Percent(e.Weight), plainVersion(e.Candidate, e.Semver))
	case EventVerdict:
		parts := make([]string, 0, len(e.Verdicts))
		for _, v := range e.Verdicts {
			s := v.Check + " " + v.Verdict
			if v.Detail != "" {
				s += " (" + v.Detail + ")"
			}
			parts = append(parts, s)
		}
		fmt.Fprintf(&b, " at %s: %s", provider.Percent(e.Weight), strings.Join(parts, "; "))
	case EventPublished, EventPromoted:
		fmt.Fprintf(&b, ": %s", plainVersion(e.Candidate, e.Semver))
	case EventRolledBack:
		fmt.Fprintf(&b, ": back on %s", plainVersion(e.Stable, ""))
	}
	if e.Kind == EventWaiting || (e.Kind == EventBlocked && !e.Until.IsZero()) {
		fmt.Fprintf(&b, " until %s", e.Until.UTC().Format("15:04:05"))
	}
	if e.Message != "" {
		b.WriteString(": " + e.Message)
	}
	return b.String()
}

// plainVersion is "7 (v1.1.0)", "7" or "?".
func plainVersion(id, sv string) string {
	switch {
	case id == "":
		return "?"
	case sv != "":
		return id + " (v" + sv + ")"
	}
	return id
}
