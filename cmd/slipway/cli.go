package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"runtime/debug"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// cli is a flag set whose flags fall back to environment variables, then
// to the config file.
type cli struct {
	fs   *pflag.FlagSet
	envs map[string][]string // flag name → environment variables, in order of preference
}

func (c *cli) bind(name, usage string, envs []string) {
	c.envs[name] = envs
	if len(envs) > 0 {
		c.fs.Lookup(name).Usage = usage + " (env " + strings.Join(envs, ", ") + ")"
	}
}

func (c *cli) str(p *string, name, def, usage string, envs ...string) {
	c.fs.StringVar(p, name, def, usage)
	c.bind(name, usage, envs)
}

func (c *cli) boolean(p *bool, name, usage string, envs ...string) {
	c.fs.BoolVar(p, name, false, usage)
	c.bind(name, usage, envs)
}

func (c *cli) integer(p *int, name string, def int, usage string, envs ...string) {
	c.fs.IntVar(p, name, def, usage)
	c.bind(name, usage, envs)
}

func (c *cli) int64(p *int64, name string, def int64, usage string, envs ...string) {
	c.fs.Int64Var(p, name, def, usage)
	c.bind(name, usage, envs)
}

func (c *cli) float(p *float64, name string, def float64, usage string, envs ...string) {
	c.fs.Float64Var(p, name, def, usage)
	c.bind(name, usage, envs)
}

func (c *cli) duration(p *time.Duration, name string, def time.Duration, usage string, envs ...string) {
	c.fs.DurationVar(p, name, def, usage)
	c.bind(name, usage, envs)
}

// fallback gives each flag not on the command line the value of the first
// of its environment variables that is set, else the config file's value.
// It returns the names of the flags given by any of the three.
func (c *cli) fallback(env func(string) string, cfg *config) (set, given map[string]bool, err error) {
	set = map[string]bool{}
	c.fs.Visit(func(f *pflag.Flag) { set[f.Name] = true })
	for name, envs := range c.envs {
		if set[name] {
			continue
		}
		for _, e := range envs {
			v := env(e)
			if v == "" {
				continue
			}
			if err := c.fs.Set(name, v); err != nil {
				return nil, nil, usageError("environment variable %s=%q for --%s: %v", e, v, name, err)
			}
			set[name] = true
			break
		}
	}
	given = maps.Clone(set)
	if cfg != nil {
		for name, v := range cfg.flags {
			if set[name] || c.fs.Lookup(name) == nil {
				continue
			}
			if err := c.fs.Set(name, v.value); err != nil {
				return nil, nil, usageError("%s:%d: %s: %v", cfg.path, v.line, v.field, err)
			}
			set[name] = true
		}
	}
	return set, given, nil
}

// commands lists the subcommands with a line of help each, in help order.
func commands() [][2]string {
	return [][2]string{
		{"publish", "publish the artifact as the next semantic version and point the staging alias at it"},
		{"promote", "move production to the version staging serves through a canary judged by its checks"},
		{"release", "publish, stage and promote in one step (publish + promote)"},
		{"rollback", "put an alias back on its previous good version, read from the journal"},
		{"resume", "continue the production canary a killed job left unfinished, to its promotion or rollback"},
		{"abort", "roll back the unfinished production canary now: production ends on the stable version"},
		{"prune", "delete old versions by a retention policy (--dry-run prints the plan)"},
		{"drill", "rollback fire drill: move a stage alias to its rollback point, verify it serves, move it back, journal both times"},
		{"status", "aliases, versions, unfinished canaries and who drives them, drift and the last journal entries"},
	}
}

const exitCodesHelp = `Exit codes:
  0  done: published, promoted, unchanged, rolled back on request (rollback, abort), nothing to resume, pruned, status printed
  1  error: the platform, the journal, a refused release (a version number that goes backwards, a rolled-back version
     promoted again without --force, an unknown function), a contract replay the candidate failed (publish, release:
     production untouched, staging put back), a drill refused (a freeze, no rollback point)
  2  usage: invalid flags, environment or config file (nothing was called or written)
  3  the canary rolled back (promote, release, resume): production is on the previous version (checks failed, or
     SIGINT/SIGTERM arrived)
  4  status --fail-on-drift found routes changed behind the journal's back
  5  busy: another process drives this function's production canary (its lease is held); nothing was changed
  6  status --fail-on-unfinished found an unfinished canary
  7  drill: the rollback point failed its verification (probe or checks); the alias was put back`

// newRoot builds the command tree; the subcommands run with env, stdout
// and stderr, and store the error to report in *result.
func newRoot(env func(string) string, stdout, stderr io.Writer, result *error) *cobra.Command {
	root := &cobra.Command{
		Use:   "slipway",
		Short: "release serverless functions: versions, stage aliases, canaries judged by metrics, rollback, pruning",
		Long: "slipway releases serverless functions: every deploy publishes an immutable version with a semantic\n" +
			"version number, stage aliases point at versions, production traffic moves to the new version in steps\n" +
			"while checks judge it, and a failed judgement puts every request back on the known-good version.\n\n" +
			"Settings come from flags, else environment variables, else slipway.yaml (--config).\n\n" + exitCodesHelp,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.RunE = func(cmd *cobra.Command, _ []string) error {
		// No subcommand: the usage, on stderr, and exit 2.
		cmd.SetOut(stderr)
		_ = cmd.Help()
		*result = usageError("no subcommand")
		return nil
	}
	root.CompletionOptions.HiddenDefaultCmd = false
	for _, cm := range commands() {
		root.AddCommand(newSubcommand(cm[0], cm[1], env, stdout, stderr, result))
	}
	root.AddCommand(newJournalCommand(env, stdout, stderr, result))
	root.AddCommand(newReportCommand(env, stdout, stderr, result))
	root.AddCommand(newTimeoutCommand(env, stdout, stderr, result))
	root.AddCommand(&cobra.Command{
		Use:   "version",
		Short: "print slipway's version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			fmt.Fprintln(stdout, "slipway", buildVersion())
			return nil
		},
	})
	return root
}

// newSubcommand is one of the release subcommands: its flags are
// registered now (for help and completion), read when it runs.
func newSubcommand(name, short string, env func(string) string, stdout, stderr io.Writer, result *error) *cobra.Command {
	s := &settings{cmd: name}
	c := &cli{envs: map[string][]string{}}
	cmd := &cobra.Command{
		Use:   name + " [flags]",
		Short: short,
		Long:  short + ".\n\n" + exitCodesHelp,
		Args:  cobra.NoArgs,
	}
	c.fs = cmd.Flags()
	c.str(&s.configPath, "config", "", "config file (default: slipway.yaml when it exists)", "SLIPWAY_CONFIG")
	s.register(c)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		*result = s.run(cmd.Context(), c, env, stdout, stderr)
		return nil
	}
	return cmd
}

// prepare reads the config file, applies the fallbacks and validates.
func (s *settings) prepare(c *cli, env func(string) string) error {
	path := s.configPath
	if path == "" && env("SLIPWAY_CONFIG") != "" {
		path = env("SLIPWAY_CONFIG")
	}
	explicit := path != ""
	if path == "" {
		path = "slipway.yaml"
	}
	cfg, err := loadConfig(path, explicit)
	if err != nil {
		return err
	}
	s.cfg = cfg
	s.getenv = env
	set, given, err := c.fallback(env, cfg)
	if err != nil {
		return err
	}
	s.set, s.givenNotByFile = set, given
	if s.function == "" && cfg != nil && len(cfg.file.Functions) == 1 {
		s.function = cfg.file.Functions[0].Name
	}
	if s.function != "" && cfg != nil && len(cfg.file.Functions) > 0 && !cfg.hasFunction(s.function) {
		return usageError("--function %q is not one of the functions of %s (%s)", s.function, cfg.path, strings.Join(cfg.functionNames(), ", "))
	}
	s.ciDefaults(env)
	return s.validate()
}

// run runs the subcommand: prepare, then execute.
func (s *settings) run(ctx context.Context, c *cli, env func(string) string, stdout, stderr io.Writer) error {
	if err := s.prepare(c, env); err != nil {
		return err
	}
	return execute(ctx, s, stdout, stderr)
}

// run runs the command line args and returns the process's exit code. It
// is the whole program, minus the process: tests call it in-process.
func run(ctx context.Context, args []string, env func(string) string, stdout, stderr io.Writer) int {
	var result error
	root := newRoot(env, stdout, stderr, &result)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		err = result
	} else {
		err = fmt.Errorf("%w: %v", errUsage, err)
	}
	code := exitCode(err)
	var shown *shownError
	if err != nil && !errors.As(err, &shown) {
		fmt.Fprintf(stderr, "slipway: %v\n", err)
	}
	return code
}

// shownError is an error whose message was already printed (as the
// result's last line): it is not printed again.
type shownError struct{ err error }

func (e *shownError) Error() string { return e.err.Error() }
func (e *shownError) Unwrap() error { return e.err }

func shown(err error) error {
	if err == nil {
		return nil
	}
	return &shownError{err}
}

// buildVersion is the module version the binary was built from.
func buildVersion() string {
	if v := moduleVersion(); v != "" {
		return v
	}
	return "(devel)"
}

func moduleVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		return bi.Main.Version
	}
	return ""
}
