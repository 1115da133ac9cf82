package provider

import (
	"context"
	"time"
)

// AlarmReader is an optional power of a platform with alarms of its own
// (CloudWatch alarms for AWS Lambda: SAM's DeploymentPreference.Alarms).
// Unlike the other optional powers it is not about one function, so
// callers hand it to the check that needs it (canary.Alarms) rather than
// finding it on a Provider; Provider wrappers do not forward it.
type AlarmReader interface {
	// Alarms returns the named alarms, in the order asked, each with its
	// state now and every change of state at or after since, oldest
	// first. ErrNotFound (naming the alarms) when any does not exist,
	// ErrInvalid for an empty name list or name, ErrThrottled,
	// ErrUnavailable.
	Alarms(ctx context.Context, names []string, since time.Time) ([]Alarm, error)
}

// AlarmState is the state of an alarm: CloudWatch's StateValue.
type AlarmState string

const (
	AlarmOK               AlarmState = "OK"
	AlarmFiring           AlarmState = "ALARM"
	AlarmInsufficientData AlarmState = "INSUFFICIENT_DATA"
)

// Alarm is one alarm's state and its recent history.
type Alarm struct {
	Name  string     `json:"name"`
	State AlarmState `json:"state"`
	// Reason is the platform's explanation of the current state.
	Reason string `json:"reason,omitempty"`
	// Since is when the alarm last changed state (CloudWatch's
	// StateTransitionedTimestamp, or StateUpdatedTimestamp when absent).
	Since time.Time `json:"since"`
	// Changes are the state changes at or after the time asked, oldest
	// first.
	Changes []AlarmChange `json:"changes,omitempty"`
}

// AlarmChange is one change of an alarm's state.
type AlarmChange struct {
	Time   time.Time  `json:"time"`
	From   AlarmState `json:"from"`
	To     AlarmState `json:"to"`
	Reason string     `json:"reason,omitempty"`
}
