// Package cli holds what the provider examples (examples/awslambda,
// examples/azurefunc, examples/gcprun) share around the release itself:
// the program's frame and the version labels and plan they print.
package cli

import (
	"context"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/slipway-dev/slipway/canary"
	"github.com/slipway-dev/slipway/provider"
)

// Main runs run with a text logger on standard error (debug records too
// when verbose) and a context that ends on SIGINT or SIGTERM; when run
// fails it logs "release failed" and exits with status 1.
func Main(verbose bool, run func(ctx context.Context, log *slog.Logger) error) {
	level := slog.LevelInfo
	if verbose {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, log); err != nil {
		log.Error("release failed", "err", err)
		os.Exit(1)
	}
}

// Labels returns the labels a published version records: its semantic
// version and commit, each left out when empty.
func Labels(semver, commit string) map[string]string {
	labels := map[string]string{}
	if semver != "" {
		labels[provider.LabelSemver] = semver
	}
	if commit != "" {
		labels[provider.LabelCommit] = commit
	}
	return labels
}

// Plan checks every step of steps, as the route splitting alias between
// stable and candidate, against caps and logs it ("plan", weight, bake).
func Plan(log *slog.Logger, caps provider.Capabilities, alias, stable, candidate string, steps []canary.Step) error {
	for _, s := range steps {
		if err := caps.CheckRoute(provider.Split(alias, stable, candidate, s.Weight)); err != nil {
			return err
		}
		log.Info("plan", "weight", provider.Percent(s.Weight), "bake", s.Bake)
	}
	return nil
}
