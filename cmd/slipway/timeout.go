package main

import (
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/slipway-dev/slipway/canary"
)

// strategyDuration is how long a rollout of st lasts at most when every
// step passes: the bakes of its plan (a step with checks judges a fixed
// number of whole windows and so may bake up to one analysis interval past
// its Bake when it starts between window boundaries: canary.Plan.MaxBake),
// the hooks' and the approval's timeouts, and blue/green's watch after the
// switch.
func strategyDuration(st canary.Strategy) time.Duration {
	p := st.Plan()
	judged := len(st.Analysis.Checks) > 0
	var d time.Duration
	for i, s := range p.Steps {
		bake := s.Bake
		if judged {
			bake = p.MaxBake(i)
		}
		d += bake + p.WarmUp
	}
	for _, h := range []*canary.HookSpec{p.PreTraffic, p.PostTraffic} {
		if h != nil {
			d += h.Timeout
		}
	}
	if p.Approval != nil {
		d += p.Approval.Timeout
	}
	if st.BlueGreen != nil {
		d += st.BlueGreen.KeepFor
	}
	return d
}

// jobTimeout is the CI job timeout a promote with st needs: the rollout,
// one interval of metrics lag per step, and margin for publishing,
// integration tests and a rollback.
func jobTimeout(st canary.Strategy, margin time.Duration) int {
	p := st.Plan()
	d := strategyDuration(st) + time.Duration(len(p.Steps))*p.Interval + margin
	return int((d + time.Minute - 1) / time.Minute)
}

// newTimeoutCommand is "timeout": the job timeout the strategy needs, in
// minutes, for a CI job's timeout-minutes (GitHub) or timeout (GitLab).
func newTimeoutCommand(env func(string) string, stdout, stderr io.Writer, result *error) *cobra.Command {
	s := &settings{cmd: "timeout"}
	var margin time.Duration
	cmd := &cobra.Command{
		Use:   "timeout",
		Short: "print the CI job timeout (minutes) the configured strategy needs, and write it as the output timeout-minutes",
		Args:  cobra.NoArgs,
	}
	c := &cli{fs: cmd.Flags(), envs: map[string][]string{}}
	c.str(&s.configPath, "config", "", "config file (default: slipway.yaml when it exists)", "SLIPWAY_CONFIG")
	c.str(&s.strategyName, "strategy", "Canary10Percent5Minutes", "a preset (else the config file's strategy)", "SLIPWAY_STRATEGY")
	c.str(&s.outputFile, "output-file", "", "append timeout-minutes=N to this file", "SLIPWAY_OUTPUT_FILE", "GITHUB_OUTPUT")
	c.duration(&margin, "margin", 15*time.Minute, "added for publishing, tests and a rollback", "SLIPWAY_TIMEOUT_MARGIN")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		*result = func() error {
			path, explicit := s.configPath, s.configPath != ""
			if path == "" {
				path = "slipway.yaml"
			}
			cfg, err := loadConfig(path, explicit)
			if err != nil {
				return err
			}
			s.cfg = cfg
			set, given, err := c.fallback(env, cfg)
			if err != nil {
				return err
			}
			s.set, s.givenNotByFile = set, given
			s.errorRateFactor, s.errorRateSlack = defaultErrorRateFactor, defaultErrorRateSlack
			if err := s.buildStrategy(); err != nil {
				return err
			}
			n := jobTimeout(s.strategy, margin)
			fmt.Fprintf(stdout, "timeout-minutes=%d\n", n)
			return (&state{s: s}).appendFile(s.outputFile, fmt.Sprintf("timeout-minutes=%d\n", n))
		}()
		return nil
	}
	return cmd
}
