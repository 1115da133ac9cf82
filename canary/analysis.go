package canary

import (
	"fmt"
	"time"
)

// Defaults of Analysis, used when a field is zero.
const (
	// DefaultConsecutiveErrorLimit is Argo Rollouts' default: the fifth
	// consecutive measurement error of a check fails the analysis.
	DefaultConsecutiveErrorLimit = 4
	// DefaultRetryDelay is how long the machine waits before measuring a
	// window again after a measurement error.
	DefaultRetryDelay = 10 * time.Second
)

// InconclusivePolicy is what happens when a check's inconclusive verdicts
// exceed Analysis.InconclusiveLimit.
type InconclusivePolicy int

const (
	// PauseOnInconclusive pauses the rollout (traffic stays where it is)
	// for an operator to Resume, Abort or PromoteNow, as Argo Rollouts does.
	// It is the zero value.
	PauseOnInconclusive InconclusivePolicy = iota
	// RollBackOnInconclusive rolls back, as for a failure.
	RollBackOnInconclusive
)

func (p InconclusivePolicy) String() string {
	switch p {
	case PauseOnInconclusive:
		return "Pause"
	case RollBackOnInconclusive:
		return "RollBack"
	}
	return fmt.Sprintf("InconclusivePolicy(%d)", int(p))
}

// MarshalText encodes the policy by name.
func (p InconclusivePolicy) MarshalText() ([]byte, error) {
	if p != PauseOnInconclusive && p != RollBackOnInconclusive {
		return nil, fmt.Errorf("canary: invalid inconclusive policy %d", int(p))
	}
	return []byte(p.String()), nil
}

// UnmarshalText decodes a policy name.
func (p *InconclusivePolicy) UnmarshalText(b []byte) error {
	switch string(b) {
	case "Pause":
		*p = PauseOnInconclusive
	case "RollBack":
		*p = RollBackOnInconclusive
	default:
		return fmt.Errorf("canary: unknown inconclusive policy %q", b)
	}
	return nil
}

// Analysis decides, window by window, whether the candidate may go on.
//
// Every window each check returns a verdict or an error. Counts are kept per
// check for the whole rollout:
//
//   - a Fail counts as a failure. A Critical check fails the rollout at its
//     first failure; any other decisive check fails it when its failures
//     exceed FailureLimit (failures > FailureLimit, Argo Rollouts'
//     semantics: the default 0 fails at the first failure, 2 tolerates two
//     and fails at the third);
//   - an Inconclusive counts as an inconclusive; more than
//     InconclusiveLimit of them trigger OnInconclusive (pause, by default,
//     after the first). Resuming a paused rollout resets the inconclusive
//     counts;
//   - an error (the metrics source failed, or the check did) counts as a
//     consecutive error, reset by the check's next verdict. More than
//     ConsecutiveErrorLimit in a row fail the rollout. An errored window is
//     measured again after RetryDelay, so a flaky metrics source neither
//     promotes (a step never ends before each window has a verdict from
//     every decisive check) nor rolls back before its limit.
//
// A NonCritical check is measured and reported but never decides anything.
// A step ends only when all its windows have a verdict from every decisive
// check; an inconclusive verdict is never a pass, so a candidate that got
// no traffic is not promoted.
//
// Compared with Flagger: Flagger's analysis.threshold rolls back when the
// failed checks reach the threshold (failures ≥ threshold), where Argo and
// slipway fail when failures exceed the limit (failures > limit). Flagger's
// threshold: 5 is therefore FailureLimit: 4 here, and FailureLimit: 0 (the
// default) is Flagger's threshold: 1.
type Analysis struct {
	Checks []CheckSpec `json:"checks,omitempty"`
	// FailureLimit is how many failures a decisive check may have before the
	// rollout fails (see above). 0 fails at the first.
	FailureLimit int `json:"failureLimit,omitempty"`
	// InconclusiveLimit is how many inconclusive verdicts a decisive check
	// may have before OnInconclusive applies. 0 acts on the first.
	InconclusiveLimit int                `json:"inconclusiveLimit,omitempty"`
	OnInconclusive    InconclusivePolicy `json:"onInconclusive,omitempty"`
	// ConsecutiveErrorLimit is how many consecutive errors a decisive check
	// may have before the rollout fails. 0 means
	// DefaultConsecutiveErrorLimit (4); a negative value means none are
	// tolerated.
	ConsecutiveErrorLimit int `json:"consecutiveErrorLimit,omitempty"`
	// RetryDelay is the wait before a window whose measurement failed is
	// measured again; 0 means DefaultRetryDelay.
	RetryDelay time.Duration `json:"retryDelay,omitempty"`
}

// CheckSpec is one named check of an analysis.
type CheckSpec struct {
	// Name identifies the check in events, counts and history; unique
	// within the analysis.
	Name string `json:"name"`
	// Check is the judgement. It is not serialised: a resumed rollout gets
	// its checks from the caller again, by name.
	Check Check `json:"-"`
	// Critical makes the first failure fail the rollout, whatever
	// FailureLimit says (Kayenta's critical metric).
	Critical bool `json:"critical,omitempty"`
	// NonCritical makes the check report only: it never fails, pauses or
	// holds up the rollout.
	NonCritical bool `json:"nonCritical,omitempty"`
}

// Validate checks the analysis: limits not negative (except
// ConsecutiveErrorLimit, see there), a known OnInconclusive, and every
// check named, unique, non-nil, not both Critical and NonCritical, and
// valid by its own Validate method when it has one (Threshold, Relative,
// Judge, HTTPProbe do). Errors wrap provider.ErrInvalid and name the
// field.
func (a Analysis) Validate() error {
	if a.FailureLimit < 0 {
		return strategyInvalid("analysis.failureLimit", "is negative")
	}
	if a.InconclusiveLimit < 0 {
		return strategyInvalid("analysis.inconclusiveLimit", "is negative")
	}
	if a.OnInconclusive != PauseOnInconclusive && a.OnInconclusive != RollBackOnInconclusive {
		return strategyInvalid("analysis.onInconclusive", fmt.Sprintf("is %d, not Pause or RollBack", int(a.OnInconclusive)))
	}
	if a.RetryDelay < 0 {
		return strategyInvalid("analysis.retryDelay", "is negative")
	}
	for i, c := range a.Checks {
		field := fmt.Sprintf("analysis.checks[%d]", i)
		if c.Name == "" {
			return strategyInvalid(field+".name", "is empty")
		}
		for _, o := range a.Checks[:i] {
			if o.Name == c.Name {
				return strategyInvalid(field+".name", fmt.Sprintf("%q appears twice", c.Name))
			}
		}
		if c.Check == nil {
			return strategyInvalid(field+".check", "is nil")
		}
		if c.Critical && c.NonCritical {
			return strategyInvalid(field, "is both critical and non-critical")
		}
		if v, ok := c.Check.(interface{ Validate() error }); ok {
			if err := v.Validate(); err != nil {
				return fmt.Errorf("canary: strategy: %s.check (%q): %w", field, c.Name, err)
			}
		}
	}
	return nil
}

// consecutiveErrorLimit resolves the zero and negative values.
func (a Analysis) consecutiveErrorLimit() int {
	switch {
	case a.ConsecutiveErrorLimit == 0:
		return DefaultConsecutiveErrorLimit
	case a.ConsecutiveErrorLimit < 0:
		return 0
	}
	return a.ConsecutiveErrorLimit
}

// CheckResult is one check's outcome for a window, fed back to the machine
// in a Measured event: a Measurement, or Err when it could not be measured.
type CheckResult struct {
	Name        string      `json:"name"`
	Measurement Measurement `json:"measurement"`
	Err         error       `json:"-"`
}

// CheckState is the running record of one check in a rollout.
type CheckState struct {
	Name        string `json:"name"`
	Critical    bool   `json:"critical,omitempty"`
	NonCritical bool   `json:"nonCritical,omitempty"`
	// Passes, Failures and Inconclusives count verdicts over the rollout
	// (Inconclusives is reset when a paused rollout resumes).
	Passes        int `json:"passes,omitempty"`
	Failures      int `json:"failures,omitempty"`
	Inconclusives int `json:"inconclusives,omitempty"`
	// ConsecutiveErrors counts errors since the last verdict; Errors counts
	// them all.
	ConsecutiveErrors int `json:"consecutiveErrors,omitempty"`
	Errors            int `json:"errors,omitempty"`
	// Done reports that the check has a verdict for the window being
	// measured.
	Done bool `json:"done,omitempty"`
	// Last is the latest verdict and LastReason its reason (or the latest
	// error's text).
	Last       Verdict `json:"last"`
	LastReason string  `json:"lastReason,omitempty"`
	// Carry is the state the check carries over the rollout (its last
	// Measurement.Carry), handed to it in MetricWindow.Carry.
	Carry Carry `json:"carry,omitempty"`
}

// decisive reports whether the check can decide anything.
func (c CheckState) decisive() bool { return !c.NonCritical }

// verdictOutcome is what a measured window means for the rollout.
type verdictOutcome int

const (
	outcomeContinue     verdictOutcome = iota // window complete, go on
	outcomeRetry                              // some decisive check has no verdict yet
	outcomeFail                               // roll back
	outcomeInconclusive                       // apply OnInconclusive
)

// judgeWindow applies one Measured event to the checks (which it owns: the
// caller passes a copy) and returns the outcome with a reason. Results are
// matched by name; unknown names and checks already done for the window are
// ignored. A non-nil sourceErr counts as an error of every check not done.
// Decisions are taken in the order of the checks, failures before errors
// before inconclusives, so the outcome is deterministic.
func judgeWindow(checks []CheckState, results []CheckResult, sourceErr error, a *Plan) (verdictOutcome, string) {
	if sourceErr != nil {
		for i := range checks {
			c := &checks[i]
			if !c.Done {
				c.ConsecutiveErrors++
				c.Errors++
				c.LastReason = sourceErr.Error()
			}
		}
	}
	for _, r := range results {
		for i := range checks {
			c := &checks[i]
			if c.Name != r.Name || c.Done {
				continue
			}
			if r.Err != nil {
				c.ConsecutiveErrors++
				c.Errors++
				c.LastReason = r.Err.Error()
				break
			}
			c.ConsecutiveErrors = 0
			c.Done = true
			c.Last = r.Measurement.Verdict
			c.LastReason = r.Measurement.Reason
			if r.Measurement.Carry != "" {
				c.Carry = r.Measurement.Carry
			}
			switch r.Measurement.Verdict {
			case Pass:
				c.Passes++
			case Fail:
				c.Failures++
			default:
				c.Inconclusives++
			}
			break
		}
	}
	for _, c := range checks {
		if !c.decisive() || c.Failures == 0 {
			continue
		}
		if c.Critical {
			return outcomeFail, fmt.Sprintf("critical check %q failed: %s", c.Name, c.LastReason)
		}
		if c.Failures > a.FailureLimit {
			return outcomeFail, fmt.Sprintf("check %q failed (%d failures, limit %d): %s", c.Name, c.Failures, a.FailureLimit, c.LastReason)
		}
	}
	for _, c := range checks {
		if c.decisive() && c.ConsecutiveErrors > a.ConsecutiveErrorLimit {
			return outcomeFail, fmt.Sprintf("check %q could not be measured (%d errors in a row, limit %d): %s", c.Name, c.ConsecutiveErrors, a.ConsecutiveErrorLimit, c.LastReason)
		}
	}
	for _, c := range checks {
		if c.decisive() && c.Inconclusives > a.InconclusiveLimit {
			return outcomeInconclusive, fmt.Sprintf("check %q was inconclusive (%d inconclusive, limit %d): %s", c.Name, c.Inconclusives, a.InconclusiveLimit, c.LastReason)
		}
	}
	for _, c := range checks {
		if c.decisive() && !c.Done {
			return outcomeRetry, fmt.Sprintf("check %q has no verdict yet: %s", c.Name, c.LastReason)
		}
	}
	return outcomeContinue, ""
}
