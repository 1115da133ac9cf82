package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/slipway-dev/slipway/release"
)

// revertCommand is the config file's onRollback: a command run after a
// production rollback (release.RevertHook). The workflow journals its
// output and puts it in the summary, so the command runs through the
// hook's Go form: its output is held back until it ends and the values of
// secret-looking environment variables are redacted from it before the
// workflow sees it.
type revertCommand struct {
	Argv    []string
	Dir     string
	Timeout time.Duration // 0: release.RevertHook's default
	// Secrets are environment variables the config file names as holding
	// secrets; variables whose names look secret are redacted too.
	Secrets []string
}

// hook is the release.RevertHook that runs the command.
func (r *revertCommand) hook() *release.RevertHook {
	return &release.RevertHook{Func: r.run, Timeout: r.Timeout}
}

// maxRevertCapture bounds the output held back (its tail is kept).
const maxRevertCapture = 1 << 20

func (r *revertCommand) run(ctx context.Context, rc release.RevertContext, out io.Writer) error {
	cmd := exec.CommandContext(ctx, r.Argv[0], r.Argv[1:]...)
	cmd.Dir = r.Dir
	env := os.Environ()
	cmd.Env = append(slices.Clone(env),
		"SLIPWAY_HOOK=OnRollback", "SLIPWAY_RELEASE="+rc.Release, "SLIPWAY_FUNCTION="+rc.Function, "SLIPWAY_ALIAS="+rc.Alias,
		"SLIPWAY_CANDIDATE="+rc.Candidate, "SLIPWAY_STABLE="+rc.Stable, "SLIPWAY_SEMVER="+rc.Semver, "SLIPWAY_REASON="+rc.Reason)
	buf := &tail{max: maxRevertCapture}
	cmd.Stdout, cmd.Stderr = buf, buf
	cmd.WaitDelay = 5 * time.Second
	err := cmd.Run()
	if _, werr := out.Write(redact(buf.bytes(), env, r.Secrets)); werr != nil && err == nil {
		err = werr
	}
	if err != nil {
		// The command's name only: its arguments are the file's, but an
		// error line is no place to repeat them.
		return fmt.Errorf("onRollback %s: %w", r.Argv[0], err)
	}
	return nil
}

// secretName matches the names of environment variables whose values are
// redacted from a revert command's output.
var secretName = regexp.MustCompile(`(?i)(SECRET|TOKEN|PASSWORD|PASSWD|PRIVATE|CREDENTIAL|API_?KEY|ACCESS_KEY|SESSION|WEBHOOK|ROUTING_KEY|AUTH|SIGNATURE|CONNECTION_STRING|DSN)`)

// redact replaces in b the value of every environment variable (KEY=VALUE
// in env) named in names or whose name looks secret, when the value is at
// least 6 bytes, with "[redacted $KEY]". Longer values go first, so one
// secret that contains another is replaced whole.
func redact(b []byte, env, names []string) []byte {
	type secret struct{ name, value string }
	var ss []secret
	for _, kv := range env {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || len(v) < 6 || !(slices.Contains(names, k) || secretName.MatchString(k)) {
			continue
		}
		ss = append(ss, secret{k, v})
	}
	slices.SortFunc(ss, func(a, b secret) int { return len(b.value) - len(a.value) })
	for _, s := range ss {
		b = bytes.ReplaceAll(b, []byte(s.value), []byte("[redacted $"+s.name+"]"))
	}
	return b
}

// tail keeps the last max bytes written to it; safe for concurrent use.
type tail struct {
	mu  sync.Mutex
	b   []byte
	max int
}

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if over := len(t.b) - t.max; over > 0 {
		t.b = slices.Clone(t.b[over:])
	}
	return len(p), nil
}

func (t *tail) bytes() []byte {
	t.mu.Lock()
	defer t.mu.Unlock()
	return slices.Clone(t.b)
}
