package canary

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/slipway-dev/slipway/provider"
)

// Alarms fails a window when any of the named alarms was in ALARM during
// it — the platform's alarms as rollback triggers, as SAM's
// DeploymentPreference.Alarms are for CodeDeploy — and judges relative to
// the rollout: an alarm already in ALARM when the rollout started does not
// fail it (the fix being rolled out is often what will clear it; SAM
// issue #716). Such an alarm counts again once it has left ALARM and
// entered it anew.
//
// The rule: from the alarm's state now and its changes since the rollout
// started (Window.Started; the window's Start when unknown), an ALARM
// episode is a span [entered, left) in ALARM; the window fails when an
// episode that began at or after the rollout's start overlaps [Start, End).
// An episode that ended before the window does not fail it: the window
// after a tolerated failure judges afresh.
//
// Verdicts are Pass or Fail, never Inconclusive: an alarm says nothing
// about the amount of traffic, and other checks guard against promoting
// without evidence. Value is the number of alarms that fired, Unit
// "alarms". Errors of the reader are returned as they are (an unknown
// alarm is provider.ErrNotFound, a configuration error).
type Alarms struct {
	// Reader reads the alarms (awslambda.Provider for CloudWatch alarms).
	Reader provider.AlarmReader `json:"-"`
	// Names are the alarms; at least one.
	Names []string `json:"names"`
}

var _ Check = Alarms{}

// Validate checks the names and the reader.
func (a Alarms) Validate() error {
	if a.Reader == nil {
		return checkInvalid("alarms", "reader", "is nil")
	}
	if len(a.Names) == 0 {
		return checkInvalid("alarms", "names", "is empty")
	}
	for i, n := range a.Names {
		if n == "" {
			return checkInvalid("alarms", fmt.Sprintf("names[%d]", i), "is empty")
		}
	}
	return nil
}

// Judge reads the alarms and applies the rule above to w.
func (a Alarms) Judge(ctx context.Context, w MetricWindow) (Measurement, error) {
	if err := a.Validate(); err != nil {
		return Measurement{}, err
	}
	since := w.Started
	if since.IsZero() || since.After(w.Start) {
		since = w.Start
	}
	alarms, err := a.Reader.Alarms(ctx, a.Names, since)
	if err != nil {
		return Measurement{}, err
	}
	var fired, ignored []string
	for _, al := range alarms {
		if at, ok := firedDuring(al, since, w.Start, w.End); ok {
			fired = append(fired, fmt.Sprintf("%s entered ALARM at %s", al.Name, at.UTC().Format(time.RFC3339)))
		} else if preexisting(al, since, w.Start) {
			ignored = append(ignored, al.Name)
		}
	}
	if len(fired) > 0 {
		return Measurement{Verdict: Fail, Value: float64(len(fired)), Unit: "alarms",
			Reason: "alarm fired during the window: " + strings.Join(fired, "; ")}, nil
	}
	reason := fmt.Sprintf("no alarm of %q was in ALARM during the window", a.Names)
	if len(ignored) > 0 {
		reason += fmt.Sprintf(" since the rollout started (%q were already in ALARM before it: ignored)", ignored)
	}
	return Measurement{Verdict: Pass, Unit: "alarms", Reason: reason}, nil
}

// episodes returns the ALARM spans of al from since on: [entered, left),
// left zero while it lasts; the first span's entered is zero when the
// alarm was already in ALARM at since.
func episodes(al provider.Alarm, since time.Time) [][2]time.Time {
	changes := slices.Clone(al.Changes)
	slices.SortStableFunc(changes, func(a, b provider.AlarmChange) int { return a.Time.Compare(b.Time) })
	// The state at since: the first change's From, or the state now.
	state := al.State
	for _, c := range changes {
		if !c.Time.Before(since) {
			state = c.From
			break
		}
	}
	var out [][2]time.Time
	if state == provider.AlarmFiring {
		out = append(out, [2]time.Time{})
	}
	for _, c := range changes {
		if c.Time.Before(since) {
			continue
		}
		open := len(out) > 0 && out[len(out)-1][1].IsZero()
		switch {
		case c.To == provider.AlarmFiring && !open:
			out = append(out, [2]time.Time{c.Time, {}})
		case c.To != provider.AlarmFiring && open:
			out[len(out)-1][1] = c.Time
		}
	}
	return out
}

// firedDuring reports whether an episode that began at or after since
// overlaps [start, end), and when it began.
func firedDuring(al provider.Alarm, since, start, end time.Time) (time.Time, bool) {
	for _, e := range episodes(al, since) {
		began, left := e[0], e[1]
		if began.IsZero() {
			continue // in ALARM before the rollout started
		}
		if began.Before(end) && (left.IsZero() || left.After(start)) {
			return began, true
		}
	}
	return time.Time{}, false
}

// preexisting reports whether al was in ALARM from before since into the
// window.
func preexisting(al provider.Alarm, since, start time.Time) bool {
	eps := episodes(al, since)
	return len(eps) > 0 && eps[0][0].IsZero() && (eps[0][1].IsZero() || eps[0][1].After(start))
}
