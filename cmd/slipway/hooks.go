package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"

	"github.com/slipway-dev/slipway/canary"
	"github.com/slipway-dev/slipway/release"
)

// The names of the config file's command hooks in a strategy.
const (
	hookPreTraffic  = "pre-traffic command"
	hookPostTraffic = "post-traffic command"
)

// applyConfig puts the config file's deploy policy and hooks, and the
// release steps the subcommand runs, into the workflow's options.
func (s *settings) applyConfig(opts *release.Options) {
	s.applySteps(opts)
	if s.cfg == nil {
		return
	}
	opts.Policy = s.cfg.policy
	hooks := map[string]canary.HookFunc{}
	secrets := s.cfg.secretEnvNames()
	if c := s.cfg.hooks.PreTraffic; c != nil {
		hooks[hookPreTraffic] = commandHook(c, secrets)
	}
	if c := s.cfg.hooks.PostTraffic; c != nil {
		hooks[hookPostTraffic] = commandHook(c, secrets)
	}
	if len(hooks) > 0 {
		opts.Runner.Hooks = hooks
	}
}

// hookEnv is what a hook command learns of the rollout.
func hookEnv(fn, alias, candidate, stable, stage string) []string {
	return append(os.Environ(),
		"SLIPWAY_HOOK="+stage, "SLIPWAY_FUNCTION="+fn, "SLIPWAY_ALIAS="+alias,
		"SLIPWAY_CANDIDATE="+candidate, "SLIPWAY_STABLE="+stable)
}

// commandHook runs argv as a hook: exit 0 passes, anything else fails
// (and rolls the canary back), with the command's output in the error —
// redacted as the revert command's is (the values of secret-looking
// environment variables and of those named in secrets), since the error
// is journaled and printed.
func commandHook(argv, secrets []string) canary.HookFunc {
	return func(ctx context.Context, in canary.HookInput) error {
		cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
		cmd.Env = hookEnv(in.Function, in.Alias, in.Candidate, in.Stable, in.Stage)
		out, err := cmd.CombinedOutput()
		if err != nil {
			return fmt.Errorf("hook %s: %w: %s", strings.Join(argv, " "), err, strings.TrimSpace(string(redact(out, cmd.Env, secrets))))
		}
		return nil
	}
}

// onRollback runs the config file's rollback hook after a release rolled
// back, and reports its failure (the rollback stands).
func (st *state) onRollback(ctx context.Context, res release.Result) {
	s := st.s
	if s.cfg == nil || len(s.cfg.hooks.OnRollback) == 0 || res.Outcome != release.OutcomeRolledBack {
		return
	}
	argv := s.cfg.hooks.OnRollback
	cmd := exec.CommandContext(context.WithoutCancel(ctx), argv[0], argv[1:]...)
	cmd.Env = hookEnv(res.Function, res.Alias, res.Candidate, res.Stable, "OnRollback")
	out, err := cmd.CombinedOutput()
	out = redact(out, cmd.Env, s.cfg.secretEnvNames())
	if err != nil {
		st.printer(st.out).line("slipway: on-rollback hook %s failed (the rollback stands): %v: %s", strings.Join(argv, " "), err, strings.TrimSpace(string(out)))
		return
	}
	if len(out) > 0 {
		st.printer(st.out).line("%s", strings.TrimRight(string(out), "\n"))
	}
}
