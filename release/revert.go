package release

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"
	"time"

	"github.com/slipway-dev/slipway/provider"
)

// RevertHook reverts infrastructure when a release's traffic rolls back —
// a `terraform apply` of the previous plan, say. It runs after the traffic
// rollback, never before or instead of it: its failure is reported (the
// journal, Result.Revert, the summary, an event) and changes nothing about
// the rollback.
//
// Exactly one of Command and Func is set. In the CLI's configuration file:
//
//	onRollback:
//	  command: ["terraform", "apply", "-auto-approve", "previous.tfplan"]
//	  dir: infra
//	  timeout: 15m
type RevertHook struct {
	// Command is run without a shell (argv[0] looked up in PATH), in Dir,
	// with the process's environment plus the release's context as
	// SLIPWAY_RELEASE, SLIPWAY_FUNCTION, SLIPWAY_ALIAS, SLIPWAY_CANDIDATE,
	// SLIPWAY_STABLE, SLIPWAY_SEMVER and SLIPWAY_REASON. A non-zero exit is
	// a failure.
	Command []string `json:"command,omitempty"`
	Dir     string   `json:"dir,omitempty"`
	// Func is the Go form: it gets the release's context and writes its
	// output to out; a non-nil error is a failure.
	Func func(ctx context.Context, rc RevertContext, out io.Writer) error `json:"-"`
	// Timeout bounds the hook; 0 means 10 minutes. It is measured on the
	// real clock (the command runs in real time).
	Timeout time.Duration `json:"timeout,omitempty"`
}

// RevertContext is what a RevertHook is told about the release.
type RevertContext struct {
	Release   string `json:"release"`
	Function  string `json:"function"`
	Alias     string `json:"alias"`
	Candidate string `json:"candidate,omitempty"` // the version rolled back from
	Stable    string `json:"stable,omitempty"`    // the version rolled back to
	Semver    string `json:"semver,omitempty"`    // the candidate's
	Reason    string `json:"reason,omitempty"`    // why it rolled back
}

// RevertResult is how a RevertHook ran.
type RevertResult struct {
	// Output is what the hook wrote (stdout and stderr interleaved), its
	// last MaxRevertOutput bytes when longer.
	Output   string        `json:"output,omitempty"`
	Err      string        `json:"err,omitempty"`
	Duration time.Duration `json:"duration"`
}

// MaxRevertOutput bounds the output a RevertResult keeps.
const MaxRevertOutput = 16 << 10

// Validate checks that exactly one of Command and Func is set and that
// Timeout is not negative.
func (h RevertHook) Validate() error {
	switch {
	case len(h.Command) == 0 && h.Func == nil:
		return errInvalidHook("command", "and func are both empty")
	case len(h.Command) > 0 && h.Func != nil:
		return errInvalidHook("command", "is set together with func")
	case len(h.Command) > 0 && h.Command[0] == "":
		return errInvalidHook("command[0]", "is empty")
	case h.Timeout < 0:
		return errInvalidHook("timeout", "is negative")
	}
	return nil
}

func errInvalidHook(field, msg string) error {
	return provider.Invalid("release options", "onRollback."+field, msg)
}

// Run runs the hook with rc and returns its result; the error is the
// hook's failure (also in RevertResult.Err).
func (h RevertHook) Run(ctx context.Context, rc RevertContext) (RevertResult, error) {
	timeout := h.Timeout
	if timeout == 0 {
		timeout = 10 * time.Minute
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	out := &tailBuffer{max: MaxRevertOutput}
	began := time.Now()
	var err error
	if h.Func != nil {
		err = runFunc(ctx, h.Func, rc, out)
	} else {
		cmd := exec.CommandContext(ctx, h.Command[0], h.Command[1:]...)
		cmd.Dir = h.Dir
		cmd.Stdout, cmd.Stderr = out, out
		cmd.Env = append(os.Environ(),
			"SLIPWAY_RELEASE="+rc.Release, "SLIPWAY_FUNCTION="+rc.Function, "SLIPWAY_ALIAS="+rc.Alias,
			"SLIPWAY_CANDIDATE="+rc.Candidate, "SLIPWAY_STABLE="+rc.Stable, "SLIPWAY_SEMVER="+rc.Semver,
			"SLIPWAY_REASON="+rc.Reason)
		cmd.WaitDelay = 5 * time.Second
		err = cmd.Run()
	}
	if err == nil && ctx.Err() != nil {
		err = ctx.Err()
	}
	res := RevertResult{Output: out.String(), Duration: time.Since(began)}
	if err != nil {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			err = fmt.Errorf("%w (timed out after %s)", err, timeout)
		}
		res.Err = err.Error()
	}
	return res, err
}

// runFunc calls f, turning a panic into an error: the caller's hook must
// not take the rollback's reporting down with it.
func runFunc(ctx context.Context, f func(context.Context, RevertContext, io.Writer) error, rc RevertContext, out io.Writer) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("revert hook panicked: %v", p)
		}
	}()
	return f(ctx, rc, out)
}

// tailBuffer keeps the last max bytes written to it. It is safe for
// concurrent use (a command's stdout and stderr).
type tailBuffer struct {
	mu      sync.Mutex
	b       bytes.Buffer
	max     int
	dropped bool
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b.Write(p)
	if over := t.b.Len() - t.max; over > 0 {
		t.b.Next(over)
		t.dropped = true
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.dropped {
		return "…" + t.b.String()
	}
	return t.b.String()
}

// revertText is one line for the journal.
func (r RevertResult) revertText() string {
	out := r.Output
	const n = 2000
	if len(out) > n {
		out = "…" + out[len(out)-n:]
	}
	if r.Err != "" {
		return fmt.Sprintf("infrastructure revert failed after %s: %s; output: %s", r.Duration.Round(time.Millisecond), r.Err, out)
	}
	return fmt.Sprintf("infrastructure reverted in %s; output: %s", r.Duration.Round(time.Millisecond), out)
}
