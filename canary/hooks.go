package canary

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/slipway-dev/slipway/provider"
)

// Hook stages, as HookInput.Stage carries them.
const (
	// StagePreTraffic: before the candidate receives any traffic of the
	// route (CodeDeploy's BeforeAllowTraffic). Smoke-test the candidate by
	// invoking its version directly.
	StagePreTraffic = "PreTraffic"
	// StagePostTraffic: the route sends all traffic to the candidate and
	// the rollout has not yet succeeded (CodeDeploy's AfterAllowTraffic).
	StagePostTraffic = "PostTraffic"
)

// HookFunc is a lifecycle hook's code. A Strategy names its hooks
// (Strategy.PreTraffic, Strategy.PostTraffic) and the runner finds the code
// under that name in RunnerOptions.Hooks, so a resumed rollout gets its
// hooks from the caller again, as it gets its checks.
//
// A hook that returns an error, or does not return before its HookSpec's
// timeout, fails the rollout, which is then rolled back; panics are not
// recovered. The context ends at the timeout, measured on the runner's
// Clock: under a VirtualClock a hook that must take time waits with the
// clock's Sleep.
type HookFunc func(ctx context.Context, in HookInput) error

// HookInput tells a hook which rollout calls it.
type HookInput struct {
	Name      string `json:"name"`  // the HookSpec's name
	Stage     string `json:"stage"` // StagePreTraffic or StagePostTraffic
	RolloutID string `json:"rolloutID"`
	Function  string `json:"function"`
	Alias     string `json:"alias"`
	Stable    string `json:"stable"`    // stable version ID
	Candidate string `json:"candidate"` // candidate version ID
	// Deadline is when the hook times out.
	Deadline time.Time `json:"deadline"`
}

// ApproveFunc resolves a confirm-promotion gate (Strategy.Approval): true
// approves, false rejects (the rollout rolls back), an error is reported and
// the gate keeps waiting for Runner.Approve until its timeout. Without an
// ApproveFunc the gate waits for Runner.Approve or Runner.Abort, called from
// any goroutine or process sharing the Store.
type ApproveFunc func(ctx context.Context, a Approval) (bool, error)

// Approval asks the caller to confirm the promotion of a candidate.
type Approval struct {
	RolloutID string `json:"rolloutID"`
	Function  string `json:"function"`
	Alias     string `json:"alias"`
	Stable    string `json:"stable"`
	Candidate string `json:"candidate"`
	// Weight is the candidate's share of the route while it waits, in
	// basis points.
	Weight int `json:"weight"`
	// Deadline is when the gate times out and the rollout rolls back.
	Deadline time.Time `json:"deadline"`
}

// HookError is a failed hook: it returned an error or timed out (Err then
// wraps context.DeadlineExceeded), or no code is registered under its name.
type HookError struct {
	Name  string // the HookSpec's name
	Stage string // StagePreTraffic or StagePostTraffic
	Err   error
}

func (e *HookError) Error() string {
	return "canary: " + e.Stage + " hook " + fmt.Sprintf("%q", e.Name) + ": " + e.Err.Error()
}

func (e *HookError) Unwrap() error { return e.Err }

// hookCheckNames reports, before anything is touched, a hook the strategy
// names that hooks does not register. The error wraps provider.ErrInvalid
// and names the field.
func hookCheckNames(s Strategy, hooks map[string]HookFunc) error {
	for _, h := range []struct {
		field string
		spec  *HookSpec
	}{{"strategy.preTraffic.name", s.PreTraffic}, {"strategy.postTraffic.name", s.PostTraffic}} {
		if h.spec == nil {
			continue
		}
		if hooks[h.spec.Name] == nil {
			return fmt.Errorf("canary: %w", provider.Invalid("rollout", h.field, fmt.Sprintf("%q has no HookFunc in RunnerOptions.Hooks", h.spec.Name)))
		}
	}
	return nil
}

// hookRun calls fn until deadline, measured on clk. The returned error is a
// *HookError.
func hookRun(ctx context.Context, clk Clock, fn HookFunc, in HookInput) error {
	if fn == nil {
		return &HookError{Name: in.Name, Stage: in.Stage, Err: errors.New("no HookFunc is registered under this name")}
	}
	d := in.Deadline.Sub(clk.Now())
	if d <= 0 {
		return &HookError{Name: in.Name, Stage: in.Stage, Err: fmt.Errorf("its deadline %s has passed: %w", in.Deadline.Format(time.RFC3339), context.DeadlineExceeded)}
	}
	hctx, cancel := withClockTimeout(ctx, clk, d)
	defer cancel()
	err := fn(hctx, in)
	if err == nil && hctx.Err() != nil && ctx.Err() == nil {
		// Returned only after its deadline, having ignored its context.
		err = hctx.Err()
	}
	if err == nil {
		return nil
	}
	if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
		err = fmt.Errorf("no answer by its deadline %s: %w", in.Deadline.Format(time.RFC3339), err)
	}
	return &HookError{Name: in.Name, Stage: in.Stage, Err: err}
}

// hookApprove asks fn until a's deadline, measured on clk.
func hookApprove(ctx context.Context, clk Clock, fn ApproveFunc, a Approval) (bool, error) {
	d := a.Deadline.Sub(clk.Now())
	if d <= 0 {
		return false, fmt.Errorf("canary: approval: its deadline %s has passed: %w", a.Deadline.Format(time.RFC3339), context.DeadlineExceeded)
	}
	actx, cancel := withClockTimeout(ctx, clk, d)
	defer cancel()
	ok, err := fn(actx, a)
	if err == nil && actx.Err() != nil {
		err = actx.Err()
	}
	if err != nil {
		return false, fmt.Errorf("canary: approval: %w", err)
	}
	return ok, nil
}
